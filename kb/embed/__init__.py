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

The encoder is in ``model``, the cache in ``cache``, the ``Vectors`` every consumer gets in
``vectors``; this module holds the texts and the functions that embed the KB and its nodes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kb.config import Config, cache_folder
from kb.embed.cache import VectorStore, embed_cached, open_store, stack_rows, text_key
from kb.embed.model import (
    DEFAULT_PACKAGE,
    Embedder,
    SentenceTransformerEmbedder,
    check_model_path,
    default_model_path,
    embed_texts,
    embedder_for,
    hub_copy_missing,
    model_identity,
    model_location,
    pick_device,
)
from kb.embed.vectors import Vectors, normalise
from kb.errors import KBError
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.schema import Entry
    from kb.store import KB
    from kb.taxonomy import Node


__all__ = [
    "DEFAULT_PACKAGE",
    "Embedder",
    "SentenceTransformerEmbedder",
    "VectorStore",
    "Vectors",
    "cache_folder",
    "default_model_path",
    "embed_cached",
    "embed_kb",
    "embed_nodes",
    "embed_texts",
    "embedder_for",
    "entry_text",
    "load_cached_vectors",
    "missing_vectors",
    "model_identity",
    "model_location",
    "node_text",
    "normalise",
    "open_store",
    "pick_device",
    "text_key",
]

RECIPE = 1  # bump whenever entry_text changes what it returns
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


def entry_recipe() -> str:
    return f"entry/{RECIPE}"


NODE_RECIPE = 1  # bump whenever node_text changes what it returns
NODE_NAMESPACE = "nodes"


def node_text(node: Node) -> str:
    """The text embedded for a taxonomy node (recipe ``NODE_RECIPE``): name, description, keywords."""
    text = f"{node.name}. {node.description.strip()}"
    return f"{text} Keywords: {', '.join(node.keywords)}." if node.keywords else text


def embed_nodes(
    kb: KB, config: Config, taxonomies: Sequence[str] = TOPIC_TAXONOMIES, *, embedder: Embedder | None = None
) -> Vectors:
    """Vectors of taxonomy nodes, by qualified id (``yin:evaluation``), cached like entries."""
    embedder = embedder or embedder_for(config)
    store = open_store(kb.root, config, embedder.model_id, NODE_NAMESPACE)
    nodes = [n for t in taxonomies for n in kb.taxonomies[t].walk()]
    matrix, _ = embed_cached([node_text(n) for n in nodes], store, embedder, f"node/{NODE_RECIPE}", prune=True)
    return Vectors([n.qualified_id for n in nodes], matrix, model=embedder.model_id, source=store.folder)


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
    store = open_store(kb.root, config, embedder.model_id, ENTRY_NAMESPACE)
    ids = list(kb.entries)
    texts = [entry_text(kb.entries[i]) for i in ids]
    matrix, encoded = embed_cached(
        texts, store, embedder, entry_recipe(), progress=progress and sys.stderr.isatty(), prune=True
    )
    if report is not None:
        report(encoded, len(ids))
    return Vectors(ids, matrix, model=embedder.model_id, source=store.folder)


def load_cached_vectors(kb: KB, config: Config, *, model_id: str | None = None, partial: bool = False) -> Vectors:
    """Vectors for every entry from the cache alone (numpy only: never imports torch).

    Raises KBError naming what is missing when the cache lacks any entry's current text. With
    ``partial``, the entries it has are enough (an entry added or edited since kb embed is left
    out: ``missing_vectors`` says which); none at all is still an error.
    """
    model_id = model_id or model_identity(config)
    store = open_store(kb.root, config, model_id, ENTRY_NAMESPACE)
    ids = list(kb.entries)
    keys = [text_key(entry_text(kb.entries[i]), entry_recipe()) for i in ids]
    rows = store.get(keys)
    missing = [i for i, row in zip(ids, rows, strict=True) if row is None]
    if missing and not (partial and len(missing) < len(ids)):
        check_model_path(config)  # no cache can be of a model that is not there: say that, not "run kb embed"
        why = f"; the cache file {store.path} could not be read ({store.unreadable})" if store.unreadable else ""
        lacking = f"{_lacking(missing, len(ids))} for model {config.model} ({_some(missing)})"
        raise KBError(f"{lacking}{why}; {_next_step(config)}")
    kept = [(i, row) for i, row in zip(ids, rows, strict=True) if row is not None]
    return Vectors([i for i, _ in kept], stack_rows([row for _, row in kept]), model=model_id, source=store.folder)


def missing_vectors(kb: KB, vectors: Vectors) -> str:
    """What the entries ``vectors`` lack are (see load_cached_vectors' ``partial``), or ''."""
    have = set(vectors.ids)
    missing = [i for i in kb.entries if i not in have]
    if not missing:
        return ""
    return f"{_lacking(missing, len(kb.entries))} yet ({_some(missing)}); run kb embed"


def _next_step(config: Config) -> str:
    """What makes the missing vectors: kb embed, which loads the model from local files only, so
    for a Hub name with no copy offline it says that first rather than send the user to a failure."""
    if not hub_copy_missing(config):
        return "run kb embed"
    return (
        f"kb embed makes them, but it loads models from local files only and finds no copy of {config.model} "
        f"in the local Hugging Face cache: make the model available offline there, or set {config.given_by('model')} "
        "to an installed sentence-transformers model"
    )


def _lacking(missing: Sequence[str], total: int) -> str:
    return f"{len(missing)} of {total} entries {'has' if len(missing) == 1 else 'have'} no cached embedding"


def _some(ids: Sequence[str]) -> str:
    return ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")

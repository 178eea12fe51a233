"""kb export: the whole knowledge base in formats other tools read.

``bibtex`` for bibliography managers, ``csv`` and ``json`` that read back as the same entries
(see ``kb.export.records``), ``graphml`` for graph tools (Gephi, Cytoscape, networkx), and
``awesome``, the Markdown README committed as AWESOME.md. Each format is rendered to text here;
the CLI writes it (atomically) or prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.errors import KBError

if TYPE_CHECKING:  # the CLI imports FORMATS at start-up: nothing heavier is loaded here
    from kb.config import Config
    from kb.schema import Entry
    from kb.store import KB

FORMATS = ("bibtex", "csv", "json", "graphml", "awesome")


@dataclass
class Exported:
    """The text of an export and what the user should know about it (said on stderr)."""

    text: str
    notes: list[str] = field(default_factory=list)


def export_kb(kb: KB, fmt: str, config: Config) -> Exported:
    """The knowledge base rendered in ``fmt`` (one of FORMATS)."""
    entries = list(kb.entries.values())
    if fmt == "bibtex":
        from kb.bibtex import to_bibtex

        return Exported(to_bibtex(entries), _uncitable(entries))
    if fmt == "csv":
        from kb.export.records import to_csv

        return Exported(to_csv(entries))
    if fmt == "json":
        from kb.export.records import to_json

        return Exported(to_json(entries))
    if fmt == "graphml":
        return graphml(kb, config)
    if fmt == "awesome":
        from kb.export.awesome import render_awesome

        return Exported(render_awesome(kb))
    raise ValueError(f"unknown export format {fmt!r}")  # the CLI offers only FORMATS


def _uncitable(entries: list[Entry]) -> list[str]:
    """A note on the BibTeX records that hold little but a title, which cite nothing a reader can find."""
    bare = sorted(e.id for e in entries if not (e.year or e.arxiv or e.links.paper or e.venue))
    if not bare:
        return []
    shown = ", ".join(bare[:3]) + (", ..." if len(bare) > 3 else "")
    return [
        f"note: {len(bare)} of the {len(entries)} records have no year, venue, arXiv id or paper address "
        f"({shown}); add them to the entries to make the records citable"
    ]


def graphml(kb: KB, config: Config) -> Exported:
    """The knowledge graph as GraphML; similarity edges for the entries whose vectors are cached."""
    from kb.embed import load_cached_vectors, missing_vectors
    from kb.graph import build_graph, graph_text

    notes = []
    try:
        vectors = load_cached_vectors(kb, config, partial=True)
        if missing := missing_vectors(kb, vectors):
            notes.append(f"{missing}: they have no similarity edges")
    except KBError as exc:
        # Encoding would load the model (minutes on a CPU); an export never does that by itself.
        vectors = None
        notes.append(f"no similarity edges: {exc}")
    graph = build_graph(kb, vectors, k=config.neighbours)
    return Exported(graph_text(graph, "graphml"), notes)

"""Overviews of the whole knowledge base: entry counts per taxonomy node (kb tree), counts by
every dimension (kb stats), and where coverage is thin (kb gaps)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from kb.errors import UsageError
from kb.query import did_you_mean, entry_tags, in_subtree, resolve_node, subtree_ids
from kb.schema import Kind, Modality
from kb.tags import zero_shot_reason
from kb.taxonomy import TAXONOMY_IDS, TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.cluster import ReviewItem
    from kb.embed import Vectors
    from kb.store import KB


# ---------------------------------------------------------------------------------------------
# Tree counts


@dataclass
class NodeCount:
    """How many entries a node holds: tagged with it, and anywhere in its subtree (distinct
    entries). ``suggested`` counts entries only suggested there (not curated there)."""

    taxonomy: str
    id: str
    name: str
    depth: int
    parent: str | None
    curated: int = 0
    curated_total: int = 0
    suggested: int = 0
    suggested_total: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "qualified_id": f"{self.taxonomy}:{self.id}",
            "name": self.name,
            "depth": self.depth,
            "parent": self.parent,
            "curated": self.curated,
            "curated_total": self.curated_total,
            "suggested": self.suggested,
            "suggested_total": self.suggested_total,
        }


TagsById = dict[str, dict[str, list[str]]]


def zero_shot_note(kb: KB) -> str | None:
    """What kb tree, kb stats and kb gaps say on stderr when their suggested counts leave some
    taxonomy's scores out, being zero-shot (kb.query.entry_tags), or None."""
    if not kb.zero_shot_suggestions:
        return None
    return f"suggested counts leave out zero-shot scores: {zero_shot_reason(kb.zero_shot_suggestions)}"


def tags_by_id(kb: KB, *, suggested: bool = False) -> TagsById:
    """Every entry's tags per taxonomy (kb.query.entry_tags), worked out once for a whole overview."""
    return {entry.id: entry_tags(kb, entry, suggested=suggested) for entry in kb.entries.values()}


def node_counts(
    kb: KB, taxonomy: str, curated: TagsById | None = None, every: TagsById | None = None
) -> list[NodeCount]:
    """Counts for every node of one taxonomy, in tree order; ``curated`` and ``every`` (curated
    and suggested) are the tags of ``tags_by_id`` when the caller has them already."""
    curated = curated if curated is not None else tags_by_id(kb)
    every = every if every is not None else tags_by_id(kb, suggested=True)
    tax = kb.taxonomies[taxonomy]
    nodes = set(tax.nodes)
    here: dict[str, set[str]] = {n: set() for n in nodes}
    suggested_here: dict[str, set[str]] = {n: set() for n in nodes}
    for entry_id in kb.entries:
        mine = set(curated[entry_id][taxonomy])
        for tag in mine & nodes:
            here[tag].add(entry_id)
        for tag in (set(every[entry_id][taxonomy]) - mine) & nodes:
            suggested_here[tag].add(entry_id)
    out = []
    for node in tax.walk():
        below = [n.id for n in tax.subtree(node.id)]
        curated_total = set().union(*(here[n] for n in below))
        suggested_total = set().union(*(suggested_here[n] for n in below)) - curated_total
        out.append(
            NodeCount(
                taxonomy,
                node.id,
                node.name,
                node.depth,
                node.parent,
                len(here[node.id]),
                len(curated_total),
                len(suggested_here[node.id]),
                len(suggested_total),
            )  # fmt: skip
        )
    return out


def tree_counts(kb: KB, ref: str | None = None) -> dict[str, list[NodeCount]]:
    """Counts per taxonomy; ``ref`` names one taxonomy, or one node (its subtree), or None for all."""
    if ref is None:
        curated, every = tags_by_id(kb), tags_by_id(kb, suggested=True)
        return {t: node_counts(kb, t, curated, every) for t in TAXONOMY_IDS}
    if ref in TAXONOMY_IDS:
        return {ref: node_counts(kb, ref)}
    if ":" not in ref and ref not in {n.id for t in kb.taxonomies for n in t.walk()}:
        hint = did_you_mean(ref, TAXONOMY_IDS)  # "codeve" means the taxonomy, not a node like it
        if hint:
            raise UsageError(f"unknown taxonomy {ref!r}{hint}")
    node = resolve_node(kb, ref)
    below = subtree_ids(kb, node)
    return {node.taxonomy: [c for c in node_counts(kb, node.taxonomy) if c.id in below]}


# ---------------------------------------------------------------------------------------------
# Stats


_YEAR_AT_END = re.compile(r"\s*'?\d{2,4}$")


def venue_family(venue: str) -> str:
    """ "NeurIPS 2023" -> "NeurIPS": the venue without its year."""
    return _YEAR_AT_END.sub("", venue.strip()) or venue


def _ranked(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def stats(kb: KB) -> dict[str, object]:
    """Counts by kind, year, modality, venue and taxonomy node (curated, subtree totals)."""
    entries = list(kb.entries.values())
    years = Counter(str(e.year) if e.year else "undated" for e in entries)
    modalities = Counter(m.value for e in entries for m in dict.fromkeys([*e.modalities.input, *e.modalities.output]))
    nodes: dict[str, dict[str, int]] = {}
    tagged: dict[str, int] = {}
    curated, every = tags_by_id(kb), tags_by_id(kb, suggested=True)
    learning = [t for t in TOPIC_TAXONOMIES if t not in kb.zero_shot_suggestions]  # zero-shot scores are no suggestions
    for tax in TAXONOMY_IDS:
        counts = node_counts(kb, tax, curated, every)
        nodes[tax] = {c.id: c.curated_total for c in counts}
        tagged[tax] = sum(1 for tags in curated.values() if tags[tax])
    return {
        "entries": len(entries),
        "works": sum(1 for e in entries if not e.is_dataset),
        "datasets": sum(1 for e in entries if e.is_dataset),
        "kinds": {k.value: n for k in Kind if (n := sum(1 for e in entries if e.kind == k))},
        "years": dict(sorted(years.items())),
        "modalities": _ranked(modalities),
        "venues": _ranked(Counter(venue_family(e.venue) if e.venue else "none" for e in entries)),
        "tagged": tagged,
        "untagged": sum(1 for e in entries if e.tags.is_empty()),
        "suggested": sum(1 for found in kb.suggestions.values() if any(getattr(found, t) for t in learning)),
        "nodes": nodes,
    }


# ---------------------------------------------------------------------------------------------
# Gaps


@dataclass
class Gaps:
    """Where the KB is thin: sparse nodes, uncovered years and modalities, and tags to review."""

    threshold: int
    sparse: list[NodeCount]
    # qualified top-level node id -> years / modalities the KB covers but the node has no entry in
    missing_years: dict[str, list[str]]
    missing_modalities: dict[str, list[str]]
    covered_years: list[str]
    covered_modalities: list[str]
    review: list[ReviewItem] | None  # None when no cached vectors (run kb embed)
    review_note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "sparse_nodes": [c.to_dict() for c in self.sparse],
            "covered_years": self.covered_years,
            "covered_modalities": self.covered_modalities,
            "missing_years": self.missing_years,
            "missing_modalities": self.missing_modalities,
            "review": None if self.review is None else [asdict(r) for r in self.review],
            "review_note": self.review_note,
        }


def gaps(
    kb: KB,
    *,
    threshold: int = 3,
    min_cover: int = 5,
    taxonomies: Sequence[str] = TOPIC_TAXONOMIES,
    vectors: Vectors | None = None,
    review_note: str = "",
) -> Gaps:
    """Nodes holding fewer than ``threshold`` curated entries (subtree total); for each top-level
    node, the years and modalities that the KB covers (``min_cover`` entries or more) but the node
    has none of; and the review queue of kb.cluster when ``vectors`` are given."""
    entries = list(kb.entries.values())
    years = Counter(str(e.year) for e in entries if e.year)
    modalities = Counter(m.value for e in entries for m in {*e.modalities.input, *e.modalities.output})
    covered_years = sorted(y for y, n in years.items() if n >= min_cover)
    covered_modalities = [m.value for m in Modality if modalities[m.value] >= min_cover]
    sparse: list[NodeCount] = []
    missing_years: dict[str, list[str]] = {}
    missing_modalities: dict[str, list[str]] = {}
    curated, every = tags_by_id(kb), tags_by_id(kb, suggested=True)
    for tax in taxonomies:
        sparse += [c for c in node_counts(kb, tax, curated, every) if c.curated_total < threshold]
        for root in kb.taxonomies[tax].roots:
            node = kb.taxonomies[tax][root]
            below = subtree_ids(kb, node)
            members = [e for e in entries if in_subtree(curated[e.id], node, below)]
            have_years = {str(e.year) for e in members if e.year}
            have_modalities = {m.value for e in members for m in (*e.modalities.input, *e.modalities.output)}
            missing_years[node.qualified_id] = [y for y in covered_years if y not in have_years]
            missing_modalities[node.qualified_id] = [m for m in covered_modalities if m not in have_modalities]
    review = None
    if vectors is not None:
        from kb.cluster import review_queue

        review = review_queue(kb, vectors)
    return Gaps(
        threshold, sparse, missing_years, missing_modalities, covered_years, covered_modalities, review, review_note
    )

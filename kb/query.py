"""Questions to the knowledge base: filters that combine, sorting, relations both ways, and the
overviews behind ``kb tree``, ``kb stats`` and ``kb gaps``.

Library code: what a user named wrong raises ``kb.errors.UsageError`` with a "did you mean";
the CLI prints. Nothing heavy is imported here: entry tags come from ``kb.graph`` (numpy,
networkx) only when a command needs them, and the ranking by meaning lives in ``kb.search``.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.errors import UsageError
from kb.schema import RELATION_TYPES, WORK_KINDS, Entry, Kind, Modality, parse_partial_date
from kb.taxonomy import TAXONOMY_IDS, Node

if TYPE_CHECKING:
    from kb.cluster import ReviewItem
    from kb.embed import Vectors
    from kb.store import KB

# --sort keys; a leading "-" reverses. Entries without the key (no date) always come last.
SORT_KEYS = ("date", "title", "id", "kind", "venue", "name")
SORTS = tuple(s for key in SORT_KEYS for s in (key, f"-{key}"))
DEFAULT_SORT = "-date"
# --kind also takes the two families.
KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "works": tuple(k.value for k in WORK_KINDS),
    "datasets": ("dataset", "benchmark"),
}
# Relations read from the other side: "works that trained on this dataset".
INVERSE_NAMES = {
    "trained_on": "trained on by",
    "evaluated_on": "evaluated on by",
    "introduces": "introduced by",
    "builds_on": "built on by",
}


def did_you_mean(wrong: str, options: Iterable[str], *, cutoff: float = 0.6) -> str:
    """ "; did you mean 'x'?" for the closest option, or "" when none is close."""
    close = difflib.get_close_matches(wrong, list(options), n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""


def choose(value: str, options: Sequence[str], what: str) -> str:
    """``value`` when it is one of ``options``; else a UsageError that names the closest one."""
    if value in options:
        return value
    hint = did_you_mean(value, options, cutoff=0.5) or f"; expected one of {', '.join(options)}"
    raise UsageError(f"unknown {what} {value!r}{hint}")


# ---------------------------------------------------------------------------------------------
# Lookups


def resolve_node(kb: KB, ref: str) -> Node:
    """A taxonomy node by bare id (``data4model/scaling``) or qualified id (``codev:...``)."""
    try:
        return kb.taxonomies.resolve(ref)
    except LookupError as exc:
        raise UsageError(str(exc).strip("'\"")) from None


def get_entry(kb: KB, entry_id: str) -> Entry:
    """The entry with this id; a UsageError naming the closest id when there is none."""
    if entry_id in kb.entries:
        return kb.entries[entry_id]
    # Names and titles are what people remember; accept an exact one as the id.
    lowered = entry_id.casefold()
    named = [e for e in kb.entries.values() if lowered in {(e.name or "").casefold(), e.title.casefold()}]
    if len(named) == 1:
        return named[0]
    raise UsageError(f"no entry with id {entry_id!r}{did_you_mean(entry_id, kb.entries)}")


def get_dataset(kb: KB, dataset_id: str) -> Entry:
    entry = get_entry(kb, dataset_id)
    if not entry.is_dataset:
        raise UsageError(f"{entry.id!r} is a {entry.kind.value}, not a dataset or benchmark; --uses takes a dataset id")
    return entry


# ---------------------------------------------------------------------------------------------
# Tags


def entry_tags(kb: KB, entry: Entry, *, suggested: bool = False) -> dict[str, list[str]]:
    """An entry's tags per taxonomy as node ids: curated ones (MM-LLMs facets mapped onto nodes,
    as kb.graph does), then with ``suggested`` the machine suggestions kb.graph keeps."""
    from kb.graph import curated_tags, suggested_tags

    tags = curated_tags(entry)
    if suggested:
        for tax, ranked in suggested_tags(kb, entry.id).items():
            tags[tax] += [tag for tag, _ in ranked if tag not in tags[tax]]
    return tags


def subtree_ids(kb: KB, node: Node) -> set[str]:
    return {n.id for n in kb.taxonomies[node.taxonomy].subtree(node.id)}


def in_subtree(tags: dict[str, list[str]], node: Node, below: set[str]) -> bool:
    return any(tag in below for tag in tags.get(node.taxonomy, ()))


# ---------------------------------------------------------------------------------------------
# Filters


@dataclass
class Filters:
    """What ``kb query`` asks; every filter given must hold (AND).

    - ``tags``: the entry carries a tag in the subtree of each node (repeat = AND);
      ``any_tags``: in the subtree of at least one of them (OR). Curated tags only, unless
      ``suggested`` adds the machine suggestions.
    - ``kinds``: any of these kinds (an entry has one kind); "works" and "datasets" name families.
    - ``modalities``: every one of these among the entry's input or output modalities.
    - ``since``/``until``: YYYY, YYYY-MM or YYYY-MM-DD, inclusive, compared at the precision both
      dates have (an entry dated "2023" is inside ``since 2023-06``); undated entries never match.
    - ``venue``: a case-insensitive part of the venue.
    - ``text``: every word appears (case-insensitive, as part of a word) in the title, name,
      aliases, summary or authors.
    - ``uses``: works that were trained or evaluated on this dataset.
    """

    tags: Sequence[str] = ()
    any_tags: Sequence[str] = ()
    suggested: bool = False
    kinds: Sequence[str] = ()
    modalities: Sequence[str] = ()
    since: str | None = None
    until: str | None = None
    venue: str | None = None
    text: str | None = None
    uses: str | None = None
    year: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.year is not None:
            if self.since or self.until:
                raise UsageError("--year cannot be combined with --since or --until; use one or the other")
            self.since = self.until = str(self.year)


def _date_parts(value: str, option: str) -> tuple[int, ...]:
    try:
        year, month, day = parse_partial_date(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    return tuple(p for p in (year, month, day) if p is not None)


def _kinds(names: Sequence[str]) -> set[str]:
    out: set[str] = set()
    options = [k.value for k in Kind] + list(KIND_GROUPS)
    for name in names:
        choose(name, options, "kind")
        out.update(KIND_GROUPS.get(name, (name,)))
    return out


def _modalities(names: Sequence[str]) -> list[Modality]:
    options = [m.value for m in Modality]
    return [Modality(choose(name, options, "modality")) for name in names]


def _searchable(entry: Entry) -> str:
    return " ".join([entry.title, entry.name or "", *entry.aliases, entry.summary or "", *entry.authors]).casefold()


def select(kb: KB, filters: Filters) -> list[Entry]:
    """The entries matching every filter, in file order (sort them with ``sort_entries``)."""
    tag_nodes = [(node, subtree_ids(kb, node)) for node in (resolve_node(kb, r) for r in filters.tags)]
    any_nodes = [(node, subtree_ids(kb, node)) for node in (resolve_node(kb, r) for r in filters.any_tags)]
    kinds = _kinds(filters.kinds)
    modalities = _modalities(filters.modalities)
    since = _date_parts(filters.since, "--since") if filters.since else None
    until = _date_parts(filters.until, "--until") if filters.until else None
    words = filters.text.casefold().split() if filters.text else []
    venue = filters.venue.casefold() if filters.venue else None
    users = users_of(kb, get_dataset(kb, filters.uses).id, ("trained_on", "evaluated_on")) if filters.uses else None

    out = []
    for entry in kb.entries.values():
        if kinds and entry.kind.value not in kinds:
            continue
        if users is not None and entry.id not in users:
            continue
        if modalities and not set(modalities) <= {*entry.modalities.input, *entry.modalities.output}:
            continue
        if since or until:
            if not entry.date:
                continue
            parts = _date_parts(entry.date, "date")
            if since and parts[: len(since)] < since[: len(parts)]:
                continue
            if until and parts[: len(until)] > until[: len(parts)]:
                continue
        if venue is not None and venue not in (entry.venue or "").casefold():
            continue
        if words:
            haystack = _searchable(entry)
            if not all(word in haystack for word in words):
                continue
        if tag_nodes or any_nodes:
            tags = entry_tags(kb, entry, suggested=filters.suggested)
            if not all(in_subtree(tags, node, below) for node, below in tag_nodes):
                continue
            if any_nodes and not any(in_subtree(tags, node, below) for node, below in any_nodes):
                continue
        out.append(entry)
    return out


def sort_entries(entries: Iterable[Entry], sort: str = DEFAULT_SORT) -> list[Entry]:
    """Entries ordered by ``sort`` (one of SORTS), ties by id; entries lacking the key go last."""
    choose(sort, SORTS, "sort key")
    key, reverse = sort.lstrip("-"), sort.startswith("-")

    def value(entry: Entry) -> object:
        if key == "date":
            return _date_parts(entry.date, "date") if entry.date else None
        if key == "kind":
            return list(Kind).index(entry.kind)
        if key in ("title", "name", "venue"):
            text = getattr(entry, key)
            return text.casefold() if text else None
        return entry.id

    entries = sorted(entries, key=lambda e: e.id)  # the tie-break, kept by the stable sorts below
    present = [e for e in entries if value(e) is not None]
    missing = [e for e in entries if value(e) is None]
    return sorted(present, key=value, reverse=reverse) + missing  # type: ignore[arg-type, return-value]


# ---------------------------------------------------------------------------------------------
# Relations


def users_of(kb: KB, target: str, relations: Sequence[str] = RELATION_TYPES) -> set[str]:
    """Ids of entries that name ``target`` under any of ``relations``."""
    return {
        e.id for e in kb.entries.values() for rel, other in e.relations.items() if other == target and rel in relations
    }


def relations_both_ways(kb: KB, entry: Entry) -> dict[str, dict[str, list[str]]]:
    """``{"out": {relation: [ids]}, "in": {relation: [ids of entries naming this one]}}``, non-empty lists only."""
    out: dict[str, list[str]] = {}
    for rel, target in entry.relations.items():
        out.setdefault(rel, []).append(target)
    back: dict[str, list[str]] = {}
    for other in kb.entries.values():
        for rel, target in other.relations.items():
            if target == entry.id:
                back.setdefault(rel, []).append(other.id)
    return {"out": out, "in": {rel: sorted(ids) for rel, ids in back.items()}}


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


def node_counts(kb: KB, taxonomy: str) -> list[NodeCount]:
    """Counts for every node of one taxonomy, in tree order."""
    tax = kb.taxonomies[taxonomy]
    here: dict[str, set[str]] = {n: set() for n in tax.nodes}
    suggested_here: dict[str, set[str]] = {n: set() for n in tax.nodes}
    for entry in kb.entries.values():
        curated = set(entry_tags(kb, entry)[taxonomy])
        every = set(entry_tags(kb, entry, suggested=True)[taxonomy])
        for tag in curated & set(tax.nodes):
            here[tag].add(entry.id)
        for tag in (every - curated) & set(tax.nodes):
            suggested_here[tag].add(entry.id)
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
        return {t: node_counts(kb, t) for t in TAXONOMY_IDS}
    if ref in TAXONOMY_IDS:
        return {ref: node_counts(kb, ref)}
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
    for tax in TAXONOMY_IDS:
        counts = node_counts(kb, tax)
        nodes[tax] = {c.id: c.curated_total for c in counts}
        tagged[tax] = sum(1 for e in entries if entry_tags(kb, e)[tax])
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
        "suggested": len(kb.suggestions),
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
        from dataclasses import asdict

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
    taxonomies: Sequence[str] = ("codev", "yin"),
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
    for tax in taxonomies:
        sparse += [c for c in node_counts(kb, tax) if c.curated_total < threshold]
        for root in kb.taxonomies[tax].roots:
            node = kb.taxonomies[tax][root]
            below = subtree_ids(kb, node)
            members = [e for e in entries if in_subtree(entry_tags(kb, e), node, below)]
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


# ---------------------------------------------------------------------------------------------
# One entry, everything about it


def describe(kb: KB, entry: Entry, vectors: Vectors | None = None, *, k: int = 5, note: str = "") -> dict[str, object]:
    """Everything about one entry: its fields as written, curated and suggested tags apart,
    relations both ways, and its ``k`` nearest neighbours when ``vectors`` are given (else
    ``note`` says why there are none)."""
    import os

    from kb.output import suggested_record

    neighbours = None
    if vectors is not None and entry.id in vectors:
        neighbours = [
            {
                "id": other,
                "title": kb.entries[other].title,
                "kind": kb.entries[other].kind.value,
                "score": round(score, 4),
            }
            for other, score in vectors.nearest(entry.id, k)
            if other in kb.entries
        ]
    path = kb.paths.get(entry.id)
    return {
        "id": entry.id,
        "path": os.path.relpath(path, kb.root).replace(os.sep, "/") if path else None,
        "fields": entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True),
        "tags": {"curated": entry_tags(kb, entry), "suggested": suggested_record(kb, entry.id)},
        "relations": relations_both_ways(kb, entry),
        "neighbours": neighbours,
        "note": "" if neighbours is not None else note,
    }

"""Questions to the knowledge base: filters that combine, sorting, relations both ways, one
entry in full. The overviews behind ``kb tree``, ``kb stats`` and ``kb gaps`` are in
``kb.query.overview``.

Library code: what a user named wrong raises ``kb.errors.UsageError`` with a "did you mean";
the CLI prints. Nothing heavy is imported here: entry tags come from the light ``kb.tags``, and
the ranking by meaning lives in ``kb.search``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, get_args

from kb.errors import UsageError
from kb.output.text import folded, not_text, shorten
from kb.schema import RELATION_TYPES, WORK_KINDS, Entry, Kind, Modality, Source, parse_partial_date
from kb.tags import curated_tags, learned_tags, tag_sources, zero_shot_reason
from kb.taxonomy import Node

if TYPE_CHECKING:
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
INVERSE_NAMES = {  # kb show's words, and the site's entry pages' (kb.site.model.RELATION_NAMES)
    "trained_on": "used to train",
    "evaluated_on": "used to evaluate",
    "introduces": "introduced in",
    "builds_on": "built upon by",
}


SAID_CHARS = 80  # of a value typed, in a message that repeats it (an id pasted 5000 characters long)


def said(value: str) -> str:
    """``value`` quoted as a message repeats what a person typed: cut to SAID_CHARS characters."""
    return repr(shorten(value, SAID_CHARS + 1))  # the ellipsis after SAID_CHARS characters


def closest(wrong: str, options: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The option ``wrong`` is but for case (JSON for json: difflib sees no likeness there), else
    the closest option, or None when none is close (a text far longer than any option is close to
    none, and difflib would take a while to say so)."""
    options = list(options)
    same = [option for option in options if option.casefold() == wrong.casefold()]
    longest = max((len(option) for option in options), default=0)
    close = same or (difflib.get_close_matches(wrong, options, n=1, cutoff=cutoff) if len(wrong) <= 2 * longest else [])
    return close[0] if close else None


def did_you_mean(wrong: str, options: Iterable[str], *, cutoff: float = 0.6) -> str:
    """ "; did you mean 'x'?" for the ``closest`` option, or "" when none is close."""
    meant = closest(wrong, options, cutoff=cutoff)
    return f"; did you mean {meant!r}?" if meant is not None else ""


def choose(value: str, options: Sequence[str], what: str, *, aliases: Mapping[str, str] | None = None) -> str:
    """``value`` when it is one of ``options`` (or an alias of one: another word for it); else a
    UsageError that names the closest one, an alias's slip ("texts") named as the option it means."""
    if value in options:
        return value
    words = {w: o for w, o in (aliases or {}).items() if o in options} | {o: o for o in options}
    if value in words:
        return words[value]
    meant = closest(value, list(words), cutoff=0.5)
    hint = f"; did you mean {words[meant]!r}?" if meant is not None else f"; expected one of {', '.join(options)}"
    raise UsageError(f"unknown {what} {said(value)}{hint}")


# ---------------------------------------------------------------------------------------------
# Lookups


def resolve_node(kb: KB, ref: str) -> Node:
    """A taxonomy node by bare id (``data4model/scaling``) or qualified id (``codev:...``)."""
    try:
        return kb.taxonomies.resolve(ref)
    except LookupError as exc:
        message = str(exc.args[0])
        hint = "" if message.endswith("?") or "ambiguous" in message else "; kb tree lists every node"
        raise UsageError(message + hint) from None


def get_entry(kb: KB, entry_id: str, *, hint_among: Iterable[Entry] | None = None) -> Entry:
    """The entry with this id (or exact name, title or alias); else a UsageError naming the
    closest id (of ``hint_among`` when given, else of every entry)."""
    if entry_id in kb.entries:
        return kb.entries[entry_id]
    if why := not_text(entry_id):
        raise UsageError(f"the entry id {why}")
    if not entry_id.strip():
        raise UsageError("the entry id is empty; give an entry's id, name or title")
    # Names and titles are what people remember; accept an exact one as the id.
    lowered = entry_id.casefold()
    named = [
        e
        for e in kb.entries.values()
        if lowered in {e.title.casefold(), *map(str.casefold, e.aliases), *([e.name.casefold()] if e.name else [])}
    ]
    if len(named) == 1:
        return named[0]
    if named:
        ids = sorted(e.id for e in named)
        shown = ", ".join(ids[:5]) + (f", and {len(ids) - 5} more" if len(ids) > 5 else "")
        raise UsageError(f"{said(entry_id)} names {len(named)} entries ({shown}); give one of their ids")
    options = [e.id for e in hint_among] if hint_among is not None else kb.entries
    raise UsageError(f"no entry with id {said(entry_id)}{did_you_mean(entry_id, options)}")


def get_dataset(kb: KB, dataset_id: str) -> Entry:
    """The dataset or benchmark with this id; a UsageError naming the closest dataset otherwise."""
    entry = get_entry(kb, dataset_id, hint_among=kb.datasets())
    if not entry.is_dataset:
        raise UsageError(
            f"{entry.id!r} is {entry.kind.with_article}, not a dataset or benchmark; --uses takes a dataset id"
        )
    return entry


# ---------------------------------------------------------------------------------------------
# Tags


def entry_tags(kb: KB, entry: Entry, *, suggested: bool = False) -> dict[str, list[str]]:
    """An entry's tags per taxonomy as node ids: curated ones (MM-LLMs facets mapped onto nodes,
    see kb.tags), then with ``suggested`` the best machine suggestions, never the zero-shot
    fallback's scores (kb.tags.learned_tags), which are not suggestions: what tag filters, kb tree,
    kb stats and kb gaps count."""

    tags = curated_tags(entry)
    if suggested:
        for tax, ranked in learned_tags(kb, entry.id).items():
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
      ``suggested`` adds the machine suggestions (learned ones: zero-shot scores are not suggestions).
    - ``kinds``: any of these kinds (an entry has one kind); "works" and "datasets" name families.
    - ``modalities``: every one of these among the entry's input or output modalities.
    - ``since``/``until``: YYYY, YYYY-MM or YYYY-MM-DD, inclusive, compared at the precision both
      dates have (an entry dated "2023" is inside ``since 2023-06``); undated entries never match.
    - ``venue``: a case-insensitive part of the venue.
    - ``text``: every word appears (case-insensitive, as part of a word) in the title, name,
      aliases, summary, authors or affiliations.
    - ``uses``: works that were trained or evaluated on this dataset.
    - ``curated_by``: some of the entry's curated tags were set by this source (its provenance says
      so): a survey's list (seed-codev, seed-yin, seed-mmllms), arxiv or contributor.
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
    curated_by: str | None = None
    year: int | None = field(default=None)

    def __post_init__(self) -> None:
        given = {
            "--tag": self.tags,
            "--any-tag": self.any_tags,
            "--kind": self.kinds,
            "--modality": self.modalities,
            "--since": [self.since],
            "--until": [self.until],
            "--venue": [self.venue],
            "--text": [self.text],
            "--uses": [self.uses],
            "--curated-by": [self.curated_by],
        }
        for option, values in given.items():
            for value in values:
                if value is None:
                    continue
                if why := not_text(value):
                    raise UsageError(f"{option} {why}")
                if not value.strip():  # once taken as no filter at all, or as one nothing matched
                    raise UsageError(f"{option} is empty; give {_WANTED[option]}")
        if self.year is not None:
            if self.since or self.until:
                raise UsageError("--year cannot be combined with --since or --until; use one or the other")
            if not 1000 <= self.year <= 9999:
                raise UsageError(f"--year: expected a year such as 2024, got {self.year}")
            self.since = self.until = str(self.year)


_WANTED = {
    "--tag": "a taxonomy node (kb tree lists them)",
    "--any-tag": "a taxonomy node (kb tree lists them)",
    "--kind": "a kind (model, method, analysis, survey, dataset, benchmark, works or datasets)",
    "--modality": "a modality (image, video, ...)",
    "--since": "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "--until": "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "--venue": "part of a venue, e.g. cvpr",
    "--text": "words to look for",
    "--uses": "a dataset's id",
    "--curated-by": "a source (seed-codev, seed-yin, seed-mmllms, arxiv or contributor)",
}


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
    fields = [entry.title, entry.name or "", *entry.aliases, entry.summary or "", *entry.authors, *entry.affiliations]
    return folded(" ".join(fields))


def select(kb: KB, filters: Filters) -> list[Entry]:
    """The entries matching every filter, in file order (sort them with ``sort_entries``)."""
    tag_nodes = [(node, subtree_ids(kb, node)) for node in (resolve_node(kb, r) for r in filters.tags)]
    any_nodes = [(node, subtree_ids(kb, node)) for node in (resolve_node(kb, r) for r in filters.any_tags)]
    kinds = _kinds(filters.kinds)
    modalities = _modalities(filters.modalities)
    since = _date_parts(filters.since, "--since") if filters.since else None
    until = _date_parts(filters.until, "--until") if filters.until else None
    if since and until and since[: len(until)] > until[: len(since)]:
        raise UsageError(f"--since {filters.since} is after --until {filters.until}; no entry can match")
    words = folded(filters.text).split() if filters.text else []
    venue = folded(filters.venue) if filters.venue else None
    users = (
        users_of(kb, get_dataset(kb, filters.uses).id, ("trained_on", "evaluated_on"))
        if filters.uses is not None
        else None
    )

    if filters.curated_by is not None:
        choose(filters.curated_by, list(get_args(Source)), "source")

    out = []
    for entry in kb.entries.values():
        if kinds and entry.kind.value not in kinds:
            continue
        if filters.curated_by is not None and not any(filters.curated_by in s for s in tag_sources(entry).values()):
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
        if venue is not None and venue not in folded(entry.venue or ""):
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


def filter_notes(kb: KB, filters: Filters) -> list[str]:
    """What a person should know of the filters given before reading an empty result as an answer."""
    notes = []
    if filters.uses is not None and not any(
        e.relations.trained_on or e.relations.evaluated_on for e in kb.entries.values()
    ):
        notes.append(
            "--uses follows relations.trained_on and relations.evaluated_on, which no entry of this "
            "knowledge base records yet, so it matches nothing"
        )
    if filters.suggested and kb.zero_shot_suggestions:
        notes.append(
            f"--suggested counts no zero-shot score: {zero_shot_reason(kb.zero_shot_suggestions)} "
            "(listed apart as zero_shot)"
        )
    return notes


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
# One entry, everything about it


def describe(kb: KB, entry: Entry, vectors: Vectors | None = None, *, k: int = 5, note: str = "") -> dict[str, object]:
    """Everything about one entry: its fields as written, curated and suggested tags apart,
    relations both ways, and its ``k`` nearest neighbours when ``vectors`` are given (else
    ``note`` says why there are none)."""
    import os

    from kb.output import suggested_record, zero_shot_record

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
        if not neighbours and k > 0:  # none to list, though some were asked for: say why
            note = f"no neighbours: {_why_no_neighbours(kb, entry, vectors)}"
    path = kb.paths.get(entry.id)
    return {
        "id": entry.id,
        "path": os.path.relpath(path, kb.root).replace(os.sep, "/") if path else None,
        "fields": entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True),
        "tags": {
            "curated": entry_tags(kb, entry),
            "curated_by": tag_sources(entry),
            "suggested": suggested_record(kb, entry.id),
            # only in a knowledge base with too few curated labels to learn from: not suggestions
            **({"zero_shot": zero_shot_record(kb, entry.id)} if kb.zero_shot_suggestions else {}),
        },
        "relations": relations_both_ways(kb, entry),
        "neighbours": neighbours,
        "note": "" if neighbours else note,
    }


def alone(kb: KB, entry: Entry) -> str | None:
    """That ``entry`` has no other to be compared with (kb show's neighbours, kb similar), or None."""
    return f"the knowledge base holds no other entry to compare {entry.id} with" if len(kb.entries) <= 1 else None


def _why_no_neighbours(kb: KB, entry: Entry, vectors: Vectors) -> str:
    """Why an entry with a cached vector has no neighbour: it is alone in the knowledge base, or the
    others have no cached vector yet."""
    from kb.embed import missing_vectors

    return alone(kb, entry) or missing_vectors(kb, vectors) or "no other entry has a cached embedding; run kb embed"

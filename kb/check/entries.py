"""The checks of entries that need more than one file or more than the schema: file names,
unique ids, arXiv ids and titles, taxonomy tags, and relations."""

from __future__ import annotations

import datetime as _dt
import difflib
import os
from collections import defaultdict
from pathlib import Path

from kb.errors import Problem, same_place
from kb.naming import RESERVED_NAMES, SITE_NAMES, arxiv_id_problem, dated_after_arxiv
from kb.schema import SLUG_RE, Entry, Kind, field_paths
from kb.store import KB, EntryFacts
from kb.taxonomy import TOPIC_TAXONOMIES, Taxonomies, Taxonomy
from kb.yamlpos import Document, Loc

# What each relation may point at, and from what. None means any kind.
RELATION_TARGETS: dict[str, str] = {
    "trained_on": "datasets",
    "evaluated_on": "datasets",
    "introduces": "datasets",
    "builds_on": "same",  # a work builds on works, a dataset on datasets
}
RELATION_SOURCES: dict[str, str | None] = {
    "introduces": "works",
    "trained_on": None,
    "evaluated_on": None,
    "builds_on": None,
}


def relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def entry_problems(kb: KB, today: _dt.date) -> list[Problem]:
    """Every problem of the validated entries beyond their schema."""
    problems: list[Problem] = []
    # Ids of files that failed validation still exist: a relation to them is not dangling.
    known_ids = {e.id for _, e, _ in kb.loaded} | {p.stem for p in kb.failed}
    facts: list[tuple[Path, Document, EntryFacts]] = []
    for path, entry, doc in kb.loaded:
        at = Locator(relative(path, kb.root), doc)
        known = EntryFacts.of_entry(entry)
        facts.append((path, doc, known))
        problems += _file_problems(path, known, at)
        problems += _arxiv_problems(entry, at, today)
        problems += _list_problems(entry, at)
        problems += _provenance_problems(entry, at)
        problems += _tag_problems(entry.tags.model_dump(), kb.taxonomies, at)
        problems += _relation_problems(entry.id, entry.kind, entry.relations.model_dump(), kb, known_ids, at)
    # A file with a typo elsewhere ("kind: modle") still has its relations and tags checked, so
    # one run of kb check lists every problem; its schema problems are already in kb.problems.
    for path, doc in kb.unvalidated:
        rel = relative(path, kb.root)
        at = Locator(rel, doc)
        # A value already said to be wrong (a padded " rlhf") is not said again as unknown.
        said = doc.said([p for p in kb.problems if p.path == rel])
        read = EntryFacts.as_read(path, doc.data, said)
        facts.append((path, doc, read))
        found = _relation_problems(doc.data.get("id"), read.kind, doc.data.get("relations"), kb, known_ids, at)
        if isinstance(tags := doc.data.get("tags"), dict):
            found += _tag_problems(tags, kb.taxonomies, at)
        found += _file_problems(path, read, at)
        problems += [p for p in found if not any(same_place(p.field, field) for field in said)]
    problems += _duplicates(kb.root, facts)
    return problems


def entry_notes(kb: KB, today: _dt.date) -> list[Problem]:
    """What ``entry_problems`` finds, for the commands that go on with the knowledge base as it is
    (a repeated id, a tag no taxonomy has, a relation to no entry), without positions: files read
    from the parse cache have none, and these are remembered there (``ParseCache.notes_key``)."""
    return sorted({Problem(p.path, 0, 0, p.field, p.message) for p in entry_problems(kb, today)})


class Locator:
    """Makes problems for one file at the position of a field."""

    def __init__(self, rel: str, doc: Document):
        self.rel, self.doc = rel, doc

    def __call__(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        line, col = self.doc.position(loc, key=key)
        return Problem(self.rel, line, col, dotted(loc), message)


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _file_problems(path: Path, facts: EntryFacts, at: Locator) -> list[Problem]:
    out = []
    if facts.id is not None and path.stem != facts.id:
        # Offer the file's name as the id only when it would be one (".hidden" or "LLaVA" is not).
        other = f" or set id: {path.stem}" if SLUG_RE.match(path.stem) and len(path.stem) <= 80 else ""
        out.append(
            at(
                ("id",),
                f"{facts.id!r} differs from the file name {path.name}; rename the file to {facts.id}.yaml{other}",
            )
        )
    if facts.id in RESERVED_NAMES:
        out.append(at(("id",), f"{facts.id!r} is a reserved file name on Windows; choose another id"))
    if facts.id in SITE_NAMES:
        out.append(at(("id",), f"{facts.id!r} is the name of the site's page of all entries; choose another id"))
    folder = path.parent.name
    if facts.kind is not None and folder != facts.kind.folder:
        out.append(
            at(
                ("kind",),
                f"{facts.kind.with_article} entry belongs in entries/{facts.kind.folder}/, "
                f"not entries/{folder}/; move the file or fix the kind",
            )
        )
    return out


def repeats(values: list[object]) -> set[int]:
    """The positions of the texts in ``values`` that an earlier item already is (items that are
    not text are the schema's problem)."""
    seen: set[str] = set()
    out = set()
    for i, value in enumerate(values):
        if isinstance(value, str):
            if value in seen:
                out.add(i)
            seen.add(value)
    return out


def _list_problems(entry: Entry, at: Locator) -> list[Problem]:
    """A value listed twice (an alias, an author, a modality), and an alias that is the title or
    the name itself: aliases are the other names an entry is searched by."""
    out = []
    lists: list[tuple[Loc, list[str]]] = [
        (("aliases",), entry.aliases),
        (("authors",), entry.authors),
        (("affiliations",), entry.affiliations),
        (("modalities", "input"), [m.value for m in entry.modalities.input]),
        (("modalities", "output"), [m.value for m in entry.modalities.output]),
    ]
    for loc, values in lists:
        out += [at((*loc, i), f"{values[i]!r} is listed twice; keep one") for i in sorted(repeats(list(values)))]
    for i, alias in enumerate(entry.aliases):
        for what, other in (("title", entry.title), ("name", entry.name)):
            if other and alias.casefold() == other.casefold():
                out.append(at(("aliases", i), f"{alias!r} is the entry's {what}; aliases are its other names"))
    return out


def _provenance_problems(entry: Entry, at: Locator) -> list[Problem]:
    """A provenance note names the fields its source supplied: each must be a field of an entry
    that this entry sets, named once."""
    out = []
    known = field_paths()
    values = entry.model_dump(exclude_defaults=True)
    for i, note in enumerate(entry.provenance):
        twice = repeats(list(note.fields))
        for j, name in enumerate(note.fields):
            loc: Loc = ("provenance", i, "fields", j)
            if j in twice:
                out.append(at(loc, f"{name!r} is listed twice; keep one"))
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else "a field's name, dotted for a part, such as 'links.code'"
                )
                out.append(at(loc, f"{name!r} is not a field of an entry; {hint}"))
                continue
            value: object = values
            for part in name.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value in (None, [], {}):
                out.append(at(loc, f"the entry does not set {name}; name only the fields the source supplied"))
    return out


def _arxiv_problems(entry: Entry, at: Locator, today: _dt.date) -> list[Problem]:
    if entry.arxiv is None:
        return []
    if (message := arxiv_id_problem(entry.arxiv, today)) is not None:
        return [at(("arxiv",), message)]
    # A work is public once its paper is on arXiv; a dataset's files may come out later than the
    # paper that describes them.
    if entry.date is None or entry.kind.is_dataset or (submitted := dated_after_arxiv(entry.date, entry.arxiv)) is None:
        return []
    return [
        at(
            ("date",),
            f"{entry.date} is after arXiv {entry.arxiv} was submitted ({submitted}), which made the paper public; "
            f"the date is the first public release: give {submitted!r}, or the day in it",
        )
    ]


def _tag_problems(tags: dict[str, object], taxonomies: Taxonomies, at: Locator) -> list[Problem]:
    """Problems of the codev and yin tags of an entry's ``tags`` mapping, validated or as read
    (where a value that is not a list of strings is the schema's problem, not this one's)."""
    out = []
    for tax_id in TOPIC_TAXONOMIES:
        taxonomy, listed = taxonomies.by_id.get(tax_id), tags.get(tax_id)
        if taxonomy is None or not isinstance(listed, list):
            continue
        twice = repeats(listed)
        for i, tag in enumerate(listed):
            if not isinstance(tag, str):
                continue
            loc: Loc = ("tags", tax_id, i)
            if i in twice:
                out.append(at(loc, f"{tag!r} is listed twice; keep one"))
            message = tag_problem(taxonomy, tag)
            if message:
                out.append(at(loc, message))
    return out


def tag_problem(taxonomy: Taxonomy, tag: str) -> str | None:
    """Why ``tag`` is not a leaf of ``taxonomy`` (with a "did you mean"), or None when it is."""
    if tag not in taxonomy:
        # Only leaves are tags: a hint of a section ("data4model" for "data4model/nope") is refused next.
        leaves = {node_id: node for node_id, node in taxonomy.nodes.items() if node.is_leaf}
        close = difflib.get_close_matches(tag, list(leaves), n=1, cutoff=0.75)
        if not close:  # a leaf's last part or its name alone ("acquisition"), as kb query takes it
            ends: dict[str, list[str]] = defaultdict(list)
            for node_id, node in leaves.items():
                ends[node_id.rsplit("/", 1)[-1]].append(node_id)
                ends[node.name.casefold()].append(node_id)
            end = difflib.get_close_matches(tag.casefold(), list(ends), n=1, cutoff=0.8)
            close = ends[end[0]] if end and len(set(ends[end[0]])) == 1 else []
        hint = f"; did you mean {close[0]!r}?" if close else f"; see entries/taxonomies/{taxonomy.id}.yaml"
        return f"unknown {taxonomy.id} tag {tag!r}{hint}"
    node = taxonomy[tag]
    if not node.is_leaf:
        under = ", ".join(n.id for n in taxonomy.subtree(tag) if n.is_leaf)
        return f"{tag!r} is a section of {taxonomy.id}, not a leaf; tag one of its leaves: {under}"
    return None


def _family(kind: Kind) -> str:
    return kind.folder  # "works" or "datasets"


def relation_problems(entry: Entry, kb: KB) -> list[str]:
    """What kb check would say of ``entry``'s relations in ``kb`` (targets that exist and are of
    the kind each relation expects), as "field: message", for tools that write relations."""
    at = Locator(entry.id, Document({}))
    found = _relation_problems(entry.id, entry.kind, entry.relations.model_dump(), kb, set(kb.entries), at)
    return [f"{p.field}: {p.message}" for p in found]


def _relation_problems(
    entry_id: object, kind: Kind | None, relations: object, kb: KB, known_ids: set[str], at: Locator
) -> list[Problem]:
    """Problems of an entry's ``relations`` mapping, validated or as read (a kind that did not
    validate is None: what the kinds allow is then left unchecked)."""
    out: list[Problem] = []
    if not isinstance(relations, dict):
        return out
    source_family = _family(kind) if kind is not None else None
    for relation in ("trained_on", "evaluated_on", "introduces", "builds_on"):
        targets = relations.get(relation)
        if not isinstance(targets, list):
            continue
        wanted_source = RELATION_SOURCES[relation]
        if kind is not None and targets and wanted_source is not None and wanted_source != source_family:
            out.append(
                at(("relations", relation), f"only works use {relation}; {kind.with_article} does not", key=True)
            )
        twice = repeats(targets)
        for i, target in enumerate(targets):
            if not isinstance(target, str):
                continue  # the schema's problem
            loc: Loc = ("relations", relation, i)
            if i in twice:
                out.append(at(loc, f"{target!r} is listed twice; keep one"))
                continue
            if target == entry_id:
                out.append(at(loc, "an entry cannot point at itself"))
                continue
            if target not in known_ids:
                # A hint of the family the relation points at: "llavaa" under evaluated_on is not "llava".
                wanted_family = RELATION_TARGETS[relation] if RELATION_TARGETS[relation] != "same" else source_family
                fitting = [
                    known
                    for known in known_ids
                    if wanted_family is None
                    or known not in kb.entries
                    or _family(kb.entries[known].kind) == wanted_family
                ]
                close = difflib.get_close_matches(target, sorted(fitting), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else "; add the entry first or fix the id"
                out.append(at(loc, f"no entry with id {target!r}{hint}"))
                continue
            other = kb.entries.get(target)
            if other is None or source_family is None:
                continue  # its file has problems of its own, or this one's kind is unknown
            wanted = source_family if RELATION_TARGETS[relation] == "same" else RELATION_TARGETS[relation]
            if _family(other.kind) != wanted:
                expected = (
                    "a dataset or benchmark" if wanted == "datasets" else "a work (model, method, analysis, survey)"
                )
                out.append(at(loc, f"{target!r} is {other.kind.with_article}; {relation} expects {expected}"))
    return out


def _duplicates(root: Path, files: list[tuple[Path, Document, EntryFacts]]) -> list[Problem]:
    """Every clash of ``EntryFacts.keys``: a repeated id, a paper entered twice, a dataset's name."""
    groups: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for i, (_, _, facts) in enumerate(files):
        for field, key in facts.keys().items():
            groups[(field, key)].append(i)
    out: list[Problem] = []

    def report(field: str, message: str, family: str | None = None) -> None:
        for (each, key), group in groups.items():
            if each != field or len(group) < 2 or (family is not None and key[0] != family):
                continue
            rels = [relative(files[i][0], root) for i in group]
            for i, rel in zip(group, rels, strict=True):
                others = ", ".join(r for r in rels if r != rel) or rel
                out.append(Locator(rel, files[i][1])((field,), message.format(others=others)))

    report("id", "the same id is used by {others}; ids must be unique")
    report("arxiv", "the same arXiv id is on {others}; one paper, one work entry: merge them", "works")
    report(
        "arxiv",
        "the same arXiv id is on {others}; merge them, or give each dataset of the paper its own name",
        "datasets",
    )
    report(
        "title",
        "nearly the same title as {others} (ignoring case, punctuation and spacing); merge them or tell them apart",
    )
    report(
        "name",
        "the same name is on {others}, and a dataset is known by its name: merge them if they are one "
        "dataset, or give each a name that tells it apart",
    )
    return out

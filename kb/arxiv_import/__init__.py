"""New entries for the knowledge base: from arXiv records, or from a title alone.

The stage behind ``kb new``. ``fetch`` asks the arXiv API through the real ``arxiv`` package,
``record`` turns each record (or a bare title) into a pre-filled ``Entry``, and this module plans
the new files: it refuses papers already in the knowledge base, renders each entry as YAML with
machine-suggested tags as comments a contributor accepts by uncommenting them, and writes them.
Nothing is copied from the abstract into the entry: the summary stays for a person to write in our
own words.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kb.arxiv_import.fetch import ArxivUnavailableError, PaperNotFoundError, fetch_results, parse_arxiv_id, printable
from kb.arxiv_import.record import entry_from_result, entry_from_title, links_from, venue_from
from kb.config import Config
from kb.errors import KBError, UsageError
from kb.naming import id_problem, norm_arxiv
from kb.output.text import counted, score_text
from kb.schema import Entry, Kind
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.store import KB

__all__ = [
    "AlreadyInKBError",
    "ArxivUnavailableError",
    "Draft",
    "PaperNotFoundError",
    "Plan",
    "entry_from_result",
    "entry_from_title",
    "fetch_results",
    "links_from",
    "parse_arxiv_id",
    "plan_new",
    "render",
    "venue_from",
    "write_plan",
]

SUGGESTIONS_SHOWN = 3  # per taxonomy, in the comment block of a new entry

# Keys that come after `tags:` in dump_entry's field order: the suggestion block goes before the first.
_AFTER_TAGS = ("architecture:", "scale:", "relations:", "summary:", "added:", "provenance:")


class AlreadyInKBError(KBError):
    """The paper is already in the knowledge base (exit code 1); the message names the file."""


@dataclass
class Draft:
    """One new entry, ready to be written: the entry and the exact text of its file."""

    entry: Entry
    text: str
    path: Path


@dataclass
class Plan:
    """What ``kb new`` will write, and notes for the contributor (printed on stderr)."""

    drafts: list[Draft] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Suggested tags, shown as comments.


def suggested_tags(
    kb: KB, config: Config, text: str, kind: Kind
) -> tuple[dict[str, list[tuple[str, float]]], str | None]:
    """Ranked tags per taxonomy for a new entry's text (kb.classify), as the kind of entry it is;
    when the classifier cannot run, nothing and a note saying why."""
    from kb.classify import suggest_for_text

    out: dict[str, list[tuple[str, float]]] = {}
    try:
        for taxonomy in TOPIC_TAXONOMIES:
            ranked = suggest_for_text(kb, config, taxonomy, text, kind=kind.value)
            out[taxonomy] = [(s.tag, float(s.score)) for s in ranked[:SUGGESTIONS_SHOWN]]
    except KBError as exc:
        return {}, f"note: no suggested tags: {exc}"
    return out, None


def render(entry: Entry, suggestions: dict[str, list[tuple[str, float]]], kb: KB) -> str:
    """The entry's YAML (as dump_entry writes it) with a comment block where tags go: suggested
    tags a contributor keeps by uncommenting them, and a reminder to write the summary."""
    from kb.store import dump_entry

    # Only ids of our own taxonomies reach the file, so a comment can never carry stray text.
    shown = {
        tax: [(tag, score) for tag, score in pairs if tax in kb.taxonomies.by_id and tag in kb.taxonomies[tax]]
        for tax, pairs in suggestions.items()
    }
    block = []
    if any(shown.values()):
        kept = ", ".join(f"tags.{t}" for t, pairs in shown.items() if pairs)
        block.append("# Suggested tags (by kb, not curated): uncomment the ones that fit, delete the rest,")
        block.append(f"# and say so in provenance: - {{source: contributor, fields: [{kept}]}}")
        block.append("# tags:")
        for taxonomy, pairs in shown.items():
            if pairs:
                block.append(f"#   {taxonomy}:")
                block += [f"#   - {tag}  # suggested {score_text(score)}" for tag, score in pairs]
    else:
        block.append("# tags: add curated taxonomy tags here (codev, yin, mmllms); see entries/taxonomies/.")
    block.append("# summary: a few sentences in our own words (never the abstract).")
    lines = dump_entry(entry).splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(_AFTER_TAGS))
    return "".join(lines[:at]) + "".join(f"{line}\n" for line in block) + "".join(lines[at:])


# ---------------------------------------------------------------------------------------------
# The whole step: check, fetch, draft, write.


ANOTHER_DATASET = "; to add another dataset or benchmark of the same paper, give it its own name with --name"


def _refuse_arxiv(kb: KB, arxiv_id: str, kind: Kind | None, name: str | None = None) -> str | None:
    """Before asking arXiv: refuse an id whose key (``EntryFacts.keys``, as kb check and
    ``_refuse_clash`` compare) an entry of the KB has, for either family while the kind is still
    to be guessed; return a note when only an entry of the other family has it."""
    from kb.store import EntryFacts

    named = name is not None
    families = [kind.folder] if kind is not None else ["works", "datasets"]
    wanted = {EntryFacts(None, kind, family, None, arxiv_id, name).keys(named=named)["arxiv"] for family in families}
    same = (e for e in kb.entries.values() if EntryFacts.of_entry(e).keys(named=named).get("arxiv") in wanted)
    other = next(same, None)
    if other is not None:
        if kind is None:
            hint = (
                "; to add the paper's own work entry, pass --kind model, method, analysis or survey"
                if other.is_dataset
                else "; to add a dataset or benchmark the paper released, pass --kind dataset or --kind benchmark"
            )
        else:  # the kind asked for is the one already there
            hint = ANOTHER_DATASET if kind.is_dataset and not name else ""
        raise AlreadyInKBError(f"arXiv {arxiv_id} is already in the knowledge base: {_rel(kb, other)}{hint}")
    other = next((e for e in kb.entries.values() if e.arxiv and norm_arxiv(e.arxiv) == arxiv_id), None)
    if other is not None:
        return f"note: {_rel(kb, other)} has the same arXiv id; a paper may give one work and its datasets"
    return None


def _refuse_clash(kb: KB, entries: list[Entry], named: bool) -> None:
    """Refuse a draft that kb check would refuse (``EntryFacts.keys``): beside a file that does not
    load (it may well be this paper's), an entry of the KB, or an earlier draft of the batch. A
    dataset's name that kb new only guessed is left out of its arXiv and title keys, so another
    dataset of the same paper needs --name."""
    from kb.store import EntryFacts

    def keys(facts: EntryFacts) -> dict[str, tuple[str, ...]]:
        return facts.keys(named=named)

    unloaded = [(path, keys(EntryFacts.as_read(path, doc.data, []))) for path, doc in kb.unvalidated]
    loaded = [(path, entry, keys(EntryFacts.of_entry(entry))) for path, entry, _ in kb.loaded]
    for n, entry in enumerate(entries):
        mine = keys(EntryFacts.of_entry(entry))
        shown = {
            "arxiv": f"arXiv {entry.arxiv}",
            "title": "the same title",
            "name": f"the name {printable(entry.name or '', limit=80)!r}",
            "id": f"the id {entry.id!r}",
        }
        for path, theirs in unloaded:
            if field := _clash(mine, theirs):
                rel = os.path.relpath(path, kb.root)
                raise AlreadyInKBError(
                    f"{rel} has {shown[field]} but problems that keep it from loading; mend it (kb check {rel}) "
                    "rather than add the paper again"
                )
        for path, other, theirs in loaded:
            if field := _clash(mine, theirs):
                raise AlreadyInKBError(_in_kb(field, entry, other, os.path.relpath(path, kb.root), named))
        for other in entries[:n]:
            if field := _clash(mine, keys(EntryFacts.of_entry(other))):
                said = {
                    "title": f"have the same title, {printable(entry.title, limit=80)!r}",
                    "name": f"would both be named {printable(entry.name or '', limit=80)!r}",
                }.get(field, "are one paper")
                raise AlreadyInKBError(f"arXiv {entry.arxiv} and {other.arxiv} {said}; add one of them")


def _clash(mine: dict[str, tuple[str, ...]], theirs: dict[str, tuple[str, ...]]) -> str | None:
    """The first field on which two entries' keys clash, in the order a person would fix them."""
    return next((f for f in ("arxiv", "title", "name", "id") if f in mine and mine[f] == theirs.get(f)), None)


def _in_kb(field: str, entry: Entry, other: Entry, rel: str, named: bool) -> str:
    """Why ``entry`` is refused beside ``other``, at ``rel``, which repeats its ``field``."""
    hint = ANOTHER_DATASET if entry.is_dataset and not named else ""
    if field == "arxiv":
        return f"arXiv {entry.arxiv} is already in the knowledge base: {rel}{hint}"
    if field == "title":
        return f"{other.kind.with_article} of the same title is already in the knowledge base: {rel}{hint}"
    if field == "name":
        return (
            f"{other.kind.with_article} named {printable(entry.name or '', limit=80)!r} is already in the knowledge "
            f"base: {rel}; if this is another one, give it a name that tells it apart with --name"
        )
    return f"the id {entry.id!r} is already {rel}'s; choose another with --id"


def _rel(kb: KB, entry: Entry) -> str:
    return os.path.relpath(kb.paths[entry.id], kb.root)


# How arXiv marks a withdrawn paper, in its comment or at the head of its abstract.
_WITHDRAWN = re.compile(
    r"\b(?:paper|article|submission|manuscript) (?:has been|is|was) withdrawn\b|^\s*withdrawn\b", re.I
)


def plan_new(
    kb: KB,
    config: Config,
    *,
    arxiv_ids: Sequence[str] = (),
    title: str | None = None,
    kind: Kind | None = None,
    name: str | None = None,
    entry_id: str | None = None,
    suggest: bool = True,
    today: _dt.date | None = None,
) -> Plan:
    """Everything ``kb new`` would write, checked against the KB; nothing is written yet."""
    from kb.store import entry_path

    if title is not None and not title.strip() and not arxiv_ids:
        raise UsageError("--title is empty; give the paper's full title")  # as for a title of spaces
    if bool(arxiv_ids) == bool(title):
        raise UsageError("give one or more arXiv ids, or --title for a paper without one (not both)")
    if name is not None:
        name = printable(name, limit=200)
        if not name:
            raise UsageError("--name is empty; give the short name, such as LLaVA-Bench, or leave it out")
        if len(set(arxiv_ids)) > 1:
            raise UsageError("--name names one entry; give it with one arXiv id, or with --title")
    if entry_id is not None and len(set(arxiv_ids)) > 1:
        raise UsageError("--id names one entry; give it with one arXiv id, or with --title")
    plan = Plan()
    # Ids of files that do not load count as taken too: a new file must never replace one.
    taken = set(kb.entries) | {
        p.stem for folder in ("works", "datasets") for p in (kb.root / "entries" / folder).glob("*.yaml")
    }
    if entry_id is not None and (problem := id_problem(entry_id, taken)):
        raise UsageError(f"--id: {problem}")
    entries: list[Entry] = []
    texts: list[str] = []  # what suggestions are made from (the abstract helps; it is not stored)
    if title:
        entries.append(entry_from_title(title, taken, kind=kind, name=name, entry_id=entry_id, today=today))
        texts.append(entries[0].title)
    else:
        ids = list(dict.fromkeys(parse_arxiv_id(a) for a in arxiv_ids))
        plan.notes += [n for n in (_refuse_arxiv(kb, i, kind, name) for i in ids) if n]
        results = fetch_results(ids, config)
        for arxiv_id in ids:
            entry = entry_from_result(
                results[arxiv_id], arxiv_id, taken, kind=kind, name=name, entry_id=entry_id, today=today
            )
            taken.add(entry.id)
            entries.append(entry)
            texts.append(f"{entry.title}. {results[arxiv_id].summary}")
            result = results[arxiv_id]
            if _WITHDRAWN.search(f"{result.comment or ''} {result.summary[:300]}"):
                plan.notes.append(
                    f"note: arXiv says {arxiv_id} was withdrawn by its authors; add it only if it still matters"
                )
    _refuse_clash(kb, entries, named=name is not None)
    for entry, text in zip(entries, texts, strict=True):
        tags: dict[str, list[tuple[str, float]]] = {}
        if suggest:
            tags, note = suggested_tags(kb, config, text, entry.kind)
            if note and note not in plan.notes:
                plan.notes.append(note)
        plan.drafts.append(Draft(entry, render(entry, tags, kb), entry_path(kb.root, entry)))
    return plan


def _why_not(exc: OSError, path: Path, root: Path) -> str:
    """Why ``path`` could not be written, naming a folder on its way that is a file."""
    for folder in path.parents:
        if folder == root:
            break
        if folder.exists() and not folder.is_dir():
            return f"{os.path.relpath(folder, root)} is a file, not a folder"
    return str(exc.strerror or exc)


def write_plan(kb: KB, plan: Plan) -> list[Path]:
    """Write every draft atomically, all or none: refuse to overwrite a file (another kb new may
    have won), and on any failure remove the files this call wrote before it."""
    from kb.store import write_entry

    written: list[Path] = []
    for draft in plan.drafts:
        rel = os.path.relpath(draft.path, kb.root)
        try:
            written.append(write_entry(kb.root, draft.entry, text=draft.text))
        except OSError as exc:
            for path in written:  # each was created by this call (never an existing file replaced)
                path.unlink(missing_ok=True)
            undone = f"; the {counted(len(written), 'file')} written before it removed" if written else ""
            if isinstance(exc, FileExistsError) and draft.path.is_file():
                raise AlreadyInKBError(f"{rel} already exists; nothing was overwritten{undone}") from None
            raise KBError(f"cannot write {rel}: {_why_not(exc, draft.path, kb.root)}{undone}") from None
    return written

"""kb check as a stage: every problem in the whole knowledge base, collected as values.

Schema and YAML problems come from the store (they are found while loading); this module adds
the checks that need more than one file or more than the schema: file names, unique ids, arXiv
ids and titles, taxonomy tags, relations, and the side files (suggestions.json, kb.yaml, the
taxonomies). Nothing here raises for bad input: every problem becomes a ``Problem``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from kb.config import CONFIG_FILE
from kb.errors import Problem, ProblemsError
from kb.naming import RESERVED_NAMES, SITE_NAMES, arxiv_id_problem, norm_title
from kb.output.text import counted
from kb.schema import Entry, Kind, SuggestionsFile
from kb.store import ENTRY_FOLDERS, KB, SUGGESTIONS_FILE, entry_paths, load_kb, validation_problems
from kb.taxonomy import TAXONOMY_IDS, DuplicateNodeError, Taxonomies, Taxonomy, TaxonomyFileError, TaxonomySpec
from kb.yamlpos import Document, Loc, load_document, parse_document

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


@dataclass
class CheckReport:
    """The outcome of kb check: the problems (sorted) and how many entry files were looked at."""

    problems: list[Problem]
    files: int

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        checked = f"checked {counted(self.files, 'entry', 'entries')}"
        if not self.problems:
            return f"{checked}: no problems"
        n_files = len({p.path for p in self.problems})
        return f"{checked}: {counted(len(self.problems), 'problem')} in {counted(n_files, 'file')}"


def check_kb(root: Path, only: Iterable[str] | None = None, *, today: _dt.date | None = None) -> CheckReport:
    """Check the whole knowledge base under ``root``.

    ``only`` (paths relative to ``root``, files or folders) limits the report to those files;
    relations and uniqueness are still checked against the whole knowledge base.
    """
    today = today or _dt.date.today()
    problems: list[Problem] = []
    taxonomies, tax_problems = load_taxonomies_checked(root)
    problems += tax_problems
    if taxonomies is None:
        # Entries can still be checked against the schema; tags cannot.
        taxonomies = Taxonomies({})
    kb = load_kb(root, strict=False, taxonomies=taxonomies)
    problems += kb.problems
    problems += entry_problems(kb, today, check_tags=not tax_problems)
    problems += suggestions_problems(kb, check_tags=not tax_problems)
    problems += config_problems(root)
    problems += stray_files(root)
    files = entry_paths(root)
    if only is not None:
        selected = [s.rstrip("/") for s in only]

        def wanted(rel: str) -> bool:
            return any(s in (".", "") or rel == s or rel.startswith(s + "/") for s in selected)

        problems = [p for p in problems if wanted(p.path)]
        files = [f for f in files if wanted(_rel(f, root))]
    return CheckReport(sorted(set(problems)), len(files))


def stray_files(root: Path) -> list[Problem]:
    """Files where entries live that kb never reads: a typo in a name must not hide an entry."""
    out = []
    where = "entries/works/<id>.yaml or entries/datasets/<id>.yaml"
    for folder in ENTRY_FOLDERS:
        for path in sorted((root / "entries" / folder).glob("*")):
            if path.name.startswith(".") or path.suffix == ".yaml":  # a folder x.yaml: kb check says so already
                continue
            what = "a folder" if path.is_dir() else "not an entry file"
            out.append(Problem(_rel(path, root), 0, 0, "", f"{what}: kb reads only {where}; rename or move it"))
    for path in sorted((root / "entries").glob("*.y*ml")):
        out.append(Problem(_rel(path, root), 0, 0, "", f"not read here: entries go in {where}"))
    return out


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


# --- entries ------------------------------------------------------------------------------


def entry_problems(kb: KB, today: _dt.date, *, check_tags: bool = True) -> list[Problem]:
    """Every problem of the validated entries beyond their schema."""
    problems: list[Problem] = []
    # Ids of files that failed validation still exist: a relation to them is not dangling.
    known_ids = {e.id for _, e, _ in kb.loaded} | {p.stem for p in kb.failed}
    for path, entry, doc in kb.loaded:
        at = _Locator(_rel(path, kb.root), doc)
        problems += _file_problems(path, entry, at)
        problems += _arxiv_problems(entry, at, today)
        if check_tags:
            problems += _tag_problems(entry.tags.model_dump(), kb.taxonomies, at)
        problems += _relation_problems(entry.id, entry.kind, entry.relations.model_dump(), kb, known_ids, at)
    # A file with a typo elsewhere ("kind: modle") still has its relations and tags checked, so
    # one run of kb check lists every problem; its schema problems are already in kb.problems.
    for path, doc in kb.unvalidated:
        at = _Locator(_rel(path, kb.root), doc)
        raw_kind = doc.data.get("kind")
        kind = Kind(raw_kind) if isinstance(raw_kind, str) and raw_kind in Kind.__members__ else None
        problems += _relation_problems(doc.data.get("id"), kind, doc.data.get("relations"), kb, known_ids, at)
        if check_tags and isinstance(tags := doc.data.get("tags"), dict):
            problems += _tag_problems(tags, kb.taxonomies, at)
    problems += _duplicates(kb)
    return problems


class _Locator:
    """Makes problems for one file at the position of a field."""

    def __init__(self, rel: str, doc: Document):
        self.rel, self.doc = rel, doc

    def __call__(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        line, col = self.doc.position(loc, key=key)
        return Problem(self.rel, line, col, _dotted(loc), message)


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _file_problems(path: Path, entry: Entry, at: _Locator) -> list[Problem]:
    out = []
    if path.stem != entry.id:
        out.append(
            at(
                ("id",),
                f"{entry.id!r} differs from the file name {path.name}; rename the file to "
                f"{entry.id}.yaml or set id: {path.stem}",
            )
        )
    if entry.id in RESERVED_NAMES:
        out.append(at(("id",), f"{entry.id!r} is a reserved file name on Windows; choose another id"))
    if entry.id in SITE_NAMES:
        out.append(at(("id",), f"{entry.id!r} is the name of the site's page of all entries; choose another id"))
    folder = path.parent.name
    if folder != entry.kind.folder:
        out.append(
            at(
                ("kind",),
                f"a {entry.kind.value} entry belongs in entries/{entry.kind.folder}/, "
                f"not entries/{folder}/; move the file or fix the kind",
            )
        )
    return out


def _arxiv_problems(entry: Entry, at: _Locator, today: _dt.date) -> list[Problem]:
    if entry.arxiv is None or (message := arxiv_id_problem(entry.arxiv, today)) is None:
        return []
    return [at(("arxiv",), message)]


def _tag_problems(tags: dict[str, object], taxonomies: Taxonomies, at: _Locator) -> list[Problem]:
    """Problems of the codev and yin tags of an entry's ``tags`` mapping, validated or as read
    (where a value that is not a list of strings is the schema's problem, not this one's)."""
    out = []
    for tax_id in ("codev", "yin"):
        taxonomy, listed = taxonomies.by_id.get(tax_id), tags.get(tax_id)
        if taxonomy is None or not isinstance(listed, list):
            continue
        seen: set[str] = set()
        for i, tag in enumerate(listed):
            if not isinstance(tag, str):
                continue
            loc: Loc = ("tags", tax_id, i)
            if tag in seen:
                out.append(at(loc, f"{tag!r} is listed twice; keep one"))
            seen.add(tag)
            message = tag_problem(taxonomy, tag)
            if message:
                out.append(at(loc, message))
    return out


def tag_problem(taxonomy: Taxonomy, tag: str) -> str | None:
    """Why ``tag`` is not a leaf of ``taxonomy`` (with a "did you mean"), or None when it is."""
    if tag not in taxonomy:
        close = difflib.get_close_matches(tag, list(taxonomy.nodes), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; see entries/taxonomies/{taxonomy.id}.yaml"
        return f"unknown {taxonomy.id} tag {tag!r}{hint}"
    node = taxonomy[tag]
    if not node.is_leaf:
        leaves = ", ".join(n.id for n in taxonomy.subtree(tag) if n.is_leaf)
        return f"{tag!r} is a section of {taxonomy.id}, not a leaf; tag one of its leaves: {leaves}"
    return None


def _family(kind: Kind) -> str:
    return kind.folder  # "works" or "datasets"


def _relation_problems(
    entry_id: object, kind: Kind | None, relations: object, kb: KB, known_ids: set[str], at: _Locator
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
            out.append(at(("relations", relation), f"only works use {relation}; a {kind.value} does not", key=True))
        seen: set[str] = set()
        for i, target in enumerate(targets):
            if not isinstance(target, str):
                continue  # the schema's problem
            loc: Loc = ("relations", relation, i)
            if target in seen:
                out.append(at(loc, f"{target!r} is listed twice; keep one"))
                continue
            seen.add(target)
            if target == entry_id:
                out.append(at(loc, "an entry cannot point at itself"))
                continue
            if target not in known_ids:
                close = difflib.get_close_matches(target, sorted(known_ids), n=1, cutoff=0.6)
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
                out.append(at(loc, f"{target!r} is a {other.kind.value}; {relation} expects {expected}"))
    return out


def _arxiv_key(arxiv: str) -> str:
    return re.sub(r"v\d+$", "", arxiv)


def _duplicates(kb: KB) -> list[Problem]:
    """Ids unique overall; arXiv ids and titles unique among works and among datasets."""
    by_id: dict[str, list[int]] = defaultdict(list)
    by_arxiv: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    by_title: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, (_, entry, _) in enumerate(kb.loaded):
        by_id[entry.id].append(i)
        family = _family(entry.kind)
        # One paper may release several datasets (an instruction set and a benchmark, say):
        # they share the paper's arXiv id and title and differ by name.
        name = norm_title(entry.name or "") if entry.is_dataset else ""
        if entry.arxiv:
            by_arxiv[(family, name, _arxiv_key(entry.arxiv))].append(i)
        by_title[(family, name, norm_title(entry.title))].append(i)
    out: list[Problem] = []

    def report(groups: Iterable[list[int]], field: str, message: str) -> None:
        for group in groups:
            if len(group) < 2:
                continue
            rels = [_rel(kb.loaded[i][0], kb.root) for i in group]
            for i, rel in zip(group, rels, strict=True):
                others = ", ".join(r for r in rels if r != rel) or rel
                out.append(_Locator(rel, kb.loaded[i][2])((field,), message.format(others=others)))

    report(by_id.values(), "id", "the same id is used by {others}; ids must be unique")
    report(
        (g for (family, _, _), g in by_arxiv.items() if family == "works"),
        "arxiv",
        "the same arXiv id is on {others}; one paper, one work entry: merge them",
    )
    report(
        (g for (family, _, _), g in by_arxiv.items() if family == "datasets"),
        "arxiv",
        "the same arXiv id is on {others}; merge them, or give each dataset of the paper its own name",
    )
    report(
        (g for (_, _, norm), g in by_title.items() if norm),
        "title",
        "nearly the same title as {others} (ignoring case, punctuation and spacing); merge them or tell them apart",
    )
    return out


# --- side files -----------------------------------------------------------------------------


def load_taxonomies_checked(root: Path) -> tuple[Taxonomies | None, list[Problem]]:
    """The taxonomies, or the problems that stop them from loading, with positions."""
    folder = root / "entries" / "taxonomies"
    by_id: dict[str, Taxonomy] = {}
    problems: list[Problem] = []
    for tax_id in TAXONOMY_IDS:
        path = folder / f"{tax_id}.yaml"
        rel = _rel(path, root)
        if not path.is_file():
            problems.append(Problem(rel, 0, 0, "", f"the {tax_id} taxonomy file is missing"))
            continue
        try:
            doc = load_document(path, root)
            spec = TaxonomySpec.model_validate(doc.data)
            by_id[tax_id] = Taxonomy.from_spec(spec, tax_id)
        except ProblemsError as exc:
            problems += exc.problems
        except ValidationError as exc:
            problems += validation_problems(exc, doc, rel, TaxonomySpec)
        except TaxonomyFileError as exc:
            line, col = doc.position(exc.loc)
            message = str(exc)
            if isinstance(exc, DuplicateNodeError):  # the file's lines say more than the taxonomy's name
                first = doc.position(exc.first)[0]
                message = f"node id {exc.node_id!r} is also line {first}'s; node ids must differ within a taxonomy"
            problems.append(Problem(rel, line, col, _dotted(exc.loc), message))
        except ValueError as exc:
            problems.append(Problem(rel, 1, 1, "", str(exc)))
        except OSError as exc:
            problems.append(Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}"))
    if "mmllms" in by_id:
        from kb.tags import mmllms_node_ids

        rel = _rel(folder / "mmllms.yaml", root)
        for node_id in sorted(mmllms_node_ids() - set(by_id["mmllms"].nodes)):
            message = f"node {node_id!r} is missing: kb files the entries' MM-LLMs facets under it; restore it"
            problems.append(Problem(rel, 0, 0, "nodes", message))
    return (Taxonomies(by_id) if not problems else None), problems


def suggestions_problems(kb: KB, *, check_tags: bool = True) -> list[Problem]:
    """entries/suggestions.json: the schema, entry ids that exist, tags that exist, scores in [0, 1]."""
    path = kb.root / SUGGESTIONS_FILE
    if not path.exists():
        return []
    rel = SUGGESTIONS_FILE
    try:
        data = path.read_bytes()
        parsed = json.loads(data)
    except OSError as exc:
        return [Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return [Problem(rel, 1, 1, "", f"not UTF-8 ({exc.reason}); run kb suggest to write it again")]
    except json.JSONDecodeError as exc:
        return [Problem(rel, exc.lineno, exc.colno, "", f"not valid JSON: {exc.msg}; run kb suggest to write it again")]
    doc = _json_positions(data, rel)
    try:
        suggestions = SuggestionsFile.model_validate(parsed)
    except ValidationError as exc:
        return validation_problems(exc, doc, rel, SuggestionsFile)
    out = []
    at = _Locator(rel, doc)
    known = set(kb.entries) | {p.stem for p in kb.failed}
    for entry_id, entry_suggestions in suggestions.entries.items():
        if entry_id not in known:
            close = difflib.get_close_matches(entry_id, sorted(known), n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(
                at(
                    ("entries", entry_id),
                    f"no entry with id {entry_id!r}{hint}; run kb suggest --all (kb build does)",
                    key=True,
                )
            )
        for tax_id in ("codev", "yin"):
            taxonomy = kb.taxonomies.by_id.get(tax_id)
            for i, suggestion in enumerate(getattr(entry_suggestions, tax_id)):
                loc: Loc = ("entries", entry_id, tax_id, i)
                if check_tags and taxonomy is not None:
                    message = tag_problem(taxonomy, suggestion.tag)
                    if message:
                        out.append(at(loc + ("tag",), message))
                if not 0.0 <= suggestion.score <= 1.0:
                    out.append(at(loc + ("score",), f"expected a score between 0 and 1, got {suggestion.score}"))
    return out


def _json_positions(data: bytes, rel: str) -> Document:
    """Positions of the nodes of a JSON file (JSON is YAML); none if YAML cannot read it."""
    try:
        return parse_document(data, rel)
    except ProblemsError:
        return Document({})


def config_problems(root: Path) -> list[Problem]:
    """kb.yaml beside mkdocs.yml, when there is one (environment variables are not checked)."""
    from kb.config import Config, config_document

    try:
        doc = config_document(root)
    except ProblemsError as exc:
        return exc.problems
    if doc is None:
        return []
    try:
        Config.model_validate(doc.data)
    except ValidationError as exc:
        return validation_problems(exc, doc, CONFIG_FILE, Config)
    return []

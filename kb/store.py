"""The YAML store: find the knowledge base, load and validate entries, write entries atomically."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kb.errors import Problem, ProblemsError, RootNotFoundError
from kb.schema import Entry, EntrySuggestions, SuggestionsFile
from kb.taxonomy import Taxonomies, load_taxonomies
from kb.yamlpos import Document, load_document

ENTRY_FOLDERS = ("works", "datasets")
SUGGESTIONS_FILE = "entries/suggestions.json"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding mkdocs.yml and entries/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "mkdocs.yml").is_file() and (folder / "entries").is_dir():
            return folder
    raise RootNotFoundError(here)


def entry_paths(root: Path) -> list[Path]:
    """Every entry file, works then datasets, sorted by name."""
    out: list[Path] = []
    for folder in ENTRY_FOLDERS:
        out.extend(sorted((root / "entries" / folder).glob("*.yaml")))
    return out


def validation_problems(exc: ValidationError, doc: Document, rel: str) -> list[Problem]:
    """Turn pydantic errors into problems placed at the YAML node they are about."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = err["type"]
        if kind == "extra_forbidden":
            line, col = doc.position(loc, key=True)
        else:
            line, col = doc.position(loc)
        problems.append(Problem(rel, line, col, _dotted(loc), _message(err)))
    return problems


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in ("enum", "literal_error"):
        return f"{msg}, got {err['input']!r}"
    return f"{msg}, got {err['input']!r}" if "input" in err and not isinstance(err["input"], dict | list) else msg


def load_entry(path: Path, root: Path) -> tuple[Entry | None, Document | None, list[Problem]]:
    """Load and validate one entry file; never raises for bad input."""
    rel = os.path.relpath(path, root)
    try:
        doc = load_document(path, root)
    except ProblemsError as exc:
        return None, None, exc.problems
    except OSError as exc:
        return None, None, [Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}")]
    try:
        return Entry.model_validate(doc.data), doc, []
    except ValidationError as exc:
        return None, doc, validation_problems(exc, doc, rel)


@dataclass
class KB:
    """The whole knowledge base in memory."""

    root: Path
    taxonomies: Taxonomies
    entries: dict[str, Entry] = field(default_factory=dict)  # by id, in file order
    paths: dict[str, Path] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @cached_property
    def suggestions(self) -> dict[str, EntrySuggestions]:
        """Machine suggestions by entry id (empty when none were generated yet)."""
        path = self.root / SUGGESTIONS_FILE
        if not path.exists():
            return {}
        try:
            return SuggestionsFile.model_validate(json.loads(path.read_text(encoding="utf-8"))).entries
        except (ValueError, ValidationError) as exc:
            raise ProblemsError([Problem(SUGGESTIONS_FILE, 0, 0, "", f"unreadable ({exc}); run kb suggest --all")])

    def works(self) -> list[Entry]:
        return [e for e in self.entries.values() if not e.is_dataset]

    def datasets(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.is_dataset]


def load_kb(root: Path, *, strict: bool = True) -> KB:
    """Load every entry under ``root``. With ``strict``, raise ProblemsError if any file is bad."""
    try:
        taxonomies = load_taxonomies(root / "entries" / "taxonomies")
    except (OSError, ValueError, ValidationError) as exc:
        raise ProblemsError([Problem("entries/taxonomies", 0, 0, "", f"cannot load the taxonomies: {exc}")]) from None
    kb = KB(root=root, taxonomies=taxonomies)
    for path in entry_paths(root):
        entry, doc, problems = load_entry(path, root)
        kb.problems.extend(problems)
        if entry is None:
            continue
        if entry.id in kb.entries:
            continue  # reported by kb check as a duplicate id
        kb.entries[entry.id] = entry
        kb.paths[entry.id] = path
        if doc is not None:
            kb.documents[entry.id] = doc
    if strict and kb.problems:
        raise ProblemsError(kb.problems)
    return kb


def dump_entry(entry: Entry) -> str:
    """The canonical YAML text of an entry: schema field order, defaults left out."""
    import yaml

    data = entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    data = {"id": entry.id, **{k: v for k, v in data.items() if k != "id"}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def entry_path(root: Path, entry: Entry) -> Path:
    return root / "entries" / entry.kind.folder / f"{entry.id}.yaml"


def write_text_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a temp file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_entry(root: Path, entry: Entry, *, overwrite: bool = False, text: str | None = None) -> Path:
    """Validate-then-write one entry; refuse to overwrite unless asked.

    ``text`` is the YAML to write when it should say more than ``dump_entry(entry)`` (comments
    for a contributor, say); it must load back as exactly ``entry``.
    """
    import yaml

    path = entry_path(root, entry)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{os.path.relpath(path, root)} already exists")
    Entry.model_validate(entry.model_dump())  # never write what would not load back
    if text is None:
        text = dump_entry(entry)
    elif Entry.model_validate(yaml.safe_load(text)) != entry:
        raise ValueError(f"the text for {entry.id} does not load back as the entry")
    write_text_atomic(path, text)
    return path

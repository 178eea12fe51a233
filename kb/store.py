"""The YAML store: find the knowledge base, load and validate entries, write entries atomically."""

from __future__ import annotations

import contextlib
import difflib
import glob
import json
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kb.config import BUILD_DIR, SOURCES
from kb.errors import KBError, Problem, ProblemsError, RootNotFoundError, UsageError, same_place
from kb.naming import norm_arxiv, norm_title
from kb.output.status import say
from kb.parsecache import ParseCache, digest
from kb.schema import Entry, EntrySuggestions, Kind, SuggestionsFile, models_in
from kb.taxonomy import TOPIC_TAXONOMIES, Taxonomies, load_taxonomies
from kb.yamlpos import Document, parse_document_keeping, read_yaml_bytes

ENTRY_FOLDERS = ("works", "datasets")
SUGGESTIONS_FILE = "entries/suggestions.json"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding mkdocs.yml and entries/."""
    if start is not None and not start.exists():  # --root names it: no "at or above" a folder that is not there
        raise UsageError(f"--root {start} does not exist; name the folder of a knowledge base")
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


def validation_problems(
    exc: ValidationError, doc: Document, rel: str, model: type[BaseModel] | None = None
) -> list[Problem]:
    """Turn pydantic errors into problems placed at the YAML node they are about.

    ``model`` (the model that was validated) lets a message name the expected fields.
    """
    problems = []
    for err in _each_item(exc.errors()):
        loc = _loc(err)
        kind = err["type"]
        if kind == "extra_forbidden":
            line, col = doc.position(loc, key=True)
        else:
            line, col = doc.position(loc)
        problems.append(Problem(rel, line, col, _dotted(loc), _message(err, loc, doc, model)))
    return problems


_TYPE_WORDS = {"str", "int", "float", "bool", "list", "dict", "none", "is-instance"}


def _each_item(errors: list[Any]) -> list[Any]:
    """pydantic's errors, a ``list_item`` error of several items (kb.schema.text_problem) made one
    error per item."""
    out = []
    for err in errors:
        out.append(err)
        if err["type"] == "list_item":
            for index, why in err["ctx"].get("others", ()):
                out.append({**err, "ctx": {**err["ctx"], "index": index, "number": index + 1, "why": why}})
    return out


def _loc(err: Any) -> tuple[Any, ...]:
    """Where a pydantic error is, as the keys and indexes of the data."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic names union members and tagged cases in the location; they are not YAML keys.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in _TYPE_WORDS)))
    if err["type"] == "list_item":  # a validator's finding on one item of a list (kb.schema.text_problem)
        loc += (err["ctx"]["index"],)
    return loc


def error_texts(exc: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """pydantic's errors as kb says them where there is no file to point into (an import, a
    labels file): "authors[1]: why"."""
    out = []
    for err in _each_item(exc.errors()):
        loc = _loc(err)
        message = _message(err, loc, Document({}), model)
        out.append(f"{_dotted(loc)}: {message}" if loc else message)
    return out


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(err: Any, loc: tuple[Any, ...], doc: Document, model: type[BaseModel] | None) -> str:
    kind, msg = err["type"], err["msg"]
    value = err.get("input")
    if kind == "missing":
        what = _described(model, loc)
        return f"required field is missing{f' ({what})' if what else ''}"
    if kind == "string_too_short" and isinstance(value, str) and not value.strip():
        # Spaces alone are stripped to nothing: "at least 1 character, got '   '" would puzzle.
        what = _described(model, loc)
        return f"is empty{' (spaces alone)' if value else ''}{f'; give {what}' if what else ''}"
    if kind == "extra_forbidden":
        known = _field_names(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        if close:
            return f"unknown field; did you mean {close[0]!r}?"
        return f"unknown field; expected one of: {', '.join(known)}" if known else "unknown field"
    raw = doc.raw.get(loc)
    numeric = isinstance(value, float | int) and not isinstance(value, bool)
    if raw is not None and (kind == "string_type" or (kind == "value_error" and numeric)):
        # Not text because YAML read the author's words as something else: show what they typed.
        if value is None:
            return "expected text, got nothing (an empty value)"
        quoted = f'- "{raw}"' if isinstance(loc[-1], int) else f'{loc[-1]}: "{raw}"'
        if numeric:
            shown = repr(value)
            read = f"the number {shown}" if shown != raw else "a number, not text"
        else:
            read = "a boolean (true or false)" if isinstance(value, bool) else "something other than text"
        return f"{raw} is read by YAML as {read}; quote it: {quoted}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "list_item":
        return str(err["ctx"]["why"])
    if kind in ("enum", "literal_error"):
        options = [o.strip(" '") for o in msg.removeprefix("Input should be ").replace(" or ", ", ").split(", ")]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{msg}, got {value!r}{hint}"
    if kind == "list_type":
        return f"{msg}, got {_shown(value)}; write a YAML list (one '- item' a line)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields, got {_shown(value)}"
    return f"{msg}, got {_shown(value)}" if "input" in err and not isinstance(value, dict | list) else msg


def _described(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> str:
    """The field's description as part of a sentence ("the paper's full title"), or ''."""
    info = _field_info(model, loc)
    return _lower_first(info.description.rstrip(".")) if info is not None and info.description else ""


def _lower_first(text: str) -> str:
    """ "The paper's title" -> "the paper's title", but "LLaVA ..." stays as it is."""
    return text[0].lower() + text[1:] if text[:2].istitle() else text


def _shown(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue  # an item of a list: same model as the list's items
        info = model.model_fields.get(part)
        if info is None:
            # A key of a mapping field (dict[str, Model]): keep the model of the values.
            continue
        model = next(iter(models_in(info.annotation)), None)
    return model


def _field_names(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    found = _model_at(model, loc)
    return list(found.model_fields) if found is not None else []


def _field_info(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> Any:
    if not loc or not isinstance(loc[-1], str):
        return None
    found = _model_at(model, loc[:-1])
    return found.model_fields.get(loc[-1]) if found is not None else None


def load_entry(
    path: Path, root: Path, parsed: ParseCache | None = None
) -> tuple[Entry | None, Document | None, list[Problem]]:
    """Load and validate one entry file; never raises for bad input. With ``parsed``, a file
    parsed before is not parsed again, and its Document holds the data without positions."""
    rel = os.path.relpath(path, root)
    try:
        text = read_yaml_bytes(path, rel)
        sha = digest(text) if parsed is not None else ""
        if parsed is not None and (known := parsed.get(rel, sha)) is not None:
            with contextlib.suppress(ValidationError):  # the schema is newer than the cache: parse
                return Entry.model_validate(known), Document(known), []
        doc, read = parse_document_keeping(text, rel)
    except ProblemsError as exc:
        return None, None, exc.problems
    except OSError as exc:
        return None, None, [Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}")]
    try:
        entry = Entry.model_validate(doc.data)
    except ValidationError as exc:
        return None, doc, every_problem(read, validation_problems(exc, doc, rel, Entry), doc)
    if read:
        return None, doc, read
    if parsed is not None:
        parsed.put(rel, sha, doc.data)
    return entry, doc, []


def every_problem(read: list[Problem], validated: list[Problem], doc: Document) -> list[Problem]:
    """The problems YAML's reading found and the schema's, in the file's order: the schema's only
    for fields reading found nothing wrong with (a padded title is valid once stripped; a value
    whose tag was refused is missing, which says nothing more; a key given twice is checked as kept)."""
    said = doc.said(read)
    kept = [p for p in validated if not any(same_place(p.field, field) for field in said)]
    return sorted(read + kept, key=lambda p: (p.line, p.col))


@dataclass(frozen=True)
class EntryFacts:
    """What an entry is known by (its id, kind, title, arXiv id and name): the validated entry's
    values, or, of a file the schema refused elsewhere ("kind: modle"), the values as read that it
    did not refuse, so that kb check still says its id or arXiv id is another file's and kb new
    does not add its paper a second time."""

    id: str | None
    kind: Kind | None
    family: str  # "works" or "datasets"
    title: str | None
    arxiv: str | None
    name: str | None

    @classmethod
    def of_entry(cls, entry: Entry) -> EntryFacts:
        return cls(entry.id, entry.kind, entry.kind.folder, entry.title, entry.arxiv, entry.name)

    @classmethod
    def as_read(cls, path: Path, data: dict, said: list[str]) -> EntryFacts:
        def text(key: str) -> str | None:
            value = data.get(key)
            fine = isinstance(value, str) and value.strip() and not any(same_place(key, f) for f in said)
            return value if fine else None

        raw_kind = text("kind")
        kind = Kind(raw_kind) if raw_kind in Kind.__members__ else None
        # Without a kind, the folder the file is in says whether it is a work or a dataset.
        family = kind.folder if kind else "datasets" if path.parent.name == "datasets" else "works"
        return cls(text("id"), kind, family, text("title"), text("arxiv"), text("name"))

    def keys(self, *, named: bool = True) -> dict[str, tuple[str, ...]]:
        """What kb check holds unique, by field; two entries with one key clash. Ids are unique
        overall; arXiv ids and titles among works and among datasets, where one paper may release
        several datasets that share its arXiv id and title and differ by name; datasets' names are
        unique (works may share one: two papers call their models "Emu"). ``named=False`` leaves a
        dataset's name out of its arXiv and title keys (kb new, for a name it only guessed)."""
        name = norm_title(self.name) if self.family == "datasets" else ""
        within = (self.family, name if named else "")
        keys: dict[str, tuple[str, ...]] = {}
        if self.id is not None:
            keys["id"] = (self.id,)
        if self.arxiv:
            keys["arxiv"] = (*within, norm_arxiv(self.arxiv) or self.arxiv)
        if title := norm_title(self.title):
            keys["title"] = (*within, title)
        if name:
            keys["name"] = (name,)
        return keys


@dataclass
class KB:
    """The whole knowledge base in memory."""

    root: Path
    taxonomies: Taxonomies
    entries: dict[str, Entry] = field(default_factory=dict)  # by id, in file order
    paths: dict[str, Path] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Every entry that validated, in file order, duplicates of an id included (for kb check).
    loaded: list[tuple[Path, Entry, Document]] = field(default_factory=list)
    # Entry files that did not validate (their problems are in ``problems``).
    failed: list[Path] = field(default_factory=list)
    # Those of them that are YAML mappings, parsed: kb check still checks what it can of them.
    unvalidated: list[tuple[Path, Document]] = field(default_factory=list)

    @cached_property
    def stored_suggestions(self) -> SuggestionsFile | None:
        """entries/suggestions.json as written (None when no suggestions were generated yet); readers
        want ``suggestions`` and ``zero_shot_suggestions``."""
        path = self.root / SUGGESTIONS_FILE
        if not path.exists():
            return None
        try:
            return SuggestionsFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, ValidationError):  # pydantic's own account runs to many lines; kb check's is positioned
            message = "not what kb suggest writes; run kb check for where, or kb suggest --all to write it anew"
            raise ProblemsError([Problem(SUGGESTIONS_FILE, 0, 0, "", message)]) from None

    @property
    def zero_shot_suggestions(self) -> frozenset[str]:
        """The taxonomies whose stored suggestions are the zero-shot fallback's (too few curated labels
        to learn from): shares of one across the leaves, not each leaf's own probability."""
        stored = self.stored_suggestions
        return frozenset(stored.zero_shot) if stored is not None else frozenset()

    @cached_property
    def suggestions(self) -> dict[str, EntrySuggestions]:
        """Machine suggestions by entry id, as every reader is to see them (empty when none were
        generated yet): none in a taxonomy where the entry now has curated tags. kb suggest --all
        writes none there, but the file keeps the old ones until it runs again (kb build runs it)."""
        stored = self.stored_suggestions.entries if self.stored_suggestions is not None else {}
        served: dict[str, EntrySuggestions] = {}
        for entry_id, found in stored.items():
            entry = self.entries.get(entry_id)
            curated = [t for t in TOPIC_TAXONOMIES if entry is not None and getattr(entry.tags, t)]
            kept = found.model_copy(update={t: [] for t in curated}) if curated else found
            if any(getattr(kept, t) for t in TOPIC_TAXONOMIES):
                served[entry_id] = kept
        return served

    def forget_suggestions(self) -> None:
        """Read entries/suggestions.json again when next asked (kb suggest --all has written it)."""
        self.__dict__.pop("stored_suggestions", None)
        self.__dict__.pop("suggestions", None)

    def works(self) -> list[Entry]:
        return [e for e in self.entries.values() if not e.is_dataset]

    def datasets(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.is_dataset]


def load_kb(
    root: Path, *, strict: bool = True, taxonomies: Taxonomies | None = None, parsed: ParseCache | None = None
) -> KB:
    """Load every entry under ``root``. With ``strict``, raise ProblemsError if any file is bad.
    With ``parsed``, files parsed before come from that cache (see kb.parsecache), which is saved."""
    if taxonomies is None:
        try:
            taxonomies = load_taxonomies(root / "entries" / "taxonomies")
        except Exception:  # noqa: BLE001 - YAML, schema, a file system: kb check says exactly what and where
            from kb.check import load_taxonomies_checked

            problems = load_taxonomies_checked(root)[1] or [
                Problem("entries/taxonomies", 0, 0, "", "cannot load the taxonomies; run kb check")
            ]
            raise ProblemsError(problems) from None
    kb = KB(root=root, taxonomies=taxonomies)
    for path in entry_paths(root):
        entry, doc, problems = load_entry(path, root, parsed)
        kb.problems.extend(problems)
        if entry is None or doc is None:
            kb.failed.append(path)
            if doc is not None and isinstance(doc.data, dict):
                kb.unvalidated.append((path, doc))
            continue
        kb.loaded.append((path, entry, doc))
        if entry.id in kb.entries:
            continue  # reported by kb check as a duplicate id
        kb.entries[entry.id] = entry
        kb.paths[entry.id] = path
        if doc is not None:
            kb.documents[entry.id] = doc
    if parsed is not None:
        parsed.save()
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


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: done once, at import, before any thread
    os.umask(mask)
    return mask


UMASK = _read_umask()  # the process umask, read once: files and folders kb makes honour it


@contextlib.contextmanager
def held_lock(root: Path, name: str, *, busy: str, wait: bool = False) -> Iterator[None]:
    """Hold ``root``/.kb-build/``name`` locked while the block runs; the lock goes with the file's
    closing, and with the process however it ends. Held by another process: KBError ``busy``, or,
    with ``wait``, ``busy`` said on stderr and the wait for it. No lock where fcntl is not (not POSIX)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    folder = root / BUILD_DIR
    if folder.exists() and not folder.is_dir():
        raise KBError(f"{BUILD_DIR} is a file; kb keeps its scratch folder there: remove the file")
    if folder.is_symlink() and not folder.exists():
        raise KBError(
            f"{BUILD_DIR} is a link to {os.readlink(folder)}, which is not there; kb keeps its scratch folder "
            "there: make the folder it points to, or remove the link"
        )
    try:
        folder.mkdir(exist_ok=True)
        lock = open(folder / name, "a+")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise KBError(
            f"cannot make {BUILD_DIR}/{name}, the lock that keeps two runs from writing at once: "
            f"{exc.strerror or exc}; kb needs to write in the knowledge base's folder"
        ) from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise KBError(busy) from None
            say(busy)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


STALE_TEMP = 600  # seconds: a temp file this old was left by a write that was killed, not one under way


def sweep_stale_temps(folder: Path, pattern: str) -> None:
    """Remove the temp files ``pattern`` names in ``folder`` that a killed write left behind (older
    than STALE_TEMP, so never one another process is writing now)."""
    cutoff = time.time() - STALE_TEMP
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):
            if leftover.is_file() and not leftover.is_symlink() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def write_text_atomic(path: Path, text: str, *, new: bool = False) -> None:
    """Write a whole file or nothing: a temp file in the same folder, then os.replace. A file that
    is there keeps its mode; a symbolic link stays one, and the file it points to is replaced. A
    failed write (a full disk) raises an OSError naming ``path``, whose old text is kept. ``new``:
    only where no file is (FileExistsError otherwise, even if another process made it a moment
    ago: the temp file is linked in place, which fails where a name is taken, as a check first
    and a replace then would not)."""
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path.parent, f".{glob.escape(path.name)}.*.tmp")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~UMASK  # mkstemp makes it private; a new file is as readable as any
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        if new:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_output(path: Path, text: str, *, root: Path | None = None) -> None:
    """Write a file a person asked for (-o FILE): the whole text or nothing, and a path that cannot
    be written is one sentence (KBError), never a traceback. ``check_output`` says which paths are
    refused; commands that work a while first ask it before they begin, as well."""
    check_output(path, root=root)
    try:
        if path.exists() and not path.is_file():  # a device or a pipe (/dev/stdout): written to, not replaced
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        else:
            write_text_atomic(path, text)
    except BrokenPipeError:
        raise  # -o /dev/stdout into a reader that left (| head): quiet, as for stdout itself
    except OSError as exc:
        # The whole text goes to a new file beside the old, then takes its name: a folder that
        # takes no new file (/proc) fails there, and "No such file" would be said of a file that exists.
        made = exc.filename not in (None, str(path)) and path.exists()
        where = f" (no new file can be made in {path.parent})" if made else ""
        raise KBError(f"cannot write {path}{where}: {exc.strerror or exc}") from None


def check_output(path: Path, *, root: Path | None = None) -> None:
    """Raise KBError if ``path`` is no file to write a command's output to: no file name, a folder
    that is not there (a slip of the path would make one in silence; a link to a file in one too),
    or anything the knowledge base at ``root`` is made of (kb.config.SOURCES: its entries, settings,
    .git, docs/, kb's own code)."""
    if path.name in ("", ".", ".."):
        shown = "an empty path" if str(path) == "." else path  # click makes "" the path "."
        raise KBError(f"cannot write {shown}: give a file name")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise KBError(f"cannot write {path}: {blocking} is a file, not a folder")
    target = Path(os.path.realpath(path))  # where a link leads: it is that file that is written
    for folder in (path.parent, target.parent):
        if not folder.is_dir():
            raise KBError(f"cannot write {path}: there is no folder {folder}; make it first")
    if root is not None:
        base = Path(os.path.realpath(root))
        kept = [base / name for name in SOURCES]
        if any(target == k or k in target.parents for k in kept):
            raise KBError(f"cannot write {path}: it is part of the knowledge base ({os.path.relpath(target, base)})")
    if sys.prefix != sys.base_prefix:  # in a virtual environment, kb's own (a system's prefix is /usr)
        env = Path(os.path.realpath(sys.prefix))
        if env in target.parents:
            raise KBError(f"cannot write {path}: it is in the Python environment kb runs from ({env})")


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
    write_text_atomic(path, text, new=not overwrite)
    return path

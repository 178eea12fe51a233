"""Load YAML safely while keeping the position of every node, for compiler-style errors.

We compose the document into PyYAML nodes and build Python values ourselves, so that the YAML
traps become errors instead of silent changes: duplicate keys, ``!!python/...`` and other
unknown tags, alias bombs, non-UTF-8 bytes, an empty file or one that is not a mapping.
Timestamps stay strings (the schema parses dates), and a number where a string may be wanted
stays a number so the schema can say "quote it".
"""

from __future__ import annotations

import bisect
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kb.chars import LINE_BREAKS, UNPRINTABLE, forbidden_char, long_number
from kb.errors import Problem, ProblemsError

Loc = tuple[str | int, ...]
MAX_ALIASES = 100  # an entry never needs more; a billion-laughs file needs far more


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: dates stay the text the author wrote."""


# libyaml composes about ten times faster; its error messages are terser, so a file it rejects
# is parsed again with the pure-Python loader for the message.
class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same rules as _Loader, parsed by libyaml when it is installed."""


_RESOLVERS = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.yaml_implicit_resolvers = _RESOLVERS
_FastLoader.yaml_implicit_resolvers = _RESOLVERS

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class Document:
    """A loaded YAML mapping and where each of its nodes starts (1-based line, column)."""

    data: dict[str, Any]
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    # The text as written of plain scalars that YAML did not read as text (2310.03270, no, ~),
    # so a message can show what the author typed rather than what YAML made of it.
    raw: dict[Loc, str] = field(default_factory=dict)
    # Where a key given twice in one mapping is given again (the later copy, which is dropped).
    repeated: set[tuple[int, int]] = field(default_factory=set)

    def position(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """The position of ``loc``, or of its nearest ancestor that exists (e.g. for a missing field)."""
        table = self.key_positions if key else self.positions
        loc = tuple(loc)
        if loc in table:
            return table[loc]
        while loc:
            loc = loc[:-1]
            if loc in self.positions:
                return self.positions[loc]
        return (1, 1)

    def said(self, problems: list[Problem]) -> list[str]:
        """The fields whose values ``problems`` say are wrong, so that later checks do not say so
        again: all of their fields but a repeated key's, whose kept copy is still to be checked."""
        return [p.field for p in problems if (p.line, p.col) not in self.repeated]


class Lines:
    """1-based line and column of a character of a text as an editor counts them: a line ends at
    "\n", "\r\n" or "\r". YAML's own marks also end one at U+0085, U+2028 and U+2029, which
    editors show inside a line, and so put every later problem lines below where it is."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def at(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index)
        return line, index - self.starts[line - 1] + 1


class _Builder:
    def __init__(self, rel: str, source: str):
        self.rel, self.source, self.lines = rel, source, Lines(source)
        self.aliases = 0
        self.seen: dict[int, int] = {}
        self.doc = Document({})
        self.problems: list[Problem] = []
        self.constructor = _Loader("")  # builds scalars with the resolver rules above

    def problem(self, node: yaml.Node, loc: Loc, message: str, *, at: str = "") -> None:
        """A problem at ``node``, or at the character ``at`` where the node's text holds it as
        itself (a summary of many lines); one written as an escape is placed at the node."""
        found = self.source.find(at, node.start_mark.index, node.end_mark.index) if at else -1
        line, col = self.lines.at(found if found >= 0 else node.start_mark.index)
        self.problems.append(Problem(self.rel, line, col, _dotted(loc), message))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        # PyYAML gives an alias the very node it refers to; count repeats to stop alias bombs.
        if id(node) in self.seen:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Abort(
                    self.rel,
                    self.lines.at(node.start_mark.index),
                    f"more than {MAX_ALIASES} alias uses; write the values out instead",
                )
        self.seen[id(node)] = 1
        self.doc.positions[loc] = self.lines.at(node.start_mark.index)
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                self.problem(node, loc, _tag_message(node.tag))
                return None
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problem(key_node, loc, "merge keys (<<) are not supported; write the fields out")
                    continue
                key = self.build(key_node, loc + ("<key>",))
                if not isinstance(key, str):
                    self.problem(key_node, loc, f"keys must be text, got {key!r}")
                    continue
                if key in out:
                    first = self.doc.key_positions[loc + (key,)]
                    self.problem(key_node, loc + (key,), f"duplicate key {key!r} (first at line {first[0]}); keep one")
                    self.doc.repeated.add(self.lines.at(key_node.start_mark.index))
                    continue
                self.doc.key_positions[loc + (key,)] = self.lines.at(key_node.start_mark.index)
                out[key] = self.build(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                self.problem(node, loc, _tag_message(node.tag))
                return None
            return [self.build(item, loc + (i,)) for i, item in enumerate(node.value)]
        if node.tag not in _SCALAR_TAGS:
            self.problem(node, loc, _tag_message(node.tag))
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ValueError:  # the one scalar Python refuses: an integer of thousands of digits
            self.problem(node, loc, long_number(node.value))
            return None
        if not isinstance(value, str):
            self.doc.raw[loc] = node.value
        elif bad := UNPRINTABLE.search(value):  # YAML refuses them raw; a quoted string writes "\e", "\x0c"
            self.problem(
                node,
                loc,
                f"character U+{ord(bad.group()):04X} (an escape in a quoted string) is not allowed; remove it",
            )
        elif (
            isinstance(node, yaml.ScalarNode) and node.style in ("'", '"') and value.strip() and value != value.strip()
        ):
            # Entries are read with the spaces around a value stripped, so no export would show them.
            padding = value[: len(value) - len(value.lstrip())] + value[len(value.rstrip()) :]
            what = (
                "a line break, which kb drops; remove it"
                if LINE_BREAKS.search(padding)
                else "spaces, which kb drops; remove them"
            )
            self.problem(node, loc, f"the quoted text starts or ends with {what}")
        elif found := forbidden_char(value):  # YAML reads them; a reviewer would not see them, or see another order
            self.problem(node, loc, found[1], at=found[0])
        return value


class _Abort(Exception):
    def __init__(self, rel: str, at: tuple[int, int], message: str):
        self.problem = Problem(rel, *at, "", message)


def _tag_message(tag: str) -> str:
    python = tag.startswith("tag:yaml.org,2002:python/")
    hint = " (Python objects are never loaded)" if python else ""
    return f"unsupported tag {_short_tag(tag)}{hint}; entries are plain YAML: remove the tag"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _dotted(loc: Loc) -> str:
    parts: list[str] = []
    for part in loc:
        if part == "<key>":
            continue
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def parse_document(text: bytes, rel: str) -> Document:
    """Parse one YAML file's bytes into a Document; raise ProblemsError naming ``rel``."""
    doc, problems = parse_document_keeping(text, rel)
    if problems:
        raise ProblemsError(problems)
    return doc


def parse_document_keeping(text: bytes, rel: str) -> tuple[Document, list[Problem]]:
    """Parse one YAML file's bytes into a Document and the problems of values in it that YAML read
    (a padded quoted text, a repeated key, a tag, a forbidden character): the file's other fields
    can still be checked. A file that gives no mapping at all raises ProblemsError naming ``rel``."""
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = text[: exc.start].count(b"\n") + 1
        col = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ProblemsError(
            [Problem(rel, line, col, "", f"byte 0x{text[exc.start]:02x} is not UTF-8; save the file as UTF-8")]
        ) from None
    source = source.removeprefix("\ufeff")
    try:
        node = yaml.compose(source, Loader=_FastLoader)
    except (yaml.YAMLError, RecursionError):
        node = _compose_for_message(source, rel)
    # An explicit document with nothing in it ("---" then "...") composes to an empty scalar.
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value == "" and not node.style):
        raise ProblemsError([Problem(rel, 1, 1, "", "the file is empty; expected a mapping of fields")])
    if not isinstance(node, yaml.MappingNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a single value"
        line, col = Lines(source).at(node.start_mark.index)
        raise ProblemsError([Problem(rel, line, col, "", f"the file holds {kind}; expected a mapping of fields")])
    builder = _Builder(rel, source)
    try:
        builder.doc.data = builder.build(node, ())
    except _Abort as exc:
        raise ProblemsError([exc.problem]) from None
    except RecursionError:
        raise ProblemsError([Problem(rel, 1, 1, "", "nested too deeply; an entry is a few levels deep")]) from None
    return builder.doc, builder.problems


def top_key_positions(text: bytes, rel: str) -> dict[str, tuple[int, int]]:
    """Where each top-level key of a file that another tool reads (mkdocs.yml) is written (1-based
    line, column); its YAML mistakes raise ProblemsError, at their places. It is composed, never
    constructed, so the file's own tags (!!python/name, !ENV) are no mistake."""
    try:
        source = text.decode("utf-8").removeprefix("\ufeff")
        node = _compose_for_message(source, rel)
    except UnicodeDecodeError as exc:
        problem = Problem(rel, 0, 0, "", f"byte 0x{text[exc.start]:02x} is not UTF-8; save the file as UTF-8")
        raise ProblemsError([problem]) from None
    if not isinstance(node, yaml.MappingNode):
        return {}
    lines = Lines(source)
    return {key.value: lines.at(key.start_mark.index) for key, _ in node.value if isinstance(key, yaml.ScalarNode)}


def _compose_for_message(source: str, rel: str) -> yaml.Node | None:
    """Parse again with the pure-Python loader, whose messages are clearer, and raise its problem."""
    try:
        return yaml.compose(source, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise ProblemsError([_mark_problem(rel, exc, source)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = Lines(source).at(exc.position)
        what = f"character U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        raise ProblemsError([Problem(rel, line, col, "", f"{what} is not allowed in YAML; remove it")]) from None
    except yaml.YAMLError as exc:
        raise ProblemsError([Problem(rel, 1, 1, "", f"not valid YAML: {exc}")]) from None
    except RecursionError:
        raise ProblemsError([Problem(rel, 1, 1, "", "nested too deeply; an entry is a few levels deep")]) from None


# What a person most often did, for PyYAML's words on the mistakes people most often make.
_YAML_HINTS = [
    (
        "mapping values are not allowed",
        'a colon and a space start a field: quote a value that holds them, as title: "A: B", and start each '
        "field where the fields above it start",
    ),
    ("but found '<block mapping start>'", "this line is indented more than the fields around it; line it up with them"),
    (
        "but found '<block sequence start>'",
        "this list item is indented unlike the items above it; line it up with them",
    ),
    ("cannot start any token", "YAML indents with spaces, never tabs: replace the tab with spaces"),
    (
        "could not find expected ':'",
        "a field is 'name: value'; add the colon, or quote a value that runs onto this line",
    ),
    ("while scanning a quoted scalar", "a quoted text is not closed; add its closing quote"),
    (
        "expected <block end>, but found '<scalar>'",
        "text goes on after a quoted text ends: quote the whole of a value that holds quotes, as "
        "title: 'A \"B\" C'; or, if a quote above is not closed, close it (the text ran on to this line's quote)",
    ),
    ("expected ',' or '}'", "a { } mapping is not closed, or lacks a comma; close it with }"),
    ("expected ',' or ']'", "a [ ] list is not closed, or lacks a comma; close it with ]"),
]


def _mark_problem(rel: str, exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = Lines(source).at(mark.index) if mark else (1, 1)
    what = "; ".join(x for x in (exc.context, exc.problem) if x)
    hint = next((f" ({h})" for words, h in _YAML_HINTS if words in what), "")
    return Problem(rel, line, col, "", f"not valid YAML: {what}{hint}")


MAX_FILE_BYTES = 1_000_000  # an entry is a few kilobytes; a taxonomy some tens


def load_document(path: Path, root: Path | None = None) -> Document:
    """Read and parse one YAML file (see ``read_yaml_bytes``)."""
    rel = os.path.relpath(path, root) if root else str(path)
    return parse_document(read_yaml_bytes(path, rel), rel)


def read_yaml_bytes(path: Path, rel: str) -> bytes:
    """The bytes of one YAML file; a device, a pipe or a file of megabytes is a problem, not a
    hang or a MemoryError (a link to /dev/zero would be read forever)."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, a pipe, or a link to one)"
        raise ProblemsError([Problem(rel, 0, 0, "", f"{what}; expected a YAML file")])
    with path.open("rb") as fh:
        text = fh.read(MAX_FILE_BYTES + 1)
    if len(text) > MAX_FILE_BYTES:
        raise ProblemsError([Problem(rel, 0, 0, "", f"over {MAX_FILE_BYTES:,} bytes; an entry is a few kilobytes")])
    return text


def load_yaml_file(path: Path, root: Path | None = None) -> dict[str, Any]:
    return load_document(path, root).data

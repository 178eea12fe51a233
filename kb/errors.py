"""Problems and errors. Library code raises these; only the CLI turns them into output."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from kb.output.text import counted, no_controls, one_line


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one file, at a position when it is known (1-based line and column)."""

    path: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        # A file name may hold anything a file system allows: a newline, an escape sequence; so
        # may a field's name, which is a key of the file, and a message that names the file.
        path, field, message = one_line(self.path), one_line(self.field), no_controls(self.message)
        where = f"{path}:{self.line}:{self.col}" if self.line else path
        return f"{where}: {field}: {message}" if field else f"{where}: {message}"

    def to_dict(self) -> dict[str, object]:
        """As JSON data: a position or field not known (a whole file's problem) is null, not 0 or ""."""
        data = asdict(self)
        if not self.line:
            data["line"] = data["col"] = None
        if not self.field:
            data["field"] = None
        return data


def same_place(field: str, other: str) -> bool:
    """Whether two problems' fields are one, or one lies inside the other ("tags.yin" holds
    "tags.yin[0]"): the place of one problem, not of two."""

    def under(inner: str, outer: str) -> bool:
        return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))

    return bool(field and other) and (under(field, other) or under(other, field))


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (a library's may run to several), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class KBError(Exception):
    """Base class of every error kb reports to a user."""


class UsageError(KBError):
    """The command was asked for something that does not exist (exit code 2)."""


class SettingsError(UsageError):
    """Settings given by KB_* variables or flags are wrong: a usage error (exit 2), one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ProblemsError(KBError):
    """The knowledge base (or a file in it) has problems; carries every one of them."""

    def __init__(self, problems: list[Problem], hint: str = "run kb check for the whole list"):
        self.problems = sorted(problems)
        self.hint = hint  # what to do next, said after the count
        super().__init__(counted(len(self.problems), "problem"))


class RootNotFoundError(UsageError):
    def __init__(self, start: Path):
        super().__init__(
            f"no knowledge base at or above {start} (a folder holding mkdocs.yml and entries/); "
            "run kb inside one or name it with --root"
        )

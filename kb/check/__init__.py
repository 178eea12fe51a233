"""kb check as a stage: every problem in the whole knowledge base, collected as values.

Schema and YAML problems come from the store (they are found while loading); this module adds
the checks that need more than one file or more than the schema: file names, unique ids, arXiv
ids and titles, taxonomy tags, relations, and the side files (suggestions.json, kb.yaml, the
taxonomies). Nothing here raises for bad input: every problem becomes a ``Problem``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb.check.entries import (
    RELATION_SOURCES,
    RELATION_TARGETS,
    entry_problems,
    relation_problems,
    relative,
    tag_problem,
)
from kb.check.side_files import config_problems, load_taxonomies_checked, mkdocs_problems, suggestions_problems
from kb.errors import Problem
from kb.output.text import counted
from kb.store import ENTRY_FOLDERS, KB, entry_paths, load_kb

if TYPE_CHECKING:
    from kb.parsecache import ParseCache

__all__ = [
    "RELATION_SOURCES",
    "RELATION_TARGETS",
    "CheckReport",
    "check_kb",
    "config_problems",
    "entry_problems",
    "load_taxonomies_checked",
    "relation_problems",
    "stray_files",
    "suggestions_problems",
    "tag_problem",
]


@dataclass
class CheckReport:
    """The outcome of kb check: the problems (sorted) and how many entry files were looked at."""

    problems: list[Problem]
    files: int
    # The knowledge base as checked: every entry the schema took, and the taxonomies where they loaded.
    kb: KB | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        checked = f"checked {counted(self.files, 'entry', 'entries')}"
        if not self.problems:
            return f"{checked}: no problems"
        n_files = len({p.path for p in self.problems})
        return f"{checked}: {counted(len(self.problems), 'problem')} in {counted(n_files, 'file')}"


def check_kb(
    root: Path, only: Iterable[str] | None = None, *, today: _dt.date | None = None, fill: ParseCache | None = None
) -> CheckReport:
    """Check the whole knowledge base under ``root``.

    ``only`` (paths relative to ``root``, files or folders) limits the report to those files;
    relations and uniqueness are still checked against the whole knowledge base. Every file is
    parsed anew; ``fill`` (a ParseCache made ``fresh``) is given what was parsed, and saved.
    """
    today = today or _dt.date.today()
    problems: list[Problem] = []
    taxonomies, tax_problems = load_taxonomies_checked(root)
    problems += tax_problems
    # Entries are checked against the schema whatever the taxonomies' state, and their tags against
    # each taxonomy whose file loaded (a damaged one's tags are checked once it is mended).
    kb = load_kb(root, strict=False, taxonomies=taxonomies, parsed=fill)
    problems += kb.problems
    problems += entry_problems(kb, today)
    problems += suggestions_problems(kb)
    selected = None if only is None else [s.rstrip("/") for s in only]

    def wanted(rel: str) -> bool:
        return selected is None or any(s in (".", "") or rel == s or rel.startswith(s + "/") for s in selected)

    problems += config_problems(root)
    # mkdocs' validation of the settings (a quarter of a second) only when mkdocs.yml is asked about.
    problems += mkdocs_problems(root, settings=wanted("mkdocs.yml"))
    problems += stray_files(root)
    files = entry_paths(root)
    if selected is not None:
        problems = [p for p in problems if wanted(p.path)]
        files = [f for f in files if wanted(relative(f, root))]
    return CheckReport(sorted(set(problems)), len(files), kb)


def stray_files(root: Path) -> list[Problem]:
    """Files where entries live that kb never reads: a typo in a name must not hide an entry."""
    out = []
    where = "entries/works/<id>.yaml or entries/datasets/<id>.yaml"
    for folder in ENTRY_FOLDERS:
        for path in sorted((root / "entries" / folder).glob("*")):
            if path.name.startswith(".") or path.suffix == ".yaml":  # a folder x.yaml: kb check says so already
                continue
            what = "a folder" if path.is_dir() else "not an entry file"
            out.append(Problem(relative(path, root), 0, 0, "", f"{what}: kb reads only {where}; rename or move it"))
    for path in sorted((root / "entries").glob("*.y*ml")):
        out.append(Problem(relative(path, root), 0, 0, "", f"not read here: entries go in {where}"))
    return out

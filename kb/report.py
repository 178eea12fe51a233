"""Render a list of problems as text, JSON or GitHub Actions annotations."""

from __future__ import annotations

from kb.errors import Problem
from kb.output.text import json_text

FORMATS = ("text", "json", "github")


def render_problems(problems: list[Problem], fmt: str, *, checked: int) -> str:
    """The report of ``problems`` in format ``fmt`` (no trailing newline; empty text when clean)."""
    if fmt == "json":
        files = len({p.path for p in problems})
        body = {"checked": checked, "problems": [p.to_dict() for p in problems], "files_with_problems": files}
        return json_text(body, indent=2)
    if fmt == "github":
        return "\n".join(github_annotation(p) for p in problems)
    return "\n".join(str(p) for p in problems)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem) -> str:
    """One ``::error`` workflow command; GitHub shows it on the line of the file in a pull request."""
    props = [f"file={_escape_property(problem.path)}"]
    if problem.line:
        props += [f"line={problem.line}", f"col={problem.col}"]
    props.append(f"title={_escape_property(problem.field or 'kb check')}")
    return f"::error {','.join(props)}::{_escape_data(problem.message)}"

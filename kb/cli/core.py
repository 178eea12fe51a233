"""kb check, kb schema: the core commands over the YAML store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kb.cli import State, StrictChoice, main, pass_state


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=StrictChoice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text: path:line:col: field: message; json: one object; github: workflow annotations.",
)
@pass_state
def check(state: State, paths: tuple[Path, ...], fmt: str) -> None:
    """Validate the knowledge base and report every problem, then a summary on stderr.

    With PATHS (entry files or folders), report only on those; relations and uniqueness are
    still checked against the whole knowledge base. Exit 0 when clean, 1 when problems were found.
    """
    from kb.check import check_kb
    from kb.report import render_problems

    only = [_relative(state.root, p) for p in paths] if paths else None
    report = check_kb(state.root, only)
    text = render_problems(report.problems, fmt, checked=report.files)
    if text:
        click.echo(text)
    click.echo(report.summary(), err=True)
    sys.exit(0 if report.ok else 1)


def _relative(root: Path, path: Path) -> str:
    from kb.errors import UsageError

    full = path.resolve()
    if not full.exists():
        raise UsageError(f"{path} does not exist; name entry files or folders of the knowledge base")
    rel = os.path.relpath(full, root)
    if rel == ".." or rel.startswith(".." + os.sep):
        raise UsageError(f"{path} is outside the knowledge base at {root}")
    rel = rel.replace(os.sep, "/")
    if full.is_file() and not rel.startswith(("entries/works/", "entries/datasets/")):
        raise UsageError(f"{path} is not an entry file; entries are entries/works/*.yaml and entries/datasets/*.yaml")
    return rel


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout (- is stdout).",
)
@pass_state
def schema(state: State, output: Path | None) -> None:
    """Print the JSON Schema of an entry file, for editors that validate YAML as it is typed."""
    from kb.jsonschema import entry_schema_text

    text = entry_schema_text()
    if output is None or str(output) == "-":  # -o - is stdout, as for kb graph
        click.echo(text, nl=False)
        return
    from kb.store import write_output

    write_output(output, text, root=state.root)
    click.echo(f"wrote {output}", err=True)

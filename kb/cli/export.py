"""kb export: the knowledge base as BibTeX, CSV, JSON, GraphML or the awesome-list README."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli import State, StrictChoice, main, pass_state
from kb.export import FORMATS


@main.command()
@click.argument("fmt", metavar="FORMAT", type=StrictChoice(FORMATS))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of stdout (- is stdout).",
)
@pass_state
def export(state: State, fmt: str, output: Path | None) -> None:
    """Export every entry as FORMAT: bibtex; csv or json (both read back as the same entries);
    graphml (the knowledge graph); awesome (the Markdown list committed as AWESOME.md)."""
    from kb.export import export_kb
    from kb.store import check_output, write_output

    if output is not None and str(output) == "-":  # -o - is stdout, as for kb graph
        output = None
    if output is not None:  # refused before the work, not after it
        check_output(output, root=state.root)
    exported = export_kb(state.kb(), fmt, state.config)
    for note in exported.notes:
        click.echo(f"kb: {note}", err=True)
    if output is None:
        click.echo(exported.text, nl=False)
        return
    write_output(output, exported.text, root=state.root)
    click.echo(f"wrote {output}", err=True)

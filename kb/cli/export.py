"""kb export: the knowledge base as BibTeX, CSV, JSON, GraphML or the awesome-list README."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import click

from kb.cli import State, main, pass_state
from kb.export import FORMATS


class _Choice(click.Choice):
    """click's choice, with "did you mean" when the value is close to one of the choices."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.fail(f"{value!r} is not one of {', '.join(map(str, self.choices))}{hint}", param, ctx)


@main.command()
@click.argument("fmt", metavar="FORMAT", type=_Choice(FORMATS))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE, not stdout.")
@pass_state
def export(state: State, fmt: str, output: Path | None) -> None:
    """Export every entry as FORMAT: bibtex; csv or json (both read back as the same entries);
    graphml (the knowledge graph); awesome (the Markdown list committed as AWESOME.md)."""
    from kb.export import export_kb, write_export

    exported = export_kb(state.kb(), fmt, state.config)
    for note in exported.notes:
        click.echo(f"kb: {note}", err=True)
    if output is None:
        click.echo(exported.text, nl=False)
        return
    write_export(output, exported.text)
    click.echo(f"wrote {output}", err=True)

"""kb check, kb schema: the core commands over the YAML store."""

from __future__ import annotations

import sys

import click

from kb.cli import State, main, pass_state


@main.command()
@pass_state
def check(state: State) -> None:
    """Validate every entry; report every problem as path:line:col: field: message."""
    from kb.store import load_kb

    kb = load_kb(state.root, strict=False)
    for problem in kb.problems:
        click.echo(str(problem))
    click.echo(f"{len(kb.entries)} entries checked, {len(kb.problems)} problem(s)", err=True)
    sys.exit(1 if kb.problems else 0)

"""kb new: add a paper to the knowledge base, pre-filled from arXiv (or from its title alone)."""

from __future__ import annotations

import contextlib
import os

import click

from kb.cli import State, StrictChoice, main, pass_state, utf8_text
from kb.schema import Kind


@main.command()
@click.argument("ids", nargs=-1, metavar="[ARXIV_ID]...")
@click.option("--arxiv", "arxiv_ids", multiple=True, metavar="ID", help="An arXiv id (repeatable); same as ARXIV_ID.")
@click.option("--title", callback=utf8_text, help="The full title of a paper that has no arXiv id.")
@click.option(
    "--kind",
    type=StrictChoice([k.value for k in Kind], "kind"),
    help="What the paper is; default: guessed from the title.",
)
@click.option(
    "--name",
    callback=utf8_text,
    help="The entry's short name (e.g. LLaVA-Bench); default: guessed from the title. A second "
    "dataset or benchmark of a paper needs a name of its own.",
)
@click.option(
    "--id",
    "entry_id",
    metavar="ID",
    callback=utf8_text,
    help="The entry's id and file name (lower-case words joined by hyphens); default: made from the name or title.",
)
@click.option("--dry-run", is_flag=True, help="Print the YAML instead of writing the file.")
@click.option("--no-suggest", is_flag=True, help="Leave out the suggested tags (no embedding model is loaded).")
@pass_state
def new(
    state: State,
    ids: tuple[str, ...],
    arxiv_ids: tuple[str, ...],
    title: str | None,
    kind: str | None,
    name: str | None,
    entry_id: str | None,
    dry_run: bool,
    no_suggest: bool,
) -> None:
    """Add an entry: `kb new 2401.13601` fetches the paper from arXiv and writes
    entries/<works|datasets>/<id>.yaml with its facts, a guessed kind and suggested tags as
    comments; `kb new --title "..." --kind method` does the same for a paper without an arXiv id.
    Nothing is overwritten, and an arXiv id or title that an entry of the same family (works, or
    datasets) already has is refused, as kb check would: a paper's second dataset needs --name."""
    from kb.arxiv_import import plan_new, write_plan
    from kb.config import BUILD_DIR
    from kb.store import held_lock, load_kb

    # Two kb new at once would each find the id and title free and both write (one entry lost, or
    # one paper twice): the second waits, then reads the knowledge base with the first's entry in it.
    waiting = f"another kb new is writing into this knowledge base (it holds {BUILD_DIR}/new.lock); waiting"
    with contextlib.nullcontext() if dry_run else held_lock(state.root, "new.lock", busy=waiting, wait=True):
        kb = load_kb(state.root, strict=False)  # a broken entry elsewhere must not block adding one
        plan = plan_new(
            kb,
            state.config,
            arxiv_ids=[*ids, *arxiv_ids],
            title=title,
            kind=Kind(kind) if kind else None,
            name=name,
            entry_id=entry_id,
            suggest=not no_suggest,
        )
        for note in plan.notes:
            click.echo(note, err=True)
        if dry_run:
            click.echo("---\n".join(draft.text for draft in plan.drafts), nl=False)
            return
        for path in write_plan(kb, plan):
            click.echo(f"wrote {os.path.relpath(path)}")
    click.echo("next: edit it (tags, modalities, a summary in our own words), then run kb check", err=True)

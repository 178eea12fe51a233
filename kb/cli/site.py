"""kb build, kb serve, kb graph: the static site and the knowledge graph."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli import State, StrictChoice, main, pass_state


@main.command()
@pass_state
def build(state: State) -> None:
    """Build the site: check, embed, suggest, graph, cluster, render, then mkdocs build --strict.

    One line per stage on stderr (on a terminal, a status line meanwhile says what the running
    stage is doing). The new site replaces the site folder only when every stage
    succeeded; problems found by kb check stop the build (exit 1).
    """
    _build(state)


def _build(state: State) -> None:
    """kb build's stages, a line each on stderr when done; on a terminal, a line says what the
    running one is doing."""
    from kb.output.status import StatusLine
    from kb.site.build import build as build_site

    with StatusLine() as status:  # on stderr
        build_site(state.root, state.config, commands=main, report=lambda r: status.echo(str(r)), show=status.show)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--no-build", is_flag=True, help="Serve the site folder as it is, without building it first.")
@pass_state
def serve(state: State, port: int, no_build: bool) -> None:
    """Build the site, then serve it on http://127.0.0.1:PORT/ until interrupted."""
    from kb.site.build import site_folder
    from kb.site.serve import listen, serve_on

    folder = site_folder(state.root, state.config, replacing=not no_build)  # --no-build only reads it
    server = listen(port)  # a busy port is said now, not after the build
    if not no_build:
        _build(state)
    serve_on(
        server,
        folder,
        announce=lambda url: click.echo(f"serving {url} (Ctrl-C stops)", err=True),
    )


@main.command()
@click.option(
    "--format",
    "fmt",
    type=StrictChoice(["node-link", "graphml"]),
    default="node-link",
    show_default=True,
    help="node-link: networkx's JSON; graphml: for Gephi, Cytoscape and networkx.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    required=True,
    help="The file to write; - for stdout.",
)
@click.option("--no-similar", is_flag=True, help="Leave out the nearest-neighbour edges (and the need for embeddings).")
@pass_state
def graph(state: State, fmt: str, output: Path, no_similar: bool) -> None:
    """Write the knowledge graph: works, datasets, taxonomy nodes and every link between them.
    Its nearest-neighbour edges come from the cached embeddings; entries the cache lacks are
    encoded first, as kb embed would (--no-similar leaves them out)."""
    from kb.graph import build_graph, graph_text, write_graph
    from kb.store import check_output

    if str(output) != "-":  # refused before the embeddings, not after them
        check_output(output, root=state.root)
    vectors = None
    if not no_similar:
        from kb.embed import embed_kb

        vectors = embed_kb(state.kb(), state.config)
    built = build_graph(state.kb(), vectors, k=state.config.neighbours)
    counts = f"{built.number_of_nodes()} nodes, {built.number_of_edges()} edges"
    if str(output) == "-":
        click.echo(graph_text(built, fmt), nl=False)
        click.echo(f"wrote the graph to stdout: {counts}", err=True)
        return
    write_graph(built, output, fmt, root=state.root)
    click.echo(f"wrote {output}: {counts}", err=True)

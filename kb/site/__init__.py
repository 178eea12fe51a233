"""The static site: pages rendered as pure functions, then `mkdocs build --strict`.

``render_site`` turns the knowledge base and its graph into ``{path relative to docs: text}``
(Markdown pages, JSON data, the Atom feed) without touching the disk; ``kb.site.build`` runs the
pipeline around it and hands the result to mkdocs. Escaping happens in kb.site.escape only.
Nothing heavy loads with the package: kb check reads kb.site.settings alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    import networkx as nx

    from kb.classify.model import Evidence
    from kb.cluster import ClusterReport
    from kb.store import KB

# Pages written by hand and committed under docs/; generated pages never take these paths.
HAND_WRITTEN = ("index.md", "contributing.md", "pipeline.md")


def render_site(
    kb: KB,
    graph: nx.MultiDiGraph,
    *,
    commands: click.Group | None = None,
    site_url: str = "",
    why: dict[str, dict[str, dict[str, Evidence]]] | None = None,
    clusters: ClusterReport | None = None,
) -> dict[str, str]:
    """Every generated file of the site by path relative to the docs folder; ``why`` (from
    kb.classify.suggestion_evidence) shows under each suggested tag what it rests on, ``clusters``
    (from kb.cluster.cluster_kb) fills the clusters page."""
    from kb.site import overview, pages, reference
    from kb.site.clusters import render_clusters
    from kb.site.data import data_files
    from kb.site.feed import FEED_PATH, render_feed
    from kb.site.model import build_model

    model = build_model(kb, graph, why)
    files: dict[str, str] = {}
    for entry in kb.entries.values():
        files[f"entries/{entry.id}.md"] = pages.render_entry(model, entry)
    for tax in kb.taxonomies:
        for node in tax.walk():
            files[f"taxonomy/{tax.id}/{node.id}.md"] = pages.render_node(model, tax.id, node.id)
    files["entries/index.md"] = overview.render_entries_index(model)
    files["taxonomy/index.md"] = overview.render_taxonomy_index(model)
    files["graph.md"] = overview.render_graph_page(model)
    files["timeline.md"] = overview.render_timeline(model)
    files["datasets.md"] = overview.render_datasets(model)
    files["clusters.md"] = render_clusters(model, clusters)
    files["reference/schema.md"] = reference.render_schema()
    files["reference/config.md"] = reference.render_config_reference()
    files["reference/taxonomies.md"] = reference.render_taxonomy_reference(kb)
    files["reference/cli.md"] = reference.render_cli_reference(commands) if commands else reference.NO_CLI
    files[FEED_PATH] = render_feed(kb, site_url)
    files.update(data_files(model))
    return files


__all__ = ["HAND_WRITTEN", "render_site"]

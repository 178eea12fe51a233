"""The clusters page: how the knowledge base sorts itself by meaning, and where that parts from the
taxonomies (``kb cluster``'s report, computed by kb build)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from markupsafe import Markup

from kb.cluster.report import NO_TERMS
from kb.site.escape import escape_attr, escape_text
from kb.site.model import TAXONOMY_TITLES, SiteModel
from kb.site.pages import entry_link, join, node_link
from kb.site.templates import render

if TYPE_CHECKING:
    from kb.cluster import Candidate, Cluster, ClusterReport

PAGE = "clusters.md"
MEMBERS_SHOWN = 8  # entries listed per cluster; kb cluster --json has them all
REVIEW_SHOWN = 50  # entries of the review queue listed
FAMILY_NAMES = {"works": "works", "datasets": "training datasets", "benchmarks": "benchmarks"}


def render_clusters(model: SiteModel, report: ClusterReport | None) -> str:
    """The page; without a report (a site rendered without clustering) it says how to get one."""
    if report is None:
        return render("clusters.md.j2", report=None)
    by_id = {c.id: c for c in report.clusters}
    candidates = [
        (_cluster_link(c.cluster), _finding(model, c, by_id[c.cluster]), join(c.terms[:5]), _evidence(model, c))
        for c in report.candidates
    ]
    review = [
        (
            entry_link(model, PAGE, item.entry_id),
            TAXONOMY_TITLES[item.taxonomy],
            join((_node(model, item.taxonomy, t) for t in item.curated), ", "),
            join((_node(model, item.taxonomy, t) for t in item.neighbours_say), ", "),
            Markup(f"{item.strength:.2f}"),
        )
        for item in report.review[:REVIEW_SHOWN]
        if item.entry_id in model.kb.entries
    ]
    levels = [
        (
            level,
            [
                (
                    Markup(f'<span id="{escape_attr(c.id.lower())}"></span>') + escape_text(c.id),
                    c.size,
                    join(c.terms[:5]) or Markup(f"<em>{NO_TERMS}</em>"),
                    _nearest(model, c),
                    _cluster_link(c.parent) if c.parent else Markup(""),
                    _members(model, c.members),
                )
                for c in report.clusters
                if c.level == level
            ],
        )
        for level in report.levels
    ]
    return render(
        "clusters.md.j2",
        report=report,
        entries=len({m for c in report.clusters for m in c.members}),
        levels=levels,
        level_names=join((str(level) for level in report.levels), ", "),
        candidates=candidates,
        review=review,
        more_review=max(len(report.review) - REVIEW_SHOWN, 0),
    )


def _cluster_link(cluster_id: str) -> Markup:
    return Markup(f'<a href="#{escape_attr(cluster_id.lower())}">{escape_text(cluster_id)}</a>')


def _node(model: SiteModel, taxonomy: str, node_id: str) -> Markup:
    """A link to a node's page, or its id as text if the taxonomy has no such node."""
    if node_id in model.kb.taxonomies[taxonomy]:
        return node_link(model, PAGE, taxonomy, node_id, full=False)
    return escape_text(node_id)


def _qualified(model: SiteModel, qualified_id: str) -> Markup:
    taxonomy, _, node_id = qualified_id.partition(":")
    return Markup(f"{escape_text(TAXONOMY_TITLES.get(taxonomy, taxonomy))}: ") + _node(model, taxonomy, node_id)


def _nearest(model: SiteModel, cluster: Cluster) -> Markup:
    """The best node of each topic taxonomy, with its cosine to the cluster's centroid."""
    best = [pairs[0] for pairs in cluster.nearest_nodes.values() if pairs]
    return join((_qualified(model, node) + Markup(f" {score:.2f}") for node, score in best), "; ")


def _members(model: SiteModel, members: list[str], shown: int = MEMBERS_SHOWN, *, expand: bool = False) -> Markup:
    """The first ``shown`` entries as links, then how many more; with ``expand`` the rest too,
    folded away (a candidate's entries are what a maintainer opens; a cluster's are in kb cluster
    --json)."""
    links = [entry_link(model, PAGE, m) for m in members if m in model.kb.entries]
    first, rest = links[:shown], links[shown:]
    if not rest:
        return join(first, ", ")
    if not expand:
        return join(first, ", ") + Markup(f", and {len(rest)} more")
    folded = Markup(f'<details class="kb-more"><summary>and {len(rest)} more</summary>') + join(rest, ", ")
    return join(first, ", ") + Markup(", ") + folded + Markup("</details>")  # opened, the rest replace the summary


def _evidence(model: SiteModel, candidate: Candidate) -> Markup:
    """The entries a maintainer would open: for a straddle, those of each side (its tag alone, none
    of the others); for a cluster no node fits, the first of its entries."""
    if not candidate.sides or not candidate.taxonomy:
        return _members(model, candidate.members, expand=True)
    sides = []
    for tag, members in candidate.sides.items():
        known = tag in model.kb.taxonomies[candidate.taxonomy]
        name = model.node(candidate.taxonomy, tag).name if known else tag
        label = Markup("<strong>") + escape_text(name) + Markup("</strong>: ")
        sides.append(label + _members(model, members, MEMBERS_SHOWN // 2, expand=True))
    return Markup("<br>").join(sides)  # a side a line: a folded list ends its line


def _finding(model: SiteModel, candidate: Candidate, cluster: Cluster) -> Markup:
    if candidate.sides and candidate.taxonomy and candidate.family:
        taxonomy, family = candidate.taxonomy, candidate.family
        labelled = cluster.labelled[taxonomy][family]
        parts = join((Markup(f"{len(m)} ") + _node(model, taxonomy, t) for t, m in candidate.sides.items()), ", ")
        return (
            Markup(f"<strong>straddles</strong> {escape_text(TAXONOMY_TITLES[taxonomy])}: of its {labelled} ")
            + escape_text(f"labelled {FAMILY_NAMES.get(family, family)}, ")
            + parts
            + Markup(", each without the others")
        )
    return Markup(f"<strong>fits no node well</strong>: best similarity {cluster.fit:.2f}, nearest ") + _nearest(
        model, cluster
    )

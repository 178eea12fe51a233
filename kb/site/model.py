"""What the pages show, computed once from the KB and its graph: tags with their ancestors,
inverse relations, members of every taxonomy node, nearest neighbours.

Everything here is plain data; the page functions in kb.site.pages only arrange it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import networkx as nx

from kb.graph import node_key
from kb.naming import norm_title
from kb.query import INVERSE_NAMES
from kb.schema import RELATION_TYPES, Entry
from kb.store import KB
from kb.tags import curated_tags, suggested_tags
from kb.taxonomy import Node

if TYPE_CHECKING:
    from kb.classify.model import Evidence

TAXONOMY_TITLES = {"codev": "Co-development", "yin": "Yin et al.", "mmllms": "MM-LLMs"}
# How each relation reads from its source ("Trained on") and from its target ("Used to train"), as
# kb show reads them.
RELATION_NAMES = {rel: (rel.replace("_", " ").capitalize(), INVERSE_NAMES[rel].capitalize()) for rel in RELATION_TYPES}


def entry_page(entry_id: str) -> str:
    return f"entries/{entry_id}.md"


def node_page(taxonomy: str, node_id: str) -> str:
    return f"taxonomy/{taxonomy}/{node_id}.md"


def relative(from_page: str, to_page: str) -> str:
    """A Markdown link from one page (docs-relative .md path) to another; mkdocs checks and converts it.

    Both paths are clean relative paths we built, so the common folders are enough (posixpath.relpath
    would look at the working directory, for every one of some 100,000 links at 5,000 entries)."""
    here = from_page.split("/")[:-1]
    there = to_page.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:])


def root_url(page: str) -> str:
    """The site root as seen from a page's own url (directory urls: entries/x.md is served at entries/x/)."""
    parts = page.removesuffix(".md").split("/")
    depth = len(parts) - 1 if parts[-1] == "index" else len(parts)
    return "../" * depth


@dataclass
class Membership:
    """Entries in a taxonomy node's subtree: curated ones, and suggested ones (with their best score)."""

    curated: list[str] = field(default_factory=list)
    suggested: dict[str, float] = field(default_factory=dict)


@dataclass
class SiteModel:
    kb: KB
    graph: nx.MultiDiGraph
    # entry id -> taxonomy -> node ids (curated, ancestors included, tree order)
    curated: dict[str, dict[str, list[str]]]
    # entry id -> taxonomy -> [(node id, score)], best first, without the curated ones
    suggested: dict[str, dict[str, list[tuple[str, float]]]]
    # (taxonomy, node id) -> members of the node's subtree
    members: dict[tuple[str, str], Membership]
    # target id -> [(relation, source id)]: the inverse of every typed relation
    inverse: dict[str, list[tuple[str, str]]]
    # entry id -> [(other id, cosine)], nearest first
    neighbours: dict[str, list[tuple[str, float]]]
    # entry id -> taxonomy -> suggested node id -> why it was suggested (kb.classify.suggestion_evidence)
    why: dict[str, dict[str, dict[str, Evidence]]] = field(default_factory=dict)
    # taxonomies whose suggestions are the zero-shot fallback's (KB.zero_shot_suggestions): shown as
    # zero-shot scores, shares of one across the leaves, and never as suggested
    zero_shot: frozenset[str] = frozenset()

    def entries(self) -> list[Entry]:
        """Every entry, newest first, undated last, then by title."""
        return sorted(self.kb.entries.values(), key=entry_order)

    def node(self, taxonomy: str, node_id: str) -> Node:
        return self.kb.taxonomies[taxonomy][node_id]

    @cached_property
    def _titles(self) -> Counter[str]:
        return Counter(norm_title(e.title) for e in self.kb.entries.values())

    def page_title(self, entry: Entry) -> str:
        """What a browser tab, the history and the search results call an entry's page: its name
        before the title when the title lacks it ("LLaVA: Visual Instruction Tuning"), and its kind
        after when another entry has the same title (a paper's model and its benchmark). The search
        results take it from the front matter (entry.md.j2), and web/src/search.js reads the paper's
        title back out of it: change the one with the other."""
        title = entry.title
        if entry.name and entry.name.casefold() not in title.casefold():
            title = f"{entry.name}: {title}"
        return f"{title} ({entry.kind.value})" if self._titles[norm_title(entry.title)] > 1 else title

    def node_path_names(self, taxonomy: str, node_id: str) -> list[str]:
        return [n.name for n in self.kb.taxonomies[taxonomy].path(node_id)]


def entry_order(entry: Entry) -> tuple[int, str, str]:
    return (0 if entry.date else 1, _negate(entry.date or ""), entry.title.lower())


def _negate(date: str) -> str:
    # Newest first within a stable ascending sort: map each digit d to 9 - d.
    return date.translate(str.maketrans("0123456789", "9876543210"))


def build_model(
    kb: KB, graph: nx.MultiDiGraph, why: dict[str, dict[str, dict[str, Evidence]]] | None = None
) -> SiteModel:
    curated: dict[str, dict[str, list[str]]] = {}
    suggested: dict[str, dict[str, list[tuple[str, float]]]] = {}
    members: dict[tuple[str, str], Membership] = defaultdict(Membership)
    for entry in kb.entries.values():
        mine: dict[str, list[str]] = {}
        for tax_id, tags in curated_tags(entry).items():
            taxonomy = kb.taxonomies[tax_id]
            seen: dict[str, None] = {}
            for tag in tags:
                if tag in taxonomy:
                    seen.update((n.id, None) for n in taxonomy.path(tag))
            mine[tax_id] = list(seen)
            for node_id in seen:
                members[(tax_id, node_id)].curated.append(entry.id)
        curated[entry.id] = mine
        proposals: dict[str, list[tuple[str, float]]] = {}
        for tax_id, ranked in suggested_tags(kb, entry.id).items():
            taxonomy = kb.taxonomies[tax_id]
            kept = [(tag, score) for tag, score in ranked if tag in taxonomy and tag not in mine.get(tax_id, [])]
            proposals[tax_id] = kept
            for tag, score in kept:
                for node in taxonomy.path(tag):
                    if node.id in mine.get(tax_id, []):
                        continue
                    best = members[(tax_id, node.id)].suggested
                    best[entry.id] = max(best.get(entry.id, 0.0), score)
        suggested[entry.id] = proposals

    inverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entry in kb.entries.values():
        for rel, target in entry.relations.items():
            if target in kb.entries:
                inverse[target].append((rel, entry.id))

    neighbours: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for source, target, data in graph.edges(data=True):
        if data["type"] == "similar":
            neighbours[source].append((target, float(data["weight"])))
    for ranked in neighbours.values():
        ranked.sort(key=lambda pair: (-pair[1], pair[0]))
    return SiteModel(
        kb,
        graph,
        curated,
        suggested,
        dict(members),
        dict(inverse),
        dict(neighbours),
        why or {},
        kb.zero_shot_suggestions,
    )


def qualified(taxonomy: str, node_id: str) -> str:
    return node_key(taxonomy, node_id)


__all__ = ["RELATION_TYPES", "SiteModel", "build_model"]

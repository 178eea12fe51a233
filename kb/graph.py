"""The knowledge graph: works, datasets and taxonomy nodes, and every kind of link between them.

Node keys: an entry's id (a slug, never holding ":"), or a taxonomy node's qualified id
("codev:data4model/scaling"). Every edge carries a ``type``:

    curated     entry -> taxonomy node, a curated tag (weight 1)
    suggested   entry -> taxonomy node, a machine suggestion (weight = its score)
    zero_shot   entry -> taxonomy node, instead of suggested in a taxonomy with too few curated labels
                to learn from (KB.zero_shot_suggestions): a zero-shot score, a share of one across
                the leaves, not a suggestion (weight = the score)
    parent      taxonomy node -> child node
    trained_on, evaluated_on, introduces, builds_on   entry -> entry, the typed relations
    similar     entry -> entry, one of its nearest neighbours by embedding (weight = cosine)

Only numpy and networkx are needed; vectors come in already computed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from kb.output.text import json_text
from kb.schema import RELATION_TYPES, Entry
from kb.store import KB, write_output
from kb.tags import SUGGESTIONS_PER_TAXONOMY, curated_tags, learned_tags, suggested_tags  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from kb.embed import Vectors

FORMATS = ("node-link", "graphml")
LAYOUT_SEED = 7
REPULSION_SAMPLE = 800

# One colour per top-level node that entries are coloured by (14 of them: codev's 2 and yin's 12),
# with room to spare: a colour shared by two groups makes the site's legends ambiguous. The last two,
# close to the first blue and the fourth colour, are taken last.
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#bcbd22", "#7f3c8d", "#8cd17d", "#d37295", "#1f77b4", "#17becf",
)  # fmt: skip
TAXONOMY_COLOUR = "#555555"
UNTAGGED_COLOUR = "#9e9e9e"


def node_key(taxonomy: str, node_id: str) -> str:
    return f"{taxonomy}:{node_id}"


def entry_url(entry_id: str) -> str:
    """The entry's page, relative to the site root."""
    return f"entries/{entry_id}/"


def node_url(taxonomy: str, node_id: str) -> str:
    """A taxonomy node's page, relative to the site root."""
    return f"taxonomy/{taxonomy}/{node_id}/"


def entry_group(kb: KB, entry: Entry) -> str:
    """The top-level node an entry is coloured by: its first curated yin or codev tag, else suggested
    (never a zero-shot score: an entry with none of those is untagged)."""
    tags = curated_tags(entry)
    for tax in ("yin", "codev"):
        for tag in tags[tax]:
            if tag in kb.taxonomies[tax]:
                return node_key(tax, kb.taxonomies[tax].path(tag)[0].id)
    for tax, ranked in learned_tags(kb, entry.id, 1).items():
        for tag, _ in ranked:
            if tag in kb.taxonomies[tax]:
                return node_key(tax, kb.taxonomies[tax].path(tag)[0].id)
    return ""


def build_graph(kb: KB, vectors: Vectors | None = None, k: int = 10, *, layout: bool = True) -> nx.MultiDiGraph:
    """The whole KB as one graph; with ``layout``, every node gets x and y (deterministic)."""
    graph = nx.MultiDiGraph()
    for taxonomy in kb.taxonomies:
        for node in taxonomy.walk():
            graph.add_node(
                node_key(taxonomy.id, node.id),
                label=node.name,
                kind="taxonomy",
                taxonomy=node_key(taxonomy.id, taxonomy.path(node.id)[0].id),
                url=node_url(taxonomy.id, node.id),
                depth=node.depth,
            )
            if node.parent is not None:
                graph.add_edge(
                    node_key(taxonomy.id, node.parent), node_key(taxonomy.id, node.id), type="parent", weight=1.0
                )
    for entry in kb.entries.values():
        graph.add_node(
            entry.id,
            label=entry.display_name,
            title=entry.title,
            kind=entry.kind.value,
            taxonomy=entry_group(kb, entry),
            url=entry_url(entry.id),
            **({"year": entry.year} if entry.year else {}),  # an undated entry has none, not year 0
        )
    for entry in kb.entries.values():
        for tax, tags in curated_tags(entry).items():
            for tag in tags:
                if tag in kb.taxonomies[tax]:
                    graph.add_edge(entry.id, node_key(tax, tag), type="curated", weight=1.0)
        for tax, ranked in suggested_tags(kb, entry.id).items():
            kind = "zero_shot" if tax in kb.zero_shot_suggestions else "suggested"
            for tag, score in ranked:
                if tag in kb.taxonomies[tax]:
                    graph.add_edge(entry.id, node_key(tax, tag), type=kind, weight=round(float(score), 4))
        for rel, target in entry.relations.items():
            if target in kb.entries:
                graph.add_edge(entry.id, target, type=rel, weight=1.0)
    if vectors is not None and k > 0:
        for entry_id in kb.entries:
            if entry_id not in vectors:
                continue
            for other, score in vectors.nearest(entry_id, k):
                if other in kb.entries:
                    graph.add_edge(entry_id, other, type="similar", weight=round(float(score), 4))
    _size_and_colour(graph)
    if layout:
        place(graph)
    return graph


def _size_and_colour(graph: nx.MultiDiGraph) -> None:
    # Taxonomy nodes are all TAXONOMY_COLOUR: only the groups entries belong to take a palette colour.
    groups = sorted({d["taxonomy"] for _, d in graph.nodes(data=True) if d["kind"] != "taxonomy" and d["taxonomy"]})
    colour = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    for key, data in graph.nodes(data=True):
        degree = graph.degree(key)
        if data["kind"] == "taxonomy":
            data["color"] = TAXONOMY_COLOUR
            data["size"] = round(4 + 2 * math.log1p(degree), 2)
        else:
            data["color"] = colour.get(data["taxonomy"], UNTAGGED_COLOUR)
            data["size"] = round(2 + 1.2 * math.log1p(degree), 2)


def place(graph: nx.MultiDiGraph, seed: int = LAYOUT_SEED, iterations: int = 50) -> None:
    """A force-directed layout computed once at build time, the same for the same graph."""
    simple = nx.Graph()
    simple.add_nodes_from(sorted(graph.nodes))
    for u, v, data in graph.edges(data=True):
        weight = float(data.get("weight", 1.0))
        if data["type"] == "similar":
            weight *= 0.3  # similarity pulls gently; explicit links shape the picture
        if simple.has_edge(u, v):
            simple[u][v]["weight"] += weight
        else:
            simple.add_edge(u, v, weight=weight)
    if simple.number_of_nodes() == 0:
        return
    keys = list(simple.nodes)
    index = {key: i for i, key in enumerate(keys)}
    edges = [(index[u], index[v], data["weight"]) for u, v, data in simple.edges(data=True)]
    positions = fruchterman_reingold(len(keys), edges, seed=seed, iterations=iterations)
    for key, (x, y) in zip(keys, positions, strict=True):
        graph.nodes[key]["x"] = round(float(x), 3)
        graph.nodes[key]["y"] = round(float(y), 3)


def fruchterman_reingold(
    n: int, edges: list[tuple[int, int, float]], *, seed: int, iterations: int, scale: float = 100.0
) -> np.ndarray:
    """Force-directed positions (n x 2): networkx's spring layout, vectorised in row blocks.

    networkx switches to a per-node Python loop above 500 nodes, which takes minutes at 5,000
    entries; the same forces computed a block of rows at a time take seconds and bounded memory.
    """
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2), dtype=np.float64)
    if n == 1:
        return np.zeros((1, 2))
    k = math.sqrt(1.0 / n)
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    src = np.array([e[0] for e in edges], dtype=np.intp)
    dst = np.array([e[1] for e in edges], dtype=np.intp)
    weight = np.array([e[2] for e in edges], dtype=np.float64)
    block = max(1, 2_000_000 // min(n, REPULSION_SAMPLE))
    for _ in range(iterations):
        displacement = np.zeros_like(pos)
        # Above REPULSION_SAMPLE nodes, repulsion comes from a fresh random sample each step,
        # scaled up: O(n * sample) instead of O(n^2), the picture is the same at this size.
        others = pos if n <= REPULSION_SAMPLE else pos[rng.choice(n, REPULSION_SAMPLE, replace=False)]
        boost = n / len(others)
        for start in range(0, n, block):
            delta = (pos[start : start + block, None, :] - others[None, :, :]).astype(np.float32)
            distance = np.maximum(np.sqrt((delta**2).sum(axis=2)), 0.01)
            push = (delta * (boost * k * k / distance**2)[:, :, None]).sum(axis=1)
            displacement[start : start + block] = push
        if len(edges):
            # float64 here, unlike the float32 blocks of the repulsion above: hence names of their own.
            edge_delta = pos[src] - pos[dst]
            edge_distance = np.maximum(np.sqrt((edge_delta**2).sum(axis=1)), 0.01)
            pull = edge_delta * (weight * edge_distance / k)[:, None]
            np.subtract.at(displacement, src, pull)
            np.add.at(displacement, dst, pull)
        length = np.maximum(np.sqrt((displacement**2).sum(axis=1)), 0.01)
        pos += displacement * (temperature / length)[:, None]
        temperature -= cooling
    pos -= pos.mean(axis=0)
    extent = np.abs(pos).max()
    return pos * (scale / extent) if extent > 0 else pos


# ---------------------------------------------------------------- export

EDGE_COLOURS = {
    "curated": "#4e79a7",
    "suggested": "#c6c6c6",
    "zero_shot": "#dcdcdc",  # paler still: no suggestion
    "parent": "#555555",
    "similar": "#e0e0e0",
}


def to_graphology(graph: nx.MultiDiGraph | nx.MultiGraph) -> dict[str, Any]:
    """graphology's serialised form (what sigma reads): nodes and edges with their attributes."""
    nodes = []
    for key, data in graph.nodes(data=True):
        shown = ("label", "title", "x", "y", "size", "color", "kind", "taxonomy", "url")
        attrs = {name: data[name] for name in shown if name in data}
        nodes.append({"key": key, "attributes": attrs})
    edges = []
    for i, (u, v, data) in enumerate(graph.edges(data=True)):
        kind = data["type"]
        weight = float(data.get("weight", 1.0))
        edges.append(
            {
                "key": f"e{i}",
                "source": u,
                "target": v,
                "attributes": {
                    "type": kind,
                    "weight": weight,
                    "size": round(0.5 + weight, 2) if kind in ("curated", "parent") else 0.5,
                    "color": EDGE_COLOURS.get(kind, "#f28e2b"),
                },
            }
        )
    return {
        "attributes": {},
        "options": {"type": "mixed", "multi": True, "allowSelfLoops": False},
        "nodes": nodes,
        "edges": edges,
    }


def neighbourhood(graph: nx.MultiDiGraph, entry_id: str, *, max_nodes: int = 40) -> nx.MultiDiGraph:
    """An entry, its direct neighbours (strongest first, at most ``max_nodes``) and the links among them."""
    around: defaultdict[str, float] = defaultdict(float)  # summed weights, hence not a Counter of ints
    for _, other, data in graph.out_edges(entry_id, data=True):
        around[other] += float(data.get("weight", 1.0)) + (1.0 if data["type"] != "similar" else 0.0)
    for other, _, data in graph.in_edges(entry_id, data=True):
        around[other] += float(data.get("weight", 1.0)) + (1.0 if data["type"] != "similar" else 0.0)
    keep = [entry_id] + [key for key, _ in sorted(around.items(), key=lambda kv: (-kv[1], kv[0]))[: max_nodes - 1]]
    # Built node by node rather than with graph.subgraph, which walks a set: the order (and so
    # the exported edge keys) would change with the hash seed from one run to the next.
    kept = set(keep)
    sub = nx.MultiDiGraph()
    sub.add_nodes_from((key, dict(graph.nodes[key])) for key in keep)
    for key in keep:
        for _, target, edge_key, data in graph.out_edges(key, keys=True, data=True):
            if target in kept:
                sub.add_edge(key, target, key=edge_key, **data)
    _local_layout(sub, entry_id)
    return sub


def _local_layout(sub: nx.MultiDiGraph, centre: str) -> None:
    """The centre in the middle, its neighbours on a circle ordered by kind (deterministic)."""
    others = sorted((n for n in sub.nodes if n != centre), key=lambda n: (sub.nodes[n]["kind"], n))
    sub.nodes[centre].update(x=0.0, y=0.0)
    for i, key in enumerate(others):
        angle = 2 * math.pi * i / max(1, len(others))
        sub.nodes[key].update(x=round(10 * math.cos(angle), 3), y=round(10 * math.sin(angle), 3))


def write_graph(graph: nx.MultiDiGraph, path: Path, fmt: str, *, root: Path | None = None) -> Path:
    """Write ``graph`` as node-link JSON or GraphML, atomically (not over ``root``'s own files)."""
    write_output(path, graph_text(graph, fmt), root=root)
    return path


def graph_text(graph: nx.MultiDiGraph, fmt: str) -> str:
    """``graph`` as node-link JSON or GraphML text."""
    if fmt == "node-link":
        data = nx.node_link_data(graph, edges="edges")  # what nx.node_link_graph reads by default
        text = json_text(data, indent=1, sort_keys=True) + "\n"
    elif fmt == "graphml":
        # GraphML's edge id is the multigraph key (0, 1, ... per pair of nodes); Gephi and yEd keep
        # one edge per id, so every edge gets an id of its own.
        keyed = nx.MultiDiGraph(graph.graph)
        keyed.add_nodes_from(graph.nodes(data=True))
        keyed.add_edges_from((u, v, f"e{i}", d) for i, (u, v, d) in enumerate(graph.edges(data=True)))
        text = "\n".join(nx.generate_graphml(keyed)) + "\n"
    else:
        from kb.errors import UsageError

        raise UsageError(f"unknown graph format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return text


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Ranked:
    id: str
    label: str
    kind: str
    count: int  # links of the kind the ranking counts
    score: float  # centrality


def most_used_datasets(graph: nx.MultiDiGraph, n: int = 20) -> list[Ranked]:
    """Datasets and benchmarks by how many entries train on, evaluate on, introduce or build on
    them, each entry counted once (a work that trains and evaluates on one is one user of it)."""
    users: dict[str, set[str]] = defaultdict(set)
    for u, v, data in graph.edges(data=True):
        if data["type"] in RELATION_TYPES and graph.nodes[v]["kind"] in ("dataset", "benchmark"):
            users[v].add(u)
    ranked = sorted(((k, len(s)) for k, s in users.items()), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [
        Ranked(key, graph.nodes[key]["label"], graph.nodes[key]["kind"], count, float(count)) for key, count in ranked
    ]


def most_connected_works(graph: nx.MultiDiGraph, n: int = 20) -> list[Ranked]:
    """Works by degree centrality over typed relations and taxonomy membership (similarity left out)."""
    explicit = nx.Graph()
    for u, v, data in graph.edges(data=True):
        if data["type"] != "similar":
            explicit.add_edge(u, v)
    if explicit.number_of_nodes() == 0:
        return []
    centrality = nx.degree_centrality(explicit)
    not_works = ("taxonomy", "dataset", "benchmark")
    works = [k for k, d in graph.nodes(data=True) if d["kind"] not in not_works and k in explicit]
    works.sort(key=lambda k: (-centrality[k], k))
    return [
        Ranked(k, graph.nodes[k]["label"], graph.nodes[k]["kind"], explicit.degree(k), round(centrality[k], 4))
        for k in works[:n]
    ]

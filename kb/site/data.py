"""The JSON files the browser code (web/src/kb.js) reads, in the shapes of the web contract
(see tests/sitefixture.py): the table's rows, the taxonomy, the global graph, and one small
neighbourhood graph per entry.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import networkx as nx

from kb.graph import EDGE_COLOURS, entry_url, to_graphology
from kb.site.escape import to_json
from kb.site.model import SiteModel

NEIGHBOURHOOD_SIZE = 30


def table_rows(model: SiteModel) -> list[dict[str, Any]]:
    rows = []
    for entry in model.entries():
        rows.append(
            {
                "id": entry.id,
                "title": entry.title,
                "name": entry.name,
                "aliases": entry.aliases,  # the table's text filter finds an entry by them, as kb query does
                "kind": entry.kind.value,
                "date": entry.date,
                "year": entry.year,
                "venue": entry.venue,
                "modalities": sorted({m.value for m in (*entry.modalities.input, *entry.modalities.output)}),
                "arxiv": entry.arxiv,
                "authors": entry.authors,
                # for the text filter, as kb query --text; only where there are some (a third of the
                # entries): an empty list on the other rows would nearly double what they add to the
                # file (on 635 entries, 9.2 KB with them, 16.9 KB with an empty list on every row)
                **({"affiliations": entry.affiliations} if entry.affiliations else {}),
                "url": entry_url(entry.id),
                "curated": model.curated[entry.id],
                "suggested": {
                    tax: [] if tax in model.zero_shot else scored(ranked)
                    for tax, ranked in model.suggested[entry.id].items()
                },
                # The zero-shot fallback's scores (too few curated labels to learn from) are not
                # suggestions: apart, and only in a KB that has some, so a KB that learns keeps its bytes.
                **(
                    {"zero_shot": {t: scored(r) for t, r in model.suggested[entry.id].items() if t in model.zero_shot}}
                    if model.zero_shot
                    else {}
                ),
            }
        )
    return rows


def scored(ranked: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """Ranked tags as the table's rows hold them, ``[{"tag", "score"}]``, scores to three places."""
    return [{"tag": tag, "score": round(score, 3)} for tag, score in ranked]


def taxonomy_rows(model: SiteModel) -> dict[str, Any]:
    return {
        "taxonomy": [
            {"id": n.id, "name": n.name, "parent": n.parent, "depth": n.depth, "taxonomy": tax.id}
            for tax in model.kb.taxonomies
            for n in tax.walk()
        ]
    }


def neighbourhood_json(graph: nx.MultiDiGraph, entry_id: str, size: int = NEIGHBOURHOOD_SIZE) -> dict[str, Any]:
    """An entry, its strongest direct neighbours and the links among them, centre in the middle.

    The same choice and the same serialised form as kb.graph.neighbourhood + to_graphology, written
    straight from the big graph: only the out-edges of the nodes kept are read (a taxonomy node's
    thousands of member edges are never walked) and no subgraph is built, so one page costs the
    same at 5,000 entries as at 500.
    """
    strength: Counter[str] = Counter()
    for _, other, data in graph.out_edges(entry_id, data=True):
        strength[other] += float(data.get("weight", 1.0)) + (data["type"] != "similar")
    for other, _, data in graph.in_edges(entry_id, data=True):
        strength[other] += float(data.get("weight", 1.0)) + (data["type"] != "similar")
    others = [k for k, _ in sorted(strength.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 1]]
    ring = sorted(others, key=lambda k: (graph.nodes[k]["kind"], k))
    keep = {entry_id, *others}
    positions = {entry_id: (0.0, 0.0)}
    for i, key in enumerate(ring):
        angle = 2 * math.pi * i / max(1, len(ring))
        positions[key] = (round(10 * math.cos(angle), 3), round(10 * math.sin(angle), 3))
    nodes = []
    for key in [entry_id, *ring]:
        data = graph.nodes[key]
        attrs = {name: data[name] for name in NODE_ATTRIBUTES if name in data}
        attrs["x"], attrs["y"] = positions[key]
        nodes.append({"key": key, "attributes": attrs})
    edges: list[dict[str, Any]] = []
    for key in [entry_id, *ring]:
        for _, target, data in graph.out_edges(key, data=True):
            if target in keep:
                edges.append(edge_json(f"e{len(edges)}", key, target, data))
    return {"attributes": {}, "options": GRAPH_OPTIONS, "nodes": nodes, "edges": edges}


NODE_ATTRIBUTES = ("label", "title", "size", "color", "kind", "taxonomy", "url")
GRAPH_OPTIONS = {"type": "mixed", "multi": True, "allowSelfLoops": False}


def edge_json(key: str, source: str, target: str, data: dict[str, Any]) -> dict[str, Any]:
    """One edge as kb.graph.to_graphology writes it (the tests hold the two to the same output)."""
    kind = data["type"]
    weight = float(data.get("weight", 1.0))
    size = round(0.5 + weight, 2) if kind in ("curated", "parent") else 0.5
    colour = EDGE_COLOURS.get(kind, "#f28e2b")
    attributes = {"type": kind, "weight": weight, "size": size, "color": colour}
    return {"key": key, "source": source, "target": target, "attributes": attributes}


def data_files(model: SiteModel) -> dict[str, str]:
    """assets/data/*.json: every file the browser code fetches, by path relative to the docs folder."""
    files = {
        "assets/data/table.json": to_json(table_rows(model)),
        "assets/data/taxonomy.json": to_json(taxonomy_rows(model)),
        "assets/data/graph.json": to_json(to_graphology(model.graph)),
    }
    for entry_id in model.kb.entries:
        files[f"assets/data/nbhd/{entry_id}.json"] = to_json(neighbourhood_json(model.graph, entry_id))
    return files

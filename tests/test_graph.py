"""kb.graph: what every export and page of the graph relies on."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

# The neighbourhoods of the first entries as graphology JSON, hashed; node order and edge keys included.
_SCRIPT = """
import hashlib, json
from pathlib import Path
from kb.graph import build_graph, neighbourhood, to_graphology
from kb.store import load_kb
kb = load_kb(Path('.'))
graph = build_graph(kb, None, layout=False)
out = [to_graphology(neighbourhood(graph, entry_id)) for entry_id in list(kb.entries)[:60]]
print(hashlib.sha256(json.dumps(out).encode()).hexdigest())
"""


def _digest(seed: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=REPO,
        env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return proc.stdout.strip()


def test_neighbourhoods_are_the_same_whatever_the_hash_seed() -> None:
    first, second = _digest("1"), _digest("2")
    assert len(first) == 64
    assert first == second


def test_a_dataset_is_used_by_each_entry_once_however_many_relations_it_has() -> None:
    """The datasets page ranked TextVQA at 33 works beside "30" in its own table: a work that
    trained and evaluated on it counted twice (audit)."""
    import networkx as nx

    from kb.graph import most_used_datasets

    graph = nx.MultiDiGraph()
    for key, kind in (("a", "model"), ("b", "model"), ("textvqa", "benchmark"), ("coco", "dataset")):
        graph.add_node(key, kind=kind, label=key)
    for u, v, rel in (
        ("a", "textvqa", "trained_on"),
        ("a", "textvqa", "evaluated_on"),
        ("b", "coco", "trained_on"),
        ("a", "coco", "evaluated_on"),
    ):
        graph.add_edge(u, v, type=rel)
    assert [(r.id, r.count) for r in most_used_datasets(graph)] == [("coco", 2), ("textvqa", 1)]

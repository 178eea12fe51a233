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

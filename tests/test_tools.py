"""The benchmarks and evaluations in tools/ still run: each at its smallest, in a fresh process,
prints what it promises (tools/eval_heldout.py has its own test, in test_suggest_model.py).

They measure, so nothing here is timed; what is checked is that a benchmark has not rotted as the
code under it moved (tools/bench_build.py once stopped at mkdocs when the theme gained overrides/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from kb.store import load_kb
from tests.conftest import REPO


def run_tool(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / args[0]), *args[1:]],
        env={**os.environ, "KB_DEVICE": "cpu"},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def table_rows(out: str) -> list[list[str]]:
    """The body rows of the Markdown table a benchmark prints, as cells."""
    rows = [line.strip("|").split("|") for line in out.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row] for row in rows[2:]]


def test_bench_check() -> None:
    rows = table_rows(run_tool("bench_check.py", "--entries", "700", "--runs", "1"))
    assert [row[0] for row in rows] == [f"{len(load_kb(REPO).entries):,}", "700"]  # as the table writes them


def test_bench_cli() -> None:
    rows = table_rows(run_tool("bench_cli.py", "--runs", "1"))
    assert any(row[0] == "kb query --limit 1" for row in rows)


@pytest.mark.slow
def test_bench_build() -> None:
    rows = table_rows(run_tool("bench_build.py", "--sizes", "0"))
    assert len(rows) == 1 and len(rows[0]) == 8  # entries, six stages, total
    assert all(cell.endswith(" s") for cell in rows[0][1:])


@pytest.mark.slow
def test_bench_embed() -> None:
    rows = table_rows(run_tool("bench_embed.py", "--sizes", "50"))
    assert [row[0] for row in rows] == ["real KB", "synthetic"]
    assert rows[1][1] == "50"


@pytest.mark.browser
def test_bench_web() -> None:
    rows = table_rows(run_tool("bench_web.py", "--sizes", "100"))
    assert [row[0] for row in rows] == ["100"]


@pytest.mark.slow
def test_eval_yin_confusion() -> None:
    out = run_tool("eval_yin_confusion.py", "--folds", "3", "--errors")
    head, table = out.split("\n\n")[:2]
    assert re.fullmatch(r"yin: \d+ papers \(title and kind\), \d+ right at top-1 \(\d+\.\d%\)", head)
    assert table.splitlines()[1].startswith("instruction-tuning ")  # a row per leaf, in taxonomy order

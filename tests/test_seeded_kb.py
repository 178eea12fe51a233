"""The seeded knowledge base as committed: valid, and as large as the core issue promises."""

from __future__ import annotations

from kb.store import load_kb
from tests.conftest import REPO, run_kb


def test_kb_check_passes_on_the_committed_kb():
    run = run_kb("check")
    assert run.code == 0, run.out + run.err
    assert run.out == ""
    assert run.err == f"checked {len(load_kb(REPO).entries)} entries: no problems\n"


def test_seeded_kb_meets_the_promised_size():
    kb = load_kb(REPO)
    entries = list(kb.entries.values())
    assert len(entries) >= 600
    assert sum(1 for e in entries if e.kind.is_dataset) >= 120
    assert sum(1 for e in entries if e.arxiv) >= 400
    assert sum(1 for e in entries if e.tags.codev) >= 107

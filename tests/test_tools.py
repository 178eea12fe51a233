"""The benchmarks and evaluations in tools/ still run: each at its smallest, in a fresh process,
prints what it promises (tools/eval_heldout.py has its own test, in test_suggest_model.py).

They measure, so nothing here is timed; what is checked is that a benchmark has not rotted as the
code under it moved (tools/bench_build.py once stopped at mkdocs when the theme gained overrides/).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.store import load_kb
from tests.conftest import REPO, run_kb
from tests.intel_kb import SMALL, make_kb


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
    # Every real entry copied at least once: copies of datasets had kept their names, which kb check
    # refuses twice, and the benchmark failed at its full size only.
    real = len(load_kb(REPO).entries)
    rows = table_rows(run_tool("bench_check.py", "--entries", str(2 * real + 1), "--runs", "1"))
    assert [row[0] for row in rows] == [f"{real:,}", f"{2 * real + 1:,}"]  # as the table writes them


def test_bench_cli() -> None:
    rows = table_rows(run_tool("bench_cli.py", "--runs", "1"))
    assert any(row[0] == "kb query --limit 1" for row in rows)


def test_bench_builds_grown_kb_passes_kb_check(tmp_path: Path) -> None:
    """bench_build's copies had kept the arXiv field in their provenance after dropping the id, and
    the build stopped on kb check at 2,000 entries (its test built the KB as it is only)."""
    sys.path.insert(0, str(REPO / "tools"))
    try:
        from bench_build import make_kb as grow
    finally:
        sys.path.remove(str(REPO / "tools"))
    real = len(load_kb(REPO).entries)
    assert grow(tmp_path, real + 40) == real + 40
    run = run_kb("check", cwd=tmp_path)
    assert (run.code, run.err) == (0, f"checked {real + 40} entries: no problems\n")


@pytest.mark.slow
def test_bench_build() -> None:
    rows = table_rows(run_tool("bench_build.py", "--sizes", "0"))
    assert len(rows) == 1 and len(rows[0]) == 9  # entries, seven stages, total
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


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["bench_check.py", "--runs", "0"], "argument --runs: expected 1 or more, got 0"),
        (
            ["bench_cli.py", "--root", "/nonexistent"],
            "argument --root: no knowledge base at /nonexistent (no mkdocs.yml there)",
        ),
        (["bench_build.py", "--sizes", "5,abc"], "argument --sizes: expected numbers separated by commas, got 'abc'"),
        (["bench_web.py", "--sizes", "-5"], "argument --sizes: expected sizes of 0 or more, got -5"),
        (["bench_embed.py", "--batch-size", "0"], "argument --batch-size: expected 1 or more, got 0"),
        (
            ["search_rank.py", "--site", "/nonexistent"],
            "no site built by kb at /nonexistent; run make site (or kb build) first",
        ),
    ],
    ids=lambda a: a[0] if isinstance(a, list) else "",
)
def test_a_tools_bad_argument_is_one_line_not_a_traceback(args: list[str], said: str) -> None:
    """--runs 0 had ended in statistics' StatisticsError, --sizes abc in int()'s ValueError (tools audit)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / args[0]), *args[1:]], capture_output=True, text=True, timeout=120
    )
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.splitlines()[-1] == f"{args[0]}: error: {said}"


def _apply_tags(root, labels: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = root / "labels.jsonl"
    path.write_text(labels, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "apply_tags.py"), str(path), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _entry_texts(root) -> dict:
    """Every entry file under ``root`` with its text, to tell which ones a run changed."""
    return {p: p.read_text(encoding="utf-8") for p in (root / "entries").rglob("*.yaml")}


@pytest.fixture
def small_kb(tmp_path):
    """A small knowledge base on disk, and the text of its entry files before the test changes them."""
    root = make_kb(tmp_path, SMALL)
    return root, _entry_texts(root)


def test_apply_tags_writes_tags_and_provenance(small_kb) -> None:
    root, before = small_kb
    labels = (
        '{"id": "pope", "codev": ["data4model/usability/eval/understanding"], "yin": ["datasets/benchmark"],'
        ' "note": "object hallucination benchmark"}\n'
        '{"id": "llava", "codev": ["data4model/scaling/up/acquisition", "model4data/synthesis/creator"]}\n'
    )
    proc = _apply_tags(root, labels, "--note", "by the maintainers")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2 entries changed\n"
    kb = load_kb(root)
    assert kb.entries["pope"].tags.codev == ["data4model/usability/eval/understanding"]
    assert kb.entries["pope"].tags.yin == ["datasets/benchmark"]
    assert kb.entries["llava"].tags.codev == ["data4model/scaling/up/acquisition", "model4data/synthesis/creator"]
    assert kb.entries["llava"].tags.yin == []
    [prov] = kb.entries["pope"].provenance
    assert (prov.source, prov.fields) == ("contributor", ["tags.codev", "tags.yin"])
    assert prov.note == "by the maintainers; object hallucination benchmark"
    after = _entry_texts(root)
    assert {p.stem for p in before if after[p] != before[p]} == {"pope", "llava"}


def test_apply_tags_checks_every_line_before_writing_any(small_kb) -> None:
    root, before = small_kb
    labels = (
        '{"id": "pope", "codev": ["data4model/usability/eval/understanding"]}\n'
        '{"id": "nope", "codev": ["data4model/usability/eval/understanding"]}\n'
        "\n"
        '{"id": "llava", "codev": ["data4model/scaling"], "yin": ["instruction-tuning", "instruction-tuning"]}\n'
        '{"id": "pope", "yin": ["datasets/benchmark"]}\n'
        '{"id": "woodpecker", "codev": "model4data/synthesis/mapper"}\n'
        '{"id": "mmbench", "codev": ["data4model/usability/eval/understanding"], "tag": 1}\n'
        '{"id": "llava", "codev": ["model4data/synthesis/creator"]}\n'  # a repeat of a line with problems too
    )
    proc = _apply_tags(root, labels)
    assert proc.returncode == 1
    at = root / "labels.jsonl"
    assert proc.stderr.splitlines() == [
        f"{at}:2: id: no entry 'nope' in {root / 'entries'}",
        f"{at}:4: codev: 'data4model/scaling' is a section of codev, not a leaf; tag one of its leaves: "
        + ", ".join(n.id for n in load_kb(root).taxonomies["codev"].subtree("data4model/scaling") if n.is_leaf),
        f"{at}:4: yin: a leaf is listed twice; keep one",
        f"{at}:5: id: 'pope' is line 1's too; give an entry's tags on one line",
        f"{at}:6: codev: expected a non-empty list of leaf ids",
        f"{at}:7: tag: unknown field; expected builds_on, codev, evaluated_on, id, introduces, note, trained_on, yin",
        f"{at}:8: id: 'llava' is line 4's too; give an entry's tags on one line",
        "7 problem(s); nothing written",
    ]
    assert _entry_texts(root) == before


def test_apply_tags_writes_relations_and_their_provenance(small_kb) -> None:
    root, before = small_kb
    labels = (
        '{"id": "llava", "evaluated_on": ["pope", "mmbench"], "note": "Table 4"}\n'
        '{"id": "woodpecker", "builds_on": ["llava"]}\n'
    )
    proc = _apply_tags(root, labels, "--note", "from the papers")
    assert (proc.returncode, proc.stdout) == (0, "2 entries changed\n"), proc.stderr
    kb = load_kb(root)
    assert kb.entries["llava"].relations.evaluated_on == ["pope", "mmbench"]
    assert kb.entries["woodpecker"].relations.builds_on == ["llava"]
    [prov] = kb.entries["llava"].provenance
    assert (prov.source, prov.fields, prov.note) == (
        "contributor",
        ["relations.evaluated_on"],
        "from the papers; Table 4",
    )
    after = _entry_texts(root)
    assert {p.stem for p in before if after[p] != before[p]} == {"llava", "woodpecker"}
    # Relations an entry has are changed only with --replace; the same again then changes nothing.
    assert _apply_tags(root, labels, "--note", "from the papers", "--replace").stdout == "0 entries changed\n"
    proc = _apply_tags(root, '{"id": "llava", "evaluated_on": ["pope"]}\n')
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0].endswith(
        "evaluated_on: llava already has evaluated_on relations; --replace to change them"
    )
    assert _apply_tags(root, '{"id": "llava", "evaluated_on": ["pope"]}\n', "--replace").returncode == 0
    assert load_kb(root).entries["llava"].relations.evaluated_on == ["pope"]


def test_apply_tags_refuses_relations_kb_check_would_refuse(small_kb) -> None:
    """Targets that are no entry, of the wrong kind, the entry itself or twice: said before any write."""
    root, before = small_kb
    labels = (
        '{"id": "llava", "trained_on": ["popе", "video-chat"]}\n'  # a Cyrillic e; a model is no dataset
        '{"id": "woodpecker", "builds_on": ["woodpecker", "pope"], "evaluated_on": ["pope", "pope"]}\n'
        '{"id": "pope", "introduces": ["mmbench"]}\n'
        '{"id": "mmbench", "evaluated_on": "pope"}\n'
    )
    proc = _apply_tags(root, labels)
    assert proc.returncode == 1
    at = root / "labels.jsonl"
    assert proc.stderr.splitlines() == [
        f"{at}:1: relations.trained_on[0]: no entry with id 'popе'; did you mean 'pope'?",
        f"{at}:1: relations.trained_on[1]: 'video-chat' is a model; trained_on expects a dataset or benchmark",
        f"{at}:2: relations.evaluated_on[1]: 'pope' is listed twice; keep one",
        f"{at}:2: relations.builds_on[0]: an entry cannot point at itself",
        f"{at}:2: relations.builds_on[1]: 'pope' is a benchmark; builds_on expects a work (model, method, analysis, "
        "survey)",
        f"{at}:3: relations.introduces: only works use introduces; a benchmark does not",
        f"{at}:4: evaluated_on: expected a non-empty list of entry ids",
        "7 problem(s); nothing written",
    ]
    assert _entry_texts(root) == before


def test_apply_tags_writes_the_file_it_read_and_counts_only_what_changed(small_kb) -> None:
    """A file named unlike its id had got a second file beside it (entry_path's); a second run of
    the same labels said "2 entries changed" of files it left byte for byte (tools audit)."""
    root, _ = small_kb
    (root / "entries" / "datasets" / "pope.yaml").rename(root / "entries" / "datasets" / "pope-bench.yaml")
    labels = '{"id": "pope", "codev": ["data4model/usability/eval/understanding"]}\n'
    proc = _apply_tags(root, labels, "--replace")
    assert (proc.returncode, proc.stdout) == (0, "1 entries changed\n"), proc.stderr
    assert not (root / "entries" / "datasets" / "pope.yaml").exists()
    assert "data4model/usability/eval/understanding" in (root / "entries" / "datasets" / "pope-bench.yaml").read_text()
    before = _entry_texts(root)
    proc = _apply_tags(root, labels, "--replace")
    assert (proc.returncode, proc.stdout) == (0, "0 entries changed\n"), proc.stderr
    assert _entry_texts(root) == before
    proc = _apply_tags(root, labels, "--root", str(root / "nowhere"))
    assert (proc.returncode, proc.stderr) == (
        1,
        f"error: no knowledge base at {root / 'nowhere'} (no mkdocs.yml there); give --root\n",
    )


def test_apply_tags_keeps_curated_tags_unless_asked(tmp_path) -> None:
    entries = [{**SMALL[0], "tags": {"codev": ["model4data/synthesis/creator"]}}]
    root = make_kb(tmp_path, entries)
    labels = '{"id": "llava", "codev": ["data4model/scaling/up/acquisition"]}\n'
    proc = _apply_tags(root, labels)
    assert proc.returncode == 1
    assert "llava already has curated codev tags; --replace to change them" in proc.stderr
    assert load_kb(root).entries["llava"].tags.codev == ["model4data/synthesis/creator"]
    assert _apply_tags(root, labels, "--replace").returncode == 0
    assert load_kb(root).entries["llava"].tags.codev == ["data4model/scaling/up/acquisition"]


def test_apply_tags_replace_takes_the_old_tags_out_of_their_provenance(tmp_path) -> None:
    provenance = [
        {"source": "seed-codev", "fields": ["title", "tags.codev"]},
        {"source": "seed-yin", "fields": ["tags.codev"], "note": "only the tags"},
    ]
    root = make_kb(
        tmp_path, [{**SMALL[0], "tags": {"codev": ["model4data/synthesis/creator"]}, "provenance": provenance}]
    )
    proc = _apply_tags(root, '{"id": "llava", "codev": ["data4model/scaling/up/acquisition"]}\n', "--replace")
    assert proc.returncode == 0, proc.stderr
    assert [(p.source, p.fields) for p in load_kb(root).entries["llava"].provenance] == [
        ("seed-codev", ["title"]),
        ("contributor", ["tags.codev"]),
    ]


def test_apply_tags_names_a_note_that_is_not_text(small_kb) -> None:
    root, before = small_kb
    proc = _apply_tags(root, '{"id": "pope", "codev": ["data4model/usability/eval/understanding"], "note": 5}\n')
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == f"{root / 'labels.jsonl'}:1: note: expected a string"
    assert _entry_texts(root) == before


@pytest.mark.parametrize(
    ("note", "said"),
    [
        ("esc\u001b[31m", "character U+001B (a control character or noncharacter) is not allowed; remove it"),
        ("two\nlines", "holds a line break (U+000A) in 'two\\nlines'; write it on one line"),
        ("rtl \u202e", "character U+202E (a bidirectional control"),
    ],
)
def test_apply_tags_refuses_a_note_kb_check_would_refuse(small_kb, note: str, said: str) -> None:
    root, before = small_kb
    line = json.dumps({"id": "pope", "codev": ["data4model/usability/eval/understanding"], "note": note})
    proc = _apply_tags(root, line + "\n")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0].startswith(f"{root / 'labels.jsonl'}:1: note: {said}")
    assert _entry_texts(root) == before

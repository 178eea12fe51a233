"""Integration: tag suggestions with the real offline model on the real knowledge base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kb.classify.evaluate import evaluate
from kb.config import Config, load_config
from kb.store import load_kb
from tests.conftest import REPO, run_kb

pytestmark = pytest.mark.slow

SAFETY = {
    "data4model/usability/ethic/toxicity",
    "data4model/usability/ethic/privacy-ip",
}


def config() -> Config:
    return load_config(REPO, {"device": "cpu"})


def test_titles_through_the_jsonl_interface_get_fitting_tags(tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    papers.write_text(
        json.dumps({"id": "p1", "title": "Jailbreaking Multimodal Large Language Models with Adversarial Images"})
        + "\n"
        + json.dumps({"id": "p2", "title": "Mitigating Object Hallucination in Large Vision-Language Models"})
        + '\n{"id": 1E2, "title": "A Survey on Multimodal Large Language Models"}\n',
        encoding="utf-8",
    )
    codev = run_kb("suggest", "--taxonomy", "codev", "--input", str(papers), "--json", env={"KB_DEVICE": "cpu"})
    assert codev.code == 0, codev.err
    lines = [json.loads(line) for line in codev.out.splitlines()]
    assert [line["id"] for line in lines] == ["p1", "p2", 100.0]
    assert codev.out.splitlines()[2].startswith('{"id": 1E2, "suggestions": [{"tag": ')  # as written
    assert {s["tag"] for s in lines[0]["suggestions"][:3]} & SAFETY
    assert len(lines[0]["suggestions"]) == len(load_kb(REPO).taxonomies["codev"].leaves())
    # --json is short for --format json, and tools read its lines: the same bytes either way
    formatted = run_kb(
        "suggest", "--taxonomy", "codev", "--input", str(papers), "--format", "json", env={"KB_DEVICE": "cpu"}
    )
    assert (formatted.code, formatted.out) == (0, codev.out)

    yin = run_kb("suggest", "--taxonomy", "yin", "--input", str(papers), "--json", env={"KB_DEVICE": "cpu"})
    assert json.loads(yin.out.splitlines()[1])["suggestions"][0]["tag"] == "hallucination"


def test_the_kind_of_a_text_decides_between_a_topic_and_a_dataset_section(tmp_path: Path) -> None:
    # One title, two entries in the list: the model under a topic, the data it released under
    # a dataset section. A line without a kind is a paper's work.
    title = "Visual Instruction Tuning with Multi-Turn Conversations about Images"
    papers = tmp_path / "papers.jsonl"
    lines = [{"id": "work", "title": title}, {"id": "data", "title": title, "kind": "dataset"}]
    papers.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    yin = run_kb("suggest", "--taxonomy", "yin", "--input", str(papers), "--json", env={"KB_DEVICE": "cpu"})
    assert yin.code == 0, yin.err
    work, data = (json.loads(line)["suggestions"][0]["tag"] for line in yin.out.splitlines())
    assert work == "instruction-tuning" and data == "datasets/instruction-tuning"
    text = run_kb(
        "suggest", "--taxonomy", "yin", "--title", title, "--kind", "dataset", "--json", env={"KB_DEVICE": "cpu"}
    )
    assert json.loads(text.out)["yin"][0]["tag"] == "datasets/instruction-tuning"


def test_cross_validated_suggestions_beat_nearest_neighbours() -> None:
    report = evaluate(load_kb(REPO), config())
    for result in report.results:
        leaf = result.levels[0].methods
        assert leaf["kb suggest"].top1 > leaf["nearest neighbours"].top1 + 0.05, result.taxonomy
        assert leaf["kb suggest"].top3 > leaf["nearest neighbours"].top3, result.taxonomy
        assert leaf["kb suggest"].top1 > leaf["majority class"].top1, result.taxonomy


def test_the_held_out_survey_papers_are_placed_better_than_by_nearest_neighbours() -> None:
    # tools/eval_heldout.py: the lists' papers that the seed lacks, their KB entries removed.
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "eval_heldout.py"), "--json"],
        env={**os.environ, "KB_DEVICE": "cpu"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert {t: r["papers"] for t, r in results.items()} == {"codev": 60, "yin": 97}
    for taxonomy, result in results.items():
        assert result["entries removed"] > 0, taxonomy
        ours, neighbours = result["kb suggest"], result["nearest neighbours"]
        assert ours["top-1"] > neighbours["top-1"] and ours["top-3"] > neighbours["top-3"], taxonomy
        for measure in ("top-1", "top-3"):  # a share of a few dozen papers comes with its 95% interval
            low, high = result["interval"][measure]
            assert 0 < low < ours[measure] < high <= 1, (taxonomy, measure)
        # Every (paper, leaf) score falls in one calibration band; each paper is right under some leaf.
        bands = result["calibration"]
        assert sum(b["leaves"] for b in bands) == result["papers"] * {"codev": 26, "yin": 16}[taxonomy]
        right = sum(round(b["leaves"] * b["right"]) for b in bands if b["leaves"])  # shares have 4 decimals
        assert right >= result["papers"], taxonomy


def test_a_title_in_text_says_what_it_was_asked_as() -> None:
    title = "MMBench: Is Your Multi-modal Model an All-around Player?"
    work = run_kb("suggest", "--taxonomy", "yin", "--title", title, "--top", "2", env={"KB_DEVICE": "cpu"})
    assert work.code == 0, work.err
    lines = work.out.splitlines()
    assert lines[:3] == [title, "(as a paper's work; --kind dataset or benchmark asks for a dataset)", "yin"]
    assert not lines[3].split()[1].startswith("datasets/")
    bench = run_kb("suggest", "--taxonomy", "yin", "--title", title, "--kind", "benchmark", env={"KB_DEVICE": "cpu"})
    assert bench.code == 0, bench.err
    assert bench.out.splitlines()[1] == "(as a benchmark)"
    assert bench.out.splitlines()[3].split()[1] == "datasets/benchmark"
    long = " ".join([title] * 40)  # a title with its abstract pasted in, say: not echoed whole
    echoed = run_kb("suggest", "--taxonomy", "yin", "--title", long, "--top", "1", env={"KB_DEVICE": "cpu"})
    assert echoed.code == 0, echoed.err
    first = echoed.out.splitlines()[0]
    assert len(first) <= 300 and first.startswith(title) and first.endswith("…")
    unbroken = run_kb("suggest", "--taxonomy", "yin", "--title", "x" * 301, "--top", "1", env={"KB_DEVICE": "cpu"})
    assert unbroken.out.splitlines()[0] == "x" * 299 + "…"  # cut by columns, not at a space it lacks


@pytest.mark.parametrize(("kind", "first"), [("benchmark", "datasets/benchmark"), ("analysis", "evaluation")])
def test_kb_new_suggests_tags_for_the_kind_it_gives_the_entry(kind: str, first: str) -> None:
    # One title, two kinds: the comment block of the draft ranks yin's leaves for the entry's kind.
    title = "SpatialBench: Evaluating Spatial Reasoning of Multimodal Models"
    run = run_kb("new", "--title", title, "--kind", kind, "--dry-run", env={"KB_DEVICE": "cpu"})
    assert run.code == 0, run.err
    block = run.out.split("#   yin:\n", 1)[1]
    assert block.startswith(f"#   - {first}  # suggested "), block


def _on_a_terminal(args: list[str]) -> tuple[str, str]:
    """Run kb with stderr on a pseudo-terminal (100 columns) and stdout on a pipe: (stdout, stderr)."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {**os.environ, "KB_DEVICE": "cpu"}
    args = [sys.executable, "-m", "kb", *args]
    with subprocess.Popen(
        args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal
    ) as proc:
        os.close(terminal)
        shown = b""
        while True:  # read the terminal as it goes, so a full one never stalls kb
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: kb has exited and everything it wrote was read
                break
            if not chunk:
                break
            shown += chunk
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = proc.wait(timeout=300)
    os.close(main_fd)
    assert code == 0, shown.decode(errors="replace")
    return out, shown.decode(errors="replace")


def test_a_file_of_papers_shows_its_encoding_progress_on_a_terminal_only(tmp_path: Path) -> None:
    papers = tmp_path / "papers.jsonl"
    titles = [f"Visual instruction tuning for {topic}" for topic in ("charts", "maps", "music", "surgery")]
    papers.write_text("".join(json.dumps({"id": str(i), "title": t}) + "\n" for i, t in enumerate(titles)))
    out, shown = _on_a_terminal(["suggest", "--taxonomy", "yin", "--input", str(papers), "--json"])
    assert "100%" in shown  # the bar on the terminal ...
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["0", "1", "2", "3"]  # ... none in the output
    piped = run_kb("suggest", "--taxonomy", "yin", "--input", str(papers), "--json", env={"KB_DEVICE": "cpu"})
    assert piped.code == 0 and "%" not in piped.err, piped.err


def test_kb_eval_counts_its_folds_on_a_terminal_only() -> None:
    out, shown = _on_a_terminal(["eval", "--taxonomy", "yin", "--folds", "3"])
    assert "kb eval: 100%" in shown and "3/3" in shown, shown  # the bar on the terminal ...
    assert out.startswith("Cross-validated tag suggestions (3 folds")  # ... none in the report
    assert "fold" not in out.split("yin:", 1)[1]

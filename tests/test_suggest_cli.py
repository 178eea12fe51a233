"""kb suggest and kb eval through the real CLI, on a small KB whose cache was filled by a stand-in
embedder under the real model's name: everything that only compares vectors runs without the model."""

from __future__ import annotations

import codecs
import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from kb.classify import WORK, Suggester
from kb.classify.evaluate import evaluate
from kb.config import Config
from kb.embed import model_identity
from kb.errors import UsageError
from kb.store import load_kb
from tests.conftest import run_kb
from tests.intel_kb import SMALL, HashingEmbedder
from tests.test_classify import ACQ, LABELLED, TOX, labelled_kb

NO_MODEL = {"KB_DEVICE": "cpu"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A labelled KB with entries, nodes, keywords and titles already in the cache."""
    return cached(labelled_kb(tmp_path_factory.mktemp("kb")))


def cached(root: Path) -> Path:
    """The KB at ``root`` with entries, nodes, keywords and titles in the cache, encoded by a
    stand-in under the real model's name, so that the CLI never loads the model."""
    kb = load_kb(root)
    stand_in = HashingEmbedder(model_identity(Config()))
    evaluate(kb, Config(), folds=3, suggester=Suggester.build(kb, Config(), embedder=stand_in))
    return root


def jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_suggest_for_an_entry_uses_cached_vectors_only(root: Path) -> None:
    run = run_kb("suggest", "new-jail", cwd=root, env=NO_MODEL)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "new-jail: Jailbreaking vision-language models through images"
    assert lines[1] == "codev" and lines[2].endswith(f" {TOX}  (Data Toxicity)")
    assert "yin" in lines and "kb: embedding " not in run.err


def test_suggest_entry_json_ranks_every_leaf_and_says_nothing_of_its_own_tags(root: Path) -> None:
    run = run_kb("suggest", "jail-a", "--taxonomy", "codev", "--json", cwd=root, env=NO_MODEL)
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert set(data) == {"id", "codev"} and data["id"] == "jail-a"
    assert len(data["codev"]) == len(load_kb(root).taxonomies["codev"].leaves())
    text = run_kb("suggest", "jail-a", "--taxonomy", "codev", cwd=root, env=NO_MODEL)
    assert f"codev (curated: {TOX}; learned without them)" in text.out


def test_suggest_marks_the_codev_leaves_at_or_above_the_configured_threshold(root: Path) -> None:
    def marked(threshold: str) -> tuple[list[bool], list[float], str]:
        env = NO_MODEL | {"KB_SUGGEST_THRESHOLD": threshold}
        run = run_kb("suggest", "new-jail", "--taxonomy", "codev", "--top", "26", cwd=root, env=env)
        assert run.code == 0, run.err
        rows = [line.split()[0] for line in run.out.splitlines()[2:-1]]
        return [row.endswith("*") for row in rows], [float(row.rstrip("*")) for row in rows], run.out.splitlines()[-1]

    stars, scores, footer = marked("0.05")
    assert footer == "* suggested (codev score >= 0.05; suggest_threshold in kb.yaml)"
    assert stars == [score >= 0.05 for score in scores] and any(stars) and not all(stars)
    stars, _, footer = marked("1")
    assert not any(stars) and "score >= 1;" in footer


@pytest.mark.parametrize(
    ("score", "shown"), [(0.2955, "0.29"), (0.3, "0.30"), (0.29, "0.29"), (0.999, "0.99"), (1.0, "1.00")]
)
def test_a_score_is_shown_cut_to_two_places_so_none_below_the_threshold_shows_at_it(score: float, shown: str) -> None:
    from kb.output.text import score_text

    assert score_text(score) == shown


def invoke_with_stand_in(monkeypatch: pytest.MonkeyPatch, root: Path, *args: str) -> tuple[int, str, str]:
    """kb ARGS in this process, every text (a --title, an --input line) encoded by the stand-in
    embedder under the real model's name: no model is loaded."""
    from click.testing import CliRunner

    from kb.cli import main

    stand_in = HashingEmbedder(model_identity(Config()))
    monkeypatch.setattr("kb.classify.embedder_for", lambda config: stand_in)
    result = CliRunner().invoke(main, ["--root", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def test_zero_shot_fallback_is_said_and_its_scores_are_not_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With too few curated labels to learn from, the scores are the zero-shot fallback's shares of
    one: they had been marked * against suggest_threshold as if each leaf's own probability (audit)."""
    from tests.intel_kb import make_kb

    empty = make_kb(tmp_path / "empty", [])
    code, out, err = invoke_with_stand_in(
        monkeypatch, empty, "suggest", "--taxonomy", "codev", "--title", "Hallucination"
    )
    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert lines[2] == (
        "codev (zero-shot: too few curated labels to learn from; scores are shares of one, none marked)"
    )
    assert len(lines) == 8 and not any("*" in line for line in lines)  # five rows, no footer
    # JSON keeps its shape; the note goes to stderr.
    code, out, err = invoke_with_stand_in(
        monkeypatch, empty, "suggest", "--taxonomy", "codev", "--title", "Hallucination", "--json"
    )
    assert code == 0 and set(json.loads(out)) == {"title", "codev"}
    note = (
        "kb: note: codev has too few curated labels to learn from; its scores are zero-shot, shares of one "
        "across the leaves, not each leaf's own probability\n"
    )
    assert err == note
    path = jsonl(tmp_path / "papers.jsonl", '{"id": 1, "title": "Hallucination"}', '{"id": 2, "title": "Video"}')
    code, out, err = invoke_with_stand_in(monkeypatch, empty, "suggest", "--taxonomy", "codev", "--input", str(path))
    assert (code, err) == (0, note) and [json.loads(line)["id"] for line in out.splitlines()] == [1, 2]
    # kb suggest --all writes them into suggestions.json, which pages show as if learned: said there too.
    code, out, err = invoke_with_stand_in(monkeypatch, make_kb(tmp_path / "one", [SMALL[0]]), "suggest", "--all")
    assert code == 0 and note in err and note.replace("codev", "yin") in err, err
    # yin's scores are shares of one anyway; that they are zero-shot is still said.
    code, out, err = invoke_with_stand_in(monkeypatch, empty, "suggest", "--taxonomy", "yin", "--title", "Video")
    assert out.splitlines()[2] == "yin (zero-shot: too few curated labels to learn from; scores are shares of one)"

    # Two labelled leaves are enough to learn from: no note, and the marks are back.
    two = make_kb(
        tmp_path / "two",
        [
            {"id": "jail", "title": "Jailbreak attacks with images", "kind": "method", "tags": {"codev": [TOX]}},
            {"id": "corpus", "title": "A web-scale image-text corpus", "kind": "dataset", "tags": {"codev": [ACQ]}},
        ],
    )
    code, out, err = invoke_with_stand_in(monkeypatch, two, "suggest", "--taxonomy", "codev", "--title", "Jailbreak")
    assert (code, err) == (0, "") and out.splitlines()[2] == "codev"
    assert out.splitlines()[-1].startswith("* suggested (codev score >= ")
    # ... but an entry is suggested for without its own labels, which leaves one leaf: zero-shot.
    code, out, err = invoke_with_stand_in(monkeypatch, two, "suggest", "jail", "--taxonomy", "codev")
    assert out.splitlines()[1] == (
        f"codev (curated: {TOX}; zero-shot without them: too few other curated labels to learn from; "
        "scores are shares of one, none marked)"
    )
    code, out, err = invoke_with_stand_in(monkeypatch, two, "suggest", "jail", "--taxonomy", "codev", "--json")
    assert err == (
        "kb: note: codev has too few curated labels besides jail's own to learn from; its scores are zero-shot, "
        "shares of one across the leaves, not each leaf's own probability\n"
    )


def test_too_little_data_for_kb_eval_or_kb_cluster_is_exit_1_with_what_would_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too few entries or labels is a condition of the data, not a wrong invocation: exit 1, not 2
    (audit), and kb eval says what could work: fewer folds, or the other taxonomy."""
    from tests.intel_kb import make_kb

    empty = make_kb(tmp_path / "empty", [])
    assert invoke_with_stand_in(monkeypatch, empty, "cluster") == (
        1,
        "",
        "kb: clustering needs at least two entries, and the knowledge base holds 0; add entries with kb new\n",
    )
    assert invoke_with_stand_in(monkeypatch, empty, "eval") == (
        1,
        "",
        "kb: kb eval needs at least 10 entries with curated codev tags (one per fold), found 0; curate codev "
        "tags on two entries at least (kb eval --folds 2 needs two)\n",
    )
    # 3 codev labels, 12 yin labels.
    entries: list[dict[str, object]] = [
        {"id": f"e{i}", "title": f"Paper number {i}", "kind": "method", "tags": {"yin": ["rlhf"]}} for i in range(12)
    ]
    for entry in entries[:3]:
        entry["tags"] = {"yin": ["rlhf"], "codev": [TOX]}
    some = make_kb(tmp_path / "some", entries)
    few = "kb: kb eval needs at least 10 entries with curated codev tags (one per fold), found 3"
    for args in (["eval"], ["eval", "--taxonomy", "codev"]):
        assert invoke_with_stand_in(monkeypatch, some, *args) == (
            1,
            "",
            f"{few}; give --folds 3, or --taxonomy yin (12 labelled entries)\n",
        )
    code, _, err = invoke_with_stand_in(monkeypatch, some, "eval", "--taxonomy", "yin", "--folds", "13")
    assert (code, err) == (
        1,
        "kb: kb eval needs at least 13 entries with curated yin tags (one per fold), found 12; give --folds 12\n",
    )
    one = make_kb(tmp_path / "one", [{"id": "a", "title": "A title", "kind": "method", "tags": {"codev": [TOX]}}])
    one = make_kb(one, entries[3:])  # and 9 yin labels
    assert invoke_with_stand_in(monkeypatch, one, "eval", "--taxonomy", "codev")[2] == (
        "kb: kb eval needs at least 10 entries with curated codev tags (one per fold), found 1; give --taxonomy yin "
        "--folds 9 (9 labelled entries)\n"
    )


def test_kb_eval_after_a_date_scores_the_newer_entries_from_the_older_alone(tmp_path: Path) -> None:
    from tests.test_classify import dated_kb

    root = dated_kb(tmp_path / "kb")
    cached(root)
    run = run_kb("eval", "--after", "2025-01-01", "--json", cwd=root, env=NO_MODEL)
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert (report["folds"], report["after"]) == (1, "2025-01-01")
    assert [(r["taxonomy"], r["entries"], r["learned_from"]) for r in report["results"]] == [
        ("codev", 4, 8),  # the four "-c" entries are newer; each taxonomy's other labelled entries are older
        ("yin", 4, 12),
    ]
    text = run_kb("eval", "--after", "2025-01-01", "--taxonomy", "yin", cwd=root, env=NO_MODEL)
    assert text.out.startswith("Tag suggestions for the entries first released on 2025-01-01 or later")
    assert "yin: 4 labelled entries, learned from 12 older," in text.out

    def refused(*args: str) -> tuple[int, str]:
        got = run_kb("eval", *args, cwd=root, env=NO_MODEL)
        return got.code, got.err.strip()

    # Too few entries on a side is the data's shortcoming (exit 1, as kb eval --folds says), with the
    # days that would work; it had been a usage error (exit 2) that said only "earlier" or "later".
    assert refused("--after", "2026-01-01") == (
        1,
        "kb: no entry with curated codev tags is dated 2026-01-01 or later; give --after from 2023-01-02 to 2025-03-01",
    )
    assert refused("--after", "2000-01-01") == (
        1,
        "kb: kb eval --after 2000-01-01 leaves 0 entries with curated codev tags to learn from (older or undated); "
        "it needs at least 2; give --after from 2023-01-02 to 2025-03-01",
    )
    assert refused("--after", "2025-01-01", "--folds", "3") == (
        2,
        "kb: --folds and --after are two ways to split the entries; give one",
    )
    code, err = refused("--after", "2025-13-01")
    assert code == 2 and "'--after': 2025-13-01 is not a real date (month must be in 1..12)" in err
    code, err = refused("--after", "2024-02-30")  # the right format, but no such day
    assert code == 2 and "'--after': 2024-02-30 is not a real date (day is out of range for month)" in err
    from kb.cli.intel import _day  # a year or a month is its first day, as --since takes them

    assert [_day(None, None, v) for v in ("2024", "2024-07", "2024-07-15")] == [  # type: ignore[arg-type]
        "2024-01-01",
        "2024-07-01",
        "2024-07-15",
    ]
    code, err = refused("--after", "2024-7")
    assert code == 2 and "'--after': expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got '2024-7'" in err


def test_an_entrys_title_is_one_safe_line_in_kb_suggest_and_kb_eval(tmp_path: Path) -> None:
    """A title may hold a bidirectional mark (YAML lets a quoted string write one; kb check refuses
    line breaks, tabs and overrides, not these); on a terminal it would reorder the text. (A tab,
    before kb check refused it, would have broken the columns: the miss line below still shows one
    as a space.)"""
    from tests.intel_kb import write_entry

    root = labelled_kb(tmp_path / "kb")
    title = "Jailbreak attacks \u200fseman\u200e on images"  # right-to-left and left-to-right marks
    write_entry(root, {"id": "hostile", "title": title, "kind": "method", "tags": {"codev": [TOX]}})
    cached(root)
    shown = run_kb("suggest", "hostile", "--taxonomy", "codev", cwd=root, env=NO_MODEL)
    assert shown.code == 0, shown.err
    assert shown.out.splitlines()[0] == "hostile: Jailbreak attacks \ufffdseman\ufffd on images"
    from kb.classify.evaluate import Miss
    from kb.classify.report import render_misses

    line = render_misses([Miss("hostile", title.replace(" on ", " on\t"), "rlhf", 0.5, [TOX])])[1]
    assert line.endswith("hostile: Jailbreak attacks \ufffdseman\ufffd on images")


def test_suggest_why_shows_the_words_and_the_closest_curated_entries_never_the_entry_itself(root: Path) -> None:
    run = run_kb("suggest", "jail-a", "--taxonomy", "codev", "--why", "--json", cwd=root, env=NO_MODEL)
    assert run.code == 0, run.err
    ranked = json.loads(run.out)["codev"]
    assert all(set(s) == {"tag", "score", "why"} for s in ranked)
    why = next(s["why"] for s in ranked if s["tag"] == TOX)
    assert why["words"] == ["jailbreak", "attacks"]  # words of jail-a's title that are Data Toxicity's keywords
    like = [x["id"] for x in why["like"]]
    assert set(like) == {"jail-b", "jail-c"} and "jail-a" not in like  # learned without its own label
    text = run_kb("suggest", "new-jail", "--taxonomy", "codev", "--why", "--top", "1", cwd=root, env=NO_MODEL)
    lines = text.out.splitlines()
    assert lines[2].endswith(f" {TOX}  (Data Toxicity)")
    assert lines[3].strip().startswith("words: jailbreaking; like: jail-")


def test_suggest_takes_format_as_the_other_commands_do_and_json_is_short_for_it(root: Path) -> None:
    """--format json prints what --json did, byte for byte (tools read it); --format text is the default."""
    for args in (["jail-a", "--taxonomy", "codev"], ["new-jail", "--why"]):
        short = run_kb("suggest", *args, "--json", cwd=root, env=NO_MODEL)
        assert short.code == 0, short.err
        assert short.out.count("\n") == 1 and json.loads(short.out)
        assert run_kb("suggest", *args, "--format", "json", cwd=root, env=NO_MODEL).out == short.out
        assert run_kb("suggest", *args, "--format", "json", "--json", cwd=root, env=NO_MODEL).out == short.out
        text = run_kb("suggest", *args, cwd=root, env=NO_MODEL)
        assert run_kb("suggest", *args, "--format", "text", cwd=root, env=NO_MODEL).out == text.out != short.out


def test_kb_cluster_takes_format_text_json_or_yaml(root: Path) -> None:
    import yaml

    short = run_kb("cluster", "--levels", "2,3", "--json", cwd=root, env=NO_MODEL)
    assert short.code == 0, short.err
    assert json.loads(short.out)["levels"] == [2, 3]
    assert run_kb("cluster", "--levels", "2,3", "--format", "json", cwd=root, env=NO_MODEL).out == short.out
    as_yaml = run_kb("cluster", "--levels", "2,3", "--format", "yaml", cwd=root, env=NO_MODEL)
    assert as_yaml.code == 0 and yaml.safe_load(as_yaml.out) == json.loads(short.out)
    text = run_kb("cluster", "--levels", "2,3", "--format", "text", cwd=root, env=NO_MODEL)
    assert text.out == run_kb("cluster", "--levels", "2,3", cwd=root, env=NO_MODEL).out
    assert text.out.startswith("== 2 clusters ==\n")
    refused = run_kb("cluster", "--levels", "2,3", "--json", "--format", "yaml", cwd=root, env=NO_MODEL)
    assert (refused.code, refused.out, refused.err) == (
        2,
        "",
        "kb: --json and --format yaml disagree; give one of them\n",
    )


def test_suggest_on_cached_vectors_never_imports_torch(root: Path) -> None:
    code = (
        "import sys\n"
        "from kb.cli import main\n"
        "try:\n"
        "    main(['--root', sys.argv[1], 'suggest', 'new-corpus', '--json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers'))\n"
        "print('HEAVY', heavy)\n"
    )
    import subprocess
    import sys

    from tests.conftest import REPO

    proc = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY []"


def test_suggest_all_writes_suggestions_json_and_kb_check_accepts_it(root: Path) -> None:
    first = run_kb("suggest", "--all", cwd=root, env=NO_MODEL)
    assert (first.code, first.err) == (0, "entries/suggestions.json updated\n")
    again = run_kb("suggest", "--all", cwd=root, env=NO_MODEL)
    assert (again.code, again.err) == (0, "entries/suggestions.json unchanged\n")
    check = run_kb("check", cwd=root)
    assert check.code == 0, check.out + check.err


def test_suggest_all_writes_over_a_suggestions_file_that_is_not_utf8(tmp_path: Path) -> None:
    """kb check says to run kb suggest on such a file, and kb suggest --all had crashed reading it
    (a UnicodeDecodeError traceback; writes audit); a killed write's old temp file goes with it."""
    import os
    import shutil

    work = tmp_path / "kb"
    shutil.copytree(labelled_kb(tmp_path / "made"), work)
    cached(work)
    path = work / "entries" / "suggestions.json"
    path.write_bytes(b"\xff{}\n")
    stale = work / "entries" / ".suggestions.json.killed.tmp"
    stale.write_text("half", encoding="utf-8")
    os.utime(stale, (0, 0))
    run = run_kb("suggest", "--all", cwd=work, env=NO_MODEL)
    assert (run.code, run.err) == (0, "entries/suggestions.json updated\n")
    assert json.loads(path.read_text(encoding="utf-8"))["entries"]
    assert not stale.exists()
    assert run_kb("check", cwd=work).code == 0


def test_a_failed_write_names_the_file_and_keeps_the_old_text(tmp_path: Path) -> None:
    """A full disk had read "cannot write the output: No space left on device", as if stdout
    had failed (writes audit); /dev/full fails every write as a full disk does."""
    from kb.store import write_text_atomic

    target = tmp_path / "kept.txt"
    target.write_text("old\n", encoding="utf-8")
    real = tmp_path.resolve() / "kept.txt"
    with pytest.MonkeyPatch.context() as patch:
        import os as os_module

        original = os_module.fdopen

        def full(fd: int, *args: object, **kwargs: object):  # noqa: ANN202 - os.fdopen's own
            os_module.dup2(os_module.open("/dev/full", os_module.O_WRONLY), fd)
            return original(fd, *args, **kwargs)

        patch.setattr(os_module, "fdopen", full)
        with pytest.raises(OSError) as caught:
            write_text_atomic(target, "new text\n" * 10_000)
    assert caught.value.filename == str(real) and caught.value.strerror == "No space left on device"
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_kb_eval_is_deterministic_and_reports_baselines(root: Path) -> None:
    first = run_kb("eval", "--folds", "3", "--json", cwd=root, env=NO_MODEL)
    assert first.code == 0, first.err
    report = json.loads(first.out)
    assert report["folds"] == 3 and report["query"] == "title"
    codev = report["results"][0]
    assert codev["taxonomy"] == "codev" and codev["entries"] == 12
    assert [level["level"] for level in codev["levels"]] == ["leaf", "top", "depth 1", "depth 2"]
    assert set(codev["levels"][0]["methods"]) == {"kb suggest", "nearest neighbours", "majority class"}
    assert set(codev["threshold"]) == {"threshold", "precision", "recall", "f1", "suggested_per_entry"}
    sweep = codev["thresholds"]
    assert [row["threshold"] for row in sweep] == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert codev["threshold"] == sweep[1]  # suggest_threshold is 0.3 unless set
    for looser, stricter in itertools.pairwise(sweep):  # a higher threshold suggests a subset
        assert stricter["suggested_per_entry"] <= looser["suggested_per_entry"]
        assert stricter["recall"] <= looser["recall"]
    assert report["results"][1]["thresholds"] == []  # yin: one topic, a distribution
    for result in report["results"]:  # every (entry, leaf) score in one calibration band
        leaves = sum(b["leaves"] for b in result["calibration"])
        assert leaves == result["entries"] * {"codev": 26, "yin": 16}[result["taxonomy"]]
    assert [level["level"] for level in report["results"][1]["levels"]] == ["leaf", "top"]
    assert run_kb("eval", "--folds", "3", "--json", cwd=root, env=NO_MODEL).out == first.out
    assert run_kb("eval", "--folds", "3", "--format", "json", cwd=root, env=NO_MODEL).out == first.out
    import yaml

    as_yaml = run_kb("eval", "--folds", "3", "--format", "yaml", cwd=root, env=NO_MODEL)
    assert as_yaml.code == 0 and yaml.safe_load(as_yaml.out) == report

    text = run_kb("eval", "--folds", "3", "--taxonomy", "yin", cwd=root, env=NO_MODEL)
    assert text.code == 0 and "yin: 16 labelled entries" in text.out and "codev" not in text.out
    assert "fold" not in text.err  # no progress bar when stderr is not a terminal
    assert "kb suggest" in text.out.splitlines()[4] and "majority class" in text.out.splitlines()[4]
    band_rows = [line.split()[0] for line in text.out.splitlines()[-4:]]
    assert band_rows == ["score", "leaves", "mean", "right"]
    assert set(report["results"][1]["per_paper"]) == set(codev["levels"][0]["methods"])


def test_kb_eval_says_which_folds_were_scored_zero_shot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    """A fold whose training labels are of one leaf is scored by the zero-shot fallback; its figures
    had been mixed into the learned ones unsaid (audit). Here corpus-a, the one ACQ, is a fold alone."""
    import yaml

    from tests.intel_kb import make_kb

    titles = {entry_id: title for entry_id, title, _, _ in LABELLED}
    titles["jail-d"] = "Safety alignment of vision-language models against harmful images"
    tags = {"jail-a": TOX, "jail-b": TOX, "jail-c": TOX, "jail-d": TOX, "corpus-a": ACQ}
    dates = {TOX: "2023", ACQ: "2025"}
    entries = [
        {"id": i, "title": titles[i], "kind": "method", "date": dates[tag], "tags": {"codev": [tag]}}
        for i, tag in tags.items()
    ]
    few = make_kb(tmp_path / "few", entries)
    args = ("eval", "--taxonomy", "codev", "--folds", "3")
    code, out, err = invoke_with_stand_in(monkeypatch, few, *args, "--json")
    assert (code, err) == (0, "") and json.loads(out)["results"][0]["zero_shot_folds"] == 1
    code, out, err = invoke_with_stand_in(monkeypatch, few, *args, "--format", "yaml")
    assert (code, err) == (0, "") and yaml.safe_load(out)["results"][0]["zero_shot_folds"] == 1
    code, out, err = invoke_with_stand_in(monkeypatch, few, *args)
    assert (code, err) == (0, "")
    assert out.splitlines()[4] == (
        "  zero-shot in 1 of 3 folds: their training labels are of fewer than two leaves, so kb suggest's "
        "figures for their entries are zero-shot, not learned"
    )
    # Split by date, the one newer entry is scored from the older ones, of one leaf.
    code, out, err = invoke_with_stand_in(monkeypatch, few, "eval", "--taxonomy", "codev", "--after", "2024")
    assert (code, err) == (0, "")
    assert out.splitlines()[4] == (
        "  zero-shot: the older entries' labels are of fewer than two leaves, so kb suggest's figures are "
        "zero-shot, not learned"
    )
    # Where every fold learns, nothing is said.
    learned = run_kb("eval", "--folds", "3", "--json", cwd=root, env=NO_MODEL)
    assert [r["zero_shot_folds"] for r in json.loads(learned.out)["results"]] == [0, 0]
    assert "zero-shot" not in run_kb("eval", "--folds", "3", cwd=root, env=NO_MODEL).out


def test_kb_eval_by_leaf_and_its_misses_agree_with_the_top_1_figure(root: Path) -> None:
    run = run_kb("eval", "--folds", "3", "--errors", "--json", cwd=root, env=NO_MODEL)
    assert run.code == 0, run.err
    for result in json.loads(run.out)["results"]:
        leaves = load_kb(root).taxonomies[result["taxonomy"]].leaves()
        rows = result["leaves"]
        assert [row["leaf"] for row in rows] == [leaf.id for leaf in leaves]
        assert sum(row["chosen"] for row in rows) == result["entries"]  # each entry is given one leaf first
        top1 = result["levels"][0]["methods"]["kb suggest"]["top1"]
        misses = result["misses"]
        assert len(misses) == round(result["entries"] * (1 - top1))  # the entries the top-1 figure counts wrong
        assert all(miss["best"] not in miss["tags"] for miss in misses)
        for row in rows:  # what a leaf's entries were taken for, from the misses
            wrong = [m["best"] for m in misses if row["leaf"] in m["tags"]]
            assert sum(row["taken_for"].values()) == sum(sorted(Counter(wrong).values())[-3:])

    text = run_kb("eval", "--folds", "3", "--taxonomy", "yin", "--leaves", "--errors", cwd=root, env=NO_MODEL)
    lines = text.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["leaf", "entries"])
    assert [line.split()[0] for line in lines[header + 1 : header + 17]] == [
        leaf.id for leaf in load_kb(root).taxonomies["yin"].leaves()
    ]
    assert lines[header + 17].startswith("  wrong at top-1 (")
    plain = run_kb("eval", "--folds", "3", "--taxonomy", "yin", cwd=root, env=NO_MODEL)
    assert "by leaf" not in plain.out and "wrong at top-1" not in plain.out


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": 1, "title": "ok"}', "{not json"],
            "papers.jsonl:2: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        ),
        (['{"id": 1}'], 'papers.jsonl:1: "title" is missing or not text; every line needs one'),
        (['{"id": NaN, "title": "t"}'], "papers.jsonl:1: not valid JSON (NaN is not JSON)"),
        (['{"id": 1, "title": "  "}'], 'papers.jsonl:1: "title" is missing or not text; every line needs one'),
        (['["a list"]'], 'papers.jsonl:1: expected an object like {"id": ..., "title": ...}'),
        (['{"title": "no id"}'], 'papers.jsonl:1: "id" is missing; every line needs one to match the output to'),
        (['{"id": 1, "title": "t", "abstract": 3}'], 'papers.jsonl:1: "abstract" must be text when given'),
        (
            ['{"id": 1, "title": "t", "kind": "paper"}'],
            'papers.jsonl:1: "kind" is "paper"; expected one of model, method, analysis, survey, dataset, benchmark',
        ),
        (
            ['{"id": 1, "title": "t", "kind": "modle"}'],
            'papers.jsonl:1: "kind" is "modle"; expected one of model, method, analysis, survey, dataset, benchmark;'
            " did you mean 'model'?",
        ),
        (
            ['{"id": 1, "title": "t", "kind": ["model"]}'],
            'papers.jsonl:1: "kind" is ["model"]; expected one of model, method, analysis, survey, dataset, benchmark',
        ),
        (
            ['{"id": "p1", "title": "a"}', '{"id": "p2", "title": "b"}', '{"id": "p1", "title": "c"}'],
            'papers.jsonl:3: id "p1" is line 1\'s too; ids must differ, to match output to input',
        ),
        # Too large for a float: it would be written back as Infinity, which strict parsers refuse.
        (['{"id": 1e400, "title": "t"}'], "papers.jsonl:1: not valid JSON (1e400 is too large a number)"),
        # A title of nothing visible is none (a zero-width space had been ranked as one).
        (['{"id": 1, "title": "\\u200b"}'], 'papers.jsonl:1: "title" is missing or not text; every line needs one'),
        (['{"id": 1, "title": " \u00ad"}'], 'papers.jsonl:1: "title" is missing or not text; every line needs one'),
        # An id of null or of no text matches the output to nothing, as a missing one.
        (['{"id": null, "title": "t"}'], 'papers.jsonl:1: "id" is null; every line needs one to match the output to'),
        (['{"id": " ", "title": "t"}'], 'papers.jsonl:1: "id" is " "; every line needs one to match the output to'),
        # Python reads no integer of over 4300 digits, and its message says to call a function of sys.
        (
            ['{"id": ' + "7" * 5000 + ', "title": "t"}'],
            "papers.jsonl:1: not valid JSON (a number of 5000 digits; no field takes a number that long)",
        ),
        # Valid JSON, but no model, file or terminal takes a lone surrogate as text.
        (
            ['{"id": 1, "title": "Visual \\ud800 tuning"}'],
            'papers.jsonl:1: "title" holds a lone surrogate (\\ud800), which is not text',
        ),
        (
            ['{"id": "\\udc80", "title": "t"}'],
            'papers.jsonl:1: "id" holds a lone surrogate (\\udc80), which is not text',
        ),
        # json keeps the last of a key given twice, silently: which id or title was meant?
        (['{"id": "b", "id": "c", "title": "t"}'], 'papers.jsonl:1: the field "id" is given twice; keep one'),
        # Deeper than Python's json can go (it would end in a RecursionError traceback).
        (
            ['{"id": ' + "[" * 5000 + "]" * 5000 + ', "title": "t"}'],
            "papers.jsonl:1: not valid JSON for kb (nested too deeply)",
        ),
    ],
)
def test_bad_jsonl_is_one_sentence_naming_file_and_line(root: Path, lines: list[str], message: str) -> None:
    path = jsonl(root / "papers.jsonl", *lines)
    run = run_kb("suggest", "--taxonomy", "codev", "--input", str(path.name), "--json", cwd=root, env=NO_MODEL)
    assert (run.code, run.out, run.err) == (2, "", f"kb: {message}\n")


def test_every_bad_line_is_named_at_once(root: Path) -> None:
    """One run tells all that is wrong with a file (up to twenty lines of it), and suggests nothing."""
    fine = ('{"id": 0, "title": "fine"}', '{"id": 2, "title": "fine"}')
    path = jsonl(root / "papers.jsonl", fine[0], '{"id": 1}', fine[1], "{not json", *['{"title": "no id"}'] * 22)
    run = run_kb("suggest", "--taxonomy", "yin", "--input", str(path.name), cwd=root, env=NO_MODEL)
    lines = run.err.splitlines()
    assert (run.code, run.out, len(lines)) == (2, "", 21)
    assert lines[:3] == [
        'kb: papers.jsonl:2: "title" is missing or not text; every line needs one',
        "kb: papers.jsonl:4: not valid JSON (Expecting property name enclosed in double quotes, column 2)",
        'kb: papers.jsonl:5: "id" is missing; every line needs one to match the output to',
    ]
    assert lines[19] == 'kb: papers.jsonl:22: "id" is missing; every line needs one to match the output to'
    assert lines[20] == "kb: papers.jsonl: ... and 4 more bad lines"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["new-jial"], "no entry with id 'new-jial'; did you mean 'new-jail'?"),
        (
            ["--input", "missing.jsonl", "--taxonomy", "yin"],
            "missing.jsonl: no such file; give a JSON Lines file of papers",
        ),
        (["--input", "missing.jsonl"], "--input needs --taxonomy codev or --taxonomy yin"),
        ([], "name one of ENTRY_ID, --title, --input or --all"),
        (["new-jail", "--all"], "name one of ENTRY_ID, --title, --input or --all, not ENTRY_ID and --all"),
        (["--title", " "], "--title is empty; give a paper's title"),
        # "" had counted as not given ("name one of ENTRY_ID, --title, ...") or as a file named ""
        (["--title", ""], "--title is empty; give a paper's title"),
        # nothing visible: a zero-width space had been taken as a title and ranked (audit), as a
        # soft hyphen or a BOM would have been; U+3000 was refused, being whitespace
        (["--title", "\u200b"], "--title is empty; give a paper's title"),
        (["--title", " \u00ad\ufeff\u3000"], "--title is empty; give a paper's title"),
        (["", "--taxonomy", "yin"], "the entry id is empty; give an entry's id, name or title"),
        (["--input", "", "--taxonomy", "yin"], "--input is empty; give a JSON Lines file of papers, or - for stdin"),
        # an exact name is an entry's as in kb show; a wrong case is offered the id
        (["NEW-JAIL"], "no entry with id 'NEW-JAIL'; did you mean 'new-jail'?"),
        (["new-jail", "--kind", "dataset"], "--kind is for --title or --input; an entry's kind is in its file"),
        (["--all", "--kind", "model"], "--kind is for --title or --input; an entry's kind is in its file"),
        (["--input", "x.jsonl", "--taxonomy", "yin", "--why"], "--why is for ENTRY_ID or --title"),
        (
            ["--input", "x.jsonl", "--taxonomy", "yin", "--top", "3"],
            "--top is for text output; --input prints every leaf of the taxonomy, best first, as JSON",
        ),
        *[
            (
                ["--all", *given],
                "--all writes every taxonomy's suggestions into entries/suggestions.json; "
                "--taxonomy, --format (or --json) and --top do not apply",
            )
            for given in (["--taxonomy", "yin"], ["--json"], ["--format", "json"], ["--format", "text"], ["--top", "5"])
        ],
        (["new-jail", "--json", "--format", "text"], "--json and --format text disagree; give one of them"),
        # --top had been taken and not obeyed: the JSON lists every leaf (audit)
        *[
            (
                [*given, "--top", "2"],
                "--top is for text output; --format json lists every leaf of the taxonomy, best first",
            )
            for given in (["new-jail", "--json"], ["--title", "A benchmark", "--format", "json"])
        ],
        (
            ["--input", "x.jsonl", "--taxonomy", "yin", "--format", "text"],
            "--input prints one JSON line per paper; --format text is for ENTRY_ID or --title",
        ),
        (["new-jail", "--format", "jsn"], "unknown format 'jsn'; did you mean 'json'?"),
        (["new-jail", "--format", "yaml"], "unknown format 'yaml'; expected one of text, json"),
    ],
)
def test_usage_errors_are_one_sentence_and_exit_2(root: Path, args: list[str], message: str) -> None:
    run = run_kb("suggest", *args, cwd=root, env=NO_MODEL)
    assert (run.code, run.out, run.err) == (2, "", f"kb: {message}\n")


def test_a_file_of_papers_is_read_as_utf_8_lines_ending_at_newlines_alone(tmp_path: Path) -> None:
    """A byte that is not UTF-8 is named by its line; a BOM and CRLF endings are read; U+2028 and
    U+0085 inside a title (valid JSON) split nothing, as str.splitlines would."""
    from kb.classify.interface import read_papers

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": 1, "title": "fine"}\n{"id": 2, "title": "caf\xe9"}\n')
    with pytest.raises(UsageError) as caught:
        read_papers(str(bad))
    assert str(caught.value) == f"{bad}:2: byte 24 (0xe9) is not UTF-8; save the file as UTF-8"
    good = tmp_path / "good.jsonl"
    title = "Visual\u2028Instruction\u0085Tuning"
    lines = [json.dumps({"id": 1, "title": title}, ensure_ascii=False), json.dumps({"id": 2, "title": "Two"})]
    good.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode() + b"\r\n")
    assert read_papers(str(good)) == [(1, title, WORK), (2, "Two", WORK)]


def test_an_id_is_echoed_as_it_was_written(tmp_path: Path) -> None:
    """Numbers with a fraction or exponent keep their spelling ("1E2", not 100.0); equal values are
    still one id, so the second line of one is refused."""
    from kb.classify.interface import id_json, read_papers

    path = jsonl(
        tmp_path / "papers.jsonl",
        '{"id": 1E2, "title": "A"}',
        '{"id": {"n": 2.50, "list": [1e-3, "x\u00e9"]}, "title": "B"}',
        '{"id": 7, "title": "C"}',
        '{"id": "1E2", "title": "D"}',
        '{"id": [-0, -0.0, 0], "title": "E"}',
    )
    ids = [id_json(paper_id) for paper_id, _, _ in read_papers(str(path))]
    assert ids == ["1E2", '{"n": 2.50, "list": [1e-3, "xé"]}', "7", '"1E2"', "[-0, -0.0, 0]"]
    again = jsonl(tmp_path / "again.jsonl", '{"id": 100.0, "title": "A"}', '{"id": 1E2, "title": "B"}')
    with pytest.raises(UsageError) as caught:
        read_papers(str(again))
    assert str(caught.value) == f"{again}:2: id 1E2 is line 1's too; ids must differ, to match output to input"
    # and so are 100 and 100.0, and 0 and -0 (they had passed as two ids)
    for first, second in (("100", "100.0"), ("0", "-0"), ('[1, {"a": 2}]', '[1.0, {"a": 2E0}]')):
        again = jsonl(tmp_path / "again.jsonl", f'{{"id": {first}, "title": "A"}}', f'{{"id": {second}, "title": "B"}}')
        with pytest.raises(UsageError) as caught:
            read_papers(str(again))
        assert str(caught.value) == (
            f"{again}:2: id {second} is line 1's too; ids must differ, to match output to input"
        ), first


def test_a_file_of_no_papers_is_said_to_hold_none(tmp_path: Path) -> None:
    """A file cut short by mistake had given no output and no word, as a run with nothing to say."""
    from kb.classify.interface import read_papers

    for name, content in (("empty.jsonl", b""), ("blank.jsonl", b"\n \n"), ("bom.jsonl", b"\xef\xbb\xbf")):
        said: list[str] = []
        (tmp_path / name).write_bytes(content)
        assert read_papers(str(tmp_path / name), note=said.append) == []
        assert said == [f"{tmp_path / name} holds no papers (it is empty, or every line is blank)"]


def test_a_field_that_looks_misspelt_is_noted_once_and_other_fields_pass(tmp_path: Path) -> None:
    from kb.classify.interface import read_papers

    path = jsonl(
        tmp_path / "papers.jsonl",
        '{"id": 1, "title": "A", "abstarct": "x", "url": "https://example.org"}',
        '{"id": 2, "title": "B", "abstarct": "y", "Kind": "benchmark"}',
    )
    notes: list[str] = []
    papers = read_papers(str(path), note=notes.append)
    assert [text for _, text, _ in papers] == ["A", "B"]  # nothing misspelt is read
    assert notes == [
        f'{path}:1: field "abstarct" is not read; did you mean "abstract"?',
        f'{path}:2: field "Kind" is not read; did you mean "kind"?',
    ]


def test_a_device_or_an_endless_line_is_refused_not_read_into_memory(root: Path) -> None:
    run = run_kb("suggest", "--taxonomy", "yin", "--input", "/dev/zero", cwd=root, env=NO_MODEL)
    assert (run.code, run.err) == (2, "kb: /dev/zero: a device, not a file; give a JSON Lines file of papers\n")
    long = jsonl(root / "long.jsonl", '{"id": 1, "title": "fine"}', '{"id": 2, "title": "' + "x" * 1_000_001 + '"}')
    run = run_kb("suggest", "--taxonomy", "yin", "--input", long.name, cwd=root, env=NO_MODEL)
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        "kb: long.jsonl:2: the line is over 1,000,000 bytes, where a paper's title and abstract take a few thousand\n"
    )


def test_what_would_split_a_json_line_or_act_on_a_terminal_is_escaped_in_the_output(tmp_path: Path) -> None:
    """Valid JSON either way, but raw U+2028 or NEL make str.splitlines see more lines, and a
    bidirectional control reorders a terminal's line: an id is echoed with them escaped."""
    from kb.classify.interface import id_json, read_papers

    hostile = "a\u2028b\u0085c\u202ed"
    path = jsonl(tmp_path / "papers.jsonl", json.dumps({"id": hostile, "title": "t"}), '{"id": [1E2], "title": "u"}')
    echoed = [id_json(paper_id) for paper_id, _, _ in read_papers(str(path))]
    assert echoed == ['"a\\u2028b\\u0085c\\u202ed"', "[1E2]"]
    assert json.loads(echoed[0]) == hostile


def test_a_file_name_in_an_error_is_one_safe_line(root: Path) -> None:
    run = run_kb("suggest", "--taxonomy", "yin", "--input", "a\x1b[2Jb\nc.jsonl", cwd=root, env=NO_MODEL)
    assert (run.code, run.err) == (2, "kb: a\ufffd[2Jb c.jsonl: no such file; give a JSON Lines file of papers\n")


@pytest.mark.parametrize("args", [["suggest", "--taxonomy", "yin", "--title"], ["search"]])
def test_text_for_the_model_with_a_byte_that_is_not_utf_8_is_refused(root: Path, args: list[str]) -> None:
    """Python carries the byte 0xff of an argument as U+DCFF; the tokenizer would fail on it with a
    traceback."""
    run = run_kb(*args, "visual \udcff tuning", cwd=root, env=NO_MODEL)
    where = "'--title'" if "--title" in args else "'TEXT'"
    assert run.code == 2 and f"Invalid value for {where}: holds the byte 0xff, which is not UTF-8 text" in run.err
    assert "Traceback" not in run.err


def test_an_option_without_its_value_names_the_command(root: Path) -> None:
    """click fails such an option before the command has a context of its own."""
    run = run_kb("suggest", "--title", cwd=root, env=NO_MODEL)
    message = "python -m kb suggest: Option '--title' requires an argument; see python -m kb suggest --help\n"
    assert (run.code, run.err) == (2, message)


def test_kb_tree_stats_and_gaps_count_no_zero_shot_score_as_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their suggested counts had taken yin's zero-shot shares of one for suggestions, which kb show,
    kb query --suggested and the site no longer do; now they leave them out and say so."""
    from tests.intel_kb import make_kb

    root = make_kb(
        tmp_path,
        [
            {"id": "jail", "title": "Jailbreak attacks with images", "kind": "method", "tags": {"codev": [TOX]}},
            {"id": "corpus", "title": "A web-scale image-text corpus", "kind": "dataset", "tags": {"codev": [ACQ]}},
            {"id": "plain", "title": "Visual instruction tuning for chat", "kind": "model"},
        ],
    )
    code, _, err = invoke_with_stand_in(monkeypatch, root, "suggest", "--all")
    assert code == 0, err
    note = (
        "kb: note: suggested counts leave out zero-shot scores: yin has too few curated labels to learn "
        "from, so each score is a share of one across the leaves, not the leaf's own probability\n"
    )
    code, out, err = invoke_with_stand_in(monkeypatch, root, "tree", "--format", "json")
    assert code == 0 and err == note
    assert sum(c["suggested"] for c in json.loads(out)["yin"]) == 0
    assert sum(c["suggested"] for c in json.loads(out)["codev"]) > 0  # codev learns: its suggestions count
    code, out, err = invoke_with_stand_in(monkeypatch, root, "stats", "--format", "json")
    assert (code, err, json.loads(out)["suggested"]) == (0, note, 1)  # "plain", by its codev suggestions
    code, out, err = invoke_with_stand_in(monkeypatch, root, "gaps", "--format", "json")
    assert code == 0 and err.startswith(note)
    sparse = [n for n in json.loads(out)["sparse_nodes"] if n.get("qualified_id", "").startswith("yin:")]
    assert sparse and all(n["suggested_total"] == 0 for n in sparse)


def test_kb_show_and_query_suggested_keep_zero_shot_scores_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """codev learns (curated labels of two leaves), yin has none to learn from: kb show had listed yin's
    zero-shot shares of one among the suggested tags, kb query --suggested had counted and listed them as
    suggestions (audit). Now they are apart, said to be zero-shot, and --suggested counts none of them."""
    from tests.intel_kb import make_kb

    hostile = "Jailbreak attacks with images <img src=x onerror=alert(1)> *em*"
    root = make_kb(
        tmp_path,
        [
            {"id": "jail", "title": "Jailbreak attacks with images", "kind": "method", "tags": {"codev": [TOX]}},
            {"id": "corpus", "title": "A web-scale image-text corpus", "kind": "dataset", "tags": {"codev": [ACQ]}},
            {"id": "hostile", "title": hostile, "kind": "method", "date": "2024-03-01"},
        ],
    )
    code, _, err = invoke_with_stand_in(monkeypatch, root, "suggest", "--all")
    assert code == 0, err
    reason = (
        "yin has too few curated labels to learn from, so each score is a share of one across the leaves, "
        "not the leaf's own probability"
    )

    code, out, err = invoke_with_stand_in(monkeypatch, root, "show", "hostile", "--format", "json")
    tags = json.loads(out)["tags"]
    assert code == 0 and tags["suggested"]["codev"] and tags["suggested"]["yin"] == []
    assert set(tags["zero_shot"]) == {"yin"} and tags["zero_shot"]["yin"]
    yin_top = tags["zero_shot"]["yin"][0]["tag"]
    code, out, err = invoke_with_stand_in(monkeypatch, root, "show", "hostile")
    suggested, _, rest = out.partition("suggested tags (by the model, not curated; score 0-1):\n")[2].partition(
        f"zero-shot scores, none suggested ({reason}):\n"
    )
    assert code == 0 and rest, out
    assert "  codev " in suggested and "  yin " not in suggested
    listed = rest.partition("relations:")[0].splitlines()
    assert len(listed) == len(tags["zero_shot"]["yin"]) and all(line.startswith("  yin ") for line in listed)
    assert out.splitlines()[0] == f"hostile: {hostile}"  # a terminal's text, as written

    # --suggested counts learned suggestions, not zero-shot scores, and says so.
    note = f"kb: note: --suggested counts no zero-shot score: {reason} (listed apart as zero_shot)\n"
    code, out, err = invoke_with_stand_in(monkeypatch, root, "query", "--suggested", "--tag", f"yin:{yin_top}")
    assert (code, out) == (0, "") and err.startswith(note), err
    codev_top = tags["suggested"]["codev"][0]["tag"]
    code, out, err = invoke_with_stand_in(monkeypatch, root, "query", "--suggested", "--tag", codev_top, "--json")
    (record,) = [r for r in json.loads(out) if r["id"] == "hostile"]
    assert record["suggested"]["yin"] == [] and record["zero_shot"] == tags["zero_shot"]
    code, out, err = invoke_with_stand_in(monkeypatch, root, "query", "--suggested", "--format", "csv")
    header = out.splitlines()[0].split(",")
    assert header[-3:] == ["suggested.codev", "suggested.yin", "zero_shot.yin"] and err == note
    from kb.output import read_csv

    assert {r["id"]: r["zero_shot"] for r in read_csv(out)}["hostile"] == tags["zero_shot"]

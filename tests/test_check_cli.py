"""kb check and kb schema from the command line: formats, paths, exit codes, start-up cost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.jsonschema import SCHEMA_PATH, entry_schema_text
from tests.conftest import REPO, run_kb
from tests.test_check_golden import make_kb


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def two_problem_kb(tmp_path: Path) -> Path:
    """A KB with a dangling relation in llava.yaml and a sound dataset beside it."""
    return make_kb("dangling-relation", tmp_path)


def test_json_format_carries_every_problem(two_problem_kb: Path):
    code, out, err = invoke("--root", str(two_problem_kb), "check", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["checked"] == 2
    assert report["files_with_problems"] == 1
    assert [p["field"] for p in report["problems"]] == ["relations.trained_on[0]", "relations.trained_on[1]"]
    assert report["problems"][0] == {
        "path": "entries/works/llava.yaml",
        "line": 8,
        "col": 16,
        "field": "relations.trained_on[0]",
        "message": "no entry with id 'llava-instruct-15k'; did you mean 'llava-instruct-150k'?",
    }
    assert err == "checked 2 entries: 2 problems in 1 file\n"


def test_github_format_is_workflow_annotations(two_problem_kb: Path):
    code, out, _ = invoke("--root", str(two_problem_kb), "check", "--format", "github")
    assert code == 1
    assert out.splitlines()[0] == (
        "::error file=entries/works/llava.yaml,line=8,col=16,title=relations.trained_on[0]::"
        "no entry with id 'llava-instruct-15k'; did you mean 'llava-instruct-150k'?"
    )


def test_github_annotations_escape_their_separators():
    from kb.errors import Problem
    from kb.report import github_annotation

    line = github_annotation(Problem("a,b:c.yaml", 1, 2, "x", "50% done\nnext"))
    assert line == "::error file=a%2Cb%3Ac.yaml,line=1,col=2,title=x::50%25 done%0Anext"


def test_paths_limit_the_report_but_not_the_lookups(tmp_path: Path):
    root = make_kb("relation-wrong-kind", tmp_path)
    code, out, err = invoke("--root", str(root), "check", str(root / "entries" / "works" / "vicuna.yaml"))
    assert code == 1
    assert out == (
        "entries/works/vicuna.yaml:5:16: relations.trained_on[0]: 'llava' is a model; "
        "trained_on expects a dataset or benchmark\n"
    )
    assert err == "checked 1 entry: 1 problem in 1 file\n"
    code, out, err = invoke("--root", str(root), "check", str(root / "entries" / "datasets"))
    assert code == 1
    assert {line.split(":")[0] for line in out.splitlines()} == {"entries/datasets/llava-instruct-150k.yaml"}


def test_a_clean_file_in_a_bad_kb_passes(two_problem_kb: Path):
    dataset = two_problem_kb / "entries" / "datasets" / "llava-instruct-150k.yaml"
    code, out, err = invoke("--root", str(two_problem_kb), "check", str(dataset))
    assert (code, out, err) == (0, "", "checked 1 entry: no problems\n")


def test_other_commands_refuse_a_bad_kb_and_count_its_problems(tmp_path: Path):
    for case, count in (("missing-field", "1 problem"), ("unknown-field", "2 problems")):
        code, out, err = invoke("--root", str(make_kb(case, tmp_path)), "query")
        assert (code, out) == (1, "")
        assert err.splitlines()[-1] == f"{count}; run kb check for the whole list"


def test_a_named_file_that_is_no_entry_is_a_usage_error(two_problem_kb: Path):
    code, out, err = invoke("--root", str(two_problem_kb), "check", str(two_problem_kb / "mkdocs.yml"))
    assert (code, out) == (2, "")
    assert err == (
        f"kb: {two_problem_kb / 'mkdocs.yml'} is not an entry file; "
        "entries are entries/works/*.yaml and entries/datasets/*.yaml\n"
    )


def test_a_missing_path_is_a_usage_error(two_problem_kb: Path):
    code, _, err = invoke("--root", str(two_problem_kb), "check", str(two_problem_kb / "nope.yaml"))
    assert code == 2
    assert "nope.yaml does not exist" in err


@pytest.mark.parametrize(
    ("args", "loaded"),
    [
        # The whole check asks mkdocs what it makes of mkdocs.yml's settings, and nothing else heavy.
        ([], "['mkdocs']"),
        # A contributor's check of their own files never loads it.
        (["entries/works/llava.yaml"], "[]"),
        (["entries"], "[]"),
    ],
)
def test_check_leaves_heavy_libraries_unimported(args: list[str], loaded: str):
    code = (
        "import sys\n"
        "from kb.cli import main\n"
        f"try:\n    main(['check', *{args!r}])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'mkdocs', 'sklearn') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stderr.strip().splitlines()[-1] == loaded, proc.stderr


def test_a_file_name_cannot_write_to_the_terminal_or_break_a_line(tmp_path: Path):
    root = make_kb("missing-field", tmp_path)
    (root / "entries" / "works" / "untitled.yaml").rename(root / "entries" / "works" / "evil\x1b]0;x\x07\nname.yaml")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    assert out == (
        "entries/works/evil\ufffd]0;x\ufffd name.yaml:1:1: title: required field is missing (the paper's full title)\n"
        # the message names the file too (said since a schema problem no longer hides the others)
        "entries/works/evil\ufffd]0;x\ufffd name.yaml:1:5: id: 'untitled' differs from the file name "
        "evil\ufffd]0;x\ufffd\ufffdname.yaml; rename the file to untitled.yaml\n"
    )


def test_bad_input_in_a_fresh_process_gives_no_traceback(tmp_path: Path):
    root = make_kb("python-tag", tmp_path)
    (root / "entries" / "works" / "bytes.yaml").write_bytes(b"\x00\xff\xfe: [\n")
    run = run_kb("--root", str(root), "check")
    assert run.code == 1
    assert "Traceback" not in run.err
    assert run.err.endswith("checked 2 entries: 2 problems in 2 files\n")


def test_schema_file_is_up_to_date():
    committed = (REPO / SCHEMA_PATH).read_text(encoding="utf-8")
    assert committed == entry_schema_text(), "run: python -m kb schema -o schema/entry.schema.json"


def test_schema_command_prints_the_schema_with_descriptions():
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["properties"]["title"]["description"] == "The paper's full title."
    assert set(schema["required"]) == {"id", "title", "kind"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("command", [["schema"], ["export", "json"], ["graph", "--no-similar"]])
def test_an_output_that_cannot_be_written_is_one_sentence(tmp_path: Path, command: list[str]):
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    root = make_kb("unknown-tag", tmp_path)  # its problems are tags, which commands say as notes when they read it
    for target, reason in ((str(a_file / "out"), f"{a_file} is a file, not a folder"), ("", "give a file name")):
        code, out, err = invoke("--root", str(root), *command, "-o", target)
        # refused before any work: the knowledge base is not even read, so nothing is said of it
        assert (code, out, err) == (1, "", f"kb: cannot write {target or 'an empty path'}: {reason}\n")


def test_schema_command_writes_a_file(tmp_path: Path):
    target = tmp_path / "entry.schema.json"
    code, _, err = invoke("schema", "-o", str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == entry_schema_text()
    assert err == f"wrote {target}\n"


def test_schema_patterns_accept_the_seeded_ids_and_reject_a_float():
    """The patterns editors apply agree with kb check on real values."""
    import re

    from kb.store import load_kb

    props = json.loads(entry_schema_text())["properties"]
    id_re, arxiv_re = re.compile(props["id"]["pattern"]), re.compile(props["arxiv"]["pattern"])
    kb = load_kb(REPO)
    assert all(id_re.match(e.id) for e in kb.entries.values())
    assert all(arxiv_re.match(e.arxiv) for e in kb.entries.values() if e.arxiv)
    assert not arxiv_re.match("2310.0327 ")
    assert {"type": "string"} in props["arxiv"]["anyOf"]  # so an editor flags an unquoted number


def test_check_without_taxonomies_still_reports_entries(tmp_path: Path):
    root = make_kb("missing-field", tmp_path)
    shutil.rmtree(root / "entries" / "taxonomies")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    assert "entries/taxonomies/codev.yaml: the codev taxonomy file is missing" in out
    assert "entries/works/untitled.yaml:1:1: title: required field is missing" in out


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            ("  - id: hallucination\n", "  - id: hallucination: [\n"),
            "entries/taxonomies/yin.yaml:14:22: not valid YAML: mapping values are not allowed here (a colon and a "
            'space start a field: quote a value that holds them, as title: "A: B", and start each field where the '
            "fields above it start)",
        ),
        (
            ("id: yin\n", "id: codev\n"),
            "entries/taxonomies/yin.yaml:1:5: id: 'codev' differs from the file name yin.yaml; the id must be 'yin'",
        ),
        (
            ("      - id: datasets/rlhf\n", "      - id: hallucination\n"),
            "entries/taxonomies/yin.yaml:107:13: nodes[9].children[4].id: node id 'hallucination' is also line 14's;"
            " node ids must differ within a taxonomy",
        ),
    ],
)
def test_a_damaged_taxonomy_file_is_one_positioned_problem_for_every_command(
    tmp_path: Path, damage: tuple[str, str], problem: str
) -> None:
    root = make_kb("dangling-relation", tmp_path)
    path = root / "entries" / "taxonomies" / "yin.yaml"
    text = path.read_text(encoding="utf-8")
    assert damage[0] in text
    path.write_text(text.replace(damage[0], damage[1], 1), encoding="utf-8")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1 and problem in out.splitlines()
    for command in (["tree"], ["query", "--tag", "hallucination"], ["stats"]):
        code, out, err = invoke("--root", str(root), *command)
        assert (code, out) == (1, ""), command
        assert err == f"{problem}\n1 problem; run kb check for the whole list\n", command


@pytest.mark.parametrize(
    ("config", "said"),
    [
        # YAML that runs code when an unsafe loader reads it: read safely, never run.
        ('site_name: !!python/object/apply:os.system ["touch ran"]\n', "could not determine a constructor"),
        # A reference into a file of the knowledge base would import (run) it.
        ("site_name: x\nextra:\n  x: !!python/name:hook.thing\n", "!!python/name:hook.thing is not in an installed"),
        # Hooks are Python files mkdocs runs: checked to exist, not run, their print kept off stdout.
        ("site_name: x\nhooks: [hook.py]\n", None),
        ("site_name: x\nhooks: [missing.py]\n", "'missing.py' is not a file"),
        # The same folders written another way are the same folders.
        ("site_name: x\ndocs_dir: docs/\nsite_dir: ./site\n", None),
    ],
)
def test_kb_check_runs_no_code_that_mkdocs_yml_names(tmp_path: Path, config: str, said: str | None) -> None:
    """kb check had read mkdocs.yml with mkdocs' unsafe loader and validated its hooks by importing
    them: a contribution's mkdocs.yml ran code in the linter, and a hook's print broke --format json;
    "docs_dir: docs/" was refused as another folder than docs/ (audit of the settings check)."""
    root = make_kb("missing-field", tmp_path)
    (root / "docs").mkdir()
    (root / "hook.py").write_text("print('HOOK RAN')\nopen('ran', 'w')\nthing = 1\n", encoding="utf-8")
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    run = run_kb("--root", str(root), "check", "--format", "json", cwd=root)
    found = [p for p in json.loads(run.out)["problems"] if p["path"] == "mkdocs.yml"]
    assert not (root / "ran").exists() and "HOOK RAN" not in run.out + run.err
    if said is None:
        assert found == []
    else:
        [problem] = found
        assert said in problem["message"]


def test_a_long_value_in_mkdocs_yml_makes_no_megabyte_message(tmp_path: Path) -> None:
    """mkdocs quotes a whole value: 500 bytes of nested aliases (under YAML's alias limit) had made
    one problem line of 8 MB."""
    root = make_kb("missing-field", tmp_path)
    aliases = "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10) if i else ', '.join('1' * 10)}]\n" for i in range(6)
    )
    (root / "mkdocs.yml").write_text(f"site_name: x\n{aliases}nav: *a5\n", encoding="utf-8")
    code, out, _ = invoke("--root", str(root), "check")
    nav = [line for line in out.splitlines() if line.startswith("mkdocs.yml:") and ": nav: " in line]
    assert code == 1 and len(nav) == 1 and len(nav[0]) < 400 and nav[0].endswith("…")


def test_a_taxonomy_files_reading_and_schema_problems_are_said_together(tmp_path: Path) -> None:
    """A padded keyword (found in reading the YAML) had hidden a tab in a name and a misspelt field
    (found by the schema) until it was mended: "every problem in every file" (docs audit)."""
    root = make_kb("dangling-relation", tmp_path)
    path = root / "entries" / "taxonomies" / "yin.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in (
        ("    name: Multimodal Hallucination\n", '    name: "Multimodal\\tHallucination"\n'),
        ("    keywords: [hallucination, object hallucination", '    keywords: [" hallucination", object hallucination'),
        ("    name: Multimodal In-Context Learning\n", "    nam: Multimodal In-Context Learning\n"),
    ):
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    assert [line.split(": ", 2)[1] for line in out.splitlines() if line.startswith("entries/taxonomies/")] == [
        "nodes[1].name",
        "nodes[1].keywords[0]",
        "nodes[2].name",
        "nodes[2].nam",
    ]


def test_a_damaged_taxonomy_leaves_the_others_tags_checked(tmp_path: Path) -> None:
    """Any taxonomy problem had turned off the tag checks of every entry (docs audit): an unknown
    codev tag went unsaid while yin.yaml had a problem. Only the damaged taxonomy's tags wait."""
    root = make_kb("dangling-relation", tmp_path)
    yin = root / "entries" / "taxonomies" / "yin.yaml"
    yin.write_text(yin.read_text(encoding="utf-8").replace("title: ", "title: |\n  Two\n  lines ", 1), encoding="utf-8")
    llava = root / "entries" / "works" / "llava.yaml"
    llava.write_text(
        llava.read_text(encoding="utf-8") + "tags:\n  codev: [no-such-leaf]\n  yin: [no-such-topic]\n", encoding="utf-8"
    )
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    fields = [line.split(": ", 2)[:2] for line in out.splitlines()]
    assert [f for f in fields if f[0].startswith("entries/taxonomies/")] == [
        ["entries/taxonomies/yin.yaml:2:8", "title"]
    ]
    assert [f[1] for f in fields if f[0].startswith("entries/works/llava.yaml")] == [
        "relations.trained_on[0]",
        "relations.trained_on[1]",
        "tags.codev[0]",
    ]


def test_an_mmllms_node_kb_files_facets_under_is_never_renamed_silently(tmp_path: Path) -> None:
    root = make_kb("dangling-relation", tmp_path)
    path = root / "entries" / "taxonomies" / "mmllms.yaml"
    text = path.read_text(encoding="utf-8")
    assert "functional/understanding\n" in text
    path.write_text(text.replace("functional/understanding\n", "functional/understandingx\n", 1), encoding="utf-8")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    assert (
        "entries/taxonomies/mmllms.yaml: nodes: node 'functional/understanding' is missing: kb files the entries' "
        "MM-LLMs facets under it; restore it"
    ) in out.splitlines()


def test_a_field_name_cannot_write_to_the_terminal_or_break_a_line(tmp_path: Path):
    """An unknown key is shown as the problem's field: a newline in it would forge a problem line."""
    root = make_kb("missing-field", tmp_path)
    path = root / "entries" / "works" / "untitled.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + '"x\\nentries/works/y.yaml:1:1: id: forged\\u200f": 1\n', encoding="utf-8"
    )
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1 and "forged" in out
    assert all(line.startswith("entries/works/untitled.yaml:") for line in out.splitlines())
    assert "\u200f" not in out


@pytest.mark.parametrize("kind", ["device", "fifo", "huge"])
def test_an_entry_file_that_is_no_regular_file_or_too_big_is_a_problem_not_a_hang(tmp_path: Path, kind: str):
    root = make_kb("missing-field", tmp_path)
    path = root / "entries" / "works" / "odd.yaml"
    if kind == "device":
        path.symlink_to("/dev/zero")  # read whole, it never ends
    elif kind == "fifo":
        os.mkfifo(path)  # read, it waits for a writer forever
    else:
        path.write_text("title: " + "x" * 1_100_000 + "\n", encoding="utf-8")
    run = run_kb("--root", str(root), "check")
    expected = {
        "device": "not a regular file (a device, a pipe, or a link to one); expected a YAML file",
        "fifo": "not a regular file (a device, a pipe, or a link to one); expected a YAML file",
        "huge": "over 1,000,000 bytes; an entry is a few kilobytes",
    }[kind]
    assert run.code == 1 and f"entries/works/odd.yaml: {expected}\n" in run.out


def test_a_damaged_suggestions_file_is_one_sentence_in_kb_show(tmp_path: Path):
    root = make_kb("dangling-relation", tmp_path)
    (root / "entries" / "suggestions.json").write_text('{"version": 1, "entries": {"nope": {}}}', encoding="utf-8")
    run = run_kb("--root", str(root), "show", "llava")
    assert run.code == 1 and "Traceback" not in run.err and "pydantic" not in run.err
    assert [line for line in run.err.splitlines() if not line.startswith("kb: note: ")][0] == (
        "entries/suggestions.json: not what kb suggest writes; run kb check for where, "
        "or kb suggest --all to write it anew"
    )


def test_a_file_name_that_is_no_id_is_not_offered_as_one(tmp_path: Path):
    root = make_kb("missing-field", tmp_path)
    works = root / "entries" / "works"
    (works / "untitled.yaml").write_text("id: hidden\ntitle: A Paper\nkind: model\n", encoding="utf-8")
    (works / "untitled.yaml").rename(works / ".hidden.yaml")
    code, out, _ = invoke("--root", str(root), "check")
    assert code == 1
    expected = "id: 'hidden' differs from the file name .hidden.yaml; rename the file to hidden.yaml"
    assert out == f"entries/works/.hidden.yaml:1:5: {expected}\n"


@pytest.mark.parametrize(
    ("tag", "meant"),
    [
        ("acquisition", "data4model/scaling/up/acquisition"),  # a leaf's last part, as kb query takes it
        ("acquisiton", "data4model/scaling/up/acquisition"),
        ("Data Toxicity", "data4model/usability/ethic/toxicity"),  # its name
        ("data4model/scaling/up/acquisiton", "data4model/scaling/up/acquisition"),
    ],
)
def test_an_unknown_tag_is_offered_the_leaf_it_names(tag: str, meant: str):
    from kb.check.entries import tag_problem
    from kb.taxonomy import load_taxonomies

    codev = load_taxonomies(REPO / "entries" / "taxonomies").by_id["codev"]
    assert tag_problem(codev, tag) == f"unknown codev tag {tag!r}; did you mean {meant!r}?"


def test_an_unknown_tag_is_never_offered_a_section_which_is_no_tag():
    """'data4model/nope' had been offered 'data4model', which kb check then refused as a section (audit)."""
    from kb.check.entries import tag_problem
    from kb.taxonomy import load_taxonomies

    codev = load_taxonomies(REPO / "entries" / "taxonomies").by_id["codev"]
    assert (
        tag_problem(codev, "data4model/nope")
        == "unknown codev tag 'data4model/nope'; see entries/taxonomies/codev.yaml"
    )


def test_json_gives_null_for_a_position_or_field_a_problem_has_none_of(tmp_path: Path):
    root = make_kb("missing-field", tmp_path)
    (root / "entries" / "works" / "folder.yaml").mkdir()
    report = json.loads(invoke("--root", str(root), "check", "--format", "json")[1])
    (whole,) = [p for p in report["problems"] if p["path"] == "entries/works/folder.yaml"]
    assert (whole["line"], whole["col"], whole["field"]) == (None, None, None)

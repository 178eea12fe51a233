"""kb export: JSON and CSV that read back as the same entries, GraphML, and the command's errors."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from kb.config import load_config
from kb.embed import embed_kb, model_identity
from kb.export.records import (
    ExportReadError,
    csv_columns,
    read_csv_export,
    read_json_export,
    to_csv,
    to_json,
)
from kb.schema import Entry
from kb.store import load_kb
from tests.conftest import REPO, run_kb
from tests.intel_kb import SMALL, HashingEmbedder, make_kb, write_entry

AWKWARD = [
    {
        "id": "awkward",
        "title": 'A "quoted", comma; semicolon | pipe\u2014and é',
        "kind": "model",
        "name": "[Bracketed]",
        "aliases": ["one; two", "[starts with a bracket"],
        "authors": ["Doe, Jane", "Ünal Ö"],
        "affiliations": ["Lab A", "Lab B"],
        "links": {"code": "https://example.org/x?a=1&b=2"},
        "modalities": {"input": ["text", "image"], "output": ["text"]},
        "tags": {"codev": ["data4model/scaling/up/acquisition"], "mmllms": {"design": ["end-to-end"]}},
        "architecture": {"llm_backbone": "Vicuna-7B"},
        "scale": {"instruction_tuning": "158K"},
        "relations": {"trained_on": ["pope"]},
        "summary": 'Two lines,\nwith a comma and "quotes".\n\nAnd a blank line.',
        "added": "2026-11-22",
        "provenance": [{"source": "contributor", "fields": ["title"], "note": "by hand; see notes"}],
    },
    {"id": "bare", "title": "Bare", "kind": "benchmark", "summary": "A carriage\rreturn"},  # "\r" but no "\n"
    {"id": "brackets-only", "title": "x", "kind": "dataset", "aliases": ["[a]", "b"]},
    {  # what a spreadsheet would run as formulas, and the apostrophe that guards them
        "id": "formulas",
        "title": "'Tis a Title",
        "kind": "model",
        "name": '=HYPERLINK("http://evil","x")',
        "aliases": ["+cmd|' /C calc'!A0", "b"],
        "venue": "@SUM(A1)",
    },
]


@pytest.fixture(scope="module")
def real_kb():
    return load_kb(REPO)


@pytest.fixture(scope="module")
def awkward_entries() -> list[Entry]:
    return [Entry.model_validate(data) for data in AWKWARD]


def test_json_of_the_real_kb_reads_back_as_the_same_entries(real_kb, tmp_path):
    path = tmp_path / "kb.json"
    path.write_text(to_json(real_kb.entries.values()), encoding="utf-8")
    assert read_json_export(path) == list(real_kb.entries.values())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (data["format"], data["version"], len(data["entries"])) == ("kb-entries", 1, len(real_kb.entries))


def test_csv_of_the_real_kb_reads_back_as_the_same_entries(real_kb, tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text(to_csv(real_kb.entries.values()), encoding="utf-8")
    assert read_csv_export(path) == list(real_kb.entries.values())


def test_awkward_values_survive_both_formats(awkward_entries, tmp_path):
    (tmp_path / "a.json").write_text(to_json(awkward_entries), encoding="utf-8")
    (tmp_path / "a.csv").write_text(to_csv(awkward_entries), encoding="utf-8")
    assert read_json_export(tmp_path / "a.json") == awkward_entries
    assert read_csv_export(tmp_path / "a.csv") == awkward_entries


def test_csv_is_one_readable_row_per_entry(awkward_entries):
    rows = list(csv.DictReader(io.StringIO(to_csv(awkward_entries))))
    assert list(rows[0]) == [name for name, _ in csv_columns()]
    awkward, bare, brackets, formulas = rows
    assert (formulas["title"], formulas["name"]) == ("''Tis a Title", '\'=HYPERLINK("http://evil","x")')
    assert (formulas["aliases"], formulas["venue"]) == ("'+cmd|' /C calc'!A0; b", "'@SUM(A1)")
    assert awkward["modalities.input"] == "text; image"
    assert awkward["tags.codev"] == "data4model/scaling/up/acquisition"
    assert awkward["affiliations"] == "Lab A; Lab B"
    assert awkward["architecture.llm_backbone"] == "Vicuna-7B"
    # Lists that "; " cannot carry become JSON arrays; provenance always is one.
    assert json.loads(awkward["aliases"]) == ["one; two", "[starts with a bracket"]
    assert json.loads(brackets["aliases"]) == ["[a]", "b"]
    assert json.loads(awkward["provenance"])[0]["note"] == "by hand; see notes"
    assert bare["kind"] == "benchmark" and bare["architecture.llm_backbone"] == "" and bare["aliases"] == ""
    assert bare["summary"] == "A carriage\rreturn"


def test_csv_columns_follow_the_schema():
    names = [name for name, _ in csv_columns()]
    assert names[:3] == ["id", "title", "kind"]
    assert {"links.paper", "tags.mmllms.functional", "scale.pre_training", "relations.builds_on"} <= set(names)
    assert "links" not in names and "tags" not in names


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("x.json", "[1, 2]", 'is not a kb export (no "format": "kb-entries")'),
        ("x.json", '{"format": "kb-entries", "version": 9}', "is a kb export of version 9; this kb reads 1"),
        ("x.json", "{oops", "as JSON"),
        (
            "x.json",
            '{"format": "kb-entries", "version": 1, "entries": [{"id": "a", "title": "t", "kind": "modle"}]}',
            "entry 1: kind: Input should be",
        ),
        (  # what kb check refuses in a file, an import refuses too: it would write a file kb check refuses
            "x.json",
            '{"format": "kb-entries", "version": 1, "entries": [{"id": "a", "title": "t\\u001b[2J", "kind": "model"}]}',
            "entry 1: title: character U+001B (a control character or noncharacter) is not allowed; remove it",
        ),
        (
            "x.csv",
            "id,title,kind,authors\na,t,model,Ann; \u202eLee\n",
            "authors[1]: character U+202E (a bidirectional control",
        ),
        ("x.csv", "id,title,colour\na,b,c\n", "is not a kb CSV export (unknown column 'colour')"),
        ("x.csv", "id,title\na\n", ":2: expected 2 cells, found 1"),
        ("x.csv", "id,title,kind,aliases\na,t,model,[oops\n", ":2: aliases: not a JSON array"),
        ("x.csv", "", "is empty"),
    ],
)
def test_reading_something_else_is_one_sentence(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    reader = read_json_export if name.endswith(".json") else read_csv_export
    with pytest.raises(ExportReadError) as caught:
        reader(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------- the command


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_to_a_file_reads_back_as_the_kb(tmp_path, real_kb, fmt):
    out = tmp_path / "sub" / f"kb.{fmt}"
    out.parent.mkdir()  # kb makes no folder: a slip of the path would make one in silence
    run = run_kb("export", fmt, "-o", str(out))
    assert (run.code, run.out, run.err) == (0, "", f"wrote {out}\n")
    reader = read_json_export if fmt == "json" else read_csv_export
    assert reader(out) == list(real_kb.entries.values())
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not private like a temp file
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temp file left behind


def test_export_bibtex_to_stdout():
    run = run_kb("export", "bibtex")
    # records that would cite nothing a reader can find (a title alone) are counted, not hidden (audit)
    assert run.code == 0 and re.fullmatch(
        r"kb: note: [0-9]+ of the [0-9]+ records have no year, venue, arXiv id or paper address \([^)]*\); "
        r"add them to the entries to make the records citable\n",
        run.err,
    ), run.err
    assert "@inproceedings{llava,\n" in run.out


def test_an_unknown_format_is_one_sentence_with_a_hint():
    run = run_kb("export", "bibtx")
    assert (run.code, run.out, run.err) == (2, "", "kb: unknown format 'bibtx'; did you mean 'bibtex'?\n")


def test_a_path_that_cannot_be_written_is_one_sentence_and_no_file(tmp_path):
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    target = tmp_path / "a-file" / "out.csv"
    run = run_kb("export", "csv", "-o", str(target))
    assert (run.code, run.out) == (1, "")
    assert run.err == f"kb: cannot write {target}: {tmp_path / 'a-file'} is a file, not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux's /proc")
def test_a_file_in_a_folder_that_takes_no_new_file_is_not_called_missing():
    run = run_kb("export", "json", "-o", "/proc/version")
    assert (run.code, run.err) == (
        1,
        "kb: cannot write /proc/version (no new file can be made in /proc): No such file or directory\n",
    )


def test_an_existing_file_is_replaced_whole(tmp_path):
    out = tmp_path / "kb.bib"
    out.write_text("x" * 2_000_000, encoding="utf-8")  # longer than the export: no stale tail may remain
    assert run_kb("export", "bibtex", "-o", str(out)).code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("@misc{3d-llm,") and text.endswith("}\n") and "xxx" not in text


def test_graphml_without_cached_vectors_says_so_and_has_no_similarity_edges(tmp_path):
    root = make_kb(tmp_path / "kb", SMALL)
    out = tmp_path / "kb.graphml"
    run = run_kb("--root", str(root), "export", "graphml", "-o", str(out))
    assert run.code == 0
    assert run.err.startswith("kb: no similarity edges: 5 of 5 entries have no cached embedding")
    assert run.err.endswith(f"run kb embed\nwrote {out}\n")
    graph = nx.read_graphml(out)
    assert {"llava", "pope", "codev:data4model", "yin:evaluation"} <= set(graph.nodes)
    assert graph.nodes["llava"]["label"] == "LLaVA"
    assert not [e for e in graph.edges(data=True) if e[2]["type"] == "similar"]


def test_graphml_uses_cached_vectors_for_similarity_edges(tmp_path):
    root = make_kb(tmp_path / "kb", SMALL)
    config = load_config(root)
    embed_kb(load_kb(root), config, embedder=HashingEmbedder(model_id=model_identity(config)), progress=False)
    run = run_kb("--root", str(root), "export", "graphml")
    assert (run.code, run.err) == (0, "")
    graph = nx.parse_graphml(run.out)
    similar = [(u, v) for u, v, data in graph.edges(data=True) if data["type"] == "similar"]
    assert len(similar) == 5 * 4  # every entry to each of the four others (k is 10)
    # Gephi and yEd keep one edge per GraphML id: each edge has one of its own.
    ids = re.findall(r'<edge [^>]*\bid="([^"]+)"', run.out)
    assert len(ids) == graph.number_of_edges() == len(set(ids))
    # An entry added since kb embed costs its own similarity edges, not everyone's.
    write_entry(root, {"id": "brand-new", "title": "A Brand New Model", "kind": "model", "date": "2024-03"})
    run = run_kb("--root", str(root), "export", "graphml")
    assert (
        run.err
        == "kb: 1 of 6 entries has no cached embedding yet (brand-new); run kb embed: they have no similarity edges\n"
    )
    graph = nx.parse_graphml(run.out)
    similar = [(u, v) for u, v, data in graph.edges(data=True) if data["type"] == "similar"]
    assert len(similar) == 5 * 4 and "brand-new" not in {u for u, _ in similar}
    # An undated entry has no year (not year 0, which a timeline would place at the start of time).
    assert graph.nodes["brand-new"]["year"] == 2024 and "year" not in graph.nodes["llava"]


def test_node_link_json_loads_with_networkx_defaults(tmp_path):
    root = make_kb(tmp_path / "kb", SMALL)
    run = run_kb("--root", str(root), "graph", "--no-similar", "-o", "-")
    assert run.code == 0, run.err
    graph = nx.node_link_graph(json.loads(run.out))  # no keyword arguments
    assert {"llava", "pope", "yin:evaluation"} <= set(graph.nodes) and graph.number_of_edges() > 0


def test_exports_do_not_import_torch(tmp_path):
    code = (
        "import sys\n"
        "from kb.cli import main\n"
        "for fmt in ('graphml', 'awesome', 'bibtex'):\n"
        f"    main(['--root', {str(REPO)!r}, 'export', fmt, '-o', {str(tmp_path)!r} + '/x.' + fmt],"
        " standalone_mode=False)\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    import errno

    import kb.store
    from kb.errors import KBError
    from kb.store import write_output

    out = tmp_path / "kb.csv"
    out.write_text("old\n", encoding="utf-8")

    def disk_full(src: str, dst: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(kb.store.os, "replace", disk_full)
    with pytest.raises(KBError) as caught:
        write_output(out, "new\n" * 1000)
    assert str(caught.value) == f"cannot write {out}: No space left on device"
    assert out.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["kb.csv"]


def test_a_written_file_keeps_its_mode_and_a_link_stays_a_link(tmp_path):
    from kb.store import write_output

    target = tmp_path / "private.csv"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o600)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_output(link, "new\n")
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_device_is_written_to_not_replaced(tmp_path):
    """-o /dev/stdout (a link to a pipe or a terminal) or a device: replacing it with a file, as
    root may, would break the machine. Here a link to /dev/null, so a regression replaces the link."""
    from kb.store import write_output

    null = tmp_path / "null"
    null.symlink_to("/dev/null")
    write_output(null, "text\n")
    assert null.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("args", [["export", "csv"], ["schema"]])
def test_dash_as_the_output_is_stdout(tmp_path, args):
    run = run_kb("--root", str(REPO), *args, "-o", "-", cwd=tmp_path)
    assert run.code == 0 and run.out and run.err == ""
    assert not (tmp_path / "-").exists()


def test_a_json_export_escapes_what_would_split_a_line_and_reads_back_the_same(tmp_path):
    """A summary may hold U+2028 or NEL (prose); the export writes them escaped, as every kb JSON does."""
    entry = Entry.model_validate(
        {"id": "lines", "title": "Lines", "kind": "model", "summary": "one\u2028two\u0085three"}
    )
    text = to_json([entry])
    assert "\u2028" not in text and "\x85" not in text and "one\\u2028two\\u0085three" in text
    (tmp_path / "e.json").write_text(text, encoding="utf-8")
    assert read_json_export(tmp_path / "e.json") == [entry]

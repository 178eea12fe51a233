"""kb.output: the record of an entry and every format of a list of entries, read back where it can be."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from kb.bibtex import to_bibtex
from kb.errors import UsageError
from kb.output import COLUMNS, entry_record, read_csv, render_entries, text_table, to_csv
from kb.output.cells import csv_text, flatten, guard, list_cell, parse_list_cell, unflatten, unguard
from kb.output.text import md_escape, md_url, one_line
from kb.store import KB, load_kb
from tests.conftest import REPO
from tests.test_query import HOSTILE_TITLE, make_query_kb


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KB:
    return load_kb(make_query_kb(tmp_path_factory.mktemp("kb")))


def records(kb: KB, *, with_suggested: bool = False) -> list[dict[str, object]]:
    return [entry_record(e, kb, with_suggested=with_suggested) for e in kb.entries.values()]


def test_entry_record_is_the_entry_as_plain_data(kb: KB) -> None:
    record = entry_record(kb.entries["llava"], kb)
    assert record == {
        "id": "llava",
        "title": "Visual Instruction Tuning",
        "kind": "model",
        "name": "LLaVA",
        "aliases": ["LLaVA-1"],
        "date": "2023-04-17",
        "year": 2023,
        "venue": "NeurIPS 2023",
        "arxiv": "2304.08485",
        "url": "https://arxiv.org/abs/2304.08485",  # no links.paper: the arXiv page
        "code": "https://github.com/haotian-liu/LLaVA",
        "authors": ["Haotian Liu", "Chunyuan Li"],
        "affiliations": [],
        "modalities": {"input": ["text", "image"], "output": ["text"]},
        "tags": {
            "codev": ["data4model/scaling/up/acquisition"],
            "yin": ["instruction-tuning"],
            "mmllms": {"functional": ["understanding"], "design": ["end-to-end"]},
        },
        "relations": {
            "trained_on": ["coco", "llava-instruct-150k"],
            "evaluated_on": ["pope"],
            "introduces": ["llava-instruct-150k"],
            "builds_on": [],
        },
        "summary": None,
    }
    assert "suggested" not in record
    assert list(COLUMNS)[:3] == ["id", "title", "kind"]


def test_suggested_tags_are_a_separate_field_best_first(kb: KB) -> None:
    record = entry_record(kb.entries["untagged-paper"], kb, with_suggested=True)
    assert record["tags"]["yin"] == []
    assert record["suggested"] == {
        "codev": [
            {"tag": "data4model/usability/eval/understanding", "score": 0.42},
            {"tag": "data4model/scaling/up/diversity", "score": 0.2963},
        ],
        # rlhf (0.04) is stored but is no suggested tag: no filter matches it, no page shows it
        "yin": [{"tag": "hallucination", "score": 0.81}, {"tag": "evaluation", "score": 0.3}],
    }
    assert entry_record(kb.entries["llava"], kb, with_suggested=True)["suggested"] == {"codev": [], "yin": []}


@pytest.mark.parametrize("with_suggested", [False, True])
def test_json_and_jsonl_read_back_equal_the_records(kb: KB, with_suggested: bool) -> None:
    entries = list(kb.entries.values())
    expected = records(kb, with_suggested=with_suggested)
    assert json.loads(render_entries(entries, kb, "json", with_suggested=with_suggested)) == expected
    lines = render_entries(entries, kb, "jsonl", with_suggested=with_suggested).splitlines()
    assert [json.loads(line) for line in lines] == expected


@pytest.mark.parametrize("with_suggested", [False, True])
def test_csv_reads_back_equal_the_records(kb: KB, with_suggested: bool) -> None:
    text = render_entries(list(kb.entries.values()), kb, "csv", with_suggested=with_suggested)
    assert read_csv(text) == records(kb, with_suggested=with_suggested)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][: len(COLUMNS)] == list(COLUMNS)
    assert len(rows) == 1 + len(kb.entries)  # the summary's newline stays inside its quoted cell
    llava = dict(zip(rows[0], rows[1 + list(kb.entries).index("llava")], strict=True))
    assert llava["authors"] == "Haotian Liu; Chunyuan Li"
    assert llava["tags.mmllms.design"] == "end-to-end"
    if with_suggested:
        untagged = dict(zip(rows[0], rows[1 + list(kb.entries).index("untagged-paper")], strict=True))
        assert untagged["suggested.yin"] == "hallucination (0.81); evaluation (0.3)"


def test_csv_of_scored_entries_keeps_the_score_column(kb: KB) -> None:
    text = render_entries([kb.entries["pope"]], kb, "csv", extra={"pope": {"score": 0.75}})
    assert text.splitlines()[0].endswith(",summary,score")
    assert read_csv(text)[0]["score"] == 0.75


def test_csv_list_items_holding_the_separator_survive() -> None:
    record = {"id": "x", "aliases": ["A; B", "C"], "authors": ["[bracketed]"], "affiliations": ["plain"]}
    text = to_csv([record])
    back = read_csv(text)[0]
    assert (back["aliases"], back["authors"], back["affiliations"]) == (["A; B", "C"], ["[bracketed]"], ["plain"])


def test_csv_of_no_entries_is_the_header_alone() -> None:
    assert to_csv([]) == ",".join(COLUMNS) + "\r\n"


def test_yaml_loads_back_equal_the_records(kb: KB) -> None:
    text = render_entries(list(kb.entries.values()), kb, "yaml", with_suggested=True)
    assert yaml.safe_load(text) == records(kb, with_suggested=True)


def test_table_aligns_columns_and_keeps_each_entry_on_one_line(kb: KB) -> None:
    text = render_entries([kb.entries["llava"], kb.entries["hostile"]], kb, "table")
    lines = text.splitlines()
    assert lines[0].split() == ["id", "kind", "date", "title"]
    assert lines[1] == "llava    model   2023-04-17  Visual Instruction Tuning"
    assert lines[2].startswith("hostile  survey  2022-01-05  Pipes | <b>bold</b>")
    assert "semicolons, " in lines[2] and len(lines) == 3
    assert "\u200f" not in text and "\ufffd[2J a mark" in lines[2]  # no escape sequence reaches the terminal
    assert render_entries([], kb, "table") == ""


def test_table_clips_titles_to_a_width_and_shows_scores(kb: KB) -> None:
    record = entry_record(kb.entries["woodpecker"], kb) | {"score": 0.5}
    line = text_table([record], width=60).splitlines()[1]
    assert line.endswith("…") and len(line) == 60
    assert " 0.500 " in line


def test_table_clips_wide_characters_by_the_columns_they_take() -> None:
    from wcwidth import wcswidth

    record = {"id": "cjk", "kind": "model", "date": None, "title": "多模态大语言模型的综述与展望" * 4}
    line = text_table([record], width=60).splitlines()[1]
    assert line.endswith("…") and 58 <= wcswidth(line) <= 60  # a wide character does not fit in one column
    assert text_table([record | {"title": "短い"}], width=60).splitlines()[1].endswith("短い")


def test_markdown_table_escapes_entry_text_and_links_the_paper(kb: KB) -> None:
    text = render_entries([kb.entries["hostile"], kb.entries["coco"]], kb, "markdown")
    lines = text.splitlines()
    assert lines[0] == "| id | title | kind | date | venue |"
    assert len(lines) == 4  # one row each
    hostile = lines[2]
    assert "<b>" not in hostile and "&lt;b&gt;" in hostile
    assert hostile.count(" | ") == 4  # the title's pipe is escaped, so the row keeps five cells
    assert r"\*stars\*" in hostile and "\u200f" not in hostile
    assert "](https://arxiv.org/abs/2201.00001)" in hostile
    assert lines[3] == "| coco | Microsoft COCO: Common Objects in Context | dataset | 2014-05-01 |  |"
    assert md_escape("a_b [c](d) `e`") == r"a\_b \[c\](d) \`e\`"


def test_an_unknown_format_names_the_closest(kb: KB) -> None:
    with pytest.raises(UsageError, match=r"^unknown format 'jsonn'; did you mean 'json'\?$"):
        render_entries([], kb, "jsonn")


def test_rendering_is_the_same_in_every_process(kb: KB) -> None:
    # Within one process set and dict orders repeat themselves; across processes the hash seed
    # changes them, so only fresh processes with different seeds show an order that leaks out.
    code = (
        "import sys\n"
        "from kb.output import FORMATS, render_entries\n"
        "from kb.store import load_kb\n"
        "from pathlib import Path\n"
        "kb = load_kb(Path(sys.argv[1]))\n"
        "for fmt in FORMATS:\n"
        "    sys.stdout.write(render_entries(kb.entries.values(), kb, fmt, with_suggested=True))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, str(kb.root)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1 and "hostile" in outputs.pop()


def test_bibtex_is_kb_bibtex_and_parses(kb: KB) -> None:
    entries = [kb.entries["llava"], kb.entries["pope"], kb.entries["hostile"]]
    text = render_entries(entries, kb, "bibtex")
    assert text == to_bibtex(entries)
    library = bibtexparser.parse_string(text)
    assert len(library.entries) == 3 and not library.failed_blocks


def test_hostile_title_survives_every_data_format(kb: KB, tmp_path: Path) -> None:
    entry = kb.entries["hostile"]
    assert json.loads(render_entries([entry], kb, "json"))[0]["title"] == HOSTILE_TITLE
    assert read_csv(render_entries([entry], kb, "csv"))[0]["title"] == HOSTILE_TITLE
    assert yaml.safe_load(render_entries([entry], kb, "yaml"))[0]["title"] == HOSTILE_TITLE


@given(st.lists(st.text()))
@example([""])
@example(["a", " b"])
@example(["[x]"])
@example(["carriage\rreturn"])  # the csv module quotes only its line end's characters
@example(["=HYPERLINK(1)", "b"])
@example(["'=x"])
@example(["-1"])
def test_any_list_of_strings_survives_one_csv_cell(items: list[str]) -> None:
    # The codec kb query's CSV and kb export's CSV share (kb.output.cells).
    cell = list_cell(items)
    assert parse_list_cell(cell) == items
    ((_,), (written,)) = list(csv.reader(io.StringIO(csv_text(["x"], [[cell]]), newline="")))
    assert unguard(written) == cell
    assert not written.startswith(("=", "+", "@")) and (not written.startswith("-") or written == "-1")


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("'Tis a title", "''Tis a title"),  # so that one apostrophe, never more, comes off
        ("'=x", "''=x"),
        ("-1", "-1"),  # a number runs nothing
        ("+0.5", "+0.5"),
        ("Plain = fine", "Plain = fine"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_guarded_and_reads_back(cell: str, written: str) -> None:
    assert guard(cell) == written and unguard(written) == cell


def test_a_plain_list_cell_is_joined_and_a_hand_written_one_reads() -> None:
    assert list_cell(["Haotian Liu", "Chunyuan Li"]) == "Haotian Liu; Chunyuan Li"
    assert list_cell(["one; two"]) == '["one; two"]'
    assert parse_list_cell("a;b ;  c") == ["a", "b", "c"]
    assert flatten({"tags": {"mmllms": {"design": ["x"]}}, "id": "a"}) == {"tags.mmllms.design": ["x"], "id": "a"}
    assert unflatten({"tags.mmllms.design": ["x"], "id": "a"}) == {"tags": {"mmllms": {"design": ["x"]}}, "id": "a"}


def test_a_carriage_return_in_a_title_stays_in_its_row(kb: KB) -> None:
    record = entry_record(kb.entries["llava"], kb) | {"title": "one\rtwo"}
    text = to_csv([record])
    assert read_csv(text) == [record]
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 2


def test_markdown_of_scored_entries_shows_the_score(kb: KB) -> None:
    text = render_entries([kb.entries["pope"], kb.entries["coco"]], kb, "markdown", extra={"pope": {"score": 0.75}})
    lines = text.splitlines()
    assert lines[:2] == ["| id | title | kind | date | venue | score |", "| --- | --- | --- | --- | --- | --- |"]
    assert lines[2].endswith(" | EMNLP 2023 | 0.750 |") and lines[3].endswith(" |  |  |")


def test_bidirectional_overrides_never_reach_the_terminal_or_markdown() -> None:
    assert one_line("evil\u202etxt.exe\u2066") == "evil\ufffdtxt.exe\ufffd"
    # kb check refuses control characters in entry files; entries made in code are escaped still.
    assert one_line("\x1b]0;x\x07 \x9b2J") == "\ufffd]0;x\ufffd \ufffd2J"
    assert md_escape("a\u202eb") == "a\ufffdb"


def test_a_url_cannot_end_its_link_or_cell_or_open_a_tag() -> None:
    assert md_url("https://e.org/a_(b) c|d\\<i>") == "https://e.org/a_%28b%29%20c%7Cd%5C%3Ci%3E"


@pytest.mark.parametrize(
    "text", ["# Heading?", "- item", "+ more", "12. twelve", "3) three", "> quote", "* star", "---"]
)
def test_a_paragraph_at_the_start_of_a_line_stays_a_paragraph(text: str) -> None:
    """Taxonomy descriptions start lines in the awesome list: none may open a heading, list or quote."""
    from markdown_it import MarkdownIt

    from kb.output.text import md_paragraph

    tokens = [t.type for t in MarkdownIt("commonmark").parse(md_paragraph(text))]
    assert tokens == ["paragraph_open", "inline", "paragraph_close"], (text, md_paragraph(text))


def test_json_escapes_what_would_split_a_line_or_act_on_a_terminal_and_reads_back_the_same() -> None:
    """A summary may hold U+2028 or NEL (it is prose); raw in JSON Lines, str.splitlines and many
    editors would see a line end there."""
    from kb.output.text import json_text

    data = {"summary": "one\u2028two\u0085three", "title": "caf\u00e9 \u5927 \u202e \x9b"}
    text = json_text(data)
    assert text == '{"summary": "one\\u2028two\\u0085three", "title": "café 大 \\u202e \\u009b"}'
    assert json.loads(text) == data and len(text.splitlines()) == 1

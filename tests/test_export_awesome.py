"""The awesome list: AWESOME.md is what kb export awesome writes today; hostile text stays inert."""

from __future__ import annotations

import json
import re

import pytest
from markdown_it import MarkdownIt

from kb.export.awesome import render_awesome
from kb.output.text import md_escape
from kb.store import KB, load_kb
from tests.conftest import REPO, run_kb
from tests.intel_kb import make_kb

HOSTILE = {
    "id": "hostile",
    "title": "Pipes | *stars* _under_ [link](javascript:alert(1)) <script>alert(1)</script> &amp; $x$ `code` \\ ~~no~~",
    "kind": "model",
    "name": "Evil|Name",
    "venue": '<b>Venue</b> | 2024 {: onclick="alert(1)" }',  # attr_list's syntax, which mkdocs enables
    "date": "2024-05",
    "links": {"code": "https://example.org/a_(b)|c"},
    "tags": {"yin": ["hallucination"], "codev": ["model4data/synthesis/creator"]},
}
SMALL = [
    {"id": "old", "title": "Older Work", "kind": "model", "date": "2022-01-02", "tags": {"yin": ["hallucination"]}},
    {"id": "new", "title": "Newer Work", "kind": "method", "date": "2024-03", "tags": {"yin": ["hallucination"]}},
    {"id": "undated", "title": "A Work Without a Date", "kind": "model", "tags": {"yin": ["hallucination"]}},
    {"id": "untagged", "title": "Nobody Classified Me", "kind": "analysis", "date": "2023"},
    {"id": "bench", "title": "A Benchmark", "kind": "benchmark", "tags": {"yin": ["datasets/benchmark"]}},
    {"id": "loose-data", "title": "Loose Data", "kind": "dataset"},
    HOSTILE,
]


def markdown(text: str) -> str:
    """HTML as GitHub would render it, near enough: CommonMark with tables, raw HTML allowed."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[KB, str]:
    kb = load_kb(make_kb(tmp_path_factory.mktemp("kb"), SMALL))
    return kb, render_awesome(kb)


def section(text: str, anchor: str) -> str:
    """The Markdown from a heading's anchor up to the next heading."""
    start = text.index(f'<a id="{anchor}"></a>')
    end = text.find("\n#", start)
    return text[start : end if end != -1 else None]


def test_awesome_md_is_up_to_date():
    committed = (REPO / "AWESOME.md").read_text(encoding="utf-8")
    assert render_awesome(load_kb(REPO)) == committed, (
        "AWESOME.md is out of date with entries/; regenerate it with: kb export awesome -o AWESOME.md"
    )


def test_the_command_writes_the_same_text(tmp_path):
    run = run_kb("export", "awesome")
    assert run.code == 0 and run.err == ""
    assert run.out == (REPO / "AWESOME.md").read_text(encoding="utf-8")


def test_every_link_to_an_anchor_lands_on_one(small):
    _, text = small
    anchors = re.findall(r'<a id="([^"]+)"></a>', text)
    assert len(anchors) == len(set(anchors))
    targets = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert targets and targets <= set(anchors)


def test_hostile_text_is_inert_and_stays_in_its_cells(small):
    _, text = small
    html = markdown(text)
    assert "<script" not in html and "javascript:" not in html.replace("javascript:alert(1)", "")
    assert "<b>" not in html
    assert 'href="javascript:' not in html
    rows = [line for line in text.splitlines() if "Pipes" in line]
    assert len(rows) == 2  # under its yin topic and its codev leaf
    for row in rows:
        table = markdown("| Title | Venue | Date | Links | Tags |\n|---|---|---|---|---|\n" + row + "\n")
        cells = re.findall(r"<td>(.*?)</td>", table, re.S)
        assert len(cells) == 5
        assert "Pipes | *stars* _under_ [link](javascript:alert(1)) &lt;script&gt;" in cells[0]
        assert "&amp;amp; $x$ `code` \\ ~~no~~" in cells[0]
        assert "<strong>Evil|Name</strong>" in cells[0]
        assert cells[1] == "&lt;b&gt;Venue&lt;/b&gt; | 2024 {: onclick=&quot;alert(1)&quot; }"
        assert '<a href="https://example.org/a_%28b%29%7Cc">code</a>' in cells[3]


def test_md_escape_leaves_nothing_live():
    assert md_escape("a|b *c* [d](e) <i> & `f` $g$ \\ ~h~ _i_ {: x}") == (
        "a\\|b \\*c\\* \\[d\\](e) &lt;i&gt; &amp; \\`f\\` &#36;g&#36; \\\\ &#126;h&#126; \\_i\\_ \\{: x\\}"
    )
    assert md_escape("two\nlines") == "two lines"


def test_hostile_text_reads_as_written_under_mkdocs_own_markdown(small):
    """Python-Markdown with the extensions mkdocs.yml enables (attr_list among them): no attribute
    from an entry, and no escape left showing as a backslash."""
    import html as html_module

    import markdown as python_markdown
    import yaml

    extensions = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))["markdown_extensions"]
    _, text = small
    row = next(line for line in text.splitlines() if "Pipes" in line)
    table = "| Title | Venue | Date | Links | Tags |\n|---|---|---|---|---|\n" + row + "\n"
    rendered = python_markdown.markdown(table, extensions=[e for e in extensions if isinstance(e, str)])
    cells = re.findall(r"<td>(.*?)</td>", rendered, re.S)
    assert len(cells) == 5 and not re.search(r"<[^>]*\son\w+=", rendered)  # no event attribute on any tag
    shown = html_module.unescape(re.sub(r"<[^>]+>", "", cells[0]))
    assert HOSTILE["title"] in shown and HOSTILE["name"] in shown  # every character as written, no backslash
    assert html_module.unescape(cells[1]) == HOSTILE["venue"]


def test_rows_of_one_title_in_a_table_say_their_kind(tmp_path):
    """A paper's model and its benchmark share a title: the rows tell them apart; others say no kind."""
    creator = {"codev": ["model4data/synthesis/creator"]}
    pair = [
        {"id": "pair", "title": "Paired Paper", "kind": "model", "tags": creator},
        {"id": "pair-bench", "title": "Paired Paper", "kind": "benchmark", "name": "Paired", "tags": creator},
    ]
    text = render_awesome(load_kb(make_kb(tmp_path / "kb", [*SMALL, *pair])))
    rows = [line for line in section(text, "codev-model4data-synthesis-creator").splitlines() if "Paired" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| Paired Paper (model)", "| Paired Paper (benchmark)"]
    assert "(model)" not in section(text, "yin-hallucination")


def test_sections_order_rows_newest_first_and_place_every_entry(small):
    kb, text = small
    topic = section(text, "yin-hallucination")
    assert topic.index("Newer Work") < topic.index("Older Work") < topic.index("A Work Without a Date")
    assert "Nobody Classified Me" in section(text, "unclassified-analysis")
    assert "Nobody Classified Me" not in section(text, "yin-hallucination")
    assert "A Benchmark" in section(text, "yin-datasets-benchmark")
    assert "Loose Data" in section(text, "more-dataset")
    assert "_No entries yet._" in section(text, "more-benchmark")
    for entry in kb.entries.values():
        assert md_escape(entry.title) in text


def test_the_tag_table_counts_curated_tags_with_sections_summing_their_leaves(small):
    _, text = small
    assert "| yin | [Multimodal Hallucination](#yin-hallucination) | `hallucination` | 4 |" in text
    assert "| codev | [Model4Data](#codev-model4data) | `model4data` | 1 |" in text
    assert "| yin | [Datasets](#yin-datasets) | `datasets` | 1 |" in text


def test_order_of_files_and_machine_suggestions_change_nothing(small, tmp_path):
    kb, text = small
    reordered = KB(root=kb.root, taxonomies=kb.taxonomies, entries=dict(reversed(list(kb.entries.items()))))
    assert render_awesome(reordered) == text
    suggestions = {
        "model": "m",
        "recipe": 1,
        "entries": {"untagged": {"yin": [{"tag": "hallucination", "score": 0.99}]}},
    }
    root = make_kb(tmp_path / "kb", SMALL)
    (root / "entries" / "suggestions.json").write_text(json.dumps(suggestions), encoding="utf-8")
    suggested = load_kb(root)
    assert "untagged" in suggested.suggestions
    assert render_awesome(suggested) == text

"""The pure renderer (kb.site.render_site) on a small KB: page contents, the web contract, and
hostile entry text that must arrive everywhere as inert text.

The Markdown is rendered with Python-Markdown and the extensions mkdocs.yml enables, then parsed:
no element made from entry text may carry an event handler, a script, an image or a javascript: link.
KB_REGEN_GOLDEN=1 rewrites the golden page under tests/golden_site/.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.graph import build_graph, neighbourhood, to_graphology
from kb.schema import Entry
from kb.site import render_site
from kb.site.data import neighbourhood_json
from kb.site.escape import escape_text, front_matter_text, to_json
from kb.store import KB
from kb.taxonomy import load_taxonomies
from tests.conftest import REPO
from tests.intel_kb import HashingEmbedder

GOLDEN = Path(__file__).parent / "golden_site"
EXTENSIONS = ["tables", "attr_list", "admonition", "toc", "meta"]

HOSTILE_TITLES = [
    "<img src=x onerror=alert(1)>",
    "</title><script>alert(3)</script>",
    "[click](javascript:alert(4)) and ![i](x)",
    "*em* _u_ `code` ~~s~~ **b** <b>bold</b> &amp; &lt;",
    "{: onclick=alert(5) } | a | b |",
    '"><svg onload=alert(6)>',
    "# not a heading - not a list",
    "1. not a list either",
    "attributes at the end {: onclick=alert(7) }",
]


# Valid urls that Markdown would read as links inside an href, and a backslash escape.
HOSTILE_LINKS = {
    "code": "https://evil.example/[x](onmouseover=alert(8)//)",
    "data": "https://evil.example/![i](y)?a=1&b=2",
    "demo": r"https://evil.example/\_a_b_/*c*/",
    # A backtick the schema takes: the page had dropped the link (and so the arXiv one in its place).
    "paper": "https://evil.example/a`onmouseover=alert(8)`",
}


def _entry(**fields: object) -> Entry:
    return Entry.model_validate(fields)


def small_kb(root: Path, *, suggestions: bool) -> KB:
    """Nine entries (hostile ones included) with tags, relations and, when asked, suggestions."""
    kb = KB(root=root, taxonomies=load_taxonomies(REPO / "entries" / "taxonomies"))
    entries = [
        _entry(
            id="llava",
            title="Visual Instruction Tuning",
            kind="model",
            name="LLaVA",
            arxiv="2304.08485",
            date="2023-04-17",
            venue="NeurIPS 2023",
            authors=["Haotian Liu", "Chunyuan Li"],
            affiliations=["University of Wisconsin–Madison"],
            links={"paper": "https://arxiv.org/abs/2304.08485", "code": "https://github.com/haotian-liu/LLaVA"},
            modalities={"input": ["text", "image"], "output": ["text"]},
            tags={
                "codev": ["data4model/scaling/up/acquisition"],
                "yin": ["instruction-tuning"],
                "mmllms": {"functional": ["understanding"], "design": ["end-to-end"]},
            },
            architecture={"modality_encoder": "CLIP ViT-L/14", "llm_backbone": "Vicuna-13B"},
            relations={"introduces": ["llava-instruct"], "evaluated_on": ["mmbench"]},
            added="2024-01-02",
            provenance=[
                {"source": "seed-yin", "fields": ["title", "tags.yin"]},
                {"source": "seed-mmllms", "fields": ["tags.mmllms.functional", "modalities.input", "architecture"]},
                {"source": "contributor", "fields": ["tags.codev", "tags.yin"], "note": "checked by hand"},
            ],
        ),
        _entry(
            id="llava-instruct",
            title="LLaVA-Instruct-150K",
            kind="dataset",
            date="2023-04",
            modalities={"input": ["image", "text"]},
            added="2024-01-03",
        ),
        _entry(
            id="mmbench",
            title="MMBench: Is Your Multi-modal Model an All-around Player?",
            kind="benchmark",
            date="2023-07-12",
            summary=(
                "A benchmark of many skills.\n\nIts questions are multiple choice,\n- a line like a list item."
                "\n\n    An indented paragraph &amp; *not* code."
            ),
            aliases=["Zörblax Bench 斑马"],
            tags={"yin": ["evaluation"]},
            added="2024-01-04",
        ),
        _entry(
            id="untagged-work",
            title="A Work Nobody Tagged Yet",
            kind="method",
            date="2024-05-06",
            relations={"evaluated_on": ["mmbench"]},
            added="2024-02-01",
        ),
    ]
    for i, title in enumerate(HOSTILE_TITLES):
        entries.append(
            _entry(
                id=f"hostile-{i}",
                title=title,
                kind="benchmark" if i % 2 else "model",
                name=title,
                venue=title,
                authors=[title],
                affiliations=[title],
                aliases=[title],
                summary=title,
                date="2024-03-01",
                added="2024-03-02",
                tags={"yin": ["evaluation"]},
                relations={"evaluated_on": ["mmbench"]} if i % 2 == 0 else {},
                links=HOSTILE_LINKS,
                architecture={"llm_backbone": title} if i % 2 == 0 else None,
                # An odd one says why in its provenance, which the page shows on hover.
                provenance=[{"source": "contributor", "fields": ["tags.yin"], "note": title}] if i % 2 else [],
            )
        )
    kb.entries = {e.id: e for e in entries}
    if suggestions:
        (root / "entries").mkdir(parents=True, exist_ok=True)
        (root / "entries" / "suggestions.json").write_text(
            json.dumps(
                {
                    "model": "test",
                    "recipe": 1,
                    "entries": {
                        "untagged-work": {
                            "codev": [{"tag": "model4data/synthesis/creator", "score": 0.61}],
                            "yin": [{"tag": "hallucination", "score": 0.42}, {"tag": "rlhf", "score": 0.01}],
                        },
                    },
                }
            ),
            encoding="utf-8",
        )
    return kb


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[KB, dict[str, str]]:
    from kb.cli import main
    from kb.embed import Vectors

    kb = small_kb(tmp_path_factory.mktemp("kb"), suggestions=True)
    ids = list(kb.entries)
    matrix = HashingEmbedder().embed([kb.entries[i].title for i in ids])
    graph = build_graph(kb, Vectors(ids, matrix, model="hashing-64"), k=3)
    return kb, render_site(kb, graph, commands=main)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside <h1>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1.append(data)


def _html_of(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(markdown.markdown(page, extensions=EXTENSIONS))
    return parser


def _assert_inert(parsed: _Elements, where: str) -> None:
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "img", "svg", "b", "iframe") or (
            tag == "svg" and "kb-growth" in (attrs.get("class") or "")
        ), (where, tag)
        assert not [a for a in attrs if a.startswith("on")], (where, tag, attrs)
        href = (attrs.get("href") or "").strip().lower()
        assert not href.startswith("javascript"), (where, href)


# ---------------------------------------------------------------- escaping


def test_every_page_keeps_hostile_text_inert(rendered) -> None:
    _, files = rendered
    pages = {p: t for p, t in files.items() if p.endswith(".md")}
    assert len(pages) > 60
    for path, text in pages.items():
        # The body is Markdown. The front matter is YAML whose title and tags material writes into
        # HTML as they are (the tags into search results): they must hold no markup.
        front, body = text[4:].split("\n---\n", 1) if text.startswith("---\n") else ("", text)
        _assert_inert(_html_of(body), path)
        for raw in ("<img", "<script", "<svg onload", "](javascript", "<b>", "*em*", "![i]"):
            assert raw not in body, (path, raw)
        meta = yaml.safe_load(front) or {}
        for value in [meta.get("title", ""), *meta.get("tags", [])]:
            assert "<" not in value and ">" not in value, (path, value)


@pytest.mark.parametrize("index", range(len(HOSTILE_TITLES)))
def test_a_hostile_title_is_the_heading_text_and_the_front_matter_text(rendered, index: int) -> None:
    _, files = rendered
    page = files[f"entries/hostile-{index}.md"]
    md = markdown.Markdown(extensions=EXTENSIONS)
    out = md.convert(page)
    parser = _Elements()
    parser.feed(out)
    title = " ".join(HOSTILE_TITLES[index].split())
    assert "".join(parser.h1) == title
    # material prints the front matter title raw into <title>: it must be HTML-escaped there.
    assert html.unescape(yaml.safe_load(md.Meta["title"][0])) == title
    assert "<" not in yaml.safe_load(md.Meta["title"][0])


def test_page_tags_hold_names_as_written_for_the_search_index(rendered) -> None:
    """material's search indexes a page's tags as they are written, and boosts them: a name written
    as character references ("Z&#246;rblax") was never matched by a search for it."""
    _, files = rendered
    front = files["entries/mmbench.md"][4:].split("\n---\n", 1)[0]
    assert "Zörblax Bench 斑马" in yaml.safe_load(front)["tags"]


def test_front_matter_text_keeps_quotes_as_the_search_index_takes_a_heading() -> None:
    """An entry page's search result takes its title from the front matter: escaped quotes there
    ("Don&#x27;t") were words no query matched, where the heading's text had held them as typed."""
    text = 'Know What You Don\'t Know: "Zero-Shot" & <b>'
    assert yaml.safe_load(front_matter_text(text)) == 'Know What You Don\'t Know: "Zero-Shot" &amp; &lt;b&gt;'


def test_a_page_title_names_the_entry_and_tells_apart_a_shared_title(rendered, tmp_path: Path) -> None:
    """Tabs, history and search results show the page title: the name leads when the title lacks
    it, and the kind follows when another entry has the same title. The heading stays the title; its
    text is kept out of material's search index, which then titles the result with the page title."""
    import networkx as nx

    from kb.site.model import SiteModel

    _, files = rendered
    md = markdown.Markdown(extensions=EXTENSIONS)
    parser = _Elements()
    parser.feed(md.convert(files["entries/llava.md"]))
    assert html.unescape(yaml.safe_load(md.Meta["title"][0])) == "LLaVA: Visual Instruction Tuning"
    assert "".join(parser.h1) == "Visual Instruction Tuning"
    assert [tag for tag in parser.tags if "data-search-exclude" in tag[1]] == [("span", {"data-search-exclude": None})]

    work = _entry(id="seed-bench", title="SEED-Bench: A Benchmark", kind="analysis", name="SEED-Bench")
    bench = _entry(id="seed-bench-2", title="SEED-Bench: A Benchmark", kind="benchmark", name="SEED-Bench")
    kb = KB(root=tmp_path, taxonomies=load_taxonomies(REPO / "entries" / "taxonomies"))
    kb.entries = {e.id: e for e in (work, bench)}
    model = SiteModel(kb, nx.MultiDiGraph(), {}, {}, {}, {}, {})
    assert [model.page_title(e) for e in (work, bench)] == [
        "SEED-Bench: A Benchmark (analysis)",
        "SEED-Bench: A Benchmark (benchmark)",
    ]


def test_the_search_script_knows_every_kind_a_page_title_may_end_with() -> None:
    """web/src/search.js reads a paper's title back out of a page title ("... (dataset)") to list the
    pages of a pasted title first: a kind it did not know would leave such a page among the rest."""
    from kb.schema import Kind

    script = (REPO / "web" / "src" / "search.js").read_text(encoding="utf-8")
    found = re.search(r"const KIND = / \\\(\(\?:([a-z|]+)\)\\\)\$/;", script)
    assert found is not None
    assert sorted(found.group(1).split("|")) == sorted(k.value for k in Kind)


def test_a_summarys_paragraphs_stay_paragraphs_of_text(rendered) -> None:
    _, files = rendered
    out = markdown.markdown(files["entries/mmbench.md"], extensions=EXTENSIONS)
    paragraphs = [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", out, re.S)]
    assert "A benchmark of many skills." in paragraphs
    assert "Its questions are multiple choice, - a line like a list item." in paragraphs
    assert not re.search(r"<li>[^<]*a line like a list", out)
    # Four spaces would have made a code block, showing the escaper's references as text.
    assert "An indented paragraph &amp; *not* code." in paragraphs
    assert "<pre>" not in out and "<code>" not in out


def test_link_hrefs_are_the_urls_as_written(rendered) -> None:
    """Each link of an entry survives Markdown as one <a> whose href means the url written."""
    from urllib.parse import unquote

    _, files = rendered
    parsed = _html_of(files["entries/hostile-0.md"])
    hrefs = [a.get("href") or "" for tag, a in parsed.tags if tag == "a" and "evil.example" in (a.get("href") or "")]
    assert sorted(unquote(h) for h in hrefs) == sorted(HOSTILE_LINKS.values())
    assert not [h for h in hrefs if any(c in h for c in "[]()\\`")]


def test_golden_hostile_entry_page(rendered) -> None:
    _, files = rendered
    golden = GOLDEN / "hostile-0.md"
    if os.environ.get("KB_REGEN_GOLDEN"):
        golden.write_text(files["entries/hostile-0.md"], encoding="utf-8")
        pytest.skip("regenerated tests/golden_site/hostile-0.md: read its diff")  # never a silent pass
    assert files["entries/hostile-0.md"] == golden.read_text(encoding="utf-8")


def test_json_data_holds_hostile_text_as_data_never_as_markup(rendered) -> None:
    _, files = rendered
    for path, text in files.items():
        if path.endswith(".json"):
            assert "<" not in text and ">" not in text, path
    rows = json.loads(files["assets/data/table.json"])
    assert {r["title"] for r in rows} >= set(HOSTILE_TITLES)
    graph = json.loads(files["assets/data/graph.json"])
    assert {n["attributes"]["label"] for n in graph["nodes"]} >= set(HOSTILE_TITLES)


# Unicode noncharacters (U+FDD0..U+FDEF, U+xFFFE/U+xFFFF) are left out: html.unescape drops their
# character references by the HTML spec's table, while browsers show them; no title holds them.
_NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(p << 16 | 0xFFFE | b) for p in range(17) for b in (0, 1)
]
_TEXT = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=_NONCHARACTERS)


@given(st.text(_TEXT, min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_escaped_text_renders_as_itself(text: str) -> None:
    text = " ".join(text.split())
    if not text:
        return
    parser = _Elements()
    parser.feed(markdown.markdown(f"# {escape_text(text)}", extensions=EXTENSIONS))
    assert "".join(parser.h1) == text
    assert [t for t, _ in parser.tags] == ["h1"]
    assert html.unescape(yaml.safe_load(front_matter_text(text))) == text


def test_to_json_round_trips_and_escapes_markup_characters() -> None:
    data = {"title": "</script><b>&</b>", "n": [1, 2.5, None]}
    text = to_json(data)
    assert "<" not in text and "&" not in text
    assert json.loads(text) == data


# ---------------------------------------------------------------- pages


def test_entry_page_shows_facts_tags_relations_and_neighbours(rendered) -> None:
    _, files = rendered
    page = files["entries/llava.md"]
    assert "\n# <span data-search-exclude>Visual Instruction Tuning</span>\n" in page
    assert 'tags:\n  - "LLaVA"\n  - "Data4Model"\n' in page  # its name, then curated tag names, for search
    assert "Haotian Liu, Chunyuan Li" in page
    assert '<a href="https://github.com/haotian-liu/LLaVA">code</a>' in page
    assert "| Modality encoder | CLIP ViT&#45;L/14 |" in page
    assert "[Yin et al&#46;&#58; Multimodal Instruction Tuning](../taxonomy/yin/instruction-tuning.md)" in page
    assert "**Introduces:** [LLaVA&#45;Instruct&#45;150K](llava-instruct.md)" in page
    assert "**Evaluated on:** [MMBench" in page
    assert "## Nearest neighbours" in page
    assert '<div class="kb-mini-graph" data-src="../../assets/data/nbhd/llava.json"><noscript>' in page
    dataset = files["entries/mmbench.md"]
    assert "**Used to evaluate:** " in dataset and "(untagged-work.md)" in dataset
    assert "**Introduced in:** [LLaVA](llava.md)" in files["entries/llava-instruct.md"]


def test_curated_tags_say_where_they_came_from(rendered) -> None:
    """Each curated tag names the sources its entry's provenance gives for that taxonomy's tags, with
    what they note of them on hover; an entry without provenance shows its tags without a source."""
    _, files = rendered
    curated = files["entries/llava.md"].partition("## Taxonomy")[2].partition("Suggested")[0]
    noted = '<span class="kb-source" title="checked by hand">(from {})</span>'
    acquisition = "(../taxonomy/codev/data4model/scaling/up/acquisition.md) "
    assert acquisition + noted.format("kb&#39;s contributors") in curated
    both = "the MLLM survey&#39;s list, kb&#39;s contributors"
    assert "(../taxonomy/yin/instruction-tuning.md) " + noted.format(both) in curated
    plain = '<span class="kb-source">(from the MM&#45;LLMs tracker)</span>'
    assert "(../taxonomy/mmllms/design/end-to-end.md) " + plain in curated
    assert "kb-source" not in files["entries/hostile-0.md"]


def test_suggested_tags_are_shown_apart_with_their_scores(rendered) -> None:
    _, files = rendered
    page = files["entries/untagged-work.md"]
    assert "No curated tags yet." in page
    curated, _, suggested = page.partition("Suggested by the classifier")
    assert "model4data" not in curated
    assert (
        '(../taxonomy/codev/model4data/synthesis/creator.md) <span class="kb-suggested kb-score">0.61</span>'
        in suggested
    )
    assert 'hallucination.md) <span class="kb-suggested kb-score">0.42</span>' in suggested
    assert "rlhf" not in suggested  # below the floor of kb.graph's suggestions
    node = files["taxonomy/yin/hallucination.md"]
    assert "## Suggested entries" in node and '<span class="kb-score">0.42</span>' in node
    assert "No entry carries this tag yet." in node
    assert "**0** entries carry this tag or one below it; **1** more is suggested by the classifier." in node


def test_suggestions_in_a_taxonomy_now_curated_are_not_on_the_site(tmp_path: Path) -> None:
    """suggestions.json written before mmbench got its curated yin tag: its yin suggestions are stale
    and on no page, table row or graph edge; its codev ones stand (audit)."""
    kb = small_kb(tmp_path, suggestions=True)
    path = tmp_path / "entries" / "suggestions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["entries"]["mmbench"] = {
        "codev": [{"tag": "model4data/synthesis/creator", "score": 0.5}],
        "yin": [{"tag": "hallucination", "score": 0.9}],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    graph = build_graph(kb, None, layout=False)
    files = render_site(kb, graph)
    row = next(r for r in json.loads(files["assets/data/table.json"]) if r["id"] == "mmbench")
    assert row["suggested"] == {"codev": [{"tag": "model4data/synthesis/creator", "score": 0.5}], "yin": []}
    _, _, suggested = files["entries/mmbench.md"].partition("Suggested by the classifier")
    assert "synthesis/creator.md" in suggested and "hallucination" not in suggested
    node = files["taxonomy/yin/hallucination.md"]
    assert "**0** entries carry this tag or one below it; **1** more is suggested by the classifier." in node
    assert not graph.has_edge("mmbench", "yin:hallucination")


def test_zero_shot_suggestions_are_shown_as_zero_shot_and_never_as_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a KB with curated labels of one leaf at most, kb suggest --all writes the zero-shot
    fallback's shares of one, which the pages had listed and marked as suggested, as if each were
    the leaf's own probability (audit): suggestions.json now says which taxonomies are zero-shot,
    and the pages say so and mark none as suggested, entry text escaped as everywhere."""
    from kb.store import load_kb
    from kb.tags import suggested_tags
    from tests.intel_kb import make_kb
    from tests.test_suggest_cli import invoke_with_stand_in

    tox = "data4model/usability/ethic/toxicity"
    entries: list[dict[str, object]] = [
        {"id": "jail", "title": "Jailbreak attacks on multimodal models", "kind": "method", "tags": {"codev": [tox]}},
        *(
            {"id": f"hostile-{i}", "title": t, "kind": "method", "date": "2024-03-01"}
            for i, t in enumerate(HOSTILE_TITLES)
        ),
    ]
    root = make_kb(tmp_path, entries)
    code, _, err = invoke_with_stand_in(monkeypatch, root, "suggest", "--all")
    assert code == 0, err
    kb = load_kb(root)
    files = render_site(kb, build_graph(kb, None, layout=False))
    page = files["entries/hostile-0.md"]
    assert "Suggested by the classifier" not in page and "kb-suggested" not in page
    written = json.loads((root / "entries" / "suggestions.json").read_text(encoding="utf-8"))
    assert written["zero_shot"] == ["codev", "yin"]
    assert (
        "Zero-shot, none suggested: Co&#45;development and Yin et al&#46; have too few curated labels to learn "
        "from, so each score is a share of one across the leaves"
    ) in page
    shown = suggested_tags(kb, "hostile-0")
    assert shown["codev"] and page.count('<span class="kb-zero-shot kb-score">') == sum(map(len, shown.values()))
    nodes = {path: text for path, text in files.items() if path.startswith("taxonomy/") and "## Zero-shot" in text}
    assert nodes and not any(
        "Suggested entries" in text or "suggested by the classifier" in text for text in nodes.values()
    )
    node = next(iter(nodes.values()))
    assert "more are matched zero-shot, too few curated labels to learn from." in node
    assert "<th>Zero-shot</th>" in node and '<span class="kb-zero-shot kb-score">' in node
    index = files["taxonomy/index.md"]
    codev = index.partition("{ #codev }")[2].partition("{ #yin }")[0]
    assert "\n\nToo few curated labels to learn from: the classifier's scores here are zero-shot" in codev
    assert " zero-shot\n" in codev and " suggested\n" not in codev
    for path, text in {"entries/hostile-0.md": page, "taxonomy/index.md": index, **nodes}.items():
        _assert_inert(_html_of(text.partition("\n---\n")[2] if text.startswith("---\n") else text), path)
        for raw in ("<img", "<script", "<svg onload", "](javascript", "<b>", "*em*", "![i]"):
            assert raw not in text, (path, raw)


def test_a_suggested_tag_shows_what_it_rests_on_escaped_and_linked(rendered) -> None:
    from kb.classify import Evidence

    kb, plain = rendered
    graph = build_graph(kb, None, layout=False)
    creator = "model4data/synthesis/creator"
    why = {"untagged-work": {"codev": {creator: Evidence(["<b>synthetic</b>"], [("llava", 0.9), ("gone", 0.5)])}}}
    page = render_site(kb, graph, why=why)["entries/untagged-work.md"]
    line = next(x for x in page.splitlines() if f"{creator}.md" in x)
    assert line.endswith(
        '0.61</span> <span class="kb-why">— words: &lt;b&gt;synthetic&lt;/b&gt;; like: [LLaVA](llava.md)</span>'
    )
    assert "then the words of this entry that are the tag's keywords" in page
    assert " — " not in plain["entries/untagged-work.md"] and "then the words" not in plain["entries/untagged-work.md"]


def _cluster_report():  # noqa: ANN202 - kb.cluster's report, built by hand for the small KB
    from kb.cluster import Candidate, Cluster, ClusterReport, ReviewItem

    hostile = [f"hostile-{i}" for i in range(len(HOSTILE_TITLES))]
    works = 1 + len(hostile[::2])
    tagged = Cluster(
        id="L2-00",
        level=2,
        size=1 + len(hostile),
        members=["llava", *hostile],
        parent=None,
        terms=["<script>alert(1)</script>", "evaluation"],
        nearest_nodes={"yin": [("yin:evaluation", 0.71)], "codev": [("codev:data4model", 0.5)]},
        fit=0.71,
        cohesion=0.8,
        curated={"yin": {"works": {"evaluation": works - 1, "instruction-tuning": 1}}},
        labelled={"yin": {"works": works}},
    )
    loose = Cluster("L2-01", 2, 2, ["mmbench", "untagged-work"], None, ["nothing"], {"yin": []}, 0.2, 0.5, {}, {})
    sides = {"instruction-tuning": ["llava"], "evaluation": hostile[::2]}
    return ClusterReport(
        levels=[2],
        clusters=[tagged, loose],
        candidates=[
            Candidate("L2-00", "yin", "straddles", "...", tagged.terms, tagged.members, "works", sides),
            Candidate("L2-01", None, "fits-none", "...", loose.terms, loose.members),
        ],
        review=[ReviewItem("hostile-0", "yin", ["evaluation"], ["instruction-tuning"], "...", 0.8, ["llava"])],
    )


def test_the_clusters_page_links_what_it_found_and_keeps_hostile_text_inert(rendered) -> None:
    kb, plain = rendered
    page = render_site(kb, build_graph(kb, None, layout=False), clusters=_cluster_report())["clusters.md"]
    _assert_inert(_html_of(page), "clusters.md")
    assert "<script" not in page and "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;" in page
    straddle = next(line for line in page.splitlines() if line.startswith('| <a href="#l2-00">'))
    works = 1 + len(HOSTILE_TITLES[::2])  # LLaVA and the hostile models
    assert (
        f"of its {works} labelled works, 1 [Multimodal Instruction Tuning](taxonomy/yin/instruction-tuning.md)"
        in straddle
    )
    # Each side's entries, a side a line: LLaVA alone under Instruction Tuning, the hostile works
    # under Evaluation, the first four shown and the fifth folded away.
    assert "<strong>Multimodal Instruction Tuning</strong>: [LLaVA](entries/llava.md)<br>" in straddle
    assert (
        "<strong>Evaluation</strong>: [&lt;img src&#61;x onerror&#61;alert&#40;1&#41;&gt;](entries/hostile-0.md)"
        in straddle
    )
    folded = straddle.split('<details class="kb-more"><summary>and 1 more</summary>', 1)[1].split("</details>")[0]
    assert re.fullmatch(r"\[[^\]]*\]\(entries/hostile-8\.md\)", folded), folded
    assert "hostile-1.md" not in straddle  # a benchmark is not one of the works that part
    loose = next(line for line in page.splitlines() if line.startswith('| <a href="#l2-01">'))
    assert "fits no node well</strong>: best similarity 0.20" in loose
    review = next(line for line in page.splitlines() if line.startswith("| [&lt;img"))
    assert review.endswith(
        "| [Evaluation](taxonomy/yin/evaluation.md) | [Multimodal Instruction Tuning]"
        "(taxonomy/yin/instruction-tuning.md) | 0.80 |"
    )
    assert f'| <span id="l2-00"></span>L2&#45;00 | {1 + len(HOSTILE_TITLES)} |' in page  # where the finding links
    assert "No clustering on this site" in plain["clusters.md"]


def test_pages_work_without_a_suggestions_file(tmp_path: Path) -> None:
    kb = small_kb(tmp_path, suggestions=False)
    files = render_site(kb, build_graph(kb, None, layout=False))
    assert "Suggested by the classifier" not in files["entries/untagged-work.md"]
    assert json.loads(files["assets/data/table.json"])[0]["suggested"] == {"codev": [], "yin": []}


def test_node_page_counts_the_subtree_and_charts_growth(rendered) -> None:
    _, files = rendered
    page = files["taxonomy/codev/data4model.md"]
    assert "**1** entry carries this tag or one below it" in page
    assert "[Data for scaling MLLMs](data4model/scaling.md) (1)" in page
    assert '<svg class="kb-growth"' in page and "<td>2023</td><td>1</td><td>0</td>" in page
    evaluation = files["taxonomy/yin/evaluation.md"]
    assert f"**{1 + len(HOSTILE_TITLES)}** entries carry this tag" in evaluation


def test_every_markdown_link_points_at_a_rendered_page(rendered) -> None:
    _, files = rendered
    docs = {p.relative_to(REPO / "docs").as_posix() for p in (REPO / "docs").rglob("*.md")}
    known = set(files) | docs
    for path, text in files.items():
        if not path.endswith(".md"):
            continue
        for target in re.findall(r"\]\(([^)#]+\.(?:md|xml|json))(?:#[^)]*)?\)", text):
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), target)).replace(os.sep, "/")
            assert resolved in known, (path, target)


def test_overview_pages(rendered) -> None:
    kb, files = rendered
    table = files["entries/index.md"]
    assert '<div class="kb-all-entries" data-src="../assets/data/table.json"><noscript>' in table
    assert table.count("](") == len(kb.entries)
    assert '<div class="kb-global-graph" data-src="../assets/data/graph.json"><noscript>' in files["graph.md"]
    timeline = files["timeline.md"]
    assert "<th>Quarter</th>" in timeline and "2023 Q2" in timeline and "background: rgba(" in timeline
    # what each map leaves out is said, and no quarter is skipped between the first and the last (audit)
    bare = sum(1 for e in kb.entries.values() if not (e.modalities.input or e.modalities.output))
    assert (
        bare and f"{bare} of the {len(kb.entries)} entries have no modalities recorded and are not counted" in timeline
    )
    assert "are undated" not in timeline and "no date to the month" not in timeline  # every one is dated
    shown = re.findall(r'<th scope="row">([0-9]{4} Q[1-4])</th>', timeline)
    steps = {(int(b[:4]) * 4 + int(b[-1])) - (int(a[:4]) * 4 + int(a[-1])) for a, b in itertools.pairwise(shown)}
    assert len(shown) > 4 and steps == {1}
    datasets = files["datasets.md"]
    assert "| 1 | [MMBench" in datasets  # the most used benchmark comes first
    assert "## Most connected works" in datasets
    assert "| 1: [LLaVA](entries/llava.md) |" in datasets
    assert re.search(
        r"\| 7: (\[[^]]*\]\(entries/[a-z0-9-]+\.md\), ){4}\[[^]]*\]\(entries/[a-z0-9-]+\.md\), and 2 more \|", datasets
    )
    taxonomy = files["taxonomy/index.md"]
    assert "## Data&#45;model co&#45;development of MLLMs { #codev }" in taxonomy


def test_reference_pages_cover_every_field_setting_and_command(rendered) -> None:
    import click

    from kb.cli import main
    from kb.config import Config
    from kb.site.reference import iter_commands

    _, files = rendered
    schema = files["reference/schema.md"]
    for name in Entry.model_fields:
        assert f"| `{name}` |" in schema
    config = files["reference/config.md"]
    for name in Config.model_fields:
        assert f"| `{name}` | `KB_{name.upper()}` |" in config
    cli = files["reference/cli.md"]
    names = [name for name, _, _ in iter_commands(main)]
    assert {"kb build", "kb serve", "kb graph", "kb check"} <= set(names)
    for name in names:
        assert f"## {name}\n" in cli
    assert isinstance(main, click.Group)
    # Each command's text is what `--help` prints, -h included (it showed --help alone).
    from click.testing import CliRunner

    real = CliRunner().invoke(main, ["check", "--help"], prog_name="kb", terminal_width=100).output
    assert real.strip() in cli and "-h, --help" in real


def test_feed_lists_recent_entries_newest_first(rendered) -> None:
    kb, files = rendered
    root = ET.fromstring(files["feed.xml"].encode("utf-8"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.findtext("a:title", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert len(titles) == len(kb.entries)
    assert set(titles) >= {" ".join(t.split()) for t in HOSTILE_TITLES}
    updated = [e.findtext("a:updated", namespaces=ns) for e in root.findall("a:entry", ns)]
    assert updated == sorted(updated, reverse=True)
    assert titles[-1] == "Visual Instruction Tuning"


def test_feed_has_what_atom_requires_and_ids_that_the_site_url_leaves_alone(rendered) -> None:
    """RFC 4287: an author for the feed or for every entry; ids that never change."""
    from kb.site.feed import render_feed

    kb, _ = rendered
    ns = {"a": "http://www.w3.org/2005/Atom"}
    plain = ET.fromstring(render_feed(kb).encode("utf-8"))
    hosted = ET.fromstring(render_feed(kb, "https://example.org/kb/").encode("utf-8"))
    assert plain.findtext("a:author/a:name", namespaces=ns) == "kb contributors"
    ids = [[e.findtext("a:id", namespaces=ns) for e in feed.findall("a:entry", ns)] for feed in (plain, hosted)]
    assert ids[0] == ids[1] and "tag:kb,2024:entry/llava" in ids[0]
    assert plain.findtext("a:id", namespaces=ns) == hosted.findtext("a:id", namespaces=ns)
    link = hosted.find("a:entry/a:link", ns)
    assert link is not None and link.get("href", "").startswith("https://example.org/kb/entries/")


def test_feed_replaces_what_xml_cannot_hold(tmp_path: Path) -> None:
    """The schema refuses control characters; an Entry made in code without validation may still hold one."""
    from kb.site.feed import render_feed

    kb = KB(root=tmp_path, taxonomies=load_taxonomies(REPO / "entries" / "taxonomies"))
    bad = "Evil \x1b]0;pwned\x07 \x0c title"
    ctl = _entry(id="ctl", title="Fine", kind="model", added="2024-01-01")
    kb.entries = {"ctl": ctl.model_copy(update={"title": bad, "summary": bad, "authors": [bad]})}
    entry = ET.fromstring(render_feed(kb).encode("utf-8")).find("{http://www.w3.org/2005/Atom}entry")
    assert entry is not None
    assert entry.findtext("{http://www.w3.org/2005/Atom}title") == "Evil \ufffd]0;pwned\ufffd title"


# ---------------------------------------------------------------- the web contract


def test_table_rows_follow_the_web_contract(rendered) -> None:
    _, files = rendered
    rows = {r["id"]: r for r in json.loads(files["assets/data/table.json"])}
    llava = rows["llava"]
    contract = {"id", "title", "kind", "date", "year", "venue", "modalities", "arxiv", "url", "curated", "suggested"}
    assert contract <= set(llava)
    assert llava["url"] == "entries/llava/" and llava["year"] == 2023
    # Affiliations, for the text filter, only where an entry has some: the file stays small.
    assert llava["affiliations"] == ["University of Wisconsin–Madison"] and "affiliations" not in rows["untagged-work"]
    # Curated tags come with their ancestors, as kb.js's counts expect.
    assert llava["curated"]["codev"] == [
        "data4model",
        "data4model/scaling",
        "data4model/scaling/up",
        "data4model/scaling/up/acquisition",
    ]
    assert "functional/understanding" in llava["curated"]["mmllms"]
    assert rows["untagged-work"]["suggested"]["codev"] == [{"tag": "model4data/synthesis/creator", "score": 0.61}]
    taxonomy = json.loads(files["assets/data/taxonomy.json"])["taxonomy"]
    assert {"id": "data4model", "name": "Data4Model", "parent": None, "depth": 0, "taxonomy": "codev"} in taxonomy


@pytest.mark.parametrize(
    ("source", "target", "link"),
    [
        ("entries/a.md", "entries/b.md", "b.md"),
        ("entries/a.md", "taxonomy/codev/data4model/scaling.md", "../taxonomy/codev/data4model/scaling.md"),
        ("taxonomy/codev/data4model/scaling/up.md", "entries/a.md", "../../../../entries/a.md"),
        ("taxonomy/codev/data4model.md", "taxonomy/codev/data4model/scaling.md", "data4model/scaling.md"),
        ("datasets.md", "entries/a.md", "entries/a.md"),
        ("taxonomy/index.md", "taxonomy/yin/evaluation.md", "yin/evaluation.md"),
    ],
)
def test_relative_links_match_posixpath(source: str, target: str, link: str) -> None:
    import posixpath

    from kb.site.model import relative

    assert relative(source, target) == link == posixpath.relpath(target, posixpath.dirname(source) or ".")


@pytest.mark.parametrize("size", [3, 40])
def test_neighbourhood_json_matches_kb_graph_neighbourhood(tmp_path: Path, size: int) -> None:
    from kb.embed import Vectors

    kb = small_kb(tmp_path, suggestions=True)
    ids = list(kb.entries)
    graph = build_graph(kb, Vectors(ids, HashingEmbedder().embed(ids), model="h"), k=3)
    capped = 0
    for entry_id in ids:
        mine = neighbourhood_json(graph, entry_id, size=size)
        theirs = to_graphology(neighbourhood(graph, entry_id, max_nodes=size))
        whole = neighbourhood(graph, entry_id, max_nodes=10_000).number_of_nodes()
        assert len(mine["nodes"]) == min(size, whole)  # the cap holds, and nothing is lost below it
        capped += whole > size
        assert {n["key"] for n in mine["nodes"]} == {n["key"] for n in theirs["nodes"]}
        edges = sorted((e["source"], e["target"], sorted(e["attributes"].items())) for e in mine["edges"])
        assert edges == sorted((e["source"], e["target"], sorted(e["attributes"].items())) for e in theirs["edges"])
        by_key = {n["key"]: n["attributes"] for n in theirs["nodes"]}
        assert all(n["attributes"] == by_key[n["key"]] for n in mine["nodes"])
        centre = next(n for n in mine["nodes"] if n["key"] == entry_id)
        assert (centre["attributes"]["x"], centre["attributes"]["y"]) == (0.0, 0.0)
    assert capped or size == 40  # with 3, some neighbourhoods were cut


def _yin_zero_shot_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, codev_learns: bool = True) -> KB:
    """A KB after kb suggest --all where codev learns (curated labels of two leaves) and yin, with no
    curated label, falls back to zero-shot scores; without ``codev_learns`` (curated labels of one
    leaf) codev does too. The hostile titles have no curated tag."""
    from kb.store import load_kb
    from tests.intel_kb import make_kb
    from tests.test_classify import ACQ, TOX
    from tests.test_suggest_cli import invoke_with_stand_in

    entries: list[dict[str, object]] = [
        {"id": "jail", "title": "Jailbreak attacks with images", "kind": "method", "tags": {"codev": [TOX]}},
        {
            "id": "corpus",
            "title": "A web-scale image-text corpus",
            "kind": "dataset",
            "tags": {"codev": [ACQ if codev_learns else TOX]},
        },
        *(
            {"id": f"hostile-{i}", "title": f"Jailbreak attacks with images {t}", "kind": "method"}
            for i, t in enumerate(HOSTILE_TITLES)
        ),
    ]
    root = make_kb(tmp_path, entries)
    code, _, err = invoke_with_stand_in(monkeypatch, root, "suggest", "--all")
    assert code == 0, err
    kb = load_kb(root)
    assert kb.zero_shot_suggestions == ({"yin"} if codev_learns else {"codev", "yin"})
    return kb


def test_the_tables_rows_hold_zero_shot_scores_apart_from_the_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """table.json had listed a zero-shot taxonomy's scores under "suggested", which the table shows as
    suggested chips and its "suggested tags only" filter counts (audit): now under "zero_shot", apart."""
    from kb.tags import learned_tags, zero_shot_tags

    kb = _yin_zero_shot_kb(tmp_path, monkeypatch)
    files = render_site(kb, build_graph(kb, None, layout=False))
    rows = {row["id"]: row for row in json.loads(files["assets/data/table.json"])}
    for entry_id, row in rows.items():
        assert row["suggested"]["yin"] == [] and set(row["zero_shot"]) == {"yin"}, entry_id
        want = zero_shot_tags(kb, entry_id)["yin"]
        assert [(s["tag"], s["score"]) for s in row["zero_shot"]["yin"]] == [(t, round(s, 3)) for t, s in want]
        assert [s["tag"] for s in row["suggested"]["codev"]] == [t for t, _ in learned_tags(kb, entry_id)["codev"]]
    assert rows["hostile-0"]["zero_shot"]["yin"] and rows["hostile-0"]["suggested"]["codev"]
    assert rows["hostile-0"]["title"] == f"Jailbreak attacks with images {HOSTILE_TITLES[0]}"  # data, for textContent
    assert "<img" not in files["assets/data/table.json"]  # to_json escapes < in the file, as for every row


def test_the_graph_links_zero_shot_scores_as_zero_shot_and_colours_no_entry_by_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """graph.json and the neighbourhoods had linked a zero-shot taxonomy's scores as "suggested" edges,
    and entries were coloured by their best one (audit): now they are "zero_shot" edges, paler, which
    colour no entry, and the graph page says why."""
    from kb.graph import EDGE_COLOURS, UNTAGGED_COLOUR

    kb = _yin_zero_shot_kb(tmp_path / "yin", monkeypatch)
    files = render_site(kb, build_graph(kb, None, layout=False))
    graph = json.loads(files["assets/data/graph.json"])
    kinds = {(e["attributes"]["type"], e["target"].partition(":")[0]) for e in graph["edges"]}
    assert {("suggested", "codev"), ("zero_shot", "yin")} <= kinds and ("suggested", "yin") not in kinds
    assert {e["attributes"]["color"] for e in graph["edges"] if e["attributes"]["type"] == "zero_shot"} == {
        EDGE_COLOURS["zero_shot"]
    }
    local = json.loads(files["assets/data/nbhd/hostile-0.json"])
    assert {e["attributes"]["type"] for e in local["edges"] if e["target"].startswith("yin:")} == {"zero_shot"}
    page = files["graph.md"]
    assert (
        "Yin et al&#46; has too few curated labels to learn from: its links\nto entries are zero-shot scores "
        "(edge type `zero_shot`)"
    ) in page

    kb = _yin_zero_shot_kb(tmp_path / "both", monkeypatch, codev_learns=False)
    graph = build_graph(kb, None, layout=False)
    hostile = [key for key in graph if key.startswith("hostile-")]
    assert hostile and all(graph.nodes[key]["color"] == UNTAGGED_COLOUR for key in hostile)
    assert {d["type"] for _, v, d in graph.out_edges(hostile, data=True) if ":" in v} == {"zero_shot"}
    page = render_site(kb, graph)["graph.md"]
    assert "Co&#45;development and Yin et al&#46; have too few curated labels to learn from: their links" in page

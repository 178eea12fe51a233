"""The pure parts of kb new: ids typed by people, venues and links from arXiv records, the YAML
written for a new entry (with suggested tags as comments) and its exact round trip."""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

import arxiv
import pytest
import yaml
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from kb.arxiv_import import (
    ArxivUnavailableError,
    entry_from_result,
    entry_from_title,
    links_from,
    parse_arxiv_id,
    render,
    venue_from,
)
from kb.chars import BIDI_CONTROLS, INVISIBLE
from kb.errors import UsageError
from kb.naming import infer_kind, short_name_from_title, unique_entry_id
from kb.schema import ADDRESS_RE, Entry, Kind, written_twice
from kb.store import KB
from kb.taxonomy import load_taxonomies
from tests.conftest import REPO

TODAY = _dt.date(2026, 11, 23)


TAXONOMIES = load_taxonomies(REPO / "entries" / "taxonomies")


@pytest.fixture(scope="module")
def kb() -> KB:
    return KB(root=REPO, taxonomies=TAXONOMIES)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2401.13601", "2401.13601"),
        ("2401.13601v3", "2401.13601"),
        ("arXiv:2401.13601", "2401.13601"),
        ("https://arxiv.org/abs/2401.13601v2", "2401.13601"),
        ("https://arxiv.org/pdf/2401.13601v1.pdf", "2401.13601"),
        ("  0704.0001 ", "0704.0001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("２３０４．０８４８５", "2304.08485"),  # typed with a Japanese input method
        ("٢٣٠٤.٠٨٤٨٥v2", "2304.08485"),  # Arabic-Indic digits
        ("10.48550/arXiv.2403.01111", "2403.01111"),  # arXiv's DOI, as papers cite it
        ("https://doi.org/10.48550/arXiv.2403.01111", "2403.01111"),
        ("doi:10.48550/ARXIV.2403.01111", "2403.01111"),
    ],
)
def test_arxiv_ids_as_people_type_them(typed, expected):
    assert parse_arxiv_id(typed) == expected


@pytest.mark.parametrize("written", ["２３０４.０８４８５", "٢٣٠٤.٠٨٤٨٥", "hep-th/９９０１００１"])
def test_an_entry_writes_its_arxiv_id_and_date_in_ascii_digits(written):
    """Other scripts' digits would get a paper past the duplicate check (the same paper under
    another id) and into a BibTeX eprint."""
    from pydantic import ValidationError

    from kb.schema import Entry

    with pytest.raises(ValidationError, match="expected an arXiv id like"):
        Entry(id="x", title="A Paper", kind="model", arxiv=written)
    with pytest.raises(ValidationError):
        Entry(id="x", title="A Paper", kind="model", date="２０２３-０４-１７")


@pytest.mark.parametrize("typed", ["2401.136", "llava", "https://example.org/2401.13601x", "24011.3601", ""])
def test_what_is_not_an_arxiv_id(typed):
    with pytest.raises(UsageError, match="is not an arXiv id; expected one like 2304.08485"):
        parse_arxiv_id(typed)


@pytest.mark.parametrize(
    ("journal_ref", "comment", "venue"),
    [
        (None, "Accepted to CVPR 2024", "CVPR 2024"),
        (None, "CVPR'24 highlight; 12 pages", "CVPR 2024"),
        (None, "AAAI-25 oral", "AAAI 2025"),
        (None, "NeurIPS 12 pages, 5 figures", "NeurIPS"),  # a bare number is not a year
        (None, "Accepted at ACM MM 2024", "ACM MM 2024"),
        (None, "Accepted by ACMMM2024", "ACM MM 2024"),
        (None, "NIPS 2017 workshop", "NeurIPS 2017 Workshop"),  # not the main conference
        (None, "Accepted to CVPR 2024 Workshop on Foundation Models", "CVPR 2024 Workshop"),
        (None, "Accepted at the Workshop on Multimodal Models at ICLR 2024", "ICLR 2024 Workshop"),
        (None, "Extended version of our ICCV 2023 paper", None),  # another paper's venue
        (None, "Journal version of our NeurIPS 2023 paper, accepted to TPAMI", "TPAMI"),
        (None, "Withdrawn from ICLR 2024 due to an error", None),
        (None, "We thank the reviewers of ICLR 2025", None),
        (None, "Compared with methods published at CVPR 2023, ours is better. Accepted to ACL 2024", "ACL 2024"),
        (None, "Code is out. ECCV 2024 oral; accepted to ECCV 2024", "ECCV 2024"),
        (None, "12 pages, more than 5 figures; CVPR 2024", "CVPR 2024"),
        (None, "Camera-ready version of our CVPR 2024 paper", "CVPR 2024"),  # the paper itself
        (None, "Submitted to NeurIPS 2025", None),  # a hope, not a venue
        (None, "Under review at ICLR 2025; an earlier version appeared at ACL 2024 Findings", "ACL 2024"),
        (None, "22 pages, see the column on the right; code at https://cvpr.thecvf.com/x", None),
        (None, None, None),
        (
            "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR), 2024",
            None,
            "CVPR 2024",
        ),
        ("Nature 600, 1-2 (2025)", "Accepted to ICML 2025", "Nature 600, 1-2 (2025)"),  # the journal ref wins
        (
            "IEEE Transactions on Pattern Analysis and Machine Intelligence, vol. 46, no. 1, pp. 1-20, 2024",
            None,
            "TPAMI 2024",
        ),
        ("Journal of Things, vol. 3, pp. 1-9, 2023", None, "Journal of Things 2023"),  # its name and year
    ],
)
def test_venue_from_journal_ref_and_comment(journal_ref, comment, venue):
    assert venue_from(journal_ref, comment) == venue


def test_links_point_to_the_abstract_page_and_the_code():
    links = links_from(
        "2304.08485",
        "We release code at https://github.com/haotian-liu/LLaVA.git. Also see https://gitlab.com/a/b.",
        "Project page: https://llava-vl.github.io/.",
    )
    assert links == {
        "paper": "https://arxiv.org/abs/2304.08485",
        "code": "https://github.com/haotian-liu/LLaVA",
        "project": "https://llava-vl.github.io/",
    }
    assert links_from("2304.08485", "No links here.", None) == {"paper": "https://arxiv.org/abs/2304.08485"}


def _result(title: str, published: _dt.datetime, **kw: object) -> arxiv.Result:
    return arxiv.Result(
        entry_id="http://arxiv.org/abs/2407.07895v1",
        published=published,
        updated=published,
        title=title,
        authors=[arxiv.Result.Author("Feng Li", ["A Lab", "B Lab"]), arxiv.Result.Author("Bo Li", ["A Lab"])],
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("MMBench-Video: A Long-Form Multi-Shot Benchmark", Kind.benchmark),
        ("SciMMIR: Benchmarking Scientific Multi-modal Information Retrieval", Kind.benchmark),
        ("Benchmarking Large Multimodal Models against Common Corruptions", Kind.benchmark),
        ("Med-MMHL: A Multi-Modal Dataset for Detecting Human- and LLM-Generated Misinformation", Kind.dataset),
        ("A Survey on Multimodal Large Language Models", Kind.survey),
        ("Eyes Wide Shut? Exploring the Visual Shortcomings of Multimodal LLMs", Kind.analysis),
        ("Improving CLIP Training with Language Rewrites", Kind.method),
    ],
)
def test_a_kind_from_a_title_alone(title, kind):
    assert infer_kind(title, short_name_from_title(title)) is kind


def test_entry_from_a_record():
    published = _dt.datetime(2024, 7, 10, 17, 59, tzinfo=_dt.UTC)
    entry = entry_from_result(
        _result("MMBench-Video: A Long-Form Multi-Shot Benchmark", published, summary="x"),
        "2407.07895",
        {"mmbench-video"},
        today=TODAY,
    )
    assert entry.id == "mmbench-video-bench"  # the short name was taken
    assert entry.kind is Kind.benchmark and entry.name == "MMBench-Video"
    assert entry.date == "2024-07-10" and entry.added == "2026-11-23" and entry.venue == "arXiv"
    assert entry.affiliations == ["A Lab", "B Lab"]
    assert entry.summary is None


def test_a_record_that_makes_no_valid_entry_is_one_sentence():
    future = _dt.datetime.now(_dt.UTC) + _dt.timedelta(days=400)
    with pytest.raises(
        ArxivUnavailableError, match=r"record of 2407.07895 does not make a valid entry \(date: .* is in the future\)"
    ):
        entry_from_result(_result("A Title", future), "2407.07895", set())


def test_a_title_without_latin_words_gets_an_id_from_its_arxiv_id_or_asks_for_one():
    """Never the id 'entry' for every such paper: an arXiv record's id names it; a bare title asks."""
    published = _dt.datetime(2024, 7, 10, 17, 59, tzinfo=_dt.UTC)
    entry = entry_from_result(_result("多模态数据集", published), "2407.07895", {"arxiv-2407-07895"}, today=TODAY)
    assert (entry.id, entry.title) == ("arxiv-2407-07895-2024", "多模态数据集")
    with pytest.raises(UsageError, match=r"cannot make an id of '多模态数据集'.*give one with --id"):
        entry_from_title("多模态数据集", set(), today=TODAY)
    assert entry_from_title("多模态数据集", set(), entry_id="duo-mo-tai", today=TODAY).id == "duo-mo-tai"
    assert entry_from_title("多模态数据集", set(), name="MM-Set", today=TODAY).id == "mm-set"
    with pytest.raises(
        UsageError, match=r"^cannot make an entry of that title: expected the paper's title, got '!!!',"
    ):
        entry_from_title("!!!", set(), today=TODAY)  # pydantic's "Value error, " is not shown


def test_unique_entry_id_never_repeats_a_taken_one():
    taken: set[str] = set()
    for _ in range(5):
        taken.add(unique_entry_id("LLaVA: Visual Instruction Tuning", None, Kind.model, "2023-04-17", taken))
    assert taken == {"llava", "llava-2023", "llava-2023-2", "llava-2023-3", "llava-2023-4"}


def test_a_benchmark_named_like_its_paper_gets_a_kind_suffix_not_a_counter():
    """seed-bench-2 was SEED-Bench itself, beside its paper's work entry seed-bench: "-2" reads as
    a second version."""
    taken = {"seed-bench"}
    assert unique_entry_id("SEED-Bench: Benchmarking", None, Kind.benchmark, None, taken) == "seed-bench-benchmark"
    assert unique_entry_id("MMGenBench: A Benchmark", None, Kind.benchmark, None, {"mmgenbench"}) == (
        "mmgenbench-benchmark"
    )
    assert unique_entry_id("LLaVA: Data", "LLaVA", Kind.benchmark, None, {"llava"}) == "llava-bench"
    assert unique_entry_id("LLaVA: Data", "LLaVA", Kind.dataset, None, {"llava"}) == "llava-dataset"
    assert unique_entry_id("X: Data", "X-Dataset", Kind.dataset, None, {"x-dataset"}) == "x-dataset-data"


def test_unique_entry_id_avoids_names_kb_check_refuses():
    """kb check refuses an id Windows reserves (con) or the site's own page (index)."""
    assert unique_entry_id("Index: A Model", "Index", Kind.model, "2024-01-02", set()) == "index-2024"
    assert unique_entry_id("CON: A Model", "CON", Kind.model, None, set()) == "con-2"


def test_render_puts_suggested_tags_where_tags_go_and_uncommenting_them_gives_a_valid_entry(kb):
    codev = [leaf.id for leaf in kb.taxonomies["codev"].leaves()][:2]
    yin = kb.taxonomies["yin"].leaves()[0].id
    entry = entry_from_title("LLaVA-Test: A Model", set(), today=TODAY)
    suggestions = {
        "codev": [(codev[0], 0.71), (codev[1], 0.4), ("made/up", 0.9), ("x\n- evil", 0.9)],
        "yin": [(yin, 0.8)],
    }
    text = render(entry, suggestions, kb)
    assert Entry.model_validate(yaml.safe_load(text)) == entry  # comments change nothing
    assert "made/up" not in text and "evil" not in text  # only our taxonomies' ids reach the file
    assert f"#   - {codev[0]}  # suggested 0.71\n" in text
    assert "# and say so in provenance: - {source: contributor, fields: [tags.codev, tags.yin]}\n# tags:\n" in text
    lines = text.splitlines()
    start = lines.index("# tags:")
    end = next(i for i, line in enumerate(lines) if line.startswith("# summary:"))
    accepted = "\n".join(lines[:start] + [line[2:] for line in lines[start:end]] + lines[end:])
    tagged = Entry.model_validate(yaml.safe_load(accepted))
    assert tagged.tags.codev == codev and tagged.tags.yin == [yin]
    assert tagged.model_copy(update={"tags": entry.tags}) == entry


def test_render_without_suggestions_says_where_tags_go(kb):
    text = render(entry_from_title("A Plain Method for Things", set(), today=TODAY), {}, kb)
    assert "# tags: add curated taxonomy tags here" in text
    assert "# summary: a few sentences in our own words (never the abstract).\nadded: '2026-11-23'\n" in text


@settings(max_examples=300, deadline=None)
@given(
    title=st.text(min_size=1, max_size=200),
    author=st.text(min_size=1, max_size=60),
    comment=st.text(max_size=100),
)
@example(title="\ufeffBOM: \u2028line\u2029para\x85nel", author="- \t", comment="&a *a")
@example(title="no", author="null", comment="2024-01-01")
@example(title="\ufffe", author="0", comment="")  # a noncharacter alone: no title left
@example(title="'", author='"', comment="!!python/object:os.system")
@example(title="a" * 200 + ": " + "b" * 80, author="\U0001f9a9\u200d\u202e", comment="")
def test_any_record_round_trips_exactly(title, author, comment):
    kb = KB(root=REPO, taxonomies=TAXONOMIES)
    record = arxiv.Result(
        entry_id="http://arxiv.org/abs/2407.07895v1",
        published=_dt.datetime(2024, 7, 10, tzinfo=_dt.UTC),
        title=title,
        authors=[arxiv.Result.Author(author, [author])],
        comment=comment,
        journal_ref=comment,
    )
    # The title as a reader sees it: invisible and bidirectional controls and noncharacters gone,
    # control characters, surrogates and line breaks spaces, runs of whitespace one space.
    seen = INVISIBLE.sub("", BIDI_CONTROLS.sub("", title)).replace("\ufffe", "").replace("\uffff", "")
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") else c for c in seen)
    shown = " ".join(kept.split())
    if not shown:
        with pytest.raises(ArxivUnavailableError, match=r"\(title: String should have at least 1 character\)"):
            entry_from_result(record, "2407.07895", set(), today=TODAY)
        return
    if not re.search(r"[^\W_]", shown):  # punctuation alone is no title
        with pytest.raises(
            ArxivUnavailableError, match=r"\(title: expected the paper's title, got .*no letters or digits"
        ):
            entry_from_result(record, "2407.07895", set(), today=TODAY)
        return
    assume(len(shown) <= 1000 and not ADDRESS_RE.match(shown) and not written_twice(shown))  # slips kb check refuses
    entry = entry_from_result(record, "2407.07895", set(), today=TODAY)
    assert entry.title == shown
    text = render(entry, {}, kb)
    assert Entry.model_validate(yaml.safe_load(text)) == entry


@pytest.mark.parametrize("blocked", ["a file where the folder goes", "the file is there already"])
def test_kb_new_writes_all_its_drafts_or_none(tmp_path, blocked):
    """A batch whose second file cannot be written leaves no first file behind, and says so."""
    from kb.arxiv_import import AlreadyInKBError, Draft, Plan, write_plan
    from kb.errors import KBError
    from kb.store import dump_entry, entry_path

    kb = KB(root=tmp_path, taxonomies=TAXONOMIES)
    work = Entry(id="a-model", title="A Model for Seeing", kind="model")
    bench = Entry(id="a-bench", title="A Benchmark for Seeing", kind="benchmark")
    plan = Plan([Draft(e, dump_entry(e), entry_path(tmp_path, e)) for e in (work, bench)])
    (tmp_path / "entries" / "works").mkdir(parents=True)
    if blocked == "a file where the folder goes":
        (tmp_path / "entries" / "datasets").write_text("", encoding="utf-8")
        error, message = KBError, "cannot write entries/datasets/a-bench.yaml: entries/datasets is a file, not a folder"
    else:  # another kb new won the race for it
        entry_path(tmp_path, bench).parent.mkdir(parents=True)
        entry_path(tmp_path, bench).write_text("id: a-bench\n", encoding="utf-8")
        error, message = AlreadyInKBError, "entries/datasets/a-bench.yaml already exists; nothing was overwritten"
    with pytest.raises(error) as caught:
        write_plan(kb, plan)
    assert str(caught.value) == f"{message}; the 1 file written before it removed"
    assert not entry_path(tmp_path, work).exists()


@pytest.mark.parametrize(
    ("title", "name", "slug"),
    [
        (r"$\mathcal{X}$-VLM: Cross-modal Alignment", "X-VLM", "x-vlm"),  # had been "\mathcal{X}$-VLM"
        (r"$\text{M}^3$IT: A Large-Scale Dataset", "M3IT", "m3it"),
        (r"$\mu$-Bench: A Benchmark", "μ-Bench", "mu-bench"),
        ("μ-Bench: Greek Letters", "μ-Bench", "mu-bench"),  # had been the id "bench"
        ("Visual Instruction Tuning", None, "visual-instruction-tuning"),
    ],
)
def test_latex_and_greek_in_a_title_give_a_readable_name_and_id(title: str, name: str | None, slug: str) -> None:
    from kb.naming import slugify

    assert short_name_from_title(title) == name
    assert slugify(name or title) == slug

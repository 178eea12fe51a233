"""kb.bibtex: records that bibtexparser reads without a failed block, with the right fields, and
titles that a LaTeX reader turns back into the entry's own text, however hostile."""

from __future__ import annotations

import re

import bibtexparser
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pylatexenc import latex2text
from pylatexenc.latex2text import MacroTextSpec

from kb.bibtex import protect_title, to_bibtex, venue_kind
from kb.schema import Entry, written_twice
from kb.store import load_kb
from tests.conftest import REPO

HOSTILE_TITLE = r"{Evil} }{ \emph{x} 100% of $5 #1 a_b ~ ^ & @misc{k, title={x}} LLaVA’s “GPT-4V” é"


@pytest.fixture(scope="module")
def real_kb():
    return load_kb(REPO)


def parse(text: str) -> bibtexparser.Library:
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    return library


def fields(text: str) -> dict[str, str]:
    (record,) = parse(text).entries
    return {name: field.value for name, field in record.fields_dict.items()}


def latex_to_text(latex: str) -> str:
    """What a LaTeX reader makes of a field: pylatexenc, taught the text-mode escapes we use."""
    db = latex2text.get_default_latex_context_db()
    db.add_context_category(
        "kb-test",
        prepend=True,
        macros=[
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textbackslash", "\\"),
            MacroTextSpec("textasciitilde", "~"),
            MacroTextSpec("textasciicircum", "^"),
        ],
    )
    return latex2text.LatexNodes2Text(latex_context=db).latex_to_text(latex)


def balanced_for_bibtex(value: str) -> bool:
    """BibTeX's own rule: every brace counts, a backslash before it or not (unlike bibtexparser's)."""
    depth = 0
    for ch in value:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def entry(**changes: object) -> Entry:
    data: dict[str, object] = {"id": "sample", "title": "Visual Instruction Tuning", "kind": "model"}
    data.update(changes)
    return Entry.model_validate(data)


def test_the_whole_kb_parses_with_one_record_per_entry_keyed_by_id(real_kb):
    library = parse(to_bibtex(real_kb.entries.values()))
    assert [r.key for r in library.entries] == list(real_kb.entries)
    assert {r.entry_type for r in library.entries} == {"misc", "inproceedings", "article"}
    for record in library.entries:
        original = real_kb.entries[record.key]
        values = {name: field.value for name, field in record.fields_dict.items()}
        # "--" is left to LaTeX on purpose: titles from arXiv write an en dash that way.
        assert latex_to_text(values["title"]) == " ".join(original.title.replace("--", "–").split())
        if original.arxiv:
            assert values["eprint"] == original.arxiv
            assert values["archivePrefix"] == "arXiv"


def test_a_record_is_the_same_whatever_else_is_exported(real_kb):
    llava = real_kb.entries["llava"]
    alone = to_bibtex([llava])
    assert alone in to_bibtex(real_kb.entries.values())
    assert alone == (
        "@inproceedings{llava,\n"
        "  title         = {Visual Instruction Tuning},\n"
        "  booktitle     = {Advances in Neural Information Processing Systems (NeurIPS)},\n"
        "  year          = {2023},\n"
        "  eprint        = {2304.08485},\n"
        "  archivePrefix = {arXiv},\n"
        "  url           = {https://arxiv.org/abs/2304.08485},\n"
        "}\n"
    )


def test_arxiv_only_is_misc_with_eprint_and_url():
    got = fields(to_bibtex([entry(arxiv="2304.08485", venue="arXiv", date="2023-04-17")]))
    assert got == {
        "title": "Visual Instruction Tuning",
        "year": "2023",
        "month": "apr",
        "eprint": "2304.08485",
        "archivePrefix": "arXiv",
        "url": "https://arxiv.org/abs/2304.08485",
    }
    assert to_bibtex([entry(arxiv="2304.08485")]).startswith("@misc{sample,")


def test_old_style_arxiv_ids_name_their_primary_class():
    got = fields(to_bibtex([entry(arxiv="cs.CV/0102003")]))
    assert got["primaryClass"] == "cs.CV"
    assert "primaryClass" not in fields(to_bibtex([entry(arxiv="2304.08485")]))


@pytest.mark.parametrize(
    ("venue", "kind", "container", "name"),
    [
        ("CVPR 2024", "inproceedings", "booktitle", "Computer Vision and Pattern Recognition (CVPR)"),
        ("NeurIPS 2023", "inproceedings", "booktitle", "Neural Information Processing Systems (NeurIPS)"),
        ("ICLR", "inproceedings", "booktitle", "Learning Representations (ICLR)"),
        ("TPAMI", "article", "journal", "Pattern Analysis and Machine Intelligence"),
        ("ACM TKDD", "article", "journal", "Knowledge Discovery from Data"),
        ("TACL", "article", "journal", "Transactions of the Association for Computational Linguistics"),
        ("OpenAI", "misc", "howpublished", "OpenAI"),
    ],
)
def test_the_venue_decides_the_record_type(venue, kind, container, name):
    text = to_bibtex([entry(venue=venue, date="2023-04-17")])
    (record,) = parse(text).entries
    assert record.entry_type == kind
    assert name in record.fields_dict[container].value


def test_a_year_in_the_venue_wins_over_the_release_date_and_only_a_preprint_has_a_month():
    """The date is the first release (the arXiv month): a conference's or journal's month is
    another, so only a preprint's record says it."""
    got = fields(to_bibtex([entry(venue="CVPR 2024", date="2023-11-20")]))
    assert (got["year"], "month" in got) == ("2024", False)
    got = fields(to_bibtex([entry(venue="NeurIPS 2023", date="2023-04-17")]))
    assert (got["year"], "month" in got) == ("2023", False)  # NeurIPS 2023 met in December
    got = fields(to_bibtex([entry(venue="TPAMI", date="2023-04-17")]))
    assert (got["year"], "month" in got) == ("2023", False)
    got = fields(to_bibtex([entry(venue="arXiv", date="2023-04-17")]))
    assert (got["year"], got["month"]) == ("2023", "apr")


def test_venue_kind_reads_the_year_and_knows_arxiv():
    assert venue_kind("arXiv") == ("misc", None, None)
    assert venue_kind("arXiv 2023") == ("misc", None, 2023)
    assert venue_kind(None) == ("misc", None, None)
    assert venue_kind("cvpr 2019")[0::2] == ("inproceedings", 2019)
    assert venue_kind("Some Workshop 2022") == ("misc", "Some Workshop 2022", 2022)


def test_capitals_that_matter_are_braced_and_ordinary_words_are_not():
    assert protect_title("LLaVA-NeXT: Improved Baselines") == "{LLaVA-NeXT}: Improved Baselines"
    assert protect_title("A Challenger to GPT-4V? Early") == "A Challenger to {GPT-4V}? Early"
    assert protect_title("Qwen2 and the 3D World") == "{Qwen2} and the {3D} World"
    assert protect_title("“mPLUG” (BLIP)") == "“{mPLUG}” ({BLIP})"


def test_a_hostile_title_stays_one_balanced_field_and_reads_back_as_written():
    authors = ["Doe, Jane", "R&D and Co", "TOM AND JERRY", "Andy Anderson"]
    text = to_bibtex([entry(title=HOSTILE_TITLE, venue="Evil & Co {2024}", authors=authors)])
    library = parse(text)
    assert len(library.blocks) == 1  # the fake @misc inside the title did not become a record
    got = {name: field.value for name, field in library.entries[0].fields_dict.items()}
    assert latex_to_text(got["title"]) == HOSTILE_TITLE
    assert all(balanced_for_bibtex(value) for value in got.values())
    assert latex_to_text(got["howpublished"]) == "Evil & Co {2024}"
    # Each name one unit: not split (BibTeX splits at " and " in any case), not reordered.
    assert got["author"] == r"Doe, Jane and {R\&D and Co} and {TOM AND JERRY} and Andy Anderson"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Doe, Jane", "Doe, Jane"),  # BibTeX reads "Last, First" as such: styles may abbreviate it
        ("van der Berg, Anna-Lena", "van der Berg, Anna-Lena"),
        ("O’Neil, J. R.", "O’Neil, J. R."),
        ("Meta Platforms, Inc.", "{Meta Platforms, Inc.}"),  # an organisation stays one name
        ("Google, Gemini Team", "{Google, Gemini Team}"),
        ("Smith, Jr., John", "Smith, Jr., John"),  # BibTeX's "Last, Jr, First"
        ("Smith, Vision, John", "{Smith, Vision, John}"),  # three parts of no such form: kept whole
        ("Google DeepMind", "{Google DeepMind}"),  # unbraced, First Google, Last DeepMind
        ("OpenAI", "{OpenAI}"),
        ("Lab 42, Vision", "{Lab 42, Vision}"),
        ("Gemini Team", "{Gemini Team}"),  # unbraced, styles print "G. Team"
        ("Meta AI", "{Meta AI}"),
        ("Ann Lab-Smith", "Ann Lab-Smith"),  # "Lab" inside a person's name is no organisation
    ],
)
def test_a_name_with_a_comma_is_a_person_last_first_or_else_kept_whole(name, written):
    assert fields(to_bibtex([entry(authors=[name, "Ann Lee"])]))["author"] == f"{written} and Ann Lee"


def test_a_list_cut_short_with_et_al_ends_in_others():
    assert (
        fields(to_bibtex([entry(authors=["Ann Lee", "Zhang San et al."])]))["author"]
        == "Ann Lee and Zhang San and others"
    )
    assert fields(to_bibtex([entry(authors=["Ann Lee", "et al", "Bo Li"])]))["author"] == "Ann Lee and others"


def test_a_name_that_is_or_ends_in_and_or_is_others_stays_one_name():
    """Unbraced, "and" alone or "Z. and" beside the separator splits the list, and "others" is et al."""
    got = fields(to_bibtex([entry(authors=["and", "others", "Z. and", "Ann Others"])]))
    assert got["author"] == "{and} and {others} and {Z. and} and Ann Others"


def test_bidirectional_overrides_never_reach_the_bib_file():
    """A .bib file shown in an editor must read in the order it is written ("Trojan Source"). The
    schema refuses them; an Entry made in code without validation may still hold them."""
    hostile = entry().model_copy(update={"title": "Rlo \u202egnp.exe\u202c done", "authors": ["Ann \u2066Lee\u2069"]})
    text = to_bibtex([hostile])
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", text)
    assert fields(text)["title"] == "Rlo \ufffdgnp.exe\ufffd done"


def test_authors_are_joined_with_and():
    got = fields(to_bibtex([entry(authors=["Haotian Liu", "Chunyuan Li", "José Müller"])]))
    assert got["author"] == "Haotian Liu and Chunyuan Li and José Müller"


def test_urls_stay_verbatim_but_cannot_unbalance_the_field():
    got = fields(to_bibtex([entry(links={"paper": "https://example.org/a%20b#x}{y"})]))
    assert got["url"] == "https://example.org/a%20b#x%7D%7By"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('aZ9 {}\\&%$#_~^@",.:;!?()[]|<>*é')), min_size=1, max_size=40))
def test_any_title_reads_back(title):
    assume(re.search(r"[^\W_]", title) and written_twice(title) is None)  # what else the schema refuses
    text = to_bibtex([entry(title=title)])
    got = fields(text)
    assert balanced_for_bibtex(got["title"])
    assert latex_to_text(got["title"]) == " ".join(title.split())

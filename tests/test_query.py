"""kb.query on a small KB whose answers are known: filters, sorting, relations, counts, gaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.errors import UsageError
from kb.query import Filters, describe, get_entry, relations_both_ways, select, sort_entries
from kb.query.overview import gaps, stats, tree_counts
from kb.store import KB, load_kb
from tests.intel_kb import make_kb

HOSTILE_TITLE = 'Pipes | <b>bold</b> *stars* "quotes", commas; semicolons, \u200f[2J a mark'
HOSTILE_SUMMARY = "A summary, the one text that may run over lines:\nthe second | with a pipe"

ENTRIES: list[dict[str, object]] = [
    {
        "id": "llava",
        "title": "Visual Instruction Tuning",
        "kind": "model",
        "name": "LLaVA",
        "aliases": ["LLaVA-1"],
        "arxiv": "2304.08485",
        "date": "2023-04-17",
        "venue": "NeurIPS 2023",
        "authors": ["Haotian Liu", "Chunyuan Li"],
        "links": {"code": "https://github.com/haotian-liu/LLaVA"},
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
        },
    },
    {
        "id": "woodpecker",
        "title": "Woodpecker: Hallucination Correction for Multimodal Large Language Models",
        "kind": "method",
        "date": "2023-10",
        "venue": "arXiv",
        "summary": "Corrects made-up objects after the answer is written.",
        "tags": {"yin": ["hallucination"]},
        "relations": {"evaluated_on": ["pope"], "builds_on": ["llava"]},
        "provenance": [
            {"source": "seed-yin", "fields": ["title", "tags.yin"]},
            {"source": "contributor", "fields": ["kind"]},
        ],
    },
    {
        "id": "video-chat",
        "title": "VideoChat: Chat-Centric Video Understanding",
        "kind": "model",
        "date": "2023-05-10",
        "venue": "arXiv",
        "modalities": {"input": ["text", "video"], "output": ["text"]},
        "tags": {"yin": ["instruction-tuning"], "mmllms": {"functional": ["understanding"], "design": ["end-to-end"]}},
        "relations": {"trained_on": ["coco"]},
    },
    {
        "id": "scaling-study",
        "title": "Scaling Laws of Image-Text Data Filtering",
        "kind": "analysis",
        "date": "2024",
        "venue": "CVPR 2024",
        "tags": {"codev": ["data4model/scaling/effectiveness/condensation"]},
    },
    {"id": "untagged-paper", "title": "An Untagged Paper About Hallucinated Objects", "kind": "analysis"},
    {
        "id": "hostile",
        "title": HOSTILE_TITLE,
        "kind": "survey",
        "date": "2022-01-05",
        "arxiv": "2201.00001",
        "summary": HOSTILE_SUMMARY,
    },
    {
        "id": "coco",
        "title": "Microsoft COCO: Common Objects in Context",
        "kind": "dataset",
        "name": "COCO",
        "date": "2014-05-01",
        "tags": {"yin": ["datasets/pretraining-alignment"]},
    },
    {
        "id": "llava-instruct-150k",
        "title": "LLaVA-Instruct-150K",
        "kind": "dataset",
        "date": "2023-04",
        "tags": {"yin": ["datasets/instruction-tuning"]},
    },
    {
        "id": "pope",
        "title": "Evaluating Object Hallucination in Large Vision-Language Models",
        "kind": "benchmark",
        "name": "POPE",
        "date": "2023-05-17",
        "venue": "EMNLP 2023",
        "tags": {"yin": ["datasets/benchmark"], "codev": ["data4model/usability/eval/understanding"]},
        "provenance": [
            {"source": "seed-yin", "fields": ["title", "tags.yin"]},
            {"source": "contributor", "fields": ["tags.codev"], "note": "tagged by hand"},
        ],
    },
]

SUGGESTIONS = {
    "model": "hashing-64",
    "recipe": 1,
    "entries": {
        "untagged-paper": {
            "codev": [
                {"tag": "data4model/usability/eval/understanding", "score": 0.42},
                {"tag": "data4model/scaling/up/diversity", "score": 0.2963},  # shown as 0.29, below 0.3
            ],
            # too weak to count as suggested (below 0.05): neither listed nor matched
            "yin": [
                {"tag": "hallucination", "score": 0.81},
                {"tag": "evaluation", "score": 0.3},
                {"tag": "rlhf", "score": 0.04},
            ],
        }
    },
}


def make_query_kb(root: Path, *, suggestions: bool = True) -> Path:
    """The small KB above on disk; with ``suggestions``, an entries/suggestions.json too."""
    make_kb(root, ENTRIES)
    if suggestions:
        (root / "entries" / "suggestions.json").write_text(json.dumps(SUGGESTIONS), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KB:
    return load_kb(make_query_kb(tmp_path_factory.mktemp("kb")))


def ids(kb: KB, **filters: object) -> list[str]:
    return sorted(e.id for e in select(kb, Filters(**filters)))  # type: ignore[arg-type]


def test_no_filter_selects_everything_in_file_order(kb: KB) -> None:
    assert [e.id for e in select(kb, Filters())] == list(kb.entries)


def test_a_tag_matches_its_whole_subtree_bare_or_qualified(kb: KB) -> None:
    assert ids(kb, tags=["data4model/scaling"]) == ["llava", "scaling-study"]
    assert ids(kb, tags=["codev:data4model"]) == ["llava", "pope", "scaling-study"]
    assert ids(kb, tags=["yin:datasets"]) == ["coco", "llava-instruct-150k", "pope"]


def test_repeated_tags_all_hold_and_any_tag_needs_one(kb: KB) -> None:
    assert ids(kb, tags=["instruction-tuning", "data4model"]) == ["llava"]
    assert ids(kb, any_tags=["hallucination", "data4model/scaling/effectiveness"]) == ["scaling-study", "woodpecker"]
    assert ids(kb, tags=["yin:datasets"], any_tags=["data4model", "datasets/pretraining-alignment"]) == ["coco", "pope"]


def test_mmllms_nodes_match_through_the_graphs_mapping(kb: KB) -> None:
    assert ids(kb, tags=["functional/understanding"]) == ["llava", "video-chat"]
    assert ids(kb, tags=["mmllms:modalities/V"]) == ["video-chat"]  # video input of an MM-LLMs-classified model


def test_suggested_tags_count_only_when_asked(kb: KB) -> None:
    assert ids(kb, tags=["hallucination"]) == ["woodpecker"]
    assert ids(kb, tags=["hallucination"], suggested=True) == ["untagged-paper", "woodpecker"]


def test_suggestions_file_may_be_absent(tmp_path: Path) -> None:
    bare = load_kb(make_query_kb(tmp_path, suggestions=False))
    assert ids(bare, tags=["hallucination"], suggested=True) == ["woodpecker"]


def test_an_unknown_node_is_one_sentence_with_a_hint(kb: KB) -> None:
    with pytest.raises(UsageError, match=r"^unknown taxonomy node 'halucination'; did you mean 'hallucination'\?$"):
        select(kb, Filters(tags=["halucination"]))
    with pytest.raises(UsageError, match=r"^unknown taxonomy node 'codev:hallucination'; did you mean"):
        select(kb, Filters(any_tags=["codev:hallucination"]))
    with pytest.raises(UsageError, match=r"^unknown taxonomy node ':x'; kb tree lists every node$"):
        select(kb, Filters(tags=[":x"]))


@pytest.mark.parametrize(
    ("ref", "hint"),
    [
        ("acquisition", "did you mean 'data4model/scaling/up/acquisition'?"),  # a leaf's last part
        ("Data Acquisition", "did you mean 'data4model/scaling/up/acquisition'?"),  # its name
        ("codev:hallucination", "did you mean 'yin:hallucination'?"),  # another taxonomy's
        ("modalities/i", "did you mean 'modalities/I'?"),  # in another case (difflib said modalities/V)
        (
            "codev",
            "'codev' is a taxonomy: name one of its nodes, such as data4model or model4data; kb tree lists every node",
        ),
    ],
)
def test_an_unknown_node_hints_at_what_was_meant(kb: KB, ref: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        select(kb, Filters(tags=[ref]))
    assert str(caught.value) == f"unknown taxonomy node {ref!r}; {hint}"


def test_kinds_are_any_of_and_families_expand(kb: KB) -> None:
    assert ids(kb, kinds=["benchmark", "dataset"]) == ["coco", "llava-instruct-150k", "pope"]
    assert ids(kb, kinds=["datasets"]) == ids(kb, kinds=["benchmark", "dataset"])
    assert len(ids(kb, kinds=["works"])) == 6
    with pytest.raises(UsageError, match=r"unknown kind 'modle'; did you mean 'model'\?"):
        select(kb, Filters(kinds=["modle"]))


def test_modalities_must_all_be_present(kb: KB) -> None:
    assert ids(kb, modalities=["image"]) == ["llava"]
    assert ids(kb, modalities=["text"]) == ["llava", "video-chat"]
    assert ids(kb, modalities=["text", "video"]) == ["video-chat"]
    with pytest.raises(UsageError, match="did you mean 'video'"):
        select(kb, Filters(modalities=["vidoe"]))


def test_dates_compare_at_the_precision_both_have(kb: KB) -> None:
    assert ids(kb, since="2023-05") == ["pope", "scaling-study", "video-chat", "woodpecker"]
    assert ids(kb, until="2023-04") == ["coco", "hostile", "llava", "llava-instruct-150k"]
    assert ids(kb, since="2023-05-11", until="2023-12-31") == ["pope", "woodpecker"]
    assert ids(kb, year=2024) == ["scaling-study"]  # dated "2024": inside any bound of that year
    assert ids(kb, since="2024-06") == ["scaling-study"]
    assert "untagged-paper" not in ids(kb, until="2030")  # undated entries never match a date filter


def test_bad_dates_and_clashing_options_are_usage_errors(kb: KB) -> None:
    with pytest.raises(UsageError, match="--since: 2023-13 is not a real date"):
        select(kb, Filters(since="2023-13"))
    with pytest.raises(UsageError, match="--until: expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got 'last year'"):
        select(kb, Filters(until="last year"))
    with pytest.raises(UsageError, match="--year cannot be combined"):
        Filters(year=2023, since="2023")
    with pytest.raises(UsageError, match=r"^--since 2024 is after --until 2023-12; no entry can match$"):
        select(kb, Filters(since="2024", until="2023-12"))
    assert ids(kb, since="2024-06", until="2024") == ["scaling-study"]  # the same year at two precisions
    with pytest.raises(UsageError, match=r"^--year: expected a year such as 2024, got 99999$"):
        Filters(year=99999)


def test_venue_is_a_case_insensitive_part(kb: KB) -> None:
    assert ids(kb, venue="neurips") == ["llava"]
    assert ids(kb, venue="2023") == ["llava", "pope"]


def test_text_needs_every_word_in_title_name_aliases_summary_or_authors(kb: KB) -> None:
    assert ids(kb, text="hallucination") == ["pope", "woodpecker"]
    assert ids(kb, text="hallucinat") == ["pope", "untagged-paper", "woodpecker"]  # part of a word
    assert ids(kb, text="Hallucination EVALUATING") == ["pope"]
    assert ids(kb, text="llava-1") == ["llava"]  # an alias
    assert ids(kb, text="chunyuan") == ["llava"]  # an author
    assert ids(kb, text="made-up") == ["woodpecker"]  # the summary
    assert ids(kb, text="hallucination video") == []
    with pytest.raises(UsageError, match=r"^--text is empty; give words to look for$"):
        select(kb, Filters(text="  "))  # it would match everything, silently


def test_text_finds_an_entry_by_its_affiliations_as_by_its_authors(tmp_path: Path) -> None:
    kb = load_kb(
        make_kb(
            tmp_path,
            [
                {
                    "id": "llava",
                    "title": "Visual Instruction Tuning",
                    "kind": "model",
                    "authors": ["Haotian Liu"],
                    "affiliations": ["University of Wisconsin-Madison", "Microsoft Research"],
                },
                {
                    "id": "pope",
                    "title": "Evaluating Object Hallucination",
                    "kind": "benchmark",
                    "authors": ["Yifan Li"],
                },
            ],
        )
    )
    assert ids(kb, text="wisconsin") == ["llava"]
    assert ids(kb, text="MICROSOFT research") == ["llava"]
    assert ids(kb, text="microsoft visual haotian") == ["llava"]  # every word, from any of the fields
    assert ids(kb, text="microsoft hallucination") == []


def test_text_and_venue_compare_text_as_unicode_means_it(kb: KB) -> None:
    """A stored "é" as "e" and its accent apart (NFD, as some editors and macOS file names write it)
    is found by an "é" typed whole, and the other way round."""
    import copy
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Café Résumé")
    kb = copy.copy(kb)  # the fixture is the module's
    kb.entries = {**kb.entries, "pope": kb.entries["pope"].model_copy(update={"summary": nfd, "venue": f"{nfd} 2023"})}
    assert len(nfd) == 14  # three accents apart
    for typed in ("café", "RÉSUMÉ", nfd.lower()):
        assert ids(kb, text=typed) == ["pope"], typed
        assert ids(kb, venue=typed) == ["pope"], typed


def test_uses_finds_works_trained_or_evaluated_on_a_dataset(kb: KB) -> None:
    assert ids(kb, uses="coco") == ["llava", "video-chat"]
    assert ids(kb, uses="pope") == ["llava", "woodpecker"]
    assert ids(kb, uses="llava-instruct-150k") == ["llava"]  # trained on it (and introduced it)
    with pytest.raises(UsageError, match=r"^no entry with id 'popee'; did you mean 'pope'\?$"):
        select(kb, Filters(uses="popee"))
    with pytest.raises(UsageError, match=r"^no entry with id 'llama'$"):  # not "did you mean 'llava'", a model
        select(kb, Filters(uses="llama"))
    with pytest.raises(UsageError, match="'llava' is a model, not a dataset or benchmark"):
        select(kb, Filters(uses="llava"))
    with pytest.raises(UsageError, match="'untagged-paper' is an analysis, not a dataset"):
        select(kb, Filters(uses="untagged-paper"))


def test_curated_by_finds_entries_with_tags_a_source_set(kb: KB) -> None:
    assert ids(kb, curated_by="contributor") == ["pope"]  # woodpecker's contributor set its kind, not a tag
    assert ids(kb, curated_by="seed-yin") == ["pope", "woodpecker"]
    assert ids(kb, curated_by="seed-yin", tags=["codev:data4model"]) == ["pope"]
    assert ids(kb, curated_by="arxiv") == []
    with pytest.raises(UsageError, match=r"^unknown source 'contributer'; did you mean 'contributor'\?$"):
        select(kb, Filters(curated_by="contributer"))


def test_filters_combine(kb: KB) -> None:
    assert ids(kb, uses="coco", tags=["yin:instruction-tuning"], since="2023-05", modalities=["video"]) == [
        "video-chat"
    ]


def test_sorting_puts_entries_without_the_key_last_both_ways(kb: KB) -> None:
    by_date = [e.id for e in sort_entries(kb.entries.values(), "date")]
    assert by_date[:3] == ["coco", "hostile", "llava-instruct-150k"]
    assert by_date[-1] == "untagged-paper"
    newest = [e.id for e in sort_entries(kb.entries.values(), "-date")]
    assert newest[0] == "scaling-study" and newest[-1] == "untagged-paper"
    assert [e.id for e in sort_entries(kb.entries.values(), "id")] == sorted(kb.entries)
    assert [e.id for e in sort_entries(kb.entries.values(), "-id")] == sorted(kb.entries, reverse=True)
    kinds = [e.kind.value for e in sort_entries(kb.entries.values(), "kind")]
    assert kinds == sorted(kinds, key=["model", "method", "analysis", "survey", "dataset", "benchmark"].index)
    venues = [e.venue for e in sort_entries(kb.entries.values(), "venue")]
    assert venues[:4] == ["arXiv", "arXiv", "CVPR 2024", "EMNLP 2023"] and venues[-1] is None
    with pytest.raises(UsageError, match=r"unknown sort key 'dat'; did you mean 'date'\?"):
        sort_entries([], "dat")


def test_get_entry_accepts_an_exact_name_or_alias_and_hints_at_a_typo(kb: KB) -> None:
    assert get_entry(kb, "POPE").id == "pope"
    assert get_entry(kb, "llava-1").id == "llava"  # an alias
    with pytest.raises(UsageError, match=r"no entry with id 'lava'; did you mean 'llava'\?"):
        get_entry(kb, "lava")


def test_a_title_shared_by_entries_names_them_all(kb: KB) -> None:
    from kb.schema import Entry

    twins = KB(root=kb.root, taxonomies=kb.taxonomies)
    for i in ("a", "b"):
        twins.entries[i] = Entry(id=i, title="Visual Instruction Tuning", kind="model")
    with pytest.raises(
        UsageError, match=r"^'visual instruction tuning' names 2 entries \(a, b\); give one of their ids$"
    ):
        get_entry(twins, "visual instruction tuning")


def test_relations_both_ways(kb: KB) -> None:
    assert relations_both_ways(kb, kb.entries["pope"]) == {"out": {}, "in": {"evaluated_on": ["llava", "woodpecker"]}}
    llava = relations_both_ways(kb, kb.entries["llava"])
    assert llava["out"] == {
        "trained_on": ["coco", "llava-instruct-150k"],
        "evaluated_on": ["pope"],
        "introduces": ["llava-instruct-150k"],
    }
    assert llava["in"] == {"builds_on": ["woodpecker"]}


def test_tree_counts_here_and_in_the_subtree_with_suggestions_apart(kb: KB) -> None:
    yin = {c.id: c for c in tree_counts(kb, "yin")["yin"]}
    assert (yin["datasets"].curated, yin["datasets"].curated_total) == (0, 3)
    assert (yin["hallucination"].curated, yin["hallucination"].suggested) == (1, 1)
    assert (yin["evaluation"].curated, yin["evaluation"].suggested_total) == (0, 1)
    codev = {c.id: c for c in tree_counts(kb, "codev")["codev"]}
    assert codev["data4model"].curated_total == 3
    # untagged-paper is suggested under data4model/usability/eval/understanding, where pope is curated
    assert (codev["data4model/usability"].curated_total, codev["data4model/usability"].suggested_total) == (1, 1)
    assert [c.id for c in tree_counts(kb, "data4model/scaling/effectiveness")["codev"]][:2] == [
        "data4model/scaling/effectiveness",
        "data4model/scaling/effectiveness/condensation",
    ]
    assert set(tree_counts(kb)) == {"codev", "yin", "mmllms"}
    with pytest.raises(UsageError, match="did you mean"):
        tree_counts(kb, "codeve")


def test_stats_count_every_dimension(kb: KB) -> None:
    numbers = stats(kb)
    assert numbers["entries"] == 9 and numbers["works"] == 6 and numbers["datasets"] == 3
    assert numbers["kinds"] == {"model": 2, "method": 1, "analysis": 2, "survey": 1, "dataset": 2, "benchmark": 1}
    assert numbers["years"]["2023"] == 5 and numbers["years"]["undated"] == 1
    assert numbers["modalities"] == {"text": 2, "image": 1, "video": 1}
    assert numbers["venues"] == {"none": 4, "arXiv": 2, "CVPR": 1, "EMNLP": 1, "NeurIPS": 1}
    assert list(numbers["venues"])[:2] == ["none", "arXiv"]  # most frequent first, then by name
    assert numbers["tagged"] == {"codev": 3, "yin": 6, "mmllms": 2}
    assert numbers["untagged"] == 2 and numbers["suggested"] == 1
    assert numbers["nodes"]["yin"]["datasets"] == 3


def test_gaps_find_sparse_nodes_and_uncovered_years_and_modalities(kb: KB) -> None:
    report = gaps(kb, threshold=2, min_cover=2)
    sparse = {f"{c.taxonomy}:{c.id}" for c in report.sparse}
    assert "yin:hallucination" in sparse and "yin:rlhf" in sparse
    assert "yin:instruction-tuning" not in sparse and "codev:data4model" not in sparse
    assert report.covered_years == ["2023"] and report.covered_modalities == ["text"]
    assert report.missing_years["yin:rlhf"] == ["2023"]
    assert report.missing_years["yin:instruction-tuning"] == []
    assert report.missing_modalities["yin:hallucination"] == ["text"]  # woodpecker lists no modality
    assert report.review is None
    assert json.loads(json.dumps(report.to_dict()))["threshold"] == 2


def test_gaps_review_queue_comes_from_the_vectors(kb: KB) -> None:
    from kb.embed import Vectors, normalise
    from kb.schema import Entry

    # Four hallucination works and one instruction-tuning work on one spot, three more
    # instruction-tuning works on another: the odd one out is queued for review.
    crowd = KB(root=kb.root, taxonomies=kb.taxonomies)
    tags = ["hallucination"] * 4 + ["instruction-tuning"] * 4
    for i, tag in enumerate(tags):
        crowd.entries[f"w{i}"] = Entry(id=f"w{i}", title=f"Work {i}", kind="method", tags={"yin": [tag]})
    rows = normalise(np.array([[1, 0.1 * i, 0] for i in range(5)] + [[0, 0.1 * i, 1] for i in range(3)], np.float32))
    report = gaps(crowd, vectors=Vectors(list(crowd.entries), rows))
    assert report.review is not None
    assert [(r.entry_id, r.taxonomy, r.neighbours_say) for r in report.review] == [("w4", "yin", ["hallucination"])]


def test_describe_keeps_curated_and_suggested_apart(kb: KB) -> None:
    details = describe(kb, kb.entries["untagged-paper"], note="no neighbours: run kb embed")
    assert details["tags"]["curated"] == {"codev": [], "yin": [], "mmllms": []}
    assert details["tags"]["suggested"]["yin"] == [
        {"tag": "hallucination", "score": 0.81},
        {"tag": "evaluation", "score": 0.3},
    ]
    assert details["neighbours"] is None and details["note"] == "no neighbours: run kb embed"
    assert details["path"] == "entries/works/untagged-paper.yaml"

"""The tag classifier on constructed vectors, and suggestions over a small KB with a stand-in embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.classify import (
    RECIPE,
    Suggester,
    render_suggestions_file,
    same_suggestions,
    suggest_for_text,
    suggestion_evidence,
    update_suggestions,
)
from kb.classify.labels import Labelled, duplicate_groups, fold_of
from kb.classify.model import WORK, evidence, train_classifier
from kb.classify.space import cue_pattern, cue_text, keyword_texts, make_space
from kb.config import Config
from kb.embed import node_text
from kb.errors import KBError, UsageError
from kb.schema import SuggestionsFile
from kb.store import SUGGESTIONS_FILE, load_kb
from kb.tags import suggested_tags
from kb.taxonomy import Taxonomy, TaxonomySpec
from tests.intel_kb import HashingEmbedder, make_kb, write_entry

# ---------------------------------------------------------------------------------------------
# The model alone: a toy taxonomy in 8 dimensions, one axis per leaf.


def toy_taxonomy(multi_label: bool) -> Taxonomy:
    def leaf(i: int, word: str) -> dict[str, object]:
        return {"id": f"leaf-{i}", "name": f"Leaf {i}", "description": f"about {word}", "keywords": [word]}

    spec = {
        "id": "toy",
        "title": "Toy",
        "source": "tests",
        "multi_label": multi_label,
        "nodes": [
            {"id": "left", "name": "Left", "description": "left", "children": [leaf(0, "apple"), leaf(1, "banana")]},
            {
                "id": "right",
                "name": "Right",
                "description": "right",
                "children": [leaf(2, "cherry"), leaf(3, "damson")],
            },
        ],
    }
    return Taxonomy.from_spec(TaxonomySpec.model_validate(spec))


def axis(i: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    v = np.zeros(8, dtype=np.float32)
    v[i] = 1.0
    v += np.random.default_rng(seed).normal(0, noise, 8).astype(np.float32)
    return v / np.linalg.norm(v)


def toy_space(tax: Taxonomy):
    nodes = {f"leaf-{i}": axis(i) for i in range(4)} | {"left": axis(4), "right": axis(5)}
    words = {w: axis(i) for i, w in enumerate(["apple", "banana", "cherry", "damson"])}
    words |= {f"Leaf {i}": axis(i) for i in range(4)}
    return make_space(tax, nodes, words)


def toy_labelled(per_leaf: int = 6, kinds: dict[int, str] | None = None) -> tuple[Labelled, list[str]]:
    """Entries of four leaves near their axes, models unless ``kinds`` gives a leaf's kind."""
    vectors, labels, ids, texts = [], [], [], []
    for leaf in range(4):
        for k in range(per_leaf):
            vectors.append(axis(leaf, noise=0.3, seed=10 * leaf + k))
            labels.append(np.eye(4)[leaf])
            ids.append(f"e-{leaf}-{k}")
            texts.append(["apple pie", "banana split", "cherry tart", "damson jam"][leaf] + f" {k}")
    matrix = np.stack(vectors)
    of = [(kinds or {}).get(int(np.argmax(label)), "model") for label in labels]
    return Labelled(ids, matrix, np.stack(labels), np.arange(len(ids)), np.array(of, dtype=object)), texts


def works(n: int) -> list[str]:
    return [WORK] * n


@pytest.mark.parametrize("multi_label", [True, False])
def test_a_text_near_a_leaf_ranks_it_first_with_scores_in_0_1(multi_label: bool) -> None:
    tax = toy_taxonomy(multi_label)
    train, texts = toy_labelled()
    clf = train_classifier(toy_space(tax), train, texts)
    queries = np.stack([axis(2, noise=0.2, seed=99), axis(0, noise=0.2, seed=98)])
    scores = clf.scores(queries, ["a cherry", "an apple"], works(2))
    assert scores.shape == (2, 4)
    assert list(scores.argmax(axis=1)) == [2, 0]
    assert ((scores >= 0) & (scores <= 1)).all()
    if multi_label:
        assert (scores.max(axis=1) >= Config().suggest_threshold).all()  # a clear case is suggested outright
    else:
        np.testing.assert_allclose(scores.sum(axis=1), 1.0)  # one topic: a distribution


def test_the_multi_label_stacker_learns_how_far_each_leafs_keywords_can_be_trusted() -> None:
    """Leaf 0's keywords in a text always mean leaf 0; leaf 1's say nothing (it is right for three
    texts in ten either way). One weight per signal would trust both alike; the per-leaf weights
    tell them apart."""
    from kb.classify.model import SIGNALS, PairStacker

    rng = np.random.default_rng(0)
    n, at = 400, SIGNALS.index("keyword in text")
    features = rng.normal(0, 0.1, (n, 2, len(SIGNALS)))
    keyword = rng.random((n, 2)) < 0.5
    features[:, :, at] = keyword
    labels = np.zeros((n, 2))
    labels[:, 0] = keyword[:, 0]  # leaf 0: exactly when its keyword is there
    labels[:, 1] = rng.random(n) < 0.3  # leaf 1: whether or not its keyword is there
    both = np.zeros((1, 2, len(SIGNALS)))
    both[0, :, at] = 1.0
    p = PairStacker.fit(features, labels).predict(both)[0]
    assert p[0] > 0.9 and 0.15 < p[1] < 0.45, p


def test_a_keyword_in_the_text_moves_its_leaf_up() -> None:
    tax = toy_taxonomy(True)
    train, texts = toy_labelled()
    clf = train_classifier(toy_space(tax), train, texts)
    between = (axis(1) + axis(3)) / np.linalg.norm(axis(1) + axis(3))
    with_banana, with_damson = clf.scores(np.stack([between, between]), ["banana things", "damson things"], works(2))
    assert with_banana[1] > with_damson[1] and with_damson[3] > with_banana[3]


def test_a_word_piece_that_marks_a_leaf_in_training_moves_it_up() -> None:
    # The character n-gram signal: every training text of leaf 2 carries "zorbly" (words no
    # keyword or vector knows); the stacker learns from the titles given, which are the texts.
    train, texts = toy_labelled()
    texts = [t + " zorbly" if label[2] else t for t, label in zip(texts, train.labels, strict=True)]
    clf = train_classifier(toy_space(toy_taxonomy(False)), train, texts, (train.vectors, texts))
    between = (axis(1) + axis(2)) / np.linalg.norm(axis(1) + axis(2))
    plain, marked = clf.scores(np.stack([between, between]), ["things", "zorbly things"], works(2))
    assert marked[2] > plain[2] and marked.argmax() == 2


@pytest.mark.parametrize("multi_label", [True, False])
def test_a_dataset_leans_to_the_leaves_that_hold_datasets(multi_label: bool) -> None:
    # Leaf 3's curated entries are all datasets, the rest works: a text halfway between leaves 1
    # and 3 goes to 3 when it is a dataset and to 1 when it is a work (a model and the data it
    # released share a title; their kinds tell them apart).
    train, texts = toy_labelled(kinds={3: "dataset"})
    clf = train_classifier(toy_space(toy_taxonomy(multi_label)), train, texts)
    between = (axis(1) + axis(3)) / np.linalg.norm(axis(1) + axis(3))
    as_work, as_dataset = clf.scores(np.stack([between, between]), ["things", "things"], [WORK, "dataset"])
    assert as_work.argmax() == 1 and as_dataset.argmax() == 3


def test_a_benchmark_and_a_dataset_lean_to_the_leaves_of_their_own_kind() -> None:
    # Any kind counts, not only work or dataset: leaf 2 holds datasets, leaf 3 benchmarks.
    train, texts = toy_labelled(kinds={2: "dataset", 3: "benchmark"})
    clf = train_classifier(toy_space(toy_taxonomy(False)), train, texts)
    between = (axis(2) + axis(3)) / np.linalg.norm(axis(2) + axis(3))
    dataset, benchmark = clf.scores(np.stack([between, between]), ["things", "things"], ["dataset", "benchmark"])
    assert dataset.argmax() == 2 and benchmark.argmax() == 3


def testcue_patterns_match_whole_words_with_endings() -> None:
    cue = cue_pattern(["jailbreak", "data pruning"])
    assert cue is not None
    assert cue.search("jailbreaking mllms with images") and cue.search("two jailbreaks")
    assert cue.search("on data pruning") and not cue.search("metadata pruning") and not cue.search("jailbreaker")


def testcue_patterns_do_not_care_how_a_title_hyphenates() -> None:
    cue = cue_pattern(["pretraining", "in-context learning", "chain-of-thought"])
    assert cue is not None
    for title in ["Decoupled Language Pre-training", "Multimodal In Context Learning", "Chain of Thought Prompting"]:
        assert cue.search(cue_text(title)), title
    assert cue.search(cue_text("Incontext learning in MLLMs")) and cue.search(cue_text("multi-modal pretraining"))
    # Still whole words: no keyword spans two forms of the text, nor a word's middle.
    assert not cue.search(cue_text("Self-pretrainingless")) and not cue.search(cue_text("in-context"))


def flat_spec(*nodes: dict[str, object]) -> dict[str, object]:
    """A multi-label taxonomy of top-level leaves, as a taxonomy file would give it."""
    return {"id": "toy", "title": "Toy", "source": "tests", "multi_label": True, "nodes": list(nodes)}


def test_a_leafs_cues_are_matched_in_titles_but_neither_embedded_nor_scored_by_cosine() -> None:
    spec = flat_spec(
        {"id": "a", "name": "A", "description": "about apples", "keywords": ["apple"], "cues": ["orchard"]},
        {"id": "b", "name": "B", "description": "about pears", "keywords": ["pear"]},
    )
    tax = Taxonomy.from_spec(TaxonomySpec.model_validate(spec))
    assert tax["a"].cues == ["orchard"] and tax["b"].cues == []
    assert "orchard" not in node_text(tax["a"]) and "orchard" not in keyword_texts(tax)
    space = make_space(tax, {"a": axis(0), "b": axis(1)}, {w: axis(2) for w in keyword_texts(tax)})
    a, b = space.cues
    assert a is not None and b is not None
    assert a.search(cue_text("Orchards of the web")) and a.search(cue_text("an apple a day"))
    assert not b.search(cue_text("Orchards of the web"))
    with pytest.raises(ValueError, match="cue"):  # a misspelt field is an error, not silently ignored
        TaxonomySpec.model_validate({**spec, "nodes": [{**spec["nodes"][1], "cue": ["x"]}]})


def test_evidence_shows_each_word_of_the_text_once_as_written_and_the_closest_entries_of_the_leaf() -> None:
    spec = flat_spec(
        {
            "id": "a",
            "name": "A",
            "description": "a",
            "keywords": ["filtering", "in context"],
            "cues": ["data filtering"],
        },
        {"id": "b", "name": "B", "description": "b", "keywords": ["pear"]},
    )
    tax = Taxonomy.from_spec(TaxonomySpec.model_validate(spec))
    space = make_space(tax, {"a": axis(0), "b": axis(1)}, {w: axis(2) for w in keyword_texts(tax)})
    train = Labelled(
        ["a-far", "a-near", "b-near"],
        np.stack([axis(3), axis(0), axis(0)]),
        np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
        np.arange(3),
        np.array(["model"] * 3),
    )
    found = evidence(space, train, axis(0), "Data Filtering with In-Context Examples", "a")
    assert found.words == ["in-context", "data filtering"]  # not "filtering" again, and as the text writes it
    assert [i for i, _ in found.like] == ["a-near", "a-far"] and found.like[0][1] == pytest.approx(1.0)
    assert evidence(space, train, axis(0), "nothing here", "b").words == []


def test_folds_keep_groups_together_and_do_not_depend_on_order() -> None:
    vectors = np.stack([axis(0), axis(0, 0.01, 1), axis(1), axis(2), axis(3)])
    groups = duplicate_groups(vectors, [None, None, "2401.00001", None, "2401.00001"])
    assert groups[0] == groups[1] and groups[2] == groups[4] and len(set(groups)) == 3
    ids = ["a", "b", "c", "d", "e"]
    folds = fold_of(ids, groups, 3)
    assert folds[0] == folds[1] and folds[2] == folds[4]
    order = [4, 2, 0, 3, 1]
    again = fold_of([ids[i] for i in order], groups[order], 3)
    assert list(again) == [folds[i] for i in order]
    by_title = duplicate_groups(vectors, [None] * 5, ["x", None, "Same", "z", "Same"])
    assert by_title[2] == by_title[4] and by_title[3] != by_title[2]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from([None, "p", "q", "r"]), st.sampled_from([None, "t", "u"])),
        min_size=1,
        max_size=12,
    )
)
def test_duplicate_groups_are_the_components_of_every_shared_key_or_close_pair(
    rows: list[tuple[int, str | None, str | None]],
) -> None:
    """Against the definition: entries are one group when a chain of pairs joins them, each pair
    close (the same axis here) or sharing an arXiv id or a title."""
    from scipy.sparse.csgraph import connected_components

    vectors = np.stack([axis(a) for a, _, _ in rows])
    arxiv, titles = [r[1] for r in rows], [r[2] for r in rows]
    pairs = np.array(
        [[a == b or (x is not None and x == y) or (t is not None and t == u) for b, y, u in rows] for a, x, t in rows]
    )
    expected = connected_components(pairs, directed=False)[1]
    found = duplicate_groups(vectors, arxiv, titles)
    same = lambda labels: labels[:, None] == labels[None, :]  # noqa: E731 - the partition, not the numbers
    assert (same(found) == same(expected)).all()


# ---------------------------------------------------------------------------------------------
# A small KB with curated tags, embedded by a hashed bag of words.

ACQ = "data4model/scaling/up/acquisition"
COND = "data4model/scaling/effectiveness/condensation"
TOX = "data4model/usability/ethic/toxicity"
EVAL = "data4model/usability/eval/understanding"

LABELLED = [
    ("corpus-a", "A billion-scale web-crawled image-text corpus", [ACQ], ["datasets/pretraining-alignment"]),
    ("corpus-b", "An interleaved image-text corpus at web scale", [ACQ], ["datasets/pretraining-alignment"]),
    ("corpus-c", "Web-crawled image-text pairs for pretraining", [ACQ], ["datasets/pretraining-alignment"]),
    ("prune-a", "Data pruning and filtering for CLIP training", [COND], ["others"]),
    ("prune-b", "Data selection and deduplication for efficient training", [COND], ["others"]),
    ("prune-c", "Quality filtering of noisy image-text pairs", [COND], ["others"]),
    ("jail-a", "Jailbreak attacks on multimodal models with images", [TOX], ["evaluation"]),
    ("jail-b", "Backdoor poisoning of visual instruction data", [TOX], ["evaluation"]),
    ("jail-c", "Adversarial attack and jailbreak safety of MLLMs", [TOX], ["evaluation"]),
    ("bench-a", "A comprehensive benchmark for multimodal understanding", [EVAL], ["datasets/benchmark"]),
    ("bench-b", "Benchmarking video understanding of MLLMs", [EVAL], ["datasets/benchmark"]),
    ("bench-c", "A diagnostic benchmark of perception", [EVAL], ["datasets/benchmark"]),
    ("hall-a", "Mitigating object hallucination in vision-language models", [], ["hallucination"]),
    ("hall-b", "Hallucination detection and correction for LVLMs", [], ["hallucination"]),
    ("tune-a", "Visual instruction tuning of a vision-language model", [], ["instruction-tuning"]),
    ("tune-b", "Instruction tuning a video LLM", [], ["instruction-tuning"]),
]
UNLABELLED = [
    ("new-jail", "Jailbreaking vision-language models through images"),
    ("new-corpus", "A new web-scale image-text corpus"),
    ("new-hall", "Reducing hallucination in LVLMs"),
]


def labelled_kb(root: Path) -> Path:
    entries: list[dict[str, object]] = []
    for entry_id, title, codev, yin in LABELLED:
        tags = {k: v for k, v in {"codev": codev, "yin": yin}.items() if v}
        entries.append({"id": entry_id, "title": title, "kind": "method", "tags": tags})
    entries += [{"id": entry_id, "title": title, "kind": "method"} for entry_id, title in UNLABELLED]
    return make_kb(root, entries)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return labelled_kb(tmp_path / "kb")


def test_suggest_for_text_ranks_every_leaf_and_only_leaves(root: Path) -> None:
    kb = load_kb(root)
    for taxonomy in ("codev", "yin"):
        ranked = suggest_for_text(kb, Config(), taxonomy, "jailbreak attacks with images", embedder=HashingEmbedder())
        leaves = [n.id for n in kb.taxonomies[taxonomy].leaves()]
        assert sorted(s.tag for s in ranked) == sorted(leaves)
        assert [s.score for s in ranked] == sorted((s.score for s in ranked), reverse=True)
    codev = suggest_for_text(kb, Config(), "codev", "jailbreak attacks with images", embedder=HashingEmbedder())
    assert codev[0].tag == TOX


def test_an_entry_never_learns_from_its_own_labels(root: Path) -> None:
    """Suggestions for a labelled entry equal those made after deleting its tags from the KB:
    its labels never reach the classifier. Learning from them would change the scores."""
    embedder = HashingEmbedder()
    kb = load_kb(root)
    suggester = Suggester.build(kb, Config(), embedder=embedder)
    own = suggester.for_entry("codev", "jail-a")
    assert "jail-a" not in suggester.classifier("codev", suggester.same_paper("jail-a")).train.ids

    write_entry(root, {"id": "jail-a", "title": LABELLED[6][1], "kind": "method"})
    stripped = Suggester.build(load_kb(root), Config(), embedder=embedder)
    assert stripped.for_entry("codev", "jail-a") == own

    leaked = suggester.for_texts("codev", ["x"], suggester.vectors.subset(["jail-a"]).matrix)[0]
    assert leaked != own  # with its own labels in the training set the answer differs


def test_update_suggestions_covers_entries_without_curated_tags(root: Path) -> None:
    kb = load_kb(root)
    assert update_suggestions(kb, Config(), embedder=HashingEmbedder()) is True
    data = SuggestionsFile.model_validate(json.loads((root / SUGGESTIONS_FILE).read_text(encoding="utf-8")))
    assert data.model == "hashing-64" and data.recipe == RECIPE
    without_codev = {i for i, _, codev, _ in LABELLED if not codev} | {i for i, _ in UNLABELLED}
    assert {i for i, s in data.entries.items() if s.codev} == without_codev
    assert {i for i, s in data.entries.items() if s.yin} == {i for i, _ in UNLABELLED}
    assert all(len(s.codev) in (0, 5) and len(s.yin) in (0, 5) for s in data.entries.values())
    assert data.entries["new-jail"].codev[0].tag == TOX
    assert data.entries["new-hall"].yin[0].tag == "hallucination"


def test_the_evidence_of_stored_suggestions_is_what_kb_suggest_why_shows(root: Path) -> None:
    kb = load_kb(root)
    update_suggestions(kb, Config(), embedder=HashingEmbedder())
    why = suggestion_evidence(load_kb(root), Config(), embedder=HashingEmbedder())
    assert set(why) == set(load_kb(root).suggestions)
    toxicity = why["new-jail"]["codev"][TOX]
    assert toxicity.words == ["jailbreaking"]
    assert {i for i, _ in toxicity.like} == {"jail-a", "jail-b", "jail-c"}
    assert set(why["new-jail"]["codev"]) == {t for t, _ in suggested_tags(load_kb(root), "new-jail")["codev"]}


def test_suggestions_json_is_byte_identical_for_the_same_data(root: Path, tmp_path: Path) -> None:
    update_suggestions(load_kb(root), Config(), embedder=HashingEmbedder())
    first = (root / SUGGESTIONS_FILE).read_bytes()
    assert update_suggestions(load_kb(root), Config(), embedder=HashingEmbedder()) is False
    assert (root / SUGGESTIONS_FILE).read_bytes() == first

    # Another copy, entries written in another order, no cache: the same bytes.
    other = tmp_path / "other"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns(".kb-cache", "suggestions.json"))
    for path in sorted((other / "entries" / "works").glob("*.yaml"), reverse=True):
        path.write_text(yaml.safe_dump(yaml.safe_load(path.read_text()), sort_keys=True), encoding="utf-8")
    assert update_suggestions(load_kb(other), Config(), embedder=HashingEmbedder()) is True
    assert (other / SUGGESTIONS_FILE).read_bytes() == first
    assert first.endswith(b"}\n") and json.loads(first)["entries"]


def test_noise_in_the_last_digit_does_not_rewrite_suggestions_json(root: Path) -> None:
    # A fresh cache encodes texts in other batches, and their vectors differ in the last bits:
    # a score may move by 0.0001. The committed file stays as it is; a real change rewrites it.
    update_suggestions(load_kb(root), Config(), embedder=HashingEmbedder())
    path = root / SUGGESTIONS_FILE
    data = SuggestionsFile.model_validate_json(path.read_text(encoding="utf-8"))
    top = data.entries["new-jail"].codev[0]

    top.score = round(top.score - 0.0001, 4)
    nudged = render_suggestions_file(data)
    path.write_text(nudged, encoding="utf-8")
    assert update_suggestions(load_kb(root), Config(), embedder=HashingEmbedder()) is False
    assert path.read_text(encoding="utf-8") == nudged

    top.score = round(top.score - 0.01, 4)
    path.write_text(render_suggestions_file(data), encoding="utf-8")
    assert update_suggestions(load_kb(root), Config(), embedder=HashingEmbedder()) is True
    assert path.read_text(encoding="utf-8") != nudged


def test_same_suggestions_wants_the_same_model_recipe_zero_shot_entries_and_order() -> None:
    def file(
        recipe: int = 1, tags: tuple[str, ...] = ("x", "y"), entry: str = "a", zero_shot: tuple[str, ...] = ()
    ) -> SuggestionsFile:
        ranked = [{"tag": t, "score": 0.5 - i / 10} for i, t in enumerate(tags)]
        entries = {entry: {"yin": ranked}}
        return SuggestionsFile.model_validate(
            {"model": "m", "recipe": recipe, "zero_shot": zero_shot, "entries": entries}
        )

    text = render_suggestions_file(file())
    assert same_suggestions(text, file())
    assert not same_suggestions(text, file(recipe=2))
    assert not same_suggestions(text, file(zero_shot=("yin",)))  # learned at last: the pages mark them
    assert not same_suggestions(text, file(tags=("y", "x")))
    assert not same_suggestions(text, file(entry="b"))
    assert not same_suggestions("{not json", file())


def test_render_suggestions_file_round_trips() -> None:
    data = SuggestionsFile.model_validate(
        {"model": "m", "recipe": 1, "entries": {"b": {"codev": [{"tag": "x", "score": 0.25}]}, "a": {}}}
    )
    text = render_suggestions_file(data)
    assert SuggestionsFile.model_validate(json.loads(text)) == data
    assert text.index('"a"') < text.index('"b"')
    assert SuggestionsFile.model_validate(json.loads(render_suggestions_file(SuggestionsFile(model="m", recipe=1))))
    # A knowledge base that learns writes no zero_shot key, so its file reads as before the key was;
    # one that does not says which taxonomies, in the head.
    assert '"zero_shot"' not in text
    zero_shot = data.model_copy(update={"zero_shot": ["codev", "yin"]})
    text = render_suggestions_file(zero_shot)
    assert ' "zero_shot": ["codev", "yin"],\n "entries": {\n' in text
    assert SuggestionsFile.model_validate(json.loads(text)) == zero_shot


def test_per_paper_merges_entries_of_one_title_and_accepts_any_of_their_tags() -> None:
    from kb.classify.evaluate import _per_paper

    truth = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    ranked = np.array([[0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]])
    papers, scores = _per_paper(
        ["Visual  Instruction Tuning", "visual instruction tuning", "Other"], truth, {"m": ranked}
    )
    assert papers == 2
    assert (scores["m"].top1, scores["m"].top3) == (0.5, 1.0)  # the shared title is right under either tag


def test_calibration_bands_count_every_score_once_and_the_share_right_in_each() -> None:
    from kb.classify.evaluate import calibration
    from kb.classify.report import render_calibration

    scores = np.array([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [1.0, 0.0, 0.0]])
    truth = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    bands = calibration(scores, truth, edges=(0.0, 0.25, 0.5, 1.0))
    assert [(b.leaves, b.mean_score, b.right) for b in bands] == [
        (5, 0.06, 0.2),  # 0.05, 0.05, 0.2, 0.0, 0.0: only the 0.0 of the third entry is its tag
        (1, 0.3, 1.0),  # 0.3 is the second entry's tag
        (3, 0.8, 0.3333),  # 0.9 right, 0.5 (the band's low edge) wrong, 1.0 (the top edge) wrong
    ]
    lines = render_calibration(calibration(scores, truth, edges=(0.0, 0.3, 0.6, 0.7, 1.0)), asked="paper")
    assert "every paper and leaf" in lines[0]
    assert lines[1].split() == ["score", "0.0-0.3", "0.3-0.6", "0.6-0.7", "0.7-1.0"]
    assert lines[2].split() == ["leaves", "5", "2", "0", "2"]
    assert lines[3].split()[2:] == ["0.06", "0.40", "-", "0.95"]  # an empty band shows a dash
    assert lines[4].split()[1:] == ["20.0%", "50.0%", "-", "50.0%"]


def test_a_threshold_suggests_the_leaves_at_or_above_it_and_always_the_best_one() -> None:
    from kb.classify.evaluate import at_threshold
    from kb.classify.report import render_thresholds

    scores = np.array([[0.9, 0.6, 0.1], [0.3, 0.2, 0.1], [0.5, 0.5, 0.4]])
    truth = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    # 0.5: 0.9 and 0.6 (one right); 0.3, the best of the second (wrong); 0.5 and 0.5 (both right).
    assert at_threshold(scores, truth, 0.5) == {
        "threshold": 0.5,
        "precision": 0.6,  # 3 of 5 suggested
        "recall": 0.6,  # 3 of 5 tags
        "f1": 0.6,
        "suggested_per_entry": 1.67,
    }
    # 0.95: the best leaf alone: 0.9 right, 0.3 wrong, the first 0.5 (taxonomy order) right.
    assert at_threshold(scores, truth, 0.95) | {"f1": 0} == {
        "threshold": 0.95,
        "precision": 0.6667,
        "recall": 0.4,
        "f1": 0,
        "suggested_per_entry": 1.0,
    }
    assert at_threshold(scores, np.zeros_like(truth), 0.5)["f1"] == 0.0  # nothing right: no division by zero
    lines = render_thresholds([at_threshold(scores, truth, t) for t in (0.5, 0.95)])
    assert [line.split() for line in lines[1:]] == [
        ["score", ">=", "0.5", "0.95"],
        ["per", "entry", "1.67", "1.00"],
        ["precision", "60.0%", "66.7%"],
        ["recall", "60.0%", "40.0%"],
        ["F1", "60.0%", "50.0%"],
    ]


def test_newer_judges_a_whole_group_by_its_earliest_date() -> None:
    from kb.classify.labels import newer

    groups = np.array([0, 1, 2, 3, 3, 4, 5])
    dates = ["2024", "2024-07", "2024-08-02", None, "2025-01-01", "2024-06-30", "2024-07-01"]
    # A year is its first day, a month too; undated is never newer; group 3 has an undated member.
    assert newer(groups, dates, "2024-07-01").tolist() == [False, True, True, False, False, False, True]
    assert newer(np.array([0, 0]), ["2025-02", "2024-12-31"], "2025-01-01").tolist() == [False, False]


def test_split_by_date_scores_the_newer_entries_as_a_classifier_that_never_saw_them() -> None:
    """kb eval --after: the scores of the newer entries are those of the classifier kb suggest
    would train on a KB without their labels."""
    import tempfile

    from kb.classify.evaluate import cross_validate

    with tempfile.TemporaryDirectory() as folder:
        root = dated_kb(Path(folder))
        kb = load_kb(root)
        suggester = Suggester.build(kb, Config(), embedder=HashingEmbedder())
        titles = suggester.title_vectors(suggester.vectors.ids)
        cv = cross_validate(suggester, "codev", 10, titles, after="2025-01-01")
        assert sorted(cv.labelled.ids) == ["bench-c", "corpus-c", "jail-c", "prune-c"] and cv.learned_from == 8
        clf = suggester.classifier("codev", without=frozenset(cv.labelled.ids))
        rows = [suggester.vectors.index[i] for i in cv.labelled.ids]
        expected = clf.scores(titles[rows], cv.titles, list(cv.labelled.kinds))
        np.testing.assert_allclose(cv.scores["kb suggest"], expected)


def dated_kb(root: Path) -> Path:
    """The labelled KB with its "-c" entries released in 2025 and the others in 2023."""
    labelled_kb(root)
    for path in (root / "entries" / "works").glob("*.yaml"):
        entry = yaml.safe_load(path.read_text(encoding="utf-8"))
        entry["date"] = "2025-03" if entry["id"].endswith("-c") else "2023"
        write_entry(root, entry)
    return root


@pytest.mark.parametrize(
    ("dates", "after", "said"),
    [
        (
            ["2023-05-01", "2023-05", "2024", "2025-03-01"],
            "2026-01-01",
            "no entry with curated codev tags is dated 2026-01-01 or later; give --after from 2023-05-02 to 2025-03-01",
        ),
        (
            [None, None, "2024", "2025-03-01"],  # the undated are enough to learn from
            "2026-01-01",
            "no entry with curated codev tags is dated 2026-01-01 or later; give --after 2025-03-01 or earlier",
        ),
        (
            ["2023", "2024-06-30", "2024-07-01", "2024-07-01"],
            "2024-01-01",
            "kb eval --after 2024-01-01 leaves 1 entry with curated codev tags to learn from (older or undated); "
            "it needs at least 2; give --after 2024-07-01",
        ),
        (
            [None, "2024", "2024", "2024"],
            "2024-01-01",
            "kb eval --after 2024-01-01 leaves 1 entry with curated codev tags to learn from (older or undated); "
            "it needs at least 2; no date leaves one to score and 2 to learn from among its 4 labelled entries "
            "(3 dated); without --after kb eval cross-validates by folds",
        ),
    ],
)
def test_a_split_by_date_with_too_few_entries_on_a_side_says_which_days_work(
    dates: list[str | None], after: str, said: str
) -> None:
    """kb eval --after had refused these as a usage error (exit 2) saying only "earlier" or "later"."""
    from kb.classify.evaluate import _check_split
    from kb.classify.labels import newer

    groups = np.arange(len(dates))
    with pytest.raises(KBError) as caught:
        _check_split("codev", after, newer(groups, dates, after), groups, dates)
    assert not isinstance(caught.value, UsageError)  # exit 1: the data's shortcoming, not the command's
    assert str(caught.value) == said


def test_by_leaf_counts_each_leaf_at_top_1_and_what_its_wrong_entries_got() -> None:
    from kb.classify.evaluate import by_leaf, wrong_entries

    leaves = ["a", "b", "c"]
    scores = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.1, 0.4], [0.1, 0.1, 0.8]])
    truth = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]])
    rows = {row.leaf: row for row in by_leaf(scores, truth, leaves)}
    # a: one entry, first for it; given first to three, one of which carries it.
    assert (rows["a"].entries, rows["a"].first, rows["a"].top3, rows["a"].chosen, rows["a"].right) == (
        1,
        1.0,
        1.0,
        3,
        0.3333,
    )
    # b: two entries, both given a first, b second for one and third for the other; given to none.
    assert (rows["b"].entries, rows["b"].first, rows["b"].chosen, rows["b"].right) == (2, 0.0, 0, None)
    assert rows["b"].taken_for == {"a": 2}
    assert (rows["c"].first, rows["c"].right, rows["c"].taken_for) == (0.5, 1.0, {"a": 1})
    misses = wrong_entries(scores, truth, leaves, ["p", "q", "r", "s"], ["P", "Q", "R", "S"])
    assert [(m.id, m.best, m.score, m.tags) for m in misses] == [("q", "a", 0.6, ["b"]), ("r", "a", 0.5, ["b", "c"])]


def test_a_leaf_among_the_best_is_its_sections_too_when_scores_tie(tmp_path: Path) -> None:
    """Tied leaves rank in taxonomy order; tied sections had ranked alphabetically, so a baseline
    of all-zero scores was right at the leaf level (top-3 100%) and wrong above it (0%) (audit)."""
    from kb.classify.evaluate import _by_section, _hits

    kb = load_kb(make_kb(tmp_path, []))
    rng = np.random.default_rng(0)
    for name in ("codev", "yin"):
        tax = kb.taxonomies[name]
        leaves = [leaf.id for leaf in tax.leaves()]
        truth = np.eye(len(leaves))  # an entry per leaf
        zeros = np.zeros(truth.shape)
        one_leaf = np.zeros(truth.shape)
        one_leaf[:, -1] = 1.0  # a majority class that learned one leaf, the last (rlhf of yin's topics...)
        # 0/1 scores: ties everywhere (a multi-label section's score is its best leaf's)
        coins = rng.integers(0, 2, size=truth.shape).astype(float)
        methods = {"zeros": zeros, "one leaf": one_leaf} | ({"coins": coins} if tax.multi_label else {})
        for depth in range(max(n.depth for n in tax.leaves())):
            for method, scores in methods.items():
                for row in range(len(leaves)):
                    leaf = _hits(scores[[row]], truth[[row]])
                    section = _by_section(tax, leaves, depth, truth[[row]], {method: scores[[row]]})[method]
                    where = (name, depth, method, leaves[row])
                    assert section.top1 >= leaf.top1 and section.top3 >= leaf.top3, where


def test_kb_eval_counts_in_words_that_agree_with_the_number() -> None:
    from kb.classify.evaluate import METHODS, EvalReport, LevelResult, Miss, Score, TaxonomyResult
    from kb.classify.report import render_text

    levels = [LevelResult("leaf", {m: Score(1.0, 1.0) for m in METHODS})]
    miss = Miss("a", "A", "rlhf", 0.5, ["hallucination"])
    one = TaxonomyResult("yin", 1, levels, papers=1, learned_from=1, misses=[miss])
    text = render_text(EvalReport(folds=1, query="title", results=[one], after="2024-01-01"))
    assert "yin: 1 labelled entry, learned from 1 older, 1 distinct title of works\n" in text
    assert "  wrong at top-1 (1 entry): curated tags" in text
    two = TaxonomyResult("yin", 2, levels, papers=2, learned_from=2)
    text = render_text(EvalReport(folds=1, query="title", results=[two], after="2024-01-01"))
    assert "yin: 2 labelled entries, learned from 2 older, 2 distinct titles of works\n" in text


def test_a_knowledge_base_without_curated_tags_falls_back_to_the_descriptions(tmp_path: Path) -> None:
    root = make_kb(tmp_path, [{"id": "new-jail", "title": "Jailbreak attacks with images", "kind": "method"}])
    wide = HashingEmbedder("hashing-1024", dim=1024)  # 64 buckets put "jailbreak" with "visualizer"
    assert update_suggestions(load_kb(root), Config(), embedder=wide) is True
    data = SuggestionsFile.model_validate(json.loads((root / SUGGESTIONS_FILE).read_text(encoding="utf-8")))
    assert len(data.entries["new-jail"].codev) == 5 and len(data.entries["new-jail"].yin) == 5
    ranked = suggest_for_text(load_kb(root), Config(), "codev", "jailbreak", embedder=wide)
    assert sum(s.score for s in ranked) == pytest.approx(1.0, abs=1e-3)
    assert ranked[0].tag == TOX  # "jailbreak" is in its description and keywords


def test_kb_eval_with_too_few_labels_is_an_error_of_the_data(tmp_path: Path) -> None:
    from kb.classify.evaluate import evaluate
    from kb.errors import KBError, UsageError

    root = make_kb(tmp_path, [{"id": "a", "title": "A title", "kind": "method", "tags": {"yin": ["rlhf"]}}])
    with pytest.raises(KBError, match="kb eval needs at least 10 entries with curated codev tags .*, found 0") as e:
        evaluate(load_kb(root), Config(), embedder=HashingEmbedder())
    assert not isinstance(e.value, UsageError)  # exit 1: the data's shortcoming, not the command's

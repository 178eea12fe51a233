"""Clustering and its reports on constructed vectors whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.cluster import ClusterReport, cluster_kb, cut_levels, render_text, review_queue, telling_terms
from kb.cluster.terms import _terms
from kb.embed import Vectors, normalise
from kb.schema import Entry
from kb.store import KB
from kb.taxonomy import load_taxonomies
from tests.intel_kb import REPO

DIM = 8


def axis(i: int) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[i] = 1
    return v


def blob(centre: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    return normalise(centre + rng.normal(0, noise, size=(n, DIM)))


def make(entries: list[dict[str, object]], rows: np.ndarray) -> tuple[KB, Vectors]:
    kb = KB(root=Path("/nonexistent"), taxonomies=load_taxonomies(REPO / "entries" / "taxonomies"))
    for fields in entries:
        entry = Entry.model_validate({"kind": "model", "title": f"About {fields['id']}", **fields})
        kb.entries[entry.id] = entry
    return kb, Vectors([str(e["id"]) for e in entries], normalise(rows))


def test_cuts_find_separated_groups_and_are_nested() -> None:
    rng = np.random.default_rng(0)
    matrix = np.vstack([blob(axis(0), 8, rng), blob(axis(1), 6, rng), blob(axis(2), 4, rng)])
    three, six = cut_levels(matrix, [3, 6])
    assert three.tolist() == [0] * 8 + [1] * 6 + [2] * 4  # biggest cluster first
    assert len(set(six.tolist())) == 6
    for fine in set(six.tolist()):
        assert len(set(three[six == fine].tolist())) == 1  # each fine cluster inside one coarse one


def test_cuts_are_deterministic() -> None:
    matrix = blob(np.ones(DIM), 30, np.random.default_rng(1), noise=0.5)
    assert [c.tolist() for c in cut_levels(matrix, [4, 9])] == [c.tolist() for c in cut_levels(matrix, [4, 9])]


def test_telling_terms_are_what_sets_a_cluster_apart() -> None:
    texts = [
        "Object hallucination in vision-language models",
        "Mitigating hallucination with contrastive decoding",
        "Hallucination benchmark for multimodal models",
        "Long video understanding with multimodal models",
        "Video question answering for multimodal models",
        "Temporal grounding in video",
    ]
    terms = telling_terms(texts, np.array([0, 0, 0, 1, 1, 1]))
    assert terms[0][0] == "hallucination" and terms[1][0] == "video"
    assert "models" not in terms[0] + terms[1]  # on both sides: tells nothing


def test_telling_terms_read_a_bracketed_completion_as_part_of_its_word() -> None:
    texts = [
        "An Early Evaluation of GPT-4V(ision)",
        "GPT-4V(ision) System Card",
        "Holistic Analysis of Hallucination in GPT-4V(ision)",
        "Fool Your (Vision and) Language Model",
        "Long video understanding",
        "Video question answering",
    ]
    terms = telling_terms(texts, np.array([0, 0, 0, 0, 1, 1]))
    assert terms[0][0] == "gpt-4v"
    assert not any("ision" in t.split() for t in terms[0])


def test_review_queue_flags_the_entry_its_neighbours_disagree_with() -> None:
    rng = np.random.default_rng(2)
    entries = (
        [{"id": f"hal-{i}", "tags": {"yin": ["hallucination"]}} for i in range(6)]
        + [{"id": f"eval-{i}", "tags": {"yin": ["evaluation"]}} for i in range(6)]
        + [{"id": "odd-one", "tags": {"yin": ["evaluation"]}}]
        # A benchmark about hallucination is filed under the datasets section: not a disagreement,
        # because datasets are only compared with datasets.
        + [{"id": "hal-bench", "kind": "benchmark", "tags": {"yin": ["datasets/benchmark"]}}]
    )
    rows = np.vstack([blob(axis(0), 6, rng), blob(axis(1), 6, rng), blob(axis(0), 1, rng), blob(axis(0), 1, rng)])
    kb, vectors = make(entries, rows)
    queue = review_queue(kb, vectors, k=5)
    assert [(q.entry_id, q.taxonomy, q.curated, q.neighbours_say) for q in queue] == [
        ("odd-one", "yin", ["evaluation"], ["hallucination"])
    ]
    assert queue[0].reason.startswith("5 of its 5 nearest yin-labelled neighbours carry hallucination")
    assert queue[0].reason.endswith("; none carries any of its own tags")
    assert set(queue[0].neighbours) <= {f"hal-{i}" for i in range(6)}


def test_review_queue_is_empty_when_labels_follow_the_data() -> None:
    rng = np.random.default_rng(3)
    entries = [{"id": f"a-{i}", "tags": {"codev": ["data4model/scaling/up/acquisition"]}} for i in range(5)] + [
        {"id": f"b-{i}", "tags": {"codev": ["model4data/synthesis/mapper"]}} for i in range(5)
    ]
    kb, vectors = make(entries, np.vstack([blob(axis(0), 5, rng), blob(axis(1), 5, rng)]))
    assert review_queue(kb, vectors) == []


@pytest.fixture
def three_groups() -> tuple[KB, Vectors, Vectors]:
    """A: hallucination papers near their node; B: near the evaluation node but labelled half
    hallucination, half evaluation; C: a topic far from every node."""
    rng = np.random.default_rng(4)
    entries = (
        [{"id": f"a-{i}", "tags": {"yin": ["hallucination"]}} for i in range(8)]
        + [{"id": f"b-{i}", "tags": {"yin": ["hallucination" if i % 2 else "evaluation"]}} for i in range(8)]
        + [{"id": f"c-{i}"} for i in range(6)]
    )
    rows = np.vstack([blob(axis(0), 8, rng), blob(axis(1), 8, rng), blob(axis(5), 6, rng)])
    kb, vectors = make(entries, rows)
    nodes = Vectors(
        ["yin:hallucination", "yin:evaluation", "codev:data4model"],
        normalise(np.vstack([axis(0), axis(1), axis(2) + axis(3)])),
    )
    return kb, vectors, nodes


def test_cluster_report_finds_the_straddling_and_the_unfitting_cluster(three_groups) -> None:
    kb, vectors, nodes = three_groups
    texts = ["hallucination object"] * 8 + ["evaluation benchmark"] * 8 + ["robot arm"] * 6
    report = cluster_kb(kb, vectors, nodes, [3], texts=texts, k=5)
    by_members = {tuple(sorted(c.members))[0]: c for c in report.clusters}
    a, b, c = by_members["a-0"], by_members["b-0"], by_members["c-0"]
    assert a.nearest_nodes["yin"][0][0] == "yin:hallucination"
    assert b.nearest_nodes["yin"][0][0] == "yin:evaluation"
    assert set(" ".join(c.terms).split()) == {"robot", "arm"}
    found = sorted((cand.cluster, cand.kind, cand.taxonomy) for cand in report.candidates)
    assert found == sorted([(b.id, "straddles", "yin"), (c.id, "fits-none", None)])
    text = render_text(report)
    assert "== candidate taxonomy nodes (2) ==" in text and "== review queue (" in text


def test_a_cluster_without_terms_is_said_to_have_none_and_shown_by_its_entries(three_groups) -> None:
    """A cluster of one paper's name ("Pixtral 12B") had a blank line where its terms go."""
    kb, vectors, nodes = three_groups
    texts = ["hallucination object"] * 8 + ["evaluation benchmark"] * 8 + ["towards the new"] * 6
    report = cluster_kb(kb, vectors, nodes, [3], texts=texts, k=5)
    (c,) = [c for c in report.clusters if "c-0" in c.members]
    assert c.terms == []
    text = render_text(report)
    assert f"{c.id:<7} {c.size:>4}  (no words shared by two papers or more: {', '.join(c.members[:3])})" in text
    assert "== 3 clusters ==" in text  # "(asked for 3)" only where a cut gives another number


def test_cluster_report_has_parents_across_levels(three_groups) -> None:
    kb, vectors, nodes = three_groups
    report = cluster_kb(kb, vectors, nodes, [2, 3])
    coarse = {c.id: set(c.members) for c in report.clusters if c.level == 2}
    fine = [c for c in report.clusters if c.level == 3]
    # Each level partitions every entry: two clusters, then three, each inside one of the two.
    assert len(coarse) == 2 and len(fine) == 3
    for level in (list(coarse.values()), [set(c.members) for c in fine]):
        assert sorted(m for members in level for m in members) == sorted(kb.entries)
    for cluster in fine:
        assert cluster.parent in coarse and set(cluster.members) <= coarse[cluster.parent]
    assert report.to_dict()["levels"] == [2, 3]


def test_levels_above_the_number_of_entries_are_that_number_once(three_groups) -> None:
    """22 entries make at most 22 clusters: asking for 30 and 50 is one level of 22, named so."""
    kb, vectors, nodes = three_groups
    report = cluster_kb(kb, vectors, nodes, [3, 30, 50])
    assert report.levels == [3, 22]
    finest = [c for c in report.clusters if c.level == 22]
    assert len(finest) == 22 and all(c.id.startswith("L22-") and c.size == 1 for c in finest)


def _filler(n: int) -> list[str]:
    """Titles of a big KB that share only the field's common words."""
    topics = ["retrieval", "segmentation", "captioning", "grounding", "robotics", "medicine", "driving", "charts"]
    return [f"Multimodal large language models for {topics[i % len(topics)]} study {i}" for i in range(n)]


def test_telling_terms_leave_out_phrases_of_common_words_however_hyphenated() -> None:
    cluster = ["Multi-modal large models see hallucination"] * 3 + ["Hallucination in multi-modal LLMs"] * 3
    texts = _filler(100) + cluster
    labels = np.array([0] * 100 + [1] * 6)
    terms = telling_terms(texts, labels, papers=[str(i) for i in range(len(texts))])[1]
    assert terms[0] == "hallucination"
    # "multi-modal" is "multimodal" hyphenated, common to the whole KB; a phrase of such words tells nothing.
    assert not [t for t in terms if set(t.split()) <= {"multi-modal", "large", "models", "multimodal"}]


def test_telling_terms_count_a_papers_entries_once_and_drop_its_name() -> None:
    # One paper gives three entries (a model and two datasets): its name is no theme of the cluster.
    texts = _filler(100) + ["Qorvath: bootstrapping speech assistants"] * 3 + ["Speech assistants that listen"] * 2
    labels = np.array([0] * 100 + [1] * 5)
    papers = [str(i) for i in range(100)] + ["qorvath"] * 3 + ["listen-1", "listen-2"]
    terms = telling_terms(texts, labels, papers=papers)[1]
    assert "qorvath" not in terms and "bootstrapping" not in terms
    assert terms[0] in {"speech assistants", "speech", "assistants"}


def test_a_phrase_never_spans_a_stop_word_or_punctuation() -> None:
    terms = _terms("X-Thing: Bootstrapping Models by Treating Speech as a Foreign Language")
    assert "models treating" not in terms and "x-thing bootstrapping" not in terms
    assert {"x-thing", "bootstrapping models", "treating speech", "foreign language"} <= set(terms)
    assert not {"by", "as", "a"} & set(terms)


def test_words_that_pitch_a_paper_are_no_terms() -> None:
    terms = _terms("Empowering Video Models: Towards Better Grounding via Region Tokens using Novel Data")
    assert {"video models", "grounding", "region tokens", "data"} <= set(terms)
    assert not {"empowering", "towards", "better", "via", "using", "novel"} & {w for t in terms for w in t.split()}


YIN_NODES = Vectors(["yin:hallucination", "yin:evaluation"], normalise(np.vstack([axis(0), axis(1)])))


def straddles(report: ClusterReport) -> list[tuple[str, str | None, str]]:
    return [(c.cluster, c.taxonomy, c.reason) for c in report.candidates if c.kind == "straddles"]


def test_tags_that_go_together_on_entries_cut_nothing() -> None:
    leaves = ("up/acquisition", "up/diversity", "effectiveness/mixture")
    acq, div, mix = (f"data4model/scaling/{leaf}" for leaf in leaves)
    together = [[acq, div]] * 3 + [[acq]] * 2 + [[div]] * 2 + [[mix]] * 3
    apart = [[acq]] * 5 + [[div]] * 5
    for tags, cut in ((together, False), (apart, True)):
        entries = [{"id": f"e-{i}", "tags": {"codev": t}} for i, t in enumerate(tags)]
        kb, vectors = make(entries, blob(axis(0), len(entries), np.random.default_rng(6)))
        report = cluster_kb(kb, vectors, YIN_NODES, [1])
        found = straddles(report)
        assert bool(found) is cut, found
    assert found[0][2] == f"of its 10 codev-labelled works, 5 {acq}, 5 {div} (each without the others)"
    # Each side's entries, for a maintainer to open: in the report and in its text.
    assert report.candidates[0].sides == {acq: [f"e-{i}" for i in range(5)], div: [f"e-{i}" for i in range(5, 10)]}
    assert f"{acq}: e-0, e-1, e-2, e-3, e-4" in render_text(report)


def test_benchmarks_and_training_datasets_are_counted_apart() -> None:
    entries = [{"id": f"b-{i}", "kind": "benchmark", "tags": {"yin": ["datasets/benchmark"]}} for i in range(5)] + [
        {"id": f"d-{i}", "kind": "dataset", "tags": {"yin": ["datasets/instruction-tuning"]}} for i in range(5)
    ]
    kb, vectors = make(entries, blob(axis(0), 10, np.random.default_rng(7)))
    assert straddles(cluster_kb(kb, vectors, YIN_NODES, [1])) == []


def test_a_straddle_is_reported_once_in_the_tightest_cluster_that_shows_it() -> None:
    rng = np.random.default_rng(8)
    entries = [{"id": f"s-{i}", "tags": {"yin": ["hallucination" if i % 2 else "evaluation"]}} for i in range(10)] + [
        {"id": f"far-{i}"} for i in range(6)
    ]
    kb, vectors = make(entries, np.vstack([blob(axis(0), 10, rng), blob(axis(4), 6, rng)]))
    report = cluster_kb(kb, vectors, YIN_NODES, [1, 2])
    inner = next(c for c in report.clusters if c.level == 2 and "s-0" in c.members)
    # The whole KB (level 1) straddles the same two topics, through the same ten entries.
    assert [(cluster, taxonomy) for cluster, taxonomy, _ in straddles(report)] == [(inner.id, "yin")]

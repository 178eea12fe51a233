"""kb search: words and meaning blended. Unit tests on a small embedder; the real model on the real KB (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb.config import Config
from kb.embed import Vectors, embed_kb, entry_text
from kb.search import rank, word_scores, words
from kb.store import KB, load_kb
from tests.conftest import REPO, run_kb
from tests.intel_kb import HashingEmbedder
from tests.test_query import make_query_kb


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KB:
    return load_kb(make_query_kb(tmp_path_factory.mktemp("kb")))


def test_words_drop_stop_words_fold_plurals_and_split_hyphens() -> None:
    assert words("The Hallucinations of Vision-Language Models") == [
        "hallucination",
        "vision-language",
        "vision",
        "language",
        "model",
    ]
    assert words("class analysis bus queries") == ["class", "analysis", "bus", "query"]


def test_word_scores_are_zero_without_a_shared_word_and_favour_rare_words() -> None:
    docs = ["object hallucination benchmark", "video understanding benchmark", "benchmark of benchmarks"]
    scores = word_scores(docs, "hallucinations")
    assert scores[0] > 0 and scores[1] == 0 and scores[2] == 0
    common = word_scores(docs, "benchmark hallucination")
    assert common[0] > common[1]  # "hallucination" is rarer than "benchmark", so it weighs more
    assert word_scores(docs, "the of").tolist() == [0, 0, 0]
    assert word_scores([], "x").shape == (0,)


def test_rank_blends_meaning_and_words(kb: KB) -> None:
    ids = list(kb.entries)
    # Meaning says "video-chat" for everything; words say hallucination.
    matrix = np.zeros((len(ids), 2), dtype=np.float32)
    matrix[:, 1] = 1
    matrix[ids.index("video-chat")] = [1, 0]
    vectors = Vectors(ids, matrix)
    query = np.array([1, 0], dtype=np.float32)
    assert rank(kb, "hallucination", vectors, query, k=1, weight=0.0) == [("video-chat", 1.0)]
    by_words = [i for i, _ in rank(kb, "hallucination", vectors, query, k=2, weight=1.0)]
    assert set(by_words) == {"pope", "woodpecker"}
    meaning = dict(rank(kb, "hallucination", vectors, query, k=len(ids), weight=0.0))
    lexical = dict(rank(kb, "hallucination", vectors, query, k=len(ids), weight=1.0))
    blended = rank(kb, "hallucination", vectors, query, k=3, weight=0.5)
    assert [i for i, _ in blended] == ["video-chat", "pope", "woodpecker"]  # one by meaning, two by words
    for i, score in blended:
        assert score == pytest.approx(0.5 * meaning[i] + 0.5 * lexical[i])


def test_rank_only_among_the_allowed_entries(kb: KB) -> None:
    embedder = HashingEmbedder()
    vectors = embed_kb(kb, Config(), embedder=embedder, progress=False)
    query = embedder.embed(["object hallucination"])[0]
    everything = rank(kb, "object hallucination", vectors, query, k=20)
    allowed = {"coco", "llava", "woodpecker"}
    assert not {i for i, _ in everything[:2]} <= allowed  # unfiltered, others lead: the cut must come after
    filtered = rank(kb, "object hallucination", vectors, query, k=2, only=allowed)
    assert filtered == [(i, s) for i, s in everything if i in allowed][:2] and len(filtered) == 2
    assert rank(kb, "object hallucination", vectors, query, only=set()) == []


def test_rank_skips_vectors_of_entries_no_longer_in_the_kb(kb: KB) -> None:
    embedder = HashingEmbedder()
    vectors = embed_kb(kb, Config(), embedder=embedder, progress=False)
    stale = Vectors([*vectors.ids, "gone"], np.vstack([vectors.matrix, vectors.matrix[:1]]))
    query = embedder.embed(["object hallucination"])[0]
    ranked = rank(kb, "object hallucination", stale, query, k=20)
    assert "gone" not in [i for i, _ in ranked] and len(ranked) == len(kb.entries)
    assert ranked[0][0] == "pope"
    assert entry_text(kb.entries["pope"]).startswith("Evaluating Object Hallucination")


@pytest.mark.slow
def test_search_puts_hallucination_papers_first_on_the_real_kb() -> None:
    """The real model on the real KB: the query's topic first, not merely multimodal papers."""
    run = run_kb(
        "search", "hallucination in multimodal models", "-k", "8", "--json", cwd=REPO, env={"KB_DEVICE": "cpu"}
    )
    assert run.code == 0, run.err
    found = json.loads(run.out)
    assert len(found) == 8
    assert all("hallucinat" in r["title"].lower() for r in found), [r["title"] for r in found]
    assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)

    table = run_kb("search", "chart understanding benchmark", "-k", "3", cwd=REPO, env={"KB_DEVICE": "cpu"})
    assert table.code == 0 and all("chart" in line.lower() for line in table.out.splitlines()[1:])


def test_search_help_says_it_loads_the_model(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kb.cli import main

    out = CliRunner().invoke(main, ["search", "--help"]).stdout
    assert "Loads the model" in out

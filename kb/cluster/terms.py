"""Telling terms: the words and two-word phrases that set one cluster of entries apart (c-TF-IDF).

Term frequency within the cluster, weighted down for terms frequent across all clusters; words
common to the whole KB, words that pitch a paper rather than say what it is about, and names of a
single paper are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

# A word's completion in brackets, glued to it: "GPT-4V(ision)" is GPT-4V, and "ision" no term.
_GLUED_BRACKETS = re.compile(r"(?<=\w)\(\w+\)")
_WORD = re.compile(r"\b[a-z][a-z0-9-]+\b")  # a word: a letter, then letters, digits, hyphens
_BREAKS = re.compile(r"[^\w\s-]|\s-+\s")  # punctuation (and a dash between spaces) ends a phrase
MIN_PAPERS = 2  # a term of fewer papers than this names something, and tells no theme
# Words that say how a paper presents its work, not what it is about ("Empowering ...",
# "Towards ...", "... via ...", "using"): left out of terms like English stop words.
PITCH_WORDS = frozenset(
    "using via towards toward new novel empowering unlocking unleashing harnessing enhancing improving "  # noqa: SIM905
    "boosting advancing advanced rethinking revisiting simple effective better approach study".split()
)


def telling_terms(
    texts: Sequence[str],
    labels: np.ndarray,
    top: int = 6,
    max_share: float = 0.15,
    papers: Sequence[str] | None = None,
) -> dict[int, list[str]]:
    """The ``top`` most telling terms (words and two-word phrases) of each cluster, by c-TF-IDF.

    ``papers`` gives a key per text (its title): texts of one paper (a model and the dataset it
    released) count once when reckoning in how many papers a term is found.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    clusters = sorted(set(labels.tolist()))
    texts = [_GLUED_BRACKETS.sub("", t) for t in texts]
    documents = [" ".join(t for t, label in zip(texts, labels, strict=True) if label == c) for c in clusters]
    first: dict[object, str] = {}
    for key, text in zip(papers if papers is not None else range(len(texts)), texts, strict=True):
        first.setdefault(key, text)
    distinct = list(first.values())  # one text per paper
    # Words in more than ``max_share`` of all papers ("large", "language", "models") tell
    # nothing about any cluster, nor do phrases of nothing but such words ("large language",
    # "multimodal models"), nor terms of fewer than MIN_PAPERS papers (names: "X-LLM"). The
    # vocabulary is learnt on single papers to drop them (only on a KB big enough for such shares
    # to mean something).
    big = len(distinct) >= 100
    vectorizer = CountVectorizer(analyzer=_terms, max_df=max_share if big else 1.0, min_df=MIN_PAPERS if big else 1)
    try:
        vectorizer.fit(distinct)
        counts = vectorizer.transform(documents).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return {c: [] for c in clusters}
    vocabulary = vectorizer.get_feature_names_out()
    if big:
        common = _common_words(distinct, max_share)
        counts[:, [all(_unhyphenated(w) in common for w in str(term).split()) for term in vocabulary]] = 0
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average_words = counts.sum() / len(clusters)
    idf = np.log(1 + average_words / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    if len(clusters) > 1:
        scores[:, (counts > 0).all(axis=0)] = 0  # a term found in every cluster sets none apart
    out: dict[int, list[str]] = {}
    for row, c in enumerate(clusters):
        picked: list[str] = []
        for j in np.argsort(-scores[row], kind="stable"):
            if scores[row, j] <= 0 or len(picked) == top:
                break
            term = str(vocabulary[j])
            # "visual instruction" and "instruction" say the same thing twice; keep the first.
            if any(_overlaps(term, other) for other in picked):
                continue
            picked.append(term)
        out[c] = picked
    return out


def _terms(text: str) -> list[str]:
    """The words of a text and its two-word phrases, lowered, leaving out English stop words and
    PITCH_WORDS. A phrase never spans one of those or punctuation: "Models by Treating" gives no
    "models treating", "OtterHD: A High-Resolution" no "otterhd high-resolution"."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    skipped = ENGLISH_STOP_WORDS | PITCH_WORDS
    terms: list[str] = []
    for run in _BREAKS.split(text.lower()):
        words = _WORD.findall(run)
        for start in range(len(words)):
            if words[start] in skipped:
                continue
            terms.append(words[start])
            if start + 1 < len(words) and words[start + 1] not in skipped:
                terms.append(f"{words[start]} {words[start + 1]}")
    return terms


def _common_words(texts: Sequence[str], share: float) -> set[str]:
    """Words in more than ``share`` of the texts, without their hyphens: "multi-modal" and
    "multimodal" are one word, as common as both together."""
    present: Counter[str] = Counter()
    for text in texts:
        present.update({_unhyphenated(t) for t in _terms(text) if " " not in t})
    return {w for w, n in present.items() if n > share * len(texts)}


def _unhyphenated(word: str) -> str:
    return word.replace("-", "")


def _overlaps(a: str, b: str) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return wa <= wb or wb <= wa

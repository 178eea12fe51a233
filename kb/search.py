"""Free-text search: entries ranked by meaning blended with the words they share with the query.

Meaning alone ranks "hallucination in multimodal models" near every multimodal paper (they all
talk about multimodal models); words alone miss "made-up objects" for "hallucination". The
blend is ``(1 - WORD_WEIGHT) * cosine(query, entry) + WORD_WEIGHT * tfidf_cosine(query, entry)``
over the text kb.embed embeds for an entry (title, names, kind of dataset, summary).

Only ``search`` loads the model; ``rank`` works on vectors given to it (tests use a small
embedder of their own).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kb.config import Config
    from kb.embed import Vectors
    from kb.store import KB

WORD_WEIGHT = 0.35  # measured on the real KB: see tests/test_query_search.py
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9]")


def _stem(word: str) -> str:
    """A plural's singular, crudely ("hallucinations" -> "hallucination"); enough for titles."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-cased words less English stop words, plurals folded; hyphenated words also split."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    out = []
    for word in _WORD.findall(text.lower()):
        parts = [word, *word.split("-")] if "-" in word else [word]
        out += [_stem(p) for p in parts if p and p not in ENGLISH_STOP_WORDS]
    return out


def word_scores(documents: Sequence[str], query: str) -> np.ndarray:
    """Cosine between the query and each document in tf-idf space (0 when no word is shared)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not documents:
        return np.zeros(0, dtype=np.float32)
    vectorizer = TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no document has a word left
        return np.zeros(len(documents), dtype=np.float32)
    query_row = vectorizer.transform([query])
    return np.asarray((matrix @ query_row.T).toarray()).ravel().astype(np.float32)


def rank(
    kb: KB,
    query: str,
    vectors: Vectors,
    query_vector: np.ndarray,
    *,
    k: int = 10,
    weight: float = WORD_WEIGHT,
    only: Collection[str] | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` best entries for ``query``, best first, with their blended scores; ``only``
    limits the candidates (the word weights are still learnt from every entry)."""
    from kb.embed import entry_text

    ids = [i for i in vectors.ids if i in kb.entries]
    sub = vectors.subset(ids)
    meaning = sub.similarities(query_vector)
    lexical = word_scores([entry_text(kb.entries[i]) for i in ids], query)
    scores = (1 - weight) * meaning + weight * lexical
    if only is not None:
        scores[[i not in only for i in ids]] = -np.inf  # Vectors.top leaves these out
    return sub.top(scores, k)


def search(
    kb: KB,
    query: str,
    config: Config,
    *,
    k: int = 10,
    weight: float = WORD_WEIGHT,
    only: Collection[str] | None = None,
) -> list[tuple[str, float]]:
    """Rank entries for ``query``: the model embeds the query; entry vectors come from the
    cache, and any entry missing there is encoded (and cached) first."""
    from kb.embed import embed_kb, embed_texts

    vectors = embed_kb(kb, config, progress=False)
    return rank(kb, query, vectors, vectors.same_width(embed_texts([query], config))[0], k=k, weight=weight, only=only)

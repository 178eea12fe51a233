"""The tag classifier: numpy and scikit-learn on vectors, no model, no files.

A suggestion for one leaf of a taxonomy is a *stacked* judgement. Several simple signals are
computed for every (text, leaf) pair, then a stacker trained on the curated labels weighs them
and turns them into probabilities:

- zero-shot: cosine of the text to the leaf's embedded name, description and keywords
  (``kb.embed.node_text``), the same less the best leaf's, and the cosine to the leaf's
  top-level section (the hierarchy: a text far from "Model4Data" is unlikely under any of it);
- keywords: the best cosine to one of the leaf's keywords on its own, and whether a keyword or
  cue of the leaf, or a keyword of a section above it (up to the top: yin's "Datasets" says
  "dataset", "benchmark", "corpus"), occurs in the text as words ("jailbreak", "benchmark"),
  however either is hyphenated ("pre-training", "pretraining");
- kind: how much likelier the leaf is for the text's kind of entry (a benchmark, a dataset, an
  analysis, ..., or any work) than leaves are on average, from the curated entries of each kind
  (yin's dataset sections hold datasets and benchmarks, its topics works; a model and the data it
  released share a title, not a kind);
- curated labels: a similarity-weighted vote of the nearest labelled entries, the cosine to the
  centroid of the leaf's entries, ridge regressions onto the labels from the embeddings and from
  the character n-grams of the text, and how common the leaf is among the labels.

Signals that learn from labels are computed for a training entry *without* that entry (and its
near-duplicates): leave-group-out for the neighbours, centroids and counts, out-of-fold for the
linear models. Otherwise the stacker would learn to trust them more than they deserve. The
stacker learns from the signals of the training entries' bare titles when it is given them
(as kb suggest and kb eval do), since a title is often all a new paper has.

Scores are probabilities a person can read. Both stackers weigh the signals alike for every leaf,
and learn besides a bias per leaf and a weight per leaf for the LEAF_SIGNALS (``leaf_design``). For
a multi-label taxonomy (codev) the stacker is a logistic regression over all (text, leaf) pairs
(``PairStacker``); each leaf's score stands alone and a leaf at or above the configured
``suggest_threshold`` (0.3 unless kb.yaml says otherwise) is suggested. For a single-label one (yin)
it is a softmax over the leaves (``SoftmaxStacker``), so the scores of all leaves sum to one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kb.classify.labels import Labelled, fold_of
from kb.classify.space import ENDINGS, Space, cue_text
from kb.schema import WORK_KINDS

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

NEIGHBOURS = 10  # labelled entries that vote
LINEAR_ALPHA = 3.0  # regularisation of the linear model on embeddings (tuned by kb eval)
PAIR_C = 0.1  # ... and of the multi-label stacker (on standardised signals; tuned by kb eval)
SOFTMAX_C = 0.1  # ... and of the single-label stacker (likewise)
NGRAM_ALPHA = 1.0  # regularisation of the linear model on character n-grams (tuned by kb eval)
INNER_FOLDS = 5  # folds for the out-of-fold linear-model signals of training entries
WORK = "work"  # the kind of a text that is some work (model, method, analysis or survey): a paper's title
KIND_MEMBERS = {WORK: frozenset(k.value for k in WORK_KINDS)}  # any other kind is itself alone

SIGNALS = (
    "zero-shot",
    "zero-shot margin",
    "top-level section",
    "keyword cosine",
    "keyword in text",
    "section keyword in text",
    "neighbours",
    "centroid",
    "linear model",
    "label prior",
    "character n-grams",
    "kind",
)
# Signals each leaf weighs for itself. A leaf's own keywords in a title are strong evidence for some
# leaves ("hallucination", "deduplication") and weak for others ("vision-language model", "dataset");
# the centroid of a tight leaf's entries tells more than that of a broad one.
LEAF_SIGNALS = ("keyword in text", "centroid")


# ---------------------------------------------------------------------------------------------
# Signals


def _linear_model(train: Labelled, queries: np.ndarray) -> np.ndarray:
    """Scores of a ridge regression from the embeddings onto the 0/1 leaf labels, (n, L).

    Closed-form and fast (a logistic regression was no better in kb eval and fifty times
    slower); the stacker turns these scores into probabilities.
    """
    from sklearn.linear_model import Ridge

    model = Ridge(alpha=LINEAR_ALPHA)
    model.fit(train.vectors, train.labels)
    return model.predict(queries)


def _ngram_model(texts: Sequence[str], labels: np.ndarray) -> Pipeline:
    """A ridge regression from the character n-grams of texts (TF-IDF, within words) onto the
    0/1 leaf labels: it learns the words and word pieces that mark a leaf ("-Bench", "Evaluat",
    "hallucinat"), which the embeddings blur and the hand-written keywords only partly list."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    # Pieces seen in one text only are names, not marks; a tiny training set keeps them all.
    min_df = 2 if len(texts) > 2 else 1
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=min_df)
    return make_pipeline(vectorizer, Ridge(alpha=NGRAM_ALPHA)).fit(list(texts), labels)


def _out_of_fold(
    train: Labelled, texts: Sequence[str], queries: tuple[np.ndarray, Sequence[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """The two linear-model signals (embeddings, character n-grams) for the training entries,
    each from models that did not see its group; ``queries`` (vectors, texts) stand for the
    entries: their own, or their titles."""
    query_vectors, query_texts = queries
    folds = fold_of(train.ids, train.groups, INNER_FOLDS)
    linear, ngrams = np.zeros(train.labels.shape), np.zeros(train.labels.shape)
    for fold in np.unique(folds):
        held = folds == fold
        if held.all():
            continue
        rows = np.nonzero(~held)[0]
        linear[held] = _linear_model(train.subset(rows), query_vectors[held])
        model = _ngram_model([texts[int(i)] for i in rows], train.labels[rows])
        ngrams[held] = model.predict([query_texts[int(i)] for i in np.nonzero(held)[0]])
    return linear, ngrams


def signals(
    space: Space,
    queries: np.ndarray,
    texts: Sequence[str],
    train: Labelled,
    linear: np.ndarray,
    ngrams: np.ndarray,
    kinds: Sequence[str],
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """The signals of every (query, leaf) pair, (n, L, len(SIGNALS)).

    ``kinds`` (n) says what each query is: an entry kind, or WORK for any work.
    ``exclude`` (n, len(train)) marks training entries a query may not learn from (itself and its
    near-duplicates, when the queries are the training entries).
    """
    n, width = len(queries), len(space.leaves)
    zero_shot = queries @ space.leaf_vectors.T
    top = queries @ space.top_vectors.T
    keyword = np.stack([(queries @ k.T).max(axis=1) for k in space.keyword_vectors], axis=1)
    searched = [cue_text(t) for t in texts]
    cue = np.array([[bool(p and p.search(t)) for p in space.cues] for t in searched], dtype=float).reshape(n, width)
    section = np.array([[bool(p and p.search(t)) for p in space.section_cues] for t in searched], dtype=float)
    section = section.reshape(n, width)

    sims = queries @ train.vectors.T
    if exclude is not None:
        sims = np.where(exclude, -np.inf, sims)
    k = min(NEIGHBOURS, len(train))
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0.0)
    votes = np.einsum("nk,nkl->nl", weights, train.labels[nearest])
    neighbours = votes / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)

    sums = train.labels.T @ train.vectors  # (L, d)
    counts = np.broadcast_to(train.labels.sum(axis=0), (n, width)).copy()
    # Labels of entries of the query's own kind, per leaf.
    same = {k: np.isin(train.kinds, list(KIND_MEMBERS.get(k, {k}))) for k in set(kinds)}
    kind_counts = np.array([train.labels[same[k]].sum(axis=0) for k in kinds]).reshape(n, width)
    centroid = np.empty((n, width))
    for row in range(n):
        own = sums
        if exclude is not None and exclude[row].any():
            gone = np.nonzero(exclude[row])[0]
            own = sums - train.labels[gone].T @ train.vectors[gone]
            counts[row] -= train.labels[gone].sum(axis=0)
            kind_counts[row] -= train.labels[gone[same[kinds[row]][gone]]].sum(axis=0)
        norms = np.linalg.norm(own, axis=1)
        centroid[row] = (own @ queries[row]) / np.where(norms == 0, 1.0, norms)
    prior = np.log((counts + 1) / (counts.sum(axis=1, keepdims=True) + width))
    # log P(kind | leaf) - log P(kind): below zero for a leaf whose entries are seldom of this kind.
    kind = np.log((kind_counts + 1) / (counts + 2)) - np.log(
        (kind_counts.sum(axis=1, keepdims=True) + 1) / (counts.sum(axis=1, keepdims=True) + 2)
    )

    margin = zero_shot - zero_shot.max(axis=1, keepdims=True)
    parts = [zero_shot, margin, top, keyword, cue, section, neighbours, centroid, linear, prior, ngrams, kind]
    return np.stack(parts, axis=2)


# ---------------------------------------------------------------------------------------------
# The classifier


def leaf_design(features: np.ndarray) -> np.ndarray:
    """The stackers' inputs for every (text, leaf) pair, (n, L, F): the signals, then a one-hot of
    the leaf (a bias per leaf), then each of the LEAF_SIGNALS again in a column of the leaf's own
    (a weight per leaf)."""
    n, width, _ = features.shape
    eye = np.broadcast_to(np.eye(width), (n, width, width))
    own = [features[:, :, [SIGNALS.index(name)]] * eye for name in LEAF_SIGNALS]
    return np.concatenate([features, eye, *own], axis=2)


def _standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and scale of each column (a constant column keeps scale 1), so that one
    regularisation strength suits signals of every range."""
    flat = x.reshape(-1, x.shape[-1])
    mean, scale = flat.mean(axis=0), flat.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


@dataclass
class PairStacker:
    """The multi-label stacker: a logistic regression over every (text, leaf) pair of
    ``leaf_design``, each leaf's probability on its own,

        P(leaf | text) = sigmoid(w . signals(text, leaf) + b[leaf] + v[leaf] . own(text, leaf))

    The per-leaf terms learn that "deduplication" in a title is a surer sign of Data Condensation
    than "dataset" is of Data Acquisition, which one weight per signal cannot (kb eval: leaf top-1
    64.5% to 67.8%, works per paper 60.1% to 64.1%). L2-regularised on standardised inputs, fitted
    by L-BFGS: deterministic.
    """

    mean: np.ndarray
    scale: np.ndarray
    model: object  # the fitted sklearn LogisticRegression

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> PairStacker:
        from sklearn.linear_model import LogisticRegression

        x = leaf_design(features)
        mean, scale = _standardisation(x)
        targets = labels.reshape(-1)
        if len(set(targets)) < 2:
            raise ValueError("the labels do not tell leaves apart")
        model = LogisticRegression(C=PAIR_C, max_iter=3000)
        model.fit(((x - mean) / scale).reshape(-1, x.shape[2]), targets)
        return cls(mean, scale, model)

    def predict(self, features: np.ndarray) -> np.ndarray:
        n, width, _ = features.shape
        x = ((leaf_design(features) - self.mean) / self.scale).reshape(n * width, -1)
        return self.model.predict_proba(x)[:, 1].reshape(n, width)  # type: ignore[attr-defined]


@dataclass
class SoftmaxStacker:
    """The single-label stacker: a conditional logit over the leaves of one text,

        P(leaf | text) = softmax over leaves of  w . signals(text, leaf) + b[leaf] + v[leaf] . own(text, leaf)

    where ``own`` are the LEAF_SIGNALS. It is trained for what it is used for, picking one leaf
    against the others (kb eval: about three points of top-1 over per-pair binary regressions
    normalised afterwards), and the per-leaf terms let it learn how common each leaf is and how
    far its keywords and its centroid can be trusted. L2-regularised, fitted by L-BFGS from zeros:
    deterministic.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> SoftmaxStacker:
        from scipy.optimize import minimize

        x = leaf_design(features)
        mean, scale = _standardisation(x)
        x = (x - mean) / scale
        target = labels / np.maximum(labels.sum(axis=1, keepdims=True), 1.0)  # two tags: half each

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            p = _softmax(x @ w)
            value = -(target * np.log(p + 1e-12)).sum() + 0.5 / SOFTMAX_C * (w @ w)
            return float(value), np.einsum("nl,nlf->f", p - target, x) + w / SOFTMAX_C

        found = minimize(loss, np.zeros(x.shape[2]), jac=True, method="L-BFGS-B")
        return cls(mean, scale, found.x)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return _softmax(((leaf_design(features) - self.mean) / self.scale) @ self.coef)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class Classifier:
    """A trained stacker for one taxonomy, with the labelled set it learned from."""

    space: Space
    train: Labelled
    stacker: PairStacker | SoftmaxStacker  # multi-label, single-label
    ngrams: object  # the fitted character n-gram model (see _ngram_model)

    def scores(self, queries: np.ndarray, texts: Sequence[str], kinds: Sequence[str]) -> np.ndarray:
        """Scores in [0, 1], (n, L) in the order of ``space.leaves``; ``kinds`` says what each
        query is (an entry kind, or WORK)."""
        linear = _linear_model(self.train, queries)
        ngrams = self.ngrams.predict(list(texts))  # type: ignore[attr-defined]
        features = signals(self.space, queries, texts, self.train, linear, ngrams, kinds)
        return self.stacker.predict(features)


LIKE = 3  # curated entries shown as the evidence of a leaf


@dataclass
class Evidence:
    """Why a leaf may fit a text, in terms a person can check: the words of the text that are the
    leaf's keywords or cues, and the curated entries under the leaf that are closest to it."""

    words: list[str]  # as found in the (lowered) text
    like: list[tuple[str, float]]  # (entry id, cosine), closest first


def evidence(space: Space, train: Labelled, vector: np.ndarray, text: str, leaf: str) -> Evidence:
    """The evidence for one leaf; ``train`` holds only the labels the suggestion learned from, so an
    entry never shows itself (or a near-duplicate) as its own evidence."""
    column = space.leaves.index(leaf)
    lowered, searched = text.lower(), cue_text(text)
    spans: dict[str, str] = {}  # the words of the text as written, by their form without hyphens
    for word, pattern in space.words[column]:
        if match := pattern.search(searched):
            # The same words in the text as written ("in-context" for the keyword "in context").
            loose = r"[ -]?".join(re.escape(part) for part in re.split(r"[ -]", word.lower()))
            written = re.search(rf"\b{loose}{ENDINGS}\b", lowered)
            shown = written.group(0) if written else match.group(0)
            spans.setdefault(f" {shown.replace('-', ' ')} ", shown)
    # "filtering" says nothing more once "data filtering" is shown.
    words = [shown for key, shown in spans.items() if not any(key in other and key != other for other in spans)]
    rows = np.nonzero(train.labels[:, column] > 0)[0]
    cosines = train.vectors[rows] @ vector
    order = np.argsort(-cosines, kind="stable")[:LIKE]
    return Evidence(words, [(train.ids[int(rows[i])], round(float(cosines[i]), 4)) for i in order])


ZERO_SHOT_TEMPERATURE = 0.05  # cosines differ by hundredths; this spreads them into readable shares


@dataclass
class ZeroShot:
    """The fallback when a taxonomy has too few curated labels to learn from: a softmax of the
    mean of two cosines, to the leaf's description and to its closest keyword, so scores still
    lie in [0, 1] (and sum to one)."""

    space: Space
    train: Labelled

    def scores(self, queries: np.ndarray, texts: Sequence[str], kinds: Sequence[str]) -> np.ndarray:
        """As Classifier.scores; the kinds go unused, with too few labels to learn what they mean."""
        keyword = np.stack([(queries @ k.T).max(axis=1) for k in self.space.keyword_vectors], axis=1)
        cosine = (queries @ self.space.leaf_vectors.T + keyword) / 2
        shares = np.exp((cosine - cosine.max(axis=1, keepdims=True)) / ZERO_SHOT_TEMPERATURE)
        return shares / shares.sum(axis=1, keepdims=True)


def train_classifier(
    space: Space,
    train: Labelled,
    train_texts: Sequence[str],
    titles: tuple[np.ndarray, Sequence[str]] | None = None,
) -> Classifier:
    """Fit the stacker on the labelled entries, each judged without its own group.

    With ``titles`` (the vectors and texts of the entries' bare titles) the stacker learns from
    the signals of the titles, not of the entries' fuller texts: it learns how far each signal
    can be trusted when a title is all there is, as for a new paper (kb eval: top-3 of yin 86%
    -> 89%). The signals still learn from the entries' texts."""
    if len(train) < 2 or train.labels.sum(axis=0).astype(bool).sum() < 2:
        raise ValueError(f"{space.taxonomy.id}: labelled entries of at least two leaves are needed to learn from")
    exclude = train.groups[:, None] == train.groups[None, :]
    vectors, texts = titles if titles is not None else (train.vectors, train_texts)
    learned = _out_of_fold(train, train_texts, (vectors, texts))
    features = signals(space, vectors, texts, train, *learned, list(train.kinds), exclude)
    ngrams = _ngram_model(train_texts, train.labels)
    stacker = PairStacker if space.multi_label else SoftmaxStacker
    return Classifier(space, train, stacker.fit(features, train.labels), ngrams)


def rank(scores: np.ndarray, leaves: Sequence[str]) -> list[tuple[str, float]]:
    """Leaves best first; ties in leaf (taxonomy) order, so the ranking is reproducible."""
    order = np.argsort(-scores, kind="stable")
    return [(leaves[i], float(scores[i])) for i in order]

"""kb eval: cross-validated quality of the suggestions against the curated labels.

The labelled entries of a taxonomy are split into folds, whole near-duplicate groups at a time
(a paper's model and dataset entries fall in one fold), by a hash of ids, so the split is the
same on every run. Each fold is suggested for by a classifier trained on the other folds only,
from its **title alone** and its kind (model, ..., benchmark, as a new entry has), and compared with
its curated tags. Beside it: the majority class (leaves ranked by how often they are curated) and
plain nearest neighbours (a similarity-weighted vote of the ten nearest labelled entries).

``--after DATE`` splits by time instead: the entries first released on DATE or later are scored by
a classifier trained on the older (and undated) ones alone, as a KB's suggestions meet new papers.

At each level of the hierarchy a section's score is the sum of its leaves' scores (single-label)
or their maximum (multi-label), and sections that tie rank as their best leaves do (leaves tie in
taxonomy order), so a leaf among the best is its section's too when scores tie; top-1 counts an
entry when the best section is one of its own, top-3 when one of its own is among the best three.

Whether the scores can be read as chances is measured too: every (entry, leaf) score falls in a
band (0 to 0.2, ..., 0.8 to 1), and each band says how many leaves it holds, their mean score, and
the share of them that are one of the entry's curated tags. For a calibrated classifier the share
is close to the mean score in every band. And per leaf: how often its entries get it first, how
often the entries given it first carry it, and what its entries are taken for when they are wrong.
The report is rendered for people by ``kb.classify.report``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from kb.classify import Suggester, check_taxonomy, labelled_ids
from kb.classify.labels import Labelled, first_released, fold_of, newer, title_key
from kb.classify.model import NEIGHBOURS, WORK, Classifier, ZeroShot, train_classifier
from kb.errors import KBError
from kb.output.text import counted
from kb.taxonomy import TOPIC_TAXONOMIES, Taxonomy

if TYPE_CHECKING:
    from kb.config import Config
    from kb.embed import Embedder
    from kb.store import KB

FOLDS = 10
METHODS = ("kb suggest", "nearest neighbours", "majority class")
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # the edges of the calibration bands
SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # multi-label: thresholds measured to choose suggest_threshold by
TAKEN_FOR = 3  # the leaves named per leaf as what its wrong entries were taken for


@dataclass
class Score:
    top1: float
    top3: float


@dataclass
class LevelResult:
    level: str  # "leaf", "top" or "depth N"
    methods: dict[str, Score]


@dataclass
class Band:
    """The leaves scored from low to high (high included in the last band only)."""

    low: float
    high: float
    leaves: int
    mean_score: float | None  # None for an empty band
    right: float | None  # the share of them that are a curated tag of their entry


@dataclass
class LeafResult:
    """How one leaf fares at top-1, its entries asked with their kind."""

    leaf: str
    entries: int  # curated entries that carry it
    first: float | None  # the share of them that get it first (None: no entries)
    top3: float | None  # ... or among their best three
    chosen: int  # entries given it first
    right: float | None  # the share of those that carry it (None: none given it)
    taken_for: dict[str, int]  # what its entries wrong at top-1 got first, most often first (at most TAKEN_FOR)


@dataclass
class Miss:
    """A curated entry none of whose tags came first."""

    id: str
    title: str
    best: str
    score: float
    tags: list[str]


@dataclass
class TaxonomyResult:
    taxonomy: str
    entries: int
    levels: list[LevelResult]
    threshold: dict[str, float] = field(default_factory=dict)  # multi-label: at the configured suggest_threshold
    thresholds: list[dict[str, float]] = field(default_factory=list)  # ... and at each of SWEEP
    papers: int = 0  # distinct titles among the works
    per_paper: dict[str, Score] = field(default_factory=dict)  # leaf level, one row per distinct title
    calibration: list[Band] = field(default_factory=list)  # kb suggest's scores, entries asked with their kind
    leaves: list[LeafResult] = field(default_factory=list)  # kb suggest at top-1, leaf by leaf
    misses: list[Miss] = field(default_factory=list)  # only when asked for
    learned_from: int = 0  # split by date: the older (or undated) entries learned from
    # Folds (split by date: the one split) whose training labels were of fewer than two leaves, so
    # that kb suggest's scores for their entries are the zero-shot fallback's, not learned.
    zero_shot_folds: int = 0


@dataclass
class EvalReport:
    folds: int  # 1 when split by date
    query: str
    results: list[TaxonomyResult]
    after: str | None = None  # split by date: entries from this day on were scored

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def evaluate(
    kb: KB,
    config: Config,
    taxonomies: Sequence[str] = TOPIC_TAXONOMIES,
    *,
    folds: int = FOLDS,
    embedder: Embedder | None = None,
    suggester: Suggester | None = None,
    progress: bool = False,
    misses: bool = False,
    after: str | None = None,
) -> EvalReport:
    """The report; with ``progress``, a bar on stderr counts the folds trained (a few seconds each
    on a KB of hundreds of labelled entries); with ``misses``, every entry wrong at top-1 is listed;
    with ``after`` (YYYY-MM-DD), one split by date in place of the folds (see ``cross_validate``)."""
    from tqdm import tqdm

    for taxonomy in taxonomies:
        check_taxonomy(taxonomy)
    if after is None:  # before anything is embedded
        check_folds(kb, taxonomies, folds)
    suggester = suggester or Suggester.build(kb, config, embedder=embedder)
    titles_of_all = suggester.title_vectors(suggester.vectors.ids)  # one cache for every taxonomy
    folds = 1 if after else folds
    with tqdm(total=folds * len(taxonomies), desc="kb eval", unit="fold", disable=not progress) as bar:
        results = [
            _evaluate_one(
                suggester,
                t,
                titles_of_all,
                bar.update,
                folds=folds,
                after=after,
                threshold=config.suggest_threshold,
                misses=misses,
            )
            for t in taxonomies
        ]
    return EvalReport(folds=folds, query="title", results=results, after=after)


@dataclass
class CrossValidated:
    """Every labelled entry of a taxonomy scored by a classifier that never saw its fold (or, split
    by date, every newer entry by one that learned from the older ones only)."""

    labelled: Labelled  # the entries scored
    titles: list[str]
    scores: dict[str, np.ndarray]  # by method, (n, L) in the order of the taxonomy's leaves
    as_works: np.ndarray  # kb suggest's scores with every title asked as some work, as a list's paper is
    learned_from: int = 0  # split by date: the older entries learned from
    zero_shot_folds: int = 0  # folds whose training labels were too few to learn from (ZeroShot scored them)


def cross_validate(
    suggester: Suggester,
    taxonomy: str,
    folds: int,
    titles_of_all: np.ndarray,
    done: Callable[[], object] = lambda: None,
    after: str | None = None,
) -> CrossValidated:
    """Every labelled entry scored by a classifier trained without its fold; ``done`` is called
    after each fold. With ``after`` (YYYY-MM-DD) there is one split instead: the entries first
    released on or after it are scored by a classifier that learned from the others (older or
    undated) alone, as a KB's suggestions meet papers newer than all it holds."""
    labelled, texts = suggester.labelled(taxonomy)
    if after is None and len(labelled) < folds:
        check_folds(suggester.kb, [taxonomy], folds)
    space = suggester.space(taxonomy)
    queries = titles_of_all[[suggester.vectors.index[i] for i in labelled.ids]]
    titles = [suggester.kb.entries[i].title for i in labelled.ids]
    if after is None:
        fold = fold_of(labelled.ids, labelled.groups, folds)
        tested = np.unique(fold)
    else:
        dates = [suggester.kb.entries[i].date for i in labelled.ids]
        is_newer = newer(labelled.groups, dates, after)
        _check_split(taxonomy, after, is_newer, labelled.groups, dates)
        fold = is_newer.astype(int)
        tested = np.array([1])
    scores = {m: np.zeros(labelled.labels.shape) for m in METHODS}
    as_works = np.zeros(labelled.labels.shape)
    zero_shot_folds = 0
    for k in tested:
        test, train_rows = np.nonzero(fold == k)[0], np.nonzero(fold != k)[0]
        train = labelled.subset(train_rows)
        try:
            clf: Classifier | ZeroShot = train_classifier(
                space, train, [texts[i] for i in train_rows], (queries[train_rows], [titles[i] for i in train_rows])
            )
        except ValueError:  # this fold leaves too few labels to learn from
            clf = ZeroShot(space, train)
            zero_shot_folds += 1
        test_titles = [titles[i] for i in test]
        scores["kb suggest"][test] = clf.scores(queries[test], test_titles, list(labelled.kinds[test]))
        as_works[test] = clf.scores(queries[test], test_titles, [WORK] * len(test))
        scores["nearest neighbours"][test] = neighbour_votes(train, queries[test])
        scores["majority class"][test] = train.labels.sum(axis=0)
        done()
    if after is None:
        return CrossValidated(labelled, titles, scores, as_works, zero_shot_folds=zero_shot_folds)
    rows = np.nonzero(fold == 1)[0]
    scored = {m: s[rows] for m, s in scores.items()}
    learned_from = len(fold) - len(rows)
    return CrossValidated(
        labelled.subset(rows), [titles[i] for i in rows], scored, as_works[rows], learned_from, zero_shot_folds
    )


def check_folds(kb: KB, taxonomies: Sequence[str], folds: int) -> None:
    """Raise KBError (the data's shortcoming: exit 1) when a taxonomy has fewer labelled entries
    than folds, saying what would work: fewer folds (two at least, on two entries), or the other
    taxonomy."""
    counts = {t: len(labelled_ids(kb, t, kb.entries)) for t in TOPIC_TAXONOMIES}
    for taxonomy in taxonomies:
        found = counts[taxonomy]
        if found >= folds:
            continue
        others = [(t, n) for t, n in counts.items() if t != taxonomy and n >= MIN_FOLDS]
        if found >= MIN_FOLDS:
            fix = f"give --folds {found}"
            fix += "".join(f", or --taxonomy {t} ({n} labelled entries)" for t, n in others if n >= folds)
        elif others:
            t, n = others[0]
            fix = f"give --taxonomy {t}{f' --folds {n}' if n < folds else ''} ({n} labelled entries)"
        else:
            fix = f"curate {taxonomy} tags on two entries at least (kb eval --folds {MIN_FOLDS} needs two)"
        raise KBError(
            f"kb eval needs at least {folds} entries with curated {taxonomy} tags (one per fold), found {found}; {fix}"
        )


MIN_FOLDS = 2  # the fewest folds kb eval takes (--folds)
MIN_LEARNED = 2  # split by date: fewer older entries teach nothing (a few teach the descriptions alone)


def _check_split(taxonomy: str, after: str, fold: np.ndarray, groups: np.ndarray, dates: Sequence[str | None]) -> None:
    """Raise KBError (the data's shortcoming: exit 1) when the split by ``after`` (``fold``: which
    entries are newer) leaves no entry to score or too few to learn from, saying which --after
    would work, if any."""
    older = int(len(fold) - fold.sum())
    if fold.any() and older >= MIN_LEARNED:
        return
    if not fold.any():
        what = f"no entry with curated {taxonomy} tags is dated {after} or later"
    else:
        what = (
            f"kb eval --after {after} leaves {counted(older, 'entry', 'entries')} with curated {taxonomy} tags "
            f"to learn from (older or undated); it needs at least {MIN_LEARNED}"
        )
    raise KBError(f"{what}; {_working_split(groups, dates)}")


def _working_split(groups: np.ndarray, dates: Sequence[str | None]) -> str:
    """Which --after splits these entries (one to score, MIN_LEARNED to learn from), else what else works.

    A split changes only at a group's first release: a day after one release and up to the next
    splits as the next does. The releases that work are consecutive (a later day scores fewer and
    learns from more), so the days that work run from the day after the release before the first
    of them to the last of them."""
    starts = sorted({day for day in first_released(groups, dates).values() if day})
    working = [i for i, day in enumerate(starts) if len(fold := newer(groups, dates, day)) - fold.sum() >= MIN_LEARNED]
    if not working:
        dated = sum(1 for day in dates if day)
        return (
            f"no date leaves one to score and {MIN_LEARNED} to learn from among its "
            f"{counted(len(dates), 'labelled entry', 'labelled entries')} ({dated} dated); "
            "without --after kb eval cross-validates by folds"
        )
    last = starts[working[-1]]
    if working[0] == 0:  # undated entries alone are enough to learn from
        return f"give --after {last} or earlier"
    first = (date.fromisoformat(starts[working[0] - 1]) + timedelta(days=1)).isoformat()
    return f"give --after {last}" if first == last else f"give --after from {first} to {last}"


def _evaluate_one(
    suggester: Suggester,
    taxonomy: str,
    titles_of_all: np.ndarray,
    done: Callable[[], object],
    *,
    folds: int,
    after: str | None,
    threshold: float,
    misses: bool,
) -> TaxonomyResult:
    cv = cross_validate(suggester, taxonomy, folds, titles_of_all, done, after)
    labelled, titles, scores = cv.labelled, cv.titles, cv.scores
    space = suggester.space(taxonomy)
    tax = space.taxonomy
    levels = [LevelResult("leaf", {m: _hits(s, labelled.labels) for m, s in scores.items()})]
    for depth in range(max(n.depth for n in tax.leaves())):
        name = "top" if depth == 0 else f"depth {depth}"
        grouped = _by_section(tax, space.leaves, depth, labelled.labels, scores)
        levels.append(LevelResult(name, grouped))
    result = TaxonomyResult(
        taxonomy, len(labelled), levels, learned_from=cv.learned_from, zero_shot_folds=cv.zero_shot_folds
    )
    works = np.nonzero(~labelled.datasets)[0]
    if len(works):
        asked = scores | {"kb suggest": cv.as_works}  # a list's papers come without their kind
        result.papers, result.per_paper = _per_paper(
            [titles[i] for i in works], labelled.labels[works], {m: s[works] for m, s in asked.items()}
        )
    if tax.multi_label:
        result.threshold = at_threshold(scores["kb suggest"], labelled.labels, threshold)
        result.thresholds = [at_threshold(scores["kb suggest"], labelled.labels, t) for t in SWEEP]
    result.calibration = calibration(scores["kb suggest"], labelled.labels)
    result.leaves = by_leaf(scores["kb suggest"], labelled.labels, space.leaves)
    if misses:
        result.misses = wrong_entries(scores["kb suggest"], labelled.labels, space.leaves, labelled.ids, titles)
    return result


def by_leaf(scores: np.ndarray, truth: np.ndarray, leaves: Sequence[str]) -> list[LeafResult]:
    """Each leaf at top-1, from (n, L) scores and 0/1 labels: how many of its entries get it first
    (and among the best three), how many entries are given it first and how many of those carry
    it, and which leaves its entries got first when none of their tags did."""
    order = np.argsort(-scores, axis=1, kind="stable")
    best, carried = order[:, 0], truth > 0
    wrong = ~carried[np.arange(len(truth)), best]
    rows = []
    for column, leaf in enumerate(leaves):
        own = carried[:, column]
        chosen = best == column
        taken = Counter(leaves[int(b)] for b in best[own & wrong])
        rows.append(
            LeafResult(
                leaf,
                int(own.sum()),
                _share(chosen[own]),
                _share((order[own, :3] == column).any(axis=1)),
                int(chosen.sum()),
                _share(own[chosen]),
                dict(sorted(taken.items(), key=lambda item: (-item[1], leaves.index(item[0])))[:TAKEN_FOR]),
            )
        )
    return rows


def wrong_entries(
    scores: np.ndarray, truth: np.ndarray, leaves: Sequence[str], ids: Sequence[str], titles: Sequence[str]
) -> list[Miss]:
    """The entries none of whose curated tags came first, by their first tag (taxonomy order)."""
    best = np.argsort(-scores, axis=1, kind="stable")[:, 0]
    found = []
    for row, column in enumerate(best):
        if truth[row, column] > 0:
            continue
        tags = [leaves[int(c)] for c in np.nonzero(truth[row])[0]]
        found.append(Miss(ids[row], titles[row], leaves[int(column)], round(float(scores[row, column]), 4), tags))
    return sorted(found, key=lambda miss: (leaves.index(miss.tags[0]), miss.id))


def _share(flags: np.ndarray) -> float | None:
    return round(float(flags.mean()), 4) if len(flags) else None


def calibration(scores: np.ndarray, truth: np.ndarray, edges: Sequence[float] = BANDS) -> list[Band]:
    """How often a leaf given a score in each band is right: the reliability of (n, L) scores
    against (n, L) 0/1 labels, every (entry, leaf) pair counted once."""
    flat, right = scores.ravel(), truth.ravel() > 0
    bands = []
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        last = k == len(edges) - 2
        inside = (flat >= low) & ((flat <= high) if last else (flat < high))
        n = int(inside.sum())
        mean = round(float(flat[inside].mean()), 4) if n else None
        share = round(float(right[inside].mean()), 4) if n else None
        bands.append(Band(low, high, n, mean, share))
    return bands


def _per_paper(titles: Sequence[str], truth: np.ndarray, scores: dict[str, np.ndarray]) -> tuple[int, dict[str, Score]]:
    """The leaf level over the works, counting each paper once (as a list of papers would ask):
    works with the same title are one paper, right under any of their tags. Their title is one
    query of one kind, so they share one fold and one ranking."""
    first: dict[str, int] = {}
    merged: dict[int, np.ndarray] = {}
    for row, title in enumerate(titles):
        at = first.setdefault(title_key(title), row)
        merged[at] = np.maximum(merged.get(at, truth[row]), truth[row])
    rows = sorted(merged)
    union = np.stack([merged[r] for r in rows])
    return len(rows), {m: _hits(s[rows], union) for m, s in scores.items()}


def neighbour_votes(train: Labelled, queries: np.ndarray) -> np.ndarray:
    """The plain nearest-neighbour baseline: a similarity-weighted vote of the NEIGHBOURS nearest
    labelled entries, (n, L)."""
    sims = queries @ train.vectors.T
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :NEIGHBOURS]
    weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 0.0)
    # A hair of the label counts breaks ties (no neighbour votes) towards common leaves.
    return np.einsum("nk,nkl->nl", weights, train.labels[nearest]) + 1e-6 * train.labels.sum(axis=0)


def _hits(scores: np.ndarray, truth: np.ndarray, order: np.ndarray | None = None) -> Score:
    """Top-1 and top-3 of (n, L) scores against 0/1 labels; ``order`` ranks the columns of each row
    when ties are broken otherwise than by column order."""
    if order is None:
        order = np.argsort(-scores, axis=1, kind="stable")
    top1 = truth[np.arange(len(truth)), order[:, 0]] > 0
    top3 = np.take_along_axis(truth, order[:, :3], axis=1).sum(axis=1) > 0
    return Score(round(float(top1.mean()), 4), round(float(top3.mean()), 4))


def _by_section(
    tax: Taxonomy, leaves: list[str], depth: int, truth: np.ndarray, scores: dict[str, np.ndarray]
) -> dict[str, Score]:
    sections = sorted({tax.path(leaf)[min(depth, len(tax.path(leaf)) - 1)].id for leaf in leaves})
    member = np.zeros((len(leaves), len(sections)))
    for row, leaf in enumerate(leaves):
        member[row, sections.index(tax.path(leaf)[min(depth, len(tax.path(leaf)) - 1)].id)] = 1.0
    section_truth = (truth @ member) > 0
    out = {}
    for method, s in scores.items():
        if tax.multi_label:
            grouped = np.stack([np.where(member[:, c] > 0, s, -np.inf).max(axis=1) for c in range(len(sections))], 1)
        else:
            grouped = s @ member
        # Tied sections rank as their best leaves do (leaves tie in taxonomy order), not in the
        # sections' alphabetical order: a leaf among the best is then its section's too whenever
        # the scores tie (all zero, for a baseline that learned little), and always for max.
        leaf_rank = np.argsort(np.argsort(-s, axis=1, kind="stable"), axis=1)
        best_leaf = np.stack(
            [np.where(member[:, c] > 0, leaf_rank, len(leaves)).min(axis=1) for c in range(len(sections))], 1
        )
        order = np.lexsort((best_leaf, -grouped), axis=1)
        out[method] = _hits(grouped, section_truth.astype(float), order)
    return out


def at_threshold(scores: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of the leaves suggested for (n, L) scores against 0/1 labels: those
    scored at or above ``threshold``, or else each entry's best one (a suggestion is always made)."""
    chosen = scores >= threshold
    chosen[np.arange(len(scores)), scores.argmax(axis=1)] = True
    right = float((chosen & (truth > 0)).sum())
    # plain floats (numpy's are no YAML a safe dumper writes: kb eval --format yaml)
    precision, recall = right / float(chosen.sum()), right / max(float((truth > 0).sum()), 1.0)
    return {
        "threshold": threshold,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if right else 0.0,
        "suggested_per_entry": round(float(chosen.sum(axis=1).mean()), 2),
    }

"""Clustering: multi-scale structure of the KB's embeddings, and where it disagrees with the taxonomies.

Method. One Ward dendrogram over the L2-normalised entry vectors (on unit vectors the squared
Euclidean distance is 2 - 2 cos, so Ward merges the pair of groups whose union stays most
similar), cut at several numbers of clusters. We chose it over the alternatives because on a
few hundred titles:

- it gives multi-scale structure for free, and the cuts are nested (each fine cluster sits
  inside one coarse cluster), so a maintainer can zoom in;
- it needs no seed and no tuning, and it is deterministic;
- average or single linkage on cosine chains short texts into one giant cluster plus
  singletons, and HDBSCAN calls most of a few hundred 384-dimensional points noise.

Each cluster is described by its most telling terms (c-TF-IDF: term frequency within the
cluster, weighted down for terms frequent across all clusters; words common to the whole KB and
names of a single paper left out) and by its nearest taxonomy nodes (cosine between the
cluster's centroid and the embedded node descriptions).

Two reports come out of it: ``candidates`` (clusters that straddle several nodes of a taxonomy
by their curated tags, or that fit no node well) and ``review_queue`` (entries whose curated tags
disagree with their nearest labelled neighbours). Everything here is numpy/scipy/scikit-learn on
arrays; those libraries are imported inside the functions that use them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kb.embed import Vectors
    from kb.schema import Entry
    from kb.store import KB

DEFAULT_LEVELS = (8, 24, 64)
TOPIC_TAXONOMIES = ("codev", "yin")  # mmllms holds design facets, not topics
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


def curated(entry: Entry, taxonomy: str) -> list[str]:
    """An entry's curated tags in one topic taxonomy."""
    return list(getattr(entry.tags, taxonomy))


# ---------------------------------------------------------------------------------------------
# The dendrogram and its cuts


def cut_levels(matrix: np.ndarray, levels: Sequence[int]) -> list[np.ndarray]:
    """Cluster labels (0-based, biggest cluster first) for each wanted number of clusters."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = matrix.shape[0]
    if n < 2:
        return [np.zeros(n, dtype=int) for _ in levels]
    tree = linkage(matrix.astype(np.float64), method="ward")
    out = []
    for level in levels:
        raw = fcluster(tree, t=min(level, n), criterion="maxclust")
        out.append(_relabel(raw))
    return out


def _relabel(raw: np.ndarray) -> np.ndarray:
    """Number clusters by size (largest first), ties by their first member, so ids are stable."""
    first = {label: i for i, label in reversed(list(enumerate(raw)))}
    sizes = Counter(raw.tolist())
    order = sorted(sizes, key=lambda label: (-sizes[label], first[label]))
    mapping = {label: new for new, label in enumerate(order)}
    return np.array([mapping[label] for label in raw.tolist()], dtype=int)


# ---------------------------------------------------------------------------------------------
# Describing clusters


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


def centroid(matrix: np.ndarray) -> np.ndarray:
    mean = matrix.mean(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm else mean).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The report


CuratedCounts = dict[str, dict[str, dict[str, int]]]


@dataclass
class Cluster:
    id: str  # "L<level>-<number>", e.g. "L24-03"
    level: int  # the number of clusters asked for at this cut
    size: int
    members: list[str]
    parent: str | None  # the cluster containing this one at the next coarser level
    terms: list[str]
    nearest_nodes: dict[str, list[tuple[str, float]]]  # taxonomy -> [(node id, cosine)], best first
    fit: float  # best cosine from the centroid to any topic node
    cohesion: float  # mean cosine of members to the centroid
    curated: CuratedCounts  # taxonomy -> family -> curated tag -> members carrying it
    labelled: dict[str, dict[str, int]]  # taxonomy -> family -> members with any curated tag there


@dataclass
class Candidate:
    """A cluster a maintainer should look at as a possible new or split taxonomy node."""

    cluster: str
    taxonomy: str | None  # None for "fits none" (no topic taxonomy fits)
    kind: str  # "straddles" or "fits-none"
    reason: str
    terms: list[str]
    members: list[str]
    family: str | None = None  # straddles: the family whose tags part ("works", "datasets", "benchmarks")
    sides: dict[str, list[str]] = field(default_factory=dict)  # straddles: tag -> the members with it alone


@dataclass
class ReviewItem:
    """An entry whose curated tags disagree with what its nearest labelled neighbours carry."""

    entry_id: str
    taxonomy: str
    curated: list[str]
    neighbours_say: list[str]
    reason: str
    strength: float  # how sure the neighbours are, minus the support its own tags have
    neighbours: list[str] = field(default_factory=list)


@dataclass
class ClusterReport:
    levels: list[int]
    clusters: list[Cluster]
    candidates: list[Candidate]
    review: list[ReviewItem]

    def to_dict(self) -> dict[str, object]:
        return {
            "levels": self.levels,
            "clusters": [asdict(c) for c in self.clusters],
            "candidates": [asdict(c) for c in self.candidates],
            "review": [asdict(r) for r in self.review],
        }


def cluster_kb(
    kb: KB,
    vectors: Vectors,
    nodes: Vectors,
    levels: Sequence[int] = DEFAULT_LEVELS,
    *,
    texts: Sequence[str] | None = None,
    min_size: int = 5,
    k: int = 10,
) -> ClusterReport:
    """Cluster every entry at each level, describe the clusters, and find candidates and reviews.

    ``nodes`` holds the embedded taxonomy nodes by qualified id (see ``kb.embed.embed_nodes``);
    ``texts`` are the entry texts used for terms (default: ``kb.embed.entry_text``).
    """
    from kb.embed import entry_text
    from kb.naming import norm_title

    levels = sorted(set(levels))
    ids = [i for i in vectors.ids if i in kb.entries]
    matrix = vectors.subset(ids).matrix
    if texts is None:
        texts = [entry_text(kb.entries[i]) for i in ids]
    papers = [norm_title(kb.entries[i].title) for i in ids]
    cuts = cut_levels(matrix, levels)
    clusters: list[Cluster] = []
    previous: tuple[int, np.ndarray] | None = None
    for level, labels in zip(levels, cuts, strict=True):
        terms = telling_terms(texts, labels, papers=papers)
        for c in range(int(labels.max()) + 1 if len(labels) else 0):
            rows = np.flatnonzero(labels == c)
            members = [ids[r] for r in rows]
            centre = centroid(matrix[rows])
            parent = f"L{previous[0]}-{int(previous[1][rows[0]]):02d}" if previous else None
            nearest, fit = _nearest_nodes(centre, nodes)
            tallies = _curated_counts(kb, members)
            clusters.append(
                Cluster(
                    id=f"L{level}-{c:02d}",
                    level=level,
                    size=len(members),
                    members=members,
                    parent=parent,
                    terms=terms.get(c, []),
                    nearest_nodes=nearest,
                    fit=round(fit, 4),
                    cohesion=round(float((matrix[rows] @ centre).mean()), 4),
                    curated=tallies[0],
                    labelled=tallies[1],
                )
            )
        previous = (level, labels)
    family_of = {i: family(kb.entries[i]) for i in ids}
    tags = {t: {i: frozenset(curated(kb.entries[i], t)) for i in ids} for t in TOPIC_TAXONOMIES}
    found = candidates(clusters, family_of, tags, min_size=min_size)
    return ClusterReport(levels, clusters, found, review_queue(kb, vectors, k=k))


def _nearest_nodes(
    centre: np.ndarray, nodes: Vectors, top: int = 3
) -> tuple[dict[str, list[tuple[str, float]]], float]:
    scores = nodes.similarities(centre)
    out: dict[str, list[tuple[str, float]]] = {}
    for i in np.argsort(-scores, kind="stable"):
        taxonomy = nodes.ids[i].split(":", 1)[0]
        found = out.setdefault(taxonomy, [])
        if len(found) < top:
            found.append((nodes.ids[i], round(float(scores[i]), 4)))
    return out, float(scores.max()) if len(scores) else 0.0


FAMILIES = ("works", "datasets", "benchmarks")


def family(entry: Entry) -> str:
    """Which entries an entry is compared with: works, training datasets or benchmarks. Both
    topic taxonomies file them apart (yin's dataset sections, codev's evaluation nodes), so a
    cluster of video models, video corpora and video benchmarks cuts nothing by its tags."""
    if not entry.is_dataset:
        return "works"
    return "benchmarks" if entry.kind.value == "benchmark" else "datasets"


def _curated_counts(kb: KB, members: Sequence[str]) -> tuple[CuratedCounts, dict[str, dict[str, int]]]:
    """Curated tag counts and labelled-member counts, by taxonomy and family (see ``family``)."""
    counts: CuratedCounts = {}
    labelled: dict[str, dict[str, int]] = {}
    for taxonomy in TOPIC_TAXONOMIES:
        counts[taxonomy], labelled[taxonomy] = {}, {}
        for fam in FAMILIES:
            entries = [kb.entries[m] for m in members if family(kb.entries[m]) == fam]
            tally = Counter(tag for e in entries for tag in curated(e, taxonomy))
            counts[taxonomy][fam] = dict(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
            labelled[taxonomy][fam] = sum(1 for e in entries if curated(e, taxonomy))
    return counts, labelled


Finding = tuple[tuple[float, float], tuple[object, ...], Candidate]  # (strength, what was found, where)


def candidates(
    clusters: Sequence[Cluster],
    family_of: Mapping[str, str],
    tags: Mapping[str, Mapping[str, frozenset[str]]],
    *,
    min_size: int = 5,
    min_labelled: int = 5,
    dominant: float = 0.6,
    split: float = 0.25,
    fit_margin: float = 0.1,
) -> list[Candidate]:
    """Clusters that straddle several nodes of a taxonomy, or that fit no topic node well, the
    strongest first within each kind.

    - *straddles*: among the cluster's works (or its datasets, or its benchmarks: each
      ``family`` is counted apart, and ``family_of`` says which an entry is), at least
      ``min_labelled`` carry curated tags of the taxonomy (``tags``: taxonomy -> entry id -> its
      curated tags), no tag is on ``dominant`` of them, and two or more tags are each on at
      least ``split`` of them (and on two members at least) *without the others*: the data form
      one group that the taxonomy cuts apart (a missing parent, or a blurred boundary). Tags
      that go together on the same entries (codev is multi-label) cut nothing. Strongest: the
      most entries cut apart, then the most cohesive cluster.
    - *fits-none*: the cluster's best node similarity is ``fit_margin`` below the median of the
      clusters at its level: a topic the taxonomies do not describe (a missing node). Strongest:
      the furthest below.

    A finding that a smaller cluster inside this one repeats (the same taxonomy, family and
    tags, or no fit) is left to the smaller one, so each appears once, where its group is
    tightest.
    """
    found: list[Finding] = []
    by_id = {c.id: c for c in clusters}
    median_fit = {
        level: float(np.median([c.fit for c in clusters if c.level == level])) for level in {c.level for c in clusters}
    }
    for c in clusters:
        if c.size < min_size or (c.parent and by_id[c.parent].members == c.members):
            continue
        for taxonomy, families in c.curated.items():
            for fam, counts in families.items():
                labelled = c.labelled[taxonomy][fam]
                if labelled < min_labelled:
                    continue
                shares = {tag: n / labelled for tag, n in counts.items()}
                big = [tag for tag, share in shares.items() if share >= split and counts[tag] >= 2]
                owned = {m: tags[taxonomy].get(m, frozenset()) for m in c.members if family_of[m] == fam}
                alone = {t: [m for m, own in owned.items() if t in own and not own & (set(big) - {t})] for t in big}
                apart = [t for t in big if len(alone[t]) >= 2 and len(alone[t]) / labelled >= split]
                if max(shares.values()) < dominant and len(apart) >= 2:
                    spread = ", ".join(f"{len(alone[t])} {t}" for t in apart)
                    reason = f"of its {labelled} {taxonomy}-labelled {fam}, {spread} (each without the others)"
                    strength = (float(sum(len(alone[t]) for t in apart)), c.cohesion)
                    key = ("straddles", taxonomy, fam, frozenset(apart))
                    sides = {t: alone[t] for t in apart}
                    cand = Candidate(c.id, taxonomy, "straddles", reason, c.terms, c.members, fam, sides)
                    found.append((strength, key, cand))
        threshold = median_fit[c.level] - fit_margin
        if c.fit < threshold:
            best = ", ".join(f"{n} ({s:.2f})" for t in c.nearest_nodes for n, s in c.nearest_nodes[t][:1])
            reason = (
                f"best node similarity {c.fit:.2f} is below {threshold:.2f} (median of its level minus "
                f"{fit_margin}); nearest: {best}"
            )
            cand = Candidate(c.id, None, "fits-none", reason, c.terms, c.members)
            found.append(((threshold - c.fit, c.cohesion), ("fits-none",), cand))
    kept = [(strength, cand) for strength, key, cand in found if not _repeated_inside(cand, key, found, by_id)]
    kinds = ("straddles", "fits-none")
    kept.sort(key=lambda sc: (kinds.index(sc[1].kind), -sc[0][0], -sc[0][1], sc[1].cluster))
    return [cand for _, cand in kept]


def _repeated_inside(cand: Candidate, key: tuple[object, ...], found: list[Finding], by_id: dict[str, Cluster]) -> bool:
    """Whether a cluster inside ``cand``'s (at a finer level) has the same finding."""
    for _, other_key, other in found:
        if other_key != key or other.cluster == cand.cluster:
            continue
        parent = by_id[other.cluster].parent
        while parent is not None:
            if parent == cand.cluster:
                return True
            parent = by_id[parent].parent
    return False


# ---------------------------------------------------------------------------------------------
# The review queue


def review_queue(
    kb: KB,
    vectors: Vectors,
    *,
    k: int = 10,
    taxonomies: Sequence[str] = TOPIC_TAXONOMIES,
    agree: float = 0.5,
    support: float = 0.2,
    min_strength: float = 0.3,
) -> list[ReviewItem]:
    """Entries whose curated tags disagree with their ``k`` nearest labelled neighbours.

    For each taxonomy, every entry with curated tags is compared with the ``k`` most similar
    other entries of its ``family`` (works with works, datasets with datasets, benchmarks with
    benchmarks) that also carry curated tags there. Neighbours vote for their tags, weighted by
    similarity. The entry is queued when some tag has at least ``agree`` of the vote, none of the
    entry's own tags is among those, and its own tags together get less than ``support``: the
    neighbours agree with each other and not with the curator.

    ``strength`` is how far the neighbours' favourite tag beats its base rate in the family,
    (share - prior) / (1 - prior), minus the support of the entry's own tags; a majority tag
    (most yin works are instruction-tuning) must win by more than a rare one. Items below
    ``min_strength`` are dropped; the strongest disagreements come first.
    """
    items: list[ReviewItem] = []
    for taxonomy in taxonomies:
        for fam in FAMILIES:
            labelled = [
                i
                for i in vectors.ids
                if i in kb.entries and family(kb.entries[i]) == fam and curated(kb.entries[i], taxonomy)
            ]
            items.extend(_disagreements(kb, vectors, labelled, taxonomy, k, agree, support, min_strength))
    items.sort(key=lambda item: (-item.strength, item.taxonomy, item.entry_id))
    return items


def _disagreements(
    kb: KB,
    vectors: Vectors,
    labelled: list[str],
    taxonomy: str,
    k: int,
    agree: float,
    support: float,
    min_strength: float,
) -> list[ReviewItem]:
    if len(labelled) < 2:
        return []
    sub = vectors.subset(labelled).matrix
    sims = sub @ sub.T
    np.fill_diagonal(sims, -np.inf)
    tags = [set(curated(kb.entries[i], taxonomy)) for i in labelled]
    prior = Counter(tag for t in tags for tag in t)
    out = []
    for row, entry_id in enumerate(labelled):
        order = np.argsort(-sims[row], kind="stable")[: min(k, len(labelled) - 1)].tolist()
        weights = np.maximum(sims[row, order], 0.0).tolist()
        total = sum(weights) or 1.0
        votes: Counter[str] = Counter()
        for j, w in zip(order, weights, strict=True):
            for tag in tags[j]:
                votes[tag] += w / total
        said = [tag for tag, share in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])) if share >= agree]
        own = tags[row]
        own_support = sum(w for j, w in zip(order, weights, strict=True) if tags[j] & own) / total
        if not said or own & set(said) or own_support >= support:
            continue
        top = said[0]
        base = (prior[top] - (top in own)) / (len(labelled) - 1)  # the entry itself does not count
        strength = (votes[top] - base) / (1 - base) - own_support if base < 1 else 0.0
        if strength < min_strength:
            continue
        carrying = sum(1 for j in order if top in tags[j])
        holding = sum(1 for j in order if tags[j] & own)
        holders = "none carries" if holding == 0 else f"{holding} {'carries' if holding == 1 else 'carry'}"
        reason = (
            f"{carrying} of its {len(order)} nearest {taxonomy}-labelled neighbours carry {top} "
            f"({votes[top]:.0%} of the vote, against {base:.0%} of all); {holders} any of its own tags"
        )
        out.append(
            ReviewItem(
                entry_id=entry_id,
                taxonomy=taxonomy,
                curated=sorted(own),
                neighbours_say=said,
                reason=reason,
                strength=round(strength, 4),
                neighbours=[labelled[j] for j in order],
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Text rendering


def render_text(report: ClusterReport, *, review_limit: int = 40) -> str:
    """The report as plain text: clusters per level, candidate nodes, then the review queue."""
    lines: list[str] = []
    for level in report.levels:
        here = [c for c in report.clusters if c.level == level]
        lines.append(f"== {len(here)} clusters (asked for {level}) ==")
        for c in here:
            nodes = "; ".join(f"{n} {s:.2f}" for t in c.nearest_nodes for n, s in c.nearest_nodes[t][:1])
            lines.append(f"{c.id:<7} {c.size:>4}  {', '.join(c.terms[:5])}")
            lines.append(f"{'':13}nearest: {nodes}")
        lines.append("")
    lines.append(f"== candidate taxonomy nodes ({len(report.candidates)}) ==")
    for cand in report.candidates:
        where = f"{cand.taxonomy}: " if cand.taxonomy else ""
        lines.append(f"{cand.cluster:<7} {cand.kind:<10} {where}{cand.reason}")
        lines.append(f"{'':18} terms: {', '.join(cand.terms[:5])}")
        groups = cand.sides.items() if cand.sides else [("members", cand.members)]
        for side, members in groups:
            sample = ", ".join(members[:6]) + (", ..." if len(members) > 6 else "")
            lines.append(f"{'':18} {side}: {sample}")
    lines.append("")
    shown = report.review[:review_limit]
    more = f", the first {len(shown)} shown; --json for all" if len(shown) < len(report.review) else ""
    lines.append(f"== review queue ({len(report.review)} entries{more}) ==")
    for item in shown:
        lines.append(
            f"{item.entry_id} [{item.taxonomy}] curated {', '.join(item.curated)}; "
            f"neighbours say {', '.join(item.neighbours_say)}"
        )
        lines.append(f"    {item.reason}")
    return "\n".join(lines)

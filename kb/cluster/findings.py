"""Where the data and the taxonomies part: candidate taxonomy nodes among the clusters, and the
review queue of entries whose curated tags their neighbours disagree with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from kb.cluster.report import Candidate, Cluster, CuratedCounts, ReviewItem
from kb.tags import topic_tags
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.embed import Vectors
    from kb.schema import Entry
    from kb.store import KB


FAMILIES = ("works", "datasets", "benchmarks")


def family(entry: Entry) -> str:
    """Which entries an entry is compared with: works, training datasets or benchmarks. Both
    topic taxonomies file them apart (yin's dataset sections, codev's evaluation nodes), so a
    cluster of video models, video corpora and video benchmarks cuts nothing by its tags."""
    if not entry.is_dataset:
        return "works"
    return "benchmarks" if entry.kind.value == "benchmark" else "datasets"


def curated_counts(kb: KB, members: Sequence[str]) -> tuple[CuratedCounts, dict[str, dict[str, int]]]:
    """Curated tag counts and labelled-member counts, by taxonomy and family (see ``family``)."""
    counts: CuratedCounts = {}
    labelled: dict[str, dict[str, int]] = {}
    for taxonomy in TOPIC_TAXONOMIES:
        counts[taxonomy], labelled[taxonomy] = {}, {}
        for fam in FAMILIES:
            entries = [kb.entries[m] for m in members if family(kb.entries[m]) == fam]
            tally = Counter(tag for e in entries for tag in topic_tags(e, taxonomy))
            counts[taxonomy][fam] = dict(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
            labelled[taxonomy][fam] = sum(1 for e in entries if topic_tags(e, taxonomy))
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
                if i in kb.entries and family(kb.entries[i]) == fam and topic_tags(kb.entries[i], taxonomy)
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
    tags = [set(topic_tags(kb.entries[i], taxonomy)) for i in labelled]
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

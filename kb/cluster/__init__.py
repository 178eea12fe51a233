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

This module cuts the dendrogram and assembles the report; ``terms`` names the clusters,
``findings`` finds the candidates and the review queue, ``report`` holds what comes out and
renders it as text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kb.cluster.findings import candidates, curated_counts, family, review_queue
from kb.cluster.report import Candidate, Cluster, ClusterReport, ReviewItem, render_text
from kb.cluster.terms import telling_terms
from kb.tags import topic_tags
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.embed import Vectors
    from kb.store import KB

__all__ = [
    "DEFAULT_LEVELS",
    "Candidate",
    "Cluster",
    "ClusterReport",
    "ReviewItem",
    "candidates",
    "cluster_kb",
    "cut_levels",
    "render_text",
    "review_queue",
    "telling_terms",
]

DEFAULT_LEVELS = (8, 24, 64)


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


def centroid(matrix: np.ndarray) -> np.ndarray:
    mean = matrix.mean(axis=0)
    norm = np.linalg.norm(mean)
    return (mean / norm if norm else mean).astype(np.float32)


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

    vectors.same_width(nodes)
    ids = [i for i in vectors.ids if i in kb.entries]
    # n entries make at most n clusters: a level above that is that level, once.
    levels = sorted({min(level, len(ids)) for level in levels})
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
            tallies = curated_counts(kb, members)
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
    tags = {t: {i: frozenset(topic_tags(kb.entries[i], t)) for i in ids} for t in TOPIC_TAXONOMIES}
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

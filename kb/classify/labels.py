"""The curated examples a classifier learns from, and how they are kept apart: near-duplicates
(a paper's model and dataset entries, the same title, cosine above DUPLICATE_COSINE) form one
group, and cross-validation folds are decided per group by a hash of ids."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.schema import DATASET_KINDS

DUPLICATE_COSINE = 0.9  # entries this close (or with the same arXiv id) are one group in training


@dataclass
class Labelled:
    """Curated examples of one taxonomy: vectors, a 0/1 matrix of leaves, near-duplicate groups,
    and the kind of each entry ("model", ..., "benchmark")."""

    ids: list[str]
    vectors: np.ndarray  # (n, d)
    labels: np.ndarray  # (n, L) float 0/1
    groups: np.ndarray  # (n,) int: entries in one group are never used to judge each other
    kinds: np.ndarray  # (n,) str

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled(
            [self.ids[i] for i in rows], self.vectors[rows], self.labels[rows], self.groups[rows], self.kinds[rows]
        )

    @property
    def datasets(self) -> np.ndarray:
        """(n,) bool: which entries are datasets or benchmarks."""
        return np.isin(self.kinds, [k.value for k in DATASET_KINDS])

    def __len__(self) -> int:
        return len(self.ids)


def duplicate_groups(vectors: np.ndarray, *keys: Sequence[str | None]) -> np.ndarray:
    """Group numbers joining entries closer than DUPLICATE_COSINE or sharing any key (the arXiv
    id, the title): a paper's model and dataset entries are one group."""
    from scipy.sparse.csgraph import connected_components

    joined = (vectors @ vectors.T) > DUPLICATE_COSINE
    for column in keys:
        # Each entry joins the first with its key: the same groups as joining every pair, in one
        # pass (every pair took seconds on thousands of entries).
        first: dict[str, int] = {}
        for row, key in enumerate(column):
            if key is not None:
                other = first.setdefault(key, row)
                joined[row, other] = joined[other, row] = True
    return connected_components(joined, directed=False)[1]


def title_key(title: str) -> str:
    return " ".join(title.lower().split())


def newer(groups: np.ndarray, dates: Sequence[str | None], after: str) -> np.ndarray:
    """(n,) bool: the entries whose whole group was first released on or after ``after``
    (YYYY-MM-DD), judged by the group's earliest date, a partial date ("2024", "2024-07") by its
    first day. Undated entries are never newer; a group with an entry older than ``after`` is
    not, so no paper is on both sides of the split."""
    earliest = first_released(groups, dates)
    return np.array([earliest[int(g)] >= after for g in groups], dtype=bool)


def first_released(groups: np.ndarray, dates: Sequence[str | None]) -> dict[int, str]:
    """Each group's earliest date as YYYY-MM-DD (a partial date by its first day), '' when one
    of its entries is undated: undated is before all."""
    earliest: dict[int, str] = {}
    for group, date in zip(groups, dates, strict=True):
        start = date + {4: "-01-01", 7: "-01"}.get(len(date), "") if date else ""
        earliest[int(group)] = min(earliest.get(int(group), start), start)
    return earliest


def fold_of(ids: Sequence[str], groups: np.ndarray, folds: int) -> np.ndarray:
    """A fold number per entry, the same for a whole group, decided by a hash of the group's
    first id: reproducible, and independent of the order entries were loaded in."""
    first: dict[int, str] = {}
    for entry_id, group in zip(ids, groups, strict=True):
        first[int(group)] = min(first.get(int(group), entry_id), entry_id)
    return np.array([int(hashlib.sha256(first[int(g)].encode()).hexdigest(), 16) % folds for g in groups])

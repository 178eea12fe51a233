"""Vectors: what every consumer of embeddings gets, and what numpy alone can read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.errors import KBError


@dataclass
class Vectors:
    """Entry embeddings: row ``index[id]`` of ``matrix`` (float32, L2-normalised rows)."""

    ids: list[str]
    matrix: np.ndarray
    index: dict[str, int] = field(default_factory=dict)
    model: str = ""
    source: Path | None = None  # the cache folder they were read from, named when they do not fit

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {entry_id: row for row, entry_id in enumerate(self.ids)}
        if self.matrix.shape[0] != len(self.ids):
            raise ValueError(f"{len(self.ids)} ids but {self.matrix.shape[0]} rows")

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.index

    def vector(self, entry_id: str) -> np.ndarray:
        return self.matrix[self.index[entry_id]]

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine similarity of every entry to a normalised query vector."""
        return self.matrix @ np.asarray(query, dtype=np.float32)

    def nearest(self, entry_id: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` most similar other entries, best first (ties broken by id order)."""
        row = self.index[entry_id]
        scores = self.similarities(self.matrix[row])
        scores[row] = -np.inf  # never one's own neighbour
        return self.top(scores, k)

    def nearest_to(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        return self.top(self.similarities(query), k)

    def top(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        k = min(k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return []
        # A stable sort on -score keeps equal scores in row order, so results are reproducible.
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in order]

    def subset(self, ids: Sequence[str]) -> Vectors:
        rows = [self.index[i] for i in ids]
        return Vectors(list(ids), self.matrix[rows], model=self.model, source=self.source)

    def same_width(self, other: np.ndarray | Vectors) -> np.ndarray:
        """``other``'s rows (vectors of nodes, of keywords, or a query the model encoded just now),
        once they are known to be of these vectors' width: a cache of this model's name holding
        vectors of another width was not written by it, and nothing of one width compares with
        another."""
        matrix = other.matrix if isinstance(other, Vectors) else other
        mine, theirs = self.matrix.shape[1], matrix.shape[1]
        if len(self) and len(matrix) and mine != theirs:
            where = f"the embedding cache {self.source}" if self.source else "the embedding cache"
            raise KBError(
                f"{where} holds vectors of {mine} numbers and of {theirs} for model {self.model}: "
                "not all of it was written by that model; remove that folder and run kb embed"
            )
        return matrix


def normalise(matrix: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)

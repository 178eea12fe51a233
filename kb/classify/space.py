"""A taxonomy as the classifier sees it: its leaves, their embedded descriptions and keywords, and
the patterns that find a leaf's keywords and cues in a title however it is hyphenated."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.taxonomy import Taxonomy


@dataclass
class Space:
    """A taxonomy's leaves and the vectors and words that describe them."""

    taxonomy: Taxonomy
    leaves: list[str]
    leaf_vectors: np.ndarray  # (L, d): embedded node_text of each leaf
    top_vectors: np.ndarray  # (L, d): embedded node_text of each leaf's top-level section
    keyword_vectors: list[np.ndarray]  # per leaf, (k, d): its name and each keyword alone
    cues: list[re.Pattern[str] | None]  # per leaf: its keywords and cues as whole words
    section_cues: list[re.Pattern[str] | None]  # per leaf: keywords of the sections above it
    words: list[list[tuple[str, re.Pattern[str]]]]  # per leaf: each keyword and cue with its own pattern

    @property
    def multi_label(self) -> bool:
        return self.taxonomy.multi_label


def keyword_texts(taxonomy: Taxonomy) -> list[str]:
    """Every short text embedded on its own for a taxonomy: each leaf's name and keywords."""
    return sorted({k for leaf in taxonomy.leaves() for k in (leaf.name, *leaf.keywords)})


def _hyphen_forms(text: str) -> tuple[str, ...]:
    """A text as written, with its hyphens as spaces and without them: titles hyphenate freely
    ("pre-training" and "pretraining", "in-context" and "in context")."""
    return (text, text.replace("-", " "), text.replace("-", ""))


# A keyword matches as whole words, with a plural or verb ending: "jailbreak" in "Jailbreaking".
ENDINGS = "(?:s|es|d|ed|ing)?"


def cue_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    forms = {form for w in words if w.strip() for form in _hyphen_forms(w.lower())}
    words = sorted(forms, key=lambda w: (-len(w), w))
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"\b(?:{alternatives}){ENDINGS}\b") if words else None


def cue_text(text: str) -> str:
    """What keyword patterns search: every hyphen form of the lowered text, one per line (no
    keyword spans a line)."""
    return "\n".join(_hyphen_forms(text.lower()))


def make_space(taxonomy: Taxonomy, node_vector: dict[str, np.ndarray], keyword_vector: dict[str, np.ndarray]) -> Space:
    """``node_vector`` by node id, ``keyword_vector`` by keyword text (see ``keyword_texts``)."""
    leaves = taxonomy.leaves()
    sections = [taxonomy.ancestors(leaf.id) for leaf in leaves]
    return Space(
        taxonomy=taxonomy,
        leaves=[leaf.id for leaf in leaves],
        leaf_vectors=np.stack([node_vector[leaf.id] for leaf in leaves]),
        top_vectors=np.stack([node_vector[taxonomy.path(leaf.id)[0].id] for leaf in leaves]),
        keyword_vectors=[np.stack([keyword_vector[k] for k in (leaf.name, *leaf.keywords)]) for leaf in leaves],
        cues=[cue_pattern([*leaf.keywords, *leaf.cues]) for leaf in leaves],
        section_cues=[cue_pattern([k for s in above for k in s.keywords]) for above in sections],
        words=[
            [(w, p) for w in dict.fromkeys([*leaf.keywords, *leaf.cues]) if (p := cue_pattern([w]))] for leaf in leaves
        ],
    )

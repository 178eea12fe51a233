"""An entry's tags per taxonomy: curated ones (with where they came from) and machine suggestions, apart.

A light module on purpose (no numpy, no networkx): `kb query`, `kb show` and `kb tree` need tags
without paying for the graph.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, get_args

from kb.schema import MMLLMS_IO, Architecture, Entry, MMLLMsDesign, MMLLMsFunctional, Provenance
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.store import KB

SUGGESTIONS_PER_TAXONOMY = 3  # the best few machine suggestions are shown and become graph edges
MIN_SUGGESTION_SCORE = 0.05
_MODALITY_CODE = {modality: code for code, modality in MMLLMS_IO.items()}


def mmllms_node_ids() -> set[str]:
    """Every MM-LLMs node ``curated_tags`` can name: the taxonomy file must hold them all."""
    return {
        *(f"functional/{f}" for f in get_args(MMLLMsFunctional)),
        *(f"design/{d}" for d in get_args(MMLLMsDesign)),
        *(f"modalities/{code}" for code in MMLLMS_IO),
        *(f"architecture/{part}" for part in Architecture.model_fields),
    }


def topic_tags(entry: Entry, taxonomy: str) -> list[str]:
    """An entry's curated tags in one topic taxonomy (codev or yin): leaf ids, as listed."""
    return list(getattr(entry.tags, taxonomy))


def curated_tags(entry: Entry) -> dict[str, list[str]]:
    """An entry's curated tags per taxonomy as node ids; the MM-LLMs facets map onto its nodes."""
    mm = [f"functional/{f}" for f in entry.tags.mmllms.functional]
    mm += [f"design/{d}" for d in entry.tags.mmllms.design]
    if entry.tags.mmllms.functional or entry.tags.mmllms.design:
        # Modalities and architecture parts are facets only for entries the MM-LLMs list classifies.
        codes = {_MODALITY_CODE[m] for m in (*entry.modalities.input, *entry.modalities.output) if m in _MODALITY_CODE}
        mm += [f"modalities/{c}" for c in sorted(codes)]
    if entry.architecture is not None:
        mm += [f"architecture/{part}" for part, value in entry.architecture.model_dump().items() if value]
    return {**{t: topic_tags(entry, t) for t in TOPIC_TAXONOMIES}, "mmllms": mm}


# Who set curated tags, in words, by provenance source (kb/schema.py's Source).
SOURCE_NAMES = {
    "seed-codev": "the co-development survey's list",
    "seed-yin": "the MLLM survey's list",
    "seed-mmllms": "the MM-LLMs tracker",
    "arxiv": "arXiv",
    "contributor": "kb's contributors",
}
# The fields whose facts are each taxonomy's curated tags (see curated_tags).
_TAG_FIELDS = {"codev": ("tags.codev",), "yin": ("tags.yin",), "mmllms": ("tags.mmllms", "modalities", "architecture")}


def tag_provenance(entry: Entry) -> dict[str, list[Provenance]]:
    """Per taxonomy, the entry's provenance items that set its curated tags there (file order); empty
    where its provenance names none, as in an entry written by hand without it."""

    def sets(field: str, tax: str) -> bool:
        return any(field == x or field.startswith(x + ".") for x in _TAG_FIELDS[tax])

    return {tax: [p for p in entry.provenance if any(sets(f, tax) for f in p.fields)] for tax in _TAG_FIELDS}


def tag_sources(entry: Entry) -> dict[str, list[str]]:
    """Per taxonomy, the sources that set the entry's curated tags there, once each."""
    return {tax: list(dict.fromkeys(p.source for p in items)) for tax, items in tag_provenance(entry).items()}


def ranked_suggestions(kb: KB, entry_id: str) -> dict[str, list[tuple[str, float]]]:
    """Every machine suggestion per taxonomy for an entry, best first (ties by tag); empty lists when none."""
    found = kb.suggestions.get(entry_id)
    return {
        tax: [(s.tag, s.score) for s in sorted(getattr(found, tax), key=lambda s: (-s.score, s.tag))] if found else []
        for tax in TOPIC_TAXONOMIES
    }


def suggested_tags(kb: KB, entry_id: str, limit: int = SUGGESTIONS_PER_TAXONOMY) -> dict[str, list[tuple[str, float]]]:
    """The best machine suggestions per taxonomy for an entry (empty when there are none)."""
    return {
        tax: [(tag, score) for tag, score in ranked[:limit] if score >= MIN_SUGGESTION_SCORE]
        for tax, ranked in ranked_suggestions(kb, entry_id).items()
    }


def learned_tags(kb: KB, entry_id: str, limit: int = SUGGESTIONS_PER_TAXONOMY) -> dict[str, list[tuple[str, float]]]:
    """``suggested_tags`` less the zero-shot fallback's scores (see ``zero_shot_tags``): what kb query
    --suggested counts and lists as suggested; empty lists in the taxonomies whose scores are zero-shot."""
    zero_shot = kb.zero_shot_suggestions
    return {tax: [] if tax in zero_shot else ranked for tax, ranked in suggested_tags(kb, entry_id, limit).items()}


def zero_shot_tags(kb: KB, entry_id: str, limit: int = SUGGESTIONS_PER_TAXONOMY) -> dict[str, list[tuple[str, float]]]:
    """The best scores of ``suggested_tags`` in the taxonomies whose stored suggestions are the zero-shot
    fallback's (KB.zero_shot_suggestions, too few curated labels to learn from), and only those: shares
    of one across the leaves, not each leaf's own probability, so none of them is suggested."""
    zero_shot = kb.zero_shot_suggestions
    return {tax: ranked for tax, ranked in suggested_tags(kb, entry_id, limit).items() if tax in zero_shot}


def zero_shot_reason(taxonomies: Collection[str]) -> str:
    """Why a taxonomy's scores are zero-shot, in the words the pages use: '<codev and yin> have too few
    curated labels to learn from, so each score is a share of one across the leaves, ...'."""
    names = " and ".join(t for t in TOPIC_TAXONOMIES if t in taxonomies)
    has = "has" if len(taxonomies) == 1 else "have"
    return (
        f"{names} {has} too few curated labels to learn from, so each score is a share of one across the "
        "leaves, not the leaf's own probability"
    )

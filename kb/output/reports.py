"""Reports for people: the text of kb show, kb tree, kb stats and kb gaps (their data forms go
through kb.output.render_data). Entry and taxonomy text is made safe for a terminal line by ``one_line``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kb.output.cells import flatten
from kb.output.text import one_line, score_text
from kb.tags import zero_shot_reason

if TYPE_CHECKING:
    from kb.query.overview import Gaps, NodeCount
    from kb.store import KB


def _node_name(kb: KB, taxonomy: str, node_id: str) -> str:
    tax = kb.taxonomies[taxonomy]
    return one_line(tax[node_id].name) if node_id in tax else "(not in the taxonomy)"


def show_text(details: Mapping[str, Any], kb: KB) -> str:
    """``kb show``: fields, curated tags, suggested tags with scores, relations, neighbours."""
    fields = dict(details["fields"])
    lines = [f"{details['id']}: {one_line(fields.pop('title'))}", f"  file: {details['path']}"]
    for key in ("tags", "relations", "id"):
        fields.pop(key, None)
    # Which lists the facts came from, not the field-by-field detail (that is in --json).
    sources = [p["source"] + (f" ({p['note']})" if p.get("note") else "") for p in fields.pop("provenance", [])]
    if sources:
        fields["sources"] = "; ".join(sources)
    flat = flatten(fields)
    pad = max((len(k) for k in flat), default=0)
    for key, value in flat.items():
        if isinstance(value, list):
            value = "; ".join(one_line(str(v)) for v in value)  # as in CSV: a name may hold a comma
        lines.append(f"  {key.ljust(pad)}  {one_line(str(value))}")

    lines.append("curated tags (not by the model; [where they came from]):")
    curated, by = details["tags"]["curated"], details["tags"]["curated_by"]
    if not any(curated.values()):
        lines.append("  none")
    for tax, tags in curated.items():
        who = f"  [{', '.join(by[tax])}]" if by.get(tax) else ""
        for tag in tags:
            lines.append(f"  {tax:<7} {tag}  ({_node_name(kb, tax, tag)}){who}")

    lines.append("suggested tags (by the model, not curated; score 0-1):")
    suggested = details["tags"]["suggested"]
    if not any(suggested.values()):
        lines.append("  none")
    for tax, items in suggested.items():
        for item in items:
            lines.append(f"  {tax:<7} {score_text(item['score'])}  {item['tag']}  ({_node_name(kb, tax, item['tag'])})")
    zero_shot = details["tags"].get("zero_shot")
    if zero_shot is not None:  # a knowledge base with too few curated labels to learn from
        lines.append(f"zero-shot scores, none suggested ({zero_shot_reason(zero_shot)}):")
        if not any(zero_shot.values()):
            lines.append("  none")
        for tax, items in zero_shot.items():
            for item in items:
                tag = one_line(item["tag"])
                lines.append(f"  {tax:<7} {score_text(item['score'])}  {tag}  ({_node_name(kb, tax, item['tag'])})")

    lines.append("relations:")
    relations = details["relations"]
    if not relations["out"] and not relations["in"]:
        lines.append("  none")
    for rel, ids in relations["out"].items():
        lines.append(f"  {rel.replace('_', ' ')}: {', '.join(ids)}")
    from kb.query import INVERSE_NAMES

    for rel, ids in relations["in"].items():
        lines.append(f"  {INVERSE_NAMES[rel]}: {', '.join(ids)}")

    lines.append("nearest neighbours (cached embeddings; cosine):")
    if details["neighbours"] is None or details["note"]:  # none to be had, and why
        lines.append(f"  {details['note']}")
    elif not details["neighbours"]:  # -k 0
        lines.append("  none asked for")
    for n in details["neighbours"] or []:
        lines.append(f"  {n['score']:.3f}  {n['id']}  {one_line(n['title'])}")
    return "\n".join(lines) + "\n"


def tree_text(counts: Mapping[str, Sequence[NodeCount]], kb: KB) -> str:
    """``kb tree``: per node the curated and suggested counts, on the node and in its subtree."""
    lines: list[str] = []
    for tax, nodes in counts.items():
        if lines:
            lines.append("")
        lines.append(f"{tax}: {one_line(kb.taxonomies[tax].title)}")
        lines.append("   curated     suggested")
        lines.append("  here total  here total  node")
        top = min((n.depth for n in nodes), default=0)
        for n in nodes:
            indent = "  " * (n.depth - top)
            figures = f"{n.curated:>6}{n.curated_total:>6}{n.suggested:>6}{n.suggested_total:>6}"
            lines.append(f"{figures}  {indent}{n.id}  {one_line(n.name)}")
    lines.append("")
    lines.append("here: entries tagged with the node; total: distinct entries anywhere in its subtree.")
    return "\n".join(lines) + "\n"


def _counts_line(counts: Mapping[str, int], limit: int | None = None) -> str:
    items = list(counts.items())
    shown = items[:limit] if limit else items
    more = f", ... ({len(items) - len(shown)} more)" if len(shown) < len(items) else ""
    return ", ".join(f"{one_line(str(k))} {v}" for k, v in shown) + more


def stats_text(stats: Mapping[str, Any], kb: KB) -> str:
    """``kb stats``: one line per count, then the top two levels of each taxonomy."""
    lines = [
        f"entries     {stats['entries']} ({stats['works']} works, {stats['datasets']} datasets)",
        f"kinds       {_counts_line(stats['kinds'])}",
        f"years       {_counts_line(stats['years'])}",
        f"modalities  {_counts_line(stats['modalities'])}",
        f"venues      {_counts_line(stats['venues'], 12)}",
        "tagged      "
        + ", ".join(f"{tax} {n}" for tax, n in stats["tagged"].items())
        + f"; no curated tag {stats['untagged']}; with suggestions {stats['suggested']}",
    ]
    for tax, nodes in stats["nodes"].items():
        lines.append(f"{tax} (curated entries per node, subtree totals; kb tree for all levels):")
        for node_id, n in nodes.items():
            depth = kb.taxonomies[tax][node_id].depth
            if depth <= 1:
                lines.append(f"  {n:>5}  {'  ' * depth}{node_id}")
    return "\n".join(lines) + "\n"


def gaps_text(gaps: Gaps, *, review_limit: int = 20) -> str:
    """``kb gaps``: sparse nodes, uncovered years and modalities, then the strongest reviews."""
    lines = [f"nodes with fewer than {gaps.threshold} curated entries (subtree total; +suggested):"]
    for c in gaps.sparse:
        lines.append(f"  {c.curated_total:>3} +{c.suggested_total:<3} {c.taxonomy}:{c.id}  {one_line(c.name)}")
    if not gaps.sparse:
        lines.append("  none")
    years, modalities = ", ".join(gaps.covered_years) or "none", ", ".join(gaps.covered_modalities) or "none"
    lines.append(f"years ({years}) and modalities ({modalities}) that the KB covers but a top-level node lacks:")
    holes = False
    for node, missing_years in gaps.missing_years.items():
        missing_modalities = gaps.missing_modalities.get(node, [])
        if missing_years or missing_modalities:
            holes = True
            parts = ([f"years {', '.join(missing_years)}"] if missing_years else []) + (
                [f"modalities {', '.join(missing_modalities)}"] if missing_modalities else []
            )
            lines.append(f"  {node}: {'; '.join(parts)}")
    if not holes:
        lines.append("  none")
    if gaps.review is None:
        lines.append(f"review queue: {gaps.review_note}")
    else:
        more = f"; the first {review_limit} shown, --json for all" if len(gaps.review) > review_limit else ""
        lines.append(
            f"review queue ({len(gaps.review)}{more}): curated tags that disagree with the nearest neighbours'"
        )
        if gaps.review_note:  # some entries have no vector yet: the queue is of the others
            lines.append(f"  {gaps.review_note}")
        for item in gaps.review[:review_limit]:
            lines.append(
                f"  {item.strength:.2f}  {item.entry_id} [{item.taxonomy}] curated {', '.join(item.curated)}; "
                f"neighbours say {', '.join(item.neighbours_say)}"
            )
    return "\n".join(lines) + "\n"

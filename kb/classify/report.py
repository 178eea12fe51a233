"""kb eval's report for people: the tables of kb.classify.evaluate as text."""

from __future__ import annotations

from collections.abc import Sequence

from kb.classify.evaluate import METHODS, Band, EvalReport, LeafResult, Miss
from kb.output.text import counted, one_line


def render_text(report: EvalReport, leaves: bool = False) -> str:
    """The report; with ``leaves``, a table of how each leaf fares, and the entries wrong at top-1
    when the report holds them."""
    if report.after:
        lines = [
            f"Tag suggestions for the entries first released on {report.after} or later, learned from the "
            f"older and undated ones alone (near-duplicates kept together; queries are {report.query}s only)"
        ]
    else:
        lines = [
            f"Cross-validated tag suggestions ({report.folds} folds grouped by near-duplicate entries; "
            f"queries are {report.query}s only)"
        ]
    lines.append("(entries asked with their kind; paper: works' distinct titles, asked as works, right under any tag)")
    for result in report.results:
        learned = f", learned from {result.learned_from} older" if report.after else ""
        lines += [
            "",
            f"{result.taxonomy}: {counted(result.entries, 'labelled entry', 'labelled entries')}{learned}, "
            f"{counted(result.papers, 'distinct title')} of works",
        ]
        if result.zero_shot_folds:
            lines.append(f"  {zero_shot_line(result.zero_shot_folds, report)}")
        header = f"  {'level':<8}" + "".join(f"  {m:>22}" for m in METHODS)
        lines += [header, f"  {'':<8}" + "".join(f"  {'top-1':>10} {'top-3':>11}" for _ in METHODS)]
        for level in result.levels:
            cells = "".join(f"  {level.methods[m].top1:>10.1%} {level.methods[m].top3:>11.1%}" for m in METHODS)
            lines.append(f"  {level.level:<8}{cells}")
        if result.per_paper:
            cells = "".join(f"  {result.per_paper[m].top1:>10.1%} {result.per_paper[m].top3:>11.1%}" for m in METHODS)
            lines.append(f"  {'paper':<8}{cells}")
        if result.threshold:
            t = result.threshold
            lines.append(
                f"  suggested at score >= {t['threshold']:g} (suggest_threshold): {t['suggested_per_entry']:.2f} "
                f"leaves per entry, precision {t['precision']:.1%}, recall {t['recall']:.1%}, F1 {t['f1']:.1%}"
            )
        if result.thresholds:
            lines += render_thresholds(result.thresholds)
        if result.calibration:
            lines += render_calibration(result.calibration)
        if leaves and result.leaves:
            lines += render_leaves(result.leaves)
        if result.misses:
            lines += render_misses(result.misses)
    return "\n".join(lines)


def zero_shot_line(folds: int, report: EvalReport) -> str:
    """Which of kb suggest's figures are the zero-shot fallback's: those of the folds (or of the split
    by date) whose training labels are of fewer than two leaves, too few to learn from."""
    if report.after:
        return (
            "zero-shot: the older entries' labels are of fewer than two leaves, so kb suggest's figures are "
            "zero-shot, not learned"
        )
    return (
        f"zero-shot in {folds} of {counted(report.folds, 'fold')}: their training labels are of fewer than two "
        "leaves, so kb suggest's figures for their entries are zero-shot, not learned"
    )


SHOWN_RATES = {"precision": "precision", "recall": "recall", "f1": "F1"}


def render_thresholds(rows: Sequence[dict[str, float]], asked: str = "entry") -> list[str]:
    """Four rows under a header of thresholds: what suggest_threshold would give at each."""
    return [
        f"  at other thresholds (each {asked}'s best leaf is always suggested):",
        f"  {'score >=':<14}" + "".join(f"{r['threshold']:>10g}" for r in rows),
        f"  {'per ' + asked:<14}" + "".join(f"{r['suggested_per_entry']:>10.2f}" for r in rows),
        *(f"  {shown:<14}" + "".join(f"{r[key]:>10.1%}" for r in rows) for key, shown in SHOWN_RATES.items()),
    ]


def render_calibration(bands: Sequence[Band], asked: str = "entry") -> list[str]:
    """Three rows under a header of bands: how many leaves, their mean score, the share right."""

    def cell(value: float | None, as_share: bool) -> str:
        if value is None:
            return f"{'-':>10}"
        return f"{value:>10.1%}" if as_share else f"{value:>10.2f}"

    header = "".join(f"{f'{b.low:.1f}-{b.high:.1f}':>10}" for b in bands)
    return [
        f"  kb suggest's scores by band (every {asked} and leaf; calibrated when the share right is near the mean):",
        f"  {'score':<14}{header}",
        f"  {'leaves':<14}" + "".join(f"{b.leaves:>10}" for b in bands),
        f"  {'mean score':<14}" + "".join(cell(b.mean_score, False) for b in bands),
        f"  {'right':<14}" + "".join(cell(b.right, True) for b in bands),
    ]


def render_leaves(rows: Sequence[LeafResult]) -> list[str]:
    """One line per leaf: its entries, the shares of them that get it first and among the best
    three, the entries given it first and the share of them that carry it, what its wrong ones got."""

    def share(value: float | None) -> str:
        return f"{'-':>7}" if value is None else f"{value:>7.1%}"

    width = max(len(r.leaf) for r in rows)
    lines = [
        "  by leaf: its entries, how many get it first (and among the best three); the entries given it",
        "  first, how many of those carry it; what its entries wrong at top-1 got first",
        f"  {'leaf':<{width}} {'entries':>7} {'first':>7} {'top-3':>7} {'given':>7} {'right':>7}  taken for",
    ]
    for r in rows:
        taken = ", ".join(f"{leaf} {n}" for leaf, n in r.taken_for.items())
        counts = f"{r.entries:>7} {share(r.first)} {share(r.top3)} {r.chosen:>7} {share(r.right)}"
        lines.append(f"  {r.leaf:<{width}} {counts}  {taken}".rstrip())
    return lines


def render_misses(misses: Sequence[Miss]) -> list[str]:
    """Each entry wrong at top-1: its curated tags, the leaf it got first and that leaf's score."""
    wrong = counted(len(misses), "entry", "entries")
    lines = [f"  wrong at top-1 ({wrong}): curated tags -> the leaf given first (score), then the entry"]
    lines += [f"  {', '.join(m.tags)} -> {m.best} ({m.score:.2f})  {m.id}: {one_line(m.title)}" for m in misses]
    return lines

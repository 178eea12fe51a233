"""What kb cluster reports: the clusters, the candidate taxonomy nodes and the review queue, and
their plain-text rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

CuratedCounts = dict[str, dict[str, dict[str, int]]]
# What stands for a cluster's terms when it has none: its words are all names of single papers
# ("Pixtral 12B"), which tell no theme.
NO_TERMS = "no words shared by two papers or more"


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


def render_text(report: ClusterReport, *, review_limit: int = 40) -> str:
    """The report as plain text: clusters per level, candidate nodes, then the review queue."""
    lines: list[str] = []
    for level in report.levels:
        here = [c for c in report.clusters if c.level == level]
        # (a cut may give fewer clusters than asked, where distances tie)
        lines.append(f"== {len(here)} clusters" + (f" (asked for {level}) ==" if len(here) != level else " =="))
        for c in here:
            nodes = "; ".join(f"{n} {s:.2f}" for t in c.nearest_nodes for n, s in c.nearest_nodes[t][:1])
            terms = ", ".join(c.terms[:5]) or f"({NO_TERMS}: {', '.join(c.members[:3])})"
            lines.append(f"{c.id:<7} {c.size:>4}  {terms}")
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

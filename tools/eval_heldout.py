"""kb suggest on papers it has never learned from: the surveys' listed papers that the seed lacks.

The issue's own test of the suggestions: papers from the surveys' lists that are not in the seed,
asked with their titles only (as a JSON Lines line without a kind: a paper's work), after removing
any knowledge-base entry for them. A paper is right at top-1 when the best leaf is one of the leaves
it is listed under, and at top-3 when one of those is among the best three. Beside kb suggest, the
two baselines of kb eval, learned from the same labels: plain nearest neighbours on the titles and
the majority class.

The papers, transcribed from one snapshot of each list (facts only: titles, arXiv ids, sections):

- yin: `tools/heldout/yin-list-2025-03.jsonl`, from BradyFU/Awesome-Multimodal-Large-Language-Models,
  README.md at commit 004fe749 (March 2025): 529 rows, of which 97 distinct papers are not in
  shared/seed/yin_survey_list.jsonl by arXiv id or normalised title;
- codev: `tools/heldout/codev-list-2025-06.jsonl`, from modelscope/data-juicer,
  docs/awesome_llm_data.md, its "Paper List" table as of June 2025 (news up to 2025-06-04; the
  commit could not be read from the source it was taken from): 167 papers, each with the leaves of
  its tag badges, of which 60 are not in shared/seed/codev_labeled.jsonl by normalised title (the
  107 that are carry the seed's tags exactly, but for one paper listed twice).

    python tools/eval_heldout.py [--taxonomy yin|codev ...] [--errors] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.classify import Suggester  # noqa: E402
from kb.classify.evaluate import SWEEP, Band, at_threshold, calibration, neighbour_votes  # noqa: E402
from kb.classify.model import WORK  # noqa: E402
from kb.classify.report import render_calibration, render_thresholds  # noqa: E402
from kb.config import load_config  # noqa: E402
from kb.embed import normalise  # noqa: E402
from kb.naming import norm_title  # noqa: E402
from kb.output.status import say  # noqa: E402
from kb.store import KB, load_kb  # noqa: E402

HELD_OUT = {
    "yin": Path(__file__).resolve().parent / "heldout" / "yin-list-2025-03.jsonl",
    "codev": Path(__file__).resolve().parent / "heldout" / "codev-list-2025-06.jsonl",
}
METHODS = ("kb suggest", "nearest neighbours", "majority class")


def entries_of(kb: KB, papers: list[dict]) -> frozenset[str]:
    """Every entry for a held-out paper (same arXiv id or title), so no label of its own can teach
    its suggestion."""
    titles = {norm_title(p["title"]) for p in papers}
    ids = {p["arxiv"] for p in papers if p.get("arxiv")}
    return frozenset(i for i, e in kb.entries.items() if norm_title(e.title) in titles or (e.arxiv and e.arxiv in ids))


def hits(scores: np.ndarray, leaves: list[str], papers: list[dict], taxonomy: str) -> tuple[list[bool], list[bool]]:
    order = np.argsort(-scores, axis=1, kind="stable")
    top1 = [leaves[row[0]] in p[taxonomy] for p, row in zip(papers, order, strict=True)]
    top3 = [bool({leaves[i] for i in row[:3]} & set(p[taxonomy])) for p, row in zip(papers, order, strict=True)]
    return top1, top3


def interval(right: int, papers: int) -> list[float]:
    """The 95% Wilson interval of a share: how far a figure measured on a few dozen papers can be
    trusted (one paper of 60 is 1.7 points)."""
    from scipy.stats import binomtest

    found = binomtest(int(right), papers).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(found.low), float(found.high)]


def evaluate(suggester: Suggester, taxonomy: str, errors: bool) -> dict[str, object]:
    path = HELD_OUT[taxonomy]
    papers = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    without = entries_of(suggester.kb, papers)
    # A minute or two of work on 2 cores: said as it goes, on stderr (stdout is the report).
    say(f"{taxonomy}: learning from the KB without {len(without)} entries of the {len(papers)} held-out papers")
    classifier = suggester.classifier(taxonomy, without)
    say(f"{taxonomy}: suggesting for the {len(papers)} titles")
    leaves = classifier.space.leaves
    texts = [p["title"] for p in papers]
    vectors = normalise(suggester.embedder.embed(texts))
    scores = {
        "kb suggest": classifier.scores(vectors, texts, [WORK] * len(texts)),
        "nearest neighbours": neighbour_votes(classifier.train, vectors),
        "majority class": np.broadcast_to(classifier.train.labels.sum(axis=0), (len(papers), len(leaves))),
    }
    result: dict[str, object] = {"papers": len(papers), "entries removed": len(without)}
    for method, s in scores.items():
        top1, top3 = hits(s, leaves, papers, taxonomy)
        result[method] = {"top-1": float(np.mean(top1)), "top-3": float(np.mean(top3))}
        if method == "kb suggest":
            result["interval"] = {"top-1": interval(sum(top1), len(papers)), "top-3": interval(sum(top3), len(papers))}
    truth = np.array([[leaf in p[taxonomy] for leaf in leaves] for p in papers])
    if classifier.space.multi_label:  # how far the leaves marked as suggested can be trusted
        threshold = suggester.config.suggest_threshold
        chosen = scores["kb suggest"] >= threshold
        result["suggested"] = {
            "threshold": threshold,
            "leaves": int(chosen.sum()),
            "papers": int(chosen.any(axis=1).sum()),
            "precision": float((chosen & truth).sum() / max(int(chosen.sum()), 1)),
        }
        result["thresholds"] = [at_threshold(scores["kb suggest"], truth, t) for t in SWEEP]
    result["calibration"] = [vars(band) for band in calibration(scores["kb suggest"], truth)]
    right, _ = hits(scores["kb suggest"], leaves, papers, taxonomy)
    best = [leaves[int(i)] for i in np.argsort(-scores["kb suggest"], axis=1, kind="stable")[:, 0]]
    by_leaf: dict[str, list[bool]] = {}
    for p, hit in zip(papers, right, strict=True):
        by_leaf.setdefault(p[taxonomy][0], []).append(hit)
    result["by first listed leaf"] = {leaf: [len(h), sum(h)] for leaf, h in sorted(by_leaf.items())}
    if errors:
        result["errors"] = [
            {"listed under": p[taxonomy], "best": b, "title": p["title"]}
            for p, b, hit in sorted(zip(papers, best, right, strict=True), key=lambda t: t[0][taxonomy])
            if not hit
        ]
    return result


def render(taxonomy: str, result: dict) -> str:
    lines = [
        f"{taxonomy}: {result['papers']} held-out papers, titles only "
        f"({result['entries removed']} KB entries for them removed)",
        f"  {'method':<20} {'top-1':>7} {'top-3':>7}",
    ]
    lines += [f"  {m:<20} {result[m]['top-1']:>7.1%} {result[m]['top-3']:>7.1%}" for m in METHODS]
    low1, high1 = result["interval"]["top-1"]
    low3, high3 = result["interval"]["top-3"]
    lines.append(f"  kb suggest, 95% Wilson interval: top-1 {low1:.1%} to {high1:.1%}, top-3 {low3:.1%} to {high3:.1%}")
    if "suggested" in result:
        t = result["suggested"]
        lines.append(
            f"  suggested at score >= {t['threshold']:.2f}: {t['leaves']} leaves on {t['papers']} papers, "
            f"{t['precision']:.1%} of them right"
        )
        lines += render_thresholds(result["thresholds"], asked="paper")
    lines += render_calibration([Band(**band) for band in result["calibration"]], asked="paper")
    lines += ["", f"  {'first listed leaf':<54} {'papers':>6} {'right':>6}"]
    ranked = sorted(result["by first listed leaf"].items(), key=lambda item: (-item[1][0], item[0]))
    lines += [f"  {leaf:<54} {n:>6} {right:>6}" for leaf, (n, right) in ranked]
    if "errors" in result:
        lines.append("")
        lines += [f"  {','.join(e['listed under'])} -> {e['best']}: {e['title']}" for e in result["errors"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--taxonomy",
        nargs="+",
        choices=sorted(HELD_OUT),
        default=sorted(HELD_OUT),
        help="which to measure (default: both)",
    )
    parser.add_argument("--errors", action="store_true", help="list every paper whose best leaf is wrong")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    suggester = Suggester.build(load_kb(root), load_config(root, {}))
    results = {t: evaluate(suggester, t, args.errors) for t in args.taxonomy}
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return
    print("\n\n".join(render(t, r) for t, r in results.items()))


if __name__ == "__main__":
    main()

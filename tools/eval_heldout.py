"""kb suggest on papers it has never learned from: a survey list's papers that the seed lacks.

The issue's own test of the yin suggestions: papers from the survey's list that are not in the
seed, asked with their titles only (as a JSON Lines line without a kind: a paper's work), after
removing any knowledge-base entry for them. `tools/heldout/yin-list-2025-03.jsonl` holds those
papers of one snapshot of the list (BradyFU/Awesome-Multimodal-Large-Language-Models, README.md
at commit 004fe749, March 2025: 529 rows, of which 97 distinct papers are not in
shared/seed/yin_survey_list.jsonl by arXiv id or normalised title), each with the sections it is
listed under. A paper is right at top-1 when the best leaf is one of them.

    python tools/eval_heldout.py [--errors] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.classify import Suggester  # noqa: E402
from kb.classify.model import WORK, rank  # noqa: E402
from kb.config import load_config  # noqa: E402
from kb.embed import normalise  # noqa: E402
from kb.store import load_kb  # noqa: E402

HELD_OUT = Path(__file__).resolve().parent / "heldout" / "yin-list-2025-03.jsonl"


def loose(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list every paper whose best leaf is wrong")
    parser.add_argument("--json", action="store_true", help="print the numbers as one JSON object")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    papers = [json.loads(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    kb = load_kb(root)

    # Remove every entry for a held-out paper, so no label of its own can teach its suggestion.
    titles = {loose(p["title"]) for p in papers}
    ids = {p["arxiv"] for p in papers if p.get("arxiv")}
    without = frozenset(i for i, e in kb.entries.items() if loose(e.title) in titles or (e.arxiv and e.arxiv in ids))

    suggester = Suggester.build(kb, load_config(root, {}))
    classifier = suggester.classifier("yin", without)
    texts = [p["title"] for p in papers]
    vectors = normalise(suggester.embedder.embed(texts))
    scores = classifier.scores(vectors, texts, [WORK] * len(texts))
    ranked = [[tag for tag, _ in rank(row, classifier.space.leaves)] for row in scores]

    top1 = [r[0] in p["yin"] for p, r in zip(papers, ranked, strict=True)]
    top3 = [bool(set(r[:3]) & set(p["yin"])) for p, r in zip(papers, ranked, strict=True)]
    common = Counter(tag for p in papers for tag in p["yin"]).most_common(1)[0][0]
    majority = float(np.mean([common in p["yin"] for p in papers]))
    result = {
        "papers": len(papers),
        "entries removed": len(without),
        "top-1": round(float(np.mean(top1)), 4),
        "top-3": round(float(np.mean(top3)), 4),
        "majority class top-1": round(majority, 4),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"yin, {len(papers)} held-out papers, titles only ({len(without)} KB entries removed): "
        f"top-1 {result['top-1']:.1%}, top-3 {result['top-3']:.1%} (majority class {majority:.1%})"
    )
    by_leaf: dict[str, list[bool]] = {}
    for p, hit in zip(papers, top1, strict=True):
        by_leaf.setdefault(p["yin"][0], []).append(hit)
    print(f"\n{'listed under':<30} {'papers':>6} {'right':>6}")
    for leaf, hits in sorted(by_leaf.items(), key=lambda item: -len(item[1])):
        print(f"{leaf:<30} {len(hits):>6} {sum(hits):>6}")
    if args.errors:
        print()
        for p, r, hit in sorted(zip(papers, ranked, top1, strict=True), key=lambda t: t[0]["yin"]):
            if not hit:
                print(f"{','.join(p['yin']):<30} -> {r[0]:<28} {p['title']}")


if __name__ == "__main__":
    main()

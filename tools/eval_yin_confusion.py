"""Where kb suggest goes wrong on a single-label taxonomy: a confusion matrix over papers.

Cross-validated exactly as `kb eval` (grouped folds, titles only, each entry asked with its kind),
then each distinct title of each kind is counted once: right when its best leaf is one of the tags
of any entry of that kind with that title. A wrong paper is counted under its first true leaf (taxonomy order).

    python tools/eval_yin_confusion.py [--taxonomy yin] [--folds 10] [--errors]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kb.classify import Suggester  # noqa: E402
from kb.classify.evaluate import FOLDS, cross_validate  # noqa: E402
from kb.classify.labels import title_key  # noqa: E402
from kb.config import load_config  # noqa: E402
from kb.store import load_kb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxonomy", default="yin")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--errors", action="store_true", help="list every wrong paper")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    kb = load_kb(root)
    suggester = Suggester.build(kb, load_config(root, {}))
    cv = cross_validate(suggester, args.taxonomy, args.folds, suggester.title_vectors(suggester.vectors.ids))
    leaves = suggester.space(args.taxonomy).leaves
    scores, truth = cv.scores["kb suggest"], cv.labelled.labels

    first: dict[tuple[str, str], int] = {}
    union: dict[int, np.ndarray] = {}
    for row, title in enumerate(cv.titles):
        at = first.setdefault((title_key(title), str(cv.labelled.kinds[row])), row)
        union[at] = np.maximum(union.get(at, truth[row]), truth[row])
    confusion: Counter[tuple[str, str]] = Counter()
    wrong = []
    for row, tags in sorted(union.items()):
        best = int(scores[row].argmax())
        if tags[best] > 0:
            continue
        own = leaves[int(np.nonzero(tags)[0][0])]
        confusion[(own, leaves[best])] += 1
        wrong.append((own, leaves[best], float(scores[row, best]), cv.titles[row]))

    papers = len(union)
    right = papers - len(wrong)
    print(f"{args.taxonomy}: {papers} papers (title and kind), {right} right at top-1 ({right / papers:.1%})")
    totals = Counter(leaves[int(np.nonzero(t)[0][0])] for t in union.values())
    print(f"\n{'true leaf':<34} {'papers':>6} {'wrong':>6}  most often taken for")
    for leaf in leaves:
        taken = [(p, n) for (t, p), n in confusion.most_common() if t == leaf][:3]
        lost = sum(n for (t, _), n in confusion.items() if t == leaf)
        print(f"{leaf:<34} {totals[leaf]:>6} {lost:>6}  " + ", ".join(f"{p} {n}" for p, n in taken))
    if args.errors:
        print()
        for own, taken_for, score, title in sorted(wrong):
            print(f"{own:<30} -> {taken_for:<30} {score:.2f}  {title}")


if __name__ == "__main__":
    main()

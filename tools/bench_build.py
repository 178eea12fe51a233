"""Benchmark `kb build`: time per stage against the number of entries (the KB as it is, then 2,000 and
5,000 with synthetic entries), printed as a Markdown table.

Synthetic entries are copies of real ones under new ids, with their own titles and no arXiv id (so
kb check passes), keeping tags and relations. Each size is built in a fresh temporary folder, in
process, through the same kb.site.build.build that `kb build` runs. Embeddings come from a tiny
deterministic hashing embedder (tests/intel_kb.py) unless --real-model is given: encoding 5,000 new
texts with the real model is a one-off cost that the cache then saves, not the cost of a build.

    python tools/bench_build.py [--sizes 0,2000,5000] [--real-model]      (0: the KB as it is)
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_check import synthetic_kb  # noqa: E402  (tools/ is the script's own folder)
from benchargs import sizes  # noqa: E402

from kb.cli import main  # noqa: E402
from kb.config import load_config  # noqa: E402
from kb.site.build import StageReport, build  # noqa: E402
from tests.intel_kb import HashingEmbedder  # noqa: E402

STAGES = ("check", "embed", "suggest", "graph", "cluster", "render", "mkdocs")


def make_kb(dest: Path, size: int) -> int:
    """A copy of the real KB under ``dest`` grown to ``size`` entries (0: as it is), with the site's
    own pages; return its size. The copies are bench_check's, which kb check passes."""
    count = synthetic_kb(dest, size)
    if (ROOT / "docs").is_dir():
        shutil.copytree(ROOT / "docs", dest / "docs")
    return count


def run(size: int, real_model: bool) -> tuple[int, dict[str, float], float]:
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = Path(tmp)
        count = make_kb(root, size)
        if real_model and (ROOT / ".kb-cache").is_dir():
            shutil.copytree(ROOT / ".kb-cache", root / ".kb-cache")
        times: dict[str, float] = {}
        start = time.perf_counter()
        build(
            root,
            load_config(root),
            commands=main,
            embedder=None if real_model else HashingEmbedder(dim=384),
            report=functools.partial(_record, times),
        )
        return count, times, time.perf_counter() - start


def _record(times: dict[str, float], report: StageReport) -> None:
    """Keep a stage's time and show it as it ends."""
    times[report.stage] = report.seconds
    print(f"  {report}", file=sys.stderr)


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=sizes, default="0,2000,5000", help="entries per build, comma-separated (0: as it is)"
    )
    parser.add_argument("--real-model", action="store_true", help="embed with the configured model (cache copied)")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        print(f"building {size or 'the KB as it is'}...", file=sys.stderr)
        rows.append(run(size, args.real_model))
    print("| Entries | " + " | ".join(STAGES) + " | Total |")
    print("|---:|" + "---:|" * (len(STAGES) + 1))
    for count, times, total in rows:
        cells = " | ".join(f"{times.get(stage, 0):.1f} s" for stage in STAGES)
        print(f"| {count:,} | {cells} | {total:.1f} s |")


if __name__ == "__main__":
    main_()

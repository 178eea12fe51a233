"""Benchmark: `kb check` over a knowledge base of 10,000 entries, as a fresh process.

The synthetic knowledge base is the real one plus copies of its entries under new ids, titles
and arXiv ids (so it is valid: no duplicates, every relation lands), with the real taxonomies,
mkdocs.yml and kb.yaml. Each size is timed three times; the median is reported as a Markdown
table. `kb check` must find no problems, or the number would measure the wrong thing.

    python tools/bench_check.py [--entries 10000] [--runs 3] [--profile]

--profile runs the largest check once more under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchargs import at_least_one  # noqa: E402  (tools/ is the script's own folder)

from kb.schema import Entry  # noqa: E402
from kb.store import dump_entry, entry_path, load_kb  # noqa: E402


def synthetic_kb(root: Path, size: int) -> int:
    """Write a valid knowledge base of ``size`` entries under ``root``; return how many it holds."""
    kb = load_kb(REPO)
    for name in ("mkdocs.yml", "kb.yaml"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, root / name)
    shutil.copytree(REPO / "entries" / "taxonomies", root / "entries" / "taxonomies")
    shutil.copytree(REPO / "overrides", root / "overrides")  # mkdocs.yml's theme custom_dir, which kb check checks
    for folder in ("works", "datasets"):
        (root / "entries" / folder).mkdir(parents=True, exist_ok=True)
    real = list(kb.entries.values())
    for entry in real:
        entry_path(root, entry).write_text(dump_entry(entry), encoding="utf-8")
    taken = {e.arxiv for e in real}
    # Ids of last month: no copy's date is after them (kb check refuses a work dated after its
    # arXiv id's month), none is in the future, and five digits leave room for 89,999 copies.
    last_month = _dt.date.today().replace(day=1) - _dt.timedelta(days=1)
    free = (a for a in (f"{last_month:%y%m}.{n:05d}" for n in range(10000, 100000)) if a not in taken)
    for i in range(size - len(real)):
        copy = _copy(real[i % len(real)], i, next(free))
        entry_path(root, copy).write_text(dump_entry(copy), encoding="utf-8")
    return max(size, len(real))


def _copy(entry: Entry, i: int, arxiv: str) -> Entry:
    """The entry under a new id, title, name and arXiv id (kb check refuses two datasets of one
    name); its relations still point at real entries."""
    changes: dict[str, object] = {
        "id": f"{entry.id[:70]}-s{i}",
        "title": f"{entry.title} (synthetic copy {i})",
        "name": f"{entry.name} s{i}" if entry.name else None,
        "arxiv": arxiv if entry.arxiv else None,
    }
    if entry.links.paper and entry.arxiv:
        changes["links"] = entry.links.model_copy(update={"paper": f"https://arxiv.org/abs/{arxiv}"})
    return entry.model_copy(update=changes)


def time_check(root: Path, runs: int) -> float:
    """Median wall time of `kb check` in a fresh process (start-up included, as a user sees it)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "kb", "--root", str(root), "check"],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"kb check found problems in the synthetic knowledge base:\n{proc.stdout[:2000]}{proc.stderr}")
    return statistics.median(times)


def profile(root: Path) -> None:
    import cProfile
    import pstats

    from kb.check import check_kb

    profiler = cProfile.Profile()
    profiler.runcall(check_kb, root)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=at_least_one, default=10_000, help="entries in the synthetic knowledge base (default 10000)"
    )
    parser.add_argument("--runs", type=at_least_one, default=3, help="fresh processes timed, median taken (default 3)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one check of the synthetic KB")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-check-") as tmp:
        rows.append((len(load_kb(REPO).entries), time_check(REPO, args.runs)))
        root = Path(tmp)
        size = synthetic_kb(root, args.entries)
        rows.append((size, time_check(root, args.runs)))
        if args.profile:
            profile(root)
    print(
        f"kb check, median of {args.runs} fresh processes; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n"
    )
    print("| entries | seconds | entries/s |\n|---:|---:|---:|")
    for entries, seconds in rows:
        print(f"| {entries:,} | {seconds:.2f} | {entries / seconds:,.0f} |")


if __name__ == "__main__":
    main()

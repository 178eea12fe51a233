"""Benchmark the terminal commands: wall time of kb query, show, tree, similar, stats, gaps as fresh processes.

Each command runs ``--runs`` times (after one untimed warm-up, so the page cache is warm) in a new
Python process on the real knowledge base of this checkout; the median wall time is reported,
with the CPU time of the process (user + system, which load on a shared machine moves less) and
the machine's CPU count and load. Prints a Markdown table:

    python tools/bench_cli.py [--runs 5] [--root PATH]

``kb similar`` needs the embedding cache (run ``kb embed`` first); without it the row says so.
The commands keep the entry files they parsed in the cache (kb.parsecache), so after the warm-up
they parse none; one row runs ``kb query`` with an empty cache_dir each time, as after a change
to every file, and so parses them all.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchargs import at_least_one, knowledge_base  # tools/ is the script's own folder

ROOT = Path(__file__).resolve().parent.parent
COLD = "kb query --limit 1, every file parsed (empty cache_dir)"

COMMANDS: list[tuple[str, list[str]]] = [
    ("python -c pass (interpreter alone)", ["-c", "pass"]),
    ("kb --help (imports only)", ["-m", "kb", "--help"]),
    ("kb query --limit 1", ["-m", "kb", "query", "--limit", "1"]),
    (COLD, ["-m", "kb", "query", "--limit", "1"]),
    ("kb query --tag hallucination --json", ["-m", "kb", "query", "--tag", "hallucination", "--json"]),
    ("kb show llava", ["-m", "kb", "show", "llava"]),
    ("kb tree", ["-m", "kb", "tree"]),
    ("kb similar llava", ["-m", "kb", "similar", "llava"]),
    ("kb stats", ["-m", "kb", "stats"]),
    ("kb gaps", ["-m", "kb", "gaps"]),
]


def run_once(args: list[str], root: Path, *, cold: bool = False) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds of the child, exit code, last line of stderr); ``cold``: with a
    cache_dir of its own, empty."""
    with tempfile.TemporaryDirectory() as cache:
        return _run(args, root, {"KB_CACHE_DIR": cache} if cold else {})


def _run(args: list[str], root: Path, extra: dict[str, str]) -> tuple[float, float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return wall, cpu, proc.returncode, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=at_least_one, default=5, help="timed runs per command, median taken (default 5)")
    parser.add_argument("--root", type=knowledge_base, default=ROOT, help="The knowledge base to run against.")
    args = parser.parse_args()

    rows = []
    for label, command in COMMANDS:
        cold = label == COLD
        _, _, code, err = run_once(command, args.root, cold=cold)  # warm-up: files and bytecode in the cache
        if code != 0:
            rows.append((label, f"failed (exit {code}): {err}", "", "", ""))
            continue
        runs = [run_once(command, args.root, cold=cold) for _ in range(args.runs)]
        walls = [r[0] for r in runs]
        cpu = statistics.median(r[1] for r in runs)
        rows.append((label, f"{statistics.median(walls):.2f}", f"{min(walls):.2f}", f"{max(walls):.2f}", f"{cpu:.2f}"))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{len(list(args.root.glob('entries/[wd]*/*.yaml')))} entry files; {os.cpu_count()} CPUs, "
        f"load average {load:.1f} when the runs ended; Python {platform.python_version()}; "
        f"median of {args.runs} fresh processes after one warm-up.\n"
    )
    print("| command | median wall (s) | min (s) | max (s) | median CPU (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()

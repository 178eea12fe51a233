"""Benchmark of kb embed: throughput of a first run (cold cache) and time of a second run with
nothing changed, on the real knowledge base and on synthetic ones made from its real titles.

    python tools/bench_embed.py                 # CPU, the real KB plus 5,000 synthetic entries
    python tools/bench_embed.py --device cuda   # the same on a GPU
    python tools/bench_embed.py --sizes 1000,5000 --batch-size 128

Prints a markdown table. A first run is embed_kb on an empty cache (the model already loaded; its
load time is a row of its own); a second run is what `kb embed` does when nothing changed:
load the knowledge base from YAML, then embed_kb finding every text in the cache. Nothing is
written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchargs import at_least_one, sizes  # noqa: E402  (tools/ is the script's own folder)

from kb.config import Config  # noqa: E402
from kb.embed import SentenceTransformerEmbedder, embed_kb  # noqa: E402
from kb.store import dump_entry, load_kb  # noqa: E402


def synthetic_kb(folder: Path, size: int, titles: list[str]) -> Path:
    """A knowledge base of ``size`` works whose titles are the real ones, numbered once they repeat."""
    from kb.schema import Entry, Kind

    shutil.copytree(REPO / "entries" / "taxonomies", folder / "entries" / "taxonomies")
    (folder / "entries" / "works").mkdir(parents=True)
    (folder / "entries" / "datasets").mkdir(parents=True)
    (folder / "mkdocs.yml").write_text("site_name: bench\n", encoding="utf-8")
    for k in range(size):
        base = titles[k % len(titles)]
        title = base if k < len(titles) else f"{base} (variant {k // len(titles)})"
        entry = Entry(id=f"synthetic-{k:05d}", title=title, kind=Kind.method)
        (folder / "entries" / "works" / f"{entry.id}.yaml").write_text(dump_entry(entry), encoding="utf-8")
    return folder


def timed(run):  # -> (seconds, result)
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def bench(root: Path, config: Config, embedder: SentenceTransformerEmbedder, label: str) -> list[str]:
    load_s, kb = timed(lambda: load_kb(root))
    n = len(kb.entries)
    first_s, _ = timed(lambda: embed_kb(kb, config, embedder=embedder, progress=False))
    second_s, _ = timed(lambda: embed_kb(load_kb(root), config, embedder=embedder, progress=False))
    # The same second run as a person meets it: a fresh `kb embed` process, imports included.
    env = {**os.environ, "PYTHONPATH": str(REPO), "KB_CACHE_DIR": config.cache_dir, "KB_DEVICE": config.device}
    command = [sys.executable, "-m", "kb", "--root", str(root), "embed"]
    cli_s, proc = timed(lambda: subprocess.run(command, env=env, capture_output=True, text=True, check=True))
    assert " 0 encoded" in proc.stdout, proc.stdout
    return [
        f"| {label} | {n:,} | {first_s:.1f} s | {n / first_s:.0f} | {second_s:.2f} s | {load_s:.2f} s "
        f"| {cli_s:.2f} s |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to encode (default: cpu)")
    parser.add_argument("--sizes", type=sizes, default="5000", help="Synthetic knowledge-base sizes, comma-separated.")
    parser.add_argument(
        "--batch-size", type=at_least_one, default=Config().batch_size, help="texts encoded at once (default: kb's)"
    )
    args = parser.parse_args()
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            parser.error("--device cuda: torch sees no CUDA device here")
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        config = Config(device=args.device, batch_size=args.batch_size, cache_dir=str(Path(tmp) / "cache"))
        embedder = SentenceTransformerEmbedder(config)
        # Loading includes one small encoding: the first call pays for setting up the kernels.
        load_model_s, _ = timed(lambda: embedder.embed(["warm up"]))
        real = load_kb(REPO)
        titles = [e.title for e in real.entries.values()]

        # The real KB with its own cache folder (a copy of its entries, so nothing is written there).
        real_copy = Path(tmp) / "real"
        shutil.copytree(REPO / "entries", real_copy / "entries", ignore=shutil.ignore_patterns("suggestions.json"))
        shutil.copy(REPO / "mkdocs.yml", real_copy / "mkdocs.yml")
        rows = bench(real_copy, config.model_copy(update={"cache_dir": str(Path(tmp) / "c-real")}), embedder, "real KB")
        for size in args.sizes:
            root = synthetic_kb(Path(tmp) / f"syn-{size}", size, titles)
            cache = config.model_copy(update={"cache_dir": str(Path(tmp) / f"c-{size}")})
            rows += bench(root, cache, embedder, "synthetic")

    import torch

    where = torch.cuda.get_device_name(0) if args.device == "cuda" else f"{os.cpu_count()} CPU cores"
    print(
        f"kb embed benchmark: {config.model} on {args.device} ({where}), batch size {args.batch_size}, "
        f"torch {torch.__version__}, Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"model load: {load_model_s:.1f} s\n")
    print(
        "| knowledge base | entries | first run (cold cache) | entries/s "
        "| second run, nothing changed | loading the YAML | second run as a `kb embed` process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

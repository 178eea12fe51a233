"""Benchmark the browser side: the all-entries table and the global graph at 600, 2,000 and 5,000 entries.

Builds the contract fixture site (tests/sitefixture.py) with synthetic copies of real entries, serves it
on 127.0.0.1 and drives Debian's chromium (software WebGL) through Playwright. Prints one table:

    python tools/bench_web.py [--sizes 600,2000,5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchargs import sizes  # noqa: E402  (tools/ is the script's own folder)

from kb.site.browser import launch  # noqa: E402
from kb.site.serve import serving  # noqa: E402
from kb.store import load_kb  # noqa: E402
from tests.sitefixture import build_fixture_site  # noqa: E402


def measure(page, base: str) -> dict[str, float]:
    """Milliseconds for: table first paint, a tag filter, a sort, a text filter; graph ready."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    page.goto(base + "entries/")
    page.wait_for_function("document.querySelector('.kb-count')?.dataset.count > 0")
    out["table load"] = (time.perf_counter() - start) * 1000
    total = page.locator(".kb-count").get_attribute("data-count")

    def timed(action, label: str) -> None:
        before = page.locator(".kb-count").text_content()
        t0 = time.perf_counter()
        action()
        page.wait_for_function("b => document.querySelector('.kb-count').textContent !== b", arg=before)
        out[label] = (time.perf_counter() - t0) * 1000

    tag_select = page.locator('select[aria-label="Add a taxonomy filter"]')
    timed(lambda: tag_select.select_option("codev:data4model"), "tag filter")
    timed(lambda: page.locator('.kb-checks input[value="model"]').check(), "kind filter")
    page.locator("button.kb-sort", has_text="Title").click()
    t0 = time.perf_counter()
    page.locator("button.kb-sort", has_text="Title").click()
    page.wait_for_function("document.querySelector('button.kb-sort').dataset.direction === 'descending'")
    out["sort"] = (time.perf_counter() - t0) * 1000
    out["rows"] = float(total or 0)

    start = time.perf_counter()
    page.goto(base + "graph/")
    page.locator('.kb-global-graph[data-kb-ready="true"]').wait_for(timeout=120_000)
    out["graph load"] = (time.perf_counter() - start) * 1000
    out["nodes"] = float(page.locator(".kb-global-graph").get_attribute("data-kb-nodes") or 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=sizes, default="600,2000,5000", help="table sizes (rows) to measure")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    kb = load_kb(ROOT)
    results = []
    with sync_playwright() as p:
        browser = launch(p)
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                site = build_fixture_site(kb, Path(tmp), count=40, synthetic=max(0, size - 41))
                with serving(site) as url:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    results.append(measure(page, url))
                    page.close()
        browser.close()
    columns = ["rows", "table load", "tag filter", "kind filter", "sort", "nodes", "graph load"]
    print("| " + " | ".join(c + ("" if c in ("rows", "nodes") else " (ms)") for c in columns) + " |")
    print("|" + "---:|" * len(columns))
    for r in results:
        print("| " + " | ".join(f"{r[c]:.0f}" for c in columns) + " |")


if __name__ == "__main__":
    main()

"""How well the site's header search (mkdocs-material's lunr search) finds an entry by its exact title
or by its name.

Serves a built site (site/ unless --site) on 127.0.0.1, drives Debian's chromium through Playwright,
types each sampled entry's exact title (or, with --by name, its name: "LLaVA") into the header search
and records the rank of that entry's page among the results (material lists pages, each with its
sections under it; the rank counts pages, and pages of other entries with the very same title or
name, such as a model and the dataset of its paper, are not counted against it: no search can tell
them apart). The sample is fixed: the entries of assets/data/table.json (with a name, for --by name)
sorted by id, every n-th of them, so that --count (30 by default) are taken. Prints one line per
query, then the share ranked first and the mean rank; an entry whose page is not among the first
--depth results counts as rank depth + 1.

    python tools/search_rank.py [--site site] [--by title|name] [--count 30] [--depth 50] [--ids id1,id2]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchargs import at_least_one  # noqa: E402  (tools/ is the script's own folder)

from kb.site.browser import launch  # noqa: E402
from kb.site.serve import serving  # noqa: E402

# The text material's search shows above its results once a query has been run.
DONE = r"/matching document|No matching/i"


def sample(rows: list[dict[str, object]], count: int) -> list[dict[str, object]]:
    """Every n-th entry by id, ``count`` of them: the same sample for the same entries."""
    ordered = sorted(rows, key=lambda r: str(r["id"]))
    step = max(1, len(ordered) // count)
    return ordered[::step][:count]


def result_ids(page, query: str, want: str, depth: int) -> list[str]:
    """The entry ids of material's result pages for ``query``, in order, until ``want`` or ``depth``
    pages are listed (material renders ten at a time and more as its list is scrolled)."""
    box = page.locator(".md-search__input")
    box.fill("")
    box.press("End")
    page.wait_for_function("document.querySelectorAll('.md-search-result__item').length === 0")
    box.fill(query)
    box.press("End")  # material reads the query on key events; fill alone may go unnoticed
    page.wait_for_function(f"{DONE}.test(document.querySelector('.md-search-result__meta').textContent)")
    ids: list[str] = []
    while True:
        hrefs = page.locator(".md-search-result__item > a").evaluate_all("links => links.map(a => a.href)")
        ids = [re.sub(r"^.*/entries/([^/]+)/.*$", r"\1", h) if "/entries/" in h else h for h in hrefs]
        if want in ids or len(ids) >= depth:
            return ids
        # Scroll the results to their end; stop when no more come. Material adds more when the end comes
        # into view, so leave it first (it reacts to a change, not to being there).
        wrap = page.locator(".md-search__scrollwrap")
        wrap.evaluate("e => e.scrollTo(0, 0)")
        page.wait_for_timeout(50)
        wrap.evaluate("e => e.scrollTo(0, e.scrollHeight)")
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('.md-search-result__item').length > n", arg=len(ids), timeout=2_000
            )
        except Exception:  # noqa: BLE001 - Playwright's timeout: the list is complete
            return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (default: site/)")
    parser.add_argument("--count", type=at_least_one, default=30, help="how many entries to sample (default 30)")
    parser.add_argument("--depth", type=at_least_one, default=50, help="how many result pages to look through")
    parser.add_argument("--ids", default="", help="comma-separated entry ids to measure instead of the sample")
    parser.add_argument("--by", choices=("title", "name"), default="title", help="what is typed (default: title)")
    args = parser.parse_args()
    if not (args.site / "assets" / "data" / "table.json").is_file():
        parser.error(f"no site built by kb at {args.site}; run make site (or kb build) first")
    from playwright.sync_api import sync_playwright

    rows = json.loads((args.site / "assets" / "data" / "table.json").read_text(encoding="utf-8"))
    rows = [r for r in rows if r.get(args.by)]
    titles = {str(r["id"]): str(r[args.by]) for r in rows}
    if args.ids:
        by_id = {r["id"]: r for r in rows}
        chosen = [by_id[i] for i in args.ids.split(",")]
    else:
        chosen = sample(rows, args.count)

    ranks: list[int] = []
    with serving(args.site) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.locator(".md-search__input").click()
        page.wait_for_function(
            "!/Initializing/i.test(document.querySelector('.md-search-result__meta').textContent)",
            timeout=60_000,
        )
        for row in chosen:
            title, want = str(row[args.by]), str(row["id"])
            ids = result_ids(page, title, want, args.depth)
            if want in ids:
                ahead = [i for i in ids[: ids.index(want)] if titles.get(i, "").lower() != title.lower()]
                rank = len(ahead) + 1
            else:
                ahead, rank = ids[:3], args.depth + 1
            ranks.append(rank)
            after = f"  (after {', '.join(ahead[:3])})" if ahead else ""
            print(f"{rank:>3}  {want}: {title}{after}")
        browser.close()
    first = sum(1 for r in ranks if r == 1)
    print(
        f"ranked first: {first}/{len(ranks)} ({100 * first / len(ranks):.0f}%); mean rank {sum(ranks) / len(ranks):.2f}"
    )


if __name__ == "__main__":
    main()

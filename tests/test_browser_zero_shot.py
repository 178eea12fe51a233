"""The all-entries table of a site whose yin taxonomy has too few curated labels to learn from, in
Debian's chromium: a real build (stand-in embedder, mkdocs --strict) of a tiny KB, served on 127.0.0.1.

Its own small site, not test_browser.py's: that one learns in both taxonomies, and builds with the real
model. Any console error, uncaught exception or dialog (alert) fails a test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.site.browser import CHROMIUM, launch
from tests.conftest import REPO
from tests.test_classify import ACQ, TOX
from tests.test_site_render import HOSTILE_TITLES

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def zero_shot_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """codev learns (curated labels of two leaves), yin has none: its scores are zero-shot. Return the
    built site's folder and its table.json rows."""
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing; install Debian's chromium")
    pytest.importorskip("playwright.sync_api")
    import shutil

    from kb.config import load_config
    from kb.site.build import build
    from tests.intel_kb import HashingEmbedder, make_kb

    root = make_kb(
        tmp_path_factory.mktemp("zero-shot-kb"),
        [
            {"id": "jail", "title": "Jailbreak attacks with images", "kind": "method", "tags": {"codev": [TOX]}},
            {"id": "corpus", "title": "A web-scale image-text corpus", "kind": "dataset", "tags": {"codev": [ACQ]}},
            *(
                {"id": f"hostile-{i}", "title": f"Jailbreak attacks with images {t}", "kind": "method"}
                for i, t in enumerate(HOSTILE_TITLES)
            ),
        ],
    )
    for name in ("mkdocs.yml", "kb.yaml"):  # what kb build reads besides the entries, as make_small_kb
        if (REPO / name).is_file():
            shutil.copyfile(REPO / name, root / name)
    for folder in ("docs", "overrides"):
        if (REPO / folder).is_dir():
            shutil.copytree(REPO / folder, root / folder)
    config = load_config(root).model_copy(update={"model": str(root / "no-such-model")})
    embedder = HashingEmbedder(model_id="hashing-384", dim=384)
    build(root, config, embedder=embedder, report=lambda r: None, show=lambda *s: None)
    written = json.loads((root / "entries" / "suggestions.json").read_text(encoding="utf-8"))
    assert written["zero_shot"] == ["yin"]
    site = root / "site"
    return site, json.loads((site / "assets" / "data" / "table.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(zero_shot_site: tuple[Path, list[dict[str, Any]]]) -> Iterator[tuple[Any, str, list[str]]]:
    """A page of chromium, the site's address, and the problems seen (console errors, exceptions, dialogs)."""
    from playwright.sync_api import sync_playwright

    from kb.site.serve import serving

    problems: list[str] = []
    with serving(zero_shot_site[0]) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"exception: {e}"))
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        yield page, url, problems
        browser.close()


def _count(page: Any, url: str) -> int:
    page.goto(url)
    page.wait_for_function("document.querySelector('.kb-count') && document.querySelector('.kb-count').dataset.count")
    return int(page.locator(".kb-count").get_attribute("data-count"))


def test_zero_shot_chips_are_marked_zero_shot_and_no_tag_filter_counts_them(page, zero_shot_site) -> None:
    """table.json had put yin's zero-shot scores among the suggested: the table showed them as suggested
    chips and "suggested tags only" matched them (audit). Now they are zero-shot chips, which say why,
    and no choice of "Which tags count" counts them (the entry pages say "none suggested" of them)."""
    page, url, problems = page
    _, rows = zero_shot_site
    assert _count(page, url + "entries/?src=any&size=500") == len(rows)
    shown = page.evaluate(
        """[...document.querySelectorAll('.kb-table tbody tr')].map(tr => ({
             id: tr.querySelector('.kb-title a').getAttribute('href').replace(/\\/$/, '').split('/').pop(),
             title: tr.querySelector('.kb-title a').textContent,
             zero: [...tr.querySelectorAll('.kb-tag-zero-shot')].map(c => c.title),
             suggested: [...tr.querySelectorAll('.kb-tag-suggested')].map(c => c.title)}))"""
    )
    by_id = {row["id"]: row for row in rows}
    for chips in shown:
        row = by_id[chips["id"]]
        assert chips["title"] == row["title"]  # hostile titles as text
        assert len(chips["zero"]) == len(row["zero_shot"]["yin"]) > 0, chips["id"]
        assert all(
            t.startswith("Yin") and "(zero-shot, not suggested: too few curated labels" in t for t in chips["zero"]
        )
        assert len(chips["suggested"]) == len(row["suggested"]["codev"]) and not any(
            t.startswith("Yin") for t in chips["suggested"]
        )
    assert any(chips["suggested"] for chips in shown), "no learned suggestion: the test would prove less"
    assert "Zero-shot scores" in page.locator('select[aria-label="Which tags count"]').get_attribute("title")

    top = rows[0]["zero_shot"]["yin"][0]["tag"]
    for src in ("suggested", "any"):
        assert _count(page, url + f"entries/?src={src}&tag=yin:{top}") == 0, src
    learned = next(r for r in rows if r["suggested"]["codev"])["suggested"]["codev"][0]["tag"]
    assert _count(page, url + f"entries/?src=suggested&tag=codev:{learned}") > 0
    assert problems == []

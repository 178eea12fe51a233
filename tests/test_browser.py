"""The site in a real browser: Debian's chromium driven by Playwright, serving on 127.0.0.1 the real
site of a small KB built by `kb build` (tests/sitefixture.py make_small_kb, plus an entry with Chinese
and Japanese aliases).

Every page a test visits is watched: a console error, an uncaught exception, a dialog (alert), a
failed local request or any request to a host other than 127.0.0.1 fails the test.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
# SwiftShader gives headless chromium a software WebGL, which sigma needs; the rest keeps chromium quiet
# and off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--use-gl=swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing; install Debian's chromium "
            "(apt-get install chromium) or point KB_CHROMIUM at a chromium binary"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "BROWSER TESTS SKIPPED: the playwright Python package is not installed (pip install playwright)"
    return None


CJK_ID = "cjk-aliases"
CJK_ENTRY = {
    "id": CJK_ID,
    "title": "Multilingual Visual Instruction Following",
    "kind": "model",
    "aliases": ["视觉指令微调模型", "視覚言語モデル"],
    "authors": ["Mei Ling Zhang"],
    "date": "2024-06-01",
}


@pytest.fixture(scope="module")
def site_port() -> int:
    """The port the site will be served on, known before it is built: material's instant navigation
    works only when site_url names where the site is served (it reads the sitemap's addresses)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory, site_port: int) -> tuple[Path, list[dict[str, object]]]:
    """The real site of a small KB, built once for this module by `kb build` (the real model, mkdocs
    --strict, site_url set as a deployed site has it); return its folder and the rows of its table.json."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import shutil

    from kb.schema import Entry
    from kb.store import load_kb, write_entry
    from tests.conftest import REPO, run_kb
    from tests.sitefixture import make_small_kb

    root = tmp_path_factory.mktemp("small-kb")
    make_small_kb(load_kb(REPO), root)
    write_entry(root, Entry.model_validate(CJK_ENTRY))
    if (REPO / ".kb-cache").is_dir():
        shutil.copytree(REPO / ".kb-cache", root / ".kb-cache")
    run = run_kb("--root", str(root), "build", env={"KB_SITE_URL": f"http://127.0.0.1:{site_port}/"})
    assert run.code == 0, run.err
    site = root / "site"
    rows = json.loads((site / "assets" / "data" / "table.json").read_text(encoding="utf-8"))
    return site, rows


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def _serve(site: Path, port: int = 0) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (on ``port``, or any free one) from a thread; yield its base url."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def base_url(built_site: tuple[Path, list[dict[str, object]]], site_port: int) -> Iterator[str]:
    with _serve(built_site[0], site_port) as url:
        yield url


@pytest.fixture(scope="module")
def instant_base_url(base_url: str) -> str:
    """The real site turns on mkdocs-material's instant navigation (pages swapped in by XHR)."""
    return base_url


@pytest.fixture(scope="module")
def browser(built_site: object) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@dataclass
class Watch:
    """What went wrong on the pages of one test."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"uncaught exception: {m}" for m in self.page_errors]
            + [f"dialog opened: {m}" for m in self.dialogs]
            + [f"request left 127.0.0.1: {u}" for u in self.outside]
            + [f"request failed: {u}" for u in self.failed]
        )


@pytest.fixture
def watched(browser, base_url: str) -> Iterator[tuple[object, Watch]]:
    """A fresh page whose errors, dialogs and requests are recorded; any of them fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    watch = Watch()

    def route(route, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or parts.hostname == "127.0.0.1":
            watch.requested.append(request.url)
            route.continue_()
        else:
            watch.outside.append(request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: watch.console_errors.append(f"{m.text} ({m.location})") if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.page_errors.append(str(e)))

    def on_dialog(dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("response", lambda r: watch.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    yield page, watch
    context.close()
    assert watch.problems() == []


def _entry_row(rows: list[dict[str, object]], entry_id: str) -> dict[str, object]:
    return next(r for r in rows if r["id"] == entry_id)


def test_search_finds_an_entry_by_its_title(watched, base_url, built_site) -> None:
    page, _ = watched
    _, rows = built_site
    row = next(r for r in rows if r["kind"] == "model" and len(str(r["title"])) > 20)
    page.goto(base_url)
    _material_search(page, str(row["title"]))
    hit = page.locator(".md-search-result__item a", has_text=str(row["title"])).first
    hit.wait_for(timeout=15_000)
    # search.highlight adds ?h=<words> to the link
    assert urlsplit(hit.get_attribute("href")).path.rstrip("/").endswith(f"entries/{row['id']}")


def _search_hits(page, query: str) -> list[str]:
    """The entry pages material's search lists for ``query`` (hrefs ending in entries/<id>/)."""
    _material_search(page, query)
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    hrefs = page.locator(".md-search-result__item > a").evaluate_all("links => links.map(a => a.href)")
    return [re.sub(r"^.*/entries/([^/]+)/.*$", r"\1", h) for h in hrefs if "/entries/" in h]


def test_search_finds_an_entry_by_arxiv_id_author_and_tag(watched, base_url, built_site) -> None:
    page, _ = watched
    _, rows = built_site
    with_arxiv = next(r for r in rows if r["arxiv"])
    page.goto(base_url)
    assert with_arxiv["id"] in _search_hits(page, str(with_arxiv["arxiv"]))
    page.goto(base_url)
    assert CJK_ID in _search_hits(page, "Mei Ling Zhang")
    # The rarest curated Yin et al. tag: its entries must all be among the first hits for its name.
    site, _ = built_site
    names = {
        n["id"]: n["name"]
        for n in json.loads((site / "assets" / "data" / "taxonomy.json").read_text(encoding="utf-8"))["taxonomy"]
        if n["taxonomy"] == "yin"
    }
    counts = Counter(tag for r in rows for tag in r["curated"]["yin"])
    tag = min(counts, key=lambda t: (counts[t], t))
    page.goto(base_url)
    hits = _search_hits(page, names[tag])
    assert {r["id"] for r in rows if tag in r["curated"]["yin"]} <= set(hits)


@pytest.mark.parametrize("query", ["微调", "视觉", "言語"])
def test_search_finds_chinese_and_japanese_words(watched, base_url, query: str) -> None:
    page, _ = watched
    page.goto(base_url)
    assert CJK_ID in _search_hits(page, query)


def test_graph_page_draws_and_a_click_opens_the_entry(watched, base_url, built_site) -> None:
    page, _ = watched
    site, rows = built_site
    graph = json.loads((site / "assets" / "data" / "graph.json").read_text(encoding="utf-8"))
    page.goto(base_url + "graph/")
    container = page.locator('#kb-graph[data-kb-ready="true"]')
    container.wait_for(timeout=20_000)
    assert container.get_attribute("data-kb-nodes") == str(len(graph["nodes"]))
    assert container.get_attribute("data-kb-edges") == str(len(graph["edges"]))
    assert page.locator("#kb-graph canvas").count() >= 2  # sigma's WebGL layers plus its label canvas
    assert _inked_fraction(page, page.locator("#kb-graph .kb-graph-stage")) > 0.01

    # Search a node by its label (an entry's short name, else its title); the graph centres on it.
    row = next(r for r in rows if r["kind"] == "model")
    label = next(n["attributes"]["label"] for n in graph["nodes"] if n["key"] == row["id"])
    search = page.locator(".kb-graph-search")
    search.fill(label[:25])
    page.locator(".kb-graph-hit", has_text=label).first.click()
    page.locator(".kb-graph-info", has_text=label).wait_for()
    page.wait_for_timeout(600)  # the camera's 400 ms animation

    # A click on the node opens its page.
    x, y = page.evaluate(
        """key => {
            const sigma = document.querySelector('#kb-graph').kbSigma;
            const p = sigma.framedGraphToViewport(sigma.getNodeDisplayData(key));
            const box = sigma.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        row["id"],
    )
    page.mouse.move(x, y)
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert page.url.rstrip("/").endswith(f"entries/{row['id']}")
    page.locator('.kb-mini-graph[data-kb-ready="true"]').wait_for(timeout=20_000)


def _inked_fraction(page, locator) -> float:
    """Share of the element's screenshot pixels that differ from its top-left pixel, measured in-page."""
    import base64

    png = base64.b64encode(locator.screenshot()).decode("ascii")
    return page.evaluate(
        """async data => {
            const image = new Image();
            image.src = 'data:image/png;base64,' + data;
            await image.decode();
            const canvas = document.createElement('canvas');
            canvas.width = image.width; canvas.height = image.height;
            const ctx = canvas.getContext('2d');
            ctx.drawImage(image, 0, 0);
            const px = ctx.getImageData(0, 0, image.width, image.height).data;
            let inked = 0;
            for (let i = 0; i < px.length; i += 4) {
                if (Math.abs(px[i] - px[0]) + Math.abs(px[i + 1] - px[1]) + Math.abs(px[i + 2] - px[2]) > 30) inked++;
            }
            return inked / (px.length / 4);
        }""",
        png,
    )


def _material_search(page, text: str) -> None:
    """Type into mkdocs-material's search box once its worker has loaded the index."""
    box = page.locator(".md-search__input")
    box.click()
    page.wait_for_function("!/Initializing/i.test(document.querySelector('.md-search-result__meta').textContent)")
    box.fill(text)
    box.press("End")  # material reads the query on key events; fill alone may go unnoticed


def _expected(rows, tag: str, kind: str) -> int:
    tax, node = tag.split(":", 1)
    return sum(1 for r in rows if r["kind"] == kind and node in r["curated"].get(tax, []))


def test_table_filters_and_the_url_restores_the_view(watched, base_url, built_site) -> None:
    page, _ = watched
    _, rows = built_site
    page.goto(base_url + "entries/")
    count = page.locator(".kb-count")
    count.wait_for()
    assert count.get_attribute("data-count") == str(len(rows))
    assert page.locator(".kb-table tbody tr").count() == min(len(rows), 100)

    tag, kind = "codev:data4model", "model"
    want = _expected(rows, tag, kind)
    assert 0 < want < len(rows), "the fixture should make this filter bite"
    page.locator('select[aria-label="Add a taxonomy filter"]').select_option(tag)
    page.locator(f'.kb-checks input[value="{kind}"]').check()
    page.wait_for_function(f"document.querySelector('.kb-count').dataset.count === '{want}'")
    assert page.locator(".kb-table tbody tr").count() == want
    query = parse_qs(urlsplit(page.url).query)
    assert query["tag"] == [tag] and query["kind"] == [kind]

    # Sort by title, then reload: the filters, the sort and the rows come back from the URL.
    page.locator("button.kb-sort", has_text="Title").click()
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["title"]
    titles = page.locator(".kb-table tbody td.kb-title").all_text_contents()
    assert titles == sorted(titles, key=str.lower)
    page.reload()
    page.wait_for_function(f"document.querySelector('.kb-count')?.dataset.count === '{want}'")
    assert page.locator(".kb-table tbody td.kb-title").all_text_contents() == titles
    assert page.locator(f'.kb-checks input[value="{kind}"]').is_checked()
    assert page.locator(".kb-chip").count() == 1

    # OR with a second node widens the match; curated-or-suggested widens it again.
    second = "yin:evaluation"
    page.locator('select[aria-label="Add a taxonomy filter"]').select_option(second)
    page.locator(".kb-op input[value=or]").check()
    page.locator(f'.kb-checks input[value="{kind}"]').uncheck()
    either = sum(1 for r in rows if "data4model" in r["curated"]["codev"] or "evaluation" in r["curated"]["yin"])
    page.wait_for_function(f"document.querySelector('.kb-count').dataset.count === '{either}'")
    assert parse_qs(urlsplit(page.url).query)["op"] == ["or"]


def test_the_keyboard_browses_the_taxonomy_list_and_enter_adds_one_node(watched, base_url) -> None:
    """Arrow keys pass over nodes without adding them (a closed select changes value on each);
    Enter adds the one shown; the filters show where the keyboard is."""
    page, _ = watched
    page.goto(base_url + "entries/")
    page.locator(".kb-count").wait_for()
    select = page.locator('select[aria-label="Add a taxonomy filter"]')
    select.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator(".kb-chip").count() == 0 and "tag=" not in page.url
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelectorAll('.kb-chip').length === 1")
    assert parse_qs(urlsplit(page.url).query)["tag"] == ["codev:data4model/scaling"]
    text = page.locator('input[aria-label="Text filter"]')
    text.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focused by the keyboard: :focus-visible applies
    assert text.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    # Years the wrong way round say so, not only "no entry".
    page.goto(base_url + "entries/?from=2025&to=2023")
    page.wait_for_function("document.querySelector('.kb-count')?.dataset.count === '0'")
    assert page.locator(".kb-empty").text_content() == "No entry matches: the years run backwards (from 2025 to 2023)."


def test_the_graph_takes_the_colours_of_the_scheme_the_reader_switches_to(watched, base_url) -> None:
    page, _ = watched
    page.goto(base_url + "graph/")
    page.locator('#kb-graph[data-kb-ready="true"]').wait_for(timeout=20_000)
    label = "() => document.querySelector('#kb-graph').kbSigma.getSetting('labelColor').color"
    page_fg = "() => getComputedStyle(document.body).getPropertyValue('--md-default-fg-color').trim()"
    light = page.evaluate(label)
    assert light == page.evaluate(page_fg)
    page.locator('label[for="__palette_1"]').first.click()  # to the dark scheme
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'")
    page.wait_for_function(f"({label})() !== {light!r}")
    assert page.evaluate(label) == page.evaluate(page_fg)  # light labels on the dark page


def test_a_hostile_title_is_inert(watched, base_url, built_site) -> None:
    from tests.sitefixture import HOSTILE_ID, HOSTILE_TITLE

    page, watch = watched
    # Its own page: the heading shows the markup as text.
    page.goto(base_url + f"entries/{HOSTILE_ID}/")
    assert page.locator("article h1").first.text_content().strip() == HOSTILE_TITLE
    page.locator('.kb-mini-graph[data-kb-ready="true"]').wait_for(timeout=20_000)
    _assert_no_injected_image(page)

    # The table, filtered down to it by text.
    page.goto(base_url + "entries/?text=onerror")
    page.wait_for_function("document.querySelector('.kb-count')?.dataset.count === '1'")
    assert not page.locator("#__search").is_checked()  # material's search stays shut: the table shows
    assert page.locator(".kb-table td.kb-title").text_content() == HOSTILE_TITLE
    assert page.locator(".kb-table td", has_text="<script>alert(2)</script>").count() == 1
    _assert_no_injected_image(page)

    # The graph's search box lists it as text.
    page.goto(base_url + "graph/")
    page.locator('#kb-graph[data-kb-ready="true"]').wait_for(timeout=20_000)
    page.locator(".kb-graph-search").fill("onerror")
    assert page.locator(".kb-graph-hit").first.text_content() == HOSTILE_TITLE

    # mkdocs-material's search results show it as text too.
    _material_search(page, "onerror")
    page.locator(".md-search-result__item", has_text=HOSTILE_TITLE).first.wait_for(timeout=15_000)

    _assert_no_injected_image(page)
    assert watch.dialogs == []
    assert not [u for u in watch.requested if re.search(r"/x$", urlsplit(u).path)]


def _assert_no_injected_image(page) -> None:
    page.wait_for_timeout(300)  # give an injected onerror handler time to fire, if there were one
    assert page.locator('img[src="x"], script:text("alert(2)")').count() == 0


def test_pages_mount_under_instant_navigation(watched, instant_base_url) -> None:
    """With navigation.instant, kb.js runs once; every page swapped in still gets its table or graph."""
    page, _ = watched
    page.goto(instant_base_url)
    page.evaluate("window.kbTestMarker = 'still here'")  # a full page load would wipe it
    page.get_by_role("link", name="All entries").first.click()
    page.wait_for_function("document.querySelector('.kb-count')?.dataset.count > 0")
    page.locator('.kb-checks input[value="model"]').check()
    page.wait_for_function("new URLSearchParams(location.search).get('kind') === 'model'")
    filtered = page.locator(".kb-count").get_attribute("data-count")
    page.get_by_role("link", name="Graph").first.click()
    page.locator('#kb-graph[data-kb-ready="true"]').wait_for(timeout=20_000)
    assert page.evaluate("typeof window.document$") == "object"  # material's page stream was there to use
    # Both pages were swapped in, not loaded: kb.js ran once and mounted each through the stream.
    assert page.evaluate("window.kbTestMarker") == "still here"
    page.go_back()
    page.wait_for_function(f"document.querySelector('.kb-count')?.dataset.count === '{filtered}'")
    assert page.locator('.kb-checks input[value="model"]').is_checked()
    page.go_forward()
    page.locator('#kb-graph[data-kb-ready="true"]').wait_for(timeout=20_000)
    assert page.evaluate("window.kbTestMarker") == "still here"

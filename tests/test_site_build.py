"""A real `kb build` of a small KB (the real offline model, real mkdocs build --strict), then the
built site read back: every page there, nothing injected, nothing loaded from another host, and a
failed build that leaves the last good site in place."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, run_kb

pytestmark = pytest.mark.slow

STAGES = ["check", "embed", "suggest", "graph", "render", "mkdocs"]


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """A small KB built with `kb build`; returns its root, its entry ids and the build's stderr."""
    from kb.store import load_kb
    from tests.sitefixture import make_small_kb

    root = tmp_path_factory.mktemp("small-kb")
    ids = make_small_kb(load_kb(REPO), root)
    if (REPO / ".kb-cache").is_dir():
        shutil.copytree(REPO / ".kb-cache", root / ".kb-cache")  # only the new entries are encoded
    run = run_kb("--root", str(root), "build")
    assert run.code == 0, run.err
    return root, ids, run.err


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.title = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in ("script", "title") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "title":
            self.title += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_build_prints_one_line_per_stage(small_site) -> None:
    _, ids, err = small_site
    lines = [line for line in err.splitlines() if not line.startswith("kb: ")]
    assert [line.split()[0] for line in lines] == STAGES
    assert lines[0].startswith(f"check    checked {len(ids)} entries: no problems (")
    assert all(line.endswith(" s)") for line in lines)
    assert "skipped" in lines[2] or "suggestions" in lines[2]


def test_every_page_and_data_file_is_in_the_site(small_site) -> None:
    root, ids, _ = small_site
    site = root / "site"
    for entry_id in ids:
        assert (site / "entries" / entry_id / "index.html").is_file()
        nbhd = json.loads((site / "assets" / "data" / "nbhd" / f"{entry_id}.json").read_text(encoding="utf-8"))
        assert entry_id in {n["key"] for n in nbhd["nodes"]}
    for page in (
        "entries",
        "taxonomy",
        "graph",
        "timeline",
        "datasets",
        "contributing",
        "pipeline",
        "reference/schema",
        "reference/cli",
        "reference/config",
        "reference/taxonomies",
        "taxonomy/codev/data4model/scaling/up",
    ):
        assert (site / page / "index.html").is_file(), page
    assert (site / "feed.xml").read_text(encoding="utf-8").startswith("<?xml")
    rows = json.loads((site / "assets" / "data" / "table.json").read_text(encoding="utf-8"))
    assert sorted(r["id"] for r in rows) == sorted(ids)
    graph = json.loads((site / "assets" / "data" / "graph.json").read_text(encoding="utf-8"))
    assert any(e["attributes"]["type"] == "similar" for e in graph["edges"])  # the real model's neighbours
    assert all("x" in n["attributes"] for n in graph["nodes"])
    search = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    assert search["config"]["lang"] == ["en", "zh", "ja"] and "\\u200b" in search["config"]["separator"]
    assert not list(site.rglob("*.md"))


def test_no_page_runs_entry_text_or_loads_from_another_host(small_site) -> None:
    from tests.sitefixture import HOSTILE_ID, HOSTILE_TITLE

    root, _, _ = small_site
    pages = list((root / "site").rglob("*.html"))
    assert len(pages) > 60
    for path in pages:
        page = _parse(path)
        for tag, attrs in page.tags:
            assert not [a for a in attrs if a.startswith("on")], (path, tag, attrs)
            assert not (tag == "img" and attrs.get("src") == "x"), path
            for name in ("src", "href"):
                url = attrs.get(name) or ""
                if tag in ("script", "link", "img", "iframe") and url:
                    assert urlsplit(url).netloc == "", (path, tag, url)  # offline: nothing from another host
                assert not url.strip().lower().startswith("javascript"), (path, url)
        assert not [s for s in page.scripts if "alert(" in s], path
    feeds = [a for t, a in _parse(root / "site" / "index.html").tags if a.get("type") == "application/atom+xml"]
    assert [a["href"] for a in feeds] == ["feed.xml"]
    hostile = _parse(root / "site" / "entries" / HOSTILE_ID / "index.html")
    assert hostile.title.startswith(f"{HOSTILE_TITLE} - ")


def test_kb_serve_serves_the_built_site_on_localhost(small_site) -> None:
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    root, _, _ = small_site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "kb", "--root", str(root), "serve", "--no-build", "--port", str(port)]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == f"serving http://127.0.0.1:{port}/ (Ctrl-C stops)\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/entries/") as response:
            assert b'id="kb-table"' in response.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_a_failed_build_keeps_the_last_good_site(small_site) -> None:
    root, _, _ = small_site
    # The very same folder, untouched: a swap would put another folder (another inode) in its place.
    before = ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns)
    bad = root / "entries" / "works" / "broken.yaml"
    bad.write_text("id: broken\ntitle: Broken\nkind: model\ncolour: red\n", encoding="utf-8")
    try:
        run = run_kb("--root", str(root), "build")
    finally:
        bad.unlink()
    assert run.code == 1
    assert "entries/works/broken.yaml:4:1: colour: unknown field" in run.err
    assert ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns) == before
    assert not [p for p in (root / ".kb-build").iterdir() if p.name.startswith("site-")]


def test_a_mkdocs_warning_fails_the_build_and_keeps_the_site(small_site) -> None:
    root, _, _ = small_site
    # The very same folder, untouched: a swap would put another folder (another inode) in its place.
    before = ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns)
    page = root / "docs" / "pipeline.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text + "\nSee [the missing page](missing.md).\n", encoding="utf-8")
    try:
        run = run_kb("--root", str(root), "build")
    finally:
        page.write_text(text, encoding="utf-8")
    assert run.code == 1
    assert "kb: mkdocs build --strict failed (Aborted with 1 warnings in strict mode!):" in run.err
    assert "'missing.md'" in run.err
    assert ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns) == before
    assert not [p for p in (root / ".kb-build").iterdir() if p.name.startswith("site-")]


def test_kb_graph_writes_graphml_and_node_link(small_site, tmp_path: Path) -> None:
    import networkx as nx

    root, ids, _ = small_site
    run = run_kb("--root", str(root), "graph", "--format", "graphml", "-o", str(tmp_path / "kb.graphml"))
    assert run.code == 0, run.err
    graph = nx.read_graphml(tmp_path / "kb.graphml")
    assert set(ids) <= set(graph.nodes)
    run = run_kb("--root", str(root), "graph", "--no-similar", "-o", str(tmp_path / "kb.json"))
    assert run.code == 0, run.err
    data = json.loads((tmp_path / "kb.json").read_text(encoding="utf-8"))
    assert not [e for e in data["links"] if e["type"] == "similar"]
    assert run.err.startswith(f"wrote {tmp_path / 'kb.json'}: ")


def test_the_suggest_stage_runs_kb_classify_and_pages_show_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a kb.classify module, `build` calls its update_suggestions and suggestion_evidence, and the
    pages show what they gave."""
    import importlib.machinery
    import sys
    import types

    from kb.config import load_config
    from kb.site.build import build
    from kb.store import load_kb
    from tests.intel_kb import HashingEmbedder
    from tests.sitefixture import make_small_kb

    ids = make_small_kb(load_kb(REPO), tmp_path, count=8)
    target = next(i for i in ids if i != "hostile-entry")
    calls: list[tuple[int, int, object]] = []
    embedder = HashingEmbedder(dim=384)

    def update_suggestions(kb, config, vectors, *, embedder) -> None:  # noqa: ANN001 - the contract kb build calls
        calls.append((len(kb.entries), len(vectors), embedder))
        suggestion = {"codev": [{"tag": "model4data/synthesis/creator", "score": 0.77}], "yin": []}
        (kb.root / "entries" / "suggestions.json").write_text(
            json.dumps({"model": "hashing-384", "recipe": 1, "entries": {target: suggestion}}), encoding="utf-8"
        )

    def suggestion_evidence(kb, config, vectors, *, embedder) -> dict:  # noqa: ANN001 - as kb build calls it
        calls.append((len(kb.suggestions), len(vectors), embedder))
        return {target: {"codev": {"model4data/synthesis/creator": Evidence(["synthetic"], [(other, 0.5)])}}}

    from kb.classify.model import Evidence

    other = next(i for i in ids if i not in (target, "hostile-entry"))
    module = types.ModuleType("kb.classify")
    module.__spec__ = importlib.machinery.ModuleSpec("kb.classify", None)
    module.update_suggestions = update_suggestions  # type: ignore[attr-defined]
    module.suggestion_evidence = suggestion_evidence  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kb.classify", module)
    lines: list[str] = []
    config = load_config(tmp_path)
    build(tmp_path, config, embedder=embedder, report=lambda r: lines.append(str(r)))
    # Both learn with the build's own embedder (one classifier, shared), not the configured model.
    assert calls == [(len(ids), len(ids), embedder), (1, len(ids), embedder)]
    assert lines[2].startswith("suggest  1 entry with suggestions, and why (")
    page = (tmp_path / "site" / "entries" / target / "index.html").read_text(encoding="utf-8")
    why = '<span class="kb-why">— words: synthetic; like: <a href="../' + other  # the Markdown link made a link
    assert '<span class="kb-suggested kb-score">0.77</span> ' + why in page

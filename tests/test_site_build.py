"""A real `kb build` of a small KB (the real offline model, real mkdocs build --strict), then the
built site read back: every page there, nothing injected, nothing loaded from another host, and a
failed build that leaves the last good site in place."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, Run, run_kb

pytestmark = pytest.mark.slow

STAGES = ["check", "embed", "suggest", "graph", "cluster", "render", "mkdocs"]


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
    assert re.match(r"suggest  [1-9]\d* entr(y|ies) with suggestions, and why \(", lines[2]), lines[2]


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
    assert search["config"]["lang"] == ["en", "zh", "ja", "ar"] and "\\u200b" in search["config"]["separator"]
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


def test_search_results_call_an_entry_page_what_its_tab_does(small_site) -> None:
    """material's search titles a page's result with its first h1, and an entry page's h1 is the paper's
    title, which a model and the dataset of its paper share: both were listed as "Visual Instruction
    Tuning". Each result now reads as its page's <title> does ("LLaVA: Visual Instruction Tuning (model)",
    "LLaVA-Instruct-150K: Visual Instruction Tuning (dataset)"), no two alike, entry text escaped."""
    from collections import Counter

    from kb.store import load_kb
    from tests.sitefixture import HOSTILE_ID, HOSTILE_TITLE

    root, ids, _ = small_site
    site = root / "site"
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    titles = {doc["location"]: doc["title"] for doc in index["docs"]}
    entries = load_kb(root).entries
    papers = Counter(entries[i].title for i in ids)
    assert max(papers.values()) > 1  # entries of one paper are in the test site
    shown = {}
    for entry_id in ids:
        title = titles[f"entries/{entry_id}/"]
        assert "<" not in title, title  # HTML-escaped, and no markup of material's either
        shown[entry_id] = html.unescape(title)
        tab = _parse(site / "entries" / entry_id / "index.html").title
        assert tab.rsplit(" - ", 1)[0] == shown[entry_id]
    assert len(set(shown.values())) == len(shown), Counter(shown.values()).most_common(3)
    assert shown[HOSTILE_ID] == HOSTILE_TITLE


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
            assert b'class="kb-all-entries"' in response.read()
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


def _build_with_a_broken_link(root: Path) -> Run:
    """kb build with a link to a missing page in docs/pipeline.md (a warning, so --strict fails)."""
    page = root / "docs" / "pipeline.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(text + "\nSee [the missing page](missing.md).\n", encoding="utf-8")
    try:
        return run_kb("--root", str(root), "build")
    finally:
        page.write_text(text, encoding="utf-8")


def test_a_mkdocs_warning_fails_the_build_and_keeps_the_site(small_site) -> None:
    root, _, _ = small_site
    # The very same folder, untouched: a swap would put another folder (another inode) in its place.
    before = ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns)
    run = _build_with_a_broken_link(root)
    assert run.code == 1
    assert "kb: mkdocs build --strict failed (Aborted with 1 warnings in strict mode!):" in run.err
    assert "'missing.md'" in run.err
    assert ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns) == before
    assert not [p for p in (root / ".kb-build").iterdir() if p.name.startswith("site-")]


def test_a_build_killed_between_the_swaps_renames_leaves_the_site_for_the_next(small_site) -> None:
    """Killed after the old site was renamed aside and before the new one took its name, a build
    had left no site/; the next build swept both folders and, failing, left no site at all."""
    root, _, _ = small_site
    before = (root / "site" / "index.html").stat().st_ino
    os.replace(root / "site", root / ".site-building-x1-old")  # as the first rename left it
    (root / ".site-building-x1").mkdir()  # the new site, never swapped in
    run = _build_with_a_broken_link(root)
    assert run.code == 1 and "'missing.md'" in run.err
    assert (root / "site" / "index.html").stat().st_ino == before  # the last good site, back in place
    assert not list(root.glob(".site-building-*"))


def test_a_build_folder_that_cannot_be_written_is_named_and_keeps_the_site(small_site) -> None:
    """A file of docs/ where the generated pages need a folder: the error names the path in the
    build folder (it named a bare page, "timeline.md", on a read-only disk)."""
    root, _, _ = small_site
    before = ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns)
    (root / "docs" / "taxonomy").write_text("a file where the taxonomy pages go\n", encoding="utf-8")
    try:
        run = run_kb("--root", str(root), "build")
    finally:
        (root / "docs" / "taxonomy").unlink()
    assert (run.code, run.err.splitlines()[-1]) == (
        1,
        "kb: cannot write the build folder: .kb-build/docs/taxonomy: File exists",
    )
    assert ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns) == before


def test_a_page_not_in_utf8_is_named_with_its_line_and_keeps_the_site(small_site) -> None:
    """mkdocs' own error ("'utf-8' codec can't decode byte 0xe9") names no file."""
    root, _, _ = small_site
    before = ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns)
    page = root / "docs" / "notes" / "latin1.md"
    page.parent.mkdir()
    page.write_bytes("# Notes\n\nCaf\u00e9\n".encode("latin-1"))
    try:
        run = run_kb("--root", str(root), "build")
    finally:
        shutil.rmtree(page.parent)
    assert (run.code, run.err.splitlines()[-1]) == (
        1,
        "kb: docs/notes/latin1.md:3: not UTF-8 (byte 0xe9); save the page as UTF-8",
    )
    assert ((root / "site").stat().st_ino, (root / "site" / "index.html").stat().st_mtime_ns) == before


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
    assert not [e for e in data["edges"] if e["type"] == "similar"]
    assert run.err.startswith(f"wrote {tmp_path / 'kb.json'}: ")


def test_the_suggest_stage_suggests_with_the_builds_embedder_and_pages_show_why(tmp_path: Path) -> None:
    """The real classifier, trained on the small KB's curated tags, suggests for every entry
    without them, with the build's embedder alone (no model is configured that could load), and
    each entry page shows its suggestions and what they rest on."""
    from kb.config import load_config
    from kb.site.build import build
    from kb.store import load_kb
    from tests.intel_kb import HashingEmbedder
    from tests.sitefixture import make_small_kb

    ids = make_small_kb(load_kb(REPO), tmp_path, count=24)
    embedder = HashingEmbedder(model_id="hashing-384", dim=384)
    # Were any stage to load the configured model rather than use the build's embedder, it would fail.
    config = load_config(tmp_path).model_copy(update={"model": str(tmp_path / "no-such-model")})
    lines: list[str] = []
    shown: list[tuple[str, object]] = []
    build(tmp_path, config, embedder=embedder, report=lambda r: lines.append(str(r)), show=lambda *s: shown.append(s))

    written = json.loads((tmp_path / "entries" / "suggestions.json").read_text(encoding="utf-8"))
    assert written["model"] == "hashing-384"
    kb = load_kb(tmp_path)
    untagged = [i for i in ids if not kb.entries[i].tags.codev]
    assert untagged and set(untagged) <= set(written["entries"])  # every entry without codev tags has some
    # ... and never for a taxonomy the entry is tagged in.
    assert all(not kb.entries[i].tags.codev or not written["entries"][i]["codev"] for i in written["entries"])
    n = len(written["entries"])
    assert re.match(rf"suggest  {n} entr(y|ies) with suggestions, and why \(", lines[2]), lines[2]
    # While a stage runs it says what it is doing (the status line of a terminal), but embed, whose
    # encoding has a bar of its own; mkdocs counts its pages.
    assert [text.split()[0] for text, _ in shown] == [
        "check",
        "suggest",
        "suggest",
        "suggest",
        "graph",
        "cluster",
        "render",
        "mkdocs",
    ]
    assert shown[1][0] == "suggest  embedding the titles, taxonomy nodes and keywords"
    assert shown[3][0] == f"suggest  finding why for the suggestions of {n} entries"
    pages = len(list((tmp_path / ".kb-build" / "docs").rglob("*.md")))
    assert shown[-1][1]() == f"{pages} pages written; the search index and link checks"
    page = (tmp_path / "site" / "entries" / untagged[0] / "index.html").read_text(encoding="utf-8")
    assert '<span class="kb-suggested kb-score">' in page
    # The evidence under a suggested tag links the curated entries it rests on.
    assert re.search(r'<span class="kb-why">— (words: [^<;]+; )?like: <a href="\.\./[a-z0-9-]+/', page), page


def test_a_build_without_labels_to_learn_from_shows_zero_shot_scores_never_as_suggested(tmp_path: Path) -> None:
    """A real build of a KB with no curated codev or yin tags: the suggest stage falls back to zero-shot
    scores, and the built pages say so and mark none as suggested (they had, as if learned; audit)."""
    from kb.config import load_config
    from kb.site.build import build
    from kb.store import load_kb, write_entry
    from tests.intel_kb import HashingEmbedder
    from tests.sitefixture import make_small_kb

    ids = make_small_kb(load_kb(REPO), tmp_path, count=6)
    for entry in load_kb(tmp_path).entries.values():  # every curated topic tag, and what set it, gone
        kept = [p for p in entry.provenance if not any(f.startswith(("tags.codev", "tags.yin")) for f in p.fields)]
        tags = entry.tags.model_copy(update={"codev": [], "yin": []})
        write_entry(tmp_path, entry.model_copy(update={"tags": tags, "provenance": kept}), overwrite=True)
    config = load_config(tmp_path).model_copy(update={"model": str(tmp_path / "no-such-model")})
    embedder = HashingEmbedder(model_id="hashing-384", dim=384)
    build(tmp_path, config, embedder=embedder, report=lambda r: None, show=lambda *s: None)

    written = json.loads((tmp_path / "entries" / "suggestions.json").read_text(encoding="utf-8"))
    assert written["zero_shot"] == ["codev", "yin"] and set(written["entries"]) == set(ids)
    site = tmp_path / "site"
    for entry_id in ids:
        page = (site / "entries" / entry_id / "index.html").read_text(encoding="utf-8")
        assert 'class="kb-zero-shot kb-score"' in page and "kb-suggested" not in page, entry_id
        assert "Zero-shot, none suggested: " in page and "Suggested by the classifier" not in page
    nodes = [p.read_text(encoding="utf-8") for p in (site / "taxonomy").glob("*/**/index.html")]
    assert any('id="zero-shot-matches"' in node for node in nodes)
    assert not any('id="suggested-entries"' in node for node in nodes)


def test_serve_answers_a_missing_page_with_the_sites_404_page(small_site) -> None:
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    root, _, _ = small_site
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-m", "kb", "--root", str(root), "serve", "--no-build", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            url = re.match(r"serving (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)", line)
            assert url, line
            with urllib.request.urlopen(url[1]) as page:
                assert page.status == 200
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(url[1] + "no/such/page/")
            assert missing.value.code == 404
            assert missing.value.read() == (root / "site" / "404.html").read_bytes()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_serve_no_build_serves_a_site_it_did_not_build_but_never_the_kb_itself(tmp_path: Path) -> None:
    """--no-build only reads the folder: a hand-made site is served (kb build's refusal to replace a
    folder it did not build was applied to it), the knowledge base's own folder is not (.git)."""
    import os
    import subprocess
    import sys
    import urllib.request

    (tmp_path / "mkdocs.yml").write_text("site_name: by hand\n", encoding="utf-8")
    (tmp_path / "entries").mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("made by hand", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "kb", "--root", str(tmp_path), "serve", "--no-build", "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            assert proc.stderr is not None
            url = re.match(r"serving (http://127\.0\.0\.1:\d+/) ", proc.stderr.readline())
            assert url
            with urllib.request.urlopen(url[1]) as page:
                assert page.read() == b"made by hand"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    refused = run_kb("--root", str(tmp_path), "serve", "--no-build", "--port", "0", env={"KB_SITE_DIR": "."})
    assert (refused.code, refused.err) == (
        1,
        "kb: site_dir '.' is the knowledge base's folder or one above it; kb serve serves the site folder: "
        "set KB_SITE_DIR to a folder of its own\n",
    )


def test_a_browser_that_leaves_mid_page_is_no_error_to_print(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import socket
    import struct

    from kb.site.serve import serving

    (tmp_path / "index.html").write_text("home", encoding="utf-8")
    (tmp_path / "big.json").write_bytes(b"0" * 20_000_000)  # more than the socket buffers hold
    with serving(tmp_path) as url:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(b"GET /big.json HTTP/1.1\r\nHost: x\r\n\r\n")
            client.recv(1024)  # the answer has begun
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not close
            client.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err


# ---------------------------------------------------------------- where the site goes


@pytest.mark.parametrize(
    ("site_dir", "why"),
    [
        (".", "is the knowledge base's folder or one above it"),
        ("", "is the knowledge base's folder or one above it"),
        ("..", "is the knowledge base's folder or one above it"),
        ("entries", "would replace entries"),
        ("entries/works", "would replace entries"),
        ("docs", "would replace docs"),
        ("mkdocs.yml", "would replace mkdocs.yml"),
        (".kb-cache", "would replace .kb-cache"),
        ("notes", "is a folder that holds no site kb built"),
        ("a-file", "is a file"),
        # found before the build's work, not by mkdocs after it (audit)
        ("a-file/site", "is under {root}/a-file, a file"),
        ("/proc/kb-site", "is under /proc, where kb cannot make a folder"),
    ],
)
def test_a_site_dir_whose_replacement_would_destroy_something_is_refused(
    tmp_path: Path, site_dir: str, why: str
) -> None:
    from kb.config import Config
    from kb.site.build import SiteBuildError, site_folder

    root = tmp_path / "kb"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "todo.md").write_text("x", encoding="utf-8")
    (root / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(SiteBuildError) as caught:
        site_folder(root, Config(site_dir=site_dir))
    assert str(caught.value) == (
        f"site_dir {site_dir!r} {why.format(root=root)}; kb build replaces the whole site folder: set site_dir in "
        "kb.yaml to a folder of its own, e.g. site"
    )
    assert (root / "notes" / "todo.md").is_file()


def test_a_site_dir_that_is_a_loop_of_links_or_a_scratch_folder_that_is_a_file_is_one_sentence(tmp_path: Path) -> None:
    """Both had ended in a traceback or a bare "File exists" (audit)."""
    from kb.config import Config
    from kb.errors import KBError
    from kb.site.build import SiteBuildError, _only_build, site_folder

    (tmp_path / "loop").symlink_to("loop")
    for replacing in (True, False):  # kb build, and kb serve --no-build
        with pytest.raises(SiteBuildError) as caught:
            site_folder(tmp_path, Config(site_dir="loop"), replacing=replacing)
        assert str(caught.value) == "site_dir 'loop' is a loop of symbolic links; set site_dir in kb.yaml to a folder"
    (tmp_path / ".kb-build").write_text("x", encoding="utf-8")
    with pytest.raises(KBError) as raised, _only_build(tmp_path):
        pass
    assert str(raised.value) == ".kb-build is a file; kb keeps its scratch folder there: remove the file"


def test_a_scratch_folder_that_is_a_dangling_link_or_a_lock_that_cannot_be_made_is_one_sentence(
    tmp_path: Path,
) -> None:
    """Both had read "kb: .../.kb-build: File exists" or a bare system error (kb new's lock)."""
    from kb.errors import KBError
    from kb.store import held_lock

    (tmp_path / ".kb-build").symlink_to("gone")
    with pytest.raises(KBError) as raised, held_lock(tmp_path, "new.lock", busy="busy"):
        pass
    assert str(raised.value) == (
        ".kb-build is a link to gone, which is not there; kb keeps its scratch folder there: make the folder it "
        "points to, or remove the link"
    )
    (tmp_path / ".kb-build").unlink()
    (tmp_path / ".kb-build" / "new.lock").mkdir(parents=True)  # a lock file that cannot be opened, even as root
    with pytest.raises(KBError) as raised, held_lock(tmp_path, "new.lock", busy="busy"):
        pass
    assert str(raised.value) == (
        "cannot make .kb-build/new.lock, the lock that keeps two runs from writing at once: Is a directory; kb "
        "needs to write in the knowledge base's folder"
    )


def test_a_site_dir_may_be_new_nested_or_a_link_to_a_built_site(tmp_path: Path) -> None:
    from kb.config import Config
    from kb.site.build import site_folder

    root = tmp_path / "kb"
    root.mkdir()
    assert site_folder(root, Config(site_dir="public/kb")) == (root / "public" / "kb").resolve()
    www = tmp_path / "www"
    (www / "assets" / "data").mkdir(parents=True)
    (www / "assets" / "data" / "table.json").write_text("[]", encoding="utf-8")
    (www / "sitemap.xml").write_text("<urlset/>", encoding="utf-8")
    (root / "site").symlink_to(www)
    assert site_folder(root, Config(site_dir="site")) == www.resolve()  # the link's target is rebuilt


def test_the_site_lands_in_a_new_nested_folder_readable_by_all(tmp_path: Path) -> None:
    """A site_dir whose parent does not exist yet is made; the site is as readable as any folder
    (the temporary folder it was built in was private); nothing of the build is left beside it."""
    from kb.store import load_kb
    from tests.sitefixture import make_small_kb

    make_small_kb(load_kb(REPO), tmp_path, count=6)
    if (REPO / ".kb-cache").is_dir():
        shutil.copytree(REPO / ".kb-cache", tmp_path / ".kb-cache")
    (tmp_path / "kb.yaml").write_text("site_dir: public/kb\n", encoding="utf-8")
    run = run_kb("--root", str(tmp_path), "build")
    assert run.code == 0, run.err
    site = tmp_path / "public" / "kb"
    assert (site / "index.html").is_file()
    mask = os.umask(0)
    os.umask(mask)
    assert site.stat().st_mode & 0o777 == 0o777 & ~mask  # as any folder made here, not private
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == ["kb"]

    # An entry removed since suggestions.json was written: the build that rewrites the file proceeds.
    suggested = json.loads((tmp_path / "entries" / "suggestions.json").read_text(encoding="utf-8"))["entries"]
    gone = tmp_path / "entries" / "datasets" / "hostile-entry.yaml"  # nothing points at it
    assert gone.stem in suggested
    gone.unlink()
    again = run_kb("--root", str(tmp_path), "build")
    assert again.code == 0, again.err
    assert "; the suggest stage rewrites entries/suggestions.json" in again.err
    rewritten = json.loads((tmp_path / "entries" / "suggestions.json").read_text(encoding="utf-8"))["entries"]
    assert gone.stem not in rewritten and not (site / "entries" / gone.stem).exists()


def test_mkdocs_settings_kb_would_silently_override_are_refused(tmp_path: Path) -> None:
    from kb.store import load_kb
    from tests.sitefixture import make_small_kb

    make_small_kb(load_kb(REPO), tmp_path, count=2)
    original = (tmp_path / "mkdocs.yml").read_text(encoding="utf-8")
    text = original.replace("site_dir: site\n", "").replace("use_directory_urls: true\n", "")
    lines = text.count("\n")
    for line, message in (
        ("site_dir: public", "site_dir: set to 'public'; kb.yaml's site_dir decides where the site goes: set it there"),
        (
            "use_directory_urls: false",
            "use_directory_urls: set to false; kb's pages link to each other as folders: remove it",
        ),
    ):
        (tmp_path / "mkdocs.yml").write_text(text + line + "\n", encoding="utf-8")
        # Found by the check stage, at the line, before any embedding.
        run = run_kb("--root", str(tmp_path), "build")
        assert run.code == 1 and "Traceback" not in run.err
        assert run.err.splitlines()[-2:] == [
            f"mkdocs.yml:{lines + 1}:1: {message}",
            "1 problem; run kb check for the whole list",
        ]
        assert not any(line.startswith("embed") for line in run.err.splitlines())
        # mkdocs_build, which tools call without the check stage, refuses it too.
        from kb.site.build import SiteBuildError, mkdocs_build

        (tmp_path / "pages").mkdir(exist_ok=True)
        with pytest.raises(SiteBuildError) as caught:
            mkdocs_build(tmp_path, tmp_path / "pages", tmp_path / "out")
        assert str(caught.value) == f"mkdocs.yml: {message}"


def test_a_second_build_at_once_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    """Two builds of one knowledge base swept each other's folders; the second now stops at once."""
    import fcntl

    from kb.config import Config
    from kb.errors import KBError
    from kb.site.build import build

    (tmp_path / ".kb-build").mkdir()
    with open(tmp_path / ".kb-build" / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the first build holds it
        with pytest.raises(KBError) as caught:
            build(tmp_path, Config())
    assert (
        str(caught.value) == "another kb build is running in this knowledge base (it holds .kb-build/lock); wait for it"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".kb-build", "lock"]

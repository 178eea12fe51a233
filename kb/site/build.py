"""`kb build`: the whole pipeline, stage by stage, ending in `mkdocs build --strict`.

    check -> embed -> suggest -> graph -> render -> mkdocs

Generated pages go to a build folder (``.kb-build/docs``: the committed docs/ plus everything
``render_site`` returns plus the browser assets), never into docs/. mkdocs reads the committed
mkdocs.yml with its docs_dir pointed there and writes into a fresh temporary folder, which replaces
the site folder only when the build succeeded: a failed build leaves the last good site in place.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb.config import BUILD_DIR, SOURCES, cache_folder
from kb.errors import KBError, ProblemsError, first_line
from kb.output.text import counted

if TYPE_CHECKING:
    import click

    from kb.config import Config
    from kb.embed import Embedder
    from kb.output.status import Count


class SiteBuildError(KBError):
    """mkdocs could not build the site (a warning under --strict counts)."""


@dataclass(frozen=True)
class StageReport:
    stage: str
    detail: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.stage:<8} {self.detail} ({self.seconds:.1f} s)"


Report = Callable[[StageReport], None]
# What a stage is doing while it runs, and how far it has got when that can be counted
# (kb.output.status.StatusLine.show shows it on a terminal).
Show = Callable[[str, "Count | None"], None]


class _Clock:
    def __init__(self, report: Report, show: Show):
        self.report = report
        self.show = show
        self.start = time.perf_counter()

    def begin(self, stage: str, doing: str, count: Count | None = None) -> None:
        self.show(f"{stage:<8} {doing}", count)

    def done(self, stage: str, detail: str) -> None:
        now = time.perf_counter()
        self.report(StageReport(stage, detail, now - self.start))
        self.start = now


def build_docs_dir(root: Path) -> Path:
    return root / BUILD_DIR / "docs"


def build(
    root: Path,
    config: Config,
    *,
    report: Report = lambda r: None,
    show: Show = lambda doing, count: None,
    commands: click.Group | None = None,
    embedder: Embedder | None = None,
) -> Path:
    """Run every stage and swap the new site in; return the site folder. ``report`` is told of
    each stage when it is done, ``show`` what the running one is doing (but embed's: encoding
    shows a bar of its own). One build at a time per knowledge base."""
    site = site_folder(root, config)  # before any work: a site_dir that would replace the KB is refused
    with _only_build(root):
        return _build(root, config, site, _Clock(report, show), commands=commands, embedder=embedder)


@contextlib.contextmanager
def _only_build(root: Path) -> Iterator[None]:
    """Hold the knowledge base's build lock: two builds at once would sweep each other's folders."""
    from kb.store import held_lock

    with held_lock(
        root,
        "lock",
        busy=f"another kb build is running in this knowledge base (it holds {BUILD_DIR}/lock); wait for it",
    ):
        yield


def _build(
    root: Path, config: Config, site: Path, clock: _Clock, *, commands: click.Group | None, embedder: Embedder | None
) -> Path:
    from kb.check import check_kb
    from kb.embed import embed_kb
    from kb.graph import build_graph
    from kb.parsecache import ParseCache
    from kb.store import SUGGESTIONS_FILE

    clock.begin("check", "checking the entries")
    # The check parses every file with positions; what it parsed is the knowledge base built, and
    # fills the parse cache for the commands that follow.
    checked = check_kb(root, fill=ParseCache(cache_folder(root, config), fresh=True))
    # The suggest stage rewrites entries/suggestions.json, so its staleness (an entry removed
    # since it was written) must not stop the build that mends it.
    blocking = [p for p in checked.problems if p.path != SUGGESTIONS_FILE]
    if blocking:
        raise ProblemsError(blocking)
    stale = f"; the suggest stage rewrites {SUGGESTIONS_FILE}" if checked.problems else ""
    clock.done("check", checked.summary() + stale)

    kb = checked.kb
    assert kb is not None
    counts: list[int] = []
    vectors = embed_kb(kb, config, embedder=embedder, report=lambda encoded, total: counts.append(encoded))
    encoded = counts[0] if counts else 0
    clock.done(
        "embed",
        f"{counted(len(vectors), 'entry', 'entries')}: {encoded} encoded, {len(vectors) - encoded} from the cache",
    )

    from kb.classify import prepare_suggestions, suggestion_evidence, update_suggestions

    clock.begin("suggest", "embedding the titles, taxonomy nodes and keywords")
    prepare_suggestions(kb, config, vectors, embedder=embedder)
    clock.begin("suggest", "training the classifiers and suggesting tags")
    update_suggestions(kb, config, vectors, embedder=embedder)
    kb.forget_suggestions()  # read the file it wrote, not what was cached before
    clock.begin("suggest", f"finding why for the suggestions of {counted(len(kb.suggestions), 'entry', 'entries')}")
    why = suggestion_evidence(kb, config, vectors, embedder=embedder)
    clock.done("suggest", f"{counted(len(kb.suggestions), 'entry', 'entries')} with suggestions, and why")

    clock.begin("graph", "linking the entries and laying the graph out")
    graph = build_graph(kb, vectors, k=config.neighbours)
    clock.done("graph", f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, laid out")

    from kb.cluster import cluster_kb
    from kb.embed import embed_nodes

    clusters = None  # fewer than two entries make no clusters
    clock.begin("cluster", "clustering the entries at three scales")
    if len(vectors) >= 2:
        clusters = cluster_kb(kb, vectors, embed_nodes(kb, config, embedder=embedder))
    levels = "/".join(str(n) for n in clusters.levels) if clusters else "no"
    found = f"{len(clusters.candidates)} candidate nodes, {len(clusters.review)} entries to review" if clusters else ""
    clock.done("cluster", f"{levels} clusters; {found}" if found else "fewer than two entries: no clusters")

    clock.begin("render", "writing the pages")
    docs = render_into(root, kb, graph, commands=commands, site_url=config.site_url, why=why, clusters=clusters)
    pages = sum(1 for _ in docs.rglob("*.md"))
    clock.done("render", f"{pages} pages and their data in {docs.relative_to(root)}/")

    def began(now: Count) -> None:
        clock.begin("mkdocs", "mkdocs build --strict:", now)

    mkdocs_build(root, docs, site, site_url=config.site_url, began=began)
    # Every page links relatively but the 404 page, which any address may show: without a site
    # url, mkdocs writes its links from the domain's root.
    where = "" if config.site_url else "; without site_url (kb.yaml) the 404 page works only at a domain's root"
    shown = site.relative_to(root) if site.is_relative_to(root) else site
    clock.done("mkdocs", f"site built with --strict, no warnings, in {shown}/{where}")
    return site


def site_folder(root: Path, config: Config, *, replacing: bool = True) -> Path:
    """The folder the site goes to (``site_dir``, a link followed to where it points), refused
    when replacing it would destroy something: the knowledge base's folder or one above it, its
    sources, the cache, or a folder that exists and holds no site kb built. Without
    ``replacing`` (kb serve --no-build only reads it), any folder but the knowledge base's or
    one above it (which would serve .git) will do."""
    raw = config.site_dir.strip()
    setting = config.given_by("site_dir")  # KB_SITE_DIR, site_dir in kb.yaml
    home = root.resolve()
    try:
        site = (root / raw).resolve()
    except (RuntimeError, OSError):  # a link to itself: Python's "Symlink loop" (a RuntimeError before 3.13)
        raise SiteBuildError(f"site_dir {raw!r} is a loop of symbolic links; set {setting} to a folder") from None
    why = None
    if site == home or home.is_relative_to(site):
        why = "is the knowledge base's folder or one above it"
    for name in (*SOURCES, config.cache_dir) if replacing else ():
        source = (home / name).resolve()
        if site == source or site.is_relative_to(source) or source.is_relative_to(site):
            why = why or f"would replace {name}"
    if replacing and why is None and site.is_dir() and any(site.iterdir()) and not _built_here(site):
        why = "is a folder that holds no site kb built"
    if site.exists() and not site.is_dir():
        why = why or "is a file"
    # Found before a build's minutes, not after them: a folder above it that is a file, or one in
    # which no folder can be made (/proc), where the new site is written beside the old.
    above = next((p for p in site.parents if p.exists()), None)
    if why is None and replacing and above is not None and not site.exists():
        if not above.is_dir():
            why = f"is under {above}, a file"
        elif _unwritable(above):
            why = f"is under {above}, where kb cannot make a folder"
    elif why is None and replacing and site.exists() and _unwritable(site.parent):
        why = f"is in {site.parent}, where kb cannot make the new site beside the old"
    if why and not replacing:
        raise SiteBuildError(
            f"site_dir {raw!r} {why}; kb serve serves the site folder: set {setting} to a folder of its own"
        )
    if why:
        raise SiteBuildError(
            f"site_dir {raw!r} {why}; kb build replaces the whole site folder: set {setting} to a folder of its "
            "own, e.g. site"
        )
    return site


def _unwritable(folder: Path) -> bool:
    """Whether no folder can be made in ``folder`` (tried: permissions do not tell for root or /proc)."""
    try:
        tempfile.TemporaryDirectory(dir=folder, prefix=".kb-probe-").cleanup()
    except OSError:
        return True
    return False


def _built_here(site: Path) -> bool:
    """Whether ``site`` looks like a site kb build wrote (its data and its sitemap)."""
    return (site / "assets" / "data" / "table.json").is_file() and (site / "sitemap.xml").is_file()


def render_into(  # noqa: ANN001
    root: Path, kb, graph, *, commands: click.Group | None = None, site_url: str = "", why=None, clusters=None
) -> Path:
    """Write the build folder: docs/ as committed, the generated files, the browser assets."""
    from kb.site import render_site
    from kb.webassets import copy_assets

    files = render_site(kb, graph, commands=commands, site_url=site_url, why=why, clusters=clusters)
    docs = build_docs_dir(root)
    if docs.exists():
        shutil.rmtree(docs)
    if not (root / "docs").is_dir():
        raise SiteBuildError("docs/ is missing: the site's hand-written pages live there (restore it from git)")
    try:
        shutil.copytree(root / "docs", docs)
    except (OSError, shutil.Error) as exc:
        raise SiteBuildError(f"cannot copy docs/ into the build folder: {first_line(exc)}") from None
    _pages_are_utf8(docs)
    clash = sorted(p for p in files if (docs / p).exists())
    if clash:
        raise SiteBuildError(
            f"docs/{clash[0]} is written by hand and would be overwritten by a generated page; rename it"
        )
    try:
        for folder in sorted({os.path.dirname(p) for p in files}):
            (docs / folder).mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            # The build folder is scratch space: the atomic step is the swap of the finished site.
            with open(docs / rel, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        copy_assets(docs / "assets" / "kb")
    except OSError as exc:
        where = os.path.relpath(exc.filename, root) if exc.filename else docs.relative_to(root)
        raise SiteBuildError(f"cannot write the build folder: {where}: {exc.strerror or exc}") from None
    return docs


def _pages_are_utf8(docs: Path) -> None:
    """mkdocs reads pages as UTF-8, and its error names no file: name the page and the line."""
    for page in sorted(p for p in docs.rglob("*.md") if p.is_file()):
        data = page.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            rel = (Path("docs") / page.relative_to(docs)).as_posix()
            byte = data[exc.start]
            raise SiteBuildError(f"{rel}:{line}: not UTF-8 (byte 0x{byte:02x}); save the page as UTF-8") from None


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname}: {record.getMessage()}")


def mkdocs_build(
    root: Path, docs: Path, site: Path, *, site_url: str = "", began: Callable[[Count], None] = lambda now: None
) -> None:
    """`mkdocs build --strict` of mkdocs.yml with docs_dir=``docs``, into a temporary folder swapped
    in on success. ``began`` is given, as mkdocs starts, a function saying how far it has got."""
    from mkdocs.commands.build import build as mkdocs_run
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    from kb.store import UMASK

    _quiet_jieba()
    # The new site is written beside the old one (one file system, so the swap is two renames);
    # a build killed midway leaves its folder behind, which the next build sweeps away.
    site.parent.mkdir(parents=True, exist_ok=True)
    # A build killed between the swap's two renames left the last good site as "...-old" and no
    # site/: it is the site again before anything is swept, so a build that then fails keeps it.
    olds = sorted(site.parent.glob(f".{site.name}-building-*-old"))
    if not site.exists() and olds:
        os.replace(olds[-1], site)
    leftovers = [*site.parent.glob(f".{site.name}-building-*"), *(root / BUILD_DIR).glob("site-*")]
    for stale in leftovers:  # (site-*: where earlier versions of kb build wrote)
        shutil.rmtree(stale, ignore_errors=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{site.name}-building-", dir=site.parent))
    os.chmod(fresh, 0o777 & ~UMASK)  # mkdtemp makes it private; a site is for everyone to read
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    saved = (logger.level, logger.propagate)
    logger.addHandler(collect)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        overrides = {"site_url": site_url} if site_url else {}
        config = load_config(
            str(root / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(fresh), strict=True, **overrides
        )
        _settings_kb_decides(config)
        progress = _progress_plugin()
        config.plugins["kb-progress"] = progress  # after the others: its page counts are of finished pages
        began(progress.now)
        mkdocs_run(config)
        swap_in(fresh, site)
    except MkDocsException as exc:
        shown = "\n".join(collect.messages[:20])
        raise SiteBuildError(f"mkdocs build --strict failed ({exc})" + (f":\n{shown}" if shown else "")) from None
    except (OSError, UnicodeDecodeError) as exc:  # a page mkdocs cannot read, a folder it cannot write
        raise SiteBuildError(f"mkdocs build failed: {first_line(exc)}") from None
    finally:
        shutil.rmtree(fresh, ignore_errors=True)  # gone already when it was swapped in
        logger.removeHandler(collect)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _progress_plugin():  # noqa: ANN202 - a mkdocs BasePlugin, whose module loads with mkdocs
    from mkdocs.plugins import BasePlugin

    class Progress(BasePlugin):
        """Counts the pages mkdocs has read and written, for the status line."""

        def __init__(self) -> None:
            self.total = self.read = self.written = 0

        def on_files(self, files, **_):  # noqa: ANN001, ANN202
            self.total = len(files.documentation_pages())
            return files

        def on_page_content(self, html, **_):  # noqa: ANN001, ANN202
            self.read += 1
            return html

        def on_post_page(self, output, **_):  # noqa: ANN001, ANN202
            self.written += 1
            return output

        def now(self) -> str:
            if not self.total:
                return "starting"
            if self.written < self.total:
                return f"{self.read}/{self.total} pages read, {self.written} written"
            return f"{self.total} pages written; the search index and link checks"

    return Progress()


def _settings_kb_decides(config) -> None:  # noqa: ANN001 - mkdocs' MkDocsConfig
    """Refuse what kb.site.settings.kb_rules refuses (kb check says it first, at its line)."""
    from mkdocs.utils.yaml import yaml_load

    from kb.site.settings import kb_rules

    # mkdocs.yml as written (kb's overrides hide its docs_dir and site_dir), read as mkdocs reads it.
    with open(config.config_file_path, encoding="utf-8") as fh:
        written = yaml_load(fh) or {}
    refused = kb_rules(written, config)
    if refused:
        key, message = refused[0]
        raise SiteBuildError(f"mkdocs.yml: {key}: {message}")


def swap_in(fresh: Path, site: Path) -> None:
    """Replace ``site`` by ``fresh`` (its sibling) with two renames, so readers never see a
    half-written site."""
    old = fresh.with_name(fresh.name + "-old")
    if site.exists():
        os.replace(site, old)
    os.replace(fresh, site)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _quiet_jieba() -> None:
    # Material's search plugin segments Chinese with jieba, which announces its dictionary on stderr.
    if importlib.util.find_spec("jieba") is not None:
        import jieba

        jieba.setLogLevel(logging.WARNING)

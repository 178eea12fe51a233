"""kb new against a real HTTP server: the real CLI, the real `arxiv` package, feeds we wrote.

A threaded http.server on 127.0.0.1 (port 0) serves the Atom feeds in tests/feeds/; KB_ARXIV_URL
points the arxiv client at it. The first path segment picks how the server misbehaves
(/status500/, /garbage/, /bomb/, /portal/, /slow/, /apierror/); /ok/ answers like arXiv does.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import re
import shutil
import socket
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from kb.schema import Entry
from kb.store import dump_entry
from tests.conftest import REPO, Run, run_kb

pytestmark = pytest.mark.network

FEEDS = Path(__file__).parent / "feeds"
ATOM = "{http://www.w3.org/2005/Atom}"
SMALL_KB_ENTRIES = [
    "works/llava-1-5.yaml",
    "works/llava-next.yaml",
    "works/allava.yaml",
    "works/cambrian-1.yaml",
    "works/qwen2-vl.yaml",
    "datasets/allava-4v.yaml",
    "datasets/mmbench.yaml",
]
HOSTILE_TITLE = (
    "\"Quoted\": a 'test' — #not-a-comment & <img src=x onerror=alert(1)> "
    '!!python/object/apply:os.system ["echo pwned"] {a: b} *alias &anchor ? - | > % @ ` null ~ '
    "\u202eRTL 中文タイトル 🦩 ---"
)


class FeedServer:
    """Serves tests/feeds like the arXiv API, and remembers every request it was sent."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.redirect_to = ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                mode = urlsplit(self.path).path.strip("/").split("/")[0]
                ids = parse_qs(urlsplit(self.path).query).get("id_list", [""])[0].split(",")
                if mode == "status500":
                    self.answer(500, b"internal error", "text/plain")
                elif mode == "status404":
                    self.answer(404, b"no such page", "text/plain")
                elif mode == "baddate":  # a well-formed feed whose entry has a date nobody can read
                    feed = (FEEDS / "2407.07895.xml").read_bytes()
                    self.answer(200, feed.replace(b"<published>2024-07-10T17:59:43Z", b"<published>yesterday"))
                elif mode == "withdrawn":  # as arXiv marks a paper its authors withdrew
                    feed = (FEEDS / "2407.07895.xml").read_bytes()
                    withdrawn = b"<summary>This paper has been withdrawn by the author. "
                    self.answer(200, feed.replace(b"<summary>", withdrawn))
                elif mode == "nodate":  # ... or none at all, which arxiv logs and skips
                    feed = (FEEDS / "2407.07895.xml").read_bytes()
                    self.answer(200, feed.replace(b"<published>2024-07-10T17:59:43Z</published>", b""))
                elif mode == "garbage":
                    self.answer(200, (FEEDS / "garbage.xml").read_bytes())
                elif mode == "bomb":
                    self.answer(200, (FEEDS / "entity-bomb.xml").read_bytes())
                elif mode == "portal":
                    self.answer(200, (FEEDS / "not-a-feed.html").read_bytes(), "text/html")
                elif mode == "apierror":
                    self.answer(200, (FEEDS / "api-error.xml").read_bytes())
                elif mode == "trickle":  # a byte now and then: no single wait is long
                    self.send_response(200)
                    self.send_header("Content-Type", "application/atom+xml")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    try:
                        for _ in range(100):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.1)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif mode == "stall":  # the headers, then nothing: a wait for the body's first byte
                    self.send_response(200)
                    self.send_header("Content-Type", "application/atom+xml")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.flush()
                    time.sleep(12)
                elif mode == "sametitle":  # two papers of one title
                    feed = feed_for(ids).decode("utf-8")
                    titles = re.findall(r"(?s)<entry>.*?<title>(.*?)</title>", feed)
                    for title in titles:
                        feed = feed.replace(f"<title>{title}</title>", "<title>One Title for Two Papers</title>")
                    self.answer(200, feed.encode("utf-8"))
                elif mode == "otherid":  # a server that answers every question with one paper
                    self.answer(200, feed_for(["2407.07895"]))
                elif mode in ("huge", "gzipbomb"):  # 21 MB of spaces inside a feed, or 21 kB of gzip
                    body = b'<feed xmlns="http://www.w3.org/2005/Atom">' + b" " * 21_000_000 + b"</feed>"
                    if mode == "gzipbomb":
                        body = gzip.compress(body)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/atom+xml")
                    if mode == "gzipbomb":
                        self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # kb stopped reading
                        self.wfile.write(body)
                elif mode == "redirect":  # to server.redirect_to, with the question asked
                    self.send_response(302)
                    self.send_header("Location", f"{server.redirect_to}?{urlsplit(self.path).query}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif mode == "loop":  # to itself
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif mode == "slow":
                    time.sleep(12)
                    self.answer(200, (FEEDS / "empty.xml").read_bytes())
                else:
                    self.answer(200, feed_for(ids))

            def answer(self, status: int, body: bytes, content_type: str = "application/atom+xml") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, mode: str = "ok") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/api/query?{{}}"


def feed_for(ids: list[str]) -> bytes:
    """One feed with an entry for every id we have a feed for; arXiv leaves unknown ids out."""
    known = [FEEDS / f"{i}.xml" for i in ids if (FEEDS / f"{i}.xml").is_file()]
    if not known:
        return (FEEDS / "empty.xml").read_bytes()
    if len(known) == 1:
        return known[0].read_bytes()
    ET.register_namespace("", ATOM[1:-1])
    tree = ET.parse(known[0])
    for other in known[1:]:
        for entry in ET.parse(other).getroot().iter(f"{ATOM}entry"):
            tree.getroot().append(entry)
    total = tree.getroot().find("{http://a9.com/-/spec/opensearch/1.1/}totalResults")
    assert total is not None
    total.text = str(len(known))
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True)


@pytest.fixture(scope="module")
def server():
    srv = FeedServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    """A small copy of the knowledge base: the taxonomies and a few entries."""
    root = tmp_path / "kb"
    (root / "entries" / "works").mkdir(parents=True)
    (root / "entries" / "datasets").mkdir()
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(REPO / "overrides", root / "overrides")  # mkdocs.yml's theme custom_dir, which kb check checks
    shutil.copytree(REPO / "entries" / "taxonomies", root / "entries" / "taxonomies")
    # The entries as they are, but for relations to entries left out of the copy.
    kept = {Path(rel).stem for rel in SMALL_KB_ENTRIES}
    for rel in SMALL_KB_ENTRIES:
        data = Entry.model_validate(yaml.safe_load((REPO / "entries" / rel).read_text(encoding="utf-8")))
        relations = {name: [t for t in targets if t in kept] for name, targets in data.relations.model_dump().items()}
        pruned = data.model_copy(update={"relations": data.relations.model_validate(relations)})
        pruned.provenance = [p for p in pruned.provenance if not any(f.startswith("relations.") for f in p.fields)]
        (root / "entries" / rel).write_text(dump_entry(pruned), encoding="utf-8")
    return root


def kb_new(root: Path, server: FeedServer, *args: str, mode: str = "ok", **env: str) -> Run:
    server.requests.clear()
    settings = {"KB_ARXIV_URL": server.url(mode), "KB_ARXIV_RETRIES": "1", "KB_ARXIV_DELAY": "0"}
    settings["KB_ARXIV_TIMEOUT"] = "5"
    return run_kb("new", *args, cwd=root, env={**settings, **env})


def entry_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "entries").rglob("*.yaml"))}


def assert_one_sentence(run: Run, code: int, text: str) -> None:
    """Exit code, nothing on stdout, and exactly one line on stderr (a line of ``text`` each, where
    it has several: the retries said before the failure)."""
    assert run.code == code, run.err
    assert run.out == ""
    assert run.err == "".join(f"kb: {line}\n" for line in text.split("\n"))


# ---------------------------------------------------------------------------------------------
# What gets written.


def test_new_writes_a_prefilled_entry_that_passes_kb_check(kb_root, server):
    before = entry_files(kb_root)
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest")
    assert run.code == 0, run.err
    assert run.out == "wrote entries/works/llava-next-interleave.yaml\n"
    assert "next: edit it" in run.err and "kb check" in run.err
    assert [p for p in entry_files(kb_root) if p not in before] == ["entries/works/llava-next-interleave.yaml"]

    path = kb_root / "entries/works/llava-next-interleave.yaml"
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["id"] == "llava-next-interleave"
    assert data["title"] == "LLaVA-NeXT-Interleave: Tackling Multi-image, Video, and 3D in Large Multimodal Models"
    assert data["name"] == "LLaVA-NeXT-Interleave"
    assert data["kind"] == "model"
    assert "arxiv: '2407.07895'" in text  # quoted: YAML must not read it as a number
    assert data["date"] == "2024-07-10"
    assert data["venue"] == "arXiv"
    assert data["authors"][0] == "Feng Li" and data["authors"][-1] == "Chunyuan Li" and len(data["authors"]) == 8
    assert data["links"] == {
        "paper": "https://arxiv.org/abs/2407.07895",
        "code": "https://github.com/LLaVA-VL/LLaVA-NeXT",
        "project": "https://llava-vl.github.io/blog/2024-06-16-llava-next-interleave/",
    }
    assert data["added"] == _dt.date.today().isoformat()
    assert data["provenance"][0]["source"] == "arxiv"
    assert data["provenance"][0]["note"] == "arXiv API, 2407.07895v2"
    # The abstract is the authors' prose: it never lands in the entry.
    assert "summary" not in data and "interleaved image" not in text
    assert "# summary: a few sentences in our own words" in text
    assert server.requests and "id_list=2407.07895" in server.requests[0]

    check = run_kb("check", cwd=kb_root)
    assert check.code == 0, check.out + check.err
    assert "checked 8 entries: no problems" in check.err


def test_a_benchmark_lands_in_datasets_with_its_venue_and_affiliations(kb_root, server):
    run = kb_new(kb_root, server, "arXiv:2405.21075v3", "--no-suggest")
    assert run.code == 0, run.err
    assert run.out == "wrote entries/datasets/video-mme.yaml\n"
    data = yaml.safe_load((kb_root / "entries/datasets/video-mme.yaml").read_text(encoding="utf-8"))
    assert data["kind"] == "benchmark"
    assert data["arxiv"] == "2405.21075"
    assert data["venue"] == "CVPR 2025"
    assert data["affiliations"] == [
        "Nanjing University",
        "University of Science and Technology of China",
        "Xiamen University",
    ]
    assert data["links"]["project"] == "https://video-mme.github.io"
    assert run_kb("check", cwd=kb_root).code == 0


def test_several_ids_are_fetched_in_one_request(kb_root, server):
    run = kb_new(kb_root, server, "2407.07895", "--arxiv", "https://arxiv.org/abs/2405.21075", "--no-suggest")
    assert run.code == 0, run.err
    assert run.out == "wrote entries/works/llava-next-interleave.yaml\nwrote entries/datasets/video-mme.yaml\n"
    assert len(server.requests) == 1
    assert "id_list=2407.07895%2C2405.21075" in server.requests[0]


def test_two_papers_of_one_title_in_one_batch_are_refused(kb_root, server):
    """kb check would refuse the second as a near-duplicate of the first; kb new writes neither."""
    before = entry_files(kb_root)
    run = kb_new(kb_root, server, "2407.07895", "2501.00001", "--no-suggest", mode="sametitle")
    assert_one_sentence(
        run, 1, "arXiv 2501.00001 and 2407.07895 have the same title, 'One Title for Two Papers'; add one of them"
    )
    assert entry_files(kb_root) == before


def test_the_api_address_can_come_from_kb_yaml(kb_root, server):
    (kb_root / "kb.yaml").write_text(
        f"arxiv_url: '{server.url()}'\narxiv_retries: 0\narxiv_delay: 0\narxiv_timeout: 5\n", encoding="utf-8"
    )
    server.requests.clear()
    run = run_kb("new", "2407.07895", "--dry-run", "--no-suggest", cwd=kb_root)
    assert run.code == 0, run.err
    assert run.out.startswith("id: llava-next-interleave\n")
    assert len(server.requests) == 1


def test_kind_flag_overrides_the_guess(kb_root, server):
    run = kb_new(kb_root, server, "2407.07895", "--kind", "method", "--no-suggest")
    assert run.code == 0, run.err
    data = yaml.safe_load((kb_root / "entries/works/llava-next-interleave.yaml").read_text(encoding="utf-8"))
    assert data["kind"] == "method"


def test_dry_run_prints_the_yaml_and_writes_nothing(kb_root, server):
    before = entry_files(kb_root)
    run = kb_new(kb_root, server, "2407.07895", "--dry-run", "--no-suggest")
    assert run.code == 0, run.err
    assert entry_files(kb_root) == before
    entry = Entry.model_validate(yaml.safe_load(run.out))
    assert entry.id == "llava-next-interleave" and entry.arxiv == "2407.07895"
    assert run.out.startswith("id: llava-next-interleave\n")
    assert "wrote" not in run.out + run.err


def test_a_file_that_does_not_load_is_never_replaced(kb_root, server):
    squatter = kb_root / "entries/works/llava-next-interleave.yaml"
    squatter.write_bytes(b"id: [unclosed\n")
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest")
    assert run.code == 0, run.err
    assert run.out == "wrote entries/works/llava-next-interleave-2024.yaml\n"
    assert squatter.read_bytes() == b"id: [unclosed\n"


def test_hostile_text_is_stored_so_that_yaml_reads_it_back_exactly(kb_root, server):
    run = kb_new(kb_root, server, "2501.00001", "--no-suggest")
    assert run.code == 0, run.err
    (path,) = [kb_root / p for p in entry_files(kb_root) if p.startswith("entries/") and "quoted" in p]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["title"] == HOSTILE_TITLE.replace("\u202e", "")  # a bidirectional override kb check refuses
    assert data["authors"] == ['O\'Brien "Bobby" Tables: - ? #1']
    assert data["affiliations"] == ["{{ config }} & <script>alert(1)</script>"]
    assert data["links"]["code"] == "https://github.com/evil/repo"  # the URL ends where the markup starts
    assert data["venue"] == "Journal of Hostile Strings & Co. 1 (2025)"
    assert Entry.model_validate(data).title == data["title"]
    check = run_kb("check", cwd=kb_root)
    assert check.code == 0, check.out + check.err


def test_an_id_of_ones_own_choosing(kb_root, server):
    run = kb_new(kb_root, server, "2407.07895", "--id", "interleave-model", "--no-suggest")
    assert (run.code, run.out) == (0, "wrote entries/works/interleave-model.yaml\n"), run.err
    assert run_kb("check", cwd=kb_root).code == 0


def test_a_title_or_name_with_noncharacters_is_written_as_kb_check_accepts_it(kb_root, server):
    run = kb_new(
        kb_root, server, "--title", "Nonchar \uffff Titles \ufffe Test", "--name", "Na\ufffeme", "--no-suggest"
    )
    assert run.code == 0, run.err
    data = yaml.safe_load((kb_root / "entries/works/name.yaml").read_text("utf-8"))
    assert (data["title"], data["name"]) == ("Nonchar Titles Test", "Name")
    check = run_kb("check", cwd=kb_root)
    assert check.code == 0, check.out + check.err


def test_a_paper_without_arxiv_id_from_its_title(kb_root, server):
    run = kb_new(
        kb_root, server, "--title", "Pixels to Words: A Study of Layouts", "--kind", "analysis", "--no-suggest"
    )
    assert run.code == 0, run.err
    assert run.out == "wrote entries/works/pixels-to-words-a-study-of.yaml\n"
    assert server.requests == []
    data = yaml.safe_load((kb_root / "entries/works/pixels-to-words-a-study-of.yaml").read_text("utf-8"))
    assert data["kind"] == "analysis"
    assert data["provenance"] == [{"source": "contributor", "fields": ["title"]}]
    assert run_kb("check", cwd=kb_root).code == 0


# ---------------------------------------------------------------------------------------------
# Refusals: already in the KB.


def test_an_arxiv_id_already_in_the_kb_is_refused_without_asking_arxiv(kb_root, server):
    before = entry_files(kb_root)
    for typed in ("2310.03744", "arXiv:2310.03744v2", "https://arxiv.org/pdf/2310.03744v1"):
        run = kb_new(kb_root, server, typed, "--no-suggest")
        assert_one_sentence(
            run,
            1,
            "arXiv 2310.03744 is already in the knowledge base: entries/works/llava-1-5.yaml; to add a dataset "
            "or benchmark the paper released, pass --kind dataset or --kind benchmark",
        )
        assert server.requests == []
    assert entry_files(kb_root) == before


def test_a_dataset_may_share_its_papers_arxiv_id(kb_root, server):
    run = kb_new(kb_root, server, "2310.03744", "--kind", "dataset", "--no-suggest")
    assert run.code == 0, run.err
    assert run.out == "wrote entries/datasets/improved-baselines-with-visual-instruction-tuning.yaml\n"
    assert "note: entries/works/llava-1-5.yaml has the same arXiv id" in run.err
    data = yaml.safe_load(
        (kb_root / "entries/datasets/improved-baselines-with-visual-instruction-tuning.yaml").read_text("utf-8")
    )
    assert data["venue"] == "CVPR 2024"
    assert data["links"]["code"] == "https://github.com/haotian-liu/LLaVA"
    assert run_kb("check", cwd=kb_root).code == 0


def test_but_not_a_second_dataset_with_it(kb_root, server):
    run = kb_new(kb_root, server, "2402.11684", "--kind", "benchmark", "--no-suggest")
    assert_one_sentence(
        run,
        1,
        "arXiv 2402.11684 is already in the knowledge base: entries/datasets/allava-4v.yaml; to add another "
        "dataset or benchmark of the same paper, give it its own name with --name",
    )
    run = kb_new(kb_root, server, "2402.11684", "--kind", "benchmark", "--name", "allava 4v", "--no-suggest")
    assert_one_sentence(run, 1, "arXiv 2402.11684 is already in the knowledge base: entries/datasets/allava-4v.yaml")
    assert server.requests == []


def test_a_second_dataset_of_a_paper_with_a_name_of_its_own_passes_as_in_kb_check(kb_root, server):
    """kb check lets the datasets of one paper share its arXiv id and title when their names
    differ; kb new lets them in on the same terms, by --name."""
    first = kb_new(kb_root, server, "2310.03744", "--kind", "dataset", "--name", "LLaVA-665K", "--no-suggest")
    assert first.code == 0, first.err
    again = kb_new(kb_root, server, "2310.03744", "--kind", "benchmark", "--no-suggest")
    assert again.code == 1 and again.err.endswith("give it its own name with --name\n")
    second = kb_new(kb_root, server, "2310.03744", "--kind", "benchmark", "--name", "LLaVA-Wild", "--no-suggest")
    assert second.code == 0, second.err
    written = [line.removeprefix("wrote ") for line in (first.out + second.out).splitlines()]
    names = [yaml.safe_load((kb_root / path).read_text("utf-8"))["name"] for path in written]
    assert names == ["LLaVA-665K", "LLaVA-Wild"]
    title = "ALLaVA: Harnessing GPT4V-synthesized Data for A Lite Vision-Language Model"
    bare = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--no-suggest")
    assert bare.code == 1 and bare.err.endswith("give it its own name with --name\n")
    named = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--name", "ALLaVA-Bench", "--no-suggest")
    assert named.code == 0, named.err
    data = yaml.safe_load((kb_root / named.out.removeprefix("wrote ").strip()).read_text("utf-8"))
    assert (data["name"], data["provenance"]) == (
        "ALLaVA-Bench",
        [{"source": "contributor", "fields": ["title", "name"]}],
    )
    check = run_kb("check", cwd=kb_root)
    assert check.code == 0, check.out + check.err


def test_an_arxiv_id_of_a_dataset_is_refused_with_a_hint_for_the_work(kb_root, server):
    run = kb_new(kb_root, server, "2307.06281", "--no-suggest")
    assert_one_sentence(
        run,
        1,
        "arXiv 2307.06281 is already in the knowledge base: entries/datasets/mmbench.yaml; to add the paper's "
        "own work entry, pass --kind model, method, analysis or survey",
    )
    assert server.requests == []


def test_a_dataset_name_already_in_the_kb_is_refused_with_a_hint(kb_root, server):
    """A dataset is known by its name: two named alike read as one (the seed gave MLLM-Bench twice)."""
    title = "MMBench: Is Your Multi-modal Model an All-around Player? Second Edition"
    run = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--no-suggest")
    assert_one_sentence(
        run,
        1,
        "a benchmark named 'MMBench' is already in the knowledge base: entries/datasets/mmbench.yaml; if this is "
        "another one, give it a name that tells it apart with --name",
    )
    named = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--name", "mmbench ", "--no-suggest")
    assert named.code == 1 and "named 'mmbench' is already" in named.err  # as kb check compares names
    assert sorted(p.name for p in (kb_root / "entries" / "datasets").iterdir()) == ["allava-4v.yaml", "mmbench.yaml"]
    other = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--name", "MMBench-2E", "--no-suggest")
    assert other.code == 0, other.err
    check = run_kb("check", cwd=kb_root)
    assert check.code == 0, check.out + check.err


def test_a_paper_whose_file_does_not_load_is_not_added_again(kb_root, server):
    """A typo elsewhere in a paper's file kept it from loading, and kb new wrote the paper a second
    time in silence (audit); a dataset's broken file still leaves room for the paper's work."""
    broken = kb_root / "entries" / "works" / "broken-one.yaml"
    broken.write_text("id: broken-one\ntitle: Some Other Words\nkind: modle\narxiv: '2407.07895'\n", encoding="utf-8")
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest")
    assert_one_sentence(
        run,
        1,
        "entries/works/broken-one.yaml has arXiv 2407.07895 but problems that keep it from loading; mend it "
        "(kb check entries/works/broken-one.yaml) rather than add the paper again",
    )
    broken.rename(kb_root / "entries" / "datasets" / "broken-one.yaml")
    moved = kb_root / "entries" / "datasets" / "broken-one.yaml"
    moved.write_text(moved.read_text(encoding="utf-8").replace("kind: modle", "kind: dataset\nvenu: x"), "utf-8")
    assert kb_new(kb_root, server, "2407.07895", "--no-suggest").code == 0


def test_a_dataset_name_on_a_file_that_does_not_load_is_refused(kb_root, server):
    """kb new and kb check hold one set of keys unique: a name on a file the schema refuses counted
    for kb check and not for kb new, which wrote a dataset that kb check then refused."""
    broken = kb_root / "entries" / "datasets" / "seen-bench.yaml"
    broken.write_text("id: seen-bench\nname: SeenBench\ntitle: Other Words\nkind: benchmrk\n", encoding="utf-8")
    title = "SeenBench: A Benchmark Seen Before"
    run = kb_new(kb_root, server, "--title", title, "--kind", "benchmark", "--name", "seenbench", "--no-suggest")
    assert_one_sentence(
        run,
        1,
        "entries/datasets/seen-bench.yaml has the name 'seenbench' but problems that keep it from loading; mend "
        "it (kb check entries/datasets/seen-bench.yaml) rather than add the paper again",
    )
    broken.write_text(broken.read_text("utf-8").replace("benchmrk", "benchmark"), encoding="utf-8")
    assert run_kb("check", cwd=kb_root).code == 0


def test_a_title_already_in_the_kb_is_refused(kb_root, server):
    run = kb_new(kb_root, server, "--title", "Improved Baselines with  Visual Instruction Tuning", "--no-suggest")
    assert_one_sentence(
        run, 1, "a model of the same title is already in the knowledge base: entries/works/llava-1-5.yaml"
    )


# ---------------------------------------------------------------------------------------------
# Failures: one sentence each, no traceback, nothing written.


@pytest.mark.parametrize(
    ("mode", "args", "code", "message", "requests"),
    [
        (
            "ok",
            ["2406.99999"],
            2,
            "arXiv has no paper 2406.99999; check the id against the paper's arxiv.org/abs/ page",
            1,
        ),
        (
            "ok",
            ["2407.07895", "2406.99998"],
            2,
            "arXiv has no paper 2406.99998; check the id against the paper's arxiv.org/abs/ page",
            1,
        ),
        (
            "status500",
            ["2407.07895"],
            1,
            # a retry is said as it starts, not only after the last one failed
            "the arXiv API at 127.0.0.1:{port} answered HTTP 500; asking again (try 2 of 2)\n"
            "the arXiv API at 127.0.0.1:{port} answered HTTP 500 (2 tries); try again later",
            2,
        ),
        (
            "status404",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered HTTP 404; asking again (try 2 of 2)\n"
            "the arXiv API at 127.0.0.1:{port} answered HTTP 404 (2 tries); check arxiv_url",
            2,
        ),
        (
            "baddate",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with a feed it could not read (Invalid isoformat string: "
            "'yesterday'); check arxiv_url",
            1,
        ),
        (
            "nodate",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with an incomplete record (Skipping entry "
            "http://arxiv.org/abs/2407.07895v2 missing <published>); check arxiv_url",
            1,
        ),
        (
            "garbage",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with something that is not an Atom feed (not well-formed "
            "XML: {xml_error}); check arxiv_url",
            1,
        ),
        (
            "bomb",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with something that is not an Atom feed (not well-formed "
            "XML: limit on input amplification factor (from DTD and entities) breached: line 22, column 11); "
            "check arxiv_url",
            1,
        ),
        (
            "portal",
            ["2407.07895"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with something that is not an Atom feed (an XML document "
            "whose root is <html>); check arxiv_url",
            1,
        ),
        ("apierror", ["2407.07895"], 2, "arXiv did not accept the id list: incorrect id format for 1234.5678", 1),
        (
            "otherid",
            ["2406.99999"],
            1,
            "the arXiv API at 127.0.0.1:{port} answered with 2407.07895v2, not asked for, and without 2406.99999; "
            "check arxiv_url",
            1,
        ),
        *(
            (
                mode,
                ["2407.07895"],
                1,
                "the arXiv API at 127.0.0.1:{port} answered with something that is not an Atom feed (over 20 MB, "
                "where a paper's record is a few kilobytes); check arxiv_url",
                1,
            )
            for mode in ("huge", "gzipbomb")
        ),
    ],
    ids=[
        "unknown-id",
        "one-of-two-unknown",
        "server-500",
        "server-404",
        "unreadable-date",
        "missing-date",
        "garbage-xml",
        "entity-bomb",
        "html-page",
        "api-error-entry",
        "another-paper",
        "huge-feed",
        "gzip-bomb",
    ],
)
def test_failures_are_one_sentence(kb_root, server, mode, args, code, message, requests):
    before = entry_files(kb_root)
    run = kb_new(kb_root, server, *args, "--no-suggest", mode=mode)
    assert run.code == code, run.err
    assert "Traceback" not in run.err
    if "{xml_error}" in message:
        head, tail = message.format(port=server.port, xml_error="\0").split("\0")
        assert run.err.startswith(f"kb: {head}") and run.err.endswith(f"{tail}\n") and run.err.count("\n") == 1
    else:
        assert_one_sentence(run, code, message.format(port=server.port))
    assert len(server.requests) == requests
    assert entry_files(kb_root) == before


def test_connection_refused(kb_root, server):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = kb_new(kb_root, server, "2407.07895", KB_ARXIV_URL=f"http://127.0.0.1:{port}/api/query?{{}}")
    assert_one_sentence(
        run,
        1,
        f"the arXiv API at 127.0.0.1:{port} cannot be reached (connection refused); asking again (try 2 of 2)\n"
        f"cannot connect to the arXiv API at 127.0.0.1:{port} (connection refused, 2 tries); check the network, "
        "or arxiv_url in kb.yaml or KB_ARXIV_URL",
    )
    # A user and password in the address stay out of the message (and a log), and one try is one.
    url = f"http://someone:secret@127.0.0.1:{port}/api/query?{{}}"
    run = kb_new(kb_root, server, "2407.07895", KB_ARXIV_URL=url, KB_ARXIV_RETRIES="0")
    assert_one_sentence(
        run,
        1,
        f"cannot connect to the arXiv API at 127.0.0.1:{port} (connection refused, 1 try); check the network, "
        "or arxiv_url in kb.yaml or KB_ARXIV_URL",
    )


def test_a_refused_connection_is_asked_again_after_arxiv_delay(kb_root, server):
    """arxiv waits its delay from the last request answered: a refused one was asked again at once,
    four tries in 40 ms (audit). Two retries at a delay of 1 s take 2 s at least, however fast the machine."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/query?{{}}"
    started = time.monotonic()
    run = kb_new(kb_root, server, "2407.07895", KB_ARXIV_URL=url, KB_ARXIV_RETRIES="2", KB_ARXIV_DELAY="1")
    assert run.code == 1 and run.err.count("asking again") == 2, run.err
    assert time.monotonic() - started >= 2.0


def test_a_redirect_is_said_with_where_it_led(kb_root, server):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server.redirect_to = f"http://127.0.0.1:{port}/api/query"
    run = kb_new(kb_root, server, "2407.07895", mode="redirect", KB_ARXIV_RETRIES="0")
    assert_one_sentence(
        run,
        1,
        f"cannot connect to the arXiv API at 127.0.0.1:{server.port} (redirected to 127.0.0.1:{port}) "
        "(connection refused, 1 try); check the network, or arxiv_url in kb.yaml or KB_ARXIV_URL",
    )
    run = kb_new(kb_root, server, "2407.07895", mode="loop", KB_ARXIV_RETRIES="0")
    assert_one_sentence(
        run, 1, f"the arXiv API at 127.0.0.1:{server.port} redirected over and over (in a loop); check arxiv_url"
    )
    server.redirect_to = f"http://localhost:{server.port}/ok/api/query"  # followed where it answers
    assert kb_new(kb_root, server, "2407.07895", mode="redirect").code == 0


@pytest.mark.parametrize(
    ("mode", "waited", "limit"),
    [
        # Each gave up long before the server would have answered (12 s; the trickle's 10 s), with
        # room for a loaded machine to start kb slowly.
        ("slow", "did not answer within 0.5 s", 9),
        ("trickle", "did not finish answering within 1.5 s", 9),  # a byte each 0.1 s for 10 s: the deadline
        # It connected and answered its headers: no "cannot connect" (requests calls a read timeout
        # in the body a connection error).
        ("stall", "did not answer within 0.5 s", 9),
    ],
)
def test_a_server_that_does_not_answer_in_time_is_given_up_on(kb_root, server, mode, waited, limit):
    started = time.monotonic()
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest", mode=mode, KB_ARXIV_TIMEOUT="0.5")
    assert_one_sentence(
        run, 1, f"the arXiv API at 127.0.0.1:{server.port} {waited}; try again later (arxiv_timeout sets the wait)"
    )
    assert time.monotonic() - started < limit


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-id"], "'not-an-id' is not an arXiv id; expected one like 2304.08485 (or an arxiv.org/abs/ address)"),
        # Ids that cannot exist are refused before any request, by the rules kb check applies.
        (["2502.0002"], "'2502.0002': ids from 02/2025 have 5 digits after the dot"),
        (["1234.56789"], "'1234.56789' has month 34; expected YYMM.NNNNN, e.g. \"2304.08485\""),
        ([], "give one or more arXiv ids, or --title for a paper without one (not both)"),
        (["2407.07895", "--title", "X"], "give one or more arXiv ids, or --title for a paper without one (not both)"),
        (["--title", ""], "--title is empty; give the paper's full title"),  # as for "   "
        (["--title", "   "], "--title is empty; give the paper's full title"),
        (["--title", "X", "--name", " "], "--name is empty; give the short name, such as LLaVA-Bench, or leave it out"),
        (
            ["2407.07895", "2405.21075", "--name", "X"],
            "--name names one entry; give it with one arXiv id, or with --title",
        ),
        (["2407.07895", "2405.21075", "--id", "x"], "--id names one entry; give it with one arXiv id, or with --title"),
        (["2407.07895", "--id", "llava-1-5"], "--id: 'llava-1-5' is taken by another entry's file; choose another"),
        (
            ["--title", "X", "--id", "X_1"],
            "--id: expected a slug of lower-case letters, digits and single hyphens (at most 80), got 'X_1'",
        ),
        (["--title", "X", "--id", "index"], "--id: 'index' is a name kb cannot give a file; choose another"),
    ],
)
def test_usage_errors(kb_root, server, args, message):
    run = kb_new(kb_root, server, *args, "--no-suggest")
    assert_one_sentence(run, 2, message)
    assert server.requests == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:1/api/query", "must hold exactly one {} where the query goes"),
        ("http://[::1/api/query?{}", "is not a valid address (Invalid IPv6 URL)"),
        (
            "http://127.0.0.1:port/api/query?{}",
            "is not a valid address (Port could not be cast to integer value as 'port')",
        ),
        ("ftp://127.0.0.1/api/query?{}", "must be an http:// or https:// address"),
    ],
)
def test_a_bad_arxiv_url_is_named_before_anything_is_asked(kb_root, server, url, why):
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest", KB_ARXIV_URL=url)
    assert (run.code, run.out) == (2, "")
    assert run.err == f"kb: KB_ARXIV_URL: arxiv_url: {url!r} {why}, e.g. https://export.arxiv.org/api/query?{{}}\n"
    assert "Traceback" not in run.err and server.requests == []


def test_a_withdrawn_paper_is_said_to_be_one(kb_root, server):
    run = kb_new(kb_root, server, "2407.07895", "--no-suggest", "--dry-run", mode="withdrawn")
    assert run.code == 0, run.err
    assert "note: arXiv says 2407.07895 was withdrawn by its authors; add it only if it still matters\n" in run.err
    assert "withdrawn" not in kb_new(kb_root, server, "2407.07895", "--no-suggest", "--dry-run").err


def test_a_second_kb_new_at_once_waits_and_then_sees_the_first_ones_entry(kb_root) -> None:
    """Two kb new at once had each found the id free and both written, one entry lost or one paper
    twice, each saying it wrote its file (writes audit). The second now waits for the first."""
    import fcntl
    import os
    import subprocess
    import sys

    (kb_root / ".kb-build").mkdir()
    with open(kb_root / ".kb-build" / "new.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a first kb new holds it
        second = subprocess.Popen(
            [sys.executable, "-m", "kb", "new", "--title", "Beta Study Of Language", "--id", "raced", "--no-suggest"],
            cwd=kb_root,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert second.stderr is not None
        said = second.stderr.readline()
        assert said == "kb: another kb new is writing into this knowledge base (it holds .kb-build/new.lock); waiting\n"
        # The first writes its entry under the same id while the second waits.
        first = run_kb("new", "--title", "Alpha Paper About Vision", "--id", "raced", "--dry-run", cwd=kb_root)
        (kb_root / "entries" / "works" / "raced.yaml").write_text(first.out, encoding="utf-8")
    out, err = second.communicate(timeout=120)
    assert (second.returncode, out, err) == (
        2,
        "",
        "kb: --id: 'raced' is taken by another entry's file; choose another\n",
    )
    assert "Alpha Paper About Vision" in (kb_root / "entries" / "works" / "raced.yaml").read_text(encoding="utf-8")


def test_a_new_file_is_never_written_over_one_that_appeared_meanwhile(tmp_path) -> None:
    """write_text_atomic(new=True) links its temp file in place, which fails where a name is taken."""
    from kb.store import write_text_atomic

    target = tmp_path / "entry.yaml"
    write_text_atomic(target, "first\n", new=True)
    with pytest.raises(FileExistsError):
        write_text_atomic(target, "second\n", new=True)
    assert target.read_text(encoding="utf-8") == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["entry.yaml"]

"""New entries for the knowledge base: from arXiv records, or from a title alone.

The stage behind ``kb new``. It asks the arXiv API through the real ``arxiv`` package (its
``Client.query_url_format`` comes from ``Config.arxiv_url``, so tests point it at a local server),
turns each record into a pre-filled ``Entry`` and renders it as YAML, with machine-suggested tags
as comments a contributor accepts by uncommenting them. Nothing is copied from the abstract into
the entry: the summary stays for a person to write in our own words.

Facts about ``arxiv`` that shape this module: an unknown id gives zero results, not an error;
errors surface only while iterating results; connection errors arrive unwrapped (as
``requests`` exceptions); a feed that is not XML parses to zero results with a logged warning;
and the client sets no timeout, so one is set on its session here.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from kb.config import Config
from kb.errors import KBError, UsageError
from kb.naming import (
    abs_url,
    arxiv_id_problem,
    infer_kind,
    norm_arxiv,
    norm_title,
    short_name_from_title,
    unique_entry_id,
)
from kb.schema import Entry, Kind

if TYPE_CHECKING:
    import arxiv
    import requests

    from kb.store import KB

T = TypeVar("T")
ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
SUGGESTIONS_SHOWN = 3  # per taxonomy, in the comment block of a new entry

# Keys that come after `tags:` in dump_entry's field order: the suggestion block goes before the first.
_AFTER_TAGS = ("architecture:", "scale:", "relations:", "summary:", "added:", "provenance:")


class ArxivUnavailableError(KBError):
    """The arXiv API could not be asked, or did not answer with a feed (exit code 1)."""


class PaperNotFoundError(UsageError):
    """arXiv has no paper with the id asked for (exit code 2)."""


class AlreadyInKBError(KBError):
    """The paper is already in the knowledge base (exit code 1); the message names the file."""


@dataclass
class Draft:
    """One new entry, ready to be written: the entry and the exact text of its file."""

    entry: Entry
    text: str
    path: Path


@dataclass
class Plan:
    """What ``kb new`` will write, and notes for the contributor (printed on stderr)."""

    drafts: list[Draft] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Asking arXiv.


def parse_arxiv_id(text: str) -> str:
    """An arXiv id without version from what a person typed: "2401.13601v2", "arXiv:2401.13601",
    or an arxiv.org /abs/ or /pdf/ address."""
    arxiv_id = norm_arxiv(text)
    if arxiv_id is None:
        raise UsageError(
            f"{_printable(text)!r} is not an arXiv id; expected one like 2304.08485 (or an arxiv.org/abs/ address)"
        )
    if problem := arxiv_id_problem(arxiv_id, _dt.date.today()):  # no request for an id that cannot exist
        raise UsageError(problem)
    return arxiv_id


def _api_host(config: Config) -> str:
    return urlsplit(config.arxiv_url.replace("{}", "")).netloc or config.arxiv_url


def _feed_session(timeout: float) -> requests.Session:
    """A requests session that waits at most ``timeout`` seconds and refuses anything but an Atom
    feed: ``arxiv`` would read a page of garbage as "no results", the same as an unknown id."""
    import xml.etree.ElementTree as ET  # expat >= 2.4 bounds entity expansion; nothing external is fetched

    import requests

    class FeedSession(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            response = super().request(method, url, *args, **kwargs)
            if response.status_code == 200:
                try:
                    root = ET.fromstring(response.content)
                except ET.ParseError as exc:
                    raise MalformedFeedError(f"not well-formed XML: {exc}") from None
                if root.tag != ATOM_FEED:
                    raise MalformedFeedError(f"an XML document whose root is <{_printable(root.tag, limit=60)}>")
            return response

    return FeedSession()


def _within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``'s result, or TimeoutError after ``seconds``; its exceptions pass through. The
    work runs in a daemon thread, which a stuck socket cannot keep alive past kb's exit."""
    import threading

    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError
    if failure:
        raise failure[0]
    return outcome[0]


class _SkippedEntries(logging.Handler):
    """Collects what ``arxiv`` logs when it drops an entry of a feed (one lacking <published>)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class MalformedFeedError(Exception):
    """Raised inside the client's session; not a requests error, so ``arxiv`` does not retry it."""


def fetch_results(arxiv_ids: Sequence[str], config: Config) -> dict[str, arxiv.Result]:
    """The arXiv records of ``arxiv_ids`` (without versions), by id; raises a KBError in one
    sentence for every way the request can fail, and PaperNotFoundError for ids arXiv lacks."""
    import arxiv
    import requests

    client = arxiv.Client(
        page_size=max(len(arxiv_ids), 1), delay_seconds=config.arxiv_delay, num_retries=config.arxiv_retries
    )
    client.query_url_format = config.arxiv_url
    # arxiv.Client takes no timeout; its session is the one place to give requests one.
    client._session = _feed_session(config.arxiv_timeout)
    host = _api_host(config)
    tries = config.arxiv_retries + 1
    skipped = _SkippedEntries()  # arxiv logs and drops an entry lacking a field; we say so instead
    feed_log = logging.getLogger("arxiv._feed")
    feed_log.addHandler(skipped)
    feed_log.propagate = False
    search = arxiv.Search(id_list=list(arxiv_ids), max_results=len(arxiv_ids))
    # arxiv_timeout bounds each wait for a byte; a server trickling bytes would never trip it,
    # so the whole exchange, retries included, gets a deadline too.
    deadline = tries * (config.arxiv_timeout + config.arxiv_delay) + config.arxiv_timeout
    try:
        results = _within(deadline, lambda: list(client.results(search)))
    except TimeoutError:
        raise ArxivUnavailableError(
            f"the arXiv API at {host} did not finish answering within {deadline:g} s; try again later "
            "(arxiv_timeout sets the wait)"
        ) from None
    except MalformedFeedError as exc:
        raise ArxivUnavailableError(
            f"the arXiv API at {host} answered with something that is not an Atom feed ({exc}); check arxiv_url"
        ) from None
    except requests.exceptions.Timeout:
        raise ArxivUnavailableError(
            f"the arXiv API at {host} did not answer within {config.arxiv_timeout:g} s; "
            "try again later (arxiv_timeout sets the wait)"
        ) from None
    except requests.exceptions.ConnectionError as exc:
        raise ArxivUnavailableError(
            f"cannot connect to the arXiv API at {host} ({_connection_reason(exc)}, {tries} tries); "
            "check the network, or arxiv_url in kb.yaml or KB_ARXIV_URL"
        ) from None
    except arxiv.HTTPError as exc:
        # 429 and 5xx pass; any other refusal (404: no API at that address) will not.
        later = "try again later" if exc.status == 429 or exc.status >= 500 else "check arxiv_url"
        answered = f"the arXiv API at {host} answered HTTP {exc.status} ({tries} tries)"
        raise ArxivUnavailableError(f"{answered}; {later}") from None
    except arxiv.ArxivError as exc:
        raise ArxivUnavailableError(f"the arXiv API at {host} failed: {exc.message}") from None
    except requests.exceptions.RequestException as exc:
        raise ArxivUnavailableError(
            f"cannot ask the arXiv API at {config.arxiv_url!r}: {_printable(str(exc))}"
        ) from None
    except (ValueError, TypeError, AttributeError) as exc:
        # arxiv parses each entry's dates and links itself; a feed with a malformed one ends there.
        raise ArxivUnavailableError(
            f"the arXiv API at {host} answered with a feed it could not read ({_printable(str(exc))}); check arxiv_url"
        ) from None
    finally:
        feed_log.removeHandler(skipped)
        feed_log.propagate = True

    found: dict[str, arxiv.Result] = {}
    for result in results:
        if "arxiv.org/api/errors" in result.entry_id:  # how the API reports an id it cannot read
            raise PaperNotFoundError(f"arXiv did not accept the id list: {_printable(result.summary)}")
        arxiv_id = norm_arxiv(result.get_short_id())
        if arxiv_id is not None and arxiv_id in arxiv_ids:
            found[arxiv_id] = result
    missing = [i for i in arxiv_ids if i not in found]
    if missing and skipped.messages:
        raise ArxivUnavailableError(
            f"the arXiv API at {host} answered with an incomplete record ({_printable(skipped.messages[0])}); "
            "check arxiv_url"
        )
    if missing:
        raise PaperNotFoundError(f"arXiv has no paper {' or '.join(missing)}; check the id (it looks like 2304.08485)")
    return found


def _connection_reason(exc: BaseException) -> str:
    """A few words on why a connection failed, from the exceptions chained inside requests'."""
    import socket

    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        err = stack.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, ConnectionRefusedError):
            return "connection refused"
        if isinstance(err, socket.gaierror):
            return "unknown host"
        if isinstance(err, ConnectionResetError):
            return "connection reset"
        stack.extend(
            e for e in (err.__cause__, err.__context__, *(a for a in err.args if isinstance(a, BaseException))) if e
        )
        reason = getattr(err, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return "connection failed"


# ---------------------------------------------------------------------------------------------
# From a record to an entry.

_CODE_URL = re.compile(r"https?://(?:www\.)?(?:github\.com|gitlab\.com)/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_PROJECT_URL = re.compile(r"https?://[A-Za-z0-9-]+\.github\.io(?:/[A-Za-z0-9_./%~+-]*)?")
_ANY_URL = re.compile(r"\S*https?://\S+")
# Venues as they appear in comments and journal references, and how we spell them.
_VENUES = {
    "cvpr": "CVPR",
    "iccv": "ICCV",
    "eccv": "ECCV",
    "wacv": "WACV",
    "bmvc": "BMVC",
    "neurips": "NeurIPS",
    "nips": "NeurIPS",
    "iclr": "ICLR",
    "icml": "ICML",
    "aaai": "AAAI",
    "ijcai": "IJCAI",
    "acl": "ACL",
    "emnlp": "EMNLP",
    "naacl": "NAACL",
    "eacl": "EACL",
    "coling": "COLING",
    "colm": "COLM",
    "tacl": "TACL",
    "tmlr": "TMLR",
    "tpami": "TPAMI",
    "ijcv": "IJCV",
    "jmlr": "JMLR",
    "acm mm": "ACM MM",
    "acmmm": "ACM MM",
    "siggraph": "SIGGRAPH",
    "kdd": "KDD",
    "sigir": "SIGIR",
    "corl": "CoRL",
    "icra": "ICRA",
    "iros": "IROS",
    "miccai": "MICCAI",
    "icassp": "ICASSP",
    "interspeech": "Interspeech",
}
_VENUE_RE = re.compile(
    r"\b(?P<venue>"
    + "|".join(sorted((re.escape(v).replace(r"\ ", r"\s?") for v in _VENUES), key=len, reverse=True))
    # a year as 2024, or as '24 / -24 (a bare "24" is more often a page count)
    + r")(?![a-z])(?:[\s'’),-]*(?P<year>(?:19|20)\d{2})\b|['’-](?P<yy>\d{2})\b)?",
    re.IGNORECASE,
)
# "Submitted to CVPR 2024" names a hope, not a venue.
_NOT_YET = re.compile(
    r"(submitted|submission|under review|review|rejected|preprint|extension of)\W+(\w+\W+){0,3}$", re.I
)


def _printable(text: str, limit: int = 200) -> str:
    """One line without control characters (a server's text may hold terminal escapes)."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def venue_from(journal_ref: str | None, comment: str | None) -> str | None:
    """The venue a paper names ("Accepted to CVPR 2024" -> "CVPR 2024"); a journal reference we
    cannot shorten is kept whole; None when the paper names none (it is then an arXiv preprint)."""
    for source, raw in (("journal_ref", journal_ref), ("comment", comment)):
        if not raw:
            continue
        text = _ANY_URL.sub(" ", _printable(raw, limit=10_000))
        for m in _VENUE_RE.finditer(text):
            if source == "comment" and _NOT_YET.search(text[: m.start()]):
                continue
            venue = _VENUES[re.sub(r"\s+", " ", m["venue"].lower())]
            year = m["year"] or (m["yy"] and f"20{m['yy']}")
            return f"{venue} {year}" if year else venue
        if source == "journal_ref":
            return _printable(raw, limit=120)
    return None


def links_from(arxiv_id: str, summary: str, comment: str | None) -> dict[str, str]:
    """The abstract page, and the code and project pages the authors point to (as Links fields)."""
    text = f"{comment or ''} {summary}"
    links = {"paper": abs_url(arxiv_id)}
    if code := _CODE_URL.search(text):
        links["code"] = code[0].rstrip(".").removesuffix(".git")
    if project := _PROJECT_URL.search(text):
        links["project"] = project[0].rstrip(".")
    return links


def entry_from_result(
    result: arxiv.Result, arxiv_id: str, taken: set[str], *, kind: Kind | None = None, today: _dt.date | None = None
) -> Entry:
    """A pre-filled entry for an arXiv record: facts from arXiv, a guessed kind, no summary."""
    from pydantic import ValidationError

    title = _printable(result.title, limit=1000)
    name = short_name_from_title(title)
    kind = kind or infer_kind(title, name)
    date = result.published.date().isoformat()
    # Cleaned first: a name of control characters alone is no name.
    authors = [person for person in (_printable(a.name) for a in result.authors) if person]
    places = (_printable(raw) for a in result.authors for raw in a.affiliation)
    affiliations = list(dict.fromkeys(place for place in places if place))
    venue = venue_from(result.journal_ref, result.comment) or "arXiv"
    links = links_from(arxiv_id, result.summary, result.comment)
    supplied = ["title", "arxiv", "date", "venue", *(["authors"] if authors else []), "links.paper"]
    supplied += ["affiliations"] * bool(affiliations) + [f"links.{key}" for key in links if key != "paper"]
    try:
        return Entry.model_validate(
            {
                "id": unique_entry_id(title, name, kind, date, taken),
                "title": title,
                "kind": kind,
                "name": name,
                "arxiv": arxiv_id,
                "date": date,
                "venue": venue,
                "authors": authors,
                "affiliations": affiliations,
                "links": links,
                "added": (today or _dt.date.today()).isoformat(),
                "provenance": [{"source": "arxiv", "fields": supplied, "note": f"arXiv API, {result.get_short_id()}"}],
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        raise ArxivUnavailableError(
            f"arXiv's record of {arxiv_id} does not make a valid entry ({where}: {_printable(err['msg'])})"
        ) from None


def entry_from_title(title: str, taken: set[str], *, kind: Kind | None = None, today: _dt.date | None = None) -> Entry:
    """A bare entry for a paper without an arXiv id: its title, a kind, when it was added."""
    from pydantic import ValidationError

    title = _printable(title, limit=1000)
    if not title:
        raise UsageError("--title is empty; give the paper's full title")
    name = short_name_from_title(title)
    kind = kind or infer_kind(title, name)
    try:
        return Entry.model_validate(
            {
                "id": unique_entry_id(title, name, kind, None, taken),
                "title": title,
                "kind": kind,
                "name": name,
                "added": (today or _dt.date.today()).isoformat(),
                "provenance": [{"source": "contributor", "fields": ["title"]}],
            }
        )
    except ValidationError as exc:
        raise UsageError(f"cannot make an entry of that title: {_printable(exc.errors()[0]['msg'])}") from None


# ---------------------------------------------------------------------------------------------
# Suggested tags, shown as comments.


def suggested_tags(
    kb: KB, config: Config, text: str, kind: Kind
) -> tuple[dict[str, list[tuple[str, float]]], str | None]:
    """Ranked tags per taxonomy for a new entry's text (kb.classify), as the kind of entry it is;
    when the classifier cannot run, nothing and a note saying why."""
    from kb.classify import suggest_for_text

    out: dict[str, list[tuple[str, float]]] = {}
    try:
        for taxonomy in ("codev", "yin"):
            ranked = suggest_for_text(kb, config, taxonomy, text, kind=kind.value)
            out[taxonomy] = [(s.tag, float(s.score)) for s in ranked[:SUGGESTIONS_SHOWN]]
    except KBError as exc:
        return {}, f"note: no suggested tags: {exc}"
    return out, None


def render(entry: Entry, suggestions: dict[str, list[tuple[str, float]]], kb: KB) -> str:
    """The entry's YAML (as dump_entry writes it) with a comment block where tags go: suggested
    tags a contributor keeps by uncommenting them, and a reminder to write the summary."""
    from kb.store import dump_entry

    # Only ids of our own taxonomies reach the file, so a comment can never carry stray text.
    shown = {
        tax: [(tag, score) for tag, score in pairs if tax in kb.taxonomies.by_id and tag in kb.taxonomies[tax]]
        for tax, pairs in suggestions.items()
    }
    block = []
    if any(shown.values()):
        block.append("# Suggested tags (by kb, not curated): uncomment the ones that fit, delete the rest.")
        block.append("# tags:")
        for taxonomy, pairs in shown.items():
            if pairs:
                block.append(f"#   {taxonomy}:")
                block += [f"#   - {tag}  # suggested {score:.2f}" for tag, score in pairs]
    else:
        block.append("# tags: add curated taxonomy tags here (codev, yin, mmllms); see entries/taxonomies/.")
    block.append("# summary: a few sentences in our own words (never the abstract).")
    lines = dump_entry(entry).splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(_AFTER_TAGS))
    return "".join(lines[:at]) + "".join(f"{line}\n" for line in block) + "".join(lines[at:])


# ---------------------------------------------------------------------------------------------
# The whole step: check, fetch, draft, write.


def _same_group(kb: KB, kind: Kind) -> list[Entry]:
    """Entries a new one of ``kind`` must not repeat: works for a work, datasets for a dataset
    (a dataset released with a paper may share the paper's arXiv id and title)."""
    return [e for e in kb.entries.values() if e.is_dataset == kind.is_dataset]


def _with_arxiv(entries: list[Entry], arxiv_id: str) -> Entry | None:
    return next((e for e in entries if e.arxiv and norm_arxiv(e.arxiv) == arxiv_id), None)


def _with_title(entries: list[Entry], title: str) -> Entry | None:
    key = norm_title(title)
    return next((e for e in entries if norm_title(e.title) == key), None)


def _refuse_arxiv(kb: KB, arxiv_id: str, kind: Kind | None) -> str | None:
    """Before asking arXiv: refuse an id the KB has (any entry when the kind is still to be
    guessed, else one of the same group); return a note when only the other group has it."""
    candidates = list(kb.entries.values()) if kind is None else _same_group(kb, kind)
    other = _with_arxiv(candidates, arxiv_id)
    if other is not None:
        hint = (
            "; to add the paper's own work entry, pass --kind model, method, analysis or survey"
            if other.is_dataset
            else "; to add a dataset or benchmark the paper released, pass --kind dataset or --kind benchmark"
        )
        if kind is not None:
            hint = ""  # the kind asked for is the one already there
        raise AlreadyInKBError(f"arXiv {arxiv_id} is already in the knowledge base: {_rel(kb, other)}{hint}")
    other = _with_arxiv(list(kb.entries.values()), arxiv_id)
    if other is not None:
        return f"note: {_rel(kb, other)} has the same arXiv id; a paper may give one work and its datasets"
    return None


def _refuse_title(kb: KB, entry: Entry) -> None:
    other = _with_title(_same_group(kb, entry.kind), entry.title)
    if other is not None:
        raise AlreadyInKBError(
            f"a {other.kind.value} of the same title is already in the knowledge base: {_rel(kb, other)}"
        )


def _rel(kb: KB, entry: Entry) -> str:
    return os.path.relpath(kb.paths[entry.id], kb.root)


def plan_new(
    kb: KB,
    config: Config,
    *,
    arxiv_ids: Sequence[str] = (),
    title: str | None = None,
    kind: Kind | None = None,
    suggest: bool = True,
    today: _dt.date | None = None,
) -> Plan:
    """Everything ``kb new`` would write, checked against the KB; nothing is written yet."""
    from kb.store import entry_path

    if bool(arxiv_ids) == bool(title):
        raise UsageError("give one or more arXiv ids, or --title for a paper without one (not both)")
    plan = Plan()
    # Ids of files that do not load count as taken too: a new file must never replace one.
    taken = set(kb.entries) | {
        p.stem for folder in ("works", "datasets") for p in (kb.root / "entries" / folder).glob("*.yaml")
    }
    entries: list[Entry] = []
    texts: list[str] = []  # what suggestions are made from (the abstract helps; it is not stored)
    if title:
        entries.append(entry_from_title(title, taken, kind=kind, today=today))
        texts.append(entries[0].title)
    else:
        ids = list(dict.fromkeys(parse_arxiv_id(a) for a in arxiv_ids))
        plan.notes += [n for n in (_refuse_arxiv(kb, i, kind) for i in ids) if n]
        results = fetch_results(ids, config)
        for arxiv_id in ids:
            entry = entry_from_result(results[arxiv_id], arxiv_id, taken, kind=kind, today=today)
            taken.add(entry.id)
            entries.append(entry)
            texts.append(f"{entry.title}. {results[arxiv_id].summary}")
    for entry in entries:
        _refuse_title(kb, entry)
    for entry, text in zip(entries, texts, strict=True):
        tags: dict[str, list[tuple[str, float]]] = {}
        if suggest:
            tags, note = suggested_tags(kb, config, text, entry.kind)
            if note and note not in plan.notes:
                plan.notes.append(note)
        plan.drafts.append(Draft(entry, render(entry, tags, kb), entry_path(kb.root, entry)))
    return plan


def write_plan(kb: KB, plan: Plan) -> list[Path]:
    """Write every draft atomically; refuse to overwrite a file (another kb new may have won)."""
    from kb.store import write_entry

    written = []
    for draft in plan.drafts:
        rel = os.path.relpath(draft.path, kb.root)
        try:
            written.append(write_entry(kb.root, draft.entry, text=draft.text))
        except FileExistsError:
            raise AlreadyInKBError(f"{rel} already exists; nothing was overwritten") from None
        except OSError as exc:
            raise KBError(f"cannot write {rel}: {exc.strerror or exc}") from None
    return written

"""Asking the arXiv API through the real ``arxiv`` package, for ``kb new``.

``arxiv.Client.query_url_format`` comes from ``Config.arxiv_url``, so tests point it at a local
server. Facts about ``arxiv`` that shape this module: an unknown id gives zero results, not an
error; errors surface only while iterating results; connection errors arrive unwrapped (as
``requests`` exceptions); a feed that is not XML parses to zero results with a logged warning;
and the client sets no timeout, so one is set on its session here.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from kb.chars import BIDI_CONTROLS, INVISIBLE
from kb.config import Config
from kb.errors import KBError, UsageError
from kb.naming import arxiv_id_problem, norm_arxiv
from kb.output.status import say
from kb.output.text import counted, shorten

if TYPE_CHECKING:
    import arxiv
    import requests


T = TypeVar("T")
ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"


class ArxivUnavailableError(KBError):
    """The arXiv API could not be asked, or did not answer with a feed (exit code 1)."""


class PaperNotFoundError(UsageError):
    """arXiv has no paper with the id asked for (exit code 2)."""


def printable(text: str, limit: int = 200) -> str:
    """One line without control characters (a server's text may hold terminal escapes),
    bidirectional controls, invisible characters or noncharacters (which the schema refuses in entries)."""
    text = INVISIBLE.sub("", BIDI_CONTROLS.sub("", text)).replace("\ufffe", "").replace("\uffff", "")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") else ch for ch in text)
    text = " ".join(text.split())
    return shorten(text, limit)


_ARXIV_DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?10\.48550/arxiv\.", re.IGNORECASE)


def parse_arxiv_id(text: str) -> str:
    """An arXiv id without version from what a person typed: "2401.13601v2", "arXiv:2401.13601",
    an arxiv.org /abs/ or /pdf/ address or arXiv's DOI ("10.48550/arXiv.2401.13601", as papers cite
    it), its digits in any script ("２３０４.０８４８５")."""
    typed = _ARXIV_DOI.sub("", unicodedata.normalize("NFKC", text).strip())
    arxiv_id = norm_arxiv("".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in typed))
    if arxiv_id is None:
        raise UsageError(
            f"{printable(text)!r} is not an arXiv id; expected one like 2304.08485 (or an arxiv.org/abs/ address)"
        )
    if problem := arxiv_id_problem(arxiv_id, _dt.date.today()):  # no request for an id that cannot exist
        raise UsageError(problem)
    return arxiv_id


def _host(url: str) -> str:
    """Host and port of an address, without any user and password it holds."""
    return urlsplit(url.replace("{}", "")).netloc.rpartition("@")[2] or url


def _feed_session(timeout: float, reached: list[str]) -> requests.Session:
    """A requests session that waits at most ``timeout`` seconds and refuses anything but an Atom
    feed: ``arxiv`` would read a page of garbage as "no results", the same as an unknown id. It
    adds to ``reached`` the host each request ended at, after any redirect, or failed at."""
    import xml.etree.ElementTree as ET  # expat >= 2.4 bounds entity expansion; nothing external is fetched

    import requests

    class FeedSession(requests.Session):
        def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", timeout)
            kwargs["stream"] = True  # read below up to a bound, not whatever a server sends
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.RequestException as exc:
                if exc.request is not None and isinstance(exc.request.url, str):
                    reached.append(_host(exc.request.url))
                raise
            reached.append(_host(response.url))
            if response.status_code == 200:
                _read_bounded(response)
                try:
                    root = ET.fromstring(response.content)
                except ET.ParseError as exc:
                    raise MalformedFeedError(f"not well-formed XML: {exc}") from None
                if root.tag != ATOM_FEED:
                    raise MalformedFeedError(f"an XML document whose root is <{printable(root.tag, limit=60)}>")
            return response

    return FeedSession()


MAX_FEED_BYTES = 20_000_000  # a paper's record is some kilobytes; a server sending more is broken or hostile


def _read_bounded(response: requests.Response) -> None:
    """Read the body into ``response`` (decompressed: a small gzip may hold gigabytes), or raise
    MalformedFeedError past MAX_FEED_BYTES."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    body = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_FEED_BYTES:
                response.close()
                raise MalformedFeedError(
                    f"over {MAX_FEED_BYTES // 1_000_000} MB, where a paper's record is a few kilobytes"
                )
    except requests.exceptions.ConnectionError as exc:
        # requests calls a wait for the body that timed out a connection error: it is a timeout.
        if exc.args and isinstance(exc.args[0], ReadTimeoutError):
            raise requests.exceptions.ReadTimeout(exc.args[0], request=exc.request) from exc
        raise
    response._content = bytes(body)  # what .content returns from now on, as requests does itself


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


class _Retries(logging.Handler):
    """Says each failed request that ``arxiv`` is about to ask again (it logs "Got error (try N)" at
    debug level just before), so that a minute of retries is not a minute of silence."""

    def __init__(self, said: Callable[[BaseException, int], None]) -> None:
        super().__init__(logging.DEBUG)
        self.said = said

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Got error (try %d): %s" and isinstance(record.args, tuple) and len(record.args) == 2:
            failed_try, error = record.args
            if isinstance(failed_try, int) and isinstance(error, BaseException):
                self.said(error, failed_try + 1)


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
    reached: list[str] = []
    client._session = _feed_session(config.arxiv_timeout, reached)

    def api() -> str:  # "the arXiv API at" the host asked, and where it redirected to
        host = _host(config.arxiv_url)
        moved = reached and reached[-1] != host
        return f"the arXiv API at {host}" + (f" (redirected to {reached[-1]})" if moved else "")

    tries = config.arxiv_retries + 1

    def retrying(error: BaseException, failed: int) -> None:  # try ``failed`` (from 1) failed
        if isinstance(error, arxiv.HTTPError):
            why = f"answered HTTP {error.status}"
        elif isinstance(error, requests.exceptions.ConnectionError):
            why = f"cannot be reached ({_connection_reason(error)})"
        else:
            why = "answered with an empty page"
        say(f"{api()} {why}; asking again (try {failed + 1} of {tries})")
        if isinstance(error, requests.exceptions.RequestException):
            # arxiv counts its delay from the last request that was answered: one that failed before
            # an answer (no connection, no answer in time) would be asked again at once, four tries
            # within 40 ms, which rides out no blip of the network.
            time.sleep(config.arxiv_delay)

    skipped = _SkippedEntries()  # arxiv logs and drops an entry lacking a field; we say so instead
    feed_log = logging.getLogger("arxiv._feed")
    feed_log.addHandler(skipped)
    feed_log.propagate = False
    retries, client_log = _Retries(retrying), logging.getLogger("arxiv")
    level = client_log.level
    client_log.addHandler(retries)
    client_log.setLevel(logging.DEBUG)
    search = arxiv.Search(id_list=list(arxiv_ids), max_results=len(arxiv_ids))
    # arxiv_timeout bounds each wait for a byte; a server trickling bytes would never trip it,
    # so the whole exchange, retries included, gets a deadline too.
    deadline = tries * (config.arxiv_timeout + config.arxiv_delay) + config.arxiv_timeout
    try:
        results = _within(deadline, lambda: list(client.results(search)))
    except TimeoutError:
        raise ArxivUnavailableError(
            f"{api()} did not finish answering within {deadline:g} s; try again later (arxiv_timeout sets the wait)"
        ) from None
    except MalformedFeedError as exc:
        raise ArxivUnavailableError(
            f"{api()} answered with something that is not an Atom feed ({exc}); check arxiv_url"
        ) from None
    except requests.exceptions.Timeout:
        raise ArxivUnavailableError(
            f"{api()} did not answer within {config.arxiv_timeout:g} s; try again later (arxiv_timeout sets the wait)"
        ) from None
    except requests.exceptions.ConnectionError as exc:
        raise ArxivUnavailableError(
            f"cannot connect to {api()} ({_connection_reason(exc)}, {counted(tries, 'try', 'tries')}); "
            "check the network, or arxiv_url in kb.yaml or KB_ARXIV_URL"
        ) from None
    except arxiv.HTTPError as exc:
        # 429 and 5xx pass; any other refusal (404: no API at that address) will not.
        later = "try again later" if exc.status == 429 or exc.status >= 500 else "check arxiv_url"
        answered = f"{api()} answered HTTP {exc.status} ({counted(tries, 'try', 'tries')})"
        raise ArxivUnavailableError(f"{answered}; {later}") from None
    except arxiv.ArxivError as exc:
        raise ArxivUnavailableError(f"{api()} failed: {exc.message}") from None
    except requests.exceptions.TooManyRedirects:
        raise ArxivUnavailableError(f"{api()} redirected over and over (in a loop); check arxiv_url") from None
    except requests.exceptions.RequestException as exc:
        said = re.sub(r"//[^/@\s]*@", "//", str(exc))  # an address in it keeps its password to itself
        raise ArxivUnavailableError(f"cannot ask {api()}: {printable(said)}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        # arxiv parses each entry's dates and links itself; a feed with a malformed one ends there.
        raise ArxivUnavailableError(
            f"{api()} answered with a feed it could not read ({printable(str(exc))}); check arxiv_url"
        ) from None
    finally:
        feed_log.removeHandler(skipped)
        feed_log.propagate = True
        client_log.removeHandler(retries)
        client_log.setLevel(level)

    found: dict[str, arxiv.Result] = {}
    others: list[str] = []  # papers not asked for: a server that is not the arXiv API
    for result in results:
        if "arxiv.org/api/errors" in result.entry_id:  # how the API reports an id it cannot read
            raise PaperNotFoundError(f"arXiv did not accept the id list: {printable(result.summary)}")
        arxiv_id = norm_arxiv(result.get_short_id())
        if arxiv_id is not None and arxiv_id in arxiv_ids:
            found[arxiv_id] = result
        else:
            others.append(printable(result.get_short_id(), limit=40))
    missing = [i for i in arxiv_ids if i not in found]
    if missing and others:
        raise ArxivUnavailableError(
            f"{api()} answered with {', '.join(others[:3])}, not asked for, and without "
            f"{' or '.join(missing)}; check arxiv_url"
        )
    if missing and skipped.messages:
        raise ArxivUnavailableError(
            f"{api()} answered with an incomplete record ({printable(skipped.messages[0])}); check arxiv_url"
        )
    if missing:
        raise PaperNotFoundError(
            f"arXiv has no paper {' or '.join(missing)}; check the id against the paper's arxiv.org/abs/ page"
        )
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

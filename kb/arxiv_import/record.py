"""From an arXiv record, or a title alone, to a pre-filled ``Entry``: venue, links, affiliations
and a unique id. Nothing is copied from the abstract: the summary stays for a person to write."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from typing_extensions import Unpack

from kb.arxiv_import.fetch import ArxivUnavailableError, printable
from kb.errors import KBError, UsageError
from kb.naming import abs_url, infer_kind, short_name_from_title, slugify, unique_entry_id
from kb.schema import Entry, Kind

if TYPE_CHECKING:
    import arxiv


class Asked(TypedDict, total=False):
    """What a contributor may say of a new entry (kb new's --kind, --name, --id), and today's date
    (tests fix it); what is not said is guessed, and ``added`` is today."""

    kind: Kind | None
    name: str | None
    entry_id: str | None
    today: _dt.date | None


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
    # journals as their references spell them out
    "ieee transactions on pattern analysis and machine intelligence": "TPAMI",
    "international journal of computer vision": "IJCV",
    "transactions on machine learning research": "TMLR",
    "journal of machine learning research": "JMLR",
}
_VENUE_RE = re.compile(
    r"\b(?P<venue>"
    + "|".join(sorted((re.escape(v).replace(r"\ ", r"\s?") for v in _VENUES), key=len, reverse=True))
    # a year as 2024, or as '24 / -24 (a bare "24" is more often a page count)
    + r")(?![a-z])(?:[\s'’),-]*(?P<year>(?:19|20)\d{2})\b|['’-](?P<yy>\d{2})\b)?",
    re.IGNORECASE,
)
# "Submitted to CVPR 2024" names a hope, not a venue; "an extended version of our ICCV 2023 paper",
# "withdrawn from", "we thank the reviewers of" and "compared with methods published at" name
# another paper's or none.
_NOT_YET = re.compile(
    r"(submitted|submission|under review|review|reviewers|rejected|preprint|extension of|extended version of"
    r"|journal version of|withdrawn|thank|compared with|compared to|better than|outperform\w*)\W+(\w+\W+){0,3}$",
    re.I,
)
# "Accepted to ACL 2024" outweighs a venue named before it for another reason.
_ACCEPTED = re.compile(r"(accepted|to appear|appears?|published|camera[- ]ready|presented)\W+(\w+\W+){0,3}$", re.I)
_WORKSHOP_AFTER = re.compile(r"^\W*workshops?\b", re.I)  # "CVPR 2024 Workshop on ..."
_WORKSHOP_BEFORE = re.compile(r"\bworkshops?\W+(?:\w+\W+){0,6}(?:at|of|@)\W+$", re.I)  # "Workshop on X at CVPR 2024"
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
# Where a journal reference we cannot shorten turns to volume, issue and pages.
_JOURNAL_DETAILS = re.compile(r",\s*(?:vol|volume|no|issue|pp|pages?)\b.*$", re.I)


def venue_from(journal_ref: str | None, comment: str | None) -> str | None:
    """The venue a paper names ("Accepted to CVPR 2024" -> "CVPR 2024"); a journal reference we
    cannot shorten is kept whole; None when the paper names none (it is then an arXiv preprint)."""
    for source, raw in (("journal_ref", journal_ref), ("comment", comment)):
        if not raw:
            continue
        text = _ANY_URL.sub(" ", printable(raw, limit=10_000))
        found = [m for m in _VENUE_RE.finditer(text) if source != "comment" or not _NOT_YET.search(text[: m.start()])]
        accepted = [m for m in found if _ACCEPTED.search(text[: m.start()])]
        if found:
            m = (accepted or found)[0]
            venue = _VENUES[re.sub(r"\s+", " ", m["venue"].lower())]
            year = m["year"] or (m["yy"] and f"20{m['yy']}")
            if not year and source == "journal_ref":  # "IEEE Transactions on ..., vol. 46, ..., 2024"
                year = (_YEAR.search(text) or [None])[0]
            named = f"{venue} {year}" if year else venue
            workshop = _WORKSHOP_AFTER.search(text[m.end() :]) or _WORKSHOP_BEFORE.search(text[: m.start()])
            return f"{named} Workshop" if workshop else named
        if source == "journal_ref":
            journal = _JOURNAL_DETAILS.sub("", printable(raw, limit=10_000)).strip()
            year = _YEAR.search(raw)
            if journal != printable(raw, limit=10_000) and year and year[0] not in journal:
                journal = f"{journal} {year[0]}"
            return printable(journal, limit=120)
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


def entry_from_result(result: arxiv.Result, arxiv_id: str, taken: set[str], **asked: Unpack[Asked]) -> Entry:
    """A pre-filled entry for an arXiv record: facts from arXiv, a guessed kind (and name and id,
    unless given), no summary."""
    title = printable(result.title, limit=1000)
    date = result.published.date().isoformat()
    # Cleaned first: a name of control characters alone is no name.
    authors = [person for person in (printable(a.name) for a in result.authors) if person]
    places = (printable(raw) for a in result.authors for raw in a.affiliation)
    affiliations = list(dict.fromkeys(place for place in places if place))
    venue = venue_from(result.journal_ref, result.comment) or "arXiv"
    links = links_from(arxiv_id, result.summary, result.comment)
    supplied = ["title", "arxiv", "date", "venue", *(["authors"] if authors else []), "links.paper"]
    supplied += ["affiliations"] * bool(affiliations) + [f"links.{key}" for key in links if key != "paper"]
    facts = {"arxiv": arxiv_id, "date": date, "venue": venue, "authors": authors, "affiliations": affiliations}
    return _prefilled(
        title,
        taken,
        {**facts, "links": links},
        {"source": "arxiv", "fields": supplied, "note": f"arXiv API, {result.get_short_id()}"},
        lambda where, problem: ArxivUnavailableError(
            f"arXiv's record of {arxiv_id} does not make a valid entry ({where}: {problem})"
        ),
        fallback=f"arxiv-{re.sub(r'[^0-9a-z]+', '-', arxiv_id.lower())}",  # a title of no Latin words
        **asked,
    )


def entry_from_title(title: str, taken: set[str], **asked: Unpack[Asked]) -> Entry:
    """A bare entry for a paper without an arXiv id: its title, a kind, a name, an id, when it was
    added."""
    title = printable(title, limit=1000)
    name = asked.get("name")
    if not title:
        raise UsageError("--title is empty; give the paper's full title")
    if not asked.get("entry_id") and re.search(r"[^\W_]", title) and not slugify(f"{title} {name or ''}", fallback=""):
        raise UsageError(
            f"cannot make an id of {title!r}: it has no Latin letters or digits; "
            "give one with --id, such as --id my-model"
        )
    return _prefilled(
        title,
        taken,
        {},
        {"source": "contributor", "fields": ["title", *(["name"] if name else [])]},
        lambda _where, problem: UsageError(f"cannot make an entry of that title: {problem}"),
        **asked,
    )


def _prefilled(
    title: str,
    taken: set[str],
    facts: dict[str, object],
    provenance: dict[str, object],
    failure: Callable[[str, str], KBError],
    fallback: str = "entry",
    **asked: Unpack[Asked],
) -> Entry:
    """An entry of a cleaned title and the facts known of it, with a guessed name, kind and id
    (unless given; an id made here is one no other entry has); ``failure`` words the error if the
    facts make no valid entry (where in the entry, what is wrong)."""
    from pydantic import ValidationError

    name = asked.get("name") or short_name_from_title(title)
    kind = asked.get("kind") or infer_kind(title, name)
    date = facts.get("date")
    entry_id = asked.get("entry_id") or unique_entry_id(
        title, name, kind, date if isinstance(date, str) else None, taken, fallback
    )
    today = asked.get("today")
    try:
        return Entry.model_validate(
            {
                "id": entry_id,
                "title": title,
                "kind": kind,
                "name": name,
                **facts,
                "added": (today or _dt.date.today()).isoformat(),
                "provenance": [provenance],
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise failure(".".join(map(str, err["loc"])), printable(err["msg"]).removeprefix("Value error, ")) from None

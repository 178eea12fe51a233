"""The Atom feed of recently added entries (feed.xml at the site root), written with feedgen."""

from __future__ import annotations

import datetime as dt

from kb.graph import entry_url
from kb.output.text import one_line
from kb.store import KB

FEED_SIZE = 50
FEED_PATH = "feed.xml"


def render_feed(kb: KB, site_url: str = "", size: int = FEED_SIZE) -> str:
    """The ``size`` most recently added entries, newest first; links are absolute when ``site_url`` is set.

    Atom wants absolute ids that never change: tag: URIs of the entries' ids, whether or not a site
    url is set (a reader would show every entry again when one was set later). Atom wants an author
    too, for the feed or for every entry: the feed's is the knowledge base's contributors, and an
    entry with authors names them. feedgen escapes every text it writes as XML; what XML cannot hold
    at all (control characters, which kb check refuses in entry files) is replaced.
    """
    from feedgen.feed import FeedGenerator

    base = site_url.rstrip("/") + "/" if site_url else ""
    added = sorted((e for e in kb.entries.values() if e.added), key=lambda e: (e.added or "", e.id), reverse=True)[
        :size
    ]
    newest = _timestamp(added[0].added) if added else dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    feed = FeedGenerator()
    feed.id("tag:kb,2024:feed")
    feed.title("kb: entries recently added")
    feed.author({"name": "kb contributors"})
    feed.subtitle("New works, datasets and benchmarks in the multimodal LLM knowledge base.")
    feed.link(href=f"{base}{FEED_PATH}" if base else FEED_PATH, rel="self")
    feed.link(href=base or "./", rel="alternate")
    feed.language("en")
    feed.updated(newest)
    # feedgen puts the entry added last first; add the oldest first so the newest leads.
    for entry in reversed(added):
        item = feed.add_entry()
        url = f"{base}{entry_url(entry.id)}"
        item.id(f"tag:kb,2024:entry/{entry.id}")
        item.title(one_line(entry.title))
        item.link(href=url)
        when = _timestamp(entry.added)
        item.updated(when)
        item.published(when)
        facts = [entry.kind.value, entry.date or "undated", entry.venue or ""]
        text = " · ".join(f for f in facts if f) + (f". {entry.summary}" if entry.summary else "")
        item.summary(one_line(text))
        for author in entry.authors[:10]:
            item.author({"name": one_line(author)})
    return feed.atom_str(pretty=True).decode("utf-8")


def _timestamp(date: str | None) -> dt.datetime:
    day = dt.date.fromisoformat(date) if date and len(date) == 10 else dt.date(2000, 1, 1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

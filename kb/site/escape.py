"""Escaping, in one place: every piece of entry text passes through here on its way into a page.

Pages are Markdown with HTML inside (tables, charts, placeholders), so one escaper must be right
in both: ``escape_text`` turns HTML's special characters into entities (as Jinja's autoescape
does) and Markdown's punctuation into numeric character references. References are inert in
Markdown (no emphasis, link, list or table syntax can start from them) and a browser shows them
as the characters they stand for, in Markdown and in raw HTML blocks alike; a backslash escape
would show up literally inside an HTML block.

The Jinja environment (``kb.site.templates``) applies ``escape_text`` to every value a template
prints, so templates never escape by hand; fragments built here are ``Markup`` and pass as they are.
JSON data files go through ``to_json``, which also escapes ``<``, ``>`` and ``&`` so that a data
file can never be read as markup, even when served with the wrong type.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import yaml
from markupsafe import Markup

# Everything Python-Markdown or the extensions we enable give a meaning to, plus HTML's own.
_MARKDOWN_PUNCTUATION = "\\`*_{}[]()#+-.!|~^=:$@"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _MARKDOWN_PUNCTUATION}
_TABLE |= {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#39;"}
# Line breaks would end a table row or a list item; entries never need them inside a page line.
# A tab is a space too: Markdown would widen it to the next tab stop (or a code block, first).
_TABLE |= {ord(c): " " for c in "\t\n\r\x85\u2028\u2029"}


def escape_text(value: object) -> Markup:
    """Any value as inert text for a Markdown page or an HTML fragment inside one."""
    if isinstance(value, Markup):
        return value
    return Markup(str(value).translate(_TABLE))


# Python-Markdown applies its code, backslash-escape and link rules before it sets raw HTML aside,
# so these would act inside an attribute ("https://x/[a](onmouseover=...)" made a second link whose
# text broke out of the href). Percent-encoded, a url means the same and no rule can match.
_ATTR_URL = {ord(c): f"%{ord(c):02X}" for c in "\\`[]()"}


def escape_attr(value: object) -> Markup:
    """A url for an HTML attribute (href, data-src) inside a Markdown page: HTML-escaped, with the
    characters of Markdown's inline code, escapes and links percent-encoded."""
    from markupsafe import escape

    return escape(str(value).translate(_ATTR_URL))


def safe_url(value: str | None) -> str | None:
    """Only the urls the schema takes become links (kb check refuses the rest; a page must not rely
    on it, and must not drop one it took)."""
    from kb.schema import URL_RE

    return value if value and URL_RE.match(value) else None


def front_matter_text(text: str) -> Markup:
    """A page title or tag for the YAML front matter. material prints a title raw into <title> and
    the header, and a tag into search results as HTML, so it is HTML-escaped here; no more, since
    the search index takes tags and an entry page's title as written ("Z&#246;rblax" would never
    match "Zörblax", nor "Don&#x27;t" "Don't"). Quotes stay as they are, as in the text material's
    search takes from a heading: material prints titles and tags only as element text, and escapes
    them itself where it puts one in an attribute. PyYAML writes it as a double-quoted string,
    escaping what YAML cannot hold as it is."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return Markup(yaml.safe_dump(escaped, allow_unicode=True, default_style='"', width=math.inf).rstrip("\n"))


def to_json(data: Any, *, indent: int | None = None) -> str:
    """JSON for the site's data files: compact, UTF-8, and with no character that starts markup."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, separators=(",", ":") if indent is None else None)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

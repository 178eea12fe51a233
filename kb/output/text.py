"""Text for people. Entry text made safe where it is shown: on a terminal line (``one_line``)
and in Markdown (``md_escape``, ``md_url``), the one place that escapes entry text (kb query's
tables and the awesome list both use it); what in a string is not text at all
(``lone_surrogate``); and a count with its noun (``counted``)."""

from __future__ import annotations

import html
import re

# Bidirectional embeddings, overrides and isolates make text display in another order than it
# reads (the "Trojan Source" trick); kb check refuses them in entries, where one unclosed in a title
# reversed what a page showed after it ("CVPR 2024" as "CVPR 4202").
_BIDI = "\u202a-\u202e\u2066-\u2069"
BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
# C0 and C1 controls, the bidirectional marks, and the overrides and isolates.
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f{_BIDI}]")
# Each character that can open inline syntax gets a backslash (brackets cover links and images,
# | table cells, braces attr_list's "{: onclick=...}", which mkdocs enables); parentheses and # are
# left alone since nothing they could start survives escaped brackets and mid-line text. Line-start
# syntax cannot act: the text is one line and never starts a line. Python-Markdown (mkdocs) knows no
# backslash escape for ~ and $ (GitHub's strikethrough and math) and would show the backslash, so
# those two become character references, which every renderer shows as the character.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|{}])")
_MD_REFERENCES = {ord("~"): "&#126;", ord("$"): "&#36;"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def one_line(text: str) -> str:
    """Entry text made safe for one line of a terminal: whitespace runs become one space (a
    newline would break the columns) and control characters (an escape sequence could rewrite
    the screen, a bidirectional override reorder it) become U+FFFD."""
    return _CONTROL.sub("\ufffd", " ".join(text.split()))


def lone_surrogate(text: str) -> int | None:
    """The code point of the first lone surrogate in ``text``, or None. Python carries a byte of a
    command-line argument that was not UTF-8 as one (0xff as U+DCFF), and JSON's "\\ud800" gives
    one; no model, file or terminal can take it as text."""
    found = _SURROGATE.search(text)
    return ord(found.group()) if found else None


def md_escape(text: str) -> str:
    """Entry text as inert Markdown, inline and inside table cells: one line, the HTML characters
    as entities (no tag or entity from an entry is ever live), Markdown punctuation escaped."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line(text), quote=False)).translate(_MD_REFERENCES)


def md_paragraph(text: str) -> str:
    """Text as a paragraph of its own, starting a line: ``md_escape`` (which already makes ``*``,
    ``_``, ``|`` and ``>`` inert), and a backslash before what would open a heading or a list there
    ("# ...", "- ...", "+ ...", "1. ...", "1) ...")."""
    escaped = md_escape(text)
    if number := re.match(r"\d+(?=[.)])", escaped):
        return escaped[: number.end()] + "\\" + escaped[number.end() :]
    return "\\" + escaped if escaped[:1] in ("#", "-", "+") else escaped


def md_url(url: str) -> str:
    """A URL safe inside ``[text](url)`` in a table cell: what could end the link or the cell
    (parentheses, pipes, backslashes, spaces) or open an HTML tag percent-encoded."""
    for char, code in (
        ("(", "%28"),
        (")", "%29"),
        ("|", "%7C"),
        ("\\", "%5C"),
        (" ", "%20"),
        ("<", "%3C"),
        (">", "%3E"),
    ):
        url = url.replace(char, code)
    return url


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and its noun, in the singular for one: "1 problem", "3 problems", "2 entries"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"

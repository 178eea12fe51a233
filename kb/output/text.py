"""Text for people. Entry text made safe where it is shown: on a terminal line (``one_line``)
and in Markdown (``md_escape``, ``md_url``), the one place that escapes entry text (kb query's
tables and the awesome list both use it); what in a string is not text at all
(``lone_surrogate``); and a count with its noun (``counted``)."""

from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from typing import Any

from kb.chars import BIDI

# C0 and C1 controls, the bidirectional marks, and the overrides and isolates (kb.chars).
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f{BIDI}]")
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


def shorten(text: str, limit: int) -> str:
    """``text`` of at most ``limit`` characters, its end an ellipsis when it was cut (a value quoted
    back in a message, where terminal columns do not matter: ``clip`` counts those)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def no_controls(text: str) -> str:
    """Text that is one line already (a message), made safe for a terminal as ``one_line`` makes
    entry text, but with its spacing kept (a message may quote a value whose spaces matter)."""
    return _CONTROL.sub("\ufffd", text)


def lone_surrogate(text: str) -> int | None:
    """The code point of the first lone surrogate in ``text``, or None. Python carries a byte of a
    command-line argument that was not UTF-8 as one (0xff as U+DCFF), and JSON's "\\ud800" gives
    one; no model, file or terminal can take it as text."""
    found = _SURROGATE.search(text)
    return ord(found.group()) if found else None


def score_text(score: float) -> str:
    """A suggestion's score as every command and page shows it: cut (not rounded) to two places,
    so that a leaf just below a threshold never shows at it (0.2955 is 0.29, beside 0.3)."""
    return f"{math.floor(score * 100 + 1e-9) / 100:.2f}"


def not_text(value: str) -> str | None:
    """Why a value given on the command line is not text (a byte that was not UTF-8, a lone
    surrogate), or None when it is."""
    code = lone_surrogate(value)
    if code is None:
        return None
    if 0xDC80 <= code <= 0xDCFF:  # how Python carries a byte of an argument that was not UTF-8
        return f"holds the byte 0x{code - 0xDC00:02x}, which is not UTF-8 text"
    return f"holds a lone surrogate (\\u{code:04x}), which is not text"


def folded(text: str) -> str:
    """Text as a search compares it: NFKC (a composed "é" and an "e" with its accent apart are one)
    and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


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


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, with an ellipsis when cut (a CJK character takes
    two columns, a combining accent none)."""
    from wcwidth import wcswidth, wcwidth

    if 0 <= wcswidth(text) <= width:  # -1: a character of no known width; count them one by one
        return text
    kept, used = [], 0
    for char in text:
        used += max(wcwidth(char), 0)
        if used > max(1, width - 1):
            break
        kept.append(char)
    return "".join(kept) + "…"


# JSON writes these raw inside strings (ensure_ascii=False), where they are valid JSON but not
# harmless: U+2028, U+2029 and NEL end a line for str.splitlines and many editors (a JSON Lines
# file of two lines read as four), and C1 controls and bidirectional controls act on a terminal.
_JSON_UNSAFE = {
    c: f"\\u{c:04x}" for c in [*range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def json_text(data: object, **options: Any) -> str:
    """``json.dumps`` with text as it is (not \\u-escaped), but for what would split a line or act
    on a terminal, which is escaped: every reader of JSON reads the same data."""
    return json.dumps(data, ensure_ascii=False, **options).translate(_JSON_UNSAFE)

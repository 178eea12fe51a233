"""The characters entry text may not hold, in one place: the schema refuses them in every value
(so kb new, tools/apply_tags.py and the JSON and CSV readers cannot make an entry kb check then
refuses), kb.yamlpos says where in a file, and kb.output.text keeps them off a terminal.

This module imports nothing, so every other one may import it.
"""

from __future__ import annotations

import re

# Bidirectional embeddings, overrides and isolates make text display in another order than it
# reads (the "Trojan Source" trick); one unclosed in a title reversed what a page showed after it
# ("CVPR 2024" as "CVPR 4202"). Text in any script shows rightly without them.
BIDI = "\u202a-\u202e\u2066-\u2069"
BIDI_CONTROLS = re.compile(f"[{BIDI}]")
# C0 and C1 controls but the tab and the line ends (a summary may hold those; the one-line fields
# are held to LINE_BREAKS), lone surrogates, and the noncharacters U+FFFE and U+FFFF: a terminal
# obeys an escape sequence, and XML (the feed, the sitemap) cannot hold them.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# Characters that show as nothing, pasted in with a title from a PDF or a web page: the soft hyphen,
# the zero-width space, the word joiner and a byte-order mark inside the text. A title holding one
# is another title to a comparison ("Base\u00adlines" is not "Baselines") and to a search, though no
# one can see the difference. (The zero-width joiner and non-joiner are left: scripts and emoji
# need them.)
INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060\ufeff]")
# What ends a line: "\n", "\r", NEL, and Unicode's line and paragraph separators.
LINE_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")


def blank(text: str) -> bool:
    """Whether ``text`` shows nothing: whitespace and INVISIBLE characters alone (a zero-width space,
    which str.strip keeps, is no more a title than a space is)."""
    return not INVISIBLE.sub("", text).strip()


def forbidden(text: str) -> str | None:
    """Why ``text`` may not be entry text, in words, or None; line breaks are the caller's to judge."""
    found = forbidden_char(text)
    return found[1] if found else None


def forbidden_char(text: str) -> tuple[str, str] | None:
    """The character ``forbidden`` speaks of, and why, or None."""
    if bad := UNPRINTABLE.search(text):
        why = "a control character or noncharacter"
    elif bad := BIDI_CONTROLS.search(text):
        why = "a bidirectional control, which makes the text show in another order than it is stored"
    elif bad := INVISIBLE.search(text):
        why = "invisible, as pasted from a PDF or a web page: it makes the text differ from the same words typed"
    else:
        return None
    return bad.group(), f"character U+{ord(bad.group()):04X} ({why}) is not allowed; remove it"


def whole_number(text: str) -> int:
    """``int(text)`` of an integer a file wrote; one of more digits than Python reads from text
    (4300 unless PYTHONINTMAXSTRDIGITS says otherwise) raises ValueError saying so in kb's words
    (``long_number``), not with Python's advice to call sys.set_int_max_str_digits()."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(long_number(text)) from None


def long_number(text: str) -> str:
    """What is wrong with an integer too long to read."""
    return f"a number of {sum(c.isdigit() for c in text)} digits; no field takes a number that long"

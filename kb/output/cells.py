"""The CSV cell codec shared by every CSV kb writes (kb query --format csv, kb export csv).

A record is flattened to dotted columns (``tags.codev``); a list of strings is one cell, its
items joined with "; ". A list that joining would not split back into the same items (an item
that is empty, holds ";" or has spaces at its ends, or a cell that would start with "[") is
written as a JSON array instead. An empty cell is an absent value (None, or an empty list).

A cell a spreadsheet would run as a formula (one starting with "=", "+", "-" or "@", such as a
name "=HYPERLINK(...)") is written after an apostrophe, which spreadsheets take as "text follows";
so is one that starts with an apostrophe, so that ``unguard`` can take exactly one off and every
cell reads back as it was. A number ("-1", "+0.5") needs no guard and gets none.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

LIST_SEPARATOR = "; "


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become dotted keys: {"tags": {"yin": [...]}} -> {"tags.yin": [...]}."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys nested again: {"tags.yin": [...]} -> {"tags": {"yin": [...]}}."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        here = out
        for part in parents:
            here = here.setdefault(part, {})
        here[last] = value
    return out


def list_cell(items: Sequence[str]) -> str:
    """A list of strings as one cell: "a; b", or a JSON array when that would not read back."""
    if not items:
        return ""
    joined = LIST_SEPARATOR.join(items)
    plain = all(item and item == item.strip() and ";" not in item for item in items)
    return joined if plain and not joined.startswith("[") else json.dumps(list(items), ensure_ascii=False)


def parse_list_cell(cell: str) -> list[str]:
    """The items of a cell written by ``list_cell`` (a hand-written "a;b" reads as well).

    Raises json.JSONDecodeError for a cell that starts with "[" but is no JSON array."""
    if cell.startswith("["):
        return json.loads(cell)
    return [item.strip() for item in cell.split(";")] if cell else []


_FORMULA_START = ("=", "+", "-", "@")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$")


def guard(cell: str) -> str:
    """A cell no spreadsheet runs as a formula (see the module's docstring)."""
    if cell.startswith("'") or (cell.startswith(_FORMULA_START) and not _NUMBER.match(cell)):
        return "'" + cell
    return cell


def unguard(cell: str) -> str:
    """A cell as it was before ``guard``."""
    if cell.startswith("'") and (cell[1:].startswith((*_FORMULA_START, "'"))):
        return cell[1:]
    return cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A header row and the rows as CSV text: RFC 4180, quoted where needed, "\\r\\n" line ends.

    The line end must be "\\r\\n": the csv module quotes a cell only for the characters of its
    line end, and every CSV reader ends a line at a bare "\\r" too, so with "\\n" a carriage
    return inside a title would split its row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([guard(cell) for cell in row] for row in rows)
    return buffer.getvalue()

"""Entries as JSON and CSV files that read back as exactly the same entries.

JSON is the entry model itself (defaults left out, as in the YAML files) inside a small
wrapper that names the format and its version. CSV is one row per entry, one column per leaf
field of the schema (``links.code``, ``tags.codev``...), so it opens in a spreadsheet; the
columns are derived from the schema, so a new field gets a column without touching this file.

Cells: text as it is; a list of strings as kb.output.cells writes it (joined with "; ", or a
JSON array where that would not read back); a list of mappings (provenance) is always a JSON
array. An empty cell is an absent field.
"""

from __future__ import annotations

import csv
import json
import typing
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kb.errors import KBError
from kb.output.cells import csv_text, flatten, list_cell, parse_list_cell, unflatten, unguard
from kb.output.text import json_text
from kb.schema import Entry, models_in
from kb.store import error_texts

FORMAT_NAME = "kb-entries"
FORMAT_VERSION = 1


class ExportReadError(KBError):
    """An export file that cannot be read back as entries."""


# ---------------------------------------------------------------------------------- JSON


def entry_data(entry: Entry) -> dict[str, Any]:
    """An entry as JSON-ready data: schema field order, defaults left out."""
    return entry.model_dump(mode="json", exclude_defaults=True)


def to_json(entries: Iterable[Entry]) -> str:
    """``{"format": "kb-entries", "version": 1, "entries": [...]}``, one entry per object."""
    data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "entries": [entry_data(e) for e in entries]}
    return json_text(data, indent=1) + "\n"


def read_json_export(path: str | Path) -> list[Entry]:
    """The entries of a file written by ``to_json``; raise ExportReadError in one sentence if it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportReadError(f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ExportReadError(f'{path} is not a kb export (no "format": "{FORMAT_NAME}")')
    if data.get("version") != FORMAT_VERSION:
        raise ExportReadError(
            f"{path} is a kb export of version {data.get('version')!r}; this kb reads {FORMAT_VERSION}"
        )
    return [_validated(item, f"{path}: entry {i + 1}") for i, item in enumerate(data.get("entries", []))]


def _validated(data: object, where: str) -> Entry:
    try:
        return Entry.model_validate(data)
    except ValidationError as exc:
        raise ExportReadError(f"{where}: {error_texts(exc, Entry)[0]}") from None


# ---------------------------------------------------------------------------------- CSV


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(annotation) is list


def _items_are_models(annotation: Any) -> bool:
    (item,) = typing.get_args(annotation)
    return isinstance(item, type) and issubclass(item, BaseModel)


def csv_columns(model: type[BaseModel] = Entry, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted column name, cell kind) for every leaf field; kind is "text", "list" or "json"."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        sub = next(iter(models_in(annotation, in_containers=False)), None)  # Links, Scale | None
        if sub is not None:
            out.extend(csv_columns(sub, f"{prefix}{name}."))
        elif _is_list(annotation):
            out.append((f"{prefix}{name}", "json" if _items_are_models(annotation) else "list"))
        else:
            out.append((f"{prefix}{name}", "text"))
    return out


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False) if value else ""
    if kind == "list":
        return list_cell([item.value if isinstance(item, Enum) else str(item) for item in value])
    return value.value if isinstance(value, Enum) else str(value)


def to_csv(entries: Iterable[Entry]) -> str:
    """One row per entry under a header of the schema's dotted field names."""
    columns = csv_columns()
    flats = (flatten(entry_data(entry)) for entry in entries)
    return csv_text(
        [name for name, _ in columns], ([_cell(flat.get(name), kind) for name, kind in columns] for flat in flats)
    )


def _parse_cell(cell: str, kind: str) -> Any:
    if kind == "json":
        return json.loads(cell)
    if kind == "list":
        return parse_list_cell(cell)
    return cell


def read_csv_export(path: str | Path) -> list[Entry]:
    """The entries of a file written by ``to_csv``; raise ExportReadError in one sentence if it is not one."""
    path = Path(path)
    columns = dict(csv_columns())
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportReadError(f"cannot read {path} as CSV ({exc})") from None
    if not rows:
        raise ExportReadError(f"{path} is empty; expected a header row of entry fields")
    header = rows[0]
    unknown = [name for name in header if name not in columns]
    if unknown or "id" not in header:
        what = f"unknown column {unknown[0]!r}" if unknown else "no id column"
        raise ExportReadError(f"{path} is not a kb CSV export ({what})")
    entries = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ExportReadError(f"{path}:{line}: expected {len(header)} cells, found {len(row)}")
        flat: dict[str, Any] = {}
        for name, cell in zip(header, row, strict=True):
            if cell == "":
                continue  # an absent field: the schema's default (or None) applies
            try:
                flat[name] = _parse_cell(unguard(cell), columns[name])
            except json.JSONDecodeError as exc:
                raise ExportReadError(f"{path}:{line}: {name}: not a JSON array ({exc.msg})") from None
        entries.append(_validated(unflatten(flat), f"{path}:{line}"))
    return entries

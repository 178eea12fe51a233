"""Renderers: a list of entries (or one report) as text for people or data for programs.

``entry_record`` is the one shape an entry takes outside its YAML file (kb query, kb similar,
kb search, kb export); ``render_entries`` writes a list of them in every format of ``FORMATS``.
Every renderer is deterministic: the same entries give the same text, byte for byte.

CSV cells are those of kb.output.cells (dotted columns such as ``tags.codev``, lists joined with
"; " or written as JSON arrays, an empty cell an absent value); suggestions are written
"tag (score)". ``read_csv`` turns such text back into the same records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kb.output.cells import LIST_SEPARATOR, csv_text, flatten, list_cell, parse_list_cell, unflatten, unguard
from kb.output.text import clip, json_text, md_escape, md_url, one_line

if TYPE_CHECKING:
    from kb.schema import Entry
    from kb.store import KB

FORMATS = ("table", "json", "jsonl", "csv", "yaml", "bibtex", "markdown")

# Every column of the CSV, in order, and how to read it back: str (None when empty), list of
# str, int, float, or "suggested" (a list of {"tag", "score"}).
COLUMNS: dict[str, str] = {
    "id": "str",
    "title": "str",
    "kind": "str",
    "name": "str",
    "aliases": "list",
    "date": "str",
    "year": "int",
    "venue": "str",
    "arxiv": "str",
    "url": "str",
    "code": "str",
    "authors": "list",
    "affiliations": "list",
    "modalities.input": "list",
    "modalities.output": "list",
    "tags.codev": "list",
    "tags.yin": "list",
    "tags.mmllms.functional": "list",
    "tags.mmllms.design": "list",
    "relations.trained_on": "list",
    "relations.evaluated_on": "list",
    "relations.introduces": "list",
    "relations.builds_on": "list",
    "summary": "str",
}
SUGGESTED_COLUMNS = {"suggested.codev": "suggested", "suggested.yin": "suggested"}
# The zero-shot fallback's scores, apart from the suggestions: only in a knowledge base with too few
# curated labels to learn from, and only for the taxonomies concerned (KB.zero_shot_suggestions).
ZERO_SHOT_COLUMNS = {"zero_shot.codev": "suggested", "zero_shot.yin": "suggested"}
EXTRA_COLUMNS = {"score": "float"}  # kb similar and kb search rank by it
_KINDS = {**COLUMNS, **SUGGESTED_COLUMNS, **ZERO_SHOT_COLUMNS, **EXTRA_COLUMNS}


def paper_url(entry: Entry) -> str | None:
    """The paper's page: its links.paper, else its arXiv abstract page."""
    if entry.links.paper:
        return entry.links.paper
    from kb.naming import abs_url

    return abs_url(entry.arxiv) if entry.arxiv else None


def entry_record(entry: Entry, kb: KB, *, with_suggested: bool = False) -> dict[str, Any]:
    """An entry as plain JSON-able data, keys in ``COLUMNS`` order (nested where dotted).

    ``tags`` are the curated tags as written (``mmllms`` keeps its two facets); with
    ``with_suggested``, ``suggested`` holds its suggested tags (``suggested_record``), best first,
    as ``{"codev": [{"tag", "score"}], "yin": [...]}`` (empty lists when none), and, only in a
    knowledge base with too few curated labels to learn from, ``zero_shot`` the zero-shot scores of
    the taxonomies concerned, which are not suggestions (``zero_shot_record``).
    """
    record: dict[str, Any] = {
        "id": entry.id,
        "title": entry.title,
        "kind": entry.kind.value,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "date": entry.date,
        "year": entry.year,
        "venue": entry.venue,
        "arxiv": entry.arxiv,
        "url": paper_url(entry),
        "code": entry.links.code,
        "authors": list(entry.authors),
        "affiliations": list(entry.affiliations),
        "modalities": {
            "input": [m.value for m in entry.modalities.input],
            "output": [m.value for m in entry.modalities.output],
        },
        "tags": {
            "codev": list(entry.tags.codev),
            "yin": list(entry.tags.yin),
            "mmllms": {"functional": list(entry.tags.mmllms.functional), "design": list(entry.tags.mmllms.design)},
        },
        "relations": {
            rel: list(getattr(entry.relations, rel))
            for rel in ("trained_on", "evaluated_on", "introduces", "builds_on")
        },
        "summary": entry.summary,
    }
    if with_suggested:
        record["suggested"] = suggested_record(kb, entry.id)
        if kb.zero_shot_suggestions:  # left out otherwise: a knowledge base that learns reads as it did
            record["zero_shot"] = zero_shot_record(kb, entry.id)
    return record


def suggested_record(kb: KB, entry_id: str) -> dict[str, list[dict[str, Any]]]:
    """An entry's suggested tags as data, ``{"codev": [{"tag", "score"}], "yin": [...]}``: those a
    tag filter with --suggested matches and the site shows as suggested (kb.tags.learned_tags); an
    empty list in a taxonomy whose scores are zero-shot (``zero_shot_record``)."""
    from kb.tags import learned_tags

    return {
        tax: [{"tag": tag, "score": round(float(score), 4)} for tag, score in ranked]
        for tax, ranked in learned_tags(kb, entry_id).items()
    }


def zero_shot_record(kb: KB, entry_id: str) -> dict[str, list[dict[str, Any]]]:
    """An entry's zero-shot scores as data, ``{"codev": [{"tag", "score"}]}``, only for the taxonomies
    with too few curated labels to learn from (kb.tags.zero_shot_tags): shares of one across the
    leaves, none of them suggested, so --suggested counts none of them."""
    from kb.tags import zero_shot_tags

    return {
        tax: [{"tag": tag, "score": round(float(score), 4)} for tag, score in ranked]
        for tax, ranked in zero_shot_tags(kb, entry_id).items()
    }


# ---------------------------------------------------------------------------------------------
# CSV


_SUGGESTION = re.compile(r"^(?P<tag>.+) \((?P<score>-?[0-9.eE+-]+)\)$")


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "suggested":
        return LIST_SEPARATOR.join(f"{s['tag']} ({s['score']})" for s in value)
    if kind == "list":
        return list_cell([str(v) for v in value])
    return str(value)


def _parse_cell(text: str, kind: str) -> Any:
    if kind == "list":
        return parse_list_cell(text)
    if kind == "suggested":
        items = []
        for part in text.split(LIST_SEPARATOR) if text else []:
            m = _SUGGESTION.match(part)
            if not m:
                raise ValueError(f"expected 'tag (score)', got {part!r}")
            items.append({"tag": m["tag"], "score": float(m["score"])})
        return items
    if not text:
        return None
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    return text


def columns_for(
    records: Sequence[Mapping[str, Any]],
    *,
    suggested: bool = False,
    scored: bool = False,
    zero_shot: Collection[str] = (),
) -> list[str]:
    """The CSV header: every column, then the suggestion, zero-shot (of the taxonomies ``zero_shot``
    names) and score columns when asked for (so that a header does not change with whether anything
    matched) or when the records have them."""
    flat_keys = {key for r in records for key in flatten(r)}
    return [
        *COLUMNS,
        *(c for c in SUGGESTED_COLUMNS if suggested or c in flat_keys),
        *(c for c in ZERO_SHOT_COLUMNS if c.partition(".")[2] in zero_shot or c in flat_keys),
        *(c for c in EXTRA_COLUMNS if scored or c in flat_keys),
    ]


def to_csv(
    records: Sequence[Mapping[str, Any]],
    *,
    suggested: bool = False,
    scored: bool = False,
    zero_shot: Collection[str] = (),
) -> str:
    """Records as CSV: one header row, one row per record, stable column order (``COLUMNS``)."""
    header = columns_for(records, suggested=suggested, scored=scored, zero_shot=zero_shot)
    flats = (flatten(record) for record in records)
    return csv_text(header, ([_cell(flat.get(column), _KINDS[column]) for column in header] for flat in flats))


def read_csv(text: str) -> list[dict[str, Any]]:
    """The records written by ``to_csv``, nested again and typed as ``COLUMNS`` says."""
    rows = csv.DictReader(io.StringIO(text))
    return [unflatten({k: _parse_cell(unguard(v), _KINDS.get(k, "str")) for k, v in row.items()}) for row in rows]


# ---------------------------------------------------------------------------------------------
# Lists of entries


def render_entries(
    entries: Iterable[Entry],
    kb: KB,
    fmt: str,
    *,
    with_suggested: bool = False,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
    width: int | None = None,
) -> str:
    """``entries`` in format ``fmt`` (one of ``FORMATS``), ending with a newline unless empty.

    ``extra`` adds fields per entry id (kb similar and kb search add ``score``, and so a score
    column, whether or not anything matched); ``width`` clips the table's titles to fit (default:
    no clipping).
    """
    entries = list(entries)
    if fmt == "bibtex":
        from kb.bibtex import to_bibtex

        return to_bibtex(entries)
    records = []
    for entry in entries:
        record = entry_record(entry, kb, with_suggested=with_suggested)
        record.update((extra or {}).get(entry.id, {}))
        records.append(record)
    if fmt == "json":
        return to_json(records)
    if fmt == "jsonl":
        return "".join(json_text(r) + "\n" for r in records)
    if fmt == "csv":
        zero_shot = kb.zero_shot_suggestions if with_suggested else frozenset()
        return to_csv(records, suggested=with_suggested, scored=extra is not None, zero_shot=zero_shot)
    if fmt == "yaml":
        return to_yaml(records)
    if fmt == "markdown":
        return markdown_table(records, scored=extra is not None)
    if fmt == "table":
        return text_table(records, width=width)
    from kb.errors import UsageError
    from kb.query import did_you_mean

    raise UsageError(f"unknown format {fmt!r}{did_you_mean(fmt, FORMATS) or '; expected one of ' + ', '.join(FORMATS)}")


def to_yaml(data: Any) -> str:
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def to_json(data: Any) -> str:
    return json_text(data, indent=2) + "\n"


def render_data(data: Any, fmt: str) -> str:
    """A report's data (kb show, tree, stats, gaps) as ``json`` or ``yaml``."""
    return to_yaml(data) if fmt == "yaml" else to_json(data)


def text_table(records: Sequence[Mapping[str, Any]], *, width: int | None = None) -> str:
    """id, kind, date, (score,) title in aligned columns; titles clipped to ``width`` if given."""
    if not records:
        return ""
    scored = any("score" in r for r in records)
    rows = [
        [
            one_line(r["id"]),
            r["kind"],
            r["date"] or "",
            *([f"{r['score']:.3f}" if r.get("score") is not None else ""] if scored else []),
            one_line(r["title"]),
        ]
        for r in records
    ]
    header = ["id", "kind", "date", *(["score"] if scored else []), "title"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    left = sum(widths) + 2 * len(widths)
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)]
        title = clip(row[-1], max(20, width - left)) if width else row[-1]
        lines.append(("  ".join(cells) + "  " + title).rstrip())
    return "\n".join(lines) + "\n"


def markdown_table(records: Sequence[Mapping[str, Any]], *, scored: bool = False) -> str:
    """A GitHub-flavoured Markdown table: id, title (linked to the paper), kind, date, venue, and
    the score when asked for or the records have one (kb similar, kb search)."""
    scored = scored or any("score" in r for r in records)
    header = ["id", "title", "kind", "date", "venue", *(["score"] if scored else [])]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for r in records:
        title = md_escape(r["title"])
        if r.get("url"):
            title = f"[{title}]({md_url(r['url'])})"
        cells = [md_escape(r["id"]), title, r["kind"], md_escape(r["date"] or ""), md_escape(r["venue"] or "")]
        if scored:
            cells.append(f"{r['score']:.3f}" if r.get("score") is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

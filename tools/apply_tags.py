"""Give many entries curated tags or relations at once, from a JSON Lines file a curator wrote.

    python tools/apply_tags.py LABELS.jsonl [--root DIR] [--note TEXT] [--replace] [--dry-run]

Each line names an entry and the leaves it gets in one or more taxonomies, or the entries it points
at by one or more relations (``trained_on``, ``evaluated_on``, ``builds_on``, ``introduces``), with
an optional ``note`` on why::

    {"id": "llava", "codev": ["data4model/scaling/up/acquisition"], "yin": ["instruction-tuning"], "note": "..."}
    {"id": "llava-1-5", "evaluated_on": ["gqa", "pope"], "builds_on": ["llava"], "note": "Table 4"}

The tags of each taxonomy named, and the targets of each relation named, replace none that the entry
already has: an entry that carries them is refused unless ``--replace``, which also takes the
replaced ones out of the provenance items that named them. Each changed entry gains a
``contributor`` provenance item naming the fields and the note (``--note`` first, then the line's).

Every line is checked before any file is written (an unknown id, a section or unknown node where a
leaf is expected, a relation to no entry or to an entry of the wrong kind, a leaf, target or id
given twice, ...), each problem named by file, line and field;
only then are the entries written, one by one, each whole or not at all. ``kb check`` reads them
back like any other.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere: use this checkout's kb
    sys.path.insert(0, str(ROOT))

from pydantic import ValidationError  # noqa: E402

from kb.check import relation_problems, tag_problem  # noqa: E402
from kb.errors import KBError, ProblemsError  # noqa: E402
from kb.schema import RELATION_TYPES, Entry  # noqa: E402
from kb.store import KB, dump_entry, error_texts, load_kb, write_text_atomic  # noqa: E402
from kb.taxonomy import TOPIC_TAXONOMIES as TAXONOMIES  # noqa: E402  (their tags are lists of leaf ids)

FIELDS = frozenset({"id", *TAXONOMIES, *RELATION_TYPES, "note"})


def planned(kb: KB, path: Path, *, note: str | None, replace: bool) -> tuple[list[Entry], list[str]]:
    """The entries as they will be written, and every problem found in the labels file."""
    problems: list[str] = []
    changed: dict[str, Entry] = {}
    earlier: dict[str, int] = {}  # id -> the line that gave it first, whatever was wrong with that line
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KBError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        at = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{at}:{exc.colno}: not JSON ({exc.msg})")
            continue
        found = _row_problems(kb, row, earlier)
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            earlier.setdefault(row["id"], number)
        if not found:
            entry, found = _labelled(kb, kb.entries[row["id"]], row, note=note, replace=replace)
            if entry is not None and not found:
                changed[entry.id] = entry
        problems += [f"{at}: {problem}" for problem in found]
    return list(changed.values()), problems


def _row_problems(kb: KB, row: object, earlier: dict[str, int]) -> list[str]:
    """What is wrong with a line's object as a whole: its shape, its id."""
    if not isinstance(row, dict) or not isinstance(row.get("id"), str):
        return ['expected an object with an "id" string']
    unknown = sorted(set(row) - FIELDS)
    if unknown:
        return [f"{unknown[0]}: unknown field; expected {', '.join(sorted(FIELDS))}"]
    if not isinstance(row.get("note", ""), str):
        return ["note: expected a string"]
    if row["id"] in earlier:
        return [f"id: {row['id']!r} is line {earlier[row['id']]}'s too; give an entry's tags on one line"]
    if row["id"] not in kb.entries:
        return [f"id: no entry {row['id']!r} in {kb.root / 'entries'}"]
    if not any(t in row for t in (*TAXONOMIES, *RELATION_TYPES)):
        return [f"expected tags of {' or '.join(TAXONOMIES)}, or relations ({', '.join(RELATION_TYPES)})"]
    return []


def _labelled(kb: KB, entry: Entry, row: dict, *, note: str | None, replace: bool) -> tuple[Entry | None, list[str]]:
    """``entry`` with the line's tags and relations and a provenance item for them, and their problems.

    With ``replace``, a source that set the tags or relations replaced no longer names them in its
    provenance."""
    problems: list[str] = []
    data = entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    tags = data.setdefault("tags", {})
    given = [t for t in TAXONOMIES if t in row]
    relations = data.setdefault("relations", {})
    linked = [r for r in RELATION_TYPES if r in row]
    fields = [f"tags.{t}" for t in given] + [f"relations.{r}" for r in linked]

    def list_given(key: str, items: str, have: dict, what: str) -> tuple[list[str], str | None]:
        """The line's list under ``key``, or why it cannot be used: not a non-empty list of strings,
        or one the entry already has (``have``) without ``replace``."""
        listed = row[key]
        if not isinstance(listed, list) or not listed or not all(isinstance(x, str) for x in listed):
            return [], f"{key}: expected a non-empty list of {items}"
        if have.get(key) and not replace:
            return [], f"{key}: {entry.id} already has {what}; --replace to change them"
        return listed, None

    for relation in linked:
        targets, problem = list_given(relation, "entry ids", relations, f"{relation} relations")
        if problem:
            problems.append(problem)
            continue
        relations[relation] = targets
    for taxonomy in given:
        leaves, problem = list_given(taxonomy, "leaf ids", tags, f"curated {taxonomy} tags")
        if problem:
            problems.append(problem)
            continue
        problems += [f"{taxonomy}: {why}" for leaf in leaves if (why := tag_problem(kb.taxonomies[taxonomy], leaf))]
        if len(set(leaves)) < len(leaves):
            problems.append(f"{taxonomy}: a leaf is listed twice; keep one")
        tags[taxonomy] = leaves
    kept = []
    for item in data.get("provenance", []):
        rest = [f for f in item.get("fields", []) if f not in fields]
        if rest or not item.get("fields"):  # an item that named only the replaced fields goes
            kept.append({**item, "fields": rest})
    data["provenance"] = kept
    said = "; ".join(n for n in (note, row.get("note")) if n)
    data["provenance"].append({"source": "contributor", "fields": fields, **({"note": said} if said else {})})
    try:
        labelled = Entry.model_validate(data)
    except ValidationError as exc:
        ours = f"provenance[{len(data['provenance']) - 1}].note: "  # the note this line (or --note) gave
        return None, problems + [
            f"note: {t.removeprefix(ours)}" if t.startswith(ours) else t for t in error_texts(exc, Entry)
        ]
    given_relations = tuple(f"relations.{r}" for r in linked)
    problems += [p for p in relation_problems(labelled, kb) if p.startswith(given_relations)]
    return labelled, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "labels", type=Path, help="JSON Lines: id, codev and/or yin leaf lists and/or relation lists, note"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="knowledge base root (holds mkdocs.yml)")
    parser.add_argument("--note", help="said in every new provenance item, before the line's own note")
    parser.add_argument("--replace", action="store_true", help="replace curated tags or relations an entry already has")
    parser.add_argument("--dry-run", action="store_true", help="check the labels, write nothing")
    args = parser.parse_args(argv)
    if not (args.root / "mkdocs.yml").is_file():
        print(f"error: no knowledge base at {args.root} (no mkdocs.yml there); give --root", file=sys.stderr)
        return 1
    try:
        kb = load_kb(args.root)
        entries, problems = planned(kb, args.labels, note=args.note, replace=args.replace)
    except ProblemsError as exc:
        print("\n".join(str(p) for p in exc.problems), file=sys.stderr)
        return 1
    except KBError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} problem(s); nothing written", file=sys.stderr)
        return 1
    # Each entry goes back to the file it was read from (whatever that file's name), and only an
    # entry whose text changes counts: a second run of the same labels changes nothing.
    writes = [
        (kb.paths[e.id], text) for e in entries if kb.paths[e.id].read_text(encoding="utf-8") != (text := dump_entry(e))
    ]
    if not args.dry_run:
        for path, text in writes:
            write_text_atomic(path, text)
    print(f"{len(writes)} entries {'would change' if args.dry_run else 'changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What kb suggest reads and prints: JSON Lines of papers in, rankings out, text for people."""

from __future__ import annotations

import codecs
import difflib
import json
import math
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from kb.chars import blank, whole_number
from kb.classify import WORK, Evidence, Suggester
from kb.errors import UsageError
from kb.output.status import say
from kb.output.text import clip, json_text, lone_surrogate, one_line, score_text
from kb.schema import Kind, Suggestion
from kb.tags import topic_tags

if TYPE_CHECKING:
    from kb.config import Config
    from kb.store import KB


KINDS = ", ".join(k.value for k in Kind)


def read_papers(
    path: str, default_kind: Kind | None = None, note: Callable[[str], object] = lambda message: None
) -> list[tuple[object, str, str]]:
    """(id, text, kind) per line of a JSON Lines file ('-' is stdin); text is the title, then the
    abstract. A line's optional "kind" is an entry kind; without one it is ``default_kind``, else
    WORK (some work: a paper's title).

    Raises UsageError naming the file and line of every bad one (the first SHOWN_BAD_LINES of
    them), before anything is embedded: one run tells all that is wrong with a file. An id given
    twice is a bad line: the output would not say which ranking is which paper's. Other fields
    are allowed (a list's own "url", say), but one that looks like a misspelt field of ours is
    told to ``note``, once.
    """
    if not path.strip():
        raise UsageError("--input is empty; give a JSON Lines file of papers, or - for stdin")
    name = "<stdin>" if path == "-" else one_line(path)
    try:
        chunks = _lines(path, name)
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file; give a JSON Lines file of papers") from None
    except OSError as exc:
        raise UsageError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    papers, bad = [], []
    first_line_of: dict[str, int] = {}
    noted: set[str] = set()
    for number, chunk in enumerate(chunks, start=1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append(
                f"{name}:{number}: byte {exc.start + 1} (0x{chunk[exc.start]:02x}) is not UTF-8; save the file as UTF-8"
            )
            continue
        if not line.strip():
            continue
        read = _paper(line, default_kind)
        if isinstance(read, str):
            bad.append(f"{name}:{number}: {read}")
            continue
        paper, unread = read
        for field in sorted(unread.keys() - noted):
            noted.add(field)
            quoted = json.dumps(field, ensure_ascii=False)
            note(f'{name}:{number}: field {quoted} is not read; did you mean "{unread[field]}"?')
        key = json.dumps(_same_number(paper[0]), sort_keys=True, ensure_ascii=False)
        if key in first_line_of:
            said = f"id {id_json(paper[0])} is line {first_line_of[key]}'s too"
            bad.append(f"{name}:{number}: {said}; ids must differ, to match output to input")
        else:
            first_line_of[key] = number
            papers.append(paper)
    if bad:
        more = len(bad) - SHOWN_BAD_LINES
        shown = bad[:SHOWN_BAD_LINES] + ([f"{name}: ... and {more} more bad lines"] if more > 0 else [])
        raise UsageError("\n".join(shown))
    if not papers:  # a file cut short by mistake would look like a run that found nothing to say
        note(f"{name} holds no papers (it is empty, or every line is blank)")
    return papers


def _same_number(value: object) -> object:
    """An id with every number in one form, so that ids a reader takes as one number are one id:
    1E2, 100.0 and 100; -0 and 0."""
    if isinstance(value, float):  # (Written, a number as the line wrote it, is one)
        return int(value) if value.is_integer() else float(value)
    if isinstance(value, list):
        return [_same_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _same_number(v) for k, v in value.items()}
    return value


def _lines(path: str, name: str) -> list[bytes]:
    """The lines of the file (or stdin), without their newlines; a line ends at a newline alone
    (JSON text may hold U+2028 and others that str.splitlines splits at). A device is refused,
    and so is a line over MAX_LINE_BYTES: /dev/zero would be read until memory ran out."""
    if path != "-" and (stat.S_ISCHR(mode := os.stat(path).st_mode) or stat.S_ISBLK(mode)):
        raise UsageError(f"{name}: a device, not a file; give a JSON Lines file of papers")
    out: list[bytes] = []
    with open(sys.stdin.fileno() if path == "-" else path, "rb", closefd=path != "-") as fh:
        while line := fh.readline(MAX_LINE_BYTES + 1):
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise UsageError(
                    f"{name}:{len(out) + 1}: the line is over {MAX_LINE_BYTES:,} bytes, where a paper's title and "
                    "abstract take a few thousand"
                )
            out.append(line.removesuffix(b"\n"))
    if out:
        out[0] = out[0].removeprefix(codecs.BOM_UTF8)
    return out


MAX_LINE_BYTES = 1_000_000
SHOWN_BAD_LINES = 20
TEXT_SHOWN = 300  # terminal columns of a --title echoed above its suggestions
FIELDS = ("id", "title", "abstract", "kind")  # what a line of --input may say


def _not_json(constant: str) -> object:
    """Python's json reads NaN and Infinity, which no other reader does; an id of NaN would be
    written back into output that strict parsers refuse."""
    raise ValueError(f"{constant} is not JSON")


class Written(float):
    """A JSON number with a fraction or exponent as the line wrote it ("1E2", "2.50"), echoed so
    in the output: as a plain float it would come back as 100.0 or 2.5, which a tool matching
    ids as text would miss. (Whole numbers come back as written already, but -0: see _integer.)"""

    text: str

    def __new__(cls, text: str) -> Written:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _finite(number: str) -> Written:
    """A JSON number too large for a float (1e400) would come back as Infinity: refused likewise."""
    if not math.isfinite(float(number)):
        raise ValueError(f"{number} is too large a number")
    return Written(number)


def _integer(number: str) -> int | Written:
    """A JSON integer; -0 alone would come back as 0, so it is kept as written."""
    return Written(number) if number == "-0" else whole_number(number)


def _once(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object whose every key is given once: json keeps the last of two silently."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise KeyError(key)
        out[key] = value
    return out


def id_json(value: object) -> str:
    """An id read by read_papers as JSON, its numbers as they were written."""
    if isinstance(value, Written):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_text(k)}: {id_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(id_json(v) for v in value) + "]"
    return json_text(value)


def _paper(line: str, default_kind: Kind | None) -> tuple[tuple[object, str, str], dict[str, str]] | str:
    """One line's (id, text, kind) and its fields that look like misspelt ones of FIELDS (with the
    field meant), or what is wrong with the line."""
    try:
        item = json.loads(
            line, parse_constant=_not_json, parse_float=_finite, parse_int=_integer, object_pairs_hook=_once
        )
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg}, column {exc.colno})"
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    except RecursionError:
        return "not valid JSON for kb (nested too deeply)"
    except KeyError as exc:
        return f"the field {json_text(exc.args[0])} is given twice; keep one"
    if not isinstance(item, dict):
        return 'expected an object like {"id": ..., "title": ...}'
    title, abstract = item.get("title"), item.get("abstract")
    if not isinstance(title, str) or blank(title):
        return '"title" is missing or not text; every line needs one'
    if abstract is not None and not isinstance(abstract, str):
        return '"abstract" must be text when given'
    if "id" not in item:
        return '"id" is missing; every line needs one to match the output to'
    if item["id"] is None or (isinstance(item["id"], str) and not item["id"].strip()):
        return f'"id" is {json.dumps(item["id"])}; every line needs one to match the output to'
    for field, value in (
        ("title", title),
        ("abstract", abstract or ""),
        ("id", json.dumps(item["id"], ensure_ascii=False)),
    ):
        if (code := lone_surrogate(value)) is not None:
            return f'"{field}" holds a lone surrogate (\\u{code:04x}), which is not text'
    kind = item.get("kind", default_kind.value if default_kind else WORK)
    if "kind" in item and (not isinstance(kind, str) or kind not in Kind.__members__):
        close = difflib.get_close_matches(kind, list(Kind.__members__), n=1) if isinstance(kind, str) else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f'"kind" is {json.dumps(kind)}; expected one of {KINDS}{hint}'
    text = title.strip() + (f". {abstract.strip()}" if abstract and not blank(abstract) else "")
    unread = {}
    for field in item.keys() - set(FIELDS):
        if close := difflib.get_close_matches(field.lower(), FIELDS, n=1, cutoff=0.75):
            unread[field] = close[0]
    return (item["id"], text, kind), unread


def _scores(suggestions: Sequence[Suggestion], why: dict[str, Evidence] | None = None) -> list[dict[str, object]]:
    if why is None:
        return [{"tag": s.tag, "score": s.score} for s in suggestions]
    return [{"tag": s.tag, "score": s.score, "why": _why_json(why[s.tag])} for s in suggestions]


def _why_json(evidence: Evidence) -> dict[str, object]:
    return {"words": evidence.words, "like": [{"id": i, "cosine": c} for i, c in evidence.like]}


def _why_text(evidence: Evidence) -> str:
    parts = [f"words: {', '.join(evidence.words)}"] if evidence.words else []
    parts += [f"like: {', '.join(f'{i} ({c:.2f})' for i, c in evidence.like)}"] if evidence.like else []
    return "; ".join(parts)


def suggest_jsonl(kb: KB, config: Config, taxonomy: str, path: str, default_kind: Kind | None = None) -> Iterator[str]:
    """One JSON line per paper: {"id", "suggestions": [{"tag", "score"}, ...]}, every leaf, best
    first. Encoding the papers shows a progress bar on stderr when it is a terminal."""
    papers = read_papers(path, default_kind, note=say)
    texts, kinds = [text for _, text, _ in papers], [kind for _, _, kind in papers]
    suggester = Suggester.build(kb, config)
    ranked = suggester.for_texts(taxonomy, texts, kinds=kinds, progress=sys.stderr.isatty())
    if papers and suggester.zero_shot(taxonomy):
        say(zero_shot_note(taxonomy))
    for (paper_id, _, _), suggestions in zip(papers, ranked, strict=True):
        yield f'{{"id": {id_json(paper_id)}, "suggestions": {json_text(_scores(suggestions))}}}'


def zero_shot_note(taxonomy: str, entry_id: str | None = None) -> str:
    """The note on stderr beside JSON whose scores come from the zero-shot fallback (see
    Suggester.zero_shot); text output says it in the taxonomy's heading."""
    besides = f" besides {entry_id}'s own" if entry_id is not None else ""
    return (
        f"note: {taxonomy} has too few curated labels{besides} to learn from; its scores are zero-shot, "
        "shares of one across the leaves, not each leaf's own probability"
    )


def _heading(taxonomy: str, multi_label: bool, own: Sequence[str], zero_shot: bool) -> str:
    """A taxonomy's line above its suggestions: its curated tags, for an entry that has some (the
    suggestions are learned without them), and whether the scores are the zero-shot fallback's."""
    if not zero_shot:
        return f"{taxonomy} (curated: {', '.join(own)}; learned without them)" if own else taxonomy
    shares = "scores are shares of one" + (", none marked" if multi_label else "")
    if own:
        curated = f"curated: {', '.join(own)}"
        return f"{taxonomy} ({curated}; zero-shot without them: too few other curated labels to learn from; {shares})"
    return f"{taxonomy} (zero-shot: too few curated labels to learn from; {shares})"


def suggest_one(
    kb: KB,
    config: Config,
    taxonomies: Sequence[str],
    entry_id: str | None,
    text: str | None,
    top: int,
    as_json: bool,
    kind: Kind | None = None,
    why: bool = False,
) -> str:
    """Suggestions for an entry of the knowledge base or for a text, as text or JSON; ``why`` adds
    each leaf's evidence (its keywords and cues in the text, the closest curated entries under it)."""
    if entry_id is not None:  # an id, or an exact name or title, as kb show and kb similar take
        from kb.query import get_entry

        entry_id = get_entry(kb, entry_id).id
    if text is not None and blank(text):
        raise UsageError("--title is empty; give a paper's title")
    suggester = Suggester.build(kb, config)
    # A text is embedded once, for every taxonomy and for its evidence.
    vectors = suggester.encode([text]) if text is not None else None
    ranked = {
        t: suggester.for_entry(t, entry_id)
        if entry_id is not None
        else suggester.for_texts(t, [text or ""], vectors, kinds=[kind.value if kind else WORK])[0]
        for t in taxonomies
    }
    shown = {t: s if as_json else s[:top] for t, s in ranked.items()}
    vector = vectors[0] if vectors is not None else None
    evidence: dict[str, dict[str, Evidence]] = {}  # by taxonomy, then tag; only with ``why``
    if why:
        evidence = {
            t: suggester.evidence(t, [x.tag for x in s], entry_id=entry_id, text=text or "", vector=vector)
            for t, s in shown.items()
        }
    zero_shot = [t for t in taxonomies if suggester.zero_shot(t, entry_id)]
    if as_json:
        for t in zero_shot:  # the JSON keeps its shape; the note goes to stderr
            say(zero_shot_note(t, entry_id if entry_id is not None and topic_tags(kb.entries[entry_id], t) else None))
        head: dict[str, object] = {"id": entry_id} if entry_id is not None else {"title": text}
        return json_text({**head, **{t: _scores(s, evidence.get(t)) for t, s in shown.items()}})
    if entry_id is not None:
        lines = [f"{entry_id}: {one_line(kb.entries[entry_id].title)}"]
    else:
        article = "an" if kind and kind.value[0] in "aeiou" else "a"
        asked = f"{article} {kind.value}" if kind else "a paper's work; --kind dataset or benchmark asks for a dataset"
        lines = [clip(one_line(text or ""), TEXT_SHOWN), f"(as {asked})"]
    for taxonomy, suggestions in shown.items():
        tax = kb.taxonomies[taxonomy]
        own = topic_tags(kb.entries[entry_id], taxonomy) if entry_id is not None else []
        lines.append(_heading(taxonomy, tax.multi_label, own, taxonomy in zero_shot))
        # The zero-shot fallback's scores share one among the leaves: none is a leaf's own
        # probability, to be held against the threshold.
        marked = tax.multi_label and taxonomy not in zero_shot
        for s in suggestions:
            mark = "*" if marked and s.score >= config.suggest_threshold else " "
            lines.append(f"  {score_text(s.score)}{mark} {s.tag}  ({one_line(tax[s.tag].name)})")
            found = evidence.get(taxonomy)
            if found is not None and (reason := _why_text(found[s.tag])):
                lines.append(f"        {reason}")
    if any(kb.taxonomies[t].multi_label and t not in zero_shot for t in taxonomies):
        lines.append(f"* suggested (codev score >= {config.suggest_threshold:g}; suggest_threshold in kb.yaml)")
    return "\n".join(lines)

"""Import the seed lists (../shared/seed) into entries/works and entries/datasets.

    python tools/import_seed.py [--seed DIR] [--root DIR]

Three lists name the same papers in different ways. Each row becomes a ``Record`` (normalised
facts plus where they came from); records are grouped into papers (same arXiv id, then same
normalised title); a paper gives at most one work entry and any number of dataset entries, and the
work ``introduces`` the datasets. Every input is processed in sorted order and the date stamped in
``added`` is fixed, so a rerun writes byte-identical files. A rerun writes only entries no file
holds: a file people wrote or edited (another provenance, other bytes than the seed gives, another
folder) is left as it is and named, and none is ever deleted; ``--overwrite`` rewrites the files
whose provenance names only seed lists, and deletes those the seed no longer makes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import difflib
import json
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere: use this checkout's kb
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from kb.naming import (  # noqa: E402  (shared with kb new, so both give a paper the same id and kind)
    abs_url,
    arxiv_from_url,
    infer_kind,
    norm_arxiv,
    norm_title,
    short_name_from_title,
    strip_symbols,
    unique_entry_id,
)
from kb.schema import (  # noqa: E402
    ADDRESS_RE,
    MMLLMS_IO,
    Entry,
    Kind,
    Modality,
    parse_partial_date,
    written_twice,
)
from kb.store import ENTRY_FOLDERS, dump_entry, write_text_atomic  # noqa: E402
from kb.taxonomy import load_taxonomies  # noqa: E402

DEFAULT_SEED = ROOT.parent / "shared" / "seed"  # shared/ lies beside the checkout
ADDED = "2026-11-22"  # fixed, so that reruns give identical files
SEED_SOURCES = frozenset({"seed-codev", "seed-yin", "seed-mmllms"})
TARGETS = {"entries": 600, "datasets": 120, "arxiv": 400, "codev": 107}

# Rows of the MM-LLMs tracker whose paper facts belong to another row (checked by hand against
# the other lists: the title and arXiv id given are those of a different paper). We drop the
# facts we know to be wrong rather than guess the right ones.
PAPER_FACTS = ("paper_title", "arxiv", "paper_url", "code_or_project_url", "venue", "affiliation", "date")
ERRATA: dict[str, tuple[str, ...]] = {
    # The paper fields repeat the SEED model's row (2307.08041, "Planting a SEED of Vision ...").
    "SEED-Bench (Image)": (*PAPER_FACTS, "io"),
    # The paper fields repeat the VSR benchmark's row (2205.00363, "Visual Spatial Reasoning").
    "LLaVA-Bench (In-the-Wild)": PAPER_FACTS,
    # The paper title is M3IT's (2306.04387); the arXiv id 2401.12915 is RTVLM's own.
    "RTVLM": ("paper_title",),
}

# ---------------------------------------------------------------------------------------------
# Normalisers: small pure functions, each tested on real messy values from the seed.

_SMALL_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "nor",
        "of",
        "on",
        "or",
        "per",
        "the",
        "to",
        "via",
        "vs",
        "with",
        "without",
    }
)
_NOT_AFFILIATION = frozenset({"", "not report", "not reported", "n/a", "na", "none", "-", "unknown"})
_AFFILIATION_FIXES = {  # truncated or trailing-punctuation spellings in the tracker
    "The Hong Kong University of Science and Technolo": "The Hong Kong University of Science and Technology",
}
_VENUE_FIXES = {"arxiv": "arXiv", "website": None, "blog": None, "": None, "-": None}


def clean_text(value: object) -> str | None:
    """Unicode-normalise (NFC), collapse whitespace; empty and placeholder values become None."""
    if value is None:
        return None
    text = unicodedata.normalize("NFC", str(value))
    text = " ".join(text.split())
    return None if text.lower() in _NOT_AFFILIATION else text


def seed_title(value: object) -> str | None:
    """A paper's title as a list gives it, cleaned: leading symbols dropped, a title pasted twice
    over given once ("FunQA: ... ComprehensionFunQA: ... Comprehension"), and a web address in
    place of the title (the tracker's Osprey rows) no title at all: the name stands in for it."""
    title = strip_symbols(clean_text(value) or "")
    if ADDRESS_RE.match(title):
        return None
    return written_twice(title) or title or None


def compact(text: str | None) -> str:
    """Letters and digits only, lower-case: for comparing short names ("MMBench-Chinese")."""
    text = norm_title(text)
    return text.replace(" ", "")


def norm_url(url: str | None) -> str | None:
    """A clean http(s) URL; arXiv PDF and old-style browse links become the /abs/ page."""
    url = clean_text(url)
    if not url or not re.match(r"^https?://\S+$", url):
        return None
    arxiv = arxiv_from_url(url)
    return abs_url(arxiv) if arxiv else url


def is_code_url(url: str) -> bool:
    return bool(re.match(r"^https?://(www\.)?(github\.com|gitlab\.com|bitbucket\.org)/", url))


def norm_date(value: str | None, today: _dt.date | None = None) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD; impossible dates (Feb 30), future dates and junk become None."""
    text = clean_text(value)
    if not text:
        return None
    m = re.match(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?", text)
    if not m:
        return None
    parts = [m[1]] + [f"{int(p):02d}" for p in (m[2], m[3]) if p]
    out = "-".join(parts)
    try:
        year, month, day = parse_partial_date(out)
    except ValueError:
        return None
    if _dt.date(year, month or 1, day or 1) > (today or _dt.date.today()) or year < 1950:
        return None
    return out


def norm_venue(value: str | None) -> str | None:
    """Venue spelling: "Arxiv" -> "arXiv"; "Website"/"Blog" are not venues."""
    text = clean_text(value)
    if text is None:
        return None
    if text.lower() in _VENUE_FIXES:
        return _VENUE_FIXES[text.lower()]
    return text


def split_affiliations(value: str | None) -> list[str]:
    """One affiliation per item: split "A & B & C", trim trailing commas, drop "Not report"."""
    text = clean_text(value)
    if not text:
        return []
    out: list[str] = []
    for part in re.split(r"\s+&\s+", text):
        part = part.strip().strip(",;").strip()
        part = _AFFILIATION_FIXES.get(part, part)
        if part.lower() not in _NOT_AFFILIATION and part not in out:
            out.append(part)
    return out


def is_all_caps(title: str) -> bool:
    letters = [ch for ch in title if ch.isalpha()]
    return len(letters) >= 8 and all(ch.isupper() for ch in letters)


def recase_title(title: str, names: Iterable[str] = ()) -> str:
    """A title in ALL CAPS in sensible case, keeping known names' own spelling ("MiniGPT-4")."""
    if not is_all_caps(title):
        return title
    known = {compact(n): n for n in names if n}
    text = re.sub(r":(?=\S)", ": ", title)
    words = text.split(" ")
    out = []
    start = True
    for word in words:
        core = word.rstrip(":,;.!?")
        tail = word[len(core) :]
        if compact(core) in known and compact(core):
            new = known[compact(core)]
        elif core.lower() in _SMALL_WORDS and not start:
            new = core.lower()
        else:
            new = "-".join(p[:1].upper() + p[1:].lower() for p in core.split("-"))
        out.append(new + tail)
        start = tail.startswith(":")
    return " ".join(out)


# Modality codes beyond MMLLMS_IO that the tracker's io strings use.
_EXTRA_IO: dict[str, Modality | None] = {
    "B": Modality.bounding_box,
    "Tab": Modality.table,
    "Speech": Modality.speech,
    "Music": Modality.audio,
    "Action": None,  # robot actions: no modality for them (yet)
    "Web": None,  # web pages: no modality for them (yet)
}


def parse_io(value: str | None) -> tuple[list[Modality], list[Modality], list[str]]:
    """Split "I+V+T -> I_B+T" into input and output modalities; also return codes we cannot map.

    "+" joins modalities, "/" separates alternatives (each counts), "A(Speech+Music)" names kinds
    of audio, and "(I+A)/A" groups alternatives.
    """
    text = clean_text(value)
    if not text or "->" not in text:
        return [], [], []
    unknown: list[str] = []
    sides = []
    for side in text.split("->", 1):
        mods: list[Modality] = []
        for code in re.findall(r"[A-Za-z0-9_]+", side):
            mod = MMLLMS_IO.get(code) if code in MMLLMS_IO else _EXTRA_IO.get(code, "?")  # type: ignore[arg-type]
            if mod == "?":
                unknown.append(code)
            elif mod is not None and mod not in mods:
                mods.append(mod)  # type: ignore[arg-type]
            elif mod is None:
                unknown.append(code)
        sides.append(mods)
    return sides[0], sides[1], unknown


def parse_dataset_modalities(value: str | None) -> list[Modality]:
    """The yin list's dataset modalities ("Image-Text-Bounding-Box"); descriptions give nothing."""
    text = clean_text(value)
    if not text:
        return []
    lookup = {m.value.replace("-", " "): m for m in Modality}
    rest = text.lower().replace("-", " ")
    out: list[Modality] = []
    while rest:
        for key in sorted(lookup, key=len, reverse=True):
            if rest.startswith(key):
                if lookup[key] not in out:
                    out.append(lookup[key])
                rest = rest[len(key) :].strip()
                break
        else:
            return []  # not a modality list (e.g. "Tool-related instruction datasets")
    return out


def join_parts(value: object) -> str | None:
    """Architecture and scale cells are lists of strings; "None"/"Not report" mean absent."""
    items = value if isinstance(value, list) else [value]
    parts = [t for t in (clean_text(v) for v in items) if t]
    return "; ".join(parts) or None


# ---------------------------------------------------------------------------------------------
# Records: one row of one list, normalised.


@dataclass
class Record:
    source: str  # seed-codev | seed-yin | seed-mmllms
    role: str  # work | dataset | unknown (codev rows: decided when merged)
    note: str | None  # yin section or mmllms kind
    order: int  # row number in its file, for stable ordering
    title: str | None = None
    name: str | None = None
    kind: Kind | None = None
    arxiv: str | None = None
    date: str | None = None
    venue: str | None = None
    affiliations: list[str] = field(default_factory=list)
    paper: str | None = None
    code: str | None = None
    project: str | None = None
    data: str | None = None
    inputs: list[Modality] = field(default_factory=list)
    outputs: list[Modality] = field(default_factory=list)
    codev: list[str] = field(default_factory=list)
    yin: list[str] = field(default_factory=list)
    functional: list[str] = field(default_factory=list)
    design: list[str] = field(default_factory=list)
    architecture: dict[str, str] = field(default_factory=dict)
    scale: dict[str, str] = field(default_factory=dict)
    joins: str | None = None  # an arXiv id to group the row by that the row does not give (CODEV_ARXIV)

    def fields(self) -> list[str]:
        """The dotted entry fields this record supplies (for provenance)."""
        out = []
        for attr, dotted in (
            ("title", "title"),
            ("name", "name"),
            ("arxiv", "arxiv"),
            ("date", "date"),
            ("venue", "venue"),
            ("affiliations", "affiliations"),
            ("paper", "links.paper"),
            ("code", "links.code"),
            ("project", "links.project"),
            ("data", "links.data"),
            ("inputs", "modalities.input"),
            ("outputs", "modalities.output"),
            ("codev", "tags.codev"),
            ("yin", "tags.yin"),
            ("functional", "tags.mmllms.functional"),
            ("design", "tags.mmllms.design"),
            ("architecture", "architecture"),
            ("scale", "scale"),
        ):
            if getattr(self, attr):
                out.append(dotted)
        if self.kind is not None and self.source != "seed-codev":
            out.append("kind")
        return out


def _link_fields(rec: Record, url: str | None, *, as_paper: bool) -> None:
    """Put a URL where it belongs: arXiv -> paper, github -> code, else project (or paper)."""
    url = norm_url(url)
    if not url:
        return
    if url.startswith("https://arxiv.org/abs/"):
        rec.paper = rec.paper or url
    elif is_code_url(url):
        rec.code = rec.code or url
    elif re.match(r"^https?://huggingface\.co/datasets/", url):
        rec.data = rec.data or url
    elif as_paper:
        rec.paper = rec.paper or url
    else:
        rec.project = rec.project or url


class SeedError(Exception):
    """A seed file or the knowledge base that cannot be read as this script expects: one sentence."""


# The fields every row of each list has, and what each holds.
REQUIRED: dict[str, dict[str, type]] = {
    "codev_labeled.jsonl": {"title": str, "tags": list},
    "yin_survey_list.jsonl": {"section": str},
    "mmllms_tracker.jsonl": {"kind": str},
}


def read_jsonl(path: Path) -> list[dict]:
    """The rows of one seed list; SeedError naming the file, line and field for a row that is not
    JSON, not an object, or lacks a field the list's rows have."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SeedError(f"{path}:{number}: not valid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(row, dict):
            raise SeedError(f"{path}:{number}: expected a JSON object")
        for field_name, kind in REQUIRED.get(path.name, {}).items():
            if not isinstance(row.get(field_name), kind):
                raise SeedError(f"{path}:{number}: {field_name}: expected {'text' if kind is str else 'a list'}")
        if path.name == "mmllms_tracker.jsonl" and row["kind"] not in _MMLLMS_KINDS:
            raise SeedError(f"{path}:{number}: kind: {row['kind']!r} is none of {', '.join(_MMLLMS_KINDS)}")
        rows.append(row)
    return rows


# Rows of the co-development list that give a later version's title of a paper the other lists
# give under its first title, with nothing else to join them by (checked by hand on arXiv's
# listing): each row is grouped with the paper's arXiv id (not given it as a fact of the row's),
# so its tags go to that paper's entries.
CODEV_ARXIV: dict[str, str] = {
    # 2311.13951 v1 was "MLLM-Bench, Evaluating Multi-modal LLMs using GPT-4V" (the yin list's).
    "MLLM-Bench: Evaluating Multimodal LLMs with Per-sample Criteria": "2311.13951",
}


def codev_records(rows: list[dict]) -> list[Record]:
    out = []
    for i, row in enumerate(rows):
        title = seed_title(row["title"]) or ""
        rec = Record("seed-codev", "unknown", None, i, title=title, codev=sorted(set(row["tags"])))
        rec.joins = CODEV_ARXIV.get(title)
        out.append(rec)
    return out


def yin_records(rows: list[dict]) -> list[Record]:
    out = []
    for i, row in enumerate(rows):
        section = row["section"]
        is_data = section.startswith("datasets/")
        title = seed_title(row.get("title"))
        rec = Record("seed-yin", "dataset" if is_data else "work", section, i, title=title)
        rec.name = clean_text(row.get("name"))
        rec.arxiv = norm_arxiv(row.get("arxiv")) or arxiv_from_url(row.get("url"))
        rec.date = norm_date(row.get("date"))
        rec.venue = norm_venue(row.get("venue"))
        rec.yin = [section]
        if rec.arxiv:
            rec.paper = abs_url(rec.arxiv)
        _link_fields(rec, row.get("url"), as_paper=True)
        _link_fields(rec, row.get("code_url"), as_paper=False)
        data = norm_url(row.get("link"))
        if data and is_data:
            rec.data = data
        elif data:
            _link_fields(rec, data, as_paper=False)
        if is_data:
            rec.kind = Kind.benchmark if section == "datasets/benchmark" else Kind.dataset
            rec.inputs = parse_dataset_modalities(row.get("modalities"))
        out.append(rec)
    return out


_MMLLMS_KINDS = {
    "MM-LLMs": ("work", Kind.model),
    "Related Survey": ("work", Kind.survey),
    "Evaluation Benchmark": ("dataset", Kind.benchmark),
    "IT Dataset": ("dataset", Kind.dataset),
}
_ARCH_FIELDS = ("modality_encoder", "input_projector", "llm_backbone", "output_projector", "modality_generator")
_SCALE_FIELDS = {"pre_training_stage": "pre_training", "instruction_tuning_stage": "instruction_tuning"}


def mmllms_records(rows: list[dict]) -> tuple[list[Record], list[str]]:
    out, unmapped = [], []
    for i, row in enumerate(rows):
        name = clean_text(row.get("name"))
        if name and re.match(r"^Related Survey \d+$", name):
            name = None  # a placeholder in the tracker, not the survey's name
        drop = ERRATA.get(name or "", ())
        row = {k: (None if k in drop else v) for k, v in row.items()}
        role, kind = _MMLLMS_KINDS[row["kind"]]
        title = seed_title(row.get("paper_title"))
        rec = Record("seed-mmllms", role, row["kind"], i, title=title, name=name, kind=kind)
        rec.arxiv = norm_arxiv(row.get("arxiv")) or arxiv_from_url(row.get("paper_url"))
        rec.date = norm_date(row.get("date"))
        rec.venue = norm_venue(row.get("venue"))
        rec.affiliations = split_affiliations(row.get("affiliation"))
        if rec.arxiv:
            rec.paper = abs_url(rec.arxiv)
        _link_fields(rec, row.get("paper_url"), as_paper=True)
        _link_fields(rec, row.get("code_or_project_url"), as_paper=False)
        rec.inputs, rec.outputs, unknown = parse_io(row.get("io"))
        unmapped += [f"mmllms io code {code!r} ({name})" for code in unknown]
        rec.functional = sorted({f.lower() for f in row.get("functional") or []})
        rec.design = sorted({d.lower() for d in row.get("design") or []})
        if role == "work":
            for key in _ARCH_FIELDS:
                value = join_parts(row.get(key))
                if value:
                    rec.architecture[key] = value
            for key, target in _SCALE_FIELDS.items():
                value = join_parts(row.get(key))
                if value:
                    rec.scale[target] = value
        out.append(rec)
    return out, unmapped


# ---------------------------------------------------------------------------------------------
# Grouping into papers and entries.


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def drop_conflicting_arxiv(records: list[Record]) -> list[str]:
    """An arXiv id given to rows with different titles belongs to the title most rows agree on.

    (The tracker's OKVQA row carries SEED's id.) The id is removed from the disagreeing rows.
    """
    notes = []
    by_id: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        if rec.arxiv and rec.title:
            by_id[rec.arxiv].append(rec)
    for arxiv, recs in sorted(by_id.items()):
        titles = Counter(norm_title(r.title) for r in recs)
        best_title = {norm_title(r.title): r.title for r in reversed(recs) if r.title}
        if len(titles) < 2:
            continue
        (best, n1), (_, n2) = titles.most_common(2)
        if n1 == n2:
            continue  # no majority: keep them all together rather than guess
        for rec in recs:
            if rec.title and not same_paper_title(rec.title, best_title[best]):
                notes.append(
                    f"{rec.source} row {rec.order} ({rec.name or rec.title}): "
                    f"arXiv {arxiv} belongs to another title; dropped"
                )
                rec.arxiv = None
                if rec.paper == abs_url(arxiv):
                    rec.paper = None
    return notes


def same_paper_title(a: str, b: str) -> bool:
    """Whether two titles name one paper: versions reword ("Hugging Face"/"HuggingFace") or keep the name."""
    if norm_title(a) == norm_title(b) or compact(a) == compact(b):
        return True
    head_a, head_b = short_name_from_title(a), short_name_from_title(b)
    if head_a and head_b and compact(head_a) == compact(head_b):
        return True
    a, b = norm_title(a), norm_title(b)
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.6


def group_papers(records: list[Record]) -> list[list[Record]]:
    """Records of the same paper: same arXiv id, or same normalised title."""
    uf = _UnionFind(len(records))
    first: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(records):
        keys = []
        if joined := rec.arxiv or rec.joins:
            keys.append(("arxiv", joined))
        if rec.title:
            keys.append(("title", norm_title(rec.title)))
        else:  # no paper facts at all: a dataset known only by name
            keys.append(("name", compact(rec.name)))
        for key in keys:
            if key in first:
                uf.union(first[key], i)
            else:
                first[key] = i
    groups: dict[int, list[Record]] = defaultdict(list)
    for i, rec in enumerate(records):
        groups[uf.find(i)].append(rec)
    return [groups[k] for k in sorted(groups)]


def _prefix_related(a: str, b: str) -> bool:
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


def _name_key(name: str | None) -> str:
    text = re.sub(r"\(.*?\)", "", name or "")
    text = re.sub(r"['’]s\s+IT$", "", text.strip())
    return compact(text)


def cluster_datasets(recs: list[Record]) -> list[list[Record]]:
    """Dataset records of one paper that describe the same dataset.

    The same short name merges (yin lists MIMIC-IT under two sections). An MM-LLMs tracker row
    merges into the one yin dataset of the same class whose name is a prefix of its own or the
    other way round ("MME Cognition" -> "MME", "LLaVAR's IT" -> "LLaVAR"); failing that, when the
    paper has exactly one dataset of that class in each list ("LLaVA's IT" -> "LLaVA-Instruct-150K").
    """
    clusters: dict[str, list[Record]] = {}
    for rec in sorted(recs, key=lambda r: (r.source != "seed-yin", r.order)):
        key = f"{rec.source}:{_name_key(rec.name or rec.title)}"
        if rec.source == "seed-yin":
            key = f"yin:{_name_key(rec.name or rec.title)}"
        clusters.setdefault(key, []).append(rec)
    yin_keys = [k for k in clusters if k.startswith("yin:")]
    mm_keys = [k for k in clusters if not k.startswith("yin:")]

    bench_of = {k: any(r.kind is Kind.benchmark for r in recs) for k, recs in clusters.items()}

    def is_bench(key: str) -> bool:
        return bench_of[key]

    for mk in mm_keys:
        bench = is_bench(mk)
        same_class = [yk for yk in yin_keys if is_bench(yk) == bench]
        related = [yk for yk in same_class if _prefix_related(yk[4:], mk.split(":", 1)[1])]
        if not related:
            related = [yk for yk in yin_keys if yk[4:] == mk.split(":", 1)[1]]
        if len(related) != 1 and len(same_class) == 1:
            others = [k for k in mm_keys if is_bench(k) == bench]
            related = same_class if len(others) == 1 else []
        if len(related) == 1:
            clusters[related[0]].extend(clusters.pop(mk))
    return [clusters[k] for k in clusters]


# ---------------------------------------------------------------------------------------------
# Building entries.


@dataclass
class Draft:
    """An entry before its id is known."""

    records: list[Record]
    kind: Kind
    paper_key: int
    paper_dated: list[Record] = field(default_factory=list)  # every record of the paper that gives a date
    id: str = ""
    introduces: list[Draft] = field(default_factory=list)

    @property
    def is_dataset(self) -> bool:
        return self.kind.is_dataset


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v), None)


def _source_rank(rec: Record) -> tuple[int, int]:
    return ({"seed-yin": 0, "seed-mmllms": 1, "seed-codev": 2}[rec.source], rec.order)


def choose_title(recs: list[Record], names: list[str]) -> str:
    titles = [r.title for r in sorted(recs, key=_source_rank) if r.title]
    good = [t for t in titles if not is_all_caps(t)]
    if good:
        return good[0]
    if titles:
        return recase_title(titles[0], names)
    return _first(r.name for r in recs) or "untitled"


def choose_venue(recs: list[Record]) -> str | None:
    venues = [r.venue for r in sorted(recs, key=_source_rank) if r.venue]
    ranked = sorted(venues, key=lambda v: (v == "arXiv", not re.search(r"\d{4}", v)))
    return ranked[0] if ranked else None


def choose_date(recs: list[Record], paper_dates: Iterable[str] = ()) -> str | None:
    """The earliest date given for the paper: a dataset is released with its paper, and the
    tracker's dates for benchmarks are sometimes when it listed them, not when they appeared."""
    dates = sorted({r.date for r in recs if r.date} | set(paper_dates))
    return dates[0] if dates else None


def choose_arxiv(recs: list[Record]) -> str | None:
    ids = Counter(r.arxiv for r in recs if r.arxiv)
    if not ids:
        return None
    return sorted(ids.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _unique(items: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _mods(lists: Iterable[list[Modality]]) -> list[str]:
    seen: set[Modality] = set()
    for mods in lists:
        seen.update(mods)
    return [m.value for m in Modality if m in seen]  # enum order: stable across reruns


def build_entry(draft: Draft, taxonomies) -> dict:
    """The entry's data (not yet validated) from its records."""
    recs = sorted(draft.records, key=_source_rank)
    if draft.is_dataset:
        yin_first = [r for r in recs if r.source == "seed-yin"] + [r for r in recs if r.source != "seed-yin"]
        names = _unique([r.name for r in yin_first])
    else:
        names = _unique([r.name for r in recs if r.source == "seed-mmllms"])
    title = choose_title(recs, names)
    if not names:
        guessed = short_name_from_title(title)
        names = [guessed] if guessed else []
    arxiv = choose_arxiv(recs)
    links = {
        "paper": abs_url(arxiv) if arxiv else _first(r.paper for r in recs),
        "code": _first(r.code for r in recs),
        "project": _first(r.project for r in recs),
        "data": _first(r.data for r in recs),
    }
    codev = sorted({t for r in recs for t in r.codev})
    yin_ids = _unique(t for r in recs for t in r.yin)
    for tag in codev:
        if tag not in taxonomies["codev"]:
            raise SystemExit(f"codev tag {tag!r} is not in entries/taxonomies/codev.yaml")
    for tag in yin_ids:
        if tag not in taxonomies["yin"]:
            raise SystemExit(f"yin section {tag!r} is not in entries/taxonomies/yin.yaml")
    date = choose_date(recs, [r.date for r in draft.paper_dated if r.date])
    data: dict = {
        "id": draft.id,
        "title": title,
        "kind": draft.kind.value,
        "name": names[0] if names else None,
        "aliases": [n for n in names[1:] if n != title],
        "arxiv": arxiv,
        "date": date,
        "venue": choose_venue(recs),
        "affiliations": _unique(a for r in recs for a in r.affiliations),
        "links": {k: v for k, v in links.items() if v},
        "modalities": {
            "input": _mods(r.inputs for r in recs),
            "output": _mods(r.outputs for r in recs),
        },
        "tags": {
            "codev": codev,
            "yin": yin_ids,
            "mmllms": {
                "functional": sorted({f for r in recs for f in r.functional}),
                "design": sorted({d for r in recs for d in r.design}),
            },
        },
        "relations": {"introduces": sorted(d.id for d in draft.introduces)},
        "added": ADDED,
        "provenance": provenance(recs, _date_from_paper(draft, recs, date)),
    }
    if not draft.is_dataset:
        arch: dict[str, str] = {}
        for rec in recs:
            for k, v in rec.architecture.items():
                arch.setdefault(k, v)
        scale: dict[str, str] = {}
        for rec in recs:
            for k, v in rec.scale.items():
                scale.setdefault(k, v)
        data["architecture"] = arch or None
        data["scale"] = scale or None
    return data


def _date_from_paper(draft: Draft, recs: list[Record], date: str | None) -> Record | None:
    """The record of the paper's other entry that gave this one its date, when its own gave none
    of that date (a dataset is released with its paper: its date is the paper's)."""
    if date is None or any(r.date == date for r in recs):
        return None
    return min((r for r in draft.paper_dated if r.date == date), key=_source_rank)


def provenance(recs: list[Record], date_from: Record | None = None) -> list[dict]:
    """One item per (list, section or kind): which fields that list gave this entry; the date
    taken from the paper's other entry is named under its own list and section."""
    merged: dict[tuple[str, str], list[str]] = {}
    for rec in sorted(recs, key=lambda r: (r.source, r.note or "", r.order)):
        key = (rec.source, rec.note or "")
        merged.setdefault(key, [])
        merged[key] = _unique(merged[key] + rec.fields())
    if date_from is not None:
        key = (date_from.source, date_from.note or "")
        merged[key] = _unique([*merged.get(key, []), "date"])
    return [
        {"source": src, "fields": fields, **({"note": note} if note else {})}
        for (src, note), fields in sorted(merged.items())
    ]


def make_drafts(records: list[Record]) -> list[Draft]:
    drafts: list[Draft] = []
    groups = group_papers(records)
    for key, group in enumerate(groups):
        works = [r for r in group if r.role == "work"]
        datasets = [r for r in group if r.role == "dataset"]
        codev = [r for r in group if r.role == "unknown"]
        if not works and not datasets:
            # A codev paper found in no other list: its kind comes from its title.
            title = codev[0].title or ""
            kind = infer_kind(title, short_name_from_title(title))
            drafts.append(Draft(codev, kind, key))
            continue
        if works and not datasets and not any(r.kind for r in works):
            # Papers from yin topics only: a benchmark or dataset paper becomes that entry.
            rec = min(works, key=_source_rank)
            section = rec.yin[0] if rec.yin else None
            kind = infer_kind(rec.title or "", short_name_from_title(rec.title or ""), section)
            drafts.append(Draft(works + codev, kind, key))
            continue
        dataset_drafts = []
        for cluster in cluster_datasets(datasets):
            kind = Kind.benchmark if any(r.kind is Kind.benchmark for r in cluster) else Kind.dataset
            dataset_drafts.append(Draft(cluster, kind, key))
        if works:
            kinds = [r.kind for r in sorted(works, key=_source_rank, reverse=True) if r.kind]
            if Kind.model in kinds:
                kind = Kind.model
            elif kinds:
                kind = kinds[0]
            else:
                rec = min(works, key=_source_rank)
                title = rec.title or ""
                kind = infer_kind(title, short_name_from_title(title), rec.yin[0] if rec.yin else None)
                if kind.is_dataset:  # the paper's data has its own entry; the paper is the work
                    kind = Kind.analysis if kind is Kind.benchmark else Kind.method
            work = Draft(works + codev, kind, key, introduces=dataset_drafts)
            drafts.append(work)
        else:
            for d in dataset_drafts:  # codev labels on a paper known only by its data
                d.records.extend(codev)
        drafts.extend(dataset_drafts)
    for draft in drafts:
        draft.paper_dated = [r for r in groups[draft.paper_key] if r.date]
    return drafts


def _draft_sort_key(d: Draft) -> tuple:
    recs = sorted(d.records, key=_source_rank)
    return (
        d.is_dataset,
        choose_arxiv(recs) or "~",
        norm_title(_first(r.title for r in recs)),
        compact(_first(r.name for r in recs)),
        [(_source_rank(r)) for r in recs],
    )


def assign_ids(drafts: list[Draft]) -> None:
    """Readable, unique, deterministic slugs: the short name, else the title's first words."""
    taken: set[str] = set()
    for draft in sorted(drafts, key=_draft_sort_key):
        recs = sorted(draft.records, key=_source_rank)
        if draft.is_dataset:
            name = _first([r.name for r in recs if r.source == "seed-yin"] + [r.name for r in recs])
        else:
            name = _first(r.name for r in recs if r.source == "seed-mmllms")
        title = choose_title(recs, [n for n in (name,) if n])
        draft.id = unique_entry_id(title, name, draft.kind, choose_date(recs), taken)
        taken.add(draft.id)


# ---------------------------------------------------------------------------------------------
# Writing.


def seeded_files(root: Path) -> list[Path]:
    """Entry files this script wrote before: every provenance item names a seed list."""
    out = []
    for folder in ENTRY_FOLDERS:
        for path in sorted((root / "entries" / folder).glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError):
                continue
            prov = data.get("provenance") if isinstance(data, dict) else None
            if prov and all(isinstance(p, dict) and p.get("source") in SEED_SOURCES for p in prov):
                out.append(path)
    return out


def import_seed(seed: Path, root: Path, *, overwrite: bool = False) -> tuple[list[Entry], list[str]]:
    """Read the three lists, write the entries under ``root``; return them and notes on what was odd."""
    if not (root / "mkdocs.yml").is_file():
        raise SeedError(f"no knowledge base at {root} (no mkdocs.yml there); give --root")
    if not seed.is_dir():
        raise SeedError(f"no seed folder at {seed}; give --seed")
    try:
        taxonomies = load_taxonomies(root / "entries" / "taxonomies")
    except Exception:  # noqa: BLE001 - YAML, schema, a file system: kb check says what and where
        raise SeedError(f"cannot load the taxonomies in {root / 'entries' / 'taxonomies'}; run kb check") from None
    notes: list[str] = []
    records = codev_records(read_jsonl(seed / "codev_labeled.jsonl"))
    records += yin_records(read_jsonl(seed / "yin_survey_list.jsonl"))
    mm, unmapped = mmllms_records(read_jsonl(seed / "mmllms_tracker.jsonl"))
    records += mm
    notes += sorted(set(unmapped))
    notes += drop_conflicting_arxiv(records)
    drafts = make_drafts(records)
    assign_ids(drafts)
    entries = []
    for draft in sorted(drafts, key=lambda d: d.id):
        entries.append(Entry.model_validate(build_entry(draft, taxonomies)))

    seeded = set(seeded_files(root))
    # Every entry file by id: a person may have moved one when they corrected its kind.
    existing = {p.stem: p for folder in ENTRY_FOLDERS for p in sorted((root / "entries" / folder).glob("*.yaml"))}
    kept: dict[str, list[str]] = defaultdict(list)  # why -> files left alone
    made = set()
    for entry in entries:
        path = root / "entries" / entry.kind.folder / f"{entry.id}.yaml"
        made.add(path)
        there = existing.get(entry.id)
        text = dump_entry(entry)
        if there is None:
            write_text_atomic(path, text)
        elif there != path:
            made.add(there)  # the seed's entry still, where a person put it: never deleted
            kept[f"holding an entry the seed files under entries/{entry.kind.folder}/"].append(
                str(there.relative_to(root))
            )
        elif there not in seeded:
            kept["written or edited by people (their provenance names more than the seed)"].append(
                str(path.relative_to(root))
            )
        elif there.read_text(encoding="utf-8") != text:
            if overwrite:
                write_text_atomic(path, text)
            else:
                kept["differing from what the seed gives (edited by hand?; --overwrite rewrites them)"].append(
                    str(path.relative_to(root))
                )
    for path in sorted(seeded - made):
        if overwrite:
            path.unlink()
        else:
            kept["of entries the seed no longer gives (--overwrite deletes them)"].append(str(path.relative_to(root)))
    for why, files in kept.items():
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        notes.append(f"left alone {len(files)} file{'s' if len(files) != 1 else ''} {why}: {shown}")
    return entries, notes


def report(entries: list[Entry], codev_rows: int) -> tuple[dict[str, int], bool]:
    counts = {
        "entries": len(entries),
        "works": sum(not e.is_dataset for e in entries),
        "datasets": sum(e.is_dataset for e in entries),
        "arxiv": sum(bool(e.arxiv) for e in entries),
        "codev": sum(bool(e.tags.codev) for e in entries),
    }
    ok = all(counts[k] >= v for k, v in TARGETS.items())
    return counts, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED, help="folder with the seed .jsonl files")
    parser.add_argument("--root", type=Path, default=ROOT, help="knowledge base root (holds mkdocs.yml)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="rewrite files whose provenance names only seed lists even where they differ (hand edits are lost), "
        "and delete those the seed no longer makes",
    )
    args = parser.parse_args(argv)
    try:
        entries, notes = import_seed(args.seed, args.root, overwrite=args.overwrite)
    except SeedError as exc:
        print(f"import_seed: {exc}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    counts, ok = report(entries, 107)
    kinds = Counter(e.kind.value for e in entries)
    print(f"{'count':<34}{'value':>7}{'target':>8}")
    labels = {
        "entries": "entries",
        "works": "works",
        "datasets": "datasets + benchmarks",
        "arxiv": "with an arXiv id",
        "codev": "entries with codev tags",
    }
    for key, label in labels.items():
        target = TARGETS.get(key)
        print(f"{label:<34}{counts[key]:>7}{(f'>= {target}' if target else ''):>8}")
    for kind in Kind:
        print(f"  kind {kind.value:<27}{kinds.get(kind.value, 0):>7}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""What a paper is called: its short name, its slug, its kind guessed from the title, its arXiv id.

Shared by ``tools/import_seed.py`` (the seed lists) and ``kb new`` (one paper from arXiv), so a
paper gets the same id and kind whichever way it arrives. Pure functions on strings.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from kb.schema import ARXIV_RE, SLUG_RE, Kind, parse_partial_date

NEW_ARXIV_RE = re.compile(r"^([0-9]{2})([0-9]{2})\.([0-9]{4,5})(?:v[0-9]+)?$")
# Old-style ids (August 1991 to March 2007): an archive, then YYMM and a three-digit number.
OLD_ARXIV_RE = re.compile(r"^[a-z][a-z-]*(?:\.[A-Z]{2})?/([0-9]{2})([0-9]{2})([0-9]{3})(?:v[0-9]+)?$")


def _old_style_month(yy: int, mm: int) -> tuple[int, int]:
    return (1900 + yy if yy >= 91 else 2000 + yy, mm)


def arxiv_id_problem(arxiv: str, today: _dt.date) -> str | None:
    """What the schema's pattern cannot see in an arXiv id (the month, the number of digits, the
    future; for old-style ids such as hep-th/9901001, the month and the years they were given in),
    or None when it could be real."""
    if old := OLD_ARXIV_RE.match(arxiv):
        yy, mm = int(old[1]), int(old[2])
        if not 1 <= mm <= 12:
            return f'{arxiv!r} has month {mm:02d}; old-style ids are archive/YYMMNNN, e.g. "hep-th/9901001"'
        if not (1991, 8) <= _old_style_month(yy, mm) <= (2007, 3):
            return f"{arxiv!r}: old-style ids were given from 08/1991 to 03/2007; later ones are YYMM.NNNNN"
        return None
    m = NEW_ARXIV_RE.match(arxiv)
    if not m:
        return None
    yy, mm, number = int(m[1]), int(m[2]), m[3]
    expected = 'expected YYMM.NNNNN, e.g. "2304.08485"'
    if not 1 <= mm <= 12:
        return f"{arxiv!r} has month {mm:02d}; {expected}"
    if (yy, mm) < (7, 4):
        return f"{arxiv!r} is older than new-style arXiv ids (April 2007 on); {expected}"
    digits = 5 if (yy, mm) >= (15, 1) else 4
    if len(number) != digits:
        return f"{arxiv!r}: ids from {mm:02d}/20{yy:02d} have {digits} digits after the dot"
    if (2000 + yy, mm) > (today.year, today.month):
        return f"{arxiv!r} would be from {2000 + yy}-{mm:02d}, which is in the future"
    return None


def arxiv_month(arxiv: str) -> tuple[int, int] | None:
    """The year and month an arXiv id was submitted in (2304.08485: 2023, 4; hep-th/9901001: 1999, 1)."""
    if old := OLD_ARXIV_RE.match(arxiv):
        return _old_style_month(int(old[1]), int(old[2])) if 1 <= int(old[2]) <= 12 else None
    m = NEW_ARXIV_RE.match(arxiv)
    return (2000 + int(m[1]), int(m[2])) if m and 1 <= int(m[2]) <= 12 else None


# arXiv lists a paper the next working day, and a list may give that day: one submitted on the
# last Friday of a month is public on the Monday after, in the next month.
ANNOUNCED_WITHIN = _dt.timedelta(days=7)


def dated_after_arxiv(date: str, arxiv: str) -> str | None:
    """The month arXiv id ``arxiv`` was submitted in ("2023-05"), when ``date`` (YYYY[-MM[-DD]]) is
    later than that month and the week after it in which it may have been listed; else None."""
    month = arxiv_month(arxiv)
    if month is None:
        return None
    year, number, day = parse_partial_date(date)
    after = _dt.date(month[0] + month[1] // 12, month[1] % 12 + 1, 1)  # the next month's first day
    if _dt.date(year, number or 1, day or 1) < after + ANNOUNCED_WITHIN:
        return None
    return f"{month[0]}-{month[1]:02d}"


_ARXIV_URL_RE = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/((?:[0-9]{4}\.[0-9]{4,5})|(?:[a-z][a-z-]*(?:\.[A-Z]{2})?/[0-9]{7}))(?:v[0-9]+)?(?:\.pdf)?",
    re.IGNORECASE,
)
_VERSION_RE = re.compile(r"v[0-9]+$")


def strip_symbols(text: str) -> str:
    """Drop leading emoji and other symbols that some lists put before a title (e.g. "🦩Flamingo")."""
    i = 0
    while i < len(text) and (unicodedata.category(text[i]).startswith("S") or text[i] in " \ufe0f\u200d"):
        i += 1
    return text[i:].strip()


def norm_arxiv(value: str | None) -> str | None:
    """An arXiv id without version or URL, or None when it is not one ("2311.12793v2", ".../pdf/2311.12793.pdf")."""
    if not value:
        return None
    text = str(value).strip()
    m = _ARXIV_URL_RE.search(text)
    if m:
        text = m[1]
    text = text.removeprefix("arXiv:").removeprefix("arxiv:").removesuffix(".pdf")
    text = _VERSION_RE.sub("", text)
    return text if ARXIV_RE.match(text) else None


def arxiv_from_url(url: str | None) -> str | None:
    if not url:
        return None
    m = _ARXIV_URL_RE.search(url)
    return norm_arxiv(m[1]) if m else None


def abs_url(arxiv: str) -> str:
    return f"https://arxiv.org/abs/{arxiv}"


def norm_title(title: str | None) -> str:
    """The matching key of a title: NFKC, case-folded, symbols dropped, punctuation and spaces collapsed."""
    if not title:
        return ""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("S"))
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


# Greek letters as names lead with them ("μ-Bench"), spelled out for ids and read from LaTeX.
_GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau upsilon phi chi "
    "psi omega"
)
_GREEK = dict(zip("αβγδεζηθικλμνξπρστυφχψω", _GREEK_NAMES.split(" "), strict=True))
_TEX_ARGUMENT = re.compile(r"\\(?:math[a-z]*|text[a-z]*|bold[a-z]*|emph|operatorname)\s*\{([^{}]*)\}")
_TEX_GREEK = re.compile(r"\\(" + "|".join(_GREEK.values()) + r")(?![a-zA-Z])", re.IGNORECASE)
_TEX_COMMAND = re.compile(r"\\[a-zA-Z]+\s*")


def untex(text: str) -> str:
    """Text without the LaTeX a title may hold ("$\\mathcal{X}$-VLM" -> "X-VLM", "$\\text{M}^3$IT" ->
    "M3IT", "$\\mu$-Bench" -> "μ-Bench"): for a name and an id, not for the title itself."""
    if "$" not in text and "\\" not in text:
        return text
    text = _TEX_ARGUMENT.sub(r"\1", text)
    letters = {name: letter for letter, name in _GREEK.items()}
    text = _TEX_GREEK.sub(lambda m: letters[m[1].lower()], text)
    text = _TEX_COMMAND.sub("", text)
    return re.sub(r"[${}^_]", "", text)


def short_name_from_title(title: str) -> str | None:
    """The name a title leads with ("LLaVAR: Enhanced ..." -> "LLaVAR"), if it has one."""
    title = untex(title)
    head, sep, _ = title.partition(":")
    if not sep:
        head, sep, _ = title.partition(",")  # "MLLM-Bench, Evaluating ..."
    head = strip_symbols(head).strip()
    if not sep or not head or len(head.split()) > 3 or len(head) > 40:
        return None
    # A name looks like one: a capital inside a word, a digit, a hyphenated or all-caps word
    # ("LLaVAR", "Qwen2-VL", "CODE"), not a phrase in title case ("Less is More").
    if any(re.search(r"\w[A-Z]|\d|\w-\w", w) or (w.isupper() and len(w) > 1) for w in head.split()):
        return head
    return None


def slugify(text: str, max_words: int = 8, max_len: int = 60, fallback: str = "entry") -> str:
    """Lower-case ASCII words of ``text`` joined by hyphens, or ``fallback`` when it has none
    (a title in another script: "数据集")."""
    text = re.sub(r"['’]s\b", "", untex(text))  # "LLaVA's IT" -> "llava-it"
    text = "".join(f" {_GREEK[c.lower()]} " if c.lower() in _GREEK else c for c in text)  # "μ-Bench" -> "mu-bench"
    text = unicodedata.normalize("NFKD", text)
    text = text.encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", text.lower())[:max_words]
    slug = "-".join(words)
    while len(slug) > max_len and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    return slug[:max_len].strip("-") or fallback


# Kind heuristics.

_MODEL_WORDS = re.compile(
    r"\b(models?|llms?|mllms?|lmms?|lvlms?|vlms?|assistants?|chatbots?|agents?|learners?|"
    r"language model|foundation models?|generalists?)\b",
    re.IGNORECASE,
)
_MODEL_TITLE = re.compile(r"technical report|model card|system card|^introducing\b", re.IGNORECASE)
# A short name that reads as a model: ends in a version ("Kimi K2.5", "BLIP-2", "Qwen2-VL") or
# carries a model family word ("BuboGPT", "LLaVA-Med", "Macaw-LLM").
_MODEL_NAME = re.compile(
    r"(\d+(\.\d+)*[a-z]?|\d+b|-o\d?)$|gpt|llm|llava|vlm|\bvl\b|-vl|chat|omni|flamingo|blip|kosmos|qwen|intern",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(r"^(what|how|why|does|do|are|is|can|when|which|should|will)\b", re.IGNORECASE)
_ANALYSIS_WORDS = re.compile(
    r"\b(analy[sz]\w*|empirical|study|studies|investigat\w*|demystif\w*|revisit\w*|rethink\w*|"
    r"scaling laws?|probing|exploration|exploring|evaluating|evaluation|a closer look|lessons|insights?|"
    r"statistical theory)\b",
    re.IGNORECASE,
)
# The subtitle says what the paper releases: "Med-MMHL: A Multi-Modal Dataset for ...".
_SELF_BENCH = re.compile(
    r"^(a|an|the|new)?\s*([\w,'’-]+\s+){0,6}?(benchmark|benchmarks|test ?bed|evaluation suite)\b"
    r"|^benchmarking\b",  # "SciMMIR: Benchmarking Scientific ...": every such title in the seed lists is a benchmark's
    re.IGNORECASE,
)
_SELF_DATA = re.compile(r"^(a|an|the|new)?\s*([\w,'’-]+\s+){0,6}?(dataset|datasets|corpus|data ?set)\b", re.IGNORECASE)


def _subtitle(title: str) -> str:
    head, sep, rest = title.partition(":")
    return rest.strip() if sep else title


def names_model(title: str, name: str | None) -> bool:
    """Whether a title introduces a model: a model-card title, a model-like short name, or a
    subtitle that calls the work a model ("AnyMAL: An Efficient ... Language Model")."""
    if _MODEL_TITLE.search(title):
        return True
    if name and _MODEL_NAME.search(name):
        return True
    words = _subtitle(title).split()
    if name and _MODEL_WORDS.search(" ".join(words[:8])):
        return True
    return len(title.split()) <= 3 and ":" not in title  # a bare product name ("Xiaomi MiMo-V2.5")


def infer_kind(title: str, name: str | None, section: str | None = None) -> Kind:
    """A kind from a title alone, for rows that say nothing else about what the paper is."""
    sub = _subtitle(title)
    if re.search(r"\bsurvey\b", title, re.IGNORECASE):
        return Kind.survey
    if (name and re.search(r"bench", name, re.IGNORECASE)) or _SELF_BENCH.search(sub):
        return Kind.benchmark
    if _SELF_DATA.search(sub):
        return Kind.dataset
    if section == "foundation-models" or names_model(title, name):
        return Kind.model
    if _QUESTION_START.search(title) or _QUESTION_START.search(sub) or "?" in title or _ANALYSIS_WORDS.search(title):
        return Kind.analysis
    return Kind.method


# Names that Windows reserves for devices: a file called con.yaml cannot be checked out there.
RESERVED_NAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
SITE_NAMES = {"index"}  # entries/<id>.md is an entry's page; entries/index.md lists them all


def id_problem(entry_id: str, taken: set[str] | frozenset[str]) -> str | None:
    """Why ``entry_id`` cannot be a new entry's id, or None when it can."""
    if not SLUG_RE.match(entry_id) or len(entry_id) > 80:
        return f"expected a slug of lower-case letters, digits and single hyphens (at most 80), got {entry_id!r}"
    if entry_id in taken:
        return f"{entry_id!r} is taken by another entry's file; choose another"
    if entry_id in RESERVED_NAMES or entry_id in SITE_NAMES:
        return f"{entry_id!r} is a name kb cannot give a file; choose another"
    return None


def unique_entry_id(
    title: str,
    name: str | None,
    kind: Kind,
    date: str | None,
    taken: set[str] | frozenset[str],
    fallback: str = "entry",
) -> str:
    """A readable id not in ``taken``: the short name (given, or the one the title leads with),
    else the title's first words, else ``fallback``; then a kind suffix for datasets, the year,
    a counter (the last resort: "-2" reads as a version)."""
    name = name or short_name_from_title(title)
    base = slugify(name, max_len=60, fallback="") if name else ""
    if len(base) < 3:  # no name, or one too short to read as an id ("V*")
        base = slugify(title, max_words=6, fallback="") or base or fallback
    # A kind suffix the name does not end in already: "SEED-Bench" beside its paper's work entry is
    # seed-bench-benchmark, not seed-bench-2, which reads as a second version.
    suffixes = {Kind.benchmark: ("bench", "benchmark"), Kind.dataset: ("dataset", "data")}.get(kind, ())
    candidates = [base]
    candidates += [f"{base}-{suffix}" for suffix in suffixes if not base.endswith(suffix)][:1]
    if date:
        candidates.append(f"{candidates[-1]}-{date[:4]}")
    candidates += [f"{candidates[-1]}-{n}" for n in range(2, 1000)]
    unusable = {*taken, *RESERVED_NAMES, *SITE_NAMES}
    return next(c[:80].strip("-") for c in candidates if c[:80].strip("-") not in unusable)

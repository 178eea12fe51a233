"""BibTeX for entries: what a bibliography manager (BibTeX, biblatex, Zotero, JabRef) imports.

One record per entry, keyed by the entry's id: ids are unique, slugs (valid keys) and never
change when other entries are added, so a citation keeps working across exports.

The record type follows the venue: a conference in ``VENUES`` makes an ``@inproceedings``, a
journal an ``@article``; anything else (arXiv, a company's report, no venue) is a ``@misc``,
with ``eprint``/``archivePrefix`` when the paper is on arXiv (biblatex's and arXiv's own form).

Text is escaped for LaTeX inside a braced field. Braces become ``\\textbraceleft{}`` and
``\\textbraceright{}`` rather than ``\\{``: BibTeX counts braces even after a backslash, so an
escaped lone brace would still unbalance the field. Non-ASCII characters stay UTF-8 (biber and
every current manager read it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.output import paper_url
from kb.output.text import one_line
from kb.schema import Entry, parse_partial_date

# Venue names as written in entries (without the year) -> (record type, full name).
# Small on purpose: an unknown venue is a @misc with howpublished, which is never wrong.
VENUES: dict[str, tuple[str, str]] = {
    "CVPR": (
        "inproceedings",
        "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)",
    ),
    "ICCV": ("inproceedings", "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)"),
    "ECCV": ("inproceedings", "Proceedings of the European Conference on Computer Vision (ECCV)"),
    "WACV": (
        "inproceedings",
        "Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)",
    ),
    "BMVC": ("inproceedings", "Proceedings of the British Machine Vision Conference (BMVC)"),
    "3DV": ("inproceedings", "International Conference on 3D Vision (3DV)"),
    "NeurIPS": ("inproceedings", "Advances in Neural Information Processing Systems (NeurIPS)"),
    "NIPS": ("inproceedings", "Advances in Neural Information Processing Systems (NeurIPS)"),
    "ICML": ("inproceedings", "Proceedings of the International Conference on Machine Learning (ICML)"),
    "ICLR": ("inproceedings", "International Conference on Learning Representations (ICLR)"),
    "AAAI": ("inproceedings", "Proceedings of the AAAI Conference on Artificial Intelligence (AAAI)"),
    "IJCAI": ("inproceedings", "Proceedings of the International Joint Conference on Artificial Intelligence (IJCAI)"),
    "ACL": (
        "inproceedings",
        "Proceedings of the Annual Meeting of the Association for Computational Linguistics (ACL)",
    ),
    "EMNLP": (
        "inproceedings",
        "Proceedings of the Conference on Empirical Methods in Natural Language Processing (EMNLP)",
    ),
    "NAACL": ("inproceedings", "Proceedings of the Conference of the North American Chapter of the ACL (NAACL)"),
    "EACL": ("inproceedings", "Proceedings of the Conference of the European Chapter of the ACL (EACL)"),
    "COLING": ("inproceedings", "Proceedings of the International Conference on Computational Linguistics (COLING)"),
    "COLM": ("inproceedings", "Conference on Language Modeling (COLM)"),
    "CoRL": ("inproceedings", "Proceedings of the Conference on Robot Learning (CoRL)"),
    "RSS": ("inproceedings", "Robotics: Science and Systems (RSS)"),
    "ICRA": ("inproceedings", "IEEE International Conference on Robotics and Automation (ICRA)"),
    "IROS": ("inproceedings", "IEEE/RSJ International Conference on Intelligent Robots and Systems (IROS)"),
    "KDD": ("inproceedings", "Proceedings of the ACM SIGKDD Conference on Knowledge Discovery and Data Mining (KDD)"),
    "SIGIR": ("inproceedings", "Proceedings of the International ACM SIGIR Conference (SIGIR)"),
    "WWW": ("inproceedings", "Proceedings of the ACM Web Conference (WWW)"),
    "ACM MM": ("inproceedings", "Proceedings of the ACM International Conference on Multimedia (ACM MM)"),
    "ICASSP": ("inproceedings", "IEEE International Conference on Acoustics, Speech and Signal Processing (ICASSP)"),
    "Interspeech": ("inproceedings", "Proceedings of Interspeech"),
    "BigData": ("inproceedings", "IEEE International Conference on Big Data (BigData)"),
    "SIGGRAPH": ("inproceedings", "ACM SIGGRAPH Conference Proceedings"),
    "CHI": ("inproceedings", "Proceedings of the CHI Conference on Human Factors in Computing Systems (CHI)"),
    "TPAMI": ("article", "IEEE Transactions on Pattern Analysis and Machine Intelligence"),
    "IJCV": ("article", "International Journal of Computer Vision"),
    "TIP": ("article", "IEEE Transactions on Image Processing"),
    "TMM": ("article", "IEEE Transactions on Multimedia"),
    "TCSVT": ("article", "IEEE Transactions on Circuits and Systems for Video Technology"),
    "TMLR": ("article", "Transactions on Machine Learning Research"),
    "JMLR": ("article", "Journal of Machine Learning Research"),
    "TACL": ("article", "Transactions of the Association for Computational Linguistics"),
    "TKDD": ("article", "ACM Transactions on Knowledge Discovery from Data"),
    "ACM TKDD": ("article", "ACM Transactions on Knowledge Discovery from Data"),
    "TOMM": ("article", "ACM Transactions on Multimedia Computing, Communications, and Applications"),
    "Nature": ("article", "Nature"),
    "Science": ("article", "Science"),
    "Nature Machine Intelligence": ("article", "Nature Machine Intelligence"),
    "Pattern Recognition": ("article", "Pattern Recognition"),
}
_VENUES_FOLDED = {name.casefold(): value for name, value in VENUES.items()}
_VENUE_YEAR_RE = re.compile(r"^(.*?)[\s']*((?:19|20)\d{2})$")
_OLD_ARXIV_RE = re.compile(r"^([a-z-]+(?:\.[A-Z]{2})?)/[0-9]{7}")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# Characters LaTeX treats specially, and what to write instead inside a braced field.
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(ch) for ch in _LATEX))
# A word whose capitals must survive a style's sentence-casing: a capital after the first
# character (LLaVA, GPT-4V, Q-Former, 3D) or a capitalised name with a digit (Qwen2).
_KEEP_CASE_RE = re.compile(r".\S*[A-Z]|^[A-Z]\S*\d")
_PUNCT_RE = re.compile(r"^([(\"'“‘]*)(.*?)([)\"'”’:;,.?!]*)$")


def latex_escape(text: str) -> str:
    """Plain text made safe inside a braced BibTeX field (balanced braces, no active characters),
    on one line (newlines mean nothing in BibTeX either), with no control character or
    bidirectional override (which would make a .bib file display in another order than it reads)."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group()], one_line(text))


def protect_title(title: str) -> str:
    """Escape a title and brace the words whose capitals matter, e.g. ``{LLaVA}``, ``{GPT-4V}``."""
    words = []
    for word in title.split():
        # Punctuation around the word stays outside the braces: "{3D-LLM}:", "{GPT-4V}?"
        lead, core, trail = _PUNCT_RE.match(word).groups()  # type: ignore[union-attr]
        if core and _KEEP_CASE_RE.search(core):
            words.append(f"{latex_escape(lead)}{{{latex_escape(core)}}}{latex_escape(trail)}")
        else:
            words.append(latex_escape(word))
    return " ".join(words)


def _url(url: str) -> str:
    """URLs are read verbatim by biblatex; only what would unbalance the field is percent-encoded."""
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


# Words of an organisation's name, not a person's: "Meta Platforms, Inc.", "Google, Gemini Team",
# and the labs that sign the model cards of this field as authors ("Google DeepMind", "OpenAI").
_ORGANISATION = re.compile(
    r"(?<![\w-])(inc|ltd|llc|corp|co|gmbh|plc|university|institute|lab|labs|laboratory|team|group|research|ai"
    r"|deepmind|openai|anthropic|google|microsoft|nvidia|alibaba|tencent|bytedance|baidu|huawei|xai)(?![\w-])",
    re.IGNORECASE,
)
_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv)\.?$", re.IGNORECASE)  # "King, Jr., Martin Luther"
_ET_AL = re.compile(r"(?:^|\s+)et\s+al\.?$", re.IGNORECASE)


def _organisation(name: str) -> bool:
    """A team or company ("Gemini Team", "Meta AI"), which BibTeX would split into a first and a
    last name ("G. Team")."""
    return bool(_ORGANISATION.search(name))


def _last_first(name: str) -> bool:
    """A person written "Last, First" ("Doe, Jane") or "Last, Jr., First", which BibTeX reads as
    such: a few words of letters on each side of the commas (an organisation's name is braced
    before this is asked)."""
    parts = [part.strip() for part in name.split(",")]
    words = re.compile(r"^[^\W\d_][\w.'’-]*(?: [^\W\d_][\w.'’-]*){0,3}$")
    suffixed = len(parts) == 3 and bool(_SUFFIX.match(parts[1]))
    return (len(parts) == 2 or suffixed) and all(words.match(part) for part in parts)


def _authors(names: list[str]) -> list[str]:
    """Each name as BibTeX reads it; a list cut short ("Ann Lee et al.") ends in "others", BibTeX's
    et al., rather than in a person called "et al."."""
    out = []
    for name in names:
        if _ET_AL.search(name):
            if person := _ET_AL.sub("", name).strip():
                out.append(_author(person))
            out.append("others")
            break
        out.append(_author(name))
    return out


def _author(name: str) -> str:
    # A name holding "and" as a word anywhere (BibTeX reads " AND " as " and ", and "Z. and" next
    # to the separator as a separator too), an organisation's (split into a first and a last name)
    # or one holding a comma would be split or reordered, but for a person written "Last, First",
    # which BibTeX reads rightly; a name that is just "others" would read as "et al.".
    text = latex_escape(name)
    stripped = name.strip()
    split = re.search(r"(?:^|\s)and(?:\s|$)", stripped, re.IGNORECASE) or stripped.lower() == "others"
    protect = split or _organisation(stripped) or ("," in stripped and not _last_first(stripped))
    return f"{{{text}}}" if protect else text


def venue_kind(venue: str | None) -> tuple[str, str | None, int | None]:
    """(record type, full venue name, year named in the venue) for a venue as written in entries."""
    if not venue or venue.strip().casefold() == "arxiv":
        return "misc", None, None
    text, year = venue.strip(), None
    m = _VENUE_YEAR_RE.match(text)
    if m and m[1]:
        text, year = m[1].strip(), int(m[2])
    if text.casefold() == "arxiv":  # "arXiv 2023": a preprint all the same
        return "misc", None, year
    found = _VENUES_FOLDED.get(text.casefold())
    if found is None:
        return "misc", venue.strip(), year
    return found[0], found[1], year


def bibtex_record(entry: Entry) -> tuple[str, list[tuple[str, str]]]:
    """(record type, fields in order) for one entry; field values are already escaped."""
    kind, venue_name, venue_year = venue_kind(entry.venue)
    fields: list[tuple[str, str]] = [("title", f"{{{protect_title(entry.title)}}}")]
    if entry.authors:
        fields.append(("author", "{" + " and ".join(_authors(entry.authors)) + "}"))
    if kind == "inproceedings":
        fields.append(("booktitle", f"{{{latex_escape(venue_name or '')}}}"))
    elif kind == "article":
        fields.append(("journal", f"{{{latex_escape(venue_name or '')}}}"))
    elif venue_name:
        fields.append(("howpublished", f"{{{latex_escape(venue_name)}}}"))
    year, month = venue_year, None
    if entry.date:
        date_year, date_month, _ = parse_partial_date(entry.date)
        if year is None or year == date_year:
            year, month = date_year, date_month
    if year is not None:
        fields.append(("year", f"{{{year}}}"))
    if month is not None and kind == "misc":  # a preprint's month; a conference's is not the arXiv one
        fields.append(("month", MONTHS[month - 1]))  # the standard macros: every style knows them
    if entry.arxiv:
        fields.append(("eprint", f"{{{entry.arxiv}}}"))
        fields.append(("archivePrefix", "{arXiv}"))
        old = _OLD_ARXIV_RE.match(entry.arxiv)
        if old:
            fields.append(("primaryClass", f"{{{old[1]}}}"))
    url = paper_url(entry) or entry.links.project
    if url:
        fields.append(("url", f"{{{_url(url)}}}"))
    return kind, fields


def to_bibtex(entries: Iterable[Entry]) -> str:
    """Every entry as a BibTeX record, in the order given, keyed by entry id."""
    blocks = []
    for entry in entries:
        kind, fields = bibtex_record(entry)
        width = max(len(name) for name, _ in fields)
        body = ",\n".join(f"  {name.ljust(width)} = {value}" for name, value in fields)
        blocks.append(f"@{kind}{{{entry.id},\n{body},\n}}\n")
    return "\n".join(blocks)

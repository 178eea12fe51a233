"""The entry schema: pydantic models for one knowledge-base entry and its parts.

This module imports nothing from kb but kb.chars. Curated tags (written by people, under ``tags``) and
machine suggestions (``Suggestions``, written by ``kb suggest`` into a separate file) are
different types on purpose, so one can never be mistaken for the other.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import typing
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kb.chars import LINE_BREAKS, forbidden

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# New-style arXiv ids (0704.0001 onwards: 4+4 digits until 2014, 4+5 after) with an optional
# version, and old-style ids such as hep-th/9901001 or cs.CV/0102003.
# [0-9], not \d: \d takes any script's digits ("２３０４.０８４８５"), which would get a duplicate past
# the duplicate check and into a BibTeX eprint.
ARXIV_RE = re.compile(r"^(?:[0-9]{4}\.[0-9]{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/[0-9]{7})(?:v[0-9]+)?$")
PARTIAL_DATE_RE = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")
URL_RE = re.compile(r"^https?://[^\s<>\"']+$")
ADDRESS_RE = re.compile(r"^\s*(?:https?://|www\.)")  # a text that begins as a web address


def text_problem(value: Any, check: Callable[[str], str | None]) -> None:
    """Raise what ``check`` says of a text, or of an item of a list of texts: for an item, as a
    ``list_item`` error whose context holds its index, so kb check can point at the item's line
    (a validator's own errors are placed at the whole field)."""
    if isinstance(value, str) and (why := check(value)):
        raise ValueError(why)
    if isinstance(value, list):
        # Every item's problem, in one error (a validator raises one): kb check says each at its line.
        found = [(i, why) for i, item in enumerate(value) if isinstance(item, str) and (why := check(item))]
        if found:
            index, why = found[0]
            context = {"index": index, "number": index + 1, "why": why, "others": found[1:]}
            raise PydanticCustomError("list_item", "item {number}: {why}", context)


def _line_break(text: str) -> str | None:
    # YAML writes one in a quoted string as "\n" or "\r", or keeps it from a block ("title: |").
    if broken := LINE_BREAKS.search(text):
        return f"holds a line break (U+{ord(broken.group()):04X}) in {text!r}; write it on one line"
    # A tab shows as a jump in a terminal's columns and splits a cell of a tab-separated paste.
    if "\t" in text:
        return f"holds a tab in {text!r}; write a space"
    return None


def _empty_item(text: str) -> str | None:
    return None if text else "is empty; remove the item"


def on_one_line(value: Any) -> Any:
    """``value`` as it is, when it is no text or list of texts holding a line break."""
    text_problem(value, _line_break)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)
    # The fields of prose, which may run over lines; every other text is one line, as a title, a
    # name or a venue is shown: in a table row, a CSV cell, a terminal line, a BibTeX field.
    PROSE_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _no_blank_text(cls, value: Any, info: ValidationInfo) -> Any:
        # An empty text or part says nothing, and no export can tell it from a missing one (an
        # empty CSV cell reads back as absent): leave the field out instead.
        if isinstance(value, str) and not value:
            raise ValueError("is empty; give a value or leave the field out")
        optional = info.field_name is not None and cls.model_fields[info.field_name].default is None
        if isinstance(value, BaseModel) and optional and not value.model_dump(exclude_defaults=True):
            raise ValueError("is empty; give one of its fields or leave it out")
        if isinstance(value, list):  # each item's first problem, every item's at once, placed at the item
            text_problem(value, lambda item: _empty_item(item) or forbidden(item) or _line_break(item))
        text_problem(value, forbidden)  # in a file kb.yamlpos says it first; this holds kb new's and the imports'
        return value if info.field_name in cls.PROSE_FIELDS else on_one_line(value)


class Kind(str, Enum):
    """What an entry is. The first four are works, the last two datasets."""

    model = "model"
    method = "method"
    analysis = "analysis"
    survey = "survey"
    dataset = "dataset"
    benchmark = "benchmark"

    @property
    def is_dataset(self) -> bool:
        return self in (Kind.dataset, Kind.benchmark)

    @property
    def folder(self) -> str:
        return "datasets" if self.is_dataset else "works"

    @property
    def with_article(self) -> str:
        """The kind in a sentence: "a model", "an analysis"."""
        return f"{'an' if self is Kind.analysis else 'a'} {self.value}"

    @property
    def plural(self) -> str:
        """The heading for entries of this kind: "Models", "Analyses", ..."""
        return "Analyses" if self is Kind.analysis else f"{self.value.capitalize()}s"


WORK_KINDS = tuple(k for k in Kind if not k.is_dataset)
DATASET_KINDS = tuple(k for k in Kind if k.is_dataset)


class Modality(str, Enum):
    """Input and output modalities. The MM-LLMs io codes map onto these (see MMLLMS_IO)."""

    text = "text"
    image = "image"
    video = "video"
    audio = "audio"
    speech = "speech"
    point_cloud = "point-cloud"
    document = "document"
    bounding_box = "bounding-box"
    mask = "mask"
    retrieved_image = "retrieved-image"
    table = "table"
    time_series = "time-series"
    motion = "motion"


# The MM-LLMs tracker's modality codes, as in ../shared/seed/taxonomies.yaml.
MMLLMS_IO: dict[str, Modality] = {
    "I": Modality.image,
    "V": Modality.video,
    "A": Modality.audio,
    "3D": Modality.point_cloud,
    "T": Modality.text,
    "I_D": Modality.document,
    "I_B": Modality.bounding_box,
    "I_M": Modality.mask,
    "I_R": Modality.retrieved_image,
}


def _check_url(value: str | None) -> str | None:
    if value is None or URL_RE.match(value):
        return value
    if re.match(r"^https?://", value) and (odd := re.search(r"[\s<>\"']", value)):
        held = "a space" if odd[0] == " " else repr(odd[0])
        raise ValueError(f"expected an http(s) URL, got {value!r}, which holds {held}; write it as %{ord(odd[0]):02X}")
    if re.match(r"^(www\.)?[\w-]+(\.[\w-]+)+(/|$)", value):  # "github.com/x/y": the scheme left out
        raise ValueError(f"expected an http(s) URL, got {value!r}; did you mean 'https://{value}'?")
    raise ValueError(f"expected an http(s) URL, got {value!r}")


Url = Annotated[str, Field(description="An http:// or https:// address.")]


class Links(_Strict):
    """Where to find the paper and what came with it."""

    paper: Url | None = Field(None, description="The paper's abstract page (prefer arXiv's /abs/ page).")
    code: Url | None = Field(None, description="Source code repository.")
    project: Url | None = Field(None, description="Project or home page.")
    demo: Url | None = Field(None, description="An online demo.")
    data: Url | None = Field(None, description="Where the data or benchmark can be downloaded.")

    _urls = field_validator("paper", "code", "project", "demo", "data")(_check_url)


class Modalities(_Strict):
    input: list[Modality] = Field(default_factory=list, description="Modalities the work takes in.")
    output: list[Modality] = Field(default_factory=list, description="Modalities the work produces.")


MMLLMsFunctional = Literal["understanding", "generation"]
MMLLMsDesign = Literal["tool-using", "end-to-end"]


class MMLLMsTags(_Strict):
    """The MM-LLMs design-space facets (arXiv 2401.13601) that classify a model."""

    functional: list[MMLLMsFunctional] = Field(default_factory=list, description="Functional division.")
    design: list[MMLLMsDesign] = Field(default_factory=list, description="Design division.")


class Tags(_Strict):
    """Curated taxonomy tags: chosen by contributors or imported from a survey's own list, never by a model."""

    codev: list[str] = Field(
        default_factory=list, description="Leaf ids of the data-model co-development taxonomy (multi-label)."
    )
    yin: list[str] = Field(default_factory=list, description="Topic ids of the MLLM survey taxonomy.")
    mmllms: MMLLMsTags = Field(default_factory=MMLLMsTags, description="MM-LLMs design-space facets.")

    def is_empty(self) -> bool:
        return not (self.codev or self.yin or self.mmllms.functional or self.mmllms.design)


class Architecture(_Strict):
    """The five parts of an MM-LLM in the MM-LLMs design space, as free text (model names)."""

    modality_encoder: str | None = None
    input_projector: str | None = None
    llm_backbone: str | None = None
    output_projector: str | None = None
    modality_generator: str | None = None

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


class Scale(_Strict):
    """Dataset scales used in training, as published (e.g. "558K", "1.2M")."""

    pre_training: str | None = Field(None, description="Data used in the pre-training stage.")
    instruction_tuning: str | None = Field(None, description="Data used in the instruction-tuning stage.")


class Relations(_Strict):
    """Typed links to other entries, by id. Inverse links (used-by, introduced-in) are derived."""

    trained_on: list[str] = Field(default_factory=list, description="Datasets the model was trained on.")
    evaluated_on: list[str] = Field(default_factory=list, description="Benchmarks the work reports results on.")
    introduces: list[str] = Field(default_factory=list, description="Datasets or benchmarks this work released.")
    builds_on: list[str] = Field(default_factory=list, description="Earlier works this one extends.")

    def items(self) -> list[tuple[str, str]]:
        """(relation type, target id) pairs, in a stable order."""
        return [(name, target) for name in RELATION_TYPES for target in getattr(self, name)]


RELATION_TYPES = ("trained_on", "evaluated_on", "introduces", "builds_on")

Source = Literal["seed-codev", "seed-yin", "seed-mmllms", "arxiv", "contributor"]


class Provenance(_Strict):
    """Which source list a group of facts came from."""

    source: Source
    fields: list[str] = Field(default_factory=list, description="Dotted field names this source supplied.")
    note: str | None = Field(None, description="Where in the source, e.g. the section of a list.")


def parse_partial_date(value: str) -> tuple[int, int | None, int | None]:
    """Split "2023", "2023-05" or "2023-05-17" into parts; raise ValueError if it is not a real date."""
    m = PARTIAL_DATE_RE.match(value)
    if not m:
        raise ValueError(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    year, month, day = int(m[1]), int(m[2]) if m[2] else None, int(m[3]) if m[3] else None
    try:  # a part left out is None; a part written as 00 is 0, which no calendar has
        _dt.date(year, 1 if month is None else month, 1 if day is None else day)
    except ValueError as exc:  # month 13 or 00, February 30, ...
        raise ValueError(f"{value} is not a real date ({exc})") from None
    return year, month, day


def written_twice(text: str) -> str | None:
    """The text once, when it is a title of three words or more written twice in a row (with or
    without a space between); a short name that repeats ("Talk2Talk") is no slip."""
    text = text.strip()
    half = len(text) // 2
    for head, tail in ((text[:half], text[half:]), (text[:half], text[half + 1 :])):
        if head.strip() == tail.strip() and len(re.findall(r"\w+", head)) >= 3:
            return head.strip()
    return None


class Entry(_Strict):
    """One work (model, method, analysis, survey) or dataset (training set, benchmark)."""

    PROSE_FIELDS: ClassVar[frozenset[str]] = frozenset({"summary"})
    id: str = Field(
        description="Lower-case slug, equal to the file name without .yaml.",
        json_schema_extra={"pattern": SLUG_RE.pattern, "maxLength": 80},
    )
    title: str = Field(min_length=1, description="The paper's full title.")
    kind: Kind = Field(description="One of model, method, analysis, survey (works), dataset, benchmark (datasets).")
    name: str | None = Field(None, description="Short name, e.g. LLaVA or VQAv2.")
    aliases: list[str] = Field(default_factory=list, description="Other names and titles, any language.")
    arxiv: str | None = Field(
        None,
        description='arXiv identifier as a quoted string, e.g. "2304.08485".',
        json_schema_extra={"pattern": ARXIV_RE.pattern},
    )
    date: str | None = Field(None, description="First public release: YYYY, YYYY-MM or YYYY-MM-DD (quoted or not).")
    venue: str | None = Field(None, description='Where it was published, e.g. "CVPR 2024", or "arXiv".')
    authors: list[str] = Field(
        default_factory=list,
        description='People as "Haotian Liu" or "Liu, Haotian"; a team or company by its name.',
    )
    affiliations: list[str] = Field(default_factory=list)
    links: Links = Field(default_factory=Links)
    modalities: Modalities = Field(default_factory=Modalities)
    tags: Tags = Field(default_factory=Tags)
    architecture: Architecture | None = Field(None, description="For models: the five MM-LLM parts.")
    scale: Scale | None = Field(None, description="Training data scales, as published.")
    relations: Relations = Field(default_factory=Relations)
    summary: str | None = Field(None, description="A few sentences in our own words.")
    added: str | None = Field(None, description="When the entry joined the knowledge base, YYYY-MM-DD.")
    provenance: list[Provenance] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value) or len(value) > 80:
            raise ValueError(
                f"expected a slug of lower-case letters, digits and single hyphens (at most 80), got {value!r}"
            )
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        # Two slips seen in the surveys' lists: a paper's address in place of its title, and a
        # title pasted twice over ("FunQA: Towards ...ComprehensionFunQA: Towards ...").
        if ADDRESS_RE.match(value):
            raise ValueError(f"expected the paper's title, got a web address {value.strip()!r}; put it under links")
        if not re.search(r"[^\W_]", value):
            raise ValueError(f"expected the paper's title, got {value!r}, which has no letters or digits")
        if twice := written_twice(value):
            raise ValueError(f"the title is written twice over; give it once: {twice!r}")
        return value

    @field_validator("arxiv", mode="before")
    @classmethod
    def _arxiv(cls, value: object) -> object:
        if isinstance(value, float | int) and not isinstance(value, bool):
            raise ValueError(f'{value!r} was read by YAML as a number; quote it: arxiv: "{value}" (with every digit)')
        if isinstance(value, str) and not ARXIV_RE.match(value):
            raise ValueError(f'expected an arXiv id like "2304.08485" or "cs.CV/0102003", got {value!r}')
        return value

    @field_validator("date", "added", mode="before")
    @classmethod
    def _date(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, _dt.date):
            value = value.isoformat()
        if isinstance(value, str):
            year, month, day = parse_partial_date(value)
            if _dt.date(year, month or 1, day or 1) > _dt.date.today():
                raise ValueError(f"{value} is in the future")
        return value

    @model_validator(mode="after")
    def _architecture_for_models(self) -> Entry:
        if self.architecture is not None and self.kind.is_dataset:
            raise ValueError("architecture is only for works, not datasets")
        return self

    @property
    def is_dataset(self) -> bool:
        return self.kind.is_dataset

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    @property
    def display_name(self) -> str:
        return self.name or self.title


class Suggestion(_Strict):
    """A machine-suggested tag with a calibrated score in [0, 1]."""

    tag: str
    score: float


class EntrySuggestions(_Strict):
    codev: list[Suggestion] = Field(default_factory=list)
    yin: list[Suggestion] = Field(default_factory=list)


class SuggestionsFile(_Strict):
    """entries/suggestions.json: machine suggestions for entries that lack curated tags."""

    model: str = Field(description="The embedding model that produced them.")
    recipe: int = Field(description="Version of the text recipe and the classifier.")
    zero_shot: list[Literal["codev", "yin"]] = Field(
        default_factory=list,
        description="The taxonomies whose suggestions are the zero-shot fallback's, for want of curated labels "
        "of two leaves to learn from: shares of one across the leaves, not each leaf's own probability, so "
        "the pages show them as zero-shot, not as suggested. Left out when there are none.",
    )
    entries: dict[str, EntrySuggestions] = Field(default_factory=dict)


def models_in(annotation: Any, *, in_containers: bool = True) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation holds, in order: ``Links``, ``Scale | None``, and
    with ``in_containers`` those of ``list[X]`` or ``dict[str, X]`` too."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if not in_containers and typing.get_origin(annotation) in (list, tuple, dict):
        return []
    return [m for arg in typing.get_args(annotation) for m in models_in(arg, in_containers=in_containers)]


@functools.cache
def field_paths(model: type[BaseModel] | None = None, prefix: str = "") -> tuple[str, ...]:
    """Every dotted field name of an entry, a section and its parts alike ("links", "links.code"),
    in the schema's order: what a provenance note may name (worked out once; kb check asks per entry)."""
    out: list[str] = []
    for name, info in (model or Entry).model_fields.items():
        out.append(prefix + name)
        for sub in models_in(info.annotation, in_containers=False):  # Links, Scale | None
            out += field_paths(sub, f"{prefix}{name}.")
    return tuple(out)


SCHEMA_MODELS: dict[str, type[BaseModel]] = {"entry": Entry, "suggestions": SuggestionsFile}

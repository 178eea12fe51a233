"""The checks of the files beside the entries: the taxonomies, entries/suggestions.json and
kb.yaml."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

from pydantic import ValidationError

from kb.chars import whole_number
from kb.check.entries import Locator, dotted, relative, tag_problem
from kb.config import CONFIG_FILE
from kb.errors import Problem, ProblemsError
from kb.schema import SuggestionsFile
from kb.store import KB, SUGGESTIONS_FILE, every_problem, validation_problems
from kb.taxonomy import (
    TAXONOMY_IDS,
    TOPIC_TAXONOMIES,
    DuplicateNodeError,
    Taxonomies,
    Taxonomy,
    TaxonomyFileError,
    TaxonomySpec,
    files_digest,
)
from kb.yamlpos import (
    Document,
    Loc,
    parse_document,
    parse_document_keeping,
    read_yaml_bytes,
    top_key_positions,
)


def load_taxonomies_checked(root: Path) -> tuple[Taxonomies, list[Problem]]:
    """The taxonomies that load (all of them when there are no problems; the tags of those that
    load can be checked while another is damaged), and the problems of the others, with positions."""
    folder = root / "entries" / "taxonomies"
    by_id: dict[str, Taxonomy] = {}
    read: dict[str, bytes] = {}
    problems: list[Problem] = []
    for tax_id in TAXONOMY_IDS:
        path = folder / f"{tax_id}.yaml"
        rel = relative(path, root)
        if not path.is_file():
            problems.append(Problem(rel, 0, 0, "", f"the {tax_id} taxonomy file is missing"))
            continue
        # What reading the YAML finds (a padded quote, a tab in a name) is said with what the schema
        # finds in the rest of the file, as for an entry, not one after the other.
        found: list[Problem] = []
        try:
            read[tax_id] = read_yaml_bytes(path, rel)
            doc, found = parse_document_keeping(read[tax_id], rel)
            spec = TaxonomySpec.model_validate(doc.data)
            if found:
                problems += found
                continue
            by_id[tax_id] = Taxonomy.from_spec(spec, tax_id)
        except ProblemsError as exc:
            problems += exc.problems
        except ValidationError as exc:
            problems += every_problem(found, validation_problems(exc, doc, rel, TaxonomySpec), doc)
        except TaxonomyFileError as exc:
            line, col = doc.position(exc.loc)
            message = str(exc)
            if isinstance(exc, DuplicateNodeError):  # the file's lines say more than the taxonomy's name
                first = doc.position(exc.first)[0]
                message = f"node id {exc.node_id!r} is also line {first}'s; node ids must differ within a taxonomy"
            problems.append(Problem(rel, line, col, dotted(exc.loc), message))
        except ValueError as exc:
            problems.append(Problem(rel, 1, 1, "", str(exc)))
        except OSError as exc:
            problems.append(Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}"))
    if "mmllms" in by_id:
        from kb.tags import mmllms_node_ids

        rel = relative(folder / "mmllms.yaml", root)
        for node_id in sorted(mmllms_node_ids() - set(by_id["mmllms"].nodes)):
            message = f"node {node_id!r} is missing: kb files the entries' MM-LLMs facets under it; restore it"
            problems.append(Problem(rel, 0, 0, "nodes", message))
    return Taxonomies(by_id, files_digest(read)), problems


def suggestions_problems(kb: KB) -> list[Problem]:
    """entries/suggestions.json: the schema, entry ids that exist, tags that exist, scores in [0, 1].
    Suggestions in a taxonomy where the entry has curated tags now are no problem: copying the
    fitting ones into tags: is how they are meant to be used, no command shows them any more
    (KB.suggestions), and the next kb suggest --all drops them from the file."""
    path = kb.root / SUGGESTIONS_FILE
    if not path.exists():
        return []
    rel = SUGGESTIONS_FILE
    try:
        data = path.read_bytes()
        parsed = json.loads(data, parse_int=whole_number)
    except OSError as exc:
        return [Problem(rel, 0, 0, "", f"cannot read the file: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return [Problem(rel, 1, 1, "", f"not UTF-8 ({exc.reason}); run kb suggest to write it again")]
    except json.JSONDecodeError as exc:
        return [Problem(rel, exc.lineno, exc.colno, "", f"not valid JSON: {exc.msg}; run kb suggest to write it again")]
    except ValueError as exc:  # from whole_number, which knows no position: the first long run of digits has it
        found = re.search(rb"[0-9]{100,}", data)
        line, col = (
            (data.count(b"\n", 0, found.start()) + 1, found.start() - data.rfind(b"\n", 0, found.start()))
            if found
            else (0, 0)
        )
        return [Problem(rel, line, col, "", f"{exc}; run kb suggest to write it again")]
    doc = _json_positions(data, rel)
    try:
        suggestions = SuggestionsFile.model_validate(parsed)
    except ValidationError as exc:
        return validation_problems(exc, doc, rel, SuggestionsFile)
    out = []
    at = Locator(rel, doc)
    known = set(kb.entries) | {p.stem for p in kb.failed}
    for entry_id, entry_suggestions in suggestions.entries.items():
        if entry_id not in known:
            close = difflib.get_close_matches(entry_id, sorted(known), n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(
                at(
                    ("entries", entry_id),
                    f"no entry with id {entry_id!r}{hint}; run kb suggest --all (kb build does)",
                    key=True,
                )
            )
        for tax_id in TOPIC_TAXONOMIES:
            taxonomy = kb.taxonomies.by_id.get(tax_id)
            for i, suggestion in enumerate(getattr(entry_suggestions, tax_id)):
                loc: Loc = ("entries", entry_id, tax_id, i)
                if taxonomy is not None:
                    message = tag_problem(taxonomy, suggestion.tag)
                    if message:
                        out.append(at(loc + ("tag",), message))
                if not 0.0 <= suggestion.score <= 1.0:
                    out.append(at(loc + ("score",), f"expected a score between 0 and 1, got {suggestion.score}"))
    return out


def _json_positions(data: bytes, rel: str) -> Document:
    """Positions of the nodes of a JSON file (JSON is YAML); none if YAML cannot read it."""
    try:
        return parse_document(data, rel)
    except ProblemsError:
        return Document({})


def mkdocs_problems(root: Path, *, settings: bool = True) -> list[Problem]:
    """mkdocs.yml's YAML mistakes and (``settings``) what mkdocs or kb would refuse in its
    settings, found with the others rather than by kb build's last stage."""
    path = root / "mkdocs.yml"
    if not path.exists():
        return []
    try:
        positions = top_key_positions(read_yaml_bytes(path, "mkdocs.yml"), "mkdocs.yml")
    except ProblemsError as exc:  # a folder, a device, megabytes; its YAML mistakes
        return exc.problems
    except OSError as exc:
        return [Problem("mkdocs.yml", 0, 0, "", f"cannot read the file: {exc.strerror}")]
    if not settings:
        return []
    from kb.site.settings import settings_problems

    return settings_problems(root, positions)


def config_problems(root: Path) -> list[Problem]:
    """kb.yaml beside mkdocs.yml, when there is one (environment variables are not checked)."""
    from kb.config import Config, cache_dir_problem, config_document

    try:
        doc = config_document(root)
    except ProblemsError as exc:
        return exc.problems
    if doc is None:
        return []
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        return validation_problems(exc, doc, CONFIG_FILE, Config)
    if why := cache_dir_problem(root, config):  # as every command that keeps a cache refuses it
        line, col = doc.position(("cache_dir",))
        return [Problem(CONFIG_FILE, line, col, "cache_dir", why)]
    return []

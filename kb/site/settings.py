"""mkdocs.yml as kb reads it: what mkdocs would refuse, and what kb decides itself.

kb check finds these at the line of the setting, with the entries' problems, rather than kb
build's last stage after the embeddings and the graph. mkdocs loads only when this is called.

kb check runs no code that mkdocs.yml names: its YAML is read with a safe loader (``!ENV`` and
``!relative`` as mkdocs reads them; a ``!!python/name:`` reference only to an object of an
installed package, never of a file of the knowledge base's; any other Python tag is a problem),
its ``hooks`` (Python files mkdocs runs) are checked to exist but not loaded, and what mkdocs
prints or logs while it validates is not let through. kb build, which runs mkdocs, runs them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml

from kb.errors import Problem
from kb.output.text import one_line, shorten
from kb.yamlpos import Lines

MKDOCS_YML = "mkdocs.yml"
SAID_AT_MOST = 300  # characters of a message of mkdocs', which quotes whole values


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that resolves a ``!!python/name:X`` reference (an emoji index, say) to the object
    only where X lies in an installed package, never in a file of the knowledge base's own."""

    root = Path()


def _python_name(loader: _SafeLoader, suffix: str, node: yaml.Node) -> object:
    top = suffix.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: found, not run
    except (ImportError, ValueError):
        spec = None
    origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    here = (loader.root.resolve(), Path.cwd().resolve())
    if origin is None or any(origin.is_relative_to(folder) for folder in here):
        raise yaml.constructor.ConstructorError(
            None, None, f"!!python/name:{suffix} is not in an installed package", node.start_mark
        )
    module, _, name = suffix.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise yaml.constructor.ConstructorError(None, None, f"cannot find {suffix}: {exc}", node.start_mark) from None


_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/name:", _python_name)


def settings_problems(root: Path, key_lines: dict[str, tuple[int, int]]) -> list[Problem]:
    """What mkdocs' own validation says of ``root``/mkdocs.yml, warnings included (``mkdocs
    build --strict`` fails on them), and kb's rules; at the lines of ``key_lines`` (the top-level
    keys as written). The folders kb chooses (docs_dir, site_dir) are set as kb build sets them."""
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.exceptions import MkDocsException
    from mkdocs.utils.yaml import get_yaml_loader, yaml_load

    inherited: set[str] = set()  # keys the file INHERIT names sets and mkdocs.yml does not

    def at(key: str, message: str) -> Problem:
        top = key.split(".")[0]
        if top in inherited and "INHERIT" in key_lines:
            return Problem(MKDOCS_YML, *key_lines["INHERIT"], key, _cut(f"{message}; set in the file INHERIT names"))
        line, col = key_lines.get(top, (0, 0))
        return Problem(MKDOCS_YML, line, col, key, _cut(message))

    config = MkDocsConfig(config_file_path=str(root / MKDOCS_YML))
    with tempfile.TemporaryDirectory(prefix="kb-mkdocs-") as scratch, _quiet():
        (Path(scratch) / "docs").mkdir()
        try:
            # As MkDocsConfig.load_file reads it (!ENV, !relative, INHERIT), keeping what is written.
            with (root / MKDOCS_YML).open("rb") as fh:
                loader = get_yaml_loader(_SafeLoader, config=config)
                loader.root = root
                written = yaml_load(fh, loader)
            hooks = written.pop("hooks", None) if isinstance(written, dict) else None
            if isinstance(written, dict):
                inherited.update(set(written) - set(key_lines))
            config.load_dict(written)
            config.load_dict({"docs_dir": str(Path(scratch) / "docs"), "site_dir": str(Path(scratch) / "site")})
            failed, warnings = config.validate()
        except MkDocsException as exc:  # not a mapping, an INHERIT file missing, a tag that runs code
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark:
                what = "; ".join(x for x in (cause.context, cause.problem) if x)
                if "python/" in what and "python/name" not in what:
                    what += " (such a tag makes YAML run code, which kb check never does; mkdocs.yml needs none)"
                text = (root / MKDOCS_YML).read_text(encoding="utf-8", errors="replace").removeprefix("\ufeff")
                line, col = Lines(text).at(cause.problem_mark.index)  # as kb check counts lines elsewhere
                return [Problem(MKDOCS_YML, line, col, "", _cut(f"mkdocs cannot read it: {what}"))]
            missing = re.match(r"Inherited config file '(.*)' does not exist", str(exc))  # mkdocs' words
            if "INHERIT" in key_lines and missing:
                said = f"{missing[1]!r} does not exist; INHERIT names a file of settings to build on, beside mkdocs.yml"
                return [Problem(MKDOCS_YML, *key_lines["INHERIT"], "INHERIT", _cut(said))]
            return [Problem(MKDOCS_YML, 0, 0, "", _cut(f"mkdocs cannot read it: {one_line(str(exc))}"))]
    problems = [at(key, f"{one_line(str(error))} (mkdocs)") for key, error in failed]
    problems += [at(key, f"{one_line(str(warning))} (mkdocs build --strict stops on it)") for key, warning in warnings]
    problems += [at("hooks", message) for message in _hook_problems(root, hooks)]
    if not failed:
        problems += [at(key, message) for key, message in kb_rules(written, config)]
    return problems


def _hook_problems(root: Path, hooks: object) -> list[str]:
    """Hooks are Python files mkdocs runs: each must exist (kb check does not run them)."""
    if hooks is None:
        return []
    if not isinstance(hooks, list) or not all(isinstance(h, str) for h in hooks):
        return ["expected a list of Python files"]
    return [f"{hook!r} is not a file" for hook in hooks if not (root / hook).is_file()]


@contextlib.contextmanager
def _quiet():  # noqa: ANN202 - a context manager
    """What plugins print and mkdocs logs while validating: kept off kb check's output (its JSON)."""
    logger = logging.getLogger("mkdocs")
    saved = (logger.handlers[:], logger.propagate)
    logger.handlers, logger.propagate = [logging.NullHandler()], False
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.handlers, logger.propagate = saved


def _cut(message: str) -> str:
    """mkdocs quotes a whole value in its messages; a nav of nested aliases made one of megabytes."""
    return shorten(message, SAID_AT_MOST)


def kb_rules(written: dict[str, Any], config: Any) -> list[tuple[str, str]]:  # noqa: ANN401 - MkDocsConfig
    """What mkdocs.yml sets that kb would silently override or that breaks its links: kb build
    reads the pages from docs/, kb.yaml's site_dir decides where the site goes, and kb's pages
    link to each other as folders. ``written`` is the file as written, before kb's overrides;
    a folder written another way ("docs/", "./site") is the same folder."""
    root = Path(config.config_file_path).parent

    def other(key: str, default: str) -> bool:
        given = written.get(key, default)
        return not isinstance(given, str) or (root / given).resolve() != (root / default).resolve()

    out = []
    if other("docs_dir", "docs"):
        out.append(("docs_dir", f"set to {written['docs_dir']!r}; kb build reads the pages from docs/: remove it"))
    if other("site_dir", "site"):
        where = "kb.yaml's site_dir decides where the site goes: set it there"
        out.append(("site_dir", f"set to {written['site_dir']!r}; {where}"))
    if not config["use_directory_urls"]:
        out.append(("use_directory_urls", "set to false; kb's pages link to each other as folders: remove it"))
    return out

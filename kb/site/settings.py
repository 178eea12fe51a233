"""mkdocs.yml as kb reads it: what mkdocs would refuse, and what kb decides itself.

kb check finds these at the line of the setting, with the entries' problems, rather than kb
build's last stage after the embeddings and the graph. mkdocs loads only when this is called.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kb.errors import Problem
from kb.output.text import one_line

MKDOCS_YML = "mkdocs.yml"


def settings_problems(root: Path, key_lines: dict[str, tuple[int, int]]) -> list[Problem]:
    """What mkdocs' own validation says of ``root``/mkdocs.yml, warnings included (``mkdocs
    build --strict`` fails on them), and kb's rules; at the lines of ``key_lines`` (the top-level
    keys as written). The folders kb chooses (docs_dir, site_dir) are set as kb build sets them."""
    import yaml
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.exceptions import MkDocsException
    from mkdocs.utils.yaml import get_yaml_loader, yaml_load

    def at(key: str, message: str) -> Problem:
        line, col = key_lines.get(key.split(".")[0], (0, 0))
        return Problem(MKDOCS_YML, line, col, key, message)

    config = MkDocsConfig(config_file_path=str(root / MKDOCS_YML))
    with tempfile.TemporaryDirectory(prefix="kb-mkdocs-") as scratch:
        (Path(scratch) / "docs").mkdir()
        try:
            # As MkDocsConfig.load_file reads it (!ENV, !relative, INHERIT), keeping what is written.
            with (root / MKDOCS_YML).open("rb") as fh:
                written = yaml_load(fh, get_yaml_loader(config=config))
            config.load_dict(written)
            config.load_dict({"docs_dir": str(Path(scratch) / "docs"), "site_dir": str(Path(scratch) / "site")})
            failed, warnings = config.validate()
        except MkDocsException as exc:  # not a mapping, an INHERIT file missing, a !!python/name of nothing
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark:
                what = "; ".join(x for x in (cause.context, cause.problem) if x)
                mark = cause.problem_mark
                return [Problem(MKDOCS_YML, mark.line + 1, mark.column + 1, "", f"mkdocs cannot read it: {what}")]
            return [Problem(MKDOCS_YML, 0, 0, "", f"mkdocs cannot read it: {one_line(str(exc))}")]
    problems = [at(key, f"{one_line(str(error))} (mkdocs)") for key, error in failed]
    problems += [at(key, f"{one_line(str(warning))} (mkdocs build --strict stops on it)") for key, warning in warnings]
    if not failed:
        problems += [at(key, message) for key, message in kb_rules(written, config)]
    return problems


def kb_rules(written: dict[str, Any], config: Any) -> list[tuple[str, str]]:  # noqa: ANN401 - MkDocsConfig
    """What mkdocs.yml sets that kb would silently override or that breaks its links: kb build
    reads the pages from docs/, kb.yaml's site_dir decides where the site goes, and kb's pages
    link to each other as folders. ``written`` is the file as written, before kb's overrides."""
    out = []
    if written.get("docs_dir", "docs") != "docs":
        out.append(("docs_dir", f"set to {written['docs_dir']!r}; kb build reads the pages from docs/: remove it"))
    if written.get("site_dir", "site") != "site":
        out.append(
            (
                "site_dir",
                f"set to {written['site_dir']!r}; kb.yaml's site_dir decides where the site goes: set it there",
            )
        )
    if not config["use_directory_urls"]:
        out.append(("use_directory_urls", "set to false; kb's pages link to each other as folders: remove it"))
    return out

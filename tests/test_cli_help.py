"""Every kb command and every option says what it does (after sqlite-utils' documentation tests).

The commands are walked from ``kb.cli.main``, so a command added anywhere is held to this too.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kb.cli import main


def commands(group: click.Group = main, path: tuple[str, ...] = ("kb",)) -> dict[str, click.Command]:
    """Every command under ``group``, groups included, by its full name ("kb export")."""
    found: dict[str, click.Command] = {" ".join(path): group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(commands(command, (*path, name)))
        else:
            found[" ".join((*path, name))] = command
    return found


ALL = commands()


def test_the_walk_finds_the_commands() -> None:
    assert {"kb", "kb query", "kb show", "kb tree", "kb stats", "kb export"} <= set(ALL)


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_command_has_help(name: str) -> None:
    command = ALL[name]
    assert (command.help or "").strip(), f"{name} has no help text (give its function a docstring)"


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_option_has_help(name: str) -> None:
    undocumented = [
        "/".join(param.opts)
        for param in ALL[name].params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert undocumented == [], f"{name}: options without help: {', '.join(undocumented)}"


@pytest.mark.parametrize("name", sorted(ALL))
def test_help_prints_every_option(name: str) -> None:
    result = CliRunner().invoke(main, [*name.split()[1:], "--help"])
    assert result.exit_code == 0, result.output
    for param in ALL[name].params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.opts[-1] in result.stdout, f"{name} --help lacks {param.opts[-1]}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["similar", "llava", "-k", "0"],
            "kb similar: Invalid value for '-k' / '--top' / '-n' / '--limit': 0 is not in the range x>=1; "
            "see kb similar --help\n",
        ),
        (["show"], "kb show: Missing argument 'ID'; see kb show --help\n"),
        (["quer"], "kb: No such command 'quer'. Did you mean 'query'?\n"),
        # kb's own options are parsed before any command runs.
        (
            ["--root", __file__, "query"],
            f"kb: Invalid value for '--root': Directory '{__file__}' is a file; see kb --help\n",
        ),
        (["--bogus"], "kb: No such option '--bogus'; see kb --help\n"),
        # Every choice of every command is refused as kb's formats are, with a "did you mean".
        (["check", "--format", "jsn"], "kb: unknown format 'jsn'; did you mean 'json'?\n"),
        (["cluster", "--format", "yml"], "kb: unknown format 'yml'; did you mean 'yaml'?\n"),
        (["embed", "--device", "cdua"], "kb: unknown device 'cdua'; did you mean 'cuda'?\n"),
        (["suggest", "--taxonomy", "codx", "--title", "x"], "kb: unknown taxonomy 'codx'; did you mean 'codev'?\n"),
        (["new", "--kind", "modle", "--title", "A Title"], "kb: unknown kind 'modle'; did you mean 'model'?\n"),
    ],
)
def test_click_usage_errors_are_one_line_with_exit_code_2(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, args, prog_name="kb")
    assert (result.exit_code, result.output) == (2, expected)

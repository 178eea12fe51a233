"""The kb command line. It only wires stages together: parse, call, render.

Each family of commands lives in its own module and is imported here; command bodies import
the stages they need inside the function, so `kb query` never pays for torch or mkdocs.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from kb.errors import KBError, ProblemsError, UsageError
from kb.output.text import not_text, one_line


class State:
    """What every command may need, computed on first use."""

    def __init__(self, root: Path | None):
        self._root_arg = root
        self._root: Path | None = None
        self._kb = None
        self._config: Any = None  # kb.config.Config, imported when first read

    @property
    def root(self) -> Path:
        if self._root is None:
            from kb.store import find_root

            self._root = find_root(self._root_arg)
        return self._root

    @property
    def config(self):  # -> kb.config.Config
        if self._config is None:
            from kb.config import load_config

            self._config = load_config(self.root)
        return self._config

    def configure(self, **flags: object):  # -> kb.config.Config
        """The settings with a command's own flags over kb.yaml and KB_*, read once: the rest of
        the command (where its cache is, say) uses them too."""
        from kb.config import load_config

        assert self._config is None, "configure before anything reads the settings"
        self._config = load_config(self.root, flags)
        return self._config

    def kb(self):  # -> kb.store.KB
        if self._kb is None:
            from kb.store import load_kb

            parsed = self.parse_cache()
            self._kb = load_kb(self.root, parsed=parsed)
            _say_notes(self._kb, parsed)
        return self._kb

    def parse_cache(self):  # -> kb.parsecache.ParseCache
        """The cache of parsed entry files, in cache_dir. A bad setting, a cache_dir kb may not use
        among them, stops every command here, as kb check reports it: it had turned the cache off
        in silence. (A cache_dir that cannot be written is no error: the files are parsed.)"""
        from kb.config import cache_folder
        from kb.parsecache import ParseCache

        return ParseCache(cache_folder(self.root, self.config))


NOTES_SHOWN = 5


def _say_notes(kb, parsed) -> None:  # (kb.store.KB, kb.parsecache.ParseCache | None)
    """Say what kb check would find beyond the schema (a file the schema refuses stops a command;
    these do not, since each entry is whole), so that no command's output is wrong in silence: a
    repeated id shows one of its files, an entry with an unknown tag is in no section of it."""
    import datetime as _dt

    from kb.errors import Problem
    from kb.output.status import say
    from kb.output.text import counted

    today = _dt.date.today()
    key = parsed.notes_key(len(kb.loaded), kb.taxonomies.digest, today.isoformat()) if parsed else None
    rows = parsed.known_notes(key) if parsed and key else None
    if rows is not None:
        notes = [Problem(path, 0, 0, field, message) for path, field, message in rows]
    else:  # kb.check is imported only when the knowledge base or the day changed
        from kb.check.entries import entry_notes

        notes = entry_notes(kb, today)
        if parsed and key:
            parsed.remember_notes(key, [[p.path, p.field, p.message] for p in notes])
            parsed.save()
    for note in notes[:NOTES_SHOWN]:
        say(f"note: {note}")
    if notes:
        more = f" ({len(notes) - NOTES_SHOWN} more)" if len(notes) > NOTES_SHOWN else ""
        found = counted(len(notes), "problem")
        say(f"note: {found} that kb check finds{more}; what follows may be wrong where they are")


pass_state = click.make_pass_decorator(State)


class StrictChoice(click.Choice):
    """A click.Choice whose refusal is kb's one sentence with a "did you mean" (exit 2)."""

    def __init__(self, choices: Sequence[str], what: str = "format"):
        super().__init__(choices)
        self.what = what

    # The listings print a table, the reports text; either word asks for the one a command has.
    SYNONYMS = {"text": "table", "table": "text"}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value in self.choices:
            return value
        from kb.query import choose  # raises kb's UsageError: one line, exit 2

        return choose(str(value), [str(c) for c in self.choices], self.what, aliases=self.SYNONYMS)


def how_many(dest: str, *, help: str, default: int | None = None, at_least: int = 1) -> Any:
    """The option of how many to list, under every name the commands give it (-k/--top, as kb
    similar, search and suggest say it; -n/--limit, as kb query does), so each takes all four."""
    return click.option(
        "-k",
        "--top",
        "-n",
        "--limit",
        dest,
        type=click.IntRange(at_least),
        default=default,
        show_default=default is not None,
        help=help,
    )


# kb.output.FORMATS, repeated so that --help and parsing do not import kb.output; a test keeps them equal.
LIST_FORMATS = ("table", "json", "jsonl", "csv", "yaml", "bibtex", "markdown")
REPORT_FORMATS = ("text", "json", "yaml")  # reports go through kb.output.render_data
FORMAT_HELP = {
    "table": "aligned columns for people",
    "text": "for people",
    "json": "one JSON document",
    "jsonl": "one JSON object a line",
    "csv": "a header row, lists joined with '; '",
    "yaml": "YAML",
    "bibtex": "BibTeX entries",
    "markdown": "a Markdown table",
}


def output_options(
    formats: Sequence[str] = LIST_FORMATS, default: str | None = None, *, says: Mapping[str, str] | None = None
) -> Callable[..., Any]:
    """Add ``--format`` (one of ``formats``) and ``--json`` (short for ``--format json``) to a
    command; the command receives the chosen format as ``fmt``. ``says`` words a format's help
    for this command where FORMAT_HELP's words are not enough (what kb suggest's json holds)."""
    default = default or formats[0]
    described = "; ".join(f"{f}: {(says or {}).get(f) or FORMAT_HELP[f]}" for f in formats)

    def decorator(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def wrapper(*args: Any, fmt: str, as_json: bool, **kwargs: Any) -> Any:
            if as_json:
                given = click.get_current_context().get_parameter_source("fmt")
                if given is click.core.ParameterSource.COMMANDLINE and fmt != "json":
                    raise UsageError(f"--json and --format {fmt} disagree; give one of them")
                fmt = "json"
            return command(*args, fmt=fmt, **kwargs)

        wrapper = click.option("--json", "as_json", is_flag=True, help="Short for --format json.")(wrapper)
        return click.option(
            "--format",
            "fmt",
            type=StrictChoice(formats),
            default=default,
            show_default=True,
            help=f"Output format ({described}).",
        )(wrapper)

    return decorator


def utf8_text(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A callback for text the model will read (kb suggest --title, kb search): a byte that was not
    UTF-8 is refused here, in a sentence, rather than by the tokenizer, in a traceback."""
    if value is not None and (why := not_text(value)):
        raise click.BadParameter(why)
    return value


_WRITE_ERRORS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT}


class Group(click.Group):
    """Turns kb's own errors into one clear message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        if sys.stdout is None:  # started with it closed (kb cluster >&-): said before any work, not after it
            click.echo(
                "kb: cannot write the output: standard output is closed; send it to a file or /dev/null", err=True
            )
            sys.exit(1)
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a write that fails (a full disk) fails here, not after exit
            return result
        except ProblemsError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{exc}; {exc.hint}" if exc.hint else str(exc), err=True)
            sys.exit(1)
        except UsageError as exc:
            for line in str(exc).splitlines():  # an error may list several things, one per line
                click.echo(f"kb: {line}", err=True)
            sys.exit(2)
        except KBError as exc:
            click.echo(f"kb: {exc}", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            # A subcommand's option that lacks its value fails before that command has a context.
            _usage_exit(exc, f"{ctx.command_path} {ctx.invoked_subcommand}" if ctx.invoked_subcommand else None)
        except KeyboardInterrupt:
            # Ctrl-C: files are written whole or not at all, so there is nothing to undo; exit as a
            # shell reports an interrupted program (128 + SIGINT), not 1 with click's "Aborted!".
            click.echo("\nkb: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # The reader left (kb query | head -1): stop quietly, as a tool killed by SIGPIPE would
            # (exit 141), whichever write found the pipe closed. Later flushes go nowhere.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(141)
        except UnicodeEncodeError as exc:
            # Output whose encoding cannot hold a character of an entry (PYTHONIOENCODING=latin-1,
            # a Windows console): one line that says what to set, not a traceback.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the rest goes nowhere
            char = exc.object[exc.start] if isinstance(exc.object, str) else ""
            held = f"U+{ord(char):04X}" if char else "a character"
            click.echo(
                f"kb: the output's encoding ({exc.encoding}) cannot hold {held}; set PYTHONIOENCODING=utf-8", err=True
            )
            sys.exit(1)
        except OSError as exc:
            # Output that cannot be written (kb export > /dev/full) and any other failure of the
            # system that no command words itself: one line, not a traceback.
            if exc.filename:
                where = f"{one_line(str(exc.filename))}: "
            else:
                where = "cannot write the output: " if exc.errno in _WRITE_ERRORS else ""
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the rest goes nowhere
            click.echo(f"kb: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[no-untyped-def, override]
        # kb's own options (--root) are parsed here, before invoke.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _usage_exit(exc)


def _usage_exit(exc: click.UsageError, command: str | None = None) -> NoReturn:
    """click's own usage errors (a bad number, a missing argument) in kb's one-line form, exit 2;
    ``command`` names the command when click's error does not know it."""
    where = exc.ctx.command_path if exc.ctx is not None else command or "kb"
    message = " ".join(exc.format_message().split()).rstrip(".")  # click lists choices a line each
    if not message.endswith("?"):  # click's "Did you mean ...?" already says what to do
        message += f"; see {where} --help"
    click.echo(f"{where}: {message}", err=True)
    sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The knowledge base folder (holding mkdocs.yml and entries/). Default: the current one or above.",
)
@click.version_option(package_name="kb")
@click.pass_context
def main(ctx: click.Context, root: Path | None) -> None:
    """kb: the knowledge base of multimodal LLM research, from the terminal."""
    ctx.obj = State(root)


def _register() -> None:
    # Each module adds its commands to `main` as it is imported.
    from kb.cli import core, export, intel, new, query, site  # noqa: F401


_register()

"""kb embed, kb cluster, kb suggest, kb eval: embeddings and what they reveal and suggest.

kb cluster and kb eval are reports (--format text|json|yaml, as kb show and kb stats); kb suggest
prints text or one line of JSON (--format text|json); --json is short for --format json in each.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from kb.cli import REPORT_FORMATS, State, StrictChoice, how_many, main, output_options, pass_state, utf8_text
from kb.errors import KBError, UsageError
from kb.output.text import counted
from kb.schema import Kind
from kb.taxonomy import TOPIC_TAXONOMIES


def _levels(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        levels = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise click.BadParameter(
            f"expected numbers of clusters separated by commas, e.g. 8,24,64; got {value!r}"
        ) from None
    if not levels or levels[0] < 2:
        raise click.BadParameter(f"each level is a number of clusters, at least 2; got {value!r}")
    return levels


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A day as YYYY-MM-DD (a year or a month, as --since takes them, meaning their first day), or
    what is wrong with it: the format, or a day no calendar has (said as kb check and the query
    filters say it)."""
    from kb.schema import parse_partial_date

    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?", value):
        raise click.BadParameter(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    try:
        year, month, day = parse_partial_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    value = f"{year:04d}-{month or 1:02d}-{day or 1:02d}"
    return value


@main.command()
@click.option("--model", default=None, help="Sentence-transformers model name or path (default: from kb.yaml).")
@click.option("--device", type=StrictChoice(["auto", "cpu", "cuda"], "device"), default=None, help="Where to encode.")
@click.option(
    "--prune", is_flag=True, help="Remove the cached vectors of other models (one since changed, a package upgraded)."
)
@pass_state
def embed(state: State, model: str | None, device: str | None, prune: bool) -> None:
    """Embed every entry into the cache; only entries whose text changed are encoded."""
    import shutil

    from kb.config import cache_is_shared
    from kb.embed import cache_folder, embed_kb
    from kb.embed.cache import other_models
    from kb.output.text import one_line, shorten

    config = state.configure(model=model, device=device)
    done: list[int] = []
    vectors = embed_kb(state.kb(), config, report=lambda encoded, total: done.append(encoded))
    folder = cache_folder(state.root, config).resolve()
    shared = cache_is_shared(state.root, folder)  # one outside is named as it is, not as ../../x
    where = (folder if shared else Path(os.path.relpath(folder, state.root.resolve()))) / "embeddings"
    click.echo(
        f"{counted(len(vectors), 'entry', 'entries')}: {done[0]} encoded, {len(vectors) - done[0]} from the cache "
        f"in {where}/"
    )
    # What model.json says (or a folder's name) is shown, not obeyed: an escape there would rewrite the screen.
    others = [(sub, one_line(shorten(name, 80)), size) for sub, name, size in other_models(folder, vectors.model)]
    if prune:
        for sub, name, size in others:
            shutil.rmtree(sub)
            click.echo(f"kb: removed the cached vectors of {name} ({size / 1e6:.1f} MB)", err=True)
    elif others:
        megabytes = sum(s for _, _, s in others) / 1e6
        names = ", ".join(name for _, name, _ in others[:3]) + (", ..." if len(others) > 3 else "")
        click.echo(
            f"kb: note: the cache also holds the vectors of {counted(len(others), 'other model')} ({names}; "
            f"{megabytes:.1f} MB); kb embed --prune removes them"
            + (", though other knowledge bases that share this cache may use them" if shared else ""),
            err=True,
        )


@main.command()
@click.option(
    "--levels",
    default="8,24,64",
    show_default=True,
    callback=_levels,
    help="Numbers of clusters at which to cut the dendrogram, comma-separated.",
)
@click.option(
    "-k",
    "--neighbours",
    "k",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Neighbours for the review queue.",
)
@output_options(REPORT_FORMATS)
@pass_state
def cluster(state: State, levels: list[int], k: int, fmt: str) -> None:
    """Cluster all entries at several scales; report candidate taxonomy nodes and a review queue."""
    from kb.cluster import cluster_kb, render_text
    from kb.embed import embed_kb, embed_nodes
    from kb.output import render_data

    kb = state.kb()
    if len(kb.entries) < 2:  # the data's shortcoming, not the command's: exit 1
        raise KBError(
            f"clustering needs at least two entries, and the knowledge base holds {len(kb.entries)}; "
            "add entries with kb new"
        )
    report = cluster_kb(kb, embed_kb(kb, state.config), embed_nodes(kb, state.config), levels, k=k)
    if report.levels != levels:
        click.echo(
            f"kb: {len(kb.entries)} entries make at most {len(kb.entries)} clusters; levels "
            f"{','.join(map(str, levels))} are cut to {','.join(map(str, report.levels))}",
            err=True,
        )
    click.echo(render_text(report) if fmt == "text" else render_data(report.to_dict(), fmt), nl=fmt == "text")


@main.command()
@click.argument("entry_id", required=False)
@click.option("--taxonomy", type=StrictChoice(TOPIC_TAXONOMIES, "taxonomy"), default=None, help="Only this taxonomy.")
@click.option(
    "--title",
    "text",
    default=None,
    callback=utf8_text,
    help="Suggest for this text (a title, perhaps with its abstract).",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help='JSON Lines of {"id", "title", "abstract"?, "kind"?}; prints one JSON line per input (needs --taxonomy).',
)
@click.option(
    "--kind",
    type=StrictChoice([k.value for k in Kind], "kind"),
    default=None,
    help="What the --title (or an --input line without a kind) is; default: a paper's work, not a dataset.",
)
@click.option("--all", "everything", is_flag=True, help="Write entries/suggestions.json for the whole knowledge base.")
@how_many("top", help="Leaves shown in text output.", default=5)
@output_options(("text", "json"), says={"json": "one line, every leaf, best first, with its score"})
@click.option(
    "--why",
    is_flag=True,
    help="With ENTRY_ID or --title: under each leaf, the words of the text that are its keywords or cues, and "
    "the closest curated entries that carry it.",
)
@pass_state
def suggest(
    state: State,
    entry_id: str | None,
    taxonomy: str | None,
    text: str | None,
    input_path: str | None,
    everything: bool,
    kind: str | None,
    top: int,
    fmt: str,
    why: bool,
) -> None:
    """Suggest taxonomy tags for an entry, a title, a file of papers, or the whole knowledge base.

    Scores are probabilities: for codev (several tags may apply) each stands alone, and those at
    suggest_threshold (kb.yaml; 0.3 unless set) or more are suggested; for yin (one topic) they sum
    to one. A taxonomy with too few curated labels to learn from (entries of two leaves at least)
    gets zero-shot scores instead, shares of one from the leaves' descriptions and keywords, which
    none is marked by; the output says so (JSON: a note on stderr).
    """
    from kb.classify import interface as classify_cli
    from kb.classify import update_suggestions

    chosen = [
        name
        for name, given in [("ENTRY_ID", entry_id), ("--title", text), ("--input", input_path)]
        if given is not None
    ]
    chosen += ["--all"] if everything else []
    if len(chosen) != 1:
        raise UsageError(
            "name one of ENTRY_ID, --title, --input or --all" + (f", not {' and '.join(chosen)}" if chosen else "")
        )
    if why and (input_path is not None or everything):
        raise UsageError("--why is for ENTRY_ID or --title")
    context = click.get_current_context()
    top_given = context.get_parameter_source("top") is not ParameterSource.DEFAULT
    # --json leaves --format's source the default, and fmt "json"
    format_given = fmt != "text" or context.get_parameter_source("fmt") is not ParameterSource.DEFAULT
    if everything and (taxonomy or format_given or top_given):
        raise UsageError(
            "--all writes every taxonomy's suggestions into entries/suggestions.json; "
            "--taxonomy, --format (or --json) and --top do not apply"
        )
    if input_path is not None and format_given and fmt != "json":
        raise UsageError(f"--input prints one JSON line per paper; --format {fmt} is for ENTRY_ID or --title")
    if input_path is not None and top_given:
        raise UsageError("--top is for text output; --input prints every leaf of the taxonomy, best first, as JSON")
    if fmt == "json" and top_given:  # it had been let through and not obeyed
        raise UsageError("--top is for text output; --format json lists every leaf of the taxonomy, best first")
    if kind is not None and (entry_id is not None or everything):
        raise UsageError("--kind is for --title or --input; an entry's kind is in its file")
    given_kind = Kind(kind) if kind else None
    taxonomies = [taxonomy] if taxonomy else list(TOPIC_TAXONOMIES)
    if everything:
        changed = update_suggestions(state.kb(), state.config)
        click.echo(f"entries/suggestions.json {'updated' if changed else 'unchanged'}", err=True)
    elif input_path is not None:
        if taxonomy is None:
            raise UsageError("--input needs --taxonomy codev or --taxonomy yin")
        for line in classify_cli.suggest_jsonl(state.kb(), state.config, taxonomy, input_path, given_kind):
            click.echo(line)
    else:
        click.echo(
            classify_cli.suggest_one(
                state.kb(), state.config, taxonomies, entry_id, text, top, fmt == "json", given_kind, why
            )
        )


@main.command(name="eval")
@click.option("--taxonomy", type=StrictChoice(TOPIC_TAXONOMIES, "taxonomy"), default=None, help="Only this taxonomy.")
@click.option("--folds", type=click.IntRange(2), default=None, help="Cross-validation folds.  [default: 10]")
@click.option(
    "--after",
    metavar="DATE",
    callback=_day,
    default=None,
    help="In place of folds: score the entries first released on this day (YYYY-MM-DD; a year or a "
    "month means its first day) or later, "
    "learning from the older and undated ones alone.",
)
@click.option(
    "--leaves", "by_leaf", is_flag=True, help="Also show how each leaf fares at top-1 (always in json and yaml)."
)
@click.option("--errors", is_flag=True, help="Also list every entry none of whose curated tags came first.")
@output_options(REPORT_FORMATS)
@pass_state
def eval_(
    state: State,
    taxonomy: str | None,
    folds: int | None,
    after: str | None,
    by_leaf: bool,
    errors: bool,
    fmt: str,
) -> None:
    """Cross-validate kb suggest against the curated tags (or, with --after, score the newer entries
    from the older alone), beside two baselines, and band its scores to show how far they read as
    chances; per leaf with --leaves."""
    from kb.classify.evaluate import FOLDS, evaluate
    from kb.classify.report import render_text
    from kb.output import render_data

    if folds is not None and after is not None:
        raise UsageError("--folds and --after are two ways to split the entries; give one")
    taxonomies = [taxonomy] if taxonomy else list(TOPIC_TAXONOMIES)
    report = evaluate(
        state.kb(),
        state.config,
        taxonomies,
        folds=folds or FOLDS,
        progress=sys.stderr.isatty(),
        misses=errors,
        after=after,
    )
    text = render_text(report, leaves=by_leaf) if fmt == "text" else render_data(report.to_dict(), fmt)
    click.echo(text, nl=fmt == "text")

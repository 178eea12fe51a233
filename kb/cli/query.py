"""kb query, show, tree, stats, similar, search, gaps: asking the knowledge base from a terminal.

Every command takes the same output options (kb.cli's ``output_options``). Only ``kb search`` loads
the embedding model; the others read YAML and, for neighbours, the cached vectors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click

from kb.cli import REPORT_FORMATS, State, StrictChoice, how_many, main, output_options, pass_state, utf8_text
from kb.errors import UsageError
from kb.output.text import counted

# kb.query.SORTS, repeated so that --help and parsing do not import it (kb.query brings
# pydantic); a test keeps them equal.
SORTS = ("date", "-date", "title", "-title", "id", "-id", "kind", "-kind", "venue", "-venue", "name", "-name")


def _echo(text: str) -> None:
    # color=True: click would otherwise drop escape sequences from data (CSV cells) when piped;
    # text for people has its control characters replaced already (kb.output).
    click.echo(text, nl=False, color=True)


def _width() -> int | None:
    """The terminal's width when printing to one (tables are clipped to it), else None."""
    import shutil
    import sys

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _selected(kb, filters: dict[str, Any]) -> list:  # (kb.store.KB, ...) -> list[kb.schema.Entry]
    """The entries matching the filters of kb query, kb similar and kb search (kb.query.select),
    after saying on stderr what a person should know of the filters (kb.query.filter_notes)."""
    from kb.query import Filters, filter_notes, select

    given = Filters(**filters)
    for note in filter_notes(kb, given):
        click.echo(f"kb: note: {note}", err=True)
    return select(kb, given)


def _zero_shot_note(kb) -> None:  # (kb.store.KB) -> None
    from kb.query.overview import zero_shot_note

    if note := zero_shot_note(kb):
        click.echo(f"kb: note: {note}", err=True)


def _echo_ranked(
    state: State,
    ranked: Sequence[tuple[str, float]],
    fmt: str,
    filters: dict[str, Any],
    *,
    unranked: int = 0,
    none_because: str = "",
) -> None:
    """Print entries ranked by kb similar or kb search, each with its score; ``unranked`` match the
    filters but could not be ranked (no cached embedding); ``none_because`` says why there are
    none when it is not the filters."""
    from kb.output import render_entries

    kb = state.kb()
    scores = {i: {"score": round(s, 4)} for i, s in ranked}
    found = [kb.entries[i] for i, _ in ranked]
    _echo(render_entries(found, kb, fmt, with_suggested=filters["suggested"], extra=scores, width=_width()))
    if fmt == "table" and not found:
        if none_because:
            click.echo(none_because, err=True)
        elif unranked:
            click.echo(f"no entry with a cached embedding matches the filters ({unranked} without one do)", err=True)
        else:
            click.echo("no entry matches the filters", err=True)


def _vectors_or_note(state: State, entry_id: str | None = None, *, partial: bool = False) -> tuple[Any, str]:
    """The cached entry vectors, or None and the sentence saying why there are none. With
    ``entry_id``, the vectors the cache has are enough when that entry's is among them; with
    ``partial``, any the cache has are (the note then names the entries left out)."""
    from kb.embed import load_cached_vectors, missing_vectors
    from kb.errors import KBError, ProblemsError, SettingsError

    try:
        vectors = load_cached_vectors(state.kb(), state.config, partial=partial or entry_id is not None)
        if entry_id is not None and entry_id not in vectors.index:
            return (
                None,
                f"no neighbours: {entry_id} has no cached embedding (it is new, or its text changed); run kb embed",
            )
        missing = missing_vectors(state.kb(), vectors) if partial else ""
        return vectors, f"note: {missing}" if missing else ""
    except (ProblemsError, SettingsError) as exc:  # the configuration: say what is wrong, not how much
        return None, f"no neighbours: {'; '.join(str(p) for p in exc.problems)}"
    except KBError as exc:
        return None, f"no neighbours: {exc}"


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the filters of ``kb query`` to a command; it receives them as one ``filters`` dict
    (the keyword arguments of kb.query.Filters)."""
    names = (
        "tags",
        "any_tags",
        "suggested",
        "kinds",
        "modalities",
        "since",
        "until",
        "year",
        "venue",
        "text",
        "uses",
        "curated_by",
    )

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        filters = {name: kwargs.pop(name) for name in names}
        return command(*args, filters=filters, **kwargs)

    for option in reversed(_FILTERS):
        wrapper = option(wrapper)
    return wrapper


_FILTERS = [
    click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="NODE",
        help="In the subtree of this taxonomy node (data4model/scaling or yin:evaluation); repeat: all of them.",
    ),
    click.option(
        "--any-tag", "any_tags", multiple=True, metavar="NODE", help="In the subtree of at least one of these nodes."
    ),
    click.option(
        "--suggested",
        is_flag=True,
        help=(
            "Tag filters count machine suggestions too (the best three per taxonomy scoring 0.05 or more, as kb show"
            " lists them; never zero-shot scores, which are not suggestions); json, jsonl, csv and yaml output list"
            " them with their scores."
        ),
    ),
    click.option(
        "--kind",
        "kinds",
        multiple=True,
        metavar="KIND",
        help="model, method, analysis, survey, dataset, benchmark, or works / datasets; repeat: any of them.",
    ),
    click.option(
        "--modality",
        "modalities",
        multiple=True,
        metavar="MODALITY",
        help="Takes in or puts out this modality (image, video, ...); repeat: all of them.",
    ),
    click.option("--since", metavar="DATE", help="Released on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)."),
    click.option("--until", metavar="DATE", help="Released on or before DATE."),
    click.option("--year", type=int, help="Released in this year."),
    click.option("--venue", help="Venue contains this text (any case), e.g. cvpr."),
    click.option(
        "--text",
        help="Every word appears (any case, as part of a word) in the title, name, aliases, summary, authors or "
        "affiliations.",
    ),
    click.option("--uses", metavar="DATASET", help="Works trained or evaluated on this dataset (its id)."),
    click.option(
        "--curated-by",
        metavar="SOURCE",
        help="Some curated tags set by this source: seed-codev, seed-yin, seed-mmllms, arxiv or contributor.",
    ),
]


@main.command()
@filter_options
@click.option(
    "--sort",
    default="-date",
    show_default=True,
    type=StrictChoice(SORTS, "sort key"),
    help="date, title, id, kind, venue or name; a leading - reverses. Entries lacking the key come last.",
)
@how_many("limit", help="At most this many entries.", at_least=0)
@output_options()
@pass_state
def query(state: State, fmt: str, sort: str, limit: int | None, filters: dict[str, Any]) -> None:
    """List the entries that match every filter given (all filters combine with AND).

    \b
    kb query --tag data4model/scaling --since 2024
    kb query --any-tag hallucination --any-tag evaluation --kind method --json
    kb query --kind datasets --modality video --sort title --format csv
    """
    from kb.output import render_entries
    from kb.query import sort_entries

    kb = state.kb()
    found = sort_entries(_selected(kb, filters), sort)
    _echo(render_entries(found[:limit], kb, fmt, with_suggested=filters["suggested"], width=_width()))
    if fmt == "table":
        shown = f"showing {limit} of " if limit is not None and limit < len(found) else ""
        matching = counted(len(found), "matching entry", "matching entries")
        click.echo(f"{shown}{matching} ({len(kb.entries)} in the knowledge base)", err=True)


@main.command()
@click.argument("entry_id", metavar="ID")
@click.option(
    "-k", "--neighbours", "k", type=click.IntRange(0), default=5, show_default=True, help="Nearest neighbours to list."
)
@output_options(REPORT_FORMATS)
@pass_state
def show(state: State, entry_id: str, k: int, fmt: str) -> None:
    """Everything about one entry: fields, curated and suggested tags, relations both ways, neighbours."""
    from kb.output import render_data
    from kb.output.reports import show_text
    from kb.query import describe, get_entry

    kb = state.kb()
    entry = get_entry(kb, entry_id)
    vectors, note = _vectors_or_note(state, entry.id)
    details = describe(kb, entry, vectors, k=k, note=note)
    _echo(show_text(details, kb) if fmt == "text" else render_data(details, fmt))


@main.command()
@click.argument("taxonomy", required=False, metavar="[TAXONOMY|NODE]")
@output_options(REPORT_FORMATS)
@pass_state
def tree(state: State, taxonomy: str | None, fmt: str) -> None:
    """A taxonomy (codev, yin, mmllms; default all three) or a node's subtree, with entry counts."""
    from kb.output import render_data
    from kb.output.reports import tree_text
    from kb.query.overview import tree_counts

    kb = state.kb()
    _zero_shot_note(kb)
    counts = tree_counts(kb, taxonomy)
    data = {t: [c.to_dict() for c in cs] for t, cs in counts.items()}
    _echo(tree_text(counts, kb) if fmt == "text" else render_data(data, fmt))


@main.command()
@output_options(REPORT_FORMATS)
@pass_state
def stats(state: State, fmt: str) -> None:
    """Counts by kind, year, modality, venue and taxonomy node."""
    from kb.output import render_data
    from kb.output.reports import stats_text
    from kb.query.overview import stats as kb_stats

    kb = state.kb()
    _zero_shot_note(kb)
    numbers = kb_stats(kb)
    _echo(stats_text(numbers, kb) if fmt == "text" else render_data(numbers, fmt))


@main.command()
@click.argument("entry_id", metavar="ID")
@how_many("k", help="How many to list.", default=10)
@filter_options
@output_options()
@pass_state
def similar(state: State, entry_id: str, k: int, filters: dict[str, Any], fmt: str) -> None:
    """The entries nearest in meaning to one entry, from the cached embeddings (run kb embed first).

    The filters of kb query narrow the candidates, e.g. kb similar llava --kind datasets.
    """
    from kb.embed import load_cached_vectors, missing_vectors
    from kb.errors import KBError
    from kb.query import alone, get_entry

    kb = state.kb()
    entry = get_entry(kb, entry_id)  # a wrong id is a usage error even without a cache
    allowed = {e.id for e in _selected(kb, filters)}
    if why := alone(kb, entry):  # nothing to rank, whatever the filters and the cache
        _echo_ranked(state, [], fmt, filters, none_because=why)
        return
    vectors = load_cached_vectors(kb, state.config, partial=True)  # a new entry elsewhere must not stop it
    if entry.id not in vectors.index:
        raise KBError(f"{entry.id} has no cached embedding (it is new, or its text changed); run kb embed")
    if missing := missing_vectors(kb, vectors):
        click.echo(f"note: {missing}", err=True)
    ranked = [(i, s) for i, s in vectors.nearest(entry.id, len(vectors)) if i in allowed][:k]
    unranked = len(allowed - set(vectors.index) - {entry.id})  # they match, but have no vector to rank by
    _echo_ranked(state, ranked, fmt, filters, unranked=unranked)


@main.command()
@click.argument("query_text", metavar="TEXT", callback=utf8_text)
@how_many("k", help="How many to list.", default=10)
@filter_options
@output_options()
@pass_state
def search(state: State, query_text: str, k: int, filters: dict[str, Any], fmt: str) -> None:
    """Entries ranked by meaning (the embedding model) blended with word matches (tf-idf).

    Loads the model to embed TEXT; entries come from the cache (missing ones are encoded).
    The filters of kb query narrow the candidates, e.g. kb search "video" --kind benchmark.
    """
    from kb.query import said
    from kb.search import search as rank

    if not query_text.strip():
        raise UsageError("the search text is empty; give some words to search for")
    if not any(c.isalnum() for c in query_text):  # "*" would rank every entry by nothing it holds
        raise UsageError(f"the search text {said(query_text)} has no letters or digits; give some words to search for")
    kb = state.kb()
    allowed = {e.id for e in _selected(kb, filters)}
    ranked = rank(kb, query_text, state.config, k=k, only=allowed)
    _echo_ranked(state, ranked, fmt, filters)


@main.command()
@click.option(
    "--threshold",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="A node with fewer curated entries than this (subtree total) is sparse.",
)
@click.option(
    "--min-cover",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Years and modalities with at least this many entries in the KB count as covered.",
)
@output_options(REPORT_FORMATS)
@pass_state
def gaps(state: State, threshold: int, min_cover: int, fmt: str) -> None:
    """Where the topic taxonomies (codev, yin) are thin: sparse nodes, uncovered years and
    modalities, tags to review. (MM-LLMs' facets are counted by kb tree mmllms.)"""
    from kb.output import render_data
    from kb.output.reports import gaps_text
    from kb.query.overview import gaps as find_gaps

    vectors, note = _vectors_or_note(state, partial=True)
    _zero_shot_note(state.kb())
    report = find_gaps(state.kb(), threshold=threshold, min_cover=min_cover, vectors=vectors, review_note=note)
    _echo(gaps_text(report) if fmt == "text" else render_data(report.to_dict(), fmt))

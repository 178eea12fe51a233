"""Pages about the whole knowledge base: all entries, the taxonomies, the graph, timelines and
coverage, datasets and benchmarks."""

from __future__ import annotations

from collections import Counter

from markupsafe import Markup

from kb.graph import most_connected_works, most_used_datasets
from kb.schema import Kind
from kb.site.escape import escape_attr, escape_text
from kb.site.model import TAXONOMY_TITLES, SiteModel, root_url
from kb.site.pages import entry_link, html_link, join, node_link
from kb.site.templates import render
from kb.taxonomy import TOPIC_TAXONOMIES

RANKED = 20
USED_BY_SHOWN = 5


def render_entries_index(model: SiteModel) -> str:
    page = "entries/index.md"
    entries = model.entries()
    counts = Counter(e.kind for e in entries)
    by_kind = [
        (kind.plural, join((entry_link(model, page, e.id) for e in entries if e.kind is kind), " · "))
        for kind in Kind
        if counts[kind]
    ]
    return render(
        "entries.md.j2",
        total=len(entries),
        counts=join(f"{counts[k]} {k.plural.lower()}" for k in Kind if counts[k]),
        by_kind=by_kind,
    )


def render_taxonomy_index(model: SiteModel) -> str:
    page = "taxonomy/index.md"
    taxonomies = []
    for tax in model.kb.taxonomies:
        tree = []
        for node in tax.walk():
            members = model.members.get((tax.id, node.id))
            tree.append(
                (
                    node.depth,
                    node_link(model, page, tax.id, node.id, full=False),
                    len(members.curated) if members else 0,
                    len(members.suggested) if members else 0,
                )
            )
        taxonomies.append((tax, tree))
    return render("taxonomy.md.j2", taxonomies=taxonomies, zero_shot=model.zero_shot)


def render_graph_page(model: SiteModel) -> str:
    return render(
        "graph.md.j2",
        nodes=model.graph.number_of_nodes(),
        edges=model.graph.number_of_edges(),
        zero_shot=join((TAXONOMY_TITLES[t] for t in TOPIC_TAXONOMIES if t in model.zero_shot), " and "),
        zero_shot_taxonomies=len(model.zero_shot),
    )


def coverage_nodes(model: SiteModel) -> list[tuple[str, str]]:
    """The rows of the coverage maps: co-development nodes two levels deep, every Yin et al. node."""
    out = [(t.id, n.id) for t in model.kb.taxonomies for n in t.walk() if (t.id == "codev" and n.depth <= 1)]
    out += [("yin", n.id) for n in model.kb.taxonomies["yin"].walk()]
    return out


def heat_table(model: SiteModel, page: str, rows: list[tuple[str, str]], columns: list[str], cells: Counter) -> Markup:
    """Taxonomy nodes against columns (modalities, years), each cell shaded by its count."""
    root = root_url(page)
    labelled = []
    for tax_id, node_id in rows:
        node = model.node(tax_id, node_id)
        name = f"{'· ' * node.depth}{node.name}"
        href = f"{root}taxonomy/{tax_id}/{node_id}/"
        title = escape_attr(TAXONOMY_TITLES[tax_id])
        label = f'<th scope="row"><a href="{escape_attr(href)}" title="{title}">{escape_text(name)}</a></th>'
        labelled.append((label, [cells[(tax_id, node_id, column)] for column in columns]))
    return _heat_grid("", [str(escape_text(c)) for c in columns], labelled, cells)


def _heat_grid(corner: str, heads: list[str], rows: list[tuple[str, list[int]]], cells: Counter) -> Markup:
    """The one HTML grid of the heat maps: escaped header cells, labelled rows of counts, each cell
    shaded against the largest count (the darkest is the largest)."""
    top = max(cells.values(), default=0) or 1
    head = "".join(f'<th scope="col">{h}</th>' for h in heads)
    body = "".join(f"<tr>{label}{''.join(_cell(n, top) for n in counts)}</tr>" for label, counts in rows)
    return Markup(
        f'<div class="kb-heat-scroll"><table class="kb-heat"><thead><tr><th>{corner}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def render_timeline(model: SiteModel) -> str:
    page = "timeline.md"
    entries = model.kb.entries
    tops = [(t, r) for t in TOPIC_TAXONOMIES for r in model.kb.taxonomies[t].roots]
    quarter_cells: Counter = Counter()
    quarters: set[str] = set()
    for entry in entries.values():
        if not entry.date or len(entry.date) < 7:
            continue
        quarter = f"{entry.date[:4]} Q{(int(entry.date[5:7]) - 1) // 3 + 1}"
        quarters.add(quarter)
        for tax_id, node_id in tops:
            if node_id in model.curated[entry.id].get(tax_id, []):
                quarter_cells[(quarter, tax_id, node_id)] += 1
    ordered = _every_quarter(quarters)
    quarter_table = _quarter_table(model, page, tops, ordered, quarter_cells)
    modalities: list[str] = sorted(
        {m.value for e in entries.values() for m in (*e.modalities.input, *e.modalities.output)}
    )
    years = sorted({str(e.year) for e in entries.values() if e.year})
    rows = coverage_nodes(model)
    by_modality: Counter = Counter()
    by_year: Counter = Counter()
    for entry in entries.values():
        mods = {m.value for m in (*entry.modalities.input, *entry.modalities.output)}
        for tax_id, node_id in rows:
            if node_id in model.curated[entry.id].get(tax_id, []):
                for mod in mods:
                    by_modality[(tax_id, node_id, mod)] += 1
                if entry.year:
                    by_year[(tax_id, node_id, str(entry.year))] += 1
    return render(
        "timeline.md.j2",
        quarters=quarter_table,
        modality_map=heat_table(model, page, rows, modalities, by_modality),
        year_map=heat_table(model, page, rows, years, by_year),
        total=len(entries),
        # What each map leaves out, said, so that an empty cell is not read as no work on it.
        no_month=sum(1 for e in entries.values() if not e.date or len(e.date) < 7),
        no_modality=sum(1 for e in entries.values() if not (e.modalities.input or e.modalities.output)),
        no_year=sum(1 for e in entries.values() if not e.year),
    )


def _every_quarter(quarters: set[str]) -> list[str]:
    """The quarters from the first to the last of ``quarters`` ("2023 Q2"), none skipped: a quarter
    without entries is a row of its own, not a gap the eye misses."""
    if not quarters:
        return []
    first, last = min(quarters), max(quarters)
    year, q = int(first[:4]), int(first[-1])
    out = []
    while (label := f"{year} Q{q}") <= last:
        out.append(label)
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def _cell(n: int, top: int) -> str:
    """A count shaded by its share of the largest count (empty when zero)."""
    if not n:
        return "<td></td>"
    alpha = round(0.08 + 0.82 * n / top, 2)
    colour = "#fff" if alpha > 0.5 else "inherit"
    return f'<td style="background: rgba(63, 81, 181, {alpha}); color: {colour}">{n}</td>'


def _quarter_table(
    model: SiteModel, page: str, tops: list[tuple[str, str]], quarters: list[str], cells: Counter
) -> Markup:
    root = root_url(page)
    links = [str(html_link(model.node(t, n).name, f"{root}taxonomy/{t}/{n}/")) for t, n in tops]
    rows = [
        (f'<th scope="row">{escape_text(quarter)}</th>', [cells[(quarter, t, n)] for t, n in tops])
        for quarter in quarters
    ]
    return _heat_grid("Quarter", links, rows, cells)


def render_datasets(model: SiteModel) -> str:
    page = "datasets.md"
    datasets = [e for e in model.entries() if e.is_dataset]
    users = {target: len({source for _, source in pairs}) for target, pairs in model.inverse.items()}

    def used_by(entry_id: str) -> Markup:
        # The works themselves, the first few: the entry's own page lists them all.
        sources = list(dict.fromkeys(source for _, source in model.inverse.get(entry_id, [])))
        shown = join((entry_link(model, page, s) for s in sources[:USED_BY_SHOWN]), ", ")
        more = f", and {len(sources) - USED_BY_SHOWN} more" if len(sources) > USED_BY_SHOWN else ""
        return Markup(f"{len(sources)}: ") + shown + more if sources else Markup("")

    rows = [
        (
            entry_link(model, page, e.id),
            e,
            join(sorted({m.value for m in (*e.modalities.input, *e.modalities.output)})),
            used_by(e.id),
            join(f"{k.replace('_', '-')} {v}" for k, v in (e.scale.model_dump() if e.scale else {}).items() if v),
        )
        for e in sorted(datasets, key=lambda e: (-users.get(e.id, 0), e.display_name.lower()))
    ]
    most_used = [(entry_link(model, page, r.id), r) for r in most_used_datasets(model.graph, RANKED)]
    most_connected = [(entry_link(model, page, r.id), r) for r in most_connected_works(model.graph, RANKED)]
    return render("datasets.md.j2", total=len(datasets), rows=rows, most_used=most_used, most_connected=most_connected)

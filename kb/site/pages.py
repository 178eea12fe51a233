"""The pages of the site as pure functions: a model in, Markdown text out.

Markdown links point at other pages' .md files, so mkdocs checks every one of them (a broken link
fails ``--strict``) and turns them into urls. Entry text is escaped by the Jinja environment or,
in fragments built here, by ``escape_text``: there is no other way into a page.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from markupsafe import Markup

from kb.output.text import score_text
from kb.schema import Entry
from kb.site.escape import escape_attr, escape_text, safe_url
from kb.site.model import (
    RELATION_NAMES,
    TAXONOMY_TITLES,
    SiteModel,
    entry_page,
    node_page,
    relative,
    root_url,
)
from kb.site.templates import render
from kb.tags import SOURCE_NAMES, tag_provenance

if TYPE_CHECKING:
    from kb.classify.model import Evidence

LINK_NAMES = {"paper": "paper", "code": "code", "project": "project page", "demo": "demo", "data": "data"}
PART_NAMES = {
    "modality_encoder": "Modality encoder",
    "input_projector": "Input projector",
    "llm_backbone": "LLM backbone",
    "output_projector": "Output projector",
    "modality_generator": "Modality generator",
}
NEIGHBOURS_SHOWN = 10


def md_link(text: object, href: str) -> Markup:
    """A Markdown link to a page of ours; ``href`` is a relative .md path we built."""
    return Markup(f"[{escape_text(text)}]({href})")


def html_link(text: object, href: str) -> Markup:
    return Markup(f'<a href="{escape_attr(href)}">{escape_text(text)}</a>')


def join(items: Iterable[object], sep: str = ", ") -> Markup:
    return Markup(sep).join(escape_text(i) for i in items)


def entry_link(model: SiteModel, page: str, entry_id: str) -> Markup:
    return md_link(model.kb.entries[entry_id].display_name, relative(page, entry_page(entry_id)))


def node_link(model: SiteModel, page: str, taxonomy: str, node_id: str, *, full: bool = True) -> Markup:
    names = model.node_path_names(taxonomy, node_id) if full else [model.node(taxonomy, node_id).name]
    text = f"{TAXONOMY_TITLES[taxonomy]}: {' › '.join(names)}" if full else names[0]
    return md_link(text, relative(page, node_page(taxonomy, node_id)))


# ---------------------------------------------------------------- an entry


def _neighbour(model: SiteModel, page: str, entry_id: str, score: float) -> Markup:
    """A neighbour's link, its kind (a model and the dataset it released often share a name) and score."""
    kind = model.kb.entries[entry_id].kind.value
    return entry_link(model, page, entry_id) + Markup(
        f' <span class="kb-kind kb-kind-{kind}">{kind}</span> <span class="kb-score">{score:.2f}</span>'
    )


def why_text(model: SiteModel, page: str, evidence: Evidence | None) -> Markup:
    """What a suggested tag rests on, after it: the entry's words that are the tag's keywords, and
    the curated entries under the tag closest to it."""
    if evidence is None:
        return Markup("")
    parts = [Markup("words: ") + join(evidence.words)] if evidence.words else []
    like = [entry_link(model, page, i) for i, _ in evidence.like if i in model.kb.entries]
    parts += [Markup("like: ") + Markup(", ").join(like)] if like else []
    return Markup(' <span class="kb-why">— ') + Markup("; ").join(parts) + Markup("</span>") if parts else Markup("")


def render_entry(model: SiteModel, entry: Entry) -> str:
    page = entry_page(entry.id)
    names = [n for n in [entry.name, *entry.aliases] if n and n != entry.title]
    links = [
        Markup(f'<a href="{escape_attr(url)}">{escape_text(_link_name(kind, url))}</a>')
        for kind in LINK_NAMES
        if (url := safe_url(getattr(entry.links, kind)))
    ]
    if entry.arxiv and not entry.links.paper:
        links.insert(0, Markup(f'<a href="https://arxiv.org/abs/{escape_attr(entry.arxiv)}">arXiv</a>'))
    m = entry.modalities
    modalities = ""
    if m.input or m.output:
        modalities = Markup("in: ") + join(x.value for x in m.input) if m.input else Markup("")
        if m.output:
            modalities += (Markup(" → out: ") if m.input else Markup("out: ")) + join(x.value for x in m.output)
    architecture = []
    if entry.architecture is not None:
        architecture = [(PART_NAMES[k], v) for k, v in entry.architecture.model_dump().items() if v]
    scale = []
    if entry.scale is not None:
        scale = [(k.replace("_", "-"), v) for k, v in entry.scale.model_dump().items() if v]
    curated = []
    provenance = tag_provenance(entry)
    for tax_id, node_ids in model.curated[entry.id].items():
        taxonomy = model.kb.taxonomies[tax_id]
        # The most specific tags only: a parent is implied by its child.
        implied = {a.id for n in node_ids for a in taxonomy.ancestors(n)}
        items = provenance[tax_id]
        by = join(dict.fromkeys(SOURCE_NAMES.get(p.source, p.source) for p in items))
        # What the sources say of the tags (a contributor's reasons, a list's section), on hover.
        said = "; ".join(dict.fromkeys(p.note for p in items if p.note))
        title = f' title="{escape_text(said)}"' if said else ""  # text, not a url: references, as in the body
        origin = Markup(f' <span class="kb-source"{title}>(from {by})</span>') if items else Markup("")
        curated += [node_link(model, page, tax_id, n) + origin for n in node_ids if n not in implied]
    why = model.why.get(entry.id, {})
    # A zero-shot score is a share of one across the leaves, not the leaf's own probability: listed
    # apart and marked as zero-shot, never as suggested (as kb suggest marks none of them).
    scored: dict[bool, list[Markup]] = {False: [], True: []}
    for tax_id, ranked in model.suggested[entry.id].items():
        mark = "kb-zero-shot" if tax_id in model.zero_shot else "kb-suggested"
        scored[tax_id in model.zero_shot] += [
            node_link(model, page, tax_id, tag)
            + Markup(f' <span class="{mark} kb-score">{score_text(score)}</span>')
            + why_text(model, page, why.get(tax_id, {}).get(tag))
            for tag, score in ranked
        ]
    zero_shot_in = [t for t, ranked in model.suggested[entry.id].items() if ranked and t in model.zero_shot]
    relations = []
    for rel, (forward, _) in RELATION_NAMES.items():
        targets = [t for t in getattr(entry.relations, rel) if t in model.kb.entries]
        if targets:
            relations.append((forward, join((entry_link(model, page, t) for t in targets), " · ")))
    by_rel = defaultdict(list)
    for rel, source in model.inverse.get(entry.id, []):
        by_rel[rel].append(source)
    for rel, (_, backward) in RELATION_NAMES.items():
        if by_rel[rel]:
            relations.append((backward, join((entry_link(model, page, s) for s in by_rel[rel]), " · ")))
    shown = model.neighbours.get(entry.id, [])[:NEIGHBOURS_SHOWN]
    neighbours = [_neighbour(model, page, other, score) for other, score in shown]
    # The entry's name and aliases, then its curated tag names (ancestors included), go to the search
    # index's tags field, so a search for "LLaVA" finds its page (in the text alone, it came 20th) and a
    # search for a node's name finds its entries.
    tag_names = dict.fromkeys([*([entry.name] if entry.name else []), *entry.aliases])
    tag_names.update({model.node(t, n).name: None for t, ids in model.curated[entry.id].items() for n in ids})
    return render(
        "entry.md.j2",
        e=entry,
        page_title=model.page_title(entry),
        # A blank line parts paragraphs, as in Markdown; each is escaped text on one line, and starts
        # at its margin (four spaces before one would make it a code block).
        summary=[p.strip() for p in re.split(r"\n\s*\n", entry.summary or "") if p.strip()],
        tag_names=list(tag_names),
        names=join(names, "; ") if names else "",
        links=Markup(" · ").join(links) if links else "",
        modalities=modalities,
        architecture=architecture,
        scale=scale,
        curated=curated,
        suggested=scored[False],
        zero_shot=scored[True],
        zero_shot_in=join((TAXONOMY_TITLES[t] for t in zero_shot_in), " and "),
        zero_shot_taxonomies=len(zero_shot_in),
        explained=bool(why),
        relations=relations,
        neighbours=neighbours,
        nbhd_src=escape_attr(f"{root_url(page)}assets/data/nbhd/{entry.id}.json"),
    )


def _link_name(kind: str, url: str) -> str:
    return (
        "arXiv" if kind == "paper" and url.startswith(("https://arxiv.org/", "http://arxiv.org/")) else LINK_NAMES[kind]
    )


# ---------------------------------------------------------------- a taxonomy node


def render_node(model: SiteModel, tax_id: str, node_id: str) -> str:
    page = node_page(tax_id, node_id)
    taxonomy = model.kb.taxonomies[tax_id]
    node = taxonomy[node_id]
    crumbs = [html_link(TAXONOMY_TITLES[tax_id], f"{root_url(page)}taxonomy/#{tax_id}")]
    crumbs += [
        html_link(n.name, f"{root_url(page)}taxonomy/{tax_id}/{n.id}/") for n in taxonomy.ancestors(node_id)[::-1]
    ]
    members = model.members.get((tax_id, node_id))
    curated_ids = members.curated if members else []
    suggested_ids = members.suggested if members else {}
    entries = model.kb.entries
    curated = [(entry_link(model, page, i), entries[i]) for i in sorted(curated_ids, key=lambda i: _order(entries[i]))]
    suggested = [
        (entry_link(model, page, i), entries[i], score)
        for i, score in sorted(suggested_ids.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    children = []
    for child in node.children:
        sub = model.members.get((tax_id, child))
        count = len(sub.curated) if sub else 0
        children.append(node_link(model, page, tax_id, child, full=False) + Markup(f" ({count})"))
    years: Counter[int] = Counter(y for i in curated_ids if (y := entries[i].year))
    later: Counter[int] = Counter(y for i in suggested_ids if (y := entries[i].year))
    zero_shot = tax_id in model.zero_shot
    return render(
        "node.md.j2",
        node=node,
        breadcrumbs=Markup(" › ").join(crumbs),
        curated=curated,
        suggested=suggested,
        zero_shot=zero_shot,
        children=children,
        growth=growth_chart(years, later, node.name, zero_shot=zero_shot) if years or later else "",
        undated=sum(1 for i in [*curated_ids, *suggested_ids] if not entries[i].year),
    )


def _order(entry: Entry) -> tuple[int, str, str]:
    from kb.site.model import entry_order

    return entry_order(entry)


def growth_chart(curated: Counter[int], suggested: Counter[int], label: str, *, zero_shot: bool = False) -> Markup:
    """Entries per year as an inline SVG bar chart (curated solid, suggested pale on top) and a table;
    with ``zero_shot`` the suggested are the zero-shot fallback's matches, and the table says so."""
    years = list(range(min(curated | suggested), max(curated | suggested) + 1))
    top = max(curated[y] + suggested[y] for y in years) or 1
    bar, gap, height, pad = 28, 6, 80, 14
    width = len(years) * (bar + gap)
    box = f'width="{width}" height="{height + 34}" viewBox="0 -{pad} {width} {height + 34}"'
    parts = [
        f'<svg class="kb-growth" role="img" {box}>',
        f"<title>{escape_text(label)}: entries per year</title>",
    ]
    for i, year in enumerate(years):
        x = i * (bar + gap)
        c = round(height * curated[year] / top)
        s = round(height * suggested[year] / top)
        parts.append(f'<rect class="kb-bar-curated" x="{x}" y="{height - c}" width="{bar}" height="{c}"></rect>')
        if s:
            parts.append(
                f'<rect class="kb-bar-suggested" x="{x}" y="{height - c - s}" width="{bar}" height="{s}"></rect>'
            )
        total = curated[year] + suggested[year]
        if total:
            parts.append(f'<text x="{x + bar / 2}" y="{height - c - s - 3}" text-anchor="middle">{total}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 14}" text-anchor="middle">{str(year)[2:]}</text>')
    parts.append("</svg>")
    rows = "".join(f"<tr><td>{y}</td><td>{curated[y]}</td><td>{suggested[y]}</td></tr>" for y in years)
    later = "Zero-shot" if zero_shot else "Suggested"
    table = (
        f'<table class="kb-growth-table"><thead><tr><th>Year</th><th>Curated</th><th>{later}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
    return Markup(f'<div class="kb-growth-box">{"".join(parts)}{table}</div>')

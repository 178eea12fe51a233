"""A small site built straight from the web contract, for the browser tests.

It writes what the page renderer promises (placeholders in Markdown pages, table.json, taxonomy.json,
graph.json, nbhd/<id>.json), copies our assets with `kb.webassets.copy_assets`, and runs a real
`mkdocs build --strict`. The browser tests then drive the same JavaScript the real site ships,
without waiting on (or depending on the timing of) `kb build`.
"""

from __future__ import annotations

import html
import json
import math
import random
import subprocess
import sys
from pathlib import Path

from kb.schema import Entry
from kb.store import KB
from kb.webassets import copy_assets

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
HOSTILE_ID = "hostile-entry"

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

MKDOCS_YML = """\
site_name: kb fixture
docs_dir: docs
site_dir: site
theme:
  name: material
  font: false
plugins:
  - search
  - privacy:
      assets: false
nav:
  - Home: index.md
  - All entries: entries/index.md
  - Graph: graph.md
not_in_nav: |
  /entries/*.md
extra_css:
  - assets/kb/kb.css
extra_javascript:
  - assets/kb/vendor/graphology.umd.min.js
  - assets/kb/vendor/sigma.min.js
  - assets/kb/kb.js
"""


def md_text(text: str) -> str:
    """Entry text as inert Markdown: HTML-escaped, Markdown punctuation backslash-escaped."""
    escaped = html.escape(text, quote=True)
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~" else c for c in escaped)


def qualified_tags(entry: Entry, kb: KB) -> dict[str, list[str]]:
    """Curated tags by taxonomy, ancestors included, as the table contract asks."""
    out: dict[str, list[str]] = {}
    raw = {
        "codev": list(entry.tags.codev),
        "yin": list(entry.tags.yin),
        "mmllms": [f"functional/{t.value if hasattr(t, 'value') else t}" for t in entry.tags.mmllms.functional]
        + [f"design/{t.value if hasattr(t, 'value') else t}" for t in entry.tags.mmllms.design],
    }
    for tax_id, tags in raw.items():
        taxonomy = kb.taxonomies[tax_id]
        seen: list[str] = []
        for tag in tags:
            if tag not in taxonomy:
                continue
            for node in taxonomy.path(tag):
                if node.id not in seen:
                    seen.append(node.id)
        out[tax_id] = seen
    return out


def pick_entries(kb: KB, count: int) -> list[Entry]:
    """The first `count` entries with curated codev tags and the first datasets they use, in a stable order."""
    tagged = [e for e in kb.entries.values() if e.tags.codev][: count // 2]
    others = [e for e in kb.entries.values() if not e.tags.codev][: count - len(tagged)]
    return tagged + others


def hostile_entry() -> Entry:
    return Entry.model_validate(
        {
            "id": HOSTILE_ID,
            "title": HOSTILE_TITLE,
            "kind": "benchmark",
            "date": "2024-05-01",
            "venue": "<script>alert(2)</script>",
            "modalities": {"input": ["image", "text"]},
            "tags": {"yin": ["evaluation"]},
        }
    )


def build_fixture_site(
    kb: KB, workdir: Path, count: int = 40, synthetic: int = 0, features: tuple[str, ...] = ()
) -> Path:
    """Build the fixture site under workdir/site and return that folder.

    ``features`` are mkdocs-material theme features (e.g. navigation.instant). ``synthetic`` adds
    that many copies of the picked entries to the table and the graph (not as pages: their rows link
    to the page of the entry they copy), for benchmarks at scale.
    """
    entries = [*pick_entries(kb, count), hostile_entry()]
    docs = workdir / "docs"
    data = docs / "assets" / "data"
    (data / "nbhd").mkdir(parents=True)
    (docs / "entries").mkdir()
    config = MKDOCS_YML
    if features:
        config = config.replace(
            "  font: false\n", "  font: false\n  features:\n" + "".join(f"    - {f}\n" for f in features)
        )
    (workdir / "mkdocs.yml").write_text(config, encoding="utf-8")
    copy_assets(docs / "assets" / "kb")

    rng = random.Random(7)
    rows = []
    for i, entry in enumerate(entries):
        curated = qualified_tags(entry, kb)
        # Suggestions for entries without curated codev tags: a stable pseudo-random leaf with a score.
        suggested: dict[str, list[dict[str, object]]] = {"codev": [], "yin": []}
        if not curated["codev"]:
            leaves = [n.id for n in kb.taxonomies["codev"].leaves()]
            suggested["codev"] = [{"tag": leaves[(i * 7) % len(leaves)], "score": round(0.4 + 0.01 * (i % 30), 2)}]
        modalities = sorted({m.value for m in [*entry.modalities.input, *entry.modalities.output]})
        year = int(entry.date[:4]) if entry.date else None
        rows.append(
            {
                "id": entry.id,
                "title": entry.title,
                "kind": entry.kind.value,
                "date": entry.date,
                "year": year,
                "venue": entry.venue,
                "modalities": modalities,
                "arxiv": entry.arxiv,
                "url": f"entries/{entry.id}/",
                "curated": curated,
                "suggested": suggested,
            }
        )
    originals = list(rows)
    for n in range(synthetic):
        copy = dict(originals[n % len(originals)])
        copy["id"] = f"{copy['id']}-copy{n}"
        copy["title"] = f"{copy['title']} (copy {n})"
        rows.append(copy)
    (data / "table.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    taxonomy_rows = [
        {"id": node.id, "name": node.name, "parent": node.parent, "depth": node.depth, "taxonomy": tax.id}
        for tax in kb.taxonomies
        for node in tax.walk()
    ]
    (data / "taxonomy.json").write_text(json.dumps({"taxonomy": taxonomy_rows}, ensure_ascii=False), encoding="utf-8")

    # The graph: entries and codev/yin nodes, membership edges, laid out at random (the real build
    # runs a force layout; the browser only needs positions).
    roots = [n.id for tax_id in ("codev", "yin") for n in kb.taxonomies[tax_id].walk() if n.depth == 0]
    colour = {root: PALETTE[i % len(PALETTE)] for i, root in enumerate(roots)}
    nodes, edges = [], []
    for tax_id in ("codev", "yin"):
        for node in kb.taxonomies[tax_id].walk():
            top = kb.taxonomies[tax_id].path(node.id)[0].id
            nodes.append(
                {
                    "key": f"{tax_id}:{node.id}",
                    "attributes": {
                        "label": node.name,
                        "x": rng.uniform(-1, 1),
                        "y": rng.uniform(-1, 1),
                        "size": 6,
                        "color": colour[top],
                        "kind": "taxonomy",
                        "taxonomy": f"{tax_id}:{top}",
                        "url": "",
                    },
                }
            )
            if node.parent:
                edges.append(edge(f"{tax_id}:{node.parent}", f"{tax_id}:{node.id}", "parent"))
    for row in rows:
        tops = [(t, tags[0]) for t, tags in row["curated"].items() if tags and t != "mmllms"]
        top = tops[0] if tops else None
        angle = rng.uniform(0, 2 * math.pi)
        nodes.append(
            {
                "key": row["id"],
                "attributes": {
                    "label": row["title"],
                    "x": 1.5 * math.cos(angle),
                    "y": 1.5 * math.sin(angle),
                    "size": 4,
                    "color": colour[top[1]] if top else "#999999",
                    "kind": row["kind"],
                    "taxonomy": f"{top[0]}:{top[1]}" if top else "untagged",
                    "url": row["url"],
                },
            }
        )
        for tax_id in ("codev", "yin"):
            for tag in row["curated"][tax_id]:
                edges.append(edge(f"{tax_id}:{tag}", row["id"], "curated"))
    for i, e in enumerate(edges):
        e["key"] = f"e{i}"
    graph = {
        "attributes": {},
        "options": {"type": "directed", "multi": True, "allowSelfLoops": False},
        "nodes": nodes,
        "edges": edges,
    }
    (data / "graph.json").write_text(json.dumps(graph, ensure_ascii=False), encoding="utf-8")

    node_by_key = {n["key"]: n for n in nodes}
    for row in originals:
        near = [e for e in edges if row["id"] in (e["source"], e["target"])]
        keys = {row["id"]} | {e["source"] for e in near} | {e["target"] for e in near}
        nbhd = {"attributes": {}, "nodes": [node_by_key[k] for k in sorted(keys)], "edges": near}
        (data / "nbhd" / f"{row['id']}.json").write_text(json.dumps(nbhd, ensure_ascii=False), encoding="utf-8")

    (docs / "index.md").write_text("# kb fixture\n\nA site built from the web contract.\n", encoding="utf-8")
    (docs / "graph.md").write_text(
        '# Graph\n\n<div class="kb-global-graph" data-src="../assets/data/graph.json"></div>\n', encoding="utf-8"
    )
    (docs / "entries" / "index.md").write_text(
        '# All entries\n\n<div class="kb-all-entries" data-src="../assets/data/table.json"></div>\n', encoding="utf-8"
    )
    for entry in entries:
        (docs / "entries" / f"{entry.id}.md").write_text(
            f"# {md_text(entry.title)}\n\n"
            f"Kind: {md_text(entry.kind.value)}. Venue: {md_text(entry.venue or 'unknown')}.\n\n"
            f'<div class="kb-mini-graph" data-src="../../assets/data/nbhd/{entry.id}.json"></div>\n',
            encoding="utf-8",
        )
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(workdir / "mkdocs.yml")],
        check=True,
        capture_output=True,
        text=True,
    )
    return workdir / "site"


def edge(source: str, target: str, relation: str) -> dict[str, object]:
    colours = {"parent": "#888888", "curated": "#cccccc"}
    return {
        "source": source,
        "target": target,
        "attributes": {"type": relation, "weight": 1.0, "size": 1, "color": colours[relation]},
    }


def make_small_kb(kb: KB, dest: Path, count: int = 24) -> list[str]:
    """A small copy of the knowledge base under ``dest``, plus the hostile entry; return its entry ids.

    It copies everything `kb build` reads besides the entries (mkdocs.yml, kb.yaml, docs/, the
    taxonomies), then ``count`` entries chosen to include typed relations, closed over their targets
    so that `kb check` finds nothing dangling.
    """
    import shutil

    from kb.store import write_entry

    root = kb.root
    for name in ("mkdocs.yml", "kb.yaml"):
        if (root / name).is_file():
            shutil.copyfile(root / name, dest / name)
    for folder in ("docs", "overrides", "entries/taxonomies"):
        if (root / folder).is_dir():
            shutil.copytree(root / folder, dest / folder)
    related = [e for e in kb.entries.values() if e.relations.introduces or e.relations.evaluated_on]
    chosen: dict[str, Entry] = {}
    queue = [*related[: count // 2], *pick_entries(kb, count - count // 2)]
    while queue:
        entry = queue.pop(0)
        if entry.id in chosen:
            continue
        chosen[entry.id] = entry
        r = entry.relations
        queue.extend(
            kb.entries[t] for t in (*r.trained_on, *r.evaluated_on, *r.introduces, *r.builds_on) if t in kb.entries
        )
    for entry in [*chosen.values(), hostile_entry()]:
        write_entry(dest, entry)
    return [*chosen, HOSTILE_ID]

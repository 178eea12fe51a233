/*
 * kb.js: the browser side of the kb site, plain JavaScript without a framework.
 *
 * It finds three kinds of placeholder the page renderer writes and fills them from JSON:
 *   <div class="kb-all-entries" data-src="../assets/data/table.json">  the filterable table
 *   <div class="kb-global-graph" data-src="...graph.json">             the global graph (sigma, WebGL)
 *   <div class="kb-mini-graph" data-src="...nbhd/<id>.json">           an entry's neighbourhood graph
 * They are found by class and data-src, never by id: Markdown gives a heading an id made of its
 * text, so a heading "kb graph" (the command line reference) or an entry titled "KB Table" would be
 * taken for one. data-src and every url in the data are relative: data-src to the page, row and
 * node urls to the site root (the folder holding assets/data/).
 *
 * Entry text reaches the page only through textContent, text nodes and attribute setters, never
 * through innerHTML, so a title such as <img src=x onerror=alert(1)> stays text.
 */
(() => {
  "use strict";

  const TAXONOMY_TITLES = { codev: "Co-development", yin: "Yin et al.", mmllms: "MM-LLMs" };
  const KIND_ORDER = ["model", "method", "analysis", "survey", "dataset", "benchmark"];
  const PAGE_SIZES = [50, 100, 250, 1000];

  // ---------------------------------------------------------------- DOM helpers

  /** Make an element. props: class, text, attributes, and on<event> listeners. Children: nodes or strings. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function dataUrl(container) {
    return new URL(container.getAttribute("data-src") || "", document.baseURI);
  }

  /** The site root: everything before /assets/data/ in a data file's url. */
  function siteRoot(url) {
    const at = url.pathname.lastIndexOf("/assets/data/");
    return at >= 0 ? new URL(url.pathname.slice(0, at + 1), url) : new URL("./", document.baseURI);
  }

  /** A site-root-relative url from the data, made absolute; anything that is not http(s) is refused. */
  function pageUrl(root, relative) {
    if (typeof relative !== "string" || relative === "") return null;
    const url = new URL(relative, root);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  }

  async function fetchJSON(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`could not load ${url.pathname} (HTTP ${response.status})`);
    return response.json();
  }

  function showProblem(container, message) {
    container.replaceChildren(h("p", { class: "kb-problem", text: message }));
  }

  function debounce(fn, ms) {
    let timer = 0;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // ---------------------------------------------------------------- taxonomy

  /**
   * Normalise taxonomy.json into nodes keyed "taxonomy:id". Accepts nodes carrying a `taxonomy`
   * field, qualified ids ("yin:evaluation"), or {codev: [...], yin: [...]}; otherwise the taxonomy
   * is inferred from the rows, whose tag lists are grouped by taxonomy.
   */
  function loadTaxonomy(doc, rows) {
    let raw = [];
    if (Array.isArray(doc?.taxonomy)) raw = doc.taxonomy.map((n) => ({ ...n }));
    else if (Array.isArray(doc)) raw = doc.map((n) => ({ ...n }));
    else if (doc && typeof doc === "object") {
      for (const [tax, list] of Object.entries(doc)) {
        if (Array.isArray(list)) raw.push(...list.map((n) => ({ taxonomy: tax, ...n })));
      }
    }
    const seenIn = new Map(); // bare id -> taxonomy, learnt from the rows
    for (const row of rows) {
      for (const group of [row.curated, row.suggested, row.zero_shot]) {
        for (const [tax, tags] of Object.entries(group || {})) {
          for (const tag of tags || []) seenIn.set(typeof tag === "string" ? tag : tag?.tag, tax);
        }
      }
    }
    const nodes = new Map();
    const order = [];
    for (const n of raw) {
      let tax = n.taxonomy;
      let id = String(n.id);
      if (!tax && id.includes(":")) [tax, id] = [id.slice(0, id.indexOf(":")), id.slice(id.indexOf(":") + 1)];
      if (!tax) tax = seenIn.get(id) || "";
      let parent = n.parent == null ? null : String(n.parent);
      if (parent && parent.startsWith(`${tax}:`)) parent = parent.slice(tax.length + 1);
      const node = { key: `${tax}:${id}`, tax, id, name: String(n.name ?? id), parent, depth: Number(n.depth) || 0 };
      nodes.set(node.key, node);
      order.push(node);
    }
    // Nodes whose taxonomy is still unknown inherit their parent's.
    for (const node of order) {
      if (node.tax) continue;
      for (const other of order) {
        if (other.id === node.parent && other.tax) {
          nodes.delete(node.key);
          node.tax = other.tax;
          node.key = `${node.tax}:${node.id}`;
          nodes.set(node.key, node);
          break;
        }
      }
    }
    return { nodes, order };
  }

  function ancestorsOf(taxonomy, key) {
    const out = [];
    let node = taxonomy.nodes.get(key);
    const guard = new Set();
    while (node && node.parent && !guard.has(node.key)) {
      guard.add(node.key);
      const parentKey = `${node.tax}:${node.parent}`;
      out.push(parentKey);
      node = taxonomy.nodes.get(parentKey);
    }
    return out;
  }

  function nodePath(taxonomy, key) {
    const names = [key, ...ancestorsOf(taxonomy, key)].reverse().map((k) => taxonomy.nodes.get(k)?.name ?? k);
    const tax = key.slice(0, key.indexOf(":"));
    return `${TAXONOMY_TITLES[tax] || tax}: ${names.join(" › ")}`;
  }

  // ---------------------------------------------------------------- the table

  // Text as the filters compare it: lower case, typographic apostrophes as straight ones
  // ("LLaVA’s" and "LLaVA's" alike, as kb query and the site's search read them).
  function foldText(text) {
    return String(text).toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'");
  }

  function list(value) {
    return Array.isArray(value) ? value.map(String) : [];
  }

  /** Precompute what filtering and sorting need, once per row. */
  function prepareRow(row, taxonomy) {
    const curated = new Set();
    const suggested = new Map(); // key -> best score
    for (const [tax, tags] of Object.entries(row.curated || {})) {
      for (const tag of tags || []) {
        const key = `${tax}:${tag}`;
        curated.add(key);
        for (const a of ancestorsOf(taxonomy, key)) curated.add(a);
      }
    }
    for (const [tax, tags] of Object.entries(row.suggested || {})) {
      for (const item of tags || []) {
        const key = `${tax}:${typeof item === "string" ? item : item?.tag}`;
        const score = Number(item?.score);
        for (const k of [key, ...ancestorsOf(taxonomy, key)]) {
          suggested.set(k, Math.max(suggested.get(k) ?? -Infinity, Number.isFinite(score) ? score : 0));
        }
      }
    }
    const shownCurated = [];
    for (const [tax, tags] of Object.entries(row.curated || {})) {
      const keys = (tags || []).map((t) => `${tax}:${t}`);
      // Show the most specific tags only: a parent is implied by its child.
      const implied = new Set(keys.flatMap((k) => ancestorsOf(taxonomy, k)));
      for (const k of keys) if (!implied.has(k)) shownCurated.push(k);
    }
    const shownSuggested = [];
    for (const [tax, tags] of Object.entries(row.suggested || {})) {
      for (const item of tags || []) {
        const key = `${tax}:${typeof item === "string" ? item : item?.tag}`;
        if (!curated.has(key)) shownSuggested.push({ key, score: Number(item?.score) });
      }
    }
    // The zero-shot fallback's scores, of a taxonomy with too few curated labels to learn from
    // (table.json's zero_shot): shares of one across the leaves, not suggestions. Shown as zero-shot
    // chips beside the suggested ones, but no tag filter counts them, "suggested tags only" included:
    // the entry pages say "none suggested" of them.
    const shownZeroShot = [];
    for (const [tax, tags] of Object.entries(row.zero_shot || {})) {
      for (const item of tags || []) {
        const key = `${tax}:${typeof item === "string" ? item : item?.tag}`;
        if (!curated.has(key)) shownZeroShot.push({ key, score: Number(item?.score) });
      }
    }
    const year = Number.isFinite(Number(row.year)) && row.year !== null ? Number(row.year) : parseInt(String(row.date || ""), 10);
    const modalities = Array.isArray(row.modalities) ? row.modalities.map(String) : [];
    return {
      row,
      title: String(row.title ?? row.id ?? ""),
      kind: String(row.kind ?? ""),
      date: String(row.date ?? ""),
      venue: String(row.venue ?? ""),
      year: Number.isFinite(year) ? year : null,
      modalities,
      curated,
      suggested,
      shownCurated,
      shownSuggested,
      shownZeroShot,
      text: foldText([row.title, row.name, ...list(row.aliases), row.id, row.arxiv, row.venue, ...modalities, ...list(row.authors), ...list(row.affiliations)].filter(Boolean).join(" ")),
    };
  }

  const DEFAULT_STATE = { q: "", tags: [], op: "and", kinds: [], mods: [], from: null, to: null, venue: "", src: "curated", sort: "-date", page: 1, size: 100 };
  const SOURCES = ["curated", "any", "suggested"];

  function readState(search) {
    const p = new URLSearchParams(search);
    const num = (v) => (v !== null && v !== "" && Number.isFinite(Number(v)) ? Number(v) : null);
    const state = {
      // "text", not "q": mkdocs-material opens its search over the page for a q in the address.
      q: p.get("text") || "",
      tags: p.getAll("tag").filter(Boolean),
      op: p.get("op") === "or" ? "or" : "and",
      kinds: p.getAll("kind").filter((k) => KIND_ORDER.includes(k)),
      mods: p.getAll("mod").filter(Boolean), // checked against the data once it is read
      from: num(p.get("from")),
      to: num(p.get("to")),
      venue: p.get("venue") || "",
      src: SOURCES.includes(p.get("src")) ? p.get("src") : DEFAULT_STATE.src,
      sort: Object.hasOwn(SORT_KEYS, (p.get("sort") || "").replace(/^-/, "")) ? p.get("sort") : DEFAULT_STATE.sort,
      page: Math.max(1, num(p.get("page")) || 1),
      size: PAGE_SIZES.includes(num(p.get("size"))) ? num(p.get("size")) : DEFAULT_STATE.size,
    };
    return state;
  }

  function writeState(state) {
    const p = new URLSearchParams();
    if (state.q) p.set("text", state.q);
    for (const t of state.tags) p.append("tag", t);
    if (state.tags.length > 1 && state.op !== "and") p.set("op", state.op);
    for (const k of state.kinds) p.append("kind", k);
    for (const m of state.mods) p.append("mod", m);
    if (state.from !== null) p.set("from", String(state.from));
    if (state.to !== null) p.set("to", String(state.to));
    if (state.venue) p.set("venue", state.venue);
    if (state.src !== DEFAULT_STATE.src) p.set("src", state.src);
    if (state.sort !== DEFAULT_STATE.sort) p.set("sort", state.sort);
    if (state.page !== 1) p.set("page", String(state.page));
    if (state.size !== DEFAULT_STATE.size) p.set("size", String(state.size));
    const query = p.toString();
    const url = `${location.pathname}${query ? `?${query}` : ""}${location.hash}`;
    if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, "", url);
  }

  function matches(item, state, terms) {
    if (state.kinds.length && !state.kinds.includes(item.kind)) return false;
    if (state.mods.length && !item.modalities.some((m) => state.mods.includes(m))) return false;
    if (state.from !== null && !(item.year !== null && item.year >= state.from)) return false;
    if (state.to !== null && !(item.year !== null && item.year <= state.to)) return false;
    if (state.venue && !item.venue.toLowerCase().includes(state.venue.toLowerCase())) return false;
    for (const term of terms) if (!item.text.includes(term)) return false;
    if (state.tags.length) {
      const has = (key) => (state.src !== "suggested" && item.curated.has(key)) || (state.src !== "curated" && item.suggested.has(key));
      if (state.op === "or" ? !state.tags.some(has) : !state.tags.every(has)) return false;
    }
    return true;
  }

  const SORT_KEYS = {
    title: (item) => item.title.toLowerCase(),
    kind: (item) => (KIND_ORDER.includes(item.kind) ? KIND_ORDER.indexOf(item.kind) : KIND_ORDER.length),
    date: (item) => item.date,
    venue: (item) => item.venue.toLowerCase(),
  };

  // Text sorts as a reader expects: "Émile" beside "Emma", not after "z"; "v10" after "v9".
  const COLLATOR = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

  function sortItems(items, sort) {
    const desc = sort.startsWith("-");
    const key = SORT_KEYS[sort.replace(/^-/, "")] || SORT_KEYS.date;
    const keyed = items.map((item) => [key(item), item]);
    keyed.sort((a, b) => {
      const [x, y] = [a[0], b[0]];
      // Empty values (no date, no venue) go last in both directions.
      if (x === "" || y === "") return x === y ? 0 : x === "" ? 1 : -1;
      const c = typeof x === "string" && typeof y === "string" ? COLLATOR.compare(x, y) : x < y ? -1 : x > y ? 1 : 0;
      return desc ? -c : c;
    });
    return keyed.map((pair) => pair[1]);
  }

  /**
   * A wide table in mkdocs-material's own wrapper for wide tables (div.md-typeset__scrollwrap >
   * div.md-typeset__table > table), which scrolls sideways inside the content column; material wraps
   * only the Markdown tables there when a page loads, not one built later. When the table is wider
   * than its column, the note returned beside it shows, and the wrapper's data-kb-more names the sides
   * ("left", "right") with columns out of view, which kb.css shades. Returns [note, wrapper].
   */
  function scrollingTable(table) {
    const inner = h("div", { class: "md-typeset__table" }, table);
    const scroller = h("div", { class: "md-typeset__scrollwrap kb-table-scroll" }, inner);
    const hint = h("p", { class: "kb-scroll-hint", text: "Wider than the page: scroll the table sideways for the other columns." });
    hint.hidden = true;
    const refresh = () => {
      const hidden = scroller.scrollWidth - scroller.clientWidth;
      const left = scroller.scrollLeft > 1;
      const right = scroller.scrollLeft < hidden - 1;
      hint.hidden = hidden <= 1;
      scroller.dataset.kbMore = [left ? "left" : "", right ? "right" : ""].filter(Boolean).join(" ");
    };
    scroller.addEventListener("scroll", refresh, { passive: true });
    // The column's width changes with the window; the table's with the rows a filter leaves.
    const resized = new ResizeObserver(refresh);
    resized.observe(scroller);
    resized.observe(inner);
    return [hint, scroller];
  }

  async function mountTable(container) {
    const url = dataUrl(container);
    const root = siteRoot(url);
    container.replaceChildren(h("p", { class: "kb-loading", text: "Loading entries…" }));
    const [rows, taxonomyDoc] = await Promise.all([
      fetchJSON(url),
      fetchJSON(new URL("taxonomy.json", url)).catch(() => ({ taxonomy: [] })),
    ]);
    if (!Array.isArray(rows)) throw new Error(`${url.pathname} does not hold a list of rows`);
    const taxonomy = loadTaxonomy(taxonomyDoc, rows);
    const items = rows.map((row) => prepareRow(row, taxonomy));
    const state = readState(location.search);
    const ui = buildTableUI(container, items, taxonomy, state, root);
    ui.update({ keepPage: true });
  }

  function buildTableUI(container, items, taxonomy, state, root) {
    const kinds = [...new Set(items.map((i) => i.kind).filter(Boolean))].sort(
      (a, b) => (KIND_ORDER.indexOf(a) + 99) % 99 - (KIND_ORDER.indexOf(b) + 99) % 99 || a.localeCompare(b),
    );
    const modalityCounts = new Map();
    for (const item of items) for (const m of item.modalities) modalityCounts.set(m, (modalityCounts.get(m) || 0) + 1);
    const modalities = [...modalityCounts.keys()].sort((a, b) => modalityCounts.get(b) - modalityCounts.get(a));
    const years = items.map((i) => i.year).filter((y) => y !== null);
    const venues = new Map();
    for (const item of items) {
      const family = item.venue.replace(/[\s'’]*\d{2,4}\s*$/, "").trim();
      if (family) venues.set(family, (venues.get(family) || 0) + 1);
    }

    // --- controls
    const text = h("input", { type: "search", class: "kb-input", placeholder: "Title, name, author, affiliation, arXiv id, venue…", "aria-label": "Text filter", value: state.q });
    const tagSelect = h("select", { class: "kb-input", "aria-label": "Add a taxonomy filter" });
    const chips = h("span", { class: "kb-chips" });
    const opAnd = h("input", { type: "radio", name: "kb-op", value: "and", checked: state.op === "and" });
    const opOr = h("input", { type: "radio", name: "kb-op", value: "or", checked: state.op === "or" });
    const source = h("select", { class: "kb-input", "aria-label": "Which tags count" },
      h("option", { value: "curated", text: "curated tags" }),
      h("option", { value: "any", text: "curated or suggested" }),
      h("option", { value: "suggested", text: "suggested tags only" }));
    source.value = state.src;
    if (items.some((item) => item.shownZeroShot.length)) source.title = "Zero-shot scores (too few curated labels to learn from) are not suggestions: no choice here counts them";
    const kindBoxes = kinds.map((k) => h("input", { type: "checkbox", value: k, checked: state.kinds.includes(k) }));
    const modBoxes = modalities.map((m) => h("input", { type: "checkbox", value: m, checked: state.mods.includes(m) }));
    const yearFrom = h("input", { type: "number", class: "kb-input kb-year", "aria-label": "From year", placeholder: String(years.length ? Math.min(...years) : ""), value: state.from ?? "" });
    const yearTo = h("input", { type: "number", class: "kb-input kb-year", "aria-label": "To year", placeholder: String(years.length ? Math.max(...years) : ""), value: state.to ?? "" });
    const venueList = h("datalist", { id: "kb-venues" },
      ...[...venues.entries()].sort((a, b) => b[1] - a[1]).map(([v]) => h("option", { value: v })));
    const venue = h("input", { type: "search", class: "kb-input", list: "kb-venues", placeholder: "any venue", "aria-label": "Venue", value: state.venue });
    const reset = h("button", { type: "button", class: "kb-button", text: "Clear filters" });
    const count = h("p", { class: "kb-count", "aria-live": "polite" });
    const pageSize = h("select", { class: "kb-input", "aria-label": "Rows per page" }, ...PAGE_SIZES.map((n) => h("option", { value: String(n), text: `${n} per page` })));
    pageSize.value = String(state.size);

    const checkGroup = (boxes) => h("span", { class: "kb-checks" }, ...boxes.map((box) => h("label", {}, box, ` ${box.value}`)));
    // Each field is a group named by its label, so a screen reader says "Kind, group" before the boxes.
    let fields = 0;
    const field = (label, ...controls) => {
      const id = `kb-field-${++fields}`;
      return h("div", { class: "kb-field", role: "group", "aria-labelledby": id }, h("span", { class: "kb-label", id, text: label }), ...controls);
    };
    const filters = h("div", { class: "kb-filters" },
      field("Text", text),
      field("Taxonomy", tagSelect, h("span", { class: "kb-op", role: "radiogroup", "aria-label": "Match the taxonomy filters" }, h("label", {}, opAnd, " all (AND)"), h("label", {}, opOr, " any (OR)")), source, chips),
      field("Kind", checkGroup(kindBoxes)),
      // Any of the ticked: ticking "video" beside "image" widens the rows, and the label says so.
      field("Modality", checkGroup(modBoxes), h("span", { class: "kb-op", text: "any ticked (OR)" })),
      field("Year", yearFrom, " – ", yearTo),
      field("Venue", venue, venueList),
      h("div", { class: "kb-field" }, reset, pageSize));

    // --- the table
    // Name beside Title: a paper's model and the datasets it released share its title ("Visual
    // Instruction Tuning"), and two datasets of one paper may share their kind as well.
    const columns = [["title", "Title"], [null, "Name"], ["kind", "Kind"], ["date", "Date"], ["venue", "Venue"], [null, "Modalities"], [null, "Tags"], [null, "arXiv"]];
    const headRow = h("tr");
    const sortButtons = new Map();
    for (const [key, label] of columns) {
      if (key) {
        const button = h("button", { type: "button", class: "kb-sort", text: label, onclick: () => {
          state.sort = state.sort === key ? `-${key}` : key;
          update({ keepPage: false });
        } });
        sortButtons.set(key, button);
        headRow.append(h("th", { scope: "col" }, button));
      } else headRow.append(h("th", { scope: "col", text: label }));
    }
    const body = h("tbody");
    const table = h("table", { class: "kb-table" }, h("thead", {}, headRow), body);
    const pager = h("nav", { class: "kb-pager", "aria-label": "Pages" });
    const [hint, scroller] = scrollingTable(table);
    container.replaceChildren(filters, count, hint, scroller, pager);

    function fillTagSelect() {
      const counts = new Map();
      for (const item of items) {
        const keys = new Set([...(state.src !== "suggested" ? item.curated : []), ...(state.src !== "curated" ? item.suggested.keys() : [])]);
        for (const k of keys) counts.set(k, (counts.get(k) || 0) + 1);
      }
      const groups = new Map();
      for (const node of taxonomy.order) {
        if (!groups.has(node.tax)) groups.set(node.tax, h("optgroup", { label: TAXONOMY_TITLES[node.tax] || node.tax || "other" }));
        const option = h("option", { value: node.key, text: `${"\u00a0\u00a0".repeat(node.depth)}${node.name} (${counts.get(node.key) || 0})`, disabled: state.tags.includes(node.key) });
        groups.get(node.tax).append(option);
      }
      tagSelect.replaceChildren(h("option", { value: "", text: "Add a taxonomy node…" }), ...groups.values());
      tagSelect.value = "";
    }

    function renderChips() {
      chips.replaceChildren(...state.tags.map((key) => h("span", { class: "kb-chip", title: nodePath(taxonomy, key) },
        taxonomy.nodes.get(key)?.name ?? key,
        h("button", { type: "button", class: "kb-chip-remove", "aria-label": `Remove ${taxonomy.nodes.get(key)?.name ?? key}`, text: "×", onclick: () => {
          state.tags = state.tags.filter((t) => t !== key);
          fillTagSelect();
          update({ keepPage: false });
        } }))));
    }

    // Cut, not rounded, to two places, as kb shows a score everywhere (0.2955 is 0.29, never 0.30).
    function scoreText(score) {
      return (Math.floor(score * 100 + 1e-9) / 100).toFixed(2);
    }

    const ZERO_SHOT_NOTE = " (zero-shot, not suggested: too few curated labels to learn from; a share of one across the leaves)";

    function tagChip(key, score, zeroShot = false) {
      const node = taxonomy.nodes.get(key);
      const [kind, note] = score === undefined ? ["kb-tag", " (curated)"] : zeroShot ? ["kb-tag kb-tag-zero-shot", ZERO_SHOT_NOTE] : ["kb-tag kb-tag-suggested", " (suggested)"];
      const chip = h("span", { class: kind, title: nodePath(taxonomy, key) + note },
        node?.name ?? key.slice(key.indexOf(":") + 1));
      if (score !== undefined && Number.isFinite(score)) chip.append(h("span", { class: "kb-score", text: scoreText(score) }));
      return chip;
    }

    function renderRow(item) {
      const link = pageUrl(root, item.row.url);
      const title = link ? h("a", { href: link.href, text: item.title }) : h("span", { text: item.title });
      const tags = h("td", { class: "kb-tags" }, ...item.shownCurated.map((k) => tagChip(k)));
      if (state.src !== "curated") for (const s of item.shownSuggested) tags.append(tagChip(s.key, s.score));
      if (state.src !== "curated") for (const s of item.shownZeroShot) tags.append(tagChip(s.key, s.score, true));
      const arxiv = item.row.arxiv ? h("a", { href: `https://arxiv.org/abs/${encodeURIComponent(String(item.row.arxiv))}`, text: String(item.row.arxiv), rel: "noopener" }) : "";
      return h("tr", {},
        h("td", { class: "kb-title" }, title),
        h("td", { class: "kb-name", text: String(item.row.name ?? "") }),
        h("td", { text: item.kind }),
        h("td", { class: "kb-date", text: item.date }),
        h("td", { class: "kb-venue", text: item.venue }),
        h("td", { text: item.modalities.join(", ") }),
        tags,
        h("td", { class: "kb-arxiv" }, arxiv));
    }

    function update({ keepPage }) {
      if (!keepPage) state.page = 1;
      const terms = foldText(state.q).split(/\s+/).filter(Boolean);
      const hits = sortItems(items.filter((item) => matches(item, state, terms)), state.sort);
      const pages = Math.max(1, Math.ceil(hits.length / state.size));
      state.page = Math.min(state.page, pages);
      const start = (state.page - 1) * state.size;
      const shown = hits.slice(start, start + state.size);
      const fragment = document.createDocumentFragment();
      for (const item of shown) fragment.append(renderRow(item));
      body.replaceChildren(fragment);
      const backwards = state.from !== null && state.to !== null && state.from > state.to;
      const empty = backwards ? `No entry matches: the years run backwards (from ${state.from} to ${state.to}).` : "No entry matches these filters.";
      if (!hits.length) body.append(h("tr", {}, h("td", { colspan: String(columns.length), class: "kb-empty", text: empty })));
      count.textContent = hits.length === items.length
        ? `${items.length} entries`
        : `${hits.length} of ${items.length} entries match`;
      if (hits.length > shown.length) count.textContent += ` (showing ${start + 1}–${start + shown.length})`;
      count.dataset.count = String(hits.length);
      for (const [key, button] of sortButtons) {
        const direction = state.sort === key ? "ascending" : state.sort === `-${key}` ? "descending" : null;
        button.parentElement.setAttribute("aria-sort", direction || "none");
        button.dataset.direction = direction || "";
      }
      renderChips();
      renderPager(pages);
      writeState(state);
    }

    function renderPager(pages) {
      pager.replaceChildren();
      if (pages <= 1) return;
      const go = (page) => () => {
        state.page = page;
        update({ keepPage: true });
        container.scrollIntoView({ block: "start" });
      };
      pager.append(
        h("button", { type: "button", class: "kb-button", text: "‹ Previous", disabled: state.page === 1, onclick: go(state.page - 1) }),
        h("span", { class: "kb-page", text: ` page ${state.page} of ${pages} ` }),
        h("button", { type: "button", class: "kb-button", text: "Next ›", disabled: state.page === pages, onclick: go(state.page + 1) }));
    }

    const refilter = () => update({ keepPage: false });
    text.addEventListener("input", debounce(() => { state.q = text.value.trim(); refilter(); }, 150));
    venue.addEventListener("input", debounce(() => { state.venue = venue.value.trim(); refilter(); }, 150));
    const addTag = () => {
      if (tagSelect.value && !state.tags.includes(tagSelect.value)) state.tags.push(tagSelect.value);
      fillTagSelect();
      refilter();
    };
    // Arrow keys on a closed select change its value (and fire "change") option by option: a
    // keyboard user browsing the list must not add every node passed; Enter adds the one shown.
    let lastKey = "";
    let lastKeyAt = 0;
    tagSelect.addEventListener("keydown", (event) => {
      lastKey = event.key;
      lastKeyAt = performance.now();
      if (event.key === "Enter" && tagSelect.value) { event.preventDefault(); addTag(); }
    });
    tagSelect.addEventListener("change", () => {
      const browsing = /^(Arrow|Page|Home|End)/.test(lastKey) && performance.now() - lastKeyAt < 500;
      if (!browsing) addTag();
    });
    for (const radio of [opAnd, opOr]) radio.addEventListener("change", () => { state.op = radio.value; refilter(); });
    source.addEventListener("change", () => { state.src = source.value; fillTagSelect(); refilter(); });
    for (const box of kindBoxes) box.addEventListener("change", () => { state.kinds = kindBoxes.filter((b) => b.checked).map((b) => b.value); refilter(); });
    for (const box of modBoxes) box.addEventListener("change", () => { state.mods = modBoxes.filter((b) => b.checked).map((b) => b.value); refilter(); });
    const readYear = (input) => (input.value === "" || !Number.isFinite(Number(input.value)) ? null : Number(input.value));
    for (const input of [yearFrom, yearTo]) {
      input.addEventListener("input", debounce(() => { state.from = readYear(yearFrom); state.to = readYear(yearTo); refilter(); }, 250));
    }
    pageSize.addEventListener("change", () => { state.size = Number(pageSize.value); refilter(); });
    reset.addEventListener("click", () => {
      Object.assign(state, { ...DEFAULT_STATE, tags: [], kinds: [], mods: [], sort: state.sort, size: state.size });
      text.value = venue.value = yearFrom.value = yearTo.value = "";
      for (const box of [...kindBoxes, ...modBoxes]) box.checked = false;
      opAnd.checked = true;
      source.value = state.src;
      fillTagSelect();
      refilter();
    });

    // Tags, kinds, modalities and sorts named in the URL that the data does not know are dropped
    // rather than matching nothing with no box ticked to say why (sorts as the URL is read).
    state.tags = state.tags.filter((t) => taxonomy.nodes.has(t));
    state.mods = state.mods.filter((m) => modalities.includes(m));
    state.kinds = state.kinds.filter((k) => kinds.includes(k));
    fillTagSelect();
    return { update };
  }

  // ---------------------------------------------------------------- graphs

  const liveRenderers = new Set();

  // The graph's colours follow the page's scheme (light "default", dark "slate"), read when a graph
  // mounts and again whenever the reader toggles it.
  function readPalette() {
    const style = getComputedStyle(document.body);
    const dark = document.body.getAttribute("data-md-color-scheme") === "slate";
    return {
      dark,
      fg: style.getPropertyValue("--md-default-fg-color").trim() || (dark ? "#e2e4e9" : "#222"),
      bg: style.getPropertyValue("--md-default-bg-color").trim() || (dark ? "#1e2129" : "#fff"),
      dim: dark ? "#3a3e4b" : "#e2e2e2", // nodes set aside by a highlight: towards the background
      edge: dark ? "#4a4f5e" : "#c8c8c8",
    };
  }
  let palette = readPalette();
  // The build colours similarity and suggestion edges a pale grey (kb/graph.py EDGE_COLOURS): faint on
  // white, glaring on the dark scheme, where they would cut through every label; there they take the
  // scheme's edge colour.
  const PALE_RELATIONS = new Set(["similar", "suggested", "zero_shot"]);
  new MutationObserver(() => {
    palette = readPalette();
    for (const renderer of liveRenderers) {
      renderer.setSetting("labelColor", { color: palette.fg });
      renderer.setSetting("defaultEdgeColor", palette.edge);
      renderer.refresh();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });

  // ---------------------------------------------------------------- graph labels

  const LABEL_GAP = 3; // between a node's disc and its label, as sigma draws it
  // Kept free around every label (px), so that two never touch: more across than down, or two short
  // labels side by side read as one.
  const LABEL_PAD_X = 5;
  const LABEL_PAD_Y = 2;
  const ELLIPSIS = "…";
  // A label shortened to fit a mini graph keeps at least this many characters, or is left out: a stub
  // such as "A…" names nothing.
  const LABEL_LEAST_KEPT = 4;

  // Characters as a reader sees them (an accent or an emoji with its modifiers is one), so that a
  // label is never cut inside one.
  const graphemes = typeof Intl !== "undefined" && Intl.Segmenter
    ? (() => { const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" }); return (text) => Array.from(segmenter.segment(text), (s) => s.segment); })()
    : (text) => Array.from(text);

  /**
   * The label as drawn in at most `room` pixels: whole when it fits, else its longest start that fits
   * with an ellipsis after it (trailing spaces dropped); null when fewer than `least` characters
   * would be left. measure(text) gives a text's width at the font in use.
   */
  function fitLabel(label, room, least, measure) {
    if (measure(label) <= room) return label;
    if (measure(ELLIPSIS) > room) return null;
    const chars = graphemes(label);
    const cut = (n) => chars.slice(0, n).join("").trimEnd() + ELLIPSIS;
    let lo = 0; // the most characters known to fit; a binary search, as widths only grow with length
    let hi = chars.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (measure(cut(mid)) <= room) lo = mid;
      else hi = mid - 1;
    }
    return lo < least ? null : cut(lo);
  }

  function labelFont(settings) {
    return `${settings.labelWeight} ${settings.labelSize}px ${settings.labelFont}`;
  }

  /** The box (viewport pixels) a label takes on one side of its node; x and y are the node's centre. */
  function labelBox(x, y, radius, width, textSize, side) {
    const start = side === "left" ? x - radius - LABEL_GAP - width : x + radius + LABEL_GAP;
    return { x0: start - LABEL_PAD_X, x1: start + width + LABEL_PAD_X, y0: y - textSize / 2 - LABEL_PAD_Y, y1: y + textSize / 2 + LABEL_PAD_Y };
  }

  /** The width a label's text has on one side of its node before it leaves a stage `width` wide. */
  function labelRoom(x, radius, side, width) {
    return side === "left" ? x - radius - LABEL_GAP - LABEL_PAD_X : width - x - radius - LABEL_GAP - LABEL_PAD_X;
  }

  /** The sides in `order`, the one with more room on the stage first (the order breaks a tie). */
  function roomierFirst(x, radius, order, width) {
    return [...order].sort((a, b) => labelRoom(x, radius, b, width) - labelRoom(x, radius, a, width));
  }

  function boxesCross(a, b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  }

  /**
   * Where labels go. Sigma picks the labels to draw from a grid, a few per cell, and never checks
   * that two of them do not cross; long titles next to each other ran into one another. Here sigma
   * only hands over the labels it would draw (collect), and after its frame they are placed, most
   * important first: the hovered or searched node, the centre of a mini graph, the hovered node's
   * neighbours, then bigger nodes before smaller ones (sigma's own order). Each goes on its node's
   * preferred side (away from the centre in a mini graph, else the right), or the other side, inside
   * the stage and clear of every label already placed. With `shorten` (a mini graph) a label too long
   * for the stage on either side is then cut to the room it has, with an ellipsis, on the side with
   * more room first, if it keeps a few characters and its place is free; a label with no place is
   * left out (the full text shows on hover, in the tooltip and in the line under the graph). The
   * hovered node and the centre always keep theirs: whole on a side where it fits the stage, else
   * shortened to the side with more room, so that it is never cut by the stage's edge. A label keeps
   * the side it had in the last frame while that side is free, so that labels do not jump from side to
   * side as the reader pans or zooms (the preferred side changes as a node crosses a mini graph's
   * middle). With avoidNodes (a mini graph, a few dozen nodes) a label must not cover another node's
   * disc either. Labels carry a halo of the page's background so that edges running under them do
   * not cut through the text.
   *
   * tier(key) ranks a node (0 first); centre() gives the viewport x that a mini graph's labels turn
   * away from, or null.
   */
  function labelLayout(renderer, tier, centre, { avoidNodes, shorten }) {
    let pending = [];
    const lastSide = new Map(); // node key -> the side its label took in the last frame
    const widths = new Map(); // label -> text width at the current font
    const fitted = new Map(); // room and label -> the label as fitted to that room
    let widthFont = "";

    function textWidth(context, label) {
      if (context.font !== widthFont) { widths.clear(); fitted.clear(); widthFont = context.font; }
      let width = widths.get(label);
      if (width === undefined) { width = context.measureText(label).width; widths.set(label, width); }
      return width;
    }

    /** fitLabel at the context's font, remembered by whole pixels of room (a pan changes the room). */
    function fitText(context, label, room, least) {
      if (textWidth(context, label) <= room) return label;
      const key = `${Math.floor(room)} ${least} ${label}`;
      if (!fitted.has(key)) {
        if (fitted.size > 4000) fitted.clear();
        fitted.set(key, fitLabel(label, Math.floor(room), least, (text) => context.measureText(text).width));
      }
      return fitted.get(key);
    }

    /** The sides to try for a node's label, best first: the side it had, else away from the middle. */
    function sides(key, x, middle) {
      const last = lastSide.get(key);
      if (last) return last === "left" ? ["left", "right"] : ["right", "left"];
      return middle !== null && x < middle - 1 ? ["left", "right"] : ["right", "left"];
    }

    /** The side a label goes on when it has the stage to itself (the hovered node's): the first that
     * holds it whole, else the one with more room, where it is shortened. */
    function sideAlone(context, data, settings) {
      const { width } = renderer.getDimensions();
      context.font = labelFont(settings);
      const w = textWidth(context, data.label);
      const order = sides(data.key, data.x, centre());
      return order.find((side) => {
        const box = labelBox(data.x, data.y, data.size, w, settings.labelSize, side);
        return box.x0 >= 0 && box.x1 <= width;
      }) || roomierFirst(data.x, data.size, order, width)[0];
    }

    function paint(context, item, side, text, settings) {
      const x = side === "left" ? item.x - item.size - LABEL_GAP : item.x + item.size + LABEL_GAP;
      const y = item.y + settings.labelSize / 3;
      context.textAlign = side === "left" ? "right" : "left";
      context.lineJoin = "round";
      context.lineWidth = 3;
      context.strokeStyle = palette.bg;
      context.strokeText(text, x, y);
      context.fillStyle = settings.labelColor.color || palette.fg;
      context.fillText(text, x, y);
      context.textAlign = "left";
    }

    function place(context) {
      const items = pending;
      pending = [];
      if (!items.length) return;
      const settings = renderer.getSettings();
      const { width, height } = renderer.getDimensions();
      context.font = labelFont(settings);
      const middle = centre();
      for (const item of items) item.tier = tier(item.key);
      items.sort((a, b) => a.tier - b.tier || b.size - a.size || (a.key < b.key ? -1 : 1));
      const placed = [];
      const discs = avoidNodes ? nodeDiscs() : [];
      const across = (box) => box.x0 >= 0 && box.x1 <= width;
      const free = (box, key) => across(box) && box.y0 >= 0 && box.y1 <= height
        && !placed.some((other) => boxesCross(box, other))
        && !discs.some((disc) => disc.key !== key && boxesCross(box, disc));
      const boxOf = (item, text, side) => labelBox(item.x, item.y, item.size, textWidth(context, text), settings.labelSize, side);
      for (const item of items) {
        const order = sides(item.key, item.x, middle);
        let chosen = null; // [side, box, text]
        for (const side of order) {
          const box = boxOf(item, item.label, side);
          if (free(box, item.key)) { chosen = [side, box, item.label]; break; }
        }
        if (!chosen && shorten) {
          for (const side of roomierFirst(item.x, item.size, order, width)) {
            const text = fitText(context, item.label, labelRoom(item.x, item.size, side, width), LABEL_LEAST_KEPT);
            if (text === null || text === item.label) continue; // whole, it was tried above
            const box = boxOf(item, text, side);
            if (free(box, item.key)) { chosen = [side, box, text]; break; }
          }
        }
        if (!chosen && item.tier <= 1) {
          // Drawn whatever it covers, but never cut by the stage's edge.
          const side = order.find((s) => across(boxOf(item, item.label, s)));
          if (side) chosen = [side, boxOf(item, item.label, side), item.label];
          else {
            const roomier = roomierFirst(item.x, item.size, order, width)[0];
            const text = fitText(context, item.label, labelRoom(item.x, item.size, roomier, width), 0);
            if (text !== null) chosen = [roomier, boxOf(item, text, roomier), text];
          }
        }
        if (!chosen) continue;
        lastSide.set(item.key, chosen[0]);
        placed.push(chosen[1]);
        paint(context, item, chosen[0], chosen[2], settings);
      }
    }

    /** The boxes of the nodes drawn in full colour (not hidden, not set aside by a highlight). */
    function nodeDiscs() {
      const discs = [];
      renderer.getGraph().forEachNode((key) => {
        const data = renderer.getNodeDisplayData(key);
        if (!data || data.hidden || data.color === palette.dim) return;
        const { x, y } = renderer.framedGraphToViewport(data);
        const r = renderer.scaleSize(data.size);
        discs.push({ key, x0: x - r, x1: x + r, y0: y - r, y1: y + r });
      });
      return discs;
    }

    let context = null;
    renderer.on("beforeRender", () => { pending = []; });
    renderer.on("afterRender", () => { if (context) place(context); });
    return {
      /** sigma's defaultDrawNodeLabel: note the label, draw nothing yet. */
      collect(ctx, data) {
        if (!data.label) return;
        context = ctx;
        pending.push({ key: data.key, label: data.label, x: data.x, y: data.y, size: data.size });
      },
      sideAlone,
    };
  }

  // Sigma's own hover box is white whatever the scheme; this one takes the page's colours, and puts
  // the label on the side the label layout would.
  function drawHover(context, data, settings, side) {
    const size = settings.labelSize;
    context.font = labelFont(settings);
    context.fillStyle = palette.bg;
    context.shadowBlur = 8;
    context.shadowColor = "#000";
    context.beginPath();
    context.arc(data.x, data.y, data.size + 2, 0, Math.PI * 2);
    context.fill();
    // A label too long for either side is slid into the stage, its start first; one longer than the
    // stage is shortened to it, with an ellipsis (the whole of it is in the stage's tooltip).
    const stage = context.canvas.clientWidth;
    const label = typeof data.label === "string" && data.label
      ? fitLabel(data.label, stage - 6, 0, (text) => context.measureText(text).width) : null;
    if (label) {
      const width = context.measureText(label).width;
      const beside = side === "left" ? data.x - data.size - LABEL_GAP - width - 6 : data.x + data.size + LABEL_GAP;
      const x = Math.max(0, Math.min(beside, stage - width - 6));
      context.fillRect(x, data.y - size / 2 - 2, width + 6, size + 4);
      context.shadowBlur = 0;
      context.fillStyle = palette.fg;
      context.fillText(label, x + 3, data.y + size / 3);
    }
    context.shadowBlur = 0;
  }

  /** Build a graphology graph from the serialized form, keeping sigma's reserved `type` out of the data. */
  function buildGraph(data) {
    const graph = new window.graphology.MultiGraph();
    for (const node of data?.nodes || []) {
      const a = { ...(node.attributes || {}) };
      // In sigma `type` picks a render program; ours carries a meaning of its own, so it is renamed.
      if ("type" in a) { a.nodeType = a.type; delete a.type; }
      a.label = a.label === undefined || a.label === null ? String(node.key) : String(a.label);
      a.size = Number.isFinite(Number(a.size)) && Number(a.size) > 0 ? Number(a.size) : 4;
      if (!graph.hasNode(String(node.key))) graph.addNode(String(node.key), a);
    }
    for (const edge of data?.edges || []) {
      const [source, target] = [String(edge.source), String(edge.target)];
      if (!graph.hasNode(source) || !graph.hasNode(target)) continue;
      const a = { ...(edge.attributes || {}) };
      if ("type" in a) { a.relation = a.type; delete a.type; }
      a.size = Number.isFinite(Number(a.size)) && Number(a.size) > 0 ? Number(a.size) : 1;
      if (edge.undirected) graph.addUndirectedEdge(source, target, a);
      else graph.addDirectedEdge(source, target, a);
    }
    // Layout comes from the build; a node without a position goes on a circle rather than breaking the render.
    const unplaced = graph.filterNodes((_, a) => !Number.isFinite(a.x) || !Number.isFinite(a.y));
    unplaced.forEach((key, i) => {
      const angle = (2 * Math.PI * i) / unplaced.length;
      graph.mergeNodeAttributes(key, { x: Math.cos(angle), y: Math.sin(angle) });
    });
    return graph;
  }

  /**
   * What the node colours stand for: one item per colour, with the groups coloured so, most nodes
   * first. An entry's group is the top taxonomy node it is coloured by ("" untagged); taxonomy nodes
   * share one colour whatever their taxonomy, and are their own group (null).
   */
  function graphLegend(graph) {
    const groups = new Map(); // color -> Map(group -> count)
    graph.forEachNode((_, a) => {
      if (!a.color) return;
      const group = a.kind === "taxonomy" ? null : String(a.taxonomy ?? a.kind ?? "other");
      if (!groups.has(a.color)) groups.set(a.color, new Map());
      const byGroup = groups.get(a.color);
      byGroup.set(group, (byGroup.get(group) || 0) + 1);
    });
    return [...groups.entries()].map(([color, byGroup]) => {
      const ranked = [...byGroup.entries()].sort((x, y) => y[1] - x[1]);
      return { color, groups: ranked.map(([group]) => group), count: ranked.reduce((s, [, n]) => s + n, 0) };
    }).sort((x, y) => y.count - x.count);
  }

  function legendLabel(raw, taxonomy) {
    if (raw === null) return "Taxonomy node";
    const node = taxonomy?.nodes.get(raw);
    if (node) return `${TAXONOMY_TITLES[node.tax] || node.tax}: ${node.name}`;
    const [tax, ...rest] = raw.split(":");
    if (rest.length && TAXONOMY_TITLES[tax]) return `${TAXONOMY_TITLES[tax]}: ${rest.join(":")}`;
    return TAXONOMY_TITLES[raw] || raw || "Not yet tagged";
  }

  async function mountGraph(container, full) {
    if (!window.graphology || !window.Sigma) throw new Error("the graph libraries did not load");
    const url = dataUrl(container);
    const root = siteRoot(url);
    container.replaceChildren(h("p", { class: "kb-loading", text: "Loading the graph…" }));
    const [data, taxonomyDoc] = await Promise.all([
      fetchJSON(url),
      // Only the legend uses the taxonomy (for node names); a graph without it still draws.
      fetchJSON(new URL("assets/data/taxonomy.json", root)).catch(() => null),
    ]);
    const graph = buildGraph(data);
    const taxonomy = taxonomyDoc ? loadTaxonomy(taxonomyDoc, []) : null;
    if (graph.order === 0) {
      showProblem(container, "This graph has no nodes yet.");
      return;
    }
    const centre = full ? null : decodeURIComponent(url.pathname.split("/").pop().replace(/\.json$/, ""));
    const centreKey = centre === null ? null : graph.findNode((key) => key === centre || key.endsWith(`:${centre}`)) || null;

    const stage = h("div", { class: full ? "kb-graph-stage" : "kb-graph-stage kb-graph-stage-mini" });
    const highlight = { node: null, color: null };
    const zoom = (how) => () => {
      const camera = renderer.getCamera();
      if (how === "in") camera.animatedZoom({ duration: 200 });
      else if (how === "out") camera.animatedUnzoom({ duration: 200 });
      else camera.animatedReset({ duration: 200 });
    };
    const tools = h("div", { class: "kb-graph-tools" },
      h("button", { type: "button", class: "kb-button", "aria-label": "Zoom in", text: "+", onclick: zoom("in") }),
      h("button", { type: "button", class: "kb-button", "aria-label": "Zoom out", text: "−", onclick: zoom("out") }),
      h("button", { type: "button", class: "kb-button", "aria-label": "Reset view", text: "⟲", onclick: zoom("reset") }));
    const info = h("p", { class: "kb-graph-info", "aria-live": "polite" });
    const parts = [tools, stage];
    if (full) {
      const search = graphSearch(graph, (key) => focusNode(key));
      tools.prepend(search);
    }
    // The legend names every colour in words (the colour alone says nothing); a click on an item
    // highlights its nodes. Two groups that share a colour are both named.
    const legend = h("ul", { class: full ? "kb-legend" : "kb-legend kb-legend-mini", "aria-label": "What the node colours stand for" });
    const legendButtons = [];
    for (const { color, groups, count } of graphLegend(graph).slice(0, 16)) {
      const swatch = h("span", { class: "kb-swatch", "aria-hidden": "true" });
      swatch.style.background = color;
      const names = groups.map((group) => legendLabel(group, taxonomy)).join(" / ");
      const button = h("button", { type: "button", class: "kb-legend-item", title: "Highlight these nodes", "aria-pressed": "false", onclick: () => {
        highlight.color = highlight.color === color ? null : color;
        highlight.node = null;
        for (const b of legendButtons) b.setAttribute("aria-pressed", String(b === button && highlight.color !== null));
        renderer.refresh({ skipIndexation: true });
      } }, swatch, ` ${names} (${count})`);
      legendButtons.push(button);
      legend.append(h("li", {}, button));
    }
    parts.push(legend);
    parts.push(info);
    container.replaceChildren(...parts);
    const about = `${graph.order} nodes, ${graph.size} edges. ${full ? "Hover a node to see its neighbours; click it to open its page." : "Hover a node to see its name and links; click it to open its page."}`;
    info.textContent = about;

    let labels = null; // the label layout, made once the renderer is
    const renderer = new window.Sigma(graph, stage, {
      allowInvalidContainer: true, // a mini graph inside a closed <details> has no height yet
      // Which labels are candidates: on the full graph sigma's grid keeps a few per cell, of nodes big
      // enough on screen; a mini graph offers them all. labelLayout then places them without overlap.
      labelRenderedSizeThreshold: full ? 6 : 0,
      labelDensity: full ? 1 : 100,
      labelFont: "system-ui, sans-serif",
      labelColor: { color: palette.fg },
      defaultEdgeColor: palette.edge,
      defaultDrawNodeLabel: (context, data) => labels?.collect(context, data),
      defaultDrawNodeHover: (context, data, settings) => drawHover(context, data, settings, labels ? labels.sideAlone(context, data, settings) : "right"),
      hideEdgesOnMove: graph.size > 20000,
      zIndex: true,
      nodeReducer: (key, attrs) => {
        const out = { ...attrs };
        if (key === centreKey) { out.size = attrs.size * 1.6; out.forceLabel = true; out.zIndex = 2; }
        const focus = highlight.node;
        if (focus !== null) {
          if (key === focus) { out.highlighted = true; out.forceLabel = true; out.zIndex = 3; }
          else if (graph.areNeighbors(key, focus)) { out.forceLabel = !full || graph.degree(focus) < 30; out.zIndex = 1; }
          else { out.color = palette.dim; out.label = ""; out.zIndex = 0; }
        } else if (highlight.color !== null && attrs.color !== highlight.color) {
          out.color = palette.dim; out.label = "";
        }
        return out;
      },
      edgeReducer: (key, attrs) => {
        const focus = highlight.node;
        if (focus !== null && !graph.hasExtremity(key, focus)) return { ...attrs, hidden: true };
        if (highlight.color !== null) return { ...attrs, hidden: true };
        if (palette.dark && PALE_RELATIONS.has(attrs.relation)) return { ...attrs, color: palette.edge };
        return attrs;
      },
    });
    liveRenderers.add(renderer);
    container.kbSigma = renderer; // for the browser tests and the curious reader's console
    labels = labelLayout(
      renderer,
      (key) => (key === highlight.node ? 0 : key === centreKey ? 1 : highlight.node !== null && graph.areNeighbors(key, highlight.node) ? 2 : 3),
      () => {
        const at = centreKey === null ? null : renderer.getNodeDisplayData(centreKey);
        return at ? renderer.framedGraphToViewport(at).x : null;
      },
      { avoidNodes: !full, shorten: !full },
    );

    function focusNode(key) {
      highlight.node = key;
      highlight.color = null;
      for (const b of legendButtons) b.setAttribute("aria-pressed", "false");
      const position = renderer.getNodeDisplayData(key);
      if (position) renderer.getCamera().animate({ x: position.x, y: position.y, ratio: 0.25 }, { duration: 400 });
      const a = graph.getNodeAttributes(key);
      info.replaceChildren(`${a.label} (${graph.degree(key)} links) `);
      const link = pageUrl(root, a.url);
      if (link) info.append(h("a", { href: link.href, text: "open its page" }));
      renderer.refresh({ skipIndexation: true });
    }

    // The hovered node's whole label, which the canvas may have shortened: in the stage's tooltip (an
    // attribute, so the text stays text) and, under a mini graph, in the line that screen readers follow.
    renderer.on("enterNode", ({ node }) => {
      highlight.node = node;
      const label = String(graph.getNodeAttribute(node, "label") ?? node);
      stage.title = label;
      if (!full) info.textContent = `${label} (${graph.degree(node)} links)`;
      stage.style.cursor = graph.getNodeAttribute(node, "url") ? "pointer" : "default";
      renderer.refresh({ skipIndexation: true });
    });
    renderer.on("leaveNode", () => {
      highlight.node = null;
      stage.removeAttribute("title");
      if (!full) info.textContent = about;
      stage.style.cursor = "";
      renderer.refresh({ skipIndexation: true });
    });
    renderer.on("clickNode", ({ node }) => {
      const link = pageUrl(root, graph.getNodeAttribute(node, "url"));
      if (link) window.location.assign(link.href);
    });
    renderer.once("afterRender", () => {
      container.dataset.kbNodes = String(graph.order);
      container.dataset.kbEdges = String(graph.size);
      container.dataset.kbReady = "true";
    });
    renderer.refresh();
  }

  /** A search box over node labels and entry titles; choosing a match calls onPick(nodeKey). The
   * arrow keys move from the box through the matches; a label two nodes share says their kinds. */
  function graphSearch(graph, onPick) {
    const nodes = [];
    const seen = new Map();
    graph.forEachNode((key, a) => {
      const label = String(a.label ?? key);
      seen.set(label, (seen.get(label) || 0) + 1);
      nodes.push({ key, label, kind: String(a.kind ?? ""), name: foldText(label), text: foldText(`${label} ${a.title ?? ""}`) });
    });
    const shown = (n) => (seen.get(n.label) > 1 && n.kind ? `${n.label} (${n.kind})` : n.label);
    const input = h("input", { type: "search", class: "kb-input kb-graph-search", placeholder: "Find a node…", "aria-label": "Find a node in the graph by name or title", autocomplete: "off" });
    const list = h("ul", { class: "kb-graph-results", "aria-label": "Matching nodes" });
    let hits = [];
    const pick = (key) => {
      input.value = graph.getNodeAttribute(key, "label");
      list.replaceChildren();
      onPick(key);
    };
    const buttons = () => [...list.querySelectorAll("button")];
    input.addEventListener("input", debounce(() => {
      const q = foldText(input.value.trim());
      // Names that hold the words first (earliest, then shortest), then titles that do.
      const rank = (n) => (n.name.includes(q) ? n.name.indexOf(q) : 1000 + n.text.indexOf(q));
      hits = q ? nodes.filter((n) => n.text.includes(q)).sort((a, b) => rank(a) - rank(b) || a.name.length - b.name.length).slice(0, 10) : [];
      list.replaceChildren(...hits.map((n) => h("li", {}, h("button", { type: "button", class: "kb-graph-hit", text: shown(n), onclick: () => pick(n.key) }))));
    }, 100));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && hits.length) { event.preventDefault(); pick(hits[0].key); }
      if (event.key === "ArrowDown" && hits.length) { event.preventDefault(); buttons()[0]?.focus(); }
      if (event.key === "Escape") list.replaceChildren();
    });
    list.addEventListener("keydown", (event) => {
      const all = buttons();
      const at = all.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at < all.length - 1) { event.preventDefault(); all[at + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? all[at - 1] : input).focus(); }
      if (event.key === "Escape") { list.replaceChildren(); input.focus(); }
    });
    return h("span", { class: "kb-graph-find" }, input, list);
  }

  // ---------------------------------------------------------------- mounting

  function mount(container, fn, ...args) {
    if (container.dataset.kbMounted) return;
    container.dataset.kbMounted = "true";
    fn(container, ...args).catch((error) =>
      showProblem(
        container,
        location.protocol === "file:"
          ? "Could not show this: a page opened from a file cannot read the site's data. Serve the site (kb serve) and open it over http."
          : `Could not show this: ${error.message}`,
      ),
    );
  }

  function mountAll() {
    // With instant navigation the old page's graphs leave the document; free their WebGL contexts.
    for (const renderer of liveRenderers) {
      if (!document.body.contains(renderer.getContainer())) {
        renderer.kill();
        liveRenderers.delete(renderer);
      }
    }
    for (const c of document.querySelectorAll("div.kb-all-entries[data-src]")) mount(c, mountTable);
    for (const c of document.querySelectorAll("div.kb-global-graph[data-src]")) mount(c, mountGraph, true);
    for (const c of document.querySelectorAll("div.kb-mini-graph[data-src]")) mount(c, mountGraph, false);
  }

  // mkdocs-material announces every page (also after instant navigation) on document$.
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(mountAll);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();

/* A title pasted whole into the header search (mkdocs-material's lunr search) finds its entry first,
   and so does an entry's name ("LLaVA").

   Loaded before material's bundle (overrides/main.html), so that it wraps the Worker constructor
   before material starts its search worker; other workers are left alone. Three things it mends:

   1. A word that ends with a colon: material reads "word:" as lunr's field syntax ("title:llava").
      It drops such a word ("ChartLlama:" is not searched for), and where the word holds a separator
      ("3D-LLM:", "Video-LLaMA:") lunr is handed a field it does not know and fails the whole query:
      "No matching documents" for a quarter of the titles. A colon followed by a space or by nothing
      never starts a usable field search, so it becomes a space in the query sent to the worker
      ("title:llava" is left as it is); the search box keeps what was typed.
   2. lunr as material sets it up does not weigh a title's length, so a title that is only the words
      searched for scores no higher than a longer one that contains them, and lower than one that
      repeats them: "Visual Instruction Tuning" (LLaVA) came 16th. The results (one group per page,
      ranked by the worker) are reordered so that pages whose title is the query, letter for letter
      once case and punctuation are set aside, come first; then entry pages whose name is the query
      ("GPT-4" came 24th, after pages that mention it often); the others keep their order. An entry
      page's result reads as its browser tab does (kb/site/model.py page_title): "LLaVA: Visual
      Instruction Tuning (model)", since a model and the dataset of its paper share the paper's title;
      the query is its title when it is that paper's title, or all of it.
   3. Apostrophes: the lists write "LLaVA’s" with a typographic one, keyboards type a straight one,
      and lunr matched neither spelling to the other ("Qorvath's" found nothing). A query's
      possessive "'s" or "’s" is dropped before it reaches the worker ("Qorvath" finds "Qorvath’s"),
      and dropped too where titles, names and aliases are compared with the query. */
(() => {
  "use strict";

  const Native = window.Worker;
  if (typeof Native !== "function") return;
  const SEARCH_WORKER = /\/workers\/search\.[^/]*\.js$/;
  // Material's worker messages are {type, data}: the setup carries an object (config, docs), a query
  // its text, the results {items: [...]}. They are told apart by that shape, not by their type
  // numbers (2 for a query and 3 for results in material 9), which a release may renumber.
  const isQuery = (message) => Boolean(message) && typeof message.data === "string";
  const isResult = (message) => Boolean(message && message.data) && Array.isArray(message.data.items);

  // lunr's field syntax, as material indexes its pages: "title:llava", "tags:…", "text:…". Any other
  // colon cannot start a usable field search and becomes a space ("3D-LLM:Injecting", "a:b:c").
  const FIELD = /^[+-]?(title|text|tags)$/i;
  const fieldless = (query) => query.replace(/([^\s:]*):(?!\s|$)|:(?=\s|$)/g, (colon, before) =>
    before !== undefined && FIELD.test(before) ? colon : `${before ?? ""} `);
  const POSSESSIVE = /(?<=[\p{L}\p{N}])['’]s(?![\p{L}\p{N}])/gu;
  const possessiveless = (query) => query.replace(POSSESSIVE, "");
  const words = (text) => possessiveless(text.toLowerCase()).split(/[^\p{L}\p{N}]+/u).filter(Boolean).join(" ");
  // A result's title is HTML with the matches marked: its text, read in a template, whose content is
  // inert (nothing in it runs or loads).
  const scratch = document.createElement("template");
  const textOf = (html) => {
    scratch.innerHTML = html;
    return scratch.content.textContent || "";
  };

  // An entry page's title: the paper's, after the entry's name where the paper's lacks it and before
  // its kind where another entry has the same title. Its name, where it has one, is its first tag. The
  // paper's own title may start with the name ("MME: A Comprehensive ..."): it is one of the three.
  const KIND = / \((?:model|method|analysis|survey|dataset|benchmark)\)$/;
  const titlesOf = (page) => {
    const full = textOf(String(page.title));
    if (!String(page.location).startsWith("entries/")) return [full];
    const name = Array.isArray(page.tags) && page.tags.length ? `${textOf(String(page.tags[0]))}: ` : null;
    const paper = full.replace(KIND, "");
    return name && paper.startsWith(name) ? [full, paper, paper.slice(name.length)] : [full, paper];
  };

  /** Pages whose title is the query first, then entry pages whose name is, then those with it as an
      alias, then the rest, each in the worker's order. An entry page's tags are its name and aliases
      (kb/site/pages.py), then its taxonomy nodes' names: so names count only when the query is not a
      node's (whose page would be among the first). */
  function exactTitlesFirst(query, result) {
    const wanted = words(query);
    if (!wanted || !result || !Array.isArray(result.items)) return;
    const pageOf = (group) => group.find((doc) => !String(doc.location).includes("#")) || group[0];
    const titled = (page) => Boolean(page) && titlesOf(page).some((title) => words(title) === wanted);
    // The position of the first of a page's tags that is the query: 0 its name, then its aliases (and,
    // for a query that is a node's name, that node: nodeQuery below sets those aside); -1 for none.
    const named = (page) => (Boolean(page) && String(page.location).startsWith("entries/") && Array.isArray(page.tags)
      ? page.tags.findIndex((tag) => words(textOf(String(tag))) === wanted) : -1);
    const nodeQuery = result.items.some((group) => String(pageOf(group)?.location).startsWith("taxonomy/") && titled(pageOf(group)));
    const tier = (group) => {
      if (titled(pageOf(group))) return 0;
      const at = nodeQuery ? -1 : named(pageOf(group));
      return at === 0 ? 1 : at > 0 ? 2 : 3; // its name, else one of its aliases
    };
    const tiers = new Map(result.items.map((group) => [group, tier(group)]));
    result.items = [...result.items].sort((a, b) => tiers.get(a) - tiers.get(b)); // stable: ties keep their order
  }

  window.Worker = class extends Native {
    constructor(url, options) {
      super(url, options);
      if (!SEARCH_WORKER.test(new URL(String(url), location.href).pathname)) return;
      const sent = []; // the worker answers each query once, in order
      const post = Native.prototype.postMessage;
      this.postMessage = (message, ...rest) => {
        if (isQuery(message)) {
          message = { ...message, data: possessiveless(fieldless(message.data)) };
          sent.push(message.data);
        }
        return post.call(this, message, ...rest);
      };
      // Added before material adds its own listener, so this one sees the results first.
      this.addEventListener("message", ({ data }) => {
        if (isResult(data) && sent.length) exactTitlesFirst(sent.shift(), data.data);
      });
    }
  };
})();

"""Tag suggestions: rank every leaf of a taxonomy for a text or an entry, with readable scores.

``kb.classify.model`` holds the classifier (numpy and scikit-learn on vectors), over a taxonomy
as ``kb.classify.space`` describes it and curated examples as ``kb.classify.labels`` keeps them
(near-duplicate groups, folds); ``kb.classify.evaluate`` is kb eval. This module gathers what
it needs from the knowledge base (cached vectors of entries, taxonomy nodes and keywords; the
curated labels) and offers the functions other stages call:

- ``suggest_for_text(kb, config, taxonomy, text)``: every leaf, best first (kb new, kb suggest);
- ``suggest_for_entry(kb, config, taxonomy, entry_id)``: the same for an entry, learning from
  every curated label but the entry's own (and its near-duplicates');
- ``update_suggestions(kb, config)``: entries/suggestions.json for entries without curated tags;
- ``suggestion_evidence(kb, config)``: why each suggestion the site shows was made.

The model loads only when a text has no cached vector; comparing cached vectors needs numpy alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kb.classify.labels import DUPLICATE_COSINE, Labelled, duplicate_groups, title_key
from kb.classify.model import WORK, Classifier, Evidence, ZeroShot, evidence, rank, train_classifier
from kb.classify.space import Space, keyword_texts, make_space
from kb.embed import (
    Embedder,
    Vectors,
    embed_cached,
    embed_kb,
    embed_nodes,
    embedder_for,
    entry_text,
    normalise,
    open_store,
)
from kb.errors import UsageError
from kb.output.status import say
from kb.schema import EntrySuggestions, Suggestion, SuggestionsFile
from kb.tags import topic_tags
from kb.taxonomy import TOPIC_TAXONOMIES

if TYPE_CHECKING:
    from kb.config import Config
    from kb.store import KB

__all__ = [
    "Evidence",
    "Suggester",
    "suggest_for_entry",
    "suggest_for_text",
    "suggestion_evidence",
    "prepare_suggestions",
    "update_suggestions",
]

RECIPE = 7  # version of the classifier and its texts, written into suggestions.json
KEPT = 5  # suggestions kept per taxonomy in suggestions.json
KEYWORD_NAMESPACE = "keywords"
TITLE_NAMESPACE = "titles"


@dataclass
class Suggester:
    """Everything suggestions are computed from, gathered once: vectors and trained classifiers."""

    kb: KB
    config: Config
    embedder: Embedder
    vectors: Vectors  # every entry, from the cache (encoding only what is missing)
    nodes: Vectors  # taxonomy nodes by qualified id
    keywords: dict[str, np.ndarray]
    _trained: dict[tuple[str, frozenset[str]], Classifier | ZeroShot] = field(default_factory=dict)
    _titles: np.ndarray | None = None

    @classmethod
    def build(
        cls, kb: KB, config: Config, *, vectors: Vectors | None = None, embedder: Embedder | None = None
    ) -> Suggester:
        embedder = embedder or embedder_for(config)
        if vectors is None:
            vectors = embed_kb(kb, config, progress=False, embedder=embedder)
        nodes = embed_nodes(kb, config, TOPIC_TAXONOMIES, embedder=embedder)
        texts = sorted({k for t in TOPIC_TAXONOMIES for k in keyword_texts(kb.taxonomies[t])})
        store = open_store(kb.root, config, embedder.model_id, KEYWORD_NAMESPACE)
        matrix, _ = embed_cached(texts, store, embedder, f"keyword/{RECIPE}", prune=True)
        vectors.same_width(nodes)
        vectors.same_width(matrix)
        return cls(kb, config, embedder, vectors, nodes, dict(zip(texts, matrix, strict=True)))

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """The model's vectors of texts that are not entries (titles asked about), not cached."""
        return self.vectors.same_width(normalise(self.embedder.embed(list(texts), progress=progress)))

    def space(self, taxonomy: str) -> Space:
        tax = self.kb.taxonomies[taxonomy]
        by_node = {n.id: self.nodes.vector(n.qualified_id) for n in tax.walk()}
        return make_space(tax, by_node, self.keywords)

    def labelled(self, taxonomy: str, without: frozenset[str] = frozenset()) -> tuple[Labelled, list[str]]:
        """The curated examples of a taxonomy (minus ``without``) and their texts."""
        leaves = {leaf.id: col for col, leaf in enumerate(self.kb.taxonomies[taxonomy].leaves())}
        ids = [i for i in labelled_ids(self.kb, taxonomy, self.vectors.ids) if i not in without]
        labels = np.zeros((len(ids), len(leaves)))
        for row, entry_id in enumerate(ids):
            for tag in topic_tags(self.kb.entries[entry_id], taxonomy):
                if tag in leaves:
                    labels[row, leaves[tag]] = 1.0
        vectors = self.vectors.subset(ids).matrix
        entries = [self.kb.entries[i] for i in ids]
        groups = duplicate_groups(vectors, [e.arxiv for e in entries], [title_key(e.title) for e in entries])
        texts = [entry_text(self.kb.entries[i]) for i in ids]
        kinds = np.array([e.kind.value for e in entries], dtype=object)
        return Labelled(ids, vectors, labels, groups, kinds), texts

    def title_vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Vectors of the entries' bare titles (cached apart from the entries' own texts): what
        the stacker learns from, and what kb eval asks with."""
        if self._titles is None:  # every entry's at once, so the cache keeps exactly these
            store = open_store(self.kb.root, self.config, self.embedder.model_id, TITLE_NAMESPACE)
            titles = [self.kb.entries[i].title for i in self.vectors.ids]
            titles_matrix, _ = embed_cached(titles, store, self.embedder, "title/1", prune=True)
            self._titles = self.vectors.same_width(titles_matrix)
        return self._titles[[self.vectors.index[i] for i in ids]]

    def classifier(self, taxonomy: str, without: frozenset[str] = frozenset()) -> Classifier | ZeroShot:
        """The classifier learned from every curated label except those of ``without``."""
        key = (taxonomy, without)
        if key not in self._trained:
            train, texts = self.labelled(taxonomy, without)
            titles = (self.title_vectors(train.ids), [self.kb.entries[i].title for i in train.ids])
            try:
                self._trained[key] = train_classifier(self.space(taxonomy), train, texts, titles)
            except ValueError:  # too few labels (a new or small knowledge base): descriptions only
                self._trained[key] = ZeroShot(self.space(taxonomy), train)
        return self._trained[key]

    def zero_shot(self, taxonomy: str, entry_id: str | None = None) -> bool:
        """Whether the suggestions of a taxonomy (for ``entry_id``: learned without its own labels)
        come from the zero-shot fallback, for want of labels to learn from (curated entries of at
        least two leaves): then the scores are shares of one across the leaves, even for a
        multi-label taxonomy, not each leaf's own probability."""
        clf = self.classifier(taxonomy) if entry_id is None else self.entry_classifier(taxonomy, entry_id)
        return isinstance(clf, ZeroShot)

    def same_paper(self, entry_id: str) -> frozenset[str]:
        """The entry and its near-duplicates (same title or arXiv id, or cosine > 0.9): none may
        teach it its labels."""
        entry = self.kb.entries[entry_id]
        close = self.vectors.similarities(self.vectors.vector(entry_id)) > DUPLICATE_COSINE
        twins = {i for i, near in zip(self.vectors.ids, close, strict=True) if near}
        twins |= {i for i, e in self.kb.entries.items() if title_key(e.title) == title_key(entry.title)}
        if entry.arxiv:
            twins |= {i for i, e in self.kb.entries.items() if e.arxiv == entry.arxiv}
        return frozenset(twins | {entry_id})

    def for_texts(
        self,
        taxonomy: str,
        texts: Sequence[str],
        vectors: np.ndarray | None = None,
        kinds: Sequence[str] | None = None,
        *,
        progress: bool = False,
    ) -> list[list[Suggestion]]:
        """Every leaf for each text, best first (the texts are embedded unless ``vectors`` given,
        with a progress bar if ``progress``).

        ``kinds`` says what each text is: an entry kind ("benchmark", ...) or WORK, some work (a
        model, method, analysis or survey), as a paper's title in kb suggest is by default."""
        if not texts:
            return []
        if vectors is None:
            vectors = self.encode(texts, progress=progress)
        kinds = [WORK] * len(texts) if kinds is None else list(kinds)
        clf = self.classifier(taxonomy)
        return [_suggestions(row, clf) for row in clf.scores(vectors, texts, kinds)]

    def for_entry(self, taxonomy: str, entry_id: str) -> list[Suggestion]:
        """Every leaf for an entry, learned without the entry's own labels."""
        clf = self.entry_classifier(taxonomy, entry_id)
        entry = self.kb.entries[entry_id]
        scores = clf.scores(self.vectors.vector(entry_id)[None, :], [entry_text(entry)], [entry.kind.value])
        return _suggestions(scores[0], clf)

    def entry_classifier(self, taxonomy: str, entry_id: str) -> Classifier | ZeroShot:
        """The classifier that suggests for an entry: learned without the entry's own labels."""
        curated_here = topic_tags(self.kb.entries[entry_id], taxonomy)
        return self.classifier(taxonomy, self.same_paper(entry_id) if curated_here else frozenset())

    def evidence(
        self,
        taxonomy: str,
        tags: Sequence[str],
        *,
        entry_id: str | None = None,
        text: str = "",
        vector: np.ndarray | None = None,
    ) -> dict[str, Evidence]:
        """Why each of ``tags`` may fit an entry (learned without its labels, as for_entry) or a text
        (embedded unless its ``vector`` is given)."""
        if entry_id is not None:
            clf = self.entry_classifier(taxonomy, entry_id)
            vector, text = self.vectors.vector(entry_id), entry_text(self.kb.entries[entry_id])
        else:
            clf = self.classifier(taxonomy)
            vector = self.encode([text])[0] if vector is None else vector
        return {tag: evidence(clf.space, clf.train, vector, text, tag) for tag in tags}


def _suggestions(scores: np.ndarray, clf: Classifier | ZeroShot) -> list[Suggestion]:
    return [Suggestion(tag=tag, score=round(score, 4)) for tag, score in rank(scores, clf.space.leaves)]


def check_taxonomy(taxonomy: str) -> None:
    if taxonomy not in TOPIC_TAXONOMIES:
        raise UsageError(f"no suggestions for taxonomy {taxonomy!r}; choose one of {', '.join(TOPIC_TAXONOMIES)}")


def suggest_for_text(
    kb: KB,
    config: Config,
    taxonomy: str,
    text: str,
    *,
    kind: str = WORK,
    embedder: Embedder | None = None,
) -> list[Suggestion]:
    """Every leaf of ``taxonomy`` for a text (a title, perhaps with its abstract), best first;
    ``kind`` is what the text is: an entry kind, or WORK for some work."""
    check_taxonomy(taxonomy)
    return _suggester(kb, config, embedder).for_texts(taxonomy, [text], kinds=[kind])[0]


def suggest_for_entry(
    kb: KB, config: Config, taxonomy: str, entry_id: str, *, embedder: Embedder | None = None
) -> list[Suggestion]:
    check_taxonomy(taxonomy)
    return _suggester(kb, config, embedder).for_entry(taxonomy, entry_id)


_SUGGESTERS: dict[tuple[int, str], Suggester] = {}


def labelled_ids(kb: KB, taxonomy: str, ids: Iterable[str]) -> list[str]:
    """Of ``ids``, the entries a taxonomy learns from: those with a curated tag that is one of its
    leaves (tags that are not leaves are kb check's business; an entry with none left teaches nothing)."""
    leaves = {leaf.id for leaf in kb.taxonomies[taxonomy].leaves()}
    return [i for i in ids if any(t in leaves for t in topic_tags(kb.entries[i], taxonomy))]


def _suggester(kb: KB, config: Config, embedder: Embedder | None, vectors: Vectors | None = None) -> Suggester:
    """One Suggester per knowledge base and model in a process, so its classifiers are trained once
    (kb new asks once per taxonomy; kb build writes the suggestions, then gathers their evidence)."""
    embedder = embedder or embedder_for(config)
    key = (id(kb), embedder.model_id)
    found = _SUGGESTERS.get(key)
    if found is None or found.kb is not kb:
        found = _SUGGESTERS[key] = Suggester.build(kb, config, vectors=vectors, embedder=embedder)
    return found


# ---------------------------------------------------------------------------------------------
# entries/suggestions.json


def suggestions_file(suggester: Suggester) -> SuggestionsFile:
    """Suggestions (best KEPT per taxonomy) for every entry without curated tags in a taxonomy."""
    kb = suggester.kb
    found: dict[str, dict[str, list[Suggestion]]] = {}
    zero_shot = []
    for taxonomy in TOPIC_TAXONOMIES:
        ids = [i for i in suggester.vectors.ids if not topic_tags(kb.entries[i], taxonomy)]
        texts = [entry_text(kb.entries[i]) for i in ids]
        kinds = [kb.entries[i].kind.value for i in ids]
        ranked = suggester.for_texts(taxonomy, texts, suggester.vectors.subset(ids).matrix, kinds) if ids else []
        for entry_id, suggestions in zip(ids, ranked, strict=True):
            found.setdefault(entry_id, {})[taxonomy] = suggestions[:KEPT]
        # Each entry here lacks curated tags in the taxonomy, so all learned from every label alike.
        if ids and suggester.zero_shot(taxonomy):
            zero_shot.append(taxonomy)
    entries = {i: EntrySuggestions(**found[i]) for i in sorted(found)}
    return SuggestionsFile(model=suggester.embedder.model_id, recipe=RECIPE, zero_shot=zero_shot, entries=entries)


def render_suggestions_file(data: SuggestionsFile) -> str:
    """The file's text: keys sorted, one line per entry (a change shows as that line in a diff);
    the same data always gives the same bytes."""
    dumped = data.model_dump(mode="json")
    if not dumped["zero_shot"]:  # a knowledge base that learns writes the file as it did before the field
        del dumped["zero_shot"]
    lines = [
        json.dumps(k, ensure_ascii=False) + ": " + json.dumps(v, sort_keys=True, ensure_ascii=False)
        for k, v in sorted(dumped.pop("entries").items())
    ]
    head = "".join(f" {json.dumps(k)}: {json.dumps(dumped[k], ensure_ascii=False)},\n" for k in sorted(dumped))
    body = ",\n".join(f"  {line}" for line in lines)
    return "{\n" + head + ' "entries": {\n' + body + ("\n" if lines else "") + " }\n}\n"


SCORE_NOISE = 1e-3  # scores this close are one score (see same_suggestions)


def same_suggestions(text: str, data: SuggestionsFile) -> bool:
    """Whether the file's text already says what ``data`` says: the same model, recipe, zero-shot
    taxonomies, entries and ranked tags, each score within SCORE_NOISE. Vectors of one text differ
    in their last bits with the batch it was encoded in (and between CPU and GPU), which can move a
    rounded score by one in its last digit; such noise must not rewrite a committed file on every
    fresh build."""
    try:
        old = SuggestionsFile.model_validate_json(text)
    except ValueError:
        return False
    if (old.model, old.recipe, old.zero_shot) != (data.model, data.recipe, data.zero_shot):
        return False
    if list(old.entries) != list(data.entries):
        return False
    for entry_id, new in data.entries.items():
        for taxonomy in TOPIC_TAXONOMIES:
            before, after = getattr(old.entries[entry_id], taxonomy), getattr(new, taxonomy)
            if [s.tag for s in before] != [s.tag for s in after]:
                return False
            if any(abs(a.score - b.score) > SCORE_NOISE for a, b in zip(before, after, strict=True)):
                return False
    return True


def prepare_suggestions(
    kb: KB, config: Config, vectors: Vectors | None = None, *, embedder: Embedder | None = None
) -> None:
    """Encode (or read from the cache) what the classifiers learn from besides the entries: the
    taxonomy nodes, their keywords and the entries' bare titles. On a cold cache this is most of
    the suggest stage's time, so kb build says it apart from the training."""
    _suggester(kb, config, embedder, vectors).title_vectors([])


def update_suggestions(
    kb: KB, config: Config, vectors: Vectors | None = None, *, embedder: Embedder | None = None
) -> bool:
    """Write entries/suggestions.json (atomically) for every entry lacking curated codev or yin
    tags, unless it already says the same (``same_suggestions``); return whether it was written."""
    from kb.classify.interface import zero_shot_note
    from kb.store import SUGGESTIONS_FILE, write_text_atomic

    suggester = _suggester(kb, config, embedder, vectors)
    data = suggestions_file(suggester)
    for taxonomy in data.zero_shot:  # the file says it too, and the pages show them as zero-shot
        say(zero_shot_note(taxonomy))
    path = kb.root / SUGGESTIONS_FILE
    # A file that is not UTF-8 (kb check says so) is not the same: it is written again.
    if path.is_file() and same_suggestions(path.read_bytes().decode("utf-8", "replace"), data):
        return False
    write_text_atomic(path, render_suggestions_file(data))
    kb.forget_suggestions()  # the next reader reads the new file
    return True


def suggestion_evidence(
    kb: KB, config: Config, vectors: Vectors | None = None, *, embedder: Embedder | None = None
) -> dict[str, dict[str, dict[str, Evidence]]]:
    """Why each stored suggestion that pages show (``kb.tags.suggested_tags``) was made, by entry,
    taxonomy and tag; from the same vectors and labels as the suggestions themselves."""
    from kb.tags import suggested_tags

    suggester = _suggester(kb, config, embedder, vectors)
    found: dict[str, dict[str, dict[str, Evidence]]] = {}
    for entry_id in kb.suggestions:
        if entry_id not in kb.entries:
            continue
        shown = {t: [tag for tag, _ in ranked] for t, ranked in suggested_tags(kb, entry_id).items() if ranked}
        found[entry_id] = {t: suggester.evidence(t, tags, entry_id=entry_id) for t, tags in shown.items()}
    return found

"""The three survey taxonomies, loaded from entries/taxonomies/*.yaml.

Node ids are the canonical ids of ../shared/seed/taxonomies.yaml. Ids are unique within a
taxonomy; across taxonomies a node can be named unambiguously as ``TAXONOMY:ID``
(e.g. ``yin:evaluation``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.schema import on_one_line

TAXONOMY_IDS = ("codev", "yin", "mmllms")
TOPIC_TAXONOMIES = ("codev", "yin")  # taxonomies of topic leaves (mmllms holds design facets, not topics)


class NodeSpec(BaseModel):
    """A node as written in the taxonomy file."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    name: str
    description: str = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    # Words that in a paper's title point to this node: matched like keywords, but neither embedded
    # nor shown (a long list of title words would drown the node's meaning in its vector).
    cues: list[str] = Field(default_factory=list)
    children: list[NodeSpec] = Field(default_factory=list)

    _one_line = field_validator("id", "name", "keywords", "cues")(on_one_line)


class TaxonomySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    title: str
    source: str
    multi_label: bool
    nodes: list[NodeSpec]

    _one_line = field_validator("id", "title", "source")(on_one_line)


class TaxonomyFileError(ValueError):
    """A taxonomy file that fits the schema yet cannot be used; ``loc`` is the place in the file."""

    def __init__(self, message: str, loc: tuple[str | int, ...]):
        super().__init__(message)
        self.loc = loc


class DuplicateNodeError(TaxonomyFileError):
    """A node id given twice in one taxonomy; ``loc`` and ``first`` are the two ids' places in the file."""

    def __init__(self, taxonomy: str, node_id: str, loc: tuple[str | int, ...], first: tuple[str | int, ...]):
        super().__init__(f"taxonomy {taxonomy}: node id {node_id!r} appears twice", loc)
        self.node_id, self.first = node_id, first


@dataclass
class Node:
    id: str
    name: str
    description: str
    keywords: list[str]
    taxonomy: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    depth: int = 0  # 0 for top-level nodes
    cues: list[str] = field(default_factory=list)  # more title words, matched only

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def qualified_id(self) -> str:
        return f"{self.taxonomy}:{self.id}"


@dataclass
class Taxonomy:
    id: str
    title: str
    source: str
    multi_label: bool
    roots: list[str]
    nodes: dict[str, Node]  # in tree (pre-)order

    @classmethod
    def from_spec(cls, spec: TaxonomySpec, file_id: str | None = None) -> Taxonomy:
        """The taxonomy ``spec`` describes; ``file_id``, when given, is the name of the file it was read
        from, which its id must be."""
        if file_id is not None and spec.id != file_id:
            raise TaxonomyFileError(
                f"{spec.id!r} differs from the file name {file_id}.yaml; the id must be {file_id!r}", ("id",)
            )
        nodes: dict[str, Node] = {}
        where: dict[str, tuple[str | int, ...]] = {}  # a node's place in the file, for errors

        def add(n: NodeSpec, parent: str | None, depth: int, loc: tuple[str | int, ...]) -> None:
            if n.id in nodes:
                raise DuplicateNodeError(spec.id, n.id, (*loc, "id"), (*where[n.id], "id"))
            where[n.id] = loc
            children = [c.id for c in n.children]
            nodes[n.id] = Node(n.id, n.name, n.description, n.keywords, spec.id, parent, children, depth, n.cues)
            for i, child in enumerate(n.children):
                add(child, n.id, depth + 1, (*loc, "children", i))

        for i, root in enumerate(spec.nodes):
            add(root, None, 0, ("nodes", i))
        return cls(spec.id, spec.title, spec.source, spec.multi_label, [n.id for n in spec.nodes], nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def leaves(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.is_leaf]

    def ancestors(self, node_id: str) -> list[Node]:
        """Parents of a node, nearest first."""
        out = []
        parent = self.nodes[node_id].parent
        while parent is not None:
            out.append(self.nodes[parent])
            parent = self.nodes[parent].parent
        return out

    def subtree(self, node_id: str) -> list[Node]:
        """The node and all its descendants, in tree order."""
        out = [self.nodes[node_id]]
        for child in self.nodes[node_id].children:
            out.extend(self.subtree(child))
        return out

    def path(self, node_id: str) -> list[Node]:
        """Root-to-node path."""
        return list(reversed(self.ancestors(node_id))) + [self.nodes[node_id]]

    def walk(self) -> Iterator[Node]:
        yield from self.nodes.values()

    def suggest_id(self, wrong: str) -> str | None:
        """The closest existing node id to a misspelled one, for "did you mean"."""
        match = difflib.get_close_matches(wrong, list(self.nodes), n=1, cutoff=0.6)
        return match[0] if match else None


@dataclass
class Taxonomies:
    by_id: dict[str, Taxonomy]
    # A digest of the files they were read from (see ``files_digest``); empty when not read from
    # files, and then nothing that is remembered by it (kb check's notes) is remembered.
    digest: str = ""

    def __getitem__(self, taxonomy_id: str) -> Taxonomy:
        return self.by_id[taxonomy_id]

    def __iter__(self) -> Iterator[Taxonomy]:
        return iter(self.by_id.values())

    def resolve(self, ref: str) -> Node:
        """Find a node by ``TAXONOMY:ID`` or a bare ID; raise LookupError with a hint if unknown."""
        if ":" in ref:
            tax_id, node_id = ref.split(":", 1)
            if tax_id in self.by_id and node_id in self.by_id[tax_id]:
                return self.by_id[tax_id][node_id]
        else:
            found = [t[ref] for t in self if ref in t]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                options = ", ".join(n.qualified_id for n in found)
                raise LookupError(f"taxonomy node {ref!r} is ambiguous; name one of {options}")
        raise LookupError(f"unknown taxonomy node {ref!r}{self._hint(ref)}")

    def _hint(self, ref: str) -> str:
        """What was likely meant: a taxonomy's top nodes for its bare id ("codev"), the nodes whose
        last part or name it is ("acquisition"), else the closest id; first within the taxonomy
        named, then in all of them ("codev:hallucination" is yin's)."""
        tax_id, _, node_ref = ref.rpartition(":")
        if not tax_id and node_ref in self.by_id:
            tops = [n.id for n in self.by_id[node_ref].walk() if n.depth == 0]
            such = ", ".join(tops[:-1]) + f" or {tops[-1]}" if len(tops) > 1 else tops[0]
            return f"; {node_ref!r} is a taxonomy: name one of its nodes, such as {such}"
        named = [self.by_id[tax_id]] if tax_id in self.by_id else []
        for taxonomies in (named, list(self)):
            nodes = [n for t in taxonomies for n in t.walk()]
            shown = {(n.qualified_id if tax_id else n.id): n for n in nodes}
            wanted = node_ref.casefold()
            ends = [
                s
                for s, n in shown.items()
                if wanted in (n.id.casefold(), n.id.rsplit("/", 1)[-1].casefold(), n.name.casefold())
            ]
            if ends:
                return f"; did you mean {ends[0]!r}?" if len(ends) == 1 else f"; did you mean one of {', '.join(ends)}?"
            close = difflib.get_close_matches(node_ref, [n.id for n in nodes], n=1, cutoff=0.5)
            if close:
                found = next(s for s, n in shown.items() if n.id == close[0])
                return f"; did you mean {found!r}?"
        return ""


def load_taxonomies(folder: Path) -> Taxonomies:
    """Read codev.yaml, yin.yaml and mmllms.yaml from ``folder``, on the same terms as entries
    (kb.yamlpos: no control characters, duplicate keys or tags), since their text is shown too."""
    from kb.yamlpos import parse_document, read_yaml_bytes

    by_id, read = {}, {}
    for tax_id in TAXONOMY_IDS:
        path = folder / f"{tax_id}.yaml"
        read[tax_id] = read_yaml_bytes(path, str(path))
        spec = TaxonomySpec.model_validate(parse_document(read[tax_id], str(path)).data)
        by_id[tax_id] = Taxonomy.from_spec(spec, tax_id)
    return Taxonomies(by_id, files_digest(read))


def files_digest(read: dict[str, bytes]) -> str:
    """A sha256 of the taxonomy files' bytes by taxonomy id."""
    import hashlib

    h = hashlib.sha256()
    for tax_id in sorted(read):
        h.update(f"{tax_id}\0{len(read[tax_id])}\0".encode() + read[tax_id])
    return h.hexdigest()

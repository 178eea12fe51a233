"""The seeded knowledge base as committed: valid, and as large as the core issue promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kb.naming import dated_after_arxiv
from kb.store import ENTRY_FOLDERS, load_kb
from tests.conftest import REPO, run_kb


def test_kb_check_passes_on_the_committed_kb():
    run = run_kb("check")
    assert run.code == 0, run.out + run.err
    assert run.out == ""
    assert run.err == f"checked {len(load_kb(REPO).entries)} entries: no problems\n"


def test_seeded_kb_meets_the_promised_size():
    kb = load_kb(REPO)
    entries = list(kb.entries.values())
    assert len(entries) >= 600
    assert sum(1 for e in entries if e.kind.is_dataset) >= 120
    assert sum(1 for e in entries if e.arxiv) >= 400
    assert sum(1 for e in entries if e.tags.codev) >= 107


SEED = REPO.parent / "shared" / "seed"


@pytest.mark.skipif(not SEED.is_dir(), reason=f"the seed lists are not at {SEED}")
def test_the_import_script_reproduces_the_committed_entries(tmp_path: Path) -> None:
    """tools/import_seed.py is the record of how the seeded entries were made: rerun on a copy of
    the KB, it must leave every entry file as committed (hand-fixed ones it leaves alone)."""
    shutil.copyfile(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "entries", tmp_path / "entries")
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "import_seed.py"), "--seed", str(SEED), "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for folder in ENTRY_FOLDERS:
        before = {p.name: p.read_bytes() for p in (REPO / "entries" / folder).glob("*.yaml")}
        after = {p.name: p.read_bytes() for p in (tmp_path / "entries" / folder).glob("*.yaml")}
        assert sorted(after) == sorted(before)
        changed = [name for name in before if after[name] != before[name]]
        assert changed == [], f"the import script rewrites {changed[:5]}"
    # and it would write each seed-only file as it is: none is left alone for differing
    assert "differing from what the seed gives" not in proc.stderr, proc.stderr


def _import(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "import_seed.py"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not SEED.is_dir(), reason=f"the seed lists are not at {SEED}")
def test_a_rerun_of_the_importer_keeps_hand_edits_and_deletes_nothing_unless_told(tmp_path: Path) -> None:
    """It had reverted an edit that left provenance alone, and deleted a file a person had moved to
    datasets/ when correcting its kind (then wrote the work back)."""
    shutil.copyfile(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "entries", tmp_path / "entries")
    edited = tmp_path / "entries" / "works" / "3dmit.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "# reviewed by hand\n", encoding="utf-8")
    moved = tmp_path / "entries" / "works" / "a-decade-battle-on-dataset-bias.yaml"
    assert "seed-" in moved.read_text(encoding="utf-8") and "contributor" not in moved.read_text(encoding="utf-8")
    moved.rename(tmp_path / "entries" / "datasets" / moved.name)  # a person found it is a dataset's paper
    gone = tmp_path / "entries" / "works" / "no-longer-in-the-seed.yaml"
    shutil.copyfile(tmp_path / "entries" / "datasets" / moved.name, gone)
    proc = _import(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert edited.read_text(encoding="utf-8").endswith("# reviewed by hand\n")
    assert not moved.exists() and gone.exists()
    assert (
        "left alone 1 file differing from what the seed gives (edited by hand?; --overwrite rewrites them): "
        "entries/works/3dmit.yaml"
    ) in proc.stderr
    assert (
        "left alone 1 file of entries the seed no longer gives (--overwrite deletes them): "
        "entries/works/no-longer-in-the-seed.yaml"
    ) in proc.stderr
    assert "entries/datasets/a-decade-battle-on-dataset-bias.yaml" in proc.stderr
    proc = _import(tmp_path, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert edited.read_bytes() == (REPO / "entries" / "works" / "3dmit.yaml").read_bytes() and not gone.exists()
    assert (tmp_path / "entries" / "datasets" / moved.name).exists() and not moved.exists()  # still theirs


def test_the_importer_says_what_is_wrong_with_its_input_in_one_sentence(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    shutil.copytree(REPO / "entries" / "taxonomies", tmp_path / "entries" / "taxonomies")
    for name, text, said in (
        ("codev_labeled.jsonl", '{"title": "T", "tags": []}\n\n{"title": \n', "codev_labeled.jsonl:3: not valid JSON"),
        ("codev_labeled.jsonl", '{"title": "T"}\n', "codev_labeled.jsonl:1: tags: expected a list"),
        ("codev_labeled.jsonl", "[1]\n", "codev_labeled.jsonl:1: expected a JSON object"),
    ):
        (seed / name).write_text(text, encoding="utf-8")
        proc = _import(tmp_path, "--seed", str(seed))
        assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
        assert proc.stderr.startswith(f"import_seed: {seed / said}") and proc.stderr.count("\n") == 1, proc.stderr
    for args, said in (
        (["--seed", str(tmp_path / "none")], f"import_seed: no seed folder at {tmp_path / 'none'}; give --seed\n"),
        (["--seed", str(seed), "--root", str(tmp_path / "none")], ""),
    ):
        proc = subprocess.run(
            [
                sys.executable,
                str(REPO / "tools" / "import_seed.py"),
                *args,
                *([] if "--root" in args else ["--root", str(tmp_path)]),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        if said:
            assert proc.stderr == said


def test_every_fact_a_seed_list_gave_names_its_list() -> None:
    """Provenance covers the facts the importer copied: a dataset's date is often its paper's, taken
    from the paper's row in another section, and that row is named too. (Titles are left out: a few
    are ours, where a list gave an address or a mangled one.)"""
    kb = load_kb(REPO)
    for field in ("date", "arxiv", "venue"):
        unnamed = [
            e.id
            for e in kb.entries.values()
            if getattr(e, field) and e.provenance and not any(field in p.fields for p in e.provenance)
        ]
        assert unnamed == [], (field, unnamed[:5])


def test_every_entry_with_an_arxiv_id_is_dated_no_later_than_its_paper() -> None:
    """The site's timelines and kb eval --after sort by date: an entry with an arXiv id has at least
    the month of its paper's submission, and a dataset, whose date kb check does not hold to its
    paper's (its files may follow), is not dated after it here either (the lists gave some venue dates)."""
    kb = load_kb(REPO)
    undated = [e.id for e in kb.entries.values() if e.arxiv and not e.date]
    assert undated == [], undated[:5]
    later = [e.id for e in kb.entries.values() if e.arxiv and e.date and dated_after_arxiv(e.date, e.arxiv)]
    assert later == [], later[:5]


def _seed_tree(spec: dict) -> dict[str, str | None]:
    """Every node id of a seed taxonomy with its parent: codev and yin nest nodes by id, mmllms lists
    facets (each facet a node, each value under it a node ``facet/value``)."""
    if "facets" in spec:
        tree: dict[str, str | None] = {}
        for facet, values in spec["facets"].items():
            tree[facet] = None
            tree.update({f"{facet}/{value}": facet for value in values})
        return tree

    def walk(nodes: dict, parent: str | None) -> Iterator[tuple[str, str | None]]:
        for node_id, node in nodes.items():
            yield node_id, parent
            yield from walk(node.get("children") or {}, node_id)

    return dict(walk(spec["nodes"], None))


@pytest.mark.skipif(not SEED.is_dir(), reason=f"the seed lists are not at {SEED}")
def test_the_taxonomy_files_keep_the_seeds_canonical_ids_and_hierarchy() -> None:
    """Entries, the held-out test and tools built on kb suggest name nodes by the seed's ids: no node
    may be renamed, moved, dropped or invented."""
    seed = yaml.safe_load((SEED / "taxonomies.yaml").read_text(encoding="utf-8"))
    for taxonomy in load_kb(REPO).taxonomies:
        ours = {node.id: node.parent for node in taxonomy.walk()}
        assert ours == _seed_tree(seed[taxonomy.id]), taxonomy.id
        assert taxonomy.title == seed[taxonomy.id]["title"]
        assert taxonomy.multi_label == seed[taxonomy.id].get("multi_label", True), taxonomy.id  # facets combine

"""The cache of parsed entry files: used when a file is unchanged, never when it changed, never
trusted past the schema, and never read by kb check."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kb import parsecache
from kb.check import check_kb
from kb.parsecache import ParseCache
from kb.store import load_kb
from tests.conftest import run_kb
from tests.intel_kb import SMALL, make_kb, write_entry


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_kb(tmp_path / "kb", SMALL)


def _load(root: Path):  # -> KB
    return load_kb(root, parsed=ParseCache(root / ".kb-cache"))


def _cached(root: Path) -> dict:
    return json.loads((root / ".kb-cache" / "entries.json").read_text(encoding="utf-8"))


def _forge(root: Path, rel: str, **fields: object) -> None:
    """Change what the cache holds for ``rel`` without changing the file: only a cache hit shows it."""
    data = _cached(root)
    data["files"][rel][1].update(fields)
    (root / ".kb-cache" / "entries.json").write_text(json.dumps(data), encoding="utf-8")


def test_an_unchanged_file_is_read_from_the_cache_and_kb_check_never_reads_it(root: Path) -> None:
    first = _load(root)
    assert sorted(_cached(root)["files"]) == sorted(f"entries/{p.parent.name}/{p.name}" for p in first.paths.values())
    assert _load(root).entries == first.entries
    _forge(root, "entries/works/llava.yaml", title="Only the Cache", relations={"builds_on": ["nowhere"]})
    forged = _load(root).entries["llava"]
    assert (forged.title, forged.relations.builds_on) == ("Only the Cache", ["nowhere"])  # so it was read
    assert check_kb(root).problems == []  # kb check would have found the relation to nowhere
    assert load_kb(root).entries["llava"].title == "Visual Instruction Tuning"  # without a cache: the file


def test_kb_check_fills_the_cache_it_never_reads_and_hands_on_what_it_checked(root: Path) -> None:
    """kb build checks, then builds from the knowledge base the check parsed (it had parsed every
    file twice on a cold cache), and leaves the cache filled for the commands that follow."""
    _load(root)
    _forge(root, "entries/works/llava.yaml", title="Only the Cache", relations={"builds_on": ["nowhere"]})
    checked = check_kb(root, fill=ParseCache(root / ".kb-cache", fresh=True))
    assert checked.problems == [] and checked.kb is not None
    assert checked.kb.entries == load_kb(root).entries  # the files', not the forged row's
    files = _cached(root)["files"]
    assert files["entries/works/llava.yaml"][1]["title"] == "Visual Instruction Tuning"  # the forgery is gone
    assert sorted(files) == sorted(f"entries/{p.parent.name}/{p.name}" for p in checked.kb.paths.values())
    assert _load(root).entries == checked.kb.entries


def test_an_edited_file_is_parsed_again_and_a_removed_one_leaves_the_cache(root: Path) -> None:
    _load(root)
    write_entry(root, {**SMALL[0], "title": "Visual Instruction Tuning, Edited"})
    (root / "entries" / "datasets" / "pope.yaml").unlink()
    kb = _load(root)
    assert kb.entries["llava"].title == "Visual Instruction Tuning, Edited"
    files = _cached(root)["files"]
    assert files["entries/works/llava.yaml"][1]["title"] == "Visual Instruction Tuning, Edited"
    assert "entries/datasets/pope.yaml" not in files


def test_a_bad_file_is_never_cached_and_keeps_its_line_numbers(root: Path) -> None:
    (root / "entries" / "works" / "bad.yaml").write_text("id: bad\ntitle: Bad\nkind: modle\n", encoding="utf-8")
    for _ in range(2):
        kb = load_kb(root, strict=False, parsed=ParseCache(root / ".kb-cache"))
        assert [(p.path, p.line, p.field) for p in kb.problems] == [("entries/works/bad.yaml", 3, "kind")]
    assert "entries/works/bad.yaml" not in _cached(root)["files"]


def test_what_the_schema_refuses_in_the_cache_is_parsed_from_the_file(root: Path) -> None:
    _load(root)
    _forge(root, "entries/works/llava.yaml", title="")  # an empty title, which the schema refuses
    assert _load(root).entries["llava"].title == "Visual Instruction Tuning"


@pytest.mark.parametrize(
    "damage",
    ["garbage", "list", "wrong-shapes", "no-files", "too-deep", "other-version", "fifo", "device", "folder"],
)
def test_a_damaged_cache_or_one_of_another_parser_is_ignored_and_written_anew(root: Path, damage: str) -> None:
    """Whatever the cache file is, the entries are parsed from their files: no hang, no traceback."""
    _load(root)
    path = root / ".kb-cache" / "entries.json"
    data = _cached(root)
    path.unlink()
    if damage == "fifo":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif damage == "device":
        path.symlink_to("/dev/zero")  # reading it would never end
    elif damage == "folder":
        path.mkdir()
    else:
        text = {
            "garbage": "{not json",
            "list": "[1, 2]",
            "wrong-shapes": json.dumps({"version": data["version"], "files": {"entries/works/llava.yaml": "x"}}),
            "no-files": json.dumps({"version": data["version"]}),
            "too-deep": "[" * 200_000 + "]" * 200_000,  # past the recursion limit of json
            "other-version": json.dumps({**data, "version": "0:old"}).replace("Visual Instruction Tuning", "Stale"),
        }[damage]
        path.write_text(text, encoding="utf-8")
    assert _load(root).entries["llava"].title == "Visual Instruction Tuning"
    if damage != "folder":  # a folder is left as it is: the cache is not written, and that is no error
        assert _cached(root) == data


def test_a_new_parser_version_does_not_read_the_old_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(root)
    _forge(root, "entries/works/llava.yaml", title="Parsed by the Old Parser")
    monkeypatch.setattr(parsecache, "FORMAT", parsecache.FORMAT + 1)
    assert _load(root).entries["llava"].title == "Visual Instruction Tuning"


def test_a_cache_that_cannot_be_written_is_no_error(root: Path) -> None:
    (root / "cache-file").write_text("a file, not a folder", encoding="utf-8")
    kb = load_kb(root, parsed=ParseCache(root / "cache-file"))
    assert len(kb.entries) == len(SMALL)
    assert (root / "cache-file").read_text(encoding="utf-8") == "a file, not a folder"


def test_the_terminal_commands_fill_the_cache_in_cache_dir(root: Path) -> None:
    (root / "kb.yaml").write_text("cache_dir: .elsewhere\n", encoding="utf-8")
    run = run_kb("query", "--limit", "1", cwd=root)
    assert run.code == 0, run.err
    assert len(json.loads((root / ".elsewhere" / "entries.json").read_text(encoding="utf-8"))["files"]) == len(SMALL)
    (root / "kb.yaml").write_text("cache_dir: entries\n", encoding="utf-8")  # refused, as by kb check
    run = run_kb("query", "--limit", "1", cwd=root)
    assert (run.code, run.out) == (1, ""), run.err
    assert run.err.startswith("kb: cache_dir 'entries' would put the cache in entries")
    assert not (root / "entries" / "entries.json").exists()

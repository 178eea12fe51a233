"""kb.yaml and KB_* variables: what each sets, and problems that name where a bad value came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.config import Config, load_config
from kb.errors import ProblemsError, SettingsError


def problems(root: Path, **env: str) -> list[str]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        with pytest.raises((ProblemsError, SettingsError)) as caught:
            load_config(root)
    return [str(p) for p in caught.value.problems]


def test_a_file_of_comments_alone_sets_nothing(tmp_path: Path) -> None:
    (tmp_path / "kb.yaml").write_text("# the defaults suit us\n---\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    assert load_config(tmp_path) == load_config(tmp_path / "elsewhere")  # no kb.yaml there
    assert load_config(tmp_path).batch_size == Config().batch_size


def test_a_kb_yaml_that_is_a_dangling_link_or_a_device_is_a_problem_not_ignored_or_read_forever(
    tmp_path: Path,
) -> None:
    (tmp_path / "kb.yaml").symlink_to(tmp_path / "gone.yaml")
    assert problems(tmp_path) == [f"kb.yaml: a link to {tmp_path / 'gone.yaml'}, which does not exist"]
    (tmp_path / "kb.yaml").unlink()
    (tmp_path / "kb.yaml").symlink_to("/dev/zero")
    assert problems(tmp_path) == [
        "kb.yaml: not a regular file (a device, a pipe, or a link to one); expected a YAML file"
    ]


def test_a_yes_or_no_is_not_taken_for_a_number(tmp_path: Path) -> None:
    (tmp_path / "kb.yaml").write_text("batch_size: true\nneighbours: false\n", encoding="utf-8")
    assert problems(tmp_path) == [
        "kb.yaml:1:13: batch_size: expected a whole number, got true",
        "kb.yaml:2:13: neighbours: expected a whole number, got false",
    ]


def test_a_bad_value_in_kb_yaml_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "kb.yaml").write_text("device: cpu\nbatch_size: 0\n", encoding="utf-8")
    assert problems(tmp_path) == ["kb.yaml:2:13: batch_size: Input should be greater than or equal to 1, got 0"]


def test_a_bad_variable_is_named_not_blamed_on_kb_yaml(tmp_path: Path) -> None:
    assert problems(tmp_path, KB_BATCH_SIZE="abc") == [
        "KB_BATCH_SIZE: batch_size: Input should be a valid integer, unable to parse string as an integer, got 'abc'"
    ]


def test_a_bad_variable_or_flag_is_a_usage_error_and_a_bad_file_a_problem(tmp_path: Path) -> None:
    """How kb was called is wrong (exit 2, as for a bad flag), or kb.yaml is (exit 1, and kb check,
    which reads kb.yaml but never the environment, lists it)."""
    from tests.conftest import REPO, run_kb

    (tmp_path / "mkdocs.yml").write_text("site_name: x\n", encoding="utf-8")
    (tmp_path / "entries" / "works").mkdir(parents=True)
    env = run_kb("--root", str(tmp_path), "embed", env={"KB_BATCH_SIZE": "0", "KB_DEVICE": "tpu"})
    assert (env.code, env.out) == (2, "")
    assert env.err == (
        "kb: KB_BATCH_SIZE: batch_size: Input should be greater than or equal to 1, got '0'\n"
        "kb: KB_DEVICE: device: Input should be 'auto', 'cpu' or 'cuda', got 'tpu'; did you mean 'cpu'?\n"
    )
    flag = run_kb("--root", str(tmp_path), "embed", "--model", "")
    assert (flag.code, flag.err.count("\n")) == (2, 1) and flag.err.startswith("kb: --model: model: the model is empty")
    (tmp_path / "kb.yaml").write_text("batch_size: 0\n", encoding="utf-8")
    run = run_kb("--root", str(tmp_path), "embed")
    assert (run.code, run.err.splitlines()[-1]) == (1, "1 problem; run kb check for the whole list")
    both = run_kb("--root", str(tmp_path), "embed", env={"KB_DEVICE": "tpu"})  # the file is at fault too
    assert (both.code, both.err.splitlines()[-1]) == (1, "2 problems; run kb check for the whole list")
    # Every command that reads the knowledge base says so: kb query, tree, stats and gaps had run
    # on as if nothing were set (the bad setting only turned their parse cache off).
    for command in (["query"], ["tree"], ["stats"], ["gaps"], ["show", "x"]):
        run = run_kb("--root", str(tmp_path), *command)
        assert (run.code, run.out, run.err) == (
            1,
            "",
            "kb.yaml:1:13: batch_size: Input should be greater than or equal to 1, got 0\n"
            "1 problem; run kb check for the whole list\n",
        ), command
    (tmp_path / "kb.yaml").unlink()
    run = run_kb("--root", str(tmp_path), "query", env={"KB_DEVICE": "tpu"})
    assert (run.code, run.err) == (
        2,
        "kb: KB_DEVICE: device: Input should be 'auto', 'cpu' or 'cuda', got 'tpu'; did you mean 'cpu'?\n",
    )
    # So does a cache_dir kb may not use, even where the command writes no vectors.
    shutil.copytree(REPO / "entries" / "taxonomies", tmp_path / "entries" / "taxonomies")
    run = run_kb("--root", str(tmp_path), "query", env={"KB_CACHE_DIR": "entries"})
    assert (run.code, run.err) == (
        1,
        "kb: cache_dir 'entries' would put the cache in entries; set KB_CACHE_DIR to a folder of its own, "
        "e.g. .kb-cache (the default)\n",
    )


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_settings_must_be_finite(tmp_path: Path, value: str) -> None:
    assert problems(tmp_path, KB_ARXIV_TIMEOUT=value) == [
        f"KB_ARXIV_TIMEOUT: arxiv_timeout: Input should be a finite number, got '{value}'"
    ]


@pytest.mark.parametrize(
    ("setting", "value", "bound"),
    [("KB_ARXIV_TIMEOUT", "1e10", 3600), ("KB_ARXIV_RETRIES", "1000000000", 100), ("KB_ARXIV_DELAY", "1e300", 600)],
)
def test_arxiv_settings_are_bounded(tmp_path: Path, setting: str, value: str, bound: int) -> None:
    """Past any use, and kb new's deadline for the whole exchange overflowed on them (a traceback)."""
    assert problems(tmp_path, **{setting: value}) == [
        f"{setting}: {setting[3:].lower()}: Input should be less than or equal to {bound}, got {value!r}"
    ]


@pytest.mark.parametrize(("value", "expected"), [("0", "greater than 0"), ("1.5", "less than or equal to 1")])
def test_the_suggest_threshold_is_a_score(tmp_path: Path, value: str, expected: str) -> None:
    assert problems(tmp_path, KB_SUGGEST_THRESHOLD=value) == [
        f"KB_SUGGEST_THRESHOLD: suggest_threshold: Input should be {expected}, got {value!r}"
    ]
    (tmp_path / "kb.yaml").write_text("suggest_threshold: 0.35\n", encoding="utf-8")
    assert load_config(tmp_path).suggest_threshold == 0.35


def test_a_flag_is_named_as_a_flag(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_config(tmp_path, {"batch_size": -1})
    assert [str(p) for p in caught.value.problems] == [
        "--batch-size: batch_size: Input should be greater than or equal to 1, got -1"
    ]


def test_a_relative_model_path_is_the_roots_in_kb_yaml_and_the_shells_in_a_variable(tmp_path: Path) -> None:
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "kb.yaml").write_text("model: models/mine\n", encoding="utf-8")
    assert load_config(tmp_path).model == str((tmp_path / "models" / "mine").resolve())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KB_MODEL", "models/mine")
        assert load_config(tmp_path).model == "models/mine"
    (tmp_path / "kb.yaml").write_text("model: sentence-transformers/all-mpnet-base-v2\n", encoding="utf-8")
    assert load_config(tmp_path).model == "sentence-transformers/all-mpnet-base-v2"  # a name stays a name


@pytest.mark.parametrize("url", ["example.org", "https://ex.org/kb/?x=1#f", "https://ex.org/a b/", "ftp://ex.org/"])
def test_site_url_must_be_a_sites_address(tmp_path: Path, url: str) -> None:
    assert problems(tmp_path, KB_SITE_URL=url) == [
        f"KB_SITE_URL: site_url: {url!r} is not a site's address; expected one like https://example.org/kb/"
    ]
    assert load_config(tmp_path, {"site_url": "https://example.org/kb/"}).site_url == "https://example.org/kb/"


def test_an_empty_model_is_refused_where_it_was_written(tmp_path: Path) -> None:
    """Else the model loader fails far away ("'NoneType' object has no attribute 'parameters'")."""
    (tmp_path / "kb.yaml").write_text('model: " "\n', encoding="utf-8")
    message = "the model is empty; name a sentence-transformers model or folder, or leave it out for the default"
    assert problems(tmp_path) == [f"kb.yaml:1:8: model: {message}"]
    with pytest.raises(SettingsError) as caught:
        load_config(tmp_path / "elsewhere", {"model": ""})
    assert [str(p) for p in caught.value.problems] == [f"--model: model: {message}"]

"""Golden tests of kb check: one folder of bad input per case, with the exact expected report.

Each folder under tests/golden/ is a minimal knowledge base (mkdocs.yml and entries/); the test
copies it beside the real taxonomies and compares stdout then stderr with expected.txt.
To regenerate after a deliberate change of wording: KB_REGEN_GOLDEN=1 pytest tests/test_check_golden.py,
then read the diff before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "mkdocs.yml").is_file())


def make_kb(case: str, dest: Path) -> Path:
    root = dest / case
    shutil.copytree(GOLDEN / case, root, ignore=shutil.ignore_patterns("expected.txt"))
    for folder in ("works", "datasets"):
        (root / "entries" / folder).mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "entries" / "taxonomies", root / "entries" / "taxonomies")
    return root


def run_check(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--root", str(root), "check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def test_there_are_golden_cases():
    assert len(CASES) >= 21


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, tmp_path: Path):
    root = make_kb(case, tmp_path)
    code, out, err = run_check(root)
    expected_path = GOLDEN / case / "expected.txt"
    if os.environ.get("KB_REGEN_GOLDEN"):
        expected_path.write_text(out + err, encoding="utf-8")
        pytest.skip(f"regenerated {expected_path.relative_to(REPO)}: read its diff")  # never a silent pass
    assert out + err == expected_path.read_text(encoding="utf-8")
    assert code == 1, "every golden case is bad input"
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # kb new's commented tags, uncommented by deleting the "#" alone: one space too many
        ("title: T\n tags:\n  yin: [rlhf]\n", "3:6: not valid YAML: mapping values are not allowed here (a colon"),
        ("modalities:\n  input: [text]\n   output: [text]\n", "this line is indented more than the fields around it"),
        ("authors:\n  - A\n - B\n", "this list item is indented unlike the items above it"),
        ("\ttitle: T\n", "YAML indents with spaces, never tabs: replace the tab with spaces"),
        ("title T\nkind: model\n", "a field is 'name: value'; add the colon"),
        ('title: "T\nkind: model\n', "a quoted text is not closed; add its closing quote"),
    ],
)
def test_a_yaml_mistake_says_what_was_likely_meant(text: str, said: str) -> None:
    from kb.errors import ProblemsError
    from kb.yamlpos import parse_document

    with pytest.raises(ProblemsError) as caught:
        parse_document(f"id: x\n{text}".encode(), "x.yaml")
    assert said in str(caught.value.problems[0])

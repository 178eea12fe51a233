"""The seed importer's title normaliser, on the slips the seed lists really contain."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from kb.schema import written_twice
from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location("import_seed", REPO / "tools" / "import_seed.py")
assert _spec and _spec.loader
import_seed = importlib.util.module_from_spec(_spec)
sys.modules["import_seed"] = import_seed  # its dataclasses look their module up
_spec.loader.exec_module(import_seed)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Visual Instruction Tuning", "Visual Instruction Tuning"),
        ("  Visual   Instruction\tTuning ", "Visual Instruction Tuning"),
        ("🦩Flamingo: a Visual Language Model", "Flamingo: a Visual Language Model"),
        # codev_labeled.jsonl, row 27: pasted twice over
        (
            "FunQA: Towards Surprising Video ComprehensionFunQA: Towards Surprising Video Comprehension",
            "FunQA: Towards Surprising Video Comprehension",
        ),
        ("Sora: A Review Sora: A Review", "Sora: A Review"),
        # mmllms_tracker.jsonl, the Osprey rows: the address in place of the title
        ("https://arxiv.org/abs/2312.10032", None),
        ("www.example.org/paper", None),
        ("", None),
        (None, None),
    ],
)
def test_seed_title(given, expected):
    assert import_seed.seed_title(given) == expected


@pytest.mark.parametrize(
    "title",
    [
        "Yi-VL",
        "Talk2Talk",  # a name that repeats a short part is no slip
        "Less is More: Mitigating Multimodal Hallucination from an EOS Decision Perspective",
        "Video Video Video",
        "Video Understanding Video Understanding",  # two words twice: could be meant
        "9999999999999999",
    ],
)
def test_titles_that_are_not_written_twice(title):
    assert written_twice(title) is None

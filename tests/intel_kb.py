"""Small knowledge bases on disk and a tiny deterministic embedder, for the embed and cluster tests."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent


def make_kb(root: Path, entries: Sequence[dict[str, object]]) -> Path:
    """A knowledge base under ``root`` holding ``entries`` (dicts as in the YAML files)."""
    (root / "entries" / "works").mkdir(parents=True, exist_ok=True)
    (root / "entries" / "datasets").mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "entries" / "taxonomies", root / "entries" / "taxonomies", dirs_exist_ok=True)
    (root / "mkdocs.yml").write_text("site_name: test\n", encoding="utf-8")
    for entry in entries:
        write_entry(root, entry)
    return root


def write_entry(root: Path, entry: dict[str, object]) -> Path:
    folder = "datasets" if entry.get("kind") in ("dataset", "benchmark") else "works"
    path = root / "entries" / folder / f"{entry['id']}.yaml"
    path.write_text(yaml.safe_dump(dict(entry), sort_keys=False), encoding="utf-8")
    return path


SMALL = [
    {"id": "llava", "title": "Visual Instruction Tuning", "kind": "model", "name": "LLaVA"},
    {"id": "pope", "title": "Evaluating Object Hallucination in Large Vision-Language Models", "kind": "benchmark"},
    {"id": "video-chat", "title": "VideoChat: Chat-Centric Video Understanding", "kind": "model"},
    {"id": "mmbench", "title": "MMBench: Is Your Multi-modal Model an All-around Player?", "kind": "benchmark"},
    {"id": "woodpecker", "title": "Woodpecker: Hallucination Correction for Multimodal LLMs", "kind": "method"},
]


class HashingEmbedder:
    """A real, tiny, deterministic embedder: hashed bag of words, 64 dimensions.

    It records every text it is asked to encode, so tests can count the work done.
    """

    def __init__(self, model_id: str = "hashing-64", dim: int = 64):
        self.model_id = model_id
        self.dim = dim
        self.encoded: list[str] = []
        self.calls = 0

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.encoded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

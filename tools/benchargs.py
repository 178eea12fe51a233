"""Argument types the tools share, so that a bad value is argparse's one line (exit 2), never a
traceback from deep in a benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path


def at_least_one(text: str) -> int:
    """A whole number of 1 or more (runs, a batch size, a sample)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def sizes(text: str) -> list[int]:
    """Comma-separated numbers of entries, each 0 or more ("0,2000,5000")."""
    out = []
    for part in text.split(","):
        try:
            out.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {part.strip()!r}") from None
        if out[-1] < 0:
            raise argparse.ArgumentTypeError(f"expected sizes of 0 or more, got {out[-1]}")
    return out


def knowledge_base(text: str) -> Path:
    """A folder that holds a knowledge base (its mkdocs.yml)."""
    path = Path(text)
    if not (path / "mkdocs.yml").is_file():
        raise argparse.ArgumentTypeError(f"no knowledge base at {path} (no mkdocs.yml there)")
    return path

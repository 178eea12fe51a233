"""Shared fixtures. `run_kb` runs the real CLI in a fresh process, against this checkout's kb."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_kb(
    *args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None, input: str | None = None
) -> Run:
    """Run `python -m kb ARGS` in a fresh process; this checkout's kb comes first on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "kb", *args],
        cwd=cwd or REPO,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def kb_cli():
    return run_kb

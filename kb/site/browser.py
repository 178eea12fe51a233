"""Debian's chromium, as the browser tests and the tools that drive the built site launch it.

Playwright is a development dependency: this module only names the binary and its flags, and
``launch`` takes the Playwright object its caller started.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
# SwiftShader gives headless chromium a software WebGL, which sigma needs; the rest keeps chromium quiet
# and off the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--use-gl=swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Any) -> Any:
    """A headless chromium browser from a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

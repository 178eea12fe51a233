"""Serve a built site on 127.0.0.1 with the standard library (what `kb serve` runs after a build)."""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path

from kb.errors import UsageError


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def serve_folder(folder: Path, port: int, *, announce: Callable[[str], None] = print) -> None:
    if not (folder / "index.html").is_file():
        raise UsageError(f"{folder} holds no built site; run kb build first (or kb serve without --no-build)")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port") from None
    announce(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

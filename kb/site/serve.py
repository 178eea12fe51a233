"""Serve a built site on 127.0.0.1 with the standard library (what `kb serve` runs after a build)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from kb.errors import UsageError


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files of the site, quietly; a missing page gets the site's own 404 page, as on a host."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or self.command != "GET" or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that leaves a page while it loads (a click, a closed tab) drops its connection
        mid-answer; that is no error to print a traceback for. Anything else still is."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def listen(port: int) -> http.server.ThreadingHTTPServer:
    """A server holding 127.0.0.1:``port`` (taken before a build, so a busy port is said first)."""
    server = _Server(("127.0.0.1", port), _Handler, bind_and_activate=False)
    try:
        server.server_bind()
        server.server_activate()
    except OSError as exc:
        server.server_close()
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); pick another --port") from None
    return server


def _serve_folder(server: http.server.ThreadingHTTPServer, folder: Path) -> None:
    server.RequestHandlerClass = functools.partial(_Handler, directory=str(folder))  # type: ignore[assignment]


def serve_on(server: http.server.ThreadingHTTPServer, folder: Path, *, announce: Callable[[str], None] = print) -> None:
    """Serve the built site in ``folder`` with ``server`` until interrupted."""
    if not (folder / "index.html").is_file():
        server.server_close()
        raise UsageError(f"{folder} holds no built site; run kb build first (or kb serve without --no-build)")
    _serve_folder(server, folder)
    announce(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextlib.contextmanager
def serving(folder: Path, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (on ``port``, or any free one) from a thread while the block runs;
    yield its base URL. For the browser tests and the tools that drive a browser over a built site."""
    server = listen(port)
    _serve_folder(server, folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

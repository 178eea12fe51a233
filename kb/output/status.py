"""A status line for long work on a terminal: what is being done, how far it has got when that can
be counted, and for how long, redrawn by a thread until the work says it is done. Written only to a
terminal: a log or a pipe gets the finished lines alone, never carriage returns."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

Count = Callable[[], str]  # how far the work has got ("312/726 pages"), asked at each redraw

CLEAR = "\r\x1b[K"  # back to the line's start, and erase it


def say(message: str) -> None:
    """``kb: message`` on stderr from deep in the work, on a line of its own even when a status
    line is showing (the status is redrawn below it)."""
    start = CLEAR if sys.stderr.isatty() else ""
    print(f"{start}kb: {message}", file=sys.stderr, flush=True)


class StatusLine:
    """``show`` what is being done; ``echo`` a finished line in its place. Use as a context manager,
    so the line is erased and the thread stopped however the work ends."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 0.5) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = interval
        self._text = ""
        self._count: Count | None = None
        self._since = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def show(self, text: str, count: Count | None = None) -> None:
        """Say ``text`` (and ``count()``, and the seconds since) until the next show or echo."""
        with self._lock:
            self._text, self._count, self._since = text, count, time.monotonic()
        if not self.live:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kb-status", daemon=True)
            self._thread.start()
        self._draw()

    def echo(self, line: str) -> None:
        """Write a finished line where the status was; the status is gone until the next show."""
        with self._lock:
            self._text, self._count = "", None
            self.stream.write((CLEAR if self.live else "") + line + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.live and self._text:
                self.stream.write(CLEAR)
                self.stream.flush()
            self._text = ""

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._draw()

    def _draw(self) -> None:
        with self._lock:
            if not self._text:
                return
            try:
                counted = f" {self._count()}" if self._count else ""
            except OSError:  # a count that reads the disk while the work changes it: skip this once
                counted = ""
            seconds = f" ({time.monotonic() - self._since:.0f} s)"
            room = max(0, shutil.get_terminal_size().columns - 1 - len(seconds))  # a wrapped line is not redrawn
            self.stream.write(CLEAR + f"{self._text}{counted}"[:room] + seconds)
            self.stream.flush()

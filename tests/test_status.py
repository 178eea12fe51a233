"""The status line of long work: drawn and redrawn on a terminal only, replaced by finished lines."""

from __future__ import annotations

import io
import time

from kb.output.status import CLEAR, StatusLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_status_redrawn_then_replaced_by_the_finished_line() -> None:
    stream = Terminal()
    done = iter(range(1, 100))
    with StatusLine(stream, interval=0.01) as status:
        status.show("mkdocs   building:", lambda: f"{next(done)}/99 pages")
        time.sleep(0.1)
        status.echo("mkdocs   built (1.0 s)")
        after = len(stream.getvalue())
        time.sleep(0.05)
        assert len(stream.getvalue()) == after, "nothing is drawn between a finished line and the next show"
    text = stream.getvalue()
    assert text.startswith(CLEAR + "mkdocs   building: 1/99 pages (0 s)")
    assert text.count(CLEAR + "mkdocs   building:") >= 3, "the thread redraws it, with the count as it is"
    assert f"{CLEAR}mkdocs   building: 3/99 pages (0 s)" in text
    assert text.endswith(CLEAR + "mkdocs   built (1.0 s)\n")


def test_a_status_left_showing_is_erased_when_the_work_ends_and_a_failing_count_is_skipped() -> None:
    stream = Terminal()

    def count() -> str:
        raise FileNotFoundError("moved while counted")

    try:
        with StatusLine(stream, interval=0.01) as status:
            status.show("render   writing the pages", count)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert stream.getvalue().startswith(CLEAR + "render   writing the pages (0 s)")
    assert stream.getvalue().endswith(CLEAR), "the line is erased, so the error that follows starts clean"


def test_a_log_or_a_pipe_gets_the_finished_lines_alone() -> None:
    stream = io.StringIO()
    with StatusLine(stream, interval=0.01) as status:
        status.show("suggest  training", lambda: "1/2")
        time.sleep(0.05)
        status.echo("suggest  done (0.1 s)")
    assert stream.getvalue() == "suggest  done (0.1 s)\n"


def test_a_note_from_deep_in_the_work_starts_a_line_of_its_own(monkeypatch) -> None:
    from kb.output.status import say

    for stream, start in ((Terminal(), CLEAR), (io.StringIO(), "")):
        monkeypatch.setattr("sys.stderr", stream)
        say("note: the cache file x could not be read")
        assert stream.getvalue() == f"{start}kb: note: the cache file x could not be read\n"

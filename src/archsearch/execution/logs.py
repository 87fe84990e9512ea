"""Where a trial's output goes: its log file.

Two ways, one per kind of backend. In the runner's own process (inline) the trial's
`sys.stdout`/`sys.stderr` are swapped for writers that copy each write to the log file, so the
user still sees the output. In a worker process the file descriptors 1 and 2 themselves are
pointed at the log file, so output written by C code or by child processes is captured too.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import IO, Any, TextIO


def open_log(path: str) -> int:
    """Open `path` for appending (creating it and its folder), returning the descriptor.

    Appending keeps the output of an earlier attempt of the same trial (a resumed experiment).
    """
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def append_note(path: str | None, text: str) -> None:
    """Append one line from the runner (why a trial was killed) to a trial's log."""
    if path is None:
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    # A note is a courtesy: the trial's result carries the reason too.
    with contextlib.suppress(OSError), os.fdopen(open_log(path), "a", encoding="utf-8") as log:
        log.write(f"[archsearch {stamp}] {text}\n")


class Tee:
    """A text stream that writes to two streams: the original one and the log file."""

    def __init__(self, first: TextIO, second: IO[str]) -> None:
        self.first = first
        self.second = second

    def write(self, text: str) -> int:
        # Code may keep the stream past its trial (a logging handler made during it): once the
        # trial's log is closed, the copy stops and the console still gets the text.
        if not self.second.closed:
            self.second.write(text)
        return self.first.write(text)

    def flush(self) -> None:
        if not self.second.closed:
            self.second.flush()
        self.first.flush()

    def __getattr__(self, name: str) -> Any:
        # encoding, isatty, fileno, ...: whatever code asks of a stream, the original answers.
        return getattr(self.first, name)


@contextlib.contextmanager
def tee_output(path: str | None) -> Iterator[None]:
    """Copy everything written to `sys.stdout`/`sys.stderr` inside the block to `path`.

    Only Python-level writes are copied (C code writing to fd 1 directly is not); that is the
    price of keeping the output on the console too, at the cost of one file open per trial.
    """
    if path is None:
        yield
        return
    with (
        os.fdopen(open_log(path), "a", encoding="utf-8", buffering=1) as log,
        contextlib.redirect_stdout(Tee(sys.stdout, log)),
        contextlib.redirect_stderr(Tee(sys.stderr, log)),
    ):
        yield


class FdRedirect:
    """Points file descriptors 1 and 2 of this process at a log file and back (workers).

    The original descriptors are duplicated once at construction, so switching per trial costs
    two `dup2` calls and an `open`.
    """

    def __init__(self) -> None:
        self.saved = (os.dup(1), os.dup(2))

    @contextlib.contextmanager
    def to(self, path: str | None) -> Iterator[None]:
        """Inside the block, fd 1 and 2 (and so `print`, C code, child processes) write to
        `path`; with None they stay where they were."""
        if path is None:
            yield
            return
        fd = open_log(path)
        flush_std()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        try:
            yield
        finally:
            flush_std()
            os.dup2(self.saved[0], 1)
            os.dup2(self.saved[1], 2)


def flush_std() -> None:
    """Flush `sys.stdout` and `sys.stderr`, whatever they are now."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or replaced stream must not fail a trial
            stream.flush()

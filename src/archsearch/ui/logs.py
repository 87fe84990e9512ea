"""The tail of a trial's log file.

Only the path the runner stored for that trial is ever read (the request names a trial, never a
file), and only its last bytes, so a multi-gigabyte log costs the same as a small one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

DEFAULT_TAIL_BYTES = 64 * 1024
MAX_TAIL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LogTail:
    """The last part of a log: its text, the file's size and whether the start was cut."""

    text: str
    size: int
    truncated: bool


def log_size(path: str | None) -> int | None:
    """Size in bytes of a regular log file, or None when there is none to read."""
    if not path:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def tail(path: str, max_bytes: int = DEFAULT_TAIL_BYTES) -> LogTail:
    """The last `max_bytes` of the file at `path`, decoded as UTF-8 (bad bytes replaced); a cut
    first line is dropped so the text starts at a line boundary. OSError if it cannot be read."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        start = max(0, size - max_bytes)
        handle.seek(start)
        data = handle.read(max_bytes)
    truncated = start > 0
    if truncated:
        newline = data.find(b"\n")
        if 0 <= newline < len(data) - 1:
            data = data[newline + 1 :]
    return LogTail(data.decode("utf-8", errors="replace"), size, truncated)

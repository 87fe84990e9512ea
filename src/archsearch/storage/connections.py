"""One SQLite connection per thread (and per process), for one database file.

A connection is never shared between threads: the runner writes from its thread while a
dashboard reads from others, each on its own connection, so WAL mode lets them proceed
without waiting for one another. A forked child opens new connections instead of using the
parent's, which SQLite forbids.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archsearch.storage.schema import Mode, connect


class Connections:
    """The connections of one store to the file at `path`, one per live thread."""

    def __init__(self, path: Path, busy_timeout: float, mode: Mode = "rwc") -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.mode = mode
        self._lock = threading.Lock()
        self._local = threading.local()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._pid = os.getpid()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._pid != os.getpid():
            conn = self._connect()
        return conn

    def _connect(self) -> sqlite3.Connection:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's connections are not ours to use
                self._pid, self._open, self._local = os.getpid(), [], threading.local()
            alive = []
            for thread, old in self._open:  # close what threads that have ended left behind
                if thread.is_alive():
                    alive.append((thread, old))
                else:
                    old.close()
            conn = connect(self.path, self.busy_timeout, self.mode)
            alive.append((threading.current_thread(), conn))
            self._open = alive
            self._local.conn = conn
            return conn

    def close(self) -> None:
        """Close every connection; a later `get` opens a new one."""
        with self._lock:
            for _, conn in self._open:
                conn.close()
            self._open, self._local = [], threading.local()

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction on this thread's connection, committed on success.

        A write transaction begins IMMEDIATE: it takes the write lock first (waiting up to the
        busy timeout) rather than upgrading a read lock later, which can fail without waiting.
        A read transaction gives its statements one snapshot.
        """
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # some errors have already rolled it back
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) leaves the transaction open; without the
            # rollback every later BEGIN on this thread's connection would fail too.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

"""The SQLite schema, its version, and how a connection is opened.

The schema version lives in `PRAGMA user_version`. A new file gets the current schema; a file
from an older archsearch is migrated step by step by `MIGRATIONS` (or rejected when no step is
known); a file from a newer archsearch is rejected, because this code cannot know what it holds.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

Mode = Literal["rwc", "rw", "ro"]
"""How a store opens its file, as SQLite's URI `mode`: "rwc" (the runner) creates the file and
its schema or migrates it; "rw" (`archsearch stop`) writes rows of an existing store; "ro" (list,
export, the dashboard) only reads. Only "rwc" ever changes the schema or the journal mode."""

SCHEMA_VERSION = 2
"""The version this code writes; bump it with a step in MIGRATIONS."""

OLDEST_READABLE = 1
"""The oldest version readers ("ro", "rw") open as it is, without migrating: what a later
version added reads as missing (version 1 has no trial `node`)."""

MIN_SQLITE = (3, 35, 0)
"""RETURNING (3.35), NULLS LAST (3.30) and the JSON functions are used."""

SCHEMA: tuple[str, ...] = (
    # seq keeps insertion order, so experiments created in the same instant still list in order.
    """CREATE TABLE experiments (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        config TEXT NOT NULL,
        search_space TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        pid INTEGER,
        error TEXT,
        stop_requested INTEGER NOT NULL DEFAULT 0
    )""",
    # metric holds finite values only (NULL otherwise) so it sorts and indexes as a number;
    # metric_text keeps the name of a non-finite one ("nan", "inf", "-inf").
    """CREATE TABLE trials (
        experiment_id TEXT NOT NULL REFERENCES experiments (id),
        id INTEGER NOT NULL,
        arch TEXT NOT NULL,
        status TEXT NOT NULL,
        metric REAL,
        metric_text TEXT,
        metrics TEXT NOT NULL,
        created_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        error TEXT,
        traceback TEXT,
        log_path TEXT,
        node TEXT,
        PRIMARY KEY (experiment_id, id)
    )""",
    "CREATE INDEX trials_by_status ON trials (experiment_id, status)",
    "CREATE INDEX trials_by_metric ON trials (experiment_id, metric)",
    """CREATE TABLE metrics (
        experiment_id TEXT NOT NULL,
        trial_id INTEGER NOT NULL,
        step INTEGER NOT NULL,
        time REAL NOT NULL,
        metrics TEXT NOT NULL,
        FOREIGN KEY (experiment_id, trial_id) REFERENCES trials (experiment_id, id)
    )""",
    "CREATE INDEX metrics_by_trial ON metrics (experiment_id, trial_id, step)",
)

MIGRATIONS: Mapping[int, Sequence[str]] = {
    1: ("ALTER TABLE trials ADD COLUMN node TEXT",),  # the machine each trial ran on
}
"""Version v → the statements that turn a version-v database into version v + 1."""


class IncompatibleStorageError(RuntimeError):
    """The database file was written by another archsearch version (or is not ours)."""


def connect(path: Path, busy_timeout: float, mode: Mode = "rwc") -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with this store's pragmas.

    `synchronous=NORMAL` in WAL mode syncs at checkpoints, not at every commit: a power cut may
    lose the last commits but never corrupts the file, and each write costs microseconds.
    A reader ("ro") whose file or folder it may write opens it "rw" all the same, without
    writing (`query_only`): a read-only connection would leave -wal and -shm files behind.
    """
    read_only = mode == "ro"
    if read_only and os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        mode = "rw"
    conn = _open(path, busy_timeout, mode, immutable=False)
    if mode == "ro":
        try:
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError:
            # A WAL file in a folder we may not write, with no -shm beside it: SQLite can read
            # it only as immutable (nobody can be writing it where we cannot create a file).
            conn.close()
            conn = _open(path, busy_timeout, mode, immutable=True)
    try:
        if read_only:  # opened "rw" above: refuse writes all the same
            conn.execute("PRAGMA query_only = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError):  # locked, unreadable: not about the format
            raise
        raise IncompatibleStorageError(f"{path} is not an SQLite database: {exc}") from None
    return conn


def _open(path: Path, busy_timeout: float, mode: Mode, immutable: bool) -> sqlite3.Connection:
    uri = f"{path.as_uri()}?mode={mode}" + ("&immutable=1" if immutable else "")
    return sqlite3.connect(
        uri, timeout=busy_timeout, isolation_level=None, check_same_thread=False, uri=True
    )


def check(conn: sqlite3.Connection, path: Path, version: int = SCHEMA_VERSION) -> int:
    """The file's schema version, changing nothing: what readers do instead of `prepare`.
    Refuse a file that is not archsearch storage of a version from `OLDEST_READABLE` to
    `version`."""
    found = _version(conn)
    if OLDEST_READABLE <= found <= version:
        return found
    _refuse_newer(path, found, version)
    if found == 0:
        _refuse_foreign(conn, path)
        raise IncompatibleStorageError(
            f"{path} holds no archsearch store (it is an empty database); "
            "nothing has been run with this storage"
        )
    raise IncompatibleStorageError(
        f"{path} has storage schema version {found}, older than this archsearch reads "
        f"(versions {OLDEST_READABLE} to {version}); resuming an experiment in it migrates it"
    )


def prepare(
    conn: sqlite3.Connection,
    path: Path,
    version: int = SCHEMA_VERSION,
    migrations: Mapping[int, Sequence[str]] = MIGRATIONS,
) -> int:
    """Switch the file to WAL mode and create, migrate or check its schema; the file's version
    afterwards (`version`)."""
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise IncompatibleStorageError(
            f"SQLite {sqlite3.sqlite_version} is too old for archsearch storage; "
            f"it needs {'.'.join(map(str, MIN_SQLITE))} or newer"
        )
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        raise IncompatibleStorageError(
            f"{path}: SQLite could not switch to WAL mode (journal mode is {mode!r}); "
            "use a file on a local file system"
        )
    if _version(conn) == version:
        return version
    conn.execute("BEGIN IMMEDIATE")  # another process may be creating it right now
    try:
        _create_or_migrate(conn, path, version, migrations)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return version


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _create_or_migrate(
    conn: sqlite3.Connection, path: Path, version: int, migrations: Mapping[int, Sequence[str]]
) -> None:
    found = _version(conn)
    _refuse_newer(path, found, version)
    if found == 0:
        _refuse_foreign(conn, path)
        for statement in SCHEMA:  # SCHEMA is always the current version's shape
            conn.execute(statement)
        found = version
    for step in range(found, version):
        if step not in migrations:
            raise IncompatibleStorageError(
                f"{path} has storage schema version {found}, which this archsearch "
                f"(version {version}) cannot migrate; export it with the archsearch that wrote it"
            )
        for statement in migrations[step]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {int(version)}")


def _refuse_newer(path: Path, found: int, version: int) -> None:
    if found > version:
        raise IncompatibleStorageError(
            f"{path} has storage schema version {found}, newer than this archsearch reads "
            f"(version {version}); upgrade archsearch or use another storage file"
        )


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse an unversioned file that has tables: another application's database."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")]
    if tables:
        raise IncompatibleStorageError(
            f"{path} is an SQLite database but not archsearch storage "
            f"(it has tables {', '.join(tables)}); use another file"
        )

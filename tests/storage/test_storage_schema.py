"""The file is in WAL mode, carries a schema version, and foreign or newer files are refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archsearch.storage import (
    SCHEMA_VERSION,
    ExperimentRecord,
    IncompatibleStorageError,
    SQLiteStorage,
)
from archsearch.storage.schema import prepare


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_wal_mode_and_pragmas(store: SQLiteStorage) -> None:
    conn = raw(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # stored in the file
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    own = store._conn()  # the store's connection: per-connection settings
    assert own.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert own.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert own.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_indexes_serve_the_dashboard_queries(store: SQLiteStorage) -> None:
    conn = store._conn()

    def plan(sql: str) -> str:
        return " ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ("e", 1)))

    assert "trials_by_status" in plan(
        "SELECT count(*) FROM trials WHERE experiment_id = ? AND status = 'running' AND ? = 1"
    )
    assert "trials_by_metric" in plan(
        "SELECT id FROM trials WHERE experiment_id = ? AND ? = 1 "
        "ORDER BY metric DESC NULLS LAST, id LIMIT 50"
    )
    assert "metrics_by_trial" in plan(
        "SELECT * FROM metrics WHERE experiment_id = ? AND trial_id = ?"
    )


def test_newer_schema_is_refused_with_a_clear_message(db_path: Path) -> None:
    SQLiteStorage(db_path).close()
    raw(db_path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(
        IncompatibleStorageError, match=rf"version {SCHEMA_VERSION + 5}, newer .*upgrade"
    ):
        SQLiteStorage(db_path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    raw(other).execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(IncompatibleStorageError, match=r"not archsearch storage.*people"):
        SQLiteStorage(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(IncompatibleStorageError, match="not an SQLite database"):
        SQLiteStorage(junk)


def test_older_schema_is_migrated_step_by_step_or_refused(db_path: Path) -> None:
    with SQLiteStorage(db_path) as store:
        store.create_experiment(ExperimentRecord(id="kept", name="kept"))
    conn = raw(db_path)
    future = SCHEMA_VERSION + 1
    with pytest.raises(IncompatibleStorageError, match="cannot migrate"):
        prepare(conn, db_path, version=future, migrations={})
    failing = {SCHEMA_VERSION: ["ALTER TABLE trials ADD COLUMN note TEXT", "NOT SQL"]}
    with pytest.raises(sqlite3.OperationalError):
        prepare(conn, db_path, version=future, migrations=failing)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # rolled back
    columns = [row[1] for row in conn.execute("PRAGMA table_info(trials)")]
    assert "note" not in columns
    steps = {SCHEMA_VERSION: ["ALTER TABLE trials ADD COLUMN note TEXT"]}
    prepare(conn, db_path, version=future, migrations=steps)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == future
    assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(trials)")]
    assert conn.execute("SELECT id FROM experiments").fetchall() == [("kept",)]


def test_in_memory_databases_are_refused() -> None:
    for path in (":memory:", "", "file:x.db?mode=memory"):
        with pytest.raises(ValueError, match="needs a file path"):
            SQLiteStorage(path)

"""A version-1 file, as the previous release wrote it: readers read it as it is (no trial node),
writing nothing; the runner ("rwc") migrates it to the current version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from archsearch.storage import SCHEMA_VERSION, SQLiteStorage
from archsearch.storage.schema import MIGRATIONS

V1_TRIALS = """CREATE TABLE trials (
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
    PRIMARY KEY (experiment_id, id)
)"""
V1_EXPERIMENTS = """CREATE TABLE experiments (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, config TEXT NOT NULL, search_space TEXT NOT NULL, spec TEXT NOT NULL,
    created_at REAL NOT NULL, started_at REAL, ended_at REAL, pid INTEGER, error TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0
)"""
V1_METRICS = """CREATE TABLE metrics (
    experiment_id TEXT NOT NULL, trial_id INTEGER NOT NULL, step INTEGER NOT NULL,
    time REAL NOT NULL, metrics TEXT NOT NULL,
    FOREIGN KEY (experiment_id, trial_id) REFERENCES trials (experiment_id, id)
)"""


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    """A version-1 store with one experiment and two trials (one done, one running)."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in (V1_EXPERIMENTS, V1_TRIALS, V1_METRICS):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO experiments (id, name, kind, status, config, search_space, spec, "
        "created_at) VALUES ('e1', 'old', 'multi-trial', 'running', '{}', '{}', '{}', 1.0)"
    )
    conn.execute(
        "INSERT INTO trials (experiment_id, id, arch, status, metric, metrics, created_at, "
        "started_at, ended_at) VALUES ('e1', 1, '{\"a\":1}', 'succeeded', 0.5, "
        "'{\"default\":0.5}', 1.0, 2.0, 3.0), "
        "('e1', 2, '{\"a\":2}', 'running', NULL, '{}', 1.0, 2.0, NULL)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    return path


def test_readers_read_a_version_1_file_without_writing_it(v1_file: Path) -> None:
    before = v1_file.read_bytes()
    for mode in ("ro", "rw"):
        with SQLiteStorage(v1_file, mode=mode) as reader:  # type: ignore[arg-type]
            trials = reader.trials("e1")
            assert [(t.id, t.status.value, t.metric, t.node) for t in trials] == [
                (1, "succeeded", 0.5, None),
                (2, "running", None, None),
            ]
            assert reader.trial("e1", 2).node is None
            page, total = reader.trial_page("e1", sort="metric", descending=True)
            assert [t.id for t in page] == [1, 2] and total == 2
            assert reader.status_counts("e1")["running"] == 1
    assert v1_file.read_bytes() == before
    assert sorted(p.name for p in v1_file.parent.iterdir()) == ["old.db"]


def test_the_runner_migrates_a_version_1_file(v1_file: Path) -> None:
    assert MIGRATIONS[1] == ("ALTER TABLE trials ADD COLUMN node TEXT",)
    with SQLiteStorage(v1_file) as store:
        assert store.trial("e1", 1).node is None
        assert store.place_trial("e1", 2, "gpu-node-3").node == "gpu-node-3"
        store.add_trial("e1", {"a": 3})
        assert store.start_trial("e1", 3, node="here").node == "here"
    conn = sqlite3.connect(v1_file)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert "node" in [row[1] for row in conn.execute("PRAGMA table_info(trials)")]
    conn.close()
    with SQLiteStorage(v1_file, mode="ro") as reader:
        assert [t.node for t in reader.trials("e1")] == [None, "gpu-node-3", "here"]

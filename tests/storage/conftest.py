"""Fixtures for storage tests: a real SQLite file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archsearch.storage import ExperimentRecord, SQLiteStorage


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "experiments.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStorage]:
    storage = SQLiteStorage(db_path)
    yield storage
    storage.close()


@pytest.fixture
def exp(store: SQLiteStorage) -> str:
    """The id of a new experiment in `store`."""
    store.create_experiment(ExperimentRecord(id="exp1", name="first"))
    return "exp1"

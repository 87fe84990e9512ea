"""open_storage reads None, paths, sqlite:/// URLs and Storage objects, and explains the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from archsearch.storage import SQLiteStorage, Storage, open_storage


def opened(spec: object) -> Path:
    store = open_storage(spec)  # type: ignore[arg-type]
    assert isinstance(store, SQLiteStorage)
    store.close()
    assert store.path.is_file()
    return store.path


def test_default_is_experiments_db_in_archsearch_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHSEARCH_HOME", str(tmp_path / "home" / "deeper"))
    assert opened(None) == tmp_path / "home" / "deeper" / "experiments.db"
    monkeypatch.delenv("ARCHSEARCH_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert opened(None) == tmp_path / "user" / ".archsearch" / "experiments.db"


def test_paths_and_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert opened("runs/a.db") == tmp_path / "runs" / "a.db"  # parents created
    assert opened(tmp_path / "p" / "b.db") == tmp_path / "p" / "b.db"  # PathLike
    assert opened("sqlite:///rel/c.db") == tmp_path / "rel" / "c.db"  # three slashes: relative
    assert opened(f"sqlite:///{tmp_path}/abs/d.db") == tmp_path / "abs" / "d.db"  # four: absolute
    assert opened("~/e.db") == tmp_path / "user" / "e.db"
    (tmp_path / "folder").mkdir()
    assert opened("folder") == tmp_path / "folder" / "experiments.db"
    assert opened("new-folder/") == tmp_path / "new-folder" / "experiments.db"
    # the same file opened twice is the same store
    with SQLiteStorage(tmp_path / "rel" / "c.db") as again:
        assert again.experiments() == []


def test_a_storage_is_used_as_it_is(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "x.db")
    assert open_storage(store) is store
    assert isinstance(store, Storage)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "postgresql://user@host/db",
            r"unsupported storage 'postgresql://user@host/db'.*sqlite:///",
        ),
        ("sqlite://host/x.db", "unsupported storage"),
        ("file:///tmp/x.db", "unsupported storage"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///:memory:", "names no database file"),
        ("sqlite:///x.db?mode=ro", "query options"),
        ("", "empty"),
        (":memory:", "needs a file path"),
    ],
)
def test_bad_specs_are_explained(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_storage(spec)


def test_other_types_are_refused() -> None:
    with pytest.raises(TypeError, match="got int"):
        open_storage(42)  # type: ignore[arg-type]


def test_readers_open_an_existing_store_only_and_ro_refuses_writes(tmp_path: Path) -> None:
    import pickle
    import sqlite3

    from archsearch.storage import ExperimentRecord

    db = tmp_path / "exp.db"
    for mode in ("ro", "rw"):
        with pytest.raises(FileNotFoundError, match="no experiment store"):
            open_storage(db, mode=mode)  # type: ignore[arg-type]
    assert not db.exists()
    with SQLiteStorage(db) as runner:
        runner.create_experiment(ExperimentRecord(id="e1", name="x"))
    reader = open_storage(db, mode="ro")
    assert [r.id for r in reader.experiments()] == ["e1"]
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        reader.request_stop("e1")
    assert pickle.loads(pickle.dumps(reader))._connections.mode == "ro"  # type: ignore[attr-defined]
    open_storage(db, mode="rw").request_stop("e1")  # `archsearch stop` writes rows, not schema
    assert reader.stop_requested("e1")

"""Read-only commands (`list`, `export`, `view`, and `stop` but for its stop request) change
nothing in the file they are pointed at, and read a store they may not write."""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import cli

from archsearch.cli import view
from archsearch.space import TrialStatus
from archsearch.storage import ExperimentRecord, ExperimentStatus, SQLiteStorage
from archsearch.ui import serve_in_background

READERS = (["list"], ["export", "e1"], ["stop", "e1"], ["view", "--port", "0"])


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in `folder`: its bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_readers_refuse_an_empty_or_foreign_file_and_leave_it_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty" / "exp.db"
    empty.parent.mkdir()
    empty.touch()
    other = tmp_path / "other" / "app.db"
    other.parent.mkdir()
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    for path, message in ((empty, "holds no archsearch store"), (other, "not archsearch")):
        before = files(path.parent)
        for command in READERS:
            code, _, err = cli(capsys, *command, "--storage", str(path))
            assert code == 1 and message in err and err.count("\n") == 1, (command, err)
        assert files(path.parent) == before, path
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    conn.close()


def finished_store(path: Path) -> None:
    """A done experiment "e1" with one succeeded trial, its store closed (no -wal, -shm)."""
    with SQLiteStorage(path) as store:
        store.create_experiment(ExperimentRecord(id="e1", name="done one"))
        store.add_trial("e1", {"op": "conv"})
        store.start_trial("e1", 1)
        store.finish_trial("e1", 1, TrialStatus.SUCCEEDED, metric=0.5)
        store.update_experiment("e1", status=ExperimentStatus.DONE)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder, the same folder mounted read-only). Tests run as root, which chmod does not
    stop, so the folder is bind-mounted read-only instead; skipped where mounting is refused."""
    source, mounted = tmp_path / "store", tmp_path / "read-only"
    source.mkdir()
    mounted.mkdir()
    mount = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(source), str(mounted)], capture_output=True, check=False
    )
    if mount.returncode != 0 or not (mounted / ".").exists():
        pytest.skip(f"cannot bind-mount a read-only folder here: {mount.stderr!r}")
    try:
        yield source, mounted
    finally:
        gc.collect()  # the commands leave their connections to the garbage collector
        subprocess.run(["umount", "--lazy", str(mounted)], check=True)


def test_list_export_and_view_read_a_store_on_a_read_only_file_system(
    read_only_folder: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, mounted = read_only_folder
    finished_store(source / "exp.db")
    before = files(source)
    db = str(mounted / "exp.db")
    with pytest.raises(OSError, match="Read-only"):
        (mounted / "probe").touch()  # the mount really refuses writes, even to root
    code, out, err = cli(capsys, "list", "--storage", db)
    assert code == 0 and "e1  done one  multi-trial  done" in out, err
    code, out, err = cli(capsys, "export", "e1", "--storage", db)
    assert code == 0 and json.loads(out)[0]["arch"] == {"op": "conv"}, err
    stop = threading.Event()
    stop.set()
    args = argparse.Namespace(storage=db, id="e1", port=0, host="127.0.0.1")
    assert view.run(args, stop) == 0, capsys.readouterr().err
    handle = serve_in_background(db, 0)
    try:
        with urllib.request.urlopen(f"{handle.url}api/experiments", timeout=10) as response:
            assert "done one" in response.read().decode()
    finally:
        handle.stop()
    assert files(source) == before


def test_readers_read_a_version_1_store_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The previous release's file: no trial `node` column, schema version 1.
    db = tmp_path / "exp.db"
    finished_store(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("ALTER TABLE trials DROP COLUMN node")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    before = files(tmp_path)
    code, out, err = cli(capsys, "list", "--storage", str(db))
    assert code == 0 and "e1  done one  multi-trial  done" in out, err
    gc.collect()
    assert files(tmp_path) == before, "list"
    code, out, err = cli(capsys, "export", "e1", "--storage", str(db))
    assert code == 0 and json.loads(out)[0]["arch"] == {"op": "conv"}, err
    gc.collect()
    assert files(tmp_path) == before, "export"
    handle = serve_in_background(str(db), 0)
    try:
        url = f"{handle.url}api/experiments/e1/trials"
        with urllib.request.urlopen(url, timeout=10) as response:
            (trial,) = json.loads(response.read())["trials"]
    finally:
        handle.stop()
    del handle
    gc.collect()  # the dashboard leaves its connections to the garbage collector
    assert trial["status"] == "succeeded" and trial["node"] is None
    assert files(tmp_path) == before

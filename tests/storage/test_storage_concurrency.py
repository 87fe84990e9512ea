"""Readers in other processes and threads see consistent data and never hold up the writer."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archsearch.space import TrialStatus
from archsearch.storage import ExperimentRecord, ExperimentStatus, MetricPoint, SQLiteStorage

BATCH = 4
"""Metric points the writer commits at once; a reader must see all of a batch or none."""

READER = r"""
import json, sys
from archsearch.storage import SQLiteStorage

store = SQLiteStorage(sys.argv[1])
print("ready", flush=True)
reads, seen, problems = 0, set(), []
while True:
    done = store.experiment("e").status.value == "done"
    rows, total = store.trial_page("e", limit=1_000_000)  # count and rows: one snapshot
    ids = [t.id for t in rows]
    if len(rows) != total or ids != list(range(1, total + 1)):
        problems.append(f"page of {len(rows)} rows, total {total}")
    for t in rows:
        if t.status.value == "succeeded" and None in (t.metric, t.started_at, t.ended_at):
            problems.append(f"trial {t.id} succeeded without its results")
        if t.status.value == "running" and t.started_at is None:
            problems.append(f"trial {t.id} running without a start")
    for trial_id, points in store.metrics_for("e", ids).items():
        if [p.step for p in points] != list(range(len(points))) or len(points) % BATCH:
            problems.append(f"trial {trial_id} has steps {[p.step for p in points]}")
    reads += 1
    seen.add(total)
    if done:
        break
print(json.dumps({"reads": reads, "distinct": len(seen), "final": total, "problems": problems[:5]}))
""".replace("BATCH", str(BATCH))

HOLDER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN")
print(conn.execute("SELECT count(*) FROM trials").fetchone()[0], flush=True)
sys.stdin.readline()  # the writer works while this read transaction stays open
print(conn.execute("SELECT count(*) FROM trials").fetchone()[0], flush=True)
conn.execute("COMMIT")
print(conn.execute("SELECT count(*) FROM trials").fetchone()[0], flush=True)
"""


def python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_trial(store: SQLiteStorage, i: int) -> float:
    """Write one whole trial as the runner does; return the slowest write's seconds."""
    times = []

    def timed(write: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = write()
        times.append(time.perf_counter() - start)
        return result

    trial = timed(lambda: store.add_trial("e", {"i": i}))
    timed(lambda: store.start_trial("e", trial.id))
    for first in (0, BATCH):
        steps = range(first, first + BATCH)
        points = [MetricPoint(trial.id, s, {"d": s / 8}, time.time()) for s in steps]
        timed(lambda: store.report_metrics("e", points))  # noqa: B023 - called at once
    timed(lambda: store.finish_trial("e", trial.id, TrialStatus.SUCCEEDED, metric=i / 100))
    return max(times)


def test_reader_process_sees_consistent_snapshots(db_path: Path) -> None:
    store = SQLiteStorage(db_path, busy_timeout=5.0)
    store.create_experiment(ExperimentRecord(id="e", name="e", status=ExperimentStatus.RUNNING))
    reader = python(READER, str(db_path))
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready", reader.stderr
        slowest = 0.0
        for i in range(300):
            slowest = max(slowest, run_trial(store, i))
            time.sleep(0.002)  # leave the reader time to read many intermediate states
        store.update_experiment("e", status=ExperimentStatus.DONE)
        out, err = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    report = json.loads(out)
    assert report["problems"] == []
    assert report["final"] == 300
    assert report["reads"] >= 3 and report["distinct"] >= 2, report
    assert slowest < 1.0, f"a write took {slowest:.3f} s while a process was reading"


def test_open_read_transaction_does_not_block_the_writer(db_path: Path) -> None:
    store = SQLiteStorage(db_path, busy_timeout=2.0)  # a blocked write would fail after 2 s
    store.create_experiment(ExperimentRecord(id="e", name="e"))
    run_trial(store, 0)
    holder = python(HOLDER, str(db_path))
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "1", holder.stderr
        start = time.perf_counter()
        slowest = max(run_trial(store, i) for i in range(1, 201))
        elapsed = time.perf_counter() - start
        holder.stdin.write("go on\n")
        holder.stdin.flush()
        out, err = holder.communicate(timeout=30)
    finally:
        holder.kill()
    assert holder.returncode == 0, err
    assert out.split() == ["1", "201"]  # its snapshot held; after it ends, it sees the writes
    assert slowest < 1.0 and elapsed < 20.0, (slowest, elapsed)
    assert len(store.trials("e")) == 201


def test_threads_share_a_store_with_their_own_connections(store: SQLiteStorage) -> None:
    store.create_experiment(ExperimentRecord(id="e", name="e"))
    errors: list[BaseException] = []
    reads = [0, 0, 0]
    finished = threading.Event()

    def reader(k: int) -> None:
        try:
            while not finished.is_set():
                rows, total = store.trial_page("e", sort="metric", descending=True, limit=20)
                counts = store.status_counts("e")
                assert total >= len(rows) and sum(counts.values()) >= total
                store.metrics_for("e", [t.id for t in rows])
                reads[k] += 1
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(150):
            run_trial(store, i)
    finally:
        finished.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert min(reads) > 0
    assert len({id(conn) for _, conn in store._connections._open}) == 4
    assert store.status_counts("e")["succeeded"] == 150


def _child_writes(store: SQLiteStorage) -> None:
    for i in range(50):
        store.add_trial("b", {"i": i})
    store.request_stop("a")
    store.close()


def test_a_forked_child_and_its_parent_write_in_turn(store: SQLiteStorage) -> None:
    for name in ("a", "b"):
        store.create_experiment(ExperimentRecord(id=name, name=name))
    store.add_trial("a", {"i": -1})  # the parent's connection exists before the fork
    child = multiprocessing.get_context("fork").Process(target=_child_writes, args=(store,))
    child.start()
    for i in range(50):
        store.add_trial("a", {"i": i})
    child.join(timeout=60)
    assert child.exitcode == 0
    assert [t.id for t in store.trials("a")] == list(range(1, 52))
    assert [t.arch["i"] for t in store.trials("b")] == list(range(50))
    assert store.stop_requested("a")

"""Storage costs of a multi-trial experiment: writes per trial and dashboard reads at 10,000 trials.

Writes: the runner's calls for one trial (`add_trial`, `start_trial`, `finish_trial`, and in the
whole-experiment figure three `report_metrics` batches) on `SQLiteStorage`, against raw
`sqlite3` executing the same rows into the same schema and pragmas (WAL, synchronous=NORMAL) in
the same run — the ratio is what the storage layer adds (records, JSON, checks, RETURNING).
Write timings are wall time (`perf_counter`): a store's cost includes its I/O.

Reads on an experiment of 10,000 finished trials: `trials()` against raw `fetchall()` of the same
rows, and `trial_page` (50 rows) under each sort key and a filter, `status_counts`,
`metrics_for` of a page — absolute targets, timed as this thread's CPU time.

Targets: a trial's three writes < 1 ms; the storage work of a 10,000-trial experiment < 15 s (a
quarter of the 60 s the whole inline experiment may take); `trials()` of 10,000 < 100 ms; any
trial page < 50 ms.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import compare, emit, parse_args, time_once

from archsearch.space import TrialStatus
from archsearch.storage import ExperimentRecord, MetricPoint, SQLiteStorage
from archsearch.storage.codec import TRIAL_COLUMNS
from archsearch.storage.schema import SCHEMA

BENCHMARK = "storage_ops"
WRITE_TARGET_MS = 1.0
EXPERIMENT_TARGET_S = 15.0
TRIALS_TARGET_MS = 100.0
PAGE_TARGET_MS = 50.0
STEPS = 3
"""`report_metrics` calls per trial in the whole-experiment figure (one point each, as an
evaluator reporting once per epoch)."""


def arch_of(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    return {
        "stem": rng.choice(["conv3", "conv5", "conv7"]),
        "hidden": rng.choice([16, 32, 64, 128]),
        "skip": rng.choice([[0], [1], [0, 1]]),
        "depth": rng.randint(1, 4),
    }


class Candidate:
    """The runner's writes through SQLiteStorage."""

    def __init__(self, path: Path) -> None:
        self.store = SQLiteStorage(path)
        self.store.create_experiment(ExperimentRecord(id="e", name="bench"))
        self.n = 0

    def trial(self, steps: int) -> None:
        i = self.n = self.n + 1
        trial = self.store.add_trial("e", arch_of(i))
        self.store.start_trial("e", trial.id, f"/logs/{trial.id}.log")
        for step in range(steps):
            point = MetricPoint(trial.id, step, {"default": step / 10, "loss": 1.0}, time.time())
            self.store.report_metrics("e", [point])
        metrics = {"default": i / 1e4, "loss": 0.5}
        self.store.finish_trial("e", trial.id, TrialStatus.SUCCEEDED, i / 1e4, metrics)


class Baseline:
    """The same rows written with raw sqlite3: one statement per call, autocommit."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        for statement in SCHEMA:
            self.conn.execute(statement)
        self.n = 0

    def trial(self, steps: int) -> None:
        i = self.n = self.n + 1
        c = self.conn
        c.execute(
            "INSERT INTO trials (experiment_id, id, arch, status, metrics, created_at) "
            "VALUES ('e', ?, ?, 'waiting', '{}', ?)",
            (i, json.dumps(arch_of(i)), time.time()),
        )
        c.execute(
            "UPDATE trials SET status = 'running', started_at = ?, log_path = ? "
            "WHERE experiment_id = 'e' AND id = ?",
            (time.time(), f"/logs/{i}.log", i),
        )
        for step in range(steps):
            c.execute(
                "INSERT INTO metrics VALUES ('e', ?, ?, ?, ?)",
                (i, step, time.time(), json.dumps({"default": step / 10, "loss": 1.0})),
            )
        c.execute(
            "UPDATE trials SET status = 'succeeded', metric = ?, metrics = ?, ended_at = ? "
            "WHERE experiment_id = 'e' AND id = ?",
            (i / 1e4, json.dumps({"default": i / 1e4, "loss": 0.5}), time.time(), i),
        )


def batch(writer: Candidate | Baseline, trials: int, steps: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(trials):
            writer.trial(steps)

    return run


def write_figures(folder: Path, quick: bool) -> Path:
    """Per-trial write cost, then a whole experiment; returns the candidate's database."""
    size = 40 if quick else 200
    cand, base = Candidate(folder / "w.db"), Baseline(folder / "w_raw.db")
    result = compare(
        batch(cand, size, 0), batch(base, size, 0), rounds=3 if quick else 15, collect=False
    )
    per_trial_ms = result.candidate_s / size * 1e3
    emit(
        BENCHMARK,
        figure="trial_add_start_finish",
        trials_per_round=size,
        archsearch_ms=per_trial_ms,
        baseline_ms=result.baseline_s / size * 1e3,
        ratio=result.ratio,
        baseline="raw sqlite3 INSERT + 2 UPDATEs of the same rows, same schema and pragmas",
        clock="perf_counter",
        target=f"archsearch_ms < {WRITE_TARGET_MS:g}",
        **{"pass": per_trial_ms < WRITE_TARGET_MS},
        rounds=result.rounds,
        quick=quick,
    )
    n = 300 if quick else 10_000
    cand, base = Candidate(folder / "exp.db"), Baseline(folder / "exp_raw.db")
    cand_s = time_once(batch(cand, n, STEPS))
    base_s = time_once(batch(base, n, STEPS))
    emit(
        BENCHMARK,
        figure="experiment_writes",
        trials=n,
        writes_per_trial=3 + STEPS,
        archsearch_s=cand_s,
        baseline_s=base_s,
        ratio=cand_s / base_s,
        clock="perf_counter",
        target=f"archsearch_s < {EXPERIMENT_TARGET_S:g} at 10000 trials",
        **{"pass": cand_s * 10_000 / n < EXPERIMENT_TARGET_S},
        quick=quick,
    )
    cand.store.close()
    return folder / "exp.db"


def median_ms(fn: Callable[[], Any], rounds: int) -> float:
    fn()
    return statistics.median(time_once(fn, clock=time.thread_time) for _ in range(rounds)) * 1e3


def read_figures(path: Path, quick: bool) -> None:
    store = SQLiteStorage(path)
    raw = sqlite3.connect(path)
    n = len(store.trials("e"))
    sql = f"SELECT {TRIAL_COLUMNS} FROM trials WHERE experiment_id = 'e' ORDER BY id"
    result = compare(
        lambda: store.trials("e"),
        lambda: raw.execute(sql).fetchall(),
        rounds=3 if quick else 11,
        clock=time.thread_time,
    )
    emit(
        BENCHMARK,
        figure="trials_all",
        trials=n,
        archsearch_ms=result.candidate_s * 1e3,
        baseline_ms=result.baseline_s * 1e3,
        ratio=result.ratio,
        baseline="raw sqlite3 fetchall() of the same rows (no records, no JSON decoding)",
        clock="thread_time",
        target=f"archsearch_ms < {TRIALS_TARGET_MS:g} at 10000 trials",
        **{"pass": result.candidate_s * 1e3 * 10_000 / n < TRIALS_TARGET_MS},
        rounds=result.rounds,
        quick=quick,
    )
    pages: dict[str, dict[str, Any]] = {
        "first_by_id": {},
        "last_by_id": {"offset": n - 50},
        "metric_desc": {"sort": "metric", "descending": True},
        "duration_middle": {"sort": "duration", "offset": n // 2},
        "status": {"sort": "status"},
        "arch_label": {"sort": "arch.hidden", "descending": True, "offset": 100},
        "filtered": {"status": "succeeded", "arch_filter": {"hidden": 64, "skip": [0, 1]}},
    }
    rounds = 3 if quick else 21
    for name, kwargs in pages.items():
        ms = median_ms(lambda kwargs=kwargs: store.trial_page("e", limit=50, **kwargs), rounds)
        emit(
            BENCHMARK,
            figure=f"trial_page_{name}",
            trials=n,
            query=json.dumps(kwargs),
            page_ms=ms,
            clock="thread_time",
            target=f"page_ms < {PAGE_TARGET_MS:g}",
            **{"pass": ms < PAGE_TARGET_MS},
            rounds=rounds,
            quick=quick,
        )
    others: dict[str, Callable[[], Any]] = {
        "status_counts": lambda: store.status_counts("e"),
        "metrics_for_page": lambda: store.metrics_for("e", list(range(1, 51))),
    }
    for name, fn in others.items():
        ms = median_ms(fn, rounds)
        emit(BENCHMARK, figure=name, trials=n, read_ms=ms, clock="thread_time", quick=quick)
    store.close()
    raw.close()


def main() -> None:
    args = parse_args(__doc__ or BENCHMARK)
    folder = Path(tempfile.mkdtemp(prefix="archsearch-storage-bench-"))
    try:
        read_figures(write_figures(folder, args.quick), args.quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

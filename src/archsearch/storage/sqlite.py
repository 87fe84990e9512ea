"""`SQLiteStorage`: the default store, one SQLite file in WAL mode.

Concurrency: each thread (and each forked child) opens its own connection. In WAL mode readers
see the last committed state and never block the writer, nor does the writer block them; two
writers (the runner and `archsearch stop`) take turns, waiting up to the busy timeout.
Single-statement writes commit on their own; multi-statement writes and reads run in one
explicit transaction.

Stop requests: `request_stop` sets a flag that `stop_requested` reads; `update_experiment`
clears it when the experiment enters "running" from another status (a resume of a stopped run).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from archsearch.space import Architecture, MetricReport, Trial, TrialStatus
from archsearch.storage.base import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    Storage,
)
from archsearch.storage.codec import (
    EXPERIMENT_COLUMNS,
    dump_json,
    experiment_from_row,
    load_json,
    metric_columns,
    storable_text,
    trial_columns,
    trial_from_row,
)
from archsearch.storage.connections import Connections
from archsearch.storage.paging import StatusFilter, check_final, check_page
from archsearch.storage.queries import page_query
from archsearch.storage.schema import Mode, check, prepare

_JSON_FIELDS = ("config", "search_space", "spec")
_UPDATABLE = ("name", "kind", "status", *_JSON_FIELDS, "started_at", "ended_at", "pid", "error")
_UNFINISHED = "('waiting', 'running')"
_REQUEUEABLE = "('waiting', 'running', 'cancelled')"  # cancelled: stopped by the experiment
_CLEAR_STOP = "stop_requested = CASE WHEN status = 'running' THEN stop_requested ELSE 0 END"
"""Entering "running" from another status clears a stop request (UPDATE sees old values)."""


class SQLiteStorage(Storage):
    """Experiments, trials and metrics in the SQLite file at `path`. `busy_timeout` is how long
    a write waits for another writer. `mode` "rwc" (the runner's) creates the file, its parent
    folders and its schema, or migrates it; "rw" and "ro" open an existing store (an older
    version as it is, its missing columns read as NULL: `schema.OLDEST_READABLE`) without changing
    its schema or journal mode (FileNotFoundError, else IncompatibleStorageError), "ro" refusing
    every write and reading a file it may not write."""

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0, mode: Mode = "rwc"
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError(
                f"SQLiteStorage needs a file path, got {str(path)!r} (every thread and process "
                "opens the file itself, so in-memory databases and URIs cannot be shared)"
            )
        self.path = Path(path).expanduser().absolute()
        if mode == "rwc":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise FileNotFoundError(
                f"no experiment store at {self.path}: nothing has been run with this storage"
            )
        self._connections = Connections(self.path, busy_timeout, mode)
        prepare_or_check = prepare if mode == "rwc" else check
        self._columns = trial_columns(prepare_or_check(self._conn(), self.path))

    def __repr__(self) -> str:
        return f"SQLiteStorage({str(self.path)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Connections cannot cross processes: a pickled store is the path, reopened there.
        connections = self._connections
        return (_reopen, (str(self.path), connections.busy_timeout, connections.mode))

    def __enter__(self) -> SQLiteStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection; the store reopens one if it is used again."""
        self._connections.close()

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    # -- experiments ----------------------------------------------------------------------
    def create_experiment(self, record: ExperimentRecord) -> None:
        """Store a new experiment (created_at defaults to now); ValueError if the id exists."""
        status = ExperimentStatus(record.status).value
        values = (
            record.id,
            storable_text(record.name),
            storable_text(record.kind),
            status,
            *(dump_json(getattr(record, f), f) for f in _JSON_FIELDS),
            time.time() if record.created_at is None else record.created_at,
            record.started_at,
            record.ended_at,
            record.pid,
            storable_text(record.error),
        )
        marks = ", ".join("?" * len(values))
        try:
            self._conn().execute(
                f"INSERT INTO experiments ({EXPERIMENT_COLUMNS}) VALUES ({marks})", values
            )
        except sqlite3.IntegrityError:
            raise ValueError(f"an experiment with id {record.id!r} exists in {self.path}") from None

    def update_experiment(self, experiment_id: str, **changes: Any) -> ExperimentRecord:
        """Change fields (name, kind, status, config, search_space, spec, started_at, ended_at,
        pid, error); moving into "running" clears a pending stop request."""
        unknown = sorted(set(changes) - set(_UPDATABLE))
        if unknown:
            raise ValueError(
                f"cannot update {', '.join(unknown)} of an experiment; "
                f"updatable: {', '.join(_UPDATABLE)}"
            )
        if not changes:
            return self.experiment(experiment_id)
        sets, params = [], []
        for name, value in changes.items():
            if name == "status":
                value = ExperimentStatus(value).value
            elif name in _JSON_FIELDS:
                value = dump_json(value, name)
            elif isinstance(value, str):
                value = storable_text(value)
            sets.append(f"{name} = ?")
            params.append(value)
        if changes.get("status") == ExperimentStatus.RUNNING.value:
            sets.append(_CLEAR_STOP)
        rows = self._conn().execute(
            f"UPDATE experiments SET {', '.join(sets)} WHERE id = ? RETURNING {EXPERIMENT_COLUMNS}",
            (*params, experiment_id),
        )
        row = rows.fetchone()
        rows.fetchall()  # step the statement to its end, so the implicit transaction ends
        if row is None:
            raise self._not_found(experiment_id)
        return experiment_from_row(row)

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        sql = f"SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?"
        row = self._conn().execute(sql, (experiment_id,)).fetchone()
        if row is None:
            raise self._not_found(experiment_id)
        return experiment_from_row(row)

    def experiments(self) -> list[ExperimentRecord]:
        rows = self._conn().execute(
            f"SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY created_at DESC, seq DESC"
        )
        return [experiment_from_row(row) for row in rows]

    def request_stop(self, experiment_id: str) -> None:
        cursor = self._conn().execute(
            "UPDATE experiments SET stop_requested = 1 WHERE id = ?", (experiment_id,)
        )
        if cursor.rowcount == 0:
            raise self._not_found(experiment_id)

    def stop_requested(self, experiment_id: str) -> bool:
        sql = "SELECT stop_requested FROM experiments WHERE id = ?"
        row = self._conn().execute(sql, (experiment_id,)).fetchone()
        if row is None:
            raise self._not_found(experiment_id)
        return bool(row[0])

    # -- trials ---------------------------------------------------------------------------
    def add_trial(self, experiment_id: str, arch: Architecture) -> Trial:
        if not isinstance(arch, Mapping):
            raise TypeError(f"an architecture is a dict label -> choice, got {type(arch).__name__}")
        try:
            return self._one_trial(
                "INSERT INTO trials (experiment_id, id, arch, status, metrics, created_at) "
                "SELECT ?, COALESCE(MAX(id), 0) + 1, ?, 'waiting', '{}', ? "
                f"FROM trials WHERE experiment_id = ? RETURNING {self._columns}",
                (experiment_id, dump_json(arch, "the architecture"), time.time(), experiment_id),
            )[0]
        except sqlite3.IntegrityError:  # the foreign key: no such experiment
            raise self._not_found(experiment_id) from None

    def start_trial(
        self,
        experiment_id: str,
        trial_id: int,
        log_path: str | None = None,
        node: str | None = None,
    ) -> Trial:
        rows = self._one_trial(
            "UPDATE trials SET status = 'running', started_at = ?, log_path = ?, node = ? "
            f"WHERE experiment_id = ? AND id = ? AND status = 'waiting' RETURNING {self._columns}",
            (time.time(), storable_text(log_path), storable_text(node), experiment_id, trial_id),
        )
        return rows[0] if rows else self._refuse(experiment_id, trial_id, "started")

    def place_trial(self, experiment_id: str, trial_id: int, node: str) -> Trial:
        rows = self._one_trial(
            "UPDATE trials SET node = ? WHERE experiment_id = ? AND id = ? "
            f"AND status = 'running' RETURNING {self._columns}",
            (storable_text(node), experiment_id, trial_id),
        )
        return rows[0] if rows else self._refuse(experiment_id, trial_id, "placed")

    def finish_trial(
        self,
        experiment_id: str,
        trial_id: int,
        status: TrialStatus,
        metric: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        traceback: str | None = None,
        ended_at: float | None = None,
        started_at: float | None = None,
    ) -> Trial:
        """Give a waiting or running trial its final status (a finished one: ValueError);
        `ended_at` defaults to now, `started_at` to the start `start_trial` recorded."""
        final = check_final(status)
        value, text = metric_columns(metric)
        rows = self._one_trial(
            "UPDATE trials SET status = ?, metric = ?, metric_text = ?, metrics = ?, error = ?, "
            "traceback = ?, ended_at = ?, started_at = COALESCE(?, started_at) "
            "WHERE experiment_id = ? AND id = ? "
            f"AND status IN {_UNFINISHED} RETURNING {self._columns}",
            (
                final.value,
                value,
                text,
                dump_json(dict(metrics or {}), f"the metrics of trial {trial_id}"),
                storable_text(error),
                storable_text(traceback),
                time.time() if ended_at is None else ended_at,
                started_at,
                experiment_id,
                trial_id,
            ),
        )
        return rows[0] if rows else self._refuse(experiment_id, trial_id, "finished")

    def requeue_trial(self, experiment_id: str, trial_id: int) -> Trial:
        """Put a waiting, running or cancelled trial back to waiting, dropping its start, end,
        log path, node, error and intermediate metrics; ValueError for a trial that ended on its own
        (succeeded, failed, timed out): its result is kept."""
        with self._connections.transaction(write=True) as conn:
            rows = conn.execute(
                "UPDATE trials SET status = 'waiting', started_at = NULL, ended_at = NULL, "
                "log_path = NULL, node = NULL, error = NULL, traceback = NULL "
                "WHERE experiment_id = ? AND id = ? "
                f"AND status IN {_REQUEUEABLE} RETURNING {self._columns}",
                (experiment_id, trial_id),
            ).fetchall()
            if rows:
                conn.execute(
                    "DELETE FROM metrics WHERE experiment_id = ? AND trial_id = ?",
                    (experiment_id, trial_id),
                )
        if not rows:
            self._refuse(experiment_id, trial_id, "requeued")
        return trial_from_row(rows[0])

    def trial(self, experiment_id: str, trial_id: int) -> Trial:
        sql = f"SELECT {self._columns} FROM trials WHERE experiment_id = ? AND id = ?"
        row = self._conn().execute(sql, (experiment_id, trial_id)).fetchone()
        if row is None:
            self.experiment(experiment_id)  # ExperimentNotFoundError first
            raise KeyError(f"no trial {trial_id} in experiment {experiment_id!r}")
        return trial_from_row(row)

    def trials(self, experiment_id: str) -> list[Trial]:
        rows = self._conn().execute(
            f"SELECT {self._columns} FROM trials WHERE experiment_id = ? ORDER BY id",
            (experiment_id,),
        )
        trials = [trial_from_row(row) for row in rows]
        if not trials:
            self.experiment(experiment_id)
        return trials

    # -- metrics --------------------------------------------------------------------------
    def report_metrics(self, experiment_id: str, points: Sequence[MetricReport]) -> None:
        """Append points in one transaction; KeyError if a point names an unknown trial."""
        rows = [
            (
                experiment_id,
                int(p.trial_id),
                int(p.step),
                float(p.time),
                dump_json(dict(p.metrics), f"the metrics of trial {p.trial_id}"),
            )
            for p in points
        ]
        if not rows:
            return
        try:
            with self._connections.transaction(write=True) as conn:
                conn.executemany(
                    "INSERT INTO metrics (experiment_id, trial_id, step, time, metrics) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
        except sqlite3.IntegrityError:  # the foreign key: no such trial
            for trial_id in sorted({row[1] for row in rows}):
                self.trial(experiment_id, trial_id)
            raise

    def metrics_for(
        self, experiment_id: str, trial_ids: Sequence[int]
    ) -> dict[int, list[MetricReport]]:
        result: dict[int, list[MetricReport]] = {int(i): [] for i in trial_ids}
        rows = self._conn().execute(
            "SELECT trial_id, step, metrics, time FROM metrics WHERE experiment_id = ? "
            "AND trial_id IN (SELECT value FROM json_each(?)) ORDER BY trial_id, step, rowid",
            (experiment_id, dump_json(list(result))),
        )
        for trial_id, step, metrics, at in rows:
            result[trial_id].append(MetricReport(trial_id, step, load_json(metrics), at))
        if not any(result.values()):
            self.experiment(experiment_id)
        return result

    # -- optional -------------------------------------------------------------------------
    def log_dir(self, experiment_id: str) -> Path:
        """`experiments/<id>/trials/` beside the database file."""
        return self.path.parent / "experiments" / experiment_id / "trials"

    def trial_page(
        self,
        experiment_id: str,
        *,
        offset: int = 0,
        limit: int = 50,
        sort: str = "id",
        descending: bool = False,
        status: StatusFilter = None,
        arch_filter: Mapping[str, Any] | None = None,
    ) -> tuple[list[Trial], int]:
        check_page(offset, limit)
        query = page_query(experiment_id, sort, descending, status, arch_filter)
        with self._connections.transaction(write=False) as conn:
            total = conn.execute(
                f"SELECT count(*) FROM trials WHERE {query.where}", query.where_params
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT {self._columns} FROM trials WHERE {query.where} "
                f"ORDER BY {query.order} LIMIT ? OFFSET ?",
                (*query.where_params, *query.order_params, limit, offset),
            ).fetchall()
            if total == 0:
                self.experiment(experiment_id)
        return [trial_from_row(row) for row in rows], total

    def status_counts(self, experiment_id: str) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in TrialStatus), 0)
        rows = self._conn().execute(
            "SELECT status, count(*) FROM trials WHERE experiment_id = ? GROUP BY status",
            (experiment_id,),
        )
        counts.update(rows)
        if not any(counts.values()):
            self.experiment(experiment_id)
        return counts

    # -- helpers --------------------------------------------------------------------------
    def _one_trial(self, sql: str, params: Sequence[Any]) -> list[Trial]:
        # fetchall steps the statement to its end, so its implicit transaction commits now
        return [trial_from_row(row) for row in self._conn().execute(sql, params).fetchall()]

    def _refuse(self, experiment_id: str, trial_id: int, action: str) -> NoReturn:
        trial = self.trial(experiment_id, trial_id)  # raises for unknown ids
        allowed = {"started": "waiting", "placed": "running"}.get(action, "waiting or running")
        raise ValueError(
            f"trial {trial_id} of experiment {experiment_id!r} is {trial.status.value}; "
            f"only a {allowed} trial can be {action}"
        )

    def _not_found(self, experiment_id: str) -> ExperimentNotFoundError:
        return ExperimentNotFoundError(
            f"no experiment {experiment_id!r} in {self.path}; "
            "`archsearch list` shows the experiments stored there"
        )


def _reopen(path: str, busy_timeout: float, mode: Mode) -> SQLiteStorage:
    return SQLiteStorage(path, busy_timeout=busy_timeout, mode=mode)

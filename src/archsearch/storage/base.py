"""The storage interface and the records it returns (all immutable).

One store holds many experiments: their records, their trials and the trials' intermediate
metrics. The experiment runner is the only writer of an experiment; readers (CLI, dashboard)
never block it. The default implementation is SQLite in WAL mode (`sqlite.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from archsearch.space import Architecture, MetricReport, OptimizeMode, Trial, TrialStatus
from archsearch.storage.paging import StatusFilter, page_of


class ExperimentStatus(str, Enum):
    """Where an experiment is in its life."""

    CREATED = "created"
    RUNNING = "running"
    DONE = "done"  # budget spent or strategy exhausted
    STOPPED = "stopped"  # stopped by the user (`stop()`, `archsearch stop`, Ctrl-C)
    FAILED = "failed"  # the runner itself failed (not a trial)

    @property
    def finished(self) -> bool:
        """Whether the experiment has ended (it may still be resumed)."""
        return self in (ExperimentStatus.DONE, ExperimentStatus.STOPPED, ExperimentStatus.FAILED)


class ExperimentNotFoundError(KeyError):
    """No experiment with that id in this store; the message lists how to find one."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "experiment not found"


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as stored.

    `kind` is "multi-trial" or "oneshot". `config` is the validated configuration as JSON,
    `search_space` the classic ss-gen JSON of the space, `spec` what is needed to rebuild the
    experiment on resume (import references or base64 pickles of the model space, evaluator and
    strategy). `pid` is the process that runs it while it runs.
    """

    id: str
    name: str
    kind: str = "multi-trial"
    status: ExperimentStatus = ExperimentStatus.CREATED
    config: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, Any] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    pid: int | None = None
    error: str | None = None

    @property
    def optimize_mode(self) -> OptimizeMode:
        """The experiment's optimize mode: "maximize" unless its config says "minimize"."""
        return "minimize" if self.config.get("optimize_mode") == "minimize" else "maximize"


MetricPoint = MetricReport
"""The name storage code first gave the intermediate-metric record (`archsearch.space`)."""


class Storage(ABC):
    """Experiments, trials and metrics. Every method returns fresh immutable records.

    A store implements the abstract methods; the others are defaults over them, which a store
    may replace with faster queries. `tests/storage/test_storage_contract.py` is the contract
    every store passes. Unknown experiment ids raise `ExperimentNotFoundError`, unknown trials
    `KeyError`.
    """

    # -- experiments ----------------------------------------------------------------------
    @abstractmethod
    def create_experiment(self, record: ExperimentRecord) -> None:
        """Store a new experiment; its id must be unused (ValueError otherwise)."""

    @abstractmethod
    def update_experiment(self, experiment_id: str, **changes: Any) -> ExperimentRecord:
        """Change fields of an experiment record (status, started_at, ended_at, pid, error,
        config, spec) and return the new record."""

    @abstractmethod
    def experiments(self) -> list[ExperimentRecord]:
        """Every experiment, newest first."""

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        """One experiment; ExperimentNotFoundError if the id is unknown."""
        for record in self.experiments():
            if record.id == experiment_id:
                return record
        raise ExperimentNotFoundError(f"no experiment {experiment_id!r} in {self!r}")

    @abstractmethod
    def request_stop(self, experiment_id: str) -> None:
        """Ask the process running an experiment to stop (it polls `stop_requested`)."""

    @abstractmethod
    def stop_requested(self, experiment_id: str) -> bool:
        """Whether a stop was requested since the experiment last started."""

    # -- trials ---------------------------------------------------------------------------
    @abstractmethod
    def add_trial(self, experiment_id: str, arch: Architecture) -> Trial:
        """Record a new waiting trial; ids count 1, 2, ... per experiment."""

    @abstractmethod
    def start_trial(
        self,
        experiment_id: str,
        trial_id: int,
        log_path: str | None = None,
        node: str | None = None,
    ) -> Trial:
        """Mark a waiting trial running (now), with the path of its log file and the machine it
        runs on when known already; ValueError for a trial that is not waiting."""

    @abstractmethod
    def place_trial(self, experiment_id: str, trial_id: int, node: str) -> Trial:
        """Record the machine a running trial runs on, once its backend says (ValueError for a
        trial that is not running)."""

    @abstractmethod
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
        """Give a trial its final status and results; `started_at`, when given, replaces the
        start recorded by `start_trial` (when the trial began running, not when it was sent)."""

    @abstractmethod
    def requeue_trial(self, experiment_id: str, trial_id: int) -> Trial:
        """Put an unfinished trial back to waiting (resume), dropping its partial metrics."""

    @abstractmethod
    def trials(self, experiment_id: str) -> list[Trial]:
        """Every trial of an experiment, by id."""

    def trial(self, experiment_id: str, trial_id: int) -> Trial:
        """One trial; KeyError naming experiment and trial if unknown."""
        for trial in self.trials(experiment_id):
            if trial.id == trial_id:
                return trial
        raise KeyError(f"no trial {trial_id} in experiment {experiment_id!r}")

    # -- metrics --------------------------------------------------------------------------
    @abstractmethod
    def report_metrics(self, experiment_id: str, points: Sequence[MetricReport]) -> None:
        """Append intermediate metrics, all or none (KeyError for a point of an unknown
        trial, TypeError for values JSON cannot hold)."""

    @abstractmethod
    def metrics_for(
        self, experiment_id: str, trial_ids: Sequence[int]
    ) -> dict[int, list[MetricReport]]:
        """The intermediate metrics of several trials, by step; every requested id is a key
        (an empty list for a trial without metrics or an unknown id)."""

    def metrics(self, experiment_id: str, trial_id: int) -> list[MetricReport]:
        """A trial's intermediate metrics, by step; KeyError for an unknown trial."""
        points = self.metrics_for(experiment_id, [trial_id])[trial_id]
        if not points:
            self.trial(experiment_id, trial_id)
        return points

    # -- optional (defaults: plain Python over the methods above; stores may replace them) --
    def log_dir(self, experiment_id: str) -> Path | None:
        """The folder for the trial logs of an experiment, or None to keep no log files."""
        return None

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
        """One page of an experiment's trials and how many match in all.

        `sort` is "id", "metric", "status", "duration", "started_at" or `arch.<label>`
        (ValueError for others); missing values sort last either way, ties by id. `status`
        keeps one status or any of several; `arch_filter` keeps trials whose architecture has
        each given label set to the given value. `storage/paging.py` defines the order exactly.
        """
        return page_of(
            self.trials(experiment_id),
            offset=offset,
            limit=limit,
            sort=sort,
            descending=descending,
            status=status,
            arch_filter=arch_filter,
        )

    def status_counts(self, experiment_id: str) -> dict[str, int]:
        """How many trials of the experiment are in each status (every status, zeros too)."""
        counts = dict.fromkeys((s.value for s in TrialStatus), 0)
        for trial in self.trials(experiment_id):
            counts[trial.status.value] += 1
        return counts

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection (optional)."""

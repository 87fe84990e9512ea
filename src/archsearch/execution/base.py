"""Where trials run: jobs (plain data), the events a backend sends back, and the Backend
interface that the inline, local-process and Ray backends implement.

A job carries no live object across processes: the model space and the evaluator travel as
`Ref`s (an import reference, or a pickle when the object is not importable).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archsearch.execution.refs import Ref
from archsearch.space import Architecture, TrialStatus
from archsearch.space import MetricReport as MetricReport  # the record backends send, re-exported


@dataclass(frozen=True)
class Job:
    """One trial to run: which architecture of which model space, evaluated how.

    `max_duration` (seconds) is enforced by the backend: past it the trial is killed and
    reported with status TIMEOUT. `log_path` receives the trial's stdout and stderr.
    """

    experiment_id: str
    trial_id: int
    arch: Architecture
    model_space: Ref
    evaluator: Ref
    log_path: str | None = None
    max_duration: float | None = None


@dataclass(frozen=True)
class TrialResult:
    """How a trial ended. `metric` is set exactly when `status` is SUCCEEDED."""

    trial_id: int
    status: TrialStatus
    metric: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    started_at: float | None = None
    ended_at: float | None = None


Event = MetricReport | TrialResult
"""What `Backend.poll` returns: reports of running trials and results of finished ones, in the
order they happened per trial."""


class Backend(ABC):
    """Runs jobs somewhere and reports back. Used from one thread (the experiment runner).

    Contract: `submit` only when `free_slots() > 0`; every submitted job yields exactly one
    `TrialResult` (after any number of `MetricReport`s) unless it is cancelled, which yields a
    CANCELLED result. A failure inside a trial — an exception, a NaN metric, a crash of the
    process running it, a timeout — is a result, never an exception of the backend.
    """

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start running `job`."""

    @abstractmethod
    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events since the last poll; waits up to `timeout` seconds for the first one."""

    @abstractmethod
    def free_slots(self) -> int:
        """How many more jobs can run now."""

    @abstractmethod
    def cancel(self, trial_id: int) -> None:
        """Stop a running trial; its result (CANCELLED) arrives through `poll`."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every trial and release workers. Safe to call twice."""

    def running(self) -> int:
        """How many submitted jobs have no result yet (optional; used for progress)."""
        return 0

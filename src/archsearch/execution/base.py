"""Where trials run: jobs (plain data), the events a backend sends back, and the Backend
interface that every backend implements (inline, threads, local worker processes).

A job carries no live object across processes: the model space and the evaluator travel as
`Ref`s (an import reference, or a pickle when the object is not importable); each backend class
says which kind its trials need (`Backend.transfer`).
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from archsearch.execution.refs import Ref, Transfer
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


@dataclass(frozen=True)
class TrialStarted:
    """A trial began on `node` (a host name), sent by a backend whose trials run on several
    machines (`Backend.node()` is None) before the trial's reports."""

    trial_id: int
    node: str


Event = MetricReport | TrialStarted | TrialResult
"""What `Backend.poll` returns: where trials started, reports of running trials and results
of finished ones, in the order they happened per trial."""


class GpuSettings(Protocol):
    """The GPUs trials may use (`ExperimentConfig.training_service`)."""

    gpu_indices: tuple[int, ...] | None


class BackendConfig(Protocol):
    """What a backend reads from the experiment's config to build itself (`ExperimentConfig`
    has it; a backend that needs more settings adds them there and here)."""

    trial_concurrency: int
    trial_gpu_number: int | None

    @property
    def training_service(self) -> GpuSettings: ...


class Backend(ABC):
    """Runs jobs somewhere and reports back. Used from one thread (the experiment runner).

    Contract: `submit` only when `free_slots() > 0`; every submitted job yields exactly one
    `TrialResult` (after any number of `MetricReport`s) unless it is cancelled, which yields a
    CANCELLED result. A failure inside a trial — an exception, a NaN metric, a crash of the
    process running it, a timeout — is a result, never an exception of the backend.

    A backend class states how the user's objects reach its trials (`transfer`) and builds
    itself from the experiment's config (`from_config`); a row of `execution.BACKENDS` gives
    it the name `ExperimentConfig(execution=...)` picks it by.
    """

    transfer: ClassVar[Transfer] = Transfer.PROCESS
    """How the jobs' model space and evaluator must be given (the strictest by default)."""

    @classmethod
    def from_config(cls, config: BackendConfig) -> Backend:
        """The backend an experiment with `config` runs its trials on (needed by a backend
        in `BACKENDS`; one only used directly may leave it out)."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from a config")

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

    def node(self) -> str | None:
        """The machine every trial runs on, stored with each trial as it is sent: this one by
        default. A backend that places trials on several machines returns None and sends a
        `TrialStarted` naming each trial's."""
        return socket.gethostname()


def take_events(
    queued: MutableSequence[Event],
    collect: Callable[[float], None],
    closed: Callable[[], bool],
    timeout: float,
) -> list[Event]:
    """One `poll` of a backend whose trials run elsewhere (worker processes, Ray actors): every
    event `collect(wait)` has queued, waiting up to `timeout` s (inside `collect`, no busy loop)
    for the first one."""
    end = time.monotonic() + timeout
    collect(0.0)
    while not queued and not closed() and (left := end - time.monotonic()) > 0:
        collect(left)
    events = list(queued)
    queued.clear()
    return events


def check_concurrency(concurrency: int) -> None:
    """Refuse a slot count that is not a positive int (in a backend's constructor)."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive int, not {concurrency!r}")


def check_duration(seconds: float | None) -> None:
    """Refuse a `max_duration` that is not a positive number of seconds (in `submit`)."""
    if seconds is not None and not seconds > 0:
        raise ValueError(
            f"max_duration must be a positive number of seconds or None, not {seconds!r}"
        )

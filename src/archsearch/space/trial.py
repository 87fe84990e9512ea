"""Trials as immutable records: what strategies, storage, the runner and the UI exchange.

Pure data (standard library only), so torch-free layers (strategies, storage) share it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, NoReturn

OptimizeMode = Literal["maximize", "minimize"]
"""Whether a larger or a smaller final metric is better."""

OPTIMIZE_MODES: tuple[OptimizeMode, ...] = ("maximize", "minimize")


class TrialStatus(str, Enum):
    """Where a trial is in its life. The last four are final."""

    WAITING = "waiting"  # recorded, not started (or re-queued by resume)
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # raised, crashed, or gave no finite metric
    TIMEOUT = "timeout"  # ran past max_trial_duration and was killed
    CANCELLED = "cancelled"  # stopped because the experiment ended or was stopped

    @property
    def finished(self) -> bool:
        """Whether the trial has reached a final status."""
        return self not in (TrialStatus.WAITING, TrialStatus.RUNNING)


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes, so that a record holding one stays what it was stored as.

    A dict subclass rather than a mapping proxy: JSON, pickle, `==` and `dict(...)` treat it as
    the plain dict it was made from. Only the top level is read-only.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this mapping is read-only; change a copy: dict(trial.arch)")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        # dict subclasses unpickle through __setitem__, which refuses: rebuild from a copy.
        return (ReadOnlyDict, (dict(self),))


@dataclass(frozen=True)
class MetricReport:
    """One intermediate report of a trial: its step, the values and when it was made.

    Backends send it to the runner, which stores it as it is; storage returns it.
    """

    trial_id: int
    step: int
    metrics: Mapping[str, Any]
    time: float


@dataclass(frozen=True)
class Trial:
    """One architecture evaluated in an experiment. Never mutated: storage returns new records.

    `metric` is the final default metric (a finite float) of a succeeded trial; `metrics` holds
    every final value the evaluator reported (the default one under "default"). `error` is a
    one-line reason for a failed, timed-out or cancelled trial, `traceback` its full text.
    `node` is the machine (host name) the trial ran on, once the backend knows it.
    `arch` is read-only (a `ReadOnlyDict`): every holder of the record sees the same choices.
    """

    experiment_id: str
    id: int
    arch: Mapping[str, Any]
    status: TrialStatus = TrialStatus.WAITING
    metric: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    traceback: str | None = None
    log_path: str | None = None
    node: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.arch, ReadOnlyDict):
            object.__setattr__(self, "arch", ReadOnlyDict(self.arch))

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def score(trial: Trial, mode: OptimizeMode) -> float | None:
    """The trial's metric signed so that larger is better; None unless it succeeded finitely."""
    metric = trial.metric
    if trial.status is not TrialStatus.SUCCEEDED or metric is None or not math.isfinite(metric):
        return None
    return metric if mode == "maximize" else -metric


def best_trials(
    trials: list[Trial] | tuple[Trial, ...], mode: OptimizeMode, k: int = 1
) -> list[Trial]:
    """The `k` best succeeded trials under `mode`, best first (ties: the earlier trial first)."""
    scored = [(s, t) for t in trials if (s := score(t, mode)) is not None]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [t for _, t in scored[:k]]

"""Trials as immutable records: what strategies, storage, the runner and the UI exchange.

Pure data (standard library only), so torch-free layers (strategies, storage) share it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from archsearch.space.search_space import Architecture

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


@dataclass(frozen=True)
class Trial:
    """One architecture evaluated in an experiment. Never mutated: storage returns new records.

    `metric` is the final default metric (a finite float) of a succeeded trial; `metrics` holds
    every final value the evaluator reported (the default one under "default"). `error` is a
    one-line reason for a failed, timed-out or cancelled trial, `traceback` its full text.
    """

    experiment_id: str
    id: int
    arch: Architecture
    status: TrialStatus = TrialStatus.WAITING
    metric: float | None = None
    metrics: Mapping[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    error: str | None = None
    traceback: str | None = None
    log_path: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, once both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


def score(trial: Trial, mode: OptimizeMode) -> float | None:
    """The trial's metric signed so that larger is better; None unless it succeeded finitely."""
    if trial.status is not TrialStatus.SUCCEEDED or trial.metric is None:
        return None
    if not math.isfinite(trial.metric):
        return None
    return trial.metric if mode == "maximize" else -trial.metric


def best_trials(
    trials: list[Trial] | tuple[Trial, ...], mode: OptimizeMode, k: int = 1
) -> list[Trial]:
    """The `k` best succeeded trials under `mode`, best first (ties: the earlier trial first)."""
    scored = [(s, t) for t in trials if (s := score(t, mode)) is not None]
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    return [t for _, t in scored[:k]]

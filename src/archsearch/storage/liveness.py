"""Whether a "running" experiment still has a live process: a runner killed with SIGKILL (or a
lost machine) never gets to record its end, so readers check the process it left behind. Also
how long an experiment has run, which depends on that."""

from __future__ import annotations

import os
import time

from archsearch.storage.base import ExperimentRecord, ExperimentStatus


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def display_status(record: ExperimentRecord) -> str:
    """The status, with "interrupted" for a "running" experiment whose process is gone."""
    if record.status is ExperimentStatus.RUNNING and not pid_alive(record.pid):
        return "interrupted"
    return record.status.value


def run_seconds(record: ExperimentRecord, status: str, now: float | None = None) -> float | None:
    """Seconds the experiment has run over all its runs (None when unknown); `status` is its
    `display_status`.

    `started_at` restarts on every resume; the runner adds each finished run's time to
    `spec["elapsed_s"]`, which is also what `max_duration` is counted against."""
    if record.started_at is None:
        return None
    before = float(record.spec.get("elapsed_s", 0.0) or 0.0)
    if status in ("running", "created"):  # elapsed_s holds the earlier runs only
        return before + max(0.0, (now or time.time()) - record.started_at)
    if before:
        return before  # a finished run's time is in it
    if record.ended_at is None:
        return None  # interrupted before anything recorded how long it ran
    return max(0.0, record.ended_at - record.started_at)

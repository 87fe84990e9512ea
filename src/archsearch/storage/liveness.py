"""Whether a "running" experiment still has a live process: a runner killed with SIGKILL (or a
lost machine) never gets to record its end, so readers check the process it left behind."""

from __future__ import annotations

import os

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

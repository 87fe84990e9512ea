"""The actor behind one trial slot of the Ray backend, and the messages it streams back.

One actor per slot lives for many trials and holds the slot's CPUs, GPUs and custom resources.
It runs each trial in a persistent worker process of its own (a one-slot `LocalBackend`: torch
and the user's code imported once; output of C code and child processes captured; a trial
that segfaults or calls `os._exit` kills that process, not the actor). So the driver can tell
a trial that crashed (a FAILED result from the actor) from a worker or node that was lost (the
actor itself is gone: the trial runs again). Nothing here imports Ray: the backend wraps this
class with `ray.remote`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from archsearch.execution.base import Job, MetricReport, TrialResult, TrialStarted
from archsearch.execution.local import LocalBackend
from archsearch.execution.refs import Ref

POLL_SECONDS = 0.25
"""How often a trial's output is read and sent back when the driver cannot see its log file."""

LOG_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Started:
    """A trial began: on which node, in which processes (the slot's actor and its worker)."""

    trial_id: int
    node: str
    node_id: str
    pid: int
    worker_pid: int
    time: float


@dataclass(frozen=True)
class LogChunk:
    """Output of a trial whose node does not share the driver's file system."""

    trial_id: int
    data: bytes


Message = Started | MetricReport | LogChunk | TrialResult


class TrialSlot:
    """One slot: a worker process running trials, one at a time, streaming what happens."""

    def __init__(self, driver_path: Sequence[str], code_root: str | None) -> None:
        # The driver's import path, where it exists here (on the driver's machine: all of it),
        # so that the user's modules import as they do there.
        for folder in driver_path:
            if folder and folder not in sys.path and os.path.isdir(folder):
                sys.path.append(folder)
        self.code_root = code_root  # the driver's folder shipped as this actor's working dir
        # GPUs: Ray set this actor's CUDA_VISIBLE_DEVICES; the worker inherits it as it is.
        self.local = LocalBackend(1, gpus=(), gpus_per_trial=0)
        self.local.start()
        self.node = socket.gethostname()
        import ray  # this runs in a Ray worker: Ray is there

        self.node_id = str(ray.get_runtime_context().get_node_id())
        self._spool: str | None = None  # a folder for output the driver cannot read

    def placed(self) -> None:
        """Answers once the actor runs (the driver waits for it to know the slot is placed)."""

    def ready(self, timeout: float) -> bool:
        """Wait until the worker has imported everything (benchmarks, tests)."""
        return self.local.wait_ready(timeout)

    def run(self, job: Job, marker: str | None) -> Iterator[Message]:
        """Run `job` in the worker; yield Started, its reports (and output, when this node
        does not see the driver's `marker` file beside the log), then its result."""
        pids = self.local.worker_pids()
        now = time.time()
        yield Started(
            job.trial_id, self.node, self.node_id, os.getpid(), pids[0] if pids else 0, now
        )
        shares_logs = marker is not None and os.path.exists(marker)
        job = replace(job, model_space=self._here(job.model_space))
        job = replace(job, evaluator=self._here(job.evaluator))
        spool = None
        if job.log_path is not None and not shares_logs:
            self._spool = self._spool or tempfile.mkdtemp(prefix="archsearch-trial-logs-")
            spool = os.path.join(self._spool, f"{job.trial_id}.log")
            job = replace(job, log_path=spool)
        self.local.submit(job)
        offset = 0
        while True:
            events = self.local.poll(POLL_SECONDS if spool else 3600.0)
            if spool is not None:
                for chunk in _read_from(spool, offset):
                    offset += len(chunk)
                    yield LogChunk(job.trial_id, chunk)
            for event in events:
                if isinstance(event, TrialStarted):  # never from a LocalBackend; types need it
                    continue
                yield event
                if isinstance(event, TrialResult):
                    if spool is not None:
                        for chunk in _read_from(spool, offset):
                            yield LogChunk(job.trial_id, chunk)
                        os.unlink(spool)
                    return

    def kill_trial(self) -> None:
        """Kill the running trial's worker and every process it started (its process group),
        before the actor itself is killed: killing the actor would stop the worker alone."""
        for pid in self.local.worker_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def _here(self, ref: Ref) -> Ref:
        """`ref` with the user's script found in the shipped code when the driver's path of
        it does not exist on this node."""
        path = ref.main_path
        if path is None or self.code_root is None or os.path.exists(path):
            return ref
        relative = os.path.relpath(path, self.code_root)
        if relative.startswith(os.pardir):
            return ref
        return replace(ref, main_path=os.path.join(os.getcwd(), relative))


def _read_from(path: str, offset: int) -> Iterator[bytes]:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            while chunk := log.read(LOG_CHUNK):
                yield chunk
    except FileNotFoundError:
        return

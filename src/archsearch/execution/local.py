"""The local backend: trials run in persistent worker processes on this machine.

Each worker is a process started once (spawn or forkserver) that imports torch and the user's
code once and then serves one trial at a time over its own pipe, so a trial costs a message
round trip rather than an interpreter start. Whatever happens to a trial — an exception, a
segfault, `os._exit`, a hang past its time, a cancel — is reported as that trial's result; a
worker that died or was killed is replaced.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing import connection, util
from multiprocessing.process import BaseProcess
from typing import Any

from archsearch.execution import local_worker
from archsearch.execution.base import (
    Backend,
    BackendConfig,
    Event,
    Job,
    MetricReport,
    TrialResult,
    check_concurrency,
    check_duration,
    take_events,
)
from archsearch.execution.gpus import worker_envs
from archsearch.execution.logs import append_note
from archsearch.execution.main_script import main_not_inherited
from archsearch.execution.refs import Transfer
from archsearch.execution.worker import ended_result, overtime
from archsearch.space import TrialStatus

START_METHODS = ("spawn", "forkserver")


@dataclass
class _Worker:
    """The runner's view of one worker process (runner-side state, never sent anywhere)."""

    slot: int
    process: BaseProcess
    conn: connection.Connection
    ready: bool = False
    job: Job | None = None
    started: float | None = None  # when the current job began running (worker ready)
    refs: local_worker.Refs | None = None  # the references last sent to the worker

    @property
    def deadline(self) -> float | None:
        if self.job is None or self.job.max_duration is None or self.started is None:
            return None
        return self.started + self.job.max_duration


class LocalBackend(Backend):
    """Runs up to `concurrency` trials at once, each in a persistent local worker process.

    Workers start on the first `submit` (all of them, so they warm up in parallel) or when
    `start()` is called; starting one costs an interpreter plus the torch import (seconds),
    after which a trial costs about a millisecond of overhead.

    - Output: each worker points its file descriptors 1 and 2 at the trial's `log_path` for
      the trial's duration, so prints, C-level output and child processes land in the log.
    - Time limit: `max_duration` counts from when the worker starts the trial; past it the
      worker's process group gets SIGTERM, then SIGKILL after `grace_period` seconds; the
      trial is TIMEOUT and the worker replaced. Limits are checked while `poll` runs.
    - Crashes: a worker that dies during a trial (segfault, `os._exit`, out of memory) fails
      that trial with the reason ("worker process died (signal SIGSEGV)") and is replaced.
    - GPUs: `gpus` (default: every GPU visible here) and `gpus_per_trial` (default 1 when a
      GPU is present, else 0; NNI's trial_gpu_number) give each worker slot its GPUs through
      `CUDA_VISIBLE_DEVICES`, round-robin. Without GPUs nothing is set.
    - Ctrl-C: workers run in their own process group, so the terminal's SIGINT reaches only
      the runner; it stops the trials with `cancel`/`shutdown`, not the keyboard mid-write.
    - `shutdown()` (also run at interpreter exit and when the backend is garbage collected)
      stops idle workers with a message and kills busy ones; no worker outlives the runner.

    Objects defined in the user's `__main__` script work: a worker imports that script the
    first time it needs one, under the name `__mp_main__` (its `if __name__ == "__main__":`
    block does not run there), and stops where the script starts an experiment, so NNI-style
    scripts without that block do not start the experiment again in each worker.
    """

    transfer = Transfer.PROCESS

    def __init__(
        self,
        concurrency: int = 1,
        *,
        gpus: Sequence[int | str] | None = None,
        gpus_per_trial: int | None = None,
        start_method: str = "spawn",
        grace_period: float = 2.0,
    ) -> None:
        check_concurrency(concurrency)
        if start_method not in START_METHODS:
            raise ValueError(
                f"start_method must be one of {', '.join(START_METHODS)}, not {start_method!r} "
                "(fork is unsafe once torch has started threads)"
            )
        if not grace_period >= 0:
            raise ValueError(f"grace_period must be 0 or more seconds, not {grace_period}")
        self.concurrency = concurrency
        self.grace_period = float(grace_period)
        self._gpus = gpus
        self._gpus_per_trial = gpus_per_trial
        # Workers share the cores: N workers with torch's default (all cores each) thrash.
        # A user's OMP_NUM_THREADS wins.
        cores = os.cpu_count() or 1
        self._threads = None if "OMP_NUM_THREADS" in os.environ else max(1, cores // concurrency)
        self._ctx: Any = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            # Workers fork from a server that has torch imported: replacements start fast.
            self._ctx.set_forkserver_preload(["archsearch.execution.local_worker"])
        self._envs: list[dict[str, str]] | None = None
        self._workers: list[_Worker | None] = [None] * concurrency
        self._events: deque[Event] = deque()
        self._closed = False
        # Runs at shutdown(), on garbage collection, and at interpreter exit before
        # multiprocessing joins its children (which would otherwise wait forever).
        self._finalizer = util.Finalize(
            self, _stop_workers, args=(self._workers, self.grace_period), exitpriority=10
        )

    @classmethod
    def from_config(cls, config: BackendConfig) -> LocalBackend:
        """`trial_concurrency` workers with the config's GPUs (`trial_gpu_number` each)."""
        return cls(
            config.trial_concurrency,
            gpus=config.training_service.gpu_indices,
            gpus_per_trial=config.trial_gpu_number,
        )

    def start(self) -> None:
        """Start every worker now (otherwise the first `submit` does). Idempotent."""
        if self._closed:
            raise RuntimeError("this LocalBackend has been shut down")
        if self._envs is None:
            self._envs = worker_envs(self.concurrency, self._gpus, self._gpus_per_trial)
        for slot, worker in enumerate(self._workers):
            if worker is None:
                self._workers[slot] = self._spawn(slot)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Start the workers and wait until each has finished importing (benchmarks, tests).

        Returns whether all were ready within `timeout` seconds; False at once when a worker
        died while starting (its error is on stderr).
        """
        self.start()
        end = None if timeout is None else time.monotonic() + timeout
        while not all(w is not None and w.ready for w in self._workers):
            left = 1.0 if end is None else end - time.monotonic()
            if left <= 0 or any(w is None for w in self._workers):
                return False
            self._collect(left)
        return True

    def submit(self, job: Job) -> None:
        """Send `job` to an idle worker (one that is ready, when there is one)."""
        if self._closed:
            raise RuntimeError("this LocalBackend has been shut down")
        check_duration(job.max_duration)
        self.start()
        idle = [w for w in self._workers if w is not None and w.job is None]
        if not idle:
            raise RuntimeError(
                f"no free slot: all {self.concurrency} workers are busy (check free_slots())"
            )
        worker = max(idle, key=lambda w: w.ready)
        worker.job = job
        worker.started = time.time() if worker.ready else None
        refs = local_worker.Refs(job.model_space, job.evaluator)
        # A dead worker cannot take it: the next poll reports the trial FAILED with the reason.
        with contextlib.suppress(OSError, ValueError):
            if refs != worker.refs:
                worker.conn.send(refs)
                worker.refs = refs
            nothing = local_worker.NO_REF
            worker.conn.send(replace(job, model_space=nothing, evaluator=nothing))

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events since the last poll; waits up to `timeout` s (no busy loop) for the first."""
        return take_events(self._events, self._collect, lambda: self._closed, timeout)

    def free_slots(self) -> int:
        """Workers without a job (0 after shutdown)."""
        return 0 if self._closed else self.concurrency - self.running()

    def running(self) -> int:
        """Jobs sent to workers whose result has not been received."""
        return sum(1 for w in self._workers if w is not None and w.job is not None)

    def cancel(self, trial_id: int) -> None:
        """Kill the worker running `trial_id` (CANCELLED result) and start a new one.

        Does nothing when no worker runs it (it has finished, or was never submitted).
        """
        for worker in self._live():
            if worker.job is not None and worker.job.trial_id == trial_id:
                self._stop(worker, "cancelled")

    def shutdown(self) -> None:
        """Stop all workers: idle ones by message, busy ones killed (CANCELLED results)."""
        if self._closed:
            return
        self._closed = True
        for worker in self._live():
            if worker.job is not None:
                self._stop(worker, "the backend was shut down")
        self._finalizer()

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (for tests and diagnostics)."""
        return [w.process.pid for w in self._workers if w is not None and w.process.pid]

    # -- internals -------------------------------------------------------------------------

    def _spawn(self, slot: int) -> _Worker:
        assert self._envs is not None
        ours, theirs = self._ctx.Pipe(duplex=True)
        spec = local_worker.WorkerSpec(slot=slot, env=self._envs[slot], threads=self._threads)
        process = self._ctx.Process(
            target=local_worker.main, args=(theirs, spec), name=f"archsearch-worker-{slot}"
        )
        with main_not_inherited():  # the worker imports the user's script when it needs it
            process.start()
        theirs.close()
        return _Worker(slot=slot, process=process, conn=ours)

    def _collect_wait(self, timeout: float) -> None:
        """Block until a worker sends something or exits, or a deadline or `timeout` passes."""
        now = time.time()
        deadlines = [w.deadline - now for w in self._live() if w.deadline is not None]
        wait_s = max(0.0, min([timeout, *deadlines]))
        objects: list[Any] = [w.conn for w in self._live()]
        objects += [w.process.sentinel for w in self._live()]
        if objects:
            connection.wait(objects, wait_s)
        else:
            time.sleep(wait_s)

    def _collect(self, wait: float) -> None:
        """Queue the messages of every worker, deaths and overdue trials turned into results."""
        if wait > 0:
            self._collect_wait(wait)
        for worker in self._live():
            self._events.extend(self._drain(worker))
            if worker.conn.closed or worker.process.exitcode is not None:
                self._events.extend(self._reap(worker))
            elif worker.deadline is not None and time.time() >= worker.deadline:
                assert worker.job is not None
                self._events.append(self._kill(worker, TrialStatus.TIMEOUT, overtime(worker.job)))

    def _live(self) -> list[_Worker]:
        return [w for w in self._workers if w is not None]

    def _drain(self, worker: _Worker) -> list[Event]:
        """Every message waiting on the worker's pipe; closes the pipe at end of file."""
        events: list[Event] = []
        try:
            while not worker.conn.closed and worker.conn.poll():
                message = worker.conn.recv()
                if isinstance(message, local_worker.Ready):
                    worker.ready = True
                    if worker.job is not None:
                        worker.started = time.time()
                elif isinstance(message, MetricReport | TrialResult) and worker.job is not None:
                    events.append(message)
                    if isinstance(message, TrialResult):
                        worker.job, worker.started = None, None
        except (EOFError, OSError):
            worker.conn.close()  # the worker died, possibly in the middle of a message
        return events

    def _reap(self, worker: _Worker) -> list[Event]:
        """A worker that exited: fail its trial with the reason, start a replacement."""
        worker.process.join(self.grace_period)
        if worker.process.exitcode is None:  # closed its pipe but lives on: not a worker
            _terminate(worker.process, self.grace_period)
        events: list[Event] = []
        if (job := worker.job) is not None:
            reason = f"worker process died ({_exit_reason(worker.process.exitcode)})"
            if not worker.ready:
                reason += " while starting up; its error is on the runner's stderr"
            append_note(job.log_path, reason)
            events.append(ended_result(job.trial_id, TrialStatus.FAILED, reason, worker.started))
        # A worker that could not even start (its script fails to import) is restarted only
        # when the slot gets a job, not in a hot loop.
        self._replace(worker, now=worker.ready)
        return events

    def _stop(self, worker: _Worker, reason: str) -> None:
        """Cancel the trial of a busy worker, unless its result has arrived meanwhile."""
        self._events.extend(self._drain(worker))
        if worker.job is not None:
            self._events.append(self._kill(worker, TrialStatus.CANCELLED, reason))

    def _kill(self, worker: _Worker, status: TrialStatus, reason: str) -> TrialResult:
        """Kill a busy worker (and its child processes); the trial ends with `status`."""
        _terminate(worker.process, self.grace_period)
        assert worker.job is not None
        append_note(worker.job.log_path, f"trial stopped: {reason}")
        result = ended_result(worker.job.trial_id, status, reason, worker.started)
        self._replace(worker)
        return result

    def _replace(self, worker: _Worker, now: bool = True) -> None:
        """Start a new worker in the slot of one that is gone (or, with `now` false, leave
        the slot for `start` to fill at the next submit)."""
        worker.conn.close()
        worker.process.join(0)
        fresh = now and not self._closed
        self._workers[worker.slot] = self._spawn(worker.slot) if fresh else None


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def _signal_group(pid: int, sig: int) -> None:
    """Send `sig` to the worker's process group (the worker and what it started), or to the
    worker alone when it has not made its group yet."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _terminate(process: BaseProcess, grace: float) -> None:
    """SIGTERM, up to `grace` seconds to exit, then SIGKILL (to stragglers of the group too:
    until `join` reaps the worker its group id cannot be reused, so this hits only ours)."""
    pid = process.pid
    if pid is None:
        return
    _signal_group(pid, signal.SIGTERM)
    connection.wait([process.sentinel], grace)
    _signal_group(pid, signal.SIGKILL)
    process.join()


def _stop_workers(workers: list[_Worker | None], grace: float) -> None:
    """Stop every worker: idle ones by a STOP message (up to `grace` s to exit), busy ones
    and stragglers killed."""
    live = [w for w in workers if w is not None]
    for worker in live:
        if worker.job is None:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(local_worker.STOP)
        else:
            _terminate(worker.process, grace)
    end = time.monotonic() + grace
    for worker in live:
        connection.wait([worker.process.sentinel], max(0.0, end - time.monotonic()))
        if worker.process.exitcode is None:
            _terminate(worker.process, 0.0)
        worker.process.join()
        worker.conn.close()
    workers[:] = [None] * len(workers)

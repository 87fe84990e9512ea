"""The thread backend: each running trial is a thread of the runner's process calling `run_job`.

For evaluators whose work happens in subprocesses (classic script trials): a thread that
mostly waits on a child process costs nothing, needs no worker process importing torch, and
sees every result at once. Threads cannot be interrupted, so cancellation and `max_duration`
work through the reporter: `should_stop()` turns true and the evaluator ends the trial
(`ScriptEvaluator` kills its process group). An evaluator that never polls `should_stop` runs to
its end; a trial that ends past its `max_duration` is recorded as TIMEOUT all the same, and a
cancelled one as CANCELLED unless it succeeded.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import replace

from archsearch.execution.base import (
    Backend,
    BackendConfig,
    Event,
    Job,
    TrialResult,
    check_duration,
)
from archsearch.execution.logs import append_note
from archsearch.execution.refs import Transfer
from archsearch.execution.worker import (
    CallbackReporter,
    failed_result,
    overtime,
    run_job,
    sending_reports,
)
from archsearch.space import TrialStatus


class ThreadReporter(CallbackReporter):
    """The reporter of a thread-run trial.

    `log_path` is the trial's log file (threads share stdout and stderr, so an evaluator that
    starts processes writes their output there itself). `should_stop()` is true once the trial
    is cancelled or past its deadline; `stop_reason` then says which.
    """

    def __init__(self, events: queue.Queue[Event], job: Job) -> None:
        super().__init__(sending_reports(job.trial_id, events.put))
        self.log_path = job.log_path
        self.deadline = time.monotonic() + (job.max_duration or math.inf)
        self.stop_reason: TrialStatus | None = None

    def cancel(self) -> None:
        """Ask the trial to stop (it ends CANCELLED)."""
        if self.stop_reason is None:
            self.stop_reason = TrialStatus.CANCELLED

    def should_stop(self) -> bool:
        """Whether the trial was cancelled or has run past its `max_duration`."""
        if self.stop_reason is None and time.monotonic() >= self.deadline:
            self.stop_reason = TrialStatus.TIMEOUT
        return self.stop_reason is not None


class ThreadBackend(Backend):
    """Runs up to `concurrency` jobs at once, one thread each (see the module docstring)."""

    transfer = Transfer.CHECKED

    def __init__(self, concurrency: int = 1) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        self._events: queue.Queue[Event] = queue.Queue()
        self._running: dict[int, ThreadReporter] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._closed = False

    @classmethod
    def from_config(cls, config: BackendConfig) -> ThreadBackend:
        """`trial_concurrency` threads."""
        return cls(config.trial_concurrency)

    def submit(self, job: Job) -> None:
        """Start `job` in a new thread."""
        if self._closed:
            raise RuntimeError("this ThreadBackend has been shut down")
        if self.free_slots() < 1:
            raise RuntimeError(f"all {self.concurrency} slots are taken: poll() first")
        if job.trial_id in self._running:
            raise ValueError(f"trial {job.trial_id} is already running")
        check_duration(job.max_duration)
        reporter = ThreadReporter(self._events, job)
        thread = threading.Thread(
            target=self._run, args=(job, reporter), name=f"trial-{job.trial_id}", daemon=True
        )
        self._running[job.trial_id] = reporter
        self._threads[job.trial_id] = thread
        thread.start()

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events so far; waits up to `timeout` seconds for the first one."""
        events: list[Event] = []
        try:  # waits for the first event only
            events.append(self._events.get(block=timeout > 0, timeout=timeout))
            while True:
                events.append(self._events.get_nowait())
        except queue.Empty:
            pass
        for event in events:
            if isinstance(event, TrialResult):
                # The slot frees when the result is handed out, so a runner never sees more
                # running trials than slots.
                self._running.pop(event.trial_id, None)
                self._threads.pop(event.trial_id, None)
        return events

    def free_slots(self) -> int:
        """Slots not taken by a trial whose result has not been polled yet."""
        return 0 if self._closed else max(0, self.concurrency - len(self._running))

    def running(self) -> int:
        """Submitted jobs whose result has not been polled yet."""
        return len(self._running)

    def cancel(self, trial_id: int) -> None:
        """Ask a running trial to stop; its CANCELLED result arrives through `poll`."""
        reporter = self._running.get(trial_id)
        if reporter is not None:
            reporter.cancel()

    def shutdown(self, wait: float = 10.0) -> None:
        """Cancel every trial, wait up to `wait` seconds for their threads, refuse new jobs."""
        self._closed = True
        for reporter in list(self._running.values()):
            reporter.cancel()
        deadline = time.monotonic() + wait
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, job: Job, reporter: ThreadReporter) -> None:
        started = time.time()
        try:
            result = run_job(job, reporter)
        except BaseException as exc:
            # Whatever run_job lets through would end this thread silently and the trial would
            # never report back: the runner would wait for it forever.
            result = failed_result(job.trial_id, exc, started)
        reporter.should_stop()  # notes a deadline passed while the evaluator was not polling
        reason = reporter.stop_reason
        if reason is TrialStatus.CANCELLED and result.status is TrialStatus.SUCCEEDED:
            reason = None  # it succeeded before it saw the cancel: the metric stands
        if reason is not None:
            if reason is TrialStatus.TIMEOUT:
                error = overtime(job)
            else:
                error = "cancelled: the experiment ended or was stopped while the trial ran"
            # The trial's own times and traceback stay; a metric it may have is dropped.
            result = replace(result, status=reason, error=error, metric=None, metrics={})
            append_note(job.log_path, error)
        self._events.put(result)

"""The inline backend: each trial runs in the runner's own process, one at a time.

For debugging (`Experiment.local_debug_run`, a breakpoint inside the evaluator works) and for
evaluators so cheap that a process hop would dominate (tabular benchmarks).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from archsearch.execution.base import (
    Backend,
    BackendConfig,
    Event,
    Job,
    TrialResult,
    check_duration,
)
from archsearch.execution.logs import tee_output
from archsearch.execution.refs import Transfer
from archsearch.execution.worker import (
    CallbackReporter,
    describe,
    ended_result,
    overtime,
    run_job,
    sending_reports,
)
from archsearch.space import TrialStatus


class TrialTimeout(BaseException):
    """Raised inside an inline trial when it runs past `max_duration`.

    A BaseException, like KeyboardInterrupt, so that the usual `except Exception` in user code
    (and in `run_job`) does not swallow it.
    """


class InlineBackend(Backend):
    """Runs each job in this process as soon as it is submitted; one slot.

    `submit` runs the whole trial before returning and queues its events (intermediate reports,
    then the result); `poll` hands them out in order. The slot stays taken until the result has
    been polled, so a runner that fills free slots before polling alternates submit and poll,
    and its strategy sees every result before the next ask.

    `max_duration` is enforced with a SIGALRM timer when `submit` is called from the main
    thread on a platform that has `signal.setitimer` (Unix): the trial is interrupted by
    `TrialTimeout` and reported TIMEOUT. Elsewhere it is not enforced (a warning-free no-op).
    The timer takes over SIGALRM and ITIMER_REAL for the trial's duration.
    Output is tee'd: written to the console as usual and appended to `job.log_path`.
    `cancel` does nothing: a trial has always ended by the time the runner can call it.
    Ctrl-C during a trial propagates from `submit`, after queueing the trial's CANCELLED result.
    """

    transfer = Transfer.LIVE

    def __init__(self) -> None:
        self._events: deque[Event] = deque()
        self._pending = 0  # results run but not yet polled
        self._closed = False

    @classmethod
    def from_config(cls, config: BackendConfig) -> InlineBackend:
        """One slot whatever the config (`ExperimentConfig.validate` refuses more)."""
        return cls()

    def submit(self, job: Job) -> None:
        """Run `job` now; its events wait for the next `poll`."""
        if self._closed:
            raise RuntimeError("this InlineBackend has been shut down")
        if self.free_slots() < 1:
            raise RuntimeError(
                "InlineBackend has one slot, still taken by an unpolled result: poll() first"
            )
        check_duration(job.max_duration)
        self._pending += 1
        reporter = CallbackReporter(sending_reports(job.trial_id, self._events.append))
        started = time.time()
        try:
            with tee_output(job.log_path):
                result = run_with_deadline(job, reporter)
        except BaseException as exc:
            # Ctrl-C inside the trial ends the runner, which cancels what it submitted and
            # waits for each result: this trial still gets its one result (else a 30 s wait).
            error = f"interrupted: {describe(exc)}".rstrip(": ")
            self._events.append(ended_result(job.trial_id, TrialStatus.CANCELLED, error, started))
            raise
        self._events.append(result)

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Every queued event; never waits (nothing can happen between calls)."""
        events = list(self._events)
        self._events.clear()
        self._pending -= sum(isinstance(e, TrialResult) for e in events)
        return events

    def free_slots(self) -> int:
        """1 when no result is waiting to be polled, else 0."""
        return 0 if self._closed or self._pending else 1

    def running(self) -> int:
        """Submitted jobs whose result has not been polled yet."""
        return self._pending

    def cancel(self, trial_id: int) -> None:
        """Nothing to stop: inline trials have finished when `submit` returns."""

    def shutdown(self) -> None:
        """Refuse further jobs; queued events can still be polled."""
        self._closed = True


def run_with_deadline(job: Job, reporter: CallbackReporter) -> TrialResult:
    """`run_job`, interrupted after `job.max_duration` seconds when this thread can do so."""
    if job.max_duration is None or not deadline_enforceable():
        return run_job(job, reporter)
    started = time.time()
    try:
        with _alarm(job.max_duration):
            return run_job(job, reporter)
    except TrialTimeout:
        return ended_result(job.trial_id, TrialStatus.TIMEOUT, overtime(job), started)


def deadline_enforceable() -> bool:
    """Whether an inline trial can be interrupted here: main thread, Unix timers."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise TrialTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            # If the alarm fires between the trial's end and this line, TrialTimeout is raised
            # here instead: the trial did run over its time, so TIMEOUT is still the truth.
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous)

"""The Ray rows of trial_overhead.py (execution="ray" on a local Ray, 2 slots).

- start-up: a local Ray started on 127.0.0.1 plus 2 slot actors whose worker processes have
  imported torch, from nothing (target ≤ 30 s);
- per-trial cost of trivial trials at concurrency 2, measured as the other backends' rows
  (target ≤ 10 ms);
- faults: SIGKILL of a running trial's slot actor → its result (FAILED with retries off: the
  time to notice, target ≤ 2 s); the same with one retry → the re-run's result (a fresh actor
  starts, then the 1 s trial runs again: reported); cancel → the CANCELLED result (≤ 1 s).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from common import emit

from archsearch.evaluator import Metric, TrialEvaluator, TrialInput
from archsearch.execution import Job, RayBackend, Ref, TrialResult

STARTUP_TARGET_S = 30.0
TRIAL_TARGET_MS = 10.0
KILL_TARGET_S = 2.0
CANCEL_TARGET_S = 1.0


class Pause(TrialEvaluator):
    """Sleeps `seconds`, then returns 1 (a trial long enough to be killed or cancelled)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def evaluate_trial(self, trial: TrialInput) -> Metric:
        time.sleep(self.seconds)
        return 1.0


def _result_after(backend: RayBackend, job: Job, act: Callable[[int], None]) -> TrialResult:
    """Submit `job`, call `act(actor pid)` once it has started, return its result."""
    backend.submit(job)
    acted = False
    while True:
        for event in backend.poll(0.05):
            if isinstance(event, TrialResult) and event.trial_id == job.trial_id:
                return event
        if not acted and job.trial_id in backend.started:
            act(backend.started[job.trial_id].pid)
            acted = True


def _timed(backend: RayBackend, job: Job, act: Callable[[int], None]) -> tuple[float, str]:
    began: list[float] = []

    def timed_act(pid: int) -> None:
        began.append(time.perf_counter())
        act(pid)

    result = _result_after(backend, job, timed_act)
    return time.perf_counter() - began[0], result.status.value


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def ray_figures(
    measure: Callable[[Any], tuple[float, float]], space: Ref, logs: str
) -> dict[str, dict[str, Any]]:
    """The figures of each Ray row; `measure(backend)` is the per-trial timing of the other
    backends' rows (seconds per trial: backend, direct baseline)."""
    started = time.perf_counter()
    backend = RayBackend(2, gpus_per_trial=0)
    try:
        if not backend.wait_ready(300):
            raise RuntimeError("Ray slots did not start")
        startup = time.perf_counter() - started
        ours, base = measure(backend)

        def job(trial_id: int, seconds: float) -> Job:
            judge = Ref.of(Pause(seconds), "evaluator")
            log = os.path.join(logs, f"ray_{trial_id}.log")
            return Job("bench", trial_id, {"act": "relu"}, space, judge, log_path=log)

        backend.config.max_retries = 0
        kill_s, kill_status = _timed(backend, job(10**6, 30.0), _kill)
        backend.wait_ready(300)
        cancel_s, cancel_status = _timed(
            backend, job(10**6 + 1, 30.0), lambda pid: backend.cancel(10**6 + 1)
        )
        backend.wait_ready(300)
        backend.config.max_retries = 1
        rerun_s, rerun_status = _timed(backend, job(10**6 + 2, 1.0), _kill)
    finally:
        backend.shutdown()
    return {
        "ray_startup": {
            "startup_s": startup,
            "target": f"startup_s <= {STARTUP_TARGET_S:g}",
            "pass": startup <= STARTUP_TARGET_S,
        },
        "ray_no_model": {
            "archsearch_ms": ours * 1e3,
            "baseline_ms": base * 1e3,
            "ratio": ours / base,
            "target": f"archsearch_ms <= {TRIAL_TARGET_MS:g}",
            "pass": ours * 1e3 <= TRIAL_TARGET_MS,
        },
        "ray_faults": {
            "kill_to_result_s": kill_s,
            "kill_status": kill_status,
            "cancel_to_result_s": cancel_s,
            "cancel_status": cancel_status,
            "kill_to_rerun_result_s": rerun_s,
            "rerun_status": rerun_status,
            "target": f"kill_to_result_s <= {KILL_TARGET_S:g} and "
            f"cancel_to_result_s <= {CANCEL_TARGET_S:g}",
            "pass": kill_s <= KILL_TARGET_S and cancel_s <= CANCEL_TARGET_S,
        },
    }


def emit_ray_rows(
    benchmark: str,
    measure: Callable[[Any], tuple[float, float]],
    space: Ref,
    logs: str,
    **common: Any,
) -> None:
    """Print the Ray rows (`common`: the fields every row of the benchmark has)."""
    # Ray's driver prints the raylet's notices of dead workers (the kills measured here) on
    # stdout, from a thread: keep them off the JSON lines until Ray is shut down.
    with contextlib.redirect_stdout(sys.stderr):
        rows = ray_figures(measure, space, logs)
    for figure, fields in rows.items():
        emit(benchmark, figure=figure, backend="ray", **fields, **common)

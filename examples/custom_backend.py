"""Your own execution backend, in one file: trials run in a `concurrent.futures` process pool.

Copy this file to start a backend of your own (a job queue, a cluster, Ray). A backend is a
`Backend` subclass that says how the model space and the evaluator reach its trials
(`transfer`), builds itself from the experiment's config (`from_config`), and implements
`submit`, `poll`, `free_slots`, `running`, `cancel` and `shutdown` (the contract is in
archsearch/execution/base.py). Each trial runs the function every backend shares, `run_job`
(here through `run_with_deadline`, which also enforces `max_duration`). One row in `BACKENDS`
gives it a name, and `ExperimentConfig("pool")` runs an experiment on it.

python examples/custom_backend.py   # both architectures of a tiny classifier, 2 pool processes

What this sketch leaves out (LocalBackend does it): intermediate reports reach the runner with
the trial's result rather than as they are made; a trial already running when it is cancelled
finishes in the background (a pool cannot stop a call it has started); and the pool's workers
run the user's script as they start, so it must start its experiment under
`if __name__ == "__main__":` (see archsearch/execution/main_script.py for the alternative).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

import torch

import archsearch.nn as nn
from archsearch.evaluator import FunctionalEvaluator
from archsearch.execution import (
    BACKENDS,
    Backend,
    BackendConfig,
    Event,
    Job,
    MetricReport,
    Transfer,
    TrialResult,
    check_duration,
)
from archsearch.execution.inline import run_with_deadline
from archsearch.execution.logs import tee_output
from archsearch.execution.worker import CallbackReporter
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import TrialStatus
from archsearch.strategy import GridSearch


class PoolBackend(Backend):
    """Up to `concurrency` trials at once, each one call in a pool of worker processes."""

    transfer = Transfer.PROCESS  # the user's objects are imported or unpickled in the workers

    def __init__(self, concurrency: int = 2) -> None:
        self.concurrency = concurrency
        # spawn: fresh interpreters (forking a process that runs torch threads is unsafe)
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(concurrency, mp_context=context)
        self._running: dict[int, Future[list[Event]]] = {}
        self._cancelled: list[Event] = []  # results of cancelled trials, for the next poll

    @classmethod
    def from_config(cls, config: BackendConfig) -> PoolBackend:
        return cls(config.trial_concurrency)

    def submit(self, job: Job) -> None:
        check_duration(job.max_duration)
        if self.free_slots() < 1:
            raise RuntimeError(f"all {self.concurrency} slots are taken: poll() first")
        self._running[job.trial_id] = self._pool.submit(run_in_worker, job)

    def poll(self, timeout: float = 0.0) -> list[Event]:
        if not self._cancelled:
            wait(self._running.values(), timeout, return_when=FIRST_COMPLETED)
        events, self._cancelled = self._cancelled, []
        for trial_id, future in list(self._running.items()):
            if future.done():
                del self._running[trial_id]
                error = future.exception()  # the worker died: a result all the same
                events += future.result() if error is None else [ended(trial_id, repr(error))]
        return events

    def free_slots(self) -> int:
        return self.concurrency - len(self._running)

    def running(self) -> int:
        return len(self._running)

    def cancel(self, trial_id: int) -> None:
        future = self._running.pop(trial_id, None)
        if future is not None:
            future.cancel()  # stops it only if it has not started yet
            self._cancelled.append(ended(trial_id, "cancelled", TrialStatus.CANCELLED))

    def shutdown(self) -> None:
        for trial_id in list(self._running):
            self.cancel(trial_id)
        self._pool.shutdown(wait=False, cancel_futures=True)


def run_in_worker(job: Job) -> list[Event]:
    """One trial, in a pool process: its intermediate reports, then its result."""
    events: list[Event] = []

    def report(step: int, metrics: Mapping[str, Any]) -> None:
        events.append(MetricReport(job.trial_id, step, dict(metrics), time.time()))

    with tee_output(job.log_path):  # the trial's output goes to its log file too
        events.append(run_with_deadline(job, CallbackReporter(report)))
    return events


def ended(trial_id: int, error: str, status: TrialStatus = TrialStatus.FAILED) -> TrialResult:
    return TrialResult(trial_id, status, error=error, ended_at=time.time())


# -- a tiny search on it --------------------------------------------------------------------


class Net(nn.Module):
    """A small classifier of 2-d points; its activation is the choice."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(2, 16)
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.out = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.hidden(x)))  # type: ignore[no-any-return]


def train_and_test(model: torch.nn.Module, steps: int) -> float:
    """Learn whether a point lies inside the unit circle; the accuracy on new points."""
    torch.manual_seed(0)
    x = torch.randn(1024, 2)
    y = (x.norm(dim=1) < 1).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    x = torch.randn(1024, 2)
    with torch.no_grad():
        return float((model(x).argmax(1) == (x.norm(dim=1) < 1)).float().mean())


def main() -> None:
    BACKENDS["pool"] = PoolBackend  # the one row that names the backend
    config = ExperimentConfig("pool", trial_concurrency=2, max_trial_number=2)
    experiment = Experiment(Net, FunctionalEvaluator(train_and_test, steps=200), GridSearch())
    experiment.run(config)
    for trial in experiment.storage.trials(experiment.id or ""):
        print(f"trial {trial.id} {dict(trial.arch)} {trial.status.value}: accuracy: {trial.metric}")


if __name__ == "__main__":
    main()

"""The multi-trial loop: ask the strategy → record a trial → submit a job → poll → store → tell.

One thread drives it and is the only writer of the experiment's storage. It ends exactly when
the budget is spent (trial count or duration), the strategy has nothing left, or a stop is
requested — whatever is still running is cancelled and recorded, and the backend is shut down.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from archsearch.execution.base import Backend, Event, Job, TrialResult, TrialStarted
from archsearch.execution.refs import Ref
from archsearch.experiment.config import ExperimentConfig
from archsearch.space import MetricReport, OptimizeMode, SearchSpace, Trial, TrialStatus, score
from archsearch.storage.base import Storage
from archsearch.strategy.base import Strategy

POLL_SECONDS = 0.5
"""Longest wait for backend events before budgets and stop requests are checked again."""


@dataclass(frozen=True)
class RunPlan:
    """Everything one run of the loop needs (built by `Experiment`)."""

    experiment_id: str
    space: SearchSpace
    config: ExperimentConfig
    model_space: Ref
    evaluator: Ref
    log_dir: Path | None
    elapsed_before: float = 0.0  # seconds spent in earlier runs (resume)


class Runner:
    """Drives one run of an experiment; `stop()` may be called from any thread."""

    def __init__(
        self, plan: RunPlan, storage: Storage, strategy: Strategy, backend: Backend
    ) -> None:
        self.plan = plan
        self.storage = storage
        self.strategy = strategy
        self.backend = backend
        self.mode: OptimizeMode = plan.config.optimize_mode
        self._stop = threading.Event()
        self.history: list[Trial] = []  # trial id i is at index i - 1 (ids count 1, 2, ...)
        self.running: set[int] = set()
        self.queue: deque[Trial] = deque()
        self.exhausted = False
        self.best: float | None = None
        self.failed = 0  # failed or timed out
        self.cancelled = 0  # cut short by this run's end or a stop (they run again on resume)

    def stop(self) -> None:
        """Ask the loop to end: running trials are cancelled, the experiment marked stopped."""
        self._stop.set()

    def run(self) -> str:
        """Run until the budget is spent; return "done" or "stopped"."""
        try:
            self._restore()
        except BaseException:  # e.g. a strategy that cannot replay its history
            self.backend.shutdown()
            raise
        started = time.monotonic()
        deadline = math.inf
        if self.plan.config.max_duration is not None:
            deadline = started + self.plan.config.max_duration - self.plan.elapsed_before
        bar = self._progress()
        last_stop_check = 0.0
        try:
            while True:
                now = time.monotonic()
                if now - last_stop_check > POLL_SECONDS:
                    last_stop_check = now
                    if self.storage.stop_requested(self.plan.experiment_id):
                        self._stop.set()
                if self._stop.is_set() or now >= deadline:
                    break
                self._fill_slots()
                if not self.running and (self.exhausted or self._count_spent()):
                    break
                wait = max(0.0, min(POLL_SECONDS, deadline - now))
                self._handle(self.backend.poll(wait), bar)
        finally:
            self._cancel_running(bar)
            bar.close()
        return "stopped" if self._stop.is_set() else "done"

    # -- the loop's steps -----------------------------------------------------------------
    def _restore(self) -> None:
        """Load the history: finished trials are told to the strategy, unfinished re-queued."""
        self.strategy.start(self.plan.space, self.mode)
        self.history = self.storage.trials(self.plan.experiment_id)
        # Cancelled trials were cut short by the experiment (a stop, the end of its time), not
        # by their own doing: like unfinished ones they run again.
        finished = sorted((t for t in self.history if _done(t)), key=_end_order)
        for trial in finished:
            self.strategy.tell(trial)
            self._tally(trial)
        for trial in list(self.history):
            if not _done(trial):
                trial = self.storage.requeue_trial(self.plan.experiment_id, trial.id)
                self._record(trial)
                self.queue.append(trial)

    def _count_spent(self) -> bool:
        limit = self.plan.config.max_trial_number
        return limit is not None and len(self.history) >= limit and not self.queue

    def _fill_slots(self) -> None:
        while self.backend.free_slots() > 0 and not self._stop.is_set():
            trial = self._next_trial()
            if trial is None:
                return
            self._submit(trial)

    def _next_trial(self) -> Trial | None:
        if self.queue:
            return self.queue.popleft()
        if self.exhausted or self._count_spent():
            return None
        proposal = self.strategy.ask(self.plan.space, self.history)
        if proposal is None:
            self.exhausted = True
            return None
        arch = self.plan.space.validate(proposal)
        trial = self.storage.add_trial(self.plan.experiment_id, arch)
        self._record(trial)
        return trial

    def _submit(self, trial: Trial) -> None:
        log_path = None
        if self.plan.log_dir is not None:
            self.plan.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = str(self.plan.log_dir / f"{trial.id}.log")
        node = self.backend.node()  # None: the backend names it when the trial starts
        self._record(self.storage.start_trial(self.plan.experiment_id, trial.id, log_path, node))
        self.running.add(trial.id)
        job = Job(
            experiment_id=self.plan.experiment_id,
            trial_id=trial.id,
            arch=dict(trial.arch),
            model_space=self.plan.model_space,
            evaluator=self.plan.evaluator,
            log_path=log_path,
            max_duration=self.plan.config.max_trial_duration,
        )
        try:
            self.backend.submit(job)
        except Exception:
            # A refused job never runs, so no result will come for it: the end of the run
            # records it "not run" (it runs on resume) instead of waiting for one.
            self.running.discard(trial.id)
            self.queue.appendleft(trial)
            raise

    def _handle(self, events: list[Event], bar: tqdm[Any]) -> None:
        points = [e for e in events if isinstance(e, MetricReport)]
        if points:
            self.storage.report_metrics(self.plan.experiment_id, points)
        for event in events:
            if isinstance(event, TrialResult):
                self._finish(event, bar)
            elif isinstance(event, TrialStarted) and event.trial_id in self.running:
                self._record(
                    self.storage.place_trial(self.plan.experiment_id, event.trial_id, event.node)
                )

    def _finish(self, result: TrialResult, bar: tqdm[Any]) -> None:
        if result.trial_id not in self.running:
            return  # a late duplicate (e.g. a result racing a cancel): the first one counts
        self.running.discard(result.trial_id)
        trial = self.storage.finish_trial(
            self.plan.experiment_id,
            result.trial_id,
            result.status,
            metric=result.metric,
            metrics=result.metrics,
            error=result.error,
            traceback=result.traceback,
            ended_at=result.ended_at,
            # start_trial marked it running when sent (so a kill -9 re-queues it on resume);
            # the worker says when it began, after start-up and queueing.
            started_at=result.started_at,
        )
        self._record(trial)
        self.strategy.tell(trial)
        self._tally(trial)
        bar.set_postfix_str(self._postfix(), refresh=False)
        bar.update(1)  # redraws with the postfix just set, so count and best agree

    def _cancel_running(self, bar: tqdm[Any]) -> None:
        """Cancel what still runs and record each result, then release the backend."""
        try:
            for trial_id in sorted(self.running):
                self.backend.cancel(trial_id)
            deadline = time.monotonic() + 30.0
            while self.running and time.monotonic() < deadline:
                self._handle(self.backend.poll(0.2), bar)
        finally:
            self.backend.shutdown()
            # Trials re-queued by resume and never started, then those of a backend that never
            # answered the cancel.
            unfinished = [(t.id, "not run: the experiment ended first") for t in self.queue]
            unfinished += [
                (trial_id, "cancelled: the experiment ended while the trial ran")
                for trial_id in sorted(self.running)
            ]
            for trial_id, error in unfinished:
                self.storage.finish_trial(
                    self.plan.experiment_id, trial_id, TrialStatus.CANCELLED, error=error
                )
            self.queue.clear()
            self.running.clear()

    def _record(self, trial: Trial) -> None:
        """Keep the newest record of a trial in the history the strategy sees."""
        if trial.id <= len(self.history):
            self.history[trial.id - 1] = trial
        elif trial.id == len(self.history) + 1:
            self.history.append(trial)
        else:
            raise RuntimeError(f"storage returned trial id {trial.id} after {len(self.history)}")

    # -- progress -------------------------------------------------------------------------
    def _tally(self, trial: Trial) -> None:
        if trial.status is TrialStatus.CANCELLED:
            self.cancelled += 1
        elif trial.status is not TrialStatus.SUCCEEDED:
            self.failed += 1
        value = score(trial, self.mode)
        if value is not None and (self.best is None or value > self.best):
            self.best = value

    def _progress(self) -> tqdm[Any]:
        done = sum(1 for t in self.history if t.status.finished)
        return tqdm(
            total=self.plan.config.max_trial_number,
            initial=done,
            desc=f"experiment {self.plan.experiment_id}",
            unit="trial",
            dynamic_ncols=True,
        )

    def _postfix(self) -> str:
        best = "-"
        if self.best is not None:
            best = f"{self.best if self.mode == 'maximize' else -self.best:.4g}"
        cancelled = f" cancelled={self.cancelled}" if self.cancelled else ""
        return f"running={len(self.running)} failed={self.failed}{cancelled} best={best}"


def _done(trial: Trial) -> bool:
    return trial.status.finished and trial.status is not TrialStatus.CANCELLED


def _end_order(trial: Trial) -> tuple[float, int]:
    return (trial.ended_at or 0.0, trial.id)

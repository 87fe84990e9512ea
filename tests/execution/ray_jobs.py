"""Evaluators and helpers of the Ray backend tests, importable by its workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import torch

from archsearch.evaluator import Evaluator, Metric, Reporter
from archsearch.execution import Event, RayBackend, TrialResult
from archsearch.execution.ray_start import RaySession, connect


@dataclass
class Paced(Evaluator):
    """Reports steps 0..n-1, `seconds` apart, then returns n."""

    n: int = 5
    seconds: float = 0.3

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        for step in range(self.n):
            reporter.report(step, float(step))
            time.sleep(self.seconds)
        return float(self.n)


def shared_ray(**totals: object) -> Iterator[RaySession]:
    """A local Ray for a whole test module (starting one takes seconds); the backends of the
    module use it and leave it running."""
    session = connect(None, **totals)  # type: ignore[arg-type]
    yield session
    session.close()


def until(backend: RayBackend, trial_id: int, timeout: float = 60.0) -> tuple[list[Event], float]:
    """Poll until `trial_id` has its result: every event, and the seconds it took."""
    begun = time.monotonic()
    events: list[Event] = []
    while not any(isinstance(e, TrialResult) and e.trial_id == trial_id for e in events):
        events += backend.poll(0.2)
        if time.monotonic() - begun > timeout:
            pytest.fail(f"no result for trial {trial_id} within {timeout} s: {events}")
    return events, time.monotonic() - begun

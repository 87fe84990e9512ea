"""An in-test experiment loop for strategies, and synthetic spaces with a known best.

`drive` does what the experiment runner does, minus storage and workers: ask (up to
`concurrency` trials in flight, recorded as RUNNING in the history), evaluate a synthetic
objective, replace the record by a finished one, tell. Every proposal is checked with
`space.validate`, so an invalid architecture fails the test at once.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from archsearch.space import (
    Architecture,
    InputChoiceDim,
    LayerChoiceDim,
    OptimizeMode,
    SearchSpace,
    Trial,
    TrialStatus,
    ValueChoiceDim,
)
from archsearch.strategy import Strategy, arch_key

Objective = Callable[[Architecture], float]


@dataclass(frozen=True)
class Problem:
    """A space, an additive objective over it and its unique best architecture."""

    space: SearchSpace
    points: dict[str, dict[str, float]]  # label → value key → points

    def objective(self, arch: Architecture) -> float:
        return sum(self.points[label][arch_key({label: v})] for label, v in arch.items())

    @property
    def best(self) -> Architecture:
        result: Architecture = {}
        for label, dim in self.space.items():
            result[label] = max(
                dim.options(), key=lambda v, lb=label: self.points[lb][arch_key({lb: v})]
            )
        return self.space.validate(result)

    @property
    def best_value(self) -> float:
        return self.objective(self.best)


def make_problem(space: SearchSpace, seed: int) -> Problem:
    """Random distinct points per option (seeded), so the best architecture is unique."""
    rng = random.Random(seed)
    points: dict[str, dict[str, float]] = {}
    for label, dim in space.items():
        options = [arch_key({label: v}) for v in dim.options()]
        values = rng.sample(range(10 * len(options)), len(options))
        points[label] = {key: float(v) for key, v in zip(options, values, strict=True)}
    return Problem(space, points)


def small_space() -> SearchSpace:
    """108 architectures: every kind of dimension, an any-subset input choice included."""
    return SearchSpace(
        [
            LayerChoiceDim("op", ("conv3", "conv5", "pool")),
            InputChoiceDim("skip", 3, 1, ("a", "b", "c")),
            ValueChoiceDim("width", (8, 16, 32)),
            InputChoiceDim("extra", 2, None, ("p", "q")),
        ]
    )


def hard_space() -> SearchSpace:
    """4^8 · 6 · 5 = 1,966,080 architectures."""
    layers = [LayerChoiceDim(f"layer{i}", ("a", "b", "c", "d")) for i in range(8)]
    return SearchSpace(
        [
            *layers,
            InputChoiceDim("inputs", 4, 2, ("x0", "x1", "x2", "x3")),
            ValueChoiceDim("width", (16, 24, 32, 48, 64)),
        ]
    )


def fails_sometimes(problem: Problem) -> Callable[[Architecture], bool]:
    """About a quarter of the architectures fail (deterministically), never the best one."""
    best = arch_key(problem.best)

    def fails(arch: Architecture) -> bool:
        key = arch_key(arch)
        return key != best and zlib.crc32(key.encode()) % 4 == 0

    return fails


def drive(
    strategy: Strategy,
    space: SearchSpace,
    objective: Objective,
    budget: int,
    *,
    mode: OptimizeMode = "maximize",
    history: list[Trial] | None = None,
    concurrency: int = 1,
    fails: Callable[[Architecture], bool] | None = None,
    start: bool = True,
) -> list[Trial]:
    """Run `budget` more trials (fewer if the strategy returns None); return the history."""
    history = [] if history is None else history
    if start:
        strategy.start(space, mode)
    in_flight: list[int] = []
    asked, exhausted = 0, False
    while True:
        while not exhausted and asked < budget and len(in_flight) < concurrency:
            proposal = strategy.ask(space, history)
            if proposal is None:
                exhausted = True
                break
            arch = space.validate(proposal)  # raises on an invalid architecture
            history.append(Trial("exp", len(history), arch, TrialStatus.RUNNING))
            in_flight.append(len(history) - 1)
            asked += 1
        if not in_flight:
            return history
        finished = finish(history[in_flight.pop(0)], objective, fails)
        history[finished.id] = finished
        strategy.tell(finished)


def finish(trial: Trial, objective: Objective, fails: Callable[[Any], bool] | None) -> Trial:
    """The finished record of a running trial."""
    if fails is not None and fails(trial.arch):
        return replace(trial, status=TrialStatus.FAILED, error="RuntimeError: synthetic")
    return replace(trial, status=TrialStatus.SUCCEEDED, metric=objective(trial.arch))


def keys(history: list[Trial]) -> list[str]:
    """The canonical keys of the history's architectures, in order."""
    return [arch_key(t.arch) for t in history]


def best_value(history: list[Trial], objective: Objective) -> float:
    """The best objective value among the succeeded trials (maximize)."""
    return max(objective(t.arch) for t in history if t.status is TrialStatus.SUCCEEDED)

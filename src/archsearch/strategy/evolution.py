"""Regularized (aging) evolution, Real et al. 2019 ("Regularized Evolution for Image Classifier
Architecture Search")."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Literal

from archsearch.space import (
    Architecture,
    InvalidArchitectureError,
    SearchSpace,
    Trial,
    TrialStatus,
    same_value,
    to_json_value,
)
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures

OnFailure = Literal["ignore", "worst"]
ON_FAILURE: tuple[OnFailure, ...] = ("ignore", "worst")
FAILED_STATUSES = (TrialStatus.FAILED, TrialStatus.TIMEOUT)
"""Trials that ran and gave no metric. Cancelled trials were stopped by the experiment, not
judged, so no strategy counts them."""

MUTATION_TRIES = 100
"""Mutations of one parent tried before a duplicate-free random architecture is used."""


class RegularizedEvolution(Strategy):
    """Aging evolution: tournament selection, mutation, and the oldest member dies.

    Until `population_size` trials have finished (and counted) it proposes random
    architectures. Then each `ask` draws `sample_size` members of the population (the last
    `population_size` counted trials) at random, mutates the best of them — each label is
    re-sampled to a different value with probability `mutation_prob`, and at least one label
    always changes — and proposes the child; as trials finish, the oldest members age out.
    `on_failure`: "ignore" leaves failed and timed-out trials out of the population; "worst"
    adds them as worse than any success. With `dedup` it never proposes an architecture already
    in the history (it mutates again, then falls back to an unseen random one), and returns
    None when the space is exhausted.
    """

    def __init__(
        self,
        population_size: int = 100,
        sample_size: int = 25,
        mutation_prob: float = 0.05,
        dedup: bool = True,
        on_failure: OnFailure = "ignore",
        seed: int | None = None,
    ) -> None:
        if population_size < 1 or not 1 <= sample_size <= population_size:
            raise ValueError(
                f"need population_size >= 1 and 1 <= sample_size <= population_size, got "
                f"population_size={population_size}, sample_size={sample_size}"
            )
        if not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be in [0, 1], got {mutation_prob}")
        if on_failure not in ON_FAILURE:
            raise ValueError(f"on_failure must be one of {ON_FAILURE}, got {on_failure!r}")
        self.population_size = population_size
        self.sample_size = sample_size
        self.mutation_prob = mutation_prob
        self.dedup = dedup
        self.on_failure = on_failure
        self.seed = seed

    def reset(self, space: SearchSpace) -> None:
        self._rng = random.Random(self.seed)
        self._seen = SeenArchitectures(space)
        self.population: deque[tuple[Architecture, float]] = deque(maxlen=self.population_size)
        self._mutable = [label for label, dim in space.items() if dim.size() > 1]

    def learn(self, trial: Trial) -> None:
        value = self.score(trial)
        if value is None:
            if self.on_failure != "worst" or trial.status not in FAILED_STATUSES:
                return
            value = -math.inf
        try:
            arch = self.space.validate(trial.arch)
        except InvalidArchitectureError:
            return  # a trial of another space (edited history) teaches nothing here
        self.population.append((arch, value))

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        children: Iterable[Architecture] = ()  # random until the population is full
        if len(self.population) >= self.population_size:
            parent = self._tournament()
            children = map(self.mutate, repeat(parent, MUTATION_TRIES))
        if self.dedup:
            return self._seen.first_unseen(history, children, self._rng)
        return next(iter(children), None) or self.space.sample(self._rng)

    def _tournament(self) -> Architecture:
        """The best of `sample_size` members drawn without replacement (ties: drawn first)."""
        size = min(self.sample_size, len(self.population))
        drawn = self._rng.sample(range(len(self.population)), size)
        best = max(drawn, key=lambda i: self.population[i][1])
        return self.population[best][0]

    def mutate(self, parent: Architecture) -> Architecture:
        """A copy of `parent` with each label re-sampled with `mutation_prob`, at least one."""
        child = {label: to_json_value(value) for label, value in parent.items()}
        changed = [label for label in self._mutable if self._rng.random() < self.mutation_prob]
        if not changed and self._mutable:
            changed = [self._rng.choice(self._mutable)]
        for label in changed:
            dim, old = self.space[label], child[label]
            new = dim.sample(self._rng)
            while same_value(new, old):  # size > 1, so this ends (about 2 draws at worst)
                new = dim.sample(self._rng)
            child[label] = new
        return child

    def __repr__(self) -> str:
        return (
            f"RegularizedEvolution(population_size={self.population_size}, "
            f"sample_size={self.sample_size}, mutation_prob={self.mutation_prob}, "
            f"dedup={self.dedup}, on_failure={self.on_failure!r}, seed={self.seed})"
        )

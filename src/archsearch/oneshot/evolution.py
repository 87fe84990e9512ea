"""Evolutionary architecture search over a SearchSpace, as in SPOS (Guo et al. 2020).

Pure search: it knows a space, a `fitness(arch) -> float` to maximise and an optional
`constraint(arch) -> bool`, and nothing of torch or supernets, so it can be tested (and reused)
with any fitness function. Each generation scores its new candidates, keeps the best
`num_parents` architectures seen so far, and breeds the next population from them by mutation
and crossover, topped up with random architectures. No architecture is checked or scored twice.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from archsearch.space import Architecture, SearchSpace

Fitness = Callable[[Architecture], float]
"""Score of an architecture; higher is better (NaN counts as the worst)."""
Constraint = Callable[[Architecture], bool]
"""Whether an architecture may be scored and exported at all."""
MapScores = Callable[[Fitness, Sequence[Architecture]], Sequence[float]]
"""How a generation is scored: `map_scores(fitness, architectures)` -> their fitness, in order."""


@dataclass(frozen=True)
class EvolutionConfig:
    """Settings of the evolution (the SPOS paper used 50 / 10 / 20 / 0.1 / 25 / 25).

    `num_mutation` and `num_crossover` (children bred per generation by each operator) default to
    half the population each; whatever they leave of `population_size` is filled with random
    architectures. `max_tries` bounds the draws made to fill one batch of candidates, so a small
    or heavily constrained space ends the search instead of looping.
    """

    population_size: int = 20
    num_parents: int = 5
    num_generations: int = 10
    mutation_prob: float = 0.1
    num_mutation: int | None = None
    num_crossover: int | None = None
    max_tries: int = 1000

    def __post_init__(self) -> None:
        if self.population_size < 1 or self.num_parents < 1 or self.num_generations < 1:
            raise ValueError(
                "population_size, num_parents and num_generations must be >= 1, got "
                f"{self.population_size}, {self.num_parents}, {self.num_generations}"
            )
        if not 0.0 <= self.mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be in [0, 1], got {self.mutation_prob}")
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")
        for name in ("num_mutation", "num_crossover"):
            value = getattr(self, name)
            if value is None:
                object.__setattr__(self, name, self.population_size // 2)
            elif value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class Candidate:
    """An architecture and its fitness."""

    architecture: Architecture
    score: float

    def to_json(self) -> dict[str, Any]:
        """`{"architecture": ..., "score": ...}`."""
        return {"architecture": self.architecture, "score": self.score}


@dataclass(frozen=True)
class Generation:
    """One generation: the candidates scored in it and the best architecture seen so far."""

    index: int
    candidates: tuple[Candidate, ...]
    best: Candidate

    def to_json(self) -> dict[str, Any]:
        """The record written to `search.json`."""
        return {
            "generation": self.index,
            "best_score": self.best.score,
            "best_architecture": self.best.architecture,
            "population_scores": [c.score for c in self.candidates],
            "candidates": [c.to_json() for c in self.candidates],
        }


@dataclass(frozen=True)
class EvolutionResult:
    """What `evolve` found: the best candidate, every generation, and how many distinct
    architectures the constraint rejected."""

    best: Candidate
    generations: tuple[Generation, ...]
    rejected: int


def evolve(
    space: SearchSpace,
    fitness: Fitness,
    config: EvolutionConfig | None = None,
    *,
    rng: random.Random | None = None,
    constraint: Constraint | None = None,
    on_generation: Callable[[Generation], None] | None = None,
    map_scores: MapScores | None = None,
) -> EvolutionResult:
    """Maximise `fitness` over `space` by evolution; only architectures passing `constraint`
    are ever scored. Raises ValueError when no sampled architecture satisfies the constraint.

    The search stops early when a generation can breed no architecture it has not seen (a small
    space is exhausted). `on_generation` is called after each generation is scored.
    `map_scores` scores each generation (default: one architecture after another; a search on
    several processes splits them, see `Ranks.map`).
    """
    return _Evolution(
        space,
        fitness,
        config or EvolutionConfig(),
        rng or random.Random(),
        constraint,
        map_scores or _one_by_one,
    )(on_generation)


def mutate(space: SearchSpace, arch: Architecture, prob: float, rng: random.Random) -> Architecture:
    """A copy of `arch` in which each label is resampled uniformly with probability `prob`."""
    return space.validate(
        {
            label: dim.sample(rng) if rng.random() < prob else arch[label]
            for label, dim in space.items()
        }
    )


def crossover(
    space: SearchSpace, first: Architecture, second: Architecture, rng: random.Random
) -> Architecture:
    """A child taking each label's choice from either parent with equal probability."""
    return space.validate(
        {label: (first if rng.random() < 0.5 else second)[label] for label in space}
    )


def architecture_key(arch: Architecture) -> str:
    """A hashable identity of a canonical architecture (for deduplication and caches)."""
    return json.dumps(arch, sort_keys=True)


@dataclass
class _Evolution:
    space: SearchSpace
    fitness: Fitness
    config: EvolutionConfig
    rng: random.Random
    constraint: Constraint | None
    map_scores: MapScores
    seen: set[str] = field(default_factory=set)
    rejected: int = 0

    def __call__(self, on_generation: Callable[[Generation], None] | None) -> EvolutionResult:
        config = self.config
        population = self.collect(lambda: self.space.sample(self.rng), config.population_size)
        if not population:
            raise ValueError(
                f"no architecture satisfies the constraint: {self.rejected} distinct "
                f"architectures sampled in {config.max_tries} tries were all rejected"
            )
        parents: list[Candidate] = []
        generations: list[Generation] = []
        for index in range(config.num_generations):
            scores = self.map_scores(self.fitness, population)
            scored = [Candidate(a, _finite(s)) for a, s in zip(population, scores, strict=True)]
            # Elitist: parents are the best seen so far (stable sort: earlier wins ties).
            parents = sorted(parents + scored, key=lambda c: -c.score)[: config.num_parents]
            generation = Generation(index, tuple(scored), parents[0])
            generations.append(generation)
            if on_generation is not None:
                on_generation(generation)
            if index + 1 < config.num_generations:
                population = self.breed(parents)
                if not population:
                    break
        return EvolutionResult(generations[-1].best, tuple(generations), self.rejected)

    def breed(self, parents: list[Candidate]) -> list[Architecture]:
        config = self.config

        def mutant() -> Architecture:
            parent = self.rng.choice(parents).architecture
            return mutate(self.space, parent, config.mutation_prob, self.rng)

        def child() -> Architecture | None:
            if len(parents) < 2:
                return None
            first, second = self.rng.sample(parents, 2)
            return crossover(self.space, first.architecture, second.architecture, self.rng)

        assert config.num_mutation is not None and config.num_crossover is not None
        population = self.collect(mutant, config.num_mutation)
        population += self.collect(child, config.num_crossover)
        fill = config.population_size - len(population)
        return population + self.collect(lambda: self.space.sample(self.rng), fill)

    def collect(self, make: Callable[[], Architecture | None], count: int) -> list[Architecture]:
        """Up to `count` new architectures from `make` that pass the constraint."""
        found: list[Architecture] = []
        tries = 0
        while len(found) < count and tries < self.config.max_tries:
            tries += 1
            arch = make()
            if arch is not None and self.admit(arch):
                found.append(arch)
        return found

    def admit(self, arch: Architecture) -> bool:
        # Rejected architectures are remembered too: each one is checked against the
        # constraint (possibly costly) only once.
        key = architecture_key(arch)
        if key in self.seen:
            return False
        self.seen.add(key)
        if self.constraint is not None and not self.constraint(arch):
            self.rejected += 1
            return False
        return True


def _one_by_one(fitness: Fitness, architectures: Sequence[Architecture]) -> list[float]:
    return [fitness(arch) for arch in architectures]


def _finite(value: float) -> float:
    value = float(value)
    return -math.inf if math.isnan(value) else value

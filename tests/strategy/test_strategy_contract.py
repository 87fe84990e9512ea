"""The contract every strategy (and wrapped strategy) meets, on synthetic spaces with a known
best: valid proposals only, no repeats, exhaustion, failures, resume, minimize, and search that
finds the best."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import pytest
from strategy_driver import (
    Problem,
    best_value,
    drive,
    fails_sometimes,
    hard_space,
    keys,
    make_problem,
    small_space,
)

from archsearch.classic import Tuner, TunerStrategy
from archsearch.space import Architecture, Trial, TrialStatus, best_trials
from archsearch.strategy import (
    TPE,
    ConstraintFilter,
    Deduplicate,
    GridSearch,
    PolicyBasedRL,
    Random,
    RegularizedEvolution,
    Strategy,
)

Factory = Callable[[int], Strategy]


def _narrow(arch: Architecture) -> bool:
    return arch["width"] != 8 if "width" in arch else True


STRATEGIES: dict[str, Factory] = {
    "random": lambda seed: Random(seed=seed),
    "grid": lambda seed: GridSearch(),
    "grid_shuffled": lambda seed: GridSearch(shuffle=True, seed=seed),
    "evolution": lambda seed: RegularizedEvolution(population_size=10, sample_size=4, seed=seed),
    "evolution_worst": lambda seed: RegularizedEvolution(
        population_size=10, sample_size=4, on_failure="worst", seed=seed
    ),
    "tpe": lambda seed: TPE(seed=seed),
    "rl": lambda seed: PolicyBasedRL(seed=seed),
    "rl_ignore_failures": lambda seed: PolicyBasedRL(on_failure="ignore", seed=seed),
    "dedup(rl without dedup)": lambda seed: Deduplicate(
        PolicyBasedRL(dedup=False, seed=seed), seed=seed
    ),
    "dedup(evolution without dedup)": lambda seed: Deduplicate(
        RegularizedEvolution(population_size=10, sample_size=4, dedup=False, seed=seed),
        seed=seed,
    ),
}
LEARNERS = [
    "evolution",
    "evolution_worst",
    "tpe",
    "rl",
    "rl_ignore_failures",
    "dedup(rl without dedup)",
    "dedup(evolution without dedup)",
]
LEARN_BUDGET = 50
"""Trials a learning strategy gets to find the best of the 108-architecture space."""


@pytest.fixture(scope="module")
def problem() -> Problem:
    return make_problem(small_space(), seed=0)


@pytest.mark.parametrize("name", STRATEGIES)
def test_exhausts_the_space_without_repeats_then_returns_none(name: str, problem: Problem) -> None:
    # Three trials in flight: the history the strategy sees holds running trials.
    size = problem.space.size()
    history = drive(STRATEGIES[name](0), problem.space, problem.objective, size + 5, concurrency=3)
    assert len(history) == size
    assert len(set(keys(history))) == size
    assert best_value(history, problem.objective) == problem.best_value


@pytest.mark.parametrize("name", LEARNERS)
def test_learning_strategies_find_the_best_within_a_budget(name: str, problem: Problem) -> None:
    history = drive(STRATEGIES[name](0), problem.space, problem.objective, LEARN_BUDGET)
    assert len(history) == LEARN_BUDGET
    assert best_trials(history, "maximize")[0].arch == problem.best


@pytest.mark.parametrize("name", LEARNERS)
def test_minimize_finds_the_smallest(name: str, problem: Problem) -> None:
    def loss(arch: Architecture) -> float:
        return -problem.objective(arch)

    history = drive(STRATEGIES[name](0), problem.space, loss, LEARN_BUDGET, mode="minimize")
    assert best_trials(history, "minimize")[0].arch == problem.best


@pytest.mark.parametrize("name", STRATEGIES)
def test_survives_failed_trials(name: str, problem: Problem) -> None:
    fails = fails_sometimes(problem)
    size = problem.space.size()
    history = drive(
        STRATEGIES[name](0), problem.space, problem.objective, size, fails=fails, concurrency=2
    )
    statuses = {t.status for t in history}
    assert statuses == {TrialStatus.SUCCEEDED, TrialStatus.FAILED}
    assert len(set(keys(history))) == size
    assert best_value(history, problem.objective) == problem.best_value


@pytest.mark.parametrize("name", STRATEGIES)
def test_resume_continues_without_repeating(name: str, problem: Problem) -> None:
    # First session: 28 finished trials and two more asked and recorded, not finished; a
    # third proposal is lost with the process.
    first = STRATEGIES[name](0)
    history = drive(first, problem.space, problem.objective, 28)
    for _ in range(2):
        arch = problem.space.validate(first.ask(problem.space, history) or {})
        history.append(Trial("exp", len(history), arch, TrialStatus.WAITING))
    first.ask(problem.space, history)
    # Second session: a fresh strategy, started, told every finished trial in order; the
    # waiting trials are in the history it is asked with (the runner re-queues them).
    resumed = STRATEGIES[name](1)
    resumed.start(problem.space, "maximize")
    for trial in history:
        if trial.status.finished:
            resumed.tell(trial)
    drive(resumed, problem.space, problem.objective, 10_000, history=history, start=False)
    assert len(history) == problem.space.size()
    assert len(set(keys(history))) == len(history)


@pytest.mark.parametrize("name", STRATEGIES)
def test_tell_before_any_ask_replays_a_history_into_a_fresh_strategy(
    name: str, problem: Problem
) -> None:
    # A fresh strategy told a history before it was ever started or asked learns it when its
    # first ask starts it: it then proposes what a strategy started first and told would.
    history = drive(
        STRATEGIES[name](0), problem.space, problem.objective, 28, fails=fails_sometimes(problem)
    )
    fresh, started = STRATEGIES[name](1), STRATEGIES[name](1)
    started.start(problem.space, "maximize")
    for trial in history:
        fresh.tell(trial)
        started.tell(trial)
    for _ in range(5):
        arch = problem.space.validate(fresh.ask(problem.space, history) or {})
        assert arch == started.ask(problem.space, history)
        history.append(Trial("exp", len(history), arch, TrialStatus.WAITING))
    drive(fresh, problem.space, problem.objective, 10_000, history=history, start=False)
    assert len(set(keys(history))) == len(history) == problem.space.size()


def test_a_classic_tuner_adapter_accepts_tell_before_ask(problem: Problem) -> None:
    calls: list[object] = []

    class Best(Tuner):
        def update_search_space(self, search_space: dict[str, Any]) -> None:
            calls.append("space")

        def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
            calls.append(("generate", parameter_id))
            return problem.best

        def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
            calls.append(("end", parameter_id, success))

    strategy = TunerStrategy(Best())
    failed = Trial("exp", 1, problem.best, TrialStatus.FAILED)
    strategy.tell(failed)
    assert calls == []  # kept until the strategy starts
    assert strategy.ask(problem.space, [failed]) == problem.best
    assert calls == ["space", ("end", 1, False), ("generate", 2)]


@pytest.mark.parametrize("name", ["evolution", "tpe", "rl"])
def test_learning_strategies_beat_random_on_a_larger_space(name: str) -> None:
    # 2 million architectures, 120 trials, three seeded problems: the mean best found by the
    # strategy must reach random search's.
    budget, seeds = 120, (0, 1, 2)
    space = hard_space()
    factories = {
        "evolution": lambda s: RegularizedEvolution(population_size=20, sample_size=10, seed=s),
        "tpe": lambda s: TPE(seed=s),
        "rl": lambda s: PolicyBasedRL(seed=s),
    }

    def mean_best(factory: Factory) -> float:
        bests = []
        for seed in seeds:
            problem = make_problem(space, seed=100 + seed)
            history = drive(factory(seed), space, problem.objective, budget)
            bests.append(best_value(history, problem.objective))
        return statistics.mean(bests)

    assert mean_best(factories[name]) > mean_best(lambda s: Random(seed=s))


def test_constraint_filter_searches_only_allowed_architectures(problem: Problem) -> None:
    strategy = ConstraintFilter(RegularizedEvolution(population_size=10, sample_size=4), _narrow)
    history = drive(strategy, problem.space, problem.objective, 200)
    allowed = [a for a in problem.space.grid() if _narrow(a)]
    assert len(history) == len(allowed) == 72
    assert all(_narrow(t.arch) for t in history)

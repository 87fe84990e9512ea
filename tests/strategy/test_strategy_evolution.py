"""RegularizedEvolution: random start, tournament, mutation, aging, failures, arguments."""

from __future__ import annotations

import math

import pytest
from strategy_driver import drive, make_problem, small_space

from archsearch.space import LayerChoiceDim, SearchSpace, Trial, TrialStatus, same_value
from archsearch.strategy import RegularizedEvolution

SPACE = SearchSpace([LayerChoiceDim(f"l{i}", ("a", "b", "c", "d")) for i in range(5)])


def trial(
    trial_id: int,
    arch: dict[str, str],
    metric: float | None = None,
    status: TrialStatus = TrialStatus.SUCCEEDED,
) -> Trial:
    return Trial("exp", trial_id, arch, status, metric=metric)


def changed_labels(a: dict[str, object], b: dict[str, object]) -> int:
    return sum(not same_value(a[k], b[k]) for k in a)


def test_mutation_changes_at_least_one_label() -> None:
    evolution = RegularizedEvolution(mutation_prob=0.0, seed=0)
    evolution.start(SPACE, "maximize")
    parent = SPACE.default()
    for _ in range(50):
        assert changed_labels(parent, evolution.mutate(parent)) == 1
    evolution = RegularizedEvolution(mutation_prob=1.0, seed=0)
    evolution.start(SPACE, "maximize")
    assert changed_labels(parent, evolution.mutate(parent)) == len(SPACE)


def test_tournament_of_the_whole_population_mutates_the_best() -> None:
    evolution = RegularizedEvolution(population_size=4, sample_size=4, mutation_prob=0.0, seed=1)
    evolution.start(SPACE, "maximize")
    archs = [SPACE.sample(i) for i in range(4)]
    for i, arch in enumerate(archs):
        evolution.tell(trial(i, arch, metric=float(i == 2)))
    for _ in range(10):
        child = evolution.ask(SPACE, [])
        assert child is not None and changed_labels(archs[2], child) == 1


def test_random_until_the_population_is_full_then_the_oldest_ages_out() -> None:
    space = small_space()
    objective = make_problem(space, 0).objective
    evolution = RegularizedEvolution(population_size=5, sample_size=2, seed=0)
    history = drive(evolution, space, objective, 4)
    assert len(evolution.population) == 4
    history = drive(evolution, space, objective, 10, history=history, start=False)
    assert len(evolution.population) == 5
    assert [a for a, _ in evolution.population] == [t.arch for t in history[-5:]]


def test_failures_are_ignored_or_counted_as_worst() -> None:
    failed = trial(0, SPACE.default(), status=TrialStatus.FAILED)
    cancelled = trial(1, SPACE.sample(1), status=TrialStatus.CANCELLED)
    ignore = RegularizedEvolution(population_size=3, sample_size=2)
    worst = RegularizedEvolution(population_size=3, sample_size=2, on_failure="worst")
    for strategy in (ignore, worst):
        strategy.start(SPACE, "minimize")
        strategy.tell(failed)
        strategy.tell(cancelled)  # cancelled trials were never judged: never counted
        strategy.tell(trial(2, SPACE.sample(2), metric=0.5))
    assert [s for _, s in ignore.population] == [-0.5]
    assert [s for _, s in worst.population] == [-math.inf, -0.5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population_size": 0}, "population_size"),
        ({"population_size": 5, "sample_size": 6}, "sample_size"),
        ({"mutation_prob": 1.5}, "mutation_prob"),
        ({"on_failure": "retry"}, "on_failure"),
    ],
)
def test_bad_arguments_are_explained(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RegularizedEvolution(**kwargs)  # type: ignore[arg-type]

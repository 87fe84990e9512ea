"""Random and GridSearch: order, seeds, deduplication against any history, exhaustion."""

from __future__ import annotations

import pytest
from strategy_driver import drive, keys, make_problem, small_space

from archsearch.space import LayerChoiceDim, SearchSpace, Trial, TrialStatus
from archsearch.strategy import GridSearch, Random, arch_key


def finished(trial_id: int, arch: dict[str, object], metric: float = 1.0) -> Trial:
    return Trial("exp", trial_id, arch, TrialStatus.SUCCEEDED, metric=metric)


def test_grid_follows_space_grid_exactly_once() -> None:
    space = small_space()
    history = drive(GridSearch(), space, make_problem(space, 0).objective, 1000)
    assert [t.arch for t in history] == list(space.grid())


def test_shuffled_grid_is_a_seeded_permutation() -> None:
    space = small_space()
    objective = make_problem(space, 0).objective
    runs = [
        keys(drive(GridSearch(shuffle=True, seed=s), space, objective, 1000)) for s in (1, 1, 2)
    ]
    assert runs[0] == runs[1] != runs[2]
    assert sorted(runs[0]) == sorted(keys(drive(GridSearch(), space, objective, 1000)))
    assert runs[0] != keys(drive(GridSearch(), space, objective, 1000))


def test_grid_skips_architectures_in_the_history_in_any_spelling() -> None:
    space = SearchSpace([LayerChoiceDim("a", ("x", "y")), LayerChoiceDim("b", ("p", "q"))])
    # Indices and names: both are the canonical {"a": "x", "b": "q"} and {"a": "y", "b": "p"}.
    history = [finished(0, {"a": 0, "b": "q"}), finished(1, {"a": "y", "b": 0})]
    grid = GridSearch()
    grid.start(space, "maximize")
    asked = [grid.ask(space, history), grid.ask(space, history), grid.ask(space, history)]
    assert asked == [{"a": "x", "b": "p"}, {"a": "y", "b": "q"}, None]


def test_random_is_reproducible_and_without_dedup_may_repeat() -> None:
    space = SearchSpace([LayerChoiceDim("a", ("x", "y"))])
    plain = Random(dedup=False, seed=3)
    plain.start(space, "maximize")
    draws = [plain.ask(space, []) for _ in range(20)]
    assert len({arch_key(d) for d in draws if d}) == 2 and None not in draws
    again = Random(dedup=False, seed=3)
    assert [again.ask(space, []) for _ in range(20)] == draws  # works without start() too


def test_random_dedup_counts_trials_it_never_proposed_and_ignores_foreign_ones() -> None:
    space = SearchSpace([LayerChoiceDim("a", ("x", "y", "z"))])
    history = [finished(0, {"a": "x"}), finished(1, {"other": 1}), finished(2, {"a": 2})]
    strategy = Random(seed=0)
    strategy.start(space, "maximize")
    assert strategy.ask(space, history) == {"a": "y"}
    assert strategy.ask(space, history) is None  # "y" was proposed, so nothing is left


def test_history_given_as_a_different_list_is_read_again() -> None:
    space = SearchSpace([LayerChoiceDim("a", ("x", "y", "z"))])
    strategy = Random(seed=0)
    strategy.start(space, "maximize")
    first = strategy.ask(space, [])
    assert first is not None
    # A history that does not extend the one read before (other trial ids): read from scratch.
    other = [finished(7, {"a": v}) for v in ("x", "y", "z") if v != first["a"]]
    assert strategy.ask(space, other) is None


def test_shuffled_grid_refuses_a_huge_space() -> None:
    space = SearchSpace([LayerChoiceDim(f"l{i}", tuple("abcdefghij")) for i in range(8)])
    with pytest.raises(ValueError, match="shuffle=False"):
        GridSearch(shuffle=True).start(space, "maximize")
    grid = GridSearch()
    grid.start(space, "maximize")
    assert grid.ask(space, []) == dict.fromkeys(space, "a")

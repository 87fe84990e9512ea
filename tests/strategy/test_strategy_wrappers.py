"""Deduplicate and ConstraintFilter around any strategy; the shared history index."""

from __future__ import annotations

import pytest
from strategy_driver import drive, keys, make_problem, small_space

from archsearch.space import LayerChoiceDim, SearchSpace, Trial, TrialStatus
from archsearch.strategy import (
    ConstraintFilter,
    ConstraintUnsatisfiedError,
    Deduplicate,
    GridSearch,
    PolicyBasedRL,
    Random,
    SeenArchitectures,
    Strategy,
    arch_key,
)

SPACE = SearchSpace([LayerChoiceDim("a", ("x", "y", "z"))])


class Always(Strategy):
    """Proposes the same architecture forever (by index), and records what it is told."""

    def __init__(self) -> None:
        self.told: list[Trial] = []

    def propose(self, history: object) -> dict[str, object]:
        return {"a": 0}

    def learn(self, trial: Trial) -> None:
        self.told.append(trial)


def test_deduplicate_falls_back_to_unseen_architectures_then_none() -> None:
    inner = Always()
    history = drive(Deduplicate(inner, max_retries=3, seed=0), SPACE, lambda a: 1.0, 10)
    assert sorted(keys(history)) == sorted(arch_key({"a": v}) for v in ("x", "y", "z"))
    assert history[0].arch == {"a": "x"}  # the inner proposal, canonical
    assert [t.id for t in inner.told] == [0, 1, 2]  # tell is forwarded


def test_deduplicate_makes_a_repeating_strategy_unique() -> None:
    space = small_space()
    objective = make_problem(space, 0).objective
    plain = drive(Random(dedup=False, seed=0), space, objective, 60)
    assert len(set(keys(plain))) < 60
    wrapped = drive(Deduplicate(Random(dedup=False, seed=0)), space, objective, 60)
    assert len(set(keys(wrapped))) == 60


def test_constraint_filter_passes_only_allowed_and_forwards_tells() -> None:
    inner = PolicyBasedRL(seed=0)
    history = drive(ConstraintFilter(inner, lambda a: a["a"] != "y"), SPACE, lambda a: 1.0, 10)
    assert sorted(t.arch["a"] for t in history) == ["x", "z"]
    assert inner.baseline == 1.0  # the wrapped strategy was told


def test_constraint_filter_stops_with_a_clear_error() -> None:
    strategy = ConstraintFilter(Random(dedup=False), lambda a: False, max_retries=5)
    strategy.start(SPACE, "maximize")
    with pytest.raises(ConstraintUnsatisfiedError, match="6 architectures in a row"):
        strategy.ask(SPACE, [])
    with pytest.raises(TypeError, match="must return a bool"):
        ConstraintFilter(Random(), lambda a: 1).ask(SPACE, [])  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="function arch -> bool"):
        ConstraintFilter(Random(), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wraps an archsearch Strategy"):
        Deduplicate(GridSearch)  # type: ignore[arg-type]


def test_constraint_filter_ends_when_the_wrapped_strategy_does() -> None:
    strategy = ConstraintFilter(GridSearch(), lambda a: a["a"] == "x")
    history = drive(strategy, SPACE, lambda a: 1.0, 10)
    assert [t.arch for t in history] == [{"a": "x"}]


def test_seen_reads_only_new_trials_and_skips_foreign_architectures() -> None:
    seen = SeenArchitectures(SPACE)
    history = [Trial("e", 0, {"a": "x"}, TrialStatus.RUNNING)]
    seen.update(history)
    history.append(Trial("e", 1, {"b": 1}, TrialStatus.SUCCEEDED, metric=1.0))
    history.append(Trial("e", 2, {"a": 2}, TrialStatus.WAITING))
    seen.update(history)
    assert len(seen) == 2 and arch_key({"a": "x"}) in seen and arch_key({"a": "z"}) in seen
    assert not seen.exhausted()
    assert seen.claim({"a": "y"})
    assert not seen.claim({"a": "y"})  # claimed once only
    assert seen.exhausted()

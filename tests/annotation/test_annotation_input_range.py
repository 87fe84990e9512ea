"""An input choice with a chosen-count range ([min, max], from `optional_input_size`) is a real
dimension: size, options, sample, default, grid, validate, JSON, and every strategy keeps to it
without repeating an input."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from archsearch.classic import Tuner, TunerStrategy
from archsearch.space import (
    InputChoiceDim,
    InvalidArchitectureError,
    SearchSpace,
    Trial,
    TrialStatus,
)
from archsearch.strategy import (
    TPE,
    GridSearch,
    PolicyBasedRL,
    Random,
    RegularizedEvolution,
    Strategy,
)

NAMES = ("a", "b", "c", "d")


def ranged(low: int = 1, high: int = 2) -> InputChoiceDim:
    return InputChoiceDim("x/inputs", 4, None, NAMES, chosen_range=(low, high))


def test_size_options_default() -> None:
    dim = ranged()
    options = list(dim.options())
    assert dim.size() == len(options) == math.comb(4, 1) + math.comb(4, 2)
    assert all(1 <= len(o) <= 2 and o == sorted(set(o)) for o in options)
    assert dim.default() == [0]  # the fewest inputs, the first ones
    assert ranged(0, 1).default() == [] and ranged(2, 4).default() == [0, 1]
    assert ranged(0, 4).size() == 16


def test_sample_is_uniform_over_subsets() -> None:
    dim = ranged()
    rng = random.Random(0)
    counts = Counter(tuple(dim.sample(rng)) for _ in range(5000))
    assert set(counts) == {tuple(o) for o in dim.options()}
    assert max(counts.values()) / min(counts.values()) < 1.6  # 10 equally likely subsets


def test_canonical_accepts_spellings_and_refuses_counts_and_repeats() -> None:
    dim = ranged()
    assert dim.canonical(["c", "a"]) == [0, 2]
    assert dim.canonical(3) == [3]
    assert dim.canonical([False, True, True, False]) == [1, 2]
    for bad, message in [
        ([], "chose 0 inputs"),
        (["a", "b", "c"], "chose 3 inputs"),
        (["a", "a"], "chosen twice"),
        (["z"], "not one of the inputs"),
    ]:
        with pytest.raises(InvalidArchitectureError, match=message) as info:
            dim.canonical(bad)
        assert "1 to 2 of the inputs" in str(info.value)


def test_json_round_trip_grid_and_describe() -> None:
    space = SearchSpace([ranged()])
    data = space.to_json()
    assert data["x/inputs"]["_value"] == {"candidates": list(NAMES), "n_chosen": [1, 2]}
    assert SearchSpace.from_json(data) == space
    assert len(list(space.grid())) == 10
    assert "1 to 2 of" in space.describe()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_chosen": 1, "chosen_range": (1, 2)}, "chosen_range must be"),
        ({"n_chosen": None, "chosen_range": (2, 2)}, "0 <= min < max"),
        ({"n_chosen": None, "chosen_range": (1, 5)}, "0 <= min < max"),
    ],
)
def test_bad_ranges_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InputChoiceDim("x", 4, names=NAMES, **kwargs)  # type: ignore[arg-type]


STRATEGIES = {
    "random": lambda: Random(seed=0),
    "grid": GridSearch,
    "evolution": lambda: RegularizedEvolution(population_size=4, sample_size=2, seed=0),
    "tpe": lambda: TPE(seed=0),
    "rl": lambda: PolicyBasedRL(seed=0),
}


@pytest.mark.parametrize("name", STRATEGIES)
def test_every_strategy_proposes_within_the_range(name: str) -> None:
    space = SearchSpace(
        [ranged(), InputChoiceDim("y/inputs", 3, None, ("p", "q", "r"), chosen_range=(0, 1))]
    )
    strategy: Strategy = STRATEGIES[name]()
    strategy.start(space, "maximize")
    history: list[Trial] = []
    for i in range(25):
        proposal = strategy.ask(space, history)
        if proposal is None:
            break
        arch = space.validate(proposal)  # raises when out of range or repeating an input
        assert arch == proposal or space.validate(arch) == arch
        running = Trial("exp", i, arch, TrialStatus.RUNNING)
        history.append(
            replace(running, status=TrialStatus.SUCCEEDED, metric=float(len(arch["x/inputs"])))
        )
        strategy.tell(history[-1])
    assert len(history) >= min(25, space.size())


class _LargestSubset(Tuner):
    """A classic tuner reading the range from the space JSON: the most inputs allowed."""

    def update_search_space(self, search_space: dict[str, Any]) -> None:
        self.space = search_space

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        entry = self.space["x/inputs"]["_value"]
        count = entry["n_chosen"][1]
        return {"x/inputs": {"_value": entry["candidates"][:count], "_idx": list(range(count))}}


def test_a_classic_tuner_sees_the_range_in_the_space_json() -> None:
    space = SearchSpace([ranged()])
    strategy = TunerStrategy(_LargestSubset())
    strategy.start(space, "maximize")
    assert strategy.ask(space, []) == {"x/inputs": [0, 1]}

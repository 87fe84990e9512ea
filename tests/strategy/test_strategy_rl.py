"""PolicyBasedRL: policy gradients against finite differences, learning direction, exact
replay of its state from tells, failure handling."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable

import pytest
from strategy_driver import drive, fails_sometimes, make_problem, small_space

from archsearch.space import (
    InputChoiceDim,
    LayerChoiceDim,
    SearchSpace,
    Trial,
    TrialStatus,
    ValueChoiceDim,
)
from archsearch.strategy import PolicyBasedRL
from archsearch.strategy.policy import Policy, SoftmaxPolicy, SubsetPolicy, softmax


def log_prob(policy: Policy, value: object) -> float:
    if isinstance(policy, SoftmaxPolicy):
        return math.log(
            softmax(policy.theta)[policy.index[json.dumps(value, separators=(",", ":"))]]
        )
    assert isinstance(value, list)
    p = [1 / (1 + math.exp(-t)) for t in policy.theta]
    return sum(math.log(q if i in value else 1 - q) for i, q in enumerate(p))


def numeric_grad(policy: Policy, f: Callable[[], float], eps: float = 1e-6) -> list[float]:
    grads = []
    for i in range(len(policy.theta)):
        saved = policy.theta[i]
        policy.theta[i] = saved + eps
        up = f()
        policy.theta[i] = saved - eps
        down = f()
        policy.theta[i] = saved
        grads.append((up - down) / (2 * eps))
    return grads


@pytest.mark.parametrize(
    ("policy", "value"),
    [
        (SoftmaxPolicy(LayerChoiceDim("op", ("a", "b", "c", "d"))), "c"),
        (SoftmaxPolicy(ValueChoiceDim("w", (8, 16, 32))), 16),
        (SoftmaxPolicy(InputChoiceDim("in", 4, 2, ("a", "b", "c", "d"))), [1, 3]),
        (SubsetPolicy(InputChoiceDim("any", 3, None, ("a", "b", "c"))), [0, 2]),
    ],
)
def test_gradients_match_finite_differences(policy: Policy, value: object) -> None:
    rng = random.Random(0)
    policy.theta = [rng.uniform(-2, 2) for _ in policy.theta]
    expected = numeric_grad(policy, lambda: log_prob(policy, value))
    assert policy.grad_log_prob(value) == pytest.approx(expected, abs=1e-6)
    assert policy.grad_entropy() == pytest.approx(numeric_grad(policy, policy.entropy), abs=1e-6)


def test_rewarded_choices_become_more_likely() -> None:
    space = SearchSpace([LayerChoiceDim("op", ("a", "b", "c"))])
    rl = PolicyBasedRL(learning_rate=0.5, seed=0)
    rl.start(space, "maximize")
    for i in range(30):
        op = "abc"[i % 3]
        rl.tell(Trial("e", i, {"op": op}, TrialStatus.SUCCEEDED, metric=float(op == "c")))
    probs = rl.probabilities()["op"]
    assert probs[2] > 0.8 and probs[0] < 0.1 and probs[1] < 0.1


def test_replaying_the_tells_rebuilds_the_policy_exactly() -> None:
    space = small_space()
    problem = make_problem(space, 0)
    rl = PolicyBasedRL(batch_size=3, entropy_weight=0.01, seed=0)
    history = drive(rl, space, problem.objective, 40, fails=fails_sometimes(problem))
    replayed = PolicyBasedRL(batch_size=3, entropy_weight=0.01, seed=5)
    replayed.start(space, "maximize")
    for trial in history:
        replayed.tell(trial)
    assert replayed.probabilities() == rl.probabilities()
    assert replayed.baseline == rl.baseline


@pytest.mark.parametrize("on_failure", ["worst", "ignore"])
def test_failed_trials_get_the_worst_reward_or_are_skipped(on_failure: str) -> None:
    space = SearchSpace([LayerChoiceDim("op", ("a", "b"))])
    rl = PolicyBasedRL(on_failure=on_failure, seed=0)  # type: ignore[arg-type]
    rl.start(space, "maximize")
    failed = Trial("e", 0, {"op": "a"}, TrialStatus.FAILED, error="boom")
    rl.tell(failed)  # nothing succeeded yet: no reward to give it
    assert rl.probabilities()["op"] == [0.5, 0.5]
    for i, metric in enumerate((1.0, 3.0), start=1):
        rl.tell(Trial("e", i, {"op": "b"}, TrialStatus.SUCCEEDED, metric=metric))
    before = rl.probabilities()["op"]
    rl.tell(failed)
    after = rl.probabilities()["op"]
    if on_failure == "worst":
        assert after[0] < before[0]  # reward 1.0 is below the baseline: "a" is discouraged
    else:
        assert after == before


def test_too_many_options_for_a_softmax_are_refused() -> None:
    space = SearchSpace([InputChoiceDim("in", 20, 10, tuple(f"x{i}" for i in range(20)))])
    with pytest.raises(ValueError, match="184,756 options"):
        PolicyBasedRL().start(space, "maximize")


@pytest.mark.parametrize(
    "kwargs",
    [{"learning_rate": 0}, {"batch_size": 0}, {"baseline_decay": 1.0}, {"on_failure": "x"}],
)
def test_bad_arguments_are_explained(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PolicyBasedRL(**kwargs)  # type: ignore[arg-type]

"""Policy-based reinforcement learning: REINFORCE over independent per-label policies
(Williams 1992; the REINFORCE baseline of NAS-Bench-201)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from archsearch.space import (
    Architecture,
    InvalidArchitectureError,
    SearchSpace,
    Trial,
)
from archsearch.strategy.base import Strategy
from archsearch.strategy.evolution import FAILED_STATUSES, ON_FAILURE, OnFailure
from archsearch.strategy.policy import Policy, SoftmaxPolicy, policy_for, sigmoid, softmax
from archsearch.strategy.seen import SeenArchitectures


class PolicyBasedRL(Strategy):
    """REINFORCE with a moving-average baseline over one independent policy per label.

    Each label has its own softmax (or, for an input choice of any subset, a Bernoulli per
    input), starting uniform. Every finished trial gives a reward (its score; larger is better
    under the optimize mode) and an advantage `(reward - baseline) / std`, where the baseline is
    an exponential moving average of rewards (`baseline_decay`) and `std` the standard
    deviation of all rewards so far — so `learning_rate` does not depend on the metric's scale.
    Every `batch_size` trials the logits move by `learning_rate` times the mean of
    advantage × grad log-probability, plus `entropy_weight` times the entropy gradient.

    The update uses the architecture recorded in the trial, so trials it did not propose (a
    resumed experiment) teach it the same way, and replaying the tells rebuilds the policy
    exactly. `on_failure`: "worst" gives failed and timed-out trials the worst reward seen so
    far (skipped while no trial has succeeded); "ignore" skips them. With `dedup` it redraws
    from the policy until the architecture is new (up to `max_retries`), then falls back to an
    unseen random one; None when the space is exhausted.
    """

    def __init__(
        self,
        learning_rate: float = 0.2,
        batch_size: int = 1,
        entropy_weight: float = 0.0,
        baseline_decay: float = 0.9,
        dedup: bool = True,
        on_failure: OnFailure = "worst",
        max_retries: int = 100,
        seed: int | None = None,
    ) -> None:
        if learning_rate <= 0 or batch_size < 1 or entropy_weight < 0 or max_retries < 1:
            raise ValueError(
                "need learning_rate > 0, batch_size >= 1, entropy_weight >= 0 and "
                f"max_retries >= 1; got {learning_rate}, {batch_size}, {entropy_weight}, "
                f"{max_retries}"
            )
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        if on_failure not in ON_FAILURE:
            raise ValueError(f"on_failure must be one of {ON_FAILURE}, got {on_failure!r}")
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.dedup = dedup
        self.on_failure = on_failure
        self.max_retries = max_retries
        self.seed = seed

    def reset(self, space: SearchSpace) -> None:
        self.policies: dict[str, Policy] = {label: policy_for(dim) for label, dim in space.items()}
        self._rng = random.Random(self.seed)
        self._seen = SeenArchitectures(space)
        self.baseline: float | None = None
        self._worst: float | None = None
        self._count, self._mean, self._m2 = 0, 0.0, 0.0  # Welford's running variance
        self._batch: list[tuple[Architecture, float]] = []

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        if not self.dedup:
            return self._draw()
        draws = (self._draw() for _ in range(self.max_retries))
        return self._seen.first_unseen(history, draws, self._rng)

    def _draw(self) -> Architecture:
        return {label: policy.sample(self._rng) for label, policy in self.policies.items()}

    def learn(self, trial: Trial) -> None:
        reward = self._reward(trial)
        if reward is None:
            return
        try:
            arch = self.space.validate(trial.arch)
        except InvalidArchitectureError:
            return
        if self.baseline is None:
            self.baseline = reward
        std = math.sqrt(self._m2 / self._count) if self._count > 1 else 0.0
        advantage = (reward - self.baseline) / (std if std > 1e-12 else 1.0)
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        self._batch.append((arch, advantage))
        if len(self._batch) >= self.batch_size:
            self._update()

    def _reward(self, trial: Trial) -> float | None:
        """The trial's reward; updates the running statistics of real rewards."""
        reward = self.score(trial)
        if reward is None:
            use_worst = self.on_failure == "worst" and trial.status in FAILED_STATUSES
            return self._worst if use_worst else None
        self._worst = reward if self._worst is None else min(self._worst, reward)
        self._count += 1
        delta = reward - self._mean
        self._mean += delta / self._count
        self._m2 += delta * (reward - self._mean)
        return reward

    def _update(self) -> None:
        """One REINFORCE step from the batch of (architecture, advantage)."""
        scale = self.learning_rate / len(self._batch)
        for label, policy in self.policies.items():
            step = [0.0] * len(policy.theta)
            for arch, advantage in self._batch:
                for i, g in enumerate(policy.grad_log_prob(arch[label])):
                    step[i] += scale * advantage * g
            if self.entropy_weight:
                for i, g in enumerate(policy.grad_entropy()):
                    step[i] += self.learning_rate * self.entropy_weight * g
            policy.theta = [t + s for t, s in zip(policy.theta, step, strict=True)]
        self._batch = []

    def probabilities(self) -> dict[str, Any]:
        """The current policy per label (for inspection): option probabilities or, for
        any-subset inputs, the probability of each input."""
        return {
            label: softmax(policy.theta)
            if isinstance(policy, SoftmaxPolicy)
            else [sigmoid(t) for t in policy.theta]
            for label, policy in self.policies.items()
        }

    def __repr__(self) -> str:
        return (
            f"PolicyBasedRL(learning_rate={self.learning_rate}, batch_size={self.batch_size}, "
            f"entropy_weight={self.entropy_weight}, baseline_decay={self.baseline_decay}, "
            f"dedup={self.dedup}, on_failure={self.on_failure!r}, seed={self.seed})"
        )

"""Independent per-label policies for policy-gradient search, in plain Python math.

Each label gets its own distribution with logits `theta`: a softmax over the label's options
(layer and value choices, and input choices with a fixed number chosen), or one Bernoulli per
input for an input choice of any subset (2^n options would be too many to list). Each policy
maps a canonical value to the gradient of its log-probability and gives the gradient of its
entropy, which is all REINFORCE needs.
"""

from __future__ import annotations

import bisect
import json
import math
import random
from abc import ABC, abstractmethod
from itertools import accumulate
from typing import Any

from archsearch.space import Dimension, InputChoiceDim, to_json_value

OPTIONS_LIMIT = 100_000
"""Most options a softmax policy lists; beyond it the label is refused with a clear error."""


class Policy(ABC):
    """A distribution over one label's canonical values, with logits `theta`."""

    theta: list[float]

    @abstractmethod
    def sample(self, rng: random.Random) -> Any:
        """A canonical value drawn from the policy."""

    @abstractmethod
    def grad_log_prob(self, value: Any) -> list[float]:
        """d log p(value) / d theta for a canonical value."""

    @abstractmethod
    def grad_entropy(self) -> list[float]:
        """d H / d theta."""

    @abstractmethod
    def entropy(self) -> float:
        """The entropy (nats)."""


def softmax(theta: list[float]) -> list[float]:
    """Probabilities of logits (shifted by the max, so large logits do not overflow)."""
    top = max(theta)
    exps = [math.exp(t - top) for t in theta]
    total = sum(exps)
    return [e / total for e in exps]


class SoftmaxPolicy(Policy):
    """A categorical over the listed options of one label."""

    def __init__(self, dim: Dimension) -> None:
        if dim.size() > OPTIONS_LIMIT:
            raise ValueError(
                f"label {dim.label!r} has {dim.size():,} options, more than a softmax policy "
                f"lists ({OPTIONS_LIMIT:,}); use another strategy for this space"
            )
        self.options = list(dim.options())
        self.index = {_key(v): i for i, v in enumerate(self.options)}
        self.theta = [0.0] * len(self.options)
        self._sums: tuple[list[float], list[float]] = ([], [])  # (theta, cumulative softmax)

    def sample(self, rng: random.Random) -> Any:
        # A peaked policy redraws many duplicates per ask, so the softmax's cumulative sums
        # are kept until theta changes. The draw is `rng.choices(range(n), softmax(theta))`'s,
        # written out: the same number from the same generator state.
        theta, sums = self._sums
        if theta != self.theta:
            sums = list(accumulate(softmax(self.theta)))
            self._sums = (list(self.theta), sums)
        value = self.options[bisect.bisect(sums, rng.random() * sums[-1], 0, len(sums) - 1)]
        return to_json_value(value) if isinstance(value, (list, dict)) else value  # a caller's copy

    def grad_log_prob(self, value: Any) -> list[float]:
        chosen = self.index[_key(value)]
        return [(i == chosen) - p for i, p in enumerate(softmax(self.theta))]

    def grad_entropy(self) -> list[float]:
        probs = softmax(self.theta)
        h = -sum(p * math.log(p) for p in probs if p > 0)
        return [-p * (math.log(p) + h) if p > 0 else 0.0 for p in probs]

    def entropy(self) -> float:
        return -sum(p * math.log(p) for p in softmax(self.theta) if p > 0)


def sigmoid(t: float) -> float:
    """The logistic function, without overflow for large |t|."""
    return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))


class SubsetPolicy(Policy):
    """Independent Bernoulli per input, for an input choice of any subset."""

    def __init__(self, dim: InputChoiceDim) -> None:
        self.theta = [0.0] * dim.n_candidates
        self._probs: tuple[list[float], list[float]] = ([], [])  # (theta, sigmoid of each)

    def sample(self, rng: random.Random) -> list[int]:
        theta, probs = self._probs
        if theta != self.theta:
            probs = [sigmoid(t) for t in self.theta]
            self._probs = (list(self.theta), probs)
        return [i for i, p in enumerate(probs) if rng.random() < p]

    def grad_log_prob(self, value: Any) -> list[float]:
        chosen = set(value)
        return [(i in chosen) - sigmoid(t) for i, t in enumerate(self.theta)]

    def grad_entropy(self) -> list[float]:
        # H(p) = -p log p - (1-p) log(1-p); dH/dt = dH/dp * p(1-p) = -t p (1-p).
        return [-t * sigmoid(t) * (1 - sigmoid(t)) for t in self.theta]

    def entropy(self) -> float:
        total = 0.0
        for t in self.theta:
            p = sigmoid(t)
            total -= sum(q * math.log(q) for q in (p, 1 - p) if q > 0)
        return total


def policy_for(dim: Dimension) -> Policy:
    """The policy of one label: Bernoulli per input for any-subset inputs, else a softmax
    (an input count range is a softmax over its listed subsets, so it stays in range)."""
    if isinstance(dim, InputChoiceDim) and dim.n_chosen is None and dim.chosen_range is None:
        return SubsetPolicy(dim)
    return SoftmaxPolicy(dim)


def _key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))

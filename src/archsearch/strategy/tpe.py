"""Tree-structured Parzen Estimator (Bergstra et al. 2011) with Optuna's `TPESampler` model for
categorical labels, kept incrementally (`strategy/parzen.py`) so that an ask costs about the
same at 10,000 finished trials as at 100."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any

from archsearch.space import (
    Architecture,
    InvalidArchitectureError,
    SearchSpace,
    Trial,
    to_json_value,
)
from archsearch.strategy.base import Strategy
from archsearch.strategy.parzen import Code, Estimator, Observations
from archsearch.strategy.seen import SeenArchitectures, arch_key


class TPE(Strategy):
    """TPE over the space, each label a categorical over its options.

    The first `n_startup_trials` proposals are random. Then every ask splits the succeeded
    trials into the best `min(ceil(0.1 n), 25)` and the rest, builds a Parzen estimator of
    each (Optuna's categorical kernels, prior weight 1, its default weights), draws
    `n_ei_candidates` architectures from the good one and proposes the one with the largest
    log l(x) - log g(x). `multivariate` models the labels jointly (one kernel per trial over
    all labels); without it each label is chosen on its own. Failed, timed-out and cancelled
    trials teach it nothing (Optuna ignores FAIL trials too). The estimators are updated at
    each tell instead of refitted at each ask; see `strategy/parzen.py` for the one
    approximation this makes past 128 trials.

    With `dedup` candidates already in the history are dropped before they are compared, so
    the proposal is the best new one of the draw; a draw with none is followed by another (up
    to `max_retries`), then an unseen random architecture is used; None when the space is
    exhausted.
    """

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool = True,
        dedup: bool = True,
        max_retries: int = 20,
    ) -> None:
        if n_startup_trials < 0 or n_ei_candidates < 1 or max_retries < 1:
            raise ValueError(
                "need n_startup_trials >= 0, n_ei_candidates >= 1 and max_retries >= 1; got "
                f"{n_startup_trials}, {n_ei_candidates}, {max_retries}"
            )
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.multivariate = multivariate
        self.dedup = dedup
        self.max_retries = max_retries

    def reset(self, space: SearchSpace) -> None:
        self._labels = list(space)
        self._options = [list(dim.options()) for dim in space.values()]
        self._index = [
            {_value_key(to_json_value(v)): i for i, v in enumerate(options)}
            for options in self._options
        ]
        self.observations = Observations([len(options) for options in self._options])
        self._seen = SeenArchitectures(space)
        self._rng = random.Random(self.seed)

    def learn(self, trial: Trial) -> None:
        value = self.score(trial)
        if value is None:
            return
        try:
            arch = self.space.validate(trial.arch)
        except InvalidArchitectureError:
            return  # a trial of another space (edited history) teaches nothing here
        code = tuple(
            index[_value_key(v)] for index, v in zip(self._index, arch.values(), strict=True)
        )
        self.observations.add(code, value)

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        if not self.dedup:
            return next(self._candidates(), None) or self.space.sample(self._rng)
        return self._seen.first_unseen(history, self._candidates(), self._rng)

    def _candidates(self) -> Iterator[Architecture]:
        """Draws of candidates, each best first (unseen ones only with `dedup`); nothing
        during the random start-up."""
        if len(self.observations) < max(self.n_startup_trials, 1):
            return
        below, above = self.observations.estimators()
        if self.multivariate:
            for _ in range(self.max_retries):
                yield from map(self._arch, self._joint(below, above))
            return
        good = [below.marginal(label) for label in range(len(self._options))]
        bad = [above.marginal(label) for label in range(len(self._options))]
        gain = [
            [math.log(p) - math.log(q) for p, q in zip(ps, qs, strict=True)]
            for ps, qs in zip(good, bad, strict=True)
        ]
        for _ in range(self.max_retries):
            yield self._arch(self._independent(good, gain))

    def _joint(self, below: Estimator, above: Estimator) -> list[Code]:
        """The draw's candidates, largest log l - log g first (ties: drawn first)."""
        scored = []
        for order in range(self.n_ei_candidates):
            code = below.sample(self._rng)
            if self.dedup and arch_key(self._arch(code)) in self._seen:
                continue
            mask = self.observations.mask(code)
            gain = below.log_pdf(code, mask) - above.log_pdf(code, mask)
            scored.append((-gain, order, code))
        scored.sort()
        return [code for *_, code in scored]

    def _independent(self, good: list[list[float]], gain: list[list[float]]) -> Code:
        """Each label's best of `n_ei_candidates` options drawn from its own l (`good`), by
        log l - log g (`gain`); ties: drawn first."""
        code = []
        for weights, gains in zip(good, gain, strict=True):
            drawn = self._rng.choices(range(len(weights)), weights, k=self.n_ei_candidates)
            code.append(max(drawn, key=gains.__getitem__))
        return tuple(code)

    def _arch(self, code: Code) -> Architecture:
        return {
            label: to_json_value(options[i])
            for label, options, i in zip(self._labels, self._options, code, strict=True)
        }

    def __repr__(self) -> str:
        return (
            f"TPE(seed={self.seed}, n_startup_trials={self.n_startup_trials}, "
            f"n_ei_candidates={self.n_ei_candidates}, multivariate={self.multivariate}, "
            f"dedup={self.dedup})"
        )


def _value_key(value: Any) -> Any:
    """A dict key of a canonical value: itself for a str or an int (most options; cheap on
    every tell), else its JSON as in `arch_key` (lists, floats, None)."""
    kind = type(value)
    return (kind, value) if kind is str or kind is int else arch_key({"": value})

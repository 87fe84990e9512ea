"""Tree-structured Parzen Estimator (Bergstra et al. 2011) through Optuna's `TPESampler`.

Optuna is imported when the strategy starts, not with `archsearch.strategy`, so it stays an
optional dependency (`pip install archsearch[tpe]`).
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from archsearch.space import (
    Architecture,
    InvalidArchitectureError,
    SearchSpace,
    Trial,
    TrialStatus,
    to_json_value,
)
from archsearch.strategy.base import Strategy
from archsearch.strategy.seen import SeenArchitectures, arch_key

if TYPE_CHECKING:
    import optuna


class TPE(Strategy):
    """TPE over the space, each label a categorical over its options' indices.

    `ask` asks an Optuna study for a trial with those fixed distributions; `tell` completes it
    with the trial's score (larger is better under the optimize mode) or marks it FAIL for a
    failed, timed-out or cancelled trial. A told trial that this instance did not ask for (a
    resumed experiment replaying its history) is added to the study as a finished trial, so
    replaying the tells rebuilds the study. With `dedup` a proposal already in the history
    is told to Optuna as FAIL and asked again (up to `max_retries`), then an unseen random
    architecture is used; None when the space is exhausted. `n_startup_trials` random trials
    come first; `multivariate` models the labels jointly. Optuna's per-trial INFO log lines are
    silenced while the strategy talks to it.
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
        try:
            import optuna
        except ImportError as exc:
            raise ImportError(
                "the TPE strategy needs Optuna: pip install 'archsearch[tpe]' (or optuna)"
            ) from exc
        sampler = optuna.samplers.TPESampler(
            seed=self.seed,
            n_startup_trials=self.n_startup_trials,
            n_ei_candidates=self.n_ei_candidates,
            multivariate=self.multivariate,
        )
        with _quiet_optuna():
            # Scores are already signed so that larger is better.
            self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self._options = {label: list(dim.options()) for label, dim in space.items()}
        self._distributions: dict[str, optuna.distributions.BaseDistribution] = {
            label: optuna.distributions.CategoricalDistribution(tuple(range(len(options))))
            for label, options in self._options.items()
        }
        self._index = {
            label: {arch_key({label: v}): i for i, v in enumerate(options)}
            for label, options in self._options.items()
        }
        self._pending: dict[str, list[int]] = {}
        self._seen = SeenArchitectures(space)
        self._rng = random.Random(self.seed)

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        with _quiet_optuna():
            if not self.dedup:
                return next(self._asked())
            return self._seen.first_unseen(history, self._asked(), self._rng)

    def _asked(self) -> Iterator[Architecture]:
        """The study's proposals, up to `max_retries`; one passed over (a repeat) is told to
        the study as FAIL before the next is asked for."""
        for _ in range(self.max_retries):
            asked = self.study.ask(self._distributions)
            arch = {
                label: to_json_value(self._options[label][index])
                for label, index in asked.params.items()
            }
            key = arch_key(arch)
            self._pending.setdefault(key, []).append(asked.number)
            yield arch
            self._pending[key].pop()
            self.study.tell(asked, state=_state("FAIL"))

    def learn(self, trial: Trial) -> None:
        try:
            arch = self.space.validate(trial.arch)
        except InvalidArchitectureError:
            return
        value = self.score(trial)
        state = _state("COMPLETE" if value is not None else "FAIL")
        pending = self._pending.get(arch_key(arch))
        with _quiet_optuna():
            if pending:
                self.study.tell(pending.pop(0), value, state=state)
            elif value is not None or trial.status is not TrialStatus.CANCELLED:
                self.study.add_trial(self._frozen(arch, value, state))

    def _frozen(self, arch: Architecture, value: float | None, state: Any) -> Any:
        """A finished Optuna trial for an architecture this instance did not ask for."""
        import optuna

        params = {label: self._index[label][arch_key({label: v})] for label, v in arch.items()}
        return optuna.trial.create_trial(
            params=params, distributions=self._distributions, value=value, state=state
        )

    def __repr__(self) -> str:
        return (
            f"TPE(seed={self.seed}, n_startup_trials={self.n_startup_trials}, "
            f"n_ei_candidates={self.n_ei_candidates}, multivariate={self.multivariate}, "
            f"dedup={self.dedup})"
        )


def _state(name: str) -> optuna.trial.TrialState:
    import optuna

    return optuna.trial.TrialState[name]


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Hide Optuna's INFO lines (one per trial) without changing its level for good."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)

"""The multi-trial strategy interface: ask for an architecture, tell a finished trial.

Strategies are torch-free. The base class owns the protocol (`start`, `ask` and `tell` are
final); a strategy implements `propose`, and `reset` and `learn` when it keeps state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import final

from archsearch.space import Architecture, OptimizeMode, SearchSpace, Trial, score


class Strategy(ABC):
    """Proposes architectures of a search space, learning from finished trials.

    The runner drives it: `start(space, optimize_mode)` once per run (`ask` starts a strategy
    that was not started, or was started with another space); `ask(space, history)`, where
    `history` is every trial so far in creation order, running and waiting ones included;
    `tell(trial)` once per trial that reached a final status, in finishing order (failed,
    timed-out and cancelled ones too: `score` is None for them). Trials told before `start`
    are kept and learned right after it, so a history can be replayed into a fresh strategy.

    A strategy implements `propose(history)`: a valid architecture of `self.space` (any
    accepted spelling), or None when it will never propose one again (a finished grid, an
    exhausted space; the runner then ends the experiment, so None never means "not now").
    Optionally `reset(space)` builds fresh state and `learn(trial)` updates it: `history` says
    what was tried, the learned trials what it gave. On resume the runner starts the strategy
    loaded from storage and tells it every finished trial again, which rebuilds that state.
    """

    optimize_mode: OptimizeMode = "maximize"
    _space: SearchSpace | None = None
    _told_before_start: list[Trial] | None = None

    @property
    def space(self) -> SearchSpace:
        """The space the strategy was started with (RuntimeError before `start`/`ask`)."""
        if self._space is None:
            raise RuntimeError(f"{type(self).__name__} was not started: call start() or ask()")
        return self._space

    @final
    def start(self, space: SearchSpace, optimize_mode: OptimizeMode) -> None:
        """Reset the strategy for `space` and `optimize_mode`, then learn the trials told
        before it was started."""
        self.optimize_mode = optimize_mode
        self._space = None  # stays unstarted if `reset` raises
        self.reset(space)
        self._space = space
        early, self._told_before_start = self._told_before_start or [], None
        for trial in early:
            self.learn(trial)

    @final
    def ask(self, space: SearchSpace, history: Sequence[Trial]) -> Architecture | None:
        """The next architecture to evaluate, or None when there will never be one again."""
        if self._space is None or (self._space is not space and self._space != space):
            self.start(space, self.optimize_mode)
        return self.propose(history)

    @final
    def tell(self, trial: Trial) -> None:
        """Learn from a finished trial (kept until `start` when the strategy is not started)."""
        if self._space is not None:
            self.learn(trial)
        elif self._told_before_start is None:
            self._told_before_start = [trial]
        else:
            self._told_before_start.append(trial)

    @abstractmethod
    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        """The next architecture of `self.space`, or None when there will never be one again."""

    def reset(self, space: SearchSpace) -> None:  # noqa: B027 - optional hook, default does nothing
        """Build fresh state for `space` (optional; `self.optimize_mode` is already set)."""

    def learn(self, trial: Trial) -> None:  # noqa: B027 - optional hook, default does nothing
        """Update the state from a finished trial (optional)."""

    def score(self, trial: Trial) -> float | None:
        """The trial's metric with larger = better under this strategy's optimize mode."""
        return score(trial, self.optimize_mode)

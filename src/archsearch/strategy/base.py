"""The multi-trial strategy interface: ask for an architecture, tell a finished trial.

Strategies are torch-free. The base class owns the protocol (`start`, `ask`, `tell` are final);
a strategy implements `propose` and, when it keeps state, `reset` and `learn`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import final

from archsearch.space import Architecture, OptimizeMode, SearchSpace, Trial, score


class Strategy(ABC):
    """Proposes architectures of a search space, learning from finished trials.

    How it is driven (the experiment's runner does this; a script may too):
    - `start(space, optimize_mode)` resets the strategy for `space`. The runner calls it once per
      run, before anything else; `ask` calls it when the strategy was not started (or was
      started with another space).
    - `ask(space, history)` returns a valid architecture of `space` (any accepted spelling; the
      experiment canonicalises it), or None when the strategy will never propose anything again
      (a finished grid, an exhausted space): the runner then ends the experiment, so None must
      not mean "nothing right now". `history` is every trial of the experiment so far in
      creation order, running and waiting ones included.
    - `tell(trial)` is called once per trial that reached a final status, in the order they
      finished (failed, timed-out and cancelled trials too: `score` is None for them). Trials
      told before the strategy is started are kept and learned right after it starts (its
      first `ask` starts it), so a history can be replayed into a fresh strategy.

    Where state comes from: `history` says what was tried (read it to avoid repeats); the
    trials learned through `tell` are what it knows. On resume the runner `start`s the
    strategy and tells it every finished trial again in finishing order, so all state built by
    `reset` and `learn` comes back; other state (e.g. a random generator's position) does not.
    The strategy object itself is stored with the experiment when it is created (imported by
    name or pickled, before its first `start`) and loaded again by `Experiment.resume`.

    What a strategy implements:
    - `propose(history)` (required): the proposal, as `ask` returns it; `self.space` is the
      space it was started with.
    - `reset(space)` (optional): build fresh state for `space` (called by `start`).
    - `learn(trial)` (optional): update the state from one finished trial (called by `tell`).
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

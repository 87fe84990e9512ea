"""The multi-trial strategy interface: ask for an architecture, tell a finished trial.

Strategies are torch-free. A strategy's state is a function of the trial history: on resume the
experiment builds a fresh strategy, calls `start`, then `tell`s it every finished trial in order,
so nothing has to be pickled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from archsearch.space import Architecture, OptimizeMode, SearchSpace, Trial, score


class Strategy(ABC):
    """Proposes architectures of a search space, learning from finished trials.

    Contract:
    - `start(space, optimize_mode)` is called once before the first `ask` (and on resume).
    - `ask(space, history)` returns a valid architecture of `space` (any accepted spelling; the
      experiment canonicalises it), or None when the strategy has nothing left to propose (a
      finished grid). `history` is every trial of the experiment so far in creation order,
      running and waiting ones included, so a strategy can avoid proposing them again.
    - `tell(trial)` is called once per trial that reached a final status, in the order they
      finished (failed, timed-out and cancelled trials too: `score` is None for them).
    """

    optimize_mode: OptimizeMode = "maximize"
    space: SearchSpace | None = None

    def start(self, space: SearchSpace, optimize_mode: OptimizeMode) -> None:
        """Remember the space and the direction; subclasses extend it to reset their state."""
        self.space = space
        self.optimize_mode = optimize_mode

    @abstractmethod
    def ask(self, space: SearchSpace, history: Sequence[Trial]) -> Architecture | None:
        """The next architecture to evaluate, or None when there is none left."""

    def tell(self, trial: Trial) -> None:  # noqa: B027 - optional hook, default does nothing
        """Learn from a finished trial (optional)."""

    def ensure_started(self, space: SearchSpace) -> None:
        """Call `start` with `space` unless it was started with an equal space already.

        Lets a strategy be used without an explicit `start` (e.g. from a script), and restarts
        it if it is asked about a different space.
        """
        if self.space is None or (self.space is not space and self.space != space):
            self.start(space, self.optimize_mode)

    def score(self, trial: Trial) -> float | None:
        """The trial's metric with larger = better under this strategy's optimize mode."""
        return score(trial, self.optimize_mode)

"""Base of strategies that wrap another strategy and filter what it proposes."""

from __future__ import annotations

from archsearch.space import SearchSpace, Trial
from archsearch.strategy.base import Strategy


class StrategyWrapper(Strategy):
    """Starts and tells the wrapped strategy with it; subclasses filter its proposals."""

    def __init__(self, strategy: Strategy) -> None:
        if not isinstance(strategy, Strategy):
            raise TypeError(
                f"{type(self).__name__} wraps an archsearch Strategy (e.g. Random(), "
                f"RegularizedEvolution()), got {type(strategy).__name__}"
            )
        self.strategy = strategy

    def reset(self, space: SearchSpace) -> None:
        self.strategy.start(space, self.optimize_mode)

    def learn(self, trial: Trial) -> None:
        self.strategy.tell(trial)

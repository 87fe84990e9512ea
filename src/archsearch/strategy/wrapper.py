"""Base of strategies that wrap another strategy and filter what it proposes."""

from __future__ import annotations

from archsearch.space import OptimizeMode, SearchSpace, Trial
from archsearch.strategy.base import Strategy


class StrategyWrapper(Strategy):
    """Forwards `start` and `tell` to the wrapped strategy; subclasses filter `ask`."""

    def __init__(self, strategy: Strategy) -> None:
        if not isinstance(strategy, Strategy):
            raise TypeError(
                f"{type(self).__name__} wraps an archsearch Strategy (e.g. Random(), "
                f"RegularizedEvolution()), got {type(strategy).__name__}"
            )
        self.strategy = strategy

    def start(self, space: SearchSpace, optimize_mode: OptimizeMode) -> None:
        super().start(space, optimize_mode)
        self.strategy.start(space, optimize_mode)

    def tell(self, trial: Trial) -> None:
        self.strategy.tell(trial)

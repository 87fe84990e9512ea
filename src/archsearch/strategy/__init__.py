"""Multi-trial strategies behind one ask/tell interface (torch-free).

`Random`, `GridSearch`, `RegularizedEvolution`, `TPE` (Optuna's model, its own estimators)
and `PolicyBasedRL` (NNI's names; `TPEStrategy` is NNI 2.0–2.5's name of `TPE`), and the
wrappers `Deduplicate` and `ConstraintFilter`, which work with any strategy.
"""

from archsearch.strategy.base import Strategy
from archsearch.strategy.constraint import (
    Constraint,
    ConstraintFilter,
    ConstraintUnsatisfiedError,
)
from archsearch.strategy.deduplicate import Deduplicate
from archsearch.strategy.evolution import RegularizedEvolution
from archsearch.strategy.grid import GridSearch
from archsearch.strategy.random import Random
from archsearch.strategy.rl import PolicyBasedRL
from archsearch.strategy.seen import SeenArchitectures, arch_key
from archsearch.strategy.tpe import TPE
from archsearch.strategy.wrapper import StrategyWrapper

TPEStrategy = TPE
"""NNI 2.0–2.5's name of `TPE`."""

__all__ = [
    "TPE",
    "Constraint",
    "ConstraintFilter",
    "ConstraintUnsatisfiedError",
    "Deduplicate",
    "GridSearch",
    "PolicyBasedRL",
    "Random",
    "RegularizedEvolution",
    "SeenArchitectures",
    "Strategy",
    "StrategyWrapper",
    "TPEStrategy",
    "arch_key",
]

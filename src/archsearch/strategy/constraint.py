"""A wrapper that only lets through architectures satisfying a user's constraint."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from archsearch.space import Architecture, Trial
from archsearch.strategy.base import Strategy
from archsearch.strategy.wrapper import StrategyWrapper

Constraint = Callable[[Architecture], bool]
"""Whether an architecture (canonical form) may be evaluated, e.g. parameter count <= N."""


class ConstraintUnsatisfiedError(RuntimeError):
    """The wrapped strategy proposed no architecture that satisfies the constraint."""


class ConstraintFilter(StrategyWrapper):
    """Asks the wrapped strategy again while its proposal fails `constraint(arch)`.

    The constraint receives the canonical architecture and returns a bool. Rejected
    architectures are never evaluated, so the wrapped strategy is never told about them. After
    `max_retries` rejections in a row it raises ConstraintUnsatisfiedError (a constraint no
    proposal meets would otherwise loop forever); it returns None when the wrapped strategy does.
    """

    def __init__(self, strategy: Strategy, constraint: Constraint, max_retries: int = 1000) -> None:
        super().__init__(strategy)
        if not callable(constraint):
            raise TypeError(
                f"constraint must be a function arch -> bool, got {type(constraint).__name__}"
            )
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.constraint = constraint
        self.max_retries = max_retries

    def propose(self, history: Sequence[Trial]) -> Architecture | None:
        for _ in range(self.max_retries + 1):
            proposed = self.strategy.ask(self.space, history)
            if proposed is None:
                return None
            arch = self.space.validate(proposed)
            if self._allowed(arch):
                return arch
        name = getattr(self.constraint, "__name__", repr(self.constraint))
        raise ConstraintUnsatisfiedError(
            f"{self.strategy!r} proposed {self.max_retries + 1} architectures in a row and "
            f"none satisfied the constraint {name}; loosen the constraint or raise max_retries"
        )

    def _allowed(self, arch: Architecture) -> bool:
        verdict = self.constraint(arch)
        if not isinstance(verdict, bool):
            raise TypeError(
                f"the constraint must return a bool, got {type(verdict).__name__} for {arch}"
            )
        return verdict

    def __repr__(self) -> str:
        name = getattr(self.constraint, "__name__", repr(self.constraint))
        return f"ConstraintFilter({self.strategy!r}, {name}, max_retries={self.max_retries})"

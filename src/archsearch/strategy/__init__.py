"""Multi-trial strategies behind one ask/tell interface (torch-free)."""

from archsearch.strategy.base import Strategy

__all__ = ["Strategy"]

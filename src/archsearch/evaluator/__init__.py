"""What runs inside a trial: evaluators and the offline datasets they train on."""

from archsearch.evaluator.datasets import Split, load_digits, load_mnist1d

__all__ = ["Split", "load_digits", "load_mnist1d"]

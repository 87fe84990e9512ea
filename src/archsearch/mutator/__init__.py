"""The v1 mutator API (NNI's `nas.pytorch`): how decisions reach a model's choices in forward."""

from archsearch.mutator.base import BaseMutator
from archsearch.mutator.mutator import Mutator
from archsearch.mutator.random import RandomMutator
from archsearch.mutator.replay import ReplayMutator

__all__ = ["BaseMutator", "Mutator", "RandomMutator", "ReplayMutator"]

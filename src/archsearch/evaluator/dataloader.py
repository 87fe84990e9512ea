"""NNI's `pl.DataLoader`: torch's DataLoader that also takes a `serialize` recipe as dataset.

NNI's Retiarii document builds `pl.DataLoader(serialize(MNIST, ...), batch_size=100)`. The
recipe is built here (the loader needs its length), and a loader made from a recipe travels to
another process as the recipe, not as the built dataset. A loader with a value choice in its
arguments (`batch_size=nn.ValueChoice([32, 64])`) cannot be built before a trial picks the
value: it stays a recipe, whose choices the evaluator searches like its other arguments.
"""

from __future__ import annotations

from typing import Any

import torch.utils.data

from archsearch.evaluator.serialize import Serialized, serialize
from archsearch.nn.value_choice import ChoiceExpression


class DataLoader(torch.utils.data.DataLoader):  # type: ignore[type-arg]
    """`torch.utils.data.DataLoader`; a recipe given as `dataset` is built first."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Returning a recipe (not a DataLoader) skips __init__: it is built in the trial.
        # (Unpickling calls __new__ with no arguments at all.)
        if any(isinstance(a, ChoiceExpression) for a in (*args, *kwargs.values())):
            return serialize(cls, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, dataset: Any, *args: Any, **kwargs: Any) -> None:
        # Set before torch's __init__, which forbids changing some attributes afterwards.
        self._recipe = (dataset, args, kwargs) if isinstance(dataset, Serialized) else None
        super().__init__(dataset.build() if self._recipe else dataset, *args, **kwargs)

    def __reduce_ex__(self, protocol: Any) -> Any:
        if self._recipe is None:
            return super().__reduce_ex__(protocol)
        return (_from_recipe, self._recipe)


def _from_recipe(dataset: Serialized, args: tuple[Any, ...], kwargs: dict[str, Any]) -> DataLoader:
    return DataLoader(dataset, *args, **kwargs)

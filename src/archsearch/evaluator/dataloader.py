"""NNI's `pl.DataLoader`: torch's DataLoader that also takes a `serialize` recipe as dataset.

NNI's Retiarii document builds `pl.DataLoader(serialize(MNIST, ...), batch_size=100)`. The
recipe is built here (the loader needs its length), and a loader made from a recipe travels to
another process as the recipe, not as the built dataset.
"""

from __future__ import annotations

from typing import Any

import torch.utils.data

from archsearch.evaluator.serialize import Serialized


class DataLoader(torch.utils.data.DataLoader):  # type: ignore[type-arg]
    """`torch.utils.data.DataLoader`; a recipe given as `dataset` is built first."""

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

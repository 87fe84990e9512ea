"""`@model_wrapper`: NNI's class decorator for a model space, kept so NNI code runs unchanged.

NNI needed it to record how the model space was constructed; archsearch reads the choices from
the built model, so the decorator changes nothing and may be left out.
"""

from __future__ import annotations

from typing import TypeVar

import torch

ModelClass = TypeVar("ModelClass", bound=type[torch.nn.Module])


def model_wrapper(cls: ModelClass) -> ModelClass:
    """Return `cls` unchanged (NNI's decorator; not needed here). TypeError unless `cls` is an
    `nn.Module` subclass, which is what NNI accepted too."""
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(
            f"@model_wrapper decorates an nn.Module subclass (the model space), got {cls!r}"
        )
    return cls

"""`@model_wrapper`: NNI's class decorator for a model space, kept so NNI code runs unchanged.

NNI needed it to record how the model space was constructed; archsearch reads the choices from
the built model, so it is only needed for `ModelParameterChoice`: it records the constructor's
arguments and the parameter choices met while the model was built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import torch

from archsearch.nn.parameter_choice import wrap_init

ModelClass = TypeVar("ModelClass", bound=type[torch.nn.Module])


def model_wrapper(cls: ModelClass) -> ModelClass:
    """Return `cls`, its `__init__` recording ModelParameterChoices (NNI's decorator). TypeError
    unless `cls` is an `nn.Module` subclass, which is what NNI accepted too."""
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(
            f"@model_wrapper decorates an nn.Module subclass (the model space), got {cls!r}"
        )
    if "__init__" in cls.__dict__ and not hasattr(cls.__init__, "__wrapped__"):
        cls.__init__ = wrap_init(cls.__init__)  # type: ignore[method-assign]
    return cls


class ModelSpace(torch.nn.Module):
    """NNI 3.0's base class of a model space, in place of `@model_wrapper`.

    Subclasses get what the decorator gives (ModelParameterChoice works in their `__init__`),
    and `freeze(sample)`, NNI 3.0's name for `archsearch.fix(self, sample)`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model_wrapper(cls)

    def freeze(self, sample: Mapping[str, Any]) -> torch.nn.Module:
        """The plain model running architecture `sample` (`archsearch.fix(self, sample)`)."""
        from archsearch.nn.fix import fix

        return fix(self, sample)

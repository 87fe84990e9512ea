"""Modules that take value choices as constructor arguments: the mixin and `@basic_unit`."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import torch

from archsearch.nn.value_choice import find_leaves, resolve

M = TypeVar("M", bound=type[torch.nn.Module])


class ChoiceArgs(torch.nn.Module):
    """Mixin (first base) that builds a module from the first candidate of each value choice.

    The original arguments are kept so that `archsearch.fix` can rebuild the module with the
    chosen values, and so that the walker can name each choice after the argument it feeds
    (`conv.kernel_size`). Modules without value choices keep nothing extra.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*_defaults(args), **_defaults(kwargs))
        if any(True for _ in find_leaves((args, kwargs), "")):
            self.__dict__["_choice_args"] = (args, kwargs)

    @classmethod
    def plain_class(cls) -> type[torch.nn.Module]:
        """The first class in the MRO that is not a ChoiceArgs: the wrapped layer or user class."""
        return next(
            c
            for c in cls.__mro__
            if issubclass(c, torch.nn.Module) and not issubclass(c, ChoiceArgs)
        )

    @classmethod
    def fixed_class(cls) -> type[torch.nn.Module]:
        """The class a fixed model uses in place of this one: the wrapped torch layer."""
        return cls.plain_class()

    def has_choices(self) -> bool:
        """Whether any constructor argument is a value choice."""
        return "_choice_args" in self.__dict__

    def choice_arguments(self) -> dict[str, Any] | None:
        """Constructor arguments by parameter name, or None when no argument is a choice."""
        recorded = self.__dict__.get("_choice_args")
        if recorded is None:
            return None
        args, kwargs = recorded
        bound = inspect.signature(self.plain_class()).bind(*args, **kwargs)
        return dict(bound.arguments)

    def rebuild(self, value_of: Any) -> torch.nn.Module:
        """A new module of `fixed_class()` built with each choice replaced by `value_of(choice)`."""
        args, kwargs = self.__dict__["_choice_args"]
        module = self.fixed_class()(*resolve(args, value_of), **resolve(kwargs, value_of))
        return module.train(self.training)


def _defaults(obj: Any) -> Any:
    return resolve(obj, lambda leaf: leaf.candidates[0])


class _UnitArgs(ChoiceArgs):
    @classmethod
    def fixed_class(cls) -> type[torch.nn.Module]:
        # A basic unit stays the user's (decorated) class, so pickles find it by its name.
        return cls


def basic_unit(cls: M) -> M:
    """Class decorator: the module takes value choices as constructor arguments.

    The module is treated as one unit: it is built with the first candidates, and a fixed model
    holds a new instance built with the chosen values. Its own `forward` is never traced into.
    """
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    unit: M = type(cls.__name__, (_UnitArgs, cls), namespace)  # type: ignore[assignment]
    return unit

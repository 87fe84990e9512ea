"""`serialize(cls, *args, **kwargs)`: a recipe that rebuilds `cls(*args, **kwargs)` elsewhere.

Some objects an evaluator needs are cheaper to rebuild than to send: a DataLoader over a dataset
read from disk, a dataset generated from a seed. `serialize` records how to make one — an import
reference to the class or function and its (small, picklable) arguments — and `build()` makes it,
in whatever process the recipe has been sent to. It plays the part of NNI's `nni.trace`, without
wrapping or patching the class. Arguments may themselves be recipes, also inside lists, tuples
and dicts (`serialize(Compose, [serialize(ToTensor), ...])`); they are built first.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Serialized:
    """How to rebuild an object: `target` ("module:qualname") called with `args` and `kwargs`.

    Immutable and picklable; `build()` returns a new object on every call.
    """

    target: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def build(self) -> Any:
        """Import the target and call it with the arguments (recipes among them built first)."""
        factory = resolve(self.target)
        args = [built(a) for a in self.args]
        kwargs = {k: built(v) for k, v in self.kwargs}
        return factory(*args, **kwargs)

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs]
        return f"serialize({', '.join([self.target, *parts])})"


def serialize(cls: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Serialized:
    """A recipe for `cls(*args, **kwargs)`, built later (and possibly in another process).

    `cls` must be importable (a module-level class or function) and the arguments picklable;
    both are checked here, along with whether the arguments fit `cls`'s signature, so that a
    mistake shows up when the recipe is written rather than inside a trial.
    """
    target = import_reference(cls)
    if target is None:
        raise TypeError(
            f"serialize needs an importable class or function (defined at module level), "
            f"got {cls!r}"
        )
    _check_signature(cls, args, kwargs)
    try:
        pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeError(
            f"the arguments of serialize({target}, ...) must be picklable so the recipe can be "
            f"sent to another process ({type(exc).__name__}: {exc}); pass small values such as "
            "paths, sizes and seeds, or recipes made by serialize"
        ) from exc
    return Serialized(target, tuple(args), tuple(kwargs.items()))


def built(value: Any) -> Any:
    """`value.build()` for a recipe; a list, tuple or dict with the recipes in it built (a new
    one only if something was built); `value` itself otherwise."""
    if isinstance(value, Serialized):
        return value.build()
    if type(value) in (list, tuple):
        items = [built(v) for v in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return type(value)(items) if changed else value
    if type(value) is dict:
        entries = {k: built(v) for k, v in value.items()}
        return entries if any(entries[k] is not v for k, v in value.items()) else value
    return value


def import_reference(obj: Any) -> str | None:
    """ "module:qualname" when importing it gives back `obj` itself, else None."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not callable(obj) or not isinstance(module, str) or not isinstance(qualname, str):
        return None
    if "<" in qualname:  # lambdas and classes or functions defined inside a function
        return None
    found: Any = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module}:{qualname}" if found is obj else None


def resolve(target: str) -> Any:
    """The object named by a "module:qualname" reference."""
    module_name, _, qualname = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _check_signature(
    cls: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> None:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # some builtins have none: nothing to check
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(
            f"serialize({cls.__qualname__}, ...): {exc} (signature {signature})"
        ) from None

"""ValueChoice: a choice among plain values, used as a constructor argument of layers.

Arithmetic on a value choice (`width * 2`, `kernel // 2`) gives a derived expression that is
still a choice: it has no label of its own and is evaluated from the values of its leaves.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar


def _operator(op: Callable[..., Any], reverse: bool = False) -> Callable[..., Derived]:
    """A ChoiceExpression method applying `op` to the expression and the other operands (the
    expression last when `reverse`)."""

    def method(self: ChoiceExpression, *others: Any) -> Derived:
        return Derived(op, (*others, self) if reverse else (self, *others))

    return method


class ChoiceExpression:
    """A value that depends on one or more value choices."""

    def leaves(self) -> Iterator[ValueChoice]:
        """The value choices this expression depends on (with repeats)."""
        raise NotImplementedError

    def evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        """The concrete value, given the value picked for each leaf."""
        raise NotImplementedError

    def default(self) -> Any:
        """The value when every leaf takes its first candidate (standalone mode)."""
        return self.evaluate(lambda leaf: leaf.candidates[0])

    # Arithmetic gives a Derived expression: `width * 2`, `1 + width`, `-width`.
    __add__ = _operator(operator.add)
    __radd__ = _operator(operator.add, reverse=True)
    __sub__ = _operator(operator.sub)
    __rsub__ = _operator(operator.sub, reverse=True)
    __mul__ = _operator(operator.mul)
    __rmul__ = _operator(operator.mul, reverse=True)
    __truediv__ = _operator(operator.truediv)
    __rtruediv__ = _operator(operator.truediv, reverse=True)
    __floordiv__ = _operator(operator.floordiv)
    __rfloordiv__ = _operator(operator.floordiv, reverse=True)
    __mod__ = _operator(operator.mod)
    __pow__ = _operator(operator.pow)
    __neg__ = _operator(operator.neg)


class Labelled:
    """A choice identified by a label: the explicit one, else its attribute path, derived when
    the model is walked (search_space, fix, binding a mutator)."""

    _label_hint: ClassVar[str] = "on the model that uses it"
    """How to get a label, for the error raised while there is none."""

    def _set_label(self, label: str | None, key: str | None) -> None:
        if label is not None and key is not None and label != key:
            raise ValueError(f"label={label!r} and key={key!r} disagree; key is an alias of label")
        chosen = label if label is not None else key
        if chosen is not None and (not isinstance(chosen, str) or not chosen):
            raise ValueError(f"a label must be a non-empty string, got {chosen!r}")
        self._explicit_label = chosen
        self._derived_label: str | None = None

    @property
    def label(self) -> str:
        """Explicit label, or the one derived from the model path when the model was walked."""
        found = self._explicit_label or self._derived_label
        if found is None:
            raise AttributeError(self._no_label_message())
        return found

    @property
    def key(self) -> str:
        """NNI's name for `label`."""
        return self.label

    def _no_label_message(self) -> str:
        return (
            f"this {type(self).__name__} has no label yet: give label=... or call "
            f"archsearch.search_space(model) {self._label_hint}"
        )


class ValueChoice(ChoiceExpression, Labelled):
    """Choose one of `candidates` (JSON values: numbers, strings, tuples...).

    Pass it as an argument of an `archsearch.nn` layer or a `@basic_unit` module, or as the depth
    of a `Repeat`. Without a label, the label is the attribute path of the layer argument where it
    is first used (`fc.out_features`). The same object, or the same label, is one decision.
    """

    def __init__(
        self, candidates: Sequence[Any], *, label: str | None = None, key: str | None = None
    ) -> None:
        self.candidates = tuple(candidates)
        if not self.candidates:
            raise ValueError("ValueChoice needs at least one candidate")
        self._set_label(label, key)

    def leaves(self) -> Iterator[ValueChoice]:
        yield self

    def evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        return value_of(self)

    def __repr__(self) -> str:
        label = self._explicit_label or self._derived_label
        return f"ValueChoice({list(self.candidates)!r}, label={label!r})"


class Derived(ChoiceExpression):
    """An operator applied to value choices and constants; stays a choice until evaluated."""

    def __init__(self, op: Callable[..., Any], operands: tuple[Any, ...]) -> None:
        self.op = op
        self.operands = operands

    def leaves(self) -> Iterator[ValueChoice]:
        for operand in self.operands:
            if isinstance(operand, ChoiceExpression):
                yield from operand.leaves()

    def evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        return self.op(*(resolve(o, value_of) for o in self.operands))

    def __repr__(self) -> str:
        return f"{self.op.__name__}{self.operands!r}"


def resolve(obj: Any, value_of: Callable[[ValueChoice], Any]) -> Any:
    """Replace every choice expression inside `obj` (nested lists, tuples, dicts) by its value."""
    if isinstance(obj, ChoiceExpression):
        return obj.evaluate(value_of)
    if isinstance(obj, (list, tuple)):
        return type(obj)(resolve(o, value_of) for o in obj)
    if isinstance(obj, dict):
        return {k: resolve(v, value_of) for k, v in obj.items()}
    return obj


def find_leaves(obj: Any, path: str) -> Iterator[tuple[str, ValueChoice]]:
    """Every value choice inside `obj` with a readable path (`kernel_size.0` for tuples)."""
    if isinstance(obj, ChoiceExpression):
        for leaf in obj.leaves():
            yield path, leaf
    elif isinstance(obj, (list, tuple)):
        for i, o in enumerate(obj):
            yield from find_leaves(o, f"{path}.{i}")
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from find_leaves(v, f"{path}.{k}")

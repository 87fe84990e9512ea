"""ValueChoice: a choice among plain values, used as a constructor argument of layers.

Operators on a value choice (`width * 2`, `kernel // 2`, `pair[0]`, `a > b`) and NNI's static
methods (`ValueChoice.max(a, b)`, `condition`, `to_int`, ...) give a derived expression that is
still a choice: it has no label of its own and is evaluated from the values of its leaves.
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from archsearch.space import same_value, to_json_value


def _operator(op: Callable[..., Any], reverse: bool = False) -> Callable[..., Derived]:
    """A ChoiceExpression method applying `op` to the expression and the other operands (the
    expression last when `reverse`)."""

    def method(self: ChoiceExpression, *others: Any) -> Derived:
        return Derived(op, (*others, self) if reverse else (self, *others))

    return method


def _if_else(pred: Any, true: Any, false: Any) -> Any:
    return true if pred else false


def _no_truth(*_: Any) -> Any:
    raise TypeError(
        "a value choice has no value while the model is built, so it cannot be used in an if, "
        "a loop, range(), int() or float(): use ValueChoice.condition / max / min / to_int / "
        "to_float, which stay choices, or ModelParameterChoice for a plain value"
    )


class ChoiceExpression:
    """A value that depends on one or more value choices (NNI's `ValueChoiceX`).

    Operators give new expressions: arithmetic (`width * 2`, `1 + width`), comparisons
    (`a > b`), bitwise operators, indexing (`pair[0]`), `round`, `abs`, `math.floor/ceil`, and
    the static methods `to_int`, `to_float`, `condition`, `max` and `min`. They are evaluated
    from the values of their value choices when the model is fixed or a supernet runs.
    """

    __hash__ = object.__hash__  # `==` builds an expression; identity stays the hash

    def inner_choices(self) -> Iterator[ValueChoice]:
        """The value choices this expression depends on, in evaluation order (with repeats)."""
        raise NotImplementedError

    def evaluate(self, values: Callable[[ValueChoice], Any] | Iterable[Any]) -> Any:
        """The concrete value, given `values`: a function giving each value choice's value, or
        (as in NNI) one value per entry of `inner_choices()`, in that order."""
        if callable(values):
            return self._evaluate(values)
        remaining = iter(values)

        def next_value(leaf: ValueChoice) -> Any:
            try:
                value = next(remaining)
            except StopIteration:
                raise ValueError(f"too few values to evaluate {self!r}") from None
            if not any(same_choice(value, c) for c in leaf.candidates):
                raise ValueError(f"{value!r} is not one of the candidates of {leaf!r}")
            return value

        result = self._evaluate(next_value)
        if next(remaining, _END) is not _END:
            raise ValueError(f"too many values to evaluate {self!r}")
        return result

    def _evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        raise NotImplementedError

    def freeze(self, sample: Mapping[str, Any]) -> Any:
        """The value under `sample`, label → value (NNI 3.0's name), each checked."""

        def value_of(leaf: ValueChoice) -> Any:
            if leaf.label not in sample:
                raise KeyError(f"the sample has no value for label {leaf.label!r}")
            value = sample[leaf.label]
            for candidate in leaf.candidates:
                if same_choice(value, candidate):
                    return candidate
            raise ValueError(f"{value!r} is not one of the candidates of {leaf!r}")

        return self._evaluate(value_of)

    def default(self) -> Any:
        """The value when every leaf takes its first candidate (standalone mode)."""
        return self._evaluate(lambda leaf: leaf.candidates[0])

    def all_options(self) -> Iterator[Any]:
        """The value under every combination of its value choices (one per label)."""
        leaves: dict[Any, ValueChoice] = {}
        for leaf in self.inner_choices():
            leaves.setdefault(leaf._explicit_label or leaf._derived_label or id(leaf), leaf)
        keys = list(leaves)
        for combo in itertools.product(*(range(len(leaf.candidates)) for leaf in leaves.values())):
            picked = dict(zip(keys, combo, strict=True))

            def value_of(leaf: ValueChoice, picked: dict[Any, int] = picked) -> Any:
                key = leaf._explicit_label or leaf._derived_label or id(leaf)
                return leaf.candidates[picked[key]]

            yield self._evaluate(value_of)

    # Functions of choices that stay choices (NNI's static methods of ValueChoice).
    @staticmethod
    def to_int(obj: Any) -> Any:
        """`int(obj)`, kept as an expression while `obj` is one."""
        return Derived(int, (obj,)) if isinstance(obj, ChoiceExpression) else int(obj)

    @staticmethod
    def to_float(obj: Any) -> Any:
        """`float(obj)`, kept as an expression while `obj` is one."""
        return Derived(float, (obj,)) if isinstance(obj, ChoiceExpression) else float(obj)

    @staticmethod
    def condition(pred: Any, true: Any, false: Any) -> Any:
        """`true if pred else false`, kept as an expression while any argument is one."""
        if any(isinstance(x, ChoiceExpression) for x in (pred, true, false)):
            return Derived(_if_else, (pred, true, false))
        return true if pred else false

    @staticmethod
    def max(first: Any, *rest: Any) -> Any:
        """The largest of the arguments (or of one iterable), as Python's `max`."""
        return _extreme(builtins.max, first, rest)

    @staticmethod
    def min(first: Any, *rest: Any) -> Any:
        """The smallest of the arguments (or of one iterable), as Python's `min`."""
        return _extreme(builtins.min, first, rest)

    # Operators give Derived expressions. In-place operators and attribute access are left out,
    # as in NNI: what they would change (every candidate, or the chosen one) is unclear.
    __add__ = _operator(operator.add)
    __radd__ = _operator(operator.add, reverse=True)
    __sub__ = _operator(operator.sub)
    __rsub__ = _operator(operator.sub, reverse=True)
    __mul__ = _operator(operator.mul)
    __rmul__ = _operator(operator.mul, reverse=True)
    __matmul__ = _operator(operator.matmul)
    __rmatmul__ = _operator(operator.matmul, reverse=True)
    __truediv__ = _operator(operator.truediv)
    __rtruediv__ = _operator(operator.truediv, reverse=True)
    __floordiv__ = _operator(operator.floordiv)
    __rfloordiv__ = _operator(operator.floordiv, reverse=True)
    __mod__ = _operator(operator.mod)
    __rmod__ = _operator(operator.mod, reverse=True)
    __divmod__ = _operator(divmod)
    __rdivmod__ = _operator(divmod, reverse=True)
    __pow__ = _operator(pow)
    __rpow__ = _operator(pow, reverse=True)
    __lshift__ = _operator(operator.lshift)
    __rlshift__ = _operator(operator.lshift, reverse=True)
    __rshift__ = _operator(operator.rshift)
    __rrshift__ = _operator(operator.rshift, reverse=True)
    __and__ = _operator(operator.and_)
    __rand__ = _operator(operator.and_, reverse=True)
    __or__ = _operator(operator.or_)
    __ror__ = _operator(operator.or_, reverse=True)
    __xor__ = _operator(operator.xor)
    __rxor__ = _operator(operator.xor, reverse=True)
    __lt__ = _operator(operator.lt)
    __le__ = _operator(operator.le)
    __gt__ = _operator(operator.gt)
    __ge__ = _operator(operator.ge)
    __eq__ = _operator(operator.eq)  # type: ignore[assignment]
    __ne__ = _operator(operator.ne)  # type: ignore[assignment]
    __neg__ = _operator(operator.neg)
    __pos__ = _operator(operator.pos)
    __invert__ = _operator(operator.invert)
    __abs__ = _operator(abs)
    __getitem__ = _operator(operator.getitem)
    __round__ = _operator(round)
    __floor__ = _operator(math.floor)
    __ceil__ = _operator(math.ceil)
    # No plain value exists yet: refuse what would need one, with what to use instead.
    __bool__ = __index__ = __int__ = __float__ = __trunc__ = __iter__ = __contains__ = _no_truth


_END = object()


def same_choice(value: Any, candidate: Any) -> bool:
    """Whether `value` is `candidate` as JSON sees it (a list for a tuple; never True for 1)."""
    try:
        return same_value(to_json_value(value), to_json_value(candidate))
    except TypeError:  # not JSON values: plain equality
        return bool(value == candidate)


def _extreme(pick: Callable[..., Any], first: Any, rest: tuple[Any, ...]) -> Any:
    items = [first, *rest] if rest else list(first)
    if any(isinstance(x, ChoiceExpression) for x in items):
        return Derived(pick, tuple(items))
    return pick(items)


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

    def inner_choices(self) -> Iterator[ValueChoice]:
        yield self

    def _evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        return value_of(self)

    def __repr__(self) -> str:
        label = self._explicit_label or self._derived_label
        return f"ValueChoice({list(self.candidates)!r}, label={label!r})"


class Derived(ChoiceExpression):
    """An operator applied to value choices and constants; stays a choice until evaluated."""

    def __init__(self, op: Callable[..., Any], operands: tuple[Any, ...]) -> None:
        self.op = op
        self.operands = operands

    def inner_choices(self) -> Iterator[ValueChoice]:
        for operand in self.operands:
            for _, leaf in find_leaves(operand, ""):
                yield leaf

    def _evaluate(self, value_of: Callable[[ValueChoice], Any]) -> Any:
        return self.op(*(resolve(o, value_of) for o in self.operands))

    def __repr__(self) -> str:
        return f"{self.op.__name__}{self.operands!r}"


def resolve(obj: Any, value_of: Callable[[ValueChoice], Any]) -> Any:
    """Replace every choice expression inside `obj` (nested lists, tuples, dicts) by its value."""
    if isinstance(obj, ChoiceExpression):
        return obj._evaluate(value_of)
    if isinstance(obj, (list, tuple)):
        return type(obj)(resolve(o, value_of) for o in obj)
    if isinstance(obj, dict):
        return {k: resolve(v, value_of) for k, v in obj.items()}
    return obj


def find_leaves(obj: Any, path: str) -> Iterator[tuple[str, ValueChoice]]:
    """Every value choice inside `obj` with a readable path (`kernel_size.0` for tuples)."""
    if isinstance(obj, ChoiceExpression):
        for leaf in obj.inner_choices():
            yield path, leaf
    elif isinstance(obj, (list, tuple)):
        for i, o in enumerate(obj):
            yield from find_leaves(o, f"{path}.{i}")
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from find_leaves(v, f"{path}.{k}")

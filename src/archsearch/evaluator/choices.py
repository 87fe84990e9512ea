"""Value choices in an evaluator's arguments: hyper-parameters searched with the architecture.

`FunctionalEvaluator(fn, lr=ValueChoice([0.1, 0.01]))` or `Classification(...,
learning_rate=ValueChoice([...]))` makes the learning rate a dimension of the experiment's
search space, beside the model's choices. A choice may sit in any public attribute of an
evaluator, inside lists, tuples, dicts and `serialize` recipes (`serialize(DataLoader, data,
batch_size=ValueChoice([32, 64]))`). Unlabelled ones are labelled by where they sit:
`evaluator.<argument>` (`evaluator.lr`, `evaluator.train_dataloaders.batch_size`); a label
shared with a choice of the model is the same decision.

Each trial runs a copy of the evaluator with every choice replaced by the trial's value
(`fix_evaluator`), so the function or Lightning module receives plain numbers. Labels are derived
again from the evaluator wherever it runs (a worker process unpickles its own copy), never from
state left on the choice objects.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import itertools
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from archsearch.evaluator.serialize import Serialized
from archsearch.nn.value_choice import ChoiceExpression, ValueChoice
from archsearch.space import InvalidArchitectureError, SearchSpace, ValueChoiceDim

PREFIX = "evaluator"
"""First part of the derived label of an unlabelled value choice in an evaluator."""

MAX_CHECKED_VALUES = 10_000
"""Combinations `possible_values` enumerates at most (constructor checks of an expression)."""

E = TypeVar("E")


@dataclasses.dataclass(frozen=True)
class EvaluatorChoices:
    """The value choices of one evaluator object: the dimension of each label, the label of
    each choice (by identity, valid for that object only), the attributes holding them, and
    the containers (lists, tuples, dicts, recipes) with a choice inside, by identity."""

    dims: dict[str, ValueChoiceDim]
    labels: dict[int, str]
    attributes: tuple[str, ...]
    holders: frozenset[int]

    def default(self) -> dict[str, Any]:
        """The first candidate of every choice, by label."""
        return {label: dim.default() for label, dim in self.dims.items()}

    def value_of(self, arch: Mapping[str, Any]) -> Callable[[ValueChoice], Any]:
        """The candidate (the original Python value) each choice takes under `arch`."""

        def pick(leaf: ValueChoice) -> Any:
            dim = self.dims[self.labels[id(leaf)]]
            if dim.label not in arch:
                raise InvalidArchitectureError(
                    f"the evaluator's value choice {dim.label!r} has no value in the "
                    f"architecture; valid options: {list(dim.values)}"
                )
            return leaf.candidates[dim.index(arch[dim.label])]

        return pick


_last = threading.local()
"""Per thread, the last evaluator whose choices were found and what was found: every trial
asks again of the same object (twice: `build_model` and `fix_evaluator`), and the walk goes
through every list in its arguments (a dataset given as a list costs ~0.1 s at 60,000 items)."""


def evaluator_choices(evaluator: Any) -> EvaluatorChoices:
    """Find the value choices in `evaluator`'s public attributes (see the module docstring);
    ValueError when two choices share a label but not their candidates. An evaluator's arguments
    are read as they are at its first trial (the experiment runs the same object every time)."""
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0]() is evaluator:
        return cached[1]  # type: ignore[no-any-return]
    choices = _find_choices(evaluator)
    with contextlib.suppress(TypeError):  # not weak-referenceable: found again next time
        _last.entry = (weakref.ref(evaluator), choices)
    return choices


def _find_choices(evaluator: Any) -> EvaluatorChoices:
    dims: dict[str, ValueChoiceDim] = {}
    origins: dict[str, str] = {}
    labels: dict[int, str] = {}
    attributes: list[str] = []
    holders: set[int] = set()
    keyword_attributes = getattr(evaluator, "keyword_attributes", ())
    for name, value in getattr(evaluator, "__dict__", {}).items():
        if name.startswith("_"):
            continue  # caches and private state (built data loaders), not arguments
        if name in keyword_attributes and isinstance(value, Mapping):
            found = [hit for k, v in value.items() for hit in _leaves(v, f"{PREFIX}.{k}", holders)]
            if found:
                holders.add(id(value))
        else:
            found = list(_leaves(value, f"{PREFIX}.{name}", holders))
        if found:
            attributes.append(name)
        for path, leaf in found:
            if id(leaf) in labels:
                continue  # the same object used twice is one decision
            label = getattr(leaf, "_explicit_label", None) or path  # else derived here
            labels[id(leaf)] = label
            try:
                dim = ValueChoiceDim(label, leaf.candidates)
            except TypeError as exc:
                raise TypeError(f"value choice {label!r} at {path}: {exc}") from None
            known = dims.setdefault(label, dim)
            if known != dim:
                raise ValueError(
                    f"label {label!r} is shared by two different choices of the evaluator: "
                    f"{known} at {origins[label]} and {dim} at {path}; choices with the same "
                    "label must have the same candidates"
                )
            origins.setdefault(label, path)
    return EvaluatorChoices(dims, labels, tuple(attributes), frozenset(holders))


def trial_space(model_space: SearchSpace, evaluator: Any) -> SearchSpace:
    """The search space of an experiment: the model's choices, then the evaluator's labels the
    model does not have. ValueError when a shared label means different candidates."""
    dims = dict(model_space)
    for label, dim in evaluator_choices(evaluator).dims.items():
        known = dims.setdefault(label, dim)
        if known != dim:
            raise ValueError(
                f"label {label!r} is shared by the model ({known}) and the evaluator ({dim}); "
                "a shared label is one decision, so the candidates must be the same"
            )
    return SearchSpace(dims.values())


def fix_evaluator(evaluator: E, arch: Mapping[str, Any]) -> E:
    """`evaluator` with every value choice replaced by its value under `arch`: a shallow copy
    when it has choices (the original stays as it is, for the next trial), else itself."""
    choices = evaluator_choices(evaluator)
    if not choices.attributes:
        return evaluator
    value_of = choices.value_of(arch)
    fixed = copy.copy(evaluator)
    for name in choices.attributes:
        setattr(fixed, name, _resolve(getattr(evaluator, name), value_of, choices.holders))
    return fixed


def possible_values(value: Any) -> list[Any]:
    """Every value `value` may take in a trial: its candidates (an expression: its value for
    each combination of candidates, at most `MAX_CHECKED_VALUES`), or `[value]` itself. For
    constructors that check their arguments."""
    if not isinstance(value, ChoiceExpression):
        return [value]
    leaves = list({id(leaf): leaf for leaf in value.inner_choices()}.values())
    combinations = itertools.product(*(leaf.candidates for leaf in leaves))
    values = []
    for combination in itertools.islice(combinations, MAX_CHECKED_VALUES):
        chosen = {id(leaf): v for leaf, v in zip(leaves, combination, strict=True)}
        values.append(value.evaluate(functools.partial(_lookup, chosen)))
    return values


def _lookup(chosen: Mapping[int, Any], leaf: ValueChoice) -> Any:
    return chosen[id(leaf)]


def _leaves(
    obj: Any, path: str, holders: set[int] | None = None
) -> Iterator[tuple[str, ValueChoice]]:
    """Every value choice inside `obj` with the path it sits at (recipes' arguments too); the
    containers on the way to one are added to `holders`."""
    if isinstance(obj, ChoiceExpression):
        for leaf in obj.inner_choices():
            yield path, leaf
        return
    parts: Iterator[tuple[Any, Any]]
    if isinstance(obj, Serialized):
        parts = itertools.chain(enumerate(obj.args), obj.kwargs)
    elif isinstance(obj, (list, tuple)):
        parts = enumerate(obj)
    elif isinstance(obj, Mapping):
        parts = iter(obj.items())
    else:
        return
    found = False
    for key, part in parts:
        for hit in _leaves(part, f"{path}.{key}", holders):
            found = True
            yield hit
    if found and holders is not None:
        holders.add(id(obj))


def _resolve(obj: Any, value_of: Callable[[ValueChoice], Any], holders: frozenset[int]) -> Any:
    """`obj` with its choices replaced by their values; what holds none is kept as it is."""
    if isinstance(obj, ChoiceExpression):
        return obj.evaluate(value_of)
    if id(obj) not in holders:
        return obj
    if isinstance(obj, Serialized):
        return dataclasses.replace(
            obj,
            args=tuple(_resolve(a, value_of, holders) for a in obj.args),
            kwargs=tuple((k, _resolve(v, value_of, holders)) for k, v in obj.kwargs),
        )
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(item, value_of, holders) for item in obj)
    return {key: _resolve(item, value_of, holders) for key, item in obj.items()}

"""Property tests: random small search spaces, random spellings, random garbage."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from archsearch.space import (
    Dimension,
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    SearchSpace,
    ValueChoiceDim,
    same_value,
)

FAST = settings(max_examples=100, deadline=None)

# A small alphabet makes clashes ("0" vs 0, "" vs " ") likely; joined characters rather than
# st.text(alphabet=...) and strategies built once keep generation fast.
texts = st.lists(st.sampled_from("ab01 _"), max_size=4).map("".join)
names = texts
MAX_INPUTS = 4
kinds = st.sampled_from(["layer", "input", "value"])
layer_names = st.lists(names, min_size=1, max_size=4, unique=True)
input_names = [st.lists(names, min_size=n, max_size=n, unique=True) for n in range(MAX_INPUTS + 1)]
input_counts = [st.integers(0, n) for n in range(MAX_INPUTS + 1)]
input_chosen = [st.none() | st.integers(1, max(n, 1)) for n in range(MAX_INPUTS + 1)]
low_weights = st.floats(0.0, 0.49)
high_weights = st.floats(0.5, 10.0)
nonzero_weights = st.floats(0.01, 5.0) | st.floats(-5.0, -0.01)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(texts, inner, max_size=3)
    ),
    max_leaves=6,
)
value_lists = st.lists(json_values, min_size=1, max_size=4)


def _distinct(values: list[Any]) -> tuple[Any, ...]:
    kept: list[Any] = []
    for value in values:
        normal = json.loads(json.dumps(value))
        if not any(same_value(normal, json.loads(json.dumps(k))) for k in kept):
            kept.append(value)
    return tuple(kept)


@st.composite
def dimensions(draw: st.DrawFn, label: str, max_inputs: int) -> Dimension:
    kind = draw(kinds)
    if kind == "layer":
        return LayerChoiceDim(label, tuple(draw(layer_names)))
    if kind == "input":
        n = draw(input_counts[max_inputs])
        n_chosen = draw(input_chosen[n]) if n else None
        return InputChoiceDim(label, n, n_chosen, tuple(draw(input_names[n])))
    values = _distinct(draw(value_lists))
    return ValueChoiceDim(label, values)


@st.composite
def spaces(draw: st.DrawFn, max_dims: int = 4, max_inputs: int = MAX_INPUTS) -> SearchSpace:
    labels = draw(st.lists(texts, max_size=max_dims, unique=True))
    return SearchSpace([draw(dimensions(label, max_inputs)) for label in labels])


def dump(arch: Any) -> str:
    """Exact text: tells True from 1, 1 from 1.0, a list from a dict, and keeps key order."""
    return json.dumps(arch)


def is_option(dim: Dimension, value: Any) -> bool:
    return any(
        same_value(value, option) and dump(value) == dump(option) for option in dim.options()
    )


def reads_as_candidate(dim: Dimension, mask: list[Any]) -> bool:
    """Whether a mask is itself a candidate of a value choice: then the candidate wins (by design),
    so the mask cannot stand for another candidate."""
    return isinstance(dim, ValueChoiceDim) and any(same_value(mask, v) for v in dim.values)


@st.composite
def spelling(draw: st.DrawFn, dim: Dimension, value: Any) -> Any:
    """Another accepted way of writing the canonical `value` of `dim`."""
    mask = dim.mask(value)
    picked = [i for i, hot in enumerate(mask) if hot]
    if isinstance(dim, LayerChoiceDim):
        index = dim.names.index(value)
        weights = [draw(low_weights) for _ in dim.names]
        weights[index] = draw(high_weights)
        return draw(st.sampled_from([value, index, [value], (index,), mask, weights]))
    if isinstance(dim, InputChoiceDim):
        shuffled = draw(st.permutations(value))
        as_names = [dim.names[i] for i in shuffled]
        mixed = [dim.names[i] if draw(st.booleans()) else i for i in shuffled]
        choices: list[Any] = [value, shuffled, tuple(shuffled), as_names, mixed, mask]
        if dim.n_chosen is None:
            choices.append([draw(nonzero_weights) if hot else 0.0 for hot in mask])
        else:
            weights = [draw(high_weights) if hot else draw(low_weights) for hot in mask]
            choices.append(weights)
        if len(value) == 1:
            choices += [value[0], dim.names[value[0]]]
        return draw(st.sampled_from(choices))
    assert isinstance(dim, ValueChoiceDim)
    weights = [draw(low_weights) for _ in dim.values]
    weights[picked[0]] = draw(high_weights)
    choices = [value, json.loads(json.dumps(value))]
    if not reads_as_candidate(dim, mask):
        choices.append(mask)
    if not reads_as_candidate(dim, weights):
        choices.append(weights)
    return draw(st.sampled_from(choices))


@FAST
@given(spaces(), st.integers())
def test_sample_then_validate_is_identity(space: SearchSpace, seed: int) -> None:
    arch = space.sample(seed)
    assert list(arch) == space.labels
    assert dump(space.sample(seed)) == dump(arch)
    assert dump(space.validate(arch)) == dump(arch)
    for label, value in arch.items():
        assert is_option(space[label], value)


@FAST
@given(st.data())
def test_every_spelling_validates_to_the_canonical_architecture(data: st.DataObject) -> None:
    space = data.draw(spaces())
    arch = space.sample(data.draw(st.integers()))
    spelled = {label: data.draw(spelling(space[label], value)) for label, value in arch.items()}
    # Key order of the input does not matter.
    spelled = dict(reversed(list(spelled.items())))
    canonical = space.validate(spelled)
    assert dump(canonical) == dump(arch)
    assert dump(space.validate(canonical)) == dump(canonical)


@FAST
@given(spaces(), st.integers())
def test_architectures_survive_a_json_round_trip(space: SearchSpace, seed: int) -> None:
    arch = space.sample(seed)
    back = json.loads(json.dumps(arch))
    assert dump(space.validate(back)) == dump(arch)


@FAST
@given(spaces(), st.integers())
def test_mask_reads_back_as_the_value(space: SearchSpace, seed: int) -> None:
    for label, value in space.sample(seed).items():
        dim = space[label]
        mask = dim.mask(value)
        assert len(mask) == (dim.n_candidates if isinstance(dim, InputChoiceDim) else dim.size())
        assert all(isinstance(m, bool) for m in mask)
        if isinstance(dim, InputChoiceDim):
            assert [i for i, hot in enumerate(mask) if hot] == value
        else:
            assert sum(mask) == 1
        if not reads_as_candidate(dim, mask):
            assert dump(dim.canonical(mask)) == dump(value)
        weights = [float(m) for m in mask]
        if weights and not reads_as_candidate(dim, weights):
            assert dump(dim.canonical(weights)) == dump(value)


@settings(max_examples=60, deadline=None)
@given(spaces(max_dims=3, max_inputs=3))
def test_grid_is_exactly_size_distinct_canonical_architectures(space: SearchSpace) -> None:
    archs = list(space.grid())
    assert len(archs) == space.size()
    assert space.size() == math.prod(dim.size() for dim in space.values())
    assert len({dump(a) for a in archs}) == len(archs)
    for arch in archs:
        assert list(arch) == space.labels
        assert dump(space.validate(arch)) == dump(arch)
    assert dump(space.default()) in {dump(a) for a in archs}


@FAST
@given(spaces())
def test_default_is_the_first_candidates(space: SearchSpace) -> None:
    default = space.default()
    assert dump(space.validate(default)) == dump(default)
    for label, dim in space.items():
        if isinstance(dim, LayerChoiceDim):
            assert default[label] == dim.names[0]
        elif isinstance(dim, InputChoiceDim):
            first = 1 if dim.n_chosen is None else dim.n_chosen
            assert default[label] == list(range(min(first, dim.n_candidates)))
        else:
            assert dump(default[label]) == dump(next(dim.options()))


@FAST
@given(spaces())
def test_search_space_json_round_trip(space: SearchSpace) -> None:
    data = space.to_json()
    text = json.dumps(data)
    back = SearchSpace.from_json(json.loads(text))
    assert back == space
    assert back.labels == space.labels
    assert json.dumps(back.to_json()) == text
    assert SearchSpace.from_json(data) == space


garbage_leaves = (
    json_scalars
    | st.floats()  # NaN and infinities included
    | st.integers()
    | st.binary(max_size=3)
    | st.just(object())
    | st.frozensets(st.integers(0, 3), max_size=2)
)
garbage = st.recursive(
    garbage_leaves,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=5).map(tuple)
        | st.dictionaries(texts | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)
# Lists of a mask's length matter most: plain garbage rarely has the right shape.
masks = st.lists(st.booleans() | st.floats() | st.integers(-2, 2), min_size=0, max_size=5)


@FAST
@given(st.data())
def test_garbage_values_canonicalise_or_raise_invalid_architecture(data: st.DataObject) -> None:
    space = data.draw(spaces())
    for label, dim in space.items():
        value = data.draw(garbage | masks, label=label)
        try:
            result = dim.canonical(value)
        except InvalidArchitectureError as exc:
            assert repr(label) in str(exc)
        else:
            assert is_option(dim, result)
            assert dump(dim.canonical(result)) == dump(result)


@FAST
@given(st.data())
def test_garbage_architectures_validate_or_raise_invalid_architecture(data: st.DataObject) -> None:
    space = data.draw(spaces())
    keys = st.sampled_from(space.labels) | texts if space.labels else texts
    arch = data.draw(garbage | st.dictionaries(keys, garbage | masks, max_size=5))
    try:
        result = space.validate(arch)
    except InvalidArchitectureError:
        return
    assert isinstance(arch, dict) and set(arch) == set(space.labels)
    assert list(result) == space.labels
    assert dump(space.validate(result)) == dump(result)

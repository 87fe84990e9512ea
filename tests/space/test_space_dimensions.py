"""Unit tests for the three dimension kinds and the JSON value helpers of `archsearch.space`."""

from __future__ import annotations

import dataclasses
import json
import math
import random
from typing import Any

import pytest

from archsearch.space import (
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    ValueChoiceDim,
    same_value,
    to_json_value,
)

NAN = float("nan")
INF = float("inf")


def layer() -> LayerChoiceDim:
    return LayerChoiceDim("op", ("conv3", "conv5", "pool"))


def inputs(n_chosen: int | None) -> InputChoiceDim:
    return InputChoiceDim("skip", 3, n_chosen, ("stem", "cell0", "cell1"))


def hidden() -> ValueChoiceDim:
    return ValueChoiceDim("hidden", (32, 64, 128))


def assert_error_names(exc: pytest.ExceptionInfo[InvalidArchitectureError], *parts: str) -> None:
    message = str(exc.value)
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


def test_invalid_architecture_error_is_a_value_error() -> None:
    assert issubclass(InvalidArchitectureError, ValueError)
    with pytest.raises(ValueError):
        layer().canonical("nope")


# --- LayerChoiceDim ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("conv5", "conv5"),
        (0, "conv3"),
        (2, "pool"),
        (["pool"], "pool"),
        (("conv5",), "conv5"),
        ([1], "conv5"),
        ((0,), "conv3"),
        ([False, True, False], "conv5"),
        ((False, False, True), "pool"),
        ([0.1, 0.7, 0.2], "conv5"),
        ([0, 0.0, 2.5], "pool"),  # ints and floats mixed: still a weight vector
        ([-1.0, 2.0, 0.5], "conv5"),  # logits may be negative: argmax
        ([0.4, 0.4, 0.2], "conv3"),  # tie: the lower index wins
        ([1e-300, 0.0, 0.0], "conv3"),
    ],
)
def test_layer_choice_spellings_become_the_candidate_name(value: Any, expected: str) -> None:
    assert layer().canonical(value) == expected


def test_layer_choice_single_candidate_accepts_one_hot_of_length_one() -> None:
    dim = LayerChoiceDim("only", ("identity",))
    assert dim.canonical([True]) == "identity"
    assert dim.canonical([0.3]) == "identity"
    assert dim.canonical(0) == "identity"
    with pytest.raises(InvalidArchitectureError):
        dim.canonical(1)


@pytest.mark.parametrize("value", [True, False, [True], [False]])
def test_layer_choice_never_reads_booleans_as_indices(value: Any) -> None:
    # True is not index 1 and False is not index 0; [True] is a (too short) mask, not [1].
    with pytest.raises(InvalidArchitectureError) as exc:
        layer().canonical(value)
    assert_error_names(exc, "'op'", "conv3", "conv5", "pool")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("conv7", "unknown candidate name"),
        ("", "unknown candidate name"),
        (3, "index out of range"),
        (-1, "index out of range"),  # no Python-style negative indexing
        ([True, False], "mask must have 3 entries"),
        ([0.5, 0.25, 0.25, 0.0], "mask must have 3 entries"),
        ([True, True, False], "exactly one candidate"),
        ([False, False, False], "exactly one candidate"),
        ([0.0, 0.0, 0.0], "selects nothing"),
        ([NAN, 0.5, 0.5], "finite"),
        ([INF, 0.0, 0.0], "finite"),
        ([], "exactly one candidate"),
        (["conv3", "conv5"], "exactly one candidate"),
        ([0, 1], "exactly one candidate"),
        (["conv7"], "unknown candidate name"),
        ([5], "index out of range"),
        (None, "not a candidate name, index or mask"),
        (1.0, "not a candidate name, index or mask"),
        ({"conv3": 1}, "not a candidate name, index or mask"),
        ({"conv3"}, "not a candidate name, index or mask"),
        (b"conv3", "not a candidate name, index or mask"),
    ],
)
def test_layer_choice_errors_name_label_problem_and_options(value: Any, problem: str) -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        layer().canonical(value)
    assert_error_names(exc, "'op'", problem, "'conv3'", "'conv5'", "'pool'", "0..2")


def test_layer_choice_error_shows_the_rejected_value() -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        layer().canonical("conv7")
    assert_error_names(exc, "'conv7'")


def test_layer_choice_options_size_default_sample_mask_json() -> None:
    dim = layer()
    assert dim.size() == 3
    assert list(dim.options()) == ["conv3", "conv5", "pool"]
    assert dim.default() == "conv3"
    assert dim.kind == "layer_choice"
    rng = random.Random(0)
    assert {dim.sample(rng) for _ in range(200)} == {"conv3", "conv5", "pool"}
    assert dim.mask("pool") == [False, False, True]
    assert dim.mask(1) == [False, True, False]
    assert dim.mask([0.9, 0.05, 0.05]) == [True, False, False]
    assert dim.to_json() == {"_type": "layer_choice", "_value": ["conv3", "conv5", "pool"]}


@pytest.mark.parametrize("names", [(), ("a", "b", "a")])
def test_layer_choice_rejects_bad_candidates(names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="'bad'"):
        LayerChoiceDim("bad", names)


def test_dimensions_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer().label = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs(1).n_chosen = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hidden().values = (1,)  # type: ignore[misc]


def test_dimensions_compare_by_value() -> None:
    assert layer() == LayerChoiceDim("op", ("conv3", "conv5", "pool"))
    assert layer() != LayerChoiceDim("op", ("conv3", "pool", "conv5"))
    assert layer() != LayerChoiceDim("op2", ("conv3", "conv5", "pool"))
    assert hash(layer()) == hash(LayerChoiceDim("op", ("conv3", "conv5", "pool")))
    assert inputs(1) != inputs(2)
    assert ValueChoiceDim("k", ((3, 3),)) == ValueChoiceDim("k", ([3, 3],))


# --- InputChoiceDim ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_chosen", "value", "expected"),
    [
        (1, 2, [2]),
        (1, 0, [0]),
        (1, "cell1", [2]),
        (1, [2], [2]),
        (1, (1,), [1]),
        (1, ["cell0"], [1]),
        (1, [False, False, True], [2]),
        (1, [0.1, 0.2, 0.7], [2]),
        (1, [0.5, 0.5, 0.0], [0]),  # tie: the lower index wins
        (2, [2, 0], [0, 2]),
        (2, ("cell1", "stem"), [0, 2]),
        (2, ["stem", 2], [0, 2]),  # names and indices mixed
        (2, [True, False, True], [0, 2]),
        (2, [0.5, 0.1, 0.4], [0, 2]),  # top-2 by weight
        (2, [0.3, 0.3, 0.3], [0, 1]),
        (2, [-1.0, 3.0, 2.0], [1, 2]),
        (3, [2, 1, 0], [0, 1, 2]),
        (3, [1.0, 1.0, 1.0], [0, 1, 2]),
        (None, [], []),
        (None, [False, False, False], []),
        (None, [True, False, True], [0, 2]),
        (None, [2, 1], [1, 2]),
        (None, 1, [1]),
        (None, "cell0", [1]),
        (None, ["cell1", "stem", "cell0"], [0, 1, 2]),
        (None, [0.0, 0.2, 0.9], [1, 2]),  # weights without a k: every nonzero input
        (None, [0.0, 0.0, 0.0], []),
    ],
)
def test_input_choice_spellings_become_sorted_indices(
    n_chosen: int | None, value: Any, expected: list[int]
) -> None:
    assert inputs(n_chosen).canonical(value) == expected


@pytest.mark.parametrize("n_candidates", [1, 2, 3])
@pytest.mark.parametrize("value", [True, False, 1.0, 0.0])
def test_input_choice_bare_booleans_and_floats_are_not_masks(n_candidates: int, value: Any) -> None:
    # A mask is a list; a lone True is neither index 1 nor a one-entry mask.
    names = tuple(f"in{i}" for i in range(n_candidates))
    for n_chosen in (1, None):
        with pytest.raises(InvalidArchitectureError):
            InputChoiceDim("x", n_candidates, n_chosen, names).canonical(value)


@pytest.mark.parametrize(
    ("n_chosen", "value", "problem"),
    [
        (1, 3, "3 is not one of the inputs"),
        (1, -1, "-1 is not one of the inputs"),
        (1, "cell2", "'cell2' is not one of the inputs"),
        (1, [True, 1], "True is not one of the inputs"),
        (1, [None], "None is not one of the inputs"),
        (1, [[0]], "[0] is not one of the inputs"),
        (1, None, "None is not one of the inputs"),
        (1, {"stem": 1}, "is not one of the inputs"),
        (1, [0, 1], "chose 2 inputs"),
        (1, [], "chose 0 inputs"),
        (1, [False, False, False], "chose 0 inputs"),
        (1, [True, True, False], "chose 2 inputs"),
        (1, [True, False], "mask must have 3 entries"),
        (1, [0.5, 0.5, 0.0, 0.0], "mask must have 3 entries"),
        (1, [NAN, 1.0, 0.0], "finite"),
        (None, [0.0, -INF, 0.0], "finite"),
        (2, [0.0, 0.0, 1.0], "chose 1 inputs"),  # only one input has any weight
        (2, [0, 0], "chosen twice"),
        (2, ["stem", 0], "chosen twice"),
        (None, [1, "cell0"], "chosen twice"),
        (2, 1, "chose 1 inputs"),
        (3, [0, 1], "chose 2 inputs"),
    ],
)
def test_input_choice_errors_name_label_problem_and_options(
    n_chosen: int | None, value: Any, problem: str
) -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        inputs(n_chosen).canonical(value)
    count = "any number of" if n_chosen is None else f"exactly {n_chosen} of"
    assert_error_names(exc, "'skip'", problem, count, "'stem'", "'cell0'", "'cell1'", "0..2")


@pytest.mark.parametrize(
    ("n_candidates", "n_chosen", "size"),
    [
        (3, 1, 3),
        (3, 2, 3),
        (3, 3, 1),
        (4, 2, 6),
        (5, 2, 10),
        (3, None, 8),
        (1, None, 2),
        (0, None, 1),
    ],
)
def test_input_choice_size_and_options(n_candidates: int, n_chosen: int | None, size: int) -> None:
    dim = InputChoiceDim("x", n_candidates, n_chosen, tuple(map(str, range(n_candidates))))
    assert dim.size() == size
    assert size == (2**n_candidates if n_chosen is None else math.comb(n_candidates, n_chosen))
    options = list(dim.options())
    assert len(options) == size
    assert len({tuple(o) for o in options}) == size
    for option in options:
        assert option == sorted(option)
        assert dim.canonical(option) == option
        if n_chosen is not None:
            assert len(option) == n_chosen
    if n_chosen is None:
        assert [] in options


def test_input_choice_default() -> None:
    assert inputs(1).default() == [0]
    assert inputs(2).default() == [0, 1]
    assert inputs(3).default() == [0, 1, 2]
    # Any subset: the first input alone, so that standalone mode gets a tensor, not nothing.
    assert inputs(None).default() == [0]
    assert InputChoiceDim("none", 0, None, ()).default() == []


@pytest.mark.parametrize("n_chosen", [1, 2, None])
def test_input_choice_sample_covers_every_option(n_chosen: int | None) -> None:
    dim = inputs(n_chosen)
    rng = random.Random(7)
    seen = {tuple(dim.sample(rng)) for _ in range(400)}
    assert seen == {tuple(o) for o in dim.options()}


def test_input_choice_mask_and_json() -> None:
    assert inputs(1).mask("cell1") == [False, False, True]
    assert inputs(2).mask([2, 0]) == [True, False, True]
    assert inputs(None).mask([]) == [False, False, False]
    assert inputs(2).mask([0.1, 0.5, 0.4]) == [False, True, True]
    assert inputs(2).to_json() == {
        "_type": "input_choice",
        "_value": {"candidates": ["stem", "cell0", "cell1"], "n_chosen": 2},
    }
    assert inputs(None).to_json()["_value"]["n_chosen"] is None


@pytest.mark.parametrize(
    ("n_candidates", "n_chosen", "names"),
    [
        (3, 1, ("a", "b")),
        (2, 1, ("a", "a")),
        (2, 0, ("a", "b")),
        (2, 3, ("a", "b")),
        (0, 1, ()),
    ],
)
def test_input_choice_rejects_bad_shapes(
    n_candidates: int, n_chosen: int, names: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="'bad'"):
        InputChoiceDim("bad", n_candidates, n_chosen, names)


# --- ValueChoiceDim ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "value", "expected"),
    [
        ((32, 64, 128), 64, 64),
        ((32, 64, 128), 64.0, 64),  # JSON has one number type
        ((32, 64, 128), [False, True, False], 64),
        ((32, 64, 128), (False, False, True), 128),
        ((32, 64, 128), [0.1, 0.8, 0.1], 64),
        ((32, 64, 128), [0.2, 0.2, 0.0], 32),
        ((0.1, 0.5), 0.5, 0.5),
        (("relu", "gelu"), "gelu", "gelu"),
        ((None, "relu"), None, None),
        ((False, True), True, True),
        ((False, True), False, False),
        (((3, 3), (5, 5)), (5, 5), [5, 5]),
        (((3, 3), (5, 5)), [3, 3], [3, 3]),
        (((3, 3), (5, 5)), [True, False], [3, 3]),
        (({"a": 1}, {"a": (2, 3)}), {"a": [2, 3]}, {"a": [2, 3]}),
        (({"a": 1}, {"a": (2, 3)}), {"a": (2, 3)}, {"a": [2, 3]}),
        (([], [1]), [], []),
    ],
)
def test_value_choice_spellings_become_the_json_value(
    values: tuple[Any, ...], value: Any, expected: Any
) -> None:
    got = ValueChoiceDim("v", values).canonical(value)
    # json.dumps tells True from 1 and a list from a tuple: the canonical form is exact.
    assert json.dumps(got) == json.dumps(expected)


def test_value_choice_never_reads_booleans_as_numbers() -> None:
    dim = ValueChoiceDim("v", (0, 1, 2))
    for value in (True, False):
        with pytest.raises(InvalidArchitectureError):
            dim.canonical(value)
    flags = ValueChoiceDim("flag", (False, True))
    with pytest.raises(InvalidArchitectureError):
        flags.canonical(1)
    with pytest.raises(InvalidArchitectureError):
        flags.canonical(0)
    mixed = ValueChoiceDim("mixed", (1, True))  # distinct candidates
    assert mixed.canonical(True) is True
    assert mixed.canonical(1) == 1
    assert mixed.canonical(1) is not True
    assert mixed.index(True) == 1
    assert mixed.index(1) == 0


def test_value_choice_candidate_beats_mask_reading() -> None:
    # [1.0, 0.0] is a candidate; read as a float mask it would pick the other one.
    dim = ValueChoiceDim("w", ([0.0, 1.0], [1.0, 0.0]))
    assert dim.canonical([1.0, 0.0]) == [1.0, 0.0]
    assert dim.canonical([0.0, 1.0]) == [0.0, 1.0]
    assert dim.canonical([0.9, 0.1]) == [0.0, 1.0]  # not a candidate: a mask


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (48, "not a candidate"),
        ("64", "not a candidate"),
        (None, "not a candidate"),
        ([64], "not a candidate"),
        ([True, False], "mask must have 3 entries"),
        ([0.5, 0.5], "mask must have 3 entries"),
        ([True, True, False], "exactly one candidate"),
        ([False, False, False], "exactly one candidate"),
        ([0.0, 0.0, 0.0], "exactly one candidate"),
        ([NAN, 1.0, 0.0], "not a JSON value"),
        (NAN, "not a JSON value"),
        (INF, "not a JSON value"),
        ({1: 2}, "not a JSON value"),
        ({64}, "not a JSON value"),
        (object(), "not a JSON value"),
        (b"64", "not a JSON value"),
    ],
)
def test_value_choice_errors_name_label_problem_and_options(value: Any, problem: str) -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        hidden().canonical(value)
    assert_error_names(exc, "'hidden'", problem, "[32, 64, 128]")


def test_value_choice_options_size_default_sample_mask_index_json() -> None:
    dim = ValueChoiceDim("k", ((3, 3), (5, 5), 7))
    assert dim.kind == "choice"
    assert dim.values == ([3, 3], [5, 5], 7)  # stored as JSON gives it back
    assert dim.size() == 3
    assert list(dim.options()) == [[3, 3], [5, 5], 7]
    assert dim.default() == [3, 3]
    rng = random.Random(1)
    assert {json.dumps(dim.sample(rng)) for _ in range(200)} == {"[3, 3]", "[5, 5]", "7"}
    assert dim.index((5, 5)) == 1
    assert dim.index([0.0, 0.0, 1.0]) == 2
    assert dim.mask(7) == [False, False, True]
    assert dim.mask([5, 5]) == [False, True, False]
    assert dim.to_json() == {"_type": "choice", "_value": [[3, 3], [5, 5], 7]}
    json.dumps(dim.to_json())


def test_value_choice_hands_out_copies() -> None:
    dim = ValueChoiceDim("cfg", ([1, 2], {"a": [3]}))
    outputs = [
        dim.default(),
        dim.canonical([1, 2]),
        dim.canonical([True, False]),
        next(dim.options()),
        dim.sample(random.Random(0)),
        dim.to_json()["_value"][0],
    ]
    for out in outputs:
        if isinstance(out, list):
            out.append(99)
        else:
            out["a"].append(99)
    assert dim.values == ([1, 2], {"a": [3]})
    assert dim.default() == [1, 2]


@pytest.mark.parametrize("values", [(), (1, 1), (1, 1.0), ((1, 2), [1, 2]), ({"a": 1}, {"a": 1})])
def test_value_choice_rejects_empty_or_repeated_candidates(values: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError, match="'bad'"):
        ValueChoiceDim("bad", values)


@pytest.mark.parametrize("values", [(object(),), (NAN,), (1, INF), ({1: "a"},), ({1, 2},)])
def test_value_choice_rejects_values_json_cannot_hold(values: tuple[Any, ...]) -> None:
    with pytest.raises(TypeError):
        ValueChoiceDim("bad", values)


def test_value_choice_true_and_one_are_distinct_candidates() -> None:
    assert ValueChoiceDim("v", (True, 1, 1.5)).size() == 3


# --- values.py --------------------------------------------------------------------------------


def test_to_json_value_matches_a_json_round_trip() -> None:
    value = {"a": (1, (2.5, None)), "b": [True, "x", {"c": ()}]}
    normal = to_json_value(value)
    assert normal == {"a": [1, [2.5, None]], "b": [True, "x", {"c": []}]}
    assert json.loads(json.dumps(value)) == normal
    assert json.dumps(normal) == json.dumps(json.loads(json.dumps(value)))


def test_to_json_value_copies_containers() -> None:
    inner = [1, 2]
    value = {"a": inner}
    normal = to_json_value(value)
    assert normal == value
    assert normal is not value
    assert normal["a"] is not inner


@pytest.mark.parametrize(
    "value", [NAN, INF, -INF, [1, NAN], {1: "a"}, {"a": object()}, {1, 2}, b"x"]
)
def test_to_json_value_rejects_what_json_cannot_hold(value: Any) -> None:
    with pytest.raises(TypeError):
        to_json_value(value)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        (True, True, True),
        (0, -0.0, True),
        ("1", 1, False),
        (None, None, True),
        (None, 0, False),
        ([1, True], [1.0, True], True),
        ([1, True], [True, 1], False),
        ([1], [1, 1], False),
        ({"a": [True]}, {"a": [1]}, False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"b": 1}, False),
        ([1], {"a": 1}, False),
    ],
)
def test_same_value_tells_booleans_from_numbers(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same
    assert same_value(b, a) is same

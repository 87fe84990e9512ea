"""Unit tests for `SearchSpace`: size, grid, sample, default, validate, JSON, Mapping behaviour."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from types import MappingProxyType
from typing import Any

import pytest

from archsearch.space import (
    Dimension,
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    SearchSpace,
    ValueChoiceDim,
)


def dims() -> list[Dimension]:
    return [
        LayerChoiceDim("conv", ("conv3", "conv5")),
        InputChoiceDim("skip", 3, 2, ("x", "y", "z")),
        ValueChoiceDim("hidden", (32, 64, 128)),
        InputChoiceDim("any", 2, None, ("p", "q")),
        ValueChoiceDim("kernel", ((3, 3), (5, 5))),
    ]


@pytest.fixture
def space() -> SearchSpace:
    return SearchSpace(dims())


SIZE = 2 * 3 * 3 * 4 * 2


def dump(arch: Any) -> str:
    """Exact text of an architecture: tells True from 1, 1 from 1.0, and keeps key order."""
    return json.dumps(arch)


def test_size_is_the_product_of_dimension_sizes(space: SearchSpace) -> None:
    assert space.size() == SIZE
    assert SearchSpace().size() == 1
    assert SearchSpace([InputChoiceDim("a", 5, 2, tuple("abcde"))]).size() == 10
    assert SearchSpace([InputChoiceDim("a", 5, None, tuple("abcde"))]).size() == 32


def test_size_is_exact_for_huge_spaces() -> None:
    big = SearchSpace(ValueChoiceDim(f"v{i}", tuple(range(10))) for i in range(40))
    assert big.size() == 10**40
    assert isinstance(big.size(), int)


def test_grid_enumerates_exactly_size_distinct_canonical_architectures(space: SearchSpace) -> None:
    archs = list(space.grid())
    assert len(archs) == space.size()
    assert len({dump(a) for a in archs}) == space.size()
    for arch in archs:
        assert list(arch) == space.labels
        assert dump(space.validate(arch)) == dump(arch)
        assert dump(json.loads(dump(arch))) == dump(arch)


def test_grid_order_varies_the_last_label_fastest(space: SearchSpace) -> None:
    archs = list(space.grid())
    assert archs[0] == space.default() | {"any": []}
    assert archs[1] == archs[0] | {"kernel": [5, 5]}
    assert archs[2] == archs[0] | {"any": [0]}
    assert archs[-1] == {
        "conv": "conv5",
        "skip": [1, 2],
        "hidden": 128,
        "any": [0, 1],
        "kernel": [5, 5],
    }


def test_grid_of_empty_space_is_one_empty_architecture() -> None:
    assert list(SearchSpace().grid()) == [{}]
    assert SearchSpace().sample(0) == {}
    assert SearchSpace().default() == {}
    assert SearchSpace().validate({}) == {}


def test_grid_architectures_share_no_mutable_values(space: SearchSpace) -> None:
    archs = list(space.grid())
    archs[0]["skip"].append(99)
    archs[0]["kernel"].append(99)
    assert all(99 not in a["skip"] and 99 not in a["kernel"] for a in archs[1:])
    assert next(space.grid()) == archs[1] | {"kernel": [3, 3]}


def test_default_is_the_first_candidate_of_each_choice(space: SearchSpace) -> None:
    assert space.default() == {
        "conv": "conv3",
        "skip": [0, 1],
        "hidden": 32,
        "any": [0],
        "kernel": [3, 3],
    }
    assert list(space.default()) == space.labels
    assert dump(space.validate(space.default())) == dump(space.default())


def test_outputs_can_be_edited_without_changing_the_space(space: SearchSpace) -> None:
    for arch in (space.default(), space.sample(3), space.validate(space.default())):
        arch["skip"].append(99)
        arch["any"].append(99)
        arch["kernel"].append(99)
    assert space.default()["kernel"] == [3, 3]
    assert space.to_json()["kernel"]["_value"] == [[3, 3], [5, 5]]
    assert space == SearchSpace(dims())


def test_sample_is_deterministic_per_seed_and_valid(space: SearchSpace) -> None:
    for seed in range(50):
        arch = space.sample(seed)
        assert dump(space.sample(seed)) == dump(arch)
        assert list(arch) == space.labels
        assert dump(space.validate(arch)) == dump(arch)
    assert len({dump(space.sample(seed)) for seed in range(50)}) > 10


def test_sample_accepts_a_random_generator(space: SearchSpace) -> None:
    assert space.sample(random.Random(5)) == space.sample(5)
    rng = random.Random(5)
    draws = [dump(space.sample(rng)) for _ in range(20)]
    assert len(set(draws)) > 1  # the generator advances between draws


def test_sample_without_seed_is_valid(space: SearchSpace) -> None:
    for _ in range(20):
        arch = space.sample()
        assert dump(space.validate(arch)) == dump(arch)


def test_sample_reaches_every_architecture_of_a_small_space() -> None:
    small = SearchSpace(
        [
            LayerChoiceDim("a", ("x", "y")),
            InputChoiceDim("b", 2, None, ("p", "q")),
            ValueChoiceDim("c", (1, True)),
        ]
    )
    rng = random.Random(11)
    seen = {dump(small.sample(rng)) for _ in range(1000)}
    assert seen == {dump(a) for a in small.grid()}


def test_validate_turns_every_spelling_into_the_canonical_form(space: SearchSpace) -> None:
    expected = {"conv": "conv5", "skip": [0, 2], "hidden": 64, "any": [], "kernel": [5, 5]}
    spellings: list[dict[str, Any]] = [
        expected,
        {"conv": 1, "skip": [2, 0], "hidden": 64.0, "any": [], "kernel": (5, 5)},
        {
            "conv": ["conv5"],
            "skip": ["z", "x"],
            "hidden": [False, True, False],
            "any": [False, False],
            "kernel": [False, True],
        },
        {
            "conv": [0.2, 0.8],
            "skip": [0.6, 0.1, 0.3],
            "hidden": [0.1, 0.7, 0.2],
            "any": [0.0, 0.0],
            "kernel": [0.4, 0.6],
        },
        {
            "conv": [False, True],
            "skip": (True, False, True),
            "hidden": 64,
            "any": (),
            "kernel": [5, 5],
        },
    ]
    for arch in spellings:
        assert dump(space.validate(arch)) == dump(expected)


def test_validate_returns_labels_in_model_order(space: SearchSpace) -> None:
    shuffled = dict(reversed(list(space.default().items())))
    assert list(space.validate(shuffled)) == space.labels


def test_validate_accepts_any_mapping_and_does_not_modify_it(space: SearchSpace) -> None:
    arch = {"conv": 1, "skip": [2, 0], "hidden": 64, "any": [1], "kernel": (3, 3)}
    before = repr(arch)
    assert space.validate(MappingProxyType(arch))["skip"] == [0, 2]
    assert repr(arch) == before


def test_validate_is_idempotent(space: SearchSpace) -> None:
    arch = space.validate(
        {"conv": [0.9, 0.1], "skip": ["y", 2], "hidden": 128, "any": 1, "kernel": [1.0, 0.0]}
    )
    assert dump(space.validate(arch)) == dump(arch)


def test_missing_labels_are_named_with_their_options(space: SearchSpace) -> None:
    arch = space.default()
    del arch["hidden"], arch["skip"]
    with pytest.raises(InvalidArchitectureError) as exc:
        space.validate(arch)
    message = str(exc.value)
    assert "missing label 'hidden'" in message and "[32, 64, 128]" in message
    assert "missing label 'skip'" in message and "2 of ['x', 'y', 'z']" in message
    assert "'conv'" not in message


def test_unknown_labels_are_named_with_the_space_labels(space: SearchSpace) -> None:
    arch = space.default() | {"dropout": 0.5, "conv2": "conv3"}
    with pytest.raises(InvalidArchitectureError) as exc:
        space.validate(arch)
    message = str(exc.value)
    assert "'dropout'" in message and "'conv2'" in message
    assert str(space.labels) in message


def test_every_problem_is_reported_at_once(space: SearchSpace) -> None:
    arch = space.default() | {"conv": "conv7", "skip": [0, 0], "extra": 1}
    del arch["any"]
    with pytest.raises(InvalidArchitectureError) as exc:
        space.validate(arch)
    message = str(exc.value)
    for part in ("'conv7'", "['conv3', 'conv5']", "chosen twice", "'skip'", "'extra'", "'any'"):
        assert part in message


@pytest.mark.parametrize(
    ("label", "value", "options"),
    [
        ("conv", 2, "['conv3', 'conv5']"),
        ("conv", True, "['conv3', 'conv5']"),
        ("conv", [True, True], "['conv3', 'conv5']"),
        ("skip", [0], "exactly 2 of the inputs ['x', 'y', 'z']"),
        ("skip", [0, 1, 2], "exactly 2 of the inputs ['x', 'y', 'z']"),
        ("skip", [True, False], "exactly 2 of the inputs ['x', 'y', 'z']"),
        ("any", ["r"], "any number of the inputs ['p', 'q']"),
        ("hidden", 16, "[32, 64, 128]"),
        ("hidden", True, "[32, 64, 128]"),
        ("kernel", [7, 7], "[[3, 3], [5, 5]]"),
    ],
)
def test_invalid_values_are_named_with_label_and_options(
    space: SearchSpace, label: str, value: Any, options: str
) -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        space.validate(space.default() | {label: value})
    message = str(exc.value)
    assert f"label {label!r}" in message
    assert options in message
    assert repr(value) in message


@pytest.mark.parametrize("arch", [None, [], ["conv3"], "conv3", 1, [("conv", "conv3")]])
def test_non_dict_architectures_are_rejected(space: SearchSpace, arch: Any) -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        space.validate(arch)
    message = str(exc.value)
    assert type(arch).__name__ in message
    assert str(space.labels) in message


def test_to_json_is_the_classic_format(space: SearchSpace) -> None:
    assert space.to_json() == {
        "conv": {"_type": "layer_choice", "_value": ["conv3", "conv5"]},
        "skip": {"_type": "input_choice", "_value": {"candidates": ["x", "y", "z"], "n_chosen": 2}},
        "hidden": {"_type": "choice", "_value": [32, 64, 128]},
        "any": {"_type": "input_choice", "_value": {"candidates": ["p", "q"], "n_chosen": None}},
        "kernel": {"_type": "choice", "_value": [[3, 3], [5, 5]]},
    }
    assert list(space.to_json()) == space.labels
    text = json.dumps(space.to_json())
    assert json.loads(text) == space.to_json()


def test_from_json_round_trips(space: SearchSpace) -> None:
    back = SearchSpace.from_json(space.to_json())
    assert back == space
    assert back.labels == space.labels
    again = SearchSpace.from_json(json.loads(json.dumps(space.to_json())))
    assert again == space
    assert again.labels == space.labels
    assert dump(again.to_json()) == dump(space.to_json())
    assert [type(d) for d in again.values()] == [type(d) for d in space.values()]


def test_from_json_reads_input_choice_without_n_chosen_as_one() -> None:
    data = {"in": {"_type": "input_choice", "_value": {"candidates": ["a", "b"]}}}
    assert SearchSpace.from_json(data)["in"] == InputChoiceDim("in", 2, 1, ("a", "b"))


@pytest.mark.parametrize(
    "entry",
    [
        {"_type": "uniform", "_value": [0, 1]},
        {"_value": ["a"]},
        {"_type": "input_choice", "_value": ["a", "b"]},
        {"_type": "layer_choice", "_value": []},
        {"_type": "choice", "_value": [1, 1]},
    ],
)
def test_from_json_rejects_unsupported_entries(entry: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="'bad'"):
        SearchSpace.from_json({"bad": entry})


def test_describe_lists_each_label_then_the_size(space: SearchSpace) -> None:
    text = space.describe()
    lines = text.splitlines()
    assert len(lines) == len(space) + 1
    for line, (label, dim) in zip(lines, space.items(), strict=False):
        assert line.startswith(label)
        assert dim.kind in line
    assert "['conv3', 'conv5']" in lines[0]
    assert "2 of ['x', 'y', 'z']" in lines[1]
    assert "any subset ['p', 'q']" in lines[3]
    assert lines[-1] == f"5 choices, {SIZE:,} architectures"
    assert SearchSpace().describe() == "0 choices, 1 architectures"


def test_duplicate_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="'conv'"):
        SearchSpace([LayerChoiceDim("conv", ("a", "b")), ValueChoiceDim("conv", (1, 2))])
    with pytest.raises(ValueError, match="'conv'"):
        SearchSpace([LayerChoiceDim("conv", ("a",)), LayerChoiceDim("conv", ("a",))])


def test_mapping_behaviour_keeps_label_order(space: SearchSpace) -> None:
    order = ["conv", "skip", "hidden", "any", "kernel"]
    assert space.labels == order
    assert list(space) == order
    assert list(space.keys()) == order
    assert len(space) == 5
    assert "hidden" in space and "dropout" not in space
    assert space["hidden"] == ValueChoiceDim("hidden", (32, 64, 128))
    assert list(space.values()) == dims()
    assert dict(space.items()) == {d.label: d for d in dims()}
    assert space.get("dropout") is None
    with pytest.raises(KeyError):
        space["dropout"]
    reordered = SearchSpace(reversed(dims()))
    assert reordered.labels == list(reversed(order))
    assert list(reordered.default()) == list(reversed(order))


def test_space_is_read_only(space: SearchSpace) -> None:
    with pytest.raises(TypeError):
        space["extra"] = ValueChoiceDim("extra", (1,))  # type: ignore[index]
    space.labels.append("extra")
    assert space.labels == ["conv", "skip", "hidden", "any", "kernel"]


def test_equality_compares_dimensions(space: SearchSpace) -> None:
    assert space == SearchSpace(dims())
    assert space != SearchSpace(dims()[:-1])
    changed = [*dims()[:-1], ValueChoiceDim("kernel", ((3, 3), (7, 7)))]
    assert space != SearchSpace(changed)
    assert "SearchSpace(" in repr(space) and "LayerChoiceDim" in repr(space)


def test_space_package_does_not_import_torch() -> None:
    code = "import archsearch.space, sys; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr

"""Unbounded architecture values (issue 10): every bad value gets InvalidArchitectureError naming
the label, with the value shortened in the message; no RecursionError, no bare ValueError."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
import torch

import archsearch
from archsearch.nn import LayerChoice
from archsearch.space import InvalidArchitectureError, SearchSpace
from archsearch.space.dimensions import InputChoiceDim, LayerChoiceDim, ValueChoiceDim

SPACE = SearchSpace(
    [
        LayerChoiceDim("layer", ("conv", "pool")),
        ValueChoiceDim("width", (16, 32)),
        InputChoiceDim("skip", 2, 1, ("a", "b")),
    ]
)


def _nested(depth: int, inner: Any = "nope") -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


HUGE_INT = 10**5000  # over Python's 4,300-digit limit for int → str
BAD_VALUES = {
    "nested 5,000 levels": _nested(5000),
    "huge int": HUGE_INT,
    "negative huge int": -HUGE_INT,
    "list of huge ints": [HUGE_INT, 1],
    "3 MB string": "x" * 3_000_000,
    "3 MB list": list(range(500_000)),
    "huge dict": {str(i): i for i in range(100_000)},
}


@pytest.mark.parametrize("label", SPACE.labels)
@pytest.mark.parametrize("value", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_gets_a_short_error_naming_the_label(label: str, value: Any) -> None:
    arch = SPACE.default() | {label: value}
    with pytest.raises(InvalidArchitectureError) as info:
        SPACE.validate(arch)
    message = str(info.value)
    assert f"label {label!r}" in message
    assert "valid options" in message
    assert len(message) < 1000


def test_deep_nesting_is_refused_by_every_dimension_directly() -> None:
    for dim in SPACE.values():
        with pytest.raises(InvalidArchitectureError, match="label"):
            dim.canonical(_nested(5000))


def test_value_nested_too_deep_says_so() -> None:
    with pytest.raises(InvalidArchitectureError, match="nested deeper than"):
        SPACE["width"].canonical(_nested(5000, 16))


def test_wrapped_layer_choice_is_still_accepted_at_any_depth() -> None:
    assert SPACE["layer"].canonical(_nested(5000, "pool")) == "pool"


def test_unknown_labels_are_shortened() -> None:
    arch = SPACE.default() | {"y" * 1_000_000: 1}
    with pytest.raises(InvalidArchitectureError, match="unknown labels") as info:
        SPACE.validate(arch)
    assert len(str(info.value)) < 1000


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.op = LayerChoice([torch.nn.Identity(), torch.nn.ReLU()], label="op")


@pytest.mark.parametrize(
    "text",
    ['{"op": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"op": ' + "9" * 5000 + "}", "{op"],
    ids=["deep", "huge int", "not json"],
)
def test_architecture_file_that_is_not_json_is_an_invalid_architecture(
    tmp_path: pathlib.Path, text: str
) -> None:
    path = tmp_path / "arch.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidArchitectureError, match=r"arch\.json") as info:
        archsearch.apply_fixed_architecture(_Net(), path)
    assert len(str(info.value)) < 1000


def test_architecture_file_that_is_not_a_dict_is_an_invalid_architecture(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "arch.json"
    path.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(InvalidArchitectureError, match="labels"):
        archsearch.apply_fixed_architecture(_Net(), path)

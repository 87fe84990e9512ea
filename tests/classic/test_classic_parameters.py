"""The classic parameter format ↔ architectures, and get_and_apply_next_architecture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from classic.trial_scripts import SPACE

import archsearch
import archsearch.nn as nn
from archsearch.classic import (
    PARAMETERS_ENV,
    SpaceMismatchError,
    from_parameters,
    get_and_apply_next_architecture,
    get_current_parameter,
    get_next_parameter,
    to_parameters,
)
from archsearch.classic import trial as trial_module
from archsearch.space import InvalidArchitectureError


def test_every_architecture_round_trips_through_the_classic_format() -> None:
    archs = list(SPACE.grid())
    assert len(archs) == SPACE.size() == 18
    for arch in archs:
        params = to_parameters(SPACE, arch)
        assert json.loads(json.dumps(params)) == params
        assert from_parameters(SPACE, params) == arch


def test_classic_entries_hold_value_and_index() -> None:
    params = to_parameters(SPACE, {"op": "pool", "width": 16, "skip": [0]})
    assert params == {
        "op": {"_value": "pool", "_idx": 2},
        "width": {"_value": 16, "_idx": 1},
        "skip": {"_value": ["x"], "_idx": [0]},
    }


def test_partial_entries_and_bare_values_are_read() -> None:
    arch = {"op": "conv5", "width": 32, "skip": [1]}
    assert (
        from_parameters(SPACE, {"op": {"_idx": 1}, "width": {"_idx": 2}, "skip": {"_idx": [1]}})
        == arch
    )
    assert (
        from_parameters(
            SPACE, {"op": {"_value": "conv5"}, "width": {"_value": 32}, "skip": {"_value": ["y"]}}
        )
        == arch
    )
    assert from_parameters(SPACE, {"op": "conv5", "width": 32, "skip": 1}) == arch


def test_disagreeing_value_and_index_are_refused() -> None:
    params = to_parameters(SPACE, SPACE.default())
    params["width"] = {"_value": 8, "_idx": 2}
    with pytest.raises(InvalidArchitectureError, match=r"'width'.*disagree"):
        from_parameters(SPACE, params)
    params["width"] = {"_idx": 7}
    with pytest.raises(InvalidArchitectureError, match=r"'width'.*out of range"):
        from_parameters(SPACE, params)


def test_label_mismatch_names_the_labels() -> None:
    params = to_parameters(SPACE, SPACE.default())
    del params["op"]
    params["kernel"] = {"_value": 3, "_idx": 0}
    with pytest.raises(SpaceMismatchError) as info:
        from_parameters(SPACE, params, source="params.json")
    message = str(info.value)
    assert "params.json" in message
    assert "labels ['op'] that the parameters lack" in message
    assert "labels ['kernel'] that the model does not have" in message
    assert "archsearch ss-gen" in message


# -- in a training script ------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice(
            {"conv3": nn.Conv1d(1, 4, 3, padding=1), "conv5": nn.Conv1d(1, 4, 5, padding=2)},
            label="op",
        )
        self.fc = nn.Linear(4, nn.ValueChoice([8, 16], label="hidden"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.op(x).mean(-1))  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def fresh_trial_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test is a new trial process: no cached parameters, no trial environment."""
    monkeypatch.setattr(trial_module, "_current", None)
    monkeypatch.delenv(PARAMETERS_ENV, raising=False)


def test_standalone_uses_the_first_candidates() -> None:
    assert get_next_parameter() == {}
    model = get_and_apply_next_architecture(Net())
    assert isinstance(model.op, torch.nn.Conv1d) and model.op.kernel_size == (3,)
    assert model.fc.out_features == 8
    assert get_current_parameter() == {
        "op": {"_value": "conv3", "_idx": 0},
        "hidden": {"_value": 8, "_idx": 0},
    }
    assert get_current_parameter("hidden") == {"_value": 8, "_idx": 0}
    assert model(torch.zeros(2, 1, 10)).shape == (2, 8)


def test_in_a_trial_the_parameters_file_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "parameters.json"
    params = {"op": {"_value": "conv5", "_idx": 1}, "hidden": {"_value": 16, "_idx": 1}}
    path.write_text(json.dumps(params))
    monkeypatch.setenv(PARAMETERS_ENV, str(path))
    model = Net()
    fixed = get_and_apply_next_architecture(model)
    assert fixed is model  # in place
    assert isinstance(model.op, torch.nn.Conv1d) and model.op.kernel_size == (5,)
    assert model.fc.out_features == 16
    assert archsearch.search_space(model).size() == 1  # no choice left
    assert get_next_parameter() == params == get_current_parameter()


def test_a_model_that_does_not_match_the_search_space_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"op": {"_value": "conv5", "_idx": 1}, "width": {"_value": 16}}))
    monkeypatch.setenv(PARAMETERS_ENV, str(path))
    with pytest.raises(SpaceMismatchError) as info:
        get_and_apply_next_architecture(Net())
    message = str(info.value)
    assert str(path) in message and "['hidden']" in message and "['width']" in message


def test_unreadable_parameters_are_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PARAMETERS_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        get_next_parameter()
    (tmp_path / "bad.json").write_text("[1, 2]")
    monkeypatch.setenv(PARAMETERS_ENV, str(tmp_path / "bad.json"))
    with pytest.raises(ValueError, match="expected a JSON object"):
        get_next_parameter()

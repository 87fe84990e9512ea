"""The documents' `_idex` spelling is NNI's alias of `_idx`; other unknown keys are named
(issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
from classic.trial_scripts import SPACE

from archsearch.classic import from_parameters
from archsearch.classic.tuner import Tuner, TunerStrategy
from archsearch.space import InvalidArchitectureError


def test_the_documented_parameters_with_idex_are_read() -> None:
    # The parameters exactly as NNI's NAS documents print them (input choice with `_idex`).
    params = {
        "op": {"_value": "conv5", "_idx": 1},
        "width": {"_value": 32, "_idx": 2},
        "skip": {"_value": ["y"], "_idex": [1]},
    }
    assert from_parameters(SPACE, params) == {"op": "conv5", "width": 32, "skip": [1]}
    assert from_parameters(SPACE, {**params, "skip": {"_idex": [1]}})["skip"] == [1]


def test_idex_is_checked_like_idx() -> None:
    params: dict[str, Any] = {"op": "conv5", "width": 32, "skip": {"_value": ["y"], "_idex": [0]}}
    with pytest.raises(InvalidArchitectureError, match=r"'skip'.*disagree"):
        from_parameters(SPACE, params)
    params["skip"] = {"_idx": [1], "_idex": [0]}
    with pytest.raises(InvalidArchitectureError, match=r"'skip'.*_idx \[1\] and _idex \[0\]"):
        from_parameters(SPACE, params)


@pytest.mark.parametrize(
    "entry", [{"_value": ["y"], "_index": [1]}, {"_indices": [1]}, {"_idx": [1], "value": 3}]
)
def test_an_unknown_key_is_named_with_the_valid_ones(entry: dict[str, Any]) -> None:
    params = {"op": "conv5", "width": 32, "skip": entry}
    with pytest.raises(InvalidArchitectureError, match=r"'skip': unknown key.*'_value'.*'_idx'"):
        from_parameters(SPACE, params)


class DocumentTuner(Tuner):
    """A hand-written NAS tuner returning the documents' format."""

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        return {
            "op": {"_value": "pool", "_idx": 2},
            "width": {"_value": 8, "_idx": 0},
            "skip": {"_value": ["x"], "_idex": [0]},
        }

    def receive_trial_result(
        self, parameter_id: int, parameters: Any, value: Any, **kw: Any
    ) -> None:
        pass


def test_a_tuner_may_return_idex() -> None:
    strategy = TunerStrategy(DocumentTuner())
    strategy.start(SPACE, "maximize")
    assert strategy.ask(SPACE, []) == {"op": "pool", "width": 8, "skip": [0]}

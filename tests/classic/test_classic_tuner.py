"""Classic tuners behind the Strategy interface, alone and driving a real experiment."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from classic.trial_scripts import SPACE, SPACE_JSON, write_scripts

from archsearch.classic import NoMoreTrialError, NoMoreTrials, ScriptEvaluator, Tuner, TunerStrategy
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import InvalidArchitectureError, Trial, TrialStatus
from archsearch.storage import open_storage


class Recorder(Tuner):
    """Proposes the default architecture `limit` times, recording every call."""

    def __init__(self, limit: int = 2, stop: type[BaseException] = NoMoreTrials) -> None:
        self.limit = limit
        self.stop = stop
        self.calls: list[tuple[Any, ...]] = []

    def update_search_space(self, search_space: dict[str, Any]) -> None:
        self.calls.append(("space", search_space))

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("generate", parameter_id))
        if parameter_id > self.limit:
            raise self.stop
        return {"op": {"_value": "pool", "_idx": 2}, "width": 16, "skip": {"_idx": [1]}}

    def receive_trial_result(
        self, parameter_id: int, parameters: dict[str, Any], value: Any, **kwargs: Any
    ) -> None:
        self.calls.append(("result", parameter_id, parameters, value))

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        self.calls.append(("end", parameter_id, success))


def finished(trial_id: int, arch: dict[str, Any], **fields: Any) -> Trial:
    return Trial("e", trial_id, SPACE.validate(arch), **fields)


@pytest.mark.parametrize("stop", [NoMoreTrials, NoMoreTrialError, StopIteration])
def test_tuner_sees_classic_space_params_and_results(stop: type[BaseException]) -> None:
    tuner = Recorder(limit=1, stop=stop)
    strategy = TunerStrategy(tuner)
    strategy.start(SPACE, "maximize")
    assert tuner.calls == [("space", SPACE_JSON)]
    arch = strategy.ask(SPACE, [])
    assert arch == {"op": "pool", "width": 16, "skip": [1]}
    first = finished(1, arch, status=TrialStatus.SUCCEEDED, metric=0.5, metrics={"default": 0.5})
    strategy.tell(first)
    asked = {"op": {"_value": "pool", "_idx": 2}, "width": 16, "skip": {"_idx": [1]}}
    assert tuner.calls[1:] == [("generate", 1), ("result", 1, asked, 0.5), ("end", 1, True)]
    # A second trial: exhausted, so the strategy has nothing left.
    assert strategy.ask(SPACE, [first]) is None
    assert tuner.calls[-1] == ("generate", 2)


def test_dict_metrics_failed_trials_and_replayed_history() -> None:
    tuner = Recorder()
    strategy = TunerStrategy(tuner)
    strategy.start(SPACE, "minimize")
    arch = {"op": "conv3", "width": 8, "skip": [0]}
    metrics = {"default": 0.25, "loss": 1.5}
    # Trials the strategy never asked for (a resumed history) arrive in the classic format.
    strategy.tell(finished(3, arch, status=TrialStatus.SUCCEEDED, metric=0.25, metrics=metrics))
    strategy.tell(finished(4, arch, status=TrialStatus.FAILED, error="boom"))
    params = {
        "op": {"_value": "conv3", "_idx": 0},
        "width": {"_value": 8, "_idx": 0},
        "skip": {"_value": ["x"], "_idx": [0]},
    }
    assert tuner.calls[1:] == [("result", 3, params, metrics), ("end", 3, True), ("end", 4, False)]


def test_invalid_parameters_name_the_tuner_and_label() -> None:
    class Bad(Tuner):
        def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
            return {"op": "maxpool", "width": 16, "skip": 0}

    strategy = TunerStrategy(Bad())
    strategy.start(SPACE, "maximize")
    with pytest.raises(InvalidArchitectureError, match=r"Bad\.generate_parameters.*'op'"):
        strategy.ask(SPACE, [])
    with pytest.raises(TypeError, match="generate_parameters"):
        TunerStrategy(object())  # type: ignore[arg-type]


def test_tuner_built_from_its_class_name_pickles_as_that_name(tmp_path: Path) -> None:
    code = write_scripts(tmp_path / "code")
    strategy = TunerStrategy.from_class("list_tuner.ListTuner", {"limit": 2}, str(code))
    strategy.start(SPACE, "maximize")
    strategy.ask(SPACE, [])
    data = pickle.dumps(strategy)
    assert b"ListTuner" in data and b"generated" not in data  # the name, not the state
    copy = pickle.loads(data)
    assert copy.tuner.limit == 2 and copy.tuner.generated == []
    with pytest.raises(ValueError, match=r"cannot build tuner .* classArgs"):
        TunerStrategy.from_class("list_tuner.ListTuner", {"size": 2}, str(code))
    with pytest.raises(ValueError, match="cannot import tuner module 'nowhere'"):
        TunerStrategy.from_class("nowhere.Tuner")


def test_custom_tuner_drives_an_experiment_of_script_trials(tmp_path: Path) -> None:
    code = write_scripts(tmp_path / "code")
    strategy = TunerStrategy.from_class("list_tuner.ListTuner", {"limit": 3}, str(code))
    evaluator = ScriptEvaluator([sys.executable, "score.py"], code, search_space=SPACE)
    experiment = Experiment(SPACE, evaluator, strategy)
    config = ExperimentConfig(
        "threads", trial_concurrency=2, max_trial_number=10, storage=str(tmp_path / "db")
    )
    assert experiment.run(config) == "done"  # the tuner ran out before the budget
    trials = open_storage(str(tmp_path / "db")).trials(experiment.id or "")
    assert [t.id for t in trials] == [1, 2, 3]
    assert all(t.status is TrialStatus.SUCCEEDED for t in trials)
    # ListTuner's n-th proposal: op n, width n, skip n % 2 (indices) → the kit's score.
    assert [t.metric for t in trials] == pytest.approx([0.5, 0.81, 0.3])
    tuner = strategy.tuner
    assert tuner.generated == [1, 2, 3]  # type: ignore[attr-defined]
    assert sorted(tuner.results) == [1, 2, 3]  # type: ignore[attr-defined]
    assert tuner.results[2][1] == pytest.approx(0.81)  # type: ignore[attr-defined]
    assert tuner.ended == {1: True, 2: True, 3: True}  # type: ignore[attr-defined]

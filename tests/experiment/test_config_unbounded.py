"""Unbounded or unusable config values (issue 10) are refused when the config is made, with a
short message naming the setting; a run refused up front stores nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from experiment_jobs import TinySpace

from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.execution.refs import NotTransferableError
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.storage import open_storage
from archsearch.strategy import Random

HUGE = 10**5000


BAD_SETTINGS = [
    ("max_duration", 10**400),
    ("max_duration", -(10**400)),
    ("max_trial_duration", HUGE),
    ("max_trial_number", -HUGE),
    ("trial_concurrency", -HUGE),
    ("trial_gpu_number", -HUGE),
    ("experiment_name", HUGE),
    ("optimize_mode", "x" * 3_000_000),
    ("execution", ["local"]),
    ("execution_engine", ["py"]),
    ("storage", HUGE),
]


@pytest.mark.parametrize(
    ("setting", "value"), BAD_SETTINGS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(BAD_SETTINGS)]
)
def test_unbounded_values_get_a_short_error_naming_the_setting(setting: str, value: Any) -> None:
    with pytest.raises(ValueError, match=setting) as info:
        ExperimentConfig(**{setting: value})
    assert len(str(info.value)) < 1000
    config = ExperimentConfig()
    with pytest.raises(ValueError, match=setting):
        setattr(config, setting, value)


@pytest.mark.parametrize(
    "storage",
    ["", "  ", ":memory:", "file:x.db?mode=memory", "postgresql://user@host/db", "sqlite:///"],
)
def test_unusable_storage_is_refused_when_the_config_is_made(storage: str) -> None:
    with pytest.raises(ValueError, match="storage"):
        ExperimentConfig(storage=storage)


def test_ray_is_accepted_and_cluster_platforms_point_at_it() -> None:
    assert ExperimentConfig("ray").execution == "ray"  # Ray itself is imported only to run
    with pytest.raises(ValueError, match="use execution='ray'"):
        ExperimentConfig("kubeflow")


def test_a_run_refused_up_front_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "exp.db"
    open_storage(db)  # an empty store, to look into afterwards
    experiment = Experiment(TinySpace(), FunctionalEvaluator(lambda model: 1.0), Random(seed=0))
    with pytest.raises(NotTransferableError):
        experiment.run(ExperimentConfig("local", storage=str(db), max_trial_number=1))
    assert not experiment.stored  # the id exists from construction, and nothing was written
    assert open_storage(db).experiments() == []

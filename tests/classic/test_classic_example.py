"""The classic-mode example (examples/classic) as a user runs it: its files agree with each
other, and `archsearch run` on its config trains real models."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import archsearch
from archsearch.classic.config import load_run_config
from archsearch.space import TrialStatus
from archsearch.storage import open_storage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "classic"


def test_search_space_file_is_the_models_and_the_config_loads() -> None:
    spec = importlib.util.spec_from_file_location("classic_example_model", EXAMPLE / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    space = archsearch.search_space(module.Net())
    assert json.loads((EXAMPLE / "search_space.json").read_text()) == space.to_json()
    config = load_run_config(EXAMPLE / "config.yml")
    assert config.search_space == space
    assert config.code_directory == EXAMPLE


@pytest.mark.slow
def test_archsearch_run_on_the_example(tmp_path: Path) -> None:
    config = yaml.safe_load((EXAMPLE / "config.yml").read_text())
    config.update(
        trialCommand=f"{sys.executable} train.py --epochs 1",
        trialCodeDirectory=str(EXAMPLE),
        searchSpaceFile=str(EXAMPLE / "search_space.json"),
        maxTrialNumber=2,
        storage=str(tmp_path / "exp.db"),
    )
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [sys.executable, "-m", "archsearch.cli.main", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    storage = open_storage(tmp_path / "exp.db")
    (record,) = storage.experiments()
    trials = storage.trials(record.id)
    assert len(trials) == 2
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.traceback
        assert trial.metric is not None and trial.metric > 0.15  # chance: 0.1 (one epoch)
        assert [p.step for p in storage.metrics(record.id, trial.id)] == [0]
        log = Path(trial.log_path or "").read_text()
        assert "architecture:" in log and "accuracy:" in log
    assert "best trial #" in run.stdout

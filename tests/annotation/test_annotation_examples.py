"""examples/annotation: seed 004's figures as runnable scripts. Each config loads with the space
of its annotations, each script runs standalone in fast mode, and the ENAS macro example (NNI's
v1 YAML) runs as an experiment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archsearch.annotation import collect, search_space
from archsearch.classic.config import load_run_config
from archsearch.space import TrialStatus
from archsearch.storage import open_storage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "annotation"
FOLDERS = ["layer_choice", "input_choice", "auxiliary", "enas_macro"]

LABELS = {
    "layer_choice": ["train/out4"],
    "input_choice": ["train/out5/inputs", "train/lr"],
    "auxiliary": ["train/out4", "train/out4/inputs"],
    "enas_macro": [
        "train/out1",
        "train/out2",
        "train/out2/inputs",
        "train/out3",
        "train/out3/inputs",
        "train/out4",
        "train/out4/inputs",
    ],
}


@pytest.mark.parametrize("folder", FOLDERS)
def test_config_loads_with_the_annotations_space(folder: str) -> None:
    config = load_run_config(EXAMPLES / folder / "config.yml")
    assert config.search_space == search_space(collect(EXAMPLES / folder))
    assert config.search_space.labels == LABELS[folder]
    assert "-m archsearch.annotation train.py" in str(config.trial_command)


def test_enas_macro_allows_any_subset_of_skips() -> None:
    # P15: NNI's PPO tuner allowed at most one skip input per layer; ENAS allows any subset.
    space = search_space(collect(EXAMPLES / "enas_macro"))
    assert space["train/out4/inputs"].size() == 8
    assert space.size() == 6**4 * 2 * 4 * 8


@pytest.mark.parametrize("folder", FOLDERS)
def test_script_runs_standalone_in_fast_mode(folder: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHSEARCH_TRIAL")}
    result = subprocess.run(
        [sys.executable, "-m", "archsearch.annotation", "train.py", "--fast"],
        cwd=EXAMPLES / folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy:" in result.stdout
    assert not (EXAMPLES / folder / "__pycache__").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["config.yml", "config_nni_tuner.yml"])
def test_enas_macro_v1_config_runs_trials(tmp_path: Path, name: str) -> None:
    # config_nni_tuner.yml: a custom tuner that reads NNI's JSON and returns NNI's parameters.
    config = yaml.safe_load((EXAMPLES / "enas_macro" / name).read_text())
    config["trial"].update(
        command=f"{sys.executable} train.py --fast", codeDir=str(EXAMPLES / "enas_macro")
    )
    if "codeDir" in config["tuner"]:  # the custom tuner's file, beside the example
        config["tuner"]["codeDir"] = str(EXAMPLES / "enas_macro")
    config["maxTrialNum"] = 2
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [sys.executable, "-m", "archsearch", "run", str(path), "--storage", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    storage = open_storage(tmp_path / "x.db")
    (record,) = storage.experiments()
    trials = storage.trials(record.id)
    assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 2, [t.traceback for t in trials]
    assert all(t.metric is not None and 0 <= t.metric <= 1 for t in trials)

"""`archsearch run` with `useAnnotation: true`: an NNI v1 YAML runs the annotated script as
classic trials in the user's own folder with the tuner's parameters; what cannot work is
refused by name."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.space import Trial, TrialStatus
from archsearch.storage import open_storage

TRAIN = textwrap.dedent(
    '''
    def add(inputs, k=1):
        return sum(inputs[0]) + sum(inputs[1]) + k

    def mul(inputs, k=2):
        return (sum(inputs[0]) + sum(inputs[1])) * k

    a, b, c = 1, 2, 3
    """@nni.mutable_layers({layer_choice: [add(k=1), mul(k=3)], fixed_inputs: [a],
        optional_inputs: [b, c], optional_input_size: [0, 2], layer_output: out})"""
    """@nni.variable(nni.choice(1, 10), name=w)"""
    w = 1
    print("result", out * w)
    """@nni.report_final_result(out * w)"""
    '''
)


def expected(arch: dict[str, Any]) -> float:
    total = 1 + sum((2, 3)[i] for i in arch["train/out/inputs"])
    out = total + 1 if arch["train/out"] == "add(k=1)" else total * 3
    return float(out * arch["train/w"])


def stored_trials(db: Path) -> list[Trial]:
    """The trials of the one experiment stored in `db`."""
    storage = open_storage(db)
    (record,) = storage.experiments()
    return storage.trials(record.id)


def v1_config(folder: Path, **changes: Any) -> Path:
    config: dict[str, Any] = {
        "authorName": "someone",
        "experimentName": "annotated",
        "trialConcurrency": 3,
        "maxExecDuration": "10m",
        "maxTrialNum": 3,
        "trainingServicePlatform": "local",
        "useAnnotation": True,
        "tuner": {"builtinTunerName": "GridSearch"},
        "trial": {"command": f"{sys.executable} train.py", "codeDir": ".", "gpuNum": 0},
    }
    config.update(changes)
    (folder / "train.py").write_text(TRAIN)
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_v1_yaml_runs_annotated_trials_with_the_tuners_parameters(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    config = v1_config(code)
    before = sorted(p.name for p in code.iterdir())
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "archsearch",
            "run",
            str(config),
            "--storage",
            str(tmp_path / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=code,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    trials = stored_trials(tmp_path / "x.db")
    assert len(trials) == 3
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.traceback
        assert trial.metric == expected(trial.arch)
    assert len({str(t.arch) for t in trials}) == 3  # the grid's first three, each different
    # The trials ran in the user's folder: nothing copied there, nothing cached beside it (P5).
    assert sorted(p.name for p in code.iterdir()) == before


def test_v2_key_reads_the_space_and_wraps_the_command(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    path = tmp_path / "config.yml"
    path.write_text(
        "trialCommand: python3 -u train.py --epochs 2 > log.txt\nuseAnnotation: true\n"
        "tuner: {name: Random}\nnasMode: classic_mode\n"
    )
    config = load_run_config(path)
    assert config.search_space.labels == ["train/out", "train/out/inputs", "train/w"]
    assert (
        config.trial_command == "python3 -u -m archsearch.annotation train.py --epochs 2 > log.txt"
    )
    assert config.trial_env == {"ARCHSEARCH_ANNOTATION_ROOT": str(tmp_path.resolve())}
    assert config.evaluator().env == config.trial_env


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"searchSpacePath": "space.json"},
            "searchSpaceFile cannot be given with useAnnotation: true",
        ),
        (
            {"trial": {"command": "python3 train.py", "nasMode": "enas_mode"}},
            "nasMode 'enas_mode' is not supported",
        ),
        (
            {"trial": {"command": "bash run.sh"}},
            "trialCommand must run a script as `python SCRIPT.py",
        ),
        ({"useAnnotation": "yes"}, "useAnnotation must be true or false"),
    ],
)
def test_refused_settings_are_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(RunConfigError, match=message):
        load_run_config(v1_config(tmp_path, **changes))


def test_continuous_variables_and_empty_spaces_are_refused(tmp_path: Path) -> None:
    path = v1_config(tmp_path)
    (tmp_path / "train.py").write_text(
        '"""@nni.variable(nni.uniform(0.1, 1), name=lr)"""\nlr = 0.5\n'
    )
    with pytest.raises(
        RunConfigError, match=r"train.py:1: @nni.variable nni.uniform is a continuous type"
    ):
        load_run_config(path)
    (tmp_path / "train.py").write_text("print('no annotations')\n")
    with pytest.raises(RunConfigError, match=r"no annotation in .* leaves a choice"):
        load_run_config(path)


def test_use_annotation_false_is_the_plain_classic_mode(tmp_path: Path) -> None:
    path = v1_config(tmp_path, useAnnotation=False, searchSpacePath="space.json")
    (tmp_path / "space.json").write_text('{"x": {"_type": "choice", "_value": [1, 2]}}')
    config = load_run_config(path)
    assert config.search_space.labels == ["x"] and config.trial_env == {}

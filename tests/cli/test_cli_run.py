"""`archsearch run config.yml`: what the configuration accepts and how it says what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from classic.trial_scripts import SPACE_JSON, write_scripts

from archsearch.classic import TunerStrategy
from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.cli.main import main
from archsearch.strategy import RegularizedEvolution


def write_config(folder: Path, **changes: object) -> Path:
    """A valid config (pure-Python trials in folder/code), with `changes` (None removes)."""
    write_scripts(folder / "code")
    (folder / "search_space.json").write_text(json.dumps(SPACE_JSON))
    config: dict[str, object] = {
        "experimentName": "cli test",
        "trialCommand": "python3 score.py",
        "trialCodeDirectory": "code",
        "searchSpaceFile": "search_space.json",
        "tuner": {"name": "Random", "classArgs": {"seed": 1}},
        "trialConcurrency": 2,
        "maxTrialNumber": 4,
    }
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_nni_keys_paths_and_tuner_arguments(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        tuner={
            "name": "Evolution",
            "classArgs": {"optimize_mode": "minimize", "population_size": 4, "sample_size": 2},
        },
        max_trial_duration="30s",  # snake_case is accepted too
        maxExperimentDuration="1h",
        storage="runs/exp.db",
        trainingService={"platform": "local"},
    )
    config = load_run_config(path)
    assert config.code_directory == (tmp_path / "code").resolve()
    assert config.search_space.to_json() == SPACE_JSON
    settings = config.experiment_config()
    assert settings.execution == "threads"
    assert settings.optimize_mode == "minimize"  # from the tuner's classArgs, NNI style
    assert settings.max_trial_duration == 30 and settings.max_duration == 3600
    assert settings.storage == str(tmp_path / "runs" / "exp.db")  # relative to the file
    assert config.experiment_config("other.db").storage == "other.db"
    strategy = config.strategy()
    assert isinstance(strategy, RegularizedEvolution) and strategy.population_size == 4
    evaluator = config.evaluator()
    assert evaluator.code_dir == str(tmp_path / "code") and evaluator.command == "python3 score.py"


def test_custom_tuner_from_its_code_directory(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        tuner={
            "className": "list_tuner.ListTuner",
            "codeDirectory": "code",
            "classArgs": {"limit": 2, "optimize_mode": "minimize"},
        },
    )
    config = load_run_config(path)
    strategy = config.strategy()
    assert isinstance(strategy, TunerStrategy)
    assert strategy.tuner.limit == 2  # type: ignore[attr-defined]
    assert strategy.tuner.optimize_mode == "minimize"  # type: ignore[attr-defined]
    assert config.experiment_config().optimize_mode == "minimize"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"maxTrialNumbr": 3},
            r"unknown keys \['maxTrialNumbr'\] \(did you mean 'maxTrialNumbr' → "
            r"'maxTrialNumber'\?\); valid keys: \[.*'maxTrialNumber'",
        ),
        ({"trialCommand": None}, "trialCommand is required"),
        (
            {"searchSpaceFile": "nowhere.json"},
            r"nowhere\.json does not exist; write it with `archsearch ss-gen",
        ),
        ({"searchSpaceFile": None}, "searchSpaceFile is required"),
        ({"trialCodeDirectory": "missing"}, "trialCodeDirectory .*missing does not exist"),
        ({"tuner": {"name": "Annealing"}}, r"unknown tuner name 'Annealing'; built-in: \['Random'"),
        (
            {"tuner": {"name": "Random", "classArgs": {"sead": 1}}},
            r"does not take classArgs \['sead'\]; valid: \['dedup', 'seed'\]",
        ),
        ({"tuner": {"name": "TPE", "className": "x.Y"}}, "exactly one of name"),
        ({"tuner": {"className": "nowhere.Tuner"}}, "cannot import tuner module 'nowhere'"),
        ({"tuner": None}, "tuner is required"),
        ({"trialConcurrency": 0}, "trial_concurrency must be an integer >= 1"),
        ({"maxTrialDuration": "soon"}, "max_trial_duration must be seconds"),
        (
            {
                "optimizeMode": "minimize",
                "tuner": {"name": "TPE", "classArgs": {"optimize_mode": "maximize"}},
            },
            "disagree",
        ),
        ({"trainingService": {"platform": "remote"}}, "trainingService .* is not supported"),
    ],
)
def test_bad_configs_are_refused_with_a_clear_message(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = write_config(tmp_path, **changes)
    with pytest.raises(RunConfigError, match=message):
        load_run_config(path)


def test_the_command_prints_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "missing.yml")]) == 1
    assert "missing.yml does not exist" in capsys.readouterr().err
    path = write_config(tmp_path, maxTrialNumbr=3)
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "maxTrialNumbr" in err and "Traceback" not in err
    assert "(did you mean 'maxTrialNumbr' → 'maxTrialNumber'?)" in err
    path = write_config(tmp_path, max_trial_numbr=3, optimise_mode="minimize", budget=3)
    assert main(["run", str(path)]) == 1
    err = capsys.readouterr().err
    assert "'max_trial_numbr' → 'max_trial_number', 'optimise_mode' → 'optimize_mode'?" in err
    (tmp_path / "bad.yml").write_text("- just\n- a list\n")
    assert main(["run", str(tmp_path / "bad.yml")]) == 1
    assert "expected a mapping" in capsys.readouterr().err

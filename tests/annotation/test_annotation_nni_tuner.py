"""A custom tuner written for NNI's annotation format drives `archsearch run` unchanged: it gets
NNI's search-space JSON, returns NNI's nested parameters and receives them back with the result;
`searchSpaceFormat: archsearch` gives it the classic JSON instead."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_annotation_experiment import TRAIN, expected, stored_trials

from archsearch.annotation.nni_format import NniFormat
from archsearch.annotation.space import collect, nni_search_space, search_space
from archsearch.classic import SpaceMismatchError
from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.classic.tuner import ClassicFormat, TunerStrategy
from archsearch.space import InvalidArchitectureError, TrialStatus

TUNER = textwrap.dedent(
    '''
    import json
    from pathlib import Path

    from archsearch.classic import Tuner


    class NasTuner(Tuner):
        """Reads NNI's annotation JSON; walks each choice by parameter id; logs what it sees."""

        def __init__(self, log):
            self.log = Path(log)

        def update_search_space(self, search_space):
            self.space = search_space
            self._write("space", search_space)

        def generate_parameters(self, parameter_id, **kwargs):
            params = {}
            for key, spec in self.space.items():
                if spec["_type"] != "mutable_layer":
                    params[key] = spec["_value"][parameter_id % len(spec["_value"])]
                    continue
                params[key] = {}
                for name, layer in spec["_value"].items():
                    size = layer["optional_input_size"]
                    low, high = (size, size) if isinstance(size, int) else size
                    count = low + parameter_id % (high - low + 1)
                    params[key][name] = {
                        "chosen_layer": layer["layer_choice"][parameter_id % 2],
                        "chosen_inputs": layer["optional_inputs"][:count],
                    }
            self._write("asked", [parameter_id, params])
            return params

        def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
            self._write("result", [parameter_id, parameters, value])

        def _write(self, kind, data):
            with self.log.open("a") as file:
                file.write(json.dumps([kind, data]) + "\\n")
    '''
)


def config(folder: Path, **tuner: Any) -> Path:
    (folder / "train.py").write_text(TRAIN)
    (folder / "nas_tuner.py").write_text(TUNER)
    settings = {
        "experimentName": "nni tuner",
        "trialCommand": f"{sys.executable} train.py",
        "trialConcurrency": 2,
        "maxTrialNumber": 3,
        "useAnnotation": True,
        "tuner": {
            "className": "nas_tuner.NasTuner",
            "codeDirectory": ".",
            "classArgs": {"log": str(folder / "tuner.log")},
            **tuner,
        },
    }
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(settings))
    return path


def archsearch_run(path: Path, storage: Path) -> subprocess.CompletedProcess[str]:
    """`archsearch run PATH --storage STORAGE` in the config's folder."""
    command = [sys.executable, "-m", "archsearch", "run", str(path), "--storage", str(storage)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=path.parent)


def test_an_nni_format_tuner_drives_an_annotation_experiment(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    run = archsearch_run(config(code), tmp_path / "x.db")
    assert run.returncode == 0, run.stderr[-3000:]
    log = [json.loads(line) for line in (code / "tuner.log").read_text().splitlines()]
    spaces = [data for kind, data in log if kind == "space"]
    assert spaces == [nni_search_space(collect(code))]  # NNI's JSON, as ss-gen --nni-format
    asked = {pid: params for kind, (pid, params) in ((k, d) for k, d in log if k == "asked")}
    block = next(key for key in spaces[0] if "mutable_block" in key)
    trials = stored_trials(tmp_path / "x.db")
    assert len(trials) == 3
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.traceback
        layer = asked[trial.id][block]["mutable_layer_0"]
        assert trial.arch["train/out"] == layer["chosen_layer"]
        inputs = [("b", "c").index(name) for name in layer["chosen_inputs"]]
        assert trial.arch["train/out/inputs"] == inputs
        assert trial.arch["train/w"] == asked[trial.id]["train/w/choice"]
        assert trial.metric == expected(trial.arch)
    results = [data for kind, data in log if kind == "result"]
    # The tuner gets its own parameters back with each trial's value.
    assert sorted(results) == sorted([t.id, asked[t.id], t.metric] for t in trials)


def test_the_format_translates_both_ways_and_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    form, space = NniFormat.of(collect(tmp_path)), search_space(collect(tmp_path))
    block = next(key for key in form.search_space_json(space) if "mutable_block" in key)
    params = {
        block: {"mutable_layer_0": {"chosen_layer": "mul(k=3)", "chosen_inputs": ["c"]}},
        "train/w/choice": 10,
    }
    arch = form.to_architecture(space, params, source="t")
    assert arch == {"train/out": "mul(k=3)", "train/out/inputs": [1], "train/w": 10}
    assert form.to_parameters(space, arch) == params
    with pytest.raises(SpaceMismatchError, match=r"no 'train/w/choice'.*labels 'train/w'"):
        form.to_architecture(space, {block: params[block]}, source="t")
    with pytest.raises(SpaceMismatchError, match=r"mutable_layer_0 → chosen_inputs"):
        bare = {block: {"mutable_layer_0": {"chosen_layer": "add(k=1)"}}, "train/w/choice": 1}
        form.to_architecture(space, bare, source="t")
    wrong = {**params, block: {"mutable_layer_0": {"chosen_layer": "div()", "chosen_inputs": []}}}
    with pytest.raises(InvalidArchitectureError, match=r"train/out.*mul\(k=3\)"):
        form.to_architecture(space, wrong, source="t")


def test_a_layer_without_a_choice_needs_no_entry_and_is_written_back_whole(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(
        "a, b = 1, 2\n"
        '"""@nni.mutable_layers({layer_choice: [f()], fixed_inputs: [], optional_inputs: [a, b],'
        ' optional_input_size: 2, layer_output: out})"""\n'
        '"""@nni.variable(nni.randint(2, 5), name=n)"""\nn = 2\n'
    )
    form, space = NniFormat.of(collect(tmp_path)), search_space(collect(tmp_path))
    assert space.labels == ["train/n"]
    assert form.to_architecture(space, {"train/n/randint": 4}, source="t") == {"train/n": 4}
    (block,) = (key for key in form.json if "mutable_block" in key)
    assert form.to_parameters(space, {"train/n": 3}) == {
        block: {"mutable_layer_0": {"chosen_layer": "f()", "chosen_inputs": ["a", "b"]}},
        "train/n/randint": 3,
    }


def test_config_picks_the_format_and_refuses_it_where_it_means_nothing(tmp_path: Path) -> None:
    default = load_run_config(config(tmp_path))
    assert default.tuner["search_space_format"] == "nni"
    strategy = default.strategy()
    assert isinstance(strategy, TunerStrategy)
    # Stored with the experiment: resume translates the same way.
    assert pickle.loads(pickle.dumps(strategy)).space_format == default.space_format

    classic = load_run_config(config(tmp_path, searchSpaceFormat="archsearch"))
    assert classic.space_format is None
    built = classic.strategy()
    assert isinstance(built, TunerStrategy) and isinstance(built.space_format, ClassicFormat)

    with pytest.raises(RunConfigError, match=r"searchSpaceFormat must be one of \['nni'"):
        load_run_config(config(tmp_path, searchSpaceFormat="NNI-2"))
    path = tmp_path / "builtin.yml"
    path.write_text(
        "trialCommand: python3 train.py\nuseAnnotation: true\n"
        "tuner: {name: Random, searchSpaceFormat: nni}\n"
    )
    with pytest.raises(RunConfigError, match="applies to a custom tuner"):
        load_run_config(path)


def test_a_tuner_choosing_outside_the_space_stops_the_run_with_one_line(tmp_path: Path) -> None:
    path = config(tmp_path)
    tuner = tmp_path / "nas_tuner.py"
    chosen = 'layer["layer_choice"][parameter_id % 2]'
    tuner.write_text(tuner.read_text().replace(chosen, '"div()"'))
    run = archsearch_run(path, tmp_path / "x.db")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert (
        "error: NasTuner.generate_parameters: invalid architecture: label 'train/out': unknown "
        "candidate name (got 'div()'); valid options: one of ['add(k=1)', 'mul(k=3)']"
    ) in run.stderr
    assert "archsearch resume" in run.stdout  # how far it got, and how to go on

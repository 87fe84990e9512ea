"""NNI programs run with only their import lines changed (README, DESIGN.md §1 and §7).

The programs in `tests/nni_programs/` are written with NNI's imports. `port` (`nni_port.py`)
rewrites those lines with `NNI_MODULES` (the import table of docs/migration.md)
and nothing else;
each ported program then runs for real, in a subprocess, on small offline data. The unit tests
below cover the NNI-shaped settings and arguments one by one.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from nni_port import changed_lines, port

import archsearch
import archsearch.nn as nn
from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.evaluator import (
    Classification,
    DataLoader,
    FunctionalEvaluator,
    TrialInput,
    load_digits,
)
from archsearch.evaluator.base import Reporter
from archsearch.evaluator.run import run_trial
from archsearch.experiment import (
    ExperimentConfig,
    RetiariiExeConfig,
    RetiariiExperiment,
)
from archsearch.experiment.training_service import LocalConfig
from archsearch.space import TrialStatus
from archsearch.storage import open_storage
from archsearch.strategy import TPE, GridSearch, TPEStrategy

PROGRAMS = Path(__file__).resolve().parent / "nni_programs"


def _ported(name: str, folder: Path) -> Path:
    source = (PROGRAMS / name).read_text()
    ported = port(source)
    changed = changed_lines(source, ported)
    assert changed and all(line.startswith(("import ", "from ")) for line in changed)
    target = folder / Path(name).name
    target.write_text(ported)
    return target


def _env(home: Path) -> dict[str, str]:
    """This interpreter's folder first on PATH (`python3` in NNI's trial commands), and an
    ARCHSEARCH_HOME of the test's own (default storage)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "ARCHSEARCH_HOME": str(home), "PATH": path}


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        args, cwd=cwd, env=_env(home), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _printed_dicts(stdout: str) -> list[dict[str, Any]]:
    return [ast.literal_eval(line) for line in stdout.splitlines() if line.startswith("{")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the programs ----------------------------------------------------------------------------


def test_port_changes_import_lines_only() -> None:
    for program in sorted(PROGRAMS.rglob("*.py")):
        source = program.read_text()
        assert "import nni" in source or "from nni" in source, program
        assert len(port(source).splitlines()) == len(source.splitlines())


def test_hello_nas_runs_unchanged_without_a_main_guard(tmp_path: Path) -> None:
    """Random search with a model_cls function evaluator in two local workers. The script has
    no `if __name__ == "__main__":`, so the workers import it: the experiment must not start
    again there (one experiment in storage) and its objects must be found."""
    program = _ported("hello_nas.py", tmp_path)
    port_number = _free_port()
    program.write_text(program.read_text().replace("8081", str(port_number)))
    home = tmp_path / "home"
    done = _run([sys.executable, program.name], tmp_path, home)
    assert f"dashboard: http://127.0.0.1:{port_number}" in done.stdout
    storage = open_storage(home / "experiments.db")
    (record,) = storage.experiments()
    assert record.name == "hello_nas"
    assert record.config["execution"] == "local"
    assert record.config["training_service"]["use_active_gpu"] is False
    trials = storage.trials(record.id)
    assert len(trials) == 2 and len({json.dumps(t.arch) for t in trials}) == 2
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.traceback
        assert trial.metric is not None and 15.0 < trial.metric <= 100.0  # percent; chance 10
        assert [p.step for p in storage.metrics(record.id, trial.id)] == [0, 1]
    best = max(trials, key=lambda t: t.metric or 0.0)
    assert _printed_dicts(done.stdout) == [best.arch]
    assert set(best.arch) == {"conv2", "dropout1.p", "fc1.out_features"}


@pytest.mark.slow
def test_lightning_classification_with_evolution(tmp_path: Path) -> None:
    program = _ported("lightning_nas.py", tmp_path)
    home = tmp_path / "home"
    done = _run([sys.executable, program.name], tmp_path, home)
    storage = open_storage(home / "experiments.db")
    (record,) = storage.experiments()
    trials = storage.trials(record.id)
    assert len(trials) == 3
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, trial.traceback
        assert trial.metric is not None and 0.15 < trial.metric <= 1.0
        assert set(trial.metrics) >= {"default", "accuracy", "val_loss", "train_loss"}
    best = max(trials, key=lambda t: t.metric or 0.0)
    assert _printed_dicts(done.stdout) == [best.arch]


def test_tpe_and_policy_rl_with_an_instance_evaluator(tmp_path: Path) -> None:
    program = _ported("strategies_nas.py", tmp_path)
    home = tmp_path / "home"
    done = _run([sys.executable, program.name], tmp_path, home)
    storage = open_storage(home / "experiments.db")
    records = {r.name: r for r in storage.experiments()}
    assert set(records) == {"TPE", "PolicyBasedRL"}
    for name, record in records.items():
        assert record.config["execution_engine"] == "py"
        assert record.config["max_duration"] == 300.0
        trials = storage.trials(record.id)
        assert [t.status for t in trials] == [TrialStatus.SUCCEEDED] * 3, trials
        assert all(t.metric is not None and t.metric > 0.5 for t in trials)
        best = max(trials, key=lambda t: t.metric or 0.0)
        assert f"{name} {best.arch}" in done.stdout


@pytest.mark.slow
def test_classic_script_with_an_nni_v1_config(tmp_path: Path) -> None:
    """NNI's classic NAS: `nnictl ss_gen` → `archsearch ss-gen`, `nnictl create --config` →
    `archsearch run`, the v1 YAML and the trial script's imports as NNI wrote them."""
    _ported("classic/mnist1d_nas.py", tmp_path)
    shutil.copy(PROGRAMS / "classic" / "config_v1.yml", tmp_path)
    home = tmp_path / "home"
    cli = [sys.executable, "-m", "archsearch.cli.main"]
    _run(
        [
            *cli,
            "ss-gen",
            "mnist1d_nas:Net",
            "--args",
            '{"hidden_size": 32}',
            "-o",
            "search_space.json",
        ],
        tmp_path,
        home,
    )
    space = json.loads((tmp_path / "search_space.json").read_text())
    assert list(space) == ["first_conv", "mid_conv", "skip"]
    done = _run([*cli, "run", "config_v1.yml"], tmp_path, home)
    storage = open_storage(home / "experiments.db")
    (record,) = storage.experiments()
    assert record.name == "classic_mnist1d"
    assert record.config["max_duration"] == 600.0
    trials = storage.trials(record.id)
    assert len(trials) == 2
    for trial in trials:
        assert trial.status is TrialStatus.SUCCEEDED, (trial.error, trial.traceback)
        assert trial.metric is not None and 0.2 < trial.metric <= 1.0  # chance: 0.1
        assert [p.step for p in storage.metrics(record.id, trial.id)] == [0]
    assert "best trial #" in done.stdout


# -- retraining the exported architecture ----------------------------------------------------


class SmallSpace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        deeper = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32))
        self.op = nn.LayerChoice([nn.Linear(64, 32), deeper])
        self.fc = nn.Linear(32, nn.ValueChoice([10, 20], label="out"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(self.op(x.flatten(1)))
        return out


def count_parameters(model: torch.nn.Module) -> float:
    return float(sum(p.numel() for p in model.parameters()))


def test_retrain_flow_fixes_the_exported_architecture(tmp_path: Path) -> None:
    """NNI's `with fixed_arch(arch): model = Net()` is `archsearch.fix(Net(), arch)` here (or
    `apply_fixed_architecture(Net(), "arch.json")` in place)."""
    exp = RetiariiExperiment(SmallSpace, FunctionalEvaluator(count_parameters), None, GridSearch())
    config = RetiariiExeConfig("inline")
    config.storage = str(tmp_path / "exp.db")
    exp.run(config)
    (exported,) = exp.export_top_models(formatter="dict")
    assert exported == {"op": "1", "out": 20}
    (tmp_path / "arch.json").write_text(json.dumps(exported))
    fixed = archsearch.fix(SmallSpace(), exported)
    in_place = archsearch.apply_fixed_architecture(SmallSpace(), tmp_path / "arch.json")
    for model in (fixed, in_place):
        assert not any(isinstance(m, nn.Mutable) for m in model.modules())
        assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 20)
    in_place.load_state_dict(fixed.state_dict())


# -- the NNI-shaped names, one by one --------------------------------------------------------


def test_model_wrapper_returns_the_class_and_checks_it() -> None:
    assert nn.model_wrapper(SmallSpace) is SmallSpace
    with pytest.raises(TypeError, match=r"nn\.Module subclass"):
        nn.model_wrapper(count_parameters)  # type: ignore[type-var]


def test_trace_returns_its_argument() -> None:
    assert archsearch.trace(DataLoader) is DataLoader
    assert TPEStrategy is TPE


def test_config_set_attribute_by_attribute_as_nni_does() -> None:
    config = RetiariiExeConfig("local")
    config.experiment_name = "mnist_search"
    config.max_trial_number = 4
    config.trial_concurrency = 2
    config.trial_gpu_number = 0
    config.max_experiment_duration = "1h"
    config.execution_engine = "base"
    config.training_service.use_active_gpu = True
    config.training_service.gpu_indices = "0,2"
    assert config.max_duration == config.max_experiment_duration == 3600.0
    assert config.training_service.platform == "local"
    assert config.training_service.gpu_indices == (0, 2)
    data = config.to_json()
    assert data["training_service"] == {
        "platform": "local",
        "use_active_gpu": True,
        "gpu_indices": [0, 2],
    }
    assert ExperimentConfig.from_json(json.loads(json.dumps(data))) == config
    assert ExperimentConfig(max_experiment_duration=30).max_duration == 30.0


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda c: setattr(c, "trial_command", "python x.py"), AttributeError, "no setting"),
        (lambda c: setattr(c.training_service, "reuse_mode", True), AttributeError, "valid"),
        (lambda c: setattr(c.training_service, "platform", "remote"), ValueError, "local"),
        (lambda c: setattr(c.training_service, "use_active_gpu", "no"), ValueError, "bool"),
        (lambda c: setattr(c.training_service, "gpu_indices", [0, 0]), ValueError, "distinct"),
        (lambda c: setattr(c, "execution_engine", "oneshot"), ValueError, "archsearch.oneshot"),
        (lambda c: setattr(c, "execution_engine", "cgo"), ValueError, "'py', 'base'"),
        (lambda c: setattr(c, "training_service", 3), ValueError, "LocalConfig"),
    ],
)
def test_unknown_or_wrong_settings_still_fail_clearly(
    change: Callable[[ExperimentConfig], None], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        change(RetiariiExeConfig("local"))


def test_config_constructor_rejects_unknown_and_doubled_settings() -> None:
    with pytest.raises(ValueError, match="training services are not available"):
        RetiariiExeConfig("remote")
    with pytest.raises(TypeError, match="unknown ExperimentConfig settings"):
        ExperimentConfig(debug=True)
    with pytest.raises(TypeError, match="not both"):
        ExperimentConfig(max_duration=1, max_experiment_duration=2)
    with pytest.raises(TypeError, match="unknown training_service settings"):
        LocalConfig(use_gpu=True)


class _ListReporter(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.reports: list[Any] = []

    def on_report(self, step: int, metrics: Any) -> None:
        self.reports.append((step, dict(metrics)))


def build_twice(model_cls: Callable[[], torch.nn.Module]) -> float:
    first, second = model_cls(), model_cls()
    archsearch.report_final_result(count_parameters(first))
    return count_parameters(second)


def test_a_model_cls_function_gets_a_factory_of_fresh_fixed_models() -> None:
    evaluator = FunctionalEvaluator(build_twice)
    assert evaluator.wants_factory
    arch = {"op": "0", "out": 10}
    reporter = _ListReporter()
    built: list[torch.nn.Module] = []

    def build() -> torch.nn.Module:
        built.append(archsearch.fix(SmallSpace(), arch))
        return built[-1]

    trial = TrialInput(arch, build, reporter)
    assert run_trial(evaluator, trial) == {"default": 64 * 32 + 32 + 32 * 10 + 10}
    assert len(built) == 2 and built[0] is not built[1]
    assert reporter.final == count_parameters(built[0])
    model = archsearch.fix(SmallSpace(), arch)
    assert evaluator.evaluate(model, reporter) == count_parameters(model)  # same model twice
    assert not FunctionalEvaluator(count_parameters).wants_factory


def test_classification_takes_nni_2x_train_dataloader() -> None:
    data = load_digits()
    loader = DataLoader(data.train, batch_size=64)
    evaluator = Classification(train_dataloader=loader, val_dataloaders=loader, max_epochs=1)
    assert evaluator.train_dataloaders is loader
    with pytest.raises(ValueError, match="not both"):
        Classification(train_dataloader=loader, train_dataloaders=loader, val_dataloaders=loader)


def test_export_top_models_takes_nni_optimize_mode(tmp_path: Path) -> None:
    exp = RetiariiExperiment(SmallSpace, FunctionalEvaluator(count_parameters), [], GridSearch())
    exp.run(ExperimentConfig(storage=str(tmp_path / "exp.db")))
    assert exp.export_top_models(optimize_mode="minimize", formatter="dict") == [
        {"op": "0", "out": 10}
    ]
    assert exp.export_top_models(top_k=1) == [{"op": "1", "out": 20}]
    with pytest.raises(ValueError, match="optimize_mode"):
        exp.export_top_models(optimize_mode="max")  # type: ignore[arg-type]


# -- NNI's configuration files ----------------------------------------------------------------


def _v1_config(tmp_path: Path, **changes: Any) -> Path:
    config = yaml.safe_load((PROGRAMS / "classic" / "config_v1.yml").read_text())
    config.update(changes)
    (tmp_path / "search_space.json").write_text(
        json.dumps({"conv": {"_type": "layer_choice", "_value": ["a", "b"]}})
    )
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_v1_config_reads_as_its_v2_equivalent(tmp_path: Path) -> None:
    config = load_run_config(_v1_config(tmp_path))
    assert config.trial_command == "python3 mnist1d_nas.py --epochs 2"
    assert config.code_directory == tmp_path.resolve()
    assert config.tuner == {"name": "PPOTuner", "class_args": {}}
    assert type(config.strategy()).__name__ == "PolicyBasedRL"
    settings = config.experiment_config().to_json()
    assert settings["experiment_name"] == "classic_mnist1d"
    assert settings["max_trial_number"] == 2 and settings["max_duration"] == 600.0
    assert settings["optimize_mode"] == "maximize"
    assert settings["training_service"]["platform"] == "local"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"useAnnotation": True}, "useAnnotation"),
        ({"assessor": {"builtinAssessorName": "Medianstop"}}, "unknown keys \\['assessor'\\]"),
        ({"trainingServicePlatform": "remote"}, "trainingService .* is not supported"),
        ({"trial": {"command": "python3 x.py", "gpuNum": 1}}, "trialGpuNumber 1"),
        ({"localConfig": {"gpuIndices": "0"}}, "gpuIndices"),
        ({"tuner": {"className": "MyTuner"}}, "classFileName"),
    ],
)
def test_v1_config_errors_name_the_key(tmp_path: Path, changes: Any, message: str) -> None:
    with pytest.raises(RunConfigError, match=message):
        load_run_config(_v1_config(tmp_path, **changes))

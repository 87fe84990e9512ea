"""The `ray` section of a config, from Python and from `archsearch run` YAML, and Ray as an
optional dependency; nothing here starts Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from classic.trial_scripts import SPACE_JSON, write_scripts

from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.execution import RayBackend, RayConfig
from archsearch.execution.ray_start import INSTALL_HINT, import_ray
from archsearch.experiment import ExperimentConfig


def test_importing_archsearch_does_not_import_ray() -> None:
    code = (
        "import sys, archsearch, archsearch.execution, archsearch.experiment, archsearch.classic;"
        "from archsearch.execution import RayBackend; RayBackend(2);"
        "assert 'ray' not in sys.modules, 'ray was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_missing_ray_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees without Ray
    with pytest.raises(ImportError) as caught:
        import_ray()
    assert str(caught.value) == INSTALL_HINT
    assert "pip install 'archsearch[ray]'" in INSTALL_HINT
    backend = RayBackend(1)  # building one needs no Ray; starting it does
    with pytest.raises(ImportError, match=r"archsearch\[ray\]"):
        backend.start()


def test_the_section_is_checked_per_setting() -> None:
    config = ExperimentConfig("ray", trial_concurrency=4)
    assert config.ray.address is None and config.ray.max_retries == 2
    config.ray.address = "ray://head:10001"
    config.ray.gpus_per_trial = 0.5
    assert config.ray.resolved_address() == "ray://head:10001"
    for name, value, message in [
        ("gpus_per_trial", -1, "ray.gpus_per_trial must be a finite number >= 0"),
        ("cpus_per_trial", "two", "ray.cpus_per_trial must be a number"),
        ("resources", {"tpu": "x"}, r"ray.resources\['tpu'\] must be a number"),
        ("resources", {"GPU": 1}, "through cpus_per_trial/gpus_per_trial"),
        ("working_dir", "/no/such/folder", "ray.working_dir must be an existing folder"),
        ("placement_timeout", 0, "ray.placement_timeout must be seconds > 0"),
        ("max_retries", -1, "ray.max_retries must be an integer >= 0"),
        ("address", "", "ray.address must be a cluster address"),
    ]:
        with pytest.raises(ValueError, match=message):
            setattr(config.ray, name, value)
    with pytest.raises(AttributeError, match="ray has no setting 'gpu'"):
        config.ray.gpu = 1
    with pytest.raises(TypeError, match="unknown ray settings"):
        ExperimentConfig("ray", ray={"adress": "auto"})


def test_the_section_round_trips_and_builds_the_backend(tmp_path: Path) -> None:
    settings = {"address": "auto", "cpusPerTrial": 2, "resources": {"a100": 1}, "maxRetries": 0}
    config = ExperimentConfig("ray", trial_concurrency=3, trial_gpu_number=1, ray=settings)
    again = ExperimentConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again.ray.to_json() == config.ray.to_json()
    assert again.ray.cpus_per_trial == 2.0 and again.ray.resources == {"a100": 1.0}
    backend = RayBackend.from_config(again)  # connects only when it starts
    assert backend.concurrency == 3
    assert backend.config.gpus_per_trial == 1.0  # trial_gpu_number, as the section had none
    again.ray.gpus_per_trial = 0.25
    assert RayBackend.from_config(again).config.gpus_per_trial == 0.25  # the section wins


def test_which_code_is_shipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert RayConfig().code_folder("/home/me/proj") is None  # a local Ray sees this disk
    assert RayConfig(address="auto").code_folder("/home/me/proj") is None
    remote = RayConfig(address="ray://10.0.0.5:10001")
    assert remote.code_folder("/home/me/proj") == "/home/me/proj"
    assert RayConfig(address="ray://h:1", working_dir=False).code_folder("/x") is None
    assert RayConfig(working_dir=str(tmp_path)).code_folder(None) == str(tmp_path)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert RayConfig().resolved_address() == "10.0.0.5:6379"
    assert RayConfig(address="local").resolved_address() is None


def _run_config(folder: Path, **changes: object) -> Path:
    write_scripts(folder / "code")
    (folder / "search_space.json").write_text(json.dumps(SPACE_JSON))
    config: dict[str, object] = {
        "trialCommand": "python3 score.py",
        "trialCodeDirectory": "code",
        "searchSpaceFile": "search_space.json",
        "tuner": {"name": "Random"},
        **changes,
    }
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_archsearch_run_yaml_takes_the_ray_settings(tmp_path: Path) -> None:
    path = _run_config(
        tmp_path,
        execution="ray",
        trialGpuNumber=1,  # Ray gives each slot its GPU, so script trials may ask for one
        ray={"address": "ray://head:10001", "gpusPerTrial": 0.5, "workingDir": "code"},
    )
    config = load_run_config(path).experiment_config()
    assert config.execution == "ray" and config.trial_gpu_number == 1
    assert config.ray.gpus_per_trial == 0.5
    assert config.ray.working_dir == str(tmp_path / "code")
    with pytest.raises(RunConfigError, match="a ray section needs `execution: ray`"):
        load_run_config(_run_config(tmp_path, ray={"address": "auto"}))
    with pytest.raises(RunConfigError, match=r"ray.gpus_per_trial must be"):
        load_run_config(_run_config(tmp_path, execution="ray", ray={"gpusPerTrial": "all"}))


@pytest.mark.parametrize("platform", ["remote", "pai", "kubeflow", "aml"])
def test_nni_cluster_platforms_point_at_execution_ray(tmp_path: Path, platform: str) -> None:
    path = _run_config(tmp_path, trainingService={"platform": platform})
    with pytest.raises(RunConfigError, match="`execution: ray`"):
        load_run_config(path)
    v1 = tmp_path / "v1.yml"
    v1.write_text(
        yaml.safe_dump(
            {
                "trainingServicePlatform": platform,
                "searchSpacePath": "search_space.json",
                "tuner": {"builtinTunerName": "Random"},
                "trial": {"command": "python3 score.py", "codeDir": "code"},
            }
        )
    )
    with pytest.raises(RunConfigError, match="`execution: ray`"):
        load_run_config(v1)

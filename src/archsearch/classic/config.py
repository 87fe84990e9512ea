"""The `archsearch run` configuration: an NNI-style YAML file describing a classic experiment.

Keys may be written in NNI's camelCase or in snake_case; NNI's v1 format (`authorName`,
`maxTrialNum`, `trial: {command, codeDir}`, ...) is read too (`legacy_config.py`). Paths are
relative to the file's folder. `load_run_config` checks everything and says what is wrong and
what would be valid; `RunConfig.experiment()` builds the `Experiment` (bare search space,
`ScriptEvaluator`, strategy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch.annotation.launch import ROOT_ENV, annotated_command, annotated_space
from archsearch.annotation.nni_format import NniFormat
from archsearch.classic.config_keys import RunConfigError as RunConfigError  # re-exported
from archsearch.classic.config_keys import existing_dir, normalise_keys
from archsearch.classic.legacy_config import LegacyConfigError, from_v1, is_v1
from archsearch.classic.safe_yaml import YamlInputError, load_yaml
from archsearch.classic.script import ScriptEvaluator
from archsearch.classic.tuner import SpaceFormat
from archsearch.classic.tuner_config import build_strategy, tuner_section
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import SearchSpace
from archsearch.strategy.base import Strategy

KEYS = {
    "experiment_name": "experimentName",
    "trial_command": "trialCommand",
    "trial_code_directory": "trialCodeDirectory",
    "search_space_file": "searchSpaceFile",
    "search_space": "searchSpace",
    "tuner": "tuner",
    "strategy": "strategy",
    "trial_concurrency": "trialConcurrency",
    "max_trial_number": "maxTrialNumber",
    "max_experiment_duration": "maxExperimentDuration",
    "max_trial_duration": "maxTrialDuration",
    "optimize_mode": "optimizeMode",
    "storage": "storage",
    "training_service": "trainingService",
    "trial_gpu_number": "trialGpuNumber",
    "use_annotation": "useAnnotation",
    "nas_mode": "nasMode",
    "execution": "execution",
    "ray": "ray",
}
"""Accepted keys (snake_case → NNI's camelCase spelling)."""


@dataclass(frozen=True)
class RunConfig:
    """A checked run configuration (paths absolute)."""

    path: Path
    trial_command: str | list[str]
    code_directory: Path
    search_space: SearchSpace
    tuner: Mapping[str, Any]
    settings: Mapping[str, Any]  # ExperimentConfig settings
    trial_env: Mapping[str, str] = field(default_factory=dict)  # added to the trials' environment
    space_format: SpaceFormat | None = None  # a custom tuner's, when not classic JSON

    def strategy(self) -> Strategy:
        """A fresh strategy as the `tuner` section describes it."""
        return build_strategy(self.tuner, self.path, self.space_format)

    def evaluator(self) -> ScriptEvaluator:
        """The evaluator that runs the trial command."""
        return ScriptEvaluator(
            self.trial_command,
            self.code_directory,
            dict(self.trial_env),
            search_space=self.search_space,
        )

    def experiment_config(self, storage: str | None = None) -> ExperimentConfig:
        """The experiment settings (`storage` overrides the file's)."""
        settings = dict(self.settings)
        if storage is not None:
            settings["storage"] = storage
        try:
            return ExperimentConfig(**settings)
        except (TypeError, ValueError) as exc:
            raise RunConfigError(f"{self.path}: {exc}") from None

    def experiment(self) -> Experiment:
        """The experiment: the bare search space, the script evaluator, the strategy."""
        return Experiment(self.search_space, self.evaluator(), self.strategy())


def load_run_config(path: str | os.PathLike[str]) -> RunConfig:
    """Read and check a run configuration file."""
    file = Path(path).resolve()
    if not file.is_file():
        raise RunConfigError(f"config file {path} does not exist")
    try:
        data = load_yaml(file.read_text(encoding="utf-8"))
    except YamlInputError as exc:
        raise RunConfigError(f"{path}: {exc}") from None
    if not isinstance(data, Mapping):
        raise RunConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    if is_v1(data):
        try:
            data = from_v1(data, str(path))
        except LegacyConfigError as exc:
            raise RunConfigError(str(exc)) from None
    raw = normalise_keys(data, KEYS, f"{path}")
    folder = file.parent
    command = raw.get("trial_command")
    if not command or not isinstance(command, (str, list)):
        raise RunConfigError(
            f"{path}: trialCommand is required: the command that runs one trial, e.g. "
            "'python train.py'"
        )
    code_dir = existing_dir(folder / str(raw.get("trial_code_directory", ".")), path)
    settings = _settings(raw, folder, path)
    trial_command = command if isinstance(command, str) else [str(c) for c in command]
    env: dict[str, str] = {}
    annotated = None
    if "use_annotation" in raw or "nas_mode" in raw:
        given = [KEYS[k] for k in ("search_space_file", "search_space") if k in raw]
        try:  # NNI's useAnnotation: the space comes from the annotated code (annotation/)
            annotated = annotated_space(
                raw.get("use_annotation"), raw.get("nas_mode"), given, code_dir
            )
            if annotated is not None:
                trial_command = annotated_command(trial_command)
        except ValueError as exc:
            raise RunConfigError(f"{path}: {exc}") from None
    if annotated is not None:
        space, modules = annotated
        env[ROOT_ENV] = str(code_dir)
    else:
        space, modules = _search_space(raw, folder, path), []
    tuner = tuner_section(raw, folder, path, settings, annotated is not None)
    space_format = None
    if tuner.get("search_space_format") == "nni":
        space_format = NniFormat.of(modules)
    build_strategy(tuner, path, space_format)  # fail now, not after the experiment was recorded
    return RunConfig(
        path=file,
        trial_command=trial_command,
        code_directory=code_dir,
        search_space=space,
        tuner=tuner,
        settings=settings,
        trial_env=env,
        space_format=space_format,
    )


def _training_service(value: Any, path: Any) -> dict[str, Any]:
    """The trainingService section as `LocalConfig` settings. Script trials see the GPUs of
    this machine as the environment gives them; nothing assigns GPUs to them, so
    `gpuIndices` is refused rather than ignored."""
    section = {"platform": value} if isinstance(value, str) else value
    if not isinstance(section, Mapping):
        raise RunConfigError(f"{path}: trainingService must be a mapping, got {value!r}")
    settings = normalise_keys(
        section,
        {"platform": "platform", "use_active_gpu": "useActiveGpu", "gpu_indices": "gpuIndices"},
        f"{path}: trainingService",
    )
    if settings.get("platform", "local") != "local":
        raise RunConfigError(
            f"{path}: trainingService {value!r} is not supported; trials run on this machine "
            "(use {platform: local} or leave it out), or on a Ray cluster: write "
            "`execution: ray` and a `ray:` section with the cluster's address (docs/cluster.md)"
        )
    if "gpu_indices" in settings:
        raise RunConfigError(f"{path}: trainingService gpuIndices: {_NO_GPU_ASSIGNMENT}")
    return settings


RUN_EXECUTIONS = ("threads", "ray")
"""Where `archsearch run` may run script trials (`execution:`)."""


def _ray_section(section: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """The `ray:` section as `RayConfig` settings; a relative workingDir is the file's."""
    settings = dict(section)
    for key in ("working_dir", "workingDir"):
        if isinstance(settings.get(key), str):
            settings[key] = str(folder / os.path.expanduser(settings[key]))
    return settings


_NO_GPU_ASSIGNMENT = (
    "script trials are not given GPUs; they see this machine's GPUs as their environment "
    "does (set CUDA_VISIBLE_DEVICES in trialCommand to choose)"
)


def _search_space(raw: Mapping[str, Any], folder: Path, path: Any) -> SearchSpace:
    if "search_space" in raw and "search_space_file" in raw:
        raise RunConfigError(f"{path}: give searchSpaceFile or searchSpace, not both")
    if "search_space" in raw:
        data, where = raw["search_space"], f"{path}: searchSpace"
    elif "search_space_file" in raw:
        file = folder / str(raw["search_space_file"])
        where = f"{path}: searchSpaceFile {file}"
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError:
            raise RunConfigError(
                f"{where} does not exist; write it with `archsearch ss-gen module:Model -o "
                f"{raw['search_space_file']}`"
            ) from None
        except json.JSONDecodeError as exc:
            raise RunConfigError(f"{where} is not valid JSON: {exc}") from None
    else:
        raise RunConfigError(
            f"{path}: searchSpaceFile is required (the JSON written by `archsearch ss-gen`)"
        )
    if not isinstance(data, Mapping) or not data:
        raise RunConfigError(f"{where}: expected a non-empty object label → choice")
    try:
        return SearchSpace.from_json(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise RunConfigError(f"{where}: {exc}") from None


def _settings(raw: Mapping[str, Any], folder: Path, path: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"execution": raw.get("execution", "threads")}
    if settings["execution"] not in RUN_EXECUTIONS:
        raise RunConfigError(
            f"{path}: execution must be one of {list(RUN_EXECUTIONS)} (script trials run in "
            f"threads here, or on Ray), got {settings['execution']!r}"
        )
    if "ray" in raw:
        if settings["execution"] != "ray":
            raise RunConfigError(f"{path}: a ray section needs `execution: ray`")
        section = raw["ray"]
        if section is not None and not isinstance(section, Mapping):
            raise RunConfigError(f"{path}: ray must be a mapping of settings, got {section!r}")
        settings["ray"] = _ray_section(section or {}, folder)
    for key, name in [
        ("experiment_name", "experiment_name"),
        ("trial_concurrency", "trial_concurrency"),
        ("max_trial_number", "max_trial_number"),
        ("max_experiment_duration", "max_duration"),
        ("max_trial_duration", "max_trial_duration"),
        ("optimize_mode", "optimize_mode"),
    ]:
        if key in raw:
            settings[name] = raw[key]
    if "training_service" in raw:
        settings["training_service"] = _training_service(raw["training_service"], path)
    gpus = raw.get("trial_gpu_number")
    if settings["execution"] == "ray" and gpus is not None:
        settings["trial_gpu_number"] = gpus  # Ray gives each trial slot its GPUs
    elif gpus not in (None, 0):
        raise RunConfigError(f"{path}: trialGpuNumber {gpus!r}: {_NO_GPU_ASSIGNMENT}; use 0")
    storage = raw.get("storage")
    if storage is not None:
        text = os.path.expanduser(str(storage))
        settings["storage"] = text if "://" in text else str(folder / text)
    try:
        ExperimentConfig(**settings)  # checked now, so errors name the file
    except (TypeError, ValueError) as exc:
        raise RunConfigError(f"{path}: {exc}") from None
    return settings

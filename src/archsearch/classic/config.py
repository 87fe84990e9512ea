"""The `archsearch run` configuration: an NNI-style YAML file describing a classic experiment.

Keys may be written in NNI's camelCase or in snake_case; NNI's v1 format (`authorName`,
`maxTrialNum`, `trial: {command, codeDir}`, ...) is read too (`legacy_config.py`). Paths are
relative to the file's folder. `load_run_config` checks everything and says what is wrong and
what would be valid; `RunConfig.experiment()` builds the `Experiment` (bare search space,
`ScriptEvaluator`, strategy).
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsearch import strategy as strategies
from archsearch.annotation.launch import ROOT_ENV, annotated_command, annotated_space
from archsearch.classic.legacy_config import LegacyConfigError, from_v1, is_v1
from archsearch.classic.safe_yaml import YamlInputError, load_yaml
from archsearch.classic.script import ScriptEvaluator
from archsearch.classic.tuner import TunerStrategy
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import OPTIMIZE_MODES, SearchSpace
from archsearch.strategy.base import Strategy


class RunConfigError(ValueError):
    """A run configuration that cannot be used; the message names the file and the key."""


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

TUNER_KEYS = {
    "name": "name",
    "class_name": "className",
    "code_directory": "codeDirectory",
    "class_args": "classArgs",
}

BUILTIN: dict[str, type[Strategy]] = {
    "random": strategies.Random,
    "randomsearch": strategies.Random,
    "grid": strategies.GridSearch,
    "gridsearch": strategies.GridSearch,
    "evolution": strategies.RegularizedEvolution,
    "regularizedevolution": strategies.RegularizedEvolution,
    "tpe": strategies.TPE,
    "policybasedrl": strategies.PolicyBasedRL,
    "ppotuner": strategies.PolicyBasedRL,
}
"""Built-in strategy names (case-insensitive; NNI's tuner names map to the nearest one)."""

BUILTIN_NAMES = ["Random", "GridSearch", "RegularizedEvolution", "TPE", "PolicyBasedRL"]


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

    def strategy(self) -> Strategy:
        """A fresh strategy as the `tuner` section describes it."""
        return build_strategy(self.tuner, self.path)

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
    code_dir = _existing_dir(folder / str(raw.get("trial_code_directory", ".")), path)
    settings = _settings(raw, folder, path)
    trial_command = command if isinstance(command, str) else [str(c) for c in command]
    env: dict[str, str] = {}
    space = None
    if "use_annotation" in raw or "nas_mode" in raw:
        given = [KEYS[k] for k in ("search_space_file", "search_space") if k in raw]
        try:  # NNI's useAnnotation: the space comes from the annotated code (annotation/)
            space = annotated_space(raw.get("use_annotation"), raw.get("nas_mode"), given, code_dir)
            if space is not None:
                trial_command = annotated_command(trial_command)
                env[ROOT_ENV] = str(code_dir)
        except ValueError as exc:
            raise RunConfigError(f"{path}: {exc}") from None
    if space is None:
        space = _search_space(raw, folder, path)
    return RunConfig(
        path=file,
        trial_command=trial_command,
        code_directory=code_dir,
        search_space=space,
        tuner=_tuner_section(raw, folder, path, settings),
        settings=settings,
        trial_env=env,
    )


def normalise_keys(data: Mapping[str, Any], valid: Mapping[str, str], where: str) -> dict[str, Any]:
    """`data` with camelCase keys turned snake_case; unknown keys raise, listing valid ones."""
    result: dict[str, Any] = {}
    unknown = []
    guesses = []
    for key, value in data.items():
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key)).lower()
        if snake not in valid:
            unknown.append(str(key))
            close = difflib.get_close_matches(snake, valid, n=1, cutoff=0.8)
            if close:  # a typo: name the key in the user's own spelling
                guesses.append(f"{key!r} → {close[0] if '_' in str(key) else valid[close[0]]!r}")
        elif snake in result:
            raise RunConfigError(f"{where}: {key!r} is given twice (as camelCase and snake_case)")
        else:
            result[snake] = value
    if unknown:
        hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        raise RunConfigError(
            f"{where}: unknown keys {unknown}{hint}; valid keys: {sorted(valid.values())}"
        )
    return result


def _existing_dir(folder: Path, path: Any) -> Path:
    if not folder.is_dir():
        raise RunConfigError(f"{path}: trialCodeDirectory {folder} does not exist")
    return folder.resolve()


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


def _tuner_section(
    raw: Mapping[str, Any], folder: Path, path: Any, settings: dict[str, Any]
) -> dict[str, Any]:
    if "tuner" in raw and "strategy" in raw:
        raise RunConfigError(f"{path}: give tuner or strategy, not both")
    section = raw.get("tuner", raw.get("strategy"))
    if section is None:
        raise RunConfigError(
            f"{path}: tuner is required, e.g. tuner: {{name: Random}}; built-in names: "
            f"{BUILTIN_NAMES}, or a custom tuner {{className: module.Class, codeDirectory: ..}}"
        )
    if isinstance(section, str):
        section = {"name": section}
    if not isinstance(section, Mapping):
        raise RunConfigError(f"{path}: tuner must be a mapping, got {section!r}")
    tuner = normalise_keys(section, TUNER_KEYS, f"{path}: tuner")
    if ("name" in tuner) == ("class_name" in tuner):
        raise RunConfigError(f"{path}: tuner needs exactly one of name (built-in) or className")
    args = tuner.get("class_args") or {}
    if not isinstance(args, Mapping):
        raise RunConfigError(f"{path}: tuner classArgs must be a mapping, got {args!r}")
    tuner["class_args"] = _take_optimize_mode(dict(args), "name" in tuner, path, settings)
    if "code_directory" in tuner:
        tuner["code_directory"] = str(_existing_dir(folder / str(tuner["code_directory"]), path))
    build_strategy(tuner, path)  # fail now, not after the experiment was recorded
    return tuner


def _take_optimize_mode(
    args: dict[str, Any], builtin: bool, path: Any, settings: dict[str, Any]
) -> dict[str, Any]:
    """NNI puts the direction in the tuner's classArgs; here it belongs to the experiment. A
    built-in strategy loses the argument; a custom tuner keeps it (it reads its own)."""
    if "optimize_mode" not in args:
        return args
    mode = args["optimize_mode"]
    if mode not in OPTIMIZE_MODES:
        raise RunConfigError(
            f"{path}: tuner classArgs optimize_mode must be one of {list(OPTIMIZE_MODES)}, "
            f"got {mode!r}"
        )
    if settings.get("optimize_mode", mode) != mode:
        raise RunConfigError(
            f"{path}: optimizeMode {settings['optimize_mode']!r} and tuner classArgs "
            f"optimize_mode {mode!r} disagree"
        )
    settings["optimize_mode"] = mode
    if builtin:
        del args["optimize_mode"]
    return args


def build_strategy(tuner: Mapping[str, Any], path: Any) -> Strategy:
    """The strategy of a checked `tuner` section."""
    args = dict(tuner.get("class_args") or {})
    if "class_name" in tuner:
        try:
            return TunerStrategy.from_class(tuner["class_name"], args, tuner.get("code_directory"))
        except ValueError as exc:
            raise RunConfigError(f"{path}: {exc}") from None
    name = str(tuner["name"])
    factory = BUILTIN.get(name.replace("_", "").replace("-", "").lower())
    if factory is None:
        raise RunConfigError(
            f"{path}: unknown tuner name {name!r}; built-in: {BUILTIN_NAMES} (NNI's Evolution "
            "and PPOTuner are accepted too), or give className for a custom tuner"
        )
    try:
        inspect.signature(factory).bind(**args)
    except TypeError:
        valid = [p for p in inspect.signature(factory).parameters if p != "self"]
        raise RunConfigError(
            f"{path}: tuner {name} does not take classArgs {sorted(args)}; valid: {valid}"
        ) from None
    try:
        return factory(**args)
    except (TypeError, ValueError) as exc:
        raise RunConfigError(f"{path}: tuner {name}: {exc}") from None

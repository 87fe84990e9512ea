"""ExperimentConfig: the budget and the execution settings of a multi-trial experiment.

Every field is checked when it is set (at construction or one by one, NNI style), so a wrong
value fails where it was written; `run` checks the whole and stores an immutable JSON copy.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from archsearch.execution import BACKENDS, RayConfig
from archsearch.experiment.training_service import LocalConfig
from archsearch.space import OPTIMIZE_MODES, OptimizeMode, shorten
from archsearch.storage import storage_file

EXECUTION_ENGINES = ("py", "base")
"""NNI's execution engines that mean what archsearch does: run the user's Python model."""

_OTHER_ENGINES = {
    "oneshot": "one-shot search runs without an experiment: see archsearch.oneshot (DartsTrainer, "
    "SposTrainer, ...)",
    "benchmark": "for NAS-Bench-201 queries use the NasBench201Tabular evaluator",
    "cgo": "cross-graph optimisation is not available",
}

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*$")


def parse_duration(value: Any, name: str = "duration") -> float | None:
    """Seconds from a number or a string such as "30s", "10m", "2h", "1d"; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be seconds or a string like '10m', got {shorten(value)}")
    if isinstance(value, (int, float)):
        seconds = float(value) if abs(value) < 1e300 else math.inf  # no OverflowError for 10**400
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(
            f"{name} must be seconds or a string like '30s', '10m', '2h', '1d'; "
            f"got {shorten(value)}"
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a positive duration, got {shorten(value)}")
    return seconds


def _positive_int(value: Any, name: str, *, allow_none: bool, minimum: int = 1) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer >= {minimum}{none}, got {shorten(value)}")
    return value


@dataclass(init=False)
class ExperimentConfig:
    """How an experiment runs (NNI's names). `ExperimentConfig("local")` sets `execution`.

    - `trial_concurrency`: trials run at the same time (worker processes for "local").
    - `max_trial_number`: trials to run in all, failed ones included (None: no limit).
    - `max_duration`, `max_trial_duration`: seconds or "30s" / "10m" / "2h" (None: no limit);
      when the experiment's duration is spent, running trials are cancelled.
    - `execution`: a name in `archsearch.execution.BACKENDS`: "inline" (this process, one at
      a time), "local" (worker processes), "threads" (threads of this process, for
      evaluators that run subprocesses such as classic script trials) or "ray" (a Ray
      cluster, or a local Ray: see `ray` and docs/cluster.md).
    - `storage`: a database path or `sqlite:///path` (default `$ARCHSEARCH_HOME/experiments.db`).
    - `optimize_mode`: "maximize" or "minimize" the final metric.
    - `trial_gpu_number`: GPUs given to each trial by local execution (None: one each when
      CUDA is present, else none; 0: never a GPU).
    - `training_service`: NNI's section for where trials run (`LocalConfig`: platform "local",
      `use_active_gpu`, `gpu_indices`); set its attributes one by one, as NNI examples do.
    - `ray`: a `RayConfig` (or a dict of its settings) for `execution="ray"`: the cluster's
      `address`, `cpus_per_trial`, `gpus_per_trial`, `resources`, `working_dir`,
      `placement_timeout`, `max_retries`; set them one by one (`config.ray.address = ...`).
    - `execution_engine`: NNI's setting, "py" or "base"; both run the Python model (archsearch
      has one engine), so it is only checked and stored.

    NNI's name `max_experiment_duration` reads and writes `max_duration`.
    """

    experiment_name: str | None
    trial_concurrency: int
    max_trial_number: int | None
    max_duration: float | None
    max_trial_duration: float | None
    execution: str
    storage: str | None
    optimize_mode: OptimizeMode
    trial_gpu_number: int | None
    training_service: LocalConfig
    ray: RayConfig
    execution_engine: str

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "experiment_name": None,
        "trial_concurrency": 1,
        "max_trial_number": None,
        "max_duration": None,
        "max_trial_duration": None,
        "execution": "inline",
        "storage": None,
        "optimize_mode": "maximize",
        "trial_gpu_number": None,
        "training_service": "local",
        "ray": None,
        "execution_engine": "py",
    }

    ALIASES: ClassVar[dict[str, str]] = {"max_experiment_duration": "max_duration"}
    """NNI's names for settings that have another name here."""

    def __init__(self, execution: str = "inline", **settings: Any) -> None:
        for alias, name in self.ALIASES.items():
            if alias in settings:
                if name in settings:
                    raise TypeError(f"give {name} or {alias} (the same setting), not both")
                settings[name] = settings.pop(alias)
        unknown = sorted(set(settings) - set(self.DEFAULTS))
        if unknown:
            raise TypeError(f"unknown ExperimentConfig settings {unknown}; valid: {_valid_names()}")
        for name, default in self.DEFAULTS.items():
            setattr(self, name, settings.get(name, default))
        self.execution = execution

    def __setattr__(self, name: str, value: Any) -> None:
        name = self.ALIASES.get(name, name)
        if name not in self.DEFAULTS:
            raise AttributeError(
                f"ExperimentConfig has no setting {name!r}; valid: {_valid_names()}"
            )
        object.__setattr__(self, name, _check(name, value))

    @property
    def max_experiment_duration(self) -> float | None:
        """NNI's name of `max_duration`."""
        return self.max_duration

    @max_experiment_duration.setter
    def max_experiment_duration(self, value: float | None) -> None:
        self.max_duration = value

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-able dict (what storage keeps)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["training_service"] = self.training_service.to_json()
        data["ray"] = self.ray.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Read `to_json` back (settings this version does not know are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.DEFAULTS and k != "execution"}
        return cls(data.get("execution", "inline"), **known)

    def validate(self) -> None:
        """Checks across settings, made when the experiment starts."""
        if self.execution == "inline" and self.trial_concurrency > 1:
            raise ValueError(
                "execution='inline' runs one trial at a time; use execution='local' for "
                f"trial_concurrency={self.trial_concurrency}"
            )


def _valid_names() -> list[str]:
    return sorted([*ExperimentConfig.DEFAULTS, *ExperimentConfig.ALIASES])


def _check(name: str, value: Any) -> Any:
    if name == "training_service":
        return LocalConfig.of(value)
    if name == "ray":
        return RayConfig.of(value)
    if name == "execution_engine":
        if value not in EXECUTION_ENGINES:
            hint = _OTHER_ENGINES.get(value, "") if isinstance(value, str) else ""
            raise ValueError(
                f"execution_engine must be one of {list(EXECUTION_ENGINES)} (both run the Python "
                f"model), got {shorten(value)}" + (f"; {hint}" if hint else "")
            )
        return value
    if name == "experiment_name":
        if value is not None and not isinstance(value, str):
            raise ValueError(f"experiment_name must be a string, got {shorten(value)}")
        return value
    if name == "trial_concurrency":
        return _positive_int(value, name, allow_none=False)
    if name == "max_trial_number":
        return _positive_int(value, name, allow_none=True)
    if name == "trial_gpu_number":
        return _positive_int(value, name, allow_none=True, minimum=0)
    if name in ("max_duration", "max_trial_duration"):
        return parse_duration(value, name)
    if name == "execution":
        if not isinstance(value, str) or value not in BACKENDS:
            raise ValueError(
                f"execution must be one of {list(BACKENDS)}, got {shorten(value)} (NNI's "
                "remote, cluster and cloud training services are not available: use "
                "execution='ray' to run trials on a Ray cluster, see docs/cluster.md)"
            )
        return value
    if name == "optimize_mode":
        if value not in OPTIMIZE_MODES:
            raise ValueError(
                f"optimize_mode must be one of {list(OPTIMIZE_MODES)}, got {shorten(value)}"
            )
        return value
    if name == "storage":
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"storage must be a path or 'sqlite:///path', got {shorten(value)}")
        if value is not None:
            storage_file(value)  # refuses what open_storage would refuse; opens nothing
        return value
    raise AssertionError(name)

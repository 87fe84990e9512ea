"""`RayConfig`: the `ray` section of an experiment config (`execution="ray"`).

Plain data, checked per setting as it is set (NNI style: `config.ray.address = "..."`); it
imports neither Ray nor torch, so a config can be written and stored without them.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

LOCAL_ADDRESSES = ("local",)
"""`address` values that mean "start a Ray of our own on this machine"."""


@dataclass(init=False)
class RayConfig:
    """Where and how trials run on Ray (`ExperimentConfig(execution="ray").ray`).

    - `address`: an existing cluster ("ray://head:10001", "10.0.0.5:6379", "auto"); None: the
      `RAY_ADDRESS` environment variable, else a local Ray started (on 127.0.0.1) and stopped
      by the experiment; "local": always that local Ray. Connecting to a cluster never stops it.
    - `cpus_per_trial`, `gpus_per_trial`: the CPUs and GPUs each trial slot holds; fractions
      share a device (0.5: two trials per GPU). `gpus_per_trial` None: the experiment's
      `trial_gpu_number`, and when that is None too, 1 on a cluster with GPUs, else 0.
    - `resources`: custom Ray resources each slot holds, e.g. {"a100": 1}.
    - `working_dir`: the folder of code shipped to the cluster's nodes (Ray's runtime_env
      working_dir); None: the folder of the user's script when `address` is a remote cluster,
      nothing otherwise; False: ship nothing (the nodes have the code already).
    - `placement_timeout`: seconds a trial slot may wait for the resources it asks for before
      its trial fails naming what the cluster lacks.
    - `max_retries`: how many times a trial whose worker or node was lost is run again (under
      the same trial id; a trial that crashes its own process is not run again).
    """

    address: str | None
    cpus_per_trial: float
    gpus_per_trial: float | None
    resources: Mapping[str, float]
    working_dir: str | bool | None
    placement_timeout: float
    max_retries: int

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "address": None,
        "cpus_per_trial": 1.0,
        "gpus_per_trial": None,
        "resources": {},
        "working_dir": None,
        "placement_timeout": 60.0,
        "max_retries": 2,
    }

    def __init__(self, **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self.DEFAULTS))
        if unknown:
            raise TypeError(f"unknown ray settings {unknown}; valid: {sorted(self.DEFAULTS)}")
        for name, default in self.DEFAULTS.items():
            setattr(self, name, settings.get(name, default))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.DEFAULTS:
            raise AttributeError(f"ray has no setting {name!r}; valid: {sorted(self.DEFAULTS)}")
        object.__setattr__(self, name, _check(name, value))

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-able dict."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["resources"] = dict(self.resources)
        return data

    @classmethod
    def of(cls, value: Any) -> RayConfig:
        """A RayConfig from one (copied), None (the defaults) or a dict of settings (as
        `to_json` writes, snake_case or camelCase keys)."""
        if value is None:
            return cls()
        if isinstance(value, RayConfig):
            return cls(**value.to_json())
        if isinstance(value, Mapping):
            return cls(**{_snake(str(k)): v for k, v in value.items()})
        raise ValueError(
            "ray must be a RayConfig or a dict such as {'address': 'ray://head:10001', "
            f"'gpus_per_trial': 0.5}}; got {value!r}"
        )

    def resolved_address(self) -> str | None:
        """The cluster to connect to, or None to start a local Ray."""
        address = self.address if self.address is not None else os.environ.get("RAY_ADDRESS")
        return None if not address or address in LOCAL_ADDRESSES else address

    def code_folder(self, script_folder: str | None) -> str | None:
        """The folder to ship to the nodes (see `working_dir`), if any."""
        if self.working_dir is False:
            return None
        if isinstance(self.working_dir, str):
            return self.working_dir
        address = self.resolved_address()
        return script_folder if address is not None and is_remote(address) else None


def script_folder() -> str | None:
    """The folder of the script this process runs (`__main__`), if it has one."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def is_remote(address: str) -> bool:
    """Whether a cluster address points at another machine ("auto" and loopback do not)."""
    if address == "auto":
        return False
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host not in ("127.0.0.1", "localhost", "::1", "")


_CAMEL = {
    "cpusPerTrial": "cpus_per_trial",
    "gpusPerTrial": "gpus_per_trial",
    "workingDir": "working_dir",
    "placementTimeout": "placement_timeout",
    "maxRetries": "max_retries",
}


def _snake(key: str) -> str:
    return _CAMEL.get(key, key)


def _amount(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"ray.{name} must be a number >= 0 (fractions allowed), got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"ray.{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check(name: str, value: Any) -> Any:
    if name == "address":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(
                "ray.address must be a cluster address such as 'ray://head:10001' or "
                f"'10.0.0.5:6379', 'auto', 'local', or None; got {value!r}"
            )
        return value
    if name == "cpus_per_trial":
        return _amount(value, name)
    if name == "gpus_per_trial":
        return None if value is None else _amount(value, name)
    if name == "resources":
        if not isinstance(value, Mapping) or not all(isinstance(k, str) and k for k in value):
            raise ValueError(
                f"ray.resources must map resource names to amounts, e.g. {{'a100': 1}}; "
                f"got {value!r}"
            )
        amounts = {k: _amount(v, f"resources[{k!r}]") for k, v in value.items()}
        if {"CPU", "GPU"} & set(amounts):
            raise ValueError(
                "ray.resources: give CPU and GPU through cpus_per_trial/gpus_per_trial"
            )
        return amounts
    if name == "working_dir":
        if value is None or value is False:
            return value
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not os.path.isdir(value):
            raise ValueError(
                "ray.working_dir must be an existing folder (the code shipped to the nodes), "
                f"None (the script's folder for a remote cluster) or False; got {value!r}"
            )
        return os.path.abspath(value)
    if name == "placement_timeout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"ray.placement_timeout must be seconds > 0, got {value!r}")
        return float(value)
    if name == "max_retries":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"ray.max_retries must be an integer >= 0, got {value!r}")
        return value
    raise AssertionError(name)

"""`LocalConfig`: NNI's `training_service` section of an experiment config, for this machine.

NNI examples write `config.training_service.use_active_gpu = True`; the section exists so that
they run unchanged. Trials always run on this machine (NNI's "local" platform), so `platform`
is "local" and the settings are the local platform's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

PLATFORMS = ("local",)


@dataclass(init=False)
class LocalConfig:
    """Where trials run (NNI's `LocalConfig`, `config.training_service`).

    - `platform`: "local" only: trials run on this machine (remote machines, Kubernetes, AML
      and NNI's other training services do not exist here).
    - `use_active_gpu`: NNI's switch for using GPUs that other processes already use. Accepted
      (True, False or None) and stored, but it changes nothing: archsearch does not look at
      other processes, and trials use the GPUs they are given (`gpu_indices`, or every GPU
      this process sees).
    - `gpu_indices`: the GPUs local worker processes may use (a list of ints, an int or a
      string such as "0,2"); None: every visible GPU. Used by `execution="local"`.
    """

    platform: str
    use_active_gpu: bool | None
    gpu_indices: tuple[int, ...] | None

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "platform": "local",
        "use_active_gpu": None,
        "gpu_indices": None,
    }

    def __init__(self, platform: str = "local", **settings: Any) -> None:
        unknown = sorted(set(settings) - set(self.DEFAULTS))
        if unknown:
            raise TypeError(
                f"unknown training_service settings {unknown}; valid: {sorted(self.DEFAULTS)}"
            )
        self.platform = platform
        for name in ("use_active_gpu", "gpu_indices"):
            setattr(self, name, settings.get(name, self.DEFAULTS[name]))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.DEFAULTS:
            raise AttributeError(
                f"training_service has no setting {name!r}; valid: {sorted(self.DEFAULTS)}"
            )
        object.__setattr__(self, name, _check(name, value))

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-able dict."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.gpu_indices is not None:
            data["gpu_indices"] = list(self.gpu_indices)
        return data

    @classmethod
    def of(cls, value: Any) -> LocalConfig:
        """A LocalConfig from one (copied), a platform name ("local") or a dict of settings
        (as `to_json` writes, or NNI's snake_case keys)."""
        if isinstance(value, LocalConfig):
            return cls(**value.to_json())
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            return cls(**{str(k): v for k, v in value.items()})
        raise ValueError(
            "training_service must be a LocalConfig, 'local' or a dict such as "
            f"{{'platform': 'local', 'use_active_gpu': False}}; got {value!r}"
        )


def _check(name: str, value: Any) -> Any:
    if name == "platform":
        if value not in PLATFORMS:
            raise ValueError(
                f"training_service.platform must be 'local' (trials run on this machine), got "
                f"{value!r}; NNI's remote, cluster and cloud training services are not "
                "available: to run trials on other machines use execution='ray' with a Ray "
                "cluster (docs/cluster.md)"
            )
        return value
    if name == "use_active_gpu":
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"training_service.use_active_gpu must be a bool, got {value!r}")
        return value
    if name == "gpu_indices":
        return _gpu_indices(value)
    raise AssertionError(name)


def _gpu_indices(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    items: Any = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int) and not isinstance(items, bool):
        items = [items]
    try:
        indices = tuple(int(str(i).strip()) for i in items)
    except (TypeError, ValueError):
        indices = ()
    if not indices or any(i < 0 for i in indices) or len(set(indices)) != len(indices):
        raise ValueError(
            "training_service.gpu_indices must be GPU indices: a list of distinct ints >= 0, "
            f"an int, or a string such as '0,2'; got {value!r}"
        )
    return indices

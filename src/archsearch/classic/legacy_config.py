"""NNI's first configuration format (v1, `nnictl create --config` before NNI 2.0), read by
translating it into the v2 keys that `archsearch run` reads.

NNI's classic-NAS examples ship v1 files (`authorName`, `maxTrialNum`, `searchSpacePath`,
`tuner: {builtinTunerName}`, `trial: {command, codeDir, gpuNum}`); NNI 2.x converted them the
same way. Keys that only described NNI's own service (`authorName`, `logDir`, `logLevel`,
`debug`, `nniManagerIp`, `multiThread`) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

V1_ONLY = {
    "authorName",
    "maxExecDuration",
    "maxTrialNum",
    "trainingServicePlatform",
    "searchSpacePath",
    "trial",
    "localConfig",
}
"""Keys that mark a v1 file (none of them exists in v2; `useAnnotation` is in both)."""

RENAMED = {
    "experimentName": "experimentName",
    "trialConcurrency": "trialConcurrency",
    "maxExecDuration": "maxExperimentDuration",
    "maxTrialNum": "maxTrialNumber",
    "searchSpacePath": "searchSpaceFile",
}

DROPPED = {"authorName", "logDir", "logLevel", "debug", "nniManagerIp", "multiThread"}

SECTIONS = {"useAnnotation", "trainingServicePlatform", "trial", "tuner", "localConfig"}

TRIAL_KEYS = {
    "command": "trialCommand",
    "codeDir": "trialCodeDirectory",
    "gpuNum": "trialGpuNumber",
    "nasMode": "nasMode",
}

LOCAL_KEYS = {"useActiveGpu": "useActiveGpu", "gpuIndices": "gpuIndices"}

TUNER_KEYS = {
    "builtinTunerName": "name",
    "classArgs": "classArgs",
    "className": "className",
    "classFileName": "classFileName",
    "codeDir": "codeDirectory",
}


class LegacyConfigError(ValueError):
    """A v1 key or value that has no v2 equivalent here."""


def is_v1(data: Mapping[str, Any]) -> bool:
    """Whether `data` is written in NNI's v1 format."""
    return any(key in data for key in V1_ONLY)


def from_v1(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The v2 form of a v1 configuration; LegacyConfigError naming the key for what has none."""
    result: dict[str, Any] = {}
    unknown = []
    for key, value in data.items():
        if key in RENAMED:
            result[RENAMED[key]] = value
        elif key in DROPPED:
            continue
        elif key == "useAnnotation":
            result["useAnnotation"] = value
        elif key == "trainingServicePlatform":
            result.setdefault("trainingService", {})["platform"] = value
        elif key == "localConfig":
            result.setdefault("trainingService", {}).update(_section(value, LOCAL_KEYS, where))
        elif key == "trial":
            result.update(_section(value, TRIAL_KEYS, f"{where}: trial"))
        elif key == "tuner":
            result["tuner"] = _tuner(value, where)
        else:
            unknown.append(key)
    if unknown:
        raise LegacyConfigError(
            f"{where}: unknown keys {unknown} in an NNI v1 configuration; valid: "
            f"{sorted([*RENAMED, *DROPPED, *SECTIONS])}"
        )
    return result


def _section(value: Any, keys: Mapping[str, str], where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise LegacyConfigError(f"{where}: expected a mapping, got {value!r}")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise LegacyConfigError(f"{where}: unknown keys {unknown}; valid: {sorted(keys)}")
    return {keys[k]: v for k, v in value.items()}


def _tuner(value: Any, where: str) -> dict[str, Any]:
    """v1 `builtinTunerName` → `name`; a custom `className` in `classFileName` under
    `codeDir` → `className: file_stem.Class` with `codeDirectory`."""
    tuner = _section(value, TUNER_KEYS, f"{where}: tuner")
    module = Path(str(tuner.pop("classFileName", ""))).stem
    code_directory = tuner.pop("codeDirectory", ".")  # only a custom tuner's
    if "className" in tuner:
        if not module:
            raise LegacyConfigError(
                f"{where}: tuner className needs classFileName (the file that defines it)"
            )
        tuner["className"] = f"{module}.{tuner['className']}"
        tuner["codeDirectory"] = code_directory
    return tuner

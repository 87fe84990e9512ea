"""The `tuner` section of the `archsearch run` configuration: a built-in strategy by name, or a
custom tuner by class name (with the format it reads the space in)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch import strategy as strategies
from archsearch.classic.config_keys import RunConfigError, existing_dir, normalise_keys
from archsearch.classic.tuner import SpaceFormat, TunerStrategy
from archsearch.space import OPTIMIZE_MODES
from archsearch.strategy.base import Strategy

TUNER_KEYS = {
    "name": "name",
    "class_name": "className",
    "code_directory": "codeDirectory",
    "class_args": "classArgs",
    "search_space_format": "searchSpaceFormat",
}

SPACE_FORMATS = ("nni", "archsearch")
"""A custom tuner's view of an annotation experiment's space: NNI's JSON and parameters (the
default, as NNI gives them), or archsearch's classic JSON."""

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


def tuner_section(
    raw: Mapping[str, Any], folder: Path, path: Any, settings: dict[str, Any], annotated: bool
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
        tuner["code_directory"] = str(existing_dir(folder / str(tuner["code_directory"]), path))
    _space_format(tuner, annotated, path)
    return tuner


def _space_format(tuner: dict[str, Any], annotated: bool, path: Any) -> None:
    """Check `searchSpaceFormat` and set its default: a custom tuner of an annotation
    experiment reads NNI's format, as under NNI; everything else, archsearch's classic JSON."""
    given = tuner.get("search_space_format")
    if given is None:
        if annotated and "class_name" in tuner:
            tuner["search_space_format"] = "nni"
        return
    if given not in SPACE_FORMATS:
        raise RunConfigError(
            f"{path}: tuner searchSpaceFormat must be one of {list(SPACE_FORMATS)}, got {given!r}"
        )
    if "class_name" not in tuner or not annotated:
        raise RunConfigError(
            f"{path}: tuner searchSpaceFormat applies to a custom tuner (className) of a "
            "useAnnotation experiment; elsewhere the tuner reads the classic JSON, which is "
            "NNI's search-space format already"
        )


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


def build_strategy(
    tuner: Mapping[str, Any], path: Any, space_format: SpaceFormat | None = None
) -> Strategy:
    """The strategy of a checked `tuner` section (`space_format`: a custom tuner's)."""
    args = dict(tuner.get("class_args") or {})
    if "class_name" in tuner:
        try:
            return TunerStrategy.from_class(
                tuner["class_name"], args, tuner.get("code_directory"), space_format
            )
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

"""What a classic trial script calls: get its architecture (or parameters) for this trial.

Inside a trial launched by `archsearch run`, the environment variable
`ARCHSEARCH_TRIAL_PARAMETERS` names a JSON file holding the trial's parameters in the classic
format (`{label: {"_value": ..., "_idx": ...}}`). Outside a trial (a plain `python train.py`)
the script runs standalone: the first candidate of every choice.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from archsearch.classic.parameters import Parameters, from_parameters, to_parameters

if TYPE_CHECKING:
    import torch

log = logging.getLogger("archsearch.classic")

PARAMETERS_ENV = "ARCHSEARCH_TRIAL_PARAMETERS"
"""Environment variable: the JSON file with the running trial's classic parameters."""

# The parameters this process is running with: read once from the file (a trial script runs
# one trial), or the standalone default once a model has been fixed to it.
_current: Parameters | None = None


def in_trial() -> bool:
    """Whether this process is a trial launched by an experiment (classic mode)."""
    return bool(os.environ.get(PARAMETERS_ENV))


def get_next_parameter() -> Parameters:
    """This trial's parameters in the classic format (NNI's name).

    Standalone (no experiment) there is nothing to choose from without a model: it returns an
    empty dict. Use `get_and_apply_next_architecture(model)` to fix a model.
    """
    global _current
    if not in_trial():
        log.info("not in a trial (standalone): no parameters")
        return dict(_current or {})
    if _current is None:
        _current = _read_parameters(os.environ[PARAMETERS_ENV])
    return dict(_current)


def get_current_parameter(tag: str | None = None) -> Any:
    """The parameters this trial runs with (NNI's name): the whole classic dict, or the entry
    of one label with `tag`. Empty (or None for a tag) before any parameters were obtained."""
    params = _current or {}
    return dict(params) if tag is None else params.get(tag)


def get_and_apply_next_architecture(model: torch.nn.Module) -> torch.nn.Module:
    """Fix `model` in place to this trial's architecture and return it (NNI's name).

    In a trial the architecture comes from the experiment; standalone, the first candidate of
    every choice is used. Raises `SpaceMismatchError` naming the labels when the model's
    choices are not those of the experiment's search space. The returned module is the model
    itself unless the model's root was a choice.
    """
    global _current
    from archsearch.nn.fix import apply_fixed_architecture
    from archsearch.nn.walk import search_space

    space = search_space(model)
    if in_trial():
        path = os.environ[PARAMETERS_ENV]
        params = get_next_parameter()
        arch = from_parameters(space, params, source=f"{PARAMETERS_ENV}={path}")
    else:
        arch = space.default()
        _current = to_parameters(space, arch)
        log.info("not in a trial (standalone): using the first candidates %s", arch)
    return apply_fixed_architecture(model, arch)


def _read_parameters(path: str) -> Parameters:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise FileNotFoundError(
            f"{PARAMETERS_ENV}={path}: cannot read the trial parameters ({exc})"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{PARAMETERS_ENV}={path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{PARAMETERS_ENV}={path}: expected a JSON object label → parameter, got "
            f"{type(data).__name__}"
        )
    return data

"""The classic (NNI script-mode) parameter format and its translation to architectures.

A classic trial receives one entry per label, `{"_value": ..., "_idx": ...}`:

- layer choice: `_value` the candidate name, `_idx` its index;
- input choice: `_value` the list of chosen input names, `_idx` their indices;
- value choice: `_value` the value, `_idx` its index among the candidates.

`_idex`, the spelling of NNI's NAS documents, is read as `_idx`.

Pure data (standard library and `archsearch.space` only): tuners and the runner use it without
torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archsearch.space import (
    Architecture,
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    SearchSpace,
    ValueChoiceDim,
    same_value,
)

Parameters = dict[str, Any]
"""Classic trial parameters: label → `{"_value": ..., "_idx": ...}`."""

_ENTRY_KEYS = frozenset({"_value", "_idx"})
_INDEX_ALIAS = "_idex"
"""NNI's NAS documents write the input-choice index `_idex`; read as `_idx`."""


class SpaceMismatchError(InvalidArchitectureError):
    """Trial parameters whose labels are not those of the model's search space."""


def to_parameters(space: SearchSpace, arch: Mapping[str, Any]) -> Parameters:
    """The classic parameters of `arch` (any accepted spelling) in `space`."""
    canonical = space.validate(arch)
    params: Parameters = {}
    for label, value in canonical.items():
        dim = space[label]
        if isinstance(dim, LayerChoiceDim):
            params[label] = {"_value": value, "_idx": dim.names.index(value)}
        elif isinstance(dim, InputChoiceDim):
            params[label] = {"_value": [dim.names[i] for i in value], "_idx": list(value)}
        elif isinstance(dim, ValueChoiceDim):
            params[label] = {"_value": value, "_idx": dim.index(value)}
        else:  # a dimension kind this module does not know: keep the value alone
            params[label] = {"_value": value}
    return params


def check_labels(space: SearchSpace, params: Mapping[str, Any], *, source: str) -> None:
    """Raise SpaceMismatchError naming the labels that `params` and `space` do not share.

    `source` says where the parameters came from (shown in the message).
    """
    if not isinstance(params, Mapping):
        raise SpaceMismatchError(
            f"{source}: trial parameters must be a JSON object label → choice, got "
            f"{type(params).__name__}"
        )
    missing = [label for label in space if label not in params]
    unknown = [label for label in params if label not in space]
    if not missing and not unknown:
        return
    parts = []
    if missing:
        parts.append(f"the model has labels {missing} that the parameters lack")
    if unknown:
        parts.append(f"the parameters name labels {unknown} that the model does not have")
    raise SpaceMismatchError(
        f"{source}: the trial parameters do not match the model's search space: "
        + "; ".join(parts)
        + f". The model's labels are {space.labels}. Was the search-space file generated "
        "from another version of the model? Regenerate it with `archsearch ss-gen`."
    )


def from_parameters(
    space: SearchSpace, params: Mapping[str, Any], *, source: str = "trial parameters"
) -> Architecture:
    """The canonical architecture of classic `params` in `space`.

    Each entry may be `{"_value": v, "_idx": i}` (both must agree), `{"_value": v}`, `{"_idx": i}`
    or a bare value in any spelling `SearchSpace.validate` accepts (what hand-written tuners
    often return). `_idex` is read as `_idx`; any other key starting with `_` is refused by name.
    """
    check_labels(space, params, source=source)
    try:
        arch = {label: _entry_value(space, label, params[label]) for label in space}
        return space.validate(arch)
    except InvalidArchitectureError as exc:
        raise InvalidArchitectureError(f"{source}: {exc}") from None


def is_entry(value: Any) -> bool:
    """Whether `value` is meant as a classic entry: a non-empty dict whose keys all start with
    `_` (`_value`, `_idx`, NNI's `_idex`, or a misspelling to report), or that has one of them."""
    if not isinstance(value, Mapping) or not value:
        return False
    keys = set(value)
    known = _ENTRY_KEYS | {_INDEX_ALIAS}
    return bool(keys & known) or all(isinstance(k, str) and k.startswith("_") for k in keys)


def _entry_value(space: SearchSpace, label: str, entry: Any) -> Any:
    if not is_entry(entry):
        return entry
    entry = _with_idx(label, entry)
    dim = space[label]
    by_index = _from_index(dim, entry["_idx"]) if "_idx" in entry else None
    if "_value" not in entry:
        return by_index
    by_value = dim.canonical(entry["_value"])
    if by_index is not None and not same_value(by_value, by_index):
        raise InvalidArchitectureError(
            f"label {label!r}: _value {entry['_value']!r} and _idx {entry['_idx']!r} disagree "
            f"(_idx {entry['_idx']!r} is {by_index!r})"
        )
    return by_value


def _with_idx(label: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """`entry` with `_idex` read as `_idx`; unknown keys refused, naming the valid ones."""
    unknown = sorted(str(k) for k in entry if k not in _ENTRY_KEYS and k != _INDEX_ALIAS)
    if unknown:
        raise InvalidArchitectureError(
            f"label {label!r}: unknown key(s) {unknown} in {dict(entry)!r}; an entry has "
            f"'_value' and/or '_idx' ('{_INDEX_ALIAS}' is read as '_idx')"
        )
    entry = dict(entry)
    if _INDEX_ALIAS in entry:
        alias = entry.pop(_INDEX_ALIAS)
        if "_idx" in entry and not same_value(entry["_idx"], alias):
            raise InvalidArchitectureError(
                f"label {label!r}: _idx {entry['_idx']!r} and {_INDEX_ALIAS} {alias!r} disagree"
            )
        entry["_idx"] = alias
    return entry


def _from_index(dim: Any, index: Any) -> Any:
    """The canonical value at `index` (a list of indices for an input choice)."""
    if isinstance(dim, ValueChoiceDim):
        values = list(dim.options())
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(values):
            return values[index]
        raise dim.error(index, "_idx out of range", f"an index 0..{len(values) - 1}")
    return dim.canonical(index)  # layer and input choices read indices themselves

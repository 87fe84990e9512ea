"""The options of a choice as the dashboard names them."""

from __future__ import annotations

import json
from typing import Any

from archsearch.space import Dimension, InputChoiceDim, LayerChoiceDim

MAX_LISTED_OPTIONS = 64
"""A choice with more options than this lists only the options that trials picked."""


def option_key(value: Any) -> str:
    """A canonical value as a dictionary key (compact JSON)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def value_key(value: Any) -> Any:
    """A hashable key, equal for values `same_value` calls equal (numbers by value, booleans
    apart from numbers); much cheaper than JSON text for the common scalar values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("list", tuple(value_key(v) for v in value))
    return ("json", option_key(value))


def option_text(dim: Dimension, value: Any) -> str:
    """How a canonical value reads: a candidate name, chosen input names, or a value."""
    if isinstance(dim, InputChoiceDim) and isinstance(value, list):
        names = [
            dim.names[i] if isinstance(i, int) and 0 <= i < len(dim.names) else str(i)
            for i in value
        ]
        return " + ".join(names) if names else "∅"
    if isinstance(dim, LayerChoiceDim) or isinstance(value, str):
        return str(value)
    return option_key(value)


def listed_options(dim: Dimension) -> list[dict[str, Any]] | None:
    """Every option as `{"value": canonical, "text": ...}`, or None when there are too many."""
    if dim.size() > MAX_LISTED_OPTIONS:
        return None
    return [{"value": v, "text": option_text(dim, v)} for v in dim.options()]

"""JSON normalisation of choice values, so architectures survive a round trip through JSON."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def to_json_value(value: Any) -> Any:
    """Return `value` as JSON would give it back: tuples become lists, mapping keys must be strings.

    Raises TypeError for values JSON cannot hold (objects, NaN, non-string keys), because a search
    space is stored and exchanged as JSON.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value!r} is not a finite number and cannot be stored as JSON")
        return value
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{value!r} has non-string keys and cannot be stored as JSON")
        return {k: to_json_value(v) for k, v in value.items()}
    raise TypeError(f"{value!r} of type {type(value).__name__} cannot be stored as JSON")


def same_value(a: Any, b: Any) -> bool:
    """Equality of JSON values that, unlike `==`, tells booleans from numbers (True is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b

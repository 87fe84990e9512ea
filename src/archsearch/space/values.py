"""JSON normalisation of choice values, so architectures survive a round trip through JSON."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 100
"""Deepest nesting of lists and dicts a choice value may have; deeper input is refused, not
recursed into (it could only come from a broken or hostile file)."""


class _Short(reprlib.Repr):
    """reprlib that also shortens integers too long for `repr` (Python's 4,300-digit limit)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxdict, self.maxstring, self.maxother = 4, 8, 6, 80, 80

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:  # about 77 digits: shown by size, never converted in full
            return f"<int of about {int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_short = _Short()


def shorten(value: Any) -> str:
    """A repr of `value` for error messages: a few hundred characters at most, whatever it is."""
    return _short.repr(value)


def to_json_value(value: Any) -> Any:
    """Return `value` as JSON would give it back: tuples become lists, mapping keys must be strings.

    Raises TypeError for values JSON cannot hold (objects, NaN, non-string keys, nesting deeper
    than MAX_DEPTH), because a search space is stored and exchanged as JSON.
    """
    return _to_json(value, 0)


def _to_json(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise TypeError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{shorten(value)} is not a finite number and cannot be stored as JSON")
        return value
    if isinstance(value, (list, tuple)):
        return [_to_json(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{shorten(value)} has non-string keys and cannot be stored as JSON")
        return {k: _to_json(v, depth + 1) for k, v in value.items()}
    raise TypeError(f"{shorten(value)} of type {type(value).__name__} cannot be stored as JSON")


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

"""Values as strict JSON for the browser: non-finite floats become null.

Storage keeps NaN and infinities (a failed trial may report them); `JSON.parse` rejects them,
so everything the API returns goes through `clean` first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any


def clean(value: Any) -> Any:
    """A copy of `value` that strict JSON can hold: non-finite floats → None, tuples → lists,
    enums → their values, mapping keys → strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Enum):
        return clean(value.value)
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return str(value)


def finite(value: Any) -> float | None:
    """`value` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None

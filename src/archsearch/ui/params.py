"""Query-string parsing with errors that say what is wrong and what would be valid."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_ID = 2**63 - 1
"""The largest id SQLite can hold; a larger one names no trial (and cannot be queried)."""


class QueryError(ValueError):
    """A bad query parameter (answered with 400 and this message)."""


def trial_id(text: str, what: str = "a trial id") -> int:
    """A trial id (1 to MAX_ID) from text; QueryError otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{what} is an integer, got {text[:40]!r}") from None
    if not 1 <= value <= MAX_ID:
        raise QueryError(f"{what} is between 1 and {MAX_ID}, got {text[:40]}")
    return value


def int_param(
    params: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int
) -> int:
    """An integer parameter within [minimum, maximum]."""
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise QueryError(f"{name} must be an integer, got {text!r}") from None
    if not minimum <= value <= maximum:
        raise QueryError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def choice_param(params: Mapping[str, str], name: str, default: str, valid: tuple[str, ...]) -> str:
    """A parameter that must be one of `valid`."""
    value = params.get(name) or default
    if value not in valid:
        raise QueryError(f"{name} must be one of {', '.join(valid)}; got {value!r}")
    return value


def json_object_param(params: Mapping[str, str], name: str) -> dict[str, Any] | None:
    """A parameter holding a JSON object (e.g. an architecture filter), or None when absent."""
    text = params.get(name)
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QueryError(f"{name} must be a JSON object ({exc}), got {text!r}") from None
    if not isinstance(value, dict):
        raise QueryError(f'{name} must be a JSON object such as {{"label": "candidate"}}')
    for label, item in value.items():
        if isinstance(item, int) and not -MAX_ID - 1 <= item <= MAX_ID:
            raise QueryError(f"{name} filters {label!r} by an integer beyond 64 bits")
    return value


def id_list_param(params: Mapping[str, str], name: str, *, maximum: int) -> list[int]:
    """A comma-separated list of trial ids, at most `maximum` of them."""
    parts = [part for part in (params.get(name) or "").split(",") if part.strip()]
    if len(parts) > maximum:
        raise QueryError(f"{name} lists {len(parts)} trials; at most {maximum} at a time")
    return [trial_id(part, f"each of {name}") for part in parts]

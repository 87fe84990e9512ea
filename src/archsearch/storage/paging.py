"""What a page of trials means: sort keys, status and architecture filters (pure Python).

`SQLiteStorage.trial_page` answers these in SQL; `page_of` is the plain-Python definition that
the `Storage` defaults use and the SQL is tested against. The order, in both:

- rows whose sort value is missing come last, in either direction (a waiting trial has no
  metric or duration; a non-finite metric counts as missing);
- ties are broken by trial id, ascending;
- "status" sorts by the life order of `TrialStatus` (waiting, running, succeeded, failed,
  timeout, cancelled), `arch.<label>` by the label's value as SQLite orders JSON values: numbers
  (booleans as 0 and 1) before text; lists and objects compare as their compact JSON text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from archsearch.space import Trial, TrialStatus, same_value

SORT_KEYS = ("id", "metric", "status", "duration", "started_at")
"""Plain sort keys; `arch.<label>` sorts by an architecture value."""

ARCH_PREFIX = "arch."
STATUS_ORDER = {s.value: i for i, s in enumerate(TrialStatus)}

StatusFilter = TrialStatus | str | Iterable[TrialStatus | str] | None
"""One status, several (any of them matches), or None for all."""


def check_sort(sort: str) -> str | None:
    """Validate a sort key; return the architecture label of an `arch.<label>` key, else None."""
    if sort in SORT_KEYS:
        return None
    if isinstance(sort, str) and sort.startswith(ARCH_PREFIX) and len(sort) > len(ARCH_PREFIX):
        return sort[len(ARCH_PREFIX) :]
    raise ValueError(f"unknown sort key {sort!r}; valid: {', '.join(SORT_KEYS)} or arch.<label>")


def check_status(status: TrialStatus | str) -> str:
    """A trial status as stored; ValueError listing the valid ones for anything else."""
    value = status.value if isinstance(status, TrialStatus) else status
    if value not in STATUS_ORDER:
        raise ValueError(f"unknown trial status {status!r}; valid: {', '.join(STATUS_ORDER)}")
    return value


def check_final(status: TrialStatus | str) -> TrialStatus:
    """A final trial status; ValueError naming the final ones for anything else."""
    final = TrialStatus(check_status(status))
    if not final.finished:
        raise ValueError(
            f"{final.value!r} is not a final status; a trial finishes as one "
            f"of {', '.join(s.value for s in TrialStatus if s.finished)}"
        )
    return final


def check_statuses(status: StatusFilter) -> tuple[str, ...] | None:
    """The status filter as stored values; ValueError listing the valid ones."""
    if status is None:
        return None
    items = [status] if isinstance(status, (str, TrialStatus)) else status
    return tuple(check_status(item) for item in items)


def check_page(offset: int, limit: int) -> None:
    """Offsets and limits are counts: ValueError for negative ones."""
    if offset < 0 or limit < 0:
        raise ValueError(f"offset and limit must be >= 0 (got offset={offset}, limit={limit})")


def arch_matches(arch: Mapping[str, Any], arch_filter: Mapping[str, Any]) -> bool:
    """Whether `arch` holds every label of the filter with an equal value."""
    return all(label in arch and same_value(arch[label], v) for label, v in arch_filter.items())


def sort_value(trial: Trial, sort: str) -> Any:
    """The value a trial sorts by under `sort` (None when missing), in a comparable form."""
    label = check_sort(sort)
    if label is not None:
        return _json_sort_value(trial.arch.get(label))
    if sort == "id":
        return trial.id
    if sort == "metric":
        metric = trial.metric
        return metric if metric is not None and math.isfinite(metric) else None
    if sort == "status":
        return STATUS_ORDER[trial.status.value]
    if sort == "duration":
        return trial.duration
    return trial.started_at


def _json_sort_value(value: Any) -> tuple[int, Any] | None:
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (1, json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def page_of(
    trials: Sequence[Trial],
    *,
    offset: int = 0,
    limit: int = 50,
    sort: str = "id",
    descending: bool = False,
    status: StatusFilter = None,
    arch_filter: Mapping[str, Any] | None = None,
) -> tuple[list[Trial], int]:
    """One page of `trials` (rows, total matching count) by the rules of this module."""
    check_page(offset, limit)
    statuses = check_statuses(status)
    check_sort(sort)
    rows = [
        t
        for t in sorted(trials, key=lambda t: t.id)
        if (statuses is None or t.status.value in statuses)
        and (not arch_filter or arch_matches(t.arch, arch_filter))
    ]
    keyed = [(sort_value(t, sort), t) for t in rows]
    present = [pair for pair in keyed if pair[0] is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)  # stable: ties keep id order
    ordered = [t for _, t in present] + [t for v, t in keyed if v is None]
    return ordered[offset : offset + limit], len(ordered)

"""SQL for the dashboard's trial pages: the WHERE and ORDER BY of `paging.py`'s rules.

Values always travel as parameters, labels included (as JSON paths), so no user text is ever
spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archsearch.storage.codec import dump_json
from archsearch.storage.paging import STATUS_ORDER, StatusFilter, check_sort, check_statuses

_STATUS_RANK = (
    "CASE status " + " ".join(f"WHEN '{v}' THEN {i}" for v, i in STATUS_ORDER.items()) + " END"
)
_SORT_SQL = {
    "id": "id",
    "metric": "metric",
    "status": _STATUS_RANK,
    "duration": "ended_at - started_at",
    "started_at": "started_at",
}


@dataclass(frozen=True)
class PageQuery:
    """A WHERE clause and an ORDER BY clause with their parameters."""

    where: str
    where_params: tuple[Any, ...]
    order: str
    order_params: tuple[Any, ...]


def page_query(
    experiment_id: str,
    sort: str,
    descending: bool,
    status: StatusFilter,
    arch_filter: Mapping[str, Any] | None,
) -> PageQuery:
    """The clauses selecting and ordering one experiment's trials for `trial_page`."""
    label = check_sort(sort)
    statuses = check_statuses(status)
    where = ["experiment_id = ?"]
    params: list[Any] = [experiment_id]
    if statuses is not None:
        where.append(f"status IN ({', '.join('?' * len(statuses))})" if statuses else "0")
        params.extend(statuses)
    for name, value in (arch_filter or {}).items():
        clause, clause_params = _arch_equals(name, value)
        where.append(clause)
        params.extend(clause_params)
    direction = "DESC" if descending else "ASC"
    order_params: tuple[Any, ...] = ()
    if sort == "id":
        order = f"id {direction}"
    elif label is not None:
        order, order_params = f"json_extract(arch, ?) {direction} NULLS LAST, id", (_path(label),)
    else:
        order = f"{_SORT_SQL[sort]} {direction} NULLS LAST, id"
    return PageQuery(" AND ".join(where), tuple(params), order, order_params)


def _path(label: str) -> str:
    """The JSON path of an architecture label (SQLite paths cannot escape a double quote)."""
    if '"' in label:
        raise ValueError(f"architecture label {label!r} contains '\"' and cannot be queried")
    return f'$."{label}"'


def _arch_equals(label: str, value: Any) -> tuple[str, tuple[Any, ...]]:
    """A condition true when the architecture's `label` equals `value` as `same_value` says:
    booleans only equal booleans, numbers equal numbers (1 == 1.0), lists and objects compare
    as compact JSON text."""
    path = _path(label)
    if value is None:
        return "json_type(arch, ?) = 'null'", (path,)
    if isinstance(value, bool):
        return "json_type(arch, ?) = ?", (path, "true" if value else "false")
    if isinstance(value, (int, float)):
        return (
            "json_type(arch, ?) IN ('integer', 'real') AND json_extract(arch, ?) = ?",
            (path, path, value),
        )
    if isinstance(value, str):
        return "json_type(arch, ?) = 'text' AND json_extract(arch, ?) = ?", (path, path, value)
    return (
        "json_type(arch, ?) IN ('array', 'object') AND json_extract(arch, ?) = ?",
        (path, path, dump_json(value, f"the filter value of {label!r}")),
    )

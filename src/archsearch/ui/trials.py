"""Trials for the dashboard: a page of the table, one trial in detail, curves to overlay."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archsearch.space import Architecture, MetricReport, Trial, TrialStatus
from archsearch.storage import SORT_KEYS, ExperimentRecord, Storage
from archsearch.ui.cells import cell_graphs
from archsearch.ui.experiments import search_space_of
from archsearch.ui.logs import log_size
from archsearch.ui.params import (
    QueryError,
    choice_param,
    id_list_param,
    int_param,
    json_object_param,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_CURVES = 50
STATUSES = tuple(s.value for s in TrialStatus)


@dataclass(frozen=True)
class PageQuery:
    """What the trials table asks for: a window, an order and filters."""

    offset: int = 0
    limit: int = PAGE_SIZE
    sort: str = "id"
    descending: bool = False
    status: tuple[str, ...] | None = None
    arch_filter: Mapping[str, Any] | None = None


def parse_page_query(params: Mapping[str, str], labels: list[str]) -> PageQuery:
    """Read `offset`, `limit`, `sort` (id, metric, status, duration, started_at or
    arch.<label>), `order` (asc/desc), `status` (comma-separated) and `arch` (a JSON object
    label → value) from a query string."""
    sort = params.get("sort") or "id"
    if sort not in SORT_KEYS and not (sort.startswith("arch.") and sort[5:] in labels):
        raise QueryError(
            f"sort must be one of {', '.join(SORT_KEYS)} or arch.<label> for a label of the "
            f"space; got {sort!r}"
        )
    status = None
    if params.get("status"):
        status = tuple(s for s in params["status"].split(",") if s)
        unknown = [s for s in status if s not in STATUSES]
        if unknown:
            raise QueryError(f"unknown status {unknown[0]!r}; valid: {', '.join(STATUSES)}")
    arch_filter = json_object_param(params, "arch")
    if arch_filter:
        unknown = [label for label in arch_filter if label not in labels]
        if unknown:
            raise QueryError(f"arch filters an unknown label {unknown[0]!r}; labels: {labels}")
    return PageQuery(
        offset=int_param(params, "offset", 0, maximum=10**9),
        limit=int_param(params, "limit", PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE),
        sort=sort,
        descending=choice_param(params, "order", "asc", ("asc", "desc")) == "desc",
        status=status,
        arch_filter=arch_filter,
    )


def row(trial: Trial, arch: Architecture | None = None) -> dict[str, Any]:
    """A trial as a table row."""
    return {
        "id": trial.id,
        "status": trial.status.value,
        "metric": trial.metric,
        "duration": trial.duration,
        "started_at": trial.started_at,
        "ended_at": trial.ended_at,
        "node": trial.node,
        "arch": dict(arch if arch is not None else trial.arch),
        "error": trial.error,
    }


def trials_page(storage: Storage, record: ExperimentRecord, query: PageQuery) -> dict[str, Any]:
    """One page of the trials table and the number of trials that match its filters."""
    # The query's fields are `trial_page`'s keywords.
    rows, total = storage.trial_page(record.id, **vars(query))
    return {
        "total": total,
        "offset": query.offset,
        "limit": query.limit,
        "sort": query.sort,
        "order": "desc" if query.descending else "asc",
        "trials": [row(t, architecture_of(record, t)) for t in rows],
    }


def architecture_of(record: ExperimentRecord, trial: Trial) -> Architecture:
    """The architecture a trial stands for: for a one-shot run, the exported one once known."""
    if record.kind == "oneshot":
        exported = trial.metrics.get("architecture")
        if isinstance(exported, Mapping):
            return dict(exported)
    return dict(trial.arch)


def trial_detail(storage: Storage, record: ExperimentRecord, trial_id: int) -> dict[str, Any]:
    """Everything the trial page shows (KeyError for an unknown trial)."""
    trial = storage.trial(record.id, trial_id)
    arch = architecture_of(record, trial)
    space = search_space_of(record)
    points = storage.metrics(record.id, trial_id)
    return {
        **row(trial, arch),
        "experiment_id": record.id,
        "metrics": _scalars(trial.metrics),
        "created_at": trial.created_at,
        "traceback": trial.traceback,
        "log": {"size": log_size(trial.log_path)},
        "cells": [c.to_json() for c in cell_graphs(space, arch)] if space is not None else [],
        "intermediate": [_point(p) for p in points],
    }


def curves(storage: Storage, record: ExperimentRecord, params: Mapping[str, str]) -> dict[str, Any]:
    """Intermediate metrics of the trials listed in `trials=1,2,3`, to overlay."""
    ids = id_list_param(params, "trials", maximum=MAX_CURVES)
    found = storage.metrics_for(record.id, ids)
    return {"curves": {str(i): [_point(p) for p in found.get(i, [])] for i in ids}}


def architecture_file(record: ExperimentRecord, trial: Trial) -> bytes:
    """The architecture JSON that the download button saves."""
    text = json.dumps(architecture_of(record, trial), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _point(point: MetricReport) -> dict[str, Any]:
    return {"step": point.step, "time": point.time, "metrics": _scalars(point.metrics)}


def _scalars(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Numeric metrics only (a one-shot run also stores probabilities and architectures)."""
    return {
        k: v
        for k, v in metrics.items()
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
    }

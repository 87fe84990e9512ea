"""What the dashboard shows about an experiment: its summary row and its overview page."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from archsearch.space import (
    InputChoiceDim,
    LayerChoiceDim,
    OptimizeMode,
    SearchSpace,
    Trial,
    TrialStatus,
)
from archsearch.storage import ExperimentRecord, Storage, display_status
from archsearch.storage.liveness import run_seconds
from archsearch.ui.jsonable import finite
from archsearch.ui.options import listed_options

FINISHED = tuple(s.value for s in TrialStatus if s.finished)


def search_space_of(record: ExperimentRecord) -> SearchSpace | None:
    """The stored search space, or None when the record holds none that can be read."""
    try:
        return SearchSpace.from_json(record.search_space)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def summary(storage: Storage, record: ExperimentRecord, now: float | None = None) -> dict[str, Any]:
    """One experiment as the experiments list shows it: status, progress, best metric, times."""
    counts = storage.status_counts(record.id)
    mode = record.optimize_mode
    best_rows, _ = storage.trial_page(
        record.id,
        limit=1,
        sort="metric",
        descending=mode == "maximize",
        status=TrialStatus.SUCCEEDED,
    )
    best = {"trial": best_rows[0].id, "metric": best_rows[0].metric} if best_rows else None
    status = display_status(record)
    duration = run_seconds(record, status, now)
    return {
        "id": record.id,
        "name": record.name,
        "kind": record.kind,
        "status": status,
        "optimize_mode": mode,
        "created_at": record.created_at,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "duration": duration,
        "error": record.error,
        "counts": counts,
        "progress": _progress(storage, record, counts, duration),
        "best": best,
    }


def _progress(
    storage: Storage, record: ExperimentRecord, counts: Mapping[str, int], duration: float | None
) -> dict[str, Any]:
    """Progress against the budget: trials (or epochs of a one-shot run) and time."""
    if record.kind == "oneshot":
        total = _int_or_none(record.config.get("num_epochs"))
        done = len(storage.metrics(record.id, 1)) if sum(counts.values()) else 0
        unit = "epochs"
    else:
        total = _int_or_none(record.config.get("max_trial_number"))
        done = sum(counts.get(s, 0) for s in FINISHED)
        unit = "trials"
    fractions = [done / total] if total else []
    max_duration = finite(record.config.get("max_duration"))
    if max_duration and duration is not None:
        fractions.append(duration / max_duration)
    if record.status.value == "done":
        fraction: float | None = 1.0
    else:
        fraction = min(1.0, max(fractions)) if fractions else None
    return {
        "done": done,
        "total": total,
        "unit": unit,
        "max_duration": max_duration,
        "fraction": fraction,
    }


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def space_json(space: SearchSpace | None) -> dict[str, Any] | None:
    """Each choice with its kind and candidates, and the size of the space."""
    if space is None:
        return None
    choices = []
    for label, dim in space.items():
        entry: dict[str, Any] = {"label": label, "kind": dim.kind, "size": dim.size()}
        if isinstance(dim, InputChoiceDim):
            entry["candidates"] = list(dim.names)
            entry["n_chosen"] = list(dim.chosen_range) if dim.chosen_range else dim.n_chosen
        elif isinstance(dim, LayerChoiceDim):
            entry["candidates"] = list(dim.names)
        else:
            entry["candidates"] = list(dim.options())
        entry["options"] = listed_options(dim)
        choices.append(entry)
    size = space.size()
    return {"choices": choices, "size": size if size < 2**53 else str(size)}


def overview(storage: Storage, record: ExperimentRecord) -> dict[str, Any]:
    """The overview page: summary, config, search space and the metric over the search."""
    trials = storage.trials(record.id)
    mode = record.optimize_mode
    return {
        **summary(storage, record),
        "config": dict(record.config),
        "search_space": space_json(search_space_of(record)),
        "curve": best_so_far(trials, mode, record.started_at),
    }


def best_so_far(trials: list[Trial], mode: OptimizeMode, start: float | None) -> dict[str, Any]:
    """Final metrics of succeeded trials by trial number and by seconds since the first trial
    started (else since `start`), each with the best value so far; `metric` doubles as the
    distribution."""
    done = [
        (t, m)
        for t in trials
        if t.status is TrialStatus.SUCCEEDED and (m := finite(t.metric)) is not None
    ]
    better = max if mode == "maximize" else min
    by_id = sorted(done, key=lambda pair: pair[0].id)
    by_time = sorted(
        (pair for pair in done if pair[0].ended_at is not None),
        key=lambda pair: (pair[0].ended_at, pair[0].id),
    )
    # From the first trial's start: a resumed experiment's record restarts its clock.
    starts = [t.started_at for t in trials if t.started_at is not None]
    origin = min(starts) if starts else (start or 0.0)
    return {
        "trial": [t.id for t, _ in by_id],
        "metric": [m for _, m in by_id],
        "best": list(accumulate([m for _, m in by_id], better)),
        "time": [float(t.ended_at or 0.0) - origin for t, _ in by_time],
        "time_trial": [t.id for t, _ in by_time],
        "time_metric": [m for _, m in by_time],
        "time_best": list(accumulate([m for _, m in by_time], better)),
    }

"""Choice analysis: which candidates go with good results.

For every choice, the final metrics of succeeded trials grouped by the candidate they picked
(count, mean, quartiles, best), and the rows of a parallel-coordinates view (each trial's
candidate per choice, and its metric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from archsearch.space import Dimension, Trial, TrialStatus
from archsearch.storage import ExperimentRecord, Storage
from archsearch.ui.experiments import search_space_of
from archsearch.ui.jsonable import finite
from archsearch.ui.options import MAX_LISTED_OPTIONS, option_key, option_text, value_key


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, linearly interpolated (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(values: list[float], mode: str) -> dict[str, Any]:
    """Count, mean, quartiles, extremes and the best of a candidate's metrics."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    return {
        "count": len(values),
        "mean": math.fsum(values) / len(values),
        "min": ordered[0],
        "q1": quantile(ordered, 0.25),
        "median": quantile(ordered, 0.5),
        "q3": quantile(ordered, 0.75),
        "max": ordered[-1],
        "best": ordered[-1] if mode == "maximize" else ordered[0],
    }


def choice_analysis(storage: Storage, record: ExperimentRecord) -> dict[str, Any]:
    """Per choice and candidate: how many trials picked it and how their metrics fell."""
    space = search_space_of(record)
    mode = record.optimize_mode
    trials = storage.trials(record.id)
    if space is None:
        return {"optimize_mode": mode, "choices": [], "parallel": None}
    scored = [finite(t.metric) if t.status is TrialStatus.SUCCEEDED else None for t in trials]
    choices = []
    axes = []
    for label, dim in space.items():
        options = _options(dim, label, trials)
        index = {value_key(value): i for i, value in enumerate(options)}
        metrics: list[list[float]] = [[] for _ in options]
        picked = [0] * len(options)
        column = []
        for trial, metric in zip(trials, scored, strict=True):
            i = index.get(value_key(trial.arch[label]), -1) if label in trial.arch else -1
            if i >= 0:
                picked[i] += 1
            if metric is not None:
                column.append(i)
                if i >= 0:
                    metrics[i].append(metric)
        texts = [option_text(dim, value) for value in options]
        choices.append(
            {
                "label": label,
                "kind": dim.kind,
                "candidates": [
                    {
                        "value": value,
                        "text": texts[i],
                        "trials": picked[i],
                        **stats(metrics[i], mode),
                    }
                    for i, value in enumerate(options)
                ],
            }
        )
        axes.append({"label": label, "ticks": texts, "values": column})
    done = [(t.id, m) for t, m in zip(trials, scored, strict=True) if m is not None]
    parallel = {"trials": [i for i, _ in done], "metric": [m for _, m in done], "axes": axes}
    return {"optimize_mode": mode, "choices": choices, "parallel": parallel}


def _options(dim: Dimension, label: str, trials: list[Trial]) -> list[Any]:
    """The canonical values to list: every option in the space's order, or (for a choice with
    too many) those some trial picked."""
    if dim.size() <= MAX_LISTED_OPTIONS:
        return list(dim.options())
    seen: dict[Any, Any] = {}
    for trial in trials:
        if label in trial.arch:
            seen.setdefault(value_key(trial.arch[label]), trial.arch[label])
    return sorted(seen.values(), key=option_key)

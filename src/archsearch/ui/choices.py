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
from archsearch.ui.experiments import optimize_mode, search_space_of
from archsearch.ui.jsonable import finite
from archsearch.ui.options import MAX_LISTED_OPTIONS, option_key, option_text


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
    mode = optimize_mode(record)
    trials = storage.trials(record.id)
    if space is None:
        return {"optimize_mode": mode, "choices": [], "parallel": None}
    scored = [
        (t, m)
        for t in trials
        if t.status is TrialStatus.SUCCEEDED and (m := finite(t.metric)) is not None
    ]
    choices = []
    axes = []
    for label, dim in space.items():
        options = _options(dim, label, trials)
        index = {key: i for i, (key, _) in enumerate(options)}
        metrics: list[list[float]] = [[] for _ in options]
        picked = [0] * len(options)
        for trial in trials:
            if label in trial.arch and (i := index.get(option_key(trial.arch[label]))) is not None:
                picked[i] += 1
        column = []
        for trial, metric in scored:
            i = index.get(option_key(trial.arch.get(label)), -1)
            column.append(i)
            if i >= 0:
                metrics[i].append(metric)
        choices.append(
            {
                "label": label,
                "kind": dim.kind,
                "candidates": [
                    {
                        "value": value,
                        "text": option_text(dim, value),
                        "trials": picked[i],
                        **stats(metrics[i], mode),
                    }
                    for i, (_, value) in enumerate(options)
                ],
            }
        )
        axes.append(
            {"label": label, "ticks": [option_text(dim, v) for _, v in options], "values": column}
        )
    parallel = {
        "trials": [t.id for t, _ in scored],
        "metric": [m for _, m in scored],
        "axes": axes,
    }
    return {"optimize_mode": mode, "choices": choices, "parallel": parallel}


def _options(dim: Dimension, label: str, trials: list[Trial]) -> list[tuple[str, Any]]:
    """(key, canonical value) of each option to list, in the space's order."""
    if dim.size() <= MAX_LISTED_OPTIONS:
        return [(option_key(v), v) for v in dim.options()]
    seen: dict[str, Any] = {}
    for trial in trials:
        if label in trial.arch:
            seen.setdefault(option_key(trial.arch[label]), trial.arch[label])
    return sorted(seen.items())

"""The one-shot page: a one-shot run as `RecordToStorage` stores it.

A one-shot run is an experiment of kind "oneshot" with a single trial (id 1). Each epoch is one
metric point (step = epoch, 0-based) whose metrics hold `train/<name>` and `valid/<name>`
averages, `prob/<label>` (the candidate probabilities of that choice, in the space's candidate
order), `architecture` (what the search would export then, when cheap to know) and `default`
(the validation score). The finished trial's metrics hold the final `valid/<name>` values,
`default` and the exported `architecture`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archsearch.space import InputChoiceDim, LayerChoiceDim, SearchSpace
from archsearch.storage import ExperimentRecord, Storage
from archsearch.ui.experiments import search_space_of
from archsearch.ui.jsonable import finite
from archsearch.ui.options import option_text

TRIAL_ID = 1
PROB_PREFIX = "prob/"
PHASES = ("train", "valid")


def oneshot_view(storage: Storage, record: ExperimentRecord) -> dict[str, Any]:
    """Epochs, training curves, candidate probabilities per choice and the exported
    architecture of a one-shot run (ValueError for a multi-trial experiment)."""
    if record.kind != "oneshot":
        raise ValueError(
            f"experiment {record.id} is a {record.kind} experiment, not a one-shot run"
        )
    points = storage.metrics(record.id, TRIAL_ID)
    trials, _ = storage.trial_page(record.id, limit=1)
    trial = trials[0] if trials else None
    epochs = [p.step for p in points]
    curves: dict[str, dict[str, list[float | None]]] = {phase: {} for phase in PHASES}
    probabilities: dict[str, list[list[float]]] = {}
    architecture: Any = None
    for n, point in enumerate(points):
        for key, value in point.metrics.items():
            phase, _, name = key.partition("/")
            if phase in curves and name:
                series = curves[phase].setdefault(name, [None] * len(points))
                series[n] = finite(value)
            elif key.startswith(PROB_PREFIX) and isinstance(value, list):
                label = key[len(PROB_PREFIX) :]
                series_p = probabilities.setdefault(label, [[] for _ in points])
                series_p[n] = [p for p in (finite(v) for v in value) if p is not None]
        if isinstance(point.metrics.get("architecture"), Mapping):
            architecture = point.metrics["architecture"]
    exported = trial.metrics.get("architecture") if trial is not None else None
    space = search_space_of(record)
    return {
        "algorithm": record.config.get("algorithm"),
        "epochs": epochs,
        "curves": curves,
        "probabilities": [
            {"label": label, "candidates": _candidates(space, label, values), "values": values}
            for label, values in probabilities.items()
        ],
        "current_architecture": architecture,
        "exported": exported if isinstance(exported, Mapping) else None,
        "final": {k: v for k, v in (trial.metrics.items() if trial else ()) if k != "architecture"},
        "trial_status": trial.status.value if trial is not None else None,
    }


def _candidates(space: SearchSpace | None, label: str, values: list[list[float]]) -> list[str]:
    width = max((len(v) for v in values), default=0)
    dim = space.get(label) if space is not None else None
    if isinstance(dim, (LayerChoiceDim, InputChoiceDim)) and len(dim.names) == width:
        return list(dim.names)
    if dim is not None and dim.size() == width:
        return [option_text(dim, v) for v in dim.options()]
    return [str(i) for i in range(width)]

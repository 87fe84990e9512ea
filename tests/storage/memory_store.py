"""A store in plain Python that implements only the abstract methods of `Storage`.

It runs the storage contract beside SQLite, which shows that the contract does not lean on
SQL, and exercises the defaults the base class gives (`experiment`, `trial`, `metrics`,
`trial_page`, `status_counts`, `log_dir`). Values are kept as copies made through JSON, so what
comes back is always a fresh record and what JSON cannot hold is refused with TypeError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from archsearch.space import Architecture, MetricReport, Trial, TrialStatus
from archsearch.storage import ExperimentNotFoundError, ExperimentRecord, ExperimentStatus, Storage

_JSON_FIELDS = ("config", "search_space", "spec")
_UPDATABLE = {"name", "kind", "status", *_JSON_FIELDS, "started_at", "ended_at", "pid", "error"}


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=True))


class MemoryStorage(Storage):
    """Experiments, trials and metrics in dicts of this process."""

    def __init__(self) -> None:
        self._experiments: dict[str, ExperimentRecord] = {}
        self._trials: dict[str, list[Trial]] = {}
        self._metrics: dict[str, list[MetricReport]] = {}
        self._stop: set[str] = set()

    def _fresh(self, record: ExperimentRecord) -> ExperimentRecord:
        return replace(record, **{f: _copy(getattr(record, f)) for f in _JSON_FIELDS})

    def _known(self, experiment_id: str) -> None:
        if experiment_id not in self._experiments:
            raise ExperimentNotFoundError(f"no experiment {experiment_id!r} in memory")

    def create_experiment(self, record: ExperimentRecord) -> None:
        if record.id in self._experiments:
            raise ValueError(f"an experiment with id {record.id!r} exists")
        created = time.time() if record.created_at is None else record.created_at
        stored = replace(record, status=ExperimentStatus(record.status), created_at=created)
        self._experiments[record.id] = self._fresh(stored)
        self._trials[record.id], self._metrics[record.id] = [], []

    def update_experiment(self, experiment_id: str, **changes: Any) -> ExperimentRecord:
        if set(changes) - _UPDATABLE:
            raise ValueError(f"cannot update {sorted(set(changes) - _UPDATABLE)}")
        self._known(experiment_id)
        old = self._experiments[experiment_id]
        if "status" in changes:
            changes["status"] = ExperimentStatus(changes["status"])
            if (
                changes["status"] is ExperimentStatus.RUNNING
                and old.status is not changes["status"]
            ):
                self._stop.discard(experiment_id)
        self._experiments[experiment_id] = self._fresh(replace(old, **changes))
        return self._fresh(self._experiments[experiment_id])

    def experiments(self) -> list[ExperimentRecord]:
        order = sorted(
            enumerate(self._experiments.values()),
            key=lambda pair: (pair[1].created_at or 0.0, pair[0]),
            reverse=True,
        )
        return [self._fresh(record) for _, record in order]

    def request_stop(self, experiment_id: str) -> None:
        self._known(experiment_id)
        self._stop.add(experiment_id)

    def stop_requested(self, experiment_id: str) -> bool:
        self._known(experiment_id)
        return experiment_id in self._stop

    def add_trial(self, experiment_id: str, arch: Architecture) -> Trial:
        if not isinstance(arch, Mapping):
            raise TypeError(f"an architecture is a mapping, got {type(arch).__name__}")
        self._known(experiment_id)
        trials = self._trials[experiment_id]
        trials.append(Trial(experiment_id, len(trials) + 1, _copy(arch), created_at=time.time()))
        return self.trial(experiment_id, len(trials))

    def _change(
        self, experiment_id: str, trial_id: int, allowed: set[TrialStatus], **changes: Any
    ) -> Trial:
        trial = self.trial(experiment_id, trial_id)
        if trial.status not in allowed:
            raise ValueError(f"trial {trial_id} is {trial.status.value}")
        self._trials[experiment_id][trial_id - 1] = replace(trial, **changes)
        return self.trial(experiment_id, trial_id)

    def start_trial(
        self,
        experiment_id: str,
        trial_id: int,
        log_path: str | None = None,
        node: str | None = None,
    ) -> Trial:
        return self._change(
            experiment_id,
            trial_id,
            {TrialStatus.WAITING},
            status=TrialStatus.RUNNING,
            started_at=time.time(),
            log_path=log_path,
            node=node,
        )

    def place_trial(self, experiment_id: str, trial_id: int, node: str) -> Trial:
        return self._change(experiment_id, trial_id, {TrialStatus.RUNNING}, node=node)

    def finish_trial(
        self,
        experiment_id: str,
        trial_id: int,
        status: TrialStatus,
        metric: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        error: str | None = None,
        traceback: str | None = None,
        ended_at: float | None = None,
        started_at: float | None = None,
    ) -> Trial:
        if not TrialStatus(status).finished:
            raise ValueError(f"{status} is not a final status")
        start = {} if started_at is None else {"started_at": started_at}
        return self._change(
            experiment_id,
            trial_id,
            {TrialStatus.WAITING, TrialStatus.RUNNING},
            status=TrialStatus(status),
            metric=metric,
            metrics=_copy(dict(metrics or {})),
            error=error,
            traceback=traceback,
            ended_at=time.time() if ended_at is None else ended_at,
            **start,
        )

    def requeue_trial(self, experiment_id: str, trial_id: int) -> Trial:
        unfinished = {TrialStatus.WAITING, TrialStatus.RUNNING, TrialStatus.CANCELLED}
        trial = self._change(
            experiment_id,
            trial_id,
            unfinished,
            status=TrialStatus.WAITING,
            **dict.fromkeys(("started_at", "ended_at", "log_path", "node", "error", "traceback")),
        )
        kept = [p for p in self._metrics[experiment_id] if p.trial_id != trial_id]
        self._metrics[experiment_id] = kept
        return trial

    def trials(self, experiment_id: str) -> list[Trial]:
        self._known(experiment_id)
        return [
            replace(t, arch=_copy(t.arch), metrics=_copy(t.metrics))
            for t in self._trials[experiment_id]
        ]

    def report_metrics(self, experiment_id: str, points: Sequence[MetricReport]) -> None:
        self._known(experiment_id)
        copies = [replace(p, metrics=_copy(dict(p.metrics))) for p in points]
        for point in copies:  # all checked before any is kept
            if not 1 <= point.trial_id <= len(self._trials[experiment_id]):
                raise KeyError(f"no trial {point.trial_id} in experiment {experiment_id!r}")
        self._metrics[experiment_id].extend(copies)

    def metrics_for(
        self, experiment_id: str, trial_ids: Sequence[int]
    ) -> dict[int, list[MetricReport]]:
        self._known(experiment_id)
        points = sorted(self._metrics[experiment_id], key=lambda p: p.step)
        return {
            i: [replace(p, metrics=_copy(p.metrics)) for p in points if p.trial_id == i]
            for i in trial_ids
        }

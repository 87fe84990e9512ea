"""Record a one-shot search in experiment storage, so the dashboard lists it beside multi-trial
experiments and shows its candidate probabilities, curves and exported architecture.

Format (read by `archsearch.ui.oneshot`): an experiment of kind "oneshot" whose `config` holds
the algorithm and training settings and whose `search_space` is the supernet's space; one trial
(id 1) stands for the supernet. Each epoch adds one metric point (step = epoch, 0-based) with

- `train/<name>`, `valid/<name>`: the epoch's averaged training and validation metrics;
- `prob/<label>`: that choice's candidate probabilities, in the space's candidate order;
- `architecture`: what the search would export at that point, when the algorithm knows it
  cheaply (DARTS, GDAS, ENAS, Proxyless; not SPOS or random, whose export is a search);
- `default`: the validation score (the first metric that is not the loss, else minus the loss).

After the last epoch the trainer's `export()` runs once (for SPOS the evolution search, whose
result a later `export()` reuses) and trial 1 succeeds with final metrics `default`,
`valid/<name>` and the exported `architecture`; the experiment is then "done".
"""

from __future__ import annotations

import os
import secrets
import socket
import time
import traceback
from collections.abc import Mapping, Sized
from typing import TYPE_CHECKING, Any

from archsearch.execution import describe
from archsearch.oneshot.base import score
from archsearch.oneshot.callbacks import Callback
from archsearch.space import Architecture, TrialStatus
from archsearch.storage import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    MetricPoint,
    Storage,
    open_storage,
)

if TYPE_CHECKING:
    from archsearch.oneshot.base import BaseOneShotTrainer

TRIAL_ID = 1


class RecordToStorage(Callback):
    """A one-shot trainer callback that writes the run into experiment storage (`storage`: a
    Storage, a path, `sqlite:///path`, or None for the default store). `name` labels the run in
    the dashboard (default: "<algorithm>-<id>"). The experiment id is in `experiment_id` once
    training starts, and travels in trainer checkpoints so a resumed run keeps recording into
    the same experiment."""

    def __init__(
        self, storage: Storage | str | os.PathLike[str] | None = None, name: str | None = None
    ) -> None:
        self._spec = storage
        self._storage: Storage | None = storage if isinstance(storage, Storage) else None
        self.name = name
        self.experiment_id: str | None = None

    @property
    def storage(self) -> Storage:
        """The store written to (opened on first use)."""
        if self._storage is None:
            self._storage = open_storage(self._spec)
        return self._storage

    def build(self, trainer: BaseOneShotTrainer[Any]) -> None:
        super().build(trainer)
        if not trainer.ranks.is_main:  # on several ranks rank 0 records; all know the id
            self.experiment_id = trainer.ranks.broadcast_object(self.experiment_id)
        elif self.experiment_id is not None and self._exists(self.experiment_id):
            self._restart()
            trainer.ranks.broadcast_object(self.experiment_id)
        else:
            self.experiment_id = trainer.ranks.broadcast_object(self._create())

    def on_epoch_end(self, epoch: int) -> None:
        assert self.experiment_id is not None, "build() runs before the first epoch"
        entry = self.trainer.history[-1]
        last = epoch + 1 >= self.trainer.num_epochs
        exported = self.trainer.export() if last else None  # on every rank: it may search
        if not self.trainer.ranks.is_main:
            return
        self.storage.report_metrics(self.experiment_id, [_point(epoch, entry)])
        if exported is not None:
            self._finish(entry, exported)

    def on_train_end(self, error: BaseException | None) -> None:
        if error is None or self.experiment_id is None or not self.trainer.ranks.is_main:
            return
        interrupted = isinstance(error, KeyboardInterrupt)
        self._end(
            TrialStatus.CANCELLED if interrupted else TrialStatus.FAILED,
            ExperimentStatus.STOPPED if interrupted else ExperimentStatus.FAILED,
            error=describe(error),
            traceback="".join(traceback.format_exception(error)),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"experiment_id": self.experiment_id}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.experiment_id = state.get("experiment_id")

    # -- internals ------------------------------------------------------------------------
    def _create(self) -> str:
        trainer = self.trainer
        space = trainer.mutator.search_space
        experiment_id = secrets.token_hex(4)
        now = time.time()
        self.storage.create_experiment(
            ExperimentRecord(
                id=experiment_id,
                name=self.name or f"{trainer.algorithm}-{experiment_id}",
                kind="oneshot",
                status=ExperimentStatus.RUNNING,
                config=trainer_config(trainer),
                search_space=space.to_json(),
                created_at=now,
                started_at=now,
                pid=os.getpid(),
            )
        )
        start = trainer.current_architecture() or space.default()
        self.storage.add_trial(experiment_id, start)
        self.storage.start_trial(experiment_id, TRIAL_ID, node=socket.gethostname())
        return experiment_id

    def _exists(self, experiment_id: str) -> bool:
        try:
            self.storage.experiment(experiment_id)
        except ExperimentNotFoundError:
            return False
        return True

    def _restart(self) -> None:
        assert self.experiment_id is not None
        if self.trainer.epoch >= self.trainer.num_epochs:
            return  # nothing left to train: the record stays as it ended
        self.storage.update_experiment(
            self.experiment_id,
            status=ExperimentStatus.RUNNING,
            ended_at=None,
            pid=os.getpid(),
            error=None,
        )
        if self.storage.trial(self.experiment_id, TRIAL_ID).status is TrialStatus.CANCELLED:
            # Interrupted (Ctrl-C) before: the run goes on, and so does its trial. Its epochs
            # so far are re-recorded from the checkpoint's history.
            self.storage.requeue_trial(self.experiment_id, TRIAL_ID)
            self.storage.start_trial(self.experiment_id, TRIAL_ID, node=socket.gethostname())
            points = [_point(epoch, entry) for epoch, entry in enumerate(self.trainer.history)]
            self.storage.report_metrics(self.experiment_id, points)

    def _finish(self, entry: Mapping[str, Any], exported: Architecture) -> None:
        assert self.experiment_id is not None
        valid = entry.get("valid") or {}
        final: dict[str, Any] = {f"valid/{k}": v for k, v in valid.items()}
        metric = _score(valid) if valid else _score(entry.get("train") or {})
        if metric is not None:
            final["default"] = metric
        final["architecture"] = dict(exported)
        self._end(TrialStatus.SUCCEEDED, ExperimentStatus.DONE, metric=metric, metrics=final)

    def _end(
        self, trial: TrialStatus, status: ExperimentStatus, error: str | None = None, **result: Any
    ) -> None:
        """End trial 1 with `trial` (unless it has ended) and the experiment with `status`."""
        assert self.experiment_id is not None
        if not self.storage.trial(self.experiment_id, TRIAL_ID).status.finished:
            self.storage.finish_trial(self.experiment_id, TRIAL_ID, trial, error=error, **result)
        self.storage.update_experiment(
            self.experiment_id, status=status, ended_at=time.time(), pid=None, error=error
        )


def epoch_metrics(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One history entry of a trainer (`BaseOneShotTrainer.history`) as stored metrics."""
    metrics: dict[str, Any] = {}
    for phase in ("train", "valid"):
        for key, value in (entry.get(phase) or {}).items():
            metrics[f"{phase}/{key}"] = float(value)
    for label, probabilities in (entry.get("probabilities") or {}).items():
        metrics[f"prob/{label}"] = [float(p) for p in probabilities]
    if entry.get("architecture") is not None:
        metrics["architecture"] = dict(entry["architecture"])
    default = _score(entry.get("valid") or {}) if entry.get("valid") else None
    if default is not None:
        metrics["default"] = default
    return metrics


def _point(epoch: int, entry: Mapping[str, Any]) -> MetricPoint:
    return MetricPoint(TRIAL_ID, epoch, epoch_metrics(entry), float(entry["time"]))


def _score(values: Mapping[str, float]) -> float | None:
    try:
        return float(score(values))
    except KeyError:  # neither a metric nor a loss
        return None


def _number(value: Any) -> float | None:
    try:
        return float(value)  # a tensor learning rate too
    except (TypeError, ValueError):
        return None


def trainer_config(trainer: BaseOneShotTrainer[Any]) -> dict[str, Any]:
    """The settings of a one-shot run worth showing: algorithm, epochs, batches, optimizer."""
    optimizer = trainer.optimizer
    groups = getattr(optimizer, "param_groups", None) or [{}]
    config: dict[str, Any] = {
        "algorithm": trainer.algorithm,
        "trainer": type(trainer).__name__,
        "num_epochs": trainer.num_epochs,
        "batch_size": trainer.batch_size,
        "optimizer": type(optimizer).__name__,
        "learning_rate": _number(groups[0].get("lr")),
        "device": str(trainer.device),
        "log_dir": str(trainer.log_dir),
        "optimize_mode": "maximize",
    }
    for name in ("dataset_train", "dataset_valid"):
        dataset = getattr(trainer, name, None)
        if isinstance(dataset, Sized):  # an iterable dataset may have no length
            config[f"{name}_size"] = len(dataset)
    for name in ("unrolled", "arc_learning_rate", "grad_clip"):
        value = getattr(trainer, name, None)
        if isinstance(value, (bool, int, float)):
            config[name] = value
    return config

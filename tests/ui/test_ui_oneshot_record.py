"""RecordToStorage: a one-shot run written into experiment storage, epoch by epoch, checked
against the trainer's own history; resumed runs keep their experiment; SPOS exports by search."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import torch
from builders import ONESHOT_EPOCHS, DigitsCellNet, Store
from torch.nn import functional as F
from torch.utils.data import Subset

from archsearch.evaluator import load_digits
from archsearch.experiment.oneshot_record import RecordToStorage, epoch_metrics
from archsearch.oneshot import Callback, DartsTrainer, ModelCheckpoint, SposTrainer, accuracy
from archsearch.space import SearchSpace, TrialStatus
from archsearch.storage import ExperimentStatus, SQLiteStorage


def test_darts_run_is_recorded_epoch_by_epoch(store: Store) -> None:
    run = store.oneshot
    record = store.storage.experiment(run.experiment_id)
    assert record.kind == "oneshot" and record.status is ExperimentStatus.DONE
    assert record.name == "darts digits cell" and record.ended_at is not None
    assert record.config["algorithm"] == "darts" and record.config["num_epochs"] == ONESHOT_EPOCHS
    assert record.config["optimizer"] == "SGD" and record.config["learning_rate"] == 0.05
    space = SearchSpace.from_json(record.search_space)
    assert sorted(space) == ["cell/input_0_0", "cell/input_1_0", "cell/op_0_0", "cell/op_1_0"]
    points = store.storage.metrics(run.experiment_id, 1)
    assert [p.step for p in points] == list(range(ONESHOT_EPOCHS))
    for point, entry in zip(points, run.history, strict=True):
        assert dict(point.metrics) == epoch_metrics(entry)
        assert point.time == entry["time"]
        for label, probabilities in entry["probabilities"].items():
            assert point.metrics[f"prob/{label}"] == pytest.approx(probabilities)
        assert point.metrics["architecture"] == entry["architecture"]
        assert point.metrics["valid/acc"] == pytest.approx(entry["valid"]["acc"])
    trial = store.storage.trial(run.experiment_id, 1)
    assert trial.status is TrialStatus.SUCCEEDED and trial.node == socket.gethostname()
    assert trial.metrics["architecture"] == run.exported
    assert trial.metric == pytest.approx(run.history[-1]["valid"]["acc"])
    assert trial.metrics["valid/loss"] == pytest.approx(run.history[-1]["valid"]["loss"])


def small_data() -> tuple[Any, Any]:
    split = load_digits()
    return Subset(split.train, range(64)), Subset(split.test, range(32))


class Interrupt(Callback):
    def on_epoch_end(self, epoch: int) -> None:
        if epoch == 0:
            raise KeyboardInterrupt


def darts(
    model: torch.nn.Module, epochs: int, callbacks: list[Callback], log_dir: Path
) -> DartsTrainer:
    train, valid = small_data()
    return DartsTrainer(
        model,
        F.cross_entropy,
        accuracy,
        torch.optim.SGD(model.parameters(), lr=0.05),
        epochs,
        train,
        valid,
        batch_size=32,
        device="cpu",
        callbacks=callbacks,
        log_dir=log_dir,
    )


def test_resumed_run_keeps_recording_into_its_experiment(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "runs.db")
    torch.manual_seed(0)
    first = RecordToStorage(str(tmp_path / "runs.db"))
    model = DigitsCellNet(4)
    trainer = darts(model, 2, [first, ModelCheckpoint(tmp_path / "ckpt"), Interrupt()], tmp_path)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert first.experiment_id is not None
    assert storage.experiment(first.experiment_id).status is ExperimentStatus.STOPPED
    assert storage.trial(first.experiment_id, 1).status is TrialStatus.CANCELLED
    assert len(storage.metrics(first.experiment_id, 1)) == 1

    second = RecordToStorage(str(tmp_path / "runs.db"))
    resumed = darts(DigitsCellNet(4), 2, [second, ModelCheckpoint(tmp_path / "ckpt")], tmp_path)
    resumed.load_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    resumed.train()
    assert second.experiment_id == first.experiment_id
    assert [e.id for e in storage.experiments()] == [first.experiment_id]
    record = storage.experiment(first.experiment_id)
    assert record.status is ExperimentStatus.DONE and record.pid is None
    assert [p.step for p in storage.metrics(first.experiment_id, 1)] == [0, 1]
    assert storage.trial(first.experiment_id, 1).metrics["architecture"] == resumed.export()


class Explode(Callback):
    def on_epoch_end(self, epoch: int) -> None:
        raise RuntimeError("diverged on purpose")


def test_a_crashed_run_is_recorded_as_failed(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "runs.db")
    recorder = RecordToStorage(storage)
    trainer = darts(DigitsCellNet(4), 2, [recorder, Explode()], tmp_path)
    with pytest.raises(RuntimeError, match="diverged"):
        trainer.train()
    assert recorder.experiment_id is not None
    record = storage.experiment(recorder.experiment_id)
    assert record.status is ExperimentStatus.FAILED and record.pid is None
    assert "diverged on purpose" in (record.error or "")
    trial = storage.trial(recorder.experiment_id, 1)
    assert trial.status is TrialStatus.FAILED and "RuntimeError" in (trial.traceback or "")


def test_spos_export_is_its_evolution_search_run_once(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "runs.db")
    torch.manual_seed(0)
    recorder = RecordToStorage(storage, name="spos")
    train, valid = small_data()
    model = DigitsCellNet(4)
    trainer = SposTrainer(
        model,
        F.cross_entropy,
        accuracy,
        torch.optim.SGD(model.parameters(), lr=0.05),
        1,
        train,
        valid,
        batch_size=32,
        device="cpu",
        callbacks=[recorder],
        seed=0,
        population_size=4,
        num_parents=2,
        num_generations=1,
        log_dir=tmp_path,
    )
    trainer.train()
    assert recorder.experiment_id is not None
    trial = storage.trial(recorder.experiment_id, 1)
    space = trainer.mutator.search_space
    assert trial.arch == space.default()  # SPOS knows no architecture before its search
    (point,) = storage.metrics(recorder.experiment_id, 1)
    assert "architecture" not in point.metrics
    assert trial.metrics["architecture"] == trainer.current_architecture()
    assert trainer.export() == trial.metrics["architecture"]  # reused, not searched again
    assert storage.experiment(recorder.experiment_id).config["algorithm"] == "spos"

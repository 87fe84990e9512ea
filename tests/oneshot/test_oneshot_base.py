"""The shared one-shot loop, through RandomTrainer: run, history, callbacks, checkpoint/resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsNet

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import (
    ArchitectureCheckpoint,
    LRSchedulerCallback,
    RandomTrainer,
    accuracy,
)
from archsearch.oneshot.base import score


def make_trainer(
    digits: Split, log_dir: Path, epochs: int = 2, callbacks: list[Any] | None = None
) -> RandomTrainer:
    torch.manual_seed(0)
    model = DigitsNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return RandomTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        optimizer,
        epochs,
        digits.train,
        digits.test,
        batch_size=64,
        callbacks=callbacks,
        log_dir=log_dir,
        num_samples=4,
        seed=0,
    )


def test_train_records_history_and_exports_a_fixable_architecture(
    digits: Split, tmp_path: Path
) -> None:
    trainer = make_trainer(digits, tmp_path)
    trainer.train()
    assert trainer.epoch == 2
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["algorithm"] == "random"
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    assert {"loss", "acc"} <= set(history["epochs"][-1]["valid"])
    arch = trainer.export(tmp_path / "arch.json")
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    assert archsearch.search_space(trainer.model).validate(arch) == arch
    fixed = trainer.fixed_model()
    assert fixed(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    # The supernet learned something.
    assert history["epochs"][-1]["train"]["loss"] < history["epochs"][0]["train"]["loss"]


def test_tensorboard_events_are_written(digits: Split, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    make_trainer(digits, tmp_path, epochs=1).train()
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_evaluate_architecture_keeps_the_search_mutator_bound(
    digits: Split, tmp_path: Path
) -> None:
    trainer = make_trainer(digits, tmp_path, epochs=1)
    arch = archsearch.search_space(trainer.model).default()
    metrics = trainer.evaluate_architecture(arch)
    assert 0.0 <= metrics["acc"] <= 1.0
    assert trainer.model.op1.mutator is trainer.mutator


def test_callbacks_schedule_and_checkpoint_architectures(digits: Split, tmp_path: Path) -> None:
    model = DigitsNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    trainer = RandomTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        optimizer,
        2,
        digits.train,
        digits.test,
        callbacks=[LRSchedulerCallback(scheduler), ArchitectureCheckpoint(tmp_path / "arch")],
        log_dir=tmp_path,
        num_samples=2,
    )
    trainer.train()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    # Random one-shot has no cheap current architecture before export: nothing is written.
    assert not list((tmp_path / "arch").glob("*.json"))
    trainer.export()
    callback = ArchitectureCheckpoint(tmp_path / "arch2")
    callback.build(trainer)
    callback.on_epoch_end(5)
    saved = json.loads((tmp_path / "arch2" / "epoch_5.json").read_text())
    assert saved == trainer.current_architecture()


def test_checkpoint_of_another_algorithm_is_refused(digits: Split, tmp_path: Path) -> None:
    trainer = make_trainer(digits, tmp_path, epochs=1)
    state = trainer.state_dict()
    state["algorithm"] = "darts"
    with pytest.raises(ValueError, match="'darts' checkpoint cannot resume a 'random' search"):
        trainer.load_state_dict(state)


def test_unsupported_value_choice_and_bad_epochs_fail_at_construction(digits: Split) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, nn.ValueChoice([8, 16], label="hidden"))

    class NoValues(RandomTrainer):
        value_choices = None

    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy
    with pytest.raises(TypeError, match="NoValues cannot search ValueChoice layer arguments"):
        NoValues(model, loss, accuracy, optimizer, 1, digits.train, digits.test)
    with pytest.raises(ValueError, match="num_epochs"):
        RandomTrainer(DigitsNet(), loss, accuracy, optimizer, 0, digits.train, digits.test)


def test_score_prefers_the_first_metric_and_falls_back_to_negative_loss() -> None:
    assert score({"loss": 0.3, "acc": 0.9}) == 0.9
    assert score({"loss": 0.3}) == -0.3

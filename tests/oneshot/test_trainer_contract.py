"""The contract every one-shot trainer keeps, run over all of them (DARTS first-order and unrolled
count as two): it constructs with NNI's arguments and builds its declared mutator, trains an
epoch, exports an architecture that validates against the search space and fixes into a model
that runs, resumes from a checkpoint to exactly (bitwise) where an uninterrupted run ends, and
searches value choices as layer arguments or refuses them at construction, as documented.

A new algorithm opts in by adding a `Config` to CONFIGS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from oneshot_models import DigitsLayerNet, DigitsNet, DigitsValueNet
from torch.nn import functional as F
from torch.utils.data import Subset

import archsearch
from archsearch.evaluator import Split
from archsearch.mutator import Mutator, RandomMutator
from archsearch.oneshot import (
    BaseOneShotTrainer,
    Callback,
    DartsMutator,
    DartsTrainer,
    EnasMutator,
    EnasTrainer,
    GdasMutator,
    GdasTrainer,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProxylessMutator,
    ProxylessTrainer,
    RandomTrainer,
    SposTrainer,
    accuracy,
)


def reward(output: torch.Tensor, target: torch.Tensor) -> float:
    return float((output.argmax(1) == target).float().mean())


@dataclass(frozen=True)
class Config:
    """One trainer under the contract, with small settings so each epoch takes a moment."""

    trainer: type[BaseOneShotTrainer[Any]]
    mutator: type[Mutator]
    """The type of `trainer.mutator` (the trainer's type argument)."""
    value_choices: str | None
    """What docs/oneshot.md says: "slice", "mix", or None (refused)."""
    model: Callable[[], torch.nn.Module] = DigitsNet
    settings: Mapping[str, Any] = field(default_factory=dict)


CONFIGS = {
    "darts": Config(DartsTrainer, DartsMutator, "mix"),
    "darts-unrolled": Config(DartsTrainer, DartsMutator, "mix", settings={"unrolled": True}),
    "enas": Config(
        EnasTrainer,
        EnasMutator,
        "slice",
        settings={
            "reward_function": reward,
            "child_steps": 3,
            "mutator_steps": 1,
            "mutator_steps_aggregate": 2,
        },
    ),
    "spos": Config(
        SposTrainer,
        RandomMutator,
        "slice",
        settings={
            "seed": 0,
            "population_size": 4,
            "num_parents": 2,
            "num_generations": 2,
            "bn_recalibration_batches": 1,
        },
    ),
    "proxyless": Config(ProxylessTrainer, ProxylessMutator, None, DigitsLayerNet),
    "gdas": Config(GdasTrainer, GdasMutator, "mix"),
    "random": Config(RandomTrainer, RandomMutator, "slice", settings={"seed": 0, "num_samples": 3}),
}

configs = pytest.mark.parametrize("config", list(CONFIGS.values()), ids=list(CONFIGS))


@pytest.fixture(scope="module")
def data(digits: Split) -> tuple[Subset[Any], Subset[Any]]:
    return Subset(digits.train, range(128)), Subset(digits.test, range(64))


def build(
    config: Config,
    data: tuple[Any, Any],
    log_dir: Path,
    epochs: int = 1,
    model: torch.nn.Module | None = None,
    checkpoints: Path | None = None,
) -> BaseOneShotTrainer[Any]:
    """The trainer of `config` with an LR schedule (callback state is checkpointed too) and, given
    `checkpoints`, a ModelCheckpoint writing there."""
    torch.manual_seed(0)
    model = config.model() if model is None else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    callbacks: list[Callback] = [LRSchedulerCallback(schedule)]
    if checkpoints is not None:
        callbacks.append(ModelCheckpoint(checkpoints))
    return config.trainer(
        model=model,
        loss=F.cross_entropy,
        metrics=accuracy,
        optimizer=optimizer,
        num_epochs=epochs,
        dataset_train=data[0],
        dataset_valid=data[1],
        batch_size=32,
        device="cpu",
        callbacks=callbacks,
        log_dir=log_dir,
        **config.settings,
    )


def assert_identical(a: Any, b: Any, where: str = "state") -> None:
    """`a` and `b` hold the same values bit for bit (history times aside)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping) and a.keys() == b.keys(), where
        for key in a:
            if key != "time":
                assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert a == b, where


@configs
def test_constructs_with_its_declared_mutator_bound_to_the_model(
    config: Config, data: tuple[Any, Any], tmp_path: Path
) -> None:
    trainer = build(config, data, tmp_path)
    assert isinstance(trainer.mutator, config.mutator)
    assert trainer.mutator is trainer.mutator  # built once
    assert trainer.model.op1.mutator is trainer.mutator
    model_parameters = {id(p) for p in trainer.model.parameters()}
    assert not model_parameters & {id(p) for p in trainer.mutator.parameters()}
    assert trainer.value_choices == config.value_choices


@configs
def test_an_epoch_trains_and_the_export_validates_and_fixes(
    config: Config, data: tuple[Any, Any], tmp_path: Path
) -> None:
    trainer = build(config, data, tmp_path)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.train()
    assert trainer.epoch == 1 and len(trainer.history) == 1
    entry = trainer.history[0]
    assert math.isfinite(entry["train"]["loss"]) and 0.0 <= entry["valid"]["acc"] <= 1.0
    after = list(trainer.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))

    arch = trainer.export(tmp_path / "arch.json")
    assert archsearch.search_space(trainer.model).validate(arch) == arch
    x = torch.randn(3, 1, 8, 8)
    assert trainer.fixed_model()(x).shape == (3, 10)
    assert archsearch.fix(config.model(), arch)(x).shape == (3, 10)


@configs
def test_a_resumed_search_ends_bitwise_where_an_uninterrupted_one_does(
    config: Config, data: tuple[Any, Any], tmp_path: Path
) -> None:
    straight = build(config, data, tmp_path / "straight", epochs=2)
    straight.train()

    first = build(config, data, tmp_path / "first", epochs=2, checkpoints=tmp_path / "ckpt")
    first.num_epochs = 1  # stopped after one epoch, as a killed run would be
    first.train()
    resumed = build(config, data, tmp_path / "resumed", epochs=2)
    resumed.load_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    assert resumed.epoch == 1
    resumed.train()

    assert resumed.epoch == 2
    assert_identical(straight.state_dict(), resumed.state_dict())
    assert resumed.export() == straight.export()


@configs
def test_value_choices_are_searched_or_refused_as_documented(
    config: Config, data: tuple[Any, Any], tmp_path: Path
) -> None:
    if config.value_choices is None:
        name = config.trainer.__name__
        with pytest.raises(TypeError, match=f"{name} cannot search ValueChoice layer arguments"):
            build(config, data, tmp_path, model=DigitsValueNet())
        return
    trainer = build(config, data, tmp_path, model=DigitsValueNet())
    trainer.train()
    arch = trainer.export()
    assert {"width", "kernel"} <= set(arch)
    assert archsearch.search_space(trainer.model).validate(arch) == arch
    assert trainer.fixed_model()(torch.randn(3, 1, 8, 8)).shape == (3, 10)

"""One-shot trainers search a model written with NNI v1's mutables: a v1 LayerChoice and an
any-subset InputChoice (v1's default `n_chosen=None`) that returns its mask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import small_digits_trainer

import archsearch
from archsearch.evaluator import Split
from archsearch.nn.v1 import InputChoice, LayerChoice
from archsearch.oneshot import (
    BaseOneShotTrainer,
    DartsTrainer,
    EnasTrainer,
    GdasTrainer,
    RandomTrainer,
    SposTrainer,
)


class V1DigitsNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.op = LayerChoice(
            [torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.MaxPool2d(3, 1, 1)], key="op"
        )
        self.skip = InputChoice(n_candidates=2, return_mask=True, key="skip")
        self.head = torch.nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        out, mask = self.skip([x, self.op(x)])
        assert mask.shape == (2,)
        if out is None:  # v1: nothing chosen gives None
            out = torch.zeros_like(x)
        return self.head(out.mean((2, 3)))


def reward(output: torch.Tensor, target: torch.Tensor) -> float:
    return float((output.argmax(1) == target).float().mean())


TRAINERS: dict[str, tuple[type[BaseOneShotTrainer[Any]], dict[str, Any]]] = {
    "darts": (DartsTrainer, {}),
    "enas": (EnasTrainer, {"reward_function": reward, "child_steps": 2, "mutator_steps": 1}),
    "gdas": (GdasTrainer, {}),
    "spos": (
        SposTrainer,
        {"seed": 0, "population_size": 3, "num_parents": 2, "num_generations": 1},
    ),
    "random": (RandomTrainer, {"seed": 0, "num_samples": 2}),
}


@pytest.mark.parametrize("name", list(TRAINERS))
def test_trainers_search_v1_mutables(name: str, digits: Split, tmp_path: Path) -> None:
    trainer_class, settings = TRAINERS[name]
    torch.manual_seed(0)
    model = V1DigitsNet()
    trainer = small_digits_trainer(trainer_class, model, digits, tmp_path, **settings)
    trainer.train()
    arch = trainer.export(tmp_path / "arch.json")
    space = archsearch.search_space(V1DigitsNet())
    assert space.size() == 2 * 4 and space.validate(arch) == arch
    assert trainer.fixed_model()(torch.zeros(3, 1, 8, 8)).shape == (3, 10)

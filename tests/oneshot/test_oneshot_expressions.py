"""One-shot trainers share weights for layers sized by value-choice expressions (the sliced
layers evaluate each combination of the choices, so any expression of a width works)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import small_digits_trainer

import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import DartsTrainer, SposTrainer


class ExpressionSupernet(nn.Module):
    """Digits with widths and kernels given by expressions of two choices."""

    def __init__(self) -> None:
        super().__init__()
        width = nn.ValueChoice([2, 4], label="width")
        kernel = nn.ValueChoice.condition(width > 2, 3, 5)
        self.conv = nn.Conv2d(1, width * 2, kernel, padding=kernel // 2)
        self.head = nn.Linear(width * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(torch.relu(self.conv(x)).mean((2, 3)))
        return out


@pytest.mark.parametrize("trainer_class", [SposTrainer, DartsTrainer])
def test_one_shot_trainers_share_weights_for_expression_widths(
    trainer_class: Any, digits: Split, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = ExpressionSupernet()
    settings: dict[str, Any] = (
        {"seed": 0, "population_size": 2, "num_parents": 1, "num_generations": 1}
        if trainer_class is SposTrainer
        else {}
    )
    trainer = small_digits_trainer(trainer_class, model, digits, tmp_path, **settings)
    trainer.train()
    arch = trainer.export()
    fixed = trainer.fixed_model()
    assert fixed.conv.out_channels == 2 * arch["width"]
    assert fixed.conv.kernel_size[0] == (3 if arch["width"] > 2 else 5)
    assert fixed(torch.zeros(2, 1, 8, 8)).shape == (2, 10)

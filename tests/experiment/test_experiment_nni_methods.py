"""NNI's Experiment methods beyond run: `local_debug_run()` in the Retiarii document's shape,
`get_status()`, `view(non_blocking=True)`, and `resume` refusing a finished experiment."""

from __future__ import annotations

import pytest
import torch

import archsearch.evaluator as pl
import archsearch.nn as nn
import archsearch.strategy as strategy
from archsearch.experiment import RetiariiExeConfig, RetiariiExperiment


class Net(nn.Module):
    """8×8 digits through a choice of two heads."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.LayerChoice(
            [
                nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),
                nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)),
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(x)
        return out


def test_local_debug_run_in_the_documents_shape_runs_one_trial_and_stores_nothing() -> None:
    pytest.importorskip("pytorch_lightning")
    torch.manual_seed(0)
    split = pl.load_digits()
    trainer = pl.Classification(
        train_dataloader=pl.DataLoader(split.train, batch_size=100),
        val_dataloaders=pl.DataLoader(split.test, batch_size=100),
        max_epochs=1,
        learning_rate=0.01,
    )
    base_model = Net()
    simple_strategy = strategy.Random(dedup=True)
    exp = RetiariiExperiment(base_model, trainer, None, simple_strategy)
    exp_config = RetiariiExeConfig("local")
    exp_config.experiment_name = "mnasnet_search"
    accuracy = exp.local_debug_run()  # instead of exp.run(exp_config, 8081)
    assert isinstance(accuracy, float)
    assert 0.2 < accuracy <= 1.0
    assert exp.status is None  # the experiment itself never ran

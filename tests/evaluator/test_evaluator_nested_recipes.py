"""Recipes nested in lists, tuples and dicts are built first, and NNI's `pl.DataLoader` takes a
serialized dataset (issue 13)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch
from evaluator_helpers import linear_regression_data
from torch.utils.data import TensorDataset

import archsearch.evaluator as pl
from archsearch.evaluator import serialize
from archsearch.evaluator.base import Reporter

pytestmark = pytest.mark.usefixtures("one_thread")


def test_recipes_inside_lists_tuples_and_dicts_are_built() -> None:
    assert serialize(list, [serialize(dict, a=1)]).build() == [{"a": 1}]
    assert serialize(tuple, (serialize(int, "3"), 4)).build() == (3, 4)
    assert serialize(dict, {"k": [serialize(float, "2.5")]}).build() == {"k": [2.5]}


def test_the_documented_compose_pattern_builds_its_transforms() -> None:
    compose = serialize(torch.nn.Sequential, *[serialize(torch.nn.ReLU), serialize(torch.nn.Tanh)])
    listed = serialize(torch.nn.ModuleList, [serialize(torch.nn.ReLU), serialize(torch.nn.Tanh)])
    assert [type(m) for m in compose.build()] == [torch.nn.ReLU, torch.nn.Tanh]
    assert [type(m) for m in listed.build()] == [torch.nn.ReLU, torch.nn.Tanh]


def test_dataloader_takes_a_serialized_dataset() -> None:
    loader = pl.DataLoader(serialize(linear_regression_data, 10, seed=0), batch_size=4)
    assert isinstance(loader, torch.utils.data.DataLoader)
    assert isinstance(loader.dataset, TensorDataset) and len(loader) == 3
    # It travels as its recipe: the pickle holds no tensor data, and rebuilds the same data.
    data = pickle.dumps(loader)
    assert b"torch._utils" not in data and len(data) < 1000
    again = pickle.loads(data)
    assert again.batch_size == 4 and len(again.dataset) == 10
    torch.testing.assert_close(again.dataset.tensors[0], loader.dataset.tensors[0])
    plain = pl.DataLoader(linear_regression_data(4, 0))
    assert len(pickle.loads(pickle.dumps(plain)).dataset) == 4


def tensor_dataset(n: int) -> TensorDataset:
    generator = torch.Generator().manual_seed(n)
    x = torch.randn(n, 6, generator=generator)
    return TensorDataset(x, (x[:, 0] > 0).long())


class Quiet(Reporter):
    def on_report(self, step: int, metrics: Any) -> None:
        pass


def test_classification_trains_on_a_dataloader_of_a_serialized_tensor_dataset() -> None:
    """NNI's `pl.DataLoader(serialize(TensorDataset, ...))`, given to `Classification`."""
    x, y = torch.randn(32, 6), torch.randint(0, 2, (32,))
    train = pl.DataLoader(serialize(TensorDataset, x, y), batch_size=8)
    val = pl.DataLoader(serialize(tensor_dataset, 16), batch_size=8)
    evaluator = pl.Classification(train_dataloader=train, val_dataloaders=val, max_epochs=1)
    evaluator = pickle.loads(pickle.dumps(evaluator))  # as a worker receives it
    metric = evaluator.evaluate(torch.nn.Linear(6, 2), Quiet())
    assert isinstance(metric, dict) and 0.0 <= metric["default"] <= 1.0

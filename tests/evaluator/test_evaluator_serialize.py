"""serialize: recipes that rebuild an object (in this or another process) and refuse bad input."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch
from evaluator_helpers import digits_loader, linear_regression_data
from torch.utils.data import DataLoader, TensorDataset

from archsearch.evaluator.serialize import Serialized, built, import_reference, serialize

HERE = Path(__file__).resolve().parent


def test_build_makes_a_new_object_from_the_arguments_each_time() -> None:
    recipe = serialize(linear_regression_data, 32, seed=3)
    first, second = recipe.build(), recipe.build()
    assert first is not second
    direct = linear_regression_data(32, seed=3)
    for a, b in zip(first.tensors, direct.tensors, strict=True):
        assert torch.equal(a, b)


def test_nested_recipes_are_built_first() -> None:
    recipe = serialize(DataLoader, serialize(linear_regression_data, 10, 0), batch_size=4)
    loader = recipe.build()
    assert isinstance(loader, DataLoader)
    assert isinstance(loader.dataset, TensorDataset)
    assert [len(x) for x, _ in loader] == [4, 4, 2]


def test_a_recipe_is_immutable_picklable_and_readable() -> None:
    recipe = serialize(digits_loader, True, batch_size=32)
    assert recipe.target == "evaluator_helpers:digits_loader"
    assert recipe.args == (True,)
    assert recipe.kwargs == (("batch_size", 32),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.target = "x:y"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(recipe)) == recipe
    assert repr(recipe) == "serialize(evaluator_helpers:digits_loader, True, batch_size=32)"
    assert repr(serialize(torch.nn.ReLU)) == "serialize(torch.nn.modules.activation:ReLU)"


def test_built_passes_plain_values_through() -> None:
    loader = DataLoader(linear_regression_data(4, 0))
    assert built(loader) is loader
    assert isinstance(built(serialize(torch.nn.Identity)), torch.nn.Identity)


def test_a_recipe_is_built_in_another_interpreter() -> None:
    recipe = serialize(DataLoader, serialize(linear_regression_data, 12, seed=1), batch_size=5)
    script = textwrap.dedent(
        f"""
        import json, pickle, sys
        sys.path.insert(0, {str(HERE)!r})
        loader = pickle.loads(sys.stdin.buffer.read()).build()
        sizes = [len(x) for x, _ in loader]
        print(json.dumps([type(loader).__name__, sizes, float(loader.dataset[0][1])]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(recipe), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    name, sizes, first_target = json.loads(done.stdout)
    assert (name, sizes) == ("DataLoader", [5, 5, 2])
    assert first_target == pytest.approx(float(linear_regression_data(12, seed=1)[0][1]))


# --- refused input --------------------------------------------------------------------------------


def test_a_lambda_or_local_class_is_refused() -> None:
    class Local:
        pass

    for obj in (lambda: 1, Local):
        with pytest.raises(TypeError, match="importable class or function"):
            serialize(obj)
    assert import_reference(Local) is None
    assert import_reference(DataLoader) == "torch.utils.data.dataloader:DataLoader"


def test_arguments_that_do_not_fit_the_signature_are_refused() -> None:
    with pytest.raises(TypeError, match=r"serialize\(linear_regression_data, \.\.\.\): missing"):
        serialize(linear_regression_data, 10)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        serialize(DataLoader, [1, 2], batchsize=4)


def test_unpicklable_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="must be picklable"):
        serialize(DataLoader, [1, 2], collate_fn=lambda batch: batch)
    with pytest.raises(TypeError, match="must be picklable"):
        serialize(dict, lock=threading.Lock())


def test_a_recipe_is_a_plain_record() -> None:
    assert Serialized("torch.nn:Identity").build().__class__ is torch.nn.Identity

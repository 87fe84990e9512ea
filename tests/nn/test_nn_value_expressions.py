"""NNI 2.x value-choice expressions: indexing, max/min/condition/to_int/to_float, round and the
other operators, inner_choices/all_options/evaluate, a Repeat depth given as an expression, and
ModelParameterChoice — in layer arguments, the search space, fix and multi-trial (one-shot:
tests/oneshot/test_oneshot_expressions.py)."""

from __future__ import annotations

import copy
import itertools
import math
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.nn import functional as F
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import FunctionalEvaluator
from archsearch.experiment import ExperimentConfig, RetiariiExperiment
from archsearch.mutator import RandomMutator, ReplayMutator
from archsearch.oneshot import RandomTrainer
from archsearch.strategy import GridSearch

A = nn.ValueChoice([1, 2, 3], label="a")
B = nn.ValueChoice([2, 4], label="b")


@pytest.mark.parametrize(
    ("expression", "python"),
    [
        (nn.ValueChoice.max(A, B), max),
        (nn.ValueChoice.max([A, B, 3]), lambda a, b: max(a, b, 3)),
        (nn.ValueChoice.min(A, B * 2), lambda a, b: min(a, b * 2)),
        (nn.ValueChoice.condition(A > B, A, B - 1), lambda a, b: a if a > b else b - 1),
        (nn.ValueChoice.to_int(A / B), lambda a, b: int(a / b)),
        (nn.ValueChoice.to_float(A) * B, lambda a, b: float(a) * b),
        (round(A / B), lambda a, b: round(a / b)),
        (round(A / B, 1), lambda a, b: round(a / b, 1)),
        (math.floor(A / B) + math.ceil(B / A), lambda a, b: math.floor(a / b) + math.ceil(b / a)),
        ((A == 2) | (B != 4), lambda a, b: (a == 2) | (b != 4)),
        ((A <= B) & (A >= 2), lambda a, b: (a <= b) & (a >= 2)),
        (
            abs(1 - B) + (A << 1) - (B >> 1) + (A ^ B) + ~A,
            lambda a, b: abs(1 - b) + (a << 1) - (b >> 1) + (a ^ b) + ~a,
        ),
        (divmod(B, A), lambda a, b: divmod(b, a)),
        (2**A % 5 + pow(B, 2, 3), lambda a, b: 2**a % 5 + pow(b, 2, 3)),
    ],
)
def test_expressions_evaluate_like_python(expression: Any, python: Any) -> None:
    combos = list(itertools.product(A.candidates, B.candidates))
    expected = [python(a, b) for a, b in combos]
    assert isinstance(expression, nn.ChoiceExpression)
    assert sorted(expression.all_options()) == sorted(expected)  # labels in order of first use
    for (a, b), want in zip(combos, expected, strict=True):
        leaves = expression.inner_choices()
        values = [a if leaf.label == "a" else b for leaf in leaves]
        assert expression.evaluate(values) == want


def test_static_methods_on_plain_values_give_plain_values() -> None:
    assert nn.ValueChoice.max(1, 5) == 5 and nn.ValueChoice.min([4, 2]) == 2
    assert nn.ValueChoice.condition(True, "x", "y") == "x"
    assert nn.ValueChoice.to_int(2.7) == 2 and nn.ValueChoice.to_float(2) == 2.0


def test_evaluate_takes_values_in_inner_choices_order_and_checks_them() -> None:
    expression = A * B + A
    assert [leaf.label for leaf in expression.inner_choices()] == ["a", "b", "a"]
    assert expression.evaluate([3, 4, 3]) == 15
    with pytest.raises(ValueError, match="too few values"):
        expression.evaluate([3, 4])
    with pytest.raises(ValueError, match="too many values"):
        expression.evaluate([3, 4, 3, 1])
    with pytest.raises(ValueError, match="7 is not one of the candidates"):
        expression.evaluate([7, 4, 7])
    assert sorted(expression.all_options()) == [3, 5, 6, 9, 10, 15]  # one value per label


@pytest.mark.parametrize(
    "use", [bool, int, float, list, range, lambda x: 1 in x, lambda x: [0, 1][x]]
)
def test_a_choice_has_no_plain_value_while_the_model_is_built(use: Any) -> None:
    with pytest.raises(TypeError, match=r"ValueChoice\.condition"):
        use(A + 1)


class TupleNet(nn.Module):
    """A choice of tuples, indexed: kernel (k, padding) pairs, and widths from expressions."""

    def __init__(self) -> None:
        super().__init__()
        pair = nn.ValueChoice([(3, 1), (5, 2)], label="pair")
        width = nn.ValueChoice([4, 6], label="width")
        self.conv = nn.Conv2d(1, width * 2, pair[0], padding=pair[1])
        self.fc = nn.Linear(width * 2, nn.ValueChoice.max(width, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(self.conv(x).mean((2, 3)))
        return out


@pytest.mark.parametrize(("pair", "width"), list(itertools.product([[3, 1], [5, 2]], [4, 6])))
def test_fix_evaluates_expressions_in_layer_arguments(pair: list[int], width: int) -> None:
    space = archsearch.search_space(TupleNet())
    assert space.labels == ["width", "pair"] and space.size() == 4
    fixed = archsearch.fix(TupleNet(), {"pair": pair, "width": width})
    assert type(fixed.conv) is torch.nn.Conv2d
    assert fixed.conv.kernel_size == (pair[0], pair[0]) and fixed.conv.padding == (pair[1],) * 2
    assert fixed.conv.out_channels == width * 2 and fixed.fc.out_features == max(width, 5)
    assert fixed(torch.zeros(2, 1, 8, 8)).shape == (2, max(width, 5))
    assert pickle.loads(pickle.dumps(TupleNet())).conv.out_channels == 8
    copy.deepcopy(TupleNet())


def parameter_count(model: torch.nn.Module) -> float:
    return float(sum(p.numel() for p in model.parameters()))


def test_grid_search_samples_expression_choices(tmp_path: Path) -> None:
    experiment = RetiariiExperiment(
        TupleNet, FunctionalEvaluator(parameter_count), None, GridSearch()
    )
    experiment.run(ExperimentConfig(execution="inline", storage=str(tmp_path / "x.db")))
    trials = experiment.storage.trials(experiment.id)
    assert len(trials) == 4
    for trial in trials:
        expected = parameter_count(archsearch.fix(TupleNet(), trial.arch))
        assert trial.metric == expected


class RepeatNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Repeat(lambda i: nn.Linear(3, 3), nn.ValueChoice([0, 2], label="d") + 1)

    def forward(self, x: torch.Tensor) -> Any:
        return self.blocks(x)


def test_repeat_depth_as_an_expression() -> None:
    model = RepeatNet()
    assert len(model.blocks.blocks) == 3 and model.blocks.depth_candidates() == (1, 3)
    space = archsearch.search_space(model)
    assert space.labels == ["d"] and list(space["d"].options()) == [0, 2]
    for value, depth in [(0, 1), (2, 3)]:
        fixed = archsearch.fix(model, {"d": value}, inherit_weights=True)
        assert isinstance(fixed.blocks, torch.nn.Sequential) and len(fixed.blocks) == depth
        x = torch.randn(2, 3)
        replay = ReplayMutator(model, {"d": value})
        torch.testing.assert_close(model(x), fixed(x))
        replay.unbind()
    with pytest.raises(ValueError, match="exactly one ValueChoice"):
        nn.Repeat(nn.Linear(3, 3), A + B)
    with pytest.raises(ValueError, match="non-negative ints"):
        nn.Repeat(nn.Linear(3, 3), A - 2)


@nn.model_wrapper
class ParameterNet(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        dim = nn.ModelParameterChoice([4, 8], label="dim")
        self.token = nn.Parameter(torch.zeros(1, dim))
        self.head = nn.Linear(dim, classes)
        self.extra = nn.Linear(dim, dim) if dim > 4 else None  # a plain value: Python decides
        self.op = nn.LayerChoice([nn.Identity(), nn.Tanh()], label="op")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.op(x + self.token)
        out: torch.Tensor = self.head(x if self.extra is None else self.extra(x))
        return out


def test_model_parameter_choice_is_a_plain_value_that_fix_rebuilds() -> None:
    model = ParameterNet(3)
    assert model.token.shape == (1, 4) and model.extra is None
    space = archsearch.search_space(model)
    assert space.labels == ["dim", "op"] and list(space["dim"].options()) == [4, 8]
    fixed = archsearch.fix(model, {"dim": 8, "op": "1"})
    assert fixed.token.shape == (1, 8) and fixed.extra is not None
    assert isinstance(fixed.op, torch.nn.Tanh) and fixed(torch.zeros(2, 8)).shape == (2, 3)
    assert archsearch.search_space(fixed).size() == 1
    same = archsearch.fix(model, {"dim": 4, "op": "0"}, inherit_weights=True)
    torch.testing.assert_close(same.head.weight, model.head.weight)
    with pytest.raises(TypeError, match="ModelParameterChoice"):
        RandomMutator(ParameterNet(3))
    data = TensorDataset(torch.zeros(4, 8), torch.zeros(4, dtype=torch.long))
    model = ParameterNet(3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer = RandomTrainer(model, F.cross_entropy, None, optimizer, 1, data, data)
    with pytest.raises(TypeError, match="ModelParameterChoice"):  # so does every trainer
        trainer.train()
    with pytest.raises(TypeError, match=r"use archsearch\.fix"):
        archsearch.apply_fixed_architecture(ParameterNet(3), {"dim": 8, "op": "0"})


def test_model_parameter_choice_needs_a_wrapped_model_and_a_label() -> None:
    with pytest.raises(TypeError, match="@model_wrapper"):
        nn.ModelParameterChoice([1, 2], label="x")

    @nn.model_wrapper
    class NoLabel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.value = nn.ModelParameterChoice([1, 2])

    with pytest.raises(ValueError, match="needs label="):
        NoLabel()

    @nn.model_wrapper
    class Last(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.value = nn.ModelParameterChoice(
                [1, 2, 3], default=nn.ModelParameterChoice.LAST, label="v"
            )

    assert Last().value == 3
    assert archsearch.fix(Last(), {"v": 2}).value == 2


def small_parameter_net() -> ParameterNet:
    return ParameterNet(3)


def test_grid_search_builds_each_model_parameter_value(tmp_path: Path) -> None:
    experiment = RetiariiExperiment(
        small_parameter_net, FunctionalEvaluator(parameter_count), None, GridSearch()
    )
    experiment.run(ExperimentConfig(execution="inline", storage=str(tmp_path / "x.db")))
    counts = {
        (t.arch["dim"], t.arch["op"]): t.metric for t in experiment.storage.trials(experiment.id)
    }
    with_4 = 4 + 4 * 3 + 3  # token, head
    with_8 = 8 + 8 * 3 + 3 + 8 * 8 + 8  # token, head, extra
    assert counts == {(4, "0"): with_4, (4, "1"): with_4, (8, "0"): with_8, (8, "1"): with_8}

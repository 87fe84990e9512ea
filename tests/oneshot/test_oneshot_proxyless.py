"""ProxylessNAS: the two-path gate gradient against the paper's estimator, single-path weight
steps, the rescaling, the cost regulariser, cost tables, a search on digits, checkpoint/resume."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsLayerNet
from torch.nn import functional as F
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import Callback, accuracy
from archsearch.oneshot.cost_table import count_parameters, measure_latency
from archsearch.oneshot.proxyless import ProxylessMutator, ProxylessTrainer


class Four(nn.Module):
    """One choice among four linear maps, then a head."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4) for _ in range(4)], label="cell.0.op")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.op(x)))


def make_trainer(
    model: torch.nn.Module, data: Any, valid: Any, tmp_path: Path, **kwargs: Any
) -> ProxylessTrainer:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    settings: dict[str, Any] = {"batch_size": 64, "device": "cpu", "log_dir": tmp_path / "log"}
    settings.update(kwargs)
    return ProxylessTrainer(model, F.cross_entropy, accuracy, optimizer, 2, data, valid, **settings)


def count_calls(choice: nn.LayerChoice) -> Counter[int]:
    calls: Counter[int] = Counter()
    for i, candidate in enumerate(choice):
        candidate.register_forward_hook(lambda *_, i=i: calls.update([i]))
    return calls


def toy_data(n: int = 64) -> TensorDataset:
    return TensorDataset(torch.randn(n, 4), torch.randint(0, 3, (n,)))


# ----- the mutator ------------------------------------------------------------------------------


def test_two_path_gate_gradient_is_the_papers_estimator_restricted_to_the_pair() -> None:
    torch.manual_seed(0)
    model = Four().double()
    mutator = ProxylessMutator(model).double()
    alpha = mutator.alphas["cell.0.op"]
    with torch.no_grad():
        alpha.copy_(torch.tensor([0.3, -0.5, 1.0, 0.2]))
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    for _ in range(5):
        mutator.reset(num_paths=2)
        pair, active = mutator._sampled["cell.0.op"], mutator._active["cell.0.op"]
        assert len(pair) == 2 and active in pair
        alpha.grad = None
        output = model(x)
        F.cross_entropy(output, y).backward()

        # Reference: the forward is the active path alone, exactly.
        choice = model.op
        outputs = {j: choice[j](x) for j in pair}
        with torch.no_grad():
            assert torch.equal(output, model.head(torch.tanh(outputs[active])))
        # ∂L/∂g_j = <∂L/∂y, o_j> for both sampled paths, then Σ_j ∂L/∂g_j p'_j (δ_ij − p'_i).
        y_active = outputs[active].detach().requires_grad_()
        (dy,) = torch.autograd.grad(F.cross_entropy(model.head(torch.tanh(y_active)), y), y_active)
        dg = {j: float((dy * outputs[j].detach()).sum()) for j in pair}
        p = torch.softmax(alpha.detach()[pair], 0).tolist()
        expected = torch.zeros(4, dtype=torch.float64)
        for a, i in enumerate(pair):
            expected[i] = sum(dg[j] * p[b] * ((a == b) - p[a]) for b, j in enumerate(pair))
        assert alpha.grad is not None
        torch.testing.assert_close(alpha.grad, expected)
        assert float(alpha.grad.abs().sum()) > 0


def test_weight_step_runs_one_path_and_arch_step_two(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Four()
    data = toy_data()
    trainer = make_trainer(model, data, data, tmp_path)
    calls = count_calls(model.op)
    alphas = [a.detach().clone() for a in trainer.mutator.parameters()]
    for _ in range(10):
        calls.clear()
        trainer.train_step(((data.tensors[0][:16], data.tensors[1][:16]), None))
        assert sum(calls.values()) == 1  # one candidate, once
        assert all(a.grad is None for a in trainer.mutator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(alphas, trainer.mutator.parameters(), strict=True))
    used = [p for p in model.op.parameters() if p.grad is not None]
    assert len(used) == 2  # weight and bias of the last sampled path only
    for _ in range(10):
        calls.clear()
        trainer.arch_step((data.tensors[0][:16], data.tensors[1][:16]))
        assert sum(calls.values()) == 2 and len(calls) == 2  # the sampled pair


def test_arch_step_moves_the_pair_and_keeps_its_total_probability(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Four()
    data = toy_data()
    trainer = make_trainer(model, data, data, tmp_path, arc_learning_rate=0.1)
    mutator = trainer.mutator
    alpha = mutator.alphas["cell.0.op"]
    weights = [p.detach().clone() for p in model.parameters()]
    for _ in range(5):
        before = alpha.detach().clone()
        trainer.arch_step((data.tensors[0][:32], data.tensors[1][:32]))
        pair = mutator._sampled["cell.0.op"]
        others = [i for i in range(4) if i not in pair]
        assert alpha.grad is not None and torch.isfinite(alpha.grad).all()
        assert float(alpha.grad[pair].abs().min()) > 0 and not alpha.grad[others].any()
        assert not torch.equal(alpha[pair], before[pair])
        assert torch.equal(alpha[others], before[others])
        torch.testing.assert_close(alpha[pair].logsumexp(0), before[pair].logsumexp(0))
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))


def test_a_saturated_choice_samples_its_only_possible_path() -> None:
    model = Four()
    mutator = ProxylessMutator(model)
    with torch.no_grad():
        mutator.alphas["cell.0.op"].copy_(torch.tensor([0.0, -1e4, -1e4, -1e4]))  # p = one-hot
    mutator.reset(num_paths=2)
    assert mutator._sampled["cell.0.op"] == [0]
    model(torch.randn(2, 4)).sum().backward()  # a single path: nothing to estimate
    assert mutator.alphas["cell.0.op"].grad is None


class Inputs(nn.Module):
    """A LayerChoice, then an InputChoice of `n_chosen` among its output and its input."""

    def __init__(self, n_chosen: int | None = 1) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4), nn.Identity()], label="op")
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=n_chosen, label="skip")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.skip([torch.tanh(self.op(x)), x]))


def test_input_choices_of_one_input_are_searched_with_gates(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Inputs()
    trainer = make_trainer(model, toy_data(), toy_data(), tmp_path)
    mutator = trainer.mutator
    mutator.reset(num_paths=2)
    assert mutator.decision_for("skip").dtype != torch.bool  # a gate, as for LayerChoice
    before = mutator.alphas["skip"].detach().clone()
    trainer.arch_step((torch.randn(8, 4), torch.randint(0, 3, (8,))))
    assert not torch.equal(mutator.alphas["skip"], before)  # the pair's gate gradients arrive
    mutator.reset()
    assert mutator.decision_for("skip").dtype == torch.bool  # one input for the weight step
    trainer.fit()
    arch = trainer.export()
    assert arch["skip"] in ([0], [1])
    fixed = archsearch.fix(Inputs(), arch)
    assert fixed(torch.randn(2, 4)).shape == (2, 3)
    # The regulariser's measured costs give a chosen input no cost.
    costly = make_trainer(
        Inputs(), toy_data(), toy_data(), tmp_path, grad_reg_loss_type="add#linear",
        applied_hardware="params",
    )  # fmt: skip
    assert costly.cost_table is not None and costly.cost_table["skip"] == [0.0, 0.0]


def test_other_choices_are_refused_with_what_to_do(tmp_path: Path) -> None:
    for n_chosen in (None, 2):
        with pytest.raises(TypeError, match=r"InputChoice 'skip'.*n_chosen=1.*DartsTrainer"):
            make_trainer(Inputs(n_chosen), toy_data(), toy_data(), tmp_path)

    class Depth(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Repeat(lambda i: nn.Linear(4, 4), (1, 2))

    with pytest.raises(TypeError, match="ProxylessTrainer"):
        make_trainer(Depth(), toy_data(), toy_data(), tmp_path)


# ----- costs ------------------------------------------------------------------------------------


class Twins(nn.Module):
    """Two candidates computing the same function: the loss cannot prefer either."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Identity(), nn.Identity()], label="op")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.op(x))


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("add#linear", {"lambda": 0.1}),
        ("mul#log", {"alpha": 1.0, "beta": 0.6, "ref_value": 5.0}),
        (None, None),
    ],
)
def test_cost_regulariser_prefers_the_cheaper_twin(
    kind: str | None, params: dict[str, float] | None, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    data = toy_data(256)
    trainer = make_trainer(
        Twins(), data, data, tmp_path, batch_size=16, arc_learning_rate=0.1,
        grad_reg_loss_type=kind, grad_reg_loss_params=params, cost_table={"op": [2.0, 20.0]},
    )  # fmt: skip
    trainer.num_epochs = 1
    trainer.train(validate=False)
    p_cheap = trainer.arch_probabilities()["op"][0]
    if kind is None:
        assert p_cheap == 0.5  # the loss alone is exactly indifferent
    else:
        assert p_cheap > 0.75
        assert trainer.history[0]["train"]["expected_cost"] < 11.0
        assert trainer.export() == {"op": "0"}


def test_cost_tables_are_measured_per_candidate() -> None:
    torch.manual_seed(0)
    model = DigitsLayerNet()
    mutator = ProxylessMutator(model)
    bn = {k: v.clone() for k, v in model.bn.state_dict().items()}
    latency = measure_latency(model, (1, 1, 8, 8), repeats=3, warmup=1)
    assert set(latency) == {"op1", "op2"} and [len(v) for v in latency.values()] == [3, 2]
    assert all(t > 0 for row in latency.values() for t in row)
    # Statistics untouched, training mode and the mutator binding restored.
    assert all(torch.equal(v, model.bn.state_dict()[k]) for k, v in bn.items())
    assert model.training and model.op1.__dict__["_mutator"] is mutator
    params = count_parameters(model)
    assert params == {"op1": [8 * 8 * 9 + 8, 8 * 8 * 25 + 8, 0], "op2": [8 * 8 + 8, 0]}


def test_regulariser_settings_are_checked(tmp_path: Path) -> None:
    data = toy_data()
    with pytest.raises(ValueError, match="ref_value"):
        make_trainer(Four(), data, data, tmp_path, grad_reg_loss_type="mul#log")
    with pytest.raises(ValueError, match="grad_reg_loss_type"):
        make_trainer(Four(), data, data, tmp_path, grad_reg_loss_type="mul#exp")
    with pytest.raises(ValueError, match="unknown"):
        make_trainer(
            Four(), data, data, tmp_path, grad_reg_loss_type="add#linear",
            grad_reg_loss_params={"lamda": 1.0},
        )  # fmt: skip
    with pytest.raises(ValueError, match="labels"):
        make_trainer(
            Four(), data, data, tmp_path, grad_reg_loss_type="add#linear",
            cost_table={"op": [1.0, 2.0, 3.0, 4.0]},
        )  # fmt: skip
    with pytest.raises(RuntimeError, match=r"dummy input of shape \(1, 3, 224, 224\)"):
        make_trainer(DigitsLayerNet(), data, data, tmp_path, grad_reg_loss_type="add#linear")
    with pytest.raises(ValueError, match="latency predictors"):
        make_trainer(Four(), data, data, tmp_path, applied_hardware="cortexA76cpu_tflite21")


# ----- the trainer ------------------------------------------------------------------------------


class AlphaLog(Callback):
    def __init__(self) -> None:
        self.alphas: list[list[torch.Tensor]] = []

    def on_epoch_end(self, epoch: int) -> None:
        self.alphas.append([a.detach().clone() for a in self.trainer.mutator.parameters()])


def test_proxyless_searches_digits_with_warmup_and_measured_latency(
    digits: Split, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = DigitsLayerNet()
    log = AlphaLog()
    trainer = make_trainer(
        model, digits.train, digits.test, tmp_path, warmup_epochs=1, callbacks=[log],
        grad_reg_loss_type="add#linear", grad_reg_loss_params={"lambda": 0.01},
        dummy_input=(1, 1, 8, 8), arc_learning_rate=0.01,
    )  # fmt: skip
    assert trainer.cost_table is not None and set(trainer.cost_table) == {"op1", "op2"}
    assert trainer.optimizers()["arch"] is trainer.arch_optimizer
    trainer.train()
    assert trainer.epoch == 2
    assert all(not a.any() for a in log.alphas[0])  # warmup: weights only
    assert all(a.any() for a in log.alphas[1])

    arch = trainer.export(tmp_path / "arch.json")
    assert arch == archsearch.search_space(model).validate(arch)
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    fixed = archsearch.fix(model, arch)
    assert fixed(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    history = json.loads((tmp_path / "log" / "history.json").read_text())
    assert history["algorithm"] == "proxyless" and len(history["epochs"]) == 2
    assert "arch_loss" not in history["epochs"][0]["train"]
    assert "expected_cost" in history["epochs"][1]["train"]
    assert history["epochs"][-1]["architecture"] == arch
    for probs in trainer.arch_probabilities().values():
        assert sum(probs) == pytest.approx(1.0)
    assert 0.0 <= trainer.validate()["acc"] <= 1.0

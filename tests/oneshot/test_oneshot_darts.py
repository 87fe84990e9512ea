"""DARTS: mixed ops against fixed ops, the second-order gradient against an exact oracle, the
split of the arch and weight steps, a search on digits, export, checkpoint/resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsNet
from torch.func import functional_call
from torch.nn import functional as F
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import accuracy
from archsearch.oneshot.darts import DartsMutator, DartsTrainer


def make_trainer(
    model: torch.nn.Module, data: Split, tmp_path: Path, **kwargs: Any
) -> DartsTrainer:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    settings: dict[str, Any] = {"batch_size": 64, "device": "cpu", "log_dir": tmp_path / "log"}
    settings.update(kwargs)
    return DartsTrainer(
        model, F.cross_entropy, accuracy, optimizer, 2, data.train, data.test, **settings
    )


def set_alphas(mutator: DartsMutator, logits: dict[str, list[float]]) -> None:
    with torch.no_grad():
        for label, values in logits.items():
            mutator.alphas[label].copy_(torch.tensor(values))


def one_hot(n: int, k: int, scale: float = 1e4) -> list[float]:
    # exp(-1e4) is exactly 0 in float32: the softmax is exactly one-hot.
    return [scale if i == k else 0.0 for i in range(n)]


# ----- the mutator: mixed ops, keys, export ----------------------------------------------------


def test_mixed_op_with_one_hot_weights_equals_the_fixed_op() -> None:
    torch.manual_seed(0)
    model = DigitsNet().eval()
    mutator = DartsMutator(model)
    x = torch.randn(5, 1, 8, 8)
    space = mutator.search_space
    for arch in space.grid():
        logits = {}
        for label, dim in space.items():
            mask = dim.mask(arch[label])
            logits[label] = one_hot(len(mask), mask.index(True))
        set_alphas(mutator, logits)
        assert mutator.export() == arch
        fixed = archsearch.fix(model, arch, inherit_weights=True).eval()
        with torch.no_grad():
            assert torch.equal(model(x), fixed(x)), arch


def test_mixed_op_is_the_softmax_weighted_sum_of_all_candidates() -> None:
    torch.manual_seed(0)
    choice = nn.LayerChoice([nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3)], label="op")
    model = nn.Sequential(choice)
    mutator = DartsMutator(model)
    set_alphas(mutator, {"op": [0.3, -1.0, 2.0]})
    x = torch.randn(4, 3)
    weights = torch.softmax(torch.tensor([0.3, -1.0, 2.0]), 0)
    expected = sum(w * candidate(x) for w, candidate in zip(weights, choice, strict=True))
    torch.testing.assert_close(model(x), expected)


def test_alphas_cover_every_label_with_escaped_keys_and_fresh_graphs() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.LayerChoice([nn.Linear(2, 2), nn.Identity()], label="cell.0/op")
            self.b = nn.LayerChoice([nn.Linear(2, 2), nn.Tanh()], label="keys")
            self.c = nn.LayerChoice([nn.Identity(), nn.Tanh()], label="cell%2E0/op")
            self.d = nn.Repeat(nn.Linear(2, 2), (1, 3), label="depth")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.d(self.c(self.b(self.a(x))))

    torch.manual_seed(0)
    model = Net()
    mutator = DartsMutator(model)
    labels = ["cell.0/op", "keys", "cell%2E0/op", "depth"]
    assert list(mutator.search_space) == labels
    keys = [name for name, _ in mutator.alphas.named_parameters()]
    assert len(set(keys)) == 4 and all("." not in k for k in keys)
    assert [len(mutator.alphas[label]) for label in labels] == [2, 2, 2, 3]
    assert len(list(mutator.parameters())) == 4
    assert all(0 < float(a.detach().abs().max()) < 0.01 for a in mutator.parameters())  # 1e-3·randn
    # Each forward reads a fresh softmax: two backward passes in a row both work.
    mutator.reset()
    for _ in range(2):
        model(torch.randn(3, 2)).sum().backward()
    assert mutator.alphas["keys"].grad is not None
    assert mutator.alphas["depth"].grad is None  # Repeat runs the argmax depth: no gradient
    # Alphas round-trip through state_dict.
    other = DartsMutator(Net())
    other.load_state_dict(mutator.state_dict())
    for label in labels:
        assert torch.equal(other.alphas[label], mutator.alphas[label])
    set_alphas(mutator, {"depth": [0.0, 0.0, 1.0]})
    assert mutator.export()["depth"] == 3


def test_export_of_input_choices_keeps_the_heaviest_inputs() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.two = nn.InputChoice(4, 2, label="two")
            self.any = nn.InputChoice(3, None, label="any")

        def forward(self, xs: list[torch.Tensor]) -> Any:
            return self.two(xs), self.any(xs[:3])

    mutator = DartsMutator(Net())
    set_alphas(mutator, {"two": [0.1, 2.0, -1.0, 1.0], "any": [1.0, 1.0, -3.0]})
    assert mutator.export() == {"two": [1, 3], "any": [0, 1]}
    set_alphas(mutator, {"two": [0.0, 0.0, 0.0, 0.0], "any": [0.0, 0.0, 0.0]})
    assert mutator.export() == {"two": [0, 1], "any": [0]}  # ties: lower indices, at least one
    set_alphas(mutator, {"any": [-1.0, 0.5, -1.0]})
    assert mutator.export()["any"] == [1]


# ----- the architecture gradient ---------------------------------------------------------------


class Tiny(nn.Module):
    """Small, smooth, no BatchNorm: exact second derivatives are cheap."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4), nn.Linear(4, 4)], label="op")
        self.act = nn.LayerChoice([nn.Tanh(), nn.Sigmoid(), nn.Identity()], label="act")
        self.skip = nn.InputChoice(2, 1, label="skip")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.op(x))
        return self.head(self.skip([h, h + x]))


def tiny_setup(
    optimizer_settings: dict[str, Any], unrolled: bool = True, tmp_path: Path | None = None
) -> tuple[DartsTrainer, Any, Any]:
    torch.manual_seed(0)
    model = Tiny().double()
    mutator = DartsMutator(model).double()
    with torch.no_grad():
        for alpha in mutator.parameters():
            alpha.normal_()
    x = torch.randn(16, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (16,))
    data = TensorDataset(x, y)
    optimizer = torch.optim.SGD(model.parameters(), **optimizer_settings)
    trainer = DartsTrainer(
        model,
        F.cross_entropy,
        accuracy,
        optimizer,
        1,
        data,
        data,
        mutator,
        device="cpu",
        unrolled=unrolled,
        log_dir=tmp_path,
    )
    return trainer, (x[:8], y[:8]), (x[8:], y[8:])


@pytest.mark.parametrize(
    "settings",
    [
        {"lr": 0.5},
        {"lr": 0.5, "momentum": 0.9, "weight_decay": 3e-2},
        {"lr": 0.5, "momentum": 0.9, "weight_decay": 3e-2, "nesterov": True, "dampening": 0.0},
        {"lr": 0.5, "momentum": 0.8, "dampening": 0.3},
    ],
    ids=["sgd", "momentum-wd", "nesterov", "dampening"],
)
def test_second_order_gradient_matches_the_exact_hypergradient(settings: dict[str, Any]) -> None:
    trainer, trn, val = tiny_setup(settings)
    model, optimizer = trainer.model, trainer.optimizer
    if settings.get("momentum"):
        trainer.train_step((trn, val))  # starts SGD's momentum buffers
    alphas = list(trainer.mutator.parameters())
    weights = [p.detach().clone() for p in model.parameters()]

    optimizer.zero_grad()
    trainer.arch_optimizer.zero_grad()
    trainer.arch_backward(trn, val)
    got = [a.grad.clone() for a in alphas if a.grad is not None]
    # w is never modified, not even by rounding.
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())

    # Oracle: unroll SGD's own step with create_graph and differentiate through it.
    named = dict(model.named_parameters())
    ws = list(named.values())
    loss = F.cross_entropy(functional_call(model, named, (trn[0],)), trn[1])
    grads = torch.autograd.grad(loss, ws, create_graph=True)
    momentum, damp = settings.get("momentum", 0.0), settings.get("dampening", 0.0)
    unrolled = []
    for w, g in zip(ws, grads, strict=True):
        d = g + settings.get("weight_decay", 0.0) * w
        if momentum:
            buf = optimizer.state[w]["momentum_buffer"]
            buf = momentum * buf + (1 - damp) * d
            d = d + momentum * buf if settings.get("nesterov") else buf
        unrolled.append(w - settings["lr"] * d)

    def valid_loss(params: list[torch.Tensor]) -> torch.Tensor:
        state = dict(zip(named, params, strict=True))
        return F.cross_entropy(functional_call(model, state, (val[0],)), val[1])

    exact = torch.autograd.grad(valid_loss(unrolled), alphas)
    direct = torch.autograd.grad(valid_loss([w.detach() for w in unrolled]), alphas)
    error = max(float((g - e).abs().max()) for g, e in zip(got, exact, strict=True))
    scale = max(float(e.abs().max()) for e in exact)
    hessian_term = max(float((d - e).abs().max()) for d, e in zip(direct, exact, strict=True))
    assert error <= 1e-3 * scale
    assert hessian_term > 100 * error  # the second-order term is really tested

    # The oracle's step is the step SGD really takes.
    with torch.no_grad():
        for w, g in zip(ws, grads, strict=True):
            w.grad = g.detach().clone()
        optimizer.step()
        for w, w1 in zip(ws, unrolled, strict=True):
            torch.testing.assert_close(w, w1.detach(), rtol=1e-10, atol=1e-12)


def test_unrolled_step_leaves_weights_and_batchnorm_statistics_alone(tmp_path: Path) -> None:
    class WithBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(4)
            self.drop = nn.Dropout(0.2)
            self.op = nn.LayerChoice([nn.Linear(4, 3), nn.Sequential(nn.Tanh(), nn.Linear(4, 3))])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.op(self.drop(self.bn(x)))

    torch.manual_seed(0)
    model = WithBN()
    data = TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = DartsTrainer(
        model, F.cross_entropy, accuracy, optimizer, 1, data, data, unrolled=True, device="cpu",
        log_dir=tmp_path,
    )  # fmt: skip
    state = {k: v.clone() for k, v in model.state_dict().items()}
    alphas = [a.detach().clone() for a in trainer.mutator.parameters()]
    batch = (data.tensors[0][:16], data.tensors[1][:16])
    trainer.arch_step(batch, (data.tensors[0][16:], data.tensors[1][16:]))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert all(p.grad is None for p in model.parameters())
    assert not torch.equal(alphas[0], next(iter(trainer.mutator.parameters())))


def test_first_order_arch_step_moves_only_alphas_and_weight_step_only_weights(
    tmp_path: Path,
) -> None:
    trainer, trn, val = tiny_setup({"lr": 0.1, "momentum": 0.9}, unrolled=False, tmp_path=tmp_path)
    model, alphas = trainer.model, list(trainer.mutator.parameters())
    weights = [p.detach().clone() for p in model.parameters()]
    expected = torch.autograd.grad(F.cross_entropy(model(val[0]), val[1]), alphas)

    trainer.arch_optimizer.zero_grad()
    trainer.arch_backward(trn, val)
    first = [a.grad.clone() for a in alphas if a.grad is not None]
    for got, want in zip(first, expected, strict=True):
        torch.testing.assert_close(got, want)  # ∇α L_val(w, α)
    assert all(p.grad is None for p in model.parameters())

    before = [a.detach().clone() for a in alphas]
    trainer.arch_step(trn, val)
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(before, alphas, strict=True))

    # A whole step: the weight step adds nothing to the alphas' gradients and moves the weights.
    trainer.arch_optimizer.zero_grad()
    trainer.arch_backward(trn, val)
    first = [a.grad.clone() for a in alphas if a.grad is not None]
    trainer.train_step((trn, val))
    for alpha, grad in zip(alphas, first, strict=True):
        assert torch.equal(alpha.grad, grad)
    assert all(not torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))


# ----- the trainer -----------------------------------------------------------------------------


def test_darts_searches_digits_and_exports_a_fixable_architecture(
    digits: Split, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    trainer = make_trainer(model, digits, tmp_path)
    weight_half, arch_half = trainer.dataset_weights, trainer.dataset_arch
    assert list(weight_half.indices) == list(range(256))  # type: ignore[attr-defined]
    assert list(arch_half.indices) == list(range(256, 512))  # type: ignore[attr-defined]
    assert len(trainer.training_batches()) == 4
    start = [a.detach().clone() for a in trainer.mutator.parameters()]
    trainer.train()
    assert trainer.epoch == 2
    assert all(
        not torch.equal(a, b) for a, b in zip(start, trainer.mutator.parameters(), strict=True)
    )

    arch = trainer.export(tmp_path / "arch.json")
    assert arch == archsearch.search_space(model).validate(arch)
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    fixed = archsearch.fix(model, arch)
    assert fixed(torch.randn(2, 1, 8, 8)).shape == (2, 10)

    history = json.loads((tmp_path / "log" / "history.json").read_text())
    assert history["algorithm"] == "darts" and len(history["epochs"]) == 2
    assert history["epochs"][-1]["architecture"] == arch
    probabilities = trainer.arch_probabilities()
    assert set(probabilities) == {"op1", "op2", "skip"}
    for probs in probabilities.values():
        assert sum(probs) == pytest.approx(1.0)
    assert 0.0 <= trainer.validate()["acc"] <= 1.0


def test_nni_positional_signature_and_given_mutator(digits: Split, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    mutator = DartsMutator(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    trainer = DartsTrainer(
        model, F.cross_entropy, accuracy, optimizer, 1, digits.train, digits.test, mutator,
        128, 0, "cpu", None, None, 1e-3, False, log_dir=tmp_path,
    )  # fmt: skip
    assert trainer.mutator is mutator and trainer.batch_size == 128
    assert trainer.arch_optimizer.param_groups[0]["lr"] == 1e-3
    assert trainer.optimizers()["arch"] is trainer.arch_optimizer
    with pytest.raises(ValueError, match="another model"):
        DartsTrainer(
            DigitsNet(), F.cross_entropy, accuracy, optimizer, 1, digits.train, digits.test,
            mutator,
        )  # fmt: skip


def test_unrolled_darts_trains_an_epoch(digits: Split, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    trainer = make_trainer(model, digits, tmp_path, unrolled=True, batch_size=128)
    trainer.num_epochs = 1
    trainer.train(validate=False)
    assert trainer.epoch == 1
    archsearch.search_space(model).validate(trainer.export())

"""GDAS: one-hot forwards equal to the fixed path while alphas get gradients, shared samples
per label, Gumbel sampling, the temperature schedule, a search on digits, checkpoint/resume."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsNet, DigitsValueNet
from torch.nn import functional as F
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import accuracy
from archsearch.oneshot.gdas import GdasMutator, GdasTrainer
from archsearch.oneshot.gdas import _pick as gdas_pick
from archsearch.oneshot.sliced import to_supernet
from archsearch.space import ValueChoiceDim


def make_trainer(
    model: torch.nn.Module, data: Any, valid: Any, tmp_path: Path, **kwargs: Any
) -> GdasTrainer:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    settings: dict[str, Any] = {"batch_size": 64, "device": "cpu", "log_dir": tmp_path / "log"}
    settings.update(kwargs)
    return GdasTrainer(model, F.cross_entropy, accuracy, optimizer, 2, data, valid, **settings)


def count_calls(choice: nn.LayerChoice) -> Counter[int]:
    calls: Counter[int] = Counter()
    for i, candidate in enumerate(choice):
        candidate.register_forward_hook(lambda *_, i=i: calls.update([i]))
    return calls


# ----- the mutator ------------------------------------------------------------------------------


def test_forward_is_one_path_equal_to_the_fixed_model_and_alphas_get_gradients() -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    mutator = GdasMutator(model, tau=0.7)
    calls = {"op1": count_calls(model.op1), "op2": count_calls(model.op2)}
    x, y = torch.randn(6, 1, 8, 8), torch.randint(0, 10, (6,))
    seen = set()
    for _ in range(12):
        mutator.reset()
        for counter in calls.values():
            counter.clear()
        for param in mutator.parameters():
            param.grad = None
        output = model(x)
        masks = {label: mutator.decision_for(label) for label in mutator.search_space}
        for mask in masks.values():
            assert mask.dtype == torch.float32 and mask.requires_grad
            assert set(mask.tolist()) <= {0.0, 1.0} and mask.sum().item() == 1.0
        for label, counter in calls.items():
            # Exactly one candidate ran, the one the mask picks.
            assert list(counter.items()) == [(int(masks[label].argmax()), 1)]
        arch = mutator.search_space.validate({k: m.tolist() for k, m in masks.items()})
        seen.add(json.dumps(arch))
        with torch.no_grad():
            assert torch.equal(output, archsearch.fix(model, arch, inherit_weights=True)(x))
        F.cross_entropy(output, y).backward()
        for label in mutator.search_space:
            grad = mutator.alphas[label].grad
            assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert len(seen) > 1  # the samples vary


def test_a_shared_label_sees_one_sample_and_each_forward_has_its_own_graph() -> None:
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.LayerChoice([nn.Linear(3, 3) for _ in range(4)], label="cell.op")
            self.b = nn.LayerChoice([nn.Linear(3, 3) for _ in range(4)], label="cell.op")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(torch.relu(self.a(x)))

    torch.manual_seed(0)
    model = Shared()
    mutator = GdasMutator(model, tau=1.0)
    calls_a, calls_b = count_calls(model.a), count_calls(model.b)
    for _ in range(10):
        calls_a.clear()
        calls_b.clear()
        mutator.reset()
        for _ in range(2):  # two forward/backward passes on one sample
            model(torch.randn(2, 3)).sum().backward()
        assert calls_a == calls_b and sum(calls_a.values()) == 2 and len(calls_a) == 1


def test_gumbel_samples_follow_the_softmax_of_the_alphas() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.LayerChoice([nn.Identity(), nn.Tanh(), nn.ReLU()], label="op"))
    mutator = GdasMutator(model, tau=0.1)  # the hard sample does not depend on τ
    target = torch.tensor([0.6, 0.3, 0.1])
    with torch.no_grad():
        mutator.alphas["op"].copy_(target.log())
    counts = torch.zeros(3)
    for _ in range(2000):
        mutator.reset()
        counts += mutator.decision_for("op").detach()
    torch.testing.assert_close(counts / 2000, target, atol=0.04, rtol=0)


def test_input_choices_pick_k_inputs_and_export_the_heaviest() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.two = nn.InputChoice(4, 2, label="two")
            self.any = nn.InputChoice(3, None, label="any")
            self.depth = nn.Repeat(nn.Linear(2, 2), (1, 3), label="depth")

        def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
            return self.depth(self.two(xs) + self.any(xs[:3]))

    torch.manual_seed(0)
    mutator = GdasMutator(Net(), tau=1.0)
    xs = [torch.randn(2, 2) for _ in range(4)]
    for _ in range(10):
        mutator.reset()
        two, any_ = mutator.decision_for("two"), mutator.decision_for("any")
        assert two.sum().item() == 2.0 and set(two.tolist()) <= {0.0, 1.0}
        assert any_.sum().item() >= 1.0 and set(any_.tolist()) <= {0.0, 1.0}
        chosen = [i for i, m in enumerate(two.tolist()) if m]
        depth = mutator.search_space["depth"].canonical(mutator.decision_for("depth").tolist())
        out = mutator.model(xs)
        expected = xs[chosen[0]] + xs[chosen[1]] + sum(xs[i] for i, m in enumerate(any_) if m)
        for block in mutator.model.depth.blocks[:depth]:
            expected = block(expected)
        assert torch.equal(out, expected)
        out.sum().backward()
        assert mutator.alphas["two"].grad is not None and mutator.alphas["two"].grad.any()
    with torch.no_grad():
        mutator.alphas["two"].copy_(torch.tensor([0.1, 2.0, -1.0, 1.0]))
        mutator.alphas["any"].copy_(torch.tensor([1.0, -1.0, 0.5]))
        mutator.alphas["depth"].copy_(torch.tensor([0.0, 0.0, 1.0]))
    assert mutator.export() == {"two": [1, 3], "any": [0, 2], "depth": 3}
    with torch.no_grad():
        mutator.alphas["any"].copy_(torch.tensor([-1.0, -0.5, -2.0]))
    assert mutator.export()["any"] == [1]  # at least one input


@pytest.mark.parametrize("net", [DigitsNet, DigitsValueNet])
def test_a_reset_without_straight_through_runs_the_same_step_without_alpha_gradients(
    net: type[nn.Module],
) -> None:
    torch.manual_seed(0)
    model = net()
    to_supernet(model, nn.walk(model), trainer="GDAS", mode="mix")  # as GdasTrainer does
    mutator = GdasMutator(model, tau=0.7)
    weights = list(model.parameters())
    x, y = torch.randn(6, 1, 8, 8), torch.randint(0, 10, (6,))
    for _ in range(8):
        runs = []
        state = torch.get_rng_state()
        for straight_through in (True, False):
            torch.set_rng_state(state)  # the same sample twice
            mutator.reset(straight_through=straight_through)
            for param in [*weights, *mutator.parameters()]:
                param.grad = None
            output = model(x)
            F.cross_entropy(output, y).backward()
            masks = {label: mutator.decision_for(label) for label in mutator.search_space}
            grads = [p.grad for p in weights]
            runs.append((output.detach(), masks, grads, list(mutator.parameters())))
        (out_st, masks_st, grads_st, _), (out, masks, grads, alphas) = runs
        assert torch.equal(out, out_st)  # bit for bit: x * 1.0 == x
        for a, b in zip(grads, grads_st, strict=True):
            assert (a is None) == (b is None) and (a is None or torch.equal(a, b))
        assert all(alpha.grad is None for alpha in alphas)
        for label, mask in masks.items():
            assert not mask.requires_grad and torch.equal(mask.float(), masks_st[label].detach())
            value = isinstance(mutator.search_space[label], ValueChoiceDim)
            # Value labels stay one-hot floats, so mixed weight-sharing layers still mix.
            assert mask.dtype == (torch.float32 if value else torch.bool)
    mutator.reset()  # straight-through again by default
    assert all(mutator.decision_for(label).requires_grad for label in mutator.search_space)


def test_reset_picks_what_the_tensor_pick_would_pick() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.op = nn.LayerChoice([nn.Identity(), nn.Tanh(), nn.ReLU()], label="op")
            self.two = nn.InputChoice(4, 2, label="two")
            self.any = nn.InputChoice(5, None, label="any")

        def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
            return self.op(self.two(xs) + self.any([*xs, xs[0]]))

    torch.manual_seed(0)
    mutator = GdasMutator(Net(), tau=0.5)
    with torch.no_grad():
        mutator.alphas["op"].copy_(torch.tensor([1.0, 1.0, 1.0]))  # ties go to the lower index
    for _ in range(50):
        mutator.reset()
        for label in mutator.search_space:
            logits = (mutator.alphas[label] + mutator._noise[label]) / mutator.tau
            expected = mutator._hard(label, logits.detach())
            assert torch.equal(mutator.decision_for(label).detach().bool(), expected)
    tied = {"op": [0.0, 0.0, 0.0], "two": [0.0, 1.0, 1.0, 0.0], "any": [-1.0, -2.0, -1.0]}
    assert gdas_pick(tied["op"], 1, False) == [True, False, False]
    assert gdas_pick(tied["two"], 2, False) == [False, True, True, False]
    assert gdas_pick(tied["any"], 1, True) == [True, False, False]  # at least the top one


# ----- the trainer ------------------------------------------------------------------------------


def test_temperature_anneals_linearly_per_epoch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.LayerChoice([nn.Linear(4, 3), nn.Linear(4, 3)]))
    data = TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
    trainer = make_trainer(model, data, data, tmp_path, batch_size=8)
    trainer.num_epochs = 3
    assert [trainer.temperature(e) for e in range(3)] == pytest.approx([10.0, 5.05, 0.1])
    trainer.train()
    temperatures = [entry["train"]["temperature"] for entry in trainer.history]
    assert temperatures == pytest.approx([10.0, 5.05, 0.1])
    assert trainer.mutator.tau == pytest.approx(0.1)
    single = make_trainer(model, data, data, tmp_path, tau_max=4.0, tau_min=1.0)
    single.num_epochs = 1
    assert single.temperature(0) == 4.0
    with pytest.raises(ValueError, match="tau_min"):
        make_trainer(model, data, data, tmp_path, tau_max=0.1, tau_min=1.0)


def test_gdas_searches_digits_and_exports_a_fixable_architecture(
    digits: Split, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    trainer = make_trainer(model, digits.train, digits.test, tmp_path)
    assert len(trainer.training_batches()) == 4
    assert trainer.optimizers()["arch"] is trainer.arch_optimizer
    start = [a.detach().clone() for a in trainer.mutator.parameters()]
    trainer.train()
    assert trainer.epoch == 2
    assert all(
        not torch.equal(a, b) for a, b in zip(start, trainer.mutator.parameters(), strict=True)
    )
    arch = trainer.export(tmp_path / "arch.json")
    assert arch == archsearch.search_space(model).validate(arch)
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    assert archsearch.fix(model, arch)(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    history = json.loads((tmp_path / "log" / "history.json").read_text())
    assert history["algorithm"] == "gdas" and len(history["epochs"]) == 2
    assert history["epochs"][-1]["architecture"] == arch
    assert set(trainer.arch_probabilities()) == {"op1", "op2", "skip"}
    assert 0.0 <= trainer.validate()["acc"] <= 1.0


def test_weight_step_changes_weights_not_alphas(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsNet()
    data = TensorDataset(torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,)))
    trainer = make_trainer(model, data, data, tmp_path, batch_size=8)
    trainer.arch_step = lambda batch: 0.0  # type: ignore[method-assign]
    alphas = [a.detach().clone() for a in trainer.mutator.parameters()]
    weights = [w.detach().clone() for w in model.parameters()]
    trainer.train_step(next(iter(trainer.training_batches())))
    for before, alpha in zip(alphas, trainer.mutator.parameters(), strict=True):
        assert alpha.grad is None and torch.equal(before, alpha)
    assert any(not torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))


def test_gdas_searches_value_choices(digits: Split, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsValueNet()
    trainer = make_trainer(model, digits.train, digits.test, tmp_path)
    trainer.num_epochs = 1
    mutator = trainer.mutator
    start = {label: mutator.alphas[label].detach().clone() for label in ("width", "kernel")}
    trainer.train()
    for label, alpha in start.items():  # the one-hot mixed layers pass gradients to the alphas
        assert not torch.equal(alpha, mutator.alphas[label])
    arch = trainer.export()
    assert arch["width"] in (4, 8, 12) and arch["kernel"] in (3, 5)
    assert archsearch.fix(model, arch)(torch.randn(2, 1, 8, 8)).shape == (2, 10)

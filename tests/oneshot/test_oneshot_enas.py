"""ENAS: the LSTM controller learns, samples valid paths, trains a supernet and resumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsNet, DigitsValueNet
from torch.utils.data import TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.oneshot import accuracy
from archsearch.oneshot.enas import EnasTrainer
from archsearch.oneshot.enas_controller import EnasMutator


def batch_accuracy(output: torch.Tensor, target: torch.Tensor) -> float:
    return accuracy(output, target)["acc"]


class ToyNet(nn.Module):
    """Two labels: `op` (3 candidates, only the last is rewarded) and `act` (not rewarded)."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4) for _ in range(3)], label="op")
        self.act = nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.op(x))


class WideNet(nn.Module):
    """Every kind of decision: a layer choice, k-of-n and any-subset inputs, a Repeat depth."""

    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4), nn.Identity()], label="op")
        self.pick2 = nn.InputChoice(n_candidates=4, n_chosen=2, label="pick2")
        self.any = nn.InputChoice(n_candidates=3, n_chosen=None, label="any")
        self.blocks = nn.Repeat(nn.Linear(4, 4), (1, 3), label="depth")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.op(x)
        x = self.pick2([x, 2 * x, 3 * x, 4 * x])
        y = self.any([x, -x, x * x])
        return self.blocks(x if y is None else y)


def make_trainer(
    digits: Split, log_dir: Path, epochs: int = 2, callbacks: list[Any] | None = None
) -> EnasTrainer:
    torch.manual_seed(0)
    model = DigitsNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return EnasTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        batch_accuracy,
        optimizer,
        epochs,
        digits.train,
        digits.test,
        batch_size=64,
        callbacks=callbacks,
        child_steps=6,
        mutator_steps=3,
        mutator_steps_aggregate=2,
        mutator_lr=0.01,
        log_dir=log_dir,
    )


def test_controller_learns_a_toy_reward(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ToyNet()
    # tanh_constant=1.5 caps P(one of 3) at 0.91; a wider range lets the test ask for a clear 0.9.
    mutator = EnasMutator(model, lstm_size=16, lstm_num_layers=1, tanh_constant=2.5)
    data = TensorDataset(torch.randn(8, 4), torch.zeros(8, dtype=torch.long))

    def reward(output: torch.Tensor, target: torch.Tensor) -> float:
        return float(mutator.decision_for("op")[2])  # 1 only when candidate 2 ran

    trainer = EnasTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        reward,
        torch.optim.SGD(model.parameters(), lr=0.1),
        1,
        data,
        data,
        mutator=mutator,
        batch_size=8,
        child_steps=0,
        mutator_steps=200,
        mutator_steps_aggregate=1,
        mutator_lr=0.02,
        baseline_decay=0.9,
        entropy_weight=0.0,
        test_arc_per_epoch=0,
        log_dir=tmp_path,
    )
    before = trainer.arch_probabilities()["op"]
    assert max(before) < 0.5
    trainer.train()
    assert trainer.arch_probabilities()["op"][2] > 0.9
    assert trainer.export()["op"] == "2"
    with torch.no_grad():
        hits = 0
        for _ in range(50):
            mutator.reset()
            hits += bool(mutator.decision_for("op")[2])
    assert hits >= 40


def test_samples_are_valid_architectures() -> None:
    torch.manual_seed(0)
    model = WideNet()
    mutator = EnasMutator(model)
    space = mutator.search_space
    assert space.labels == ["op", "pick2", "any", "depth"]
    seen: dict[str, set[str]] = {label: set() for label in space}
    for _ in range(40):
        mutator.reset()
        masks = {label: mutator.decision_for(label) for label in space}
        assert int(masks["op"].sum()) == 1 and int(masks["depth"].sum()) == 1
        assert int(masks["pick2"].sum()) == 2  # two distinct inputs (a mask cannot repeat one)
        arch = mutator.sampled_architecture()
        assert space.validate(arch) == arch
        for label, value in arch.items():
            seen[label].add(json.dumps(value))
        assert mutator.sample_log_prob.requires_grad
        assert mutator.sample_log_prob.item() < 0 and mutator.sample_entropy.item() > 0
        # Only the any-subset choice has a skip penalty, and a KL divergence is >= 0.
        assert mutator.sample_skip_penalty.item() >= 0
    # Sampling explores: every label took more than one value, the empty subset included.
    assert all(len(values) > 1 for values in seen.values())
    assert "[]" in seen["any"] or len(seen["any"]) >= 4
    arch = mutator.export()
    assert arch == mutator.export()  # greedy: deterministic
    fixed = archsearch.fix(model, arch)
    assert fixed(torch.randn(2, 4)).shape == (2, 4)
    probs = mutator.greedy_probabilities()
    assert [len(p) for p in probs.values()] == [2, 4, 3, 3]
    for label in ("op", "pick2", "depth"):
        assert sum(probs[label]) == pytest.approx(1.0)
    # The run under the sampled path works with the supernet too.
    mutator.reset()
    assert model(torch.randn(2, 4)).shape == (2, 4)


def test_trainer_searches_digits_and_exports_a_fixable_architecture(
    digits: Split, tmp_path: Path
) -> None:
    trainer = make_trainer(digits, tmp_path)
    controller_before = [p.detach().clone() for p in trainer.mutator.parameters()]
    trainer.train()
    assert trainer.epoch == 2
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["algorithm"] == "enas"
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    last = history["epochs"][-1]
    assert {"loss", "acc", "controller_reward", "controller_baseline"} <= set(last["train"])
    assert {"loss", "acc"} <= set(last["valid"])
    assert set(last["probabilities"]) == {"op1", "op2", "skip"}
    assert last["architecture"] == trainer.export()
    changed = [
        not torch.equal(a, b)
        for a, b in zip(controller_before, trainer.mutator.parameters(), strict=True)
    ]
    assert any(changed)
    arch = trainer.export(tmp_path / "arch.json")
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    fixed = trainer.fixed_model()
    assert fixed(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_missing_reward_function_is_a_clear_error(digits: Split) -> None:
    model = DigitsNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy
    with pytest.raises(TypeError, match="needs reward_function"):
        EnasTrainer(model, loss, accuracy, None, optimizer, 1, digits.train, digits.test)
    # Something that cannot be called (here the optimizer, one slot early) is refused too.
    with pytest.raises(TypeError, match="needs reward_function"):
        EnasTrainer(model, loss, accuracy, optimizer, optimizer, 1, digits.train, digits.test)  # type: ignore[arg-type]


def test_controller_and_model_parameters_are_disjoint(digits: Split, tmp_path: Path) -> None:
    trainer = make_trainer(digits, tmp_path)
    controller = {id(p) for p in trainer.mutator.parameters()}
    weights = {id(p) for p in trainer.model.parameters()}
    assert controller and weights and not controller & weights
    optimized = {id(p) for g in trainer.controller_optimizer.param_groups for p in g["params"]}
    assert optimized == controller


def test_auxiliary_head_and_foreign_mutator(tmp_path: Path) -> None:
    class AuxNet(ToyNet):
        def forward(self, x: torch.Tensor) -> Any:
            out = super().forward(x)
            return (out, out * 0.5) if self.training else out

    torch.manual_seed(0)
    model = AuxNet()
    data = TensorDataset(torch.randn(16, 4), torch.randint(0, 4, (16,)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    args = (torch.nn.functional.cross_entropy, accuracy, batch_accuracy, optimizer, 1, data, data)
    trainer = EnasTrainer(
        model,
        *args,
        batch_size=8,
        child_steps=2,
        mutator_steps=1,
        mutator_steps_aggregate=2,
        log_dir=tmp_path,
    )
    trainer.train()
    assert trainer.history[0]["train"]["loss"] > 0
    with pytest.raises(ValueError, match="model given to EnasTrainer"):
        EnasTrainer(model, *args, mutator=EnasMutator(ToyNet()), log_dir=tmp_path)


def test_value_choices_are_searched_as_categorical_decisions(digits: Split, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = DigitsValueNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    trainer = EnasTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        batch_accuracy,
        optimizer,
        1,
        digits.train,
        digits.test,
        child_steps=2,
        mutator_steps=1,
        mutator_steps_aggregate=2,
        log_dir=tmp_path,
    )
    trainer.train()
    probs = trainer.arch_probabilities()
    assert [len(probs[label]) for label in ("width", "kernel", "op")] == [3, 2, 2]
    assert trainer.fixed_model()(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def skewed_controller(model: nn.Module) -> EnasMutator:
    """A controller whose decisions are far from uniform and depend on the earlier ones."""
    torch.manual_seed(1)
    mutator = EnasMutator(model, lstm_size=16, lstm_num_layers=1, tanh_constant=5.0)
    with torch.no_grad():
        for param in mutator.parameters():
            param.uniform_(-1.5, 1.5)
    return mutator


def frequencies(paths: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """How often each candidate of each label was chosen, and each (op, last label) pair."""
    labels = list(paths[0])
    result = {label: torch.stack([p[label].float() for p in paths]).mean(0) for label in labels}
    pairs = torch.stack([torch.outer(p[labels[0]].float(), p[labels[-1]].float()) for p in paths])
    result["pair"] = pairs.mean(0).flatten()
    return result


@pytest.mark.parametrize(
    ("net", "walks", "tolerance"), [(ToyNet, 1500, 0.05), (WideNet, 400, 0.08)]
)
def test_presampled_paths_follow_the_controller_policy(
    net: type[nn.Module], walks: int, tolerance: float
) -> None:
    mutator = skewed_controller(net())
    walked = []
    for _ in range(walks):
        mutator.reset()  # with grad: one REINFORCE walk per path
        walked.append({label: mutator.decision_for(label) for label in mutator.search_space})
    mutator.presample(4 * walks)
    assert mutator.presampled == 4 * walks
    batched = []
    with torch.no_grad():
        for _ in range(4 * walks):
            mutator.reset()
            batched.append({label: mutator.decision_for(label) for label in mutator.search_space})
    assert mutator.presampled == 0
    assert torch.isnan(mutator.sample_log_prob)  # a pre-sampled path has no log-probability
    expected, found = frequencies(walked), frequencies(batched)
    # The skewed policy is far from uniform (and in ToyNet `act` depends strongly on `op`), so
    # a sampler ignoring the controller or the earlier decisions would fail.
    assert max(float(f.max() - f.min()) for f in expected.values()) > 0.5
    for key in expected:
        torch.testing.assert_close(found[key], expected[key], atol=tolerance, rtol=0)
    if net is ToyNet:  # the first decision's exact distribution
        first = torch.tensor(mutator.greedy_probabilities()["op"])
        torch.testing.assert_close(found["op"], first, atol=0.03, rtol=0)
    for path in batched[:50]:
        arch = {label: mask.tolist() for label, mask in path.items()}
        assert mutator.search_space.validate(arch)


def test_presampled_paths_are_dropped_when_the_controller_changes() -> None:
    mutator = skewed_controller(ToyNet())
    optimizer = torch.optim.SGD(mutator.parameters(), lr=0.1)
    mutator.presample(8)
    mutator.reset()  # with grad: a REINFORCE walk, the queue is left alone
    assert mutator.presampled == 8 and mutator.sample_log_prob.requires_grad
    with torch.no_grad():
        mutator.reset()
    assert mutator.presampled == 7
    mutator.reset()
    mutator.sample_log_prob.backward()
    optimizer.step()
    assert mutator.presampled == 0 and mutator.queued == ()
    with torch.no_grad():
        mutator.reset()  # a fresh walk of the changed controller
    assert not torch.isnan(mutator.sample_log_prob)
    mutator.presample(3)
    mutator.load_state_dict(mutator.state_dict())  # loading a state changes it too
    assert mutator.presampled == 0
    mutator.presample(3)
    mutator.clear_presampled()
    assert mutator.presampled == 0
    with pytest.raises(ValueError, match="count"):
        mutator.presample(0)


def test_child_phase_draws_its_paths_in_batches(digits: Split, tmp_path: Path) -> None:
    trainer = make_trainer(digits, tmp_path, epochs=1)
    trainer.presample = 4
    controller = trainer.mutator
    batch = next(iter(trainer.training_batches()))
    trainer.train_step(batch)
    assert controller.presampled == 3
    for left in (2, 1, 0, 3):
        trainer.train_step(batch)
        assert controller.presampled == left
    trainer.train()  # the child phase's paths left over are dropped before the controller's
    assert controller.presampled == 0 and trainer.epoch == 1
    with pytest.raises(ValueError, match="presample"):
        EnasTrainer(
            *(trainer.model, trainer.loss, accuracy, batch_accuracy, trainer.optimizer, 1),
            *(digits.train, digits.test),
            presample=0,
        )

"""NNI 2.x's Retiarii one-shot trainer signatures (`nni.retiarii.oneshot.pytorch`), accepted
beside NNI v1's: one `dataset` split as NNI splits it, `grad_clip`, `learning_rate`,
`arc_learning_rate`, `unrolled`, ENAS' `ctrl_*` and Proxyless' `ref_latency`; a call mixing the two
forms fails with one clear error. Also the value choice in MultiheadAttention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch.nn import functional as F
from torch.utils.data import Subset, TensorDataset

import archsearch
import archsearch.nn as nn
from archsearch.mutator import ReplayMutator
from archsearch.oneshot import (
    DartsTrainer,
    EnasTrainer,
    ProxylessTrainer,
    RandomTrainer,
    SinglePathTrainer,
    accuracy,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.op = nn.LayerChoice([nn.Linear(4, 4), nn.Identity()], label="op")
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1, label="skip")
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.skip([torch.tanh(self.op(x)), x]))


def data(n: int = 40) -> TensorDataset:
    return TensorDataset(torch.randn(n, 4), torch.randint(0, 3, (n,)))


def indices(dataset: Any) -> list[int]:
    assert isinstance(dataset, Subset)
    return list(dataset.indices)


def reward(output: torch.Tensor, target: torch.Tensor) -> float:
    return accuracy(output, target)["acc"]


def sgd(model: torch.nn.Module, lr: float = 0.05) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def test_darts_as_nni_2_documents_it(tmp_path: Path) -> None:
    # NNI's OneshotTrainer.rst example, keyword for keyword.
    model, dataset = Net(), data()
    trainer = DartsTrainer(
        model=model,
        loss=F.cross_entropy,
        metrics=lambda output, target: accuracy(output, target),
        optimizer=sgd(model),
        num_epochs=1,
        dataset=dataset,
        batch_size=8,
        log_frequency=10,
        unrolled=True,
        log_dir=tmp_path,
    )
    # NNI: weights on the first n // 2 items, the architecture on the rest.
    assert indices(trainer.dataset_weights) == list(range(20))
    assert indices(trainer.dataset_arch) == list(range(20, 40))
    assert indices(trainer.dataset_valid) == list(range(20, 40))
    assert trainer.unrolled and trainer.grad_clip == 5.0
    trainer.fit()
    assert set(trainer.export()) == {"op", "skip"}


def test_darts_positional_form_grad_clip_and_learning_rate(tmp_path: Path) -> None:
    model, dataset = Net(), data()
    trainer = DartsTrainer(
        model, F.cross_entropy, accuracy, sgd(model), 1, dataset, grad_clip=0.0,
        arc_learning_rate=1e-2, log_dir=tmp_path,
    )  # fmt: skip
    assert trainer.grad_clip is None  # NNI: 0 disables clipping
    assert trainer.arch_optimizer.param_groups[0]["lr"] == 1e-2
    assert indices(trainer.dataset_valid) == list(range(20, 40))
    with pytest.warns(UserWarning, match=r"learning_rate=0\.0025 is not used.*lr 0\.05"):
        DartsTrainer(
            model, F.cross_entropy, accuracy, sgd(model), 1, dataset=dataset,
            learning_rate=2.5e-3, log_dir=tmp_path,
        )  # fmt: skip
    with pytest.raises(TypeError, match=r"grad_clip in NNI 2\.x's signature.*by keyword"):
        DartsTrainer(model, F.cross_entropy, accuracy, sgd(model), 1, dataset, 5.0)


def test_mixing_the_two_forms_is_one_clear_error(tmp_path: Path) -> None:
    model, dataset = Net(), data()
    head = (model, F.cross_entropy, accuracy, sgd(model), 1)
    with pytest.raises(TypeError, match=r"either NNI 2\.x's dataset= .* not both"):
        DartsTrainer(*head, dataset_train=dataset, dataset=dataset)
    with pytest.raises(TypeError, match="dataset_train and dataset_valid, not both"):
        ProxylessTrainer(*head, dataset, dataset, dataset=dataset)
    with pytest.raises(TypeError, match="learning_rate belong"):
        DartsTrainer(*head, dataset, dataset, learning_rate=0.1, log_dir=tmp_path)
    with pytest.raises(TypeError, match="needs a dataset"):
        DartsTrainer(*head)
    enas = (model, F.cross_entropy, accuracy, reward, sgd(model), 1)
    with pytest.raises(TypeError, match="ctrl_lr belong"):
        EnasTrainer(*enas, dataset, dataset, ctrl_lr=0.1)
    with pytest.raises(TypeError, match=r"ctrl_lr .* and mutator_lr .* are the same setting"):
        EnasTrainer(*enas, dataset=dataset, ctrl_lr=0.1, mutator_lr=0.2)
    with pytest.raises(TypeError, match=r"unknown ctrl_kwargs \['entropy_reduction'\]"):
        EnasTrainer(*enas, dataset=dataset, ctrl_kwargs={"entropy_reduction": "sum"})
    with pytest.raises(TypeError, match=r"batch_size in NNI 2\.x's signature"):
        EnasTrainer(*enas, dataset, 64)


def test_enas_splits_as_nni_and_takes_its_controller_arguments(tmp_path: Path) -> None:
    model, dataset = Net(), data(41)
    trainer = EnasTrainer(
        model=model, loss=F.cross_entropy, metrics=accuracy, reward_function=reward,
        optimizer=sgd(model), num_epochs=1, dataset=dataset, batch_size=4, grad_clip=0.0,
        ctrl_lr=0.01, ctrl_steps_aggregate=2, ctrl_kwargs={"lstm_size": 16}, log_dir=tmp_path,
    )  # fmt: skip
    # NNI: the weights on all but the last n // 2 items, the controller on those.
    assert indices(trainer.dataset_train) == list(range(21))
    assert indices(trainer.dataset_valid) == list(range(21, 41))
    # An epoch is one pass over each part, the controller stepping every 2 batches.
    assert trainer.child_steps == 6 and trainer.mutator_steps == 5 // 2
    assert trainer.mutator_steps_aggregate == 2 and trainer.grad_clip is None
    assert trainer.controller_optimizer.param_groups[0]["lr"] == 0.01
    assert trainer.mutator.lstm_size == 16
    trainer.fit()
    assert set(trainer.export()) == {"op", "skip"}
    v1 = EnasTrainer(model, F.cross_entropy, accuracy, reward, sgd(model), 1, dataset, dataset)
    assert (v1.child_steps, v1.mutator_steps, v1.mutator_steps_aggregate) == (500, 50, 20)


def test_proxyless_takes_one_dataset_and_ref_latency(tmp_path: Path) -> None:
    model, dataset = Net(), data()
    trainer = ProxylessTrainer(
        model=model, loss=F.cross_entropy, metrics=accuracy, optimizer=sgd(model), num_epochs=1,
        dataset=dataset, warmup_epochs=0, batch_size=8, arc_learning_rate=1e-3,
        grad_reg_loss_type="mul#log", applied_hardware="params", ref_latency=65,
        log_dir=tmp_path,
    )  # fmt: skip
    assert trainer.grad_reg_loss_params["ref_value"] == 65
    assert indices(trainer.dataset_arch) == list(range(20, 40))
    with pytest.raises(TypeError, match=r"warmup_epochs in NNI 2\.x's signature"):
        ProxylessTrainer(model, F.cross_entropy, accuracy, sgd(model), 1, dataset, 2)
    with pytest.raises(TypeError, match=r"ref_latency .* same setting"):
        ProxylessTrainer(
            model, F.cross_entropy, accuracy, sgd(model), 1, dataset=dataset,
            grad_reg_loss_type="mul#log", grad_reg_loss_params={"ref_value": 5.0},
            ref_latency=65,
        )  # fmt: skip


def test_single_path_trainer_is_nnis_name_of_random() -> None:
    assert SinglePathTrainer is RandomTrainer


# ----- MultiheadAttention ---------------------------------------------------------------------


class Attention(nn.Module):
    def __init__(self, heads: Any) -> None:
        super().__init__()
        self.attn = heads
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.attn(x, x, x)[0].mean(1))


class SelfAttention(nn.Module):
    """A fixed MultiheadAttention that returns its output tensor only."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


class AttentionChoice(nn.Module):
    """What the refusal suggests: heads searched as a LayerChoice at one embedding size."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.LayerChoice([SelfAttention(2), SelfAttention(4)], label="heads")
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.attn(x).mean(1))


def test_a_value_choice_in_multihead_attention_is_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    value = nn.MultiheadAttention(8, nn.ValueChoice([2, 4], label="heads"), batch_first=True)
    model = Attention(value)
    for trainer in (RandomTrainer, DartsTrainer):
        with pytest.raises(TypeError, match=r"MultiheadAttention argument 'heads'.*LayerChoice"):
            trainer(model, F.cross_entropy, accuracy, sgd(model), 1, data(), data())
    # The suggested rewrite trains under a single-path and a differentiable trainer.
    sequences = TensorDataset(torch.randn(16, 5, 8), torch.randint(0, 3, (16,)))
    for trainer in (RandomTrainer, DartsTrainer):
        model = AttentionChoice()
        run = trainer(
            model, F.cross_entropy, accuracy, sgd(model), 1, sequences, sequences,
            batch_size=8, log_dir=tmp_path,
        )  # fmt: skip
        run.fit()
        arch = run.export()
        fixed = archsearch.fix(model, arch, inherit_weights=True).eval()
        ReplayMutator(model, arch)
        x = torch.randn(2, 5, 8)
        assert torch.allclose(fixed(x), model.eval()(x), atol=1e-6)

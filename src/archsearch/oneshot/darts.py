"""DARTS (Liu, Simonyan & Yang, 2019): every choice becomes a softmax-weighted mixture of its
candidates, and the mixture weights (the "alphas") are learned by gradient descent on held-out
data, alternating with ordinary weight steps.

The architecture gradient is first order by default (∇α L_val(w, α)). With `unrolled=True` it is
the paper's second-order approximation: the validation loss is taken after one virtual weight
step w' = w − ξ ∇w L_train(w, α), and the mixed second derivative through that step is estimated
by a central finite difference. Virtual and perturbed weights are passed to the model with
`torch.func.functional_call`, so the real weights are never written to (nothing to restore, no
rounding left behind) and BatchNorm running statistics of those passes go to scratch copies.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence, Sized
from typing import Any

import torch
from torch.func import functional_call
from torch.utils.data import Dataset

from archsearch.nn import InputChoice, LayerChoice, Repeat
from archsearch.oneshot import retiarii_args
from archsearch.oneshot.alphas import AlphaMutator
from archsearch.oneshot.base import Metrics
from archsearch.oneshot.bilevel import BilevelTrainer
from archsearch.oneshot.callbacks import Callback
from archsearch.space import InputChoiceDim

FD_RADIUS = 0.01
"""Length of the finite-difference step in weight space: w± = w ± ε·v with ε = 0.01 / ‖v‖."""

Batch = tuple[torch.Tensor, torch.Tensor]


class DartsMutator(AlphaMutator):
    """One vector of architecture logits (alphas) per label; decisions are their softmax.

    Every label of the search space gets alphas — LayerChoice, InputChoice and value labels
    (Repeat depths, ValueChoice layer arguments) — initialised to 1e-3·N(0, 1), in
    `self.alphas` (`Alphas`: `mutator.alphas[label]`). `mutator.parameters()` is exactly the
    alphas.

    `decision_for` computes a fresh softmax on every call, so each forward pass builds its own
    graph back to the alphas (a softmax cached at `reset()` would be freed by the first
    backward). A Repeat runs at the argmax depth (the default `Mutator.on_forward_repeat`): its
    depth is exported from its alphas but receives no gradient from the mixture.

    Export: the argmax candidate for layer and value labels; for an InputChoice the `n_chosen`
    inputs of highest weight, or with `n_chosen=None` every input weighted above uniform (1/n),
    at least the top one. Ties go to the lower index.
    """

    def decision_for(self, label: str) -> torch.Tensor:
        return torch.softmax(self.alphas[label], dim=-1)

    def sample_search(self) -> dict[str, torch.Tensor]:
        return self.probabilities()

    def sample_final(self) -> dict[str, torch.Tensor]:
        masks = {}
        for label, probs in self.probabilities().items():
            weights = probs.tolist()
            ranked = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
            dim = self.search_space[label]
            if isinstance(dim, InputChoiceDim) and dim.n_chosen is None:
                # Clearly above uniform: a uniform softmax rounds some entries up past 1/n.
                above = (1 + 1e-5) / len(weights)
                chosen = [i for i in ranked if weights[i] > above] or ranked[:1]
            elif isinstance(dim, InputChoiceDim):
                chosen = ranked[: dim.n_chosen]
            else:
                chosen = ranked[:1]
            masks[label] = torch.tensor([i in chosen for i in range(len(weights))])
        return masks


class DartsTrainer(BilevelTrainer[DartsMutator]):
    """DARTS search (NNI's signature). `dataset_train` is split in two fixed halves: the first
    trains the weights, the second the architecture. Each step takes one batch of each: an
    architecture step (Adam on the alphas, betas (0.5, 0.999), `arc_weight_decay`), then a weight
    step (`optimizer`, gradients clipped to norm `grad_clip`; None disables clipping).

    `unrolled=True` uses the second-order gradient; ξ is the weight optimizer's current learning
    rate (per parameter group). For `torch.optim.SGD` the virtual step is SGD's own update —
    momentum buffer, dampening, Nesterov and weight decay included; for any other optimizer it
    is a plain gradient step (the paper's approximation). Gradient clipping is not simulated.

    `mutator` may be a DartsMutator (or subclass) already bound to `model`; models with value
    choices as layer arguments need the default, built after the supernet conversion.

    NNI 2.x's signature is accepted too: `dataset=` (one dataset: weights on its first half, the
    architecture on the second, which also validates each epoch), `grad_clip` (0 disables) and
    `learning_rate` (unused, as in NNI: the optimizer's own applies; a differing value warns).
    """

    algorithm = "darts"
    value_choices = "mix"
    supported = (LayerChoice, InputChoice, Repeat)

    def __init__(
        self,
        model: torch.nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        metrics: Metrics,
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset[Any] | None = None,
        dataset_valid: Dataset[Any] | None = None,
        mutator: DartsMutator | None = None,
        batch_size: int = 64,
        workers: int = 0,
        device: str | torch.device | None = None,
        log_frequency: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        arc_learning_rate: float = 3.0e-4,
        unrolled: bool = False,
        *,
        arc_weight_decay: float = 1e-3,
        grad_clip: float | None = 5.0,
        log_dir: str | os.PathLike[str] | None = None,
        dataset: Dataset[Any] | None = None,
        learning_rate: float | None = None,
        devices: int | None = None,
    ) -> None:
        dataset_train, dataset_valid, _ = retiarii_args.datasets(
            "DartsTrainer", dataset_train, dataset_valid, dataset, split="bilevel",
            after_dataset="grad_clip", retiarii_only={"learning_rate": learning_rate},
        )  # fmt: skip
        retiarii_args.check_learning_rate("DartsTrainer", learning_rate, optimizer)
        if not isinstance(dataset_train, Sized) or len(dataset_train) < 2:
            raise ValueError("DartsTrainer needs a dataset_train with a length of at least 2")
        super().__init__(
            model, loss, metrics, optimizer, num_epochs, dataset_train, dataset_valid,
            batch_size, workers, device, log_frequency, callbacks, log_dir=log_dir,
            devices=devices,
        )  # fmt: skip
        if mutator is not None:
            self.use_mutator(mutator, DartsMutator)
        self.unrolled = unrolled
        self.grad_clip = retiarii_args.clip_norm("DartsTrainer", grad_clip)
        self.arch_optimizer = self.arch_adam(
            arc_learning_rate, (0.5, 0.999), weight_decay=arc_weight_decay
        )

    def build_mutator(self) -> DartsMutator:
        return DartsMutator(self.model)

    def train_step(self, batch: Any) -> dict[str, float]:
        weight_batch, arch_batch = batch
        x, y = self.to_device(weight_batch)
        self.arch_step((x, y), self.to_device(arch_batch))
        weights = self._weights()
        self.optimizer.zero_grad()
        output = self.model(x)
        loss = self.loss(output, y)
        # Only the weights collect gradients here: the alphas learn from the architecture step.
        loss.backward(inputs=weights)
        self.optimizer_step(self.optimizer, weights, self.grad_clip)
        return {"loss": loss.item(), **self.metrics(output.detach(), y)}

    def arch_step(self, train_batch: Batch, valid_batch: Batch) -> float:
        """One architecture update from a weight batch (used by the unrolled gradient) and an
        architecture batch; returns the validation loss it saw. Weights are not changed."""
        self.arch_optimizer.zero_grad()
        loss = self.arch_backward(train_batch, valid_batch)
        self.optimizer_step(self.arch_optimizer, self.mutator.parameters())
        return loss

    def arch_backward(self, train_batch: Batch, valid_batch: Batch) -> float:
        """Add the architecture gradient (first or second order) to the alphas' `.grad`.

        Weights and their `.grad` are left untouched. Returns the validation loss (at w, or at the
        virtual weights w' when unrolled)."""
        alphas = list(self.mutator.parameters())
        if not alphas:  # nothing to search
            return math.nan
        if not self.unrolled:
            x, y = valid_batch
            loss = self.loss(self.model(x), y)
            loss.backward(inputs=alphas)
            return loss.item()
        grads, value = self.unrolled_gradient(train_batch, valid_batch)
        for alpha, grad in zip(alphas, grads, strict=True):
            if grad is not None:
                alpha.grad = grad if alpha.grad is None else alpha.grad + grad
        return value

    def unrolled_gradient(
        self, train_batch: Batch, valid_batch: Batch
    ) -> tuple[list[torch.Tensor | None], float]:
        """The second-order DARTS gradient per alpha (None where an alpha has no influence) and
        the validation loss at w':

            ∇α L_val(w', α) − ∇²_{α,w} L_train(w, α) · u,   u = (∂w'/∂∇w L_train)ᵀ ∇_{w'} L_val,

        which for plain SGD is u = ξ ∇_{w'} L_val. The Hessian-vector product is the central
        difference (∇α L_train(w + εu) − ∇α L_train(w − εu)) / 2ε with ε = FD_RADIUS / ‖u‖.
        The same dropout randomness is replayed for the three passes over the weight batch."""
        alphas = list(self.mutator.parameters())
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        names = [n for n, _ in named]
        weights = [p for _, p in named]
        # Scratch running statistics: BatchNorm updates from virtual weights are thrown away.
        scratch = {n: b.detach().clone() for n, b in self.model.named_buffers()}

        def loss_at(params: Sequence[torch.Tensor], batch: Batch) -> torch.Tensor:
            x, y = batch
            state = {**scratch, **dict(zip(names, params, strict=True))}
            return self.loss(functional_call(self.model, state, (x,)), y)

        randomness = _RngState(self.device)
        local = torch.autograd.grad(loss_at(weights, train_batch), weights, allow_unused=True)
        # On several ranks the virtual step and the finite-difference direction are global (the
        # gradients averaged), so every rank moves its weights alike; `arch_step` averages the
        # alphas' gradient, linear in the ranks' shares from here on.
        train_grads = self.ranks.average(local, weights)
        shifted, coefs = self._virtual_step(weights, train_grads)
        valid_loss = loss_at(shifted, valid_batch)
        found = torch.autograd.grad(valid_loss, [*alphas, *shifted], allow_unused=True)
        direct: list[torch.Tensor | None] = list(found[: len(alphas)])
        v = self.ranks.average(found[len(alphas) :], weights)
        after = _RngState(self.device)
        with torch.no_grad():
            u = [None if g is None or c == 0 else c * g for g, c in zip(v, coefs, strict=True)]
            norm = math.sqrt(sum(float(x.pow(2).sum()) for x in u if x is not None))
        if norm > 0:
            eps = FD_RADIUS / norm
            ends = []
            for sign in (1.0, -1.0):
                with torch.no_grad():
                    moved = [
                        w.detach() if d is None else w.detach() + (sign * eps) * d
                        for w, d in zip(weights, u, strict=True)
                    ]
                randomness.restore()
                ends.append(
                    torch.autograd.grad(loss_at(moved, train_batch), alphas, allow_unused=True)
                )
            after.restore()
            for i, (plus, minus) in enumerate(zip(*ends, strict=True)):
                if plus is not None and minus is not None:
                    hvp = (plus - minus) / (2 * eps)
                    direct[i] = -hvp if direct[i] is None else direct[i] - hvp
        return direct, valid_loss.item()

    def _virtual_step(
        self, weights: Sequence[torch.Tensor], grads: Sequence[torch.Tensor | None]
    ) -> tuple[list[torch.Tensor], list[float]]:
        """w' for each weight (a fresh leaf) and the scalar c with ∂w'/∂(∇w L) = −c."""
        groups = {id(p): g for g in self.optimizer.param_groups for p in g["params"]}
        sgd = isinstance(self.optimizer, torch.optim.SGD)
        shifted: list[torch.Tensor] = []
        coefs: list[float] = []
        with torch.no_grad():
            for w, g in zip(weights, grads, strict=True):
                group = groups.get(id(w))
                if group is None or g is None:  # not optimized, or skipped by step(): w' = w
                    shifted.append(w.detach().requires_grad_())
                    coefs.append(0.0)
                    continue
                lr = float(group["lr"])
                if sgd:
                    step, c = _sgd_step(w, g, group, self.optimizer.state.get(w, {}))
                else:
                    step, c = g, 1.0
                shifted.append((w - lr * step).requires_grad_())
                coefs.append(lr * c)
        return shifted, coefs

    def _weights(self) -> list[torch.Tensor]:
        return [p for p in self.model.parameters() if p.requires_grad]


def _sgd_step(
    w: torch.Tensor, grad: torch.Tensor, group: dict[str, Any], state: dict[str, Any]
) -> tuple[torch.Tensor, float]:
    """The direction torch.optim.SGD would step along (w ← w − lr·d) and ∂d/∂grad (a scalar)."""
    sign = -1.0 if group.get("maximize", False) else 1.0
    d = sign * grad
    if group["weight_decay"]:
        d = d + group["weight_decay"] * w
    c = sign
    momentum = group["momentum"]
    if momentum:
        buf = state.get("momentum_buffer")
        if buf is None:  # SGD's first step starts the buffer at d itself
            new_buf, dbuf = d, 1.0
        else:
            new_buf, dbuf = momentum * buf + (1 - group["dampening"]) * d, 1 - group["dampening"]
        if group["nesterov"]:
            d, c = d + momentum * new_buf, c * (1 + momentum * dbuf)
        else:
            d, c = new_buf, c * dbuf
    return d, c


class _RngState:
    """The global random state (CPU and the trainer's CUDA device) at construction."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state(device) if device.type == "cuda" else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state(self.cuda, self.device)

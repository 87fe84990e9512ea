"""GDAS (Dong & Yang, 2019): DARTS-style search in which every forward runs one sampled path.

Each label has architecture logits α. At `reset()` fresh noise is drawn per label; a decision
is then the hard sample of the perturbed logits (α + noise) / τ with a straight-through gradient,
`hard + (soft − soft.detach())`: its forward value is exactly the hard mask (one-hot: only the
chosen candidate runs, multiplied by exactly 1.0) and its backward is that of the tempered
softmax, so the alphas learn from a single-path forward. The temperature τ anneals linearly per
epoch from `tau_max` to `tau_min`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import Any

import torch
from torch.utils.data import Dataset

from archsearch.nn import InputChoice, LayerChoice, Repeat
from archsearch.oneshot.alphas import AlphaMutator
from archsearch.oneshot.base import Metrics
from archsearch.oneshot.bilevel import BilevelTrainer
from archsearch.oneshot.callbacks import Callback
from archsearch.space import InputChoiceDim, ValueChoiceDim

_TINY = 1e-10
"""Keeps log(−log U) finite when U is drawn as exactly 0 or 1."""


class GdasMutator(AlphaMutator):
    """Gumbel-softmax decisions over every label: LayerChoice, InputChoice and value labels
    (ValueChoice layer arguments, Repeat depths). Alphas start at 1e-3·N(0, 1) in `self.alphas`
    (`Alphas`: `mutator.alphas[label]`).

    `reset()` draws the noise once per label, so every module sharing a label in the following
    forward passes sees the same sample; the mask itself is rebuilt from α, noise and the
    current `tau` on every `decision_for` call, so each forward has its own graph back to the
    alphas (several forward/backward passes per reset are fine). Call `reset()` before every
    step for a fresh sample.

    Samples: categorical labels take the argmax of (α + Gumbel) / τ; an InputChoice with
    `n_chosen=k` the top k (Gumbel top-k: k picks without replacement); with `n_chosen=None`
    each input is kept independently when (α_i + Logistic) / τ > 0 (a binary Gumbel-sigmoid),
    at least the top one. A Repeat runs its sampled depth without a gradient (its depth is not
    a weighted sum). Export: the argmax (top k; for `n_chosen=None` every input with α_i > 0,
    at least the top one) without noise, ties to the lower index.
    """

    _logistic: torch.Tensor

    def __init__(self, model: torch.nn.Module, tau: float = 10.0) -> None:
        super().__init__(model)
        self.tau = tau
        """Temperature of the relaxed samples (> 0)."""
        self._noise: dict[str, torch.Tensor] = {}
        self._picks: dict[str, torch.Tensor] = {}
        self._straight_through = True
        self._plain: dict[str, torch.Tensor] = {}
        """The decisions of a reset without straight-through part (see `reset`)."""
        dims = list(self.search_space.values())
        self._sizes = [dim.mask_size for dim in dims]
        self._picks_per_label = [
            dim.n_chosen if isinstance(dim, InputChoiceDim) and dim.n_chosen else 1 for dim in dims
        ]
        self._values = [isinstance(dim, ValueChoiceDim) for dim in dims]
        self._independent = {
            dim.label for dim in dims if isinstance(dim, InputChoiceDim) and dim.n_chosen is None
        }
        """Labels of `n_chosen=None` inputs: each input is kept or dropped on its own."""
        entries = [dim.label in self._independent for dim in dims for _ in range(dim.mask_size)]
        # Which entries of the concatenated alphas get Logistic rather than Gumbel noise.
        self.register_buffer("_logistic", torch.tensor(entries, dtype=torch.bool), persistent=False)

    def probabilities(self) -> dict[str, torch.Tensor]:
        """softmax(α) per label (sigmoid(α) per input for `n_chosen=None`), detached."""
        return self.alphas.probabilities(self._independent)

    def reset(self, straight_through: bool = True) -> None:
        """Draw new noise for every label (the next sample) and apply it.

        With `straight_through=False` the following forwards run the same picks without the
        straight-through part: LayerChoice and InputChoice decisions are the bool picks (the
        chosen outputs are used as they are, not multiplied by a weight of 1.0), value labels
        are one-hot floats without gradient. Outputs and weight gradients are unchanged, but no
        gradient reaches the alphas: for steps that train only the weights.
        """
        if self.tau <= 0:
            raise ValueError(f"the temperature must be > 0, got {self.tau}")
        labels = self.search_space.labels
        if not labels:
            self._noise, self._picks, self._plain, self._cache = {}, {}, {}, {}
            return
        with torch.no_grad():
            # All labels at once: one draw, and one host read of the perturbed logits.
            alphas = torch.cat([self.alphas[label] for label in labels])
            u = torch.rand_like(alphas).clamp_(_TINY, 1 - _TINY)
            noise = -torch.log(-torch.log(u))  # Gumbel(0, 1)
            if self._independent:
                noise = torch.where(self._logistic, torch.log(u) - torch.log1p(-u), noise)
            logits = ((alphas + noise) / self.tau).tolist()
        # The hard pick is fixed at reset (it is the sample); only the soft part that carries
        # the gradient is rebuilt per forward.
        chosen: list[bool] = []
        start = 0
        for label, size, k in zip(labels, self._sizes, self._picks_per_label, strict=True):
            chosen += _pick(logits[start : start + size], k, label in self._independent)
            start += size
        hard = torch.tensor(chosen, dtype=torch.bool).to(alphas.device)
        self._noise = dict(zip(labels, noise.split(self._sizes), strict=True))
        self._picks = dict(zip(labels, hard.split(self._sizes), strict=True))
        self._cache = dict(self._picks)  # built from the search space: already checked
        self._straight_through = straight_through
        if not straight_through:
            self._plain = {
                label: pick.float() if value else pick
                for (label, pick), value in zip(self._picks.items(), self._values, strict=True)
            }

    def sample_search(self) -> dict[str, torch.Tensor]:
        return dict(self._picks)

    def sample_final(self) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            return {label: self._hard(label, self.alphas[label]) for label in self.search_space}

    def decision_for(self, label: str) -> torch.Tensor:
        if label not in self._noise:
            raise RuntimeError(
                f"no decision for {label!r} yet: call mutator.reset() before forward"
            )
        if not self._straight_through:
            return self._plain[label]
        if self.tau <= 0:
            raise ValueError(f"the temperature must be > 0, got {self.tau}")
        logits = (self.alphas[label] + self._noise[label]) / self.tau
        soft = torch.sigmoid(logits) if label in self._independent else torch.softmax(logits, -1)
        hard = self._picks[label].to(soft.dtype)
        # Added in this order the forward value is exactly `hard`: soft − soft.detach() is 0.
        return hard + (soft - soft.detach())

    def _hard(self, label: str, logits: torch.Tensor) -> torch.Tensor:
        """The multi-hot pick from (perturbed) logits; ties to the lower index (the export; a
        reset picks on the host with `_pick`, after one read of every label's logits)."""
        dim = self.search_space[label]
        # A stable sort keeps equal logits in index order (topk promises no order for ties).
        order = torch.sort(logits, descending=True, stable=True).indices
        if label in self._independent:
            mask = logits > 0
            mask[order[0]] = True  # at least the top input: an empty choice has no output
            return mask
        k = dim.n_chosen if isinstance(dim, InputChoiceDim) and dim.n_chosen else 1
        mask = torch.zeros_like(logits, dtype=torch.bool)
        mask[order[:k]] = True
        return mask


def _pick(logits: list[float], k: int, independent: bool) -> list[bool]:
    """`GdasMutator._hard` on the host, for one label's perturbed logits."""
    order = sorted(range(len(logits)), key=logits.__getitem__, reverse=True)  # stable: ties
    if independent:
        mask = [value > 0 for value in logits]
        mask[order[0]] = True
        return mask
    top = set(order[:k])
    return [i in top for i in range(len(logits))]


class GdasTrainer(BilevelTrainer[GdasMutator]):
    """GDAS search. `dataset_train` is split in two fixed halves, as DARTS does; each step takes
    an architecture step on a batch of the second half (first-order: ∇α L_val of one sampled
    path, Adam with betas (0.5, 0.999) and `arc_weight_decay`), then a weight step on a batch of
    the first half (a fresh sample, `optimizer`, gradients clipped to norm `grad_clip`; None
    disables clipping).

    The temperature of epoch e is τ_max − (τ_max − τ_min)·e / (num_epochs − 1) (τ_max for a
    single epoch); it is set at the start of each epoch, reported as the "temperature" metric
    and checkpointed. `validate()` scores the current argmax architecture; `export()` returns it.
    """

    algorithm = "gdas"
    value_choices = "mix"
    supported = (LayerChoice, InputChoice, Repeat)

    def __init__(
        self,
        model: torch.nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        metrics: Metrics,
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset[Any],
        dataset_valid: Dataset[Any],
        batch_size: int = 64,
        workers: int = 0,
        device: str | torch.device | None = None,
        log_frequency: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        arc_learning_rate: float = 3.0e-4,
        *,
        arc_weight_decay: float = 1e-3,
        grad_clip: float | None = 5.0,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        log_dir: str | os.PathLike[str] | None = None,
        devices: int | None = None,
    ) -> None:
        if not isinstance(dataset_train, Sized) or len(dataset_train) < 2:
            raise ValueError("GdasTrainer needs a dataset_train with a length of at least 2")
        if not 0 < tau_min <= tau_max:
            raise ValueError(f"need 0 < tau_min <= tau_max, got {tau_min} and {tau_max}")
        super().__init__(
            model, loss, metrics, optimizer, num_epochs, dataset_train, dataset_valid,
            batch_size, workers, device, log_frequency, callbacks, log_dir=log_dir,
            devices=devices,
        )  # fmt: skip
        self.grad_clip = grad_clip
        self.tau_max = tau_max
        self.tau_min = tau_min
        self._weights = list(self.model.parameters())
        """The model's parameters (listed once: walking the module tree every step is slow)."""
        self.arch_optimizer = self.arch_adam(
            arc_learning_rate, (0.5, 0.999), weight_decay=arc_weight_decay
        )

    def temperature(self, epoch: int) -> float:
        """The temperature of epoch `epoch` (0-based) under the linear schedule."""
        if self.num_epochs < 2:
            return self.tau_max
        fraction = min(max(epoch, 0), self.num_epochs - 1) / (self.num_epochs - 1)
        return self.tau_max - (self.tau_max - self.tau_min) * fraction

    def build_mutator(self) -> GdasMutator:
        return GdasMutator(self.model, tau=self.temperature(0))

    def extra_state(self) -> dict[str, Any]:
        return {"temperature": self.mutator.tau}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.mutator.tau = float(state["temperature"])

    def validate(self) -> dict[str, float]:
        return self.evaluate_architecture(self.export())

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        self.mutator.tau = self.temperature(epoch)
        return super().train_one_epoch(epoch)

    def train_step(self, batch: Any) -> dict[str, float]:
        weight_batch, arch_batch = batch
        arch_loss = self.arch_step(self.to_device(arch_batch))
        x, y = self.to_device(weight_batch)
        # Only the weights learn here (the alphas learn from the architecture step), so the
        # forward is the same one-path forward without the straight-through part: it has no
        # path to the alphas, and a plain backward reaches only the weights.
        with self.ranks.shared_random():
            self.mutator.reset(straight_through=False)
        self.optimizer.zero_grad()
        output = self.model(x)
        loss = self.loss(output, y)
        loss.backward()
        self.optimizer_step(self.optimizer, self._weights, self.grad_clip)
        return {
            "loss": loss.item(),
            **self.metrics(output.detach(), y),
            "arch_loss": arch_loss,
            "temperature": self.mutator.tau,
        }

    def arch_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> float:
        """One architecture update on a freshly sampled path; returns its loss. Weights and
        their `.grad` are not changed."""
        alphas = list(self.mutator.parameters())
        x, y = batch
        with self.ranks.shared_random():
            self.mutator.reset()
        self.arch_optimizer.zero_grad()
        loss = self.loss(self.model(x), y)
        if alphas:
            loss.backward(inputs=alphas)
            self.optimizer_step(self.arch_optimizer, alphas)
        return loss.item()

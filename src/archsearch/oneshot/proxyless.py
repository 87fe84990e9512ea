"""ProxylessNAS (Cai, Zhu & Han, 2019): binary-gated single-path training with a cost-aware
architecture objective.

Each LayerChoice label has architecture logits α (probabilities p = softmax(α)). A weight step
samples one path per label from p and runs only that path. An architecture step uses the paper's
two-path trick: two distinct paths S = {a, b} are sampled from p, a one-hot binary gate g picks
one of them from the renormalised probabilities p'_j = exp(α_j) / Σ_{k∈S} exp(α_k), and the
choice outputs Σ_{j∈S} g_j·o_j, computing the outputs of those two paths only. The gate
gradient ∂L/∂g_j = <∂L/∂y, o_j> is therefore available for both paths (the inactive one adds
nothing to the forward value but its output is known), and the paper's estimator restricted to S,

    ∂L/∂α_i = Σ_{j∈S} ∂L/∂g_j · p'_j (δ_ij − p'_i)   for i ∈ S,  0 otherwise,

is exactly the softmax Jacobian applied to the gate gradient, so it is implemented as a
straight-through gate `g + (p' − p'.detach())` (forward value exactly g). After each update the
sampled pair's α are shifted by one constant so that their log-sum-exp is unchanged: the
estimator only compares the two sampled paths, so the step must not move probability between
them and the paths that were not sampled (the paper's rescaling). A cost regulariser's gradient
is exact over all candidates, so with one the unsampled alphas move too; the rescaling still
keeps the pair's total probability mass relative to the old logits.

The optional cost regulariser uses E[cost] = Σ_labels Σ_i p_i·cost_i over the full softmax (exact
and cheap): "add#linear" adds λ·E[cost] to the loss, "mul#log" multiplies it by
α·(log E[cost] / log ref_value)^β.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import Any

import torch
from torch.utils.data import Dataset

from archsearch.nn import InputChoice, LayerChoice
from archsearch.oneshot import retiarii_args
from archsearch.oneshot.alphas import AlphaMutator
from archsearch.oneshot.base import Metrics
from archsearch.oneshot.batches import Paired
from archsearch.oneshot.bilevel import BilevelTrainer
from archsearch.oneshot.callbacks import Callback
from archsearch.oneshot.cost_table import CostTable, count_parameters, measure_latency
from archsearch.space import InputChoiceDim, LayerChoiceDim

REG_LOSS_TYPES = ("add#linear", "mul#log")


class ProxylessMutator(AlphaMutator):
    """Binary gates over the candidates of every LayerChoice, with learnable logits per label.

    `reset()` (or `reset(num_paths=1)`) samples one active path per label from softmax(α):
    decisions are boolean one-hot masks and nothing reaches the alphas. `reset(num_paths=2)`
    samples the two-path architecture-step gates described in the module docstring; a forward
    then runs both sampled paths and a backward fills the alphas' `.grad`. Alphas start at 0
    (uniform probabilities), live in `self.alphas` (`Alphas`: `mutator.alphas[label]`), and are
    exported by argmax (ties to the lower index). LayerChoice and InputChoice with `n_chosen=1`
    (gates over its inputs, as over a LayerChoice's candidates) can be searched.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model, std=0.0)
        for label, dim in self.search_space.items():
            if isinstance(dim, InputChoiceDim) and dim.n_chosen != 1:
                raise TypeError(
                    f"ProxylessMutator: InputChoice {label!r} chooses n_chosen={dim.n_chosen} "
                    "inputs, but binary gates pick exactly one: give it n_chosen=1, or search it "
                    "with DartsTrainer, EnasTrainer or SposTrainer"
                )
            if not isinstance(dim, LayerChoiceDim | InputChoiceDim):
                raise TypeError(
                    f"ProxylessMutator supports LayerChoice and InputChoice; ValueChoice/Repeat "
                    f"{label!r} cannot be searched with binary gates"
                )
        self._sampled: dict[str, list[int]] = {}
        self._active: dict[str, int] = {}

    def reset(self, num_paths: int = 1) -> None:
        """Sample `num_paths` distinct paths per label (1: weight step, 2: architecture step)
        and the active one among them."""
        if num_paths not in (1, 2):
            raise ValueError(f"num_paths must be 1 or 2, got {num_paths}")
        self._sampled, self._active = {}, {}
        for label, probs in self.probabilities().items():
            # Without replacement needs that many candidates of non-zero probability.
            count = min(num_paths, int(torch.count_nonzero(probs)))
            paths = torch.multinomial(probs, count).tolist()
            within = torch.multinomial(probs[paths], 1).item() if len(paths) > 1 else 0
            self._sampled[label] = sorted(paths)
            self._active[label] = int(paths[int(within)])
        super().reset()

    def sample_search(self) -> dict[str, torch.Tensor]:
        return {label: self._one_hot(label, i) for label, i in self._active.items()}

    def sample_final(self) -> dict[str, torch.Tensor]:
        # Ties go to the lower index (export must be deterministic).
        return {
            label: self._one_hot(label, probs.tolist().index(max(probs.tolist())))
            for label, probs in self.probabilities().items()
        }

    def decision_for(self, label: str) -> torch.Tensor:
        mask = super().decision_for(label)
        paths = self._sampled.get(label, [])
        if len(paths) < 2:
            return mask
        # Built per call, so each forward has its own graph back to the alphas.
        alpha = self.alphas[label]
        outside = torch.ones_like(mask)
        outside[paths] = False
        renormalised = torch.softmax(alpha.masked_fill(outside, -math.inf), -1)
        return mask.to(alpha.dtype) + (renormalised - renormalised.detach())

    def on_forward_layer_choice(
        self, mutable: LayerChoice, *args: Any, **kwargs: Any
    ) -> tuple[Any, torch.Tensor]:
        gate = self.decision(mutable)
        if gate.dtype == torch.bool:
            return super().on_forward_layer_choice(mutable, *args, **kwargs)
        # Both sampled paths run, the inactive one with gate 0: its output is what gives
        # ∂L/∂g for that path.
        outputs = [gate[i] * mutable[i](*args, **kwargs) for i in self._sampled[mutable.label]]
        return torch.stack(outputs).sum(0), gate

    def on_forward_input_choice(
        self, mutable: InputChoice, tensor_list: list[torch.Tensor]
    ) -> tuple[Any, torch.Tensor]:
        gate = self.decision(mutable)
        if gate.dtype == torch.bool:
            return super().on_forward_input_choice(mutable, tensor_list)
        # As for a LayerChoice: both sampled inputs, the inactive one gated by 0 (one input is
        # chosen, so every reduction of it is the input itself).
        outputs = [gate[i] * tensor_list[i] for i in self._sampled[mutable.label]]
        return torch.stack(outputs).sum(0), gate

    @torch.no_grad()
    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of every label's alphas, for `rescale` after an optimizer step."""
        return {label: self.alphas[label].detach().clone() for label in self.search_space}

    @torch.no_grad()
    def rescale(self, before: Mapping[str, torch.Tensor]) -> None:
        """Shift each sampled pair's alphas so their log-sum-exp equals that in `before`."""
        for label, paths in self._sampled.items():
            if len(paths) > 1:
                alpha = self.alphas[label]
                offset = alpha[paths].logsumexp(0) - before[label][paths].logsumexp(0)
                alpha[paths] -= offset

    def expected_cost(self, table: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Σ_labels Σ_i softmax(α)_i · table[label][i], differentiable in the alphas."""
        terms = [torch.softmax(self.alphas[label], -1) @ costs for label, costs in table.items()]
        return torch.stack(terms).sum()

    def _one_hot(self, label: str, index: int) -> torch.Tensor:
        mask = torch.zeros(self.search_space[label].size(), dtype=torch.bool)
        mask[index] = True
        return mask.to(self.alphas[label].device)


class ProxylessTrainer(BilevelTrainer[ProxylessMutator]):
    """ProxylessNAS search (NNI's signature). `dataset_train` is split in two fixed halves, as
    DARTS does: each step takes a weight step on a batch of the first half (one sampled path,
    `optimizer`) and then an architecture step on a batch of the second (two-path gates, Adam on
    the alphas with lr `arc_learning_rate`, betas (0, 0.999)). The first `warmup_epochs` of the
    `num_epochs` train the weights only, on the whole `dataset_train`.

    `grad_reg_loss_type` ("add#linear", "mul#log" or None) adds the cost regulariser to the
    architecture loss. Parameters (`grad_reg_loss_params`): add#linear — `lambda` (0.1) and an
    optional `ref_value` (then λ·(E − ref)/ref); mul#log — `alpha` (1.0), `beta` (0.6) and the
    required target `ref_value` (E and ref on the same side of 1, so the log ratio is positive).
    The per-candidate costs are `cost_table` when given, else measured: `applied_hardware` None
    or "latency" times each candidate on this machine with `dummy_input` (`measure_latency`),
    "params" counts parameters (`count_parameters`). Hardware latency predictors are not bundled.

    `validate()` scores the current argmax architecture; `export()` returns it.

    InputChoices with `n_chosen=1` are searched like LayerChoices (gates over their inputs; a
    measured or missing cost is 0 per input). NNI 2.x's signature is accepted too: `dataset=`
    (one dataset, halved as above; the second half also validates each epoch) and `ref_latency`
    (the regulariser's reference, `grad_reg_loss_params["ref_value"]` here).
    """

    algorithm = "proxyless"
    supported = (LayerChoice, InputChoice)
    value_choices = None

    def __init__(
        self,
        model: torch.nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        metrics: Metrics,
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset[Any] | None = None,
        dataset_valid: Dataset[Any] | None = None,
        warmup_epochs: int = 0,
        batch_size: int = 64,
        workers: int = 0,
        device: str | torch.device | None = None,
        log_frequency: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        arc_learning_rate: float = 1.0e-3,
        grad_reg_loss_type: str | None = None,
        grad_reg_loss_params: Mapping[str, float] | None = None,
        applied_hardware: str | None = None,
        dummy_input: Sequence[int] | torch.Tensor = (1, 3, 224, 224),
        *,
        cost_table: Mapping[str, Sequence[float]] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        dataset: Dataset[Any] | None = None,
        ref_latency: float | None = None,
        devices: int | None = None,
    ) -> None:
        dataset_train, dataset_valid, _ = retiarii_args.datasets(
            "ProxylessTrainer", dataset_train, dataset_valid, dataset, split="bilevel",
            after_dataset="warmup_epochs",
        )  # fmt: skip
        if ref_latency is not None and grad_reg_loss_type is not None:
            if "ref_value" in (grad_reg_loss_params or {}):
                raise TypeError(
                    "ProxylessTrainer: ref_latency (NNI 2.x) and grad_reg_loss_params"
                    "['ref_value'] are the same setting; pass one"
                )
            grad_reg_loss_params = {**(grad_reg_loss_params or {}), "ref_value": ref_latency}
        if not isinstance(dataset_train, Sized) or len(dataset_train) < 2:
            raise ValueError("ProxylessTrainer needs a dataset_train with a length of at least 2")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
        if applied_hardware not in (None, "latency", "params"):
            raise ValueError(
                f"applied_hardware={applied_hardware!r}: hardware latency predictors are not "
                "bundled; use None/'latency' (measured here), 'params', or pass cost_table="
            )
        reg_params = _reg_params(grad_reg_loss_type, grad_reg_loss_params)
        super().__init__(
            model, loss, metrics, optimizer, num_epochs, dataset_train, dataset_valid,
            batch_size, workers, device, log_frequency, callbacks, log_dir=log_dir,
            devices=devices,
        )  # fmt: skip
        self.warmup_epochs = warmup_epochs
        self.grad_reg_loss_type = grad_reg_loss_type
        self.grad_reg_loss_params = reg_params
        self.applied_hardware = applied_hardware
        self.dummy_input = dummy_input
        # Measured latencies differ between ranks: every rank uses rank 0's.
        self.cost_table: CostTable | None = self.ranks.broadcast_object(self._costs(cost_table))
        """The per-candidate costs the regulariser uses (None without a regulariser)."""
        self._cost_tensors = {
            label: torch.tensor(costs, dtype=torch.float32, device=self.device)
            for label, costs in (self.cost_table or {}).items()
        }
        self.arch_optimizer = self.arch_adam(arc_learning_rate, (0.0, 0.999), eps=1e-8)

    def build_mutator(self) -> ProxylessMutator:
        return ProxylessMutator(self.model)

    def validate(self) -> dict[str, float]:
        return self.evaluate_architecture(self.export())

    def training_batches(self) -> Paired:
        """Pairs (weight batch, architecture batch); during warmup (batch, None) over all of
        `dataset_train`."""
        if self.epoch < self.warmup_epochs:
            return Paired(self.loader(self.dataset_train, shuffle=True), None)
        return super().training_batches()

    def train_step(self, batch: Any) -> dict[str, float]:
        weight_batch, arch_batch = batch
        values = self.sampled_weight_step(weight_batch)  # `reset()` samples one path
        if arch_batch is not None:
            values.update(self.arch_step(self.to_device(arch_batch)))
        return values

    def arch_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
        """One two-path architecture update on `batch`; weights are not changed. Returns the
        architecture loss (and the expected cost with a regulariser)."""
        mutator = self.mutator
        alphas = list(mutator.parameters())
        x, y = batch
        with self.ranks.shared_random():
            mutator.reset(num_paths=2)
        self.arch_optimizer.zero_grad()
        loss = self.loss(self.model(x), y)
        values = {"arch_loss": loss.item()}
        if self.grad_reg_loss_type is not None:
            cost = mutator.expected_cost(self._cost_tensors)
            loss = self.regularised(loss, cost)
            values["expected_cost"] = cost.item()
        loss.backward(inputs=alphas)
        before = mutator.snapshot()  # the alphas' values, before the step
        self.optimizer_step(self.arch_optimizer, alphas)
        mutator.rescale(before)
        return values

    def regularised(self, loss: torch.Tensor, cost: torch.Tensor) -> torch.Tensor:
        """`loss` with the cost regulariser applied to the expected cost `cost`."""
        params = self.grad_reg_loss_params
        ref = params.get("ref_value")
        if self.grad_reg_loss_type == "add#linear":
            term = cost if ref is None else (cost - ref) / ref
            return loss + params["lambda"] * term
        assert ref is not None
        ratio = torch.log(cost) / math.log(ref)
        if not float(ratio.detach()) > 0:
            raise ValueError(
                f"mul#log needs log(E[cost]) / log(ref_value) > 0; got E[cost]={float(cost):.4g} "
                f"and ref_value={ref}: express costs in units where both exceed 1 (e.g. ms)"
            )
        return loss * params["alpha"] * ratio ** params["beta"]

    def _costs(self, given: Mapping[str, Sequence[float]] | None) -> CostTable | None:
        if given is not None:
            table = {k: [float(c) for c in v] for k, v in given.items()}
        elif self.grad_reg_loss_type is None:
            return None
        elif self.applied_hardware == "params":
            table = count_parameters(self.model)
        else:
            try:
                table = measure_latency(self.model, self.dummy_input)
            except RuntimeError as exc:  # typically a dummy_input of the wrong shape
                shape = getattr(self.dummy_input, "shape", self.dummy_input)
                raise RuntimeError(
                    f"measuring candidate latencies on a dummy input of shape {tuple(shape)} "
                    f"failed ({exc}); pass a dummy_input the model accepts, or cost_table="
                ) from exc
        space = self.mutator.search_space
        for label, dim in space.items():  # choosing an input costs nothing
            if isinstance(dim, InputChoiceDim):
                table.setdefault(label, [0.0] * dim.size())
        if set(table) != set(space):
            raise ValueError(
                f"cost_table must have exactly the labels {space.labels}, got {list(table)}"
            )
        for label, costs in table.items():
            if len(costs) != space[label].size():
                raise ValueError(
                    f"cost_table[{label!r}] has {len(costs)} entries; the choice has "
                    f"{space[label].size()} candidates"
                )
        return {label: table[label] for label in space}


def _reg_params(kind: str | None, given: Mapping[str, float] | None) -> dict[str, float]:
    defaults: dict[str | None, dict[str, float]] = {
        None: {},
        "add#linear": {"lambda": 0.1},
        "mul#log": {"alpha": 1.0, "beta": 0.6},
    }
    if kind not in defaults:
        raise ValueError(
            f"grad_reg_loss_type must be one of {REG_LOSS_TYPES} or None, got {kind!r}"
        )
    params = {**defaults[kind], **{k: float(v) for k, v in (given or {}).items()}}
    unknown = set(params) - set(defaults[kind]) - ({"ref_value"} if kind else set())
    if unknown:
        raise ValueError(f"unknown grad_reg_loss_params for {kind}: {sorted(unknown)}")
    ref = params.get("ref_value")
    if kind == "mul#log" and (ref is None or ref <= 0 or ref == 1):
        raise ValueError("mul#log needs grad_reg_loss_params['ref_value'] > 0 and != 1")
    if kind == "add#linear" and ref is not None and ref == 0:
        raise ValueError("add#linear: ref_value must not be 0")
    return params

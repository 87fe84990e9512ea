"""ENAS (Pham et al., 2018): an LSTM controller samples paths of a weight-sharing supernet and
learns by REINFORCE from the reward of each sampled path on validation data."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from archsearch.nn import InputChoice, LayerChoice, Repeat
from archsearch.oneshot import retiarii_args
from archsearch.oneshot.base import BaseOneShotTrainer, Metrics
from archsearch.oneshot.batches import Steps
from archsearch.oneshot.callbacks import Callback
from archsearch.oneshot.enas_controller import EnasMutator

RewardFunction = Callable[[torch.Tensor, torch.Tensor], float]
"""`reward_function(output, target) -> float` (higher is better), e.g. a batch's accuracy."""


class EnasTrainer(BaseOneShotTrainer[EnasMutator]):
    """ENAS with NNI's arguments: every epoch trains the supernet on `child_steps` batches of
    `dataset_train`, one controller sample per batch, then trains the controller.

    The controller phase makes `mutator_steps` Adam steps (lr `mutator_lr`), each accumulating
    the REINFORCE gradient of `mutator_steps_aggregate` sampled paths, each scored on its own
    `dataset_valid` batch (model in eval mode): reward = `reward_function(output, target)` +
    `entropy_weight` · entropy; the baseline is its moving average (`baseline_decay`); the loss is
    −log p(path) · (reward − baseline) + `skip_weight` · skip penalty (for `n_chosen=None` input
    choices, see `EnasMutator`). Both phases cycle their loader when it runs out. A model that
    returns `(logits, aux_logits)` in training mode gets `aux_weight` × the auxiliary loss.
    Validation scores `test_arc_per_epoch` sampled paths on `dataset_valid` and averages them;
    `export()` is the controller's greedy path. `grad_clip` bounds the weights' gradient norm
    (5, as in the paper; None or 0: no clipping). The child phase draws its paths `presample` at a
    time in one batched controller walk (`EnasMutator.presample`; the controller does not change
    during the phase, so they are the same distribution as one walk per step); 1 walks per step.
    `child_steps` and `mutator_steps` default to 500 and 50.

    NNI 2.x's signature is accepted too: `dataset=` (one dataset: the weights train on all but
    its last half, the controller on that half; an epoch is one pass over each, so
    `child_steps` and `mutator_steps` default to the batches of each part, the latter divided by
    the aggregation), `ctrl_lr`, `ctrl_steps_aggregate` and `ctrl_kwargs` (the controller's
    arguments: `lstm_size`, `lstm_num_layers`, `tanh_constant`, `temperature`, `skip_target`).
    """

    algorithm = "enas"
    supported = (LayerChoice, InputChoice, Repeat)
    value_choices = "slice"

    def __init__(
        self,
        model: torch.nn.Module,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        metrics: Metrics,
        reward_function: RewardFunction | None,
        optimizer: torch.optim.Optimizer,
        num_epochs: int,
        dataset_train: Dataset[Any] | None = None,
        dataset_valid: Dataset[Any] | None = None,
        mutator: EnasMutator | None = None,
        batch_size: int = 64,
        workers: int = 0,
        device: str | torch.device | None = None,
        log_frequency: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        entropy_weight: float = 0.0001,
        skip_weight: float = 0.8,
        baseline_decay: float = 0.999,
        child_steps: int | None = None,
        mutator_lr: float = 0.00035,
        mutator_steps_aggregate: int = 20,
        mutator_steps: int | None = None,
        aux_weight: float = 0.4,
        test_arc_per_epoch: int = 1,
        *,
        grad_clip: float | None = 5.0,
        presample: int = 64,
        log_dir: str | os.PathLike[str] | None = None,
        dataset: Dataset[Any] | None = None,
        ctrl_lr: float | None = None,
        ctrl_steps_aggregate: int | None = None,
        ctrl_kwargs: Mapping[str, Any] | None = None,
        devices: int | None = None,
    ) -> None:
        given = retiarii_args.enas_arguments(
            dataset_train, dataset_valid, dataset, batch_size=batch_size,
            child_steps=child_steps, mutator_steps=mutator_steps, mutator_lr=mutator_lr,
            mutator_steps_aggregate=mutator_steps_aggregate, ctrl_lr=ctrl_lr,
            ctrl_steps_aggregate=ctrl_steps_aggregate, ctrl_kwargs=ctrl_kwargs,
            has_mutator=mutator is not None,
        )  # fmt: skip
        child_steps, mutator_steps = given.child_steps, given.mutator_steps
        mutator_steps_aggregate = given.mutator_steps_aggregate
        if reward_function is None or not callable(reward_function):
            raise TypeError(
                "EnasTrainer needs reward_function(output, target) -> float, the reward of a "
                f"sampled path on a validation batch (e.g. its accuracy); got {reward_function!r}"
            )
        for name, steps in (
            ("child_steps", child_steps),
            ("mutator_steps", mutator_steps),
            ("test_arc_per_epoch", test_arc_per_epoch),
        ):
            if steps < 0:
                raise ValueError(f"{name} must be >= 0, got {steps}")
        if presample < 1:
            raise ValueError(f"presample must be >= 1, got {presample}")
        if mutator_steps_aggregate < 1:
            raise ValueError(f"mutator_steps_aggregate must be >= 1, got {mutator_steps_aggregate}")
        if not 0.0 <= baseline_decay <= 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1], got {baseline_decay}")
        super().__init__(
            model, loss, metrics, optimizer, num_epochs, given.dataset_train,
            given.dataset_valid, batch_size, workers, device, log_frequency, callbacks,
            log_dir=log_dir, devices=devices,
        )  # fmt: skip
        self.controller_kwargs = given.controller
        """`EnasMutator` arguments for the controller `build_mutator` makes (`ctrl_kwargs`)."""
        if mutator is not None:
            self.use_mutator(mutator, EnasMutator)
        self.reward_function = reward_function
        self.entropy_weight = entropy_weight
        self.skip_weight = skip_weight
        self.baseline_decay = baseline_decay
        self.child_steps = child_steps
        self.mutator_steps_aggregate = mutator_steps_aggregate
        self.mutator_steps = mutator_steps
        self.aux_weight = aux_weight
        self.test_arc_per_epoch = test_arc_per_epoch
        self.grad_clip = retiarii_args.clip_norm("EnasTrainer", grad_clip)
        self.presample = presample
        self.baseline = 0.0
        """Moving average of the controller's rewards."""
        self.controller_optimizer = torch.optim.Adam(self.mutator.parameters(), lr=given.mutator_lr)
        self._weights = list(self.model.parameters())
        """The model's parameters (listed once: walking the module tree every step is slow)."""

    def build_mutator(self) -> EnasMutator:
        return EnasMutator(self.model, **self.controller_kwargs)

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        """The child phase, then the controller phase; their metrics merged (the controller's
        prefixed `controller_`)."""
        name = f"epoch {epoch + 1}/{self.num_epochs}"
        child_batches = Steps(self.training_batches(), self.child_steps)
        try:
            child = self.run_steps(f"{name} child", child_batches, self.train_step)
        finally:
            # Paths left over are not carried into the controller phase nor a checkpoint.
            self.mutator.clear_presampled()
        # Rewards use the running statistics: the ranks' averages, as the epoch's end gives.
        self.ranks.average_buffers(self.model)
        was_training = self.model.training
        # Rewards judge the shared weights as they are: no dropout, frozen batch statistics.
        self.model.eval()
        try:
            samples = Steps(
                self.loader(self.dataset_valid, shuffle=True),
                self.mutator_steps,
                group=self.mutator_steps_aggregate,
            )
            controller = self.run_steps(f"{name} controller", samples, self.controller_step)
        finally:
            self.model.train(was_training)
        return {**child, **{f"controller_{k}": v for k, v in controller.items()}}

    def train_step(self, batch: Any) -> Mapping[str, float]:
        """One weight step of the supernet on the next path sampled from the controller."""
        x, y = self.to_device(batch)
        self.next_child_path()
        self.optimizer.zero_grad()
        output = self.model(x)
        if isinstance(output, tuple):
            logits, aux_logits = output
            loss = self.loss(logits, y) + self.aux_weight * self.loss(aux_logits, y)
        else:
            logits, loss = output, self.loss(output, y)
        loss.backward()
        self.optimizer_step(self.optimizer, self._weights, self.grad_clip)
        return {"loss": loss.item(), **self.metrics(logits.detach(), y)}

    @torch.no_grad()  # the child step needs only the path, not the controller's graph
    def next_child_path(self) -> None:
        """Apply the next path of the child phase: the next of `presample` paths drawn at once
        from the controller (drawn again when they run out or the controller changed)."""
        with self.ranks.shared_random():  # every rank draws the same path
            if self.presample > 1 and not self.mutator.presampled:
                self.mutator.presample(self.presample)
            self.mutator.reset()

    def controller_step(self, batches: Sequence[Any]) -> Mapping[str, float]:
        """One controller update from one sampled path per batch (REINFORCE, gradients
        accumulated over the batches)."""
        controller = self.mutator
        controller.clear_presampled()  # drawn from the controller before this step changes it
        self.controller_optimizer.zero_grad()
        totals = {"reward": 0.0, "loss": 0.0, "entropy": 0.0, "skip_penalty": 0.0}
        for batch in batches:
            x, y = self.to_device(batch)
            with self.ranks.shared_random():
                controller.reset()
            with torch.no_grad():
                output = self.model(x)
            if isinstance(output, tuple):
                output = output[0]
            # One path on every rank, each scoring it on its own batch: the reward is their mean.
            reward = self.ranks.mean(float(self.reward_function(output, y)))
            entropy = controller.sample_entropy.item()
            reward += self.entropy_weight * entropy
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
            loss = -controller.sample_log_prob * (reward - self.baseline)
            loss = loss + self.skip_weight * controller.sample_skip_penalty
            (loss / len(batches)).backward()
            totals["reward"] += reward
            totals["loss"] += loss.item()
            totals["entropy"] += entropy
            totals["skip_penalty"] += controller.sample_skip_penalty.item()
        self.controller_optimizer.step()
        result = {k: v / max(len(batches), 1) for k, v in totals.items()}
        result["baseline"] = self.baseline
        return result

    def validate_one_epoch(self, epoch: int) -> dict[str, float]:
        """Mean metrics of `test_arc_per_epoch` sampled paths, each on all of `dataset_valid`."""
        results = []
        for _ in range(self.test_arc_per_epoch):
            with torch.no_grad(), self.ranks.shared_random():
                self.mutator.reset()
            results.append(self.evaluate_architecture(self.mutator.sampled_architecture()))
        keys = dict.fromkeys(k for r in results for k in r)
        return {k: sum(r[k] for r in results) / len(results) for k in keys}

    def arch_probabilities(self) -> dict[str, list[float]]:
        """The controller's distributions along its greedy path (`greedy_probabilities`)."""
        return self.mutator.greedy_probabilities()

    def optimizers(self) -> dict[str, Any]:
        return {"weights": self.optimizer, "controller": self.controller_optimizer}

    def extra_state(self) -> dict[str, Any]:
        return {"baseline": self.baseline}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.baseline = float(state["baseline"])

"""BaseOneShotTrainer: the one explicit training loop that every one-shot algorithm shares.

An algorithm file subclasses `BaseOneShotTrainer[ItsMutator]` and fills in four things:
`build_mutator` (how the supernet makes its decisions; called on first use of `self.mutator`, so a
subclass calls `super().__init__()` first and sets its own fields after, as usual), `train_step`
(one weight step and, where the algorithm has one, one architecture step), `arch_probabilities`
(what the dashboard plots) and, if needed, `training_batches` or `validate_one_epoch`. The loop,
devices, progress bars, logging, callbacks, history, TensorBoard and checkpoint/resume live here,
once.
"""

from __future__ import annotations

import json
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from archsearch.mutator import Mutator, ReplayMutator
from archsearch.nn import InputChoice, LayerChoice, Repeat, fix, walk
from archsearch.oneshot.batches import to_device
from archsearch.oneshot.callbacks import Callback
from archsearch.oneshot.checkpoint import load_trainer_state, save_atomic, trainer_state
from archsearch.oneshot.history import HistoryWriter, default_log_dir, log_epoch
from archsearch.oneshot.launch import from_environment, join, spawn
from archsearch.oneshot.sliced import to_supernet
from archsearch.space import Architecture

logger = logging.getLogger("archsearch.oneshot")

Metrics = Callable[[torch.Tensor, torch.Tensor], Mapping[str, float]]
"""`metrics(output, target) -> {"acc": ...}`, as in NNI."""

M = TypeVar("M", bound=Mutator)
"""The mutator type of a trainer (`DartsTrainer` is a `BaseOneShotTrainer[DartsMutator]`)."""


class BaseOneShotTrainer(ABC, Generic[M]):
    """Train a weight-sharing supernet built from the user's model and export an architecture.

    The constructor arguments are NNI's: `loss(output, target)`, `metrics(output, target)`, the
    weight `optimizer` (over `model.parameters()`), `num_epochs`, the two datasets, and loader
    settings. `device=None` picks CUDA when available. `log_dir` (default
    `$ARCHSEARCH_HOME/oneshot/<algorithm>-<time>`) receives `history.json` every epoch and
    TensorBoard events when tensorboard is installed. `devices=N` trains on N processes that
    `train()` starts (`torchrun` launches are detected by themselves; see `distributed.py`).
    """

    path_per_rank: bool = False
    """Single-path trainers on several ranks: True samples a different path on each rank (each
    draws the next of the shared sampler's paths), False the same path on all of them."""

    algorithm: ClassVar[str] = "oneshot"
    supported: ClassVar[tuple[type[torch.nn.Module], ...]] = (LayerChoice, InputChoice, Repeat)
    """Choice modules this algorithm can search; others fail at construction."""
    value_choices: ClassVar[str | None] = None
    """How value choices used as layer arguments are searched: "slice" (one value at a time),
    "mix" (weighted, differentiable), or None (unsupported: TypeError at construction)."""

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
        *,
        log_dir: str | os.PathLike[str] | None = None,
        devices: int | None = None,
    ) -> None:
        if num_epochs < 1:
            raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
        self.model = model
        self.loss = loss
        self.metrics = metrics
        self.optimizer = optimizer
        self.num_epochs = num_epochs
        self.dataset_train = dataset_train
        self.dataset_valid = dataset_valid
        self.batch_size = batch_size
        self.workers = workers
        cuda = torch.cuda.is_available()  # the default device
        self.device = torch.device(device if device is not None else "cuda" if cuda else "cpu")
        self.ranks = from_environment(devices, self.device)
        """The processes this search runs on (`Ranks()`: this one only)."""
        self.device = self.ranks.device
        self.log_frequency = log_frequency
        self.callbacks = list(callbacks or [])
        self.log_dir = Path(log_dir) if log_dir is not None else default_log_dir(self.algorithm)
        self.epoch = 0
        self.history: list[dict[str, Any]] = []
        self._check_primitives()
        self.model.to(self.device)
        self._mutator: M | None = None
        self._history_writer = HistoryWriter()

    @property
    def mutator(self) -> M:
        """The mutator deciding the supernet's choices: `build_mutator()` (or the one passed to
        `use_mutator`), built on first use, then bound to `model` and moved to `device`."""
        mutator = self._mutator
        if mutator is None:
            mutator = self.build_mutator()
            self.use_mutator(mutator)
        return mutator

    def use_mutator(self, mutator: M, kind: type[Mutator] = Mutator) -> None:
        """Search with `mutator`, a `kind` built on `self.model`, instead of building one (for
        trainers that take NNI's `mutator` argument)."""
        name = type(self).__name__
        if not isinstance(mutator, kind):
            raise TypeError(f"{name} needs a {kind.__name__}, got {type(mutator).__name__}")
        if mutator.model is not self.model:
            raise ValueError(
                f"the mutator given to {name} is bound to another model: it must be built on "
                f"its model, the model given to {name}"
            )
        mutator.bind()  # another mutator may have been bound to the model since
        self._mutator = mutator.to(self.device)

    # ----- what an algorithm provides -------------------------------------------------------

    @abstractmethod
    def build_mutator(self) -> M:
        """The mutator that decides the supernet's choices, built on `self.model` (called once,
        when `self.mutator` is first used)."""

    @abstractmethod
    def train_step(self, batch: Any) -> Mapping[str, float]:
        """One training step on one item of `training_batches()`; returns metrics to average."""

    def arch_probabilities(self) -> dict[str, list[float]]:
        """Each label's probability per candidate, as the algorithm currently believes."""
        return {}

    def current_architecture(self) -> Architecture | None:
        """What the search would export now, when that is cheap (recorded every epoch); None
        for algorithms whose export is itself a search (SPOS, random one-shot)."""
        return self.mutator.export()

    def training_batches(self) -> Iterable[Any]:
        """What one epoch iterates: by default `(x, y)` batches of `dataset_train`."""
        return self.loader(self.dataset_train, shuffle=True)

    def optimizers(self) -> dict[str, Any]:
        """Everything with a state_dict to checkpoint besides model and mutator."""
        return {"weights": self.optimizer}

    def extra_state(self) -> dict[str, Any]:
        """Algorithm state outside model, mutator and optimizers (e.g. a search population)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what `extra_state` returned."""

    # ----- the loop --------------------------------------------------------------------------

    def train(self, validate: bool = True) -> None:
        """Run the remaining epochs (all of them, or those after a loaded checkpoint)."""
        if self.ranks.spawn > 1:
            spawn(self, "train", validate)
            return
        join(self)
        # Built here, not in __init__: they see the whole trainer (subclasses set their fields
        # after the base constructor) and the state of a checkpoint loaded before `train()`.
        for callback in self.callbacks:
            callback.build(self)
        try:
            for epoch in range(self.epoch, self.num_epochs):
                for callback in self.callbacks:
                    callback.on_epoch_begin(epoch)
                self.model.train()
                train_metrics = self.train_one_epoch(epoch)
                self.ranks.average_buffers(self.model)
                self.ranks.check_in_step(self.algorithm, self.model, self.mutator)
                valid_metrics = self.validate_one_epoch(epoch) if validate else {}
                self.epoch = epoch + 1
                self._record(epoch, train_metrics, valid_metrics)
                for callback in self.callbacks:
                    callback.on_epoch_end(epoch)
        except BaseException as error:  # Ctrl-C too: callbacks record how the run ended
            for callback in self.callbacks:
                callback.on_train_end(error)
            raise
        for callback in self.callbacks:
            callback.on_train_end(None)
        self._history_writer.flush()

    def fit(self) -> None:
        """NNI's alias of `train()`."""
        self.train()

    def train_one_epoch(self, epoch: int) -> dict[str, float]:
        """One epoch of `train_step` over `training_batches()`, with a progress bar."""
        return self.run_steps(
            f"epoch {epoch + 1}/{self.num_epochs}", self.training_batches(), self.train_step
        )

    def validate_one_epoch(self, epoch: int) -> dict[str, float]:
        """Metrics of the current supernet decisions on `dataset_valid`."""
        return self.validate()

    def validate(self) -> dict[str, float]:
        """Evaluate on `dataset_valid`, re-sampling decisions (`mutator.reset()`) per batch."""
        return self.evaluate(self.mutator)

    def evaluate_architecture(self, arch: Mapping[str, Any]) -> dict[str, float]:
        """Metrics of one architecture on `dataset_valid`, run with the supernet's weights."""
        replay = ReplayMutator(self.model, arch)
        try:
            return self.evaluate(replay)
        finally:
            self.mutator.bind()

    @torch.no_grad()
    def evaluate(self, mutator: Mutator) -> dict[str, float]:
        """Loss and metrics on `dataset_valid` in eval mode, `mutator.reset()` before each batch."""
        was_training = self.model.training
        self.model.eval()

        def step(batch: Any) -> Mapping[str, float]:
            x, y = self.to_device(batch)
            with self.ranks.shared_random():
                mutator.reset()
            output = self.model(x)
            return {"loss": float(self.loss(output, y)), **self.metrics(output, y)}

        try:
            return self.run_steps("validate", self.loader(self.dataset_valid), step)
        finally:
            self.model.train(was_training)

    def run_steps(
        self, name: str, batches: Iterable[Any], step: Callable[[Any], Mapping[str, float]]
    ) -> dict[str, float]:
        """Run `step` on every batch with a progress bar and periodic log lines; average."""
        totals: dict[str, float] = {}
        count = 0
        total = len(batches) if isinstance(batches, Sized) else None
        main = self.ranks.is_main
        desc = f"{self.algorithm} {name}"
        bar = tqdm(batches, desc=desc, total=total, leave=False, disable=not main)
        for i, batch in enumerate(bar):
            values = step(batch)
            count += 1
            for key, value in values.items():
                totals[key] = totals.get(key, 0.0) + float(value)
            if main and self.log_frequency and i % self.log_frequency == 0:
                text = " ".join(f"{k}={v:.4f}" for k, v in values.items())
                logger.info("%s %s step %d/%s %s", self.algorithm, name, i + 1, total, text)
            bar.set_postfix({k: f"{v / count:.3f}" for k, v in totals.items()}, refresh=False)
        return self.ranks.average_metrics({k: v / max(count, 1) for k, v in totals.items()})

    # ----- results ---------------------------------------------------------------------------

    def export(self, file: str | os.PathLike[str] | None = None) -> Architecture:
        """The best architecture found so far (canonical JSON-able dict); also written to
        `file` when given."""
        return write_architecture(self.mutator.export(), file if self.ranks.is_main else None)

    def fixed_model(self, inherit_weights: bool = True) -> torch.nn.Module:
        """The exported architecture as a plain model, by default with the supernet's weights
        (the last export when there was one: exporting may itself be a search)."""
        arch = self.current_architecture() or self.export()
        return fix(self.model, arch, inherit_weights=inherit_weights)

    # ----- helpers for algorithms ------------------------------------------------------------

    def sampled_weight_step(self, batch: Any) -> dict[str, float]:
        """One weight step on a fresh decision: `mutator.reset()`, forward, backward, optimizer
        step (the whole train step of single-path methods such as SPOS and random one-shot)."""
        x, y = self.to_device(batch)
        with self.ranks.one_path(self.mutator.reset, self.path_per_rank):
            self.optimizer.zero_grad()
            output = self.model(x)
            loss = self.loss(output, y)
            loss.backward()
            self.optimizer_step(self.optimizer, self.model.parameters())
        return {"loss": loss.item(), **self.metrics(output.detach(), y)}

    def optimizer_step(
        self,
        optimizer: torch.optim.Optimizer,
        params: Iterable[torch.Tensor],
        grad_clip: float | None = None,
    ) -> None:
        """After a backward: average `params`' gradients over the ranks, clip their norm to
        `grad_clip` (None or 0: no clipping), then step `optimizer`."""
        params = list(params)
        self.ranks.average_gradients(params)
        if grad_clip is not None and grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()

    def loader(self, dataset: Dataset[Any], shuffle: bool = False) -> DataLoader[Any]:
        """A DataLoader with the trainer's batch size and workers (of this rank's shard)."""
        shard = self.ranks.sampler(dataset, shuffle)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle and shard is None,
            sampler=shard,
            num_workers=self.workers,
        )

    def to_device(self, batch: Any) -> Any:
        """Move tensors (nested in tuples, lists or dicts) to the trainer's device."""
        return to_device(batch, self.device)

    # ----- checkpoint / resume ---------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the search exactly where it stopped (on several ranks
        a collective: every rank's random state is gathered into `"ranks"`)."""
        return trainer_state(self)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a `state_dict()`; the next `train()` continues from the saved epoch."""
        load_trainer_state(self, state)

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Write `state_dict()` atomically (a crash mid-write never leaves half a checkpoint);
        on several ranks every rank calls this and rank 0 writes."""
        state = self.state_dict()
        if self.ranks.is_main:
            save_atomic(state, path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Load a checkpoint written by `save_checkpoint`."""
        state = torch.load(path, map_location=self.device, weights_only=False)
        self.load_state_dict(state)

    # ----- internals -------------------------------------------------------------------------

    def _check_primitives(self) -> None:
        choices = walk(self.model)
        for module in choices.mutables:
            if not isinstance(module, self.supported):
                raise TypeError(
                    f"{type(self).__name__} cannot search {type(module).__name__} "
                    f"{module.label!r}: {self.algorithm} supports "
                    f"{', '.join(t.__name__ for t in self.supported)}"
                )
        if choices.value_modules:
            if self.value_choices is None:
                raise TypeError(
                    f"{type(self).__name__} cannot search ValueChoice layer arguments "
                    f"({', '.join(sorted(choices.argument_labels))}); use an algorithm that "
                    "shares weights across sizes (DARTS, GDAS, SPOS, random) or fix them"
                )
            to_supernet(self.model, choices, trainer=type(self).__name__, mode=self.value_choices)

    def _record(self, epoch: int, train: Mapping[str, float], valid: Mapping[str, float]) -> None:
        self.history.append(
            {
                "epoch": epoch,
                "time": time.time(),
                "train": dict(train),
                "valid": dict(valid),
                "probabilities": self.arch_probabilities(),
                "architecture": self.current_architecture(),
            }
        )
        if not self.ranks.is_main:
            return
        self._history_writer.write(self.log_dir, self.algorithm, self.history)
        log_epoch(self.algorithm, epoch, self.num_epochs, train, valid)


def write_architecture(arch: Architecture, file: str | os.PathLike[str] | None) -> Architecture:
    """Write `arch` as JSON to `file` (if given) and return it."""
    if file is not None:
        Path(file).write_text(json.dumps(arch, indent=2) + "\n", encoding="utf-8")
    return arch


def score(metrics: Mapping[str, float]) -> float:
    """The figure to maximise from validation results: the first metric that is not the loss,
    else the negative loss."""
    for key, value in metrics.items():
        if key != "loss":
            return value
    return -metrics["loss"]

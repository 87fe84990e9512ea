"""SPOS: Single Path One-Shot (Guo et al. 2020).

Training samples one path uniformly at random per step, so every path's weights are trained
about equally and the supernet ranks paths fairly. The architecture is then found by evolution
over the trained supernet (`search()`, which `export()` runs): every candidate is scored on
`dataset_valid` after recalibrating the batch-norm statistics for that path, because the running
statistics collected during training average over all paths and fit none of them.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from archsearch.mutator import Mutator, RandomMutator, ReplayMutator
from archsearch.nn import InputChoice, LayerChoice, Repeat
from archsearch.oneshot.base import BaseOneShotTrainer, Metrics, score, write_architecture
from archsearch.oneshot.callbacks import Callback
from archsearch.oneshot.constraints import ModelConstraint
from archsearch.oneshot.evolution import Candidate, EvolutionConfig, Generation, evolve
from archsearch.oneshot.launch import spawn
from archsearch.space import Architecture

logger = logging.getLogger("archsearch.oneshot")

BatchNorm = torch.nn.modules.batchnorm._BatchNorm
BatchNormState = list[tuple[BatchNorm, dict[str, torch.Tensor]]]


class SposTrainer(BaseOneShotTrainer[Mutator]):
    """Train a supernet on uniformly sampled single paths, then search it by evolution.

    `mutator` samples the path of each step (default: `RandomMutator(model, seed=seed)`; a given
    one must be built on `model`, and cannot be for value-choice layer arguments, which the
    trainer converts first: leave it None there). Training batches are `(x, y)`.

    Evolution settings: `population_size` candidates per generation; the best `num_parents`
    seen so far breed `num_mutation` mutants (each label resampled with `mutation_prob`) and
    `num_crossover` children (each label from either parent), both half the population by
    default; random architectures fill the rest; for `num_generations` generations.
    `constraint(arch) -> bool` (e.g. `ParameterConstraint`, `FlopsConstraint`) excludes
    architectures from scoring and export. Each candidate is scored (`score` of its validation
    metrics: the first metric, higher is better) after its batch-norm statistics are recomputed
    from `bn_recalibration_batches` training batches (0: keep the supernet's). `seed` makes
    sampling, the recalibration batches and the search reproducible.
    """

    algorithm = "spos"
    value_choices = "slice"
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
        mutator: Mutator | None = None,
        batch_size: int = 64,
        workers: int = 0,
        device: str | torch.device | None = None,
        log_frequency: int | None = None,
        callbacks: Sequence[Callback] | None = None,
        *,
        seed: int | None = None,
        population_size: int = 20,
        num_parents: int = 5,
        num_generations: int = 10,
        mutation_prob: float = 0.1,
        num_mutation: int | None = None,
        num_crossover: int | None = None,
        constraint: Callable[[Architecture], bool] | None = None,
        bn_recalibration_batches: int = 10,
        log_dir: str | os.PathLike[str] | None = None,
        devices: int | None = None,
    ) -> None:
        if bn_recalibration_batches < 0:
            raise ValueError(
                f"bn_recalibration_batches must be >= 0, got {bn_recalibration_batches}"
            )
        evolution = EvolutionConfig(
            population_size=population_size,
            num_parents=num_parents,
            num_generations=num_generations,
            mutation_prob=mutation_prob,
            num_mutation=num_mutation,
            num_crossover=num_crossover,
        )
        super().__init__(
            model, loss, metrics, optimizer, num_epochs, dataset_train, dataset_valid,
            batch_size, workers, device, log_frequency, callbacks, log_dir=log_dir,
            devices=devices,
        )  # fmt: skip
        if mutator is not None:
            self.use_mutator(mutator)
        self.seed = seed
        self.evolution = evolution
        self.constraint = constraint
        if isinstance(constraint, ModelConstraint) and constraint.model is None:
            constraint.bind(self.model)
        self.bn_recalibration_batches = bn_recalibration_batches
        # Its own stream: searching never shifts the sampler's or the global generators.
        self.search_rng = random.Random(None if seed is None else f"spos-search-{seed}")
        # One fixed draw of recalibration batches, shared by every candidate for a fair ranking.
        self.recalibration_seed = self.search_rng.getrandbits(63)
        self.search_history: list[dict[str, Any]] = []
        """One record per generation of the last search (as in `search.json`)."""
        self._best: Candidate | None = None
        self._searched_epoch: int | None = None

    # ----- training --------------------------------------------------------------------------

    def build_mutator(self) -> Mutator:
        return RandomMutator(self.model, seed=self.seed)

    def train_step(self, batch: Any) -> Mapping[str, float]:
        return self.sampled_weight_step(batch)  # a fresh uniformly sampled path per step

    def current_architecture(self) -> Architecture | None:
        """The result of the last search, or None before any."""
        return None if self._best is None else dict(self._best.architecture)

    # ----- search ----------------------------------------------------------------------------

    def search(self) -> Architecture:
        """Run the evolution search on the current supernet and return the best architecture.

        Writes `search.json` to `log_dir`; the supernet's weights and batch-norm statistics are
        left as they were. With `devices=N` the search runs on N new processes.
        """
        if self.ranks.spawn > 1:
            arch: Architecture = spawn(self, "search")
            return arch
        batches = self.recalibration_batches()
        result = evolve(
            self.mutator.search_space,
            lambda arch: score(self.evaluate_recalibrated(arch, batches)),
            self.evolution,
            rng=self.search_rng,
            constraint=self.constraint,
            on_generation=self._log_generation,
            map_scores=self.ranks.map,  # on several ranks each scores its share of candidates
        )
        self._best = result.best
        self._searched_epoch = self.epoch
        self.search_history = [g.to_json() for g in result.generations]
        self._write_search(result.rejected)
        return dict(result.best.architecture)

    def export(self, file: str | os.PathLike[str] | None = None) -> Architecture:
        """The best architecture by evolution search. Export *is* a search: it runs `search()`
        unless one already ran on the supernet as trained now, whose result it then reuses."""
        if self._best is None or self._searched_epoch != self.epoch:
            self.search()
        assert self._best is not None
        arch = dict(self._best.architecture)
        return write_architecture(arch, file if self.ranks.is_main else None)

    def evaluate_architecture(self, arch: Mapping[str, Any]) -> dict[str, float]:
        """Metrics of `arch` on `dataset_valid` after batch-norm recalibration for that path."""
        return self.evaluate_recalibrated(arch, self.recalibration_batches())

    def evaluate_recalibrated(
        self, arch: Mapping[str, Any], batches: Iterable[Any]
    ) -> dict[str, float]:
        """Metrics of `arch` after recomputing the batch-norm statistics from `batches` (model
        inputs); afterwards the supernet's statistics and search mutator are restored."""
        replay = ReplayMutator(self.model, arch)
        saved = batchnorm_state(self.model)
        try:
            recalibrate_batchnorm(self.model, batches)
            return self.evaluate(replay)
        finally:
            load_batchnorm_state(saved)
            self.mutator.bind()

    def recalibration_batches(self) -> list[Any]:
        """The model inputs used to recalibrate batch norm: the first `bn_recalibration_batches`
        batches of `dataset_train`, shuffled by `recalibration_seed` (the same every call)."""
        if self.bn_recalibration_batches == 0 or not batchnorm_layers(self.model):
            return []
        generator = torch.Generator().manual_seed(self.recalibration_seed)
        loader = DataLoader(
            self.dataset_train,
            batch_size=self.batch_size,
            shuffle=True,
            num_workers=self.workers,
            generator=generator,
        )
        return [
            self.to_device(batch[0])
            for batch in itertools.islice(loader, self.bn_recalibration_batches)
        ]

    # ----- checkpoint ------------------------------------------------------------------------

    def extra_state(self) -> dict[str, Any]:
        sampler_rng = getattr(self.mutator, "rng", None)
        return {
            "sampler": sampler_rng.getstate() if isinstance(sampler_rng, random.Random) else None,
            "search_rng": self.search_rng.getstate(),
            "recalibration_seed": self.recalibration_seed,
            "best": None if self._best is None else self._best.to_json(),
            "searched_epoch": self._searched_epoch,
            "search_history": self.search_history,
        }

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        sampler_rng = getattr(self.mutator, "rng", None)
        if isinstance(sampler_rng, random.Random) and state["sampler"] is not None:
            sampler_rng.setstate(state["sampler"])
        self.search_rng.setstate(state["search_rng"])
        self.recalibration_seed = int(state["recalibration_seed"])
        best = state["best"]
        self._best = None if best is None else Candidate(best["architecture"], best["score"])
        self._searched_epoch = state["searched_epoch"]
        self.search_history = list(state["search_history"])

    # ----- internals -------------------------------------------------------------------------

    def _log_generation(self, generation: Generation) -> None:
        if not self.ranks.is_main:
            return
        logger.info(
            "%s search generation %d/%d: %d new candidates, best score %.4f",
            self.algorithm,
            generation.index + 1,
            self.evolution.num_generations,
            len(generation.candidates),
            generation.best.score,
        )

    def _write_search(self, rejected: int) -> None:
        assert self._best is not None
        if not self.ranks.is_main:
            return
        record = {
            "algorithm": self.algorithm,
            "epoch": self.epoch,
            "config": self.evolution.to_json(),
            "best": self._best.to_json(),
            "rejected": rejected,
            "generations": self.search_history,
        }
        self.log_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.log_dir / ".search.json.tmp"
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(tmp, self.log_dir / "search.json")


def batchnorm_layers(model: torch.nn.Module) -> list[BatchNorm]:
    """The batch-norm layers of `model` that keep running statistics."""
    return [
        m
        for m in model.modules()
        if isinstance(m, BatchNorm) and m.track_running_stats and m.running_mean is not None
    ]


def batchnorm_state(model: torch.nn.Module) -> BatchNormState:
    """A copy of every batch-norm layer's running statistics (see `load_batchnorm_state`)."""
    return [
        (m, {name: buf.detach().clone() for name, buf in m.named_buffers(recurse=False)})
        for m in batchnorm_layers(model)
    ]


@torch.no_grad()
def load_batchnorm_state(state: BatchNormState) -> None:
    """Put back the statistics saved by `batchnorm_state` (in place)."""
    for module, buffers in state:
        for name, current in module.named_buffers(recurse=False):
            current.copy_(buffers[name])


@torch.no_grad()
def recalibrate_batchnorm(model: torch.nn.Module, inputs: Iterable[Any]) -> None:
    """Recompute every batch-norm layer's running statistics from `inputs` (model inputs, one
    batch each) under the model's current decisions.

    The statistics are reset and then accumulated as a cumulative average (momentum None) over
    the batches; weights are not touched and no graph is built. Only batch-norm layers run in
    train mode: dropout and the like stay off, so the statistics describe the activations that
    evaluation sees. Modes and momenta are restored afterwards.
    """
    layers = batchnorm_layers(model)
    if not layers:
        return
    modes = [(m, m.training) for m in model.modules()]
    momenta = [m.momentum for m in layers]
    model.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
        layer.train()
    try:
        for x in inputs:
            model(x)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        for module, training in modes:
            module.training = training

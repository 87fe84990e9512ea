"""SPOS: single-path training, batch-norm recalibration, evolution search, constraints, resume."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from oneshot_models import DigitsNet

import archsearch
import archsearch.nn as nn
from archsearch.evaluator import Split
from archsearch.mutator import RandomMutator, ReplayMutator
from archsearch.oneshot import accuracy
from archsearch.oneshot.constraints import (
    FlopsConstraint,
    ParameterConstraint,
    count_flops,
    count_parameters,
)
from archsearch.oneshot.evolution import EvolutionConfig, crossover, evolve, mutate
from archsearch.oneshot.spos import SposTrainer, batchnorm_layers, recalibrate_batchnorm
from archsearch.space import Architecture, InputChoiceDim, LayerChoiceDim, SearchSpace


class BnNet(nn.Module):
    """Digits with batch norm in the stem and inside two of three LayerChoice candidates."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width))
        self.op = nn.LayerChoice(
            {
                "conv3": nn.Sequential(
                    nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
                ),
                "conv5": nn.Sequential(
                    nn.Conv2d(width, width, 5, padding=2), nn.BatchNorm2d(width)
                ),
                "pool": nn.MaxPool2d(3, stride=1, padding=1),
            },
            label="op",
        )
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1, label="skip")
        self.dropout = nn.Dropout(0.5)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        y = torch.relu(self.op(x))
        out = self.skip([y, y + x])
        return self.head(self.dropout(out.mean((2, 3))))


def make_trainer(
    digits: Split,
    log_dir: Path,
    net: Callable[[], torch.nn.Module] = DigitsNet,
    epochs: int = 2,
    callbacks: list[Any] | None = None,
    **options: Any,
) -> SposTrainer:
    torch.manual_seed(0)
    model = net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    settings: dict[str, Any] = {
        "seed": 0,
        "population_size": 6,
        "num_parents": 3,
        "num_generations": 3,
        "bn_recalibration_batches": 2,
        **options,
    }
    return SposTrainer(
        model,
        torch.nn.functional.cross_entropy,
        accuracy,
        optimizer,
        epochs,
        digits.train,
        digits.test,
        callbacks=callbacks,
        log_dir=log_dir,
        **settings,
    )


@pytest.fixture(scope="module")
def bn_trainer(digits: Split, tmp_path_factory: pytest.TempPathFactory) -> SposTrainer:
    """A BnNet supernet trained for one epoch (shared: tests leave its state as they found it)."""
    trainer = make_trainer(digits, tmp_path_factory.mktemp("bn"), net=BnNet, epochs=1)
    trainer.train()
    return trainer


# ----- training and export ----------------------------------------------------------------------


def test_train_then_export_searches_and_records_history(digits: Split, tmp_path: Path) -> None:
    trainer = make_trainer(digits, tmp_path)
    trainer.train()
    assert trainer.current_architecture() is None  # export is a search; none ran yet
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["algorithm"] == "spos"
    assert [e["epoch"] for e in history["epochs"]] == [0, 1]
    assert history["epochs"][-1]["train"]["loss"] < history["epochs"][0]["train"]["loss"]

    arch = trainer.export(tmp_path / "arch.json")
    assert json.loads((tmp_path / "arch.json").read_text()) == arch
    assert archsearch.search_space(trainer.model).validate(arch) == arch
    assert trainer.fixed_model()(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert trainer.current_architecture() == arch

    generations = trainer.search_history
    assert [g["generation"] for g in generations] == list(range(len(generations)))
    assert generations[0]["population_scores"] and generations[-1]["best_architecture"] == arch
    best = [g["best_score"] for g in generations]
    assert best == sorted(best)  # elitist: the best never gets worse
    saved = json.loads((tmp_path / "search.json").read_text())
    assert saved["best"]["architecture"] == arch and saved["generations"] == generations

    # The result is cached for the supernet as trained now: no second search.
    assert trainer.export() == arch and trainer.search_history is generations


def test_a_given_mutator_samples_the_paths(digits: Split, tmp_path: Path) -> None:
    model = DigitsNet()
    mutator = RandomMutator(model, seed=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.nn.functional.cross_entropy
    trainer = SposTrainer(
        model, loss, accuracy, optimizer, 1, digits.train, digits.test, mutator, log_dir=tmp_path
    )
    assert trainer.mutator is mutator and model.op1.mutator is mutator
    state = mutator.rng.getstate()
    trainer.train(validate=False)
    assert mutator.rng.getstate() != state
    assert trainer.extra_state()["sampler"] == mutator.rng.getstate()
    with pytest.raises(ValueError, match="built on its model"):
        SposTrainer(DigitsNet(), loss, accuracy, optimizer, 1, digits.train, digits.test, mutator)


# ----- batch-norm recalibration -----------------------------------------------------------------


def test_recalibration_gives_the_exact_statistics_of_the_path(bn_trainer: SposTrainer) -> None:
    model = bn_trainer.model
    arch = {"op": "conv5", "skip": [1]}
    batches = bn_trainer.recalibration_batches()
    assert len(batches) == 2
    inputs: dict[torch.nn.Module, list[torch.Tensor]] = {m: [] for m in batchnorm_layers(model)}
    handles = [
        m.register_forward_pre_hook(lambda m, args: inputs[m].append(args[0])) for m in inputs
    ]
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    ReplayMutator(model, arch)
    try:
        recalibrate_batchnorm(model, batches)
        used = {model.stem[1], model.op["conv5"][1]}
        for bn, seen in inputs.items():
            assert bn.momentum == 0.1 and bn.training
            if bn not in used:
                assert not seen and int(bn.num_batches_tracked) == 0
                continue
            assert len(seen) == len(batches) and int(bn.num_batches_tracked) == len(batches)
            means = torch.stack([a.mean((0, 2, 3)) for a in seen])
            variances = torch.stack([a.var((0, 2, 3), unbiased=True) for a in seen])
            torch.testing.assert_close(bn.running_mean, means.mean(0))
            torch.testing.assert_close(bn.running_var, variances.mean(0))
    finally:
        for handle in handles:
            handle.remove()
        model.load_state_dict(saved)
        bn_trainer.mutator.bind()


def test_search_leaves_the_supernet_state_as_it_was(bn_trainer: SposTrainer) -> None:
    model = bn_trainer.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bn_trainer.search()
    assert bn_trainer.search_history
    after = model.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    assert all(bn.momentum == 0.1 for bn in batchnorm_layers(model))
    assert model.training and model.op.mutator is bn_trainer.mutator


def test_recalibration_changes_the_score_of_a_path(bn_trainer: SposTrainer) -> None:
    arch = {"op": "conv3", "skip": [0]}
    recalibrated = bn_trainer.evaluate_architecture(arch)
    plain = super(SposTrainer, bn_trainer).evaluate_architecture(arch)
    assert recalibrated["loss"] != plain["loss"]


def test_a_path_with_inherited_weights_equals_the_fixed_model(bn_trainer: SposTrainer) -> None:
    model = bn_trainer.model
    space = archsearch.search_space(model)
    x = torch.randn(5, 1, 8, 8)
    model.eval()
    try:
        for seed in range(4):
            arch = space.sample(seed)
            ReplayMutator(model, arch)
            fixed = archsearch.fix(model, arch, inherit_weights=True).eval()
            torch.testing.assert_close(model(x), fixed(x))
    finally:
        model.train()
        bn_trainer.mutator.bind()


# ----- evolution in isolation -------------------------------------------------------------------


def small_space() -> SearchSpace:
    dims: list[Any] = [LayerChoiceDim(f"l{i}", ("a", "b", "c")) for i in range(6)]
    return SearchSpace([*dims, InputChoiceDim("in", 3, 1, ("x", "y", "z"))])


def firsts(arch: Architecture) -> float:
    """How many labels choose their first candidate (the optimum is all of them: 7)."""
    return sum(v == "a" for v in arch.values()) + (arch["in"] == [0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evolution_finds_the_optimum_of_a_synthetic_score(seed: int) -> None:
    scored: list[str] = []

    def fitness(arch: Architecture) -> float:
        scored.append(json.dumps(arch, sort_keys=True))
        return firsts(arch)

    config = EvolutionConfig(population_size=12, num_parents=4, num_generations=12)
    result = evolve(small_space(), fitness, config, rng=random.Random(seed))
    assert result.best.score == 7 and firsts(result.best.architecture) == 7
    assert len(scored) == len(set(scored))  # never the same architecture twice
    assert len(scored) <= 12 * 12 < small_space().size()
    best = [g.best.score for g in result.generations]
    assert best == sorted(best)


def test_evolution_stops_when_a_small_space_is_exhausted() -> None:
    space = SearchSpace([LayerChoiceDim("a", ("x", "y")), LayerChoiceDim("b", ("x", "y"))])
    calls: list[Architecture] = []
    config = EvolutionConfig(population_size=10, num_parents=2, num_generations=5, max_tries=50)
    result = evolve(space, lambda arch: calls.append(arch) or 0.0, config, rng=random.Random(0))
    assert sorted(map(str, calls)) == sorted(map(str, space.grid()))
    assert len(result.generations) == 1


def test_evolution_respects_the_constraint() -> None:
    checked: list[str] = []

    def constraint(arch: Architecture) -> bool:
        checked.append(json.dumps(arch, sort_keys=True))
        return bool(arch["l0"] != "a")

    scored: list[Architecture] = []
    config = EvolutionConfig(population_size=12, num_parents=4, num_generations=12)
    result = evolve(
        small_space(),
        lambda arch: scored.append(arch) or firsts(arch),
        config,
        rng=random.Random(0),
        constraint=constraint,
    )
    assert all(arch["l0"] != "a" for arch in scored)
    assert result.best.score == 6 and result.rejected > 0
    assert len(checked) == len(set(checked))  # each architecture checked once
    with pytest.raises(ValueError, match="no architecture satisfies the constraint"):
        evolve(small_space(), firsts, config, constraint=lambda arch: False)


def test_mutation_and_crossover() -> None:
    space = small_space()
    rng = random.Random(0)
    first, second = space.sample(rng), space.sample(rng)
    assert mutate(space, first, 0.0, rng) == first
    child = crossover(space, first, second, rng)
    assert all(child[label] in (first[label], second[label]) for label in space)
    mutants = [mutate(space, first, 1.0, rng) for _ in range(20)]
    assert all(space.validate(m) == m for m in mutants) and any(m != first for m in mutants)
    assert EvolutionConfig(population_size=9).num_mutation == 4
    with pytest.raises(ValueError, match="mutation_prob"):
        EvolutionConfig(mutation_prob=1.5)


# ----- constraints ------------------------------------------------------------------------------


def test_flops_and_parameters_of_a_fixed_model() -> None:
    model = DigitsNet()
    big = archsearch.fix(model, {"op1": "conv3", "op2": "conv1", "skip": [0]})
    # stem 64 px × 8 out × 9, conv3 64 × 8 × 8 × 9, conv1 64 × 8 × 8, head 10 × 8
    assert count_flops(big, (1, 8, 8)) == 4608 + 36864 + 4096 + 80
    small = archsearch.fix(model, {"op1": "pool", "op2": "identity", "skip": [1]})
    assert count_flops(small, (1, 8, 8)) == 4608 + 80
    assert count_parameters(small) == (9 * 8 + 8) + (8 * 10 + 10)
    flops = FlopsConstraint(10_000, (1, 8, 8), model=model)
    assert not flops({"op1": 0, "op2": 0, "skip": [0]}) and flops({"op1": 2, "op2": 1, "skip": 0})


def test_parameter_constraint_holds_for_every_scored_and_exported_arch(
    digits: Split, tmp_path: Path
) -> None:
    model = DigitsNet()
    counts = {
        json.dumps(arch): count_parameters(archsearch.fix(model, arch))
        for arch in archsearch.search_space(model).grid()
    }
    limit = sorted(set(counts.values()))[1]
    assert min(counts.values()) < limit < max(counts.values())
    trainer = make_trainer(
        digits, tmp_path, epochs=1, constraint=ParameterConstraint(limit), population_size=12
    )
    trainer.train(validate=False)
    arch = trainer.export()
    scored = [c["architecture"] for g in trainer.search_history for c in g["candidates"]]
    assert scored and all(counts[json.dumps(a)] <= limit for a in [*scored, arch])
    assert json.loads((tmp_path / "search.json").read_text())["rejected"] > 0

    impossible = make_trainer(digits, tmp_path / "none", constraint=ParameterConstraint(10))
    with pytest.raises(ValueError, match="no architecture satisfies the constraint"):
        impossible.export()


# ----- checkpoint / resume ----------------------------------------------------------------------

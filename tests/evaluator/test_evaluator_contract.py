"""The evaluator contract, run over every built-in evaluator.

The runner calls one method, `evaluate_trial(TrialInput)`, through `run_trial`; an evaluator
returns or reports a final metric, builds the model only if it trains one, sends its
intermediate reports to the trial's reporter, and pickles (it crosses to worker processes).
A new evaluator is one row in `CASES`.
"""

from __future__ import annotations

import math
import pickle
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from evaluator_helpers import DigitsSpace, TinySpace, digits_loaders, report_then_final

from archsearch.classic import ScriptEvaluator
from archsearch.evaluator import (
    Evaluator,
    FunctionalEvaluator,
    Reporter,
    TrialEvaluator,
    TrialInput,
)
from archsearch.evaluator.run import build_model, run_trial

SCRIPT = """
import json, os
arch = json.load(open(os.environ["ARCHSEARCH_TRIAL_PARAMETERS"]))
with open(os.environ["ARCHSEARCH_TRIAL_CHANNEL"], "a") as channel:
    channel.write(json.dumps({"type": "intermediate", "step": 0, "metrics": {"default": 0.5}}))
    channel.write("\\n" + json.dumps({"type": "final", "metrics": {"default": 0.9}}) + "\\n")
"""


@dataclass(frozen=True)
class Case:
    make: Callable[[], TrialEvaluator]
    model_space: Any
    arch: Mapping[str, Any]
    reports: bool  # whether it makes intermediate reports


def classification() -> TrialEvaluator:
    from archsearch.evaluator import Classification

    train, val = digits_loaders()
    return Classification(train, val, max_epochs=1, limit_train_batches=2, limit_val_batches=1)


def tabular() -> TrialEvaluator:
    from archsearch.evaluator.nb201_table import NasBench201Tabular, load_table

    try:
        load_table(None)
    except FileNotFoundError:
        pytest.skip("the NAS-Bench-201 table is not there")
    return NasBench201Tabular()


def nb201_arch() -> Mapping[str, Any]:
    from archsearch.evaluator.nb201_table import nb201_space

    return nb201_space().default()


CASES: dict[str, Callable[[], Case]] = {
    "functional": lambda: Case(
        lambda: FunctionalEvaluator(report_then_final, steps=2), TinySpace, {"fc": "wide"}, True
    ),
    "functional-model_cls": lambda: Case(
        lambda: FunctionalEvaluator(build_and_count), TinySpace, {"fc": "narrow"}, False
    ),
    "classification": lambda: Case(classification, DigitsSpace, {"body": "linear"}, True),
    "tabular": lambda: Case(tabular, None, nb201_arch(), False),
    "script": lambda: Case(
        lambda: ScriptEvaluator([sys.executable, "-c", SCRIPT]), None, {"op": "a"}, True
    ),
}


def build_and_count(model_cls: Callable[[], torch.nn.Module]) -> float:
    return float(sum(p.numel() for p in model_cls().parameters()))


class ListReporter(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.reports: list[tuple[int, dict[str, Any]]] = []

    def on_report(self, step: int, metrics: Mapping[str, Any]) -> None:
        self.reports.append((step, dict(metrics)))


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_evaluator_keeps_the_contract(name: str) -> None:
    case = CASES[name]()
    evaluator = pickle.loads(pickle.dumps(case.make()))  # what a worker process receives
    assert isinstance(evaluator, TrialEvaluator)
    built: list[torch.nn.Module] = []

    def build() -> torch.nn.Module:
        built.append(build_model(case.model_space, case.arch))
        return built[-1]

    reporter = ListReporter()
    metrics = run_trial(evaluator, TrialInput(case.arch, build, reporter))
    assert isinstance(metrics["default"], float) and math.isfinite(metrics["default"])
    assert bool(built) == isinstance(evaluator, Evaluator)  # only model evaluators build it
    assert bool(reporter.reports) == case.reports
    assert all(isinstance(m["default"], float) for _, m in reporter.reports)

"""FunctionalEvaluator through run_job, like a real trial: metrics, reports, failures, pickle."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from evaluator_helpers import (
    TinySpace,
    count_parameters,
    crash,
    needs_lr,
    not_a_number,
    report_at_steps,
    report_then_final,
    run,
)

import archsearch
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.execution.refs import NotTransferableError, Ref
from archsearch.space import TrialStatus

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(("choice", "params"), [("narrow", 4 * 2 + 2), ("wide", 80 + 34)])
def test_returned_metric_is_the_trial_metric_of_the_fixed_model(choice: str, params: int) -> None:
    result, reports = run(FunctionalEvaluator(count_parameters), {"fc": choice})
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert result.metric == params
    assert result.metrics == {"default": params}
    assert reports == []


def test_keyword_arguments_reach_the_function() -> None:
    result, _ = run(FunctionalEvaluator(count_parameters, scale=0.5), {"fc": "narrow"})
    assert result.metric == 5.0
    result, _ = run(FunctionalEvaluator(needs_lr, lr=0.1, epochs=3), {"fc": "narrow"})
    assert result.metric == pytest.approx(0.3)


def test_the_function_gets_a_plain_fixed_model() -> None:
    seen: list[torch.nn.Module] = []

    def keep(model: torch.nn.Module) -> float:
        seen.append(model)
        return 1.0

    run(FunctionalEvaluator(keep), {"fc": "wide"})
    (model,) = seen
    assert isinstance(model.fc, torch.nn.Sequential)
    assert all(type(m).__module__.startswith("torch.") for m in model.modules() if m is not model)
    assert model(torch.zeros(3, 4)).shape == (3, 2)


def test_final_result_reported_through_the_nni_function() -> None:
    result, reports = run(FunctionalEvaluator(report_then_final, steps=3), {"fc": "narrow"})
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert result.metric == 0.75
    assert [step for step, _ in reports] == [0, 1, 2]
    assert [m["default"] for _, m in reports] == pytest.approx([0.1, 0.2, 0.3])
    assert reports[1][1]["loss"] == pytest.approx(0.5)


def test_top_level_report_functions_reach_the_reporter() -> None:
    def top_level(model: torch.nn.Module) -> None:
        archsearch.report_intermediate_result(0.25)
        archsearch.report_final_result(0.5)

    result, reports = run(FunctionalEvaluator(top_level), {"fc": "narrow"})
    assert result.metric == 0.5
    assert reports == [(0, {"default": 0.25})]


def test_explicit_steps_are_kept_and_followed() -> None:
    result, reports = run(FunctionalEvaluator(report_at_steps), {"fc": "narrow"})
    assert result.metric == 0.6
    assert reports == [(10, {"default": 0.5}), (11, {"default": 0.6})]


def test_nni_execute_runs_the_first_candidates_here_through_the_trial_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    evaluator = FunctionalEvaluator(report_then_final, steps=2)
    with caplog.at_level("WARNING", logger="archsearch.experiment"):
        assert evaluator._execute(TinySpace) == 0.75  # NNI's debug entry takes the class
    assert [r.getMessage()[:30] for r in caplog.records] == [
        "intermediate result at step 0:",
        "intermediate result at step 1:",
    ]
    assert FunctionalEvaluator(count_parameters)._execute(TinySpace) == 4 * 2 + 2  # "narrow"
    with pytest.raises(RuntimeError, match="on purpose"):  # a debug run keeps the traceback
        FunctionalEvaluator(crash)._execute(TinySpace)


def test_an_exception_makes_a_failed_trial_with_its_traceback() -> None:
    result, _ = run(FunctionalEvaluator(crash), {"fc": "narrow"})
    assert result.status is TrialStatus.FAILED
    assert result.metric is None
    assert result.error == "RuntimeError: the trial crashed on purpose"
    assert result.traceback is not None
    assert "in crash" in result.traceback
    assert "the trial crashed on purpose" in result.traceback


def test_a_nan_metric_makes_a_failed_trial() -> None:
    result, _ = run(FunctionalEvaluator(not_a_number), {"fc": "narrow"})
    assert result.status is TrialStatus.FAILED
    assert result.error is not None
    assert "nan" in result.error


def test_no_metric_at_all_makes_a_failed_trial() -> None:
    result, _ = run(FunctionalEvaluator(report_then_final, steps=0), {"fc": "narrow"})
    assert result.metric == 0.75  # reported final, returned None: fine

    def silent(model: torch.nn.Module) -> None:
        return None

    result, _ = run(FunctionalEvaluator(silent), {"fc": "narrow"})
    assert result.status is TrialStatus.FAILED
    assert result.error is not None
    assert "report_final_result" in result.error


# --- construction errors ------------------------------------------------------------------------


def test_a_function_is_required() -> None:
    with pytest.raises(TypeError, match="needs a function taking the model"):
        FunctionalEvaluator(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rate": 0.1}, "missing a required argument: 'lr'"),
        ({"lr": 0.1, "momentum": 0.9}, "unexpected keyword argument 'momentum'"),
    ],
)
def test_arguments_that_do_not_fit_the_function_are_refused(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(TypeError, match=message) as info:
        FunctionalEvaluator(needs_lr, **kwargs)
    assert "needs_lr(model" in str(info.value)


def test_a_function_that_cannot_take_the_model_is_refused() -> None:
    def no_arguments() -> float:
        return 1.0

    with pytest.raises(TypeError, match="too many positional arguments"):
        FunctionalEvaluator(no_arguments)


def test_a_keyword_named_like_the_first_parameter_is_allowed_by_python_rules() -> None:
    # `function` is positional-only, so a trial function may itself take `function=`.
    def uses_function_kwarg(model: torch.nn.Module, function: str) -> float:
        return float(len(function))

    result, _ = run(FunctionalEvaluator(uses_function_kwarg, function="abc"), {"fc": "narrow"})
    assert result.metric == 3.0


# --- crossing processes ---------------------------------------------------------------------------


def test_module_level_function_pickles_and_evaluates_after_the_round_trip() -> None:
    evaluator = FunctionalEvaluator(count_parameters, scale=2.0)
    copy = pickle.loads(pickle.dumps(evaluator))
    assert copy.function is count_parameters
    assert copy.arguments == {"scale": 2.0}
    result, _ = run(copy, {"fc": "narrow"})
    assert result.metric == 20.0
    assert repr(copy) == "FunctionalEvaluator(count_parameters, scale=2.0)"


def test_a_lambda_cannot_cross_processes_and_says_so() -> None:
    evaluator = FunctionalEvaluator(lambda model: 1.0)
    with pytest.raises(NotTransferableError, match="define it at module level"):
        Ref.of(evaluator, "evaluator")


def test_a_pickled_job_runs_in_a_fresh_interpreter() -> None:
    from archsearch.execution.base import Job

    job = Job(
        "exp",
        7,
        {"fc": "wide"},
        Ref.of(TinySpace, "model space"),
        Ref.of(FunctionalEvaluator(report_then_final, steps=2), "evaluator"),
    )
    script = textwrap.dedent(
        f"""
        import pickle, sys
        sys.path.insert(0, {str(HERE)!r})
        from archsearch.execution.worker import CallbackReporter, run_job
        reports = []
        job = pickle.loads(sys.stdin.buffer.read())
        result = run_job(job, CallbackReporter(lambda s, m: reports.append((s, dict(m)))))
        sys.stdout.buffer.write(pickle.dumps((result, reports)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=pickle.dumps(job), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    result, reports = pickle.loads(done.stdout)
    assert result.status is TrialStatus.SUCCEEDED, result.traceback
    assert (result.trial_id, result.metric) == (7, 0.75)
    assert [s for s, _ in reports] == [0, 1]
    assert math.isclose(reports[1][1]["default"], 0.2)

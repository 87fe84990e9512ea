"""TPE: the Optuna study is built from tells alone, failures are FAIL trials, Optuna stays
an optional import and quiet."""

from __future__ import annotations

import subprocess
import sys

import pytest
from strategy_driver import drive, fails_sometimes, make_problem, small_space

from archsearch.space import TrialStatus
from archsearch.strategy import TPE


def completed(strategy: TPE) -> list[tuple[tuple[tuple[str, int], ...], float | None]]:
    import optuna

    return sorted(
        (tuple(sorted(t.params.items())), t.value)
        for t in strategy.study.trials
        if t.state is optuna.trial.TrialState.COMPLETE
    )


def test_tells_build_the_study_and_replay_rebuilds_it() -> None:
    import optuna

    space = small_space()
    problem = make_problem(space, 0)
    tpe = TPE(seed=0)
    history = drive(tpe, space, problem.objective, 30, fails=fails_sometimes(problem))
    succeeded = [t for t in history if t.status is TrialStatus.SUCCEEDED]
    failed = [t for t in history if t.status is TrialStatus.FAILED]
    assert succeeded and failed
    assert len(completed(tpe)) == len(succeeded)
    states = [t.state for t in tpe.study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) >= len(failed)
    assert optuna.trial.TrialState.RUNNING not in states  # every asked trial was told

    replayed = TPE(seed=1)
    replayed.start(space, "maximize")
    for trial in history:
        replayed.tell(trial)
    assert completed(replayed) == completed(tpe)
    assert [t.state for t in replayed.study.trials].count(optuna.trial.TrialState.FAIL) == len(
        failed
    )


def test_optuna_is_imported_only_when_tpe_starts() -> None:
    code = (
        "import sys, archsearch.strategy as s\n"
        "assert 'optuna' not in sys.modules\n"
        "from archsearch.space import SearchSpace, LayerChoiceDim\n"
        "s.TPE().start(SearchSpace([LayerChoiceDim('a', ('x', 'y'))]), 'maximize')\n"
        "assert 'optuna' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_optuna_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"archsearch\[tpe\]"):
        TPE().start(small_space(), "maximize")


def test_optuna_does_not_log_a_line_per_trial(capfd: pytest.CaptureFixture[str]) -> None:
    space = small_space()
    drive(TPE(seed=0), space, make_problem(space, 0).objective, 12)
    assert "finished with value" not in capfd.readouterr().err


def test_bad_arguments_are_explained() -> None:
    with pytest.raises(ValueError, match="n_startup_trials"):
        TPE(n_startup_trials=-1)

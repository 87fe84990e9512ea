"""The runner's progress bar: what it says after each trial matches storage."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from experiment_jobs import TinySpace, flaky_score, slow_score

import archsearch
from archsearch.classic import ScriptEvaluator
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.experiment import Experiment, ExperimentConfig
from archsearch.space import TrialStatus
from archsearch.storage import open_storage
from archsearch.strategy import Random

LINE = re.compile(r"\| (\d+)/(\d+) \[.*running=(\d+) failed=(\d+)( cancelled=(\d+))? best=(\S+)\]")


def bar_states(stderr: str) -> list[tuple[int, int, int, str]]:
    """(finished, failed, cancelled, best) of every progress line drawn with a postfix."""
    states = []
    for line in re.split(r"[\r\n]", stderr):
        match = LINE.search(line)
        if match:
            states.append((int(match[1]), int(match[4]), int(match[6] or 0), match[7].rstrip(",")))
    return states


def test_each_line_shows_the_best_of_the_trials_it_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Slow enough (0.15 s a trial) that tqdm draws a line after every trial.
    exp = Experiment(TinySpace(), FunctionalEvaluator(slow_score, seconds=0.15), Random(seed=0))
    exp.run(ExperimentConfig(storage=str(tmp_path / "exp.db"), max_trial_number=6))
    states = bar_states(capsys.readouterr().err)
    trials = sorted(open_storage(tmp_path / "exp.db").trials(exp.id or ""), key=lambda t: t.id)
    assert {s[0] for s in states} >= {1, 6}  # the first finished trial already has its postfix
    for finished, failed, cancelled, best in states:
        # Inline trials finish in id order.
        expected = max(t.metric or 0.0 for t in trials[:finished])
        assert (failed, cancelled, best) == (0, 0, f"{expected:.4g}"), states


def test_failed_and_cancelled_trials_are_counted_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two script trials that would sleep for a minute; the 1 s budget ends with both running,
    # so both are cancelled (their process groups killed).
    space = archsearch.search_space(TinySpace())
    sleeper = ScriptEvaluator([sys.executable, "-c", "import time; time.sleep(60)"])
    exp = Experiment(space, sleeper, Random(seed=0))
    config = ExperimentConfig(
        "threads",
        storage=str(tmp_path / "exp.db"),
        trial_concurrency=2,
        max_trial_number=10,
        max_duration=1.0,
    )
    exp.run(config)
    trials = open_storage(tmp_path / "exp.db").trials(exp.id or "")
    assert [t.status for t in trials] == [TrialStatus.CANCELLED] * 2
    assert bar_states(capsys.readouterr().err)[-1] == (2, 0, 2, "-")

    exp = Experiment(TinySpace(), FunctionalEvaluator(flaky_score), Random(seed=0))
    exp.run(ExperimentConfig(storage=str(tmp_path / "exp.db"), max_trial_number=12))
    trials = open_storage(tmp_path / "exp.db").trials(exp.id or "")
    failed_trials = sum(t.status is TrialStatus.FAILED for t in trials)
    assert failed_trials == 8  # ops 'a' (raises) and 'b' (NaN), 4 widths each
    final = bar_states(capsys.readouterr().err)[-1]
    assert final == (12, failed_trials, 0, "3")  # op 'c' with width 4 scores 2 + 4/4

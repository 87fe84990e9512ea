"""What a trial does wrong beyond raising — sys.exit, Ctrl-C, metrics no store can keep — still
ends in exactly one result that says so: the backend contract, on every backend."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pytest
import torch
from backend_jobs import SysExit, job, results, run_all

from archsearch.evaluator import Evaluator, Metric, Reporter
from archsearch.execution import Backend, InlineBackend, MetricReport, TrialResult
from archsearch.space import TrialStatus


def test_sys_exit_in_a_trial_fails_only_that_trial(backend: Backend) -> None:
    # argparse in an evaluator calls sys.exit(2) on a bad flag: a trial's failure, not the
    # runner's end (and on the thread backend, not a trial that never reports back).
    (result,) = results(run_all(backend, [job(21, SysExit())], timeout=20.0)).values()
    assert result.status is TrialStatus.FAILED
    assert result.error == "SystemExit: 4"
    assert result.traceback is not None and "sys.exit(4)" in result.traceback
    assert backend.running() == 0 and backend.free_slots() >= 1


@dataclass
class CtrlC(Evaluator):
    """The user presses Ctrl-C while an inline trial runs."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        raise KeyboardInterrupt


def test_ctrl_c_in_an_inline_trial_propagates_and_still_yields_a_result() -> None:
    backend = InlineBackend()
    with pytest.raises(KeyboardInterrupt):
        backend.submit(job(22, CtrlC()))
    # The runner cancels what it submitted and waits for the result: it must come, once.
    backend.cancel(22)
    events = backend.poll(0.1)
    assert [type(e) for e in events] == [TrialResult]
    (result,) = events
    assert isinstance(result, TrialResult)
    assert result.trial_id == 22 and result.status is TrialStatus.CANCELLED
    assert backend.poll(0.1) == []
    assert backend.running() == 0 and backend.free_slots() == 1


@dataclass
class NumpyExtras(Evaluator):
    """Extra metrics as a list of numpy floats (`list(array)`): no JSON, so no store keeps them."""

    final: bool

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        per_class = list(np.array([0.5, 0.25], dtype=np.float32))
        if not self.final:
            reporter.report(0, {"default": 0.4, "per_class": per_class})
        return {"default": 0.5, "per_class": per_class if self.final else [0.5, 0.25]}


@pytest.mark.parametrize("final", [False, True])
def test_metrics_that_cannot_be_stored_fail_the_trial(backend: Backend, final: bool) -> None:
    # Else the runner's store raises on them and the whole experiment ends.
    events = run_all(backend, [job(23, NumpyExtras(final))], timeout=20.0)
    (result,) = results(events).values()
    assert result.status is TrialStatus.FAILED
    assert result.error is not None and "per_class" in result.error
    assert not any(isinstance(e, MetricReport) for e in events)


_console: list[TextIO] = []


@dataclass
class KeepsItsStream(Evaluator):
    """Makes a console on first use and keeps it (a library's logging handler, a rich console)."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        if not _console:
            _console.append(sys.stdout)
        print("a line", file=_console[0], flush=True)
        return 1.0


def test_a_stream_kept_from_an_earlier_inline_trial_still_writes(tmp_path: Path) -> None:
    # Inline output is tee'd to the trial's log while it runs; a stream taken then must not
    # raise "I/O operation on closed file" in the next trials once that log is closed.
    backend = InlineBackend()
    jobs = [job(30 + i, KeepsItsStream(), log_path=str(tmp_path / f"{i}.log")) for i in range(3)]
    done = results(run_all(backend, jobs))
    assert [done[30 + i].status for i in range(3)] == [TrialStatus.SUCCEEDED] * 3, done
    assert "a line" in (tmp_path / "0.log").read_text()

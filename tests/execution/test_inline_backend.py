"""What is particular to the inline backend: the SIGALRM time limit, tee'd output, one slot."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from backend_jobs import Forward, Say, Sleep, job, results, run_all

from archsearch.evaluator import Evaluator, Metric, Reporter
from archsearch.execution import InlineBackend, TrialResult
from archsearch.execution.inline import deadline_enforceable
from archsearch.space import TrialStatus


@dataclass
class SwallowErrors(Evaluator):
    """Sleeps inside `except Exception`: the time limit must still get through."""

    def evaluate(self, model: torch.nn.Module, reporter: Reporter) -> Metric:
        import time

        try:
            time.sleep(60)
        except Exception:
            return 1.0
        return 2.0


def test_time_limit_is_not_swallowed_by_except_exception() -> None:
    events = run_all(InlineBackend(), [job(1, SwallowErrors(), max_duration=0.2)])
    (result,) = results(events).values()
    assert result.status is TrialStatus.TIMEOUT


def test_alarm_handler_and_timer_are_restored() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("the trial's timer leaked")

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        run_all(InlineBackend(), [job(1, Forward(), max_duration=0.05)])
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_time_limit_is_not_enforced_off_the_main_thread() -> None:
    box: list[TrialResult] = []

    def run() -> None:
        assert not deadline_enforceable()
        backend = InlineBackend()
        backend.submit(job(1, Sleep(0.3), max_duration=0.05))
        box.extend(e for e in backend.poll() if isinstance(e, TrialResult))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert [r.status for r in box] == [TrialStatus.SUCCEEDED]


def test_output_goes_to_the_console_and_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "inline.log"
    run_all(InlineBackend(), [job(1, Say("both"), log_path=str(log))])
    captured = capsys.readouterr()
    assert "both stdout" in captured.out and "both stderr" in captured.err
    assert log.read_text().splitlines() == ["both stdout", "both stderr"]


def test_one_slot_taken_until_the_result_is_polled() -> None:
    backend = InlineBackend()
    backend.submit(job(1, Forward()))
    assert backend.free_slots() == 0 and backend.running() == 1
    with pytest.raises(RuntimeError, match="poll"):
        backend.submit(job(2, Forward()))
    (result,) = backend.poll()
    assert isinstance(result, TrialResult) and result.status is TrialStatus.SUCCEEDED
    assert backend.free_slots() == 1 and backend.running() == 0
    backend.cancel(1)  # nothing to stop
    backend.shutdown()
    backend.shutdown()
    assert backend.free_slots() == 0
    with pytest.raises(RuntimeError, match="shut down"):
        backend.submit(job(3, Forward()))

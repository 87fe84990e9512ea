"""ScriptEvaluator under the thread backend: real trial scripts in real process groups."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from classic.trial_scripts import SPACE, alive, kill_quietly, write_scripts
from execution.backend_jobs import run_all  # the backend tests' submit-and-poll loop

from archsearch.classic import ScriptEvaluator
from archsearch.execution import Event, Job, MetricReport, Ref, TrialResult
from archsearch.execution.threads import ThreadBackend
from archsearch.space import TrialStatus

ARCH = {"op": "conv5", "width": 32, "skip": [1]}
ARCH_SCORE = 0.7 + 2 * 0.1 + 0.01


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    return write_scripts(tmp_path / "code")


def script_job(
    trial_id: int,
    evaluator: ScriptEvaluator,
    arch: dict[str, object] = ARCH,
    **options: object,
) -> Job:
    return Job(
        experiment_id="test",
        trial_id=trial_id,
        arch=SPACE.validate(arch),
        model_space=Ref.of(SPACE, "model space"),
        evaluator=Ref.of(evaluator, "evaluator"),
        **options,  # type: ignore[arg-type]
    )


def result_of(events: list[Event], trial_id: int) -> TrialResult:
    (result,) = [e for e in events if isinstance(e, TrialResult) and e.trial_id == trial_id]
    return result


def evaluator(code_dir: Path, script: str, *args: str, **options: object) -> ScriptEvaluator:
    return ScriptEvaluator(
        [sys.executable, script, *args],
        code_dir,
        search_space=SPACE,
        **options,  # type: ignore[arg-type]
    )


def test_reports_and_final_metric_reach_the_runner(code_dir: Path, tmp_path: Path) -> None:
    backend = ThreadBackend(2)
    log = tmp_path / "logs" / "1.log"
    try:
        events = run_all(
            backend,
            [
                script_job(1, evaluator(code_dir, "score.py"), log_path=str(log)),
                script_job(2, evaluator(code_dir, "score.py"), {"op": 2, "width": 8, "skip": 0}),
            ],
        )
    finally:
        backend.shutdown()
    first = result_of(events, 1)
    assert first.status is TrialStatus.SUCCEEDED, first.traceback
    assert first.metric == pytest.approx(ARCH_SCORE)
    assert result_of(events, 2).metric == pytest.approx(0.1)
    reports = [e for e in events if isinstance(e, MetricReport) and e.trial_id == 1]
    assert [r.step for r in reports] == [0, 1, 2]
    assert reports[-1].metrics == pytest.approx({"default": ARCH_SCORE, "loss": 1 - ARCH_SCORE})
    # The script saw the classic format, with indices from the search space.
    text = log.read_text()
    expected = {
        "op": {"_value": "conv5", "_idx": 1},
        "skip": {"_value": ["y"], "_idx": [1]},
        "width": {"_value": 32, "_idx": 2},
    }
    assert f"trial parameters: {json.dumps(expected, sort_keys=True)}" in text
    assert "a line on stderr" in text


def test_non_zero_exit_fails_with_the_exit_code_and_output_tail(code_dir: Path) -> None:
    backend = ThreadBackend(1)
    try:
        events = run_all(backend, [script_job(3, evaluator(code_dir, "crash.py"))])
    finally:
        backend.shutdown()
    result = result_of(events, 3)
    assert result.status is TrialStatus.FAILED
    assert result.error is not None
    assert "exited with code 1" in result.error
    assert "ValueError: boom: the trial script failed" in result.error  # the last line
    assert result.traceback is not None
    assert "working on it" in result.traceback  # the tail of the output
    assert "Traceback (most recent call last)" in result.traceback
    # The intermediate report made before the crash still arrived.
    assert [e.step for e in events if isinstance(e, MetricReport)] == [0]


def test_nan_final_metric_fails_the_trial(code_dir: Path) -> None:
    backend = ThreadBackend(1)
    try:
        events = run_all(backend, [script_job(4, evaluator(code_dir, "nan.py"))])
    finally:
        backend.shutdown()
    result = result_of(events, 4)
    assert result.status is TrialStatus.FAILED
    assert result.error is not None and "nan" in result.error.lower()


def test_no_final_report_fails_the_trial(code_dir: Path) -> None:
    backend = ThreadBackend(1)
    try:
        events = run_all(backend, [script_job(5, evaluator(code_dir, "silent.py"))])
    finally:
        backend.shutdown()
    result = result_of(events, 5)
    assert result.status is TrialStatus.FAILED
    assert result.error is not None and "no final result" in result.error


def _pids(pid_file: Path) -> tuple[int, int]:
    end = time.monotonic() + 20
    while not pid_file.exists() or len(pid_file.read_text().split()) < 2:
        assert time.monotonic() < end, "the hanging script did not start"
        time.sleep(0.05)
    script, child = (int(p) for p in pid_file.read_text().split())
    return script, child


def test_hanging_trial_times_out_and_its_process_group_is_killed(
    code_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pids"
    backend = ThreadBackend(1)
    hang = evaluator(code_dir, "hang.py", str(pid_file), kill_grace=0.5)
    started = time.monotonic()
    try:
        events = run_all(backend, [script_job(6, hang, max_duration=1.0)])
        script, child = _pids(pid_file)
        result = result_of(events, 6)
        assert result.status is TrialStatus.TIMEOUT
        assert result.error is not None and "max_duration (1 s)" in result.error
        # SIGTERM is ignored by the script: SIGKILL after the grace period ended it.
        assert time.monotonic() - started < 10
        assert not alive(script), "the trial script survived its timeout"
        assert not alive(child), "the trial script's child survived its timeout"
    finally:
        backend.shutdown()
        for pid in _pids(pid_file) if pid_file.exists() else ():
            kill_quietly(pid)


def test_cancelled_trial_is_killed_and_reported_cancelled(code_dir: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    backend = ThreadBackend(2)
    try:
        backend.submit(script_job(7, evaluator(code_dir, "hang.py", str(pid_file), kill_grace=0.2)))
        script, child = _pids(pid_file)
        assert alive(script) and alive(child)
        assert backend.free_slots() == 1 and backend.running() == 1
        backend.cancel(7)
        events = run_all(backend, [])
        while not [e for e in events if isinstance(e, TrialResult)]:
            events += backend.poll(0.5)
        result = result_of(events, 7)
        assert result.status is TrialStatus.CANCELLED
        assert not alive(script) and not alive(child)
        assert backend.free_slots() == 2
    finally:
        backend.shutdown()
        for pid in _pids(pid_file) if pid_file.exists() else ():
            kill_quietly(pid)


def test_shutdown_stops_running_trials(code_dir: Path, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    backend = ThreadBackend(1)
    backend.submit(script_job(8, evaluator(code_dir, "hang.py", str(pid_file), kill_grace=0.2)))
    script, child = _pids(pid_file)
    backend.shutdown()
    backend.shutdown()  # safe twice
    assert not alive(script) and not alive(child)
    assert backend.free_slots() == 0
    with pytest.raises(RuntimeError, match="shut down"):
        backend.submit(script_job(9, evaluator(code_dir, "score.py")))


def test_thread_backend_checks_its_arguments(code_dir: Path) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        ThreadBackend(0)
    backend = ThreadBackend(1)
    with pytest.raises(ValueError, match="max_duration must be a positive"):
        backend.submit(script_job(1, evaluator(code_dir, "score.py"), max_duration=0))
    assert backend.running() == 0
    backend.shutdown()


def test_script_evaluator_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        ScriptEvaluator("python train.py", tmp_path / "missing")
    with pytest.raises(ValueError, match="empty"):
        ScriptEvaluator("  ", tmp_path)
    with pytest.raises(ValueError, match="strings"):
        ScriptEvaluator("python x.py", tmp_path, env={"N": 3})  # type: ignore[dict-item]


def test_a_chatty_script_finishes_when_its_log_cannot_be_written(
    code_dir: Path, tmp_path: Path
) -> None:
    # 1 MB of output, far more than a pipe holds: the relay must keep reading even though the
    # log cannot be opened (its folder is a file), or the script blocks on write and hangs.
    (code_dir / "chatty.py").write_text(
        "import sys\nfrom kit import report\n"
        "for i in range(16384):\n    print('x' * 63)\nreport('final', 0.5)\n",
        encoding="utf-8",
    )
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    backend = ThreadBackend(1)
    try:
        events = run_all(
            backend,
            [
                script_job(
                    1,
                    evaluator(code_dir, "chatty.py"),
                    log_path=str(blocker / "1.log"),
                    max_duration=60,
                )
            ],
            timeout=60,
        )
    finally:
        backend.shutdown()
    result = result_of(events, 1)
    assert result.status is TrialStatus.SUCCEEDED, result.error
    assert result.metric == 0.5

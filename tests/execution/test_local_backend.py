"""What only worker processes can suffer or offer: crashes, kills, cancel, process reuse,
fd-level logs, clean shutdown."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from backend_jobs import (
    Crash,
    Forward,
    Grandchild,
    Say,
    Sleep,
    Spin,
    SysExit,
    WhoAmI,
    gone,
    grandchild_pid,
    job,
    results,
    run_all,
)
from local_backends import started_local

from archsearch.execution import LocalBackend
from archsearch.space import TrialStatus


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("segfault", "worker process died (signal SIGSEGV)"),
        ("signal", "worker process died (signal SIGSEGV)"),
        ("exit", "worker process died (exit code 3)"),
    ],
)
def test_crash_fails_only_its_trial(
    local_backend: LocalBackend, how: str, reason: str, tmp_path: Path
) -> None:
    log = tmp_path / "crash.log"
    before = set(local_backend.worker_pids())
    done = results(
        run_all(local_backend, [job(1, Crash(how), log_path=str(log)), job(2, Forward())])
    )
    assert done[1].status is TrialStatus.FAILED and done[1].error == reason
    assert done[2].status is TrialStatus.SUCCEEDED  # the other worker was unaffected
    assert len(set(local_backend.worker_pids()) - before) == 1  # one replacement
    assert f"about to crash: {how}" in log.read_text()
    assert reason in log.read_text()  # the runner's note
    # The replacement serves trials (both slots in use).
    later = results(run_all(local_backend, [job(3, Forward()), job(4, Forward())]))
    assert {r.status for r in later.values()} == {TrialStatus.SUCCEEDED}


def test_sys_exit_in_a_trial_fails_it_and_keeps_the_worker(local_backend: LocalBackend) -> None:
    before = set(local_backend.worker_pids())
    (result,) = results(run_all(local_backend, [job(5, SysExit())])).values()
    assert result.status is TrialStatus.FAILED and result.error == "SystemExit: 4"
    assert set(local_backend.worker_pids()) == before


def test_hang_is_killed_at_max_duration(local_backend: LocalBackend, tmp_path: Path) -> None:
    log = tmp_path / "spin.log"
    before = set(local_backend.worker_pids())
    (result,) = results(
        run_all(local_backend, [job(6, Spin(), max_duration=1.0, log_path=str(log))])
    ).values()
    assert result.status is TrialStatus.TIMEOUT
    assert result.error == "the trial ran longer than max_duration (1 s)"
    assert result.started_at is not None and result.ended_at is not None
    assert 1.0 <= result.ended_at - result.started_at < 5.0
    assert "trial stopped: the trial ran longer than max_duration" in log.read_text()
    assert len(set(local_backend.worker_pids()) - before) == 1
    (after,) = results(run_all(local_backend, [job(7, Forward())])).values()
    assert after.status is TrialStatus.SUCCEEDED


def test_cancel_kills_the_trial_and_its_child_processes(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    local_backend.submit(job(8, Grandchild(str(pid_file))))
    child = grandchild_pid(str(pid_file))
    local_backend.cancel(8)
    (result,) = results(local_backend.poll(0)).values()
    assert result.trial_id == 8 and result.status is TrialStatus.CANCELLED
    assert gone(child), "the trial's child process outlived the cancel"
    local_backend.cancel(12345)  # not running: nothing happens
    assert local_backend.poll(0) == [] and local_backend.free_slots() == 2


def test_workers_are_reused_across_trials(local_backend: LocalBackend) -> None:
    done = results(run_all(local_backend, [job(20 + i, WhoAmI()) for i in range(8)]))
    pids = [int(r.metric or 0) for r in done.values()]
    assert set(pids) <= set(local_backend.worker_pids()) and len(set(pids)) <= 2
    # One torch module per worker process: imported once, not per trial.
    by_pid: dict[float, set[str]] = {}
    for r in done.values():
        by_pid.setdefault(r.metric or 0, set()).add(r.metrics["torch_id"])
    assert all(len(ids) == 1 for ids in by_pid.values())


def test_log_captures_fd_level_and_child_output(
    local_backend: LocalBackend, tmp_path: Path
) -> None:
    log = tmp_path / "say.log"
    (result,) = results(
        run_all(local_backend, [job(9, Say("deep", low_level=True), log_path=str(log))])
    ).values()
    assert result.status is TrialStatus.SUCCEEDED
    lines = log.read_text().splitlines()
    assert {"deep stdout", "deep stderr", "deep fd1", "deep child"} <= set(lines)


def test_shutdown_leaves_no_process_behind(tmp_path: Path) -> None:
    backend = started_local(2, gpus=["3", "5"], gpus_per_trial=1)
    done = results(run_all(backend, [job(1, WhoAmI()), job(2, WhoAmI())]))
    # Each worker slot sees its own GPU (set here without CUDA: only the variable is checked).
    assert sorted(r.metrics["cuda_visible"] for r in done.values()) == ["3", "5"]
    pid_file = tmp_path / "child.pid"
    backend.submit(job(3, Grandchild(str(pid_file))))
    child = grandchild_pid(str(pid_file))
    workers = backend.worker_pids()
    backend.shutdown()
    backend.shutdown()  # idempotent
    (cancelled,) = results(backend.poll(0)).values()
    assert cancelled.trial_id == 3 and cancelled.status is TrialStatus.CANCELLED
    assert not {p.pid for p in multiprocessing.active_children()} & set(workers)
    assert all(not os.path.exists(f"/proc/{pid}") for pid in workers)  # exited and reaped
    assert gone(child)
    assert backend.free_slots() == 0
    with pytest.raises(RuntimeError, match="shut down"):
        backend.submit(job(4, Forward()))


def test_forkserver_workers_run_and_are_replaced() -> None:
    backend = started_local(1, start_method="forkserver")
    try:
        done = results(run_all(backend, [job(1, Crash("exit")), job(2, Forward())]))
        assert done[1].error == "worker process died (exit code 3)"
        assert done[2].status is TrialStatus.SUCCEEDED
    finally:
        backend.shutdown()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be a positive int"),
        ({"concurrency": 1, "start_method": "fork"}, "start_method must be one of"),
        ({"concurrency": 1, "grace_period": -1}, "grace_period must be"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LocalBackend(**options)  # type: ignore[arg-type]


def test_too_many_gpus_per_trial_is_refused() -> None:
    backend = LocalBackend(1, gpus=["0"], gpus_per_trial=2)
    with pytest.raises(ValueError, match="gpus_per_trial=2 but only 1 GPU"):
        backend.start()
    backend.shutdown()


def test_sleeping_trial_is_cut_by_the_time_limit_not_its_sleep(
    local_backend: LocalBackend,
) -> None:
    (result,) = results(run_all(local_backend, [job(30, Sleep(60), max_duration=0.3)])).values()
    assert result.status is TrialStatus.TIMEOUT

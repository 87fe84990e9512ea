"""The Ray backend's faults and resources, on one local Ray (127.0.0.1) for the module.

The backend contract itself runs on Ray in test_backend_contract.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from backend_jobs import (
    Crash,
    Forward,
    Grandchild,
    Say,
    Sleep,
    WhoAmI,
    gone,
    grandchild_pid,
    job,
    run_all,
)
from backend_jobs import results as results_of
from ray_jobs import Paced, shared_ray, until

from archsearch.execution import MetricReport, RayBackend, RayConfig, TrialStarted
from archsearch.execution.ray_start import RaySession
from archsearch.space import TrialStatus

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HERE = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def ray_session() -> Iterator[RaySession]:
    # One fake GPU: two slots of 0.5 share it (Ray only counts; nothing touches a device).
    yield from shared_ray(num_cpus=4, num_gpus=1)


@pytest.fixture(scope="module")
def ray_backend(ray_session: RaySession) -> Iterator[RayBackend]:
    backend = RayBackend(2, gpus_per_trial=0)
    assert backend.wait_ready(120), "Ray slots did not start"
    yield backend
    backend.shutdown()


def test_it_listens_on_loopback_only(ray_session: RaySession) -> None:
    (node,) = ray_session.ray.nodes()
    assert node["NodeManagerAddress"] == "127.0.0.1"
    assert ray_session.session_dir is not None


def test_crashes_fail_only_their_trial(ray_backend: RayBackend) -> None:
    jobs = [job(1, Crash("segfault")), job(2, Crash("exit")), job(3, Crash("signal"))]
    events = run_all(ray_backend, [*jobs, job(4, Forward())])
    done = results_of(events)
    assert done[1].error == "worker process died (signal SIGSEGV)"
    assert done[2].error == "worker process died (exit code 3)"
    assert done[3].error == "worker process died (signal SIGSEGV)"
    assert done[4].status is TrialStatus.SUCCEEDED
    assert {ray_backend.started[i].node for i in done} == {os.uname().nodename}
    # Each trial's node reaches the runner first, as a `TrialStarted` (the runner stores it).
    assert ray_backend.node() is None
    firsts = {e.trial_id: e for e in reversed(events)}  # each trial's first event
    assert firsts == {i: TrialStarted(i, os.uname().nodename) for i in done}


def test_a_one_second_limit_times_out_within_two_seconds(ray_backend: RayBackend) -> None:
    assert ray_backend.wait_ready(60)  # the workers the crashes above replaced have started
    ray_backend.submit(job(10, Sleep(60), max_duration=1.0))
    events, seconds = until(ray_backend, 10)
    (result,) = results_of(events).values()
    assert result.status is TrialStatus.TIMEOUT, result
    assert seconds < 2.0
    assert result.ended_at is not None and result.started_at is not None
    assert result.ended_at - result.started_at < 2.0


def test_cancel_kills_the_trial_and_its_children(ray_backend: RayBackend, tmp_path: Path) -> None:
    pid_file = str(tmp_path / "child.pid")
    ray_backend.submit(job(11, Grandchild(pid_file)))
    child = grandchild_pid(pid_file)
    begun = time.monotonic()
    ray_backend.cancel(11)
    events, _ = until(ray_backend, 11)
    assert time.monotonic() - begun < 1.0
    (result,) = results_of(events).values()
    assert result.status is TrialStatus.CANCELLED
    assert gone(child), "the trial's child process outlived the cancel"
    (after,) = results_of(run_all(ray_backend, [job(12, Forward())])).values()
    assert after.status is TrialStatus.SUCCEEDED


def test_eight_trials_run_on_at_most_two_worker_processes(ray_backend: RayBackend) -> None:
    done = results_of(run_all(ray_backend, [job(20 + i, WhoAmI()) for i in range(8)]))
    assert len(done) == 8
    assert len({r.metric for r in done.values()}) <= 2
    assert len({ray_backend.started[i].pid for i in done}) <= 2  # and two actors


def test_low_level_and_child_output_reaches_the_log(
    ray_backend: RayBackend, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "30.log"
    run_all(ray_backend, [job(30, Say("thirty", low_level=True), log_path=str(log))])
    text = log.read_text()
    for line in ("thirty stdout", "thirty stderr", "thirty fd1", "thirty child"):
        assert line + "\n" in text


def test_a_killed_worker_reruns_the_trial_with_each_step_once(
    ray_backend: RayBackend, tmp_path: Path
) -> None:
    log = tmp_path / "40.log"
    ray_backend.submit(job(40, Paced(n=6, seconds=0.3), log_path=str(log)))
    events: list[object] = []
    while sum(isinstance(e, MetricReport) for e in events) < 2:
        events += ray_backend.poll(0.2)
    victim = ray_backend.started[40].pid
    begun = time.monotonic()
    os.kill(victim, signal.SIGKILL)  # the slot's actor: a lost worker, not the trial's fault
    more, _ = until(ray_backend, 40)
    events += more
    steps = [e.step for e in events if isinstance(e, MetricReport)]
    assert steps == [0, 1, 2, 3, 4, 5]
    (result,) = results_of([e for e in events if not isinstance(e, MetricReport)]).values()
    assert result.status is TrialStatus.SUCCEEDED and result.metric == 6.0
    assert ray_backend.started[40].pid != victim
    assert "running it again (retry 1 of 2)" in log.read_text()
    assert time.monotonic() - begun < 30  # a fresh actor started and ran it to the end


def test_two_half_gpu_slots_share_one_device(ray_session: RaySession) -> None:
    backend = RayBackend(2, config=RayConfig(gpus_per_trial=0.5, cpus_per_trial=0.5))
    try:
        # Both slots' actors alive at once, each holding half of the only (fake) GPU.
        assert backend.wait_ready(120), "the two half-GPU slots were not both placed"
        done = results_of(run_all(backend, [job(50, WhoAmI()), job(51, WhoAmI())]))
        assert [done[i].metrics["cuda_visible"] for i in (50, 51)] == ["0", "0"]
        assert len({backend.started[i].pid for i in (50, 51)}) == 2
    finally:
        backend.shutdown()
    # A backend leaves a Ray it did not start running (here: the module's).
    assert ray_session.ray.is_initialized()
    assert ray_session.ray.cluster_resources().get("GPU") == 1


@pytest.mark.parametrize(
    ("settings", "named"),
    [({"gpus_per_trial": 2}, "GPU=2"), ({"resources": {"tpu": 1}}, "tpu=1")],
)
def test_an_unplaceable_slot_fails_its_trial_naming_the_resource(
    ray_session: RaySession, settings: dict[str, object], named: str
) -> None:
    backend = RayBackend(1, config=RayConfig(placement_timeout=1.5, **settings))
    try:
        begun = time.monotonic()
        backend.submit(job(60, Forward()))
        events, _ = until(backend, 60)
        (result,) = results_of(events).values()
        assert time.monotonic() - begun < 1.5 + 2.0
        assert result.status is TrialStatus.FAILED
        assert result.error is not None and named in result.error, result.error
        assert "no node of the Ray cluster has" in result.error
        backend.submit(job(61, Forward()))  # still impossible: fails at once
        (again,) = results_of(backend.poll(0.1)).values()
        assert again.status is TrialStatus.FAILED
    finally:
        backend.shutdown()


CONNECT = """
from backend_jobs import Forward, job, results, run_all
from archsearch.execution import RayBackend, RayConfig

backend = RayBackend(1, config=RayConfig(address={address!r}), gpus_per_trial=0)
(result,) = results(run_all(backend, [job(1, Forward())])).values()
backend.shutdown()
print(result.status.value, backend.started[1].node_id)
"""


def test_a_driver_connecting_to_a_running_cluster_leaves_it_running(
    ray_session: RaySession, ray_backend: RayBackend
) -> None:
    address = ray_session.ray.get_runtime_context().gcs_address
    # The module's Ray uses token authentication (Ray's default for a local start, its token
    # in ~/.ray/auth_token): a driver given an address uses it when RAY_AUTH_MODE=token.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, *sys.path]), "RAY_AUTH_MODE": "token"}
    done = subprocess.run(
        [sys.executable, "-c", CONNECT.format(address=address)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (node,) = ray_session.ray.nodes()
    assert done.stdout.split() == ["succeeded", node["NodeID"]]
    # The cluster (this module's Ray) still runs trials after that driver left.
    (after,) = results_of(run_all(ray_backend, [job(80, Forward())])).values()
    assert after.status is TrialStatus.SUCCEEDED


def test_output_of_a_node_that_cannot_see_the_log_is_sent_to_the_driver(
    ray_backend: RayBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a node without the driver's file system: the marker beside the log is not there,
    # so the slot spools the output on its node and streams it back in chunks.
    unseen = str(tmp_path / "elsewhere" / "marker")
    monkeypatch.setattr(ray_backend, "_marker", lambda log_path: unseen)
    log = tmp_path / "logs" / "90.log"
    run_all(ray_backend, [job(90, Say("ninety", low_level=True), log_path=str(log))])
    text = log.read_text()
    for line in ("ninety stdout", "ninety stderr", "ninety fd1", "ninety child"):
        assert line + "\n" in text
    assert "trial started on node" in text

"""Starting and stopping the dashboard: in a thread (as Experiment.run does) and as the
`archsearch view` command in its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest
from builders import Store

from archsearch.ui import serve_in_background
from archsearch.ui.server import is_loopback


def test_background_server_serves_an_experiment_and_stops(store: Store) -> None:
    handle = serve_in_background(store.storage, 0, experiment_id="finished1")
    try:
        assert handle.host == "127.0.0.1" and handle.port > 0
        assert handle.url == f"http://127.0.0.1:{handle.port}/#/e/finished1"
        response = httpx.get(f"http://127.0.0.1:{handle.port}/api/experiments/finished1/status")
        assert response.status_code == 200 and response.json()["id"] == "finished1"
        assert handle.running
    finally:
        handle.stop()
    assert not handle.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{handle.port}/", timeout=2)


def test_a_port_in_use_fails_at_once_with_a_clear_message(store: Store) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot serve the dashboard on 127.0.0.1:{port}"):
            serve_in_background(store.storage, port)


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def view(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "archsearch.cli.main", "view", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_archsearch_view_prints_the_url_and_stops_on_ctrl_c(store: Store) -> None:
    process = view("finished1", "--storage", str(store.path), "--port", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("archsearch dashboard: http://127.0.0.1:"), line
        url = line.split()[2]
        assert url.endswith("/#/e/finished1")
        base = url.split("#")[0]
        assert httpx.get(base, timeout=5).status_code == 200
        trials = httpx.get(f"{base}api/experiments/finished1/trials", timeout=5).json()
        assert trials["total"] == 40
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def test_archsearch_view_names_an_unknown_experiment(store: Store) -> None:
    process = view("nope", "--storage", str(store.path), "--port", "0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "no experiment 'nope'" in err


def test_archsearch_view_rejects_a_bad_port(store: Store) -> None:
    process = view("--storage", str(store.path), "--port", "70000")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "--port must be between 0 and 65535" in err

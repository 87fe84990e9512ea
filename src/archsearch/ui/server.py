"""Serving the dashboard: uvicorn in a daemon thread, stoppable, on a port of choice.

`serve_in_background` binds the socket in the caller's thread, so a port in use fails at once
with a clear message, and port 0 picks a free one (the handle's `url` tells which).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from archsearch.ui.app import StorageSource, create_app

START_TIMEOUT_S = 10.0


@dataclass
class ServerHandle:
    """A running dashboard: its `url` (the experiment's page when one was named) and `stop()`."""

    url: str
    host: str
    port: int
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the server to finish its open requests and exit; wait up to `timeout` seconds."""
        self._server.should_exit = True  # type: ignore[attr-defined]
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); OSError explains a clash."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say they are TCP; with proto 0 every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno,
            f"cannot serve the dashboard on {host}:{port}: {exc.strerror} "
            "(choose another port, or 0 for any free one)",
        ) from None
    sock.set_inheritable(False)
    return sock


def serve_in_background(
    storage_spec: StorageSource,
    port: int = 8081,
    host: str = "127.0.0.1",
    experiment_id: str | None = None,
) -> ServerHandle:
    """Serve the dashboard over `storage_spec` (a Storage, path, `sqlite:///path` or None for
    the default store) from a daemon thread; returns once it accepts connections."""
    import uvicorn

    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(storage_spec, host),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="archsearch-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the dashboard did not start on {host}:{actual_port}")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{actual_port}/"
    if experiment_id is not None:
        url += f"#/e/{quote(experiment_id, safe='')}"
    return ServerHandle(url, host, actual_port, server, thread)

"""Getting a Ray to run trials on: importing it, starting a local one, connecting to a cluster.

A local Ray is started on 127.0.0.1 only (Ray binds the machine's public address otherwise),
without its dashboard, with a small object store and its files under `$ARCHSEARCH_HOME/ray`.
The processes it started are recorded beside them, so that when the process that started them
was killed (kill -9: it could not stop them) the next local start stops them and removes their
files. A cluster we connect to is only disconnected from, never stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from archsearch.execution.ray_config import is_remote
from archsearch.space.home import archsearch_home

INSTALL_HINT = "execution='ray' needs Ray: pip install 'archsearch[ray]'"

OBJECT_STORE_BYTES = 100 * 1024 * 1024
"""A local Ray's object store: trials exchange small messages only (Ray's default is 30% of
the memory)."""

_SOCKET_ROOM = 70
"""Characters Ray appends to its temp folder for its socket paths, which Unix limits to 107."""


def import_ray() -> ModuleType:
    """The `ray` module, or ImportError in one line naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


@dataclass
class RaySession:
    """The Ray this process uses for trials, and whether we must stop or leave it."""

    ray: ModuleType
    owned: bool  # we started it (local): shutdown stops it
    connected: bool  # we called ray.init: shutdown disconnects
    session_dir: str | None = None
    record: Path | None = None

    def close(self) -> None:
        """Stop a Ray we started (and remove its files), disconnect from one we joined."""
        if self.connected:
            self.ray.shutdown()
            self.connected = False
        if self.owned:
            if self.session_dir is not None:
                _remove_session(self.session_dir)
            if self.record is not None:
                self.record.unlink(missing_ok=True)
            self.owned = False


def connect(
    address: str | None,
    *,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    resources: Mapping[str, float] | None = None,
    runtime_env: Mapping[str, Any] | None = None,
) -> RaySession:
    """Use the Ray this process is connected to already (never stopped by us), else connect to
    `address`, else start a local Ray with the given totals (None: what the machine has)."""
    ray = import_ray()
    if ray.is_initialized():
        return RaySession(ray, owned=False, connected=False)
    options: dict[str, Any] = {"log_to_driver": False}
    if runtime_env:
        options["runtime_env"] = dict(runtime_env)
    if address is not None:
        # A cluster on this machine's loopback: Ray would turn 127.0.0.1 into the public
        # address, where that cluster does not listen.
        on_loopback = address != "auto" and not is_remote(address)
        try:
            with loopback_only(ray) if on_loopback else contextlib.nullcontext():
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionError(
                f"cannot connect to the Ray cluster at {address} ({str(exc).splitlines()[0]}); "
                "a cluster with token authentication needs RAY_AUTH_MODE=token and its token "
                "(RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) in the environment"
            ) from exc
        return RaySession(ray, owned=False, connected=True)
    clean_stale()
    temp_root = _temp_root()
    with loopback_only(ray):
        info = ray.init(
            address="local",
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            _temp_dir=str(temp_root),
            num_cpus=None if num_cpus is None else int(num_cpus),
            num_gpus=None if num_gpus is None else int(num_gpus),
            resources=dict(resources or {}),
            **options,
        )
    session_dir = str(info.address_info["session_dir"])
    record = _record(temp_root, session_dir)
    return RaySession(ray, owned=True, connected=True, session_dir=session_dir, record=record)


@contextlib.contextmanager
def loopback_only(ray: ModuleType) -> Iterator[None]:
    """While a local Ray (or a test's simulated cluster) starts, make it and its processes use
    127.0.0.1 rather than the machine's public address. Ray reads this switch (meant for
    laptops) from the environment of each process it starts, and in this process from a
    constant set at import."""
    name = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
    previous = os.environ.get(name)
    os.environ[name] = "0"
    constants: Any = getattr(getattr(ray, "_private", None), "ray_constants", None)
    saved = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = saved
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _temp_root() -> Path:
    """`$ARCHSEARCH_HOME/ray`, or a short folder under the system's temp dir when that path
    leaves no room for Ray's socket paths."""
    root = archsearch_home() / "ray"
    if len(str(root)) + _SOCKET_ROOM > 107:
        root = Path(tempfile.gettempdir()) / f"archsearch-ray-{os.getuid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _records() -> Path:
    folder = archsearch_home() / "ray" / "started"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _record(temp_root: Path, session_dir: str) -> Path:
    """Write down the processes the local Ray just started (our descendants running Ray)."""
    me = os.getpid()
    started = [(pid, _start_time(pid)) for pid in _descendants(me) if _is_ray(pid)]
    data = {
        "owner": [me, _start_time(me)],
        "session_dir": session_dir,
        "processes": started,
    }
    path = _records() / f"{me}-{os.path.basename(session_dir)}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def clean_stale() -> None:
    """Stop the processes of local Rays whose starter died without stopping them (kill -9),
    and remove their files."""
    for path in sorted(_records().glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            owner_pid, owner_start = data["owner"]
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            continue
        if _start_time(owner_pid) == owner_start:
            continue  # its starter still runs: its Ray is in use
        for pid, start in data.get("processes", []):
            if start is not None and _start_time(pid) == start:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        if data.get("session_dir"):
            _remove_session(str(data["session_dir"]))
        path.unlink(missing_ok=True)


def _remove_session(session_dir: str) -> None:
    """Remove a stopped Ray's files, and Ray's `session_latest` link when it pointed there."""
    shutil.rmtree(session_dir, ignore_errors=True)
    latest = Path(session_dir).parent / "session_latest"
    if latest.is_symlink() and not latest.exists():
        latest.unlink(missing_ok=True)


def _start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot): a pid with another start time is
    another process. None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) if fields[0] not in ("Z", "X") else None


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    return children


def _descendants(pid: int) -> list[int]:
    children = _children()
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _is_ray(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"ray" in cmdline.read()
    except OSError:
        return False

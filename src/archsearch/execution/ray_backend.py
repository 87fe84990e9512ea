"""The Ray backend (`execution="ray"`): trials run on a Ray cluster, one actor per slot.

Each slot is a persistent actor (`ray_slot.TrialSlot`) holding the slot's CPUs, GPUs and custom
resources; a trial is one call of it, streaming back its start (node, pids: a `TrialStarted`),
reports, output (when the node cannot write the driver's log) and result; only this process
writes storage. Faults end as results, never as hangs or duplicates (docs/cluster.md has
the table): a trial's own crash or timeout is handled in the slot; a cancel kills the slot's
actor (`ray.cancel` cannot stop a running call); a lost actor or node re-runs the trial under
the same id (never through Ray's task retries, which would repeat its reports); a slot the
cluster cannot place fails its trial naming the missing resource. Ray is imported only when
the backend starts (`ray_start`).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from archsearch.execution.base import (
    Backend,
    BackendConfig,
    Event,
    Job,
    MetricReport,
    TrialResult,
    TrialStarted,
    check_concurrency,
    check_duration,
    take_events,
)
from archsearch.execution.logs import append_note, open_log
from archsearch.execution.ray_config import RayConfig, script_folder
from archsearch.execution.ray_placement import busy, missing
from archsearch.execution.ray_slot import LogChunk, Started, TrialSlot
from archsearch.execution.ray_start import RaySession, connect
from archsearch.execution.refs import Transfer
from archsearch.execution.worker import ended_result, overtime
from archsearch.space import TrialStatus

KILL_SECONDS = 0.5
"""How long a slot may take to kill its trial's processes before its actor is killed anyway."""

BACKSTOP_SECONDS = 30.0
"""Past `max_duration` + this, a trial whose slot sent no TIMEOUT is stopped from here."""


@dataclass
class _Slot:
    """The driver's view of one slot (driver-side state, never sent anywhere)."""

    index: int
    actor: Any = None  # the slot's actor handle; None until needed
    placed: Any = None  # resolves once the actor runs (placed, started, imports done)
    requested: float = 0.0  # when the actor was asked for (monotonic)
    is_placed: bool = False
    job: Job | None = None
    call: Any = None  # the running trial's stream of messages (an ObjectRefGenerator)
    started: float | None = None  # when the trial began on its node (wall clock)
    attempt: int = 0  # runs of the current trial lost with their actor
    delivered: int = 0  # the trial's reports passed on, over all its runs
    seen: int = 0  # reports of the current run
    unplaceable: bool = False  # the last actor of this slot was never placed


class RayBackend(Backend):
    """Runs up to `concurrency` trials at once on Ray, each slot a persistent actor.

    `config` (a `RayConfig`) says where (an existing cluster or a local Ray this backend
    starts and stops) and what each slot holds; `gpus_per_trial` overrides its GPUs.
    Starting is lazy: the first `submit` (or `start()`) connects and creates every slot's actor.
    """

    transfer = Transfer.PROCESS

    def __init__(
        self,
        concurrency: int = 1,
        *,
        config: RayConfig | None = None,
        gpus_per_trial: float | None = None,
    ) -> None:
        check_concurrency(concurrency)
        self.concurrency = concurrency
        self.config = RayConfig.of(config)
        if gpus_per_trial is not None:
            self.config.gpus_per_trial = gpus_per_trial
        self._session: RaySession | None = None
        self._slot_class: Any = None
        self._request: dict[str, float] = {}  # what each slot holds (resource → amount)
        self._slots = [_Slot(i) for i in range(concurrency)]
        self._events: deque[Event] = deque()
        self._markers: dict[str, str] = {}  # log folder → the file telling nodes they see it
        self.started: dict[int, Started] = {}
        """Where and when each trial started (its latest run), by trial id."""
        self._closed = False

    @classmethod
    def from_config(cls, config: BackendConfig) -> RayBackend:
        """`trial_concurrency` slots as the config's `ray` section says; GPUs per trial from
        that section, else `trial_gpu_number`."""
        section = getattr(config, "ray", None)
        ray_config = RayConfig.of(section if isinstance(section, RayConfig) else None)
        gpus = ray_config.gpus_per_trial
        if gpus is None and config.trial_gpu_number is not None:
            gpus = float(config.trial_gpu_number)
        return cls(config.trial_concurrency, config=ray_config, gpus_per_trial=gpus)

    # -- the Backend interface -------------------------------------------------------------

    def start(self) -> None:
        """Connect to (or start) Ray and ask for every slot's actor. Idempotent."""
        if self._closed:
            raise RuntimeError("this RayBackend has been shut down")
        if self._session is not None:
            return
        config = self.config
        code = config.code_folder(script_folder())
        address = config.resolved_address()
        cpus = None
        if address is None:  # a local Ray: room for every slot even on a small machine
            cpus = max(os.cpu_count() or 1, math.ceil(self.concurrency * config.cpus_per_trial))
        self._session = connect(
            address,
            num_cpus=cpus,
            runtime_env={"working_dir": code} if code else None,
        )
        ray = self._session.ray
        gpus = config.gpus_per_trial
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
        wanted = {"CPU": config.cpus_per_trial, "GPU": gpus, **config.resources}
        self._request = {name: amount for name, amount in wanted.items() if amount > 0}
        self._slot_class = ray.remote(TrialSlot).options(
            num_cpus=config.cpus_per_trial,
            num_gpus=gpus,
            resources=dict(config.resources),
            max_restarts=0,
            max_task_retries=0,  # a lost trial is re-run from here, never by Ray
            max_concurrency=2,  # `kill_trial` runs beside a running trial
        )
        self._code = code
        for slot in self._slots:
            self._new_actor(slot)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Start, then wait until every slot's worker has imported everything."""
        self.start()
        ray = self._ray
        refs = [s.actor.ready.remote(timeout or 600.0) for s in self._slots if s.actor]
        try:
            ray.get(refs, timeout=timeout)
        except Exception:
            return False
        return True

    def submit(self, job: Job) -> None:
        """Start `job` on an idle slot (a placed one when there is one)."""
        if self._closed:
            raise RuntimeError("this RayBackend has been shut down")
        check_duration(job.max_duration)
        self.start()
        idle = [s for s in self._slots if s.job is None]
        if not idle:
            raise RuntimeError(
                f"no free slot: all {self.concurrency} Ray slots are busy (check free_slots())"
            )
        slot = max(idle, key=lambda s: s.is_placed)
        slot.job, slot.attempt, slot.delivered = job, 0, 0
        if slot.unplaceable and (missing := self._missing()) is not None:
            self._end(slot, TrialStatus.FAILED, missing)  # still impossible: fail at once
            return
        if slot.actor is None:
            self._new_actor(slot)
        self._call(slot)

    def poll(self, timeout: float = 0.0) -> list[Event]:
        """Events since the last poll; waits up to `timeout` s for the first."""
        return take_events(self._events, self._collect, lambda: self._closed, timeout)

    def free_slots(self) -> int:
        """Slots without a trial (0 after shutdown)."""
        return 0 if self._closed else self.concurrency - self.running()

    def running(self) -> int:
        """Trials submitted whose result has not been returned."""
        return sum(1 for s in self._slots if s.job is not None)

    def node(self) -> None:
        """None: each trial's node comes when it starts there (`TrialStarted`)."""

    def cancel(self, trial_id: int) -> None:
        """Kill the actor running `trial_id` (CANCELLED result) and start a fresh one."""
        for slot in self._slots:
            if slot.job is not None and slot.job.trial_id == trial_id:
                self._drain(slot)  # its result may be there already
                if slot.job is not None:
                    self._stop(slot, TrialStatus.CANCELLED, "cancelled")

    def shutdown(self) -> None:
        """Stop every trial (CANCELLED results) and every actor; stop a Ray we started,
        disconnect from one we joined."""
        if self._closed:
            return
        self._closed = True
        for slot in self._slots:
            running = slot.job is not None
            self._kill(slot)  # with what a running trial started
            if running:
                self._end(slot, TrialStatus.CANCELLED, "the backend was shut down")
        for marker in self._markers.values():
            with contextlib.suppress(OSError):
                os.unlink(marker)
        if self._session is not None:
            self._session.close()

    # -- internals -------------------------------------------------------------------------

    @property
    def _ray(self) -> Any:
        assert self._session is not None
        return self._session.ray

    def _new_actor(self, slot: _Slot) -> None:
        slot.actor = self._slot_class.remote(list(sys.path), self._code)
        slot.placed = slot.actor.placed.remote()
        slot.requested = time.monotonic()
        slot.is_placed = False

    def _kill(self, slot: _Slot) -> None:
        """Kill the slot's actor; with a trial running, first what the trial started."""
        if slot.actor is not None:
            with contextlib.suppress(Exception):  # already dead, or Ray already gone
                if slot.call is not None and slot.is_placed:
                    self._ray.get(slot.actor.kill_trial.remote(), timeout=KILL_SECONDS)
            with contextlib.suppress(Exception):
                self._ray.kill(slot.actor, no_restart=True)
        slot.actor = slot.placed = slot.call = None
        slot.is_placed = False

    def _call(self, slot: _Slot) -> None:
        """Run the slot's job on its actor (again, after a lost run)."""
        assert slot.job is not None
        slot.seen, slot.started = 0, None
        slot.call = slot.actor.run.remote(slot.job, self._marker(slot.job.log_path))

    def _marker(self, log_path: str | None) -> str | None:
        """A file in the log's folder: a node that sees it shares this file system and writes
        the log itself; other nodes send the output here."""
        if log_path is None:
            return None
        folder = os.path.dirname(os.path.abspath(log_path))
        if folder not in self._markers:
            os.makedirs(folder, exist_ok=True)
            marker = os.path.join(folder, f".archsearch-driver-{os.getpid()}")
            with open(marker, "w"):
                pass
            self._markers[folder] = marker
        return self._markers[folder]

    def _collect(self, wait: float) -> None:
        """Wait up to `wait` s for a message of a running trial or a timer; handle all."""
        busy = [s for s in self._slots if s.call is not None]
        timers = [t - time.monotonic() for s in busy if (t := self._timer(s)) is not None]
        wait_s = max(0.0, min([wait, *timers]))
        if busy and wait_s > 0:
            self._ray.wait([s.call for s in busy], num_returns=1, timeout=wait_s)
        elif wait_s > 0:
            time.sleep(wait_s)
        for slot in busy:
            self._drain(slot)
            self._check_timers(slot)

    def _timer(self, slot: _Slot) -> float | None:
        """When the slot needs a look even without a message (monotonic), if ever."""
        if not slot.is_placed:
            return slot.requested + self.config.placement_timeout
        job = slot.job
        if job is not None and job.max_duration is not None and slot.started is not None:
            since = time.time() - slot.started
            return time.monotonic() - since + job.max_duration + BACKSTOP_SECONDS
        return None

    def _check_timers(self, slot: _Slot) -> None:
        if slot.job is None:
            return
        if not slot.is_placed:
            ready, _ = self._ray.wait([slot.placed], timeout=0)
            if ready:
                slot.is_placed, slot.unplaceable = True, False
            elif time.monotonic() >= slot.requested + self.config.placement_timeout:
                why = self._missing() or busy(self._request, self.config.placement_timeout)
                slot.unplaceable = True
                self._stop(slot, TrialStatus.FAILED, why)
            return
        timer = self._timer(slot)
        if timer is not None and time.monotonic() >= timer:
            self._stop(slot, TrialStatus.TIMEOUT, overtime(slot.job) + "; its slot did not answer")

    def _drain(self, slot: _Slot) -> None:
        """Handle every message of the slot's running trial that has arrived."""
        ray = self._ray
        while slot.call is not None:
            ready, _ = ray.wait([slot.call], timeout=0)
            if not ready:
                return
            try:
                message = ray.get(next(slot.call))
            except StopIteration:  # ended without a result: treat as a lost run
                self._lost(slot, "its actor ended the call without a result")
            except ray.exceptions.RayActorError as exc:
                if exc.actor_init_failed:
                    self._kill(slot)
                    self._end(slot, TrialStatus.FAILED, f"the slot's actor failed to start: {exc}")
                else:
                    self._lost(slot, _first_line(exc))
            except ray.exceptions.RayError as exc:
                self._stop(slot, TrialStatus.FAILED, f"Ray failed the trial: {_first_line(exc)}")
            else:
                self._handle(slot, message)

    def _handle(self, slot: _Slot, message: Any) -> None:
        assert slot.job is not None
        if isinstance(message, Started):
            slot.is_placed, slot.started = True, message.time
            self.started[message.trial_id] = message
            self._events.append(TrialStarted(message.trial_id, message.node))
            append_note(
                slot.job.log_path,
                f"trial started on node {message.node} (Ray node {message.node_id[:12]}, "
                f"actor pid {message.pid}, worker pid {message.worker_pid})",
            )
        elif isinstance(message, MetricReport):
            slot.seen += 1
            if slot.seen > slot.delivered:  # a re-run's reports start over: pass new ones on
                slot.delivered = slot.seen
                self._events.append(message)
        elif isinstance(message, LogChunk):
            if slot.job.log_path is not None:
                with (
                    contextlib.suppress(OSError),
                    os.fdopen(open_log(slot.job.log_path), "ab") as f,
                ):
                    f.write(message.data)
        elif isinstance(message, TrialResult):
            started = slot.started if message.started_at is None else message.started_at
            self._events.append(replace(message, started_at=started))
            slot.job = slot.call = None

    def _lost(self, slot: _Slot, why: str) -> None:
        """The slot's actor died under a running trial: run it again on a fresh actor, or fail
        it when its retries are spent."""
        assert slot.job is not None
        self._kill(slot)
        start = self.started.get(slot.job.trial_id)
        node = "its node" if start is None else f"node {start.node}"
        reason = f"the trial's worker or node was lost ({node}: {why})"
        if slot.attempt >= self.config.max_retries:
            runs = slot.attempt + 1
            self._end(slot, TrialStatus.FAILED, f"{reason}; ran {runs} time(s), no retry left")
            return
        slot.attempt += 1
        append_note(
            slot.job.log_path,
            f"{reason}; running it again (retry {slot.attempt} of {self.config.max_retries})",
        )
        self._new_actor(slot)
        self._call(slot)

    def _stop(self, slot: _Slot, status: TrialStatus, reason: str) -> None:
        """End the slot's trial with `status` by killing its actor; a fresh one is started."""
        self._kill(slot)
        self._end(slot, status, reason)
        if not self._closed and not slot.unplaceable:
            self._new_actor(slot)

    def _end(self, slot: _Slot, status: TrialStatus, reason: str) -> None:
        assert slot.job is not None
        append_note(slot.job.log_path, f"trial stopped: {reason}")
        self._events.append(ended_result(slot.job.trial_id, status, reason, slot.started))
        slot.job = slot.call = None

    def _missing(self) -> str | None:
        return missing(self._ray.nodes(), self._request)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]

"""The loop of one local worker process: receive a job, run it, send its events back.

A worker lives for many trials: torch and the user's modules are imported once, and evaluators
and model spaces cross the pipe and are unpickled once (a `Refs` message, sent when they change;
the jobs that follow travel without them). The environment overrides of its slot
(CUDA_VISIBLE_DEVICES) are applied first thing in `main`; importing torch does not initialise
CUDA, so they take effect for every trial.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from multiprocessing import connection
from multiprocessing.connection import Connection
from typing import NoReturn

from archsearch.execution.base import Job, TrialResult
from archsearch.execution.logs import FdRedirect, flush_std
from archsearch.execution.refs import Ref
from archsearch.execution.worker import CallbackReporter, failed_result, run_job, sending_reports


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process needs at start: its slot number and environment overrides."""

    slot: int
    env: Mapping[str, str] = field(default_factory=dict)
    threads: int | None = None  # torch intra-op threads; None: torch's default


@dataclass(frozen=True)
class Ready:
    """The first message of a worker: imports are done, jobs are served from now on."""

    pid: int
    time: float


@dataclass(frozen=True)
class Refs:
    """The model space and evaluator of the jobs that follow; each job arrives with `NO_REF`
    in their place (a pickled model instance can weigh megabytes: it is sent once, not per
    trial)."""

    model_space: Ref
    evaluator: Ref


NO_REF = Ref()
"""What a job sent to a worker carries instead of its references (see `Refs`)."""

STOP = None
"""The message asking a worker to exit (sent between jobs)."""


def main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry point of a worker process (the target of `multiprocessing.Process`)."""
    os.environ.update(spec.env)
    if spec.threads is not None:
        import torch  # already imported through run_job; here only to set its threads

        torch.set_num_threads(spec.threads)
    # A process group of its own: the terminal's Ctrl-C reaches only the runner, which stops
    # trials deliberately (cancel, shutdown) instead of every worker dying mid-write, and the
    # runner can kill a trial together with the processes it started (os.killpg).
    os.setpgrp()
    _exit_with_runner()
    # Line buffering: a trial killed for its time still leaves its printed lines in the log.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    redirect = FdRedirect()
    refs = Refs(NO_REF, NO_REF)
    # The imports' objects (torch: ~170,000) live as long as the worker: frozen, the full
    # collections that building a trial's model triggers skip them (~0.2-0.8 ms a trial).
    gc.freeze()
    conn.send(Ready(os.getpid(), time.time()))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the runner is gone
            _exit()
        if message is STOP:
            _exit()
        if isinstance(message, Refs):
            refs = message
            continue
        job = replace(message, model_space=refs.model_space, evaluator=refs.evaluator)
        with redirect.to(job.log_path):
            result = run_trial(job, conn)
        conn.send(result)


def _exit() -> NoReturn:
    """End the worker at once: exit handlers run and output is flushed, but the interpreter's
    teardown of torch's modules (a second or more, which the runner's shutdown would wait
    for) is skipped; the process holds nothing else that needs it."""
    atexit._run_exitfuncs()
    flush_std()
    os._exit(0)


def _exit_with_runner() -> None:
    """If the runner dies without stopping its workers (SIGKILL), take this worker and what its
    trial started down with it instead of finishing an orphaned trial."""
    parent = multiprocessing.parent_process()
    sentinel = None if parent is None else parent.sentinel
    if sentinel is None:
        return

    def watch() -> None:
        connection.wait([sentinel])
        os.killpg(os.getpgrp(), signal.SIGKILL)

    threading.Thread(target=watch, name="archsearch-runner-watch", daemon=True).start()


def run_trial(job: Job, conn: Connection) -> TrialResult:
    """Run `job`, sending each intermediate report to `conn` as it is made."""

    started = time.time()
    try:
        return run_job(job, CallbackReporter(sending_reports(job.trial_id, conn.send)))
    except BaseException as exc:
        # run_job turns exceptions into results; what escapes it (sys.exit() or a
        # KeyboardInterrupt inside the evaluator) still fails only this trial.
        return failed_result(job.trial_id, exc, started)

"""`archsearch list`, `resume ID`, `stop ID`, `export ID`: stored experiments from the shell.

Each command takes `--storage` (default `$ARCHSEARCH_HOME/experiments.db`). An unknown id or an
unusable store is a one-line error and exit code 1.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archsearch.space import InvalidArchitectureError, Trial, TrialStatus, best_trials
from archsearch.storage import (
    ExperimentNotFoundError,
    ExperimentRecord,
    ExperimentStatus,
    IncompatibleStorageError,
    Storage,
    display_status,
    open_storage,
    storage_file,
)
from archsearch.storage.liveness import run_seconds
from archsearch.storage.schema import Mode

Command = Callable[[argparse.Namespace], int]


def add_parsers(subparsers: Any) -> None:
    """Register `list`, `resume`, `stop` and `export`."""
    parser = subparsers.add_parser("list", help="list stored experiments")
    add_storage_option(parser)
    parser.set_defaults(run=_guarded(list_command))

    parser = subparsers.add_parser("resume", help="continue a stopped or interrupted experiment")
    parser.add_argument("id", help="experiment id (see `archsearch list`)")
    parser.add_argument("--port", type=int, help="also serve the dashboard on this port")
    add_storage_option(parser)
    parser.set_defaults(run=_guarded(resume_command))

    parser = subparsers.add_parser("stop", help="stop a running experiment")
    parser.add_argument("id", help="experiment id (see `archsearch list`)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for it to stop (default 60)"
    )
    add_storage_option(parser)
    parser.set_defaults(run=_guarded(stop_command))

    parser = subparsers.add_parser("export", help="write the best architectures as JSON")
    parser.add_argument("id", help="experiment id (see `archsearch list`)")
    parser.add_argument("--top-k", type=int, default=1, help="how many (default 1)")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    add_storage_option(parser)
    parser.set_defaults(run=_guarded(export_command))


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """The `--storage` option of the commands that read stored experiments."""
    parser.add_argument(
        "--storage", help="database path or sqlite:///path (default: $ARCHSEARCH_HOME)"
    )


def _guarded(command: Command) -> Command:
    """Errors a user can fix (unknown id, bad store) as one line and exit code 1."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except BrokenPipeError:
            raise  # the reader of stdout left (`| head`): main() ends quietly
        except (ExperimentNotFoundError, ValueError, OSError, IncompatibleStorageError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


def open_existing(spec: str | None, mode: Mode = "ro") -> Storage:
    """The store `spec` names, refusing a file that does not exist: commands that only read
    must not leave an empty database behind at a mistyped path. Readers ("ro") and `stop`
    ("rw") change no schema or journal mode; only `resume` ("rwc") may migrate."""
    path = storage_file(spec)
    if path is not None and not path.is_file():
        raise FileNotFoundError(
            f"no experiment store at {path}: nothing has been run with this storage "
            "(check --storage, or leave it out for the default store)"
        )
    return open_storage(spec, mode=mode)


# -- list ------------------------------------------------------------------------------------
def list_command(args: argparse.Namespace) -> int:
    """Print one line per experiment, newest first."""
    path = storage_file(args.storage)
    if path is not None and not path.is_file():
        print(f"no experiments in {path} (no such file)")
        return 0
    storage = open_storage(args.storage, mode="ro")
    records = storage.experiments()
    if not records:
        print(f"no experiments in {_where(storage)}")
        return 0
    rows = [_list_row(storage, record) for record in records]
    print(table(["ID", "NAME", "KIND", "STATUS", "TRIALS", "BEST", "STARTED", "DURATION"], rows))
    return 0


def _list_row(storage: Storage, record: ExperimentRecord) -> list[str]:
    trials = storage.trials(record.id)
    trials_column = "-"  # a one-shot run is one trial (the supernet), not a budget of them
    if record.kind == "multi-trial":
        budget = record.config.get("max_trial_number")
        done = sum(t.status.finished for t in trials)
        trials_column = f"{done}/{budget if budget is not None else '-'}"
    best = best_trials(trials, record.optimize_mode, 1)
    best_column = f"{best[0].metric:.4g}" if best else "-"
    status = display_status(record)
    return [
        record.id,
        record.name,
        record.kind,
        status,
        trials_column,
        best_column,
        _clock(record.started_at or record.created_at),
        _duration(run_seconds(record, status)),
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned to their widest cell, two spaces apart."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def _clock(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _where(storage: Storage) -> str:
    return str(getattr(storage, "path", storage))


# -- resume and stop -------------------------------------------------------------------------
def resume_command(args: argparse.Namespace) -> int:
    """Continue an experiment in this process until its budget is spent."""
    from archsearch.experiment import Experiment

    storage = open_existing(args.storage, mode="rwc")
    record = storage.experiment(args.id)
    if display_status(record) == "running":
        print(
            f"error: experiment {args.id} is already running (process {record.pid}); "
            f"stop it first with `archsearch stop {args.id}`",
            file=sys.stderr,
        )
        return 1
    # Refuses a done experiment (ValueError: one line, exit code 1) before anything is printed.
    experiment = Experiment.resume(args.id, storage=args.storage, run=False)
    print(f"resuming experiment {args.id} ({record.name}) from {_where(storage)}", flush=True)
    return run_and_summarise(experiment, port=args.port, storage_arg=args.storage)


def run_and_summarise(
    experiment: Any, *, port: int | None, storage_arg: str | None, config: Any = None
) -> int:
    """Run `experiment` (Ctrl-C stops it), then print how it went; exit code 0, 130 after
    Ctrl-C, 1 when the strategy or tuner proposed an architecture outside the space."""
    code = 0
    try:
        experiment.run(config, port=port)
    except KeyboardInterrupt:
        code = 130
    except InvalidArchitectureError as exc:  # a tuner's bug: one line, then how far it got
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    if experiment.stored:
        print(summary(experiment.storage, experiment.id, storage_arg))
    return code


def summary(storage: Storage, experiment_id: str, storage_arg: str | None = None) -> str:
    """How an experiment ended: counts, best trial, and the commands to look further."""
    record = storage.experiment(experiment_id)
    trials = storage.trials(experiment_id)
    counts = Counter(trial.status.value for trial in trials)
    status = display_status(record)
    detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    option = f" --storage {storage_arg}" if storage_arg else ""
    lines = [
        f"experiment {experiment_id} {status}: {len(trials)} trials"
        + (f" ({detail})" if detail else "")
        + f" in {_duration(run_seconds(record, status))}"
    ]
    best = best_trials(trials, record.optimize_mode, 1)
    if best:
        lines.append(f"best trial #{best[0].id}: {best[0].metric:.6g}  {json.dumps(best[0].arch)}")
    else:
        lines.append("no trial succeeded")
    lines.extend(_last_failure(trials))
    if record.status is not ExperimentStatus.DONE:
        lines.append(f"continue it:  archsearch resume {experiment_id}{option}")
    lines.append(f"view it:      archsearch view {experiment_id}{option}")
    if best:
        lines.append(f"export:       archsearch export {experiment_id} --top-k 5{option}")
    return "\n".join(lines)


def _last_failure(trials: Sequence[Trial]) -> list[str]:
    """Why the latest failed or timed-out trial ended, and its log: when every trial fails
    the same way (a mistyped script, a stale search-space file) this is the fix."""
    failed = [t for t in trials if t.status in (TrialStatus.FAILED, TrialStatus.TIMEOUT)]
    if not failed:
        return []
    last = max(failed, key=lambda t: (t.ended_at or 0.0, t.id))
    reason = (last.error or last.status.value).splitlines()[0]
    if len(reason) > 300:
        reason = reason[:299] + "…"
    lines = [f"last failure: trial #{last.id}: {reason}"]
    if last.log_path:
        lines.append(f"  its log:    {last.log_path}")
    return lines


def stop_command(args: argparse.Namespace) -> int:
    """Ask the process running an experiment to stop, and wait until it has."""
    storage = open_existing(args.storage, mode="rw")
    record = storage.experiment(args.id)
    state = display_status(record)
    if state == "interrupted":
        print(
            f"experiment {args.id} is not running: its process {record.pid} is gone "
            f"(interrupted); `archsearch resume {args.id}` continues it"
        )
        return 0
    if state != "running":
        print(f"experiment {args.id} is not running ({state}); nothing to stop")
        return 0
    storage.request_stop(args.id)
    print(f"stop requested for experiment {args.id} (process {record.pid})", flush=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        record = storage.experiment(args.id)
        state = display_status(record)
        if state == "stopped":
            print(f"experiment {args.id} stopped; `archsearch resume {args.id}` continues it")
            return 0
        if state != "running":  # it ended on its own first (done, failed, or its process died)
            print(f"experiment {args.id} ended: {state}")
            return 0
        time.sleep(0.2)
    print(f"experiment {args.id} is still running after {args.timeout:g} s", file=sys.stderr)
    return 1


# -- export ----------------------------------------------------------------------------------
def export_command(args: argparse.Namespace) -> int:
    """Write the `--top-k` best architectures with their metrics, best first."""
    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    storage = open_existing(args.storage)
    record = storage.experiment(args.id)
    best = best_trials(storage.trials(args.id), record.optimize_mode, args.top_k)
    text = json.dumps([_exported(rank, t) for rank, t in enumerate(best, 1)], indent=2)
    if args.output is None:
        print(text)
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {len(best)} architectures to {args.output}", file=sys.stderr)
    if not best:
        print(f"experiment {args.id} has no succeeded trial yet", file=sys.stderr)
    return 0


def _exported(rank: int, trial: Trial) -> dict[str, Any]:
    assert trial.status is TrialStatus.SUCCEEDED
    return {
        "rank": rank,
        "trial": trial.id,
        "metric": trial.metric,
        "metrics": dict(trial.metrics),
        "arch": dict(trial.arch),
    }

"""`archsearch run config.yml`: a classic experiment, one run of the trial command per trial.

The configuration (NNI's keys) is described in `archsearch.classic.config`; trials run as
subprocesses in threads of this process (`execution="threads"`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archsearch.cli.experiments import run_and_summarise
from archsearch.storage import IncompatibleStorageError, open_storage


def add_parser(subparsers: Any) -> None:
    """Register the `run` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="run a classic (script) experiment from a YAML config",
        description="Run the trial command once per trial, with the architecture the tuner "
        "chose; results go to the experiments database.",
    )
    parser.add_argument("config", type=Path, help="the experiment's YAML file")
    parser.add_argument(
        "--storage", help="database path or sqlite:///path (overrides the config's storage)"
    )
    parser.add_argument("--port", type=int, help="also serve the dashboard on this port")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the config, run the experiment, print a summary."""
    # Imported here: the experiment machinery imports torch, which `archsearch list` and
    # `--version` need not wait for.
    from archsearch.classic.config import RunConfigError, load_run_config

    try:
        config = load_run_config(args.config)
        settings = config.experiment_config(args.storage)
        experiment = config.experiment()
        open_storage(settings.storage)  # a bad store is a one-line error before anything runs
    except (RunConfigError, ValueError, OSError, IncompatibleStorageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return run_and_summarise(experiment, port=args.port, storage_arg=args.storage, config=settings)

"""`archsearch view [ID]`: serve the web dashboard over stored experiments until Ctrl-C.

Binds 127.0.0.1 unless `--host` says otherwise (the dashboard has no login, so another host
exposes every stored experiment to whoever can reach it). Only reads storage.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from archsearch.cli.experiments import add_storage_option, open_existing
from archsearch.storage import ExperimentNotFoundError


def add_parser(subparsers: Any) -> None:
    """Register the `view` subcommand."""
    parser = subparsers.add_parser(
        "view",
        help="serve the web dashboard",
        description="Serve the dashboard for the experiments and one-shot runs in a store; "
        "with an ID, open on that experiment. Ctrl-C stops it.",
    )
    parser.add_argument("id", nargs="?", help="experiment id to open (see `archsearch list`)")
    parser.add_argument("--port", type=int, default=8081, help="port (default 8081; 0: any free)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address or name to bind (default 127.0.0.1: this machine only); requests must "
        "name it, localhost or an IP address in their Host header",
    )
    add_storage_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Start the dashboard, print its URL, and serve until Ctrl-C (or until `stop` is set)."""
    try:
        from archsearch.ui import serve_in_background
        from archsearch.ui.server import is_loopback
    except ModuleNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not 0 <= args.port <= 65535:
        print(f"error: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return 1
    try:
        storage = open_existing(args.storage)
        if args.id is not None:
            storage.experiment(args.id)
        handle = serve_in_background(storage, args.port, host=args.host, experiment_id=args.id)
    except (ExperimentNotFoundError, ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}: anyone who can reach this address can read "
            "every experiment in the store (the dashboard has no login)",
            file=sys.stderr,
        )
    print(f"archsearch dashboard: {handle.url}  (Ctrl-C to stop)", flush=True)
    waiter = stop or threading.Event()
    try:
        while handle.running and not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0

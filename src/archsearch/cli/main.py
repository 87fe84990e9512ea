"""Entry point of the `archsearch` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from archsearch import __version__
from archsearch.cli import annotate, experiments, run, ss_gen, view


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    parser = argparse.ArgumentParser(prog="archsearch", description="Neural architecture search.")
    parser.add_argument("--version", action="version", version=f"archsearch {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    ss_gen.add_parser(subparsers)
    run.add_parser(subparsers)
    experiments.add_parsers(subparsers)
    view.add_parser(subparsers)
    annotate.add_parser(subparsers)
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code: int = args.run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # `archsearch list | head`: the reader left. Point stdout at /dev/null so the flush at
        # exit does not raise again, and end quietly like other command-line tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())

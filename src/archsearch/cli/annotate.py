"""`archsearch annotate SCRIPT --arch ARCH.json`: an annotated script with one architecture's
choices written as plain calls (NNI's `trial codegen`); without `--arch`, the trial code that
`archsearch run` executes (each annotation a runtime call, every line where it was)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the `annotate` subcommand."""
    parser = subparsers.add_parser(
        "annotate",
        help="write an annotated script with an architecture's choices inlined",
        description="Read the @nni annotations of SCRIPT and write it with the choices of "
        "--arch (an architecture, classic or NNI parameters, or `archsearch export` output) "
        "written as plain code; without --arch, show the trial code archsearch runs.",
    )
    parser.add_argument("script", type=Path, metavar="SCRIPT")
    parser.add_argument("--arch", type=Path, metavar="ARCH.json", help="the choices to inline")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the generated script."""
    from archsearch.annotation import AnnotationError
    from archsearch.annotation.codegen import generate
    from archsearch.annotation.space import read_module
    from archsearch.annotation.splice import trial_source

    script: Path = args.script
    if not script.is_file():
        raise SystemExit(f"error: {script}: no such script (annotate takes one .py file)")
    try:
        if args.arch is None:
            module = read_module(script, script.resolve().parent, prefixed=False)
            text = trial_source(script.read_text(encoding="utf-8"), module)
        else:
            data = json.loads(args.arch.read_text(encoding="utf-8"))
            text = generate(script, data)
    except (AnnotationError, ValueError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        if args.output.resolve() == script.resolve():
            raise SystemExit("error: -o names the script itself; write the result elsewhere")
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0

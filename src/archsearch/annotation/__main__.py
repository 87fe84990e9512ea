"""`python -m archsearch.annotation SCRIPT.py [ARGS...]`: run an annotated script.

In a trial it runs with the trial's choices; standalone with the first candidates and the
fewest inputs allowed (deterministic).
"""

from __future__ import annotations

import sys

from archsearch.annotation.records import AnnotationError


def main(argv: list[str]) -> int:
    """Run the script named by argv[0] with the remaining arguments."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m archsearch.annotation SCRIPT.py [ARGS...]", file=sys.stderr)
        return 2
    from archsearch.annotation.loader import run_script

    try:
        run_script(argv[0], argv[1:])
    except AnnotationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Running the `archsearch` command in-process for the CLI tests."""

from __future__ import annotations

import pytest

from archsearch.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`archsearch *args`: the exit code, stdout and stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err

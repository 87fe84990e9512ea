"""Source files stay readable: none is over 400 lines (DESIGN.md §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "archsearch"
LIMIT = 400
SOURCE_SUFFIXES = {".py", ".js", ".css", ".html"}


def long_files(root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Every source file under `root` with more than `limit` lines, as path → line count."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and path.is_file():
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found[str(path.relative_to(root))] = lines
    return found


def test_no_source_file_is_over_the_limit() -> None:
    assert long_files(SRC) == {}, f"split these files (over {LIMIT} lines)"


def test_the_check_sees_a_long_file(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n" * LIMIT)
    (tmp_path / "notes.txt").write_text("x\n" * 1000)  # not source
    assert long_files(tmp_path) == {"pkg/long.py": LIMIT + 1}


@pytest.mark.parametrize("suffix", sorted(SOURCE_SUFFIXES))
def test_every_kind_of_source_is_checked(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"big{suffix}").write_text("x\n" * (LIMIT + 1))
    assert list(long_files(tmp_path)) == [f"big{suffix}"]

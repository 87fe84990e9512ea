"""`archsearch run` refuses YAML alias bombs quickly (issue 10) and still reads ordinary anchors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from classic.trial_scripts import SPACE_JSON, write_scripts

from archsearch.classic.config import RunConfigError, load_run_config
from archsearch.cli.main import main

SETTINGS = """\
experimentName: yaml test
trialCommand: python3 score.py
trialCodeDirectory: code
searchSpaceFile: search_space.json
maxTrialNumber: 2
"""


def _bomb(levels: int) -> str:
    """Nested anchors: each level holds ten aliases of the one before (10**levels values)."""
    lines = ["  l0: &l0 [" + ", ".join(['"lol"'] * 10) + "]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "anchors:\n" + "\n".join(lines) + "\n"


def _write(folder: Path, text: str) -> Path:
    write_scripts(folder / "code")
    (folder / "search_space.json").write_text(json.dumps(SPACE_JSON))
    path = folder / "config.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("levels", [6, 9])
def test_an_alias_bomb_is_refused_fast(tmp_path: Path, levels: int) -> None:
    path = _write(
        tmp_path, _bomb(levels) + SETTINGS + f"tuner: {{name: Random, x: *l{levels - 1}}}\n"
    )
    assert path.stat().st_size < 1500
    started = time.monotonic()
    with pytest.raises(RunConfigError, match=r"aliases .* expand to"):
        load_run_config(path)
    assert time.monotonic() - started < 2


def test_the_command_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _bomb(9) + SETTINGS + "tuner: {name: Random}\n")
    assert main(["run", str(path)]) != 0
    err = capsys.readouterr().err
    assert "alias bomb" in err and len(err.splitlines()) == 1


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, SETTINGS + "tuner: &t {name: Random, classArgs: {again: *t}}\n")
    with pytest.raises(RunConfigError, match="contains it"):
        load_run_config(path)


def test_ordinary_anchors_still_load(tmp_path: Path) -> None:
    text = SETTINGS.replace("maxTrialNumber: 2", "maxTrialNumber: &n 2\ntrialConcurrency: *n")
    path = _write(tmp_path, text + "tuner: {name: Random, classArgs: {seed: 3}}\n")
    config = load_run_config(path)
    assert config.settings["max_trial_number"] == config.settings["trial_concurrency"] == 2
    assert config.tuner == {"name": "Random", "class_args": {"seed": 3}}


def test_deep_nesting_is_refused_with_a_message(tmp_path: Path) -> None:
    path = _write(tmp_path, SETTINGS + "tuner: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(RunConfigError, match="nested too deeply"):
        load_run_config(path)

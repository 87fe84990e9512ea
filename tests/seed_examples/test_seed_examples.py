"""Every code block of NNI's NAS documents (`../shared/seeds/000`–`003`) as a program that runs
here with only its import lines changed (README.md in this folder maps program → block).

Each program is ported with `nni_port.port` (the import table of docs/migration.md, plus
`torchvision` → the offline stand-ins of `seed_support.py`), checked to differ in import lines
only, and run: in this process when it needs nothing else, in a subprocess when it starts
worker processes or a dashboard. The programs assert what the documents say happens; the tests
here check what they leave behind (an exported JSON, a dashboard answering).
"""

from __future__ import annotations

import io
import json
import os
import runpy
import socket
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from nni_port import changed_lines, port

import archsearch

HERE = Path(__file__).resolve().parent
STAND_INS = {"torchvision": "seed_support"}


def ported(name: str, folder: Path) -> Path:
    source = (HERE / name).read_text(encoding="utf-8")
    text = port(source, STAND_INS)
    changed = changed_lines(source, text)
    assert changed and all(line.startswith(("import ", "from ")) for line in changed)
    target = folder / name
    target.write_text(text, encoding="utf-8")
    return target


def run_here(
    name: str,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    replace: dict[str, str] | None = None,
) -> str:
    """Run the ported program as `__main__` in this process, in `folder`; its stdout.

    `replace` shortens a run for the test (README lists each replacement)."""
    program = ported(name, folder)
    text = program.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    program.write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(HERE))
    out = io.StringIO()
    with redirect_stdout(out):
        runpy.run_path(str(program), run_name="__main__")
    return out.getvalue()


def run_apart(name: str, folder: Path, replace: dict[str, str] | None = None) -> str:
    """Run the ported program with a new interpreter in `folder`; its stdout."""
    program = ported(name, folder)
    text = program.read_text(encoding="utf-8")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    program.write_text(text, encoding="utf-8")
    # This checkout's archsearch first, wherever the interpreter would find another one.
    source = Path(archsearch.__file__).resolve().parents[1]
    path = os.pathsep.join([str(HERE), str(source), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "ARCHSEARCH_HOME": str(folder / "home")}
    done = subprocess.run(
        [sys.executable, program.name],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        number: int = sock.getsockname()[1]
        return number


def test_every_program_is_listed_in_the_readme() -> None:
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    for program in sorted(HERE.glob("d00*.py")):
        assert f"`{program.name}`" in readme, program.name


# -- document 000: the v1 NAS programming interface -------------------------------------------


@pytest.mark.parametrize(
    "name", ["d000_b1_layer_choice.py", "d000_b2_input_choice.py", "d000_b3_mutable_scope.py"]
)
def test_v1_primitives(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_here(name, tmp_path, monkeypatch).startswith("OK")


@pytest.mark.slow
def test_darts_trainer_exports_the_chosen_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_here("d000_b4_darts_trainer.py", tmp_path, monkeypatch)
    assert set(json.loads((tmp_path / "chosen_arch").read_text())) == {"op"}


def test_classic_trial_code_runs_standalone(tmp_path: Path) -> None:
    assert run_apart("d000_b5_classic_trial.py", tmp_path).startswith("OK")


def test_generated_search_space_has_the_documented_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_here("d000_b6_search_space_json.py", tmp_path, monkeypatch).startswith("OK")


def test_documented_parameters_with_idex_reach_the_trial(tmp_path: Path) -> None:
    assert run_apart("d000_b7_parameters_json.py", tmp_path).startswith("OK")


# -- document 001: quick start ------------------------------------------------------------------


@pytest.mark.slow
def test_enas_trainer_exports_the_final_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ENAS's epoch is 500 child steps and 50 controller steps of 20 samples: one short epoch here.
    shorter = {"num_epochs=10,": "num_epochs=1, child_steps=10, mutator_steps=2,"}
    run_here("d001_b1_enas_trainer.py", tmp_path, monkeypatch, shorter)
    exported = json.loads((tmp_path / "model_dir" / "final_architecture.json").read_text())
    assert set(exported) == {"op", "skip"}


def test_distributed_trial_code_runs_standalone(tmp_path: Path) -> None:
    assert run_apart("d001_b2_distributed_trial.py", tmp_path).startswith("OK")


@pytest.mark.parametrize("name", ["d001_b3_retrain.py", "d001_b4_architecture_json.py"])
def test_retraining_applies_the_json(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_here(name, tmp_path, monkeypatch).startswith("OK")


# -- document 002: customizing NAS algorithms ------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "d002_b1_mutator_init.py",
        "d002_b2_training_loop.py",
        "d002_b3_reset_pseudocode.py",
        "d002_b4_export_pseudocode.py",
        "d002_b5_random_mutator.py",
        "d002_b6_random_mutator_tip.py",
    ],
)
def test_mutators(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_here(name, tmp_path, monkeypatch).startswith("OK")


# -- document 003: Retiarii ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "d003_b1_base_model.py",
        "d003_b2_layer_choice.py",
        "d003_b3_input_choice.py",
        "d003_b4_value_choice.py",
        "d003_b5_shared_label.py",
        "d003_b6_strategy.py",
        "d003_b8_local_debug_mode.py",
    ],
)
def test_retiarii_model_space(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_here(name, tmp_path, monkeypatch).startswith("OK")


@pytest.mark.slow
def test_lightning_evaluator_on_serialized_mnist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_here("d003_b7_lightning_evaluator.py", tmp_path, monkeypatch).startswith("OK")


@pytest.mark.slow
def test_experiment_runs_with_its_dashboard_on_the_given_port(tmp_path: Path) -> None:
    # Another test (or program) may hold 8081: the document's port becomes a free one.
    number = free_port()
    out = run_apart("d003_b8_launch_experiment.py", tmp_path, {"8081": str(number)})
    assert f"dashboard: http://127.0.0.1:{number}" in out and "OK" in out

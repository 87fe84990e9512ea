"""`archsearch ss-gen` run as a real command on a model defined in a temporary module."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import archsearch
from archsearch.cli.main import main

MODEL_SOURCE = textwrap.dedent(
    """
    import archsearch.nn as nn


    class Net(nn.Module):
        def __init__(self, width=4, kernels=(3, 5)):
            super().__init__()
            self.conv = nn.LayerChoice(
                {f"k{k}": nn.Conv1d(1, width, k, padding=k // 2) for k in kernels}, label="conv"
            )
            self.skip = nn.InputChoice(n_candidates=2, n_chosen=1, label="skip")
            self.act = nn.LayerChoice([nn.ReLU(), nn.Tanh()])
            self.fc = nn.Linear(width, nn.ValueChoice([32, 64], label="hidden"))


    def make(width=4, *, depth=2):
        model = Net(width)
        model.body = nn.Repeat(nn.Identity(), (1, depth), label="depth")
        return model


    class Holder:
        model = Net(kernels=(7,))


    instance = Net()
    not_a_model = 42


    def returns_text():
        return "not a model"
    """
)

MODULE = "ssgen_model"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / f"{MODULE}.py").write_text(MODEL_SOURCE, encoding="utf-8")
    return tmp_path


@pytest.fixture
def user_module(workdir: Path) -> ModuleType:
    """The same module loaded in this process, to compute the expected spaces."""
    spec = importlib.util.spec_from_file_location(f"_expected_{MODULE}", workdir / f"{MODULE}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def archsearch_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archsearch.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def expected_json(model: Any) -> dict[str, Any]:
    # Through JSON, as the command's output is: tuples become lists.
    result: dict[str, Any] = json.loads(json.dumps(archsearch.search_space(model).to_json()))
    return result


def test_stdout_is_the_search_space_json(workdir: Path, user_module: ModuleType) -> None:
    result = archsearch_cli(workdir, "ss-gen", f"{MODULE}:instance")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    expected = expected_json(user_module.instance)
    assert output == expected
    assert list(output) == ["conv", "skip", "act", "hidden"]  # model order
    assert output["conv"] == {"_type": "layer_choice", "_value": ["k3", "k5"]}
    assert output["hidden"] == {"_type": "choice", "_value": [32, 64]}
    assert archsearch.SearchSpace.from_json(output) == archsearch.search_space(user_module.instance)


def test_class_with_positional_args_to_a_file(workdir: Path, user_module: ModuleType) -> None:
    result = archsearch_cli(
        workdir, "ss-gen", f"{MODULE}:Net", "--args", "[8, [3, 5, 7]]", "-o", "space.json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    output = json.loads((workdir / "space.json").read_text(encoding="utf-8"))
    assert output == expected_json(user_module.Net(8, [3, 5, 7]))
    assert output["conv"]["_value"] == ["k3", "k5", "k7"]


def test_factory_with_keyword_args(workdir: Path, user_module: ModuleType) -> None:
    result = archsearch_cli(
        workdir, "ss-gen", f"{MODULE}:make", "--args", '{"width": 2, "depth": 4}'
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout)
    assert written == expected_json(user_module.make(width=2, depth=4))
    assert written["depth"] == {"_type": "choice", "_value": [1, 2, 3, 4]}


@pytest.fixture
def in_workdir(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run `main()` in this process from `workdir`, undoing what importing the module changes."""
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop(MODULE, None)
    yield workdir
    sys.modules.pop(MODULE, None)  # each test's module lives in its own tmp_path


def test_nested_attribute_in_process(in_workdir: Path, user_module: ModuleType) -> None:
    assert main(["ss-gen", f"{MODULE}:Holder.model", "--output", "nested.json"]) == 0
    written = json.loads((in_workdir / "nested.json").read_text(encoding="utf-8"))
    assert written == expected_json(user_module.Holder.model)
    assert written["conv"]["_value"] == ["k7"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["no_colon_here"], "MODULE:ATTRIBUTE"),
        ([":Net"], "MODULE:ATTRIBUTE"),
        (["no_such_module_xyz:Net"], "cannot import 'no_such_module_xyz'"),
        (
            ["models/cnn.py:Net"],
            "not a file path: run `cd models && archsearch ss-gen cnn:Net ...`",
        ),
        ([f"{MODULE}:Missing"], "no attribute 'Missing'"),
        ([f"{MODULE}:Holder.missing"], "no attribute 'Holder.missing'"),
        ([f"{MODULE}:not_a_model"], "neither a module nor callable"),
        ([f"{MODULE}:returns_text"], "str, not an nn.Module"),
        ([f"{MODULE}:Net", "--args", "[8,"], "not valid JSON"),
        ([f"{MODULE}:Net", "--args", "8"], "a JSON list"),
        ([f"{MODULE}:make", "--args", '{"colour": 1}'], "cannot call"),
        ([f"{MODULE}:Net", "--args", "[1, [3], 5]"], "cannot call"),
        ([f"{MODULE}:instance", "--args", "[1]"], "already a model"),
    ],
)
def test_bad_target_message(in_workdir: Path, arguments: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["ss-gen", *arguments, "-o", "never.json"])
    assert isinstance(exit_info.value.code, str)  # a message, printed to stderr with status 1
    assert message in exit_info.value.code
    assert not (in_workdir / "never.json").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [("no_colon_here", "MODULE:ATTRIBUTE"), ("no_such_module_xyz:Net", "cannot import")],
)
def test_bad_target_exits_non_zero(workdir: Path, target: str, message: str) -> None:
    result = archsearch_cli(workdir, "ss-gen", target)
    assert result.returncode == 1
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_version_from_the_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("archsearch")
    if not script.exists():
        pytest.skip("the archsearch console script is not installed beside this interpreter")
    result = subprocess.run(
        [str(script), "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"archsearch {archsearch.__version__}"


def test_no_command_prints_help_and_fails(tmp_path: Path) -> None:
    result = archsearch_cli(tmp_path)
    assert result.returncode == 2
    assert "ss-gen" in result.stdout


def test_cli_starts_without_torch(tmp_path: Path) -> None:
    # --version and the commands that do not build a model must not pay for importing torch.
    code = "import sys; import archsearch.cli.main; sys.exit('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=120)
    assert result.returncode == 0

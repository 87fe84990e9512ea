"""Annotated code → search space: readable stable labels, NNI's exact JSON, `ss-gen
--annotations` on a script and on a folder (read only: nothing written beside it)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archsearch.annotation import AnnotationError, collect, nni_search_space, search_space
from archsearch.space import InputChoiceDim, LayerChoiceDim, ValueChoiceDim

MODEL = textwrap.dedent(
    '''
    """A model file."""
    def build(x, skip):
        """@nni.mutable_layers(
        {
            layer_choice: [conv(ch=8), conv(ch=16), pool()],
            fixed_inputs: [x],
            optional_inputs: [x, skip, other],
            optional_input_size: [0, 2],
            layer_output: first
        },
        {
            layer_choice: [conv(ch=8)],
            optional_inputs: [first, skip],
            optional_input_size: 1,
            layer_output: second
        },
        {layer_choice: [conv(ch=8), pool()], optional_inputs: [first], optional_input_size: 1,
         layer_output: third})"""
        return third
    '''
)

TRAIN = textwrap.dedent(
    '''
    from model import build
    """@nni.variable(nni.choice(0.1, 0.01, 'adam'), name=lr)"""
    lr = 0.1
    """@nni.variable(nni.randint(2, 4), name=epochs)"""
    epochs = 2
    """@nni.function_choice(relu(h), tanh(h), name=act)"""
    h = relu(h)
    """@nni.report_final_result(acc)"""
    '''
)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "plain.py").write_text("x = 1  # no annotation\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "bad.py").write_text('"""@nni.broken("""\n')
    (tmp_path / "data.txt").write_text("@nni.not python")
    return tmp_path


def test_script_labels_come_from_layer_output_and_names(code: Path) -> None:
    space = search_space(collect(code / "model.py"))
    assert space.labels == ["first", "first/inputs", "second/inputs", "third"]
    assert space["first"] == LayerChoiceDim("first", ("conv(ch=8)", "conv(ch=16)", "pool()"))
    assert space["first/inputs"] == InputChoiceDim(
        "first/inputs", 3, None, ("x", "skip", "other"), chosen_range=(0, 2)
    )
    assert space["second/inputs"] == InputChoiceDim("second/inputs", 2, 1, ("first", "skip"))
    # `third` picks 1 of 1 input: no input dimension; `second` has one candidate: no layer one.
    assert space.size() == 3 * 7 * 2 * 2


def test_folder_labels_carry_the_module(code: Path) -> None:
    space = search_space(collect(code))
    assert space.labels == [
        "model/first",
        "model/first/inputs",
        "model/second/inputs",
        "model/third",
        "train/lr",
        "train/epochs",
        "train/act",
    ]
    assert space["train/lr"] == ValueChoiceDim("train/lr", (0.1, 0.01, "adam"))
    assert space["train/epochs"] == ValueChoiceDim("train/epochs", (2, 3))
    assert space["train/act"] == ValueChoiceDim("train/act", ("relu(h)", "tanh(h)"))


def test_labels_do_not_move_when_code_above_changes(code: Path) -> None:
    before = search_space(collect(code / "model.py")).to_json()
    (code / "model.py").write_text("import os\n\n\n" + MODEL)
    assert search_space(collect(code / "model.py")).to_json() == before  # P3
    nni = nni_search_space(collect(code / "model.py"))
    assert list(nni) == ["model/mutable_block_22"]  # NNI's key moved with the line


def test_nni_format_is_nnis_exact_json(code: Path) -> None:
    assert nni_search_space(collect(code)) == {
        "model/mutable_block_19": {
            "_type": "mutable_layer",
            "_value": {
                "mutable_layer_0": {
                    "layer_choice": ["conv(ch=8)", "conv(ch=16)", "pool()"],
                    "optional_inputs": ["x", "skip", "other"],
                    "optional_input_size": [0, 2],
                },
                "mutable_layer_1": {
                    "layer_choice": ["conv(ch=8)"],
                    "optional_inputs": ["first", "skip"],
                    "optional_input_size": 1,
                },
                "mutable_layer_2": {
                    "layer_choice": ["conv(ch=8)", "pool()"],
                    "optional_inputs": ["first"],
                    "optional_input_size": 1,
                },
            },
        },
        "train/lr/choice": {"_type": "choice", "_value": [0.1, 0.01, "adam"]},
        "train/epochs/randint": {"_type": "randint", "_value": [2, 4]},
        "train/act/function_choice": {"_type": "choice", "_value": ["relu(h)", "tanh(h)"]},
    }


def test_nested_module_names(tmp_path: Path) -> None:
    (tmp_path / "nas" / "cells").mkdir(parents=True)
    (tmp_path / "nas" / "cells" / "op.py").write_text(
        '"""@nni.mutable_layers({layer_choice: [a(), b()], layer_output: y})"""\n'
    )
    assert search_space(collect(tmp_path)).labels == ["nas.cells.op/y"]
    assert list(nni_search_space(collect(tmp_path))) == ["nas.cells.op/mutable_block_1"]


def test_duplicate_labels_name_both_lines(tmp_path: Path) -> None:
    script = tmp_path / "net.py"
    script.write_text(
        '"""@nni.mutable_layers({layer_choice: [a(), b()], layer_output: y})"""\n'
        "x = 1\n"
        '"""@nni.variable(nni.choice(1, 2), name=y)"""\n'
        "y = 1\n"
    )
    with pytest.raises(AnnotationError, match=r"net.py:3: 'y' already labels the choice at line 1"):
        collect(script)


def test_continuous_variables_are_refused_for_search_but_written_for_nni(tmp_path: Path) -> None:
    script = tmp_path / "net.py"
    script.write_text('"""@nni.variable(nni.loguniform(0.001, 0.1), name=lr)"""\nlr = 0.01\n')
    modules = collect(script)
    assert nni_search_space(modules) == {
        "net/lr/loguniform": {"_type": "loguniform", "_value": [0.001, 0.1]}
    }
    with pytest.raises(
        AnnotationError, match=r"net.py:1: .*nni.loguniform is a continuous type.*choice, randint"
    ):
        search_space(modules)


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    } | {str(p.relative_to(folder)) + "/": "" for p in folder.rglob("*") if p.is_dir()}


def _ss_gen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archsearch", "ss-gen", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_ss_gen_on_a_folder_leaves_it_byte_identical(
    code: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    before = _tree(code)
    out = tmp_path_factory.mktemp("out") / "space.json"
    result = _ss_gen("--annotations", str(code), "-o", str(out), cwd=code)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()) == search_space(collect(code)).to_json()
    nni = _ss_gen("--annotations", str(code), "--nni-format", cwd=code)
    assert json.loads(nni.stdout) == nni_search_space(collect(code))
    assert _tree(code) == before  # P6: no file rewritten, no __pycache__


def test_ss_gen_errors_are_one_line(code: Path) -> None:
    (code / "train.py").write_text(
        '"""@nni.mutable_layers({layer_choice: [conv(3)], layer_output: y})"""\n'
    )
    result = _ss_gen("--annotations", str(code / "train.py"), cwd=code)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {code / 'train.py'}:1: layer_choice call 'conv(3)' has a positional argument; "
        "the first argument is the layer's inputs, so give the others by keyword (conv(ch=128))"
    ]
    assert _ss_gen("--annotations", str(code / "nope"), cwd=code).returncode == 1
    assert "--nni-format is for --annotations" in _ss_gen("m:x", "--nni-format", cwd=code).stderr

"""`archsearch annotate --arch`: the script with the choices inlined as plain calls reports
what the trial it came from reported, mixed NAS + HPO included (P8), and imports nothing of
archsearch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archsearch.annotation.codegen import generate
from archsearch.cli.main import main

SCRIPT = textwrap.dedent(
    '''
    """A 2-of-3 concat layer mixed with HPO annotations."""
    def concat(inputs, connected_out):
        return [connected_out] + inputs[1]

    def total(inputs, scale=1):
        return sum(inputs[0][0] + inputs[1]) * scale

    out1, out2, out3, prev = 1, 20, 300, 4000
    """@nni.mutable_layers(
    {
        layer_choice: [concat(connected_out=prev)],
        optional_inputs: [out1, out2, out3],
        optional_input_size: 2,
        layer_output: joined
    },
    {
        layer_choice: [total(scale=1), total(scale=-1)],
        fixed_inputs: [joined],
        layer_output: result
    })"""
    """@nni.variable(nni.choice(1, 2, 3 * 10), name=factor)"""
    factor = 1
    """@nni.variable(nni.randint(5), name=offset)"""
    offset = 0
    """@nni.function_choice(max(result, offset), min(result, offset), name=pick)"""
    value = max(result, offset) * factor
    print("value", value)
    """@nni.report_final_result(value)"""
    '''
)

PARAMS = {
    "joined/inputs": {"_value": ["out1", "out3"], "_idx": [0, 2]},
    "result": {"_value": "total(scale=-1)", "_idx": 1},
    "factor": {"_value": "3 * 10", "_idx": 2},
    "offset": 3,
    "pick": "min(result, offset)",
}


def _run(
    args: list[str], cwd: Path, channel: Path | None = None, params: Path | None = None
) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHSEARCH_TRIAL")}
    if channel is not None:
        channel.write_text("")
        env["ARCHSEARCH_TRIAL_CHANNEL"] = str(channel)
    if params is not None:
        env["ARCHSEARCH_TRIAL_PARAMETERS"] = str(params)
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _final(channel: Path) -> object:
    records = [json.loads(line) for line in channel.read_text().splitlines()]
    return [r["metrics"] for r in records if r["type"] == "final"]


def test_generated_script_reports_what_its_trial_reported(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    (tmp_path / "params.json").write_text(json.dumps(PARAMS))
    trial = _run(
        ["-m", "archsearch.annotation", "train.py"],
        code,
        tmp_path / "a.jsonl",
        tmp_path / "params.json",
    )
    assert (
        main(
            [
                "annotate",
                str(code / "train.py"),
                "--arch",
                str(tmp_path / "params.json"),
                "-o",
                str(tmp_path / "gen.py"),
            ]
        )
        == 0
    )
    generated = (tmp_path / "gen.py").read_text()
    assert "archsearch" not in generated and "nni." not in generated.replace("@nni.report", "")
    assert "joined = concat([[], [out1, out3]], connected_out=prev)" in generated
    assert "result = total([[joined], []], scale=-1)" in generated
    assert "factor = 3 * 10" in generated and "offset = 3" in generated
    assert "value = min(result, offset) * factor" in generated
    assert len(generated.splitlines()) == len(SCRIPT.splitlines())  # every line where it was
    # joined = [4000, 1, 300]; result = -4301; value = min(-4301, 3) * 30
    assert trial.strip() == "value -129030"
    assert _run(["-I", "-S", "gen.py"], tmp_path).strip() == "value -129030"  # plain Python
    _run(["-m", "archsearch.annotation", "gen.py"], tmp_path, tmp_path / "b.jsonl")
    assert _final(tmp_path / "a.jsonl") == _final(tmp_path / "b.jsonl") == [{"default": -129030}]


def test_architecture_spellings(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    expected = generate(script, PARAMS)
    folder_labels = {f"train/{label}": value for label, value in PARAMS.items()}
    exported = [{"rank": 1, "trial": 3, "metric": 1.0, "arch": folder_labels}]
    nni = {
        "train/mutable_block_21": {
            "mutable_layer_0": {
                "chosen_layer": "concat(connected_out=prev)",
                "chosen_inputs": ["out3", "out1"],
            },
            "mutable_layer_1": {"chosen_layer": "total(scale=-1)", "chosen_inputs": []},
        },
        "train/factor/choice": "3 * 10",
        "train/offset/randint": 3,
        "train/pick/function_choice": "min(result, offset)",
    }
    assert generate(script, folder_labels) == expected
    assert generate(script, exported) == expected
    assert generate(script, nni) == expected


def test_an_architecture_of_another_space_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    with pytest.raises(ValueError, match=r"has labels \['pick'\] that the parameters lack"):
        generate(script, {k: v for k, v in PARAMS.items() if k != "pick"})
    with pytest.raises(ValueError, match="'joined/inputs': chose 3 inputs"):
        generate(script, {**PARAMS, "joined/inputs": [0, 1, 2]})


def test_auxiliary_fields_are_inlined_in_their_order() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "annotation" / "auxiliary"
    arch = {"train/out4": "sep_conv(ch=16)", "train/out4/inputs": ["out2", "out1"]}
    generated = generate(example / "train.py", arch)
    line = "    out4 = add_skip([sep_conv(concat([[out3], [out1, out2]]), ch=16), [out1, out2]])"
    assert line in generated.splitlines()
    original = (example / "train.py").read_text().splitlines()
    assert len(generated.splitlines()) == len(original)
    assert generated.splitlines()[original.index("    {")] == line  # on the layer's own line

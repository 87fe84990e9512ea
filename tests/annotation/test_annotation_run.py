"""Running annotated code: standalone (first candidates, fewest inputs, deterministic), as a
trial with archsearch's or NNI's parameters, imported modules spliced too, tracebacks at the
user's lines, nothing written beside the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    '''
    """The module docstring stays the docstring."""
    import sys
    """@nni.get_next_parameter()"""
    from helper import scale

    def add(inputs, k=1):
        if "--fail" in sys.argv:
            raise RuntimeError("failing on purpose")
        return sum(inputs[0]) + sum(inputs[1]) + k

    def mul(inputs, k=2):
        return (sum(inputs[0]) + sum(inputs[1])) * k

    def concat(inputs):
        return [inputs[0] + inputs[1], []]

    def post(pair):
        return pair[0] * 10 + len(pair[1])

    a, b, c = 1, 2, 3
    """@nni.mutable_layers(
    {
        layer_choice: [add(k=1), mul(k=3)],
        fixed_inputs: [a],
        optional_inputs: [b, c, never_defined],
        optional_input_size: [1, 2],
        layer_output: out1
    },
    {layer_choice: [add(), mul()], input_aggregate: concat, post_process: post,
     optional_inputs: [out1, c], optional_input_size: 1, layer_output: out2}
    )"""
    """@nni.variable(nni.choice(5, 6))"""
    lr = 0.1
    """@nni.variable(nni.randint(3, 7), name=n)"""
    n = 0
    """@nni.function_choice(max(out2, n), min(out2, n), name=pick)"""
    r = max(out2, n)
    result = {"out1": out1, "out2": out2, "lr": lr, "n": n, "r": r, "scaled": scale(r)}
    print(result, __doc__)
    """@nni.report_intermediate_result(out1)"""
    """@nni.report_final_result(float(scale(r)))"""
    '''
)

HELPER = textwrap.dedent(
    '''
    def scale(x):
        """@nni.variable(nni.choice(2, 3), name=f)"""
        f = 1
        return x * f
    '''
)


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "toy.py").write_text(SCRIPT)
    (tmp_path / "helper.py").write_text(HELPER)
    return tmp_path


def run(
    code: Path, *args: str, params: object = None, root: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHSEARCH_TRIAL")}
    if params is not None:
        (code.parent / "params.json").write_text(json.dumps(params))
        env["ARCHSEARCH_TRIAL_PARAMETERS"] = str(code.parent / "params.json")
        env["ARCHSEARCH_TRIAL_CHANNEL"] = str(code.parent / "channel.jsonl")
        (code.parent / "channel.jsonl").write_text("")
    if root:
        env["ARCHSEARCH_ANNOTATION_ROOT"] = str(code)
    site = code / ".venv" / "site"
    if site.exists():
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "archsearch.annotation", "toy.py", *args],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def reports(code: Path) -> list[dict[str, object]]:
    lines = (code.parent / "channel.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_standalone_runs_first_candidates_and_fewest_inputs(code: Path) -> None:
    # A virtual environment inside the code folder is not the user's code: never spliced.
    (code / ".venv" / "site").mkdir(parents=True)
    (code / ".venv" / "site" / "library.py").write_text('"""@nni.broken("""\nVALUE = 1\n')
    (code / "helper.py").write_text("import library\n" + HELPER)
    first = run(code)
    assert first.returncode == 0, first.stderr
    # out1 = add([[a], [b]], k=1); out2 = post([add(concat([[], [out1]])), [out1]])
    expected = "{'out1': 4, 'out2': 51, 'lr': 5, 'n': 3, 'r': 51, 'scaled': 102}"
    assert first.stdout.strip() == f"{expected} The module docstring stays the docstring."
    assert run(code).stdout == first.stdout  # deterministic (P4)
    assert sorted(p.name for p in code.iterdir()) == [".venv", "helper.py", "toy.py"]  # no cache


def test_trial_reads_archsearch_parameters(code: Path) -> None:
    params = {
        "out1": {"_value": "mul(k=3)", "_idx": 1},
        "out1/inputs": {"_value": ["c", "b"]},
        "out2": "mul()",
        "out2/inputs": [1],
        "lr": {"_value": 6, "_idx": 1},
        "n": 6,
        "pick": "min(out2, n)",
        "f": 3,
    }
    result = run(code, params=params)
    assert result.returncode == 0, result.stderr
    # out1 = (1 + 2 + 3) * 3 = 18; out2 = post([mul([[c], []]) = 6, [c]]) = 61; r = min(61, 6)
    assert "{'out1': 18, 'out2': 61, 'lr': 6, 'n': 6, 'r': 6, 'scaled': 18}" in result.stdout
    assert [(r["type"], r["metrics"]) for r in reports(code)] == [
        ("intermediate", {"default": 18}),
        ("final", {"default": 18.0}),
    ]


def test_trial_reads_nnis_parameters_and_module_labels(code: Path) -> None:
    params = {
        "toy/mutable_block_32": {
            "mutable_layer_0": {"chosen_layer": "add(k=1)", "chosen_inputs": ["c", "b"]},
            "mutable_layer_1": {"chosen_layer": "add()", "chosen_inputs": ["out1"]},
        },
        "toy/lr/choice": 5,
        "toy/n/randint": 4,
        "toy/pick/function_choice": "max(out2, n)",
        "helper/f": 2,  # archsearch's label of a folder's space, beside NNI's keys
    }
    result = run(code, params=params, root=True)
    assert result.returncode == 0, result.stderr
    assert "{'out1': 7, 'out2': 81, 'lr': 5, 'n': 4, 'r': 81, 'scaled': 162}" in result.stdout


def test_parameters_of_another_space_name_the_label(code: Path) -> None:
    result = run(code, params={"out1": "add(k=1)"})
    assert result.returncode == 1
    assert (
        "SpaceMismatchError: the trial parameters have no value for the annotation labelled "
        "'out1/inputs'" in result.stderr
    )
    bad = run(code, params={"out1": "add(k=1)", "out1/inputs": ["b", "b"]})
    assert "an input is chosen twice" in bad.stderr  # P11: inputs never repeat


def test_tracebacks_point_at_the_users_lines(code: Path) -> None:
    result = run(code, "--fail")
    assert result.returncode == 1
    lines = SCRIPT.splitlines()
    raised = lines.index('        raise RuntimeError("failing on purpose")') + 1
    called = lines.index("{") + 1  # the first layer's own line inside the annotation
    assert f'File "{code / "toy.py"}", line {called}, in <module>' in result.stderr
    assert f'File "{code / "toy.py"}", line {raised}, in add' in result.stderr


def test_an_annotation_error_is_one_line(code: Path) -> None:
    (code / "helper.py").write_text(
        'def scale(x):\n    """@nni.variable(nni.choice(2, 3), name=g)"""\n    f = 1\n'
    )
    result = run(code)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: {code / 'helper.py'}:2: @nni.variable name=g differs from the assigned "
        "target f; give the target's name (or leave name= out)"
    )

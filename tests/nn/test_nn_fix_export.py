"""Fixed models trace, export, compile and load like plain PyTorch — also without archsearch."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import torch

import archsearch
import archsearch.nn as nn


class Tiny(nn.Module):
    """Every kind of choice, small enough to export and compile quickly."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.LayerChoice(
            {"lin": nn.Linear(6, 8), "nobias": nn.Linear(6, 8, bias=False)}, label="stem"
        )
        self.blocks = nn.Repeat(
            lambda: nn.Sequential(nn.Linear(8, 8), nn.ReLU()), (1, 2), label="depth"
        )
        self.skip = nn.InputChoice(2, None, "sum", label="skip")
        self.cell = nn.Cell([nn.Linear(8, 8), nn.Tanh()], 2, 1, 1, label="cell")
        self.head = nn.Linear(16, nn.ValueChoice([3, 5], label="out"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = self.skip([self.blocks(h), h])
        return self.head(self.cell(h))


TINY_ARCH: dict[str, Any] = {
    "stem": "nobias",
    "depth": 2,
    "skip": [0, 1],
    "cell/op_0_0": 0,
    "cell/op_1_0": 1,
    "cell/input_0_0": [0],
    "cell/input_1_0": [1],
    "out": 5,
}
X = torch.randn(3, 6)


def fixed_tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return archsearch.fix(Tiny(), TINY_ARCH, inherit_weights=True).eval()


def tiny_reference(fixed: Any, x: torch.Tensor) -> torch.Tensor:
    """The fixed Tiny computed by hand from its weights."""
    h = x @ fixed.stem.weight.T
    b = h
    for blk in fixed.blocks:
        b = torch.relu(b @ blk[0].weight.T + blk[0].bias)
    h = b + h
    lin = fixed.cell.ops[0][0]
    n0 = h @ lin.weight.T + lin.bias
    n1 = torch.tanh(n0)
    out = torch.cat([n0, n1], dim=1)
    return out @ fixed.head.weight.T + fixed.head.bias


def test_fixed_tiny_matches_hand_computation() -> None:
    fixed = fixed_tiny()
    assert {type(m).__name__ for m in fixed.modules() if "archsearch" in type(m).__module__} == {
        "FixedInputChoice",
        "FixedCell",
    }
    torch.testing.assert_close(fixed(X), tiny_reference(fixed, X))
    assert fixed(X).shape == (3, 5)


def test_jit_trace_save_and_load(tmp_path: pathlib.Path) -> None:
    fixed = fixed_tiny()
    traced = torch.jit.trace(fixed, (X,))
    torch.testing.assert_close(traced(X), fixed(X))
    path = tmp_path / "tiny.pt"
    torch.jit.save(traced, str(path))
    loaded = torch.jit.load(str(path))
    other = torch.randn(7, 6)
    torch.testing.assert_close(loaded(other), fixed(other))


def test_torch_export() -> None:
    fixed = fixed_tiny()
    program = torch.export.export(fixed, (X,))
    torch.testing.assert_close(program.module()(X), fixed(X))


def test_torch_compile_full_graph() -> None:
    # Inductor needs about a minute of C++ compilation on a small CPU machine; aot_eager still
    # runs Dynamo and AOTAutograd over the whole fixed model (fullgraph: no graph breaks).
    fixed = fixed_tiny()
    compiled = torch.compile(fixed, backend="aot_eager", fullgraph=True)
    torch.testing.assert_close(compiled(X), fixed(X))


# --- loading where archsearch cannot be imported ------------------------------------------------


def seq_space() -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.LayerChoice(
            [nn.Conv1d(2, 4, 3, padding=1), nn.Conv1d(2, 4, 5, padding=2)], label="conv"
        ),
        nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act"),
        nn.Repeat(
            lambda: nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.ReLU()), (1, 3), label="d"
        ),
        nn.Flatten(),
        nn.Linear(4 * 10, nn.ValueChoice([6, 9], label="out")),
    )


SEQ_ARCH = {"conv": 1, "act": "1", "d": 2, "out": 9}

PLAIN_SEQ = """
def plain_seq():
    block = lambda: torch.nn.Sequential(torch.nn.Conv1d(4, 4, 3, padding=1), torch.nn.ReLU())
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 4, 5, padding=2),
        torch.nn.Tanh(),
        torch.nn.Sequential(block(), block()),
        torch.nn.Flatten(),
        torch.nn.Linear(40, 9),
    )
"""

CHILD = """
import sys
sys.modules["archsearch"] = None  # any import of archsearch now fails
import torch
try:
    import archsearch.nn
    blocked = False
except ImportError:
    blocked = True
{plain}
d = sys.argv[1]
x_seq = torch.load(d + "/x_seq.pt")
x_tiny = torch.load(d + "/x_tiny.pt")
results = {{"blocked": blocked}}
model = torch.load(d + "/seq.pt", weights_only=False)
results["pickled"] = model(x_seq)
results["modules"] = sorted({{type(m).__module__ for m in model.modules()}})
plain = plain_seq()
plain.load_state_dict(model.state_dict(), strict=True)
results["plain"] = plain(x_seq)
plain2 = plain_seq()
plain2.load_state_dict(torch.load(d + "/seq_state.pt"), strict=True)
results["plain_from_state"] = plain2(x_seq)
results["jit"] = torch.jit.load(d + "/tiny_jit.pt")(x_tiny)
results["export"] = torch.export.load(d + "/tiny.pt2").module()(x_tiny)
try:
    torch.load(d + "/supernet.pt", weights_only=False)
    results["supernet_loaded"] = True
except ImportError:
    results["supernet_loaded"] = False
torch.save(results, d + "/results.pt")
"""


@pytest.fixture(scope="module")
def without_archsearch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Save fixed models here, load them in a Python where archsearch cannot be imported."""
    d = tmp_path_factory.mktemp("no_archsearch")
    seq = seq_space()
    fixed_seq = archsearch.fix(seq, SEQ_ARCH, inherit_weights=True)
    x_seq = torch.randn(2, 2, 10)
    torch.save(x_seq, d / "x_seq.pt")
    torch.save(fixed_seq, d / "seq.pt")
    torch.save(fixed_seq.state_dict(), d / "seq_state.pt")
    torch.save(seq, d / "supernet.pt")  # the unfixed model needs archsearch: the control case

    tiny = fixed_tiny()
    torch.save(X, d / "x_tiny.pt")
    torch.jit.save(torch.jit.trace(tiny, (X,)), str(d / "tiny_jit.pt"))
    torch.export.save(torch.export.export(tiny, (X,)), str(d / "tiny.pt2"))

    code = textwrap.dedent(CHILD.format(plain=PLAIN_SEQ))
    run = subprocess.run(
        [sys.executable, "-c", code, str(d)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=d,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: dict[str, Any] = torch.load(d / "results.pt")
    results["expected_seq"] = fixed_seq(x_seq)
    results["expected_tiny"] = tiny(X)
    return results


def test_archsearch_really_is_absent_in_the_child(without_archsearch: dict[str, Any]) -> None:
    assert without_archsearch["blocked"] is True
    # Control: the unfixed supernet cannot be loaded there, so loading the fixed one means
    # something.
    assert without_archsearch["supernet_loaded"] is False


def test_pickled_fixed_model_loads_without_archsearch(without_archsearch: dict[str, Any]) -> None:
    assert all(m.startswith("torch.") for m in without_archsearch["modules"])
    torch.testing.assert_close(without_archsearch["pickled"], without_archsearch["expected_seq"])


def test_state_dict_loads_into_plain_model_without_archsearch(
    without_archsearch: dict[str, Any],
) -> None:
    torch.testing.assert_close(without_archsearch["plain"], without_archsearch["expected_seq"])
    torch.testing.assert_close(
        without_archsearch["plain_from_state"], without_archsearch["expected_seq"]
    )


def test_jit_model_with_input_choice_loads_without_archsearch(
    without_archsearch: dict[str, Any],
) -> None:
    torch.testing.assert_close(without_archsearch["jit"], without_archsearch["expected_tiny"])


def test_exported_program_loads_without_archsearch(without_archsearch: dict[str, Any]) -> None:
    torch.testing.assert_close(without_archsearch["export"], without_archsearch["expected_tiny"])


def test_standalone_tiny_equals_fixed_default() -> None:
    torch.manual_seed(0)
    model = Tiny()
    default = archsearch.search_space(model).default()
    fixed = archsearch.fix(model, default, inherit_weights=True)
    torch.testing.assert_close(model(X), fixed(X))
    torch.testing.assert_close(torch.jit.trace(fixed, (X,))(X), model(X))

"""The NAS-Bench-201 model space: its 15,625 cells, the benchmark's sizes, cell wiring, training."""

from __future__ import annotations

import pytest
import torch

import archsearch
import archsearch.nn as nn
from archsearch.evaluator.nb201_model import NasBench201, NasBench201Cell
from archsearch.evaluator.nb201_table import EDGES, OPERATIONS, nb201_space, str_to_arch
from archsearch.space import LayerChoiceDim

LABELS = ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]

pytestmark = pytest.mark.usefixtures("one_thread")


def same_op(op: str) -> dict[str, str]:
    return dict.fromkeys(LABELS, op)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_every_cell_shares_the_six_edge_decisions() -> None:
    model = NasBench201(C=4, N=2)
    space = archsearch.search_space(model)
    assert list(space) == LABELS == list(EDGES)
    assert space.size() == 5**6 == 15_625
    for label in LABELS:
        dim = space[label]
        assert isinstance(dim, LayerChoiceDim)
        assert list(dim.names) == OPS == list(OPERATIONS)
    choices = [m for m in model.modules() if isinstance(m, nn.LayerChoice)]
    assert len(choices) == 6 * 3 * 2


def test_the_benchmark_sized_space_has_15625_architectures() -> None:
    assert archsearch.search_space(NasBench201()).size() == 15_625


def test_the_space_matches_the_benchmark_table() -> None:
    assert archsearch.search_space(NasBench201(C=4, N=1)).to_json() == nb201_space().to_json()


def test_benchmark_arch_strings_fix_the_model() -> None:
    # The benchmark's best CIFAR-10 cell (index 6111 of the table).
    best = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    fixed = archsearch.fix(NasBench201(C=4, N=1), str_to_arch(best))
    cell = fixed.cells[0]
    kinds = [type(edge).__name__ for edge in cell.edges]
    assert kinds == [
        "Sequential",
        "Sequential",
        "Sequential",
        "Identity",
        "Sequential",
        "Sequential",
    ]
    assert cell.edges[5][1].kernel_size == (1, 1)


@pytest.mark.parametrize(
    ("op", "millions"),
    [
        ("nor_conv_3x3", 1.531546),  # the benchmark's largest CIFAR-10 network
        ("none", 0.073306),  # its smallest: parameter-free cells
        ("skip_connect", 0.073306),
        ("avg_pool_3x3", 0.073306),
    ],
)
def test_parameter_counts_match_the_benchmark_range(op: str, millions: float) -> None:
    fixed = archsearch.fix(NasBench201(), same_op(op))
    assert n_params(fixed) == round(millions * 1e6)


def test_fixed_model_is_plain_pytorch_and_runs_on_cifar_sized_input() -> None:
    arch = dict(
        zip(
            LABELS,
            [
                "nor_conv_3x3",
                "skip_connect",
                "nor_conv_1x1",
                "none",
                "avg_pool_3x3",
                "nor_conv_3x3",
            ],
            strict=True,
        )
    )
    fixed = archsearch.fix(NasBench201(C=8, N=1), arch)
    assert not any(isinstance(m, nn.Mutable) for m in fixed.modules())
    assert fixed(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert NasBench201(C=4, N=1, num_classes=3, in_channels=1)(torch.randn(2, 1, 8, 8)).shape == (
        2,
        3,
    )


# --- the cell wiring: node j = Σ_i op(j<-i)(node i), output node 3 -----------------------------


def fixed_cell(arch: dict[str, str]) -> torch.nn.Module:
    return archsearch.fix(NasBench201Cell(3), arch).eval()


def test_cell_output_sums_paths_from_the_input() -> None:
    x = torch.randn(2, 3, 5, 5)
    # All skips: n1 = x, n2 = x + n1 = 2x, n3 = x + n1 + n2 = 4x.
    assert torch.allclose(fixed_cell(same_op("skip_connect"))(x), 4 * x)
    # Only 1<-0 and 3<-1 are skips: n3 = n1 = x.
    only = {**same_op("none"), "1<-0": "skip_connect", "3<-1": "skip_connect"}
    assert torch.equal(fixed_cell(only)(x), x)
    # Only 3<-2 is a skip: node 2 gets nothing, so the cell outputs zeros.
    assert torch.equal(fixed_cell({**same_op("none"), "3<-2": "skip_connect"})(x), 0 * x)


def test_cell_operations_are_the_benchmark_units() -> None:
    x = torch.randn(2, 3, 6, 6)
    pool = fixed_cell({**same_op("none"), "3<-0": "avg_pool_3x3"})
    expected = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    assert torch.allclose(pool(x), expected)
    conv = fixed_cell({**same_op("none"), "3<-0": "nor_conv_3x3"})
    unit = conv.edges[3]
    assert [type(m) for m in unit] == [torch.nn.ReLU, torch.nn.Conv2d, torch.nn.BatchNorm2d]
    assert unit[1].kernel_size == (3, 3) and unit[1].bias is None
    assert torch.allclose(conv(x), unit(x))


# --- it trains ------------------------------------------------------------------------------------


def test_a_few_steps_on_32x32_random_data_reduce_the_loss() -> None:
    torch.manual_seed(0)
    model = archsearch.fix(NasBench201(C=4, N=1), same_op("nor_conv_3x3"))
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_small_space_learns_digits_with_the_classification_evaluator() -> None:
    pytest.importorskip("pytorch_lightning")
    from evaluator_helpers import digits_loaders, run

    from archsearch.evaluator.lightning import Classification

    torch.manual_seed(0)

    def space() -> NasBench201:
        return NasBench201(C=4, N=1, in_channels=1)

    evaluator = Classification(*digits_loaders(), max_epochs=2, learning_rate=1e-2)
    arch = {**same_op("nor_conv_3x3"), "3<-0": "skip_connect"}
    result, reports = run(evaluator, arch, space)
    assert result.status.value == "succeeded", result.traceback
    assert len(reports) == 2
    assert result.metric is not None and result.metric > 0.6  # chance is 0.1


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="positive C, N"):
        NasBench201(C=0)

"""The NAS-Bench-201 model space (Dong & Yang, ICLR 2020) written with archsearch primitives.

A stem convolution, three stages of N identical cells (C, 2C, 4C channels) joined by ResNet
reduction blocks, then BN-ReLU, global average pooling and a linear classifier. A cell is a
4-node DAG: node j sums one operation applied to each earlier node, and node 3 is the output.
Each of its 6 edges chooses among 5 operations; every cell shares the same 6 decisions (one
label per edge), so the space has 5^6 = 15,625 architectures — the cells of the benchmark table
(`archsearch.evaluator.nb201_table`).
"""

from __future__ import annotations

import torch

import archsearch.nn as nn
from archsearch.evaluator.nb201_table import EDGES, OPERATIONS

__all__ = [
    "EDGES",
    "EDGE_LABELS",
    "OPERATIONS",
    "NasBench201",
    "NasBench201Cell",
    "ResNetReduction",
    "Zero",
]

EDGE_LABELS = EDGES
"""The labels of the 6 decisions ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"): the table's
edges, so a search over this model and a lookup in the table speak the same architectures."""


class Zero(nn.Module):
    """The "none" operation: an edge that contributes nothing (zeros shaped like its input)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    """ReLU → Conv (no bias, same padding) → BatchNorm: the benchmark's convolution unit."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


def edge_candidates(channels: int) -> dict[str, nn.Module]:
    """The 5 operations of an edge (OPERATIONS, in order), fresh modules each call."""
    return {
        "none": Zero(),
        "skip_connect": nn.Identity(),
        "nor_conv_1x1": relu_conv_bn(channels, channels, 1),
        "nor_conv_3x3": relu_conv_bn(channels, channels, 3),
        "avg_pool_3x3": nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }


class NasBench201Cell(nn.Module):
    """One cell: a LayerChoice per edge labelled as in EDGES ("1<-0" ... "3<-2");
    node j = Σ_i op(j<-i)(node i), and node 3 is the output."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.LayerChoice(edge_candidates(channels), label=label) for label in EDGES
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        ops = iter(self.edges)
        for to in range(1, 4):
            # EDGES lists each node's incoming edges together, sources in order: "j<-0", "j<-1"...
            total: torch.Tensor = next(ops)(nodes[0])
            for src in range(1, to):
                total = total + next(ops)(nodes[src])
            nodes.append(total)
        return nodes[3]


class ResNetReduction(nn.Module):
    """Halves the resolution and changes the width: two conv units on one path, average
    pooling and a 1×1 convolution on the shortcut, added."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, stride=2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv_b(self.conv_a(x)) + self.shortcut(x)
        return out


class NasBench201(nn.Module):
    """The NAS-Bench-201 network: `C` stem channels, `N` cells per stage, `num_classes` logits.

    The defaults are the benchmark's CIFAR-10 network (C=16, N=5, 3-channel 32×32 input); small
    values (C=4, N=1, 8×8 inputs, `in_channels=1`) make quick experiments. Any input of at least
    4×4 works: global pooling removes the spatial size before the classifier.
    """

    def __init__(
        self, C: int = 16, N: int = 5, num_classes: int = 10, *, in_channels: int = 3
    ) -> None:
        super().__init__()
        if min(C, N, num_classes, in_channels) < 1:
            raise ValueError(
                f"NasBench201 needs positive C, N, num_classes and in_channels; got C={C}, "
                f"N={N}, num_classes={num_classes}, in_channels={in_channels}"
            )
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)
        )
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetReduction(width // 2, width))
            layers.extend(NasBench201Cell(width) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.BatchNorm2d(4 * C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.classifier(self.head(self.cells(self.stem(x))))
        return out

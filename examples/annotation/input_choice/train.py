"""Seed 004, figure 2: choose 2 of 3 earlier outputs as inputs of `concat`, which always takes
the previous layer's output through its argument `connected_out`; the learning rate is an
`@nni.variable` beside it (NAS and HPO annotations mixed).

    python -m archsearch.annotation train.py --fast   # standalone: out1 and out2, lr 0.01
    archsearch run config.yml                         # a search, one run per trial
"""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # common.py, shared by examples
from common import OPS, accuracy, arguments, build, digits, merge, train_epoch


def conv(inputs, ch):
    return F.relu(OPS.next(lambda: nn.LazyConv2d(ch, 3, padding=1))(merge(inputs)))


def concat(inputs, connected_out):
    """The previous output and the chosen inputs, concatenated, mixed by a 1x1 convolution."""
    joined = torch.cat([connected_out, *inputs[1]], dim=1)
    return F.relu(OPS.next(lambda: nn.LazyConv2d(16, 1))(joined))


def net(images):
    OPS.begin()
    out1 = conv([[images], []], ch=16)
    out2 = conv([[out1], []], ch=16)
    out3 = conv([[out2], []], ch=16)
    out4 = conv([[out3], []], ch=16)
    """@nni.mutable_layers(
    {
        layer_choice: [concat(connected_out=out4)],
        optional_inputs: [out1, out2, out3],
        optional_input_size: 2,
        layer_output: out5
    }
    )"""
    features = out5.flatten(1)  # out5: defined by the annotation
    return OPS.next(lambda: nn.LazyLinear(10))(features)


args = arguments()
"""@nni.variable(nni.choice(0.01, 0.003, 0.03), name=lr)"""
lr = args.lr
train, test = digits(args.fast)
optimizer = build(net, train, lr)
for _epoch in range(args.epochs):
    train_epoch(net, optimizer, train)
    acc = accuracy(net, test)
    """@nni.report_intermediate_result(acc)"""
print(f"lr {lr}, accuracy: {acc:.3f}")
"""@nni.report_final_result(acc)"""

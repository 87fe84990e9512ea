"""Seed 004, figure 1: a choice of operator for the 4th layer of a small CNN on digits.

python -m archsearch.annotation train.py --fast   # standalone: the first candidate
archsearch ss-gen --annotations .                 # the search space
archsearch run config.yml                         # a search, one run per trial
"""

import sys
from pathlib import Path

import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # common.py, shared by examples
from common import OPS, accuracy, arguments, build, digits, merge, train_epoch


def conv(inputs, ch):
    """A 3x3 convolution of the layer's inputs (`[fixed_inputs, chosen_inputs]`)."""
    return F.relu(OPS.next(lambda: nn.LazyConv2d(ch, 3, padding=1))(merge(inputs)))


def pool(inputs):
    return F.max_pool2d(merge(inputs), 3, stride=1, padding=1)


def net(images):
    OPS.begin()
    out1 = conv([[images], []], ch=16)
    out2 = conv([[out1], []], ch=16)
    out3 = conv([[out2], []], ch=16)
    """@nni.mutable_layers(
    {
        layer_choice: [conv(ch=16), conv(ch=32), pool()],
        optional_inputs: [out3],
        optional_input_size: 1,
        layer_output: out4
    }
    )"""
    # Written with `fixed_inputs: [out3]` instead, the candidate gets [[out3], []].
    features = out4.flatten(1)  # out4: defined by the annotation
    return OPS.next(lambda: nn.LazyLinear(10))(features)


args = arguments()
train, test = digits(args.fast)
optimizer = build(net, train, args.lr)
for _epoch in range(args.epochs):
    train_epoch(net, optimizer, train)
    acc = accuracy(net, test)
    """@nni.report_intermediate_result(acc)"""
print(f"accuracy: {acc:.3f}")
"""@nni.report_final_result(acc)"""

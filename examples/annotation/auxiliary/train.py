"""Seed 004, figure 3: the auxiliary fields, in the seed's own spelling (`@nni.mutable_layer`,
`input_candidates`, `input_num`, `input_aggregate`, `post_process`).

`input_aggregate` turns the layer's inputs `[fixed, chosen]` into the one tensor the chosen
candidate receives; `post_process` gets `[candidate output, chosen inputs]` and returns the
layer's output (here a residual sum over the chosen inputs).

    python -m archsearch.annotation train.py --fast
    archsearch run config.yml
"""

import sys
from pathlib import Path

import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # common.py, shared by examples
from common import OPS, accuracy, arguments, build, digits, merge, train_epoch


def conv(x, ch):
    return F.relu(OPS.next(lambda: nn.LazyConv2d(ch, 3, padding=1))(x))


def sep_conv(x, ch):
    """A depthwise-separable 3x3 convolution."""
    pointwise = OPS.next(lambda: nn.LazyConv2d(ch, 1))(x)
    return F.relu(OPS.next(lambda: nn.Conv2d(ch, ch, 3, padding=1, groups=ch))(pointwise))


def concat(inputs):
    """input_aggregate: the fixed and the chosen inputs as one tensor."""
    return merge(inputs)


def add_skip(pair):
    """post_process: the candidate's output plus every chosen input."""
    output, chosen = pair
    return output + sum(chosen)


def net(images):
    OPS.begin()
    out1 = conv(images, ch=16)
    out2 = conv(out1, ch=16)
    out3 = conv(out2, ch=16)
    """@nni.mutable_layer
    {
        layer_choice: [conv(ch=16), sep_conv(ch=16)],
        fixed_inputs: [out3],
        input_candidates: [out1, out2],
        input_num: [1, 2],
        input_aggregate: concat,
        post_process: add_skip,
        layer_output: out4
    }"""
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

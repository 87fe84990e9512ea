"""Seed 004, figure 4: ENAS's macro search space written with annotations (4 layers here,
12 in the paper). Each layer picks one of six operations applied to the previous layer's
output, and any subset of the earlier layers as skip connections, summed after it.

The candidates are bare names, as in the figure (NNI required calls); the layers are brace
groups of one `@nni.mutable_layer`, as in the figure (NNI required `mutable_layers(...)`).

    python -m archsearch.annotation train.py --fast
    archsearch run config.yml        # NNI's v1 format with PPOTuner (archsearch: PolicyBasedRL)
    archsearch run config_nni_tuner.yml   # a custom tuner written for NNI's annotation format
"""

import sys
from pathlib import Path

import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # common.py, shared by examples
from common import OPS, accuracy, arguments, build, digits, train_epoch

CHANNELS = 16


def _conv(inputs, size, separable=False):
    x = inputs[0][0]  # the previous layer's output; skips are added by post_process
    if separable:
        x = OPS.next(
            lambda: nn.Conv2d(CHANNELS, CHANNELS, size, padding=size // 2, groups=CHANNELS)
        )(x)
        x = OPS.next(lambda: nn.Conv2d(CHANNELS, CHANNELS, 1))(x)
    else:
        x = OPS.next(lambda: nn.Conv2d(CHANNELS, CHANNELS, size, padding=size // 2))(x)
    return F.relu(OPS.next(lambda: nn.BatchNorm2d(CHANNELS))(x))


def conv3(inputs):
    return _conv(inputs, 3)


def conv5(inputs):
    return _conv(inputs, 5)


def sep_conv3(inputs):
    return _conv(inputs, 3, separable=True)


def sep_conv5(inputs):
    return _conv(inputs, 5, separable=True)


def avg_pool(inputs):
    return F.avg_pool2d(inputs[0][0], 3, stride=1, padding=1)


def max_pool(inputs):
    return F.max_pool2d(inputs[0][0], 3, stride=1, padding=1)


def skip_sum(pair):
    """post_process: the operation's output plus the chosen skip connections."""
    output, skips = pair
    return output + sum(skips)


def net(images):
    OPS.begin()
    stem = F.relu(OPS.next(lambda: nn.LazyConv2d(CHANNELS, 3, padding=1))(images))
    """@nni.mutable_layer
    {
        layer_choice: [conv3, conv5, sep_conv3, sep_conv5, avg_pool, max_pool],
        fixed_inputs: [stem],
        layer_output: out1
    }
    {
        layer_choice: [conv3, conv5, sep_conv3, sep_conv5, avg_pool, max_pool],
        fixed_inputs: [out1],
        input_candidates: [stem],
        input_num: [0, 1],
        post_process: skip_sum,
        layer_output: out2
    }
    {
        layer_choice: [conv3, conv5, sep_conv3, sep_conv5, avg_pool, max_pool],
        fixed_inputs: [out2],
        input_candidates: [stem, out1],
        input_num: [0, 2],
        post_process: skip_sum,
        layer_output: out3
    }
    {
        layer_choice: [conv3, conv5, sep_conv3, sep_conv5, avg_pool, max_pool],
        fixed_inputs: [out3],
        input_candidates: [stem, out1, out2],
        input_num: [0, 3],
        post_process: skip_sum,
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

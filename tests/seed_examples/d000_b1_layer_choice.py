# NNI document 000 (v1 NAS programming interface), code block 1: LayerChoice with a key.
# --- surrounding code (not in the document) ---------------------------------------------------
import types

import torch
import torch.nn as nn

import nni.nas.pytorch.mutables as mutables
from seed_support import DilConv, FactorizedReduce, PoolBN, SepConv

import archsearch

# The document calls `nni.nas.pytorch.LayerChoice`: bind that dotted name.
nni = types.SimpleNamespace(nas=types.SimpleNamespace(pytorch=mutables))
channels, stride = 8, 1


class Net(nn.Module):
    # --- document lines (the `...` of the fragment are the lines around them) ----------------
    def __init__(self):
        super().__init__()  # surrounding
        # 在 PyTorch module 类中
        # 从 ``ops`` 中选择 ``ops``, 这是 PyTorch 中的 module。
        # op_candidates: 在 PyTorch 中 ``ops`` 是 module 的 list，而在 TensorFlow 中是 Keras 层的 list。
        # key: ``LayerChoice`` 实例的名称
        self.one_layer = nni.nas.pytorch.LayerChoice([
            PoolBN('max', channels, 3, stride, 1, affine=False),
            PoolBN('avg', channels, 3, stride, 1, affine=False),
            FactorizedReduce(channels, channels, affine=False),
            SepConv(channels, channels, 3, stride, 1, affine=False),
            DilConv(channels, channels, 3, stride, 2, 2, affine=False)],
            key="layer_name")

    def forward(self, x):
        out = self.one_layer(x)
        return out  # surrounding


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
space = archsearch.search_space(model)
assert space.labels == ["layer_name"], space.labels  # the key is the choice's identifier
x = torch.randn(2, channels, 8, 8)
assert model(x).shape == (2, channels, 8, 8)  # standalone: the first candidate
shapes = {}
for i in range(5):
    fixed = archsearch.fix(model, {"layer_name": i})
    assert not any(isinstance(m, mutables.Mutable) for m in fixed.modules())
    shapes[i] = tuple(fixed(x).shape)
assert shapes[2] == (2, channels, 4, 4)  # FactorizedReduce halves the resolution
print("OK", shapes)

# NNI document 003 (Retiarii), code block 1: a base model with a `@basic_unit` module.
# Fixed in the document's lines: `basic_unit` was used without being imported (the import line
# `from nni.retiarii import basic_unit` is added), and `BasicBlock.__init__` did not call
# `super().__init__()` (a torch module must).
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import archsearch

# --- document lines ----------------------------------------------------------------------------
import torch.nn.functional as F
import nni.retiarii.nn.pytorch as nn
from nni.retiarii import basic_unit

@basic_unit
class BasicBlock(nn.Module):
  def __init__(self, const):
    super().__init__()
    self.const = const
  def forward(self, x):
    return x + self.const

class ConvPool(nn.Module):
  def __init__(self):
    super().__init__()
    self.conv = nn.Conv2d(32, 1, 5)  # possibly mutate this conv
    self.pool = nn.MaxPool2d(kernel_size=2)
  def forward(self, x):
    return self.pool(self.conv(x))

class Model(nn.Module):
  def __init__(self):
    super().__init__()
    self.convpool = ConvPool()
    self.mymodule = BasicBlock(2.)
  def forward(self, x):
    return F.relu(self.convpool(self.mymodule(x)))

# --- surrounding code: what the document says happens ----------------------------------------
model = Model()
x = torch.randn(2, 32, 28, 28)
out = model(x)
assert out.shape == (2, 1, 12, 12), out.shape  # 28 - 5 + 1 = 24, pooled by 2
assert archsearch.search_space(model).labels == []  # a base model: one concrete model
fixed = archsearch.fix(model, {}, inherit_weights=True)
torch.testing.assert_close(fixed(x), out)
assert type(fixed.convpool.conv) is torch.nn.Conv2d  # plain PyTorch once fixed
print("OK")

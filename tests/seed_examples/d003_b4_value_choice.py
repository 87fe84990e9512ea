# NNI document 003 (Retiarii), code block 4: nn.ValueChoice as arguments of basic units.
# Fixed in the document's lines: the closing parenthesis missing after `nn.Conv2d(...)`.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import nni.retiarii.nn.pytorch as nn
from nni.retiarii import basic_unit

import archsearch

XX = 4  # the document's placeholder channel count


@basic_unit
class MyOp(nn.Module):
    def __init__(self, shift, sign):
        super().__init__()
        self.shift, self.sign = shift, sign

    def forward(self, x):
        return self.sign * x + self.shift


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # --- document lines ------------------------------------------------------------------
        # import nni.retiarii.nn.pytorch as nn
        # used in `__init__` method
        self.conv = nn.Conv2d(XX, XX, kernel_size=nn.ValueChoice([1, 3, 5]))
        self.op = MyOp(nn.ValueChoice([0, 1]), nn.ValueChoice([-1, 1]))

    def forward(self, x):  # surrounding
        return self.op(self.conv(x))


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
space = archsearch.search_space(model)
assert [space[label].values for label in space.labels] == [(1, 3, 5), (0, 1), (-1, 1)], space
kernel, shift, sign = space.labels
x = torch.randn(1, XX, 9, 9)
fixed = archsearch.fix(model, {kernel: 5, shift: 1, sign: -1})
assert type(fixed.conv) is torch.nn.Conv2d and fixed.conv.kernel_size == (5, 5)
assert (fixed.op.shift, fixed.op.sign) == (1, -1)
torch.testing.assert_close(fixed(x), 1 - fixed.conv(x))
print("OK")

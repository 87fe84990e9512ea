# NNI document 003 (Retiarii), code block 2: nn.LayerChoice over `@basic_unit` candidates.
# Fixed in the document's lines: one closing parenthesis too many after the candidate list.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import nni.retiarii.nn.pytorch as nn
import seed_ops as ops

import archsearch

channels, stride = 8, 1


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # --- document lines ------------------------------------------------------------------
        # import nni.retiarii.nn.pytorch as nn
        # declared in `__init__` method
        self.layer = nn.LayerChoice([
          ops.PoolBN('max', channels, 3, stride, 1),
          ops.SepConv(channels, channels, 3, stride, 1),
          nn.Identity()
        ])

    def forward(self, x):
        # invoked in `forward` method
        out = self.layer(x)
        return out  # surrounding


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
space = archsearch.search_space(model)
assert space.labels == ["layer"] and space["layer"].names == ("0", "1", "2"), space
x = torch.randn(2, channels, 8, 8)
for i, kind in enumerate(["PoolBN", "SepConv", "Identity"]):
    fixed = archsearch.fix(model, {"layer": i})
    assert type(fixed.layer).__name__ == kind  # one of them is chosen in each explored model
    assert fixed(x).shape == x.shape
print("OK")

# NNI document 003 (Retiarii), code block 5: two value choices sharing a label.
# Fixed in the document's lines: the closing parenthesis missing after the first `nn.Linear(...)`.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import nni.retiarii.nn.pytorch as nn

import archsearch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # --- document lines ------------------------------------------------------------------
        self.net = nn.Sequential(
            nn.Linear(10, nn.ValueChoice([32, 64, 128], label='hidden_dim')),
            nn.Linear(nn.ValueChoice([32, 64, 128], label='hidden_dim'), 3)
        )

    def forward(self, x):  # surrounding
        return self.net(x)


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
space = archsearch.search_space(model)
assert space.labels == ["hidden_dim"], space.labels  # one choice, shared
for hidden in (32, 64, 128):
    fixed = archsearch.fix(model, {"hidden_dim": hidden})
    assert fixed.net[0].out_features == fixed.net[1].in_features == hidden
    assert fixed(torch.randn(2, 10)).shape == (2, 3)
print("OK")

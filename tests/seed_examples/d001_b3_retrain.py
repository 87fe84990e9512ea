# NNI document 001 (quick start), code block 3: retrain with the exported architecture.
# --- surrounding code (not in the document) ---------------------------------------------------
import json
import os

import torch
import torch.nn as nn

from nni.nas.pytorch.fixed import apply_fixed_architecture
from nni.nas.pytorch.mutables import InputChoice, LayerChoice, Mutable


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 5, padding=2)])
        self.skip = InputChoice(n_candidates=2, n_chosen=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        x = self.op(x)
        return self.head(self.skip([x, torch.relu(x)]))


# What a search exported (document 001, code block 1 writes this file).
os.makedirs("model_dir", exist_ok=True)
with open("model_dir/final_architecture.json", "w") as f:
    json.dump({"op": 1, "skip": [1]}, f)

# --- document lines ----------------------------------------------------------------------------
model = Net()
apply_fixed_architecture(model, "model_dir/final_architecture.json")

# --- surrounding code: what the document says happens ----------------------------------------
# A single model: the chosen 5x5 convolution, unused candidates and choice modules pruned.
assert not any(isinstance(m, Mutable) for m in model.modules())
assert isinstance(model.op, nn.Conv2d) and model.op.kernel_size == (5, 5)
assert sum(p.numel() for p in model.parameters()) == 3 * 4 * 25 + 4 + 4 * 10 + 10
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # ready for final training
model(torch.randn(2, 3, 8, 8)).sum().backward()
optimizer.step()
print("OK")

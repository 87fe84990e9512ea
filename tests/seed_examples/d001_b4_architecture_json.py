# NNI document 001 (quick start), code block 4 (JSON): the five ways a choice can be written.
# --- surrounding code (not in the document) ---------------------------------------------------
import json

import torch
import torch.nn as nn

from nni.nas.pytorch.fixed import apply_fixed_architecture
from nni.nas.pytorch.mutables import InputChoice, LayerChoice

# --- document lines (the JSON block, verbatim) --------------------------------------------------
DOCUMENT = """
{
    "LayerChoice1": "conv5x5",
    "LayerChoice2": 6,
    "InputChoice3": ["layer1", "layer3"],
    "InputChoice4": [1, 2],
    "InputChoice5": [false, true, false, false, true]
}
"""


# --- surrounding code: a model with those five choices ----------------------------------------
class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.one = LayerChoice({"conv3x3": Scale(3), "conv5x5": Scale(5)}, key="LayerChoice1")
        self.two = LayerChoice([Scale(i) for i in range(8)], key="LayerChoice2")
        layers = ["layer1", "layer2", "layer3"]
        self.three = InputChoice(choose_from=layers, n_chosen=None, key="InputChoice3")
        self.four = InputChoice(n_candidates=3, n_chosen=2, key="InputChoice4")
        self.five = InputChoice(n_candidates=5, n_chosen=None, key="InputChoice5")

    def forward(self, x):
        a = self.one(x)
        b = self.two(x)
        c = self.three([x, x * 10, x * 100])
        d = self.four([x, x * 10, x * 100])
        e = self.five([x * 10**i for i in range(5)])
        return torch.stack([a, b, c, d, e])


with open("arch.json", "w") as f:
    f.write(DOCUMENT)
model = Net()
apply_fixed_architecture(model, "arch.json")
out = model(torch.ones(1))
expected = [5, 6, 1 + 100, 10 + 100, 10 + 10000]  # chosen inputs are summed (the default)
assert out.flatten().tolist() == expected, out.flatten().tolist()
print("OK")

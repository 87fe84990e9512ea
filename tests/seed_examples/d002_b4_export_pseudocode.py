# NNI document 002 (customizing NAS algorithms), code block 4: `export`, pseudo-code in the
# document's words. Checked here on the real `Mutator.export()`: it returns `sample_final()`
# and leaves the model as it was ("不对模型做操作").
#
#     def export(self):
#         return self.sample_final()
#
# --- surrounding code (not in the document) ---------------------------------------------------
import json

import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import LayerChoice
from nni.nas.pytorch.mutator import Mutator


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Identity(), nn.ReLU(), nn.Tanh()])

    def forward(self, x):
        return self.op(x)


class Fixed(Mutator):
    def sample_search(self):
        return {"op": torch.tensor([True, False, False])}

    def sample_final(self):
        return {"op": torch.tensor([False, False, True])}


model = Model()
mutator = Fixed(model)
mutator.reset()
x = torch.tensor([-1.0, 2.0])
exported = mutator.export()
assert exported == {"op": "2"}, exported  # sample_final's choice, JSON-ready (no tensors)
json.dumps(exported)
torch.testing.assert_close(model(x), x)  # the model still runs sample_search's choice
print("OK", exported)

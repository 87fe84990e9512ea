# NNI document 000 (v1 NAS programming interface), code block 7 (JSON): the parameters a NAS
# tuner generates, with the document's `_idex` spelling (read as `_idx`, NNI's alias). The trial
# receives them and `get_and_apply_next_architecture` fixes the model. Document 002's code
# block 8 is the same text.
# --- surrounding code (not in the document) ---------------------------------------------------
import json
import os
import tempfile

import torch
import torch.nn as nn

from nni.nas.pytorch.classic_nas import get_and_apply_next_architecture
from nni.nas.pytorch.mutables import InputChoice, LayerChoice

from archsearch.classic import PARAMETERS_ENV

# --- document lines (the JSON block, verbatim) --------------------------------------------------
DOCUMENT = """
{
    "key_name": {
        "_value": "op1_repr",
        "_idx": 0
    },
    "key_name": {
        "_value": ["in2_key"],
        "_idex": [1]
    }
}
"""


# --- surrounding code: a trial receiving those parameters ------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        ops = {"op1_repr": nn.Identity(), "op2_repr": nn.ReLU(), "op3_repr": nn.Tanh()}
        self.layer = LayerChoice(ops, key="layer_key")
        self.switch = InputChoice(choose_from=["in1_key", "in2_key", "in3_key"], n_chosen=1,
                                  key="switch_key")

    def forward(self, x):
        return self.switch([self.layer(x), x * 2, x * 3])


# The document names both entries "key_name" (a placeholder): give them the model's labels.
pairs = json.loads(DOCUMENT, object_pairs_hook=lambda p: p if p[0][0] == "key_name" else dict(p))
parameters = {label: entry for label, (_, entry) in zip(["layer_key", "switch_key"], pairs)}
assert parameters["switch_key"] == {"_value": ["in2_key"], "_idex": [1]}
path = os.path.join(tempfile.mkdtemp(), "parameters.json")
with open(path, "w") as f:
    json.dump(parameters, f)
os.environ[PARAMETERS_ENV] = path  # what the runner does for a trial

model = get_and_apply_next_architecture(Net())
assert type(model.layer) is nn.Identity  # op1_repr
x = torch.ones(2)
torch.testing.assert_close(model(x), x * 2)  # in2_key
print("OK")

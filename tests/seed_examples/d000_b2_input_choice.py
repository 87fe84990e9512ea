# NNI document 000 (v1 NAS programming interface), code block 2: InputChoice with a key.
# --- surrounding code (not in the document) ---------------------------------------------------
import types

import torch
import torch.nn as nn

import nni.nas.pytorch.mutables as mutables

import archsearch

# The document calls `nni.nas.pytorch.InputChoice`: bind that dotted name.
nni = types.SimpleNamespace(nas=types.SimpleNamespace(pytorch=mutables))


class Net(nn.Module):
    # --- document lines ------------------------------------------------------------------------
    def __init__(self):
        super().__init__()  # surrounding
        # choose ``n_selected`` from ``n_candidates`` inputs.
        # n_candidates: the number of candidate inputs
        # n_chosen: the number of chosen inputs
        # key: the name of this ``InputChoice`` instance
        self.input_switch = nni.nas.pytorch.InputChoice(
            n_candidates=3,
            n_chosen=1,
            key="switch_name")

    def forward(self, x):
        in_tensor1, in_tensor2, in_tensor3 = x, x * 2, x * 3  # surrounding
        out = self.input_switch([in_tensor1, in_tensor2, in_tensor3])
        return out  # surrounding


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
space = archsearch.search_space(model)
dim = space["switch_name"]
assert (dim.n_candidates, dim.n_chosen) == (3, 1), dim
x = torch.ones(2, 4)
for i in range(3):
    fixed = archsearch.fix(model, {"switch_name": [i]})
    torch.testing.assert_close(fixed(x), x * (i + 1))  # the chosen tensor, from forward's list
print("OK")

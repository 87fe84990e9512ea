# NNI document 002 (customizing NAS algorithms), code block 6 (in a tip): RandomMutator for
# debugging, which sets one possible candidate active at once.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import InputChoice, LayerChoice
from nni.nas.pytorch.random import RandomMutator


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Linear(4, 4), nn.ReLU()])
        self.skip = InputChoice(n_candidates=2, n_chosen=1)

    def forward(self, x):
        return self.skip([self.op(x), x])


model = Model()

# --- document lines ----------------------------------------------------------------------------
mutator = RandomMutator(model)
mutator.reset()

# --- surrounding code: what the document says happens ----------------------------------------
arch = mutator.export()
assert set(arch) == {"op", "skip"} and len(arch["skip"]) == 1, arch
assert model(torch.randn(2, 4)).shape == (2, 4)  # the model runs that candidate right away
print("OK", arch)

# NNI document 002 (customizing NAS algorithms), code block 1: a trainer's initialisation.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import LayerChoice
from nni.nas.pytorch.mutator import Mutator


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Linear(4, 2), nn.Sequential(nn.Linear(4, 2), nn.ReLU())])

    def forward(self, x):
        return self.op(x)


class MyMutator(Mutator):
    def sample_search(self):
        return {"op": torch.tensor([False, True])}

    def sample_final(self):
        return self.sample_search()


# --- document lines ----------------------------------------------------------------------------
model = Model()
mutator = MyMutator(model)

# --- surrounding code: what the document says happens ----------------------------------------
# The mutator is initialised with the model and bound to it: it sees the model's choices.
assert [m.key for m in mutator.mutables] == ["op"]
assert model.op.mutator is mutator
mutator.reset()
assert (model(-torch.ones(3, 4)) >= 0).all()  # the ReLU candidate runs
print("OK")

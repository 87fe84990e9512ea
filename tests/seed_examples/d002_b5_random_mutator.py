# NNI document 002 (customizing NAS algorithms), code block 5: writing a RandomMutator.
# --- surrounding code (not in the document) ---------------------------------------------------
import numpy as np
import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import InputChoice, LayerChoice
from nni.nas.pytorch.mutator import Mutator


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Identity(), nn.ReLU(), nn.Tanh()], key="op")
        self.skip = InputChoice(n_candidates=3, key="skip")  # v1: n_chosen=None, any subset

    def forward(self, x):
        return self.skip([self.op(x), x * 10, x * 100])


# --- document lines ----------------------------------------------------------------------------
class RandomMutator(Mutator):
    def __init__(self, model):
        super().__init__(model)  # don't forget to call super
        # do something else

    def sample_search(self):
        result = dict()
        for mutable in self.mutables:  # this is all the mutable modules in user model
            # mutables share the same key will be de-duplicated
            if isinstance(mutable, LayerChoice):
                # decided that this mutable should choose `gen_index`
                gen_index = np.random.randint(mutable.length)
                result[mutable.key] = torch.tensor([i == gen_index for i in range(mutable.length)], 
                                                   dtype=torch.bool)
            elif isinstance(mutable, InputChoice):
                if mutable.n_chosen is None:  # n_chosen is None, then choose any number
                    result[mutable.key] = torch.randint(high=2, size=(mutable.n_candidates,)).view(-1).bool()
                # else do something else
        return result

    def sample_final(self):
        return self.sample_search()  # use the same logic here. you can do something different

# --- surrounding code: what the document says happens ----------------------------------------
np.random.seed(0)
torch.manual_seed(0)
model = Model()
mutator = RandomMutator(model)
seen_ops, seen_subsets = set(), set()
for _ in range(40):
    mutator.reset()
    model(torch.ones(1))
    seen_ops.add(mutator.export()["op"])
    seen_subsets.add(tuple(mutator.export()["skip"]))
assert seen_ops == {"0", "1", "2"}, seen_ops
assert len(seen_subsets) > 3, seen_subsets  # any number of inputs, none included
print("OK", sorted(seen_subsets))

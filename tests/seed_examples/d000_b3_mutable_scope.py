# NNI document 000 (v1 NAS programming interface), code block 3: a MutableScope.
# --- surrounding code (not in the document) ---------------------------------------------------
import types

import torch

import nni.nas.pytorch.mutables as mutables

import archsearch
from archsearch.mutator import Mutator

nni = types.SimpleNamespace(nas=types.SimpleNamespace(pytorch=mutables))


def candidates():  # the fragment's `LayerChoice(...)` arguments, filled in
    return [torch.nn.Identity(), torch.nn.ReLU()]


# --- document lines (the fragment's `...` filled in, see README) ------------------------------
class Cell(mutables.MutableScope):
    def __init__(self, scope_name):
        super().__init__(scope_name)
        self.layer1 = nni.nas.pytorch.LayerChoice(candidates())
        self.layer2 = nni.nas.pytorch.LayerChoice(candidates())
        self.layer3 = nni.nas.pytorch.LayerChoice(candidates())

    def forward(self, x):  # surrounding
        return self.layer3(self.layer2(self.layer1(x)))


# --- surrounding code: what the document says happens ----------------------------------------
class Recorder(Mutator):
    """A mutator that notes the scope it is in when each choice runs."""

    def __init__(self, model):
        super().__init__(model)
        self.stack, self.seen = [], []

    def sample_search(self):
        return {m.key: torch.tensor([True, False]) for m in self.mutables}

    def sample_final(self):
        return self.sample_search()

    def enter_mutable_scope(self, scope):
        self.stack.append(scope.key)

    def exit_mutable_scope(self, scope):
        self.stack.pop()

    def on_forward_layer_choice(self, mutable, *args, **kwargs):
        self.seen.append((list(self.stack), mutable.key))
        return super().on_forward_layer_choice(mutable, *args, **kwargs)


model = torch.nn.Sequential(Cell("scope_name"))
mutator = Recorder(model)
mutator.reset()
model(torch.randn(1, 4))
# The three LayerChoices are inside the scope named `scope_name`: the trainer sees the hierarchy.
assert [stack for stack, _ in mutator.seen] == [["scope_name"]] * 3, mutator.seen
assert len(archsearch.search_space(model)) == 3
print("OK", mutator.seen)

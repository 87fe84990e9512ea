# NNI document 002 (customizing NAS algorithms), code block 3: `reset`, in the document's own
# words pseudo-code ("这是为了演示 ... 的伪代码"): `apply_on_model` names no NNI function. Here the
# real `Mutator.reset()` is checked to do what the pseudo-code says:
#
#     def reset(self):
#         self.apply_on_model(self.sample_search())
#
# --- surrounding code (not in the document) ---------------------------------------------------
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


class Cycling(Mutator):
    """Each sample_search picks the next candidate; sample_final always the last one."""

    def __init__(self, model):
        super().__init__(model)
        self.calls = 0

    def sample_search(self):
        self.calls += 1
        return {"op": torch.tensor([i == self.calls % 3 for i in range(3)])}

    def sample_final(self):
        return {"op": torch.tensor([False, False, True])}


model = Model()
mutator = Cycling(model)
x = torch.tensor([-1.0, 2.0])
mutator.reset()  # sample_search → candidate 1, applied to the model
torch.testing.assert_close(model(x), torch.relu(x))
torch.testing.assert_close(model(x), torch.relu(x))  # until the next reset
mutator.reset()
torch.testing.assert_close(model(x), torch.tanh(x))
assert mutator.calls == 2
print("OK")

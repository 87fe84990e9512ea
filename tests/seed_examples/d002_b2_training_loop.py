# NNI document 002 (customizing NAS algorithms), code block 2: a one-shot training loop.
# --- surrounding code (not in the document) ---------------------------------------------------
import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import LayerChoice
from nni.nas.pytorch.random import RandomMutator


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = LayerChoice([nn.Linear(4, 3), nn.Sequential(nn.Linear(4, 3), nn.Tanh())])

    def forward(self, x):
        return self.op(x)


torch.manual_seed(0)
model = Model()
mutator = RandomMutator(model, seed=0)
criterion = nn.CrossEntropyLoss()
epochs = 2
data_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,))), batch_size=4
)
chosen = []
original_reset = mutator.reset


def reset():  # to see every decision reset makes
    original_reset()
    chosen.append(int(mutator.decision_for("op").float().argmax()))


mutator.reset = reset

# --- document lines ----------------------------------------------------------------------------
for _ in range(epochs):
    for x, y in data_loader:
        mutator.reset()  # 在模型中重置所有 Choice
        out = model(x)  # 与普通模型相同
        loss = criterion(out, y)
        loss.backward()
        # 以下代码没有不同

# --- surrounding code: what the document says happens ----------------------------------------
# Every step ran a freshly sampled architecture: both candidates were trained.
assert len(chosen) == 16 and set(chosen) == {0, 1}, chosen
first, second = model.op[0], model.op[1][0]
assert first.weight.grad is not None and second.weight.grad is not None
print("OK", chosen)

# NNI document 000 (v1 NAS programming interface), code block 4: DartsTrainer, train, export.
# --- surrounding code (not in the document) ---------------------------------------------------
import json
import types

import torch
import torch.nn as nn

from nni.nas.pytorch.darts import DartsTrainer
from nni.nas.pytorch.mutables import LayerChoice
from seed_support import CIFAR10, accuracy

import archsearch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.AvgPool2d(4), nn.Conv2d(3, 8, 1))
        self.op = LayerChoice([nn.Conv2d(8, 8, 3, padding=1), nn.MaxPool2d(3, 1, 1), nn.Identity()])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        return self.head(self.op(self.stem(x)))


model = Net()
criterion = nn.CrossEntropyLoss()
optim = torch.optim.SGD(model.parameters(), 0.025, momentum=0.9)
args = types.SimpleNamespace(epochs=1)
dataset_train = CIFAR10("./data", train=True)
dataset_valid = CIFAR10("./data", train=False)

# --- document lines ----------------------------------------------------------------------------
# create a DartsTrainer
trainer = DartsTrainer(model,
                       loss=criterion,
                       metrics=lambda output, target: accuracy(output, target, topk=(1,)),
                       optimizer=optim,
                       num_epochs=args.epochs,
                       dataset_train=dataset_train,
                       dataset_valid=dataset_valid,)
# finding the best model from search space
trainer.train()
# export the best found model
trainer.export(file='./chosen_arch')

# --- surrounding code: what the document says happens ----------------------------------------
with open("./chosen_arch") as f:
    arch = json.load(f)
assert set(arch) == {"op"}, arch
fixed = archsearch.fix(Net(), arch)
assert fixed(torch.randn(2, 3, 32, 32)).shape == (2, 10)
print("OK", arch)

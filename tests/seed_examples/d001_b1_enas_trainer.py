# NNI document 001 (quick start), code block 1: one-shot NAS with EnasTrainer.
# Fixed in the document's lines: the comma missing after `batch_size=128`, and `reward_accuracy`
# (never defined) read as the `top1_accuracy` defined just above it.
# --- surrounding code (not in the document) ---------------------------------------------------
import json
import os

import torch
import torch.nn as nn

from nni.nas.pytorch.mutables import InputChoice, LayerChoice
from seed_support import CIFAR10

import archsearch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.AvgPool2d(8), nn.Conv2d(3, 4, 1))
        self.op = LayerChoice([nn.Conv2d(4, 4, 3, padding=1), nn.MaxPool2d(3, 1, 1)])
        self.skip = InputChoice(n_candidates=2, n_chosen=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))

    def forward(self, x):
        x = self.stem(x)
        return self.head(self.skip([self.op(x), x]))


train_transform = valid_transform = None  # the stand-in data are tensors already
os.makedirs("model_dir", exist_ok=True)

# --- document lines ----------------------------------------------------------------------------
# this is exactly same as traditional model training
model = Net()
dataset_train = CIFAR10(root="./data", train=True, download=True, transform=train_transform)
dataset_valid = CIFAR10(root="./data", train=False, download=True, transform=valid_transform)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), 0.05, momentum=0.9, weight_decay=1.0E-4)

# use NAS here
def top1_accuracy(output, target):
    # this is the function that computes the reward, as required by ENAS algorithm
    batch_size = target.size(0)
    _, predicted = torch.max(output.data, 1)
    return (predicted == target).sum().item() / batch_size

def metrics_fn(output, target):
    # metrics function receives output and target and computes a dict of metrics
    return {"acc1": top1_accuracy(output, target)}

from nni.nas.pytorch import enas
trainer = enas.EnasTrainer(model,
                           loss=criterion,
                           metrics=metrics_fn,
                           reward_function=top1_accuracy,
                           optimizer=optimizer,
                           batch_size=128,
                           num_epochs=10,  # 10 epochs
                           dataset_train=dataset_train,
                           dataset_valid=dataset_valid,
                           log_frequency=10)  # print log every 10 steps
trainer.train()  # training
trainer.export(file="model_dir/final_architecture.json")  # export the final architecture to file

# --- surrounding code: what the document says happens ----------------------------------------
with open("model_dir/final_architecture.json") as f:
    arch = json.load(f)
assert set(arch) == {"op", "skip"}, arch
assert archsearch.fix(Net(), arch)(torch.randn(2, 3, 32, 32)).shape == (2, 10)
print("OK", arch)

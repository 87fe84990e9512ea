# NNI document 003 (Retiarii), code block 7: a Lightning Classification evaluator over MNIST.
# Fixed in the document's lines: `serialize(transforms.ToTensor())` serialized an instance;
# `serialize` takes the class and its arguments: `serialize(transforms.ToTensor)`.
# Data: `MNIST` (never imported by the document) and `torchvision` are offline stand-ins
# (seed_support.py: 28x28 digits made from scikit-learn's bundled set; nothing downloaded).
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import nni.retiarii.nn.pytorch as nn
import nni.retiarii.strategy as strategy
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment
from seed_support import MNIST

# --- document lines ----------------------------------------------------------------------------
import nni.retiarii.evaluator.pytorch.lightning as pl
from nni.retiarii import serialize
from torchvision import transforms

transform = serialize(transforms.Compose, [serialize(transforms.ToTensor), serialize(transforms.Normalize, (0.1307,), (0.3081,))])
train_dataset = serialize(MNIST, root='data/mnist', train=True, download=True, transform=transform)
test_dataset = serialize(MNIST, root='data/mnist', train=False, download=True, transform=transform)
evaluator = pl.Classification(train_dataloader=pl.DataLoader(train_dataset, batch_size=100),
                              val_dataloaders=pl.DataLoader(test_dataset, batch_size=100),
                              max_epochs=10)


# --- surrounding code: what the document says happens ----------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.LayerChoice([nn.Linear(196, 10), nn.Sequential(nn.ReLU(), nn.Linear(196, 10))])

    def forward(self, x):
        return self.fc(self.pool(x).flatten(1))


torch.manual_seed(0)
image, label = train_dataset.build()[0]
assert image.shape == (1, 28, 28) and abs(float(image.mean())) < 3  # normalised like MNIST
exp = RetiariiExperiment(Net(), evaluator, None, strategy.Random())
config = RetiariiExeConfig("inline")
config.max_trial_number = 1
config.storage = "exp.db"
exp.run(config)
(trial,) = exp.storage.trials(exp.id)
reports = exp.storage.metrics(exp.id, trial.id)
assert trial.metric is not None and trial.metric > 0.3, (trial.metric, trial.error)  # chance 0.1
assert [r.step for r in reports] == list(range(10))  # trains 10 epochs, reports each
print("OK", trial.metric)

"""A Retiarii search with the Lightning Classification evaluator and regularized evolution."""

import nni
import nni.retiarii.evaluator.pytorch.lightning as pl
import nni.retiarii.nn.pytorch as nn
import nni.retiarii.strategy as strategy
import torch
from nni.retiarii import model_wrapper
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset


@model_wrapper
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        width = nn.ValueChoice([8, 16], label="width")
        self.stem = nn.Conv2d(1, width, 3, padding=1)
        self.block = nn.LayerChoice(
            [nn.Conv2d(width, width, 3, padding=1), nn.Conv2d(width, width, 5, padding=2)],
            label="block",
        )
        self.skip = nn.InputChoice(n_candidates=2, n_chosen=1, label="skip")
        self.head = nn.Linear(width * 8 * 8, 10)

    def forward(self, x):
        stem = torch.relu(self.stem(x))
        out = self.skip([torch.relu(self.block(stem)), stem])
        return self.head(out.flatten(1))


digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
labels = torch.tensor(digits.target)
train_dataset = nni.trace(TensorDataset)(images[:1400], labels[:1400])
test_dataset = nni.trace(TensorDataset)(images[1400:], labels[1400:])

evaluator = pl.Classification(
    train_dataloader=pl.DataLoader(train_dataset, batch_size=64, shuffle=True),
    val_dataloaders=pl.DataLoader(test_dataset, batch_size=256),
    max_epochs=1,
    learning_rate=0.01,
)
search_strategy = strategy.RegularizedEvolution(population_size=2, sample_size=1)

exp = RetiariiExperiment(Net(), evaluator, None, search_strategy)
exp_config = RetiariiExeConfig("local")
exp_config.experiment_name = "lightning_nas"
exp_config.max_trial_number = 3
exp_config.trial_concurrency = 1
exp_config.max_trial_duration = "5m"
exp.run(exp_config)

for model_dict in exp.export_top_models(top_k=1, optimize_mode="maximize", formatter="dict"):
    print(model_dict)

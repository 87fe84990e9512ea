"""Hello NAS in NNI 2.x's shape: a model space, a function evaluator, random search."""

import nni
import nni.retiarii.nn.pytorch as nn
import nni.retiarii.strategy as strategy
import torch
import torch.nn.functional as F
from nni.retiarii import model_wrapper
from nni.retiarii.evaluator import FunctionalEvaluator
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_ch, out_ch):
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, kernel_size=3, padding=1, groups=in_ch)
        self.pointwise = nn.Conv2d(in_ch, out_ch, kernel_size=1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


@model_wrapper
class ModelSpace(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1, padding=1)
        self.conv2 = nn.LayerChoice(
            [nn.Conv2d(8, 16, 3, 1, padding=1), DepthwiseSeparableConv(8, 16)]
        )
        self.dropout1 = nn.Dropout(nn.ValueChoice([0.25, 0.5, 0.75]))
        self.dropout2 = nn.Dropout(0.5)
        feature = nn.ValueChoice([16, 32, 64])
        self.fc1 = nn.Linear(16 * 4 * 4, feature)
        self.fc2 = nn.Linear(feature, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(self.conv2(x), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.fc2(self.dropout2(F.relu(self.fc1(x))))
        return F.log_softmax(x, dim=1)


model_space = ModelSpace()
search_strategy = strategy.Random(dedup=True)


def digits_loaders():
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target)
    train = TensorDataset(x[:1400], y[:1400])
    test = TensorDataset(x[1400:], y[1400:])
    return DataLoader(train, batch_size=64, shuffle=True), DataLoader(test, batch_size=256)


def train_epoch(model, train_loader, optimizer):
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        F.nll_loss(model(data), target).backward()
        optimizer.step()


def test_epoch(model, test_loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            correct += (model(data).argmax(dim=1) == target).sum().item()
    return 100.0 * correct / len(test_loader.dataset)


def evaluate_model(model_cls):
    model = model_cls()  # NNI 2.x passed the class
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    train_loader, test_loader = digits_loaders()
    for _ in range(2):
        train_epoch(model, train_loader, optimizer)
        accuracy = test_epoch(model, test_loader)
        nni.report_intermediate_result(accuracy)
    nni.report_final_result(accuracy)


evaluator = FunctionalEvaluator(evaluate_model)

exp = RetiariiExperiment(model_space, evaluator, [], search_strategy)
exp_config = RetiariiExeConfig("local")
exp_config.experiment_name = "hello_nas"
exp_config.max_trial_number = 2
exp_config.trial_concurrency = 2
exp_config.trial_gpu_number = 0
exp_config.training_service.use_active_gpu = False
exp.run(exp_config, 8081)

for model_dict in exp.export_top_models(formatter="dict"):
    print(model_dict)

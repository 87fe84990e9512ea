"""Learning strategies (TPE, policy-based RL) on one model space; the evaluator takes the model
instance, as NNI 2.9+ passes it."""

import nni
import nni.retiarii.nn.pytorch as nn
import nni.retiarii.strategy as strategy
import torch
import torch.nn.functional as F
from nni.retiarii import model_wrapper
from nni.retiarii.evaluator import FunctionalEvaluator
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment
from sklearn.datasets import load_digits


@model_wrapper
class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        hidden = nn.ValueChoice([16, 32, 64], label="hidden")
        self.fc1 = nn.Linear(64, hidden)
        self.act = nn.LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh()}, label="act")
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x.flatten(1))))


def evaluate_model(model):
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(30):
        optimizer.zero_grad()
        F.cross_entropy(model(x[:1400]), y[:1400]).backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x[1400:]).argmax(dim=1) == y[1400:]).float().mean().item()
    nni.report_final_result(accuracy)


for search_strategy in [strategy.TPE(), strategy.PolicyBasedRL()]:
    exp = RetiariiExperiment(Mlp(), FunctionalEvaluator(evaluate_model), [], search_strategy)
    exp_config = RetiariiExeConfig("local")
    exp_config.experiment_name = type(search_strategy).__name__
    exp_config.execution_engine = "py"
    exp_config.max_trial_number = 3
    exp_config.trial_concurrency = 1
    exp_config.max_experiment_duration = "5m"
    exp.run(exp_config)
    print(exp_config.experiment_name, exp.export_top_models(formatter="dict")[0])

# NNI document 003 (Retiarii), code block 8: launching an experiment, with its web UI on 8081.
# --- surrounding code (not in the document) ---------------------------------------------------
import json
import urllib.request

import torch

import nni
import nni.retiarii.nn.pytorch as nn
import nni.retiarii.strategy as strategy
from nni.retiarii.evaluator import FunctionalEvaluator
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment


class Space(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, nn.ValueChoice([2, 4, 8, 16, 32], label="width"))
        self.act = nn.LayerChoice([nn.ReLU(), nn.Tanh()], label="act")

    def forward(self, x):
        return self.act(self.fc(x))


def evaluate(model):
    nni.report_intermediate_result(0.5)
    nni.report_final_result(float(sum(p.numel() for p in model.parameters())))


base_model = Space()
trainer = FunctionalEvaluator(evaluate)
simple_strategy = strategy.Random()

# --- document lines ----------------------------------------------------------------------------
exp = RetiariiExperiment(base_model, trainer, None, simple_strategy)
exp_config = RetiariiExeConfig('local')
exp_config.experiment_name = 'mnasnet_search'
exp_config.trial_concurrency = 2
exp_config.max_trial_number = 10
exp_config.training_service.use_active_gpu = False
exp.run(exp_config, 8081)

# --- surrounding code: what the document says happens ----------------------------------------
trials = exp.storage.trials(exp.id)
assert len(trials) == 10 and all(t.status.value == "succeeded" for t in trials), trials
assert exp.storage.experiment(exp.id).name == "mnasnet_search"
# The web UI answers on the port given to run(), and shows this experiment.
with urllib.request.urlopen("http://127.0.0.1:8081/api/experiments", timeout=10) as response:
    listed = json.load(response)
assert exp.id in json.dumps(listed), listed
print("OK", exp.id)

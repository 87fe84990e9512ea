# NNI document 003 (Retiarii), code block 8 with the change the document's "Local Debug Mode"
# asks for: `exp.run(exp_config, 8081)` replaced by `exp.local_debug_run()`.
# --- surrounding code (not in the document) ---------------------------------------------------
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
    nni.report_final_result(float(sum(p.numel() for p in model.parameters())))


base_model = Space()
trainer = FunctionalEvaluator(evaluate)
simple_strategy = strategy.Random()

# --- document lines (block 8, its last line replaced as the document says) ---------------------
exp = RetiariiExperiment(base_model, trainer, None, simple_strategy)
exp_config = RetiariiExeConfig('local')
exp_config.experiment_name = 'mnasnet_search'
exp_config.trial_concurrency = 2
exp_config.max_trial_number = 10
exp_config.training_service.use_active_gpu = False
metric = exp.local_debug_run()

# --- surrounding code: what the document says happens ----------------------------------------
# Applies the choices once (their first candidates) and runs only that model, here.
assert metric == 4 * 2 + 2, metric  # Linear(4, 2): the first width
assert not exp.stored  # nothing recorded
print("OK", metric)

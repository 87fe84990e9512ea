# NNI document 003 (Retiarii), code block 6: choosing a search strategy.
# --- surrounding code (not in the document) ---------------------------------------------------
import nni.retiarii.nn.pytorch as nn
from nni.retiarii.evaluator import FunctionalEvaluator
from nni.retiarii.experiment.pytorch import RetiariiExeConfig, RetiariiExperiment

# --- document lines ----------------------------------------------------------------------------
import nni.retiarii.strategy as strategy

search_strategy = strategy.Random(dedup=True)  # dedup=False if deduplication is not wanted


# --- surrounding code: what the document says happens ----------------------------------------
class Space(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nn.LayerChoice([nn.Identity(), nn.ReLU(), nn.Tanh()])


def score(model):
    return 1.0


exp = RetiariiExperiment(Space(), FunctionalEvaluator(score), None, search_strategy)
config = RetiariiExeConfig("inline")
config.max_trial_number = 5
config.storage = "exp.db"
exp.run(config)
archs = [trial.arch["op"] for trial in exp.storage.trials(exp.id)]
# Deduplicated: the three architectures once each, then nothing is left and the search ends.
assert sorted(archs) == ["0", "1", "2"], archs
print("OK", archs)

# NNI document 000 (v1 NAS programming interface), code block 5: classic distributed search,
# the trial code with get_and_apply_next_architecture (run standalone here, as the document's
# "standalone mode" describes; tests/test_nni_compat.py runs such a script under an experiment).
# --- surrounding code (not in the document) ---------------------------------------------------
import nni
import torch
import torch.nn as nn

from nni.nas.pytorch.classic_nas import get_and_apply_next_architecture
from nni.nas.pytorch.mutables import InputChoice, LayerChoice, Mutable
from seed_support import test, train

reported = []
nni.report_final_result = reported.append  # to check the report (no experiment to receive it)


# --- document lines ----------------------------------------------------------------------------
class Net(nn.Module):
    # defined model with LayerChoice and InputChoice
    def __init__(self):  # surrounding: the `...` of the document
        super().__init__()
        self.conv = LayerChoice([nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(1, 4, 5, padding=2)])
        self.skip = InputChoice(n_candidates=2, n_chosen=1)
        self.fc = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)
        x = self.skip([x, torch.zeros_like(x)])
        return self.fc(x.flatten(1))

model = Net()
# get the chosen architecture from tuner and apply it on model
get_and_apply_next_architecture(model)
# your code for training the model
train(model)
# test the trained model
acc = test(model)
# report the performance of the chosen architecture
nni.report_final_result(acc)

# --- surrounding code: what the document says happens ----------------------------------------
# Standalone: the first candidates are chosen, and the model holds no choice any more.
assert type(model.conv) is nn.Conv2d and model.conv.kernel_size == (3, 3), model.conv
assert not any(isinstance(m, Mutable) for m in model.modules())
assert reported == [acc] and acc > 0.2, (reported, acc)  # chance is 0.1
print("OK", acc)

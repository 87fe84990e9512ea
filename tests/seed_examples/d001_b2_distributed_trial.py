# NNI document 001 (quick start), code block 2: distributed NAS, the trial code. Run standalone
# (the first candidates), as the document's "standalone mode" describes.
# --- surrounding code (not in the document) ---------------------------------------------------
import nni
import torch
import torch.nn as nn

from nni.nas.pytorch.classic_nas import get_and_apply_next_architecture
from nni.nas.pytorch.mutables import LayerChoice, Mutable
from seed_support import test, train

reported = []
nni.report_final_result = reported.append  # to check the report (no experiment to receive it)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = LayerChoice({"linear": nn.Flatten(), "pool": nn.MaxPool2d(2)})
        self.fc = nn.LazyLinear(10)

    def forward(self, x):
        return self.fc(self.body(x).flatten(1))


# --- document lines ----------------------------------------------------------------------------
model = Net()

# get the chosen architecture from tuner and apply it on model
get_and_apply_next_architecture(model)
train(model)  # your code for training the model
acc = test(model)  # test the trained model
nni.report_final_result(acc)  # report the performance of the chosen architecture

# --- surrounding code: what the document says happens ----------------------------------------
assert type(model.body) is nn.Flatten  # standalone: the first candidate
assert not any(isinstance(m, Mutable) for m in model.modules())
assert reported == [acc] and acc > 0.2, (reported, acc)  # chance is 0.1
print("OK", acc)

# NNI document 003 (Retiarii), code block 3: nn.InputChoice.
# Fixed in the document's lines: `nn.InputChoice(n_chosen=1)` lacks the number of candidates,
# which NNI 2.x requires too; `n_candidates=3` is added (the comment says "one from the three").
# --- surrounding code (not in the document) ---------------------------------------------------
import torch

import nni.retiarii.nn.pytorch as nn

import archsearch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # --- document lines ------------------------------------------------------------------
        # import nni.retiarii.nn.pytorch as nn
        # declared in `__init__` method
        self.input_switch = nn.InputChoice(n_candidates=3, n_chosen=1)

    def forward(self, x):
        tensor1, tensor2, tensor3 = x, x * 2, x * 3  # surrounding
        # invoked in `forward` method, choose one from the three
        out = self.input_switch([tensor1, tensor2, tensor3])
        return out  # surrounding


# --- surrounding code: what the document says happens ----------------------------------------
model = Net()
x = torch.ones(3)
for i in range(3):
    fixed = archsearch.fix(model, {"input_switch": [i]})
    torch.testing.assert_close(fixed(x), x * (i + 1))
print("OK")

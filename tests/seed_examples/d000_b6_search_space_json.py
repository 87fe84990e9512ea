# NNI document 000 (v1 NAS programming interface), code block 6 (JSON): the search-space format
# a tuner receives, as `nnictl ss_gen` (here `archsearch ss-gen`) writes it. Document 002's
# code block 7 is the same text.
# --- surrounding code (not in the document) ---------------------------------------------------
import json

import torch.nn as nn

from nni.nas.pytorch.mutables import InputChoice, LayerChoice

import archsearch

# --- document lines (the JSON block, verbatim) --------------------------------------------------
DOCUMENT = """
{
    "key_name": {
        "_type": "layer_choice",
        "_value": ["op1_repr", "op2_repr", "op3_repr"]
    },
    "key_name": {
        "_type": "input_choice",
        "_value": {
            "candidates": ["in1_key", "in2_key", "in3_key"],
            "n_chosen": 1
        }
    }
}
"""


# --- surrounding code: a model with those two choices, and its generated search space ---------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        ops = {"op1_repr": nn.Identity(), "op2_repr": nn.ReLU(), "op3_repr": nn.Tanh()}
        self.layer = LayerChoice(ops, key="layer_key")
        self.switch = InputChoice(choose_from=["in1_key", "in2_key", "in3_key"], n_chosen=1,
                                  key="switch_key")


# The document names both entries "key_name" (a placeholder): keep both, in order.
def pairs_if_repeated(pairs):
    keys = [k for k, _ in pairs]
    return pairs if len(set(keys)) < len(keys) else dict(pairs)


entries = json.loads(DOCUMENT, object_pairs_hook=pairs_if_repeated)
assert [key for key, _ in entries] == ["key_name", "key_name"]
generated = archsearch.search_space(Net()).to_json()
assert list(generated) == ["layer_key", "switch_key"], generated
assert generated["layer_key"] == entries[0][1], generated
assert generated["switch_key"] == entries[1][1], generated
print("OK", json.dumps(generated))

"""A custom tuner written for NNI's annotation format: uniform random choices, read from NNI's
search-space JSON (`mutable_block` → `mutable_layer_i` → `layer_choice`, `optional_inputs`,
`optional_input_size`) and returned as NNI's nested parameters. `archsearch run
config_nni_tuner.yml` runs it unchanged; unlike NNI's example tuner, it never picks an input twice.
"""

import random

from archsearch.classic import Tuner


class RandomNasTuner(Tuner):
    def __init__(self, seed=0):
        self.rng = random.Random(seed)
        self.space = {}

    def update_search_space(self, search_space):
        self.space = search_space

    def generate_parameters(self, parameter_id, **kwargs):
        params = {}
        for key, spec in self.space.items():
            if spec["_type"] == "mutable_layer":
                params[key] = {name: self.layer(layer) for name, layer in spec["_value"].items()}
            elif spec["_type"] == "choice":
                params[key] = self.rng.choice(spec["_value"])
            elif spec["_type"] == "randint":
                params[key] = self.rng.randrange(*spec["_value"])
        return params

    def layer(self, layer):
        size = layer["optional_input_size"]
        low, high = (size, size) if isinstance(size, int) else size
        count = self.rng.randint(low, high)
        return {
            "chosen_layer": self.rng.choice(layer["layer_choice"]),
            "chosen_inputs": self.rng.sample(layer["optional_inputs"], count),
        }

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        print(f"trial {parameter_id}: {value:.4f}")

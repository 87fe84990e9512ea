"""Classic script mode (NNI's "classic NAS"): a training script fixes its model with
`get_and_apply_next_architecture(model)` and reports with `report_intermediate_result` /
`report_final_result`; `archsearch run config.yml` launches it once per trial. Custom search
algorithms subclass `Tuner`.
"""

from archsearch.classic.parameters import (
    Parameters,
    SpaceMismatchError,
    from_parameters,
    to_parameters,
)
from archsearch.classic.script import ScriptEvaluator, TrialScriptError, TrialStopped
from archsearch.classic.trial import (
    PARAMETERS_ENV,
    get_and_apply_next_architecture,
    get_current_parameter,
    get_next_parameter,
    in_trial,
)
from archsearch.classic.tuner import NoMoreTrialError, NoMoreTrials, Tuner, TunerStrategy
from archsearch.evaluator.reporter import report_final_result, report_intermediate_result

__all__ = [
    "PARAMETERS_ENV",
    "NoMoreTrialError",
    "NoMoreTrials",
    "Parameters",
    "ScriptEvaluator",
    "SpaceMismatchError",
    "TrialScriptError",
    "TrialStopped",
    "Tuner",
    "TunerStrategy",
    "from_parameters",
    "get_and_apply_next_architecture",
    "get_current_parameter",
    "get_next_parameter",
    "in_trial",
    "report_final_result",
    "report_intermediate_result",
    "to_parameters",
]

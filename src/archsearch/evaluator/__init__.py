"""What runs inside a trial: evaluators, reporting, and the offline datasets they train on.

`DataLoader` is torch's, re-exported for NNI code that writes `pl.DataLoader(...)`.
"""

from archsearch.evaluator.base import (
    Evaluator,
    InvalidMetricError,
    Metric,
    Reporter,
    TrialEvaluator,
    TrialInput,
)
from archsearch.evaluator.datasets import Split, load_digits, load_mnist1d
from archsearch.evaluator.functional import FunctionalEvaluator
from archsearch.evaluator.lightning import Classification, DataLoader, Regression
from archsearch.evaluator.nb201_model import NasBench201
from archsearch.evaluator.nb201_table import NasBench201Tabular, nb201_space
from archsearch.evaluator.reporter import report_final_result, report_intermediate_result
from archsearch.evaluator.serialize import Serialized, serialize

__all__ = [
    "Classification",
    "DataLoader",
    "Evaluator",
    "FunctionalEvaluator",
    "InvalidMetricError",
    "Metric",
    "NasBench201",
    "NasBench201Tabular",
    "Regression",
    "Reporter",
    "Serialized",
    "Split",
    "TrialEvaluator",
    "TrialInput",
    "load_digits",
    "load_mnist1d",
    "nb201_space",
    "report_final_result",
    "report_intermediate_result",
    "serialize",
]

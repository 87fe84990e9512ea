"""What runs inside a trial: evaluators, reporting, and the offline datasets they train on."""

from archsearch.evaluator.base import Evaluator, InvalidMetricError, Metric, Reporter
from archsearch.evaluator.datasets import Split, load_digits, load_mnist1d
from archsearch.evaluator.reporter import report_final_result, report_intermediate_result

__all__ = [
    "Evaluator",
    "InvalidMetricError",
    "Metric",
    "Reporter",
    "Split",
    "load_digits",
    "load_mnist1d",
    "report_final_result",
    "report_intermediate_result",
]

"""Search spaces and architectures as pure data (standard library only)."""

from archsearch.space.dimensions import (
    Dimension,
    InputChoiceDim,
    InvalidArchitectureError,
    LayerChoiceDim,
    ValueChoiceDim,
)
from archsearch.space.home import archsearch_home
from archsearch.space.search_space import Architecture, SearchSpace
from archsearch.space.trial import (
    OPTIMIZE_MODES,
    MetricReport,
    OptimizeMode,
    Trial,
    TrialStatus,
    best_trials,
    score,
)
from archsearch.space.values import same_value, shorten, to_json_value

__all__ = [
    "OPTIMIZE_MODES",
    "Architecture",
    "Dimension",
    "InputChoiceDim",
    "InvalidArchitectureError",
    "LayerChoiceDim",
    "MetricReport",
    "OptimizeMode",
    "SearchSpace",
    "Trial",
    "TrialStatus",
    "ValueChoiceDim",
    "archsearch_home",
    "best_trials",
    "same_value",
    "score",
    "shorten",
    "to_json_value",
]

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
from archsearch.space.values import same_value, to_json_value

__all__ = [
    "Architecture",
    "Dimension",
    "InputChoiceDim",
    "InvalidArchitectureError",
    "LayerChoiceDim",
    "SearchSpace",
    "ValueChoiceDim",
    "archsearch_home",
    "same_value",
    "to_json_value",
]

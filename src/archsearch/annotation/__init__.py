"""NNI's annotation interface (seed 004): a plain script whose layer choices, input choices and
hyper-parameters are written as `\"\"\"@nni.mutable_layers(...)\"\"\"` string annotations.

`collect(path)` reads a script or a code folder statically (no import, no execution);
`search_space(modules)` and `nni_search_space(modules)` give its space; `python -m
archsearch.annotation SCRIPT.py` runs it (the runtime is imported only then).
"""

from archsearch.annotation.records import AnnotatedModule, AnnotationError
from archsearch.annotation.space import collect, nni_search_space, search_space

__all__ = ["AnnotatedModule", "AnnotationError", "collect", "nni_search_space", "search_space"]

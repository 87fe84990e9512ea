"""Weight sharing across the values of a ValueChoice: `to_supernet` swaps layers built from
value-choice arguments for one maximal layer each, sliced or masked per decision (`convert.py`;
the shared part in `base.py`, the layers in `conv.py` and `layers.py`)."""

from archsearch.oneshot.sliced.convert import to_supernet

__all__ = ["to_supernet"]

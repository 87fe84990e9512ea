"""The `ops` module of the Retiarii document's fragments: DARTS's PoolBN and SepConv decorated
with `@basic_unit`, as the document asks of user-defined candidates."""

from __future__ import annotations

import seed_support

from archsearch.nn import basic_unit

PoolBN = basic_unit(seed_support.PoolBN)
SepConv = basic_unit(seed_support.SepConv)

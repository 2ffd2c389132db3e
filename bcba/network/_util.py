"""Small helpers shared by the network modules."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["isin"]


def isin(values, universe) -> np.ndarray:
    """Boolean array: which of ``values`` occur in ``universe`` (missing values never do).

    :meth:`pandas.Series.isin` on Arrow-backed strings builds a Python scalar for every
    value of ``universe``, which takes seconds for the hundreds of thousands of node ids of
    a city; a hash lookup through :meth:`pandas.Index.get_indexer` does not.
    """
    if isinstance(universe, (set, frozenset)):
        universe = list(universe)
    known = pd.Index(pd.Series(universe, dtype=object).dropna().unique())
    return known.get_indexer(pd.Index(values)) >= 0

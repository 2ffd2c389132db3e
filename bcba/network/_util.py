"""Small helpers shared by the network modules.

Node ids are Arrow-backed strings. A hash lookup of hundreds of thousands of them through
:meth:`pandas.Index.get_indexer` or :meth:`pandas.Series.map` converts them to Python
objects first; :func:`pandas.factorize` hashes them inside Arrow and is several times
faster. The helpers below therefore factorize the universe and the values together: codes
are given in order of first appearance, so the universe's values get the smallest codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["isin", "join_runs", "positions"]


def _joint_codes(values, universe) -> tuple[np.ndarray, np.ndarray]:
    """Factorize codes of ``universe`` and of ``values`` (-1 where missing), jointly."""
    if isinstance(universe, (set, frozenset)):
        universe = list(universe)
    left = pd.Series(universe, copy=False).reset_index(drop=True)
    right = pd.Series(values, copy=False).reset_index(drop=True)
    if left.dtype != right.dtype:
        both_text = isinstance(left.dtype, pd.StringDtype) and isinstance(
            right.dtype, pd.StringDtype
        )
        kind = "string" if both_text else object
        left, right = left.astype(kind), right.astype(kind)
    codes, _ = pd.factorize(pd.concat([left, right], ignore_index=True))
    return codes[: len(left)], codes[len(left) :]


def isin(values, universe) -> np.ndarray:
    """Boolean array: which of ``values`` occur in ``universe`` (missing values never do).

    :meth:`pandas.Series.isin` on Arrow-backed strings builds a Python scalar for every
    value of ``universe``, which takes seconds for the hundreds of thousands of node ids of
    a city; one joint :func:`pandas.factorize` does not.
    """
    known, codes = _joint_codes(values, universe)
    n_known = int(known.max()) + 1 if len(known) else 0
    return (codes >= 0) & (codes < n_known)


def positions(values, universe) -> np.ndarray:
    """Position in ``universe`` of each of ``values`` (-1 when absent or missing).

    ``universe`` must hold distinct, non-missing values (a node id column); otherwise
    :class:`pandas.errors.InvalidIndexError` is raised, as by
    :meth:`pandas.Index.get_indexer`.
    """
    known, codes = _joint_codes(values, universe)
    if not np.array_equal(known, np.arange(len(known))):
        raise pd.errors.InvalidIndexError("Reindexing only valid with uniquely valued Index")
    return np.where(codes < len(known), codes, -1)


def join_runs(keys: pd.Series, texts: pd.Series, sep: str) -> pd.Series:
    """``texts.groupby(keys).agg(sep.join)`` for ``keys`` already sorted (no missing keys).

    A Python string join per group through :meth:`~pandas.core.groupby.SeriesGroupBy.agg`
    costs a pandas slice per group; on plain lists it is a single fast pass.
    """
    codes, _ = pd.factorize(keys)
    starts = np.flatnonzero(np.diff(codes, prepend=-1) != 0)
    values = texts.tolist()
    bounds = [*starts.tolist(), len(values)]
    joined = [sep.join(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    index = pd.Index(keys.iloc[starts], name=keys.name)
    return pd.Series(joined, index=index, dtype=object, name=texts.name)

"""Lookup helpers of the network modules (bcba/network/_util.py) and Unicode whitespace in
KvK numbers (the pattern runs in pyarrow, so it must spell out Python's ``\\s``)."""

import numpy as np
import pandas as pd
import pytest

from bcba.network._util import isin, join_runs, positions
from bcba.network.normalise import normalise_kvk


def test_isin_missing_values_never_match():
    values = pd.Series(["a", "b", None, "c"], dtype="string")
    assert isin(values, {"a", "c", None}).tolist() == [True, False, False, True]


def test_isin_mixed_dtypes_and_duplicates():
    universe = pd.Series(["a", "a", None], dtype="string")
    assert isin(np.array(["a", "x"], dtype=object), universe).tolist() == [True, False]
    assert isin(["a"], []).tolist() == [False]


def test_positions_and_unknown_values():
    universe = pd.Series(["a", "b"], dtype="string")
    values = pd.Series(["b", "z", None, "a"], dtype="string")
    assert positions(values, universe).tolist() == [1, -1, -1, 0]


def test_positions_rejects_repeated_universe():
    with pytest.raises(pd.errors.InvalidIndexError):
        positions(["a"], ["a", "a"])


def test_join_runs_equals_groupby_join():
    keys = pd.Series(["n1", "n1", "n2", "n3", "n3", "n3"], dtype="string", name="netwerk_id")
    texts = pd.Series(["x", "y", "z", "p", "q", "r"], dtype="string", name="t")
    expected = texts.groupby(keys).agg("; ".join)
    got = join_runs(keys, texts, "; ")
    assert got.tolist() == expected.tolist() == ["x; y", "z", "p; q; r"]
    pd.testing.assert_index_equal(got.index, expected.index)


def test_normalise_kvk_unicode_whitespace():
    raw = pd.Series(["1234\u00a05678", "1234\u20035678", "1234.5678", "12\x0b34"], dtype="string")
    assert normalise_kvk(raw).tolist() == ["12345678", "12345678", "12345678", "00001234"]

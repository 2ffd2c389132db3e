"""Small-cell suppression, secondary suppression, rounding and the export writer."""

from __future__ import annotations

import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bcba import export
from bcba.errors import ConfigError, PrivacyError
from bcba.io import read_csv


def disclosing_lines(values: np.ndarray, suppressed: np.ndarray) -> list[str]:
    """Independent check: rows/columns (with their totals) where one suppressed entry
    could be recovered by subtraction from the published entries.

    ``values`` and ``suppressed`` are the table *with* totals in the last row/column.
    Written without reference to the algorithm: in a line that sums to its total, an
    entry is recoverable when it is the only unknown.
    """
    bad = []
    r, c = values.shape
    for i in range(r):
        if suppressed[i].sum() == 1:
            bad.append(f"rij {i}")
    for j in range(c):
        if suppressed[:, j].sum() == 1:
            bad.append(f"kolom {j}")
    return bad


def table_from_export(out: pd.DataFrame, key: str, themes: list[str]) -> tuple[list, np.ndarray]:
    areas = list(dict.fromkeys(out[key]))
    status = out.pivot(index=key, columns="thema", values="status").reindex(
        index=areas, columns=[*themes, "totaal"]
    )
    return areas, status.to_numpy() != export.PUBLISHED


def _long(matrix: np.ndarray) -> pd.DataFrame:
    r, c = matrix.shape
    return pd.DataFrame(
        {
            "wijkcode": np.repeat([f"W{i:02d}" for i in range(r)], c),
            "thema": np.tile([f"t{j}" for j in range(c)], r),
            "aantal": matrix.ravel(),
        }
    )


def test_hand_checked_example():
    counts = pd.DataFrame(
        {
            "wijkcode": ["W1", "W1", "W2", "W2", "W3"],
            "thema": ["drugs", "omg", "drugs", "omg", "drugs"],
            "aantal": [12, 3, 40, 0, 25],
        }
    )
    out = export.export_landelijk(counts)
    assert list(out.columns) == ["wijkcode", "thema", "aantal", "status"]
    got = {
        (w, t): (None if pd.isna(a) else int(a), s) for w, t, a, s in out.itertuples(index=False)
    }
    assert got == {
        ("W1", "drugs"): (None, export.SECONDARY),  # complement of W1/omg (smallest in its row)
        ("W1", "omg"): (None, export.PRIMARY),
        ("W1", "totaal"): (15, export.PUBLISHED),
        ("W2", "drugs"): (40, export.PUBLISHED),
        ("W2", "omg"): (0, export.PUBLISHED),  # zeros are published
        ("W2", "totaal"): (40, export.PUBLISHED),
        ("W3", "drugs"): (25, export.PUBLISHED),
        ("W3", "omg"): (0, export.PUBLISHED),  # missing combination counts as 0
        ("W3", "totaal"): (25, export.PUBLISHED),
        ("totaal", "drugs"): (None, export.SECONDARY),
        ("totaal", "omg"): (None, export.PRIMARY),  # total 3 is itself a small cell
        ("totaal", "totaal"): (80, export.PUBLISHED),
    }


def test_wide_input_and_rounding():
    wide = pd.DataFrame(
        {"drugs": [12, 23, 37], "omg": [10, 0, 48]},
        index=pd.Index(["A", "B", "C"], name="gemeente"),
    )
    out = export.export_landelijk(wide, threshold=10, rounding_base=5)
    assert (out["status"] == export.PUBLISHED).all()
    assert out["aantal"].tolist() == [10, 10, 20, 25, 0, 25, 35, 50, 85, 70, 60, 130]
    raw = export.export_landelijk(wide, rounding_base=1)
    assert raw["aantal"].tolist() == [12, 10, 22, 23, 0, 23, 37, 48, 85, 72, 58, 130]


def test_round_to_base_half_up():
    assert export.round_to_base(np.array([0, 2, 3, 7, 8, 12, 13, 10]), 5).tolist() == [
        0,
        0,
        5,
        5,
        10,
        10,
        15,
        10,
    ]
    assert export.round_to_base(np.array([1, 2, 3]), 1).tolist() == [1, 2, 3]


def test_single_cell_table_fully_suppressed():
    out = export.export_landelijk(
        pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [4]})
    )
    assert (
        out["status"].tolist() == [export.PRIMARY] * 4
    )  # cell, row total, column total, grand total


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [-1]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [1.5]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [None]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A", "A"], "thema": ["drugs"] * 2, "aantal": [1, 2]}), "dubbele"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["totaal"], "aantal": [20]}), "gereserveerd"),
        (pd.DataFrame({"thema": ["drugs"], "aantal": [20]}), "gebiedskolom"),
    ],
)
def test_invalid_input(frame, match):
    with pytest.raises(ConfigError, match=match):
        export.export_landelijk(frame)


def test_invalid_parameters_and_personal_columns():
    counts = _long(np.array([[20]]))
    with pytest.raises(ConfigError, match="threshold"):
        export.export_landelijk(counts, threshold=0)
    with pytest.raises(ConfigError, match="rounding_base"):
        export.export_landelijk(counts, rounding_base=2.5)
    with pytest.raises(PrivacyError, match="naam"):
        export.export_landelijk(counts.assign(naam="Jan"), row_keys=["wijkcode"])


def test_input_not_mutated():
    counts = _long(np.array([[3, 20], [15, 0]]))
    before = counts.copy()
    export.export_landelijk(counts)
    pd.testing.assert_frame_equal(counts, before)


def test_disclosure_checker_detects_a_lonely_suppression():
    values = export.extend_with_totals(np.array([[3, 20], [15, 30]]))
    lonely = np.zeros_like(values, dtype=bool)
    lonely[0, 0] = True
    assert disclosing_lines(values, lonely) == ["rij 0", "kolom 0"]


tables = st.integers(1, 6).flatmap(
    lambda r: st.integers(1, 6).flatmap(
        lambda c: arrays(
            np.int64,
            (r, c),
            elements=st.one_of(st.just(0), st.integers(1, 12), st.integers(0, 200)),
        )
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrix=tables, threshold=st.integers(1, 15))
def test_suppression_properties(matrix, threshold):
    primary, secondary = export.suppress(matrix, threshold=threshold)
    values = export.extend_with_totals(matrix)
    hidden = primary | secondary
    # 1. no published cell (incl. totals) below the threshold, zeros excepted
    published = values[~hidden]
    assert not ((published > 0) & (published < threshold)).any()
    # 2. every small cell is primary; secondary only adds
    assert np.array_equal(primary, (values > 0) & (values < threshold))
    assert not (primary & secondary).any()
    # 3. nothing recoverable from the published margins
    assert disclosing_lines(values, hidden) == []


@settings(max_examples=60, deadline=None)
@given(matrix=tables)
def test_export_frame_properties(matrix):
    r, c = matrix.shape
    out = export.export_landelijk(_long(matrix), threshold=10, rounding_base=5)
    assert len(out) == (r + 1) * (c + 1)
    values = export.extend_with_totals(matrix)
    _, hidden = table_from_export(out, "wijkcode", [f"t{j}" for j in range(c)])
    assert disclosing_lines(values, hidden) == []
    pub = out["status"] == export.PUBLISHED
    assert out.loc[~pub, "aantal"].isna().all()
    assert (out.loc[pub, "aantal"] % 5 == 0).all()
    flat = values.ravel()
    assert not ((flat[pub.to_numpy()] > 0) & (flat[pub.to_numpy()] < 10)).any()


def test_write_export(tmp_path):
    out = export.export_landelijk(_long(np.array([[3, 20], [15, 30]])))
    path = export.write_export(out, tmp_path / "uit" / "landelijk.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = read_csv(path, dtype={"aantal": "Int64"})
    assert back.columns.tolist() == ["wijkcode", "thema", "aantal", "status"]
    assert back["status"].tolist() == out["status"].tolist()
    readme = (tmp_path / "uit" / "landelijk_LEESMIJ.txt").read_text(encoding="utf-8")
    assert "kleiner dan 10" in readme and "veelvoud van 5" in readme and "los afgerond" in readme


def test_write_export_refuses_unprotected_table(tmp_path):
    raw = pd.DataFrame(
        {"wijkcode": ["W1"], "thema": ["drugs"], "aantal": [3], "status": [export.PUBLISHED]}
    )
    with pytest.raises(ConfigError, match="onder de drempel"):
        export.write_export(raw, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()

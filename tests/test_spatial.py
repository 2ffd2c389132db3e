"""Tests of bcba.spatial glue: one FDR family, counting, split date, small buurten."""

from __future__ import annotations

import types

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from statsmodels.stats.multitest import multipletests

from bcba.spatial import (
    ThemeSpatial,
    _count_in,
    _small_buurten,
    joint_fdr,
    validation_split_date,
)


def _gi(p: list[float], z: list[float]) -> gpd.GeoDataFrame:
    n = len(p)
    return gpd.GeoDataFrame(
        {"cel_id": [f"c{i}" for i in range(n)], "gi_z": z, "p": p, "klasse": "Niet significant"},
        geometry=shapely.points(np.arange(n), np.zeros(n)),
        crs="EPSG:28992",
    )


def test_joint_fdr_is_one_family_over_themes_and_levels():
    """Two themes: cells and buurten of one, buurten and an excess table of the other. BH over
    the 10 tested p-values together (statsmodels as oracle); an island (NaN) stays out."""
    a = ThemeSpatial("drugs", 100)
    a.hotspots_cel = _gi([0.0001, 0.2, np.nan, 0.004], [3.0, 1.0, 0.0, -2.5])
    a.hotspots_buurt = _gi([0.003, 0.5, 0.032], [2.0, 0.1, 1.5])
    b = ThemeSpatial("omg", 50)
    b.hotspots_buurt = _gi([0.9, 0.0002], [0.1, 2.2])
    b.overschot_buurt = pd.DataFrame(
        {"buurtcode": ["B1", "B2", "B3"], "p": [0.001, np.nan, 0.3], "q": np.nan, "verhoogd": False}
    )
    n = joint_fdr([a, b], alpha=0.05)
    assert n == 10
    p_all = np.array([0.0001, 0.2, 0.004, 0.003, 0.5, 0.032, 0.9, 0.0002, 0.001, 0.3])
    q_all = multipletests(p_all, method="fdr_bh")[1]
    got = np.r_[
        a.hotspots_cel["p_fdr"].dropna(),
        a.hotspots_buurt["p_fdr"],
        b.hotspots_buurt["p_fdr"],
        b.overschot_buurt["q"].dropna(),
    ]
    np.testing.assert_allclose(got, q_all)
    cel = a.hotspots_cel
    assert cel["klasse"].tolist() == [
        "Hot spot 99%",
        "Niet significant",
        "Geen buren",
        "Cold spot 99%",
    ]
    assert cel["significant"].tolist() == [True, False, False, True]
    assert cel["hotspot"].tolist() == [True, False, False, False]
    assert b.overschot_buurt["verhoogd"].tolist() == [True, False, False]
    assert b.overschot_buurt.attrs["fdr_toetsen"] == 10
    # per theme and level separately, buurt 3 of drugs (p = 0.032) would have been a hot spot
    assert multipletests([0.003, 0.5, 0.032], method="fdr_bh")[1][2] <= 0.05
    assert not a.hotspots_buurt.loc[2, "significant"]


def test_count_in_counts_events_not_weights_and_keeps_events_without_a_point():
    units = pd.DataFrame({"buurtcode": ["B1", "B2", "B3"]})
    events = pd.DataFrame(
        {"buurtcode": ["B1", "B1", "B2", None, "B9"], "gewicht": [5.0, 1.0, 2.0, 1.0, 1.0]}
    )
    assert _count_in(units, events, "buurtcode").tolist() == [2.0, 1.0, 0.0]
    assert _count_in(units, events.iloc[:0], "buurtcode").tolist() == [0.0, 0.0, 0.0]


def test_validation_split_date_is_the_middle_of_the_period():
    assert validation_split_date(("2024-01-01", "2025-12-31")) == pd.Timestamp("2024-12-31")
    assert validation_split_date(("2024-01-01", "2024-01-03")) == pd.Timestamp("2024-01-02")


def test_small_buurten_come_from_the_indicator_results():
    buurten = pd.DataFrame({"buurtcode": ["B1", "B2", "B3"]})
    indicators = types.SimpleNamespace(
        scores_buurt=pd.DataFrame({"buurtcode": ["B3", "B1"], "klein_gebied": [True, False]})
    )
    assert _small_buurten(buurten, indicators).tolist() == [False, False, True]
    assert _small_buurten(buurten, None) is None

    assert joint_fdr([ThemeSpatial("recreatieparken", 3)]) == 0

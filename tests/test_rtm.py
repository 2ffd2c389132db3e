"""Tests of bcba.rtm: features, the risk surface, API rules and output files.

The selection itself (null worlds, a smooth planted effect, separation, folds, estimates
against statsmodels) is tested in ``tests/test_rtm_selection.py``.
"""

from __future__ import annotations

import stat

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from bcba.errors import ConfigError, CRSMismatchError
from bcba.io import read_csv
from bcba.rtm import (
    RiskTerrainModel,
    apply_operationalisations,
    candidate_features,
    count_events,
    raw_measures,
    subset_measures,
    write_rtm_outputs,
)

X0, Y0 = 100_000.0, 400_000.0


def make_grid(n: int) -> gpd.GeoDataFrame:
    xs, ys = np.meshgrid(np.arange(n) * 100.0 + X0, np.arange(n) * 100.0 + Y0)
    xs, ys = xs.ravel(), ys.ravel()
    return gpd.GeoDataFrame(
        {"cel_id": [f"c{i:04d}" for i in range(n * n)]},
        geometry=shapely.box(xs, ys, xs + 100, ys + 100),
        crs="EPSG:28992",
    )


def points(x, y) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=shapely.points(x, y), crs="EPSG:28992")


def simulate(seed: int, *, n: int = 40, rrv: float = 3.0, n_events: int = 500, n_noise: int = 3):
    """Grid with exposure, one planted factor (proximity 300 m, RRV ``rrv``) and noise."""
    rng = np.random.default_rng(seed)
    cells = make_grid(n)
    side = n * 100.0
    exposure = rng.poisson(20, n * n).astype(float)

    def layer(k):
        return points(rng.uniform(X0, X0 + side, k), rng.uniform(Y0, Y0 + side, k))

    factors = {"geplant": layer(15)} | {f"ruis{j}": layer(15) for j in range(n_noise)}
    centres = shapely.get_coordinates(cells.geometry.centroid.values)
    dist, _ = cKDTree(shapely.get_coordinates(factors["geplant"].geometry.values)).query(centres)
    lam = exposure * np.where(dist <= 300, rrv, 1.0)
    counts = rng.poisson(lam / lam.sum() * n_events)
    idx = np.repeat(np.arange(n * n), counts)
    bounds = cells.geometry.bounds.to_numpy()[idx]
    events = points(
        bounds[:, 0] + rng.uniform(1, 99, len(idx)), bounds[:, 1] + rng.uniform(1, 99, len(idx))
    )
    events["datum"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 730, len(idx)), unit="D"
    )
    events["thema"] = "drugs"
    return cells, events, factors, exposure


def test_count_events_counts_edge_point_once_and_weights():
    cells = make_grid(2)
    ev = points([X0 + 50, X0 + 100, X0 + 150, X0 + 500], [Y0 + 50, Y0 + 50, Y0 + 150, Y0 + 50])
    ev["gewicht"] = [1.0, 2.0, 0.5, 9.0]
    # the edge point (x = X0+100) goes to the first cell that touches it (c0000)
    assert count_events(cells, ev).tolist() == [2.0, 0.0, 0.0, 1.0]
    assert count_events(cells, ev, weight_column="gewicht").tolist() == [3.0, 0.0, 0.0, 0.5]


def test_candidate_features_proximity_and_density_exact():
    cells = make_grid(5)  # centroids at X0+50 ... X0+450
    # two points in the centre cell, one in the corner cell
    factor = points([X0 + 250, X0 + 260, X0 + 50], [Y0 + 250, Y0 + 240, Y0 + 50])
    feats, ops = candidate_features(cells, {"f": factor}, distances=[100, 150])
    prox100 = feats["f__proximity_100"].to_numpy().reshape(5, 5)
    # cells within 100 m of a point: the centre plus its 4 rook neighbours, the corner plus 2
    assert prox100.sum() == 5 + 3
    assert prox100[2, 2] == 1 and prox100[0, 0] == 1 and prox100[1, 1] == 0
    # density at 100 m: counts 2 (centre), then 2 (rook neighbours of centre; one point
    # is 14 m off-centre so only some see both). Threshold = mean + 2 SD of the counts.
    counts = cKDTree(shapely.get_coordinates(factor.geometry.values)).query_ball_point(
        shapely.get_coordinates(cells.geometry.centroid.values), r=100, return_length=True
    )
    op = next(o for o in ops if o.column == "f__density_100")
    assert op.threshold == pytest.approx(counts.mean() + 2 * counts.std())
    np.testing.assert_array_equal(
        feats["f__density_100"].to_numpy(), (counts > op.threshold).astype(float)
    )
    again = apply_operationalisations(cells, {"f": factor}, ops)
    pd.testing.assert_frame_equal(again, feats[again.columns])


def test_precomputed_measures_give_the_same_model_and_must_fit_the_cells():
    cells, events, factors, exposure = simulate(7)
    params = dict(distances=(100, 300, 500), random_state=7)
    plain = RiskTerrainModel(**params).fit(cells, events, factors, exposure=exposure)
    raw = raw_measures(cells, factors, distances=(100, 300, 500))
    reused = RiskTerrainModel(**params).fit(cells, events, factors, exposure=exposure, raw=raw)
    pd.testing.assert_frame_equal(plain.factors_, reused.factors_)
    # a subset of the cells (as in spatial cross-validation) gives the subset's features
    keep = np.arange(len(cells)) % 3 != 0
    sub_feats, sub_ops = candidate_features(
        cells[keep], factors, distances=(100, 300, 500), raw=subset_measures(raw, keep)
    )
    direct, direct_ops = candidate_features(cells[keep], factors, distances=(100, 300, 500))
    pd.testing.assert_frame_equal(sub_feats, direct)
    assert sub_ops == direct_ops
    with pytest.raises(ConfigError, match="horen bij"):
        RiskTerrainModel(**params).fit(cells[keep], events, factors, raw=raw)
    with pytest.raises(ConfigError, match="ontbreken"):
        candidate_features(cells, factors, raw={"geplant": raw["geplant"]})


def test_surface_is_product_of_rrvs_and_predict_matches():
    cells, events, factors, exposure = simulate(7)
    before = cells.copy()
    model = RiskTerrainModel(random_state=0).fit(cells, events, factors, exposure=exposure)
    pd.testing.assert_frame_equal(cells, before)  # input not mutated
    surface = model.predict()
    sel = model.factors_[model.factors_["geselecteerd"]]
    assert sel["factor"].tolist() == ["geplant"]  # the planted RRV 3 is found
    product = np.ones(len(cells))
    for row in sel.itertuples():
        product *= np.where(surface[row.factor] == 1, row.rrv, 1.0)
    np.testing.assert_allclose(surface["relatief_risico"], product)
    np.testing.assert_allclose(
        surface["verwacht_aantal"], exposure * np.exp(model.intercept_) * product
    )
    # the fitted GLM reproduces the total count (Poisson score equation with intercept)
    assert surface["verwacht_aantal"].sum() == pytest.approx(len(events), rel=1e-6)
    new = model.predict(cells.iloc[:10], exposure=exposure[:10])
    np.testing.assert_allclose(new["verwacht_aantal"], surface["verwacht_aantal"].iloc[:10])
    assert surface.crs == "EPSG:28992"
    assert list(model.factors_.columns) == [
        "factor",
        "operationalisatie",
        "afstand_m",
        "coef",
        "rrv",
        "ci_laag",
        "ci_hoog",
        "p_waarde",
        "cv_winst_t",
        "aantal_punten",
        "aandeel_cellen",
        "cellen_met_factor",
        "gebeurtenissen_bij_factor",
        "geselecteerd",
        "stabiliteit",
        "dispersie",
    ]


def test_zero_exposure_cells_are_excluded_from_fit():
    cells, events, factors, exposure = simulate(3)
    exposure = exposure.copy()
    y = count_events(cells, events)
    zero = np.flatnonzero(y > 0)[:5]
    exposure[zero] = 0
    model = RiskTerrainModel().fit(cells, events, factors, exposure=exposure)
    assert model.n_events_excluded_ == y[zero].sum()
    assert (model.surface_["verwacht_aantal"].to_numpy()[zero] == 0).all()
    floored = RiskTerrainModel(min_exposure=0.5).fit(cells, events, factors, exposure=exposure)
    assert floored.n_events_excluded_ == 0


def test_crs_mismatch_and_bad_params_raise():
    cells, events, factors, exposure = simulate(0, n=10, n_events=50)
    with pytest.raises(CRSMismatchError):
        RiskTerrainModel().fit(cells, events.to_crs("EPSG:4326"), factors)
    with pytest.raises(CRSMismatchError):
        RiskTerrainModel().fit(cells, events, {"x": factors["geplant"].to_crs("EPSG:4326")})
    with pytest.raises(ConfigError, match="operationalisations"):
        RiskTerrainModel(operationalisations=("nearby",)).fit(cells, events, factors)
    with pytest.raises(ConfigError, match="distances"):
        RiskTerrainModel(distances=(-1,)).fit(cells, events, factors)
    for bad in ({"alpha": 0.5}, {"block_size": 0}, {"buffer": -1}, {"min_events": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            RiskTerrainModel(**bad).fit(cells, events, factors)
    # a 1 km grid holds one block: no selection and estimation halves with folds
    with pytest.raises(ConfigError, match="blokken"):
        RiskTerrainModel().fit(cells, events, factors, exposure=exposure)
    # four 500 m blocks: one fold pair per half instead of five folds
    small = RiskTerrainModel(block_size=500, buffer=200).fit(
        cells, events, factors, exposure=exposure
    )
    assert small.cv_ == 2
    model = RiskTerrainModel(cv=3)
    assert model.get_params()["cv"] == 3  # __init__ only stores
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        model.predict()


def test_write_rtm_outputs(tmp_path):
    import pyogrio

    cells, events, factors, exposure = simulate(1, n=12, n_events=150)
    model = RiskTerrainModel(cv=3, block_size=300).fit(cells, events, factors, exposure=exposure)
    hs = cells.assign(klasse="Niet significant")
    validation = pd.DataFrame({"methode": ["RTM"], "pai": [1.0]})
    written = write_rtm_outputs(model, validation, hs, hs.iloc[:3], tmp_path / "uit")
    assert sorted(p.name for p in written.values()) == [
        "hotspots.gpkg",
        "risico_cellen.gpkg",
        "rtm_factoren.csv",
        "validatie.csv",
    ]
    for path in written.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    layers = {name for name, _ in pyogrio.list_layers(written["hotspots"])}
    assert layers == {"buurten", "cellen"}
    assert len(gpd.read_file(written["risico_cellen"])) == len(cells)
    assert read_csv(written["rtm_factoren"])["factor"].tolist() == model.factors_["factor"].tolist()

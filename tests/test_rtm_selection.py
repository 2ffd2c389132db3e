"""Tests of the RTM's factor selection and its held-out estimates.

Oracles: worlds in which no factor has any effect (nothing may be selected); a smooth
distance-decay effect with over-dispersed counts, i.e. *not* the model's step function on
its distance grid (found, with an interval that covers the true average effect in the
fitted zone); a factor whose zone holds no event (separation: never selected);
statsmodels' Poisson GLM and closed-form rate ratios for the fitted numbers; brute-force
distances for the buffered folds.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import statsmodels.api as sm
from scipy import stats
from scipy.spatial import cKDTree

from bcba.rtm import (
    RiskTerrainModel,
    _fit_candidate,
    _heldout_gain,
    _set_sums,
    _unit_sums,
    apply_operationalisations,
    centroid_xy,
    count_events,
    spatial_folds,
)
from tests.test_rtm import X0, Y0, make_grid, points

DECAY_M = 250.0


def world(
    seed: int,
    *,
    n: int = 50,
    n_events: int = 1500,
    amplitude: float = 0.0,
    overdispersed: bool = False,
    gamma_variance: float = 1.0,
    n_noise: int = 5,
):
    """A town on an n x n grid of 100 m cells, built independently of the model.

    Addresses cluster around two cores (about a third of the cells hold none); factor
    points sit 70 % at addresses, 30 % anywhere. The rate per address is
    ``1 + amplitude * exp(-d / 250 m)``, ``d`` the distance to the nearest point of
    ``geplant``; counts are Poisson, or negative binomial (a gamma factor with mean 1 and
    variance ``gamma_variance`` per cell).
    Returns cells, events, factors, exposure and that rate per cell.
    """
    rng = np.random.default_rng(seed)
    cells = make_grid(n)
    xy = centroid_xy(cells)
    cores = xy[rng.integers(0, n * n, 2)]
    d2 = ((xy[:, None, :] - cores[None]) ** 2).sum(axis=2)
    intensity = np.exp(-d2 / (2 * 1200.0**2)).sum(axis=1) + 0.1
    intensity[rng.random(n * n) < 0.3] = 0.0
    exposure = rng.poisson(intensity * 15).astype(float)

    def layer(k: int) -> gpd.GeoDataFrame:
        idx = np.where(
            rng.random(k) < 0.7,
            rng.choice(n * n, k, p=exposure / exposure.sum()),
            rng.integers(0, n * n, k),
        )
        return points(xy[idx, 0] + rng.uniform(-50, 50, k), xy[idx, 1] + rng.uniform(-50, 50, k))

    factors = {"geplant": layer(20)} | {
        f"ruis{j}": layer(int(rng.integers(15, 60))) for j in range(n_noise)
    }
    dist, _ = cKDTree(shapely.get_coordinates(factors["geplant"].geometry.values)).query(xy)
    rel = 1.0 + amplitude * np.exp(-dist / DECAY_M)
    lam = exposure * rel
    lam = lam / lam.sum() * n_events
    if overdispersed:
        lam = lam * rng.gamma(1 / gamma_variance, gamma_variance, n * n)
    counts = rng.poisson(lam)
    idx = np.repeat(np.arange(n * n), counts)
    events = points(
        xy[idx, 0] + rng.uniform(-49, 49, len(idx)), xy[idx, 1] + rng.uniform(-49, 49, len(idx))
    )
    return cells, events, factors, exposure, rel


def test_null_worlds_select_a_factor_at_most_at_the_test_level():
    """Ten worlds without any factor effect, Poisson and over-dispersed counts.

    Each fit tests at level 2 %, so a correct calibration selects something in two or
    more of ten worlds with probability 1.6 %.
    """
    selected = []
    for seed in range(10):
        cells, events, factors, exposure, _ = world(seed, overdispersed=seed % 2 == 0)
        model = RiskTerrainModel(random_state=seed, stability_splits=0).fit(
            cells, events, factors, exposure=exposure
        )
        table = model.factors_
        if table["geselecteerd"].any():
            selected.append(seed)
            continue
        assert table[["rrv", "ci_laag", "ci_hoog", "p_waarde"]].isna().all().all()
        assert model.operationalisations_ == []
        np.testing.assert_allclose(model.predict()["relatief_risico"], 1.0)
        # the best candidate stayed below the simulated-null threshold
        assert table["cv_winst_t"].max() <= model.margin_
    assert len(selected) <= 1, selected


def _true_zone_effect(model, exposure, rel, name="geplant"):
    """Exposure-weighted true rate per address in the fitted zone over that outside it,
    on the estimation half: what a Poisson regression on the 0/1 zone estimates."""
    zone = model.predict()[name].to_numpy() == 1
    e = np.where(model.estimation_cells_, exposure, 0.0)
    return ((e * rel)[zone].sum() / e[zone].sum()) / ((e * rel)[~zone].sum() / e[~zone].sum())


def planted_world(seed: int):
    """A strong smooth effect (rate x 4 at a point, x 1.7 at 250 m), over-dispersed."""
    return world(seed, n=60, n_events=2000, amplitude=3.0, overdispersed=True, gamma_variance=0.5)


def test_smooth_planted_effect_found_and_interval_covers_true_zone_effect():
    """Eight worlds: the effect is found in each; the 95 % intervals cover the true zone
    effect in at least six (P(fewer) = 0.6 % for a correct 95 % interval)."""
    covered, noise = 0, 0
    for seed in range(10, 18):
        cells, events, factors, exposure, rel = planted_world(seed)
        model = RiskTerrainModel(random_state=seed, stability_splits=0).fit(
            cells, events, factors, exposure=exposure
        )
        table = model.factors_.set_index("factor")
        row = table.loc["geplant"]
        assert row["geselecteerd"], (seed, table)
        truth = _true_zone_effect(model, exposure, rel)
        covered += bool(row["ci_laag"] <= truth <= row["ci_hoog"])
        noise += int(table.drop(index="geplant")["geselecteerd"].sum())
        # over-dispersion is measured (gamma factor with variance 0.5 on top of Poisson)
        assert model.dispersion_ > 1.05
    assert covered >= 6
    assert noise <= 2  # of 40 noise factors


def test_forward_selection_stops_at_the_factor_cap(monkeypatch):
    """The fit works per combination of selected factors (2^k patterns): the forward
    selection stops at ``MAX_FACTORS`` whatever the criterion says. With the cap at 0 the
    planted factor (found without it, test above) cannot enter."""
    cells, events, factors, exposure, _ = planted_world(10)
    monkeypatch.setattr(RiskTerrainModel, "MAX_FACTORS", 0)
    model = RiskTerrainModel(random_state=10, stability_splits=0).fit(
        cells, events, factors, exposure=exposure
    )
    assert not model.factors_["geselecteerd"].any()


def test_estimates_come_from_the_estimation_half_only():
    """One selected factor: the quasi-Poisson GLM has a closed form (rate ratio)."""
    cells, events, factors, exposure, _ = planted_world(10)
    model = RiskTerrainModel(random_state=10).fit(cells, events, factors, exposure=exposure)
    assert [op.factor for op in model.operationalisations_] == ["geplant"]
    sel, est = model.selection_cells_, model.estimation_cells_
    # the halves split the cells with addresses, block by block (1 km squares)
    np.testing.assert_array_equal(sel | est, exposure > 0)
    assert not (sel & est).any()
    xy = centroid_xy(cells)
    block = pd.Series(list(zip(*np.floor(xy / 1000).astype(int).T, strict=True)))
    halves = pd.DataFrame({"block": block, "est": est})[exposure > 0]
    assert (halves.groupby("block")["est"].nunique() == 1).all()

    y = count_events(cells, events)[est]
    e = exposure[est]
    x = apply_operationalisations(cells, factors, model.operationalisations_).to_numpy()[est, 0]
    y1, y0 = y[x == 1].sum(), y[x == 0].sum()
    e1, e0 = e[x == 1].sum(), e[x == 0].sum()
    rrv = (y1 / e1) / (y0 / e0)
    # cluster-robust variance of log RRV, clusters = 500 m squares: the influence of a
    # cell is its residual over the events on its side of the zone
    resid = y - e * np.where(x == 1, y1 / e1, y0 / e0)
    influence = np.where(x == 1, resid / y1, -resid / y0)
    square = np.floor(xy[est] / 500).astype(int)
    _, cluster = np.unique(square, axis=0, return_inverse=True)
    g, n = cluster.max() + 1, len(y)
    var = g / (g - 1) * (n - 1) / (n - 2) * (np.bincount(cluster.ravel(), influence) ** 2).sum()
    half_width = stats.t.ppf(0.975, g - 1) * np.sqrt(var)
    row = model.factors_.set_index("factor").loc["geplant"]
    assert row["rrv"] == pytest.approx(rrv, rel=1e-6)
    assert row["ci_laag"] == pytest.approx(rrv * np.exp(-half_width), rel=1e-6)
    assert row["ci_hoog"] == pytest.approx(rrv * np.exp(half_width), rel=1e-6)
    p_value = 2 * stats.t.sf(abs(np.log(rrv)) / np.sqrt(var), g - 1)
    assert row["p_waarde"] == pytest.approx(p_value, rel=1e-4)
    mu = e * np.where(x == 1, y1 / e1, y0 / e0)
    assert row["dispersie"] == pytest.approx(((y - mu) ** 2 / mu).sum() / (n - 2), rel=1e-6)
    # the surface uses these held-out RRVs; the intercept makes the totals agree
    surface = model.predict()
    np.testing.assert_allclose(surface["relatief_risico"], np.where(surface["geplant"], rrv, 1))
    assert surface["verwacht_aantal"].sum() == pytest.approx(count_events(cells, events).sum())


def test_factor_whose_zone_holds_no_event_is_never_selected():
    """Separation: without the support rule this factor has the largest deviance gain."""
    cells, events, factors, exposure, _ = world(4, n_events=1200)
    rng = np.random.default_rng(4)
    empty = points(X0 + rng.uniform(500, 2000, 12), Y0 + rng.uniform(500, 2000, 12))
    ev_xy = shapely.get_coordinates(events.geometry.values)
    far = cKDTree(shapely.get_coordinates(empty.geometry.values)).query(ev_xy)[0] > 600
    events = events[far]
    factors = factors | {"leeg": empty}
    for settings in ({}, {"min_cells": 1, "min_events": 1}):
        model = RiskTerrainModel(random_state=4, **settings).fit(
            cells, events, factors, exposure=exposure
        )
        row = model.factors_.set_index("factor").loc["leeg"]
        assert not row["geselecteerd"]
        assert row["operationalisatie"] == "te weinig steun"
        finite = model.factors_[["rrv", "ci_laag", "ci_hoog"]].dropna().to_numpy()
        assert np.isfinite(finite).all() and (finite > 0).all()


def test_spatial_folds_are_whole_blocks_with_the_buffer():
    cells = make_grid(45)
    xy = centroid_xy(cells)
    keep = ~((xy[:, 0] - X0 > 1500) & (xy[:, 0] - X0 < 2600) & (xy[:, 1] - Y0 < 3000))
    cells = cells[keep].reset_index(drop=True)  # a bay: the area need not be square
    xy = xy[keep]
    folds = spatial_folds(cells, block_size=1000, buffer=500, k=5, random_state=3)
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests) == list(range(len(cells)))  # every cell tested exactly once
    block = np.floor(xy / 1000).astype(int)
    block_id = block[:, 0] * 1000 + block[:, 1]
    for train, test in folds:
        assert len(train) > 0
        in_test = np.isin(block_id, block_id[test])
        np.testing.assert_array_equal(np.flatnonzero(in_test), np.sort(test))  # whole blocks
        gap = cKDTree(xy[test]).query(xy[train])[0]
        assert gap.min() >= 500
        # only cells near the test blocks are dropped (buffer counted in 500 m units)
        other = np.setdiff1d(np.arange(len(cells)), test)
        dist = cKDTree(xy[test]).query(xy[other])[0]
        assert set(other[dist > 1000 * np.sqrt(2) + 1]) <= set(train)


def _small_case(seed: int):
    rng = np.random.default_rng(seed)
    n = 600
    x = (rng.random((n, 5)) < [0.4, 0.3, 0.2, 0.5, 0.35]).astype(float)
    e = rng.uniform(1, 30, n)
    eta = -3 + 0.6 * x[:, 0] - 0.4 * x[:, 1] + 0.5 * x[:, 2]
    y = rng.poisson(e * np.exp(eta)).astype(float)
    return x, y, e


def test_candidate_fit_is_the_poisson_glm_of_statsmodels():
    """With the two selected factors as pattern and no prior: the Poisson MLE."""
    x, y, e = _small_case(0)
    sums = _set_sums(_unit_sums(x, y, e, np.zeros(len(y), int), [0, 1]), np.ones((1, 1), bool))
    r, b, theta = _fit_candidate(sums.y, sums.e, sums.y1, sums.e1, prior=0.0)
    code = x[:, 0] + 2 * x[:, 1]
    dummies = (code[:, None] == np.arange(4)).astype(float)
    for j in (2, 3, 4):
        glm = sm.GLM(
            y, np.c_[dummies, x[:, j]], family=sm.families.Poisson(), offset=np.log(e)
        ).fit(tol=1e-12)
        assert theta[0, 0, j] == pytest.approx(np.exp(glm.params[4]), rel=1e-7)
        np.testing.assert_allclose(b[0, :, j], np.exp(glm.params[:4]), rtol=1e-7)
    without = sm.GLM(y, dummies, family=sm.families.Poisson(), offset=np.log(e)).fit()
    np.testing.assert_allclose(r[0, :, 0], np.exp(without.params), rtol=1e-7)


def test_heldout_gain_is_the_difference_of_test_deviances():
    """Fit on the training cells, Poisson deviance on the test cells (statsmodels)."""
    x, y, e = _small_case(1)
    unit = (np.arange(len(y)) % 3 == 0).astype(int)  # unit 1 = test
    sums = _unit_sums(x, y, e, unit, [0])
    train = _set_sums(sums, np.array([[True, False]]))
    test = _set_sums(sums, np.array([[False, True]]))
    gain = _heldout_gain(train, test, prior=0.0)[0]
    tr, te = unit == 0, unit == 1
    family = sm.families.Poisson()

    def test_deviance(columns):
        design = np.c_[1 - x[:, 0], x[:, 0], x[:, columns]]
        glm = sm.GLM(y[tr], design[tr], family=family, offset=np.log(e[tr])).fit(tol=1e-12)
        mu = e[te] * np.exp(design[te] @ glm.params)
        return family.deviance(y[te], mu)

    base = test_deviance([])
    for j in (1, 2, 3, 4):
        assert gain[j] == pytest.approx(base - test_deviance([j]), rel=1e-6, abs=1e-8)


def test_overdispersion_is_estimated():
    for overdispersed, low, high in ((False, 0.0, 0.15), (True, 0.7, 1.4)):
        cells, events, factors, exposure, _ = world(5, overdispersed=overdispersed)
        model = RiskTerrainModel(random_state=5).fit(cells, events, factors, exposure=exposure)
        # true negative-binomial alpha: 0 (Poisson) or 1 (gamma factor with variance 1)
        assert low <= model.nb_alpha_ <= high
        assert model.dispersion_ >= 1.0


def test_stability_is_a_share_of_twenty_halves():
    cells, events, factors, exposure, _ = planted_world(11)
    model = RiskTerrainModel(random_state=11).fit(cells, events, factors, exposure=exposure)
    assert model.n_halves_ == 20
    shares = model.factors_["stabiliteit"].to_numpy() * 20
    np.testing.assert_allclose(shares, np.round(shares))
    single = RiskTerrainModel(random_state=11, stability_splits=0).fit(
        cells, events, factors, exposure=exposure
    )
    assert single.factors_["stabiliteit"].isna().all()
    # the selection half is the first of the twenty: same selection and estimates
    pd.testing.assert_frame_equal(
        single.factors_.drop(columns="stabiliteit").set_index("factor").sort_index(),
        model.factors_.drop(columns="stabiliteit").set_index("factor").sort_index(),
    )


def test_null_simulations_score_the_same_criterion_as_the_data(monkeypatch):
    """The simulated statistic must be the observed one's function: fed the observed
    counts, the simulation path gives the first-step criterion of every candidate."""
    cells, events, factors, exposure, _ = world(13, overdispersed=True)
    seen = {}
    null_maxima, forward = RiskTerrainModel._null_maxima, RiskTerrainModel._forward

    def spy_null(self, x, y, e, layout, base, folds, supported, seed):
        cells_ = folds.blocks.any(axis=0)[layout.unit]
        columns = np.flatnonzero(supported)
        # the observed counts as the second of two "simulations" (the first: reversed)
        counts = np.c_[y[cells_][::-1], y[cells_]]
        seen["sim"] = self._first_step(
            x[cells_], counts, layout.unit[cells_], base, folds, columns
        )[1]
        seen["supported"] = supported
        return null_maxima(self, x, y, e, layout, base, folds, supported, seed)

    def spy_forward(self, sums_for, folds, supported, factor_of):
        run = forward(self, sums_for, folds, supported, factor_of)
        seen.setdefault("data", run.first_gain)
        return run

    monkeypatch.setattr(RiskTerrainModel, "_null_maxima", spy_null)
    monkeypatch.setattr(RiskTerrainModel, "_forward", spy_forward)
    RiskTerrainModel(random_state=13, stability_splits=0).fit(
        cells, events, factors, exposure=exposure
    )
    np.testing.assert_allclose(seen["sim"], seen["data"][seen["supported"]], rtol=1e-9)

"""Tests of bcba.hotspots: Gi* equals esda, BH, the FDR refusal, planted and null patterns."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely

from bcba.errors import ConfigError, CRSMismatchError
from bcba.hotspots import (
    NOT_ASSESSABLE,
    benjamini_hochberg,
    empirical_bayes_rate,
    fdr_reachable,
    hotspots,
    local_moran,
    required_permutations,
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


def test_bh_hand_example():
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01, 0.03, 0.04, 0.20 -> 0.04, min(0.06, 0.0533), 0.0533, 0.20
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_required_permutations_condition():
    # 2/(P+1) <= alpha/n  <=>  P >= 2n/alpha - 1
    assert required_permutations(225, 0.05) == 8999
    assert fdr_reachable(225, 8999, 0.05)
    assert not fdr_reachable(225, 8998, 0.05)
    assert required_permutations(30_000, 0.05) == 1_199_999


def test_gi_star_equals_esda_on_same_weights():
    import esda
    from libpysal.weights import Queen

    cells = make_grid(8)
    y = np.random.default_rng(4).poisson(3, 64).astype(float)
    out = hotspots(cells, y, permutations=299, seed=11, inference="permutatie", alpha=0.5)
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    w.transform = "B"
    with warnings.catch_warnings():
        # esda warns about a future change of its default alternative; not settable here
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=299, seed=11, n_jobs=1)
    np.testing.assert_allclose(out["gi_z"], ref.Zs)
    np.testing.assert_allclose(out["p_sim"], np.minimum(1, 2 * ref.p_sim))
    np.testing.assert_allclose(out["p_fdr"], benjamini_hochberg(np.minimum(1, 2 * ref.p_sim)))


def test_empirical_bayes_equals_esda():
    from esda.smoothing import Empirical_Bayes

    rng = np.random.default_rng(2)
    e = rng.integers(1, 60, 50).astype(float)
    y = rng.poisson(e * 0.1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # esda divides 0/0 internally
        ref = Empirical_Bayes(y.reshape(-1, 1), e.reshape(-1, 1)).r.ravel()
    np.testing.assert_allclose(empirical_bayes_rate(y, e), ref)


def test_refuses_when_permutations_cannot_reach_fdr():
    cells = make_grid(15)
    y = np.random.default_rng(0).poisson(3, 225)
    out = hotspots(cells, y, permutations=999)
    assert (out["klasse"] == NOT_ASSESSABLE).all()
    assert not out["significant"].any()
    assert "8999 permutaties" in out.attrs["melding"]
    moran = local_moran(cells, y, permutations=999)
    assert (moran["klasse"] == NOT_ASSESSABLE).all()


def planted(seed: int, *, n: int = 15, cluster: bool):
    rng = np.random.default_rng(seed)
    cells = make_grid(n)
    exposure = rng.poisson(20, n * n).astype(float)
    lam = exposure * 0.1
    block = np.zeros((n, n), bool)
    block[6:9, 6:9] = True
    block = block.ravel()
    if cluster:
        lam[block] *= 4
    cells["aantal"] = rng.poisson(lam)
    return cells, exposure, block


def test_planted_cluster_is_hot_spot_after_fdr():
    cells, exposure, block = planted(1, cluster=True)
    out = hotspots(
        cells, "aantal", exposure=exposure, permutations=required_permutations(225, 0.05)
    )
    hot = out["klasse"].str.startswith("Hot spot").to_numpy()
    assert hot[block].sum() >= 3
    assert (hot & ~block).sum() <= 2  # false positives only next to the cluster, if any
    moran = local_moran(
        cells, "aantal", exposure=exposure, permutations=required_permutations(225, 0.05)
    )
    assert (moran.loc[block, "klasse"] == "Hoog-hoog (HH)").sum() >= 2


def test_raw_counts_without_exposure_flag_address_density():
    # a dense residential block without any excess risk: raw counts make it a "hot spot",
    # the exposure adjustment does not
    rng = np.random.default_rng(5)
    cells = make_grid(12)
    exposure = np.full(144, 5.0)
    exposure[:30] = 80.0
    cells["aantal"] = rng.poisson(exposure * 0.2)
    perms = required_permutations(144, 0.05)
    raw = hotspots(cells, "aantal", permutations=perms)
    adj = hotspots(cells, "aantal", exposure=exposure, permutations=perms)
    assert raw["significant"].sum() > 10
    assert adj["significant"].sum() == 0


def test_null_scenario_rarely_gives_hot_spots():
    n, perms = 12, required_permutations(144, 0.05)
    false_alarms = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        cells = make_grid(n)
        exposure = rng.integers(0, 40, n * n).astype(float)
        # events uniform per address: multinomial over addresses
        counts = rng.multinomial(150, exposure / exposure.sum())
        out = hotspots(cells, counts, exposure=exposure, permutations=perms, seed=seed)
        false_alarms += bool(out["significant"].any())
    assert false_alarms <= 1  # at least 95% of 20 seeds clean


def test_buurten_queen_and_options():
    from bcba import reference

    buurten = reference.buurten("GM0489")
    n = len(buurten)
    rng = np.random.default_rng(0)
    exposure = rng.integers(50, 500, n).astype(float)
    counts = rng.poisson(exposure * 0.02)
    perms = required_permutations(n, 0.05)
    out = hotspots(buurten, counts, exposure=exposure, permutations=perms)
    assert (
        len(out) == n
        and out["klasse"]
        .isin(
            [
                "Niet significant",
                "Hot spot 90%",
                "Hot spot 95%",
                "Hot spot 99%",
                "Cold spot 90%",
                "Cold spot 95%",
                "Cold spot 99%",
            ]
        )
        .all()
    )
    normal = hotspots(buurten, counts, exposure=exposure, inference="normaal")
    np.testing.assert_allclose(normal["gi_z"], out["gi_z"])
    excess = hotspots(
        make_grid(6),
        np.arange(36.0),
        exposure=np.full(36, 2.0),
        adjustment="overschot",
        weights="distance",
        distance=150,
        permutations=2000,
    )
    plain = hotspots(
        make_grid(6), np.arange(36.0), weights="distance", distance=150, permutations=2000
    )
    # excess count with constant exposure is a shift of the counts: same z and p
    np.testing.assert_allclose(excess["gi_z"], plain["gi_z"])
    np.testing.assert_allclose(excess["p_sim"], plain["p_sim"])
    with pytest.raises(CRSMismatchError):
        hotspots(buurten.to_crs("EPSG:4326"), counts)
    with pytest.raises(ConfigError, match="distance"):
        hotspots(buurten, counts, weights="distance")
    with pytest.raises(ConfigError, match="weights"):
        hotspots(buurten, counts, weights="rook")

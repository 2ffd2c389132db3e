"""Tests of bcba.hotspots: Gi* against esda and binomial tails, islands, FDR, planted and null."""

from __future__ import annotations

import contextlib
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bcba.errors import ConfigError, CRSMismatchError
from bcba.hotspots import (
    NO_NEIGHBOURS,
    NOT_ASSESSABLE,
    benjamini_hochberg,
    empirical_bayes_rate,
    fdr_reachable,
    hotspots,
    local_moran,
    neighbour_matrix,
    required_permutations,
)

X0, Y0 = 100_000.0, 400_000.0


def make_grid(n: int, *, extra: list[tuple[float, float]] = ()) -> gpd.GeoDataFrame:
    """An n x n grid of 100 m cells, plus optional lone cells with lower-left corner ``extra``."""
    xs, ys = np.meshgrid(np.arange(n) * 100.0 + X0, np.arange(n) * 100.0 + Y0)
    xs = np.r_[xs.ravel(), [x for x, _ in extra]]
    ys = np.r_[ys.ravel(), [y for _, y in extra]]
    return gpd.GeoDataFrame(
        {"cel_id": [f"c{i:04d}" for i in range(len(xs))]},
        geometry=shapely.box(xs, ys, xs + 100, ys + 100),
        crs="EPSG:28992",
    )


@contextlib.contextmanager
def esda_quiet():
    with warnings.catch_warnings():
        # esda warns about a future change of its default alternative; not settable here
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def test_bh_hand_example_and_untested_units():
    p = [0.01, 0.04, 0.03, 0.20]
    # sorted 0.01, 0.03, 0.04, 0.20 -> 0.04, min(0.06, 0.0533), 0.0533, 0.20
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    # an untested unit (NaN) is not part of the family
    out = benjamini_hochberg([0.01, np.nan, 0.04, 0.03, 0.20])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3, 4]], [0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_required_permutations_condition():
    # 2/(P+1) <= alpha/n  <=>  P >= 2n/alpha - 1
    assert required_permutations(225, 0.05) == 8999
    assert fdr_reachable(225, 8999, 0.05)
    assert not fdr_reachable(225, 8998, 0.05)
    assert required_permutations(30_000, 0.05) == 1_199_999


def test_exact_gi_star_statistic_equals_esda():
    """G*_i (binary weights, the unit itself included) is the neighbourhood share of all
    events; esda computes it independently."""
    import esda
    from libpysal.weights import Queen

    cells = make_grid(8)
    y = np.random.default_rng(4).poisson(3, 64)
    out = hotspots(cells, y, exposure=np.full(64, 7.0))
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    w.transform = "B"
    with esda_quiet():
        ref = esda.G_Local(y.astype(float), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(out["gi"], ref.Gs)
    np.testing.assert_array_equal(out["buren"], [w.cardinalities[i] for i in w.id_order])


def test_exact_p_values_by_hand_on_3x3_grid():
    """Corner cell with 10 events, the others 1, equal addresses. Its neighbourhood (itself and
    cells 1, 3, 4) holds 4/9 of the addresses; N = 18 and O = 13, so under "uniform per
    address" O ~ Binomial(18, 4/9): p = 2 P(X >= 13). The centre sees all 9 cells: O = N."""
    cells = make_grid(3)
    y = np.ones(9, int)
    y[0] = 10
    out = hotspots(cells, y, exposure=np.full(9, 10.0))
    p_corner = 2 * stats.binomtest(13, 18, 4 / 9, alternative="greater").pvalue
    assert out.loc[0, "waargenomen"] == 13
    assert out.loc[0, "verwacht"] == pytest.approx(18 * 4 / 9)
    assert out.loc[0, "p"] == pytest.approx(p_corner)
    # edge cell 1 sees itself and cells 0, 2, 3, 4, 5: O = 15 of 18 on 6/9 of the addresses
    assert out.loc[1, "waargenomen"] == 15
    assert out.loc[1, "p"] == pytest.approx(
        min(1.0, 2 * stats.binomtest(15, 18, 6 / 9, alternative="greater").pvalue)
    )
    assert out.loc[4, "p"] == pytest.approx(1.0)
    z = (13 - 18 * 4 / 9) / np.sqrt(18 * 4 / 9 * 5 / 9)
    assert out.loc[0, "gi_z"] == pytest.approx(z)
    # BH over the 9 units (statsmodels as the oracle)
    np.testing.assert_allclose(out["p_fdr"], multipletests(out["p"], method="fdr_bh")[1])
    # p_fdr of the corner is 0.0975: the 90% class, which is *not* significant
    assert 0.05 < out.loc[0, "p_fdr"] <= 0.10
    assert out.loc[0, "klasse"] == "Hot spot 90%"
    assert not out.loc[0, "significant"] and not out.loc[0, "hotspot"]


def test_exposure_changes_the_expectation():
    # the same counts: where many addresses are, many events are expected (no hot spot);
    # with equal addresses the same block is a hot spot
    cells = make_grid(5)
    y = np.ones(25, int)
    y[[6, 7, 8]] = 12
    dense = np.full(25, 10.0)
    dense[[6, 7, 8]] = 120.0
    assert not hotspots(cells, y, exposure=dense)["significant"].any()
    assert hotspots(cells, y, exposure=np.full(25, 10.0)).loc[7, "hotspot"]


def test_permutation_gi_star_equals_esda_on_same_weights():
    import esda
    from libpysal.weights import Queen

    cells = make_grid(8)
    y = np.random.default_rng(4).poisson(3, 64).astype(float)
    out = hotspots(cells, y, permutations=299, seed=11, inference="permutatie", alpha=0.5)
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    w.transform = "B"
    with esda_quiet():
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=299, seed=11, n_jobs=1)
    np.testing.assert_allclose(out["gi_z"], ref.Zs)
    np.testing.assert_allclose(out["p"], np.minimum(1, 2 * ref.p_sim))
    np.testing.assert_allclose(
        out["p_fdr"], multipletests(np.minimum(1, 2 * ref.p_sim), method="fdr_bh")[1]
    )


@pytest.mark.parametrize("inference", ["exact", "permutatie"])
def test_islands_get_no_class_and_stay_out_of_the_fdr_family(inference):
    # a 6 x 6 grid plus two lone cells 1 km away, one of them with many events: before, esda
    # gave an island the smallest pseudo p-value and it became "Hot/Cold spot 99%"
    cells = make_grid(6, extra=[(X0 + 1500, Y0), (X0 + 1500, Y0 + 1000)])
    rng = np.random.default_rng(1)
    y = rng.poisson(2, 38)
    y[36] = 30
    y[37] = 0
    perms = required_permutations(36, 0.05)
    out = hotspots(cells, y, exposure=np.full(38, 10.0), inference=inference, permutations=perms)
    assert out.loc[[36, 37], "klasse"].tolist() == [NO_NEIGHBOURS, NO_NEIGHBOURS]
    assert out.loc[[36, 37], "p"].isna().all() and not out.loc[[36, 37], "significant"].any()
    assert (out.loc[:35, "buren"] >= 3).all() and (out.loc[[36, 37], "buren"] == 0).all()
    np.testing.assert_allclose(
        out.loc[:35, "p_fdr"], multipletests(out.loc[:35, "p"], method="fdr_bh")[1]
    )
    assert "2 gebieden hebben geen buren" in out.attrs["melding"]
    moran = local_moran(cells, y, exposure=np.full(38, 10.0), permutations=perms)
    assert moran.loc[[36, 37], "klasse"].tolist() == [NO_NEIGHBOURS, NO_NEIGHBOURS]
    assert moran.loc[[36, 37], "p"].isna().all()


def test_refuses_only_for_permutations_that_cannot_reach_fdr():
    cells = make_grid(15)
    y = np.random.default_rng(0).poisson(3, 225)
    out = hotspots(cells, y, inference="permutatie", permutations=999)
    assert (out["klasse"] == NOT_ASSESSABLE).all()
    assert not out["significant"].any()
    assert "8999 permutaties" in out.attrs["melding"]
    moran = local_moran(cells, y, permutations=999)
    assert (moran["klasse"] == NOT_ASSESSABLE).all()


def test_exact_test_assesses_a_large_grid_and_finds_a_planted_block():
    # 60 x 60 = 3,600 cells: permutations would need 143,999 draws per cell; the exact test
    # needs none and is never "not assessable"
    n = 60
    cells = make_grid(n)
    rng = np.random.default_rng(3)
    exposure = rng.integers(1, 40, n * n).astype(float)
    lam = exposure * 0.02
    block = np.zeros((n, n), bool)
    block[30:33, 30:33] = True
    lam[block.ravel()] *= 5
    out = hotspots(cells, rng.poisson(lam), exposure=exposure)
    assert not (out["klasse"] == NOT_ASSESSABLE).any()
    assert out.loc[31 * n + 31, "hotspot"]  # the centre: its neighbourhood is the block
    assert not (out["significant"].to_numpy() & ~_ring(block).ravel()).any()


def _ring(block: np.ndarray) -> np.ndarray:
    """The block and every cell touching it (whose Queen neighbourhood overlaps the block)."""
    n = block.shape[0]
    grown = block.copy()
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            shifted = np.zeros_like(block)
            shifted[max(dx, 0) : n + min(dx, 0), max(dy, 0) : n + min(dy, 0)] = block[
                max(-dx, 0) : n + min(-dx, 0), max(-dy, 0) : n + min(-dy, 0)
            ]
            grown |= shifted
    return grown


def planted(seed: int, *, n: int = 15, cluster: bool):
    rng = np.random.default_rng(seed)
    cells = make_grid(n)
    exposure = rng.poisson(20, n * n).astype(float)
    lam = exposure * 0.1
    block = np.zeros((n, n), bool)
    block[6:9, 6:9] = True
    if cluster:
        lam[block.ravel()] *= 4
    cells["aantal"] = rng.poisson(lam)
    return cells, exposure, block


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_block_is_found_and_nothing_beyond_its_ring(seed):
    """A 3 x 3 block with 4 times the rate per address: its centre and most of its cells are
    hot spots; a hot spot outside the block can only be a cell whose neighbourhood overlaps
    the block (the ring around it), and beyond the ring there is none (with ~10 discoveries at
    FDR 5%, less than one false discovery is expected anywhere)."""
    cells, exposure, block = planted(seed, cluster=True)
    out = hotspots(cells, "aantal", exposure=exposure)
    hot = out["hotspot"].to_numpy()
    inside = block.ravel()
    assert hot[7 * 15 + 7]  # the centre of the block
    assert hot[inside].sum() >= 7
    assert (hot & ~_ring(block).ravel()).sum() == 0
    assert not (out["significant"] & (out["gi_z"] < 0)).any()  # no cold spot either
    moran = local_moran(
        cells, "aantal", exposure=exposure, permutations=required_permutations(225, 0.05)
    )
    assert moran.loc[7 * 15 + 7, "klasse"] == "Hoog-hoog (HH)"
    assert (moran["significant"].to_numpy() & ~_ring(block).ravel()).sum() == 0


def test_raw_counts_without_exposure_flag_address_density():
    # a dense residential block without any excess risk: ignoring the addresses makes it a
    # "hot spot" (and the rest cold); the exposure-corrected test does not
    rng = np.random.default_rng(5)
    cells = make_grid(12)
    exposure = np.full(144, 5.0)
    exposure[:30] = 80.0
    cells["aantal"] = rng.poisson(exposure * 0.2)
    raw = hotspots(cells, "aantal")
    adj = hotspots(cells, "aantal", exposure=exposure)
    assert raw["significant"].sum() > 10
    assert adj["significant"].sum() == 0


def test_null_scenario_gives_no_significant_spot_hot_or_cold():
    """Events uniform per address: no significant unit, hot *or* cold, in at least 19 of 20
    seeds (BH at 5% over one family: P(any rejection) <= 5% under the complete null), for
    the exact Gi* and for local Moran's I."""
    n = 12
    seeds_with_spot = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        cells = make_grid(n)
        exposure = rng.integers(1, 40, n * n).astype(float)
        counts = rng.multinomial(150, exposure / exposure.sum())
        out = hotspots(cells, counts, exposure=exposure)
        seeds_with_spot += bool(out["significant"].any())
    assert seeds_with_spot <= 1


def test_buurten_queen_and_options():
    from bcba import reference

    buurten = reference.buurten("GM0489")
    n = len(buurten)
    rng = np.random.default_rng(0)
    exposure = rng.integers(50, 500, n).astype(float)
    counts = rng.poisson(exposure * 0.02)
    out = hotspots(buurten, counts, exposure=exposure)
    allowed = {
        "Niet significant",
        NO_NEIGHBOURS,
        *(f"{k} spot {c}%" for k in ("Hot", "Cold") for c in (90, 95, 99)),
    }
    assert len(out) == n and set(out["klasse"]) <= allowed
    excess = hotspots(
        make_grid(6),
        np.arange(36.0),
        exposure=np.full(36, 2.0),
        adjustment="overschot",
        weights="distance",
        distance=150,
        inference="permutatie",
        permutations=2000,
    )
    plain = hotspots(
        make_grid(6),
        np.arange(36.0),
        weights="distance",
        distance=150,
        inference="permutatie",
        permutations=2000,
    )
    # excess count with constant exposure is a shift of the counts: same z and p
    np.testing.assert_allclose(excess["gi_z"], plain["gi_z"])
    np.testing.assert_allclose(excess["p"], plain["p"])
    # on a 100 m grid a 150 m distance band is the Queen neighbourhood
    grid = make_grid(6)
    y = np.random.default_rng(2).poisson(2, 36)
    np.testing.assert_allclose(
        hotspots(grid, y, weights="distance", distance=150)["p"], hotspots(grid, y)["p"]
    )
    with pytest.raises(CRSMismatchError):
        hotspots(buurten.to_crs("EPSG:4326"), counts)
    with pytest.raises(ConfigError, match="distance"):
        hotspots(buurten, counts, weights="distance")
    with pytest.raises(ConfigError, match="weights"):
        hotspots(buurten, counts, weights="rook")
    with pytest.raises(ConfigError, match="inference"):
        hotspots(buurten, counts, inference="normaal")
    with pytest.raises(ConfigError, match="gehele"):
        hotspots(buurten, counts + 0.5, exposure=exposure)


def test_empirical_bayes_equals_esda():
    from esda.smoothing import Empirical_Bayes

    rng = np.random.default_rng(2)
    e = rng.integers(1, 60, 50).astype(float)
    y = rng.poisson(e * 0.1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # esda divides 0/0 internally
        ref = Empirical_Bayes(y.reshape(-1, 1), e.reshape(-1, 1)).r.ravel()
    np.testing.assert_allclose(empirical_bayes_rate(y, e), ref)


def test_distance_neighbours_equal_libpysal_distance_band():
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(6)
    pts = gpd.GeoDataFrame(
        geometry=shapely.points(rng.uniform(0, 1000, 300) + X0, rng.uniform(0, 1000, 300) + Y0),
        crs="EPSG:28992",
    )
    ours = neighbour_matrix(pts, "distance", 120.0).toarray()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands
        ref = DistanceBand.from_dataframe(pts, threshold=120.0, binary=True, use_index=False)
    np.testing.assert_array_equal(ours, ref.full()[0])
    # two units at the same place are neighbours (libpysal drops zero distances as "self")
    twice = pd.concat([pts, pts.iloc[:1]], ignore_index=True)
    both = neighbour_matrix(twice, "distance", 120.0)
    assert both[0, 300] == 1 and both[300, 0] == 1 and both.diagonal().sum() == 0

"""Tests of bcba.excess: the per-buurt excess test against hand-worked values and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bcba.errors import ConfigError
from bcba.excess import dispersion_moments, excess_test, mean_interval


def _units(n: int) -> pd.DataFrame:
    return pd.DataFrame({"buurtcode": [f"BU{i:08d}" for i in range(n)]})


def test_hand_worked_four_buurten():
    """Addresses 100/200/300/400, events 5/2/3/10: rate 20/1000 = 0.02 per address, so
    expected 2, 4, 6, 8. Leave-one-out dispersion for buurt 0 from buurten 1-3:
    ((2-4)^2-2) + ((3-6)^2-3) + ((10-8)^2-10) = 2 + 6 - 6 = 2 over 16 + 36 + 64 = 116."""
    y = np.array([5, 2, 3, 10])
    e = np.array([100.0, 200.0, 300.0, 400.0])
    out = excess_test(_units(4), y, e, test="nb")
    np.testing.assert_allclose(out["verwacht"], [2, 4, 6, 8])
    np.testing.assert_allclose(out["ratio"], [2.5, 0.5, 0.5, 1.25])
    np.testing.assert_allclose(out["p_poisson"], stats.poisson.sf(y - 1, [2, 4, 6, 8]))
    a0 = 2 / 116
    size = 1 / a0
    assert out.loc[0, "p_nb"] == pytest.approx(stats.nbinom.sf(4, size, size / (size + 2)))
    # buurt 3 from buurten 0-2: (9-5) + (4-2) + (9-3) = 4 + 2 + 6 = 12 over 4 + 16 + 36 = 56
    a3 = 12 / 56
    size = 1 / a3
    assert out.loc[3, "p_nb"] == pytest.approx(stats.nbinom.sf(9, size, size / (size + 8)))
    np.testing.assert_allclose(out["p"], out["p_nb"])
    np.testing.assert_allclose(out["q"], multipletests(out["p"], method="fdr_bh")[1])
    assert not out["verhoogd"].any()
    # the global moment estimate: (4 + 2 + 6 - 6) / (4 + 16 + 36 + 64) = 6 / 120
    assert out.attrs["dispersie"] == pytest.approx(6 / 120)
    assert out.attrs["tempo"] == pytest.approx(0.02)
    poisson = excess_test(_units(4), y, e, test="poisson")
    np.testing.assert_allclose(poisson["p"], poisson["p_poisson"])
    assert poisson.attrs["toets"] == "Poisson" and out.attrs["toets"] == "negatief-binomiaal"


def test_poisson_interval_is_garwoods():
    y = np.array([0, 1, 2, 5, 10, 49, 200])
    low, high = mean_interval(y)
    garwood_low = np.where(y > 0, stats.chi2.ppf(0.025, 2 * y) / 2, 0.0)
    garwood_high = stats.chi2.ppf(0.975, 2 * (y + 1)) / 2
    np.testing.assert_allclose(low, garwood_low, rtol=1e-9)
    np.testing.assert_allclose(high, garwood_high, rtol=1e-9)


def test_negative_binomial_interval_puts_2_5_percent_in_each_tail():
    y = np.array([1, 4, 12, 60])
    a = np.array([0.05, 0.3, 0.3, 1.0])
    low, high = mean_interval(y, a)
    size = 1 / a
    np.testing.assert_allclose(stats.nbinom.sf(y - 1, size, size / (size + low)), 0.025)
    np.testing.assert_allclose(stats.nbinom.cdf(y, size, size / (size + high)), 0.025)
    # over-dispersion widens the interval
    p_low, p_high = mean_interval(y)
    assert (high - low > p_high - p_low).all()


def test_dispersion_estimate_agrees_with_statsmodels_ml():
    """On 4,000 buurten with a true NB2 dispersion of 0.3 the moment estimate and
    statsmodels' maximum-likelihood negative binomial agree with the truth."""
    import statsmodels.api as sm

    rng = np.random.default_rng(8)
    e = rng.integers(50, 800, 4000).astype(float)
    mu = 0.02 * e
    a = 0.3
    y = rng.negative_binomial(1 / a, (1 / a) / (1 / a + mu))
    fit = sm.NegativeBinomial(y, np.ones((len(y), 1)), exposure=e).fit(disp=0)
    ml = float(fit.params[-1])
    moments = dispersion_moments(y, mu)
    assert ml == pytest.approx(a, abs=0.03)
    assert moments == pytest.approx(a, abs=0.05)
    # no over-dispersion in Poisson data: the estimate stays near 0
    assert dispersion_moments(rng.poisson(mu), mu) < 0.02


def test_planted_buurt_is_verhoogd_and_its_interval_holds_the_planted_ratio():
    """Buurt 7 has three times the rate per address of the other 59: it alone is
    "verhoogd", and the interval of its ratio holds 3 (the ratio is relative to the overall
    rate, which the planted buurt raises by ~3%, so the target is 3 / 1.03)."""
    rng = np.random.default_rng(11)
    e = rng.integers(300, 900, 60).astype(float)
    lam = 0.02 * e
    lam[7] *= 3
    y = rng.poisson(lam)
    out = excess_test(_units(60), y, e)
    assert out["verhoogd"].tolist() == [i == 7 for i in range(60)]
    target = 3 * 0.02 * e[7] / (lam.sum() / e.sum() * e[7])
    assert out.loc[7, "ratio_laag"] <= target <= out.loc[7, "ratio_hoog"]
    assert out.loc[7, "rang"] == 1


def test_small_buurten_are_shown_not_tested_not_ranked():
    y = np.array([6, 10, 12, 9, 11])
    e = np.array([8.0, 500.0, 600.0, 450.0, 550.0])  # buurt 0: 6 events on 8 addresses
    small = np.array([True, False, False, False, False])
    out = excess_test(_units(5), y, e, small=small)
    assert out.loc[0, "klein_gebied"] and not out.loc[0, "getoetst"]
    assert np.isnan(out.loc[0, "p"]) and np.isnan(out.loc[0, "q"])
    assert not out.loc[0, "verhoogd"] and pd.isna(out.loc[0, "rang"])
    assert out.loc[0, "waargenomen"] == 6 and out.loc[0, "ratio"] > 10
    # the family is the four tested buurten
    np.testing.assert_allclose(
        out.loc[1:, "q"], multipletests(out.loc[1:, "p"], method="fdr_bh")[1]
    )
    assert sorted(out["rang"].dropna().tolist()) == [1, 2, 3, 4]
    # no addresses: also not tested
    zero = excess_test(_units(3), np.array([1, 3, 4]), np.array([0.0, 100.0, 120.0]))
    assert zero.loc[0, "klein_gebied"] and np.isnan(zero.loc[0, "p"])


def test_null_buurten_are_not_verhoogd():
    """Events uniform per address over 80 buurten: no buurt verhoogd in at least 19 of 20
    seeds (BH at 5%: P(any rejection) <= 5% under the complete null)."""
    seeds_with_any = 0
    for seed in range(20):
        rng = np.random.default_rng(500 + seed)
        e = rng.integers(20, 1500, 80).astype(float)
        y = rng.multinomial(int(0.02 * e.sum()), e / e.sum())
        seeds_with_any += bool(excess_test(_units(80), y, e)["verhoogd"].any())
    assert seeds_with_any <= 1


def test_invalid_input():
    with pytest.raises(ConfigError, match="gehele"):
        excess_test(_units(2), np.array([1.5, 2.0]), np.array([10.0, 10.0]))
    with pytest.raises(ConfigError, match="lengte"):
        excess_test(_units(3), np.array([1, 2]), np.array([10.0, 10.0]))
    with pytest.raises(ConfigError, match="test"):
        excess_test(_units(2), np.array([1, 2]), np.array([10.0, 10.0]), test="binomiaal")

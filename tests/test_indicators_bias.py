"""Bias diagnostics (Spearman with a bootstrap interval) and the protected-attribute guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
from scipy import stats

from bcba.config import REFERENCE_DIR
from bcba.indicators import bias, verdicts


def test_spearman_point_matches_scipy_and_monotone_is_one():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40)
    rho, lo, hi, n = bias.spearman_bootstrap(x, y, n_boot=500, seed=1)
    assert rho == pytest.approx(stats.spearmanr(x, y).statistic) and n == 40
    assert lo < rho < hi
    rho, lo, hi, _ = bias.spearman_bootstrap(x, np.exp(x), n_boot=200)
    assert (rho, lo, hi) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))


def test_bootstrap_interval_is_the_percentile_of_resampled_spearman():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=25), rng.normal(size=25)
    _, lo, hi, _ = bias.spearman_bootstrap(x, y, n_boot=300, level=0.9, seed=7)
    # reference written differently: scipy's spearmanr on each resample, same indices
    idx = np.random.default_rng(7).integers(0, 25, (300, 25))
    boot = [stats.spearmanr(x[i], y[i]).statistic for i in idx]
    assert lo == pytest.approx(np.percentile(boot, 5))
    assert hi == pytest.approx(np.percentile(boot, 95))


def test_reading_of_the_strength():
    assert verdicts.samenhang_woord(0.62, 0.45, 0.75) == "sterke"
    assert verdicts.samenhang_woord(0.35, 0.1, 0.55) == "matige"
    assert verdicts.samenhang_woord(-0.2, -0.35, -0.02) == "zwakke"
    assert verdicts.samenhang_woord(0.4, -0.05, 0.7) == "geen aantoonbare"


def test_bias_table_by_buurt():
    codes = [f"B{i}" for i in range(30)]
    density = np.arange(30, dtype=float)
    sc = pd.DataFrame(
        {
            "buurtcode": codes * 2,
            "thema": ["drugs"] * 30 + ["omg"] * 30,
            # drugs follows density exactly; omg does not at all (a fixed permutation)
            "score": np.r_[density * 2.0, np.random.default_rng(0).permutation(30)],
        }
    )
    cov = pd.DataFrame({"buurtcode": codes, "adresdichtheid": density})
    rankable = pd.Series([True] * 29 + [False], index=codes)
    table = bias.bias_diagnostics(
        sc,
        cov,
        labels={"adresdichtheid": "adresdichtheid"},
        theme_labels={"drugs": "Drugs"},
        rankable=rankable,
        n_boot=200,
    ).set_index("thema")
    assert table.loc["drugs", "n"] == 29  # the small area is left out
    assert table.loc["drugs", "rho"] == pytest.approx(1.0)
    assert table.loc["drugs", "samenhang"] == "sterke"
    assert table.loc["drugs", "lezing"].startswith(
        "Drugs: sterke samenhang met adresdichtheid (rho 1,00; 95%-interval 1,00 tot 1,00)"
    )
    assert table.loc["drugs", "lezing"].endswith("hoe hoger de adresdichtheid, hoe hoger de score.")
    omg = table.loc["omg"]
    assert omg["rho"] == pytest.approx(stats.spearmanr(density[:29], sc["score"][30:59]).statistic)


def test_covariates_use_woz_when_cbs_gives_no_buurt_income():
    buurten = pd.DataFrame(
        {
            "buurtcode": ["A", "B"],
            "oppervlakte_land_in_ha": [100.0, 50.0],
            "gemiddelde_woningwaarde": [300.0, 500.0],
        }
    )
    kw = pd.DataFrame({"buurtcode": ["A", "B"], "kwetsbaarheid": [0.5, -0.5]})
    cov, labels = bias.bias_covariates(buurten, pd.Series({"A": 200, "B": 50}), kw)
    assert cov["adresdichtheid"].tolist() == [200.0, 100.0]
    assert cov["inkomen_welvaart"].tolist() == [300.0, 500.0]
    assert "WOZ" in labels["inkomen_welvaart"]
    assert "Barendrecht" in bias.gemeente_inkomen_tekst("GM0489")


def test_every_origin_column_of_the_cbs_buurt_layer_is_protected():
    path = REFERENCE_DIR / "cbs" / "wijkbuurtkaart_2024_riec_rotterdam.gpkg"
    fields = list(pyogrio.read_info(path, layer="buurten")["fields"])
    origin = [f for f in fields if "herkomst" in f or "geb_" in f or "migratie" in f]
    assert len(origin) >= 8  # the layer does carry them
    assert set(bias.protected_columns(fields)) == set(origin)
    assert not bias.protected_columns(["gemiddelde_woningwaarde", "percentage_huurwoningen"])
    assert set(bias.protected_columns(["percentage_personen_met_migratieachtergrond"])) == {
        "percentage_personen_met_migratieachtergrond"
    }

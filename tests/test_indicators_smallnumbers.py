"""Small numbers: empirical Bayes shrinkage, survey thresholds and the verdict words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bcba.indicators import survey, verdicts
from bcba.indicators.shrinkage import gamma_poisson_eb
from bcba.themes import INDICATORS


def test_marshall_eb_by_hand():
    # 16 events over 800 addresses: m = 0.02; rates 0, 0.02, 0.05, 0.01
    # s2 = (100 * 0.02^2 + 0 + 200 * 0.03^2 + 400 * 0.01^2) / 800 = 0.26 / 800 = 0.000325
    # n_bar = 200, m / n_bar = 0.0001 -> A = 0.000225
    fit = gamma_poisson_eb(pd.Series([0, 2, 10, 4]), [100, 100, 200, 400], level=0.9)
    assert fit.gemiddelde == pytest.approx(0.02)
    assert fit.tussenvariantie == pytest.approx(0.000225)
    t = fit.tabel
    # posterior mean (m^2 + A x) / (m + A n): area 3 = 0.00265 / 0.065, area 1 = 0.0004 / 0.0425
    # area 2: 0.00085 / 0.0425 = m exactly; area 4: 0.0013 / 0.11
    assert t["gekrompen"].tolist() == pytest.approx(
        [0.0004 / 0.0425, 0.02, 0.00265 / 0.065, 0.0013 / 0.11]
    )
    # weight of the own rate A n / (A n + m): area 3 = 0.045 / 0.065
    assert t["gewicht"].iloc[2] == pytest.approx(0.045 / 0.065)
    # interval via the chi-square form of the Gamma quantile: chi2(q, 2k) / (2 rate)
    shape, rate = 0.0004 / 0.000225 + 10, 0.02 / 0.000225 + 200
    assert t["laag"].iloc[2] == pytest.approx(stats.chi2.ppf(0.05, 2 * shape) / (2 * rate))
    assert t["hoog"].iloc[2] == pytest.approx(stats.chi2.ppf(0.95, 2 * shape) / (2 * rate))
    assert t["laag"].iloc[2] < t["gekrompen"].iloc[2] < t["hoog"].iloc[2]
    assert t["ruw"].tolist() == pytest.approx([0.0, 0.02, 0.05, 0.01])


def test_eb_without_extra_variation_shrinks_everyone_to_the_mean():
    # rates exactly proportional to exposure: s2 = 0 < m / n_bar -> A = 0
    fit = gamma_poisson_eb(pd.Series([1, 2, 4, 0]), [100, 200, 400, 0])
    assert fit.tussenvariantie == 0.0
    assert fit.tabel["gekrompen"].tolist() == pytest.approx([1 / 100] * 4)
    assert np.isnan(fit.tabel["ruw"].iloc[3])  # no addresses: no raw rate


def test_four_events_on_a_handful_of_addresses_do_not_top_the_table():
    # the reviewer's case: 4 events on 15 addresses next to buurten with hundreds
    from bcba.indicators import partners

    rng = np.random.default_rng(3)
    exposure = np.r_[15, rng.integers(300, 900, 30)]
    counts = np.r_[4, rng.poisson(exposure[1:] * 0.01)]
    fit = gamma_poisson_eb(pd.Series(counts), exposure)
    assert int(np.nanargmax(fit.tabel["ruw"].to_numpy())) == 0  # 267 per 1,000 raw
    # shrunk to about 3x the mean: 4 events where 0.16 are expected is a real excess
    # (Poisson p < 1e-4), but not 25x
    assert fit.tabel["gekrompen"].iloc[0] < fit.tabel["ruw"].iloc[0] / 5
    codes = [f"B{i}" for i in range(len(exposure))]
    events = pd.DataFrame(
        {"buurtcode": np.repeat(codes, counts), "thema_id": "drugs", "gewicht": 1.0}
    )
    units = pd.DataFrame({"gebied": codes, "inwoners": 1000.0})
    table = partners.partner_rates(
        events,
        units,
        theme_ids=["drugs"],
        adressen=pd.Series(exposure, index=codes),
        klein_gebied=pd.Series(exposure < 25, index=codes),
    ).set_index("gebied")
    assert pd.isna(table.loc["B0", "rang"])  # a small area is labelled, not ranked
    assert table["klein_gebied"].tolist() == [True] + [False] * 30
    assert table["rang"].min() == 1


def test_survey_shrinkage_by_hand():
    # respondents per buurt 0, 0, 0, 10: m = 2.5, s2 = (3 * 2.5^2 + 7.5^2) / 4 = 18.75,
    # A = 18.75 - 2.5 = 16.25; shrunk = (m^2 + A x) / (m + A)
    out = survey.shrunk_mentions(pd.Series([0.0, 0.0, 0.0, 10.0], index=list("ABCD")))
    a = 16.25
    assert out.loc["D", "verhouding"] == pytest.approx((6.25 + a * 10) / (2.5 + a) / 2.5)
    assert out.loc["A", "verhouding"] == pytest.approx(6.25 / (2.5 + a) / 2.5)
    assert out.loc["A", "verhouding"] < 1 < out.loc["D", "verhouding"] < 4.0  # raw ratio 4


def test_five_distinct_respondents_are_needed():
    def counted(respondents):
        verm = pd.DataFrame(
            {
                "respondent_id": respondents,
                "thema": "drugs",
                "gebied_niveau": "buurt",
                "gebiedcode": "B1",
            }
        )
        counts = survey.mention_counts(verm, min_n=5)
        buurten = pd.DataFrame({"buurtcode": ["B1"], "wijkcode": ["W1"]})
        return survey.mentions_per_buurt(counts, buurten)["respondenten"].sum()

    assert counted([1, 2, 3, 4, 5]) == 5
    assert counted([1, 2, 3, 4]) == 0
    assert counted([1, 1, 1, 1, 1, 1]) == 0  # one respondent naming it six times


@pytest.mark.parametrize("indicator", INDICATORS)
def test_the_average_is_never_called_high(indicator):
    for ratio in np.linspace(0.0, 1.49, 150):
        assert verdicts.verdict(indicator, float(ratio)) is None, ratio
        assert verdicts.verdict(indicator, float(ratio), 1.2) is None, ratio


def test_verdict_thresholds_and_intervals():
    assert verdicts.verdict("enquete_vermeldingen", 2.0) == "vaak genoemd"
    assert verdicts.verdict("enquete_vermeldingen", 1.99) is None
    assert verdicts.verdict("enquete_vermeldingen", 3.0) == "zeer vaak genoemd"
    # an interval that still holds the average keeps the word away
    assert verdicts.verdict("partner_per_1000_adressen", 2.5, 0.9) is None
    assert verdicts.verdict("partner_per_1000_adressen", 2.5, 1.1) == "hoog"
    assert verdicts.verdict("kansstructuur_lq", 1.5) == "oververtegenwoordigd"
    vec = verdicts.verdicts(
        pd.Series(["vlaggen_index", "vlaggen_index", "partner_per_1000_adressen"]),
        pd.Series([1.0, 2.2, 1.6]),
        pd.Series([np.nan, np.nan, 1.01]),
    )
    assert vec.tolist() == ["", "hoog", "verhoogd"]


def test_rank_text():
    assert verdicts.rang_tekst(2, 6) == "rang 2–6"
    assert verdicts.rang_tekst(1, 1) == "rang 1"
    assert verdicts.rang_tekst(pd.NA, pd.NA, klein_gebied=True) == "klein gebied"

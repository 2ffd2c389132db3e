"""Opportunity structures, survey, partner rates, vulnerability and scores on tiny frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bcba.indicators import opportunity, partners, scores, survey, vulnerability
from bcba.themes import load_themes


@pytest.fixture(scope="module")
def themes():
    return load_themes()


def test_location_quotient_exact():
    # buurt A: 2 of 4 establishments are kappers; region: 3 of 12 -> LQ = 0.5 / 0.25 = 2
    lq = opportunity.location_quotient([2, 1, 0, 0], [4, 8, 0, 5], 3, 12)
    assert lq[0] == pytest.approx(2.0)
    assert lq[1] == pytest.approx(0.5)
    assert math.isnan(lq[2])  # no establishments at all: undefined
    assert lq[3] == 0.0  # establishments, none of the category
    assert np.isnan(
        opportunity.location_quotient([1], [2], 0, 10)
    ).all()  # category absent in region
    # shrunk: (2 + 10 * 0.25) / (4 + 10) / 0.25
    assert opportunity.shrunk_location_quotient([2, 0], [4, 0], 3, 12, prior=10)[
        0
    ] == pytest.approx(4.5 / 14 / 0.25)
    assert opportunity.shrunk_location_quotient([2, 0], [4, 0], 3, 12, prior=10)[
        1
    ] == pytest.approx(1.0)


def test_opportunity_table(themes):
    vest = pd.DataFrame(
        {
            "sbi_code": ["96021", "96021", "6201", "6201", "96021", "6201"],
            "handelsnaam": ["K1", "K2", "IT", "IT", "K3", "IT"],
            "datum_inschrijving": pd.to_datetime(["2020-01-01"] * 6),
            "datum_uitschrijving": pd.to_datetime([None, None, None, None, None, "2021-01-01"]),
            "buurtcode": ["A", "A", "A", "A", "B", "B"],
        }
    )
    units = pd.DataFrame(
        {
            "gebied": ["A", "B", "C"],
            "oppervlakte_km2": [2.0, 1.0, 0.5],
            "inwoners": [1000.0, 0.0, 10.0],
        }
    )
    table = opportunity.opportunity_table(vest, units, themes=themes, peildatum="2025-12-31")
    kap = table[table["groep"] == "kapper"].set_index("gebied")
    assert kap["n"].tolist() == [2, 1, 0]
    assert kap["n_alle"].tolist() == [4, 1, 0]  # the deregistered one does not count
    # region: 3 kappers of 5 active
    assert kap.loc["A", "lq"] == pytest.approx((2 / 4) / (3 / 5))
    assert kap.loc["B", "lq"] == pytest.approx((1 / 1) / (3 / 5))
    assert math.isnan(kap.loc["C", "lq"])
    assert kap.loc["A", "dichtheid_km2"] == 1.0 and kap.loc["A", "per_1000_inw"] == 2.0
    assert math.isnan(kap.loc["B", "per_1000_inw"])  # nobody lives there
    by_theme = opportunity.opportunity_table(
        vest, units, themes=themes, by="thema", peildatum="2025-12-31"
    )
    assert set(by_theme["groep"]) == set(themes.themas)


def test_perception_ci_and_suppression():
    perc = pd.DataFrame(
        {
            "respondent_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "afdeling": ["V"] * 5 + ["W"] * 4,
            "thema": ["drugs"] * 5 + ["omg"] * 4,
            "score": [1, 2, 3, 4, 5, 3, 3, 3, 3],
        }
    )
    out = survey.perception_summary(perc, min_n=5).set_index("thema")
    assert out.loc["drugs", "n"] == 5 and out.loc["drugs", "gemiddelde"] == 3.0
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * sd / sqrt(n)
    assert out.loc["drugs", "ci_laag"] == pytest.approx(3 - half)
    assert out.loc["drugs", "ci_hoog"] == pytest.approx(3 + half)
    assert not out.loc["drugs", "onderdrukt"]
    assert out.loc["omg", "onderdrukt"] and math.isnan(out.loc["omg", "gemiddelde"])  # n = 4 < 5
    assert out.loc["omg", "wijkcode"] == "gemeente"
    afd = survey.responses_per_department(perc, min_n=5).set_index("afdeling")
    assert afd.loc["V", "respondenten"] == 5 and afd.loc["W", "onderdrukt"]
    assert math.isnan(afd.loc["W", "respondenten"])


def test_mentions_per_buurt_spreads_wijk_mentions():
    verm = pd.DataFrame(
        {
            "respondent_id": [1, 2, 3],
            "thema": ["drugs"] * 3,
            "gebied_niveau": ["buurt", "wijk", "wijk"],
            "gebiedcode": ["B1", "W1", "W1"],
        }
    )
    counts = survey.mention_counts(verm, min_n=5)
    assert counts["onderdrukt"].all() and counts["vermeldingen_rapport"].isna().all()
    buurten = pd.DataFrame({"buurtcode": ["B1", "B2"], "wijkcode": ["W1", "W1"]})
    per = survey.mentions_per_buurt(counts, buurten).set_index("buurtcode")["vermeldingen"]
    assert per.to_dict() == {"B1": 2.0, "B2": 1.0}


def test_partner_rates_weighted_and_mapped(themes):
    events = pd.DataFrame(
        {
            "bron": ["politie"] * 4,
            "thema": ["drugs", "overig", "drugs", "drugs"],
            "soort": ["", "hennepkwekerij", "", ""],
            "gewicht": [1.0, 0.5, 2.0, 1.0],
            "datum": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-01", "2023-05-01"]),
            "buurtcode": ["A", "A", "B", "A"],
        }
    )
    ev = partners.events_by_theme(events, themes, periode=("2024-01-01", "2025-12-31"))
    units = pd.DataFrame({"gebied": ["A", "B"], "inwoners": [500.0, 0.0]})
    rates = partners.partner_rates(ev, units, theme_ids=list(themes.themas)).set_index(
        ["gebied", "thema"]
    )
    assert (
        rates.loc[("A", "drugs"), "gewogen"] == 1.5 and rates.loc[("A", "drugs"), "meldingen"] == 2
    )
    assert rates.loc[("A", "drugs"), "per_1000_inw"] == 3.0
    assert math.isnan(rates.loc[("B", "drugs"), "per_1000_inw"])
    # shrinkage: (c + k R) / (d + k) * 1000 with R = 3.5 / 500
    sr = partners.shrunk_rate([1.5, 2.0], [500.0, 0.0], prior=500)
    assert sr[1] == pytest.approx((2.0 + 500 * 3.5 / 500) / (0 + 500) * 1000)


def test_robust_z_exact_and_fallback():
    z = scores.robust_z(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0]), clip=3.0)
    # median 3, MAD 1 -> scale 1.4826
    assert z.iloc[0] == pytest.approx(-2 / 1.4826)
    assert z.iloc[4] == 3.0  # clipped
    sparse = scores.robust_z(pd.Series([0.0, 0.0, 0.0, 4.0, np.nan]), clip=None)
    # MAD = 0: scale = 1.2533 * mean(|x - 0|) = 1.2533 * 1
    assert sparse.iloc[3] == pytest.approx(4 / 1.2533) and math.isnan(sparse.iloc[4])
    assert (scores.robust_z(pd.Series([5.0, 5.0])) == 0).all()


def test_composite_score_decomposition_sums_exactly(themes):
    codes = ["B1", "B2", "B3", "B4", "B5"]
    rows = []
    values = {
        "kansstructuur_lq": [1.0, 2.0, 3.0, 4.0, 10.0],
        "vlaggen_index": [0.0, 0.0, 0.0, 5.0, 1.0],
        "kwetsbaarheid": [np.nan, 0.1, 0.2, -0.5, 0.3],
    }
    for tid in themes.themas:
        for ind, vals in values.items():
            rows.append(
                pd.DataFrame({"buurtcode": codes, "thema": tid, "indicator": ind, "waarde": vals})
            )
    table = pd.concat(rows, ignore_index=True)
    sc, contrib = scores.composite_scores(table, themes, clip=3.0, transforms={})
    summed = contrib.groupby(["buurtcode", "thema"])["bijdrage"].sum()
    assert (
        sc.set_index(["buurtcode", "thema"])["score"]
        == summed.reindex(sc.set_index(["buurtcode", "thema"]).index)
    ).all()
    # by hand for B4, drugs: w_lq * z_lq + w_flags * z_flags + w_kw * z_kw
    w = themes.weights("drugs")
    z_lq = (4 - 3) / 1.4826
    z_fl = min(5 / (1.2533 * 6 / 5), 3.0)  # MAD 0 -> mean abs dev 1.2
    kw = pd.Series([0.1, 0.2, -0.5, 0.3])  # NaN left out; median 0.15, MAD 0.1
    z_kw = max((-0.5 - kw.median()) / (1.4826 * (kw - kw.median()).abs().median()), -3.0)
    expected = w["kansstructuur_lq"] * z_lq + w["vlaggen_index"] * z_fl + w["kwetsbaarheid"] * z_kw
    got = sc[(sc["buurtcode"] == "B4") & (sc["thema"] == "drugs")]["score"].iloc[0]
    assert got == pytest.approx(expected, abs=1e-12)
    # missing value -> z 0, bijdrage 0
    miss = contrib[(contrib["buurtcode"] == "B1") & (contrib["indicator"] == "kwetsbaarheid")]
    assert (miss["z"] == 0).all()
    # overall = mean of theme scores, and its contributions sum to it
    tot = sc[sc["thema"] == "totaal"].set_index("buurtcode")["score"]
    mean_themes = sc[sc["thema"] != "totaal"].groupby("buurtcode")["score"].mean()
    assert np.allclose(tot.sort_index(), mean_themes.sort_index(), atol=1e-12)
    # the default transforms standardise log(LQ): B4's LQ 4 against median 3
    _, logged = scores.composite_scores(table, themes, clip=3.0)
    lq = logged[
        (logged["buurtcode"] == "B4")
        & (logged["thema"] == "drugs")
        & (logged["indicator"] == "kansstructuur_lq")
    ]
    logs = np.log([1.0, 2.0, 3.0, 4.0, 10.0])
    mad = np.median(np.abs(logs - np.log(3.0)))
    assert lq["z"].iloc[0] == pytest.approx((np.log(4.0) - np.log(3.0)) / (1.4826 * mad))
    assert lq["waarde"].iloc[0] == 4.0  # the raw value is reported
    s2 = logged.groupby(["buurtcode", "thema"])["bijdrage"].sum()
    sc2 = scores.composite_scores(table, themes, clip=3.0)[0].set_index(["buurtcode", "thema"])[
        "score"
    ]
    assert (sc2 == s2.reindex(sc2.index)).all()
    drugs = sc[sc["thema"] == "drugs"].set_index("buurtcode")
    order = drugs["score"].sort_values(ascending=False).index.tolist()
    assert drugs.loc[order, "rang"].tolist() == [1, 2, 3, 4, 5]
    assert drugs.loc[order, "percentiel"].tolist() == [100.0, 80.0, 60.0, 40.0, 20.0]


def test_explain_in_dutch(themes):
    ind = pd.DataFrame(
        {
            "buurtcode": ["B1", "B2", "B3"] * 2,
            "thema": "drugs",
            "indicator": ["vlaggen_index"] * 3 + ["partner_per_1000_adressen"] * 3,
            "waarde": [1.0, 1.2, 3.2, 3.0, 3.0, 1.0],
            "referentie": [1.0] * 3 + [2.5] * 3,
            "detail": ["", "", "vooral: recent ingeschreven in een risicobranche", "", "", ""],
        }
    )
    _, contrib = scores.composite_scores(ind, themes)
    sentences = scores.explain_contributions(contrib, "B3", "drugs", top=3)
    assert sentences == [
        "Veel risicosignalen uit KvK/Kadaster (vooral: recent ingeschreven in een risicobranche) "
        "(gemiddeld 3,2× regio per 1.000 adressen)"
    ]
    # all buurten at once: the same sentences, largest contribution first
    every = scores.explain_top_contributions(contrib, "drugs", top=1)
    assert every["B3"] == sentences
    assert set(every) == {"B1", "B2", "B3"} - {
        code for code in ("B1", "B2") if not scores.explain_contributions(contrib, code, "drugs")
    }
    for code, found in every.items():
        assert found == scores.explain_contributions(contrib, code, "drugs", top=1)
    assert scores.explain_top_contributions(contrib, "omg") == {}


def test_vulnerability_handles_missing():
    buurten = pd.DataFrame(
        {
            "buurtcode": ["A", "B", "C", "D"],
            "aantal_inwoners": [1000, 1000, 1000, 0],
            "percentage_huurwoningen": [10.0, 50.0, 30.0, np.nan],
            "aantal_personen_met_een_alg_bijstandsuitkering_tot": [10.0, 40.0, 20.0, np.nan],
            "gemiddelde_woningwaarde": [500.0, 200.0, 300.0, np.nan],
            "percentage_onbewoond": [2.0, 4.0, 3.0, np.nan],
        }
    )
    out = vulnerability.vulnerability(buurten).set_index("buurtcode")
    assert (
        out.loc["B", "kwetsbaarheid"]
        > out.loc["C", "kwetsbaarheid"]
        > out.loc["A", "kwetsbaarheid"]
    )
    assert math.isnan(out.loc["D", "kwetsbaarheid"]) and out.loc["D", "n_componenten"] == 0
    assert out.loc["B", "z_woningwaarde"] > 0  # low value -> vulnerable
    report = vulnerability.missing_report(out.reset_index()).set_index("indicator")
    assert (
        report.loc["kwetsbaarheid", "ontbrekend"] == 1
        and report.loc["ao_ww_per_1000", "ontbrekend"] == 4
    )

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
    ).set_index(["groep", "gebied"])
    assert set(by_theme.index.get_level_values("groep")) == {*themes.themas, "totaal"}
    # a kapper belongs to mensenhandel and kwetsbare_branches; in the total it counts once:
    # buurt A has 2 kappers and 2 IT firms (no category) -> 2 of 4; region 3 of 5
    assert by_theme.loc[("mensenhandel", "A"), "n"] == 2
    assert by_theme.loc[("kwetsbare_branches", "A"), "n"] == 2
    assert by_theme.loc[("totaal", "A"), "n"] == 2
    assert by_theme.loc[("totaal", "A"), "lq"] == pytest.approx((2 / 4) / (3 / 5))


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


def test_mentions_count_distinct_respondents_of_unsuppressed_areas_only():
    # B1: 5 distinct respondents (one of them twice); W1: 6 respondents; B2: 1 respondent
    verm = pd.DataFrame(
        {
            "respondent_id": [1, 2, 3, 4, 5, 5] + [1, 2, 3, 4, 5, 6] + [9],
            "thema": ["drugs"] * 13,
            "gebied_niveau": ["buurt"] * 6 + ["wijk"] * 6 + ["buurt"],
            "gebiedcode": ["B1"] * 6 + ["W1"] * 6 + ["B2"],
        }
    )
    counts = survey.mention_counts(verm, min_n=5, met_totaal=True).set_index(
        ["thema", "gebiedcode"]
    )
    assert counts.loc[("drugs", "B1"), "respondenten"] == 5
    assert counts.loc[("drugs", "B1"), "vermeldingen_rapport"] == 6
    assert counts.loc[("drugs", "B2"), "onderdrukt"]
    assert math.isnan(counts.loc[("drugs", "B2"), "vermeldingen_rapport"])
    assert counts.loc[("totaal", "W1"), "respondenten"] == 6
    buurten = pd.DataFrame({"buurtcode": ["B1", "B2", "B3"], "wijkcode": ["W1", "W1", "W1"]})
    per = survey.mentions_per_buurt(counts.reset_index(), buurten)
    per = per[per["thema"] == "drugs"].set_index("buurtcode")["respondenten"]
    # B1: 5 direct + 6 / 3 via the wijk; B2's single respondent does not count
    assert per.to_dict() == {"B1": 7.0, "B2": 2.0, "B3": 2.0}


def test_a_single_mention_is_never_counted_or_reported():
    verm = pd.DataFrame(
        {"respondent_id": [7], "thema": ["drugs"], "gebied_niveau": ["buurt"], "gebiedcode": ["B1"]}
    )
    counts = survey.mention_counts(verm, min_n=5)
    assert counts["onderdrukt"].all() and counts["vermeldingen_rapport"].isna().all()
    buurten = pd.DataFrame({"buurtcode": ["B1", "B2"], "wijkcode": ["W1", "W1"]})
    assert survey.mentions_per_buurt(counts, buurten).empty
    shrunk = survey.shrunk_mentions(pd.Series([0.0, 0.0], index=["B1", "B2"]))
    assert shrunk["verhouding"].tolist() == [1.0, 1.0]


def test_partner_event_counts_for_one_theme_and_rates_are_shrunk(themes):
    events = pd.DataFrame(
        {
            "bron": ["politie"] * 5,
            # drugs by its thema although its soort belongs to bedrijventerreinen; the second
            # has no thema, so its soort (hennepkwekerij -> drugs) decides; the last is a
            # partner category mapped to 'overig' (no theme), whatever its soort
            "thema": ["drugs", None, "drugs", "drugs", "overig"],
            "soort": ["opslagbox", "hennepkwekerij", "", "", "hennepkwekerij"],
            "gewicht": [1.0, 0.5, 2.0, 1.0, 1.0],
            "datum": pd.to_datetime(["2024-05-01"] * 3 + ["2023-05-01", "2024-05-01"]),
            "buurtcode": ["A", "A", "B", "A", "A"],
        }
    )
    ev = partners.events_by_theme(events, themes, periode=("2024-01-01", "2025-12-31"))
    assert ev["thema_id"].tolist() == ["drugs", "drugs", "drugs"]  # old and unmatched dropped
    units = pd.DataFrame({"gebied": ["A", "B"], "inwoners": [500.0, 0.0]})
    rates = partners.partner_rates(
        ev,
        units,
        theme_ids=list(themes.themas),
        adressen=pd.Series({"A": 100, "B": 300}),
        klein_gebied=pd.Series({"A": False, "B": True}),
    ).set_index(["gebied", "thema"])
    a = rates.loc[("A", "drugs")]
    assert a["gewogen"] == 1.5 and a["meldingen"] == 2 and a["per_1000_inw"] == 3.0
    assert rates.loc[("A", "bedrijventerreinen"), "meldingen"] == 0
    assert math.isnan(rates.loc[("B", "drugs"), "per_1000_inw"])
    assert a["per_1000_adressen"] == 15.0
    # by hand: m = 3.5 / 400; rates 0.015 and 2/300; s2 = (100 (0.015 - m)^2 + 300 (2/300 - m)^2)
    # / 400; A = s2 - m / 200 < 0 -> no variation beyond chance: both shrink to m
    m = 3.5 / 400
    s2 = (100 * (0.015 - m) ** 2 + 300 * (2 / 300 - m) ** 2) / 400
    assert s2 - m / 200 < 0
    assert a["per_1000_adressen_gekrompen"] == pytest.approx(m * 1000)
    assert a["interval_laag"] == a["interval_hoog"] == pytest.approx(m * 1000)
    assert a["oordeel"] == "" and a["rang"] == 1
    assert pd.isna(rates.loc[("B", "drugs"), "rang"])  # small area: no rank


def test_robust_z_exact_and_fallback():
    z = scores.robust_z(pd.Series([1.0, 2.0, 3.0, 4.0, 100.0]), clip=3.0)
    # median 3, MAD 1 -> scale 1.4826
    assert z.iloc[0] == pytest.approx(-2 / 1.4826)
    assert z.iloc[4] == 3.0  # clipped
    sparse = scores.robust_z(pd.Series([0.0, 0.0, 0.0, 4.0, np.nan]), clip=None)
    # MAD = 0: scale = 1.2533 * mean(|x - 0|) = 1.2533 * 1
    assert sparse.iloc[3] == pytest.approx(4 / 1.2533) and math.isnan(sparse.iloc[4])
    assert (scores.robust_z(pd.Series([5.0, 5.0])) == 0).all()


def test_composite_score_by_hand_and_total_from_its_own_rows(themes):
    codes = ["B1", "B2", "B3", "B4", "B5"]
    rows = []
    values = {
        "kansstructuur_lq": [1.0, 2.0, 3.0, 4.0, 10.0],
        "vlaggen_index": [0.0, 0.0, 0.0, 5.0, 1.0],
        "enquete_vermeldingen": [np.nan, 0.1, 0.2, -0.5, 0.3],
    }
    for tid in [*themes.themas, "totaal"]:
        for ind, vals in values.items():
            factor = 2.0 if tid == "totaal" else 1.0
            rows.append(
                pd.DataFrame(
                    {
                        "buurtcode": codes,
                        "thema": tid,
                        "indicator": ind,
                        "waarde": [v * factor for v in vals],
                    }
                )
            )
    table = pd.concat(rows, ignore_index=True)
    rankable = pd.Series([True, True, True, True, False], index=codes)
    sc, contrib = scores.composite_scores(table, themes, clip=3.0, transforms={}, rankable=rankable)
    # by hand for B4, drugs: w_lq * z_lq + w_flags * z_flags + w_survey * z_survey
    w = themes.weights("drugs")
    z_lq = (4 - 3) / 1.4826
    z_fl = min(5 / (1.2533 * 6 / 5), 3.0)  # MAD 0 -> mean abs dev 1.2
    sv = pd.Series([0.1, 0.2, -0.5, 0.3])  # NaN left out; median 0.15, MAD 0.1
    z_sv = max((-0.5 - sv.median()) / (1.4826 * (sv - sv.median()).abs().median()), -3.0)
    expected = (
        w["kansstructuur_lq"] * z_lq + w["vlaggen_index"] * z_fl + w["enquete_vermeldingen"] * z_sv
    )
    got = sc[(sc["buurtcode"] == "B4") & (sc["thema"] == "drugs")]["score"].iloc[0]
    assert got == pytest.approx(expected, abs=1e-12)
    # missing value -> z 0, bijdrage 0
    miss = contrib[
        (contrib["buurtcode"] == "B1") & (contrib["indicator"] == "enquete_vermeldingen")
    ]
    assert (miss["z"] == 0).all()
    # the total is scored from its own rows (values doubled: the z-scores are scale-free),
    # with the default weights -- not from the theme scores
    tot = sc[(sc["buurtcode"] == "B4") & (sc["thema"] == "totaal")]["score"].iloc[0]
    d = themes.standaard_gewichten
    assert tot == pytest.approx(
        d["kansstructuur_lq"] * (8 - 6) / (1.4826 * 2)
        + d["vlaggen_index"] * z_fl
        + d["enquete_vermeldingen"] * z_sv,
        abs=1e-12,
    )
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
    # ranks and percentiles among the rankable buurten only; B5 has a score but no rank
    drugs = sc[sc["thema"] == "drugs"].set_index("buurtcode")
    assert pd.isna(drugs.loc["B5", "rang"]) and pd.isna(drugs.loc["B5", "percentiel"])
    order = drugs.loc[["B1", "B2", "B3", "B4"], "score"].sort_values(ascending=False).index
    assert drugs.loc[order, "rang"].tolist() == [1, 2, 3, 4]
    assert drugs.loc[order, "percentiel"].tolist() == [100.0, 75.0, 50.0, 25.0]


def test_explain_in_dutch_only_above_the_verdict_thresholds(themes):
    ind = pd.DataFrame(
        {
            "buurtcode": ["B1", "B2", "B3"] * 2,
            "thema": "drugs",
            "indicator": ["vlaggen_index"] * 3 + ["partner_per_1000_adressen"] * 3,
            "waarde": [1.0, 1.2, 3.2, 3.0, 2.6, 1.0],
            "referentie": [1.0] * 3 + [2.5] * 3,
            "ondergrens": [np.nan] * 3 + [2.6, 2.0, 0.5],
            "detail": ["", "", "vooral: recent ingeschreven in een risicobranche", "", "", ""],
        }
    )
    _, contrib = scores.composite_scores(ind, themes)
    sentences = scores.explain_contributions(contrib, "B3", "drugs", top=3)
    assert sentences == [
        "Risicosignalen uit KvK/Kadaster hoog (vooral: recent ingeschreven in een risicobranche) "
        "(gemiddeld 3,2× de gemeente per 1.000 adressen)"
    ]
    # B1: partner rate 1,2× the municipality -- above the median, so a positive
    # contribution, but below every threshold: no word, no sentence
    assert (
        contrib.set_index(["buurtcode", "indicator"]).loc[
            ("B1", "partner_per_1000_adressen"), "bijdrage"
        ]
        > 0
    )
    assert scores.explain_contributions(contrib, "B1", "drugs") == []
    every = scores.explain_top_contributions(contrib, "drugs", top=1)
    assert every == {"B3": sentences}
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


def test_vulnerability_is_no_term_of_any_score(themes):
    assert "kwetsbaarheid" not in themes.standaard_gewichten
    assert all("kwetsbaarheid" not in themes.weights(t) for t in [*themes.themas, "totaal"])
    ind = pd.DataFrame(
        {
            "buurtcode": ["A", "B", "C"],
            "thema": "drugs",
            "indicator": "kwetsbaarheid",
            "waarde": [0.0, 1.0, 9.0],
        }
    )
    sc, contrib = scores.composite_scores(ind, themes)
    assert (contrib["gewicht"] == 0).all() and (sc["score"] == 0).all()

"""Risk locations, signals and the orchestrator on a tiny fake ``Inputs``."""

from __future__ import annotations

import datetime as dt
import math
import os
import stat
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box

from bcba.indicators import IndicatorConfig, compute_indicators, to_geopackage, write_results
from bcba.indicators.signals import build_signals, risk_locations
from bcba.io import read_csv
from bcba.themes import load_themes

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
CRS = "EPSG:28992"


def _points(n, x0=90050):
    return [Point(x0 + 10 * i, 430050) for i in range(n)]


@pytest.fixture(scope="module")
def inputs():
    buurten = gpd.GeoDataFrame(
        {
            "buurtcode": ["BU1", "BU2", "BU3"],
            "buurtnaam": ["Een", "Twee", "Drie"],
            "wijkcode": ["WK1", "WK1", "WK2"],
            "aantal_inwoners": [1000, 2000, 10],
            "oppervlakte_land_in_ha": [100, 200, 50],
            "percentage_huurwoningen": [20.0, 60.0, None],
            "gemiddelde_woningwaarde": [400.0, 250.0, None],
        },
        geometry=[
            box(90000, 430000, 91000, 431000),
            box(91000, 430000, 92000, 431000),
            box(92000, 430000, 93000, 431000),
        ],
        crs=CRS,
    )
    cellen = gpd.GeoDataFrame(
        {"cel_id": ["E0900N4300", "E0910N4300"], "aantal_inwoners": [50.0, None]},
        geometry=[box(90000, 430000, 90100, 430100), box(91000, 430000, 91100, 430100)],
        crs=CRS,
    )
    loc = {
        "adres_sleutel": "1111AA|1||",
        "buurtcode": "BU1",
        "wijkcode": "WK1",
        "cel_id": "E0900N4300",
    }
    vest = gpd.GeoDataFrame(
        {
            "kvk_nummer": [f"{20000000 + i}" for i in range(10)],
            "vestigingsnummer": [f"{200000000000 + i}" for i in range(10)],
            "handelsnaam": ["Shisha Lounge"] + ["Holding"] * 9,
            "sbi_code": ["56301"] + ["6420"] * 9,
            "datum_inschrijving": pd.to_datetime(["2025-06-01"] + ["2021-01-01"] * 9),
            "datum_uitschrijving": pd.NaT,
            "werkzame_personen": 1,
            "adres_id": "HOT",
            **loc,
        },
        geometry=[Point(90050, 430050)] * 10,
        crs=CRS,
    )
    bag = gpd.GeoDataFrame(
        {
            "adres_id": ["HOT", "B2a", "B2b", "B3a"],
            "gebruiksdoel": ["kantoorfunctie", "woonfunctie", "woonfunctie", "woonfunctie"],
            "buurtcode": ["BU1", "BU2", "BU2", "BU3"],
        },
        geometry=_points(4),
        crs=CRS,
    )
    kad = gpd.GeoDataFrame(
        {
            "transactie_id": ["T1"],
            "datum": pd.to_datetime(["2025-03-01"]),
            "koopsom": [800000.0],
            "woz_waarde": [700000.0],
            "hypotheek": [False],
            "koper_id": ["P-aaaaaaaaaaaa"],
            "koper_type": ["natuurlijk_persoon"],
            "koper_kvk_nummer": [None],
            "adres_id": ["HOT"],
            **{k: [v] for k, v in loc.items()},
        },
        geometry=[Point(90050, 430050)],
        crs=CRS,
    )
    part = gpd.GeoDataFrame(
        {
            "bron": ["politie", "gemeente"],
            "thema": ["drugs", "drugs"],
            "soort": ["", ""],
            "gewicht": [1.0, 1.0],
            "datum": pd.to_datetime(["2024-05-01", "2024-06-01"]),
            "adres_id": ["HOT", None],
            "adres_sleutel": [loc["adres_sleutel"], None],
            "buurtcode": ["BU1", "BU2"],
            "wijkcode": ["WK1", "WK1"],
            "cel_id": ["E0900N4300", None],
        },
        geometry=[Point(90050, 430050), Point(91500, 430500)],
        crs=CRS,
    )
    enquete = SimpleNamespace(
        percepties=pd.DataFrame(
            {
                "respondent_id": range(6),
                "afdeling": "Veiligheid",
                "thema": "drugs",
                "score": [3, 4, 4, 5, 2, 3],
            }
        ),
        vermeldingen=pd.DataFrame(
            {
                "respondent_id": [0, 1],
                "thema": "drugs",
                "gebied_niveau": "wijk",
                "gebiedcode": "WK1",
            }
        ),
        signalen=gpd.GeoDataFrame(
            {"respondent_id": [0], "thema": ["drugs"], "adres_id": ["HOT"]},
            geometry=[Point(90050, 430050)],
            crs=CRS,
        ),
    )
    return SimpleNamespace(
        area=SimpleNamespace(buurten=buurten, cellen=cellen),
        bag=bag,
        kvk_vestigingen=vest,
        kvk_functionarissen=None,
        kadaster=kad,
        partners=part,
        enquete=enquete,
        periode=PERIODE,
    )


#: BU1 and BU3 have one BAG address, BU2 two: with this threshold only BU2 is ranked
SMALL = IndicatorConfig(klein_gebied_adressen=2)


@pytest.fixture(scope="module")
def results(inputs):
    return compute_indicators(inputs, config=SMALL)


def test_risk_location_combines_flags(results):
    risk = results.risicolocaties
    assert risk["adres_id"].tolist() == ["HOT"]
    row = risk.iloc[0]
    assert row["flag_ids"] == "KAD_ZONDER_HYPOTHEEK;KVK_NIEUW_RISICOBRANCHE;KVK_VEEL_INSCHRIJVINGEN"
    assert row["n_flags"] == 3 and row["buurtcode"] == "BU1" and row["cel_id"] == "E0900N4300"
    assert "KVK_VEEL_INSCHRIJVINGEN: 10 actieve inschrijvingen op dit adres" in row["bewijs"]
    # KAD_ZONDER_HYPOTHEEK feeds vastgoed_witwassen only; no flag here feeds drugs
    assert row["themas"].split(";") == [
        "bedrijventerreinen",
        "kwetsbare_branches",
        "vastgoed_witwassen",
    ]


def test_signal_priority_and_owner(results):
    sig = results.signalen
    assert len(sig) == 1
    row = sig.iloc[0]
    # 3 flag ids + 1 partner + survey = 5 indications from 4 sources
    assert row["indicaties"] == 5 and row["prioriteit"] == "hoog"
    assert row["bronnen"] == "kvk;kadaster;partners;enquete"
    assert row["eigenaar"] == "RIEC-intake"  # property flag and police events
    assert (
        row["signaal_id"].startswith("SIG-")
        and "partners: 1 melding(en) van politie" in row["bewijs"]
    )


def test_address_signal_for_local_follow_up_goes_to_gemeente():
    flags = gpd.GeoDataFrame(
        {
            "flag_id": ["KVK_VEEL_INSCHRIJVINGEN", "KVK_VERLOOP_ADRES"],
            "bron": "kvk",
            "omschrijving": "x",
            "entiteit_type": "adres",
            "entiteit_id": "A",
            "kvk_nummer": None,
            "vestigingsnummer": None,
            "persoon_id": None,
            "transactie_id": None,
            "adres_id": "A",
            "adres_sleutel": None,
            "buurtcode": "BU1",
            "wijkcode": "WK1",
            "cel_id": "C",
            "datum": pd.NaT,
            "bewijs": ["a", "b"],
            "themas": "bedrijventerreinen",
        },
        geometry=[Point(1, 1)] * 2,
        crs=CRS,
    )
    sig = build_signals(flags, risk_locations(flags))
    assert sig[["prioriteit", "eigenaar", "indicaties"]].values.tolist() == [
        ["laag", "gemeente", 2]
    ]


def test_person_signal_uses_pseudonym_only():
    flags = gpd.GeoDataFrame(
        {
            "flag_id": ["KVK_FUNCTIONARIS_VEEL", "KAD_VEEL_AANKOPEN"],
            "bron": ["kvk", "kadaster"],
            "omschrijving": "x",
            "entiteit_type": ["persoon", "koper"],
            "entiteit_id": "P-1",
            "kvk_nummer": None,
            "vestigingsnummer": None,
            "persoon_id": "P-1",
            "transactie_id": None,
            "adres_id": [None, "Z"],
            "adres_sleutel": None,
            "buurtcode": "BU1",
            "wijkcode": "WK1",
            "cel_id": "C",
            "datum": pd.NaT,
            "bewijs": ["a", "b"],
            "themas": "vastgoed_witwassen",
        },
        geometry=[None, Point(1, 1)],
        crs=CRS,
    )
    risk = risk_locations(flags)
    assert risk["adres_id"].tolist() == ["Z"]  # the person-level flag is not pinned on an address
    sig = build_signals(flags, risk)
    person = sig[sig["soort"] == "persoon"].iloc[0]
    assert (
        person["entiteit_id"] == "P-1"
        and person["prioriteit"] == "middel"
        and person["eigenaar"] == "RIEC-intake"
    )


def test_scores_by_hand_small_areas_and_explanation(results):
    sb = results.scores_buurt.set_index("buurtcode")
    assert sb.crs == CRS and set(sb.index) == {"BU1", "BU2", "BU3"}
    assert sb["klein_gebied"].to_dict() == {"BU1": True, "BU2": False, "BU3": True}
    # small areas keep a score but get no rank; the text says so
    assert pd.isna(sb.loc["BU1", "rang_vastgoed_witwassen"])
    assert sb.loc["BU1", "rang_vastgoed_witwassen_tekst"] == "klein gebied"
    assert sb.loc["BU2", "rang_vastgoed_witwassen"] == 1
    assert sb.loc["BU2", "rang_vastgoed_witwassen_tekst"] == "rang 1"
    # vastgoed_witwassen for BU1 by hand. All establishments are in BU1, so every shrunk LQ
    # is 1 (z 0); there are no vastgoed events (z 0) and the two survey mentions are below 5
    # respondents (not counted, z 0). Flags: one KAD_ZONDER_HYPOTHEEK and one
    # KVK_VEEL_INSCHRIJVINGEN in BU1; addresses 1, 2, 1. Per type (n + 2) / (E + 2) with
    # E = addresses / 4: BU1 3 / 2.25, BU2 2 / 2.5, BU3 2 / 2.25 -> log -> robust z:
    # median log(2 / 2.25), MAD = log(2.5 / 2.25), z(BU1) = log(1.5) / (1.4826 * MAD)
    flags = results.flags
    assert sorted(flags.loc[flags["buurtcode"] == "BU1", "flag_id"]) == [
        "KAD_ZONDER_HYPOTHEEK",
        "KVK_NIEUW_RISICOBRANCHE",
        "KVK_VEEL_INSCHRIJVINGEN",
    ]
    z_bu1 = math.log(1.5) / (1.4826 * math.log(2.5 / 2.25))
    themes = load_themes()
    assert sb.loc["BU1", "score_vastgoed_witwassen"] == pytest.approx(
        themes.weights("vastgoed_witwassen")["vlaggen_index"] * z_bu1, abs=1e-9
    )
    # a flag index of 1,3x the municipality is above average but not "verhoogd": no sentence
    assert results.explain("BU1", "vastgoed_witwassen") == []
    survey = results.indicatoren[results.indicatoren["indicator"] == "enquete_vermeldingen"]
    assert (survey["waarde"] == 1.0).all()  # 2 respondents < 5: nothing counted
    assert not any("enquête" in s for t in themes.themas for s in results.explain("BU2", t))
    # the vulnerability index is context in the table, no term of the score
    assert "kwetsbaarheid" in sb and "kwetsbaarheid" not in set(results.bijdragen["indicator"])


def test_rank_interval_columns(results):
    sb = results.scores_buurt
    for thema in [*results.themes.themas, "totaal"]:
        for col in (f"rang_{thema}_laag", f"rang_{thema}_hoog", f"rang_{thema}_tekst"):
            assert col in sb
        ranked = sb[~sb["klein_gebied"]]
        assert (ranked[f"rang_{thema}_laag"] <= ranked[f"rang_{thema}"]).all()
        assert (ranked[f"rang_{thema}"] <= ranked[f"rang_{thema}_hoog"]).all()
    # bcba.monitoring reads every score_<x> column as a theme: no other score_ columns
    assert {c for c in sb.columns if c.startswith("score_")} == {
        f"score_{t}" for t in [*results.themes.themas, "totaal"]
    }


def test_shared_flag_counts_once_in_the_total(inputs, tmp_path):
    """One flag type mapped to four themes: each theme sees it, the total counts it once."""
    four = tmp_path / "vier.yaml"
    four.write_text(
        "themas:\n"
        "  drugs: {vlaggen: [KAD_ZONDER_HYPOTHEEK]}\n"
        "  omg: {vlaggen: [KAD_ZONDER_HYPOTHEEK]}\n"
        "  recreatieparken: {vlaggen: [KAD_ZONDER_HYPOTHEEK]}\n"
        "  vastgoed_witwassen: {vlaggen: [KAD_ZONDER_HYPOTHEEK]}\n"
        "  mensenhandel: {vlaggen: []}\n"
        "  kwetsbare_branches: {vlaggen: []}\n"
        "  bedrijventerreinen: {vlaggen: []}\n",
        encoding="utf-8",
    )
    one = tmp_path / "een.yaml"
    one.write_text(four.read_text(encoding="utf-8").replace("[KAD_ZONDER_HYPOTHEEK]", "[]", 3))
    r4 = compute_indicators(inputs, themes=load_themes(four), config=SMALL)
    r1 = compute_indicators(inputs, themes=load_themes(one), config=SMALL)
    s4 = r4.scores_buurt.set_index("buurtcode")
    s1 = r1.scores_buurt.set_index("buurtcode")
    # the flag raises all four theme scores of BU1 ...
    for thema in ("drugs", "omg", "recreatieparken", "vastgoed_witwassen"):
        assert s4.loc["BU1", f"score_{thema}"] > 0
    # ... but the total is the same as with the flag in one theme: by hand, one flag type,
    # one flag in BU1: (1 + 2) / (1/4 + 2), z as in the theme test above, weight 1.5
    assert s4["score_totaal"].to_dict() == pytest.approx(s1["score_totaal"].to_dict())
    z_bu1 = math.log(1.5) / (1.4826 * math.log(2.5 / 2.25))
    assert s4.loc["BU1", "score_totaal"] == pytest.approx(1.5 * z_bu1, abs=1e-9)
    # a mean (or sum) of theme scores would have counted it four times
    theme_mean = s4.loc["BU1", [f"score_{t}" for t in r4.themes.themas]].mean()
    assert s4.loc["BU1", "score_totaal"] != pytest.approx(theme_mean)


def test_no_origin_attribute_enters_any_output(inputs, results, tmp_path):
    """CBS origin columns in the buurt layer change nothing and appear nowhere."""
    buurten = inputs.area.buurten.copy()
    buurten["percentage_met_herkomstland_buiten_europa"] = [90.0, 5.0, 40.0]
    buurten["percentage_personen_met_migratieachtergrond"] = [80.0, 1.0, 30.0]
    tainted = SimpleNamespace(
        **{**vars(inputs), "area": SimpleNamespace(**{**vars(inputs.area), "buurten": buurten})}
    )
    r = compute_indicators(tainted, config=SMALL)
    for name in ("scores_buurt", "scores", "bijdragen", "indicatoren", "kwetsbaarheid", "bias"):
        a, b = getattr(r, name), getattr(results, name)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), obj=name)
    written = write_results(r, tmp_path / "uit")
    gpkg = to_geopackage(r, tmp_path / "uit" / "i.gpkg")
    headers = [read_csv(p, nrows=0).columns for p in written.values()]
    headers += [
        gpd.read_file(gpkg, layer=name, rows=0).columns for name, _ in pyogrio.list_layers(gpkg)
    ]
    for cols in headers:
        assert not [c for c in cols if "herkomst" in c or "migratie" in c]


def test_write_results_and_geopackage(results, tmp_path):
    written = write_results(results, tmp_path / "uit")
    for name in (
        "scores_buurt.csv",
        "risicolocaties.csv",
        "signalen.csv",
        "vlaggen.csv",
        "enquete_vermeldingen.csv",
        "bias_diagnostiek.csv",
    ):
        path = tmp_path / "uit" / name
        assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    risk = read_csv(written["risicolocaties"])
    assert {"x", "y", "flag_ids"} <= set(risk.columns) and risk["x"].iloc[0] == 90050.0
    mentions = read_csv(written["enquete_vermeldingen"])
    assert "vermeldingen" not in mentions.columns  # only suppressed counts
    assert mentions["onderdrukt"].all() and mentions["respondenten"].isna().all()
    # the squares with establishments, each with every group; empty squares are left out
    cel = read_csv(written["gelegenheid_cel"])
    full = results.gelegenheid_cel
    assert (cel["n_alle"] > 0).all() and (full["n_alle"] == 0).any()
    assert len(cel) == int((full["n_alle"] > 0).sum()) > 0
    assert set(full.loc[full["n"] > 0, "gebied"]) <= set(cel["gebied"])
    gpkg = to_geopackage(results, tmp_path / "uit" / "indicatoren.gpkg")
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert layers == {"scores_buurt", "risicolocaties", "signalen"}
    assert len(gpd.read_file(gpkg, layer="signalen")) == 1

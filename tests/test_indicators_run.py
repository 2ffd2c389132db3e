"""Risk locations, signals and the orchestrator on a tiny fake ``Inputs``."""

from __future__ import annotations

import datetime as dt
import os
import stat
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box

from bcba.indicators import compute_indicators, to_geopackage, write_results
from bcba.indicators.signals import build_signals, risk_locations
from bcba.io import read_csv

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


@pytest.fixture(scope="module")
def results(inputs):
    return compute_indicators(inputs)


def test_risk_location_combines_flags(results):
    risk = results.risicolocaties
    assert risk["adres_id"].tolist() == ["HOT"]
    row = risk.iloc[0]
    assert row["flag_ids"] == "KAD_ZONDER_HYPOTHEEK;KVK_NIEUW_RISICOBRANCHE;KVK_VEEL_INSCHRIJVINGEN"
    assert row["n_flags"] == 3 and row["buurtcode"] == "BU1" and row["cel_id"] == "E0900N4300"
    assert "KVK_VEEL_INSCHRIJVINGEN: 10 actieve inschrijvingen op dit adres" in row["bewijs"]
    assert "drugs" in row["themas"].split(";")


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


def test_scores_and_explanation(results):
    sb = results.scores_buurt
    assert sb.crs == CRS and set(sb["buurtcode"]) == {"BU1", "BU2", "BU3"}
    assert sb.set_index("buurtcode").loc["BU1", "rang_drugs"] == 1
    assert sb.set_index("buurtcode")["klein_gebied"].to_dict() == {
        "BU1": False,
        "BU2": False,
        "BU3": True,
    }
    c = results.bijdragen
    summed = c.groupby(["buurtcode", "thema"])["bijdrage"].sum()
    score = results.scores.set_index(["buurtcode", "thema"])["score"]
    assert (score == summed.reindex(score.index)).all()
    text = results.explain("BU1", "drugs", top=2)
    assert len(text) == 2 and all(isinstance(s, str) and s for s in text)
    assert any("risicosignalen" in s or "gelegenheidsstructuren" in s for s in text)


def test_write_results_and_geopackage(results, tmp_path):
    written = write_results(results, tmp_path / "uit")
    for name in (
        "scores_buurt.csv",
        "risicolocaties.csv",
        "signalen.csv",
        "vlaggen.csv",
        "enquete_vermeldingen.csv",
    ):
        path = tmp_path / "uit" / name
        assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    risk = read_csv(written["risicolocaties"])
    assert {"x", "y", "flag_ids"} <= set(risk.columns) and risk["x"].iloc[0] == 90050.0
    assert (
        "vermeldingen" not in read_csv(written["enquete_vermeldingen"]).columns
    )  # only suppressed counts
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

"""KvK and Kadaster flags on tiny hand-made frames: exact threshold edges."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from bcba.errors import CRSMismatchError
from bcba.indicators import kadaster_flags as kad
from bcba.indicators import kvk_flags as kvk
from bcba.themes import load_themes

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def themes():
    return load_themes()


def vest(rows: list[dict]) -> gpd.GeoDataFrame:
    """Establishments with defaults for every column not given."""
    base = {
        "kvk_nummer": None,
        "vestigingsnummer": None,
        "handelsnaam": "Bedrijf",
        "sbi_code": "6201",
        "datum_inschrijving": "2020-01-01",
        "datum_uitschrijving": None,
        "werkzame_personen": 1,
        "adres_id": "A1",
        "adres_sleutel": "1234AB|1||",
        "buurtcode": "BU00010001",
        "wijkcode": "WK000100",
        "cel_id": "E0001N0001",
    }
    full = []
    for i, row in enumerate(rows):
        r = {
            **base,
            "kvk_nummer": f"{10000000 + i}",
            "vestigingsnummer": f"{100000000000 + i}",
            **row,
        }
        full.append(r)
    frame = pd.DataFrame(full)
    for c in ("datum_inschrijving", "datum_uitschrijving"):
        frame[c] = pd.to_datetime(frame[c])
    return gpd.GeoDataFrame(
        frame, geometry=[Point(90000 + i, 430000) for i in range(len(frame))], crs="EPSG:28992"
    )


@pytest.mark.parametrize(("n", "flagged"), [(8, True), (7, False)])
def test_veel_inschrijvingen_edge(themes, n, flagged):
    frame = vest(
        [{"adres_id": "A1"}] * n
        + [{"adres_id": "A2"}] * 2
        + [{"adres_id": "A1", "datum_uitschrijving": "2023-01-01"}] * 3
    )  # ended: not active
    flags = kvk.kvk_flags(frame, periode=PERIODE, themes=themes)
    hit = flags[flags["flag_id"] == "KVK_VEEL_INSCHRIJVINGEN"]
    assert hit["adres_id"].tolist() == (["A1"] if flagged else [])
    if flagged:
        assert hit["bewijs"].iloc[0] == (
            f"{n} actieve inschrijvingen op dit adres; 0 in de laatste 12 maanden (oude, "
            "stabiele inschrijvingen: past bij een bedrijfsverzamelgebouw of administratiekantoor)"
        )
        assert hit["bewijskracht"].iloc[0] == kvk.ZWAK  # none young: context weakens it
        assert hit["entiteit_type"].iloc[0] == "adres"
        # the themes its rule in themes.yaml names (docs/method.md, par. 8), nothing else
        assert hit["themas"].iloc[0].split(";") == ["vastgoed_witwassen", "bedrijventerreinen"]


def test_address_key_falls_back_to_adres_sleutel(themes):
    frame = vest([{"adres_id": None, "adres_sleutel": "2991AB|12|A|"}] * 8)
    hit = kvk.flag_veel_inschrijvingen(frame, periode=PERIODE, themes=themes, threshold=8)
    assert hit["adres_sleutel"].tolist() == ["2991AB|12|A|"]
    assert hit["entiteit_id"].tolist() == ["S|2991AB|12|A|"]


@pytest.mark.parametrize(("n_in", "n_uit", "flagged"), [(4, 2, True), (3, 2, False)])
def test_verloop_adres_edge(themes, n_in, n_uit, flagged):
    rows = [{"datum_inschrijving": "2024-03-01"}] * n_in
    rows += [{"datum_inschrijving": "2019-01-01", "datum_uitschrijving": "2024-06-01"}] * n_uit
    rows += [{"datum_inschrijving": "2023-01-01"}] * 5  # before the period: no churn
    flags = kvk.flag_verloop_adres(vest(rows), periode=PERIODE, themes=themes, threshold=6)
    assert len(flags) == int(flagged)
    if flagged:
        # 6 moves among 11 registrations present in two years: 6 / 11 / 2 = 0,27 a year
        assert flags["bewijs"].iloc[0] == (
            "4 inschrijvingen en 2 uitschrijvingen op dit adres in de periode, bij 11 "
            "inschrijvingen (gewoon huurdersverloop: 0,27 wisselingen per inschrijving per jaar)"
        )
        assert flags["bewijskracht"].iloc[0] == kvk.ZWAK


def test_nieuw_risicobranche_window_is_inclusive(themes):
    frame = vest(
        [
            {
                "sbi_code": "96021",
                "datum_inschrijving": "2024-12-31",
            },  # exactly 12 months before end: flagged
            {"sbi_code": "96021", "datum_inschrijving": "2024-12-30"},  # one day earlier: not
            {"sbi_code": "6201", "datum_inschrijving": "2025-06-01"},  # not a risk branch
            {
                "sbi_code": "56301",
                "handelsnaam": "Shisha Lounge Sultan",
                "datum_inschrijving": "2025-06-01",
            },
        ]
    )
    flags = kvk.flag_nieuw_risicobranche(frame, periode=PERIODE, themes=themes, maanden=12)
    assert flags["vestigingsnummer"].tolist() == ["100000000000", "100000000003"]
    assert (
        flags["bewijs"].iloc[0]
        == "Ingeschreven op 31-12-2024 in risicobranche 'Kappers en barbershops' (SBI 96021)"
    )
    assert "Shishalounges" in flags["bewijs"].iloc[1]


def test_woonadres_needs_pure_residential_and_risk_or_staff(themes):
    bag = pd.DataFrame(
        {
            "adres_id": ["W", "G", "M"],
            "gebruiksdoel": ["woonfunctie", "woonfunctie;winkelfunctie", "woonfunctie"],
        }
    )
    frame = vest(
        [
            {"adres_id": "W", "sbi_code": "6201", "werkzame_personen": 1},  # ZZP at home: normal
            {"adres_id": "W", "sbi_code": "6201", "werkzame_personen": 5},  # = threshold: flagged
            {"adres_id": "W", "sbi_code": "6201", "werkzame_personen": 4},  # threshold - 1: not
            {"adres_id": "M", "sbi_code": "96022", "werkzame_personen": 1},  # risk branch at home
            {"adres_id": "G", "sbi_code": "96022", "werkzame_personen": 9},  # mixed use: not
        ]
    )
    flags = kvk.flag_woonadres(frame, bag, periode=PERIODE, themes=themes, min_werkzame_personen=5)
    assert flags["vestigingsnummer"].tolist() == ["100000000001", "100000000003"]
    assert flags["bewijs"].tolist() == [
        "Actieve vestiging (5 werkzame personen) op een adres met alleen woonfunctie (BAG)",
        "Actieve vestiging (risicobranche 'Nagel- en schoonheidssalons') op een adres met alleen woonfunctie (BAG)",
    ]


def test_kort_bestaan_edge(themes):
    frame = vest(
        [
            {
                "datum_inschrijving": "2024-02-15",
                "datum_uitschrijving": "2025-02-15",
            },  # exactly 12 months
            {
                "datum_inschrijving": "2024-02-15",
                "datum_uitschrijving": "2025-02-16",
            },  # one day more
            {"datum_inschrijving": "2024-03-01", "datum_uitschrijving": None},  # active
        ]
    )
    flags = kvk.flag_kort_bestaan(frame, periode=PERIODE, themes=themes, maanden=12)
    assert flags["kvk_nummer"].tolist() == ["10000000"]
    assert flags["bewijs"].iloc[0] == "Ingeschreven 15-02-2024, opgeheven 15-02-2025 (na 366 dagen)"


@pytest.mark.parametrize(
    ("n_comp", "n_short", "flagged"), [(5, 3, True), (4, 3, False), (5, 2, False)]
)
def test_functionaris_veel_edges(themes, n_comp, n_short, flagged):
    rows = [
        {"datum_inschrijving": "2024-01-10", "datum_uitschrijving": "2024-06-01", "adres_id": "HUB"}
    ] * n_short
    rows += [
        {"datum_inschrijving": "2018-01-01", "adres_id": f"X{i}"} for i in range(n_comp - n_short)
    ]
    frame = vest(rows)
    func = pd.DataFrame(
        {"kvk_nummer": frame["kvk_nummer"], "persoon_id": "P-abc123def456", "functie": "bestuurder"}
    )
    flags = kvk.flag_functionaris_veel(frame, func, themes=themes, min_ondernemingen=5, min_kort=3)
    assert len(flags) == int(flagged)
    if flagged:
        row = flags.iloc[0]
        assert row["persoon_id"] == "P-abc123def456" and row["entiteit_type"] == "persoon"
        assert row["adres_id"] == "HUB"  # where most of the companies sit
        assert (
            row["bewijs"]
            == "Functionaris bij 5 ondernemingen, waarvan 3 binnen 12 maanden opgeheven"
        )


def test_crs_mismatch_is_an_error(themes):
    frame = vest([{}]).to_crs("EPSG:4326")
    with pytest.raises(CRSMismatchError):
        kvk.kvk_flags(frame, periode=PERIODE, themes=themes)


# -- Kadaster ----------------------------------------------------------------------------------
def kad_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    base = {
        "datum": "2025-01-01",
        "koopsom": 250000.0,
        "woz_waarde": 250000.0,
        "hypotheek": True,
        "koper_id": None,
        "koper_type": "natuurlijk_persoon",
        "koper_kvk_nummer": None,
        "adres_id": None,
        "adres_sleutel": None,
        "buurtcode": "BU00010001",
        "wijkcode": "WK000100",
        "cel_id": "E0001N0001",
    }
    full = [
        {**base, "transactie_id": f"T{i}", "koper_id": f"P-{i:012d}", "adres_id": f"A{i}", **r}
        for i, r in enumerate(rows)
    ]
    frame = pd.DataFrame(full)
    frame["datum"] = pd.to_datetime(frame["datum"])
    return gpd.GeoDataFrame(
        frame, geometry=[Point(90000 + i, 430000) for i in range(len(frame))], crs="EPSG:28992"
    )


def test_abc_edge(themes):
    frame = kad_frame(
        [
            {"adres_id": "X", "datum": "2024-03-01"},
            {"adres_id": "X", "datum": "2024-08-31"},  # 183 days later: flagged
            {"adres_id": "Y", "datum": "2024-03-01"},
            {"adres_id": "Y", "datum": "2024-09-01"},  # 184 days: not
        ]
    )
    flags = kad.flag_abc(frame, themes=themes, dagen=183)
    assert flags["transactie_id"].tolist() == ["T1"]
    assert flags["bewijs"].iloc[0] == (
        "Doorverkocht 183 dagen na de vorige transactie (T0 op 01-03-2024) zonder "
        "prijssprong (+0%): past bij bijvoorbeeld een boedel of verhuizing"
    )


def test_prijs_woz_edge(themes):
    frame = kad_frame(
        [
            {"koopsom": 150000.0, "woz_waarde": 100000.0},  # +50 %: flagged
            {"koopsom": 50000.0, "woz_waarde": 100000.0},  # -50 %: flagged
            {"koopsom": 149999.0, "woz_waarde": 100000.0},  # just below: not
            {"koopsom": 150000.0, "woz_waarde": None},  # unknown WOZ: not
            {"koopsom": 150000.0, "woz_waarde": 0.0},
        ]
    )
    flags = kad.flag_prijs_woz(frame, themes=themes, afwijking=0.5)
    assert flags["transactie_id"].tolist() == ["T0", "T1"]
    assert flags["bewijs"].tolist() == [
        "Koopsom € 150.000 tegen WOZ € 100.000 (+50%)",
        "Koopsom € 50.000 tegen WOZ € 100.000 (-50%)",
    ]


def test_zonder_hypotheek_edge(themes):
    frame = kad_frame(
        [
            {"koopsom": 300000.0, "hypotheek": False},
            {"koopsom": 299999.0, "hypotheek": False},
            {"koopsom": 900000.0, "hypotheek": True},
            {"koopsom": 900000.0, "hypotheek": None},
        ]
    )
    flags = kad.flag_zonder_hypotheek(frame, themes=themes, vanaf=300_000)
    assert flags["transactie_id"].tolist() == ["T0"]
    assert flags["bewijs"].iloc[0] == "Aankoop van € 300.000 zonder hypotheek (drempel € 300.000)"


def test_jonge_rechtspersoon_edge(themes):
    companies = vest(
        [
            {"kvk_nummer": "12345678", "datum_inschrijving": "2024-05-10"},
            {"kvk_nummer": "12345678", "datum_inschrijving": "2024-09-01"},  # later branch
            {"kvk_nummer": "87654321", "datum_inschrijving": "2010-01-01"},
        ]
    )
    frame = kad_frame(
        [
            {
                "koper_type": "rechtspersoon",
                "koper_kvk_nummer": "12345678",
                "koper_id": "K-12345678",
                "datum": "2025-05-10",
            },
            {
                "koper_type": "rechtspersoon",
                "koper_kvk_nummer": "12345678",
                "koper_id": "K-12345678",
                "datum": "2025-05-11",
            },
            {
                "koper_type": "rechtspersoon",
                "koper_kvk_nummer": "87654321",
                "koper_id": "K-87654321",
                "datum": "2025-05-10",
            },
        ]
    )
    flags = kad.flag_jonge_rechtspersoon(frame, companies, themes=themes, maanden=12)
    assert flags["transactie_id"].tolist() == ["T0"]
    assert (
        flags["bewijs"].iloc[0]
        == "Koper K-12345678 ingeschreven in KvK op 10-05-2024, aankoop 365 dagen later"
    )


@pytest.mark.parametrize(("n", "flagged"), [(3, True), (2, False)])
def test_veel_aankopen_edge(themes, n, flagged):
    frame = kad_frame(
        [
            {"koper_id": "P-000000000abc", "adres_id": f"A{i}", "datum": "2024-06-01"}
            for i in range(n)
        ]
        + [{"koper_id": "P-000000000abc", "adres_id": "OUD", "datum": "2023-06-01"}]
    )  # outside period
    flags = kad.kadaster_flags(frame, periode=PERIODE, themes=themes)
    hit = flags[flags["flag_id"] == "KAD_VEEL_AANKOPEN"]
    assert len(hit) == (n if flagged else 0)
    if flagged:
        assert set(hit["persoon_id"]) == {"P-000000000abc"}
        assert hit["bewijs"].iloc[0] == f"Koper P-000000000abc verwierf {n} objecten in de periode"


def test_flag_records_have_common_columns_and_no_names(themes):
    frame = kad_frame([{"koopsom": 900000.0, "hypotheek": False, "koper_naam": "Jan Jansen"}])
    flags = kad.kadaster_flags(frame, periode=PERIODE, themes=themes)
    assert list(flags.columns) == kvk.FLAG_COLUMNS
    assert flags.crs == "EPSG:28992"
    assert not flags.astype(str).apply(lambda c: c.str.contains("Jansen")).any().any()

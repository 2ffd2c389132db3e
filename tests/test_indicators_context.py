"""Evidence strength (``bewijskracht``) of flags from their context, on hand-made tables.

Each context rule (docs/method.md, section 4) gets a pair of tiny cases whose answer is known
by hand: the flag fires in both (its threshold is untouched), and weighs fully only where
the context does not show the common legitimate explanation. Then the combination rules of
risk locations and signals (section 9) on flag records written out by hand.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from bcba.indicators import kadaster_flags as kad
from bcba.indicators import kvk_flags as kvk
from bcba.indicators.signals import MEERVOUDIG, build_signals, risk_locations
from bcba.themes import load_themes
from tests.test_indicators_flags import kad_frame, vest

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="module")
def themes():
    return load_themes()


# -- KAD_ABC: a quick resale is an ABC indication with a price jump -----------------------------
def test_abc_with_price_jump_counts_fully_without_it_half(themes):
    frame = kad_frame(
        [
            {"adres_id": "X", "datum": "2024-03-01", "koopsom": 300000.0},
            {"adres_id": "X", "datum": "2024-07-01", "koopsom": 435000.0},  # +45 %
            {"adres_id": "Y", "datum": "2024-03-01", "koopsom": 300000.0},
            {"adres_id": "Y", "datum": "2024-07-01", "koopsom": 306000.0},  # +2 %: an estate
        ]
    )
    flags = kad.flag_abc(frame, themes=themes, dagen=183).set_index("adres_id")
    assert set(flags.index) == {"X", "Y"}  # both fire: the 183-day rule is unchanged
    assert flags.loc["X", "bewijskracht"] == kvk.VOL
    assert flags.loc["X", "bewijs"].endswith("met prijssprong van 45% tegen de vorige koopsom")
    assert flags.loc["Y", "bewijskracht"] == kvk.ZWAK
    assert "zonder prijssprong (+2%)" in flags.loc["Y", "bewijs"]


def test_abc_without_previous_price_compares_with_the_woz(themes):
    frame = kad_frame(
        [
            {"adres_id": "X", "datum": "2024-03-01", "koopsom": None, "woz_waarde": 200000.0},
            {"adres_id": "X", "datum": "2024-05-01", "koopsom": 260000.0, "woz_waarde": 200000.0},
        ]
    )
    flags = kad.flag_abc(frame, themes=themes, dagen=183)
    assert flags["bewijskracht"].tolist() == [kvk.VOL]  # +30 % against the WOZ
    assert "prijssprong van 30%" in flags["bewijs"].iloc[0]


# -- KVK_VEEL_INSCHRIJVINGEN: young registrations, or old and stable ones ----------------------
@pytest.mark.parametrize(("n_young", "kracht"), [(2, kvk.VOL), (1, kvk.ZWAK)])
def test_many_registrations_weigh_by_the_share_of_young_ones(themes, n_young, kracht):
    # 8 active: 2 of 8 (25 %) registered in the last 12 months counts fully, 1 of 8 does not
    rows = [{"datum_inschrijving": "2025-06-01"}] * n_young
    rows += [{"datum_inschrijving": "2015-01-01"}] * (8 - n_young)
    flags = kvk.flag_veel_inschrijvingen(vest(rows), periode=PERIODE, themes=themes)
    assert len(flags) == 1
    assert flags["bewijskracht"].iloc[0] == kracht


# -- KVK_VERLOOP_ADRES: moves relative to the registrations present -----------------------------
def test_churn_of_a_few_companies_counts_fully(themes):
    # 3 companies, each registered and deregistered in the period: 6 moves among 3 present,
    # 6 / 3 / 2 years = 1,0 a year
    rows = [{"datum_inschrijving": "2024-02-01", "datum_uitschrijving": "2024-11-01"}] * 3
    flags = kvk.flag_verloop_adres(vest(rows), periode=PERIODE, themes=themes, threshold=6)
    assert flags["bewijskracht"].tolist() == [kvk.VOL]
    assert flags["bewijs"].iloc[0] == (
        "3 inschrijvingen en 3 uitschrijvingen op dit adres in de periode, bij 3 inschrijvingen"
    )


# -- KVK_FUNCTIONARIS_VEEL: a straw man's companies are all young -------------------------------
def _officer(rows: list[dict]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    frame = vest([{**r, "kvk_nummer": f"{10000000 + i}"} for i, r in enumerate(rows)])
    func = pd.DataFrame(
        {"kvk_nummer": frame["kvk_nummer"], "persoon_id": "P-abc123def456", "functie": "bestuurder"}
    )
    return frame, func


SHORT = {"datum_inschrijving": "2024-02-01", "datum_uitschrijving": "2024-10-01"}


@pytest.mark.parametrize(
    ("others", "kracht"),
    [
        # a developer: 3 project companies beside 3 companies of 2015 (still active)
        ([{"datum_inschrijving": "2015-01-01"}] * 3, kvk.ZWAK),
        # 3 short-lived beside 2 that lived 400 days: nothing established
        ([{"datum_inschrijving": "2024-01-10", "datum_uitschrijving": "2025-02-13"}] * 2, kvk.VOL),
    ],
)
def test_officer_with_established_companies_weighs_half(themes, others, kracht):
    frame, func = _officer([SHORT] * 3 + others)
    flags = kvk.flag_functionaris_veel(
        frame, func, themes=themes, min_ondernemingen=5, min_kort=3, eind=pd.Timestamp("2025-12-31")
    )
    assert len(flags) == 1  # fires in both: 5 or more companies, 3 short-lived
    assert flags["bewijskracht"].iloc[0] == kracht
    assert ("3 ondernemingen die 2 jaar of langer bestaan" in flags["bewijs"].iloc[0]) == (
        kracht == kvk.ZWAK
    )


# -- KAD_VEEL_AANKOPEN: an established investor, or a young entity or a person ----------------
@pytest.mark.parametrize(
    ("registered", "kracht"), [("2010-01-01", kvk.ZWAK), ("2024-01-01", kvk.VOL)]
)
def test_many_purchases_by_an_established_company_weigh_half(themes, registered, kracht):
    companies = vest([{"kvk_nummer": "12345678", "datum_inschrijving": registered}])
    buyer = {
        "koper_type": "rechtspersoon",
        "koper_kvk_nummer": "12345678",
        "koper_id": "K-12345678",
        "hypotheek": True,
    }
    frame = kad_frame(
        [{**buyer, "adres_id": f"A{i}", "datum": f"2024-0{i + 6}-01"} for i in range(3)]
    )
    flags = kad.kadaster_flags(frame, companies, periode=PERIODE, themes=themes)
    hit = flags[flags["flag_id"] == "KAD_VEEL_AANKOPEN"]
    assert len(hit) == 3
    assert set(hit["bewijskracht"]) == {kracht}


# -- combination: risk locations and signals ----------------------------------------------------
def _flag(flag_id: str, entity: str, adres: str, kracht: float, persoon=None) -> dict:
    return {
        "flag_id": flag_id,
        "bron": "kadaster" if flag_id.startswith("KAD") else "kvk",
        "entiteit_type": "persoon" if persoon else "vestiging",
        "entiteit_id": entity,
        "persoon_id": persoon,
        "adres_id": adres,
        "adres_sleutel": None,
        "buurtcode": "BU00010001",
        "wijkcode": "WK000100",
        "cel_id": "E0001N0001",
        "bewijs": "x",
        "bewijskracht": kracht,
        "themas": "",
    }


def _flags(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows)
    return gpd.GeoDataFrame(frame, geometry=[Point(90000, 430000)] * len(frame), crs="EPSG:28992")


def test_strength_adds_entities_within_a_kind_up_to_one_and_kinds_across():
    flags = _flags(
        [
            # A: two starters that stopped within a year (weak, distinct companies): one kind, 1,0
            _flag("KVK_KORT_BESTAAN", "c1", "A", 0.5),
            _flag("KVK_KORT_BESTAAN", "c2", "A", 0.5),
            # B: one new risk-branch shop that stopped within a year: 0,5 + 0,5
            _flag("KVK_NIEUW_RISICOBRANCHE", "c3", "B", 0.5),
            _flag("KVK_KORT_BESTAAN", "c3", "B", 0.5),
            # C: a resale with price jump above WOZ: 1 + 1; the same record twice counts once
            _flag("KAD_ABC", "t1", "C", 1.0),
            _flag("KAD_ABC", "t1", "C", 1.0),
            _flag("KAD_PRIJS_WOZ", "t1", "C", 1.0),
            # D: three weak records of one kind still make one kind
            *[_flag("KAD_ZONDER_HYPOTHEEK", f"t{i}", "D", 0.5) for i in range(2, 5)],
        ]
    )
    risk = risk_locations(flags).set_index("adres_id")
    assert risk["bewijskracht"].to_dict() == {"A": 1.0, "B": 1.0, "C": 2.0, "D": 1.0}
    assert risk.index[0] == "C"  # strongest first
    assert (risk["bewijskracht"] >= MEERVOUDIG).sum() == 1


def test_priority_needs_the_count_and_the_strength():
    flags = _flags(
        [
            # P: young BV buying without mortgage above WOZ, several objects: 1+1+1+0,5
            _flag("KAD_JONGE_RECHTSPERSOON", "t1", "P", 1.0),
            _flag("KAD_PRIJS_WOZ", "t1", "P", 1.0),
            _flag("KAD_VEEL_AANKOPEN", "K-1", "P", 1.0),
            _flag("KAD_ZONDER_HYPOTHEEK", "t1", "P", 0.5),
            # Q: four kinds, but an established investor buying cash after a quick resale at
            # the same price: 0,5 + 0,5 + 0,5 + 1 (the WOZ deviation)
            _flag("KAD_ABC", "t2", "Q", 0.5),
            _flag("KAD_PRIJS_WOZ", "t2", "Q", 1.0),
            _flag("KAD_VEEL_AANKOPEN", "K-2", "Q", 0.5),
            _flag("KAD_ZONDER_HYPOTHEEK", "t2", "Q", 0.5),
            # R: two weak flags of one company
            _flag("KVK_NIEUW_RISICOBRANCHE", "c1", "R", 0.5),
            _flag("KVK_KORT_BESTAAN", "c1", "R", 0.5),
        ]
    )
    sig = build_signals(flags, risk_locations(flags)).set_index("adres_id")
    # old rule by count alone: P, Q hoog (4 indications), R laag (2 from one source)
    assert sig["indicaties"].to_dict() == {"P": 4, "Q": 4, "R": 2}
    assert sig["bewijskracht"].to_dict() == {"P": 3.5, "Q": 2.5, "R": 1.0}
    assert sig["prioriteit"].to_dict() == {"P": "hoog", "Q": "middel", "R": "laag"}


def test_a_partner_report_lifts_a_full_flag_but_not_a_weak_one():
    flags = _flags(
        [
            _flag("KVK_WOONADRES", "v1", "S", 1.0),
            _flag("KVK_NIEUW_RISICOBRANCHE", "v2", "T", 0.5),
        ]
    )
    events = pd.DataFrame(
        {
            "adres_id": ["S", "T"],
            "adres_sleutel": [None, None],
            "bron": ["politie", "politie"],
            "datum": ["2025-01-01", "2025-01-01"],
            "soort": ["melding", "melding"],
        }
    )
    sig = build_signals(flags, risk_locations(flags), partner_events=events).set_index("adres_id")
    assert sig["bewijskracht"].to_dict() == {"S": 2.0, "T": 1.5}
    assert sig["prioriteit"].to_dict() == {"S": "middel", "T": "laag"}

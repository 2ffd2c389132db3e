"""Dutch labels and readable addresses: hand-worked cases."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bcba import labels
from bcba.themes import FLAG_IDS


def test_every_flag_id_has_a_dutch_label():
    assert set(FLAG_IDS) <= set(labels.FLAG_LABELS)
    for flag in FLAG_IDS:
        assert "_" not in labels.flag_label(flag)


def test_dates_are_written_in_words():
    assert labels.nl_date(dt.date(2026, 12, 3)) == "3 december 2026"
    assert labels.nl_date("2025-01-09") == "9 januari 2025"
    assert labels.nl_date(None) == "–"


def test_evidence_loses_codes_node_ids_and_numeric_dates():
    bewijs = (
        "KAD_JONGE_RECHTSPERSOON: Koper K-79045302 ingeschreven in KvK op 19-06-2024, aankoop 116 "
        "dagen later | partners: 1 melding(en) van politie door P-3fa9c01b22"
    )
    items = labels.evidence_items(bewijs)
    assert items == [
        "Koper is jonge rechtspersoon: Koper KvK 79045302 ingeschreven in KvK op 19 juni 2024, "
        "aankoop 116 dagen later",
        "Partnermeldingen: 1 melding(en) van politie door een persoon",
    ]


def test_flags_and_sources_in_words():
    assert (
        labels.flags_text("KAD_ABC;KVK_WOONADRES")
        == "Snelle doorverkoop (ABC); Bedrijf op woonadres"
    )
    assert labels.sources_text("kvk;partners") == "KvK, partnermeldingen"
    assert labels.flags_text(None) == ""


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Dorpsstraat", 12, "a", "2", "3131AB"), "Dorpsstraat 12a-2, 3131 AB"),
        (("Dorpsstraat", 12, None, None, "3131AB"), "Dorpsstraat 12, 3131 AB"),
        ((None, 7, "B", None, "2991tg"), "7b, 2991 TG"),
    ],
)
def test_address_as_a_reader_writes_it(parts, expected):
    assert labels.format_address(*parts) == expected


def test_addresses_take_the_street_from_the_bag_and_fall_back_on_the_key():
    bag = pd.DataFrame(
        {
            "adres_id": ["0489010000000001"],
            "straat": ["Middenbaan"],
            "huisnummer": pd.array([4], dtype="Int64"),
            "huisletter": [None],
            "toevoeging": [None],
            "postcode": ["2991AB"],
        }
    )
    frame = pd.DataFrame(
        {"adres_id": ["0489010000000001", None], "adres_sleutel": ["2991AB|4||", "2992VR|12|a|"]},
        index=[10, 11],
    )
    out = labels.addresses(frame, bag)
    assert out.to_dict() == {10: "Middenbaan 4, 2991 AB", 11: "2992 VR 12a"}

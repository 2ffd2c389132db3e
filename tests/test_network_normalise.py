"""Normalisation and entity resolution of bcba.network on hand-made tricky cases."""

from __future__ import annotations

import pandas as pd
import pytest

from bcba.errors import ConfigError
from bcba.network.normalise import (
    normalise_address,
    normalise_company_name,
    normalise_kvk,
    normalise_postcode,
    parse_adres_sleutel,
    split_huisnummer,
)
from bcba.network.resolution import match_companies, resolve_addresses, resolve_companies


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café Één & Zn Holding B.V.", "cafe een en zn"),
        ("Jansen BV", "jansen"),
        ("JANSEN B.V.", "jansen"),
        ("Jansen B V", "jansen"),
        ("Jansen B.V", "jansen"),
        ("Jansen Holding B.V.", "jansen"),
        ("Stichting De Brug", "de brug"),
        ("Bakker & Zonen V.O.F.", "bakker en zonen"),
        ("Bakker VOF", "bakker"),
        ("Vastgoed C.V.", "vastgoed"),
        ("Özdemir Eenmanszaak", "ozdemir"),
        ("Noord N.V.", "noord"),
        ("Alfa B.V. h.o.d.n. Shisha Lounge Zoë", "alfa"),
        ("  Shisha   Lounge\tZoë  ", "shisha lounge zoe"),
        ("CV Service Rotterdam", "service rotterdam"),  # legal form only stripped at the ends
        ("Rotterdam CV Service", "rotterdam cv service"),
        ("B.V.", None),
        (None, None),
    ],
)
def test_company_names(raw, expected):
    assert normalise_company_name(raw) == expected


def test_company_names_vectorised_keeps_index_and_input():
    names = pd.Series(["Jansen BV", None, "Zoë N.V."], index=[7, 8, 9], name="handelsnaam")
    before = names.copy()
    out = normalise_company_name(names)
    assert out.index.tolist() == [7, 8, 9]
    assert out.tolist()[0] == "jansen" and pd.isna(out.iloc[1]) and out.iloc[2] == "zoe"
    pd.testing.assert_series_equal(names, before)


def test_kvk_numbers():
    values = pd.Series(
        ["1234567", "12345678.0", 12345678, "K-00012345", "12.345.678", "abc", None, "123456789"]
    )
    assert normalise_kvk(values).tolist()[:5] == [
        "01234567",
        "12345678",
        "12345678",
        "00012345",
        "12345678",
    ]
    assert normalise_kvk(values).iloc[5:].isna().all()


def test_postcode():
    assert normalise_postcode(pd.Series(["2991 ab", "2991AB", "0123AB", "2991A"])).tolist()[:2] == [
        "2991AB",
        "2991AB",
    ]
    assert normalise_postcode(pd.Series(["0123AB", "2991A"])).isna().all()


def test_house_number_additions_are_equal():
    split = split_huisnummer(
        pd.Series(["12a", "12 A", "12-a", "12A", "12 bis", "12-1", "12 A 2", "7"])
    )
    assert split["huisnummer"].tolist() == [12, 12, 12, 12, 12, 12, 12, 7]
    assert split["huisletter"].tolist() == ["A", "A", "A", "A", "", "", "A", ""]
    assert split["toevoeging"].tolist() == ["", "", "", "", "BIS", "1", "2", ""]


def test_address_columns_and_key():
    frame = pd.DataFrame(
        {
            "postcode": ["2991 ab", "2991AB", "2991AB", "2991AB", "2991AB"],
            "huisnummer": [12, "12", "12a", "12", "12"],
            "huisletter": [None, "a", None, None, None],
            "toevoeging": ["A", None, None, "-bis", "b i s"],
        }
    )
    out = normalise_address(frame)
    assert out["adres_sleutel"].tolist() == [
        "2991AB|12|A|",
        "2991AB|12|A|",
        "2991AB|12|A|",
        "2991AB|12||BIS",
        "2991AB|12||BIS",
    ]
    again = parse_adres_sleutel(out["adres_sleutel"])
    assert again["adres_sleutel"].tolist() == out["adres_sleutel"].tolist()


def test_match_companies_scores_and_explanations():
    left = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "naam": ["JANSEN B.V.", "Jansen Holding BV", "Café Zoë", "Jansn Bouw", "Pieters BV"],
            "kvk_nummer": [None, None, None, None, "99999999"],
            "postcode": ["2991AB", None, None, None, None],
        }
    )
    right = pd.DataFrame(
        {
            "id": ["K1", "K2", "K3", "K4"],
            "naam": ["Jansen BV", "Cafe Zoe B.V.", "Jansen Bouw B.V.", "Pieters B.V."],
            "kvk_nummer": ["11111111", "22222222", "33333333", "44444444"],
            "postcode": ["2991AB", "3000AA", None, None],
        }
    )
    pairs = match_companies(left, right, fuzzy_min=0.8).set_index(["id_links", "id_rechts"])
    assert pairs.loc[("a", "K1"), "score"] == 0.95
    assert pairs.loc[("a", "K1"), "toelichting"] == "genormaliseerde naam gelijk; postcode gelijk"
    assert pairs.loc[("b", "K1"), "score"] == 0.9
    assert pairs.loc[("b", "K1"), "toelichting"] == "genormaliseerde naam gelijk"
    assert pairs.loc[("c", "K2"), "score"] == 0.9
    # fuzzy: 'jansn bouw' vs 'jansen bouw' -> ratio 20/21
    assert pairs.loc[("d", "K3"), "score"] == round(0.8 * 20 / 21, 3)
    assert pairs.loc[("d", "K3"), "toelichting"] == "naam lijkt op elkaar (gelijkenis 0,95)"
    # a different known KvK number is authoritative: no name match
    assert ("e", "K4") not in pairs.index


def test_match_companies_by_kvk():
    left = pd.DataFrame({"id": ["x"], "naam": ["Totaal Anders"], "kvk_nummer": ["1234567"]})
    right = pd.DataFrame({"id": ["K"], "naam": ["Iets BV"], "kvk_nummer": ["01234567"]})
    pairs = match_companies(left, right)
    assert pairs[["id_links", "id_rechts", "score", "toelichting"]].values.tolist() == [
        ["x", "K", 1.0, "KvK-nummer gelijk"]
    ]


def test_resolve_companies_merges_strong_and_keeps_doubtful():
    companies = pd.DataFrame(
        {
            "kvk_nummer": ["12345678", "23456789", "34567890", "45678901", "56789012"],
            "handelsnaam": [
                "Jansen Holding B.V.",
                "Café Zoë BV",
                "Autobedrijf Noord",
                "Autobedrijf Noord B.V.",
                "Jansen Bouw B.V.",
            ],
        }
    )
    parties = pd.DataFrame(
        {
            "naam": [
                "JANSEN BV",
                "Cafe Zoe",
                "Autobedrijf Noord",
                "Jansn Bouw",
                "Onbekend BV",
                "X",
            ],
            "kvk_nummer": [None, None, None, None, None, "12345678"],
        }
    )
    res = resolve_companies(parties, companies, threshold=0.85)
    assert res.links["entiteit_id"].tolist() == [
        "K-12345678",
        "K-23456789",
        "R-autobedrijf noord",
        "R-jansn bouw",
        "R-onbekend",
        "K-12345678",
    ]
    assert res.links["score"].tolist()[:2] == [0.9, 0.9]
    assert res.links["toelichting"].iloc[-1] == "KvK-nummer gelijk"
    possible = res.possible.set_index(["entiteit_a", "entiteit_b"])
    # an ambiguous exact name is not merged but kept as two possible links
    assert possible.loc[("R-autobedrijf noord", "K-34567890"), "score"] == 0.9
    assert possible.loc[("R-autobedrijf noord", "K-45678901"), "score"] == 0.9
    assert possible.loc[("R-jansn bouw", "K-56789012"), "score"] == round(0.8 * 20 / 21, 3)
    assert set(res.possible["soort"]) == {"bedrijf"}
    assert len(res.possible) == 3


def test_resolve_companies_threshold_is_validated():
    with pytest.raises(ConfigError, match="threshold"):
        resolve_companies(pd.DataFrame({"naam": ["a"]}), pd.DataFrame(), threshold=1.5)


def test_resolve_addresses_scores():
    mentions = pd.DataFrame(
        {
            "adres_id": ["0489010000000001", None, None, None, None, ""],
            "adres_sleutel": [
                "2991AB|12|A|",
                "2991AB|12|a|",
                "2991AB|12||BIS",
                "3000AA|1||",
                None,
                "3000AA|1||",
            ],
        }
    )
    res = resolve_addresses(mentions)
    assert res.links["entiteit_id"].tolist()[:4] == [
        "A-0489010000000001",
        "A-0489010000000001",
        "A-2991AB|12||BIS",
        "A-3000AA|1||",
    ]
    assert pd.isna(res.links["entiteit_id"].iloc[4])
    assert res.links["entiteit_id"].iloc[5] == "A-3000AA|1||"
    assert res.links["score"].tolist()[:4] == [1.0, 0.95, 1.0, 1.0]
    assert (
        res.links["toelichting"].iloc[1] == "postcode, huisnummer, huisletter en toevoeging gelijk"
    )
    assert res.possible[["entiteit_a", "entiteit_b", "score"]].values.tolist() == [
        ["A-2991AB|12||BIS", "A-0489010000000001", 0.6]
    ]
    assert (
        res.possible["toelichting"].iloc[0]
        == "postcode en huisnummer gelijk; huisletter/toevoeging verschilt"
    )


def test_resolve_addresses_uses_reference_bag():
    mentions = pd.DataFrame({"adres_id": [None], "adres_sleutel": ["2991AB|7||"]})
    bag = pd.DataFrame({"adres_id": ["0489010000000077"], "adres_sleutel": ["2991AB|7||"]})
    res = resolve_addresses(mentions, reference=bag)
    assert res.links["entiteit_id"].tolist() == ["A-0489010000000077"]
    assert res.links["score"].tolist() == [0.95]


def test_match_companies_uses_exact_lcs_similarity():
    # difflib's greedy ratio is 2/3 here; the longest common subsequence gives 2 * 6 / 15
    left = pd.DataFrame({"id": ["a"], "naam": ["bbab b ab"], "postcode": ["2991AB"]})
    right = pd.DataFrame({"id": ["K"], "naam": ["bbbb b"], "postcode": ["2991AB"]})
    pairs = match_companies(left, right, fuzzy_min=0.8)
    assert pairs[["id_links", "id_rechts", "score", "toelichting"]].values.tolist() == [
        [
            "a",
            "K",
            round(0.8 * 0.8 + 0.05, 3),
            "naam lijkt op elkaar (gelijkenis 0,80); postcode gelijk",
        ]
    ]
    assert match_companies(left, right, fuzzy_min=0.81).empty


def test_parse_adres_sleutel_normal_form_and_free_keys_agree():
    keys = pd.Series(
        [
            "3066CU|43|B|",
            "3066cu|043|b|",
            "3066CU|43||a",
            "3066CU|43||12",
            None,
            "x",
            "3066CU|43|B|",
        ],
        index=[7, 3, 5, 1, 0, 2, 9],
        dtype="string",
    )
    out = parse_adres_sleutel(keys)
    assert out.index.tolist() == [7, 3, 5, 1, 0, 2, 9]
    assert out["adres_sleutel"].tolist() == [
        "3066CU|43|B|",
        "3066CU|43|B|",
        "3066CU|43|A|",
        "3066CU|43||12",
        pd.NA,
        pd.NA,
        "3066CU|43|B|",
    ]
    assert out["huisnummer"].dtype == "Int64" and out["huisnummer"].iloc[0] == 43
    assert out["huisletter"].tolist()[:4] == ["B", "B", "A", ""]

"""Parsers that cannot crash: any text gives the documented value or a flagged cell.

Each parser is compared with an independent cell-by-cell reference (``sources_oracles``),
on generated well-formed values (round trip) and on arbitrary text. Cells that the parser
flags become one clear Dutch problem per cell in the readers (see test_sources_cells.py).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import sources_oracles as oracle
from hypothesis import given, settings
from hypothesis import strategies as st
from sources_fixtures import KVK_HEADER, KVK_ROWS, write_csv

from bcba.errors import InputValidationError
from bcba.sources import read_kvk_vestigingen
from bcba.sources._read import (
    open_end_mask,
    parse_bool,
    parse_date,
    parse_digits,
    parse_int,
    parse_number,
    parse_postcode,
)

SETTINGS = settings(max_examples=150, deadline=None)

#: everything a cell may hold: any Unicode text, plus digit-like material from other scripts
NON_ASCII_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳٤٥६७८९０１２３４５６７８９"
any_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789-/.,: T€eurEUR +" + NON_ASCII_DIGITS, max_size=24),
)


def _one(parser, text, **kwargs):
    values, bad = parser(pd.Series([text], dtype=object), **kwargs)
    return values.iloc[0], bool(bad.iloc[0])


def _check_date(text: str, open_end: bool) -> None:
    value, bad = _one(parse_date, text, open_end=open_end)
    expected = oracle.date(text, open_end=open_end)
    if expected == oracle.ERR:
        assert bad and pd.isna(value), (text, value)
    elif expected is None:
        assert not bad and pd.isna(value), (text, value)
    else:
        assert not bad and value == pd.Timestamp(expected), (text, value, expected)


@SETTINGS
@given(text=any_text, open_end=st.booleans())
def test_parse_date_any_text(text, open_end):
    _check_date(text, open_end)


@SETTINGS
@given(
    year=st.integers(1, 9999),
    month=st.integers(0, 13),
    day=st.integers(0, 32),
    style=st.sampled_from(
        [
            "{d:02d}-{m:02d}-{y:04d}",
            "{d}/{m}/{y:04d}",
            "{y:04d}-{m:02d}-{d:02d}",
            "{y:04d}{m:02d}{d:02d}",
            "{d}.{m}.{y:04d} 13:45",
        ]
    ),
    open_end=st.booleans(),
)
def test_parse_date_every_written_day(year, month, day, style, open_end):
    # impossible days (31-02), years before 1800 and "open end" years from 2100
    _check_date(style.format(d=day, m=month, y=year), open_end)


@pytest.mark.parametrize(
    ("text", "open_end", "expected"),
    [
        ("31-12-9999", True, None),
        ("9999-12-31", True, None),
        ("31-12-2999", True, None),
        ("01-01-3000", True, None),
        ("99991231", True, None),
        ("2958465", True, None),  # Excel's serial of 31-12-9999
        ("31-12-9999", False, oracle.ERR),
        ("01-01-1600", True, oracle.ERR),
        ("31-02-2024", True, oracle.ERR),
        ("29-02-2023", False, oracle.ERR),
        ("29-02-2024", False, dt.date(2024, 2, 29)),
        ("31-12-2099", True, dt.date(2099, 12, 31)),
        ("٣١-١٢-٢٠٢٤", True, oracle.ERR),  # Arabic-Indic digits
        ("３１-１２-２０２４", False, oracle.ERR),  # full-width digits
        ("45292", False, dt.date(2024, 1, 1)),
    ],
)
def test_parse_date_sentinels_and_impossible_dates(text, open_end, expected):
    value, bad = _one(parse_date, text, open_end=open_end)
    assert bad == (expected == oracle.ERR)
    if isinstance(expected, dt.date):
        assert value == pd.Timestamp(expected)
    else:
        assert pd.isna(value)


def test_open_end_mask_finds_only_the_sentinels():
    cells = pd.Series(["31-12-9999", "", "01-01-2024", "31-02-2024", "2999-12-31"], dtype=object)
    values, bad = parse_date(cells, open_end=True)
    assert open_end_mask(cells, values, bad).tolist() == [True, False, False, False, True]


def _check_number(text: str) -> None:
    value, bad = _one(parse_number, text)
    expected = oracle.number(text)
    if expected == oracle.ERR:
        assert bad and math.isnan(value), (text, value)
    elif expected is None:
        assert not bad and math.isnan(value), (text, value)
    else:
        assert not bad and math.isclose(value, expected, rel_tol=1e-15), (text, value, expected)


@SETTINGS
@given(text=any_text)
def test_parse_number_any_text(text):
    _check_number(text)


@SETTINGS
@given(
    whole=st.integers(0, 10**17),
    cents=st.integers(0, 99),
    style=st.sampled_from(["dutch", "plain", "euro", "english", "spaces"]),
    negative=st.booleans(),
)
def test_parse_number_written_amounts(whole, cents, style, negative):
    # amounts as analysts write them; 16+ whole digits are refused, not rounded silently
    dutch = f"{whole:,}".replace(",", ".")
    text = {
        "dutch": f"{dutch},{cents:02d}",
        "plain": f"{whole}.{cents:02d}",
        "euro": f"€ {dutch},{cents:02d}",
        "english": f"{whole:,}.{cents:02d}",
        "spaces": f"{whole:,}".replace(",", "\u00a0") + f",{cents:02d} EUR",
    }[style]
    text = ("-" if negative else "") + text
    value, bad = _one(parse_number, text)
    if whole >= 10**15:
        assert bad and math.isnan(value)
        return
    if style == "english" and whole < 1000:
        whole_value = float(f"{whole}.{cents:02d}")  # "12.50": a plain decimal
    else:
        whole_value = whole + cents / 100
    assert not bad
    assert math.isclose(value, -whole_value if negative else whole_value, rel_tol=1e-15)
    _check_number(text)


@SETTINGS
@given(text=any_text)
def test_parse_int_any_text(text):
    value, bad = _one(parse_int, text)
    expected = oracle.integer(text)
    if expected == oracle.ERR:
        assert bad and pd.isna(value)
    elif expected is None:
        assert not bad and pd.isna(value)
    else:
        assert not bad and value == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12345678901234567890", oracle.ERR),  # 20 digits
        ("99999999999999999", oracle.ERR),  # would round to 10**17 in float64
        ("999999999999999", 999_999_999_999_999),
        ("١٢", oracle.ERR),
        ("12.0", 12),
        ("12,5", oracle.ERR),
        (12345678901234567890, oracle.ERR),  # an Excel cell typed as a number
        (1e300, oracle.ERR),
        (float("inf"), oracle.ERR),
        (7.0, 7),
    ],
)
def test_parse_int_huge_and_foreign_values(cell, expected):
    value, bad = _one(parse_int, cell)
    assert bad == (expected == oracle.ERR)
    assert pd.isna(value) if expected == oracle.ERR else value == expected


@SETTINGS
@given(text=any_text, width=st.sampled_from([8, 12, 16]))
def test_parse_digits_any_text(text, width):
    value, bad = _one(parse_digits, text, width=width)
    expected = oracle.digits(text, width)
    if expected == oracle.ERR:
        assert bad and pd.isna(value)
    elif expected is None:
        assert not bad and pd.isna(value)
    else:
        assert not bad and value == expected


@SETTINGS
@given(text=st.one_of(any_text, st.from_regex(r"\s*[0-9]{4}[ -]?[a-zA-Z]{2}\s*", fullmatch=True)))
def test_parse_postcode_any_text(text):
    value, bad = _one(parse_postcode, text)
    expected = oracle.postcode(text)
    if expected == oracle.ERR:
        assert bad and pd.isna(value)
    elif expected is None:
        assert not bad and pd.isna(value)
    else:
        assert not bad and value == expected


@SETTINGS
@given(text=st.one_of(any_text, st.sampled_from(["Ja", " NEE ", "j", "waar", "X", "soms"])))
def test_parse_bool_any_text(text):
    value, bad = _one(parse_bool, text)
    expected = oracle.boolean(text)
    if expected == oracle.ERR:
        assert bad and pd.isna(value)
    elif expected is None:
        assert not bad and pd.isna(value)
    else:
        assert not bad and not pd.isna(value) and bool(value) == expected


@settings(max_examples=40, deadline=None)
@given(cells=st.lists(any_text, min_size=1, max_size=8))
def test_distinct_path_with_arrow_strings_gives_the_same(cells):
    # above 256 rows the parsers run once per distinct value on Arrow strings
    many = (cells * (300 // len(cells) + 1))[:300]
    for parser, kwargs in (
        (parse_date, {"open_end": True}),
        (parse_number, {}),
        (parse_int, {}),
        (parse_digits, {"width": 8}),
        (parse_postcode, {}),
        (parse_bool, {}),
    ):
        small = [_one(parser, c, **kwargs) for c in cells]
        values, bad = parser(pd.Series(many, dtype="str"), **kwargs)
        for i, (value, flagged) in enumerate(small):
            assert bool(bad.iloc[i]) == flagged, (parser.__name__, cells[i])
            got = values.iloc[i]
            assert (pd.isna(got) and pd.isna(value)) or got == value, (parser.__name__, cells[i])


def test_reader_reports_each_bad_cell_and_notes_open_end_dates(tmp_path):
    # the cases of the issue, end to end: one Dutch problem per cell, and 31-12-9999 as an
    # end date is "no end date" with a kwaliteit note naming the rows
    base = KVK_ROWS[1].split(";")
    rows = []
    for col, value in (
        (13, "12345678901234567890"),  # werkzame personen: 20 digits
        (6, "١٢"),  # huisnummer in Arabic-Indic digits
        (11, "01-01-1600"),  # datum inschrijving
        (11, "31-02-2024"),
        (12, "31-12-9999"),  # datum uitschrijving: open end, accepted
    ):
        row = list(base)
        row[col] = value
        rows.append(";".join(row))
    path = write_csv(tmp_path / "kvk_vestigingen.csv", KVK_HEADER, rows)
    with pytest.raises(InputValidationError) as info:
        read_kvk_vestigingen(path)
    got = [(p.row, p.column, p.value, p.check) for p in info.value.problems]
    assert got == [
        (3, "Huisnr", "١٢", "ongeldig huisnummer"),
        (4, "Datum inschrijving", "01-01-1600", "ongeldige datum"),
        (5, "Datum inschrijving", "31-02-2024", "ongeldige datum"),
        (2, "Werkzame personen", "12345678901234567890", "ongeldig aantal"),
    ]
    assert all("1800 en 2100" in p.fix for p in info.value.problems if "datum" in p.check)
    result = read_kvk_vestigingen(write_csv(tmp_path / "ok.csv", KVK_HEADER, rows[4:] * 2))
    assert result.frame["datum_uitschrijving"].isna().all()
    (note,) = result.notes
    assert note["controle"] == "open einddatum" and note["aantal"] == 2
    assert "'Datum uitschrijving'" in note["toelichting"] and "rijen 2 en 3" in note["toelichting"]

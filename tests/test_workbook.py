"""The Excel workbook: formats, marking, frozen header, filters, neutralised formulas, and
signals numbered as in the report."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import openpyxl
import pandas as pd
import pytest

from bcba import labels
from bcba.io import unneutralise
from bcba.workbook import DATE, DECIMAL2, Sheet, numbered_signals, write_sheets

TABLE = pd.DataFrame(
    {
        "Naam": ['=HYPERLINK("http://x","klik")', "+31 6 1234", "-1", "@SUM(A1)", "gewoon & <b>"],
        "Aantal": pd.array([1, -1, 2500, None, 3], dtype="Int64"),
        "Score": [0.125, -1.5, np.nan, 2.0, np.inf],
        "Datum": pd.to_datetime(["2024-01-31", None, "2025-12-01", "2024-02-29", "2024-06-01"]),
        "Klein": [True, False, True, False, True],
        "Code": ["0489", "12345678", None, "BU04890101", "x"],
    }
)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("wb") / "resultaten_GM0000.xlsx"
    write_sheets(
        [
            Sheet("Tabel", "Een testtabel", TABLE, {"Score": DECIMAL2}),
            Sheet("Leeg", "Niets", TABLE.head(0)),
        ],
        path,
        guide=[["Leeswijzer"], ["=geen formule"]],
    )
    return openpyxl.load_workbook(path), path


def test_every_sheet_is_marked_frozen_and_filtered(book):
    wb, _ = book
    assert wb.sheetnames == ["Leeswijzer", "Tabel", "Leeg"]
    for ws in wb.worksheets:
        assert ws["A1"].value.startswith("STRIKT VERTROUWELIJK")
        assert ws.oddHeader.center.text == "STRIKT VERTROUWELIJK"
    ws = wb["Tabel"]
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:F7"
    assert [c.value for c in ws[2]] == list(TABLE.columns)
    assert ws.max_row == 7
    assert wb["Leeswijzer"]["A3"].value == "'=geen formule"


def test_values_formats_and_neutralised_text(book):
    wb, _ = book
    ws = wb["Tabel"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert [r[0] for r in rows] == [
        '\'=HYPERLINK("http://x","klik")',
        "'+31 6 1234",
        "'-1",
        "'@SUM(A1)",
        "gewoon & <b>",
    ]
    assert [r[1] for r in rows] == [1, -1, 2500, None, 3]
    assert [r[2] for r in rows] == [0.125, -1.5, None, 2.0, None]  # no NaN or inf in Excel
    assert rows[0][3] == dt.datetime(2024, 1, 31) and rows[1][3] is None
    assert rows[3][3] == dt.datetime(2024, 2, 29)
    assert [r[4] for r in rows] == ["ja", "nee", "ja", "nee", "ja"]
    assert [r[5] for r in rows] == ["0489", "12345678", None, "BU04890101", "x"]
    assert ws["B3"].number_format == "#,##0"
    assert ws["C3"].number_format == DECIMAL2
    assert ws["D3"].number_format == DATE
    # every text reads back exactly once the apostrophes are taken off
    back = unneutralise(pd.DataFrame({"Naam": [r[0] for r in rows]}))
    assert back["Naam"].tolist() == TABLE["Naam"].tolist()


def test_no_cell_holds_a_formula(book):
    _, path = book
    wb = openpyxl.load_workbook(path)  # not data_only: a formula would show as "=..."
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


def test_signals_are_numbered_as_in_the_report():
    from bcba.report.locations import _signal_rows

    rng = np.random.default_rng(3)
    n = 40
    sig = pd.DataFrame(
        {
            "signaal_id": [f"SIG-{i:04X}" for i in rng.permutation(n)],
            "prioriteit": rng.choice(["laag", "middel", "hoog"], n),
            "adres_id": [None] * n,
            "adres_sleutel": [f"1234AB|{i}||" for i in range(n)],
            "buurtcode": "BU00000001",
            "flag_ids": "KAD_ABC",
            "bewijs": "KAD_ABC: doorverkocht",
            "eigenaar": rng.choice(["gemeente", "RIEC-intake"], n),
            "bronnen": "kadaster",
        }
    )
    report = SimpleNamespace(
        inputs=SimpleNamespace(
            bag=pd.DataFrame(
                columns=["adres_id", "straat", "huisnummer", "huisletter", "toevoeging", "postcode"]
            )
        ),
        buurtnamen=lambda: pd.Series({"BU00000001": "Centrum"}),
    )
    expected = _signal_rows(report, sig)
    ours = numbered_signals(sig)
    assert ours["nr"].tolist() == expected["nr"].tolist()
    assert ours["prioriteit"].tolist() == expected["prioriteit"].tolist()
    # each signal has its own address: the same signal carries the same number
    where = [f"{labels.address_from_key(k)} (Centrum)" for k in ours["adres_sleutel"]]
    assert where == expected["waar"].tolist()

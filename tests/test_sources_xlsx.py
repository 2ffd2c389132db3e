"""Damaged and hostile Excel files give one clear Dutch problem, never a traceback or a hang.

Timing of the zip bombs is measured in benchmarks/bench_hostile_xlsx.py, not here.
"""

from __future__ import annotations

import pytest
from sources_fixtures import KVK_HEADER, KVK_ROWS, write_xlsx, write_xlsx_bomb, write_xlsx_member

from bcba.errors import InputValidationError
from bcba.sources import _read, read_kvk_vestigingen


def _problem(path) -> str:
    with pytest.raises(InputValidationError) as info:
        read_kvk_vestigingen(path)
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].file == path.name and problems[0].fix
    return problems[0].to_dutch()


@pytest.fixture
def no_openpyxl(monkeypatch):
    """Fail the test if openpyxl is asked to open the workbook."""
    import openpyxl

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl opened a file that should have been refused before")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


@pytest.mark.parametrize("packed", [300_000, 3_000_000])
def test_zip_bombs_refused_before_openpyxl(tmp_path, packed, no_openpyxl):
    path = tmp_path / "kvk_vestigingen.xlsx"
    unpacked = write_xlsx_bomb(path, packed)
    assert abs(path.stat().st_size - packed) < 0.05 * packed and unpacked > 900 * packed
    text = _problem(path)
    assert "bestand kvk_vestigingen.xlsx" in text
    assert ("zip-bom" in text) or ("uitgepakt" in text and "grens" in text)


def test_a_real_workbook_passes_the_archive_check(tmp_path):
    # the limits must not refuse a normal export (its sheets pack 5-20 times)
    path = write_xlsx(tmp_path / "kvk.xlsx", KVK_HEADER, KVK_ROWS * 2000)
    assert len(read_kvk_vestigingen(path).frame) == 8000


@pytest.mark.parametrize(
    ("member", "data", "why"),
    [
        # broken after the dimension: found while the rows are read
        (
            "xl/worksheets/sheet1.xml",
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x'
            b"</t></is></c></row><row><c",
            "werkblad beschadigd",
        ),
        ("xl/worksheets/sheet1.xml", b"\x00\xff not xml", "geen geldig Excel-bestand"),
        ("xl/workbook.xml", b"<workbook><sheets><sheet", "geen geldig Excel-bestand"),
        ("xl/workbook.xml", None, "geen geldig Excel-bestand"),
        ("[Content_Types].xml", b"<Types", "geen geldig Excel-bestand"),
        ("xl/styles.xml", b"<styleSheet><<", "geen geldig Excel-bestand"),
    ],
)
def test_broken_xml_is_one_clear_problem(tmp_path, member, data, why):
    path = tmp_path / "kvk.xlsx"
    write_xlsx_member(path, member, data)
    text = _problem(path)
    assert "bestand kan niet worden gelezen" in text and why in text


@pytest.mark.parametrize(
    "content", [b"", b"just text", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 64]
)
def test_not_a_zip_is_one_clear_problem(tmp_path, content):
    # the last one is the OLE container of a password-protected workbook
    path = tmp_path / "kvk.xlsx"
    path.write_bytes(content)
    text = _problem(path)
    assert "geen geldig Excel-bestand" in text and "wachtwoord" in text


def _sheet(rows_xml: str, dimension: str = "A1:B2") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows_xml}'
        "</sheetData></worksheet>"
    ).encode()


def _row(r: int, col: str = "A", value: str = "1") -> str:
    return f'<row r="{r}"><c r="{col}{r}" t="inlineStr"><is><t>{value}</t></is></c></row>'


def test_declared_dimension_does_not_pad_every_row(tmp_path):
    # a sheet claiming A1:XFD1048576 with three real rows is read as three rows
    header = "".join(
        f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'
        for c, h in zip("ABCDEF", ["KvK-nummer", "Naam onderneming", "SBI-code", "Postcode",
                                   "Huisnr", "Datum inschrijving"], strict=True)
    )  # fmt: skip
    row = "".join(
        f'<c r="{c}2" t="inlineStr"><is><t>{v}</t></is></c>'
        for c, v in zip("ABCDEF", ["12345678", "Bouw BV", "4120", "2991AB", "5", "01-02-2020"],
                        strict=True)
    )  # fmt: skip
    sheet = _sheet(f'<row r="1">{header}</row><row r="2">{row}</row>', "A1:XFD1048576")
    path = tmp_path / "kvk.xlsx"
    write_xlsx_member(path, "xl/worksheets/sheet1.xml", sheet)
    result = read_kvk_vestigingen(path)
    assert result.frame["kvk_nummer"].tolist() == ["12345678"]
    assert result.rijen_in == 1


def test_rows_beyond_excel_are_refused(tmp_path):
    path = tmp_path / "kvk.xlsx"
    write_xlsx_member(path, "xl/worksheets/sheet1.xml", _sheet(_row(1) + _row(2_000_000)))
    assert "meer dan 1.048.576 rijen" in _problem(path)


def test_too_many_cells_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "MAX_CELLS", 50_000)
    rows = "".join(_row(r, "XFD") for r in range(1, 6))  # 5 rows x 16384 columns
    path = tmp_path / "kvk.xlsx"
    write_xlsx_member(path, "xl/worksheets/sheet1.xml", _sheet(rows))
    assert "meer dan 50.000 cellen" in _problem(path)


def test_too_big_a_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(_read, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "kvk.csv"
    path.write_text(KVK_HEADER + "\n" + "\n".join(KVK_ROWS * 20), encoding="utf-8")
    assert "bestand is te groot" in _problem(path)

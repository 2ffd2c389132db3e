"""Time to refuse hostile or broken Excel files (not a test; prints figures).

Builds, in a temporary folder, XLSX zip bombs of 300 KB and 3 MB (about 1000:1, with a true
CRC so that they are valid zip files that openpyxl would unpack), a workbook that declares
A1:XFD1048576, one with a row beyond Excel's last and one with broken XML, and times
``read_kvk_vestigingen`` on each until its Dutch error. The issue's budget: under 5 s per
bomb (before: 109 s for the 300 KB bomb, over 300 s for the 3 MB one). Run::

    python benchmarks/bench_hostile_xlsx.py [--baseline]

``--baseline`` also times openpyxl itself on the 300 KB bomb (what bcba did before the
archive check; about a minute or more).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sources_fixtures import write_xlsx_bomb, write_xlsx_member  # noqa: E402

from bcba.errors import InputValidationError  # noqa: E402
from bcba.sources import read_kvk_vestigingen  # noqa: E402

SHEET = "xl/worksheets/sheet1.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _sheet(rows: str, dimension: str) -> bytes:
    return (
        f'<worksheet xmlns="{NS}"><dimension ref="{dimension}"/><sheetData>{rows}'
        "</sheetData></worksheet>"
    ).encode()


def _cell(r: int, col: str = "A") -> str:
    return f'<row r="{r}"><c r="{col}{r}" t="inlineStr"><is><t>x</t></is></c></row>'


def cases(folder: Path) -> dict[str, Path]:
    out = {}
    for label, packed in (("zip-bom 300 KB", 300_000), ("zip-bom 3 MB", 3_000_000)):
        path = folder / f"bom_{packed}.xlsx"
        write_xlsx_bomb(path, packed, true_crc=True)
        out[label] = path
    path = folder / "dimensie.xlsx"
    write_xlsx_member(path, SHEET, _sheet(_cell(1) + _cell(2, "XFD"), "A1:XFD1048576"))
    out["dimensie A1:XFD1048576"] = path
    path = folder / "rij_te_ver.xlsx"
    write_xlsx_member(path, SHEET, _sheet(_cell(1) + _cell(5_000_000), "A1:A5000000"))
    out["rij 5.000.000"] = path
    path = folder / "kapotte_xml.xlsx"
    write_xlsx_member(path, SHEET, _sheet(_cell(1), "A1:A2")[:-40])
    out["kapotte XML"] = path
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for label, path in cases(folder).items():
            start = time.perf_counter()
            try:
                read_kvk_vestigingen(path)
                outcome = "GELEZEN (verwacht: afgekeurd)"
            except InputValidationError as exc:
                outcome = exc.problems[0].check
            seconds = time.perf_counter() - start
            size = path.stat().st_size / 1000
            print(f"{label:26s} {size:9.0f} KB {seconds:8.3f} s  {outcome}")
        if args.baseline:
            import openpyxl

            path = folder / "bom_300000.xlsx"
            start = time.perf_counter()
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
            wb.close()
            seconds = time.perf_counter() - start
            print(f"{'openpyxl zonder controle':26s} {'300':>9s} KB {seconds:8.3f} s  {n} rij(en)")


if __name__ == "__main__":
    main()

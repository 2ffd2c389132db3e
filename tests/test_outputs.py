"""The files of a whole run: no formula in any CSV or Excel cell, no migration-background
column in any output, the workbook and the QGIS styles present. Input carries formula-like
trade names and department names, as a hostile delivery would."""

from __future__ import annotations

import csv
import re
import shutil

import openpyxl
import pandas as pd
import pyogrio
import pytest

pytestmark = pytest.mark.slow

#: Text a spreadsheet would run as a formula (a number such as -1,5 is not).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(,\d+)?([eE][+-]?\d+)?$")
MIGRATION = re.compile(r"herkomst|herkmst|migrat|nationalit|geboorteland", re.IGNORECASE)
PAYLOADS = ('=HYPERLINK("http://x","klik") ', "+31 ", "-", "@SUM(1+1) ")


def _is_formula(cell: str) -> bool:
    return cell[:1] in FORMULA_START and not NUMBER.match(cell)


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_dir):
    """One engine run on demo data whose companies and departments start with formulas."""
    from bcba.engine import analyse
    from bcba.runs import make_run_config

    raw = tmp_path_factory.mktemp("vijandig") / "GM0489"
    shutil.copytree(demo_dir, raw)
    kvk = pd.read_csv(raw / "kvk_vestigingen.csv", sep=";", dtype=str, keep_default_na=False)
    legal = kvk["handelsnaam"].str.contains("B.V.", regex=False)
    kvk.loc[legal, "handelsnaam"] = [
        PAYLOADS[i % len(PAYLOADS)] + name for i, name in enumerate(kvk.loc[legal, "handelsnaam"])
    ]
    kvk.to_csv(raw / "kvk_vestigingen.csv", sep=";", index=False)
    survey = pd.read_csv(raw / "enquete.csv", sep=";", dtype=str, keep_default_na=False)
    survey["Afdeling"] = "=" + survey["Afdeling"]
    survey.to_csv(raw / "enquete.csv", sep=";", index=False)

    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("BCBA_HOME", str(home))
    cfg = make_run_config(
        gemeente="GM0489",
        data_dir=raw,
        output_dir=home / "reports" / "run",
        periode=("2024-01-01", "2025-12-31"),
    )
    results = analyse(cfg)
    extra = {k: results.written[k] for k in ("werkboek", "qgis_project", "resultaten_gpkg")}
    yield results, extra, home
    mp.undo()


def _cells(path):
    if path.suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        first = text.split("\n", 1)[0]
        reader = csv.reader(text.splitlines(), delimiter=";" if ";" in first else ",")
        for row in reader:
            yield from row
    else:
        book = openpyxl.load_workbook(path, read_only=True)
        for ws in book.worksheets:
            for row in ws.iter_rows(values_only=True):
                yield from (v for v in row if isinstance(v, str))
        book.close()


def test_no_output_cell_starts_with_a_formula(run):
    results, extra, home = run
    files = [p for p in home.rglob("*") if p.suffix in (".csv", ".xlsx")]
    assert any(p.suffix == ".xlsx" for p in files)
    formulas, neutralised = [], 0
    for path in files:
        for cell in _cells(path):
            if _is_formula(cell):
                formulas.append((path.name, cell[:40]))
            neutralised += cell.startswith(("'=", "'+", "'@"))
    assert formulas == []
    # the hostile names did reach the outputs (networks, survey departments), made inert
    assert neutralised > 0


def test_no_migration_background_in_any_output(run):
    results, extra, home = run
    found = []
    for path in sorted(home.rglob("*")):
        if path.suffix == ".csv":
            header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0]
            columns = re.split(r"[;,]", header)
        elif path.suffix == ".gpkg":
            columns = [
                c
                for layer, _ in pyogrio.list_layers(path)
                for c in pyogrio.read_info(path, layer=layer)["fields"]
            ]
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            columns = pq.read_schema(path).names
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            columns = [
                str(v)
                for ws in book.worksheets
                for row in ws.iter_rows(max_row=2, values_only=True)
                for v in row
                if v is not None
            ]
            book.close()
        else:
            continue
        found += [(path.name, c) for c in columns if MIGRATION.search(str(c))]
    assert found == []
    # the analysis units themselves do carry them: the minimisation is what keeps them out
    assert any(MIGRATION.search(c) for c in results.inputs.area.buurten.columns)


def test_workbook_and_styled_geopackages(run):
    from bcba import qgis

    results, extra, home = run
    out = home / "reports" / "run"
    book = openpyxl.load_workbook(extra["werkboek"], read_only=True)
    assert book.sheetnames[:6] == [
        "Leeswijzer",
        "Scores per buurt",
        "Risicolocaties",
        "Signalen",
        "Rode vlaggen",
        "Netwerken",
    ]
    book.close()
    for path in out.rglob("*.gpkg"):
        styled = set(qgis.read_styles(path)["f_table_name"])
        layers = {name for name, _ in pyogrio.list_layers(path)} - {"layer_styles"}
        assert layers <= styled, path
    assert extra["qgis_project"].read_text(encoding="utf-8").count("<maplayer ") >= 6

"""Readers: encodings, delimiters, XLSX, header variants, parsing, errors as the analyst sees them."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from sources_fixtures import (
    BAG_HEADER,
    BAG_ROWS,
    FUNC_HEADER,
    FUNC_ROWS,
    KAD_HEADER,
    KAD_ROWS,
    KEY,
    KVK_HEADER,
    KVK_ROWS,
    MAPPING,
    PARTNER_HEADER,
    PARTNER_ROWS,
    SURVEY_HEADER,
    SURVEY_ROWS,
    write_csv,
    write_xlsx,
)

from bcba.errors import InputValidationError
from bcba.sources import (
    read_bag,
    read_kadaster,
    read_kvk_functionarissen,
    read_kvk_vestigingen,
    read_partners,
    read_survey,
)
from bcba.sources._read import (
    Problems,
    parse_bool,
    parse_date,
    parse_digits,
    parse_number,
    parse_postcode,
    read_table,
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_kvk_encodings_and_delimiters(tmp_path, encoding, sep):
    header = KVK_HEADER.replace(";", sep)
    rows = [r.replace(";", sep) for r in KVK_ROWS]
    path = write_csv(tmp_path / "kvk.csv", header, rows, encoding=encoding)
    result = read_kvk_vestigingen(path)
    frame = result.frame
    assert frame["handelsnaam"].tolist() == ["Café Één", "Bouw BV", "Bouw BV", "Nagelstudio Ë"]
    assert frame["kvk_nummer"].tolist() == ["01234567", "87654321", "87654321", "11112222"]
    assert frame["vestigingsnummer"].iloc[0] == "000012345678"
    assert frame["postcode"].tolist() == ["2991AA", "2991AB", "2991AB", "2992XA"]
    assert frame["datum_inschrijving"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-02-01",
        "2024-03-15",
        "2024-03-15",
        "2023-03-15",
    ]
    assert frame["datum_uitschrijving"].isna().tolist() == [True, True, False, True]
    assert frame["werkzame_personen"].tolist()[:2] == [3, 12]
    assert frame["dq_redenen"].tolist() == ["", "", "sbi_onbekend", ""]
    assert frame["bron_rij"].tolist() == [2, 3, 4, 5]


def test_kvk_xlsx_named_sheet_and_numbers(tmp_path):
    path = tmp_path / "kvk.xlsx"
    write_xlsx(path, KVK_HEADER, KVK_ROWS, sheet="Export")
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Export"]
    ws["A2"] = 1234567  # Excel turned the KvK number into a number: leading zero lost
    ws["L2"] = pd.Timestamp("2020-02-01").to_pydatetime()
    wb.save(path)
    frame = read_kvk_vestigingen(path, sheet="Export").frame
    assert frame["kvk_nummer"].iloc[0] == "01234567"
    assert frame["datum_inschrijving"].iloc[0] == pd.Timestamp("2020-02-01")
    with pytest.raises(InputValidationError, match="werkblad 'Nope' bestaat niet"):
        read_kvk_vestigingen(path, sheet="Nope")


def test_extra_columns_kept_aside(tmp_path):
    path = write_csv(
        tmp_path / "kvk.csv", KVK_HEADER + ";Opmerking intern", [r + ";x" for r in KVK_ROWS]
    )
    result = read_kvk_vestigingen(path)
    assert result.extra_kolommen == ["Opmerking intern"]
    assert "Opmerking intern" not in result.frame.columns


def test_error_names_file_row_column_check_and_fix(tmp_path):
    rows = list(KVK_ROWS)
    rows[2] = rows[2].replace("15/03/2024", "31-02-2024").replace(";99;", ";x;")
    path = write_csv(tmp_path / "kvk_vestigingen.csv", KVK_HEADER, rows)
    with pytest.raises(InputValidationError) as info:
        read_kvk_vestigingen(path)
    problems = {(p.row, p.column): p for p in info.value.problems}
    assert set(problems) == {(4, "Datum inschrijving"), (4, "Huisnr")}
    date = problems[(4, "Datum inschrijving")]
    assert (date.file, date.check, date.value) == (
        "kvk_vestigingen.csv",
        "ongeldige datum",
        "31-02-2024",
    )
    text = str(info.value)
    assert "bestand kvk_vestigingen.csv, rij 4, kolom 'Datum inschrijving': ongeldige datum" in text
    assert "Oplossing:" in text


def test_missing_required_columns_all_listed(tmp_path):
    header = KVK_HEADER.replace("SBI-code", "Branche").replace("Postcode", "PC-x")
    path = write_csv(tmp_path / "kvk.csv", header, KVK_ROWS)
    with pytest.raises(InputValidationError) as info:
        read_kvk_vestigingen(path)
    assert {(p.column, p.check) for p in info.value.problems} == {
        ("sbi_code", "verplichte kolom ontbreekt"),
        ("postcode", "verplichte kolom ontbreekt"),
    }


def test_empty_and_header_only_and_unknown_type(tmp_path):
    empty = tmp_path / "a.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputValidationError, match="bestand is leeg"):
        read_kvk_vestigingen(empty)
    header_only = write_csv(tmp_path / "b.csv", KVK_HEADER, [])
    with pytest.raises(InputValidationError, match="geen gegevensrijen"):
        read_kvk_vestigingen(header_only)
    odd = tmp_path / "c.json"
    odd.write_text("{}")
    with pytest.raises(InputValidationError, match="onbekend bestandstype"):
        read_kvk_vestigingen(odd)
    broken = tmp_path / "d.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputValidationError, match="kan niet worden gelezen"):
        read_kvk_vestigingen(broken)


def test_empty_rows_counted_not_silently_dropped(tmp_path):
    path = write_csv(tmp_path / "kvk.csv", KVK_HEADER, [KVK_ROWS[0], ";;;;;;;;;;;;;", KVK_ROWS[1]])
    result = read_kvk_vestigingen(path)
    assert result.rijen_in == 3
    assert result.lege_rijen == 1
    assert result.rijen_uit + result.lege_rijen == result.rijen_in
    assert result.frame["bron_rij"].tolist() == [2, 4]


def test_functionarissen_pseudonymised_and_names_hidden(tmp_path):
    path = write_csv(tmp_path / "f.csv", FUNC_HEADER, FUNC_ROWS, encoding="utf-8-sig")
    result = read_kvk_functionarissen(path, key=KEY)
    frame = result.frame
    assert "naam" not in frame.columns and "geboortedatum" not in frame.columns
    from bcba.privacy import pseudonym

    assert frame["persoon_id"].tolist()[0] == pseudonym(KEY, "Jan de Vries", "1980-01-31")
    assert frame["persoon_id"].iloc[0] == frame["persoon_id"].iloc[1]
    assert result.names == {"Jan de Vries", "Ëlse Bakker"}
    assert "Jan de Vries" not in repr(result)
    bad = [FUNC_ROWS[0].replace("31-01-1980", "1980-99-99")]
    with pytest.raises(InputValidationError) as info:
        read_kvk_functionarissen(write_csv(tmp_path / "g.csv", FUNC_HEADER, bad), key=KEY)
    text = str(info.value)
    assert "1980-99-99" not in text and "Jan de Vries" not in text
    assert "waarde verborgen (persoonsgegeven)" in text


def test_kadaster_parsing_and_parties(tmp_path):
    path = write_csv(tmp_path / "kad.csv", KAD_HEADER, KAD_ROWS)
    result = read_kadaster(path, key=KEY)
    frame = result.frame
    assert frame["koopsom"].tolist() == [1_250_000.0, 1_400_000.0, 350_000.0]
    assert frame["woz_waarde"].tolist()[:2] == [900_000.0, 900_000.0]
    assert frame["hypotheek"].tolist() == [False, True, True]
    assert frame["koper_id"].tolist()[:2] == ["K-87654321", "R-holding-x-bv"]
    assert frame["koper_id"].iloc[2].startswith("P-")
    assert frame["verkoper_id"].iloc[0].startswith("P-")
    assert frame["koper_naam"].isna().tolist() == [False, False, True]
    assert frame["verkoper_naam"].isna().tolist() == [True, False, True]
    assert result.names == {"Piet Jansen", "Émile Dubois", "Klaas Smit"}


def test_bag_csv_and_gpkg(tmp_path):
    path = write_csv(tmp_path / "bag.csv", BAG_HEADER, BAG_ROWS)
    frame = read_bag(path).frame
    assert frame.crs == "EPSG:28992"
    assert frame["adres_id"].iloc[0] == "0489010000000001"
    assert frame["huisnummer"].dtype == "Int64"
    gpkg = tmp_path / "bag_adressen.gpkg"
    frame.drop(columns=["bron_bestand", "bron_rij", "dq_redenen", "x", "y"]).rename(
        columns={"adres_id": "identificatie"}
    ).to_file(gpkg)
    again = read_bag(gpkg).frame
    assert again["adres_id"].tolist() == frame["adres_id"].tolist()
    assert np.allclose(again["x"], frame["x"])


def test_survey_and_partners_mask_names(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    survey = read_survey(
        write_csv(tmp_path / "e.csv", SURVEY_HEADER, SURVEY_ROWS),
        tmp_path / "m.yaml",
        known_names={"Jan de Vries"},
    ).frame
    assert survey.percepties["score"].tolist() == [4, 1, 2, 5, 3]
    assert survey.signalen["tekst_gemaskeerd"].tolist() == [
        "Drugshandel bij [persoon] thuis",
        "Verdacht pand",
    ]
    assert survey.signalen[["postcode", "huisnummer"]].values.tolist() == [
        ["2991AA", 1],
        ["2991AB", 7],
    ]
    assert "tekst" not in survey.signalen.columns
    partners = read_partners(
        [write_csv(tmp_path / "p.csv", PARTNER_HEADER, PARTNER_ROWS)], known_names={"Klaas Smit"}
    ).frame
    assert partners["omschrijving_gemaskeerd"].iloc[0] == "Pand van [persoon]"
    assert partners["gewicht"].tolist() == [2.0, 1.0, 1.5]
    assert partners["thema"].tolist() == ["drugs", "drugs", "mensenhandel"]


def test_survey_bad_answers_and_mapping(tmp_path):
    (tmp_path / "m.yaml").write_text(MAPPING.replace("mensenhandel:", "onzin:"), encoding="utf-8")
    rows = [SURVEY_ROWS[0].replace("vaak;2", "misschien;2")]
    with pytest.raises(InputValidationError) as info:
        read_survey(write_csv(tmp_path / "e.csv", SURVEY_HEADER, rows), tmp_path / "m.yaml")
    checks = [p.check for p in info.value.problems]
    assert "onbekend thema in 'percepties'" in checks
    (tmp_path / "m.yaml").write_text(MAPPING, encoding="utf-8")
    with pytest.raises(InputValidationError) as info:
        read_survey(write_csv(tmp_path / "e.csv", SURVEY_HEADER, rows), tmp_path / "m.yaml")
    (problem,) = info.value.problems
    assert (problem.row, problem.column, problem.value) == (2, "V3 Drugs", "misschien")


def test_raw_file_unchanged(tmp_path):
    path = write_csv(tmp_path / "kad.csv", KAD_HEADER, KAD_ROWS)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    read_kadaster(path, key=KEY)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_parsers():
    dates, bad = parse_date(
        pd.Series(
            ["31-01-2024", "1-2-2024", "2024-02-03", "03/04/2024", "45292", "", "x", "2024-02-30"],
            dtype=object,
        )
    )
    assert dates.dt.strftime("%Y-%m-%d").tolist()[:5] == [
        "2024-01-31",
        "2024-02-01",
        "2024-02-03",
        "2024-04-03",
        "2024-01-01",
    ]
    assert bad.tolist() == [False] * 6 + [True, True]
    nums, bad = parse_number(
        pd.Series(
            ["€ 1.250.000,00", "1250000", "1.250.000", "12,5", "1250.5", 7, "abc", ""], dtype=object
        )
    )
    assert nums.tolist()[:6] == [1_250_000.0, 1_250_000.0, 1_250_000.0, 12.5, 1250.5, 7.0]
    assert bad.tolist() == [False] * 6 + [True, False]
    pcs, bad = parse_postcode(pd.Series([" 2991 ab", "2991AB", "0123AB", "29911"], dtype=object))
    assert pcs.tolist()[:2] == ["2991AB", "2991AB"] and bad.tolist() == [False, False, True, True]
    ids, bad = parse_digits(
        pd.Series(["1234567", "12345678.0", "123456789", "12a"], dtype=object), 8
    )
    assert ids.tolist()[:2] == ["01234567", "12345678"] and bad.tolist() == [
        False,
        False,
        True,
        True,
    ]
    flags, bad = parse_bool(pd.Series(["ja", "N", "true", "0", "", "soms"], dtype=object))
    assert flags.tolist()[:4] == [True, False, True, False] and bad.tolist() == [False] * 5 + [True]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_read_table_same_cells_for_every_line_ending(tmp_path, newline):
    # LF and CRLF take the pyarrow path, bare CR the csv module: the cells must not differ
    lines = ["a;b;c", " 1 ;x;", "2; y ;z", ";;", "3;;w "]
    path = tmp_path / "t.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    table = read_table(path, problems=Problems())
    assert table.frame.columns.tolist() == ["a", "b", "c", "bron_rij"]
    assert table.frame[["a", "b", "c"]].astype(object).values.tolist() == [
        ["1", "x", ""],
        ["2", "y", "z"],
        ["3", "", "w"],
    ]
    assert table.frame["bron_rij"].tolist() == [2, 3, 5]
    assert (table.n_rows_in, table.empty_rows) == (4, 1)


def test_parse_on_distinct_arrow_strings_same_as_object():
    cells = ["2991AB", " 2991 ab", "x", ""] * 100  # over the distinct-values threshold
    for dtype in (object, "str"):
        pcs, bad = parse_postcode(pd.Series(cells, dtype=dtype))
        assert str(pcs.dtype) == "str"
        assert pcs.tolist()[:2] == ["2991AB", "2991AB"]
        assert pcs.isna().tolist()[:4] == [False, False, True, True]
        assert bad.tolist()[:4] == [False, False, True, False]

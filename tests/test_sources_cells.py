"""Any text in any typed cell of any reader: the documented value, or one clear Dutch problem
naming file, Excel row and column (as written), never another exception.

One cell of an otherwise valid extract is replaced by generated text (written as an Excel
text cell, so that no delimiter sniffing is involved) and the reader's outcome is compared
with the cell-by-cell reference parsers in ``sources_oracles``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import openpyxl
import pandas as pd
import pytest
import sources_oracles as oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
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
    PARTNER_HEADER,
    PARTNER_ROWS,
)

from bcba.errors import InputValidationError
from bcba.sources import (
    read_bag,
    read_kadaster,
    read_kvk_functionarissen,
    read_kvk_vestigingen,
    read_partners,
)
from bcba.sources._read import HIDDEN, fold_header
from bcba.sources.categories import TARGETS
from bcba.themes import THEME_IDS

SAMPLES = [
    "", " ", "0", "-1", "12", "12.0", "12,5", "1.250.000,00", "€ -5", "1e5", "٣١", "１２",
    "12345678901234567890", "31-12-9999", "9999-12-31", "01-01-1600", "31-02-2024",
    "29-02-2024", "45292", "2958465", "01-02-2020", "2024-03-15 10:00", "99991231",
    "2991 ab", "0123AB", "ja", "NEE", "x", "=1+1", "-", ".", "   7   ", "00000000",
    "123456789012", "0489010000000001", "96539", "300001", "drugs", "Opiumwet", "overlast",
]  # fmt: skip
cell_text = st.one_of(
    st.sampled_from(SAMPLES),
    st.text(max_size=25).map(lambda t: ILLEGAL_CHARACTERS_RE.sub("", t)),
    st.from_regex(r"-?[0-9]{1,20}([.,][0-9]{0,3})?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}", fullmatch=True),
)


def _kvk(path):
    return read_kvk_vestigingen(path)


def _func(path):
    return read_kvk_functionarissen(path, key=KEY)


def _kad(path):
    return read_kadaster(path, key=KEY)


def _bag(path):
    return read_bag(path)


def _partners(path):
    return read_partners([path])


def _nonneg(v):
    return oracle.ERR if v not in (None, oracle.ERR) and v < 0 else v


def _positive(v):
    return oracle.ERR if v not in (None, oracle.ERR) and v <= 0 else v


def _required(v):
    return oracle.ERR if v is None else v


def _within(lo, hi):
    return lambda v: oracle.ERR if v in (None, oracle.ERR) or not lo <= v <= hi else v


#: reader, header, rows, separator, header label, output column, reference for the cell
CASES: dict[str, tuple] = {
    "kvk-kvknummer": (_kvk, KVK_HEADER, KVK_ROWS, ";", "KvK-nummer", "kvk_nummer",
                      lambda t: _required(oracle.digits(t, 8))),
    "kvk-vestigingsnr": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Vestigingsnr", "vestigingsnummer",
                         lambda t: oracle.digits(t, 12)),
    "kvk-sbi": (_kvk, KVK_HEADER, KVK_ROWS, ";", "SBI-code", "sbi_code", oracle.sbi),
    "kvk-postcode": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Postcode", "postcode", oracle.postcode),
    "kvk-huisnr": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Huisnr", "huisnummer",
                   lambda t: _positive(oracle.integer(t))),
    "kvk-inschrijving": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Datum inschrijving",
                         "datum_inschrijving", lambda t: _required(oracle.date(t))),
    "kvk-uitschrijving": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Datum uitschrijving",
                          "datum_uitschrijving", lambda t: oracle.date(t, open_end=True)),
    "kvk-personen": (_kvk, KVK_HEADER, KVK_ROWS, ";", "Werkzame personen", "werkzame_personen",
                     lambda t: _nonneg(oracle.integer(t))),
    "func-geboortedatum": (_func, FUNC_HEADER, FUNC_ROWS, ",", "Geb. datum", None, oracle.date),
    "func-einde": (_func, FUNC_HEADER, FUNC_ROWS, ",", "Datum einde", "datum_einde",
                   lambda t: oracle.date(t, open_end=True)),
    "kad-koopsom": (_kad, KAD_HEADER, KAD_ROWS, "\t", "Koopsom (EUR)", "koopsom",
                    lambda t: _required(_nonneg(oracle.number(t)))),
    "kad-woz": (_kad, KAD_HEADER, KAD_ROWS, "\t", "WOZ", "woz_waarde",
                lambda t: _nonneg(oracle.number(t))),
    "kad-hypotheek": (_kad, KAD_HEADER, KAD_ROWS, "\t", "Hypotheek", "hypotheek", oracle.boolean),
    "kad-datum": (_kad, KAD_HEADER, KAD_ROWS, "\t", "Transportdatum", "datum",
                  lambda t: _required(oracle.date(t))),
    "bag-id": (_bag, BAG_HEADER, BAG_ROWS, ";", "adresseerbaar_object_id", "adres_id",
               lambda t: _required(oracle.digits(t, 16))),
    "bag-x": (_bag, BAG_HEADER, BAG_ROWS, ";", "x", "x",
              lambda t: _within(0, 300_000)(oracle.number(t))),
    "partners-datum": (_partners, PARTNER_HEADER, PARTNER_ROWS, ";", "datum", "datum",
                       lambda t: _required(oracle.date(t))),
    "partners-gewicht": (_partners, PARTNER_HEADER, PARTNER_ROWS, ";", "gewicht", "gewicht",
                         lambda t: 1.0 if oracle.number(t) is None
                         else _positive(oracle.number(t))),
    "partners-x": (_partners, PARTNER_HEADER, PARTNER_ROWS, ";", "x", "x", oracle.number),
}  # fmt: skip


def _write(path, header: str, rows: list[str], sep: str, label: str, texts: list[str]) -> None:
    """Row ``i + 2`` is ``rows[0]`` with ``texts[i]`` in column ``label`` (Excel text cells);
    the other rows of ``rows`` follow unchanged."""
    wb = openpyxl.Workbook()
    ws = wb.active
    labels = header.split(sep)
    col = labels.index(label)
    table = [labels]
    for text in texts:
        row = rows[0].split(sep)
        row[col] = text
        table.append(row)
    table += [r.split(sep) for r in rows[1:]]
    for r, values in enumerate(table, start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(r, c)
            cell.value = value
            cell.data_type = "s"  # text as typed, also '=1+1' or '12'
    wb.save(path)


def _same(got, expected) -> bool:
    if expected is None:
        return got is None or pd.isna(got)
    if got is None or (not isinstance(got, str) and pd.isna(got)):
        return False
    if isinstance(expected, float):
        return math.isclose(float(got), expected, rel_tol=1e-15)
    if hasattr(expected, "year") and not isinstance(expected, pd.Timestamp):
        return pd.Timestamp(got) == pd.Timestamp(expected)
    if isinstance(expected, bool):
        return bool(got) is expected
    return got == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_any_text_in_a_typed_cell(tmp_path, case):
    reader, header, rows, sep, label, column, reference = CASES[case]
    rows = rows[1:] if case.startswith("kvk") else rows  # KVK_ROWS[0] has a 7-digit KvK number

    @settings(
        max_examples=5,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(texts=st.lists(cell_text, min_size=1, max_size=10))
    def check(texts):
        # one row per text: exactly the rows whose cell the reference refuses are reported,
        # each with file, Excel row and the column as written
        expected = [reference(t) for t in texts]
        refused = {i + 2 for i, e in enumerate(expected) if e == oracle.ERR}
        path = tmp_path / "extract.xlsx"
        _write(path, header, rows, sep, label, texts)
        try:
            reader(path)
            reported = set()
        except InputValidationError as exc:
            for problem in exc.problems:
                assert (problem.file, problem.column) == (path.name, label), problem
                assert problem.fix and problem.to_dutch().startswith("bestand extract.xlsx")
                if column is None:  # a personal column: the value is never shown
                    assert problem.value in (None, HIDDEN)
            reported = {p.row for p in exc.problems}
        assert reported == refused, (texts, expected)
        # the accepted cells are read as the reference reads them
        kept = [(t, e) for t, e in zip(texts, expected, strict=True) if e != oracle.ERR]
        if not kept or column is None:
            return
        _write(path, header, rows, sep, label, [t for t, _ in kept])
        frame = reader(path).frame.set_index("bron_rij")
        for i, (text, value) in enumerate(kept):
            got = frame.loc[i + 2, column]
            assert _same(got, value), (text, got, value)

    check()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=cell_text)
def test_any_text_as_partner_category_is_kept(tmp_path, text):
    # a partner category never rejects the delivery: a theme id, or 'overig' when unmapped
    path = tmp_path / "politie.xlsx"
    _write(path, PARTNER_HEADER, PARTNER_ROWS, ";", "thema", [text])
    frame = read_partners([path]).frame.set_index("bron_rij")
    written = text.strip()
    assert frame.loc[2, "thema"] in TARGETS
    if written:
        assert frame.loc[2, "categorie_bron"] == written
        if fold_header(written) in {fold_header(t) for t in THEME_IDS}:
            assert fold_header(frame.loc[2, "thema"]) == fold_header(written)
    else:  # no thema: the 'soort' of the row decides ('hennepkwekerij' is drugs)
        assert frame.loc[2, "categorie_bron"] == "hennepkwekerij"
        assert frame.loc[2, "thema"] == "drugs"


def test_reader_table_is_complete():
    # every typed column kind of every reader is exercised above
    kinds: set[Callable] = {case[0] for case in CASES.values()}
    assert kinds == {_kvk, _func, _kad, _bag, _partners}

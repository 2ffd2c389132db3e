"""Property-based tests: damaged extracts give a correct result or one InputValidationError."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

READERS = {
    "kvk": (lambda p: read_kvk_vestigingen(p), KVK_HEADER, KVK_ROWS, ";"),
    "func": (lambda p: read_kvk_functionarissen(p, key=KEY), FUNC_HEADER, FUNC_ROWS, ","),
    "kad": (lambda p: read_kadaster(p, key=KEY), KAD_HEADER, KAD_ROWS, "\t"),
    "bag": (lambda p: read_bag(p), BAG_HEADER, BAG_ROWS, ";"),
    "partners": (lambda p: read_partners([p]), PARTNER_HEADER, PARTNER_ROWS, ";"),
}

#: output column -> the input columns (header labels) it is computed from
SOURCES = {
    "kvk": {
        "kvk_nummer": ["KvK-nummer"],
        "vestigingsnummer": ["Vestigingsnr"],
        "handelsnaam": ["Naam onderneming"],
        "rechtsvorm": ["Rechtsvorm"],
        "sbi_code": ["SBI-code"],
        "straat": ["Straat"],
        "huisnummer": ["Huisnr"],
        "huisletter": ["Huisletter"],
        "toevoeging": ["Toev."],
        "postcode": ["Postcode"],
        "plaats": ["Woonplaats"],
        "datum_inschrijving": ["Datum inschrijving"],
        "datum_uitschrijving": ["Datum uitschrijving"],
        "werkzame_personen": ["Werkzame personen"],
    },
    "func": {
        "kvk_nummer": ["KVK nr"],
        "persoon_id": ["Naam", "Geb. datum"],
        "functie": ["Functie"],
        "datum_aanvang": ["Datum aanvang"],
        "datum_einde": ["Datum einde"],
    },
    "kad": {
        "transactie_id": ["Transactie-ID"],
        "datum": ["Transportdatum"],
        "koopsom": ["Koopsom (EUR)"],
        "postcode": ["Postcode"],
        "huisnummer": ["Huisnummer"],
        "huisletter": ["Huisletter"],
        "toevoeging": ["Toevoeging"],
        "koper_id": ["Koper naam", "Koper type", "Koper KvK-nummer"],
        "koper_naam": ["Koper naam", "Koper type", "Koper KvK-nummer"],
        "koper_type": ["Koper naam", "Koper type", "Koper KvK-nummer"],
        "verkoper_id": ["Verkoper naam", "Verkoper type"],
        "hypotheek": ["Hypotheek"],
        "woz_waarde": ["WOZ"],
    },
    "bag": {
        "adres_id": ["adresseerbaar_object_id"],
        "straat": ["straat"],
        "huisnummer": ["huisnummer"],
        "huisletter": ["huisletter"],
        "toevoeging": ["toevoeging"],
        "postcode": ["postcode"],
        "plaats": ["plaats"],
        "gebruiksdoel": ["gebruiksdoel"],
        "oppervlakte": ["oppervlakte"],
        "x": ["x"],
        "y": ["y"],
    },
    "partners": {
        "bron": ["bron"],
        "thema": ["bron", "thema", "soort"],
        "categorie_bron": ["thema", "soort"],
        "soort": ["soort"],
        "datum": ["datum"],
        "x": ["x"],
        "y": ["y"],
        "postcode": ["postcode"],
        "huisnummer": ["huisnummer"],
        "buurtcode": ["buurtcode"],
        "omschrijving_gemaskeerd": ["omschrijving"],
        "gewicht": ["gewicht"],
    },
}

garbage = st.text(alphabet=string.printable + "éëÉ€\u00a0", max_size=12)


@dataclass
class Damaged:
    data: bytes
    header: list[str]  # the header labels kept
    rows: list[tuple[int, set[str]]]  # per body row: fixture row and the labels garbled


@st.composite
def damaged(draw, header: str, rows: list[str], sep: str) -> Damaged:
    table = [header.split(sep)] + [r.replace('\\"', "").split(sep) for r in rows]
    width = len(table[0])
    n_rows = draw(st.integers(0, 6))
    picks = [draw(st.integers(0, len(rows) - 1)) for _ in range(n_rows)]
    body = [list(table[1 + i]) for i in picks]
    touched: list[set[int]] = [set() for _ in body]
    for _ in range(draw(st.integers(0, 6))):  # garbage cells
        if body:
            r, c = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, width - 1))
            body[r][c] = (
                draw(garbage).replace(sep, "").replace("\n", "").replace("\r", "").replace('"', "")
            )
            touched[r].add(c)
    for _ in range(draw(st.integers(0, 2))):  # wholly empty rows, as exports have them
        at = draw(st.integers(0, len(body)))
        body.insert(at, [""] * width)
        touched.insert(at, set(range(width)))
        picks.insert(at, -1)
    labels = list(table[0])
    drop = sorted(draw(st.sets(st.integers(0, width - 1), max_size=3)), reverse=True)
    kept = [c for c in range(width) if c not in drop]
    lines = [sep.join(labels[c] for c in kept)] + [sep.join(r[c] for c in kept) for r in body]
    text = "\n".join(lines)
    if body and draw(st.booleans()):  # truncated file: cut somewhere in the body
        cut = draw(st.integers(len(lines[0]) + 1, len(text)))
        text = text[:cut]
        last = text.count("\n") - 1  # body row the cut falls in
        body, touched = body[: last + 1], touched[: last + 1]
        if body:
            touched[-1] = set(range(width))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    return Damaged(
        data,
        [labels[c] for c in kept],
        [(picks[i], {labels[c] for c in touched[i]}) for i in range(len(body))],
    )


def _missing(value) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def _same(got, want) -> bool:
    if _missing(want):
        return _missing(got)
    if isinstance(want, float):
        return isinstance(got, float) and math.isclose(got, want, rel_tol=1e-12)
    return got == want


@pytest.mark.parametrize("name", sorted(READERS))
def test_damaged_input_gives_correct_values_or_validation_error(tmp_path, name):
    reader, header, rows, sep = READERS[name]
    clean_path = tmp_path / f"clean_{name}.csv"
    clean_path.write_text("\n".join([header, *(r.replace('\\"', "") for r in rows)]))
    clean = reader(clean_path).frame.set_index("bron_rij")  # fixture row i -> Excel row i + 2

    @SETTINGS
    @given(case=damaged(header, rows, sep))
    def check(case):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(case.data)
        try:
            result = reader(path)
        except InputValidationError as exc:  # only this: any other error is a bug
            assert exc.problems, "an InputValidationError lists at least one problem"
            assert {p.file for p in exc.problems} <= {path.name, str(path)}
            return
        # no silent loss: every data row in the file is either returned or counted as empty
        assert result.rijen_uit + result.lege_rijen == result.rijen_in
        assert result.rijen_uit > 0
        frame = result.frame.set_index("bron_rij")
        assert frame.index.is_unique
        # every value computed only from untouched cells equals the value of the clean file
        for excel_row, (fixture, garbled) in enumerate(case.rows, start=2):
            if excel_row not in frame.index or fixture < 0:
                assert excel_row not in frame.index or fixture >= 0, "an empty row was kept"
                continue  # a wholly empty row, counted in lege_rijen
            for column, labels in SOURCES[name].items():
                if garbled & set(labels) or not set(labels) <= set(case.header):
                    continue
                got, want = frame.loc[excel_row, column], clean.loc[fixture + 2, column]
                assert _same(got, want), (column, excel_row, got, want)

    check()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.lists(
        st.one_of(
            garbage,
            st.integers(-(10**9), 10**12).map(str),
            st.floats(allow_nan=False, allow_infinity=False).map(str),
        ),
        min_size=14,
        max_size=14,
    )
)
def test_random_row_kvk(tmp_path, cells):
    path = tmp_path / "kvk.csv"
    clean = [c.replace(";", "").replace("\n", "").replace("\r", "").replace('"', "") for c in cells]
    path.write_bytes((KVK_HEADER + "\n" + ";".join(clean) + "\n").encode("utf-8"))
    try:
        result = read_kvk_vestigingen(path)
    except InputValidationError as exc:
        assert all(p.file == "kvk.csv" for p in exc.problems)
        return
    assert result.rijen_uit + result.lege_rijen == 1

"""Property-based tests: damaged extracts give a correct result or one InputValidationError."""

from __future__ import annotations

import string

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

from bcba.errors import BcbaError, InputValidationError
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

garbage = st.text(alphabet=string.printable + "éëÉ€\u00a0", max_size=12)


@st.composite
def damaged(draw, header: str, rows: list[str], sep: str):
    table = [header.split(sep)] + [r.replace('\\"', "").split(sep) for r in rows]
    width = len(table[0])
    n_rows = draw(st.integers(0, 6))
    body = [list(table[1 + draw(st.integers(0, len(rows) - 1))]) for _ in range(n_rows)]
    for _ in range(draw(st.integers(0, 6))):  # garbage cells
        if body:
            r, c = draw(st.integers(0, len(body) - 1)), draw(st.integers(0, width - 1))
            body[r][c] = (
                draw(garbage).replace(sep, "").replace("\n", "").replace("\r", "").replace('"', "")
            )
    header_cells = list(table[0])
    drop = sorted(draw(st.sets(st.integers(0, width - 1), max_size=3)), reverse=True)
    for c in drop:  # missing columns
        del header_cells[c]
        for row in body:
            del row[c]
    text = "\n".join(sep.join(r) for r in [header_cells, *body])
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"])), errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # truncated file
    return data


@pytest.mark.parametrize("name", sorted(READERS))
def test_damaged_input_gives_result_or_validation_error(tmp_path, name):
    reader, header, rows, sep = READERS[name]

    @SETTINGS
    @given(data=damaged(header, rows, sep))
    def check(data):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        try:
            result = reader(path)
        except InputValidationError as exc:
            assert exc.problems, "an InputValidationError lists at least one problem"
            return
        except BcbaError:
            return
        # no silent loss: every data row in the file is either returned or counted as empty
        assert result.rijen_uit + result.lege_rijen == result.rijen_in
        assert result.rijen_uit > 0
        assert result.frame["bron_rij"].is_unique

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

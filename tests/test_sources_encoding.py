"""Encodings per line: a UTF-8 file with a few Windows-1252 lines reads every name right.

Before: one cp1252 line made the whole file decode as cp1252, so every accented name in the
UTF-8 lines became mojibake (other pseudonyms, failed name masking).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_fixtures import KEY, PERIODE, make_raw_dir

from bcba import privacy
from bcba.sources import load_inputs
from bcba.sources._read import Problems, _decode, read_table

FUNC_HEADER = "KVK nr;Naam;Geb. datum;Functie;Datum aanvang;Datum einde"
#: (kvk, naam, geboortedatum) — names with diacritics that Windows-1252 can hold
PEOPLE = [
    ("01234567", "Jan de Vries", "31-01-1980"),
    ("87654321", "José Müller", "02-03-1975"),
    ("87654321", "Ëlse Bakker", "1975-06-02"),
    ("11112222", "Zoë van Dijk", "14-11-1990"),
    ("11112222", "François Çelik", "07-07-1969"),
]


def _line(kvk: str, naam: str, geb: str, functie: str = "Bestuurder") -> str:
    return f"{kvk};{naam};{geb};{functie};01-02-2020;"


def _write(path, encodings: list[str], *, functie_row2: str = "Bestuurder") -> None:
    """Header in UTF-8, person i on its own line in ``encodings[i]``."""
    parts = [FUNC_HEADER.encode("utf-8")]
    for i, ((kvk, naam, geb), enc) in enumerate(zip(PEOPLE, encodings, strict=True)):
        parts.append(_line(kvk, naam, geb, functie_row2 if i == 0 else "Bestuurder").encode(enc))
    path.write_bytes(b"\r\n".join(parts) + b"\r\n")


def _expected_ids() -> list[str]:
    # the oracle: the pseudonym of the name as the analyst wrote it
    iso = {"31-01-1980": "1980-01-31", "02-03-1975": "1975-03-02", "1975-06-02": "1975-06-02"}
    iso |= {"14-11-1990": "1990-11-14", "07-07-1969": "1969-07-07"}
    return [privacy.pseudonym(KEY, naam, iso[geb]) for _, naam, geb in PEOPLE]


def _coding(inputs, bron: str):
    kw = inputs.kwaliteit
    return kw[(kw["bron"] == bron) & (kw["controle"] == "codering")]


@pytest.mark.parametrize(
    ("name", "encodings", "rows"),
    [
        ("utf-8", ["utf-8"] * 5, None),
        ("cp1252", ["cp1252"] * 5, "rijen 3, 4, 5 en 6"),
        ("gemengd", ["utf-8", "cp1252", "utf-8", "cp1252", "utf-8"], "rijen 3 en 5"),
    ],
)
def test_same_pseudonyms_from_utf8_cp1252_and_mixed_files(tmp_path, name, encodings, rows):
    raw = make_raw_dir(tmp_path / "raw")
    _write(raw / "kvk_functionarissen.csv", encodings)
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert inputs.kvk_functionarissen["persoon_id"].tolist() == _expected_ids()
    assert {p[1] for p in PEOPLE} <= inputs._names
    note = _coding(inputs, "kvk_functionarissen")
    if rows is None:
        assert note.empty
        return
    assert note["aantal"].tolist() == [len(re.findall(r"\d+", rows))]
    text = note["toelichting"].iloc[0]
    assert rows in text and "Windows-1252" in text
    assert ("niet in UTF-8 opgeslagen" in text) == (name == "cp1252")


def test_coding_note_names_excel_rows_when_a_cell_spans_lines(tmp_path):
    # row 2's Functie holds a line break, so the cp1252 person on physical line 5 is Excel row 4
    raw = make_raw_dir(tmp_path / "raw")
    encodings = ["utf-8", "utf-8", "cp1252", "utf-8", "utf-8"]
    _write(raw / "kvk_functionarissen.csv", encodings, functie_row2='"Eigenaar\r\nsinds 2020"')
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert inputs.kvk_functionarissen["persoon_id"].tolist() == _expected_ids()
    assert inputs.kvk_functionarissen["functie"].iloc[0] == "Eigenaar\r\nsinds 2020"
    note = _coding(inputs, "kvk_functionarissen")
    assert note["aantal"].tolist() == [1]
    assert "rij 4." in note["toelichting"].iloc[0]


def test_names_from_a_mixed_file_still_mask_free_text(tmp_path):
    # the name sits in a UTF-8 line of a file that also has a cp1252 line; the survey text
    # (UTF-8) must be masked with the name as written
    raw = make_raw_dir(tmp_path / "raw")
    _write(raw / "kvk_functionarissen.csv", ["cp1252", "utf-8", "utf-8", "utf-8", "utf-8"])
    survey = (raw / "enquete.csv").read_text(encoding="utf-8")
    survey = survey.replace("Drugshandel bij Jan de Vries thuis", "Drugshandel bij José Müller")
    (raw / "enquete.csv").write_text(survey, encoding="utf-8")
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    texts = inputs.enquete.signalen["tekst_gemaskeerd"].tolist()
    assert texts[0] == "Drugshandel bij [persoon]"
    assert not any("Müller" in t or "MÃ" in t for t in texts)


def test_decode_unit_cases():
    data = "naam\r\nJosé\r\n".encode() + "Zoë".encode("cp1252") + b"\rab\n"
    decoded = _decode(data)
    assert decoded.text == "naam\r\nJosé\r\nZoë\rab\n"
    assert decoded.fallback_lines == (3,)
    assert decoded.mixed
    only = _decode(b"\xef\xbb\xbf" + b"a\n" + "é".encode("cp1252"))
    assert only.text == "a\né" and only.fallback_lines == (2,) and not only.mixed
    # the five bytes Windows-1252 leaves undefined are read as Latin-1, still per line
    assert _decode(b"ok\n\x81x").text == "ok\n\x81x"


# letters whose Windows-1252 bytes are all UTF-8 lead bytes (>= 0xC0): a cp1252 line with
# one of them is never valid UTF-8, so the per-line rule must give back the exact text
_LETTERS = "abcdeijklmnoprstuvz ;0123456789éëïöüçàèÉËÖÜ"


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.text(alphabet=_LETTERS, max_size=20), st.sampled_from(["utf-8", "cp1252"])),
        min_size=1,
        max_size=12,
    ),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_decode_per_line_gives_back_the_text(lines, newline):
    data = newline.encode().join(text.encode(enc) for text, enc in lines)
    decoded = _decode(data)
    assert decoded.text == newline.join(text for text, _ in lines)
    expected = tuple(
        i + 1 for i, (text, enc) in enumerate(lines) if enc == "cp1252" and not text.isascii()
    )
    assert decoded.fallback_lines == expected


def _oracle_decode(data: bytes) -> str:
    """Line by line, written independently of ``_decode``: UTF-8, else cp1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    out = []
    for piece in re.split(rb"(\r\n|\r|\n)", data):
        try:
            out.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                out.append(piece.decode("cp1252"))
            except UnicodeDecodeError:
                out.append(piece.decode("latin-1"))
    return "".join(out)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_decode_per_line_and_never_crash(tmp_path, data):
    assert _decode(data).text == _oracle_decode(data)
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    problems = Problems()
    table = read_table(path, problems=problems)  # reports problems, never raises
    assert (table is None) == bool(problems.items)
    if table is not None:
        assert table.frame["bron_rij"].is_unique

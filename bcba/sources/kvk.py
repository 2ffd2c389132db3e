"""KvK Handelsregister extracts: vestigingen (establishments) and functionarissen (officers).

Officers are pseudonymised at ingest: ``naam`` + ``geboortedatum`` become ``persoon_id`` and
both columns are dropped. The real names stay in memory (``SourceResult.names``) only.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from bcba import privacy, reference
from bcba.sources._read import (
    Problems,
    SourceResult,
    add_reason,
    address_columns,
    date_column,
    finish_frame,
    flag_duplicates,
    parse_code,
    parse_digits,
    parse_int,
    reader_start,
    run_schema,
)

log = logging.getLogger(__name__)

VESTIGINGEN_COLUMNS = [
    "kvk_nummer",
    "vestigingsnummer",
    "handelsnaam",
    "rechtsvorm",
    "sbi_code",
    "straat",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "postcode",
    "plaats",
    "datum_inschrijving",
    "datum_uitschrijving",
    "werkzame_personen",
]
VESTIGINGEN_REQUIRED = [
    "kvk_nummer",
    "handelsnaam",
    "sbi_code",
    "postcode",
    "huisnummer",
    "datum_inschrijving",
]

FUNCTIONARISSEN_COLUMNS = [
    "kvk_nummer",
    "naam",
    "geboortedatum",
    "functie",
    "datum_aanvang",
    "datum_einde",
]
FUNCTIONARISSEN_REQUIRED = ["kvk_nummer", "naam"]

_PC_FIX = "Schrijf de postcode als 1234AB"

VESTIGINGEN_SCHEMA = pa.DataFrameSchema(
    {
        "kvk_nummer": pa.Column(
            "str", pa.Check.str_matches(r"^[0-9]{8}$", error="KvK-nummer moet 8 cijfers zijn")
        ),
        "vestigingsnummer": pa.Column(
            "str",
            pa.Check.str_matches(r"^[0-9]{12}$", error="vestigingsnummer moet 12 cijfers zijn"),
            nullable=True,
        ),
        "handelsnaam": pa.Column("str"),
        "sbi_code": pa.Column(
            "str", pa.Check.str_matches(r"^[0-9]{2,5}$", error="SBI-code moet 2 tot 5 cijfers zijn")
        ),
        "postcode": pa.Column(
            "str",
            pa.Check.str_matches(r"^[1-9][0-9]{3}[A-Z]{2}$", error="ongeldige postcode"),
            nullable=True,
        ),
        "huisnummer": pa.Column(
            "Int64", pa.Check.gt(0, error="huisnummer moet positief zijn"), nullable=True
        ),
        "datum_inschrijving": pa.Column("datetime64[ns]"),
        "datum_uitschrijving": pa.Column("datetime64[ns]", nullable=True),
        "werkzame_personen": pa.Column(
            "Int64",
            pa.Check.ge(0, error="aantal werkzame personen mag niet negatief zijn"),
            nullable=True,
        ),
    },
)

FUNCTIONARISSEN_SCHEMA = pa.DataFrameSchema(
    {
        "kvk_nummer": pa.Column(
            "str", pa.Check.str_matches(r"^[0-9]{8}$", error="KvK-nummer moet 8 cijfers zijn")
        ),
        "persoon_id": pa.Column("str", pa.Check.str_startswith("P-")),
        "datum_aanvang": pa.Column("datetime64[ns]", nullable=True),
        "datum_einde": pa.Column("datetime64[ns]", nullable=True),
    }
)


@functools.cache
def _sbi_codes() -> frozenset[str]:
    return frozenset(reference.sbi2008()["sbi_code"].dropna().astype(str))


#: End-date columns: a sentinel such as 31-12-9999 means "no end date".
_END_DATES = frozenset({"datum_uitschrijving", "datum_einde"})


def _date_col(frame, out, col, problems, file, sheet):
    if col not in frame:
        out[col] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        return
    out[col] = date_column(
        frame, col, file=file, sheet=sheet, problems=problems, open_end=col in _END_DATES
    )


def _kvk_col(frame, out, col, problems, file, sheet):
    values = problems.parsed(
        frame,
        col,
        lambda v: parse_digits(v, 8),
        file=file,
        check="ongeldig KvK-nummer",
        fix="Een KvK-nummer bestaat uit 8 cijfers",
        sheet=sheet,
    )
    out[col] = values


def read_kvk_vestigingen(path: str | Path, *, sheet: str | None = None) -> SourceResult:
    """Read and validate a KvK vestigingen extract (CSV or XLSX).

    Parameters
    ----------
    path
        The file, e.g. ``data/raw/GM0489/kvk_vestigingen.xlsx``.
    sheet
        Excel sheet name; the first sheet when omitted.

    Returns
    -------
    SourceResult
        ``frame`` with the data-dictionary columns, ``bron_bestand``, ``bron_rij`` and
        ``dq_redenen`` (``dubbel``, ``sbi_onbekend``).

    Raises
    ------
    InputValidationError
        Listing every problem found in the file.
    """
    problems = Problems()
    started = reader_start(
        path,
        sheet=sheet,
        canonical=VESTIGINGEN_COLUMNS,
        required=VESTIGINGEN_REQUIRED,
        problems=problems,
    )
    if started is None:
        problems.raise_if_any()
    raw, frame, extra = started
    file, sheet_name = raw.file, raw.sheet
    out: dict[str, pd.Series] = {"bron_rij": frame["bron_rij"]}
    _kvk_col(frame, out, "kvk_nummer", problems, file, sheet_name)
    if "vestigingsnummer" in frame:
        values = problems.parsed(
            frame,
            "vestigingsnummer",
            lambda v: parse_digits(v, 12),
            file=file,
            check="ongeldig vestigingsnummer",
            fix="Een vestigingsnummer bestaat uit 12 cijfers",
            sheet=sheet_name,
        )
        out["vestigingsnummer"] = values
    out["handelsnaam"] = parse_code(frame["handelsnaam"])
    if "rechtsvorm" in frame:
        out["rechtsvorm"] = parse_code(frame["rechtsvorm"])
    # an Excel number as text first ('5630.0'), then the dots of the notation ('01.13')
    sbi = (
        parse_code(frame["sbi_code"])
        .str.replace(r"^([0-9]+)\.0$", r"\1", regex=True)
        .str.replace(r"[.\s]", "", regex=True)
    )
    out["sbi_code"] = sbi
    address_columns(frame, out, file=file, sheet=sheet_name, problems=problems)
    _date_col(frame, out, "datum_inschrijving", problems, file, sheet_name)
    _date_col(frame, out, "datum_uitschrijving", problems, file, sheet_name)
    if "werkzame_personen" in frame:
        values = problems.parsed(
            frame,
            "werkzame_personen",
            parse_int,
            file=file,
            check="ongeldig aantal",
            fix="Vul een heel getal in",
            sheet=sheet_name,
        )
        out["werkzame_personen"] = values
    else:
        out["werkzame_personen"] = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    result = pd.DataFrame(out)
    if "vestigingsnummer" not in result:
        result["vestigingsnummer"] = pd.Series(pd.NA, index=result.index, dtype="str")
    run_schema(VESTIGINGEN_SCHEMA, result, file=file, sheet=sheet_name, problems=problems)
    problems.raise_if_any()
    reasons = pd.Series("", index=result.index, dtype="str")
    key = (
        ["vestigingsnummer"]
        if result["vestigingsnummer"].notna().all()
        else [
            "kvk_nummer",
            "vestigingsnummer",
            "handelsnaam",
            "postcode",
            "huisnummer",
            "huisletter",
            "toevoeging",
        ]
    )
    reasons = add_reason(reasons, flag_duplicates(result, key), "dubbel")
    reasons = add_reason(reasons, ~result["sbi_code"].isin(_sbi_codes()), "sbi_onbekend")
    # real extracts contain these too; kept and flagged rather than rejected
    reasons = add_reason(
        reasons, result["datum_uitschrijving"] < result["datum_inschrijving"], "datum_volgorde"
    )
    result["dq_redenen"] = reasons
    result = finish_frame(result, file, VESTIGINGEN_COLUMNS)
    return SourceResult(
        "kvk_vestigingen",
        result,
        [file],
        raw.n_rows_in,
        raw.empty_rows,
        extra,
        notes=problems.notes,
    )


def read_kvk_functionarissen(
    path: str | Path, *, key: bytes, sheet: str | None = None
) -> SourceResult:
    """Read, validate and pseudonymise a KvK functionarissen extract.

    ``naam`` and ``geboortedatum`` become ``persoon_id`` (keyed pseudonym) and are dropped;
    error messages never show their values.

    Raises
    ------
    InputValidationError
        Listing every problem found in the file.
    PrivacyError
        When ``key`` is empty.
    """
    _check_key(key)
    problems = Problems()
    started = reader_start(
        path,
        sheet=sheet,
        canonical=FUNCTIONARISSEN_COLUMNS,
        required=FUNCTIONARISSEN_REQUIRED,
        problems=problems,
    )
    if started is None:
        problems.raise_if_any()
    raw, frame, extra = started
    file, sheet_name = raw.file, raw.sheet
    out: dict[str, pd.Series] = {"bron_rij": frame["bron_rij"]}
    _kvk_col(frame, out, "kvk_nummer", problems, file, sheet_name)
    names = parse_code(frame["naam"])
    problems.add_rows(
        file,
        frame["bron_rij"],
        frame["naam"],
        names.isna(),
        column="naam",
        check="verplichte waarde ontbreekt",
        fix="Vul de naam van de functionaris in",
        sheet=sheet_name,
    )
    _date_col(frame, out, "geboortedatum", problems, file, sheet_name)
    out["functie"] = (
        parse_code(frame["functie"])
        if "functie" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    _date_col(frame, out, "datum_aanvang", problems, file, sheet_name)
    _date_col(frame, out, "datum_einde", problems, file, sheet_name)
    problems.raise_if_any()
    births = out.pop("geboortedatum").dt.strftime("%Y-%m-%d")
    out["persoon_id"] = pseudonyms(key, names, births)
    result = pd.DataFrame(out)
    run_schema(FUNCTIONARISSEN_SCHEMA, result, file=file, sheet=sheet_name, problems=problems)
    problems.raise_if_any()
    reasons = pd.Series("", index=result.index, dtype="str")
    reasons = add_reason(
        reasons,
        flag_duplicates(result, ["kvk_nummer", "persoon_id", "functie", "datum_aanvang"]),
        "dubbel",
    )
    result["dq_redenen"] = reasons
    columns = ["kvk_nummer", "persoon_id", "functie", "datum_aanvang", "datum_einde"]
    result = finish_frame(result, file, columns)
    return SourceResult(
        "kvk_functionarissen",
        result,
        [file],
        raw.n_rows_in,
        raw.empty_rows,
        extra,
        names=set(names.dropna().tolist()),
        notes=problems.notes,
    )


def pseudonyms(key: bytes, names: pd.Series, births: pd.Series | None = None) -> pd.Series:
    """``privacy.pseudonym`` for each (name, birth date); computed once per distinct pair."""
    births = births if births is not None else pd.Series(pd.NA, index=names.index, dtype="str")
    pairs = pd.DataFrame({"n": names.fillna("").astype(str), "b": births.fillna("").astype(str)})
    unique = pairs.drop_duplicates()
    ids = [
        privacy.pseudonym(key, n, b or None)
        for n, b in zip(unique["n"].tolist(), unique["b"].tolist(), strict=True)
    ]
    unique = unique.assign(pid=ids)
    merged = pairs.merge(unique, on=["n", "b"], how="left")
    return pd.Series(merged["pid"].to_numpy(), index=names.index, dtype="str")


def _check_key(key: bytes) -> None:
    from bcba.errors import PrivacyError

    if not isinstance(key, bytes | bytearray) or not key:
        raise PrivacyError(
            "Geen geldige pseudonimiseringssleutel opgegeven (key moet niet-lege bytes zijn)."
        )

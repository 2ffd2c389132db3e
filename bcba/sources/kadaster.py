"""Kadaster transactions (koopsommen): parsed, validated, buyers and sellers pseudonymised.

``koper_id``/``verkoper_id`` follow docs/architecture.md: a natural person becomes the
keyed pseudonym ``P-…`` (the Kadaster extract has no birth date, so the pseudonym uses the
name only), a legal entity ``K-<kvk_nummer>`` when the KvK number is given, else
``R-<normalised name>``. Names of natural persons are dropped; company names are kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from bcba import privacy
from bcba.sources._read import (
    Problems,
    SourceResult,
    add_reason,
    address_columns,
    as_text,
    date_column,
    finish_frame,
    flag_duplicates,
    parse_bool,
    parse_code,
    parse_digits,
    parse_number,
    reader_start,
    run_schema,
)
from bcba.sources.kvk import _check_key, pseudonyms

log = logging.getLogger(__name__)

KADASTER_INPUT_COLUMNS = [
    "transactie_id",
    "datum",
    "koopsom",
    "postcode",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "koper_naam",
    "koper_type",
    "koper_kvk_nummer",
    "verkoper_naam",
    "verkoper_type",
    "verkoper_kvk_nummer",
    "hypotheek",
    "woz_waarde",
    "straat",
    "plaats",
]
KADASTER_REQUIRED = ["transactie_id", "datum", "koopsom", "postcode", "huisnummer"]
KADASTER_COLUMNS = [
    "transactie_id",
    "datum",
    "koopsom",
    "straat",
    "postcode",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "plaats",
    "koper_id",
    "koper_naam",
    "koper_type",
    "koper_kvk_nummer",
    "verkoper_id",
    "verkoper_naam",
    "verkoper_type",
    "verkoper_kvk_nummer",
    "hypotheek",
    "woz_waarde",
]
PARTY_TYPES = ("natuurlijk_persoon", "rechtspersoon")
_TYPE_WORDS = {
    "natuurlijkpersoon": "natuurlijk_persoon",
    "np": "natuurlijk_persoon",
    "particulier": "natuurlijk_persoon",
    "persoon": "natuurlijk_persoon",
    "rechtspersoon": "rechtspersoon",
    "rp": "rechtspersoon",
    "nietnatuurlijkpersoon": "rechtspersoon",
    "nnp": "rechtspersoon",
    "bedrijf": "rechtspersoon",
    "onderneming": "rechtspersoon",
}

KADASTER_SCHEMA = pa.DataFrameSchema(
    {
        "transactie_id": pa.Column("str"),
        "datum": pa.Column("datetime64[ns]"),
        "koopsom": pa.Column("float64", pa.Check.ge(0, error="koopsom mag niet negatief zijn")),
        "postcode": pa.Column("str", nullable=True),
        "huisnummer": pa.Column("Int64", nullable=True),
        "koper_type": pa.Column(
            "str", pa.Check.isin(PARTY_TYPES, error="onbekend kopertype"), nullable=True
        ),
        "verkoper_type": pa.Column(
            "str", pa.Check.isin(PARTY_TYPES, error="onbekend verkopertype"), nullable=True
        ),
        "hypotheek": pa.Column("boolean", nullable=True),
        "woz_waarde": pa.Column(
            "float64", pa.Check.ge(0, error="WOZ-waarde mag niet negatief zijn"), nullable=True
        ),
    }
)


def _party_type(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    folded = as_text(values).str.lower().str.replace(r"[^a-z]", "", regex=True)
    out = folded.map(_TYPE_WORDS).astype("str")
    bad = (folded != "") & out.isna()
    return out, bad


def company_id(names: pd.Series, kvk: pd.Series) -> pd.Series:
    """``K-<kvk>`` when a KvK number is known, else ``R-<normalised name>``."""
    norm = names.fillna("").map(privacy.normalise_person_name).str.replace(" ", "-", regex=False)
    by_name = ("R-" + norm).where(norm != "")
    return ("K-" + kvk).where(kvk.notna(), by_name).astype("str")


def read_kadaster(path: str | Path, *, key: bytes, sheet: str | None = None) -> SourceResult:
    """Read, validate and pseudonymise a Kadaster transaction extract (CSV or XLSX).

    Raises
    ------
    InputValidationError
        Listing every problem found in the file; names are never shown.
    """
    _check_key(key)
    problems = Problems()
    started = reader_start(
        path,
        sheet=sheet,
        canonical=KADASTER_INPUT_COLUMNS,
        required=KADASTER_REQUIRED,
        problems=problems,
    )
    if started is None:
        problems.raise_if_any()
    raw, frame, extra = started
    file, sh = raw.file, raw.sheet
    rows = frame["bron_rij"]
    out: dict[str, pd.Series] = {"bron_rij": rows}
    out["transactie_id"] = parse_code(frame["transactie_id"]).str.replace(r"\.0$", "", regex=True)
    out["datum"] = date_column(frame, "datum", file=file, sheet=sh, problems=problems)
    for col in ("koopsom", "woz_waarde"):
        if col in frame:
            values = problems.parsed(
                frame,
                col,
                parse_number,
                file=file,
                check="ongeldig bedrag",
                fix="Schrijf een bedrag als 1250000 of € 1.250.000,00",
                sheet=sh,
            )
            out[col] = values
        else:
            out[col] = pd.Series(float("nan"), index=frame.index)
    address_columns(frame, out, file=file, sheet=sh, problems=problems)
    if "hypotheek" in frame:
        values = problems.parsed(
            frame,
            "hypotheek",
            parse_bool,
            file=file,
            check="ongeldige ja/nee-waarde",
            fix="Vul ja of nee in",
            sheet=sh,
        )
        out["hypotheek"] = values
    else:
        out["hypotheek"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    names: set[str] = set()
    for side in ("koper", "verkoper"):
        tcol, ncol, kcol = f"{side}_type", f"{side}_naam", f"{side}_kvk_nummer"
        if kcol in frame:
            kvk = problems.parsed(
                frame,
                kcol,
                lambda v: parse_digits(v, 8),
                file=file,
                check="ongeldig KvK-nummer",
                fix="Een KvK-nummer bestaat uit 8 cijfers",
                sheet=sh,
            )
        else:
            kvk = pd.Series(pd.NA, index=frame.index, dtype="str")
        if tcol in frame:
            ptype = problems.parsed(
                frame,
                tcol,
                _party_type,
                file=file,
                check=f"onbekend {side}type",
                fix="Vul natuurlijk_persoon of rechtspersoon in",
                sheet=sh,
            )
        else:
            ptype = pd.Series(pd.NA, index=frame.index, dtype="str")
        naam = (
            parse_code(frame[ncol])
            if ncol in frame
            else pd.Series(pd.NA, index=frame.index, dtype="str")
        )
        # type unknown: a KvK number means a legal entity; otherwise protect it as a person
        ptype = ptype.where(
            ptype.notna() | naam.isna(),
            pd.Series("rechtspersoon", index=frame.index).where(kvk.notna(), "natuurlijk_persoon"),
        )
        person = ptype == "natuurlijk_persoon"
        pid = pseudonyms(key, naam.where(person), None).where(person & naam.notna())
        ids = company_id(naam.where(~person), kvk.where(~person)).where(~person)
        out[f"{side}_id"] = pid.fillna(ids).astype("str")
        out[ncol] = naam.where(~person).astype("str")
        out[tcol] = ptype
        out[kcol] = kvk
        names |= set(naam[person].dropna().tolist())
    result = pd.DataFrame(out)
    run_schema(KADASTER_SCHEMA, result, file=file, sheet=sh, problems=problems)
    problems.raise_if_any()
    reasons = pd.Series("", index=result.index, dtype="str")
    result["dq_redenen"] = add_reason(reasons, flag_duplicates(result, ["transactie_id"]), "dubbel")
    result = finish_frame(result, file, KADASTER_COLUMNS)
    return SourceResult(
        "kadaster",
        result,
        [file],
        raw.n_rows_in,
        raw.empty_rows,
        extra,
        names=names,
        notes=problems.notes,
    )

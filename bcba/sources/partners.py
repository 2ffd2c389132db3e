"""Partner events (politie, OM, Belastingdienst, gemeente-afdelingen, …) from ``partners/``.

Each file holds events with ``bron``, ``thema``, optional ``soort``, ``datum`` and a
location (``x``/``y`` in EPSG:28992, or postcode + huisnummer, or ``buurtcode``); optional
``omschrijving`` (masked for known names, original dropped) and ``gewicht`` (default 1).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from bcba import privacy
from bcba.errors import InputValidationError
from bcba.sources._read import (
    Problems,
    SourceResult,
    add_reason,
    address_columns,
    finish_frame,
    flag_duplicates,
    fold_header,
    parse_code,
    parse_date,
    parse_number,
    reader_start,
    run_schema,
)
from bcba.sources.survey import THEMES

log = logging.getLogger(__name__)

PARTNER_INPUT_COLUMNS = [
    "bron",
    "thema",
    "soort",
    "datum",
    "x",
    "y",
    "straat",
    "postcode",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "plaats",
    "buurtcode",
    "omschrijving",
    "gewicht",
]
PARTNER_REQUIRED = ["thema", "datum"]
PARTNER_COLUMNS = [
    "bron",
    "thema",
    "soort",
    "datum",
    "x",
    "y",
    "postcode",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "buurtcode",
    "omschrijving_gemaskeerd",
    "gewicht",
]
PARTNER_SCHEMA = pa.DataFrameSchema(
    {
        "bron": pa.Column("str"),
        "thema": pa.Column("str", pa.Check.isin(THEMES, error="onbekend thema")),
        "datum": pa.Column("datetime64[ns]"),
        "gewicht": pa.Column("float64", pa.Check.gt(0, error="gewicht moet groter dan 0 zijn")),
    }
)
_THEME_BY_FOLD = {fold_header(t): t for t in THEMES} | {
    "vastgoed": "vastgoed_witwassen",
    "witwassen": "vastgoed_witwassen",
    "outlawmotorgangs": "omg",
    "motorbendes": "omg",
    "drugscriminaliteit": "drugs",
}


def _files(folder_or_files: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(folder_or_files, str | Path):
        path = Path(folder_or_files)
        if path.is_dir():
            return sorted(
                p
                for p in path.iterdir()
                if p.suffix.lower() in (".csv", ".xlsx") and not p.name.startswith(("~$", "."))
            )
        return [path]
    return [Path(p) for p in folder_or_files]


def _read_one(path: Path, known_names, problems: Problems):
    started = reader_start(
        path,
        sheet=None,
        canonical=PARTNER_INPUT_COLUMNS,
        required=PARTNER_REQUIRED,
        problems=problems,
    )
    if started is None:
        return None
    raw, frame, extra = started
    file, sh = raw.file, raw.sheet
    rows = frame["bron_rij"]
    out: dict[str, pd.Series] = {"bron_rij": rows}
    out["bron"] = (
        parse_code(frame["bron"]).fillna(path.stem)
        if "bron" in frame
        else pd.Series(path.stem, index=frame.index, dtype="str")
    )
    theme_text = parse_code(frame["thema"])
    folded = {t: fold_header(t) for t in theme_text.dropna().unique()}  # once per label
    out["thema"] = theme_text.map(folded).map(_THEME_BY_FOLD).astype("str")
    unknown = theme_text.notna() & out["thema"].isna()
    problems.add_rows(
        file,
        rows,
        frame["thema"],
        unknown,
        column="thema",
        check="onbekend thema",
        fix=f"Gebruik een van: {', '.join(THEMES)}",
        sheet=sh,
    )
    out["soort"] = (
        parse_code(frame["soort"])
        if "soort" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    datum = problems.parsed(
        frame,
        "datum",
        parse_date,
        file=file,
        check="ongeldige datum",
        fix="Gebruik dd-mm-jjjj (bv. 31-01-2024)",
        sheet=sh,
    )
    out["datum"] = datum
    for col in ("x", "y"):
        if col in frame:
            values = problems.parsed(
                frame,
                col,
                parse_number,
                file=file,
                check="ongeldige coördinaat",
                fix="Coördinaten in RD (EPSG:28992), in meters",
                sheet=sh,
            )
            out[col] = values
        else:
            out[col] = pd.Series(np.nan, index=frame.index)
    address_columns(frame, out, file=file, sheet=sh, problems=problems)
    out["buurtcode"] = (
        parse_code(frame["buurtcode"]).str.upper()
        if "buurtcode" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    if "omschrijving" in frame:
        out["omschrijving_gemaskeerd"] = parse_code(
            frame["omschrijving"]
        )  # masked once for all files below
    if "gewicht" in frame:
        values = problems.parsed(
            frame,
            "gewicht",
            parse_number,
            file=file,
            check="ongeldig gewicht",
            fix="Vul een positief getal in (standaard 1)",
            sheet=sh,
        )
        out["gewicht"] = values.fillna(1.0)
    else:
        out["gewicht"] = pd.Series(1.0, index=frame.index)
    result = pd.DataFrame(out)
    run_schema(PARTNER_SCHEMA, result, file=file, sheet=sh, problems=problems)
    if problems:
        return None
    result = finish_frame(result, file, PARTNER_COLUMNS)
    return result, raw, extra


def read_partners(folder_or_files, *, known_names=()) -> SourceResult:
    """Read every partner file (folder or list of CSV/XLSX files) into one frame.

    Raises
    ------
    InputValidationError
        Listing the problems of all files together.
    """
    files = _files(folder_or_files)
    all_problems = Problems()
    if not files:
        all_problems.add(
            str(folder_or_files),
            "geen partnerbestanden gevonden",
            fix="Zet CSV- of Excel-bestanden in de map partners/",
        )
        all_problems.raise_if_any()
    frames, n_in, empty, extra = [], 0, 0, []
    for path in files:
        problems = Problems()
        got = _read_one(path, known_names, problems)
        all_problems.extend(problems)
        if got is not None:
            frame, raw, more = got
            frames.append(frame)
            n_in += raw.n_rows_in
            empty += raw.empty_rows
            extra += [f"{raw.file}: {c}" for c in more]
    if all_problems:
        raise InputValidationError(list(all_problems.items))
    result = pd.concat(frames, ignore_index=True)
    # one masking pass: compiling the name pattern is the expensive part
    text = result["omschrijving_gemaskeerd"]
    has = text.notna().to_numpy()
    masked = privacy.mask_names(text[has].tolist(), known_names)
    result.loc[has, "omschrijving_gemaskeerd"] = pd.Series(
        masked, index=result.index[has], dtype="str"
    )
    reasons = result["dq_redenen"].astype("str")
    dup = flag_duplicates(
        result,
        [
            "bron",
            "thema",
            "soort",
            "datum",
            "x",
            "y",
            "postcode",
            "huisnummer",
            "huisletter",
            "toevoeging",
            "buurtcode",
            "omschrijving_gemaskeerd",
        ],
    )
    result["dq_redenen"] = add_reason(reasons, dup, "dubbel")
    return SourceResult("partners", result, [p.name for p in files], n_in, empty, extra)

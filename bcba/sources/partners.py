"""Partner events (politie, OM, Belastingdienst, gemeente-afdelingen, …) from ``partners/``.

Each file holds events with ``bron``, the partner's own category in ``thema`` and/or
``soort`` (``categorie``), ``datum`` and a location (``x``/``y`` in EPSG:28992, or postcode +
huisnummer, or ``buurtcode``); optional ``omschrijving`` (masked for known names, original
dropped) and ``gewicht`` (default 1). Categories are mapped to theme ids by
:mod:`bcba.sources.categories`; unmapped ones are kept as ``overig``.
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
from bcba.sources import categories
from bcba.sources._read import (
    Problems,
    SourceResult,
    add_reason,
    address_columns,
    date_column,
    finish_frame,
    flag_duplicates,
    parse_code,
    parse_number,
    reader_start,
    run_schema,
)

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
PARTNER_REQUIRED = ["datum"]
#: at least one of these holds the partner's category
PARTNER_CATEGORY = ["thema", "soort"]
PARTNER_COLUMNS = [
    "bron",
    "thema",
    "categorie_bron",
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
        "thema": pa.Column("str", pa.Check.isin(categories.TARGETS, error="onbekend thema")),
        "datum": pa.Column("datetime64[ns]"),
        "gewicht": pa.Column("float64", pa.Check.gt(0, error="gewicht moet groter dan 0 zijn")),
    }
)


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


def _read_one(path: Path, mapping: categories.CategoryMapping, problems: Problems):
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
    if not any(c in frame for c in PARTNER_CATEGORY):
        problems.add(
            file,
            "verplichte kolom ontbreekt",
            row=1,
            column="thema",
            fix="Voeg een kolom 'thema' of 'categorie' toe met de categorie van elke melding "
            "(uw eigen categorieën mogen; koppel ze in partners_mapping.yaml)",
            sheet=sh,
        )
        return None
    rows = frame["bron_rij"]
    out: dict[str, pd.Series] = {"bron_rij": rows}
    out["bron"] = (
        parse_code(frame["bron"]).fillna(path.stem)
        if "bron" in frame
        else pd.Series(path.stem, index=frame.index, dtype="str")
    )
    none = pd.Series(pd.NA, index=frame.index, dtype="str")
    out["soort"] = parse_code(frame["soort"]) if "soort" in frame else none
    own = [parse_code(frame["thema"]) if "thema" in frame else none, out["soort"]]
    decided = categories.classify(out["bron"], own, mapping)
    out["thema"] = decided["thema"]
    out["categorie_bron"] = decided["categorie_bron"]
    out["gekoppeld"] = decided["gekoppeld"]  # for the category table; dropped after
    out["datum"] = date_column(frame, "datum", file=file, sheet=sh, problems=problems)
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
    missing = categories.missing_note(file, result["bron_rij"][result["categorie_bron"].isna()])
    if missing is not None:
        problems.notes.append(missing)
    return result, raw, extra


def read_partners(
    folder_or_files,
    *,
    known_names=(),
    mapping: categories.CategoryMapping | None = None,
) -> SourceResult:
    """Read every partner file (folder or list of CSV/XLSX files) into one frame.

    Each event's own category (``thema``, else ``soort``) is kept in ``categorie_bron`` and
    mapped to a theme id or ``overig`` in ``thema`` by ``mapping`` (default: the shipped
    ``partners_mapping.yaml``). ``SourceResult.categorieen`` lists every category with its
    theme and count; unmapped ones are also in ``SourceResult.notes`` (kwaliteit).

    Raises
    ------
    InputValidationError
        Listing the problems of all files together.
    """
    files = _files(folder_or_files)
    mapping = mapping if mapping is not None else categories.load_mapping(None)
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
        got = _read_one(path, mapping, problems)
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
            "categorie_bron",
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
    table = categories.category_table(
        "partners",
        result["bron"],
        result[["thema", "categorie_bron", "gekoppeld"]],
        result["bron_bestand"],
    )
    result = result.drop(columns="gekoppeld")
    notes = all_problems.notes + categories.category_notes(table)
    return SourceResult(
        "partners",
        result,
        [p.name for p in files],
        n_in,
        empty,
        extra,
        notes=notes,
        categorieen=table,
    )

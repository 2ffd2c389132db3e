"""Anonymised aggregate export for the national picture (``bcba export-landelijk``).

A table of counts (area x theme) is protected in three steps before it leaves the RIEC:

1. **Primary suppression**: every cell (including row, column and grand totals) with
   ``0 < n < threshold`` is suppressed. Zeros are published: a zero says "nothing
   registered here", which points at no one, and suppressing all zeros would hide most of
   a sparse table (see docs/privacy.md for when that is not acceptable).
2. **Secondary suppression**: the table is treated with its margins as published, so
   every row and every column (each including its total) is a linear equation. A line
   with exactly one suppressed entry would give that entry away by subtraction, so in
   every line the number of suppressed entries must be 0 or at least 2. Lines with one
   suppressed entry get one more, chosen greedily: an interior cell before a total, a
   non-zero before a zero, the smallest value first, and among equals one that also
   repairs the crossing line. This repeats until no line has exactly one (a fixed point;
   it always ends because cells are only added).
3. **Rounding**: published values are rounded to a multiple of ``rounding_base``
   (half up). Totals are rounded independently of their cells, so published cells need
   not add up to the published total.

The rule protects against exact recovery by subtraction, not against every interval
(linear programming) attack; rounding adds uncertainty on top (see docs/privacy.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bcba.errors import ConfigError
from bcba.privacy import check_output_columns

log = logging.getLogger(__name__)

PUBLISHED = "gepubliceerd"
PRIMARY = "onderdrukt (primair)"
SECONDARY = "onderdrukt (secundair)"
TOTAL = "totaal"
#: Column names of the export (besides the area key columns).
THEME_COLUMN = "thema"
VALUE_COLUMN = "aantal"
STATUS_COLUMN = "status"


def _validate_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} moet een geheel getal >= {minimum} zijn, niet {value!r}")
    return int(value)


def _to_wide(
    counts: pd.DataFrame, *, row_keys: Sequence[str] | None, column_key: str, value: str
) -> tuple[pd.DataFrame, list[str]]:
    """Counts as a wide frame (MultiIndex or Index of area keys x themes) + key names."""
    if value in counts.columns:  # long form
        if column_key not in counts.columns:
            raise ConfigError(
                f"lange tabel heeft kolom '{value}' maar geen kolom '{column_key}'; "
                f"kolommen: {', '.join(map(str, counts.columns))}"
            )
        keys = (
            list(row_keys)
            if row_keys is not None
            else [c for c in counts.columns if c not in (value, column_key)]
        )
        if not keys:
            raise ConfigError("lange tabel heeft geen gebiedskolom (bijv. gemeente of wijkcode)")
        missing = [k for k in keys if k not in counts.columns]
        if missing:
            raise ConfigError(f"gebiedskolom(men) ontbreken: {', '.join(missing)}")
        dup = counts.duplicated(subset=[*keys, column_key], keep=False)
        if dup.any():
            first = counts.loc[dup, [*keys, column_key]].iloc[0].tolist()
            raise ConfigError(
                f"{int(dup.sum())} dubbele combinaties van gebied en thema, bijv. {first}; "
                "tel ze eerst op"
            )
        numbers = _check_counts(counts[value], value)
        long = counts[keys + [column_key]].assign(**{value: numbers})
        row_index = pd.MultiIndex.from_frame(long[keys].drop_duplicates())
        col_index = pd.Index(long[column_key].drop_duplicates().tolist(), name=column_key)
        wide = long.set_index([*keys, column_key])[value].unstack(column_key, fill_value=0)
        if len(keys) == 1:
            row_index = row_index.get_level_values(0)
        wide = wide.reindex(index=row_index, columns=col_index, fill_value=0)
        return wide.astype("int64"), keys
    # wide form: numeric columns are themes, other columns (or the index) are area keys
    numeric = [
        c
        for c in counts.columns
        if pd.api.types.is_numeric_dtype(counts[c]) and c not in (row_keys or ())
    ]
    keys = (
        list(row_keys) if row_keys is not None else [c for c in counts.columns if c not in numeric]
    )
    if not numeric:
        raise ConfigError("tabel heeft geen kolommen met aantallen per thema")
    if keys:
        wide = counts.set_index(keys)[numeric]
    else:
        wide = counts[numeric]
        name = counts.index.name or "gebied"
        wide = wide.rename_axis(name)
        keys = [name]
    if wide.index.duplicated().any():
        raise ConfigError("tabel heeft dubbele gebieden; tel ze eerst op")
    checked = {c: _check_counts(wide[c], str(c)) for c in numeric}
    out = pd.DataFrame(checked, index=wide.index).astype("int64")
    out.columns = pd.Index([str(c) for c in numeric], name=column_key)
    return out, keys


def _check_counts(values: pd.Series, name: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.round(numbers))
    if bad.any():
        examples = values[bad].head(3).tolist()
        raise ConfigError(
            f"kolom '{name}' moet gehele aantallen >= 0 bevatten; {int(bad.sum())} ongeldige "
            f"waarde(n), bijv. {examples}"
        )
    return numbers.astype("int64")


def extend_with_totals(matrix: np.ndarray) -> np.ndarray:
    """The (r+1) x (c+1) table: cells, row totals (last column), column totals (last row)."""
    matrix = np.asarray(matrix, dtype="int64")
    r, c = matrix.shape
    ext = np.zeros((r + 1, c + 1), dtype="int64")
    ext[:r, :c] = matrix
    ext[:r, c] = matrix.sum(axis=1)
    ext[r, :c] = matrix.sum(axis=0)
    ext[r, c] = matrix.sum()
    return ext


def suppress(matrix: np.ndarray, *, threshold: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary suppression masks of a count table *with* its margins.

    Parameters
    ----------
    matrix
        r x c non-negative integer counts (without totals).
    threshold
        Cells with ``0 < n < threshold`` are primary suppressed.

    Returns
    -------
    (primary, secondary)
        Boolean masks of shape (r+1, c+1) over :func:`extend_with_totals` (last row and
        column are the totals). No row or column of the extended table has exactly one
        suppressed entry.
    """
    ext = extend_with_totals(matrix)
    rows, cols = ext.shape
    primary = (ext > 0) & (ext < threshold)
    suppressed = primary.copy()
    is_margin = np.zeros_like(suppressed)
    is_margin[-1, :] = True
    is_margin[:, -1] = True
    while True:
        row_n = suppressed.sum(axis=1)
        col_n = suppressed.sum(axis=0)
        lonely_rows = np.flatnonzero(row_n == 1)
        lonely_cols = np.flatnonzero(col_n == 1)
        if lonely_rows.size == 0 and lonely_cols.size == 0:
            break
        if lonely_rows.size:
            i = int(lonely_rows[0])
            cand = [(i, j) for j in range(cols) if not suppressed[i, j]]
            helps = [col_n[j] == 1 for _, j in cand]
        else:
            j = int(lonely_cols[0])
            cand = [(i, j) for i in range(rows) if not suppressed[i, j]]
            helps = [row_n[i] == 1 for i, _ in cand]
        # a line with one suppressed entry always has another entry (every line has >= 2)
        best = min(
            range(len(cand)),
            key=lambda k: (
                ext[cand[k]] == 0,
                bool(is_margin[cand[k]]),
                int(ext[cand[k]]),
                not helps[k],
                cand[k],
            ),
        )
        suppressed[cand[best]] = True
    return primary, suppressed & ~primary


def round_to_base(values: np.ndarray, base: int) -> np.ndarray:
    """Round non-negative integers half up to a multiple of ``base`` (12 -> 10, 13 -> 15)."""
    values = np.asarray(values, dtype="int64")
    if base <= 1:
        return values
    return ((values * 2 + base) // (2 * base)) * base


def export_landelijk(
    counts: pd.DataFrame,
    *,
    threshold: int = 10,
    rounding_base: int = 5,
    row_keys: Sequence[str] | None = None,
    column_key: str = THEME_COLUMN,
    value: str = VALUE_COLUMN,
) -> pd.DataFrame:
    """Protect an area x theme count table for the national export.

    Parameters
    ----------
    counts
        Long form (area key column(s), ``thema``, ``aantal``; missing combinations count as
        0) or wide form (area key column(s) or index, one numeric column per theme).
    threshold
        Smallest publishable non-zero count (default 10).
    rounding_base
        Published values are rounded half up to a multiple of this (default 5; 1 = none).
    row_keys
        Area key columns; default every column that is not the theme or the value.
    column_key, value
        Names of the theme and count columns in the long form.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per area (plus ``totaal``) x theme (plus ``totaal``): the area
        key columns, ``thema``, ``aantal`` (Int64, rounded; NA when suppressed) and
        ``status`` (``gepubliceerd``, ``onderdrukt (primair)``, ``onderdrukt (secundair)``).
        ``attrs`` holds ``drempel`` and ``afrondingsbasis`` for :func:`write_export`.

    Raises
    ------
    ConfigError
        Negative, fractional or missing counts, duplicate areas, bad parameters.
    PrivacyError
        The input carries columns with personal data.
    """
    threshold = _validate_int("threshold", threshold, 1)
    rounding_base = _validate_int("rounding_base", rounding_base, 1)
    if not isinstance(counts, pd.DataFrame):
        raise ConfigError(f"counts moet een DataFrame zijn, niet {type(counts).__name__}")
    check_output_columns(counts, context="de landelijke export")
    wide, keys = _to_wide(counts, row_keys=row_keys, column_key=column_key, value=value)
    if wide.shape[0] == 0 or wide.shape[1] == 0:
        raise ConfigError("de tabel is leeg: geen gebieden of geen thema's")
    themes = [str(c) for c in wide.columns]
    if TOTAL in themes:
        raise ConfigError(f"thema '{TOTAL}' is gereserveerd voor het totaal")
    primary, secondary = suppress(wide.to_numpy(), threshold=threshold)
    ext = extend_with_totals(wide.to_numpy())
    rounded = round_to_base(ext, rounding_base)
    status = np.where(primary, PRIMARY, np.where(secondary, SECONDARY, PUBLISHED))

    area_frame = wide.index.to_frame(index=False).astype("string")
    area_frame.columns = keys
    total_row = pd.DataFrame({k: [TOTAL] for k in keys}, dtype="string")
    areas = pd.concat([area_frame, total_row], ignore_index=True)
    r1, c1 = ext.shape
    out = areas.loc[np.repeat(np.arange(r1), c1)].reset_index(drop=True)
    hidden = (primary | secondary).ravel()
    out[THEME_COLUMN] = pd.array(np.tile([*themes, TOTAL], r1), dtype="string")
    out[VALUE_COLUMN] = pd.array(np.where(hidden, 0, rounded.ravel()), dtype="Int64")
    out.loc[hidden, VALUE_COLUMN] = pd.NA
    out[STATUS_COLUMN] = pd.array(status.ravel(), dtype="string")
    out.attrs = {"drempel": threshold, "afrondingsbasis": rounding_base}
    log.info(
        "landelijke export: %d cellen, %d primair en %d secundair onderdrukt",
        out.shape[0],
        int(primary.sum()),
        int(secondary.sum()),
    )
    return out


README_TEXT = """\
Landelijke export B-CBA: geanonimiseerde aantallen per gebied en thema
======================================================================

Bestand: {name}

Kolommen
  {keys}: gebied ('totaal' = alle gebieden samen)
  thema: thema-id ('totaal' = alle thema's samen)
  aantal: afgerond aantal; leeg als de cel is onderdrukt
  status: gepubliceerd | onderdrukt (primair) | onderdrukt (secundair)

Bescherming
  - Primair onderdrukt: aantallen groter dan 0 en kleiner dan {threshold}
    (ook totalen).
  - Secundair onderdrukt: extra cellen, zodat geen onderdrukte cel terug te rekenen is
    uit de gepubliceerde rij- of kolomtotalen (elke rij en kolom, met totaal, heeft
    0 of minstens 2 onderdrukte cellen).
  - Nullen worden gepubliceerd.
  - Gepubliceerde aantallen zijn afgerond op een veelvoud van {base} (half naar boven).
    Totalen zijn los afgerond: de cellen tellen daardoor niet altijd op tot het totaal.

Publiceer deze tabel niet samen met andere tabellen over dezelfde gebieden
(bijv. per gemeente én per wijk): combinaties kunnen onderdrukte cellen alsnog
prijsgeven. Zie docs/privacy.md.
"""


def write_export(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write an export atomically as CSV (0600) plus ``<naam>_LEESMIJ.txt`` beside it.

    Refuses a frame with a published value below the threshold or personal columns, so
    an unprotected table cannot be written by mistake.
    """
    from bcba import io

    missing = [c for c in (THEME_COLUMN, VALUE_COLUMN, STATUS_COLUMN) if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"dit is geen uitvoer van export_landelijk (kolommen ontbreken: {', '.join(missing)})"
        )
    check_output_columns(frame, context="de landelijke export")
    threshold = frame.attrs.get("drempel", 10)
    base = frame.attrs.get("afrondingsbasis", 5)
    published = frame[frame[STATUS_COLUMN] == PUBLISHED][VALUE_COLUMN].astype("Int64")
    # a count at the threshold may round down by at most base // 2
    if ((published > 0) & (published < threshold - base // 2)).any():
        raise ConfigError(
            "de tabel bevat gepubliceerde aantallen onder de drempel; gebruik export_landelijk"
        )
    path = Path(path)
    io.write_csv(frame, path)
    keys = [c for c in frame.columns if c not in (THEME_COLUMN, VALUE_COLUMN, STATUS_COLUMN)]
    io.write_text(
        path.with_name(f"{path.stem}_LEESMIJ.txt"),
        README_TEXT.format(name=path.name, keys=", ".join(keys), threshold=threshold, base=base),
    )
    return path

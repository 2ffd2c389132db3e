"""BAG addresses (adresseerbare objecten): the reference for offline geocoding. Required.

CSV/XLSX with ``x``/``y`` in EPSG:28992, or a GeoPackage with point geometry.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pandera.pandas as pa

from bcba.config import CRS
from bcba.sources._read import (
    Problems,
    SourceResult,
    add_reason,
    address_columns,
    finish_frame,
    flag_duplicates,
    match_columns,
    parse_code,
    parse_digits,
    parse_number,
    reader_start,
    require_columns,
    run_schema,
)

log = logging.getLogger(__name__)

BAG_INPUT_COLUMNS = [
    "adresseerbaar_object_id",
    "straat",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "postcode",
    "plaats",
    "gebruiksdoel",
    "oppervlakte",
    "x",
    "y",
]
BAG_REQUIRED = ["adresseerbaar_object_id", "postcode", "huisnummer"]
BAG_COLUMNS = [
    "adres_id",
    "straat",
    "huisnummer",
    "huisletter",
    "toevoeging",
    "postcode",
    "plaats",
    "gebruiksdoel",
    "oppervlakte",
    "x",
    "y",
]
#: The Netherlands in RD New, generously: coordinates outside are certainly wrong.
RD_BOUNDS = (0.0, 289_000.0, 300_000.0, 629_000.0)

BAG_SCHEMA = pa.DataFrameSchema(
    {
        "adres_id": pa.Column(
            "str", pa.Check.str_matches(r"^[0-9]{16}$", error="BAG-id moet 16 cijfers zijn")
        ),
        "postcode": pa.Column("str", nullable=True),
        "huisnummer": pa.Column("Int64"),
        "oppervlakte": pa.Column(
            "float64", pa.Check.ge(0, error="oppervlakte mag niet negatief zijn"), nullable=True
        ),
        "x": pa.Column(
            "float64",
            pa.Check.in_range(RD_BOUNDS[0], RD_BOUNDS[2], error="x ligt buiten Nederland (RD)"),
        ),
        "y": pa.Column(
            "float64",
            pa.Check.in_range(RD_BOUNDS[1], RD_BOUNDS[3], error="y ligt buiten Nederland (RD)"),
        ),
    }
)


def _read_gpkg(path: Path, problems: Problems):
    from bcba.sources._read import RawTable

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001 - any GDAL failure means: unreadable file
        problems.add(
            path.name,
            f"bestand kan niet worden gelezen ({type(exc).__name__})",
            fix="Exporteer de BAG-adressen opnieuw als GeoPackage of CSV",
        )
        return None
    if gdf.empty:
        problems.add(path.name, "bestand is leeg", fix="Lever BAG-adressen van de gemeente aan")
        return None
    if gdf.crs is None:
        problems.add(
            path.name, "coördinatenstelsel ontbreekt", fix="Sla de laag op in EPSG:28992 (RD New)"
        )
        return None
    if gdf.crs != CRS:
        gdf = gdf.to_crs(CRS)
    geom = gdf.geometry
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    points = geom.representative_point() if not geom.geom_type.eq("Point").all() else geom
    frame["x"] = np.where(points.isna(), np.nan, points.x)
    frame["y"] = np.where(points.isna(), np.nan, points.y)
    frame = frame.where(frame.notna(), "")
    # feature number as row: a GeoPackage has no header row, so rows count from 1
    frame["bron_rij"] = np.arange(1, len(frame) + 1, dtype="int64")
    return RawTable(frame, path.name, None, len(frame), 0)


def read_bag(path: str | Path, *, sheet: str | None = None) -> SourceResult:
    """Read and validate the BAG address extract (CSV/XLSX with x/y, or GeoPackage).

    Returns
    -------
    SourceResult
        ``frame`` is a GeoDataFrame (EPSG:28992 points) with ``adres_id`` (16-digit str)
        and the address fields.

    Raises
    ------
    InputValidationError
        Listing every problem found.
    """
    path = Path(path)
    problems = Problems()
    if path.suffix.lower() == ".gpkg":
        raw = _read_gpkg(path, problems)
        if raw is None:
            problems.raise_if_any()
        frame, extra = match_columns(
            raw.frame, BAG_INPUT_COLUMNS, file=raw.file, sheet=None, problems=problems
        )
        if not require_columns(frame, BAG_REQUIRED, file=raw.file, sheet=None, problems=problems):
            problems.raise_if_any()
    else:
        started = reader_start(
            path,
            sheet=sheet,
            canonical=BAG_INPUT_COLUMNS,
            required=[*BAG_REQUIRED, "x", "y"],
            problems=problems,
        )
        if started is None:
            problems.raise_if_any()
        raw, frame, extra = started
    problems.raise_if_any()
    file, sh = raw.file, raw.sheet
    rows = frame["bron_rij"]
    out: dict[str, pd.Series] = {"bron_rij": rows}
    ids = problems.parsed(
        frame,
        "adresseerbaar_object_id",
        lambda v: parse_digits(v, 16),
        file=file,
        check="ongeldig BAG-id",
        fix="Een BAG-id bestaat uit 16 cijfers",
        sheet=sh,
    )
    out["adres_id"] = ids
    problems.labels["adres_id"] = problems._label("adresseerbaar_object_id")  # as written
    address_columns(frame, out, file=file, sheet=sh, problems=problems)
    out["gebruiksdoel"] = (
        parse_code(frame["gebruiksdoel"])
        if "gebruiksdoel" in frame
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    for col in ("oppervlakte", "x", "y"):
        if col in frame:
            values = problems.parsed(
                frame,
                col,
                parse_number,
                file=file,
                check="ongeldig getal",
                fix="Vul een getal in (coördinaten in RD, meters)",
                sheet=sh,
            )
            out[col] = values
        else:
            out[col] = pd.Series(np.nan, index=frame.index)
    result = pd.DataFrame(out)
    run_schema(BAG_SCHEMA, result, file=file, sheet=sh, problems=problems)
    problems.raise_if_any()
    reasons = pd.Series("", index=result.index, dtype="str")
    result["dq_redenen"] = add_reason(reasons, flag_duplicates(result, ["adres_id"]), "dubbel")
    result = finish_frame(result, file, BAG_COLUMNS)
    xy = [result[c].to_numpy(dtype="float64", na_value=np.nan) for c in ("x", "y")]
    gdf = gpd.GeoDataFrame(result, geometry=gpd.points_from_xy(*xy), crs=CRS)
    return SourceResult(
        "bag", gdf, [file], raw.n_rows_in, raw.empty_rows, extra, notes=problems.notes
    )

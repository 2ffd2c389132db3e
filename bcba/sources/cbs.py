"""CBS geography and kerncijfers: the shipped wijk- en buurtkaart or an analyst's ``gebieden.gpkg``.

``gebieden.gpkg`` is the official CBS wijk- en buurtkaart (layers ``gemeenten``,
``wijken``, ``buurten`` with CBS column names) for a municipality whose geography is not
shipped; it takes precedence over the shipped geography.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from bcba.config import CRS
from bcba.sources._read import Problems

log = logging.getLogger(__name__)

GEBIEDEN_FILE = "gebieden.gpkg"
_LAYER_KEYS = {
    "gemeenten": ["gemeentecode"],
    "wijken": ["wijkcode", "gemeentecode"],
    "buurten": ["buurtcode", "wijkcode", "gemeentecode"],
}


def read_gebieden(path: str | Path, gemeentecode: str) -> dict[str, gpd.GeoDataFrame | None]:
    """Read the layers of a CBS wijk- en buurtkaart GeoPackage for one municipality.

    Returns a dict ``gemeenten``/``wijken``/``buurten`` -> GeoDataFrame in EPSG:28992 (land
    part only when CBS's ``water`` column is present), or None for an absent layer.

    Raises
    ------
    InputValidationError
        Unreadable file, missing CBS columns, no CRS, or the municipality absent.
    """
    import pyogrio

    path = Path(path)
    problems = Problems()
    try:
        present = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:  # noqa: BLE001 - any GDAL failure means: unreadable file
        problems.add(
            path.name,
            f"bestand kan niet worden gelezen ({type(exc).__name__})",
            fix="Lever de CBS wijk- en buurtkaart opnieuw aan als GeoPackage",
        )
        problems.raise_if_any()
    out: dict[str, gpd.GeoDataFrame | None] = {}
    for layer, keys in _LAYER_KEYS.items():
        if layer not in present:
            out[layer] = None
            continue
        frame = gpd.read_file(path, layer=layer)
        missing = [k for k in keys if k not in frame.columns]
        for k in missing:
            problems.add(
                path.name,
                "verplichte kolom ontbreekt",
                row=1,
                column=k,
                sheet=layer,
                fix="Gebruik de CBS wijk- en buurtkaart met de CBS-kolomnamen",
            )
        if frame.crs is None:
            problems.add(
                path.name,
                "coördinatenstelsel ontbreekt",
                sheet=layer,
                fix="Sla de laag op in EPSG:28992 (RD New)",
            )
            continue
        if missing:
            continue
        frame = frame.to_crs(CRS) if frame.crs != CRS else frame
        if "water" in frame.columns and layer == "gemeenten":
            frame = frame[frame["water"].astype(str).str.upper() != "JA"]
        frame = frame[frame["gemeentecode"].astype(str) == gemeentecode].reset_index(drop=True)
        out[layer] = frame if not frame.empty else None
    if "gemeenten" in present and out.get("gemeenten") is None and not problems:
        problems.add(
            path.name,
            f"gemeente {gemeentecode} komt niet voor in laag gemeenten",
            sheet="gemeenten",
            value=gemeentecode,
            fix="Lever de wijk- en buurtkaart met deze gemeente aan",
        )
    if "gemeenten" not in present and "wijken" not in present:
        problems.add(
            path.name,
            "laag 'gemeenten' of 'wijken' ontbreekt",
            fix="Lever de CBS wijk- en buurtkaart met lagen gemeenten, wijken, buurten aan",
        )
    problems.raise_if_any()
    return out


def kerncijfers(frame: gpd.GeoDataFrame, *, code: str) -> pd.DataFrame:
    """The CBS attributes of wijken or buurten without geometry, indexed by ``code``."""
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).set_index(code)

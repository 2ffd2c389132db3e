"""The study area: municipality outline, wijken, buurten and the full 100 m grid.

Geography comes from the shipped CBS wijk- en buurtkaart 2024 unless the input folder holds
``gebieden.gpkg`` (the official CBS kaart for a municipality that is not shipped), which then
takes precedence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from bcba import reference
from bcba.config import CRS
from bcba.errors import UnknownMunicipalityError
from bcba.labels import clean_area_name
from bcba.reference import Gemeente

log = logging.getLogger(__name__)

BRON_MEEGELEVERD = "meegeleverd (CBS wijk- en buurtkaart 2024)"
BRON_GEBIEDEN = "gebieden.gpkg"


@dataclass
class StudyArea:
    """Geography of one municipality, all in EPSG:28992.

    Attributes
    ----------
    gemeente
        The resolved municipality.
    outline
        One-row GeoDataFrame with the land outline.
    wijken, buurten
        CBS wijken and buurten with kerncijfers. When no buurten exist, ``buurten`` holds
        the wijken (``buurtcode`` = ``wijkcode``) and ``buurten_zijn_wijken`` is True.
    cellen
        Full grid (``cel_id``) over the outline, left-joined with CBS 100 m square
        attributes where inhabited.
    bron
        Where the geography came from (shipped or ``gebieden.gpkg``).
    """

    gemeente: Gemeente
    outline: gpd.GeoDataFrame
    wijken: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    cellen: gpd.GeoDataFrame
    bron: str
    buurten_zijn_wijken: bool = False
    cell_size: int = 100
    #: municipalities analysed per wijk because no buurt division is shipped or supplied
    per_wijk: tuple[str, ...] = ()


def _resolve(gemeente: str | int | Gemeente | list, gebieden: Path | None) -> Gemeente:
    if isinstance(gemeente, Gemeente | list | tuple):
        return reference.resolve_gemeente(gemeente)
    try:
        return reference.resolve_gemeente(gemeente)
    except UnknownMunicipalityError:
        code = str(gemeente).strip().upper()
        if gebieden is not None and code.startswith("GM") and code[2:].isdigit():
            return Gemeente(code, code)
        raise


def load_area(
    gemeente: str | int | Gemeente, *, data_dir: str | Path | None = None, cell_size: int = 100
) -> StudyArea:
    """Load the study area of a municipality.

    Parameters
    ----------
    gemeente
        Code (``GM0489``), name, or a resolved :class:`~bcba.reference.Gemeente`.
    data_dir
        Input folder; a ``gebieden.gpkg`` there overrides the shipped geography.
    cell_size
        Grid size in metres; CBS square attributes are only joined at 100 m.

    Raises
    ------
    UnknownMunicipalityError
        When no geography is shipped or supplied for the municipality.
    """
    from bcba.sources.cbs import GEBIEDEN_FILE, read_gebieden

    gpkg = Path(data_dir) / GEBIEDEN_FILE if data_dir is not None else None
    gpkg = gpkg if gpkg is not None and gpkg.exists() else None
    gem = _resolve(gemeente, gpkg)
    if gpkg is not None:
        layers = read_gebieden(gpkg, gem.code)
        wijken, buurten = layers["wijken"], layers["buurten"]
        outline = layers["gemeenten"]
        if gem.naam == gem.code:
            for lyr in (outline, wijken, buurten):
                if lyr is not None and "gemeentenaam" in lyr.columns and len(lyr):
                    gem = Gemeente(gem.code, str(lyr["gemeentenaam"].iloc[0]))
                    break
        if outline is None and wijken is not None:
            outline = gpd.GeoDataFrame(
                {"gemeentecode": [gem.code], "gemeentenaam": [gem.naam]},
                geometry=[shapely.union_all(wijken.geometry.values)],
                crs=CRS,
            )
        if wijken is None:
            raise UnknownMunicipalityError(
                f"{GEBIEDEN_FILE} bevat geen wijken voor {gem.naam} ({gem.code})."
            )
        bron = BRON_GEBIEDEN
    else:
        outline = reference.gemeente_grens(gem)
        wijken = reference.wijken(gem)
        table = reference.gemeenten().set_index("gemeentecode")
        with_buurten = [c for c in gem.codes if bool(table.loc[c, "heeft_buurten"])]
        buurten = (
            reference.buurten(
                reference.cluster([reference.resolve_gemeente(c) for c in with_buurten])
            )
            if with_buurten
            else None
        )
        bron = BRON_MEEGELEVERD
    # a municipality without a buurt division is analysed per wijk (its wijken stand in
    # for buurten; in a cluster only for the members that lack buurten)
    has_buurten = buurten is not None and len(buurten) > 0
    if not has_buurten:
        covered: set[str] = set()
    elif "gemeentecode" in buurten:
        covered = set(buurten["gemeentecode"].astype(str))
    else:  # an analyst's gebieden.gpkg without the column: its buurten cover the area
        covered = set(gem.codes)
    missing = [c for c in gem.codes if c not in covered]
    fallback = bool(missing)
    if fallback:
        log.warning(
            "Geen buurtindeling voor %s: de wijken worden als buurten gebruikt.",
            ", ".join(missing),
        )
        as_buurten = (
            wijken[wijken["gemeentecode"].isin(missing)].copy()
            if "gemeentecode" in wijken
            else wijken.copy()
        )
        as_buurten["buurtcode"] = as_buurten["wijkcode"]
        if "wijknaam" in as_buurten.columns:
            as_buurten["buurtnaam"] = as_buurten["wijknaam"].map(clean_area_name)
        buurten = (
            as_buurten
            if buurten is None or buurten.empty
            else pd.concat([buurten, as_buurten], ignore_index=True)
        )
        buurten = gpd.GeoDataFrame(buurten, geometry="geometry", crs=CRS)
    if gem.is_cluster and "gemeentenaam" in buurten and "buurtnaam" in buurten:
        # names stay telling when several municipalities share a table or a map
        buurten = buurten.assign(
            buurtnaam=buurten["buurtnaam"].astype(str)
            + " ("
            + buurten["gemeentenaam"].astype(str)
            + ")"
        )
    cellen = reference.grid(outline, cell_size=cell_size)
    if cell_size == 100:
        squares = reference.vierkanten(gem)
        attrs = pd.DataFrame(squares.drop(columns=squares.geometry.name)).rename(
            columns={"crs28992res100m": "cel_id", "gemeentecode": "vierkant_gemeentecode"}
        )
        cellen = cellen.merge(attrs.drop_duplicates("cel_id"), on="cel_id", how="left")
    return StudyArea(
        gemeente=gem,
        outline=outline.reset_index(drop=True),
        wijken=wijken.reset_index(drop=True),
        buurten=buurten.sort_values("buurtcode").reset_index(drop=True),
        cellen=gpd.GeoDataFrame(cellen, geometry="geometry", crs=CRS),
        bron=bron,
        buurten_zijn_wijken=fallback,
        cell_size=cell_size,
        per_wijk=tuple(missing),
    )

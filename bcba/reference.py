"""Shipped reference data: CBS geography, 100 m squares, PC4 areas and the SBI list.

All geometry is returned in EPSG:28992. Data come from ``bcba/reference_data`` (see its
``SOURCES.md``; "Bron: CBS, Wijk- en buurtkaart 2024", licence CC BY 4.0).
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bcba.config import CRS, REFERENCE_DIR
from bcba.errors import ConfigError, UnknownMunicipalityError

ATTRIBUTION = "Bron: CBS, Wijk- en buurtkaart 2024 (CC BY 4.0); geometrie CBS/Kadaster"

_WIJKBUURT = REFERENCE_DIR / "cbs" / "wijkbuurtkaart_2024_riec_rotterdam.gpkg"
_VIERKANT = REFERENCE_DIR / "cbs" / "vierkant_100m_2024_rijnmond.gpkg"
_PC4 = REFERENCE_DIR / "cbs" / "pc4_2024_riec_rotterdam.gpkg"
_GEMEENTEN = REFERENCE_DIR / "cbs" / "riec_rotterdam_gemeenten_2024.csv"
_SBI2008 = REFERENCE_DIR / "sbi" / "sbi2008.csv"
_INKOMEN = REFERENCE_DIR / "cbs" / "gemeente_inkomen_welvaart_2022_riec_rotterdam.csv"
_MISDRIJVEN = REFERENCE_DIR / "politie" / "geregistreerde_misdrijven_gemeente_2022_2024.csv"


def _fold(text: str) -> str:
    """Case-, accent-, punctuation- and space-insensitive form of a name."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "".join(c for c in text.lower() if c.isalnum())


#: Joins the codes of a cluster of municipalities analysed as one (``GM0642+GM0531``).
CLUSTER_SEP = "+"


@dataclass(frozen=True)
class Gemeente:
    """A resolved municipality, or a cluster of municipalities analysed as one.

    A cluster's ``code`` joins its members' codes with ``+`` (``GM0642+GM0531``) and its
    ``naam`` names them all (``Zwijndrecht en Hendrik-Ido-Ambacht``).
    """

    code: str  # GMxxxx, or GMxxxx+GMyyyy for a cluster
    naam: str
    veiligheidsregio: str | None = None
    leden: tuple[Gemeente, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The municipality codes: the members of a cluster, else this one."""
        return tuple(m.code for m in self.leden) or (self.code,)

    @property
    def is_cluster(self) -> bool:
        return len(self.leden) > 1

    @property
    def slug(self) -> str:
        """Folder-safe label, e.g. ``GM0489_Barendrecht``."""
        return f"{self.code}_{''.join(c if c.isalnum() or c == '+' else '_' for c in self.naam)}"


def cluster(members: list[Gemeente] | tuple[Gemeente, ...]) -> Gemeente:
    """One municipality, or a cluster of several (in code order, each once)."""
    unique = sorted({m.code: m for m in members}.values(), key=lambda m: m.code)
    if len(unique) == 1:
        return unique[0]
    names = [m.naam for m in unique]
    naam = ", ".join(names[:-1]) + " en " + names[-1]
    regions = {m.veiligheidsregio for m in unique}
    return Gemeente(
        CLUSTER_SEP.join(m.code for m in unique),
        naam,
        regions.pop() if len(regions) == 1 else None,
        tuple(unique),
    )


@functools.cache
def _municipality_table() -> pd.DataFrame:
    table = pd.read_csv(_GEMEENTEN, dtype={"gemeentecode": str, "gemeentenaam": str})
    return table


def gemeenten() -> pd.DataFrame:
    """The municipalities of the shipped area with what geography is shipped for each."""
    table = _municipality_table().copy()
    layers = {
        lyr: set(_read_layer(lyr)["gemeentecode"]) for lyr in ("gemeenten", "wijken", "buurten")
    }
    cells = set(_cells()["gemeentecode"].dropna())
    table["heeft_gemeentegrens"] = table["gemeentecode"].isin(layers["gemeenten"])
    table["heeft_wijken"] = table["gemeentecode"].isin(layers["wijken"])
    table["heeft_buurten"] = table["gemeentecode"].isin(layers["buurten"])
    table["heeft_vierkanten"] = table["gemeentecode"].isin(cells)
    return table


def resolve_gemeente(query: str | int | Gemeente | list | tuple) -> Gemeente:
    """Resolve a municipality code or name: ``GM0489``, ``0489``, ``489``, ``barendrecht``;
    a list of them, or codes joined by ``+``, resolves to a cluster (:func:`cluster`).

    Raises
    ------
    UnknownMunicipalityError
        With a Dutch message listing close matches.
    """
    if isinstance(query, Gemeente):
        return query
    if isinstance(query, list | tuple):
        return cluster([resolve_gemeente(q) for q in query])
    table = _municipality_table()
    raw = str(query).strip()
    if not raw:
        raise UnknownMunicipalityError("Geen gemeente opgegeven. Geef een code (GM0489) of naam.")
    if CLUSTER_SEP in raw:
        return cluster([resolve_gemeente(part) for part in raw.split(CLUSTER_SEP) if part.strip()])
    digits = raw.upper().removeprefix("GM")
    if digits.isdigit():
        code = f"GM{int(digits):04d}"
        hit = table[table["gemeentecode"] == code]
    else:
        folded = _fold(raw)
        hit = table[table["gemeentenaam"].map(_fold) == folded]
    if len(hit) == 1:
        row = hit.iloc[0]
        return Gemeente(row["gemeentecode"], row["gemeentenaam"], row.get("veiligheidsregio"))
    names = table["gemeentenaam"].tolist()
    by_fold = {_fold(n): n for n in names}
    close = difflib.get_close_matches(_fold(raw), list(by_fold), n=4, cutoff=0.5)
    suggestion = ", ".join(
        f"{by_fold[c]} ({table.loc[table['gemeentenaam'] == by_fold[c], 'gemeentecode'].iloc[0]})"
        for c in close
    )
    message = f"Onbekende gemeente: {raw!r}."
    if suggestion:
        message += f" Bedoelt u: {suggestion}?"
    message += " Zie 'bcba gemeenten' voor de lijst."
    raise UnknownMunicipalityError(message)


@functools.cache
def _read_layer(layer: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(_WIJKBUURT, layer=layer)
    return frame.to_crs(CRS) if frame.crs != CRS else frame


@functools.cache
def _cells() -> gpd.GeoDataFrame:
    frame = gpd.read_file(_VIERKANT)
    return frame.to_crs(CRS) if frame.crs != CRS else frame


def _select(layer: str, gemeente: Gemeente) -> gpd.GeoDataFrame:
    frame = _read_layer(layer)
    selected = frame[frame["gemeentecode"].isin(gemeente.codes)].reset_index(drop=True)
    return selected.copy()


def _need(frame: gpd.GeoDataFrame, what: str, gemeente: Gemeente) -> gpd.GeoDataFrame:
    if frame.empty:
        raise UnknownMunicipalityError(
            f"Voor {gemeente.naam} ({gemeente.code}) wordt geen {what} meegeleverd. "
            "Lever de officiële CBS wijk- en buurtkaart aan als 'gebieden.gpkg' in de "
            "invoermap (lagen gemeenten, wijken, buurten)."
        )
    return frame


def gemeente_kerncijfers() -> pd.DataFrame:
    """CBS kerncijfers 2024 of every shipped municipality (no geometry): gemeentecode,
    gemeentenaam, aantal_inwoners, …"""
    frame = _read_layer("gemeenten")
    return pd.DataFrame(frame.drop(columns=frame.geometry.name))


def gemeente_grens(query: str | int) -> gpd.GeoDataFrame:
    """The municipality outline (land part): one row per municipality (of a cluster)."""
    gem = resolve_gemeente(query)
    return _need(_select("gemeenten", gem), "gemeentegrens", gem)


def wijken(query: str | int) -> gpd.GeoDataFrame:
    """The wijken of a municipality with CBS kerncijfers 2024."""
    gem = resolve_gemeente(query)
    return _need(_select("wijken", gem), "wijkindeling", gem)


def buurten(query: str | int) -> gpd.GeoDataFrame:
    """The buurten of a municipality with CBS kerncijfers 2024."""
    gem = resolve_gemeente(query)
    return _need(_select("buurten", gem), "buurtindeling", gem)


def vierkanten(query: str | int) -> gpd.GeoDataFrame:
    """The inhabited CBS 100 m squares 2024 whose centre lies in the municipality."""
    gem = resolve_gemeente(query)
    cells = _cells()
    return cells[cells["gemeentecode"].isin(gem.codes)].reset_index(drop=True).copy()


def pc4(query: str | int | None = None) -> gpd.GeoDataFrame:
    """CBS PC4 areas 2024 (all, or those assigned to one municipality)."""
    frame = gpd.read_file(_PC4)
    frame = frame.to_crs(CRS) if frame.crs != CRS else frame
    frame["postcode"] = frame["postcode"].astype(str).str.zfill(4)
    if query is None:
        return frame
    gem = resolve_gemeente(query)
    return frame[frame["gemeentecode"].isin(gem.codes)].reset_index(drop=True)


def cell_id(x: np.ndarray, y: np.ndarray, cell_size: int = 100) -> np.ndarray:
    """CBS-style square id of the cell containing each point (``E0974N4514`` at 100 m).

    For 100 m this is CBS's ``crs28992res100m``: the lower-left corner in hectometres.
    Other sizes use the same pattern in units of the cell size, prefixed with the size.
    """
    ix = np.floor(np.asarray(x, dtype=float) / cell_size).astype("int64")
    iy = np.floor(np.asarray(y, dtype=float) / cell_size).astype("int64")
    if cell_size == 100:
        return np.char.add(
            np.char.add("E", np.char.zfill(ix.astype(str), 4)),
            np.char.add("N", np.char.zfill(iy.astype(str), 4)),
        ).astype(object)
    prefix = f"R{cell_size}"
    return np.char.add(
        np.char.add(prefix + "E", ix.astype(str)), np.char.add("N", iy.astype(str))
    ).astype(object)


def grid(outline: gpd.GeoDataFrame | shapely.Geometry, *, cell_size: int = 100) -> gpd.GeoDataFrame:
    """A full square grid over an area (all cells that intersect it), aligned to the RD origin.

    Unlike :func:`vierkanten` this includes uninhabited cells (business parks, water), which
    the risk terrain model needs. At 100 m the ids match CBS's ``crs28992res100m``.
    """
    if cell_size <= 0:
        raise ConfigError(f"cell_size moet positief zijn, niet {cell_size!r}")
    if isinstance(outline, gpd.GeoDataFrame | gpd.GeoSeries):
        if outline.crs is None or outline.crs != CRS:
            from bcba.errors import CRSMismatchError

            raise CRSMismatchError(f"grid() verwacht {CRS}, kreeg {outline.crs}")
        area = shapely.union_all(outline.geometry.values)
    else:
        area = outline
    xmin, ymin, xmax, ymax = area.bounds
    xs = np.arange(np.floor(xmin / cell_size) * cell_size, xmax, cell_size)
    ys = np.arange(np.floor(ymin / cell_size) * cell_size, ymax, cell_size)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    boxes = shapely.box(gx, gy, gx + cell_size, gy + cell_size)
    shapely.prepare(area)
    keep = shapely.intersects(area, boxes)
    cells = gpd.GeoDataFrame(
        {"cel_id": cell_id(gx[keep] + 1, gy[keep] + 1, cell_size)},
        geometry=boxes[keep],
        crs=CRS,
    )
    # a cell wholly inside keeps its full area; only cells on the border are cut (the cut is
    # the costly part, and most cells of a municipality lie inside it)
    inside = shapely.contains_properly(area, boxes[keep])
    within = np.full(int(keep.sum()), float(cell_size) ** 2)
    within[~inside] = shapely.area(shapely.intersection(boxes[keep][~inside], area))
    cells["oppervlakte_in_gebied"] = within
    return cells.reset_index(drop=True)


def sbi2008() -> pd.DataFrame:
    """The SBI 2008 list (codes as strings without dots, leading zeros kept)."""
    return pd.read_csv(_SBI2008, dtype={"sbi_code": str, "ouder_code": str, "sbi_code_punt": str})


def inkomen_welvaart() -> pd.DataFrame:
    """CBS income and welfare per municipality (kaart 2022; see SOURCES.md, item 4b)."""
    return pd.read_csv(_INKOMEN)


def geregistreerde_misdrijven() -> pd.DataFrame:
    """Registered crime per municipality 2022-2024 (Politie open data, 'Bron: Politie')."""
    return pd.read_csv(_MISDRIJVEN)

"""The basemap under every B-CBA map: land, water, neighbours, borders and names.

A map without orientation is a coloured puzzle. :func:`build_basemap` gathers, once per run,
what a reader needs to find their way, all in EPSG:28992 and all offline:

* **Borders that line up.** The buurten of the study area are cleaned into a proper
  coverage (:func:`shapely.coverage_clean`: overlaps resolved, gaps narrower than
  :data:`SLIVER_M` closed; the shipped geometry was simplified by about 70-110 m without
  keeping topology). The wijken and the municipal outline are dissolved from those same
  buurten, so the three sets of borders coincide; the simplified municipality polygon of
  the CBS gemeenten layer is never drawn over them. :meth:`Basemap.align` gives a map
  layer the cleaned geometry of its buurten.
* **Neighbouring municipalities** in grey with their names: the CBS gemeenten 2024 layer
  plus Vlaardingen from the 2017 layer (absent in 2024), cleaned the same way.
* **Water.** The shipped CBS geography has no water polygons, and its "land" polygons
  include rivers: a municipal (and wijk, buurt) border runs down the middle of the
  Nieuwe Maas, Oude Maas or Noord, so the gaps between the land polygons are mostly
  simplification slivers, not rivers (checked on the whole region: the only real gaps are
  the wide estuaries such as the Haringvliet and the Hollandsch Diep). Water is therefore
  derived from two kinds of evidence, both documented here and both approximate:

  1. *Between municipalities*: a morphological closing (radius :data:`CLOSING_M`) of the
     cleaned land union minus the land, opened by :data:`OPENING_M` to drop what is
     narrower than twice that, keeping pieces of at least 25 ha whose outline lies along
     land for at least :data:`ENCLOSED_SHARE` of its length (a notch in the region's
     inland edge, where the unshipped neighbour lies, is open on one side and fails this).
  2. *Inside buurten*: CBS publishes each buurt's water area (``oppervlakte_water_in_ha``)
     and where people live (the inhabited 100 m squares). In a buurt with at least
     :data:`MIN_WATER_SHARE` water and enough inhabited squares to anchor the estimate,
     the buurt's water area is placed on its uninhabited 100 m cells farthest from any
     inhabited square (a river or lake lies where nobody lives, away from the quays),
     then smoothed. This finds the Nieuwe Maas through Rotterdam, the Kralingse Plas
     and the Oude Maas along Barendrecht; it cannot see water in empty port or rural
     buurten, which stay land. Where the analyst supplies water (``achtergrond.gpkg``)
     that replaces both.

* **Names without collisions**: wijk and buurt names at the pole of inaccessibility of
  each area (:func:`shapely.maximum_inscribed_circle`), neighbour names, and the main
  streets from the BAG address points (streets with the most addresses first, at a
  central address point, turned along the street's principal axis). :attr:`Basemap.labels`
  lists the candidates in priority order; the static maps place them greedily by
  measuring the rendered text, the interactive maps per zoom level in the browser.
* **An analyst's background** (``achtergrond.gpkg`` in the input folder: layers ``wegen``,
  ``water``, ``gebouwen``, e.g. a BRT/BGT extract from the municipality's GIS
  department), validated by :func:`read_achtergrond`.

Derived regional layers are cached per process; a basemap is built once per run.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from bcba import reference
from bcba.config import CRS, REFERENCE_DIR
from bcba.errors import CRSMismatchError, InputProblem, InputValidationError
from bcba.labels import clean_area_name

log = logging.getLogger(__name__)

ACHTERGROND_FILE = "achtergrond.gpkg"
#: Layers of ``achtergrond.gpkg`` and the geometry types each may hold.
ACHTERGROND_LAYERS: dict[str, tuple[str, ...]] = {
    "wegen": ("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    "water": ("Polygon", "MultiPolygon", "LineString", "MultiLineString"),
    "gebouwen": ("Polygon", "MultiPolygon"),
}
_GEMEENTEN_2017 = REFERENCE_DIR / "cbs" / "gemeente_2017_riec_rotterdam.gpkg"

#: Gaps between neighbouring polygons narrower than this are simplification slivers.
SLIVER_M = 150.0
CLOSING_M = 1500.0
OPENING_M = 100.0
ENCLOSED_SHARE = 0.85
MIN_WATER_SHARE = 0.15
MIN_WATER_HA = 3.0
#: Inhabited 100 m squares a buurt needs before its water is placed.
MIN_INHABITED_SQUARES = 3
#: Neighbours and water are kept this far (share of the larger side) around the area, so
#: an interactive map panned or shown wider than the area still has context.
CONTEXT_MARGIN = 0.6
#: Margin of the static maps around the study area (share of the larger side).
STATIC_MARGIN = 0.04
#: margin around a focus area (a gebied of a municipality), as a share of its extent
FOCUS_MARGIN = 0.15
#: Label kinds in priority order.
LABEL_KINDS = ("gemeente", "wijk", "buurt", "straat")
#: Street labels kept as candidates (the most addresses first).
MAX_STREETS = 400


@dataclass(eq=False)
class Basemap:
    """Everything drawn under and over the data of a map (see the module docstring).

    Attributes
    ----------
    outline
        One row: the study area dissolved from its cleaned buurten.
    wijken
        ``wijkcode``, ``wijknaam``, dissolved from the cleaned buurten.
    buurten
        ``buurtcode``, ``buurtnaam``, ``wijkcode`` (cleaned coverage).
    water
        Water polygons with ``bron`` (``tussen gemeenten``, ``geschat``, ``achtergrond``).
    buren
        Neighbouring municipalities (``gemeentecode``, ``gemeentenaam``) around the area.
    bebouwing
        Inhabited land (dissolved inhabited CBS 100 m squares of the study area).
    labels
        Label candidates in priority order: ``tekst``, ``soort`` (one of
        :data:`LABEL_KINDS`), ``x``, ``y``, ``hoek`` (degrees, counter-clockwise),
        ``ruimte_m`` (room for the label on the ground), ``min_zoom`` (web map zoom from
        which the label fits).
    achtergrond
        The analyst's layers (``wegen``, ``water``, ``gebouwen``) that were supplied.
    extent
        ``(xmin, ymin, xmax, ymax)`` of the static maps.
    meldingen
        Dutch notes for the report (a reprojected or ignored background layer).
    """

    outline: gpd.GeoDataFrame
    wijken: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    buren: gpd.GeoDataFrame
    bebouwing: gpd.GeoDataFrame
    labels: pd.DataFrame
    achtergrond: dict[str, gpd.GeoDataFrame]
    extent: tuple[float, float, float, float]
    gemeente: str = ""
    meldingen: list[str] = field(default_factory=list)
    #: rendering caches (label layouts, reprojected layers) filled by the map modules
    cache: dict = field(default_factory=dict, repr=False)

    def align(self, frame: gpd.GeoDataFrame, *, key: str = "buurtcode") -> gpd.GeoDataFrame:
        """``frame`` with the cleaned geometry of its buurten, so its polygons share their
        borders with the basemap (unchanged when some ``key`` is not a buurt here)."""
        if key not in frame.columns or key not in self.buurten.columns or frame.empty:
            return frame
        lookup = pd.Series(self.buurten.geometry.values, index=self.buurten[key].astype(str))
        lookup = lookup[~lookup.index.duplicated()]
        codes = frame[key].astype(str)
        if not codes.isin(lookup.index).all():
            return frame
        return frame.set_geometry(
            gpd.GeoSeries(lookup.loc[codes].to_numpy(), index=frame.index, crs=frame.crs)
        )


# --------------------------------------------------------------------------- regional data
@functools.cache
def region_land() -> gpd.GeoDataFrame:
    """The land polygons of the shipped municipalities (2024, plus Vlaardingen from 2017),
    cleaned into a coverage: ``gemeentecode``, ``gemeentenaam``."""
    g24 = reference._read_layer("gemeenten")[["gemeentecode", "gemeentenaam", "geometry"]]
    g17 = gpd.read_file(_GEMEENTEN_2017)
    g17 = g17.to_crs(CRS) if g17.crs != CRS else g17
    missing = g17[~g17["gemeentecode_2024"].isin(g24["gemeentecode"])]
    extra = gpd.GeoDataFrame(
        {
            "gemeentecode": missing["gemeentecode_2024"].to_numpy(),
            "gemeentenaam": missing["gm_naam"].to_numpy(),
        },
        geometry=missing.geometry.values,
        crs=CRS,
    )
    both = pd.concat([g24, extra], ignore_index=True)
    both = both.dissolve("gemeentecode", as_index=False, aggfunc="first")
    cleaned = shapely.coverage_clean(shapely.make_valid(both.geometry.values), gap_width=SLIVER_M)
    return gpd.GeoDataFrame(
        both[["gemeentecode", "gemeentenaam"]], geometry=cleaned, crs=CRS
    ).reset_index(drop=True)


@functools.cache
def water_between_municipalities() -> shapely.Geometry:
    """Wide water between the shipped municipalities' land (estuaries), see module docstring."""
    land = shapely.union_all(region_land().geometry.values)
    closed = land.buffer(CLOSING_M, quad_segs=8).buffer(-CLOSING_M, quad_segs=8)
    gaps = closed.difference(land)
    opened = gaps.buffer(-OPENING_M, quad_segs=4).buffer(OPENING_M, quad_segs=4)
    near_land = land.buffer(30.0, quad_segs=2)
    kept = []
    for part in shapely.get_parts(opened):
        if part.area < 25e4:
            continue
        rim = part.exterior
        if shapely.length(shapely.intersection(rim, near_land)) >= ENCLOSED_SHARE * rim.length:
            kept.append(part)
    return shapely.union_all(kept) if kept else shapely.Polygon()


def estimate_inland_water(
    areas: gpd.GeoDataFrame,
    inhabited: gpd.GeoDataFrame,
    *,
    cell: float = 100.0,
    min_share: float = MIN_WATER_SHARE,
    min_ha: float = MIN_WATER_HA,
    min_inhabited: int = MIN_INHABITED_SQUARES,
) -> shapely.Geometry:
    """Place each area's published water area on its emptiest cells (module docstring, 2).

    Parameters
    ----------
    areas
        Polygons with CBS ``oppervlakte_water_in_ha`` and ``oppervlakte_totaal_in_ha``.
    inhabited
        The inhabited CBS 100 m squares (polygons on the RD grid).
    cell
        Cell size in metres (the squares' size).
    min_share, min_ha
        An area's water is placed when it is at least this share and this many hectares.
    min_inhabited
        Inhabited squares an area needs to anchor the estimate.

    Returns
    -------
    shapely.Geometry
        The estimated water, smoothed (empty when nothing qualifies).
    """
    if areas.empty:
        return shapely.Polygon()
    water_ha = pd.to_numeric(areas.get("oppervlakte_water_in_ha"), errors="coerce")
    total_ha = pd.to_numeric(areas.get("oppervlakte_totaal_in_ha"), errors="coerce")
    if water_ha is None or total_ha is None:
        return shapely.Polygon()
    water_ha, total_ha = water_ha.fillna(0).to_numpy(), total_ha.fillna(0).to_numpy()
    todo = np.flatnonzero((water_ha >= min_ha) & (water_ha >= min_share * total_ha))
    if not len(todo):
        return shapely.Polygon()
    geoms = areas.geometry.values
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[todo])
    pad = 20 * cell  # inhabited squares just outside still push the water away from them
    x0, y0 = math.floor((xmin - pad) / cell) * cell, math.floor((ymin - pad) / cell) * cell
    nx, ny = math.ceil((xmax + pad - x0) / cell), math.ceil((ymax + pad - y0) / cell)
    occupied = np.zeros((ny, nx), dtype=bool)
    corners = shapely.bounds(inhabited.geometry.values)[:, :2]
    ix = np.floor((corners[:, 0] + cell / 2 - x0) / cell).astype(int)
    iy = np.floor((corners[:, 1] + cell / 2 - y0) / cell).astype(int)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    occupied[iy[inside], ix[inside]] = True
    distance = ndimage.distance_transform_edt(~occupied)
    chosen = np.zeros_like(occupied)
    for i in todo:
        bx0, by0, bx1, by1 = shapely.bounds(geoms[i])
        c0, c1 = int((bx0 - x0) // cell), int(math.ceil((bx1 - x0) / cell))
        r0, r1 = int((by0 - y0) // cell), int(math.ceil((by1 - y0) / cell))
        cx = x0 + (np.arange(c0, c1) + 0.5) * cell
        cy = y0 + (np.arange(r0, r1) + 0.5) * cell
        gx, gy = np.meshgrid(cx, cy)
        mask = shapely.contains_xy(geoms[i], gx, gy)
        window = (slice(r0, r1), slice(c0, c1))
        if (mask & occupied[window]).sum() < min_inhabited:
            continue  # nothing to anchor the estimate: leave this area as land
        free = np.flatnonzero((mask & ~occupied[window]).ravel())
        n = int(round(water_ha[i] * 1e4 / cell**2))
        if not n or not len(free):
            continue
        order = free[np.argsort(-distance[window].ravel()[free], kind="stable")][:n]
        rows, cols = np.unravel_index(order, mask.shape)
        chosen[rows + r0, cols + c0] = True
    rows, cols = np.nonzero(chosen)
    if not len(rows):
        return shapely.Polygon()
    boxes = shapely.box(
        x0 + cols * cell, y0 + rows * cell, x0 + (cols + 1) * cell, y0 + (rows + 1) * cell
    )
    raw = shapely.coverage_union_all(boxes)
    # close one-cell gaps, then drop one-cell spurs, and round the staircase edges
    smooth = (
        raw.buffer(cell, quad_segs=4)
        .buffer(-1.5 * cell, quad_segs=4)
        .buffer(0.5 * cell, quad_segs=4)
    )
    parts = [p for p in shapely.get_parts(smooth) if p.area >= 5e4]
    return shapely.union_all(parts) if parts else shapely.Polygon()


@functools.cache
def _inland_water_shipped() -> shapely.Geometry:
    return estimate_inland_water(reference._read_layer("buurten"), reference._cells())


# --------------------------------------------------------------------------- background
def find_achtergrond(data_dir: str | Path | None) -> Path | None:
    """``achtergrond.gpkg`` in an input folder, or ``None`` when there is none."""
    if data_dir is None:
        return None
    path = Path(data_dir) / ACHTERGROND_FILE
    return path if path.is_file() else None


def read_achtergrond(path: str | Path) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Read and check an analyst-supplied background (``achtergrond.gpkg``).

    Layers ``wegen`` (lines or polygons), ``water`` (polygons or lines) and ``gebouwen``
    (polygons) are read; a layer in another CRS is reprojected to EPSG:28992 with a note,
    unknown layers are listed in a note and ignored.

    Returns
    -------
    layers, notes
        The layers found (EPSG:28992, empty geometries dropped) and Dutch notes.

    Raises
    ------
    InputValidationError
        Unreadable file, no known layer, a layer without CRS or with geometry of the wrong
        kind; every problem is listed.
    """
    import pyogrio

    path = Path(path)
    problems: list[InputProblem] = []
    notes: list[str] = []
    known = ", ".join(ACHTERGROND_LAYERS)
    try:
        present = [str(name) for name, _kind in pyogrio.list_layers(path)]
    except Exception as exc:  # noqa: BLE001 - any GDAL failure means: unreadable file
        raise InputValidationError(
            [
                InputProblem(
                    path.name,
                    None,
                    None,
                    f"bestand kan niet worden gelezen ({type(exc).__name__})",
                    fix=f"Lever een GeoPackage met de lagen {known} aan",
                )
            ]
        ) from exc
    unknown = [name for name in present if name not in ACHTERGROND_LAYERS]
    if unknown:
        notes.append(
            f"{path.name}: de lagen {', '.join(unknown)} worden niet gebruikt "
            f"(bekende lagen: {known})."
        )
        log.warning(notes[-1])
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, allowed in ACHTERGROND_LAYERS.items():
        if name not in present:
            continue
        frame = gpd.read_file(path, layer=name)
        if frame.crs is None:
            problems.append(
                InputProblem(
                    path.name,
                    None,
                    None,
                    "coördinatenstelsel ontbreekt",
                    sheet=name,
                    fix="Sla de laag op in EPSG:28992 (RD New)",
                )
            )
            continue
        if frame.crs != CRS:
            notes.append(
                f"{path.name}: laag {name} omgezet van {frame.crs.to_string()} naar {CRS}."
            )
            log.info(notes[-1])
            frame = frame.to_crs(CRS)
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        wrong = sorted(set(frame.geom_type) - set(allowed))
        if wrong:
            problems.append(
                InputProblem(
                    path.name,
                    None,
                    None,
                    f"geometrie van de verkeerde soort ({', '.join(wrong)})",
                    sheet=name,
                    fix=f"Laag {name} mag bevatten: {', '.join(allowed)}",
                )
            )
            continue
        layers[name] = gpd.GeoDataFrame(geometry=frame.geometry.values, crs=CRS)
    if not layers and not problems:
        problems.append(
            InputProblem(
                path.name,
                None,
                None,
                f"geen bruikbare laag (gevonden: {', '.join(present) or 'geen'})",
                fix=f"Geef de lagen de namen {known}",
            )
        )
    if problems:
        raise InputValidationError(problems)
    return layers, notes


# --------------------------------------------------------------------------- labels


#: Web map ground resolution at zoom 0 on the equator (metres per pixel).
_WEB_M_PER_PX = 156543.03392
#: Font size in pixels of each label kind on web maps (also the static map's points).
LABEL_PX = {"gemeente": 13.0, "wijk": 12.0, "buurt": 11.0, "straat": 10.0}
_MIN_ZOOM = {"gemeente": 0, "wijk": 10, "buurt": 12, "straat": 15}


def _min_zoom(kind: np.ndarray, text: np.ndarray, room_m: np.ndarray, lat: float) -> np.ndarray:
    """The web zoom level from which a label's text (about 0.55 em per character) fits in
    its room on the ground."""
    px = np.array([LABEL_PX[k] for k in kind]) * 0.55 * np.array([len(t) for t in text])
    with np.errstate(divide="ignore"):
        zoom = np.ceil(
            np.log2(px * _WEB_M_PER_PX * math.cos(math.radians(lat)) / np.maximum(room_m, 1.0))
        )
    floor = np.array([_MIN_ZOOM[k] for k in kind])
    return np.clip(np.maximum(zoom, floor), 0, 19).astype(int)


def _area_labels(frame: gpd.GeoDataFrame, name_col: str, kind: str) -> pd.DataFrame:
    names = [clean_area_name(n) for n in frame[name_col]]
    circles = shapely.maximum_inscribed_circle(frame.geometry.values, 10.0)
    centre = shapely.get_point(circles, 0)
    return pd.DataFrame(
        {
            "tekst": names,
            "soort": kind,
            "x": shapely.get_x(centre),
            "y": shapely.get_y(centre),
            "hoek": 0.0,
            "ruimte_m": 2.0 * shapely.length(circles),
            "gewicht": shapely.area(frame.geometry.values),
        }
    )


def street_labels(bag: pd.DataFrame, *, top: int = MAX_STREETS) -> pd.DataFrame:
    """Label candidates for the streets with the most addresses.

    Each street (``straat`` within ``plaats``) is labelled at its address point nearest
    the median of its addresses, turned along the principal axis of its address points
    (horizontal when they are not clearly elongated); ``ruimte_m`` is the street's length
    along that axis.
    """
    columns = ["tekst", "soort", "x", "y", "hoek", "ruimte_m", "gewicht"]
    if bag is None or "straat" not in bag.columns or bag.empty:
        return pd.DataFrame(columns=columns)
    geom = bag.geometry.values
    straat = bag["straat"]
    keep = np.flatnonzero(
        ~(shapely.is_missing(geom) | shapely.is_empty(geom)) & straat.notna().to_numpy()
    )
    if not len(keep):
        return pd.DataFrame(columns=columns)
    s_codes, s_names = pd.factorize(straat.to_numpy(dtype=object)[keep])
    if "plaats" in bag.columns:
        p_codes = pd.factorize(bag["plaats"].to_numpy(dtype=object)[keep])[0] + 1
    else:
        p_codes = np.zeros(len(keep), dtype=np.int64)
    codes, street_of = pd.factorize(s_codes.astype(np.int64) * (p_codes.max() + 1) + p_codes)
    names = np.asarray(s_names, dtype=object)[street_of // (p_codes.max() + 1)]
    counts = np.bincount(codes, minlength=len(street_of))
    order = np.lexsort((names.astype(str), -counts))  # most addresses first, then by name
    order = order[counts[order] >= 3][:top]
    xs = shapely.get_x(geom[keep])
    ys = shapely.get_y(geom[keep])
    by_street = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_street], np.arange(len(street_of) + 1))
    rows = []
    for street in order:
        members = by_street[bounds[street] : bounds[street + 1]]
        pts = np.column_stack([xs[members], ys[members]])
        median = np.median(pts, axis=0)
        centre = pts[np.argmin(((pts - median) ** 2).sum(axis=1))]
        angle, length = 0.0, float(np.ptp(pts[:, 0]))
        if len(pts) >= 3:
            values, vectors = np.linalg.eigh(np.cov(pts.T))
            major = vectors[:, 1]
            length = float(np.ptp(pts @ major))
            if values[1] > 4.0 * max(values[0], 1e-9):  # clearly along one axis
                angle = math.degrees(math.atan2(major[1], major[0]))
                angle = 90.0 - (90.0 - angle) % 180.0  # in (-90, 90]: read left to right
        rows.append(
            (
                str(names[street]).strip(),
                "straat",
                float(centre[0]),
                float(centre[1]),
                angle,
                max(length, 1.0),
                float(counts[street]),
            )
        )
    return pd.DataFrame(rows, columns=columns)


def _sorted_labels(parts: list[pd.DataFrame], lat: float) -> pd.DataFrame:
    frame = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else None
    columns = ["tekst", "soort", "x", "y", "hoek", "ruimte_m", "min_zoom"]
    if frame is None or frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame[frame["tekst"].astype(str).str.len() > 0]
    frame = frame.assign(_k=frame["soort"].map(LABEL_KINDS.index))
    frame = frame.sort_values(["_k", "gewicht", "tekst"], ascending=[True, False, True])
    frame["min_zoom"] = _min_zoom(
        frame["soort"].to_numpy(),
        frame["tekst"].astype(str).to_numpy(),
        frame["ruimte_m"].to_numpy(),
        lat,
    )
    return frame[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- building
def _frame(geometries, crs: str = CRS, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geometries), crs=crs)


def _check_crs(frame: gpd.GeoDataFrame | None, what: str) -> None:
    if frame is not None and (frame.crs is None or frame.crs != CRS):
        raise CRSMismatchError(f"{what} moet in {CRS} zijn, niet in {frame.crs}.")


def _padded(bounds, share: float, *, minimum: float = 1.0) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    pad = share * max(xmax - xmin, ymax - ymin, minimum)
    return (xmin - pad, ymin - pad, xmax + pad, ymax + pad)


def _clean_buurten(buurten: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    keep = [c for c in ("buurtcode", "buurtnaam", "wijkcode") if c in buurten.columns]
    geoms = shapely.make_valid(buurten.geometry.values)
    cleaned = shapely.coverage_clean(geoms, gap_width=SLIVER_M)
    ok = ~shapely.is_empty(cleaned)  # a sliver buurt can vanish in cleaning: keep the original
    cleaned = np.where(ok, cleaned, geoms)
    return gpd.GeoDataFrame(buurten[keep].reset_index(drop=True), geometry=cleaned, crs=CRS)


def _without_small_holes(geometry: shapely.Geometry, min_area: float = 2e4) -> shapely.Geometry:
    polygons = []
    for part in shapely.get_parts(geometry):
        if part.geom_type != "Polygon":
            continue
        holes = [r for r in part.interiors if shapely.Polygon(r).area >= min_area]
        polygons.append(shapely.Polygon(part.exterior, holes))
    return shapely.union_all(polygons) if polygons else geometry


def _large_parts(geometry: shapely.Geometry, min_area: float = 5e4) -> shapely.Geometry:
    """Only the polygons of at least ``min_area`` (clipping leaves slivers at the edge)."""
    parts = [p for p in shapely.get_parts(geometry) if p.area >= min_area]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _context(gemeente: str, outline: shapely.Geometry, box: tuple) -> tuple:
    """Neighbours, water and built-up land around an area (regional layers clipped)."""
    clip = shapely.box(*box)
    land = region_land()
    near = land[(land["gemeentecode"] != gemeente) & land.intersects(clip)]
    buren = gpd.GeoDataFrame(
        near[["gemeentecode", "gemeentenaam"]].reset_index(drop=True),
        geometry=shapely.intersection(near.geometry.values, clip),
        crs=CRS,
    )
    between = _large_parts(shapely.intersection(water_between_municipalities(), clip))
    inland = _large_parts(shapely.intersection(_inland_water_shipped(), clip))
    water = _frame(
        [g for g in (between, inland) if not g.is_empty],
        bron=[b for b, g in (("tussen gemeenten", between), ("geschat", inland)) if not g.is_empty],
    )
    cells = reference._cells()
    own = cells[cells["gemeentecode"] == gemeente]  # squares whose centre lies in the area
    built = shapely.coverage_union_all(own.geometry.values) if len(own) else shapely.Polygon()
    bebouwing = _frame([] if built.is_empty else [shapely.intersection(built, outline)])
    return buren, water, bebouwing


def _assemble(
    *,
    gemeente: str,
    buurten: gpd.GeoDataFrame,
    wijknamen: Mapping[str, str] | None,
    buurten_zijn_wijken: bool,
    bag: pd.DataFrame | None,
    achtergrond: dict[str, gpd.GeoDataFrame] | None,
    notes: list[str],
    context: bool = True,
    focus: shapely.Geometry | None = None,
) -> Basemap:
    cleaned = _clean_buurten(buurten)
    outline_geom = _without_small_holes(shapely.coverage_union_all(cleaned.geometry.values))
    outline = _frame([outline_geom], gemeentecode=[gemeente])
    if "wijkcode" in cleaned.columns and not buurten_zijn_wijken:
        groups = cleaned.groupby("wijkcode", sort=True).indices
        wijken = _frame(
            [shapely.coverage_union_all(cleaned.geometry.values[idx]) for idx in groups.values()],
            wijkcode=list(groups),
            wijknaam=[(wijknamen or {}).get(code, code) for code in groups],
        )
    else:
        wijken = _frame(
            cleaned.geometry.values,
            wijkcode=cleaned.get("buurtcode", pd.Series([""] * len(cleaned))).to_numpy(),
            wijknaam=cleaned.get("buurtnaam", pd.Series([""] * len(cleaned))).to_numpy(),
        )
    # a B-CBA of part of the area shows that part with its surroundings (at least 500 m)
    extent = (
        _padded(outline.total_bounds, STATIC_MARGIN)
        if focus is None
        else _padded(shapely.bounds(focus), FOCUS_MARGIN, minimum=500.0 / FOCUS_MARGIN)
    )
    box = _padded(outline.total_bounds, CONTEXT_MARGIN)
    if context:
        buren, water, bebouwing = _context(gemeente, outline_geom, box)
    else:
        buren, water, bebouwing = (
            _frame([], gemeentecode=[], gemeentenaam=[]),
            _frame([], bron=[]),
            _frame([]),
        )
    layers = {}
    for name, layer in (achtergrond or {}).items():
        clipped = layer[layer.intersects(shapely.box(*box))]
        layers[name] = gpd.GeoDataFrame(
            geometry=shapely.intersection(clipped.geometry.values, shapely.box(*box)), crs=CRS
        )
        layers[name] = layers[name][~layers[name].geometry.is_empty].reset_index(drop=True)
    if len(layers.get("water", ())):
        supplied = layers["water"]
        polygons = supplied[supplied.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polygons):  # the analyst's water replaces the derived water
            parts = shapely.get_parts(shapely.union_all(polygons.geometry.values))
            water = _frame(parts, bron=["achtergrond"] * len(parts))
    in_view = shapely.box(*extent)
    shown = buren[buren.intersects(in_view)]
    buren_labels = (
        _area_labels(
            gpd.GeoDataFrame(
                shown[["gemeentenaam"]],
                geometry=shapely.intersection(shown.geometry.values, in_view),
                crs=CRS,
            ),
            "gemeentenaam",
            "gemeente",
        )
        if len(shown)
        else pd.DataFrame()
    )
    parts = [buren_labels, _area_labels(wijken, "wijknaam", "wijk")]
    if not buurten_zijn_wijken and "buurtnaam" in cleaned.columns:
        buurt_labels = _area_labels(cleaned, "buurtnaam", "buurt")
        # a buurt named as its wijk adds nothing
        parts.append(buurt_labels[~buurt_labels["tekst"].isin(set(parts[1]["tekst"]))])
    if bag is not None:
        inside = bag
        parts.append(street_labels(inside))
    lat = float(gpd.GeoSeries([outline_geom.centroid], crs=CRS).to_crs(4326).y.iloc[0])
    return Basemap(
        outline=outline,
        wijken=wijken,
        buurten=cleaned,
        water=water,
        buren=buren,
        bebouwing=bebouwing,
        labels=_sorted_labels(parts, lat),
        achtergrond=layers,
        extent=extent,
        gemeente=gemeente,
        meldingen=list(notes),
    )


def build_basemap(
    area,
    *,
    bag: pd.DataFrame | None = None,
    achtergrond: str | Path | None = None,
    focus: shapely.Geometry | None = None,
) -> Basemap:
    """The basemap of a run (built once: asked again with the same area, BAG and background,
    the same basemap is returned).

    Parameters
    ----------
    area
        The :class:`bcba.areas.StudyArea` (its cleaned buurten give the borders; its
        ``wijken`` the wijk names).
    bag
        The BAG addresses (``inputs.bag``: ``straat``, ``plaats``, point geometry) for the
        street names; without it no streets are named.
    achtergrond
        Path of the analyst's ``achtergrond.gpkg`` (see :func:`find_achtergrond`), or None.
    focus
        The part of the area a B-CBA covers (:mod:`bcba.scope`); the print maps show it with
        its surroundings instead of the whole area.

    Raises
    ------
    InputValidationError
        When ``achtergrond.gpkg`` fails its checks (:func:`read_achtergrond`).
    CRSMismatchError
        When the area's layers are not in EPSG:28992.
    """
    background = None
    if achtergrond is not None:
        stat = Path(achtergrond).stat() if Path(achtergrond).exists() else None
        background = (str(achtergrond), stat.st_mtime_ns if stat else None)
    for built_area, built_bag, built_background, built_focus, built in _BUILT:
        if (
            built_area is area
            and built_bag is bag
            and built_background == background
            and built_focus is focus
        ):
            return built  # the same run asks again: one basemap per run
    for frame, what in ((area.buurten, "buurten"), (area.wijken, "wijken")):
        _check_crs(frame, what)
    if bag is not None and getattr(bag, "crs", CRS) != CRS:
        raise CRSMismatchError(f"BAG moet in {CRS} zijn, niet in {bag.crs}.")
    layers, notes = read_achtergrond(achtergrond) if achtergrond is not None else ({}, [])
    wijknamen = dict(
        zip(
            area.wijken["wijkcode"].astype(str),
            area.wijken.get("wijknaam", area.wijken["wijkcode"]),
            strict=True,
        )
    )
    built = _assemble(
        gemeente=area.gemeente.code,
        buurten=area.buurten,
        wijknamen=wijknamen,
        buurten_zijn_wijken=bool(getattr(area, "buurten_zijn_wijken", False)),
        bag=bag,
        achtergrond=layers,
        notes=notes,
        focus=focus,
    )
    _BUILT.insert(0, (area, bag, background, focus, built))
    del _BUILT[2:]
    return built


#: The last basemaps built, with the objects they were built from (compared by identity,
#: so a run that asks for its basemap once per map builds it once).
_BUILT: list[tuple] = []


@functools.lru_cache(maxsize=8)
def basemap_for_gemeente(gemeente: str) -> Basemap:
    """The basemap of a shipped municipality from the CBS geography alone (no streets)."""
    gem = reference.resolve_gemeente(gemeente)
    table = reference.gemeenten().set_index("gemeentecode")
    has_buurten = bool(table.loc[gem.code, "heeft_buurten"])
    wijken = reference.wijken(gem.code)
    buurten = (
        reference.buurten(gem.code)
        if has_buurten
        else wijken.assign(buurtcode=wijken["wijkcode"], buurtnaam=wijken["wijknaam"])
    )
    return _assemble(
        gemeente=gem.code,
        buurten=buurten,
        wijknamen=dict(zip(wijken["wijkcode"], wijken["wijknaam"], strict=True)),
        buurten_zijn_wijken=not has_buurten,
        bag=None,
        achtergrond=None,
        notes=[],
    )


def basemap_from_layers(
    *,
    gemeente: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    wijken: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
) -> Basemap:
    """A basemap from the older keyword form (``{"gemeente": ...}`` or explicit layers).

    With only ``gemeente`` this is :func:`basemap_for_gemeente`. With explicit layers the
    wijken (or the outline) give the borders and names; the regional context (neighbours,
    water) is added when the layers name one municipality in ``gemeentecode``.
    """
    for frame, what in ((outline, "outline"), (wijken, "wijken"), (water, "water")):
        _check_crs(frame, what)
    if gemeente is not None and outline is None and wijken is None and water is None:
        return basemap_for_gemeente(gemeente)
    if gemeente is not None and wijken is None:
        wijken = reference.wijken(gemeente)
    code = gemeente
    for frame in (wijken, outline):
        if code is None and frame is not None and "gemeentecode" in frame.columns:
            codes = frame["gemeentecode"].dropna().astype(str).unique()
            code = codes[0] if len(codes) == 1 else None
    if code is not None:
        code = reference.resolve_gemeente(code).code if str(code).upper().startswith("GM") else code
    if wijken is not None:
        parts = wijken.assign(
            buurtcode=wijken["wijkcode"] if "wijkcode" in wijken else range(len(wijken)),
            buurtnaam=wijken.get("wijknaam", ""),
        )
        if "water" in parts.columns:
            parts = parts[parts["water"].astype(str) != "JA"]
    else:
        parts = outline.assign(buurtcode=[str(i) for i in range(len(outline))], buurtnaam="")
    built = _assemble(
        gemeente=code or "",
        buurten=parts,
        wijknamen=None,
        buurten_zijn_wijken=True,
        bag=None,
        achtergrond=None,
        notes=[],
        context=code is not None,
    )
    if outline is not None:
        built.outline = outline[[outline.geometry.name]].reset_index(drop=True)
        built.extent = _padded(outline.total_bounds, STATIC_MARGIN)
    if water is not None and len(water):
        built.water = _frame(water.geometry.values, bron="opgegeven")
    return built


def coerce_basemap(basemap: Basemap | Mapping | None) -> Basemap | None:
    """A :class:`Basemap` from what a map function was given (a basemap, the older
    keyword mapping, or nothing)."""
    if basemap is None or isinstance(basemap, Basemap):
        return basemap
    return basemap_from_layers(**dict(basemap))

"""Offline geocoding against the BAG extract, and assignment to buurt, wijk and 100 m cell.

Levels, most precise first (each record gets the first that succeeds):

1. ``exact``: postcode + huisnummer + huisletter + toevoeging (uppercase, stripped); a
   letter written as toevoeging (or the other way round) also counts as exact;
2. ``postcode_huisnummer``: the BAG address with that postcode and number (the one without
   letter/toevoeging when it exists, else the lowest ``adres_id``);
3. ``xy``: coordinates given in the record (EPSG:28992);
4. ``postcode``: mean of the BAG points with that 6-character postcode;
5. ``pc4``: mean of the BAG points of that PC4, else the shipped CBS PC4 area's
   representative point;
6. ``buurtcode``: representative point of the buurt (or wijk) given;
7. ``geen``: not geocoded (kept, flagged ``niet_gegeocodeerd``).

All steps are vectorised (index look-ups, shapely 2 STRtree); no per-row Python loops.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - makes pa.compute available
import shapely

from bcba import reference
from bcba.config import CRS
from bcba.errors import CRSMismatchError
from bcba.sources._read import add_reason, norm_suffix

log = logging.getLogger(__name__)

LEVELS = ("exact", "postcode_huisnummer", "xy", "postcode", "pc4", "buurtcode", "geen")
#: Points just outside every buurt polygon (the shipped polygons are simplified by ~100 m)
#: are assigned to the nearest buurt within this distance.
BORDER_TOLERANCE_M = 150.0


def _str(series: pd.Series) -> pd.Series:
    return series.astype("str").fillna("")


def _joined(*parts: pd.Series) -> pd.Series:
    """Element-wise ``"|".join`` of string columns in one Arrow kernel (NA where any is NA)."""
    arrays = [pa.array(part.astype("str"), type=pa.large_string()) for part in parts]
    joined = pa.compute.binary_join_element_wise(*arrays, pa.scalar("|", pa.large_string()))
    return pd.Series(pd.array(joined, dtype="str"), index=parts[0].index)


def address_key(
    postcode: pd.Series, huisnummer: pd.Series, huisletter: pd.Series, toevoeging: pd.Series
) -> pd.Series:
    """``postcode|huisnummer|huisletter|toevoeging`` (NA without postcode or number)."""
    pc = postcode.astype("str")
    hn = huisnummer.astype("Int64").astype("str")
    key = _joined(pc.fillna(""), hn.fillna(""), norm_suffix(huisletter), norm_suffix(toevoeging))
    return key.where(pc.notna() & hn.notna()).astype("str")


def _loose_key(postcode, huisnummer, huisletter, toevoeging) -> pd.Series:
    pc = postcode.astype("str")
    hn = huisnummer.astype("Int64").astype("str")
    suffix = (norm_suffix(huisletter) + norm_suffix(toevoeging)).str.replace(
        r"[^A-Z0-9]", "", regex=True
    )
    return _joined(pc.fillna(""), hn.fillna(""), suffix).where(pc.notna() & hn.notna())


@dataclass
class AddressIndex:
    """Look-up tables built once from the BAG (see :func:`build_index`)."""

    exact: pd.DataFrame  # index adres_sleutel -> adres_id, x, y
    loose: pd.DataFrame  # index postcode|nr|suffix
    pchn: pd.DataFrame  # index postcode|nr
    pc6: pd.DataFrame  # index postcode -> x, y
    pc4: pd.DataFrame  # index pc4 -> x, y


def build_index(bag: pd.DataFrame) -> AddressIndex:
    """Build the BAG look-up tables used by :func:`geocode`."""
    b = pd.DataFrame(
        {
            "adres_id": bag["adres_id"].astype("str"),
            "postcode": bag["postcode"].astype("str"),
            "huisnummer": bag["huisnummer"].astype("Int64"),
            "x": bag["x"].astype("float64"),
            "y": bag["y"].astype("float64"),
        }
    )
    hl = (
        bag["huisletter"] if "huisletter" in bag else pd.Series(pd.NA, index=bag.index, dtype="str")
    )
    tv = (
        bag["toevoeging"] if "toevoeging" in bag else pd.Series(pd.NA, index=bag.index, dtype="str")
    )
    b["k_exact"] = address_key(b["postcode"], b["huisnummer"], hl, tv)
    b["k_loose"] = _loose_key(b["postcode"], b["huisnummer"], hl, tv)
    b["k_pchn"] = (b["postcode"] + "|" + b["huisnummer"].astype("str")).where(
        b["postcode"].notna() & b["huisnummer"].notna()
    )
    b["plain"] = (norm_suffix(hl) + norm_suffix(tv)) != ""
    b = b[b["k_exact"].notna() & np.isfinite(b["x"]) & np.isfinite(b["y"])]
    b = b.sort_values(["plain", "adres_id"], kind="stable")  # plain addresses first, then by id
    cols = ["adres_id", "x", "y"]
    exact = b.drop_duplicates("k_exact").set_index("k_exact")[cols]
    loose = b.drop_duplicates("k_loose").set_index("k_loose")[cols]
    pchn = b.drop_duplicates("k_pchn").set_index("k_pchn")[cols]
    pc6 = b.groupby("postcode")[["x", "y"]].mean()
    pc4 = b.assign(pc4=b["postcode"].str[:4]).groupby("pc4")[["x", "y"]].mean()
    return AddressIndex(*(_object_index(t) for t in (exact, loose, pchn, pc6, pc4)))


def _object_index(table: pd.DataFrame) -> pd.DataFrame:
    """The table with an object-dtype index: :func:`_lookup` then reuses its hash table."""
    return table.set_axis(pd.Index(table.index.to_numpy(dtype=object), dtype=object))


@functools.cache
def _shipped_pc4_points() -> pd.DataFrame:
    frame = reference.pc4()
    pts = frame.geometry.representative_point()
    return _object_index(
        pd.DataFrame(
            {"x": pts.x.to_numpy(), "y": pts.y.to_numpy()}, index=frame["postcode"].astype(str)
        )
    )


def _lookup(
    table: pd.DataFrame, keys: pd.Series, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``table`` for ``keys`` (-1 when absent) and a found mask.

    With ``rows`` (a boolean mask) only those keys are looked up; the others get -1.
    """
    if rows is None:
        rows = np.ones(len(keys), dtype=bool)
    pos = np.full(len(keys), -1, dtype="intp")
    if rows.any():
        wanted = keys[rows].fillna("\x00").to_numpy(dtype=object)
        pos[rows] = table.index.get_indexer(wanted)
    return pos, pos >= 0


def _column(frame: pd.DataFrame, name: str, dtype: str = "str") -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


def geocode(
    frame: pd.DataFrame,
    bag: pd.DataFrame,
    area,
    *,
    index: AddressIndex | None = None,
) -> gpd.GeoDataFrame:
    """Geocode records offline and assign buurt, wijk and 100 m cell.

    Parameters
    ----------
    frame
        Records with any of ``postcode``, ``huisnummer``, ``huisletter``, ``toevoeging``,
        ``x``/``y`` (EPSG:28992), ``buurtcode``.
    bag
        The BAG addresses (``bag.frame`` of :func:`bcba.sources.bag.read_bag`).
    area
        The :class:`bcba.areas.StudyArea`.
    index
        A prebuilt :func:`build_index` of ``bag`` (saves time over several sources).

    Returns
    -------
    GeoDataFrame
        A copy of ``frame`` in EPSG:28992 with ``geometry``, ``geocode_niveau``,
        ``adres_id``, ``adres_sleutel``, ``buurtcode``, ``wijkcode``, ``cel_id``, and
        ``dq_redenen`` extended with ``niet_gegeocodeerd`` / ``buiten_gemeente``.
    """
    index = index if index is not None else build_index(bag)
    n = len(frame)
    pc = _column(frame, "postcode").astype("str")
    hn = _column(frame, "huisnummer", "Int64").astype("Int64")
    hl, tv = _column(frame, "huisletter"), _column(frame, "toevoeging")
    sleutel = address_key(pc, hn, hl, tv)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    level = np.full(n, "geen", dtype=object)
    adres_id = np.full(n, None, dtype=object)
    todo = np.ones(n, dtype=bool)

    def take(found: np.ndarray, xs: np.ndarray, ys: np.ndarray, name: str, ids=None) -> None:
        hit = todo & found
        x[hit], y[hit] = xs[hit], ys[hit]
        level[hit] = name
        if ids is not None:
            adres_id[hit] = ids[hit]
        todo[hit] = False

    for table, keys, name in (
        (index.exact, sleutel, "exact"),
        (index.loose, _loose_key(pc, hn, hl, tv), "exact"),
        (
            index.pchn,
            (pc + "|" + hn.astype("str")).where(pc.notna() & hn.notna()),
            "postcode_huisnummer",
        ),
    ):
        pos, found = _lookup(table, keys, todo)
        safe = np.where(found, pos, 0)
        if len(table):
            take(
                found,
                table["x"].to_numpy()[safe],
                table["y"].to_numpy()[safe],
                name,
                table["adres_id"].to_numpy(dtype=object)[safe],
            )
    if "x" in frame.columns and "y" in frame.columns:
        fx = pd.to_numeric(frame["x"], errors="coerce").to_numpy(dtype="float64")
        fy = pd.to_numeric(frame["y"], errors="coerce").to_numpy(dtype="float64")
        take(np.isfinite(fx) & np.isfinite(fy), fx, fy, "xy")
    for table, keys, name in (
        (index.pc6, pc, "postcode"),
        (index.pc4, pc.str[:4], "pc4"),
        (_shipped_pc4_points(), pc.str[:4], "pc4"),
    ):
        pos, found = _lookup(table, keys, todo)
        safe = np.where(found, pos, 0)
        if len(table):
            take(found, table["x"].to_numpy()[safe], table["y"].to_numpy()[safe], name)
    if "buurtcode" in frame.columns:
        reps = pd.concat(
            [_rep_points(area.buurten, "buurtcode"), _rep_points(area.wijken, "wijkcode")]
        )
        reps = reps[~reps.index.duplicated()]
        codes = frame["buurtcode"].astype("str").str.strip().str.upper()
        pos, found = _lookup(reps, codes, todo)
        safe = np.where(found, pos, 0)
        if len(reps):
            take(found, reps["x"].to_numpy()[safe], reps["y"].to_numpy()[safe], "buurtcode")
    out = frame.drop(
        columns=[c for c in ("geometry", "buurtcode_opgegeven") if c in frame.columns]
    ).copy()
    if "buurtcode" in out.columns:
        out = out.rename(columns={"buurtcode": "buurtcode_opgegeven"})
    out["geocode_niveau"] = pd.Series(level, index=frame.index, dtype="str")
    out["adres_id"] = pd.Series(adres_id, index=frame.index, dtype="str")
    out["adres_sleutel"] = sleutel
    geometry = gpd.points_from_xy(x, y, crs=CRS)
    geometry[~np.isfinite(x)] = None
    gdf = gpd.GeoDataFrame(out, geometry=geometry, crs=CRS)
    reasons = _column(gdf, "dq_redenen").fillna("").astype("str")
    gdf["dq_redenen"] = add_reason(
        reasons, pd.Series(level == "geen", index=gdf.index), "niet_gegeocodeerd"
    )
    return assign_areas(gdf, area)


def _rep_points(frame: gpd.GeoDataFrame, code: str) -> pd.DataFrame:
    pts = frame.geometry.representative_point()
    return pd.DataFrame(
        {"x": pts.x.to_numpy(), "y": pts.y.to_numpy()},
        index=frame[code].astype(str).str.upper().to_numpy(),
    )


def _cell_ids(x: np.ndarray, y: np.ndarray, cell_size: int) -> np.ndarray:
    """:func:`bcba.reference.cell_id` of each point, formatted once per distinct cell."""
    # a cell is the pair (floor(x / size), floor(y / size)); as a complex number it is
    # one sortable key, so np.unique finds the distinct cells quickly
    cell = np.floor(x / cell_size) + 1j * np.floor(y / cell_size)
    _, first, inverse = np.unique(cell, return_index=True, return_inverse=True)
    return reference.cell_id(x[first], y[first], cell_size)[inverse.ravel()]


def assign_areas(points: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    """Add ``buurtcode``, ``wijkcode`` and ``cel_id`` to point records (a copy).

    A point on a border between two buurten goes to the lowest ``buurtcode``; a point
    outside every buurt but within :data:`BORDER_TOLERANCE_M` to the nearest one (the
    polygons are simplified); beyond that it is flagged ``buiten_gemeente``.

    Raises
    ------
    CRSMismatchError
        When the points or the area are not in EPSG:28992.
    """
    if points.crs is None or points.crs != CRS or area.buurten.crs != CRS:
        raise CRSMismatchError(
            f"assign_areas verwacht {CRS}; kreeg punten in {points.crs} en buurten in {area.buurten.crs}"
        )
    out = points.copy()
    geoms = out.geometry.to_numpy()
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    buurten = area.buurten.sort_values("buurtcode").reset_index(drop=True)
    polys = buurten.geometry.to_numpy()
    tree = shapely.STRtree(polys)
    n = len(out)
    which = np.full(n, -1, dtype="int64")
    idx = np.flatnonzero(valid)
    if len(idx):
        pi, ti = tree.query(geoms[idx], predicate="intersects")
        # buurten are sorted by code, so the minimum tree index is the lowest buurtcode
        order = np.lexsort((ti, pi))
        pi, ti = pi[order], ti[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.array([], dtype=bool)
        which[idx[pi[first]]] = ti[first]
        rest = idx[which[idx] < 0]
        if len(rest):
            pi2, ti2 = tree.query_nearest(
                geoms[rest], max_distance=BORDER_TOLERANCE_M, all_matches=False
            )
            which[rest[pi2]] = ti2
    codes = buurten["buurtcode"].astype(str).to_numpy(dtype=object)
    wcodes = buurten["wijkcode"].astype(str).to_numpy(dtype=object)
    safe = np.where(which >= 0, which, 0)
    inside = which >= 0
    out["buurtcode"] = pd.Series(np.where(inside, codes[safe], None), index=out.index, dtype="str")
    out["wijkcode"] = pd.Series(np.where(inside, wcodes[safe], None), index=out.index, dtype="str")
    xs = shapely.get_x(geoms)
    ys = shapely.get_y(geoms)
    cells = np.full(n, None, dtype=object)
    if valid.any():
        cells[valid] = _cell_ids(xs[valid], ys[valid], area.cell_size)
    out["cel_id"] = pd.Series(cells, index=out.index, dtype="str")
    reasons = _column(out, "dq_redenen").fillna("").astype("str")
    out["dq_redenen"] = add_reason(
        reasons, pd.Series(valid & ~inside, index=out.index), "buiten_gemeente"
    )
    return out

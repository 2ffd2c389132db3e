"""Synthetic BAG addresses placed in real CBS geography (100 m squares, buurten, PC4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bcba import reference
from bcba.errors import UnknownMunicipalityError
from bcba.synthetic import _pools

log = logging.getLogger(__name__)

RESIDENTIAL = "woonfunctie"
# scattered non-residential objects among the dwellings
_SCATTERED_USES = (
    ("winkelfunctie", 0.36),
    ("kantoorfunctie", 0.22),
    ("bijeenkomstfunctie", 0.08),
    ("gezondheidszorgfunctie", 0.08),
    ("onderwijsfunctie", 0.04),
    ("sportfunctie", 0.04),
    ("logiesfunctie", 0.02),
    ("overige gebruiksfunctie", 0.09),
    ("industriefunctie", 0.03),
    ("woonfunctie,winkelfunctie", 0.03),
    ("woonfunctie,kantoorfunctie", 0.01),
)
# objects on business parks
_PARK_USES = (
    ("industriefunctie", 0.55),
    ("kantoorfunctie", 0.30),
    ("overige gebruiksfunctie", 0.08),
    ("bijeenkomstfunctie", 0.04),
    ("sportfunctie", 0.03),
)
# median floor area (m2) per first use
_AREA_MEDIAN = {
    "woonfunctie": 95,
    "winkelfunctie": 120,
    "kantoorfunctie": 250,
    "industriefunctie": 900,
    "bijeenkomstfunctie": 300,
    "logiesfunctie": 600,
    "gezondheidszorgfunctie": 200,
    "onderwijsfunctie": 1500,
    "sportfunctie": 800,
    "overige gebruiksfunctie": 40,
}
_BLOCK_M = 250.0  # streets are built per block of 250 m x 250 m
_SEGMENT_MAX = 120  # addresses per street segment (one postcode letter pair)
_BAD_PAIRS = {"SA", "SD", "SS"}  # letter pairs PostNL does not use


@dataclass(frozen=True)
class Geography:
    """Geography of a municipality as far as it is shipped."""

    gemeente: reference.Gemeente
    outline: shapely.Geometry
    areas: gpd.GeoDataFrame  # gebiedcode, gebiednaam, niveau, wijkcode, wijknaam, woz, geometry
    squares: gpd.GeoDataFrame  # inhabited CBS squares (may be empty)
    pc4: gpd.GeoDataFrame


def load_geography(gem: reference.Gemeente) -> Geography:
    """Collect outline, buurten (or wijken), squares and PC4 areas of a municipality."""
    outline_frame = reference.gemeente_grens(gem.code)
    outline = shapely.union_all(outline_frame.geometry.values)
    wijken = reference.wijken(gem.code)
    try:
        buurten = reference.buurten(gem.code)
    except UnknownMunicipalityError:
        buurten = None
    if buurten is not None and len(buurten):
        areas = buurten.merge(wijken[["wijkcode", "wijknaam"]], on="wijkcode", how="left")
        areas = areas.rename(columns={"buurtcode": "gebiedcode", "buurtnaam": "gebiednaam"})
        areas["niveau"] = "buurt"
    else:
        areas = wijken.rename(columns={"wijkcode": "gebiedcode", "wijknaam": "gebiednaam"})
        areas["wijkcode"] = areas["gebiedcode"]
        areas["wijknaam"] = areas["gebiednaam"]
        areas["niveau"] = "wijk"
    woz = pd.to_numeric(areas["gemiddelde_woningwaarde"], errors="coerce")
    fallback = float(np.nanmedian(woz)) if woz.notna().any() else 300.0
    areas["woz"] = woz.fillna(fallback).to_numpy(dtype=float) * 1000.0
    keep = [
        "gebiedcode",
        "gebiednaam",
        "niveau",
        "wijkcode",
        "wijknaam",
        "woz",
        "aantal_inwoners",
        "woningvoorraad",
        "aantal_bedrijfsvestigingen",
        "geometry",
    ]
    areas = areas[[c for c in keep if c in areas.columns]].sort_values("gebiedcode")
    pc4 = reference.pc4(gem.code).sort_values("postcode").reset_index(drop=True)
    if pc4.empty:  # no PC4 assigned to the municipality: use every PC4 touching it
        allpc = reference.pc4()
        pc4 = allpc[allpc.intersects(outline)].sort_values("postcode").reset_index(drop=True)
    squares = reference.vierkanten(gem.code).sort_values("crs28992res100m")
    return Geography(
        gem, outline, areas.reset_index(drop=True), squares.reset_index(drop=True), pc4
    )


def locate(x: np.ndarray, y: np.ndarray, polygons: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point; the nearest one when none contains it."""
    points = shapely.points(x, y)
    tree = shapely.STRtree(polygons)
    out = np.full(len(points), -1, dtype=np.int64)
    ip, ig = tree.query(points, predicate="within")
    # coarse polygons overlap a little: the lowest polygon index wins, deterministically
    order = np.lexsort((-ig, ip))
    out[ip[order]] = ig[order]
    miss = np.flatnonzero(out < 0)
    if miss.size:
        jp, jg = tree.query_nearest(points[miss])
        out[miss[jp[::-1]]] = jg[::-1]
    return out


def _sample_in_polygons(
    geoms: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points inside polygons (rejection sampling, loop over polygons only)."""
    xs, ys = [], []
    for geom, n in zip(geoms, counts, strict=True):
        if n <= 0:
            continue
        xmin, ymin, xmax, ymax = geom.bounds
        ratio = max((xmax - xmin) * (ymax - ymin) / max(geom.area, 1.0), 1.0)
        got_x: list[np.ndarray] = []
        have = 0
        shapely.prepare(geom)
        for _ in range(20):
            m = int(n * ratio * 1.3) + 16
            px = rng.uniform(xmin, xmax, m)
            py = rng.uniform(ymin, ymax, m)
            inside = shapely.contains_xy(geom, px, py)
            got_x.append(np.column_stack([px[inside], py[inside]]))
            have += int(inside.sum())
            if have >= n:
                break
        pts = (
            np.concatenate(got_x)[:n]
            if have
            else np.repeat([shapely.get_coordinates(geom.representative_point())[0]], n, axis=0)
        )
        if len(pts) < n:
            pts = np.concatenate([pts, np.repeat(pts[:1], n - len(pts), axis=0)])
        xs.append(pts[:, 0])
        ys.append(pts[:, 1])
    if not xs:
        return np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(ys)


def _stochastic_round(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    base = np.floor(values)
    return (base + (rng.random(len(values)) < values - base)).astype(np.int64)


def _choice(options: tuple[tuple[str, float], ...], n: int, rng: np.random.Generator) -> np.ndarray:
    labels = np.array([o[0] for o in options], dtype=object)
    weights = np.array([o[1] for o in options], dtype=float)
    return labels[rng.choice(len(labels), size=n, p=weights / weights.sum())]


def _residential_points(geo: Geography, scale: float, rng: np.random.Generator):
    """Dwelling locations: in proportion to the dwellings of each inhabited square."""
    sq = geo.squares
    stock = pd.to_numeric(geo.areas.get("woningvoorraad"), errors="coerce")
    sq_dwellings = pd.to_numeric(sq["aantal_woningen"], errors="coerce").sum() if len(sq) else 0
    # a few border squares do not make a municipality: require most of the housing stock
    if len(sq) and (stock is None or sq_dwellings >= 0.5 * float(stock.sum())):
        w = pd.to_numeric(sq["aantal_woningen"], errors="coerce")
        w = w.fillna(pd.to_numeric(sq["aantal_inwoners"], errors="coerce") / 2).fillna(1.0)
        counts = _stochastic_round(w.to_numpy(dtype=float) * scale, rng)
        bounds = shapely.bounds(sq.geometry.values)
        x0 = np.repeat(bounds[:, 0], counts)
        y0 = np.repeat(bounds[:, 1], counts)
        x = x0 + rng.random(len(x0)) * 100.0
        y = y0 + rng.random(len(y0)) * 100.0
        shapely.prepare(geo.outline)
        # squares on the edge stick out of the (coarse) outline: redraw those points
        for _ in range(6):
            out = ~shapely.contains_xy(geo.outline, x, y)
            if not out.any():
                break
            x[out] = x0[out] + rng.random(out.sum()) * 100.0
            y[out] = y0[out] + rng.random(out.sum()) * 100.0
        dense = np.repeat(counts, counts) > 45
        return x, y, dense
    # no squares shipped: wijken weighted by their housing stock
    areas = geo.areas
    w = stock
    if w is None or w.isna().all():
        w = pd.to_numeric(areas.get("aantal_inwoners"), errors="coerce") / 2
    counts = _stochastic_round(w.fillna(0).to_numpy(dtype=float) * scale, rng)
    # wijk polygons are coarse: sample only in their part inside the municipal outline
    geoms = shapely.intersection(areas.geometry.values, geo.outline)
    geoms = np.where(shapely.area(geoms) > 0, geoms, areas.geometry.values)
    x, y = _sample_in_polygons(geoms, counts, rng)
    density = np.repeat(counts / np.maximum(areas.geometry.area.to_numpy() / 1e4, 1.0), counts)
    return x, y, density > 45


def _park_cells(geo: Geography, res_x: np.ndarray, res_y: np.ndarray, n_parks: int, rng):
    """Uninhabited full grid cells grouped into ``n_parks`` business parks (lists of cells)."""
    cells = reference.grid(gpd.GeoDataFrame(geometry=[geo.outline], crs=reference.CRS))
    cells = cells[cells["oppervlakte_in_gebied"] >= 9000]
    inhabited = set(geo.squares["crs28992res100m"]) if len(geo.squares) else set()
    inhabited |= set(reference.cell_id(res_x, res_y))
    cells = cells[~cells["cel_id"].isin(inhabited)].sort_values("cel_id").reset_index(drop=True)
    if cells.empty:
        return []
    cx = shapely.get_x(shapely.centroid(cells.geometry.values))
    cy = shapely.get_y(shapely.centroid(cells.geometry.values))
    free = np.ones(len(cells), dtype=bool)
    parks = []
    for _ in range(n_parks):
        idx = np.flatnonzero(free)
        if idx.size == 0:
            break
        seed = rng.choice(idx)
        near = free & ((cx - cx[seed]) ** 2 + (cy - cy[seed]) ** 2 <= 350.0**2)
        members = np.flatnonzero(near)
        free[members] = False
        parks.append(np.column_stack([cx[members] - 50.0, cy[members] - 50.0]))
    return parks


def _street_names(n: int, rng: np.random.Generator, *, industrial: bool = False) -> np.ndarray:
    if industrial:
        stems, suffixes, prefixes = _pools.INDUSTRY_STEMS, _pools.INDUSTRY_SUFFIXES, ("",)
    else:
        stems, suffixes = _pools.STREET_STEMS, _pools.STREET_SUFFIXES
        prefixes = ("", "", "Oude ", "Nieuwe ", "Korte ", "Lange ", "Burgemeester ")
    combos = np.array(
        [f"{p}{s}{x}" for p in prefixes for s in stems for x in suffixes], dtype=object
    )
    # "Burgemeester Dorpsstraat" is odd but harmless; keep names unique until exhausted
    combos = pd.unique(combos)
    order = rng.permutation(len(combos))
    return combos[order[np.arange(n) % len(combos)]]


def _letter_pairs() -> np.ndarray:
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    pairs = [a + b for a in letters for b in letters if a + b not in _BAD_PAIRS]
    return np.array(pairs, dtype=object)


def make_bag(geo: Geography, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Generate the BAG address table (with internal helper columns prefixed ``_``)."""
    gm4 = geo.gemeente.code[2:]
    rx, ry, dense = _residential_points(geo, scale, rng)
    n_res = len(rx)
    n_nonres = max(int(round(0.10 * n_res)), 20)
    n_parks = int(np.clip(round(n_res / 12000), 1, 10))
    parks = _park_cells(geo, rx, ry, n_parks, rng)
    n_park_obj = int(round(0.4 * n_nonres)) if parks else 0
    n_scatter = n_nonres - n_park_obj

    # scattered non-residential objects near dwellings
    pick = rng.integers(0, n_res, n_scatter)
    sx = rx[pick] + rng.normal(0, 20, n_scatter)
    sy = ry[pick] + rng.normal(0, 20, n_scatter)
    s_use = _choice(_SCATTERED_USES, n_scatter, rng)

    # business parks
    px_l, py_l, pid_l = [], [], []
    if n_park_obj:
        sizes = np.array([len(p) for p in parks], dtype=float)
        per_park = rng.multinomial(n_park_obj, sizes / sizes.sum())
        for k, (cells, m) in enumerate(zip(parks, per_park, strict=True)):
            c = cells[rng.integers(0, len(cells), m)]
            px_l.append(c[:, 0] + rng.random(m) * 100.0)
            py_l.append(c[:, 1] + rng.random(m) * 100.0)
            pid_l.append(np.full(m, k))
    px = np.concatenate(px_l) if px_l else np.empty(0)
    py = np.concatenate(py_l) if py_l else np.empty(0)
    pid = np.concatenate(pid_l) if pid_l else np.empty(0, dtype=np.int64)
    p_use = _choice(_PARK_USES, len(px), rng)

    frame = pd.DataFrame(
        {
            "x": np.concatenate([rx, sx, px]),
            "y": np.concatenate([ry, sy, py]),
            "gebruiksdoel": np.concatenate(
                [np.full(n_res, RESIDENTIAL, dtype=object), s_use, p_use]
            ),
            "_dense": np.concatenate([dense, np.zeros(n_scatter + len(px), dtype=bool)]),
            "_park": np.concatenate([np.full(n_res + n_scatter, -1), pid]).astype(np.int64),
        }
    )
    frame["x"] = frame["x"].round(2)
    frame["y"] = frame["y"].round(2)

    # streets: one per block (residential) or per park, split into segments
    bx = np.floor(frame["x"].to_numpy() / _BLOCK_M).astype(np.int64)
    by = np.floor(frame["y"].to_numpy() / _BLOCK_M).astype(np.int64)
    block = np.where(frame["_park"] >= 0, -1 - frame["_park"].to_numpy(), bx * 100000 + by)
    frame["_block"] = block
    # walk along the street: sort by block, then along x + y
    frame["_walk"] = frame["x"] + 0.5 * frame["y"]
    frame = frame.sort_values(["_block", "_walk"], kind="stable").reset_index(drop=True)
    rank = frame.groupby("_block", sort=False).cumcount().to_numpy()
    frame["_segment"] = frame["_block"].astype(str) + "_" + (rank // _SEGMENT_MAX).astype(str)
    seg_codes, seg_uniques = pd.factorize(frame["_segment"], sort=False)
    is_park_seg = frame.groupby(seg_codes)["_park"].first().to_numpy() >= 0
    names = np.empty(len(seg_uniques), dtype=object)
    names[~is_park_seg] = _street_names(int((~is_park_seg).sum()), rng)
    names[is_park_seg] = _street_names(int(is_park_seg.sum()), rng, industrial=True)
    frame["straat"] = names[seg_codes]

    # doors: dwellings in dense squares share a door (apartment building) of 2-12 units
    rank_seg = frame.groupby(seg_codes).cumcount().to_numpy()
    building_size = rng.integers(2, 13, len(seg_uniques))[seg_codes]
    door_key = np.where(frame["_dense"].to_numpy(), rank_seg // building_size, 1_000_000 + rank_seg)
    new_door = np.ones(len(frame), dtype=bool)
    new_door[1:] = (seg_codes[1:] != seg_codes[:-1]) | (door_key[1:] != door_key[:-1])
    door = pd.Series(new_door.astype(np.int64)).groupby(seg_codes).cumsum().to_numpy()
    frame["huisnummer"] = door
    unit = frame.groupby([seg_codes, frame["huisnummer"]]).cumcount().to_numpy()
    units = frame.groupby([seg_codes, frame["huisnummer"]])["x"].transform("size").to_numpy()
    letters = np.array(list("ABCDEFGHIJKLMNOP"), dtype=object)
    use_letter = (units > 1) & (units <= 3)
    frame["huisletter"] = np.where(use_letter, letters[np.minimum(unit, 15)], "")
    frame["toevoeging"] = np.where(units > 3, (unit + 1).astype(str), "")
    # a few single houses get a letter (split plots)
    extra = (units == 1) & (rng.random(len(frame)) < 0.01)
    frame.loc[extra, "huisletter"] = "A"

    # postcode: PC4 of the point, letters unique per (segment, PC4)
    pc_idx = locate(frame["x"].to_numpy(), frame["y"].to_numpy(), geo.pc4.geometry.values)
    pc4 = geo.pc4["postcode"].to_numpy()[pc_idx]
    group = pd.Series(pc4).astype(str) + "|" + frame["_segment"].astype(str)
    gcodes, guniques = pd.factorize(group, sort=True)
    g_pc4 = np.array([g.split("|")[0] for g in guniques], dtype=object)
    pairs = _letter_pairs()
    g_letters = np.empty(len(guniques), dtype=object)
    g_offset = np.zeros(len(guniques), dtype=np.int64)
    for code in np.unique(g_pc4):
        members = np.flatnonzero(g_pc4 == code)
        order = rng.permutation(len(pairs))
        g_letters[members] = pairs[order[np.arange(len(members)) % len(pairs)]]
        g_offset[members] = (np.arange(len(members)) // len(pairs)) * 1000
    frame["postcode"] = g_pc4[gcodes] + g_letters[gcodes]
    frame["huisnummer"] = frame["huisnummer"] + g_offset[gcodes]

    first_use = frame["gebruiksdoel"].str.split(",").str[0]
    median = first_use.map(_AREA_MEDIAN).to_numpy(dtype=float)
    frame["oppervlakte"] = np.maximum(
        np.round(median * np.exp(rng.normal(0, 0.35, len(frame)))), 12
    ).astype(np.int64)
    frame["plaats"] = geo.gemeente.naam

    area_idx = locate(frame["x"].to_numpy(), frame["y"].to_numpy(), geo.areas.geometry.values)
    frame["_gebied"] = geo.areas["gebiedcode"].to_numpy()[area_idx]
    frame["_cel"] = reference.cell_id(frame["x"].to_numpy(), frame["y"].to_numpy())

    frame = frame.sort_values(
        ["postcode", "huisnummer", "huisletter", "toevoeging"], kind="stable"
    ).reset_index(drop=True)
    ids = 1_000_000 + np.cumsum(rng.integers(1, 30, len(frame)))
    frame["adres_id"] = (gm4 + "01" + pd.Series(ids).astype(str).str.zfill(10)).to_numpy()
    log.debug("BAG: %d adressen (%d woonfunctie)", len(frame), n_res)
    return frame

"""An independent test municipality for the spatial statistics (not built by bcba.synthetic).

Real geography (CBS buurten and 100 m squares of Nissewaard, GM1930, shipped in
:mod:`bcba.reference`), BAG-like address points placed from the CBS dwelling counts per
square (plus a few business addresses in uninhabited squares), and partner events drawn
*uniformly per address* (the null hypothesis of every exposure-adjusted statistic), with an
optional compact cluster: ``n_cluster`` extra events at addresses within ``radius`` metres of
one address. Used by tests/test_excess.py, tests/test_spatial_world.py and
benchmarks/validity_spatial.py; nothing here is tuned to the statistics under test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bcba import reference
from bcba.config import CRS

GEMEENTE = "GM1930"  # Nissewaard: ~39,000 dwellings in 89 buurten
PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


@dataclass
class World:
    """Cells, buurten, addresses and events of one seeded world."""

    cells: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    addresses: gpd.GeoDataFrame
    events: gpd.GeoDataFrame
    exposure: pd.Series  # addresses per cell, aligned with ``cells``
    buurt_exposure: pd.Series  # addresses per buurt, aligned with ``buurten``
    centre: tuple[float, float] | None = None
    cluster_buurt: str | None = None  # the buurt of the centre
    cluster_buurten: frozenset[str] = frozenset()  # every buurt holding a cluster event


@lru_cache(maxsize=2)
def _area(code: str):
    from bcba.areas import load_area

    area = load_area(code)
    return area.cellen, area.buurten


@lru_cache(maxsize=4)
def _addresses(code: str, seed: int) -> gpd.GeoDataFrame:
    """Address points: CBS dwellings per square, and a few business addresses in 10% of the
    uninhabited squares of the grid (industrial estates, farms)."""
    cells, buurten = _area(code)
    rng = np.random.default_rng([seed, 7])
    dwellings = pd.to_numeric(cells.get("aantal_woningen"), errors="coerce").fillna(0)
    n = dwellings.clip(lower=0).round().astype(int).to_numpy().copy()
    empty = n == 0
    business = empty & (rng.random(len(cells)) < 0.10)
    n[business] = 1 + rng.poisson(3, int(business.sum()))
    minx, miny, _, _ = cells.geometry.bounds.to_numpy().T
    idx = np.repeat(np.arange(len(cells)), n)
    x = minx[idx] + rng.uniform(0, 100, len(idx))
    y = miny[idx] + rng.uniform(0, 100, len(idx))
    points = gpd.GeoDataFrame(geometry=shapely.points(x, y), crs=CRS)
    joined = gpd.sjoin(points, buurten[["buurtcode", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()].sort_index()
    joined["cel_id"] = reference.cell_id(joined.geometry.x.to_numpy(), joined.geometry.y.to_numpy())
    return gpd.GeoDataFrame(
        joined[["buurtcode", "cel_id", "geometry"]].reset_index(drop=True), crs=CRS
    )


def _events_at(addresses: gpd.GeoDataFrame, which: np.ndarray, rng) -> gpd.GeoDataFrame:
    start = np.datetime64(PERIODE[0], "D")
    days = (PERIODE[1] - PERIODE[0]).days + 1
    picked = addresses.iloc[which]
    return gpd.GeoDataFrame(
        {
            "thema_id": "drugs",
            "gewicht": 1.0,
            "datum": pd.to_datetime(start + rng.integers(0, days, len(which))),
            "buurtcode": picked["buurtcode"].to_numpy(),
            "cel_id": picked["cel_id"].to_numpy(),
        },
        geometry=picked.geometry.to_numpy(),
        crs=CRS,
    )


def make_world(
    seed: int,
    *,
    cluster: bool,
    rate_per_year: float = 0.01,
    n_cluster: int = 40,
    radius: float = 150.0,
    gemeente: str = GEMEENTE,
) -> World:
    """One world: background events uniform per address (``rate_per_year`` per address per
    year over the two-year :data:`PERIODE`), plus a compact cluster when ``cluster``.

    The background is the same with and without the cluster (same seed), so a null world and
    its planted twin differ only by the ``n_cluster`` events. The cluster centre is an address
    drawn uniformly (so usually in a built-up area) with at least 10 addresses within
    ``radius``; the cluster events fall on addresses within ``radius`` of it.
    """
    cells, buurten = _area(gemeente)
    addresses = _addresses(gemeente, 0)
    rng = np.random.default_rng(seed)
    years = ((PERIODE[1] - PERIODE[0]).days + 1) / 365.25
    n_bg = int(rng.poisson(rate_per_year * len(addresses) * years))
    events = _events_at(addresses, rng.integers(0, len(addresses), n_bg), rng)
    xy = np.c_[addresses.geometry.x.to_numpy(), addresses.geometry.y.to_numpy()]
    crng = np.random.default_rng([seed, 1])  # the cluster never changes the background draws
    while True:
        c = int(crng.integers(0, len(addresses)))
        near = np.flatnonzero(((xy - xy[c]) ** 2).sum(axis=1) <= radius**2)
        if len(near) >= 10:
            break
    centre = (float(xy[c, 0]), float(xy[c, 1]))
    cluster_buurt = str(addresses["buurtcode"].iloc[c])
    cluster_buurten: frozenset[str] = frozenset()
    if cluster:
        extra = _events_at(addresses, near[crng.integers(0, len(near), n_cluster)], crng)
        events = pd.concat([events, extra], ignore_index=True)
        cluster_buurten = frozenset(extra["buurtcode"].astype(str))
    counts = addresses["cel_id"].value_counts()
    exposure = cells["cel_id"].map(counts).fillna(0.0).astype(float)
    buurt_exposure = buurten["buurtcode"].map(addresses["buurtcode"].value_counts()).fillna(0.0)
    return World(
        cells=cells,
        buurten=buurten,
        addresses=addresses,
        events=gpd.GeoDataFrame(events, geometry="geometry", crs=CRS),
        exposure=exposure,
        buurt_exposure=buurt_exposure.astype(float),
        centre=centre,
        cluster_buurt=cluster_buurt,
        cluster_buurten=cluster_buurten,
    )

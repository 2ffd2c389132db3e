"""Timings of the RTM, its validation and Gi* on a Rotterdam-size grid (not a test).

Run: ``python benchmarks/bench_rtm.py [--cells 30000] [--factors 20] [--permutations 999]``.
Synthetic data: a square grid, random factor layers, events with one planted factor.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bcba.hotspots import hotspots
from bcba.rtm import RiskTerrainModel, count_events
from bcba.validation import spatial_cv, validate_rtm


def make_data(n_cells: int, n_factors: int, n_events: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_cells)))
    xs, ys = np.meshgrid(np.arange(side) * 100.0 + 85_000, np.arange(side) * 100.0 + 430_000)
    xs, ys = xs.ravel()[:n_cells], ys.ravel()[:n_cells]
    cells = gpd.GeoDataFrame(
        {"cel_id": [f"c{i}" for i in range(n_cells)]},
        geometry=shapely.box(xs, ys, xs + 100, ys + 100),
        crs="EPSG:28992",
    )
    exposure = rng.poisson(rng.gamma(0.5, 20, n_cells)).astype(float)
    factors = {
        f"factor{j:02d}": gpd.GeoDataFrame(
            geometry=shapely.points(
                rng.uniform(xs.min(), xs.max(), 150), rng.uniform(ys.min(), ys.max(), 150)
            ),
            crs="EPSG:28992",
        )
        for j in range(n_factors)
    }
    from scipy.spatial import cKDTree

    centres = np.c_[xs + 50, ys + 50]
    d, _ = cKDTree(shapely.get_coordinates(factors["factor00"].geometry.values)).query(centres)
    lam = exposure * np.where(d <= 300, 3.0, 1.0)
    idx = np.repeat(np.arange(n_cells), rng.poisson(lam / lam.sum() * n_events))
    events = gpd.GeoDataFrame(
        {
            "datum": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730, len(idx)), unit="D")
        },
        geometry=shapely.points(
            xs[idx] + rng.uniform(1, 99, len(idx)), ys[idx] + rng.uniform(1, 99, len(idx))
        ),
        crs="EPSG:28992",
    )
    return cells, events, factors, exposure


def timed(label: str, func):
    start = time.perf_counter()
    result = func()
    print(f"{label:<45s} {time.perf_counter() - start:8.2f} s")  # noqa: T201 (script output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=30_000)
    parser.add_argument("--factors", type=int, default=20)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--permutations", type=int, default=999)
    args = parser.parse_args()
    cells, events, factors, exposure = make_data(args.cells, args.factors, args.events)
    print(f"{len(cells)} cellen, {len(factors)} factoren, {len(events)} gebeurtenissen")  # noqa: T201
    model = timed(
        "RTM fit (5 afstanden x 2 operationalisaties)",
        lambda: RiskTerrainModel().fit(cells, events, factors, exposure=exposure),
    )
    print(model.factors_.head(4).to_string())  # noqa: T201
    timed("RTM predict", model.predict)
    timed(
        "validate_rtm (tijdsplitsing + KDE)",
        lambda: validate_rtm(cells, events, factors, exposure=exposure),
    )
    timed(
        "spatial_cv (1 km blokken, k=5)",
        lambda: spatial_cv(cells, events, factors, exposure=exposure),
    )
    counts = count_events(cells, events)
    timed(
        f"Gi* queen, {args.permutations} permutaties",
        lambda: hotspots(cells, counts, exposure=exposure, permutations=args.permutations),
    )
    timed(
        "Gi* queen, normale benadering",
        lambda: hotspots(cells, counts, exposure=exposure, inference="normaal"),
    )


if __name__ == "__main__":
    main()

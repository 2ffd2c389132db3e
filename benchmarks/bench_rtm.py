"""Calibration and speed of the risk terrain model (not a test; prints figures).

Run::

    python benchmarks/bench_rtm.py                       # calibration + fit times
    python benchmarks/bench_rtm.py --onderdelen tijd     # fit times only
    python benchmarks/bench_rtm.py --onderdelen pijplijn # validation, spatial CV, Gi*
    python benchmarks/bench_rtm.py --onderdelen kalibratie_groot  # Rotterdam size, 10 seeds

Calibration (Barendrecht-size worlds, ``--seeds`` seeds each, default 20):

* **null worlds**: events in proportion to addresses only, no factor has any effect.
  Three kinds: Poisson counts; over-dispersed counts (negative binomial, a gamma factor
  with variance 1 per cell); and a spatially correlated log-normal field (~300 m) on top of
  the Poisson counts. Printed: the share of seeds in which the model selects *any* factor.
* **smooth planted effect**: the rate per address is ``1 + A exp(-d / 250 m)`` (A = 1, 2,
  4) with ``d`` the distance from the cell centre to the nearest point of ``factor00``
  (25 points on the Barendrecht-size grid; no step, not on the model's distance grid),
  over-dispersed (negative binomial) counts. Printed: the
  share of seeds in which that factor is selected, the number of noise factors selected,
  and, where the model reports a held-out interval, how often it covers the true average
  effect in the zone (see :func:`true_zone_effect`).

The worlds are built here, not by ``bcba.synthetic``: clustered addresses (urban cores,
~35 % of cells without addresses), factor points placed 70 % at addresses and 30 %
anywhere, so factors follow address density as real businesses do.

Speed: the fit (distance measures precomputed, as ``bcba.spatial`` does) on a
Barendrecht-size grid (2,209 cells, 12 factors, ~430 events) and a Rotterdam-size grid
(30,276 cells, 20 factors, ~7,000 events); median of ``--herhalingen`` runs, wall and CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.ndimage import gaussian_filter
from scipy.spatial import cKDTree

from bcba.rtm import RiskTerrainModel, count_events, raw_measures

X0, Y0 = 85_000.0, 430_000.0
#: grid side (cells of 100 m), factors, addresses and events per size
SIZES = {
    "barendrecht": {"side": 47, "factors": 12, "addresses": 21_700, "events": 430},
    "rotterdam": {"side": 174, "factors": 20, "addresses": 358_000, "events": 7_000},
}
DECAY_M = 250.0


def make_world(size: str, seed: int, *, scenario: str = "nul", amplitude: float = 2.0):
    """Cells, events, factor layers, exposure and the planted distance of one world.

    ``scenario``: ``nul`` (Poisson), ``nul_nb`` (negative binomial), ``nul_ruimtelijk``
    (Poisson times a correlated log-normal field) or ``glad`` (smooth planted effect of
    ``factor00``, negative binomial counts).
    """
    spec = SIZES[size]
    rng = np.random.default_rng(seed)
    side = spec["side"]
    n = side * side
    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    xs, ys = X0 + ix.ravel() * 100.0, Y0 + iy.ravel() * 100.0
    cells = gpd.GeoDataFrame(
        {"cel_id": [f"c{i:05d}" for i in range(n)]},
        geometry=shapely.box(xs, ys, xs + 100, ys + 100),
        crs="EPSG:28992",
    )
    centres = np.c_[xs + 50, ys + 50]
    # addresses: a few urban cores plus a thin background; ~35 % of cells hold none
    n_cores = max(3, side // 12)
    core_xy = centres[rng.integers(0, n, n_cores)]
    sigma = rng.uniform(400, 1500, n_cores)
    weight = rng.uniform(0.5, 2.0, n_cores)
    d2 = ((centres[:, None, :] - core_xy[None, :, :]) ** 2).sum(axis=2)
    intensity = (weight * np.exp(-d2 / (2 * sigma**2))).sum(axis=1) + 0.05
    empty = gaussian_filter(rng.normal(size=(side, side)), 3).ravel()
    intensity[empty < np.quantile(empty, 0.35)] = 0.0
    exposure = rng.poisson(intensity / intensity.sum() * spec["addresses"]).astype(float)

    def layer(k: int) -> np.ndarray:
        at_address = rng.random(k) < 0.7
        idx = np.where(
            at_address,
            rng.choice(n, k, p=exposure / exposure.sum()),
            rng.integers(0, n, k),
        )
        return np.c_[xs[idx] + rng.uniform(0, 100, k), ys[idx] + rng.uniform(0, 100, k)]

    scale = spec["side"] ** 2 / 2209
    # the planted factor (factor00) has 25 points per Barendrecht area: with a hundred,
    # 70 % at addresses, its zone covers nearly every address and cannot be told from them
    counts = [25] + [int(rng.integers(15, 120)) for _ in range(spec["factors"] - 1)]
    pts = [layer(int(k * scale**0.5)) for k in counts]
    factors = {
        f"factor{j:02d}": gpd.GeoDataFrame(geometry=shapely.points(p), crs="EPSG:28992")
        for j, p in enumerate(pts)
    }
    dist = cKDTree(pts[0]).query(centres)[0]
    rel = np.ones(n)
    if scenario == "glad":
        rel = 1.0 + amplitude * np.exp(-dist / DECAY_M)
    lam = exposure * rel
    lam = lam / lam.sum() * spec["events"]
    if scenario in ("nul_nb", "glad"):
        lam = lam * rng.gamma(1.0, 1.0, n)
    elif scenario == "nul_ruimtelijk":
        field = gaussian_filter(rng.normal(size=(side, side)), 3).ravel()
        field = field / field.std() * np.sqrt(0.5)
        lam = lam * np.exp(field - 0.25)
    elif scenario != "nul":
        raise ValueError(scenario)
    counts = rng.poisson(lam)
    idx = np.repeat(np.arange(n), counts)
    events = gpd.GeoDataFrame(
        {
            "datum": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 730, len(idx)), unit="D")
        },
        geometry=shapely.points(
            xs[idx] + rng.uniform(1, 99, len(idx)), ys[idx] + rng.uniform(1, 99, len(idx))
        ),
        crs="EPSG:28992",
    )
    return cells, events, factors, exposure, rel


def true_zone_effect(model: RiskTerrainModel, cells, exposure, rel, mask) -> float:
    """True average effect of the planted factor in its fitted zone, on the cells ``mask``.

    The zone is where the selected operationalisation of ``factor00`` is 1. The effect is
    the exposure-weighted true rate per address inside the zone divided by that outside:
    the quantity a Poisson regression on that 0/1 feature estimates.
    """
    surface = model.predict()
    zone = surface["factor00"].to_numpy() == 1
    e = exposure * mask
    inside = (e * rel)[zone].sum() / e[zone].sum()
    outside = (e * rel)[~zone].sum() / e[~zone].sum()
    return float(inside / outside)


def calibration(
    seeds: int,
    size: str,
    *,
    nulls=("nul", "nul_nb", "nul_ruimtelijk"),
    amplitudes=(1.0, 2.0, 4.0),
) -> None:
    for scenario in nulls:
        hits = 0
        for seed in range(seeds):
            cells, events, factors, exposure, _ = make_world(size, seed, scenario=scenario)
            model = RiskTerrainModel(random_state=seed).fit(
                cells, events, factors, exposure=exposure
            )
            hits += bool(model.factors_["geselecteerd"].any())
        print(  # noqa: T201 (script output)
            f"{size}: nul-selectie {scenario:<15s} {hits:3d} van {seeds} seeds met een factor",
            flush=True,
        )
    for amplitude in amplitudes:
        found = noise = covered = n_ci = 0
        stability = []
        for seed in range(seeds):
            cells, events, factors, exposure, rel = make_world(
                size, 1000 + seed, scenario="glad", amplitude=amplitude
            )
            model = RiskTerrainModel(random_state=seed).fit(
                cells, events, factors, exposure=exposure
            )
            table = model.factors_.set_index("factor")
            hit = bool(table.loc["factor00", "geselecteerd"])
            found += hit
            noise += int(table.drop(index="factor00")["geselecteerd"].sum())
            mask = getattr(model, "estimation_cells_", None)
            if "stabiliteit" in table:
                stability.append(table.loc["factor00", "stabiliteit"])
            if hit and mask is not None:
                truth = true_zone_effect(model, cells, exposure, rel, mask)
                n_ci += 1
                covered += (
                    table.loc["factor00", "ci_laag"] <= truth <= table.loc["factor00", "ci_hoog"]
                )
        extra = f"; interval dekt echt effect {covered} van {n_ci}" if n_ci else ""
        if stability:
            extra += f"; mediane stabiliteit {statistics.median(stability):.2f}"
        print(  # noqa: T201
            f"{size}: glad effect A={amplitude:g}: gevonden in {found} van {seeds} seeds; "
            f"{noise} ruisfactoren geselecteerd (over alle seeds){extra}",
            flush=True,
        )


def fit_times(repeats: int) -> None:
    for size in ("barendrecht", "rotterdam"):
        cells, events, factors, exposure, _ = make_world(size, 0, scenario="glad")
        model = RiskTerrainModel()
        start = time.perf_counter()
        raw = raw_measures(cells, factors, distances=model.distances)
        t_raw = time.perf_counter() - start
        walls, cpus = [], []
        for _ in range(repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            RiskTerrainModel().fit(cells, events, factors, exposure=exposure, raw=raw)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        print(  # noqa: T201
            f"fit {size:<12s} {len(cells):6d} cellen {len(factors):2d} factoren "
            f"{len(events):5d} gebeurtenissen: wand {statistics.median(walls):6.2f} s "
            f"(min {min(walls):.2f}), cpu {statistics.median(cpus):6.2f} s; "
            f"raw_measures {t_raw:.2f} s",
            flush=True,
        )


def pipeline() -> None:
    """Timings of the steps around the RTM on a Rotterdam-size grid (as before)."""
    from bcba.hotspots import hotspots
    from bcba.validation import spatial_cv, validate_rtm

    cells, events, factors, exposure, _ = make_world("rotterdam", 0, scenario="glad")
    for label, func in (
        (
            "validate_rtm (tijdsplitsing + KDE)",
            lambda: validate_rtm(cells, events, factors, exposure=exposure),
        ),
        (
            "spatial_cv (1 km blokken, k=5)",
            lambda: spatial_cv(cells, events, factors, exposure=exposure),
        ),
        (
            "Gi* normale benadering",
            lambda: hotspots(
                cells, count_events(cells, events), exposure=exposure, inference="normaal"
            ),
        ),
    ):
        start = time.perf_counter()
        func()
        print(f"{label:<45s} {time.perf_counter() - start:8.2f} s", flush=True)  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--onderdelen",
        nargs="+",
        default=["kalibratie", "tijd"],
        choices=["kalibratie", "kalibratie_groot", "tijd", "pijplijn"],
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--herhalingen", type=int, default=3)
    args = parser.parse_args()
    if "kalibratie" in args.onderdelen:
        calibration(args.seeds, "barendrecht")
    if "kalibratie_groot" in args.onderdelen:
        calibration(args.seeds // 2, "rotterdam", nulls=("nul_nb",), amplitudes=(1.0,))
    if "tijd" in args.onderdelen:
        fit_times(args.herhalingen)
    if "pijplijn" in args.onderdelen:
        pipeline()


if __name__ == "__main__":
    main()

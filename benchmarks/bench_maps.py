"""Timings of the report's maps for one municipality (not a test).

Run: ``python benchmarks/bench_maps.py --gemeente GM0599 [--data-dir data/raw/GM0599]``
(generate the data first with ``bcba demo-data --gemeente GM0599``).

Builds the maps one report run draws: the total score and seven theme choropleths, the risk
surface, the hot spots and the risk locations, each as a folium page (rendered offline) and
as its print twin (PNG at the report's 150 dpi). Loading the inputs is not timed. Wall and
CPU seconds are printed (CPU time is the steadier figure on a shared machine); the first
repetition includes what a run does once (placing and rendering the names).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bcba.maps import interactive, static
from bcba.maps.offline import to_offline_html
from bcba.sources import load_inputs

THEMES = 8  # total score + seven themes
DPI = 150


def frames(inputs, seed: int = 0):
    """Frames shaped like the report's: scores per buurt, risk squares, hot spots, flags."""
    rng = np.random.default_rng(seed)
    buurten = inputs.area.buurten[["buurtcode", "buurtnaam", "geometry"]].copy()
    buurten["score"] = rng.gamma(2.0, 1.0, len(buurten))
    buurten["reden"] = "veel KvK-inschrijvingen op één adres; aankopen zonder hypotheek"
    cellen = inputs.area.cellen[["cel_id", "geometry"]].copy()
    cellen["relatief_risico"] = rng.lognormal(0.0, 0.6, len(cellen))
    cellen["reden"] = "relatief risico"
    hot = cellen.sample(frac=0.05, random_state=seed).copy()
    hot["klasse"] = rng.choice(["Hot spot 99%", "Hot spot 95%", "Cold spot 95%"], len(hot))
    hot["reden"] = "hot spot"
    bag = inputs.bag[inputs.bag.geometry.notna()]
    loc = bag.sample(n=min(2500, len(bag)), random_state=seed)[["geometry"]].copy()
    flags = ["KVK_VEEL_INSCHRIJVINGEN", "KAD_ABC", "KVK_WOONADRES", "NET_STROMAN"]
    loc["flag"] = rng.choice(flags, len(loc))
    loc["reden"] = "rode vlag"
    return buurten, cellen, hot, loc


def run(inputs, basemap) -> dict[str, float]:
    buurten, cellen, hot, loc = frames(inputs)
    jobs = [("choropleth", buurten, {"column": "score"})] * THEMES + [
        ("risico", cellen, {}),
        ("hotspot", hot, {"klasse_column": "klasse"}),
        ("locaties", loc, {"flag_column": "flag"}),
    ]
    figure_fn = {
        "choropleth": static.buurt_choropleth_figure,
        "risico": static.risk_surface_figure,
        "hotspot": static.hotspot_figure,
        "locaties": static.risk_locations_figure,
    }
    map_fn = {
        "choropleth": interactive.buurt_choropleth,
        "risico": interactive.risk_surface_map,
        "hotspot": interactive.hotspot_map,
        "locaties": interactive.risk_locations_map,
    }
    spent = {"folium": 0.0, "statisch": 0.0, "folium_cpu": 0.0, "statisch_cpu": 0.0}
    size = 0
    for kind, frame, kwargs in jobs:
        started, cpu = time.perf_counter(), time.process_time()
        page = to_offline_html(map_fn[kind](frame, titel=kind, basemap=basemap, **kwargs))
        spent["folium"] += time.perf_counter() - started
        spent["folium_cpu"] += time.process_time() - cpu
        size += len(page)
        started, cpu = time.perf_counter(), time.process_time()
        fig = figure_fn[kind](frame, titel=kind, basemap=basemap, **kwargs)
        static.figure_to_png_bytes(fig, dpi=DPI)
        plt.close(fig)
        spent["statisch"] += time.perf_counter() - started
        spent["statisch_cpu"] += time.process_time() - cpu
    spent["pagina_mb"] = size / 1e6
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gemeente", default="GM0489")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--herhalingen", type=int, default=2)
    args = parser.parse_args()
    inputs = load_inputs(
        args.gemeente,
        data_dir=args.data_dir or f"data/raw/{args.gemeente}",
        periode=(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
        key=b"benchmark-sleutel-32-bytes-lang!",
    )
    started, cpu = time.perf_counter(), time.process_time()
    basemap = build(inputs)
    built = time.perf_counter() - started
    built_cpu = time.process_time() - cpu
    rows = [run(inputs, basemap) for _ in range(args.herhalingen)]
    table = pd.DataFrame(rows)
    print(f"{args.gemeente}: basemap {built:.2f} s wall, {built_cpu:.2f} s CPU (once per run)")
    print(table.round(2).to_string())
    print("min:", table.min().round(2).to_dict())


def build(inputs):
    """The run's basemap (built once per run, as the report does)."""
    from bcba.maps.basemap import build_basemap

    return build_basemap(inputs.area, bag=inputs.bag)


if __name__ == "__main__":
    main()

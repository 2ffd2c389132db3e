"""Validity of the spatial statistics over many seeds (a script that prints figures, not a test).

Two kinds of worlds:

* **pipeline null worlds**: ``bcba.synthetic.generate(..., scenario="nul")`` for Barendrecht
  (partner events uniform over the BAG addresses, nothing planted), loaded and analysed as in a
  real run (:func:`bcba.spatial.analyse_spatial`, all themes, RTM and validation for drugs);
* **independent worlds** (tests/spatial_world.py): Nissewaard's real geography, ~41,000
  addresses, background 1 drug event per 100 addresses per year over two years, with and
  without a compact cluster of 40 events within 150 m of one address.

Printed per part, over the seeds: null seeds with any false spot (significant cell, buurt Gi*,
buurt local Moran when computed, per-buurt excess "verhoogd"), the null "RTM beter" verdict
rate; with ``geplant`` the generator's standard scenario (planted hot spot found in every
planted cell, its buurt "verhoogd", "RTM beter" rate with real planted factors); and the
planted-cluster detection rate (significant hot cell within 250 m of the centre; the buurt of
the centre "verhoogd" in the excess test; the buurt of the centre a significant Gi* hot spot).
Run::

    python benchmarks/validity_spatial.py --seeds 20 --werkmap /tmp/bcba_validity
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/spatial_world.py

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
TEST_KEY = "7465737420736c657574656c20766f6f722064652062636261207465737473" + "00"
#: a cell counts as "at the cluster" when its centroid is this close to the centre
#: (cluster radius 150 m plus the half-diagonal of a 100 m cell, rounded up)
NEAR_M = 250.0


def _significant(frame) -> np.ndarray:
    """Significant units: the ``significant`` column (FDR <= alpha); Hot or Cold."""
    if frame is None:
        return np.zeros(0, bool)
    return frame["significant"].fillna(False).to_numpy(bool)


def _any_labelled(frame) -> bool:
    """Any unit labelled Hot/Cold spot at any level (what today's report counts)."""
    if frame is None:
        return False
    return bool(frame["klasse"].astype(str).str.contains("spot").any())


def _excess(result):
    return getattr(result, "overschot_buurt", None)


def _verhoogd(frame) -> np.ndarray:
    if frame is None:
        return np.zeros(0, bool)
    return frame["verhoogd"].fillna(False).to_numpy(bool)


def _rtm_better(result) -> bool | None:
    """Whether the report would say the RTM predicts better (None: no validation)."""
    verdict = getattr(result, "oordeel", None)
    if verdict is not None:
        return bool(verdict.adds_value)
    if getattr(result, "validatie", None) is None:
        return None
    return result.conclusie.startswith("Het risicoterreinmodel (RTM) voorspelt")


def pipeline_null(seed: int, work: Path, scenario: str = "nul") -> dict:
    """One generated world through the real loading and spatial analysis."""
    from bcba import synthetic
    from bcba.indicators.run import compute_indicators
    from bcba.sources import load_inputs
    from bcba.spatial import SpatialConfig, analyse_spatial
    from bcba.themes import load_themes

    folder = work / f"GM0489_{scenario}_{seed}"
    if not (folder / "planted.json").exists():
        synthetic.generate("GM0489", folder, seed=seed, periode=PERIODE, scenario=scenario)
    inputs = load_inputs("GM0489", data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY))
    themes = load_themes(None)
    indicators = compute_indicators(inputs, themes=themes)
    started = time.perf_counter()
    results = analyse_spatial(inputs, indicators, themes, config=SpatialConfig(seed=seed))
    spent = time.perf_counter() - started
    row = {"seed": seed, "spatial_s": round(spent, 1)}
    row["cel"] = sum(int(_significant(r.hotspots_cel).sum()) for r in results.values())
    row["cel_label"] = any(_any_labelled(r.hotspots_cel) for r in results.values())
    row["buurt_gi"] = sum(int(_significant(r.hotspots_buurt).sum()) for r in results.values())
    row["buurt_label"] = any(_any_labelled(r.hotspots_buurt) for r in results.values())
    row["buurt_moran"] = sum(int(_significant(r.moran_buurt).sum()) for r in results.values())
    row["excess"] = sum(int(_verhoogd(_excess(r)).sum()) for r in results.values())
    row["rtm_beter"] = _rtm_better(results["drugs"])
    if scenario == "standaard":
        planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
        drugs = results["drugs"]
        cel = drugs.hotspots_cel
        hot = (
            cel.loc[_significant(cel) & (cel["gi_z"].to_numpy() > 0), "cel_id"]
            if cel is not None
            else []
        )
        row["geplante_cellen_hot"] = (
            f"{len(set(hot) & set(planted['hotspot']['cel_ids']))}/{len(planted['hotspot']['cel_ids'])}"
        )
        row["alle_geplante_cellen_hot"] = set(planted["hotspot"]["cel_ids"]) <= set(hot)
        table = _excess(drugs)
        row["geplante_buurt_verhoogd"] = bool(
            table is not None
            and table.loc[table["buurtcode"] == planted["hotspot"]["buurtcode"], "verhoogd"].any()
        )
    return row


def _near(frame, centre) -> np.ndarray:
    c = frame.geometry.centroid
    return np.hypot(c.x.to_numpy() - centre[0], c.y.to_numpy() - centre[1]) <= NEAR_M


def independent(seed: int, *, cluster: bool) -> dict:
    """One independent world (tests/spatial_world.py) through :func:`analyse_theme`."""
    from bcba.spatial import SpatialConfig, analyse_theme
    from tests.spatial_world import PERIODE as WORLD_PERIODE
    from tests.spatial_world import make_world

    world = make_world(seed, cluster=cluster)
    config = SpatialConfig(seed=seed, rtm_themas=(), raster_themas=("drugs",))
    started = time.perf_counter()
    res = analyse_theme(
        "drugs",
        cells=world.cells,
        buurten=world.buurten,
        events=world.events,
        factors={},
        exposure=world.exposure,
        buurt_exposure=world.buurt_exposure,
        periode=WORLD_PERIODE,
        config=config,
    )
    spent = time.perf_counter() - started
    cel = res.hotspots_cel
    sig = _significant(cel)
    hot = sig & (cel["gi_z"].to_numpy() > 0) if cel is not None else sig
    near = _near(cel, world.centre) if cel is not None else np.zeros(0, bool)
    excess = _excess(res)
    verhoogd = _verhoogd(excess)
    buurt = res.hotspots_buurt
    buurt_sig = _significant(buurt)
    in_cluster_buurt = (
        (buurt["buurtcode"] == world.cluster_buurt).to_numpy() if buurt is not None else []
    )
    row = {
        "seed": seed,
        "analyse_s": round(spent, 1),
        "cel_beoordeeld": bool(
            cel is not None and not cel["klasse"].astype(str).eq("Niet te beoordelen").all()
        ),
        "cel": int(sig.sum()),
        "cel_hot_bij_cluster": int((hot & near).sum()),
        "cel_sig_elders": int((sig & ~near).sum()),
        "buurt_gi": int(buurt_sig.sum()),
        "buurt_gi_cluster": bool(np.any(buurt_sig & in_cluster_buurt)),
        "excess": int(verhoogd.sum()),
        "excess_cluster_buurten": bool(
            excess is not None
            and np.any(verhoogd & excess["buurtcode"].isin(world.cluster_buurten).to_numpy())
        ),
        "excess_cluster": bool(
            excess is not None
            and np.any(verhoogd & (excess["buurtcode"] == world.cluster_buurt).to_numpy())
        ),
    }
    return row


def _rate(rows: list[dict], key, *, test=bool) -> str:
    hits = sum(1 for r in rows if r.get(key) is not None and test(r[key]))
    known = sum(1 for r in rows if r.get(key) is not None)
    return f"{hits}/{known}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--eerste-seed", type=int, default=1)
    parser.add_argument(
        "--onderdelen",
        nargs="+",
        default=["pijplijn", "geplant", "onafhankelijk"],
        choices=["pijplijn", "geplant", "onafhankelijk"],
    )
    parser.add_argument("--werkmap", default="/tmp/bcba_validity")
    parser.add_argument("--details", action="store_true", help="print every seed")
    args = parser.parse_args(argv)
    os.environ.setdefault("BCBA_SLEUTEL", TEST_KEY)
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    work = Path(args.werkmap)
    work.mkdir(parents=True, exist_ok=True)
    seeds = range(args.eerste_seed, args.eerste_seed + args.seeds)
    summary: dict = {"seeds": args.seeds}
    if "pijplijn" in args.onderdelen:
        rows = []
        for seed in seeds:
            rows.append(pipeline_null(seed, work))
            if args.details:
                print(json.dumps({"pijplijn_nul": rows[-1]}), flush=True)
        summary["pijplijn_nul"] = {
            "seeds_met_valse_cel": _rate(rows, "cel"),
            "seeds_met_cel_label_hot_cold": _rate(rows, "cel_label"),
            "seeds_met_valse_buurt_gi": _rate(rows, "buurt_gi"),
            "seeds_met_buurt_label_hot_cold": _rate(rows, "buurt_label"),
            "seeds_met_valse_buurt_moran": _rate(rows, "buurt_moran"),
            "seeds_met_valse_overschot": _rate(rows, "excess"),
            "seeds_met_enige_valse_plek": f"{sum(1 for r in rows if r['cel'] + r['buurt_gi'] + r['buurt_moran'] + r['excess'])}/{len(rows)}",
            "rtm_beter": _rate(rows, "rtm_beter"),
            "spatial_s_mediaan": float(np.median([r["spatial_s"] for r in rows])),
        }
        print(json.dumps({"pijplijn_nul": summary["pijplijn_nul"]}), flush=True)
    if "geplant" in args.onderdelen:
        rows = []
        for seed in seeds:
            rows.append(pipeline_null(seed, work, "standaard"))
            if args.details:
                print(json.dumps({"pijplijn_geplant": rows[-1]}), flush=True)
        summary["pijplijn_geplant"] = {
            "alle_geplante_cellen_hot": _rate(rows, "alle_geplante_cellen_hot"),
            "geplante_buurt_verhoogd": _rate(rows, "geplante_buurt_verhoogd"),
            "rtm_beter": _rate(rows, "rtm_beter"),
            "spatial_s_mediaan": float(np.median([r["spatial_s"] for r in rows])),
        }
        print(json.dumps({"pijplijn_geplant": summary["pijplijn_geplant"]}), flush=True)
    if "onafhankelijk" in args.onderdelen:
        null_rows, planted_rows = [], []
        for seed in seeds:
            null_rows.append(independent(seed, cluster=False))
            planted_rows.append(independent(seed, cluster=True))
            if args.details:
                print(json.dumps({"nul": null_rows[-1], "cluster": planted_rows[-1]}), flush=True)
        summary["onafhankelijk_nul"] = {
            "seeds_cel_beoordeeld": _rate(null_rows, "cel_beoordeeld"),
            "seeds_met_valse_cel": _rate(null_rows, "cel"),
            "seeds_met_valse_buurt_gi": _rate(null_rows, "buurt_gi"),
            "seeds_met_valse_overschot": _rate(null_rows, "excess"),
            "seeds_met_enige_valse_plek": f"{sum(1 for r in null_rows if r['cel'] + r['buurt_gi'] + r['excess'])}/{len(null_rows)}",
            "analyse_s_mediaan": float(np.median([r["analyse_s"] for r in null_rows])),
        }
        summary["onafhankelijk_cluster"] = {
            "cluster_gevonden_cel": _rate(planted_rows, "cel_hot_bij_cluster"),
            "cluster_gevonden_overschot": _rate(planted_rows, "excess_cluster"),
            "cluster_gevonden_overschot_een_clusterbuurt": _rate(
                planted_rows, "excess_cluster_buurten"
            ),
            "cluster_gevonden_buurt_gi": _rate(planted_rows, "buurt_gi_cluster"),
            "cluster_gevonden_cel_of_overschot": f"{sum(1 for r in planted_rows if r['cel_hot_bij_cluster'] or r['excess_cluster'])}/{len(planted_rows)}",
            "seeds_met_sig_cel_verder_dan_250m": _rate(planted_rows, "cel_sig_elders"),
            "mediaan_sig_cellen_verder_dan_250m": float(
                np.median([r["cel_sig_elders"] for r in planted_rows])
            ),
        }
        print(json.dumps({"onafhankelijk_nul": summary["onafhankelijk_nul"]}), flush=True)
        print(json.dumps({"onafhankelijk_cluster": summary["onafhankelijk_cluster"]}), flush=True)


if __name__ == "__main__":
    main()

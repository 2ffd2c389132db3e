"""Validity of the statistics over many seeds (a script that prints figures, not a test).

Generates synthetic data (``bcba.synthetic``) per seed in two scenarios and runs the
analysis on it (``bcba.sources.load_inputs``, ``bcba.indicators.compute_indicators``,
``bcba.spatial.analyse_spatial``; the engine's steps without its files and networks):

- ``nul`` (events in proportion to addresses, no spatial pattern): the share of seeds with
  any false spot on the 100 m grid (drugs) or among the buurten (every theme with enough
  events), with any buurt marked raised by a per-buurt excess test (when the spatial
  results carry one), with any risk factor selected, and with the verdict "RTM predicts
  better";
- ``afwijkend`` (truth that differs from the model, docs/synthetic-data.md): the share of
  seeds in which the planted compact cluster is found (a significant hot-spot cell among the
  cluster's cells, or its buurt significant or raised), the planted factors selected, and
  recall and precision of flags, risk locations and signals against the truth table
  (``bcba.synthetic.evaluation``), pooled over the seeds;
- the median width of the buurten's rank intervals (``rang_<thema>_laag/_hoog`` in
  ``scores_buurt``; "n.v.t." while the scores carry none).

New result attributes are used when present and reported as used: a ``significant`` column
of the hot-spot tables, ``ThemeSpatial.overschot_buurt`` (column ``verhoogd``) and
``ThemeSpatial.oordeel`` (``adds_value``); otherwise the Dutch classes and the
text of ``ThemeSpatial.conclusie``. Run::

    python benchmarks/validity.py                      # 20 seeds, Barendrecht, scale 1
    python benchmarks/validity.py --snel               # 20 seeds at scale 0.3
    python benchmarks/validity.py --seeds 3 --snel     # a first look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
KEY = bytes.fromhex("7465737420736c657574656c20766f6f722064652062636261207465737473" + "00")
HOT_CLASSES = ("Hot spot 99%", "Hot spot 95%")
COLD_CLASSES = ("Cold spot 99%", "Cold spot 95%")
RTM_BETTER = "Het risicoterreinmodel (RTM) voorspelt"

log = logging.getLogger("validity")
used: set[str] = set()  # which result attributes the figures came from


def _out(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201 (script output)


def run_analysis(gemeente: str, seed: int, scenario: str, scale: float, workdir: Path):
    """Generate one data set and analyse it; returns (planted, inputs, indicators, spatial)."""
    from bcba import synthetic
    from bcba.indicators.run import compute_indicators
    from bcba.sources import load_inputs
    from bcba.spatial import SpatialConfig, analyse_spatial
    from bcba.themes import load_themes

    folder = workdir / f"{gemeente}_{scenario}_{scale:g}_{seed}"
    if not (folder / "planted.json").exists():
        synthetic.generate(
            gemeente, folder, seed=seed, periode=PERIODE, scenario=scenario, scale=scale
        )
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    inputs = load_inputs(gemeente, data_dir=folder, periode=PERIODE, key=KEY)
    themes = load_themes()
    indicators = compute_indicators(inputs, themes=themes)
    spatial = analyse_spatial(inputs, indicators, themes, config=SpatialConfig(seed=seed))
    return planted, inputs, indicators, spatial


# --- reading the results (robust to attributes that come and go) ---------------------------
def significant_units(frame: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """(hot, cold) masks of significant units of a Gi* table."""
    if frame is None or len(frame) == 0:
        empty = pd.Series(dtype=bool)
        return empty, empty
    klasse = frame["klasse"].astype(str)
    if "significant" in frame:
        used.add("kolom 'significant' van de hotspottabellen")
        sig = frame["significant"].fillna(False).astype(bool)
        return sig & klasse.str.startswith("Hot"), sig & klasse.str.startswith("Cold")
    used.add("klassen 'Hot/Cold spot 95%/99%'")
    return klasse.isin(HOT_CLASSES), klasse.isin(COLD_CLASSES)


def raised_buurten(ts) -> set[str] | None:
    """Buurten the per-buurt excess test marks raised (None: no such test in the results)."""
    excess = getattr(ts, "overschot_buurt", None)
    if excess is None or "verhoogd" not in excess:
        return None
    used.add("ThemeSpatial.overschot_buurt['verhoogd']")
    return set(excess.loc[excess["verhoogd"].fillna(False).astype(bool), "buurtcode"].astype(str))


def rtm_better(ts) -> bool | None:
    """Whether the run says the RTM predicts better (None: no model or no validation)."""
    verdict = getattr(ts, "oordeel", None)
    if verdict is not None and hasattr(verdict, "adds_value"):
        used.add("ThemeSpatial.oordeel.adds_value")
        return bool(verdict.adds_value)
    if not getattr(ts, "conclusie", ""):
        return None
    used.add("tekst van ThemeSpatial.conclusie")
    return ts.conclusie.startswith(RTM_BETTER)


def selected_factors(ts) -> list[str]:
    table = getattr(ts, "factoren", None)
    if table is None or "geselecteerd" not in table:
        return []
    return table.loc[table["geselecteerd"].astype(bool), "factor"].astype(str).tolist()


def rank_widths(scores_buurt: pd.DataFrame) -> list[float]:
    widths = []
    for col in scores_buurt.columns:
        if col.startswith("rang_") and col.endswith("_laag"):
            high = col[: -len("_laag")] + "_hoog"
            if high in scores_buurt:
                used.add("rangintervallen rang_<thema>_laag/_hoog")
                w = pd.to_numeric(scores_buurt[high], errors="coerce") - pd.to_numeric(
                    scores_buurt[col], errors="coerce"
                )
                widths.extend(w.dropna().astype(float).tolist())
    return widths


# --- per scenario ----------------------------------------------------------------------------
def null_figures(spatial: dict) -> dict:
    hot_c, cold_c = significant_units(spatial["drugs"].hotspots_cel)
    any_buurt = False
    for ts in spatial.values():
        hot_b, cold_b = significant_units(ts.hotspots_buurt)
        any_buurt |= bool(hot_b.any() or cold_b.any())
    raised = [raised_buurten(ts) for ts in spatial.values()]
    refused = spatial["drugs"].hotspots_cel is not None and (
        spatial["drugs"].hotspots_cel["klasse"].astype(str).eq("Niet te beoordelen").all()
    )
    return {
        "cel_vals": bool(hot_c.any() or cold_c.any()),
        "cel_vals_hot": bool(hot_c.any()),
        "cel_geweigerd": bool(refused),
        "buurt_vals": any_buurt,
        "verhoogd_vals": None if all(r is None for r in raised) else any(r for r in raised if r),
        "factor": bool(selected_factors(spatial["drugs"])),
        "rtm_beter": rtm_better(spatial["drugs"]),
    }


def cluster_figures(planted: dict, spatial: dict) -> dict:
    ts = spatial["drugs"]
    cluster = planted["hotspot"]
    hot_c, _ = significant_units(ts.hotspots_cel)
    cell_hit = False
    if ts.hotspots_cel is not None and len(hot_c):
        cells = ts.hotspots_cel.loc[hot_c.to_numpy(), "cel_id"].astype(str)
        cell_hit = bool(cells.isin(cluster["cel_ids"]).any())
    hot_b, _ = significant_units(ts.hotspots_buurt)
    buurt_hit = False
    if ts.hotspots_buurt is not None and len(hot_b):
        codes = ts.hotspots_buurt.loc[hot_b.to_numpy(), "buurtcode"].astype(str)
        buurt_hit = cluster["buurtcode"] in set(codes)
    raised = raised_buurten(ts)
    raised_hit = None if raised is None else cluster["buurtcode"] in raised
    planted_factors = {f["factor"] for f in planted["rtm_factoren"]}
    chosen = set(selected_factors(ts))
    return {
        "cel": cell_hit,
        "buurt": buurt_hit,
        "verhoogd": raised_hit,
        "een_van_beide": cell_hit or buurt_hit or bool(raised_hit),
        "factoren_gevonden": len(planted_factors & chosen),
        "factoren_gepland": len(planted_factors),
        "factoren_extra": len(chosen - planted_factors),
        # power: with real risk factors planted, does the report say the model adds value?
        "rtm_beter": rtm_better(ts),
    }


def _rate(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n.v.t."
    return f"{sum(bool(v) for v in values)} van {len(values)}"


def _pct(x: float) -> str:
    return "n.v.t." if x is None or not np.isfinite(x) else f"{100 * x:.0f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20, help="aantal seeds (standaard 20)")
    parser.add_argument("--eerste-seed", type=int, default=1)
    parser.add_argument("--gemeente", default="GM0489", help="standaard Barendrecht (GM0489)")
    parser.add_argument("--schaal", type=float, default=None, help="schaal van de demodata")
    parser.add_argument("--snel", action="store_true", help="kleine schaal (0,3) tenzij --schaal")
    parser.add_argument("--werkmap", type=Path, default=None, help="bewaar de gegenereerde data")
    args = parser.parse_args(argv)
    scale = args.schaal if args.schaal is not None else (0.3 if args.snel else 1.0)
    logging.basicConfig(level=logging.ERROR)
    warnings.simplefilter("ignore")
    seeds = list(range(args.eerste_seed, args.eerste_seed + args.seeds))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bcba-validity-") as tmp:
        workdir = args.werkmap or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        null, clusters, widths = [], [], []
        per_flag: dict[str, Counter] = defaultdict(Counter)
        loc: dict[str, Counter] = defaultdict(Counter)
        sig: dict[str, Counter] = defaultdict(Counter)
        from bcba.synthetic.evaluation import evaluate

        for seed in seeds:
            t0 = time.perf_counter()
            _, _, ind0, spatial0 = run_analysis(args.gemeente, seed, "nul", scale, workdir)
            null.append(null_figures(spatial0))
            widths.extend(rank_widths(ind0.scores_buurt))
            planted, inputs, ind, spatial = run_analysis(
                args.gemeente, seed, "afwijkend", scale, workdir
            )
            clusters.append(cluster_figures(planted, spatial))
            widths.extend(rank_widths(ind.scores_buurt))
            ev = evaluate(planted, ind, inputs.kvk_functionarissen)
            for row in ev.kandidaten.itertuples():
                c = per_flag[row.flag]
                c["n"] += 1
                c["pos"] += row.waarheid == "ondermijnend"
                c["hit"] += bool(row.gevlagd)
                c["tp"] += bool(row.gevlagd) and row.waarheid == "ondermijnend"
                c["regel"] += bool(row.gevlagd) == bool(row.boven_drempel)
            for row in ev.per_vlag.itertuples():
                per_flag[row.flag]["alle_n"] += row.n_vlaggen
                per_flag[row.flag]["alle_tp"] += row.n_vlaggen_ondermijnend
            for store, scores in ((loc, ev.locaties), (sig, ev.signalen)):
                for name, s in scores.items():
                    store[name].update(
                        gekozen=s.n_gekozen,
                        juist=s.n_juist,
                        gevonden=s.n_gevonden,
                        positief=s.n_positief,
                    )
            log.warning("seed %d klaar in %.0f s", seed, time.perf_counter() - t0)
            _out(f"seed {seed}: nul {null[-1]} | afwijkend {clusters[-1]}")

    minutes = (time.perf_counter() - started) / 60
    _out()
    _out(
        f"Validiteit: {args.gemeente}, {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}), schaal {scale:g}, "
        f"periode {PERIODE[0]} t/m {PERIODE[1]}, {minutes:.0f} min"
    )
    _out()
    _out("Nulscenario ('nul'): seeds met ...")
    _out(
        f"  een vals significante cel (hot of cold, drugs, 100 m)   {_rate(n['cel_vals'] for n in null)}"
    )
    _out(
        f"    waarvan een valse hot-spotcel                        {_rate(n['cel_vals_hot'] for n in null)}"
    )
    _out(
        f"    celanalyse geweigerd ('Niet te beoordelen')          {_rate(n['cel_geweigerd'] for n in null)}"
    )
    _out(
        f"  een vals significante buurt (Gi*, alle thema's)        {_rate(n['buurt_vals'] for n in null)}"
    )
    _out(
        f"  een valse 'verhoogd'-buurt (overschottoets)            {_rate(n['verhoogd_vals'] for n in null)}"
    )
    _out(
        f"  een geselecteerde RTM-factor (drugs)                   {_rate(n['factor'] for n in null)}"
    )
    _out(
        f"  het oordeel 'RTM voorspelt beter' (drugs)              {_rate(n['rtm_beter'] for n in null)}"
    )
    _out()
    _out("Afwijkend scenario ('afwijkend'): seeds waarin ...")
    _out(
        f"  het compacte cluster een significante hot-spotcel heeft {_rate(c['cel'] for c in clusters)}"
    )
    _out(
        f"  de clusterbuurt een significante hot spot is (Gi*)      {_rate(c['buurt'] for c in clusters)}"
    )
    _out(
        f"  de clusterbuurt 'verhoogd' is (overschottoets)          {_rate(c['verhoogd'] for c in clusters)}"
    )
    _out(
        f"  het cluster op een van deze manieren gevonden is        {_rate(c['een_van_beide'] for c in clusters)}"
    )
    found = sum(c["factoren_gevonden"] for c in clusters)
    planned = sum(c["factoren_gepland"] for c in clusters)
    extra = sum(c["factoren_extra"] for c in clusters)
    _out(
        f"  geplante RTM-factoren geselecteerd: {found} van {planned}; andere factoren geselecteerd: {extra}"
    )
    _out(
        f"  het oordeel 'RTM voorspelt beter' (drugs; onderscheidend vermogen) {_rate(c['rtm_beter'] for c in clusters)}"
    )
    _out()
    _out(
        "Vlaggen (afwijkend, opgeteld over de seeds): kandidaten = geplante gevallen en look-alikes"
    )
    _out(
        f"  {'vlag':<25s} {'kand.':>5s} {'recall':>7s} {'precisie':>8s} {'regel':>6s} {'precisie alle vlaggen':>22s}"
    )
    for flag in sorted(per_flag):
        c = per_flag[flag]
        recall = c["tp"] / c["pos"] if c["pos"] else np.nan
        precision = c["tp"] / c["hit"] if c["hit"] else np.nan
        rule = c["regel"] / c["n"] if c["n"] else np.nan
        overall = c["alle_tp"] / c["alle_n"] if c["alle_n"] else np.nan
        _out(
            f"  {flag:<25s} {c['n']:>5d} {_pct(recall):>7s} {_pct(precision):>8s} {_pct(rule):>6s} "
            f"{_pct(overall):>14s} van {c['alle_n']:>5d}"
        )
    _out()
    _out("Locaties en signalen (afwijkend, opgeteld): recall over de ondermijnende adressen")
    for label, store in (("risicolocaties", loc), ("signalen", sig)):
        for name, c in store.items():
            recall = c["gevonden"] / c["positief"] if c["positief"] else np.nan
            precision = c["juist"] / c["gekozen"] if c["gekozen"] else np.nan
            _out(
                f"  {label + ' ' + name:<32s} recall {_pct(recall):>5s}  precisie {_pct(precision):>5s}  "
                f"({c['juist']} van {c['gekozen']} juist; {c['gevonden']} van {c['positief']} gevonden)"
            )
    _out()
    median = statistics.median(widths) if widths else None
    _out(
        f"Mediane breedte van de rangintervallen per buurt (beide scenario's): {'n.v.t.' if median is None else f'{median:g}'}"
    )
    _out()
    _out("Gebruikt: " + "; ".join(sorted(used)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

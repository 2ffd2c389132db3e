"""Timings of the analyst files of a run on a generated Rotterdam (not a test): the Excel
workbook, the QGIS styles of the leading theme's GeoPackages and the QGIS project.

Run: ``python benchmarks/bench_outputs.py [--werkmap /tmp/bcba-bench-uitvoer]``. The first
run generates Rotterdam (GM0599, scale 1) and analyses it (minutes); the results are kept
in the work folder (pickled, confidential only in name: synthetic data) for later runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import pickle
import shutil
import time
from pathlib import Path

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


def _results(work: Path):
    from bcba import synthetic
    from bcba.engine import analyse
    from bcba.runs import make_run_config

    raw, cache = work / "GM0599", work / "resultaten.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    if not (raw / "planted.json").exists():
        synthetic.generate("GM0599", raw, seed=1, periode=PERIODE, scale=1.0)
    cfg = make_run_config(gemeente="GM0599", data_dir=raw, output_dir=work / "run", periode=PERIODE)
    results = analyse(cfg)
    cache.write_bytes(pickle.dumps(results))
    return results


def main() -> None:
    from bcba import qgis
    from bcba.indicators.run import to_geopackage
    from bcba.rtm import write_rtm_outputs
    from bcba.workbook import result_sheets, write_workbook

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--werkmap", default="/tmp/bcba-bench-uitvoer")
    args = parser.parse_args()
    work = Path(args.werkmap)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BCBA_HOME", str(work / "home"))
    res = _results(work)
    out = work / "bench"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    res = dataclasses.replace(res, cfg=res.cfg.model_copy(update={"output_dir": out}))
    ind = res.indicators
    print(
        f"vlaggen {len(ind.flags)}, risicolocaties {len(ind.risicolocaties)}, "
        f"signalen {len(ind.signalen)}, netwerken {len(res.networks.networks)}"
    )
    for _ in range(2):
        started = time.perf_counter()
        result_sheets(res)
        tables = time.perf_counter() - started
        started = time.perf_counter()
        path = write_workbook(res)
        total = time.perf_counter() - started
        print(
            f"werkboek: tabellen {tables:.2f} s, write_workbook {total:.2f} s, "
            f"{path.stat().st_size / 1e6:.1f} MB"
        )
    gpkg = to_geopackage(ind, out / "resultaten_GM0599.gpkg")
    s = res.spatial[res.main_theme]
    files = write_rtm_outputs(s.model, s.validatie, s.hotspots_cel, s.hotspots_buurt, out)
    started = time.perf_counter()
    qgis.style_geopackage(
        gpkg, {n: getattr(ind, n) for n in ("scores_buurt", "risicolocaties", "signalen")}
    )
    qgis.style_geopackage(files["risico_cellen"], {"risico_cellen": s.model.surface_})
    qgis.style_geopackage(
        files["hotspots"], {"buurten": s.hotspots_buurt, "cellen": s.hotspots_cel}
    )
    print(f"stijlen (3 GeoPackages van het hoofdthema): {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    qgis.write_project(res)
    print(f"QGIS-project: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()

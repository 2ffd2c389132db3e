"""Result files of a run: the tables, GeoPackages and network exports beside the report,
and reading them back from earlier runs.

The engine calls the writers; they know nothing of the report. Every file is written
atomically and owner-only (:mod:`bcba.io`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from bcba import config
from bcba.io import atomic_path, ensure_dir, read_csv, write_csv
from bcba.reference import resolve_gemeente


def write_analysis_results(
    out: Path, processed: Path, gemeente: str, indicators, spatial: dict, *, leading: str
) -> dict[str, Path]:
    """Indicator tables, the result GeoPackage (also in ``processed``) and the risk model and
    hot spot files of every theme (those of the ``leading`` theme beside the report, the
    others in ``ruimtelijk/<thema>/``)."""
    from bcba.indicators.run import to_geopackage, write_results
    from bcba.rtm import write_rtm_outputs

    out = ensure_dir(out)
    written = dict(write_results(indicators, out))
    result_gpkg = to_geopackage(indicators, out / f"resultaten_{gemeente}.gpkg")
    written["resultaten_gpkg"] = result_gpkg
    # the same layers in the processed GeoPackage, so QGIS users find everything in one file
    shutil.copyfile(result_gpkg, Path(processed) / f"resultaten_{gemeente}.gpkg")
    os.chmod(Path(processed) / f"resultaten_{gemeente}.gpkg", 0o600)
    for thema, result in spatial.items():
        if result.model is None and result.hotspots_buurt is None:
            continue
        folder = out if thema == leading else out / "ruimtelijk" / thema
        if result.model is not None:
            files = write_rtm_outputs(
                result.model,
                result.validatie,
                result.hotspots_cel,
                result.hotspots_buurt,
                folder,
            )
        else:
            files = _write_hotspots_only(result, folder)
        written.update({f"{thema}:{k}": v for k, v in files.items()})
    return written


def _write_hotspots_only(result, folder: Path) -> dict[str, Path]:
    path = Path(folder) / "hotspots.gpkg"
    with atomic_path(path) as tmp:
        result.hotspots_buurt.to_file(tmp, layer="buurten", driver="GPKG")
        if result.hotspots_cel is not None:
            result.hotspots_cel.to_file(tmp, layer="cellen", driver="GPKG", mode="a")
    return {"hotspots": path}


def flagged_network_ids(networks) -> list[str]:
    """Ids of the networks that carry at least one flag, best ranked first."""
    table = networks.networks
    if len(table) == 0:
        return []
    flagged = table[table["flags"].astype(str).str.len() > 0].sort_values("rang")
    return flagged["netwerk_id"].astype(str).tolist()


def write_network_results(out: Path, networks) -> dict[str, Path]:
    """GraphML, i2 and CSV exports of the networks that carry flags.

    The whole register graph of a city is hundreds of thousands of nodes nobody opens in
    i2; the flagged networks are the ones analysts follow up.
    """
    from bcba.network.export import write_graphml, write_i2

    net_dir = ensure_dir(Path(out) / "netwerken")
    flagged = flagged_network_ids(networks)
    written = {
        "graphml": write_graphml(networks, net_dir / "netwerken.graphml", netwerk_ids=flagged)
    }
    written.update(write_i2(networks, net_dir, netwerk_ids=flagged))
    written["netwerken_csv"] = write_csv(networks.networks, net_dir / "netwerken.csv")
    return written


def national_counts(gemeenten: list[str] | None) -> pd.DataFrame:
    """Counts per theme per municipality/wijk from the latest run of each municipality.

    Reads ``vlaggen.csv`` (flags per theme) of the newest completed run of each
    municipality; incomplete runs are never used.
    """
    from bcba.runs import completed_runs

    rows = []
    root = config.reports_dir()
    codes = [resolve_gemeente(g).code for g in gemeenten] if gemeenten else None
    for folder in sorted(root.glob("GM*_*")):
        code = folder.name.split("_")[0]
        if codes is not None and code not in codes:
            continue
        runs = completed_runs(folder)
        if not runs or not (runs[-1] / "vlaggen.csv").exists():
            continue
        flags = read_csv(runs[-1] / "vlaggen.csv", dtype=str)
        flags["thema"] = flags["themas"].fillna("").str.split(";")
        flags = flags.explode("thema")
        flags = flags[flags["thema"].astype(bool)]
        counts = flags.groupby(["wijkcode", "thema"]).size().reset_index(name="aantal")
        counts.insert(0, "gemeentecode", code)
        rows.append(counts)
    if not rows:
        from bcba.errors import MissingInputError

        raise MissingInputError("Geen resultaten gevonden in reports/; maak eerst een B-CBA met 'bcba maak'.")
    return pd.concat(rows, ignore_index=True)

"""Result files of a run: the tables, GeoPackages and network exports beside the report,
and reading them back from earlier runs.

The engine calls the writers; they know nothing of the report. Every file is written
atomically and owner-only (:mod:`bcba.io`).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from bcba import config
from bcba.indicators.signals import RISK_LOCATION_COLUMNS, SIGNAL_COLUMNS
from bcba.io import atomic_path, ensure_dir, read_csv, write_csv
from bcba.reference import resolve_gemeente

log = logging.getLogger(__name__)

#: The indicator tables written as GeoPackage layers (and CSV).
_INDICATOR_LAYERS = ("scores_buurt", "risicolocaties", "signalen")

#: The columns each output layer keeps (its geometry always): what the analysis computed and
#: what a reader needs to find the area, nothing more. The units of the analysis carry the
#: ~150 CBS attributes of a buurt or square (migration background among them); none of those
#: reaches an output. A name ending in ``*`` keeps every column with that prefix (one per
#: theme). A new result column reaches the GeoPackages only when it is listed here. The risk
#: surface (``risico_cellen``) is built by the model from the cell ids, its factors and its
#: estimates only, so it carries nothing else.
OUTPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "scores_buurt": (
        "buurtcode",
        "buurtnaam",
        "wijkcode",
        "aantal_inwoners",
        "adressen",
        "klein_gebied",
        "score_*",
        "rang_*",
        "percentiel_*",
    ),
    # every column of the indicator tables (no CBS attributes there), geometry apart
    "risicolocaties": tuple(c for c in RISK_LOCATION_COLUMNS if c != "geometry"),
    "signalen": tuple(c for c in SIGNAL_COLUMNS if c != "geometry"),
    "hotspots_buurten": (
        "buurtcode",
        "buurtnaam",
        "wijkcode",
        "aantal",
        "adressen",
        "verwacht",
        "waarde",
        "gi_z",
        "p_sim",
        "p_fdr",
        "significant",
        "klasse",
        "verhoogd",
    ),
    "hotspots_cellen": (
        "cel_id",
        "buurtcode",
        "aantal",
        "adressen",
        "verwacht",
        "waarde",
        "gi_z",
        "p_sim",
        "p_fdr",
        "significant",
        "klasse",
        "verhoogd",
    ),
    "gebieden_gemeente": ("gemeentecode", "gemeentenaam"),
    "gebieden_wijken": ("wijkcode", "wijknaam"),
}


def keep_columns(frame: pd.DataFrame, output: str, *, extra: Iterable[str] = ()) -> pd.DataFrame:
    """The columns of ``frame`` that output ``output`` keeps (:data:`OUTPUT_COLUMNS`, in
    ``frame``'s order, plus ``extra`` and the geometry); ``frame`` is not modified.

    Raises
    ------
    ConfigError
        For an output missing from :data:`OUTPUT_COLUMNS`: every output is listed there.
    """
    from bcba.errors import ConfigError

    if output not in OUTPUT_COLUMNS:
        raise ConfigError(
            f"Onbekende uitvoer {output!r}; kies uit {sorted(OUTPUT_COLUMNS)} of voeg hem toe "
            "aan bcba.outputs.OUTPUT_COLUMNS."
        )
    patterns = (*OUTPUT_COLUMNS[output], *extra)
    geometry = frame.geometry.name if hasattr(frame, "geometry") else None
    kept = [
        c
        for c in frame.columns
        if c == geometry or any(fnmatch.fnmatchcase(str(c), p) for p in patterns)
    ]
    if len(kept) < frame.shape[1]:
        log.debug(
            "%s: %d van %d kolommen weggelaten", output, frame.shape[1] - len(kept), frame.shape[1]
        )
    return frame[kept]


def write_analysis_results(
    out: Path, processed: Path, gemeente: str, indicators, spatial: dict, *, leading: str
) -> dict[str, Path]:
    """Indicator tables, the result GeoPackage (also in ``processed``) and the risk model and
    hot spot files of every theme (those of the ``leading`` theme beside the report, the
    others in ``ruimtelijk/<thema>/``), each layer with only its :data:`OUTPUT_COLUMNS` and
    with the QGIS styles of the report's maps."""
    from bcba import qgis
    from bcba.indicators.run import to_geopackage, write_results
    from bcba.rtm import write_rtm_outputs

    out = ensure_dir(out)
    kept = {name: keep_columns(getattr(indicators, name), name) for name in _INDICATOR_LAYERS}
    indicators = dataclasses.replace(indicators, **kept)
    written = dict(write_results(indicators, out))
    result_gpkg = to_geopackage(indicators, out / f"resultaten_{gemeente}.gpkg")
    labels = {t: theme.label for t, theme in indicators.themes.themas.items()}
    # QGIS opens every layer in the report's classes and colours (styles in the GeoPackage)
    qgis.style_geopackage(result_gpkg, kept, labels=labels)
    written["resultaten_gpkg"] = result_gpkg
    # the same layers in the processed GeoPackage, so QGIS users find everything in one file
    shutil.copyfile(result_gpkg, Path(processed) / f"resultaten_{gemeente}.gpkg")
    os.chmod(Path(processed) / f"resultaten_{gemeente}.gpkg", 0o600)
    for thema, result in spatial.items():
        if result.model is None and result.hotspots_buurt is None:
            continue
        folder = out if thema == leading else out / "ruimtelijk" / thema
        layers = {
            layer: keep_columns(frame, f"hotspots_{layer}")
            for layer, frame in (
                ("buurten", result.hotspots_buurt),
                ("cellen", result.hotspots_cel),
            )
            if frame is not None
        }
        if result.model is not None:
            files = write_rtm_outputs(
                result.model, result.validatie, layers.get("cellen"), layers.get("buurten"), folder
            )
            qgis.style_geopackage(files["risico_cellen"], {"risico_cellen": result.model.surface_})
        else:
            files = _write_hotspots_only(layers, folder)
        if "hotspots" in files:
            qgis.style_geopackage(files["hotspots"], layers)
        written.update({f"{thema}:{k}": v for k, v in files.items()})
    return written


def write_gis_files(results) -> dict[str, Path]:
    """The QGIS project ``bcba_<GMxxxx>.qgs``, after adding the CBS outline and wijken to
    ``resultaten_<GMxxxx>.gpkg`` for it (the run's GeoPackages must be written: the project
    names those present).

    Check the files it returns for personal data (the result GeoPackage is among them: it
    gained two layers).
    """
    import pyogrio

    from bcba import qgis

    gem = results.gemeente
    result_gpkg = Path(results.cfg.output_dir) / f"resultaten_{gem.code}.gpkg"
    area = results.inputs.area
    outline = area.outline.assign(gemeentecode=gem.code, gemeentenaam=gem.naam)
    geography = {
        "gemeente": keep_columns(outline, "gebieden_gemeente"),
        "wijken": keep_columns(area.wijken, "gebieden_wijken"),
    }
    for layer, frame in geography.items():
        pyogrio.write_dataframe(frame, result_gpkg, layer=layer, driver="GPKG")
    qgis.style_geopackage(result_gpkg, geography)
    return {"qgis_project": qgis.write_project(results), "resultaten_gpkg": result_gpkg}


def _write_hotspots_only(layers: dict, folder: Path) -> dict[str, Path]:
    path = Path(folder) / "hotspots.gpkg"
    with atomic_path(path) as tmp:
        for i, (layer, frame) in enumerate(layers.items()):
            frame.to_file(tmp, layer=layer, driver="GPKG", mode="w" if i == 0 else "a")
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

        raise MissingInputError(
            "Geen resultaten gevonden in reports/; maak eerst een B-CBA met 'bcba maak'."
        )
    return pd.concat(rows, ignore_index=True)

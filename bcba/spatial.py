"""Per-theme spatial analysis: risk terrain model, its validation, and hot spots.

Glue between the indicator layer (opportunity structures, partner events per theme) and
:mod:`bcba.rtm`, :mod:`bcba.validation` and :mod:`bcba.hotspots`. Risk factors are the
opportunity-structure categories of the theme configuration (active KvK establishments at
the end of the period) plus the KvK/Kadaster risk locations; the events are the partner
events of the theme; the exposure of a cell is its number of BAG addresses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from bcba import hotspots as hs
from bcba import rtm, validation
from bcba.config import CRS
from bcba.errors import BcbaError
from bcba.indicators.opportunity import active_establishments
from bcba.indicators.partners import events_by_theme
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpatialConfig:
    """Thresholds of the spatial analysis (documented in docs/method-rtm.md)."""

    min_events_hotspots: int = 20
    min_events_rtm: int = 60
    min_points_factor: int = 3
    #: minimum permutations; raised automatically to what the FDR threshold needs
    permutations: int = 999
    #: never more permutations than this per analysis (time); above it significance is refused
    max_permutations: int = 50_000
    alpha: float = 0.05
    seed: int = 0
    distances: tuple[int, ...] = (100, 200, 300, 400, 500)
    #: themes that get a risk terrain model with validation (the costly part)
    rtm_themas: tuple[str, ...] = ("drugs",)
    #: themes whose hot spots are also computed on the 100 m grid (cells with addresses)
    raster_themas: tuple[str, ...] = ("drugs",)


@dataclass
class ThemeSpatial:
    """The spatial results of one theme (absent parts are None, with a Dutch reason)."""

    thema: str
    n_events: int
    hotspots_cel: gpd.GeoDataFrame | None = None
    hotspots_buurt: gpd.GeoDataFrame | None = None
    moran_buurt: gpd.GeoDataFrame | None = None
    model: rtm.RiskTerrainModel | None = None
    surface: gpd.GeoDataFrame | None = None
    factoren: pd.DataFrame | None = None
    validatie: pd.DataFrame | None = None
    spatial_cv: pd.DataFrame | None = None
    conclusie: str = ""
    meldingen: list[str] = field(default_factory=list)


def factor_layers(
    vestigingen: gpd.GeoDataFrame | None,
    themes: ThemeConfig,
    *,
    peildatum,
    categories: list[str] | None = None,
    risicolocaties: gpd.GeoDataFrame | None = None,
    min_points: int = 3,
) -> dict[str, gpd.GeoDataFrame]:
    """Point layers per opportunity-structure category (active at ``peildatum``)."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    if vestigingen is not None and len(vestigingen):
        located = vestigingen[vestigingen.geometry.notna() & ~vestigingen.geometry.is_empty]
        active = active_establishments(located, peildatum=peildatum)
        member = themes.match_categories(active["sbi_code"], active.get("handelsnaam"))
        for cat in categories or list(member.columns):
            if cat in member and member[cat].sum() >= min_points:
                layers[cat] = active.loc[member[cat].to_numpy(), ["geometry"]].reset_index(
                    drop=True
                )
    if risicolocaties is not None and len(risicolocaties) >= min_points:
        layers["risicolocatie_kvk_kadaster"] = risicolocaties[["geometry"]].reset_index(drop=True)
    return layers


def exposure_per_cell(cells: gpd.GeoDataFrame, bag: gpd.GeoDataFrame) -> pd.Series:
    """Number of BAG addresses per grid cell (indexed like ``cells``)."""
    counts = bag["cel_id"].value_counts()
    return cells["cel_id"].map(counts).fillna(0).astype(float)


def _count_in(units: gpd.GeoDataFrame, events: pd.DataFrame, key: str) -> np.ndarray:
    weights = events.groupby(key)["gewicht"].sum() if len(events) else pd.Series(dtype=float)
    return units[key].map(weights).fillna(0.0).to_numpy(dtype=float)


def _permutations(n_units: int, config: SpatialConfig) -> int:
    """Enough permutations for BH-FDR over ``n_units`` when affordable, else the minimum.

    With too few permutations :func:`bcba.hotspots.hotspots` refuses to call significance
    and says how many would be needed; that refusal is shown in the report.
    """
    needed = hs.required_permutations(n_units, config.alpha)
    if needed <= config.max_permutations:
        return max(config.permutations, needed)
    return config.permutations


def analyse_theme(
    thema: str,
    *,
    cells: gpd.GeoDataFrame,
    buurten: gpd.GeoDataFrame,
    events: gpd.GeoDataFrame,
    factors: dict[str, gpd.GeoDataFrame],
    exposure: pd.Series,
    buurt_exposure: pd.Series,
    periode,
    config: SpatialConfig,
) -> ThemeSpatial:
    """Hot spots (grid and buurten), local Moran's I, RTM and its validation for one theme."""
    located = events[events.geometry.notna() & ~events.geometry.is_empty]
    result = ThemeSpatial(thema=thema, n_events=len(located))
    if len(located) < config.min_events_hotspots:
        result.meldingen.append(
            f"Te weinig gelokaliseerde meldingen ({len(located)} < {config.min_events_hotspots}) "
            "voor een hotspotanalyse."
        )
        return result
    buurt_units = buurten.assign(
        aantal=_count_in(buurten, located, "buurtcode"), adressen=buurt_exposure.to_numpy()
    )
    keep = buurt_exposure.to_numpy() > 0
    buurt_units = buurt_units[keep].reset_index(drop=True)
    perms = _permutations(len(buurt_units), config)
    result.hotspots_buurt = hs.hotspots(
        buurt_units,
        "aantal",
        exposure="adressen",
        weights="queen",
        permutations=perms,
        alpha=config.alpha,
        seed=config.seed,
    )
    result.moran_buurt = hs.local_moran(
        buurt_units,
        "aantal",
        exposure="adressen",
        permutations=perms,
        alpha=config.alpha,
        seed=config.seed,
    )
    if thema in config.raster_themas:
        # Only cells with addresses can host events under the per-address model; the
        # permutations needed for FDR grow with the number of cells (docs/method-rtm.md).
        has_addresses = exposure.to_numpy() > 0
        cell_units = cells.assign(
            aantal=_count_in(cells, located, "cel_id"), adressen=exposure.to_numpy()
        )
        cell_units = cell_units[has_addresses].reset_index(drop=True)
        result.hotspots_cel = hs.hotspots(
            cell_units,
            "aantal",
            exposure="adressen",
            weights="queen",
            permutations=_permutations(len(cell_units), config),
            alpha=config.alpha,
            seed=config.seed,
        )
    if thema not in config.rtm_themas:
        return result
    if len(located) < config.min_events_rtm or not factors:
        result.meldingen.append(
            f"Te weinig meldingen ({len(located)} < {config.min_events_rtm}) of geen risicofactoren "
            "voor een risicoterreinmodel."
        )
        return result
    params = dict(distances=config.distances, random_state=config.seed)
    model = rtm.RiskTerrainModel(**params, weight_column="gewicht")
    # distance measures of the cells: computed once for the fit and both validations
    raw = rtm.raw_measures(
        cells, factors, distances=model.distances, operationalisations=model.operationalisations
    )
    model.fit(cells, located, factors, exposure=exposure, raw=raw)
    result.model = model
    result.factoren = model.factors_
    result.surface = model.predict(cells, factors, exposure=exposure)
    try:
        result.validatie = validation.validate_rtm(
            cells,
            located,
            factors,
            exposure=exposure,
            model_params=params | {"weight_column": "gewicht"},
            raw=raw,
        )
        result.conclusie = validation.conclusion(result.validatie)
        result.spatial_cv = validation.spatial_cv(
            cells,
            located,
            factors,
            exposure=exposure,
            model_params=params | {"weight_column": "gewicht"},
            raw=raw,
        )
    except (BcbaError, ValueError) as exc:  # needs events in both halves; report why not
        log.warning("validatie voor %s niet mogelijk: %s", thema, exc)
        result.meldingen.append(f"Validatie niet mogelijk: {exc}")
    return result


def analyse_spatial(
    inputs, indicators, themes: ThemeConfig, *, config: SpatialConfig | None = None
) -> dict[str, ThemeSpatial]:
    """Run :func:`analyse_theme` for every theme (those without enough events say why)."""
    config = config or SpatialConfig()
    cells = inputs.area.cellen
    buurten = inputs.area.buurten
    if cells.crs != CRS or buurten.crs != CRS:
        from bcba.errors import CRSMismatchError

        raise CRSMismatchError(f"gebieden moeten in {CRS} zijn")
    exposure = exposure_per_cell(cells, inputs.bag)
    buurt_exposure = buurten["buurtcode"].map(inputs.bag["buurtcode"].value_counts()).fillna(0.0)
    if inputs.partners is not None and len(inputs.partners):
        events = events_by_theme(inputs.partners, themes, periode=inputs.periode)
    else:
        events = gpd.GeoDataFrame({"thema_id": [], "gewicht": []}, geometry=[], crs=CRS)
    factors = factor_layers(
        inputs.kvk_vestigingen,
        themes,
        peildatum=inputs.periode[1],
        risicolocaties=indicators.risicolocaties if indicators is not None else None,
        min_points=config.min_points_factor,
    )
    results = {}
    for thema in themes.themas:
        theme_events = gpd.GeoDataFrame(
            events[events["thema_id"] == thema], geometry="geometry", crs=CRS
        )
        results[thema] = analyse_theme(
            thema,
            cells=cells,
            buurten=buurten,
            events=theme_events,
            factors=factors,
            exposure=exposure,
            buurt_exposure=buurt_exposure,
            periode=inputs.periode,
            config=config,
        )
    return results

"""Per-theme spatial analysis: hot spots, per-buurt excess, risk terrain model, validation.

Glue between the indicator layer (opportunity structures, partner events per theme) and
:mod:`bcba.hotspots`, :mod:`bcba.excess`, :mod:`bcba.rtm` and :mod:`bcba.validation`. Risk
factors are the opportunity-structure categories of the theme configuration (active KvK
establishments at the end of the period) plus the KvK/Kadaster risk locations; the events are
the partner events of the theme; the exposure of a cell or buurt is its number of BAG
addresses. The statistics count events (each once), not their ``gewicht``.

The time-split validation uses factor layers *as of the split date* (establishments active
then) and leaves the KvK/Kadaster risk locations out: their flags (e.g. a registration in a
risk branch in the last 12 months, a purchase without mortgage) are computed over the whole
period and would leak the test window into the training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from bcba import excess, rtm, validation
from bcba import hotspots as hs
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
    #: Gi* inference: "exact" (binomial test of the neighbourhood count, any grid size) or
    #: "permutatie" (esda; refused when the permutations cannot reach the FDR threshold)
    inference: str = "exact"
    #: cell neighbourhood for Gi*: centroids within this distance (150 m = the 8 around it)
    cell_distance: float = 150.0
    #: minimum permutations (local Moran, permutation Gi*); raised to what FDR needs
    permutations: int = 999
    #: never more permutations than this per analysis (time); above it significance is refused
    max_permutations: int = 50_000
    alpha: float = 0.05
    seed: int = 0
    #: also compute local Moran's I per buurt (a second view the report does not show; its
    #: permutation p-values form their own FDR family per theme)
    lokale_moran: bool = False
    #: reported per-buurt excess test: "nb" (negative binomial) or "poisson"
    excess_test: str = "nb"
    #: bootstrap resamples of the validation intervals
    n_boot: int = 1000
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
    #: per-buurt excess test (:func:`bcba.excess.excess_test`): "verhoogde" buurten
    overschot_buurt: gpd.GeoDataFrame | None = None
    model: rtm.RiskTerrainModel | None = None
    surface: gpd.GeoDataFrame | None = None
    factoren: pd.DataFrame | None = None
    validatie: pd.DataFrame | None = None
    #: the one validation verdict (:func:`bcba.validation.verdict`); ``conclusie`` is its text
    oordeel: validation.ValidationVerdict | None = None
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
    """Number of events per unit (each event once: the tests count observations)."""
    if key not in events.columns or not len(events):
        return np.zeros(len(units))
    counts = events[key].dropna().astype(str).value_counts()
    return units[key].astype(str).map(counts).fillna(0.0).to_numpy(dtype=float)


def validation_split_date(periode) -> pd.Timestamp:
    """The validation's split date: the middle of the analysis period."""
    start, end = pd.Timestamp(periode[0]), pd.Timestamp(periode[1])
    return (start + (end - start) / 2).normalize()


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
    klein_gebied: pd.Series | np.ndarray | None = None,
    validation_factors: dict[str, gpd.GeoDataFrame] | None = None,
) -> ThemeSpatial:
    """Hot spots (grid and buurten), local Moran's I, per-buurt excess, RTM and validation.

    Parameters
    ----------
    events : GeoDataFrame
        The theme's events with ``buurtcode`` and ``cel_id``; events without a point still
        count for their buurt.
    exposure, buurt_exposure : Series
        Addresses per cell / per buurt, aligned with ``cells`` / ``buurten``.
    klein_gebied : bool Series or array aligned with ``buurten``, optional
        Small buurten: shown, not tested and not ranked in the excess test.
    validation_factors : dict, optional
        Factor layers as of :func:`validation_split_date` for the time-split validation;
        without them the validation is skipped (factors at the end of the period would leak
        the test window).
    """
    located = events[events.geometry.notna() & ~events.geometry.is_empty]
    result = ThemeSpatial(thema=thema, n_events=len(located))
    if len(located) < config.min_events_hotspots:
        result.meldingen.append(
            f"Te weinig gelokaliseerde meldingen ({len(located)} < {config.min_events_hotspots}) "
            "voor een hotspotanalyse."
        )
        return result
    small = (
        np.zeros(len(buurten), bool)
        if klein_gebied is None
        else np.asarray(pd.Series(klein_gebied).fillna(False), dtype=bool)
    )
    buurt_units = buurten.assign(
        aantal=_count_in(buurten, events, "buurtcode"),
        adressen=buurt_exposure.to_numpy(dtype=float),
    )
    result.overschot_buurt = excess.excess_test(
        buurten[[c for c in ("buurtcode", "buurtnaam", "wijkcode", "geometry") if c in buurten]],
        buurt_units["aantal"].to_numpy(),
        buurt_units["adressen"].to_numpy(),
        small=small,
        test=config.excess_test,
        alpha=config.alpha,
    )
    keep = buurt_exposure.to_numpy() > 0
    buurt_units = buurt_units[keep].reset_index(drop=True)
    result.hotspots_buurt = hs.hotspots(
        buurt_units,
        "aantal",
        exposure="adressen",
        weights="queen",
        inference=config.inference,
        permutations=_permutations(len(buurt_units), config),
        alpha=config.alpha,
        seed=config.seed,
    )
    if config.lokale_moran:
        result.moran_buurt = hs.local_moran(
            buurt_units,
            "aantal",
            exposure="adressen",
            permutations=_permutations(len(buurt_units), config),
            alpha=config.alpha,
            seed=config.seed,
        )
    if thema in config.raster_themas:
        # Only cells with addresses can host events under the per-address model; the
        # neighbourhood is the 8 surrounding cells that have addresses (docs/method-rtm.md).
        has_addresses = exposure.to_numpy() > 0
        cell_units = cells.assign(
            aantal=_count_in(cells, located, "cel_id"), adressen=exposure.to_numpy()
        )
        cell_units = cell_units[has_addresses].reset_index(drop=True)
        result.hotspots_cel = hs.hotspots(
            cell_units,
            "aantal",
            exposure="adressen",
            weights="distance",
            distance=config.cell_distance,
            inference=config.inference,
            permutations=_permutations(len(cell_units), config),
            alpha=config.alpha,
            seed=config.seed,
        )
    # one FDR family over this theme's reported tests (analyse_spatial widens it to all themes)
    joint_fdr([result], alpha=config.alpha)
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
    # distance measures of the cells: computed once for the fit and the cross-validation
    raw = rtm.raw_measures(
        cells, factors, distances=model.distances, operationalisations=model.operationalisations
    )
    model.fit(cells, located, factors, exposure=exposure, raw=raw)
    result.model = model
    result.factoren = model.factors_
    result.surface = model.predict(cells, factors, exposure=exposure)
    model_params = params | {"weight_column": "gewicht"}
    if not validation_factors:
        result.meldingen.append(
            "Validatie niet mogelijk: geen risicofactoren op de splitsdatum "
            f"({validation_split_date(periode).date().isoformat()})."
        )
    else:
        try:
            result.validatie = validation.validate_rtm(
                cells,
                located,
                validation_factors,
                split_date=validation_split_date(periode),
                exposure=exposure,
                model_params=model_params,
                n_boot=config.n_boot,
                seed=config.seed,
            )
            result.oordeel = result.validatie.attrs["oordeel"]
            result.conclusie = result.oordeel.text
        except (BcbaError, ValueError) as exc:  # needs events in both halves; report why not
            log.warning("validatie voor %s niet mogelijk: %s", thema, exc)
            result.meldingen.append(f"Validatie niet mogelijk: {exc}")
    try:
        result.spatial_cv = validation.spatial_cv(
            cells, located, factors, exposure=exposure, model_params=model_params, raw=raw
        )
    except (BcbaError, ValueError) as exc:
        log.warning("ruimtelijke kruisvalidatie voor %s niet mogelijk: %s", thema, exc)
        result.meldingen.append(f"Ruimtelijke kruisvalidatie niet mogelijk: {exc}")
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
    validation_factors = None
    if any(t in config.rtm_themas for t in themes.themas):
        # as of the split date, without the risk locations (their flags see the test window)
        validation_factors = factor_layers(
            inputs.kvk_vestigingen,
            themes,
            peildatum=validation_split_date(inputs.periode),
            min_points=config.min_points_factor,
        )
    klein_gebied = _small_buurten(buurten, indicators)
    results: dict[str, ThemeSpatial] = {}
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
            klein_gebied=klein_gebied,
            validation_factors=validation_factors,
        )
    joint_fdr(list(results.values()), alpha=config.alpha)
    excluded = {
        t: r.model.n_events_excluded_
        for t, r in results.items()
        if r.model is not None and r.model.n_events_excluded_
    }
    if excluded:
        log.warning(
            "Meldingen in cellen zonder adressen tellen niet mee in het risicoterreinmodel: %s.",
            ", ".join(
                f"{t} {n:g} {'melding' if n == 1 else 'meldingen'}" for t, n in excluded.items()
            ),
        )
    return results


#: the results whose p-values form the report's FDR family: (attribute, kind)
FDR_FAMILY = (("hotspots_cel", "gi"), ("hotspots_buurt", "gi"), ("overschot_buurt", "overschot"))


def joint_fdr(results: list[ThemeSpatial], *, alpha: float = 0.05) -> int:
    """One Benjamini-Hochberg family over every reported test of ``results``.

    The report lists hot spots (cells and buurten) and "verhoogde" buurten of all themes
    together, so that list is the family: over all of them the expected share of false
    discoveries is at most ``alpha``, and in a world without any pattern the chance of even
    one is at most ``alpha`` (per theme and level separately, seven themes and three levels
    would give up to 21 chances of 5%). Local Moran's I, a second view that the report does
    not list, keeps its own family. Updates the results in place (new frames); returns the
    number of tests in the family.
    """
    parts = []
    for result in results:
        for attr, kind in FDR_FAMILY:
            frame = getattr(result, attr)
            if frame is None or (kind == "gi" and frame["klasse"].eq(hs.NOT_ASSESSABLE).any()):
                continue  # not computed, or refused (too few permutations): not in the family
            parts.append((result, attr, kind, frame))
    if not parts:
        return 0
    p_all = np.concatenate([frame["p"].to_numpy(dtype=float) for *_, frame in parts])
    q_all = hs.benjamini_hochberg(p_all)
    n_tests = int((~np.isnan(p_all)).sum())
    note = (
        f"Gecorrigeerd voor meervoudig toetsen (FDR {round(alpha * 100)}%) over alle {n_tests} "
        "toetsen van hotspots en verhoogde buurten in deze analyse."
    )
    start = 0
    for result, attr, kind, frame in parts:
        q = q_all[start : start + len(frame)]
        start += len(frame)
        if kind == "gi":
            updated = hs.apply_fdr(frame, q, alpha=alpha)
        else:
            updated = frame.copy()
            updated["q"] = q
            updated["verhoogd"] = excess.verhoogd(q, alpha=alpha)
        updated.attrs["fdr_toetsen"] = n_tests
        updated.attrs["fdr_melding"] = note
        setattr(result, attr, updated)
    return n_tests


def _small_buurten(buurten: gpd.GeoDataFrame, indicators) -> pd.Series | None:
    """``klein_gebied`` per buurt from the indicator results (one definition, there)."""
    table = getattr(indicators, "scores_buurt", None)
    if table is None or "klein_gebied" not in table:
        return None
    flags = pd.Series(table["klein_gebied"].to_numpy(), index=table["buurtcode"].astype(str))
    return buurten["buurtcode"].astype(str).map(flags).fillna(False).astype(bool)

"""Risk terrain modelling (Caplan & Kennedy) on a square grid.

Each risk factor (a point layer, e.g. storage companies or car washes) is operationalised
per grid cell as *proximity* (the cell centroid lies within the spatial influence distance
of at least one factor point) or *density* (the number of factor points within the
distance is high: above mean + 2 SD over the cells, as in RTMDx). Every factor is tried at
several distances; the operationalisation with the lowest cross-validated Poisson deviance
is kept. The kept factors enter an L1-penalised Poisson regression (glum, cross-validated
penalty); the factors it keeps are refitted without penalty (statsmodels) to give relative
risk values (RRV = exp(coef)) with 95% confidence intervals and p-values.

The model follows scikit-learn's estimator rules: ``__init__`` stores parameters, ``fit``
validates and returns ``self``, learned attributes end in ``_``. See ``docs/method-rtm.md``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import statsmodels.api as sm
from scipy.spatial import cKDTree
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
from threadpoolctl import threadpool_limits

from bcba.config import CRS
from bcba.errors import ConfigError, CRSMismatchError

logger = logging.getLogger(__name__)

OPERATIONALISATIONS = ("proximity", "density")
#: Dutch names of the operationalisations, as shown in tables.
OPERATIONALISATION_NL = {"proximity": "nabijheid", "density": "dichtheid"}
DEFAULT_DISTANCES = (100, 200, 300, 400, 500)

FACTOR_COLUMNS = [
    "factor",
    "operationalisatie",
    "afstand_m",
    "coef",
    "rrv",
    "ci_laag",
    "ci_hoog",
    "p_waarde",
    "cv_deviantie",
    "aantal_punten",
    "aandeel_cellen",
    "geselecteerd",
]


# ---------------------------------------------------------------------------------------
# Shared helpers (also used by bcba.validation and bcba.hotspots)
# ---------------------------------------------------------------------------------------


def check_crs(frame: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> None:
    """Raise :class:`CRSMismatchError` unless ``frame`` is in EPSG:28992."""
    if not isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries):
        raise ConfigError(f"'{name}' moet een GeoDataFrame zijn, niet {type(frame).__name__}.")
    if frame.crs is None or frame.crs != CRS:
        raise CRSMismatchError(
            f"'{name}' heeft coördinatenstelsel {frame.crs}, verwacht {CRS} (RD New). "
            "Projecteer de laag eerst met .to_crs('EPSG:28992')."
        )


def centroid_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    """(n, 2) array of the centroids of the geometries (points stay points)."""
    return shapely.get_coordinates(shapely.centroid(frame.geometry.values))


def cell_area(cells: gpd.GeoDataFrame) -> np.ndarray:
    """Area of each cell inside the study area (``oppervlakte_in_gebied`` if present)."""
    if "oppervlakte_in_gebied" in cells.columns:
        return cells["oppervlakte_in_gebied"].to_numpy(dtype=float)
    return shapely.area(cells.geometry.values).astype(float)


def count_events(
    cells: gpd.GeoDataFrame,
    events: gpd.GeoDataFrame,
    *,
    weight_column: str | None = None,
) -> np.ndarray:
    """Number (or summed weight) of events per cell, aligned with ``cells``.

    A point on a shared cell edge is counted once, in the cell that comes first in
    ``cells`` (deterministic). Points outside every cell are not counted.
    """
    check_crs(cells, "cells")
    check_crs(events, "events")
    geoms = events.geometry.values
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx_event, idx_cell = cells.sindex.query(geoms[valid], predicate="intersects")
    order = np.lexsort((idx_cell, idx_event))
    idx_event, idx_cell = idx_event[order], idx_cell[order]
    first = np.r_[True, idx_event[1:] != idx_event[:-1]] if len(idx_event) else idx_event
    idx_event, idx_cell = idx_event[first], idx_cell[first]
    if weight_column is None:
        weights = np.ones(len(idx_event))
    else:
        if weight_column not in events.columns:
            raise ConfigError(
                f"Kolom '{weight_column}' (gewicht) ontbreekt in de gebeurtenissen; "
                f"aanwezig: {', '.join(map(str, events.columns))}."
            )
        w = pd.to_numeric(events[weight_column], errors="coerce").fillna(1.0).to_numpy(float)
        weights = w[valid][idx_event]
    outside = int(valid.sum()) - len(idx_event)
    if outside:
        logger.info("%d gebeurtenissen liggen buiten het grid en tellen niet mee", outside)
    return np.bincount(idx_cell, weights=weights, minlength=len(cells)).astype(float)


def exposure_array(
    cells: gpd.GeoDataFrame, exposure: str | pd.Series | Sequence[float] | np.ndarray | None
) -> np.ndarray | None:
    """Exposure per cell aligned with ``cells``.

    ``exposure`` may be a column name of ``cells``, a Series indexed by ``cel_id`` (cells
    not in it get 0), or an array of the same length as ``cells``.
    """
    if exposure is None:
        return None
    if isinstance(exposure, str):
        if exposure not in cells.columns:
            raise ConfigError(f"Blootstellingskolom '{exposure}' ontbreekt in de cellen.")
        values = pd.to_numeric(cells[exposure], errors="coerce").to_numpy(float)
    elif (
        isinstance(exposure, pd.Series)
        and "cel_id" in cells.columns
        and not (len(exposure) == len(cells) and exposure.index.equals(cells.index))
    ):
        values = exposure.reindex(cells["cel_id"].to_numpy()).to_numpy(float)
        values = np.nan_to_num(values, nan=0.0)
    else:
        values = np.asarray(exposure, dtype=float)
        if values.shape != (len(cells),):
            raise ConfigError(
                f"Blootstelling heeft lengte {values.shape}, verwacht {len(cells)} (één per cel)."
            )
    if np.isnan(values).any() or (values < 0).any():
        raise ConfigError(
            "Blootstelling (aantal adressen per cel) moet >= 0 zijn en mag niet leeg zijn."
        )
    return values


def _check_factors(factors: Mapping[str, gpd.GeoDataFrame]) -> dict[str, np.ndarray]:
    if not isinstance(factors, Mapping) or not factors:
        raise ConfigError(
            "'factors' moet een niet-lege dict {naam: puntenlaag} zijn, "
            f"kreeg {type(factors).__name__}."
        )
    out = {}
    for name, layer in factors.items():
        check_crs(layer, f"factors['{name}']")
        geoms = layer.geometry.values
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        out[str(name)] = shapely.get_coordinates(shapely.centroid(geoms[keep]))
    return out


# ---------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operationalisation:
    """One way of turning a factor layer into a 0/1 cell feature."""

    factor: str
    kind: str  # "proximity" | "density"
    distance: float
    threshold: float = 0.0  # density: count must exceed this (mean + 2 SD on the fit cells)

    @property
    def column(self) -> str:
        return f"{self.factor}__{self.kind}_{self.distance:g}"


def _raw_measures(
    xy: np.ndarray, points: np.ndarray, kinds: Sequence[str], distances: Sequence[float]
) -> dict[tuple[str, float], np.ndarray]:
    """Nearest distance (proximity) and counts within d (density) for every candidate."""
    out: dict[tuple[str, float], np.ndarray] = {}
    if len(points) == 0:
        for kind in kinds:
            for d in distances:
                out[(kind, d)] = np.full(len(xy), np.inf if kind == "proximity" else 0.0)
        return out
    tree = cKDTree(points)
    if "proximity" in kinds:
        # the upper bound is exclusive; widen it so a point at exactly d still counts
        nearest, _ = tree.query(xy, k=1, distance_upper_bound=max(distances) * (1 + 1e-9) + 1e-6)
        for d in distances:
            out[("proximity", d)] = nearest
    if "density" in kinds:
        for d in distances:
            out[("density", d)] = tree.query_ball_point(xy, r=d, return_length=True).astype(float)
    return out


def _indicator(raw: np.ndarray, op: Operationalisation) -> np.ndarray:
    if op.kind == "proximity":
        return (raw <= op.distance).astype(float)
    return ((raw > op.threshold) & (raw > 0)).astype(float)


def raw_measures(
    cells: gpd.GeoDataFrame,
    factors: Mapping[str, gpd.GeoDataFrame],
    *,
    distances: Sequence[float] = DEFAULT_DISTANCES,
    operationalisations: Sequence[str] = OPERATIONALISATIONS,
) -> dict[str, dict[tuple[str, float], np.ndarray]]:
    """Nearest distance and counts within each distance, per factor, for every cell.

    The costly part of :func:`candidate_features` (k-d tree queries). Compute it once and
    pass it to :meth:`RiskTerrainModel.fit` (``raw=``) when the same cells are fitted
    several times, as in validation and spatial cross-validation (use
    :func:`subset_measures` for a subset of the cells).
    """
    check_crs(cells, "cells")
    xy = centroid_xy(cells)
    kinds, dists = tuple(operationalisations), [float(d) for d in distances]
    return {
        name: _raw_measures(xy, pts, kinds, dists) for name, pts in _check_factors(factors).items()
    }


def subset_measures(
    raw: Mapping[str, Mapping[tuple[str, float], np.ndarray]], mask: np.ndarray
) -> dict[str, dict[tuple[str, float], np.ndarray]]:
    """The raw measures of the cells selected by the boolean ``mask``."""
    return {name: {key: v[mask] for key, v in per.items()} for name, per in raw.items()}


def candidate_features(
    cells: gpd.GeoDataFrame,
    factors: Mapping[str, gpd.GeoDataFrame],
    *,
    distances: Sequence[float] = DEFAULT_DISTANCES,
    operationalisations: Sequence[str] = OPERATIONALISATIONS,
    fit_mask: np.ndarray | None = None,
    raw: Mapping[str, Mapping[tuple[str, float], np.ndarray]] | None = None,
) -> tuple[pd.DataFrame, list[Operationalisation]]:
    """All candidate 0/1 features (factor x operationalisation x distance) per cell.

    Density thresholds (mean + 2 SD of the counts) are computed on the cells in
    ``fit_mask`` (default: all). Candidates without variation are dropped. ``raw``:
    precomputed :func:`raw_measures` of exactly these cells and settings.
    """
    if raw is None:
        raw = raw_measures(
            cells, factors, distances=distances, operationalisations=operationalisations
        )
    else:
        check_crs(cells, "cells")
        missing = sorted(set(map(str, factors)) - set(raw))
        if missing:
            raise ConfigError(f"Voorberekende maten ontbreken voor: {', '.join(missing)}.")
    mask = np.ones(len(cells), bool) if fit_mask is None else fit_mask
    columns: dict[str, np.ndarray] = {}
    ops: list[Operationalisation] = []
    for name in map(str, factors):
        for (kind, d), values in raw[name].items():
            if len(values) != len(cells):
                raise ConfigError(
                    f"Voorberekende maten voor '{name}' horen bij {len(values)} cellen, "
                    f"niet bij {len(cells)}."
                )
            threshold = 0.0
            if kind == "density":
                sub = values[mask]
                threshold = float(sub.mean() + 2 * sub.std()) if len(sub) else 0.0
            op = Operationalisation(name, kind, float(d), threshold)
            x = _indicator(values, op)
            if x[mask].min() == x[mask].max():
                continue
            columns[op.column] = x
            ops.append(op)
    return pd.DataFrame(columns, index=cells.index), ops


def apply_operationalisations(
    cells: gpd.GeoDataFrame,
    factors: Mapping[str, gpd.GeoDataFrame],
    ops: Sequence[Operationalisation],
) -> pd.DataFrame:
    """The 0/1 features of fitted operationalisations on (possibly new) cells/factors."""
    check_crs(cells, "cells")
    points = _check_factors(factors)
    missing = sorted({op.factor for op in ops} - set(points))
    if missing:
        raise ConfigError(f"Risicofactor(en) ontbreken: {', '.join(missing)}.")
    xy = centroid_xy(cells)
    columns = {}
    for op in ops:
        raw = _raw_measures(xy, points[op.factor], (op.kind,), (op.distance,))[
            (op.kind, op.distance)
        ]
        columns[op.column] = _indicator(raw, op)
    return pd.DataFrame(columns, index=cells.index)


def _cv_deviance_binary(
    xmat: np.ndarray, y: np.ndarray, e: np.ndarray, folds: np.ndarray, n_folds: int
) -> np.ndarray:
    """Held-out Poisson deviance of every one-feature model ``log mu = log e + a + b x``.

    For a single 0/1 feature the Poisson MLE is closed form (the event rate per group), so
    all candidates and folds are scored with a few matrix products. Rates get a prior of
    half an event at the overall training rate, so an empty group does not give log(0).
    """
    total = np.zeros(xmat.shape[1])
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
    loge = np.log(e)
    for k in range(n_folds):
        test = folds == k
        train = ~test
        yt, et = y[train], e[train]
        rate = yt.sum() / et.sum()
        y1, e1 = yt @ xmat[train], et @ xmat[train]
        y0, e0 = yt.sum() - y1, et.sum() - e1
        prior = 0.5
        r1 = (y1 + prior) / (e1 + prior / rate)
        r0 = (y0 + prior) / (e0 + prior / rate)
        ys, es, xs = y[test], e[test], xmat[test]
        ylogmu = ys @ loge[test] + np.log(r1) * (ys @ xs) + np.log(r0) * (ys.sum() - ys @ xs)
        mu_sum = r1 * (es @ xs) + r0 * (es.sum() - es @ xs)
        total += 2 * (ylogy[test].sum() - ylogmu - ys.sum() + mu_sum)
    return total


def _unique_patterns(
    xmat: np.ndarray, lead: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(np.c_[lead, xmat], axis=0, return_inverse=True)`` for 0/1 ``xmat``.

    Each row is packed into one integer (``lead`` most significant, then the columns in
    order), so the distinct rows come out in the same lexicographic order, without the
    slow row-wise sort of ``np.unique(axis=0)``.
    """
    bits = np.asarray(xmat, dtype=np.int64)
    width = bits.shape[1]
    if width > 56:  # packing would overflow; fall back to the general row sort
        rows = bits if lead is None else np.c_[lead, bits]
        keys, inverse = np.unique(rows, axis=0, return_inverse=True)
        return keys.astype(float), inverse.reshape(-1)
    code = bits @ (np.int64(1) << np.arange(width - 1, -1, -1, dtype=np.int64))
    if lead is not None:
        code = code + (np.asarray(lead, dtype=np.int64) << width)
    codes, inverse = np.unique(code, return_inverse=True)
    keys = ((codes[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(float)
    if lead is not None:
        keys = np.c_[(codes >> width).astype(float), keys]
    return keys, inverse.reshape(-1)


def _backward_bic(
    xmat: np.ndarray, y: np.ndarray, offset: np.ndarray, selected: np.ndarray
) -> np.ndarray:
    """Backward elimination by BIC (n = number of cells) among the selected 0/1 factors.

    Cells with the same pattern are pooled; the pooled Poisson log-likelihood differs from
    the per-cell one by a constant, so BIC differences are unchanged.
    """
    n = len(y)
    e = np.exp(offset)

    def bic(mask: np.ndarray) -> float:
        cols = xmat[:, mask]
        if cols.shape[1] == 0:
            rate = y.sum() / e.sum()
            return -2 * float((y * np.log(rate)).sum() - rate * e.sum())
        keys, inv = _unique_patterns(cols)
        ya, ea = np.bincount(inv, weights=y), np.bincount(inv, weights=e)
        with warnings.catch_warnings():
            # a pooled pattern without events drives its coefficient towards -inf; the
            # likelihood (all BIC needs) still converges, so the separation warning is moot
            warnings.simplefilter("ignore", PerfectSeparationWarning)
            # with as many pooled patterns as parameters IRLS's internal WLS has 0 residual
            # degrees of freedom and divides by it for a scale the Poisson fit never uses
            warnings.filterwarnings("ignore", message=".*scalar divide", category=RuntimeWarning)
            res = sm.GLM(
                ya,
                sm.add_constant(keys, has_constant="add"),
                family=sm.families.Poisson(),
                offset=np.log(ea),
            ).fit()
        mu = np.asarray(res.mu, dtype=float)
        ylograte = np.where(ya > 0, ya * np.log(np.where(ya > 0, mu, 1.0) / ea), 0.0)
        llf = float(ylograte.sum() - mu.sum())  # up to a constant
        return -2 * llf + (mask.sum() + 1) * np.log(n)

    current = selected.copy()
    best = bic(current)
    while current.any():
        trials = []
        for j in np.flatnonzero(current):
            mask = current.copy()
            mask[j] = False
            trials.append((bic(mask), j))
        value, j = min(trials)
        if value >= best:
            break
        best = value
        current[j] = False
    return current


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class RiskTerrainModel:
    """Risk terrain model on a grid: factor operationalisation, L1 selection, Poisson GLM.

    Parameters
    ----------
    distances : sequence of float
        Spatial influence distances / bandwidths in metres to try per factor.
    operationalisations : sequence of {"proximity", "density"}
        Operationalisations to try per factor.
    cv : int
        Number of (random, cell-level) folds for choosing operationalisations and the
        L1 penalty.
    random_state : int
        Seed of the fold assignment.
    selection_rule : {"1se", "min"}
        Penalty chosen by cross-validation: the largest penalty within one standard error
        of the minimum deviance ("1se", sparser, the default) or the minimum itself.
    min_exposure : float or None
        Cells with exposure 0 cannot contain events under the "events per address" model
        and are left out of the fit (``None``, default). A number floors the exposure at
        that value instead, keeping those cells in.
    weight_column : str or None
        Column of ``events`` with event weights (e.g. ``gewicht``); ``None`` counts events.
    stepwise_bic : bool
        After the lasso, drop factors one at a time while that lowers the BIC of the
        unpenalised Poisson model (as RTMDx does after its penalised step); the lasso
        alone keeps too many noise factors.
    quasi_poisson : bool
        Scale standard errors by the Pearson dispersion when it exceeds 1 (overdispersion
        makes plain Poisson p-values too small).
    """

    def __init__(
        self,
        distances: Sequence[float] = DEFAULT_DISTANCES,
        operationalisations: Sequence[str] = OPERATIONALISATIONS,
        cv: int = 5,
        random_state: int = 0,
        *,
        selection_rule: str = "1se",
        min_exposure: float | None = None,
        weight_column: str | None = None,
        quasi_poisson: bool = True,
        stepwise_bic: bool = True,
    ) -> None:
        self.distances = distances
        self.operationalisations = operationalisations
        self.cv = cv
        self.random_state = random_state
        self.selection_rule = selection_rule
        self.min_exposure = min_exposure
        self.weight_column = weight_column
        self.quasi_poisson = quasi_poisson
        self.stepwise_bic = stepwise_bic

    # -- scikit-learn style parameter access ----------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        return {
            "distances": self.distances,
            "operationalisations": self.operationalisations,
            "cv": self.cv,
            "random_state": self.random_state,
            "selection_rule": self.selection_rule,
            "min_exposure": self.min_exposure,
            "weight_column": self.weight_column,
            "quasi_poisson": self.quasi_poisson,
            "stepwise_bic": self.stepwise_bic,
        }

    def set_params(self, **params) -> RiskTerrainModel:
        for key, value in params.items():
            if key not in self.get_params():
                raise ConfigError(f"Onbekende parameter '{key}' voor RiskTerrainModel.")
            setattr(self, key, value)
        return self

    def _validate_params(self) -> None:
        distances = np.asarray(self.distances, dtype=float)
        if distances.ndim != 1 or len(distances) == 0 or (distances <= 0).any():
            raise ConfigError(
                f"distances moet een lijst positieve afstanden (m) zijn, kreeg {self.distances!r}."
            )
        bad = set(self.operationalisations) - set(OPERATIONALISATIONS)
        if bad or not self.operationalisations:
            raise ConfigError(
                f"operationalisations {tuple(self.operationalisations)!r} ongeldig; "
                f"toegestaan: {OPERATIONALISATIONS}."
            )
        if not isinstance(self.cv, int | np.integer) or self.cv < 2:
            raise ConfigError(f"cv moet een geheel getal >= 2 zijn, kreeg {self.cv!r}.")
        if self.selection_rule not in ("1se", "min"):
            raise ConfigError(
                f"selection_rule moet '1se' of 'min' zijn, kreeg {self.selection_rule!r}."
            )
        if self.min_exposure is not None and not self.min_exposure > 0:
            raise ConfigError(f"min_exposure moet > 0 of None zijn, kreeg {self.min_exposure!r}.")

    def _exposure(self, cells: gpd.GeoDataFrame, exposure) -> tuple[np.ndarray, bool]:
        """Exposure used as offset; the cell's area in hectares when none is given."""
        values = exposure_array(cells, exposure)
        if values is None:
            return cell_area(cells) / 1e4, False
        if self.min_exposure is not None:
            values = np.maximum(values, self.min_exposure)
        return values, True

    def fit(
        self,
        cells: gpd.GeoDataFrame,
        events: gpd.GeoDataFrame,
        factors: Mapping[str, gpd.GeoDataFrame],
        exposure: str | pd.Series | np.ndarray | None = None,
        *,
        raw: Mapping[str, Mapping[tuple[str, float], np.ndarray]] | None = None,
    ) -> RiskTerrainModel:
        """Fit the model.

        Parameters
        ----------
        cells : GeoDataFrame
            Grid cells (``cel_id``, polygon geometry) in EPSG:28992.
        events : GeoDataFrame
            Event points (training period) in EPSG:28992.
        factors : dict of str to GeoDataFrame
            Risk-factor point layers in EPSG:28992.
        exposure : column name, Series by cel_id, array or None
            Exposure per cell (e.g. number of BAG addresses); offset ``log(exposure)``.
            Without it the offset is the cell's area (ha) inside the study area.
        raw : dict, optional
            :func:`raw_measures` of ``cells`` and ``factors`` with this model's distances
            and operationalisations, when already computed (saves the k-d tree queries).

        Returns
        -------
        self

        Raises
        ------
        CRSMismatchError, ConfigError
        """
        self._validate_params()
        check_crs(cells, "cells")
        check_crs(events, "events")
        if len(cells) < self.cv:
            raise ConfigError(f"Te weinig cellen ({len(cells)}) voor cv={self.cv}.")
        y_all = count_events(cells, events, weight_column=self.weight_column)
        e_all, self.has_exposure_ = self._exposure(cells, exposure)
        fit_mask = e_all > 0
        self.n_events_excluded_ = float(y_all[~fit_mask].sum())
        if self.n_events_excluded_:
            logger.warning(
                "%g gebeurtenissen liggen in cellen zonder blootstelling (0 adressen) en "
                "tellen niet mee in het model",
                self.n_events_excluded_,
            )
        y, e = y_all[fit_mask], e_all[fit_mask]
        if y.sum() <= 0:
            raise ConfigError(
                "Geen gebeurtenissen in cellen met blootstelling; het RTM kan niet worden geschat."
            )

        features, ops = candidate_features(
            cells,
            factors,
            distances=[float(d) for d in self.distances],
            operationalisations=tuple(self.operationalisations),
            fit_mask=fit_mask,
            raw=raw,
        )
        rng = np.random.default_rng(self.random_state)
        folds = rng.permutation(np.arange(len(y)) % self.cv)
        x_all = features.to_numpy(float)[fit_mask]

        # 1. best operationalisation per factor by held-out deviance
        n_points = {k: len(v) for k, v in _check_factors(factors).items()}
        factor_names = list(n_points)
        best: dict[str, tuple[Operationalisation, float]] = {}
        if ops:
            dev = _cv_deviance_binary(x_all, y, e, folds, self.cv)
            for j, op in enumerate(ops):
                if op.factor not in best or dev[j] < best[op.factor][1]:
                    best[op.factor] = (op, float(dev[j]))
        chosen = [best[f][0] for f in factor_names if f in best]
        for f in factor_names:
            if f not in best:
                logger.info("Risicofactor '%s' varieert niet over de cellen en valt af", f)
        xc = features[[op.column for op in chosen]].to_numpy(float)[fit_mask]

        # 2. L1-penalised Poisson selection
        selected = self._lasso_select(xc, y, np.log(e), folds) if chosen else np.zeros(0, bool)
        if self.stepwise_bic and selected.any():
            selected = _backward_bic(xc, y, np.log(e), selected)
        sel_ops = [op for op, s in zip(chosen, selected, strict=True) if s]

        # 3. unpenalised Poisson GLM on the selected factors
        xs = sm.add_constant(xc[:, selected], has_constant="add")
        result = sm.GLM(y, xs, family=sm.families.Poisson(), offset=np.log(e)).fit()
        dispersion = float(result.pearson_chi2 / max(result.df_resid, 1))
        if self.quasi_poisson and dispersion > 1:
            result = sm.GLM(y, xs, family=sm.families.Poisson(), offset=np.log(e)).fit(
                scale=dispersion
            )
        self.dispersion_ = dispersion
        self.glm_ = result
        self.intercept_ = float(result.params[0])
        self.coef_ = np.asarray(result.params[1:], dtype=float)
        self.operationalisations_ = sel_ops
        self.candidates_ = [best[f][0] for f in factor_names if f in best]

        ci = np.asarray(result.conf_int(0.05))
        rows = []
        for f in factor_names:
            row = dict.fromkeys(FACTOR_COLUMNS, np.nan)
            row.update(factor=f, geselecteerd=False, aantal_punten=n_points[f])
            if f in best:
                op, dev_f = best[f]
                row.update(
                    operationalisatie=OPERATIONALISATION_NL[op.kind],
                    afstand_m=op.distance,
                    cv_deviantie=dev_f,
                    aandeel_cellen=float(features[op.column].to_numpy()[fit_mask].mean()),
                )
                if op in sel_ops:
                    j = sel_ops.index(op) + 1
                    row.update(
                        coef=float(result.params[j]),
                        # a factor present in very few cells can have an unbounded CI: cap
                        # the exponent so the table shows inf-like values without overflow
                        rrv=float(np.exp(np.clip(result.params[j], -700, 700))),
                        ci_laag=float(np.exp(np.clip(ci[j, 0], -700, 700))),
                        ci_hoog=float(np.exp(np.clip(ci[j, 1], -700, 700))),
                        p_waarde=float(result.pvalues[j]),
                        geselecteerd=True,
                    )
            else:
                row["operationalisatie"] = "geen variatie"
            rows.append(row)
        table = pd.DataFrame(rows, columns=FACTOR_COLUMNS)
        table["operationalisatie"] = table["operationalisatie"].astype("string")
        table["geselecteerd"] = table["geselecteerd"].astype(bool)
        self.factors_ = table.sort_values(
            ["geselecteerd", "rrv"], ascending=[False, False], kind="stable"
        ).reset_index(drop=True)

        self.cells_ = cells
        self.factor_layers_ = factors
        self.exposure_ = e_all
        self.observed_ = y_all
        self.surface_ = self._surface(cells, factors, e_all)
        self.surface_["waargenomen_aantal"] = y_all
        logger.info(
            "RTM geschat: %d van %d factoren geselecteerd (dispersie %.2f)",
            len(sel_ops),
            len(factor_names),
            dispersion,
        )
        return self

    def _lasso_select(
        self, xmat: np.ndarray, y: np.ndarray, offset: np.ndarray, folds: np.ndarray
    ) -> np.ndarray:
        """Factors kept by the cross-validated L1-penalised Poisson regression.

        The features are 0/1, so cells with the same fold and factor pattern are pooled
        (summed counts and exposures): the Poisson likelihood depends on the data only
        through these sums, which makes glum fit a few hundred rows instead of 30,000
        cells. Held-out deviance is then computed per cell from the coefficient path.
        """
        from glum import GeneralizedLinearRegressor, GeneralizedLinearRegressorCV

        e = np.exp(offset)
        keys, inverse = _unique_patterns(xmat, lead=folds)
        ya = np.bincount(inverse, weights=y)
        ea = np.bincount(inverse, weights=e)
        fa, xa = keys[:, 0].astype(int), np.ascontiguousarray(keys[:, 1:])
        splits = [(np.flatnonzero(fa != k), np.flatnonzero(fa == k)) for k in range(self.cv)]
        # glum's automatic largest penalty ignores the offset, which with pooled rows puts
        # most of its path above the point where any factor enters; compute it ourselves:
        # the score of each factor in the exposure-only model (x2 margin), 20 steps to 1e-3.
        mu0 = ea * ya.sum() / ea.sum()
        alpha_max = float(np.abs(xa.T @ (ya - mu0)).max() / len(ya))
        alphas = np.geomspace(2 * alpha_max, 2e-3 * alpha_max, 20) if alpha_max > 0 else None
        # A few hundred pooled rows: OpenMP threads only add overhead, and on a busy machine
        # their spin-waiting made one fit take 25 s instead of 0.2 s.
        with threadpool_limits(limits=1):
            cv_model = GeneralizedLinearRegressorCV(
                family="poisson", l1_ratio=1.0, cv=splits, alphas=alphas
            ).fit(xa, ya, offset=np.log(ea))
        alphas = np.asarray(cv_model.alphas_).reshape(-1)
        coef_path = np.asarray(cv_model.coef_path_)[:, 0]  # (folds, alphas, features)
        icpt_path = np.asarray(cv_model.intercept_path_)[:, 0].reshape(self.cv, -1)
        dev = np.empty((self.cv, len(alphas)))
        for k in range(self.cv):
            test = folds == k
            yt = y[test][:, None]
            mu = np.exp(xmat[test] @ coef_path[k].T + icpt_path[k] + offset[test][:, None])
            ylogy = np.where(yt > 0, yt * np.log(np.where(yt > 0, yt, 1.0) / mu), 0.0)
            dev[k] = 2 * (ylogy - (yt - mu)).sum(axis=0)
        mean = dev.mean(axis=0)
        best = int(np.argmin(mean))
        if self.selection_rule == "min":
            alpha = float(alphas[best])
        else:
            # one standard error of the fold-paired difference to the best penalty: folds
            # differ a lot in total deviance (a cluster in one fold), which would swamp a
            # plain standard error and select nothing
            diff = dev - dev[:, [best]]
            se = diff.std(axis=0, ddof=1) / np.sqrt(self.cv)
            ok = np.flatnonzero(diff.mean(axis=0) <= se)
            alpha = float(alphas[ok].max())
        self.alpha_ = alpha
        self.cv_deviance_path_ = dev
        final = GeneralizedLinearRegressor(family="poisson", l1_ratio=1.0, alpha=alpha).fit(
            xa, ya, offset=np.log(ea)
        )
        return np.abs(np.asarray(final.coef_)) > 1e-8

    def _surface(
        self,
        cells: gpd.GeoDataFrame,
        factors: Mapping[str, gpd.GeoDataFrame],
        exposure: np.ndarray | None,
    ) -> gpd.GeoDataFrame:
        xmat = apply_operationalisations(cells, factors, self.operationalisations_)
        eta = xmat.to_numpy(float) @ self.coef_ if len(self.coef_) else np.zeros(len(cells))
        surface = gpd.GeoDataFrame(
            {"cel_id": cells["cel_id"].to_numpy() if "cel_id" in cells else np.arange(len(cells))},
            geometry=cells.geometry.values,
            crs=cells.crs,
            index=cells.index,
        )
        for op in self.operationalisations_:
            surface[op.factor] = xmat[op.column].astype("int8").to_numpy()
        surface["relatief_risico"] = np.exp(eta)
        if exposure is None:
            surface["verwacht_aantal"] = np.nan
        else:
            surface["blootstelling"] = exposure
            surface["verwacht_aantal"] = exposure * np.exp(self.intercept_ + eta)
        return surface

    def predict(
        self,
        cells: gpd.GeoDataFrame | None = None,
        factors: Mapping[str, gpd.GeoDataFrame] | None = None,
        *,
        exposure: str | pd.Series | np.ndarray | None = None,
    ) -> gpd.GeoDataFrame:
        """The risk surface: relative risk score and expected count per cell.

        Parameters
        ----------
        cells : GeoDataFrame, optional
            Cells to predict for; default the fitted cells (with their exposure).
        factors : dict, optional
            Factor layers; default those used in ``fit``.
        exposure : optional
            Exposure for new ``cells``. Without it, ``verwacht_aantal`` uses the area
            (ha) when the model was fitted without exposure, else is missing (NaN).

        Returns
        -------
        GeoDataFrame
            ``cel_id``, one 0/1 column per selected factor, ``relatief_risico`` (product of
            the RRVs of the factors present), ``verwacht_aantal``, geometry.
        """
        if not hasattr(self, "surface_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("RiskTerrainModel is nog niet geschat; roep eerst fit() aan.")
        factors = self.factor_layers_ if factors is None else factors
        if cells is None:
            cells, e = self.cells_, self.exposure_
        elif exposure is not None or not self.has_exposure_:
            e, _ = self._exposure(cells, exposure)
        else:
            e = None
        return self._surface(cells, factors, e)


# ---------------------------------------------------------------------------------------
# Output files
# ---------------------------------------------------------------------------------------


def write_rtm_outputs(
    model: RiskTerrainModel,
    validation: pd.DataFrame | None,
    hotspots_grid: gpd.GeoDataFrame | None,
    hotspots_buurt: gpd.GeoDataFrame | None,
    out_dir: str | os.PathLike,
) -> dict[str, Path]:
    """Write the RTM results atomically with owner-only permissions.

    Files: ``risico_cellen.gpkg`` (surface), ``rtm_factoren.csv``, ``validatie.csv`` and
    ``hotspots.gpkg`` (layers ``buurten`` and ``cellen``). Absent inputs are skipped.

    Returns
    -------
    dict
        File kind to path written.
    """
    from bcba.io import atomic_path, ensure_dir, write_csv

    out = ensure_dir(out_dir)
    written: dict[str, Path] = {}
    with atomic_path(out / "risico_cellen.gpkg") as tmp:
        model.surface_.to_file(tmp, layer="risico_cellen", driver="GPKG")
    written["risico_cellen"] = out / "risico_cellen.gpkg"
    written["rtm_factoren"] = write_csv(model.factors_, out / "rtm_factoren.csv")
    if validation is not None:
        written["validatie"] = write_csv(validation, out / "validatie.csv")
    layers = {"buurten": hotspots_buurt, "cellen": hotspots_grid}
    layers = {k: v for k, v in layers.items() if v is not None}
    if layers:
        with atomic_path(out / "hotspots.gpkg") as tmp:
            for name, frame in layers.items():
                frame.to_file(tmp, layer=name, driver="GPKG")
        written["hotspots"] = out / "hotspots.gpkg"
    return written

"""Risk terrain modelling (Caplan & Kennedy) on a square grid.

Each risk factor (a point layer, e.g. storage companies or car washes) is operationalised
per grid cell as *proximity* (the cell centroid lies within the spatial influence distance
of at least one factor point) or *density* (the number of factor points within the
distance is high: above mean + 2 SD over the cells, as in RTMDx), each at several
distances: 0/1 candidate features.

Selection is built to survive null worlds (events in proportion to addresses only):

* square blocks (1 km) are split at random into a *selection half* and an *estimation
  half*;
* on the selection half, factors enter one at a time by their held-out Poisson deviance
  gain in spatially blocked folds whose training cells keep a buffer (the largest factor
  distance) from the test cells, divided by the dispersion of the block totals (so over-
  dispersion and correlation within blocks do not inflate it);
* a factor enters only if that criterion beats the best candidate in data simulated
  without any factor effect (negative binomial counts with the data's over-dispersion):
  a Monte Carlo test at level ``alpha`` of the best of all candidates;
* a variant needs support (cells and events on both sides), so separation cannot occur;
* relative risk values (RRV = exp(coef)), 95% intervals and p-values come from a Poisson
  GLM with cluster-robust errors on the estimation half, which took no part in the
  selection;
* selection stability is the share of random halves of the blocks on which the same
  procedure picks the factor.

The model follows scikit-learn's estimator rules: ``__init__`` stores parameters, ``fit``
validates and returns ``self``, learned attributes end in ``_``. See ``docs/method-rtm.md``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import statsmodels.api as sm
from scipy import sparse
from scipy.ndimage import binary_dilation
from scipy.spatial import cKDTree
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from bcba.config import CRS
from bcba.errors import ConfigError, CRSMismatchError

logger = logging.getLogger(__name__)

OPERATIONALISATIONS = ("proximity", "density")
#: Dutch names of the operationalisations, as shown in tables.
OPERATIONALISATION_NL = {"proximity": "nabijheid", "density": "dichtheid"}
DEFAULT_DISTANCES = (100, 200, 300, 400, 500)

#: Columns of ``RiskTerrainModel.factors_`` (one row per factor). Estimates (``coef`` to
#: ``p_waarde``, ``dispersie``) come from the estimation half only; ``cv_winst_t`` is the
#: studentised held-out deviance gain on the selection half (at entry, or as the first
#: factor when not selected), compared with ``RiskTerrainModel.margin_``.
FACTOR_COLUMNS = [
    "factor",
    "operationalisatie",
    "afstand_m",
    "coef",
    "rrv",
    "ci_laag",
    "ci_hoog",
    "p_waarde",
    "cv_winst_t",
    "aantal_punten",
    "aandeel_cellen",
    "cellen_met_factor",
    "gebeurtenissen_bij_factor",
    "geselecteerd",
    "stabiliteit",
    "dispersie",
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
    # a plain object array: shapely on geopandas' extension array goes through a slow
    # pandas ufunc path (0.2 s for 30,000 cells)
    return shapely.get_coordinates(shapely.centroid(np.asarray(frame.geometry.values)))


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


# ---------------------------------------------------------------------------------------
# Spatial blocks, halves and buffered folds
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Square units covering the fit cells; a block is a group of whole units.

    Buffers are counted in whole units (Chebyshev rings), so every sum the selection needs
    can be taken over units instead of cells.
    """

    unit: np.ndarray  # unit index of each cell
    raster: np.ndarray  # (n_units, 2) position of each unit in the unit raster
    block: np.ndarray  # block index of each unit
    rings: int  # units of buffer around a test unit
    unit_size: float

    @property
    def n_units(self) -> int:
        return len(self.raster)

    @property
    def buffer(self) -> float:
        """The buffer actually kept (at least the one asked for)."""
        return self.rings * self.unit_size


def _layout(xy: np.ndarray, *, block_size: float, buffer: float) -> _Layout:
    """Units of ``block_size / m`` m (``m`` so that a unit is at most ``buffer`` wide)."""
    per_block = 1 if buffer <= 0 else max(1, int(np.ceil(block_size / buffer - 1e-9)))
    size = block_size / per_block
    rings = 0 if buffer <= 0 else int(np.ceil(buffer / size - 1e-9))
    pos = np.floor(xy / size).astype(np.int64)
    keys, unit = np.unique(pos, axis=0, return_inverse=True)
    _, block = np.unique(np.floor_divide(keys, per_block), axis=0, return_inverse=True)
    return _Layout(unit.reshape(-1), keys - keys.min(axis=0), block.reshape(-1), rings, size)


def _near(layout: _Layout, masks: np.ndarray) -> np.ndarray:
    """Units within the buffer of (or in) the units of each mask, shape of ``masks``."""
    if layout.rings == 0:
        return masks.copy()
    shape = tuple(layout.raster.max(axis=0) + 1)
    ix, iy = layout.raster[:, 0], layout.raster[:, 1]
    out = np.empty_like(masks)
    for f, mask in enumerate(masks):
        grid = np.zeros(shape, bool)
        grid[ix, iy] = mask
        grid = binary_dilation(grid, structure=np.ones((3, 3), bool), iterations=layout.rings)
        out[f] = grid[ix, iy]
    return out


@dataclass(frozen=True)
class _Folds:
    test: np.ndarray  # (k, n_units) bool
    train: np.ndarray  # (k, n_units) bool
    blocks: np.ndarray  # (n_blocks, n_units) bool: the test blocks one by one
    fold_of_block: np.ndarray  # (n_blocks,) fold in which each block is tested


def _buffered_folds(
    layout: _Layout, units: np.ndarray, k: int, random_state: np.random.RandomState
) -> _Folds:
    """k folds of whole blocks among ``units``; training leaves out the test's buffer.

    Blocks go to folds as scikit-learn's ``GroupKFold(shuffle=True)`` assigns groups
    (shuffled, then an equal number of blocks per fold).
    """
    idx = np.flatnonzero(units)
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    test = np.zeros((k, layout.n_units), bool)
    for f, (_, held_out) in enumerate(splitter.split(idx, groups=layout.block[idx])):
        test[f, idx[held_out]] = True
    names = np.unique(layout.block[idx])
    blocks = (layout.block[None, :] == names[:, None]) & units[None, :]
    fold_of_block = np.argmax(test[:, np.argmax(blocks, axis=1)], axis=0)
    return _Folds(test, units[None, :] & ~_near(layout, test), blocks, fold_of_block)


def _split_in_two(layout: _Layout, random_state: np.random.RandomState) -> list[np.ndarray]:
    """Two complementary unit masks, each with half of the blocks (``GroupKFold``)."""
    units = np.arange(layout.n_units)
    splitter = GroupKFold(n_splits=2, shuffle=True, random_state=random_state)
    out = []
    for _, held_out in splitter.split(units, groups=layout.block):
        mask = np.zeros(layout.n_units, bool)
        mask[held_out] = True
        out.append(mask)
    return out


def spatial_folds(
    cells: gpd.GeoDataFrame,
    *,
    block_size: float = 1000.0,
    buffer: float = max(DEFAULT_DISTANCES),
    k: int = 5,
    random_state: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Spatially blocked folds with a buffer, as the RTM uses them inside its selection.

    Cells are grouped into square blocks of ``block_size`` m; blocks go to ``k`` folds
    (scikit-learn ``GroupKFold(shuffle=True)``). The training cells of a fold are the cells
    of the other folds *minus* those within ``buffer`` m of a test cell (centroid
    distances; the buffer is counted in whole sub-block units, so it can be wider).

    Returns
    -------
    list of (train, test)
        Positions (0-based) of the cells, one pair per fold, like a scikit-learn splitter.
    """
    check_crs(cells, "cells")
    layout = _layout(centroid_xy(cells), block_size=float(block_size), buffer=float(buffer))
    n_blocks = int(layout.block.max()) + 1 if len(cells) else 0
    if n_blocks < k:
        raise ConfigError(
            f"Slechts {n_blocks} blokken van {block_size:g} m voor k={k} folds; "
            "kies kleinere blokken of minder folds."
        )
    folds = _buffered_folds(
        layout, np.ones(layout.n_units, bool), k, np.random.RandomState(random_state)
    )
    return [
        (np.flatnonzero(tr[layout.unit]), np.flatnonzero(te[layout.unit]))
        for tr, te in zip(folds.train, folds.test, strict=True)
    ]


# ---------------------------------------------------------------------------------------
# Sufficient statistics and the selection criterion
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sums:
    """Sums per (unit, pattern of the selected features): all the criterion needs.

    ``y1``/``e1``/``n1`` hold the part of each row where a candidate feature is 1.
    """

    unit: np.ndarray
    pattern: np.ndarray
    n_patterns: int
    y: np.ndarray
    e: np.ndarray
    n: np.ndarray  # cells
    y1: np.ndarray  # (rows, p)
    e1: np.ndarray
    n1: np.ndarray | None


def _unit_sums(
    x: np.ndarray, y: np.ndarray, e: np.ndarray, unit: np.ndarray, selected: Sequence[int]
) -> _Sums:
    s = len(selected)
    code = np.zeros(len(y), np.int64)
    for bit, j in enumerate(selected):
        code += x[:, j].astype(np.int64) << bit
    n_patterns = 1 << s
    keys, row = np.unique(unit.astype(np.int64) * n_patterns + code, return_inverse=True)
    row = row.reshape(-1)
    cols = np.arange(len(y))

    def by_row(weights: np.ndarray) -> np.ndarray:
        return sparse.csr_matrix((weights, (row, cols)), shape=(len(keys), len(y))) @ x

    return _Sums(
        unit=keys // n_patterns,
        pattern=keys % n_patterns,
        n_patterns=n_patterns,
        y=np.bincount(row, weights=y),
        e=np.bincount(row, weights=e),
        n=np.bincount(row).astype(float),
        y1=by_row(y),
        e1=by_row(e),
        n1=by_row(np.ones(len(y))) if s == 0 else None,
    )


@dataclass(frozen=True)
class _SetSums:
    """Sums over sets of units per pattern: ``(sets, C)`` and ``(sets, C, p)`` arrays."""

    y: np.ndarray
    e: np.ndarray
    n: np.ndarray | None
    y1: np.ndarray
    e1: np.ndarray
    n1: np.ndarray | None

    def take(self, rows: slice) -> _SetSums:
        """The sums of some of the sets."""
        parts = (self.y, self.e, self.n, self.y1, self.e1, self.n1)
        return _SetSums(*(None if v is None else v[rows] for v in parts))


def _set_sums(sums: _Sums, masks: np.ndarray) -> _SetSums:
    m, c = len(masks), sums.n_patterns
    which, row = np.nonzero(masks[:, sums.unit])
    agg = sparse.csr_matrix(
        (np.ones(len(row)), (which * c + sums.pattern[row], row)), shape=(m * c, len(sums.y))
    )
    p = sums.y1.shape[1]

    def flat(v: np.ndarray) -> np.ndarray:
        return (agg @ v).reshape(m, c)

    def wide(v: np.ndarray) -> np.ndarray:
        return np.asarray(agg @ v).reshape(m, c, p)

    return _SetSums(
        y=flat(sums.y),
        e=flat(sums.e),
        n=flat(sums.n),
        y1=wide(sums.y1),
        e1=wide(sums.e1),
        n1=None if sums.n1 is None else wide(sums.n1),
    )


def _fit_candidate(
    y: np.ndarray, e: np.ndarray, y1: np.ndarray, e1: np.ndarray, prior: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates of the current model and of the model with each candidate added.

    Shapes: ``y``, ``e`` (..., C) per pattern of the selected factors; ``y1``, ``e1``
    (..., C, p) their part where candidate j is 1. The current model has one rate per
    pattern, ``r_c``; adding candidate j gives ``b_cj * theta_j ** x``: a rate per pattern
    and one rate ratio for the candidate, i.e. a Poisson GLM with the pattern as a factor
    plus the 0/1 candidate. ``b`` is profiled out (closed form given ``theta``) and
    ``log theta`` found by Newton's method on the concave profile likelihood. ``prior``
    pseudo-events keep empty groups finite: each pattern rate gets ``prior`` events at
    the overall rate, the ratio ``prior`` events at ratio 1. With ``prior=0`` these are
    the maximum-likelihood estimates.

    Returns
    -------
    r (..., C, 1), b (..., C, p), theta (..., 1, p)
    """
    yc = y[..., None] + prior
    ec = e[..., None]
    e0 = ec - e1
    total_e = ec.sum(axis=-2, keepdims=True)
    rate = yc.sum(axis=-2, keepdims=True) / np.where(total_e > 0, total_e, 1.0)
    pseudo_e = prior / np.where(rate > 0, rate, 1.0)
    r = yc / np.maximum(ec + pseudo_e, 1e-300)
    y1_total = y1.sum(axis=-2, keepdims=True) + prior
    t = np.zeros(y1_total.shape)
    for _ in range(100):
        theta = np.exp(t)
        share = theta * e1 / np.maximum(e0 + theta * e1 + pseudo_e, 1e-300)
        grad = y1_total - (yc * share).sum(axis=-2, keepdims=True) - prior * theta
        hess = -(yc * share * (1 - share)).sum(axis=-2, keepdims=True) - prior * theta
        step = np.clip(grad / np.minimum(hess, -1e-12), -5.0, 5.0)
        t = t - step
        if not np.abs(step).max(initial=0.0) > 1e-10:
            break
    theta = np.exp(t)
    b = yc / np.maximum(e0 + theta * e1 + pseudo_e, 1e-300)
    return r, b, theta


def _xlogy(y: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return np.where(y > 0, y * np.log(np.where(y > 0, np.maximum(rate, 1e-300), 1.0)), 0.0)


def _heldout_gain(
    train: _SetSums, test: _SetSums, prior: float, fold: np.ndarray | None = None
) -> np.ndarray:
    """Held-out Poisson deviance of the current model minus that with each candidate.

    The models are fitted on each training set and scored on the test set ``fold[i]``
    points to (default: the same position). Leading axes are sets (and simulations);
    returns (..., p) per test set. Terms the same for both models (``y log y``,
    ``y log e``) cancel.
    """
    r, b, theta = _fit_candidate(train.y, train.e, train.y1, train.e1, prior)
    usable = train.e.sum(axis=-1) > 0
    if fold is not None:
        r, b, theta, usable = r[fold], b[fold], theta[fold], usable[fold]
    yt, et = test.y[..., None], test.e[..., None]
    without = 2 * (r * et - _xlogy(yt, r)).sum(axis=-2)
    mu = b * (et - test.e1 + theta * test.e1)
    with_ = 2 * (mu - _xlogy(yt, b)).sum(axis=-2)
    with_ -= 2 * _xlogy(test.y1.sum(axis=-2), theta[..., 0, :])
    # a fold without training exposure says nothing
    return np.where(usable[..., None], without - with_, 0.0)


def _block_dispersion(whole: _SetSums, blocks: _SetSums, prior: float) -> np.ndarray:
    """Pearson dispersion of block totals under the model with each candidate, >= 1.

    The model is fitted on the whole half (``whole``, leading axis of length 1) and its
    expected totals compared with the observed ones per block (``blocks``, leading axis
    = blocks). Counts that are over-dispersed, or correlated within a block, give block
    totals that vary more than Poisson; dividing the deviance gain by this factor keeps
    the criterion's scale the same as in independent counts. Returns (..., p).
    """
    _, b, theta = _fit_candidate(whole.y, whole.e, whole.y1, whole.e1, prior)
    e0 = blocks.e[..., None] - blocks.e1
    mu = (b * (e0 + theta * blocks.e1)).sum(axis=-2)
    yb = blocks.y.sum(axis=-1)[..., None]
    chi2 = np.where(mu > 0, (yb - mu) ** 2 / np.where(mu > 0, mu, 1.0), 0.0).sum(axis=0)
    df = blocks.y.shape[0] - blocks.y.shape[-1] - 1
    return np.maximum(1.0, chi2 / df) if df > 0 else np.ones_like(chi2)


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


@dataclass
class _Selection:
    """Forward selection on one half of the blocks."""

    selected: list[int]
    entry_gain: dict[int, float]
    first_gain: np.ndarray  # statistic of every candidate as the first factor (NaN: no support)
    supported: np.ndarray


class RiskTerrainModel:
    """Risk terrain model on a grid, with a selection that survives null worlds.

    Each factor is tried as *proximity* and *density* at several distances (0/1 per cell).
    The blocks (``block_size`` m squares) are split at random into a selection half and an
    estimation half. On the selection half, factors enter one at a time (forward
    selection) by their held-out deviance gain in ``cv`` spatially blocked folds with a
    buffer, divided by the Pearson dispersion of the block totals. A factor enters only
    if that criterion beats the best of all candidates in ``null_simulations`` data sets
    simulated under the model without it (negative binomial counts with the data's
    over-dispersion): a Monte Carlo test at level ``alpha``. The selected factors'
    relative risk values (RRV), 95% intervals and p-values come from a Poisson GLM with
    cluster-robust standard errors on the estimation half, which took no part in the
    selection. Selection stability: the share of ``2 * stability_splits`` random halves
    of the blocks on which the same selection picks the factor. See
    ``docs/method-rtm.md``.

    Parameters
    ----------
    distances : sequence of float
        Spatial influence distances / bandwidths in metres to try per factor.
    operationalisations : sequence of {"proximity", "density"}
        Operationalisations to try per factor.
    cv : int
        Number of spatially blocked folds inside a half.
    random_state : int
        Seed of the halves, the folds and the null simulations.
    block_size : float
        Side of the square blocks (m) that are split between halves and folds.
    buffer : float or None
        Cells within this distance (m) of a fold's test cells are left out of its training
        set; ``None``: the largest distance.
    alpha : float
        Level of the Monte Carlo test for each factor entering.
    null_simulations : int
        Data sets simulated without any factor effect for that test (at least
        ``1/alpha - 1``).
    stability_splits : int
        Random splits of the blocks into two halves for the stability (0: none).
    min_cells, min_events : int
        Support a variant needs on the selection half: at least ``min_cells`` cells and
        ``min_events`` events both where it is 1 and where it is 0, and ``min_events``
        expected events (exposure times the overall rate) on either side in the
        estimation half. A variant with an empty side (separation) can never be chosen.
    min_exposure : float or None
        Cells with exposure 0 cannot contain events under the "events per address" model
        and are left out of the fit (``None``, default). A number floors the exposure at
        that value instead, keeping those cells in.
    weight_column : str or None
        Column of ``events`` with event weights (e.g. ``gewicht``); ``None`` counts events.
    """

    #: pseudo-events that keep rates of empty groups finite in the selection criterion
    PRIOR = 0.5

    def __init__(
        self,
        distances: Sequence[float] = DEFAULT_DISTANCES,
        operationalisations: Sequence[str] = OPERATIONALISATIONS,
        cv: int = 5,
        random_state: int = 0,
        *,
        block_size: float = 1000.0,
        buffer: float | None = None,
        alpha: float = 0.02,
        null_simulations: int = 99,
        stability_splits: int = 10,
        min_cells: int = 10,
        min_events: int = 5,
        min_exposure: float | None = None,
        weight_column: str | None = None,
    ) -> None:
        self.distances = distances
        self.operationalisations = operationalisations
        self.cv = cv
        self.random_state = random_state
        self.block_size = block_size
        self.buffer = buffer
        self.alpha = alpha
        self.null_simulations = null_simulations
        self.stability_splits = stability_splits
        self.min_cells = min_cells
        self.min_events = min_events
        self.min_exposure = min_exposure
        self.weight_column = weight_column

    # -- scikit-learn style parameter access ----------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        return {
            name: getattr(self, name)
            for name in (
                "distances",
                "operationalisations",
                "cv",
                "random_state",
                "block_size",
                "buffer",
                "alpha",
                "null_simulations",
                "stability_splits",
                "min_cells",
                "min_events",
                "min_exposure",
                "weight_column",
            )
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
        if not self.block_size > 0:
            raise ConfigError(f"block_size moet > 0 (m) zijn, kreeg {self.block_size!r}.")
        if self.buffer is not None and not self.buffer >= 0:
            raise ConfigError(f"buffer moet >= 0 (m) of None zijn, kreeg {self.buffer!r}.")
        if not 0 < self.alpha <= 0.2:
            raise ConfigError(f"alpha moet in (0; 0,2] liggen, kreeg {self.alpha!r}.")
        if (
            not isinstance(self.null_simulations, int | np.integer)
            or self.alpha * (self.null_simulations + 1) < 1 - 1e-9
        ):
            raise ConfigError(
                f"null_simulations moet een geheel getal >= 1/alpha - 1 zijn, kreeg "
                f"{self.null_simulations!r} bij alpha={self.alpha!r}."
            )
        if not isinstance(self.stability_splits, int | np.integer) or self.stability_splits < 0:
            raise ConfigError(
                f"stability_splits moet een geheel getal >= 0 zijn, kreeg {self.stability_splits!r}."
            )
        for name in ("min_cells", "min_events"):
            if not getattr(self, name) >= 1:
                raise ConfigError(f"{name} moet >= 1 zijn, kreeg {getattr(self, name)!r}.")
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
            Also when the cells span fewer than 4 blocks (with fewer than ``2 * cv``
            blocks, ``cv_`` folds per half are used instead).
        """
        self._validate_params()
        check_crs(cells, "cells")
        check_crs(events, "events")
        n_points = {k: len(v) for k, v in _check_factors(factors).items()}
        y_all = count_events(cells, events, weight_column=self.weight_column)
        e_all, self.has_exposure_ = self._exposure(cells, exposure)
        fit_mask = e_all > 0
        self.n_events_excluded_ = float(y_all[~fit_mask].sum())
        if self.n_events_excluded_:  # reported once per run by bcba.spatial, not per refit
            logger.debug("%g gebeurtenissen in cellen zonder adressen", self.n_events_excluded_)
        y, e = y_all[fit_mask], e_all[fit_mask]
        if y.sum() <= 0:
            raise ConfigError(
                "Geen gebeurtenissen in cellen met blootstelling; het RTM kan niet worden geschat."
            )
        distances = [float(d) for d in self.distances]
        buffer = max(distances) if self.buffer is None else float(self.buffer)
        layout = _layout(
            centroid_xy(cells)[fit_mask], block_size=float(self.block_size), buffer=buffer
        )
        n_blocks = int(layout.block.max()) + 1
        if n_blocks < 4:
            raise ConfigError(
                f"De cellen beslaan {n_blocks} blokken van {self.block_size:g} m; voor een "
                "selectie- en een schattingshelft met elk minstens 2 folds zijn er minstens 4 "
                "nodig. Kies kleinere blokken (block_size)."
            )
        # a small area: fewer folds rather than no model (each half needs a block per fold)
        self.cv_ = min(int(self.cv), n_blocks // 2)
        if self.cv_ < self.cv:
            logger.info(
                "%d blokken van %g m: %d in plaats van %d folds per helft",
                n_blocks,
                self.block_size,
                self.cv_,
                self.cv,
            )
        features, ops = candidate_features(
            cells,
            factors,
            distances=distances,
            operationalisations=tuple(self.operationalisations),
            fit_mask=fit_mask,
            raw=raw,
        )
        x = features.to_numpy(float)[fit_mask]
        factor_names = list(n_points)
        factor_of = np.array([factor_names.index(op.factor) for op in ops], dtype=int)
        for f in factor_names:
            if f not in {op.factor for op in ops}:
                logger.info("Risicofactor '%s' varieert niet over de cellen en valt af", f)

        # one seed per split (its halves and their folds) and one for the simulations, so
        # the selection half does not depend on how many splits the stability uses
        seeds = np.random.SeedSequence(self.random_state).spawn(1 + max(self.stability_splits, 1))
        halves, folds = [], []
        for seed in seeds[1:]:
            state = np.random.RandomState(seed.generate_state(1)[0])
            for half in _split_in_two(layout, state):
                halves.append(half)
                folds.append(_buffered_folds(layout, half, self.cv_, state))
        cache: dict[tuple[int, ...], _Sums] = {}

        def sums_for(selected: Sequence[int]) -> _Sums:
            key = tuple(sorted(selected))
            if key not in cache:
                if len(cache) >= 8:  # bounded: rows x candidates per entry
                    cache.pop(next(iter(cache)))
                cache[key] = _unit_sums(x, y, e, layout.unit, key)
            return cache[key]

        with threadpool_limits(limits=1):
            sel_half, est_half = halves[0], halves[1]
            supported = self._support(sums_for(()), sel_half, est_half)
            if len(ops) and supported.any():
                maxima, self.nb_alpha_ = self._null_maxima(
                    x, y, e, layout, sums_for(()), folds[0], supported, seeds[0]
                )
            else:
                maxima, self.nb_alpha_ = np.zeros(0), np.nan
            self.null_maxima_ = maxima
            # Monte Carlo test: the observed best must beat all but alpha * (B + 1) - 1
            # of the B simulated bests, so that p = (1 + #{sims >= obs}) / (B + 1) <= alpha
            rank = int(np.floor(self.alpha * (len(maxima) + 1) + 1e-9))
            self.margin_ = float(np.sort(maxima)[-rank]) if len(maxima) else np.inf
            runs = []
            for j, (half, fold) in enumerate(zip(halves, folds, strict=True)):
                support = supported if j == 0 else self._support(sums_for(()), half, ~half)
                runs.append(self._forward(sums_for, fold, support, factor_of))
                if self.stability_splits == 0:
                    break
        main = runs[0]
        self.n_halves_ = len(runs) if self.stability_splits else 0
        chosen = [factor_of[j] for run in runs for j in run.selected]
        counts = np.bincount(np.asarray(chosen, dtype=int), minlength=len(factor_names))
        stability = counts / len(runs) if self.stability_splits else np.full(len(counts), np.nan)
        self.stability_ = pd.Series(stability, index=factor_names, name="stabiliteit")

        # held-out estimates on the estimation half
        est_cells = est_half[layout.unit]
        sel_ops = [ops[j] for j in main.selected]
        result, kept = self._estimate(
            x[est_cells], y[est_cells], e[est_cells], layout.unit[est_cells], main.selected
        )
        for i, op in enumerate(sel_ops):
            if i not in kept:
                logger.warning(
                    "Risicofactor '%s' (%s) heeft in de schattingshelft aan één kant geen "
                    "gebeurtenissen; de RRV is niet te schatten en telt als 1",
                    op.factor,
                    op.column,
                )
        coef = np.zeros(len(sel_ops))
        coef[kept] = np.asarray(result.params[1:], dtype=float)
        self.glm_ = result
        self.dispersion_ = max(1.0, float(result.pearson_chi2 / max(result.df_resid, 1)))
        self.coef_ = coef
        eta = x[:, main.selected] @ coef if len(coef) else np.zeros(len(y))
        self.intercept_ = float(np.log(y.sum() / (e * np.exp(eta)).sum()))
        self.operationalisations_ = sel_ops
        self.candidates_ = list(ops)
        self.buffer_ = layout.buffer
        self.selection_cells_ = np.zeros(len(cells), bool)
        self.selection_cells_[np.flatnonzero(fit_mask)[sel_half[layout.unit]]] = True
        self.estimation_cells_ = np.zeros(len(cells), bool)
        self.estimation_cells_[np.flatnonzero(fit_mask)[est_cells]] = True

        self.factors_ = self._factor_table(
            factor_names, n_points, ops, factor_of, x, y, main, result, kept
        )
        self.cells_ = cells
        self.factor_layers_ = factors
        self.exposure_ = e_all
        self.observed_ = y_all
        self.surface_ = self._surface(cells, factors, e_all)
        self.surface_["waargenomen_aantal"] = y_all
        logger.info(
            "RTM geschat: %d van %d factoren geselecteerd (drempel %.1f, dispersie %.2f)",
            len(sel_ops),
            len(factor_names),
            self.margin_,
            self.dispersion_,
        )
        return self

    # -- selection ---------------------------------------------------------------------
    def _support(self, base: _Sums, half: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Variants with enough cells and events on both sides (no separation possible)."""
        s = _set_sums(base, np.stack([half, other]))
        n1, y1, e1 = s.n1[:, 0], s.y1[:, 0], s.e1[:, 0]  # (half/other, p)
        n, yy, ee = s.n[:, 0], s.y[:, 0], s.e[:, 0]
        rate = yy[0] / ee[0] if ee[0] > 0 else 0.0
        return (
            (n1[0] >= self.min_cells)
            & (n[0] - n1[0] >= self.min_cells)
            & (y1[0] >= self.min_events)
            & (yy[0] - y1[0] >= self.min_events)
            & (rate * e1[1] >= self.min_events)
            & (rate * (ee[1] - e1[1]) >= self.min_events)
        )

    def _forward(self, sums_for, folds: _Folds, supported, factor_of) -> _Selection:
        """Forward selection on one half: the best candidate enters while its held-out
        deviance gain, divided by the block dispersion, beats the threshold ``margin_``."""
        selected: list[int] = []
        entry: dict[int, float] = {}
        first = None
        half = folds.blocks.any(axis=0)
        sets = np.concatenate([folds.train, folds.blocks, half[None]])
        k = len(folds.train)
        while True:
            s = _set_sums(sums_for(selected), sets)
            blocks = s.take(slice(k, -1))
            gains = _heldout_gain(s.take(slice(0, k)), blocks, self.PRIOR, folds.fold_of_block)
            phi = _block_dispersion(s.take(slice(-1, None)), blocks, self.PRIOR)
            t = gains.sum(axis=0) / phi
            if first is None:
                first = np.where(supported, t, np.nan)
            allowed = supported & ~np.isin(factor_of, factor_of[selected])
            if not allowed.any():
                break
            t = np.where(allowed, t, -np.inf)
            j = int(np.argmax(t))
            if not t[j] > self.margin_:
                break
            selected.append(j)
            entry[j] = float(t[j])
        return _Selection(selected, entry, first, supported)

    def _null_maxima(
        self, x, y, e, layout, base, folds: _Folds, supported, seed
    ) -> tuple[np.ndarray, float]:
        """Best first-step statistic in data simulated without any factor effect.

        Counts are negative binomial around the exposure-only model of the selection
        half, with a moment estimate of its over-dispersion (``var = mu + alpha mu^2``).
        """
        n_sims = int(self.null_simulations)
        cells = folds.blocks.any(axis=0)[layout.unit]
        ys, es = y[cells], e[cells]
        mu = es * ys.sum() / es.sum()
        # moment estimate on the Pearson scale: E[((y - mu)^2 - y) / mu] = alpha mu
        nb_alpha = max(0.0, float((((ys - mu) ** 2 - ys) / mu).sum() / mu.sum()))
        rng = np.random.default_rng(seed)
        lam = np.repeat(mu[:, None], n_sims, axis=1)
        if nb_alpha > 0:
            lam *= rng.gamma(1 / nb_alpha, nb_alpha, lam.shape)
        ysim = rng.poisson(lam)
        columns = np.flatnonzero(supported)
        stat = self._first_step(x[cells], ysim, layout.unit[cells], base, folds, columns)
        return stat.max(axis=1), nb_alpha

    def _first_step(self, x, ysim, unit, base: _Sums, folds: _Folds, columns) -> np.ndarray:
        """The first-step criterion of candidates ``columns`` for many count vectors.

        ``x``: the half's cells by all candidates, ``unit`` their units; ``ysim``: their
        counts, one column per simulation; exposures come from ``base``. Returns
        (simulations, len(columns)); for the observed counts it equals what
        :meth:`_forward` computes at its first step.
        """
        xs = np.ascontiguousarray(x[:, columns], dtype=np.float32)
        ysim = np.asarray(ysim, dtype=np.float32)
        n_sims = ysim.shape[1]
        k, n_blocks, p = len(folds.train), len(folds.blocks), len(columns)
        real = _set_sums(base, np.concatenate([folds.train, folds.blocks]))
        e1 = real.e1[:, 0, columns]  # (sets, p): exposure where each candidate is 1
        # training sums: one product over all folds and simulations
        w = (folds.train[:, unit].T[:, :, None] * ysim[:, None, :]).reshape(len(ysim), -1)
        train_y1 = (xs.T @ w).reshape(p, k, n_sims).transpose(1, 2, 0)
        train = _SetSums(
            y=w.sum(axis=0, dtype=float).reshape(k, n_sims, 1),
            e=np.broadcast_to(real.e[:k, None, :], (k, n_sims, 1)),
            n=None,
            y1=train_y1[:, :, None, :].astype(float),
            e1=np.broadcast_to(e1[:k, None, None, :], (k, n_sims, 1, p)),
            n1=None,
        )
        # test sums: each cell lies in one block, so one small product per block
        block_of_cell = np.argmax(folds.blocks[:, unit], axis=0)
        order = np.argsort(block_of_cell, kind="stable")
        bounds = np.searchsorted(block_of_cell[order], np.arange(n_blocks + 1))
        test_y1 = np.empty((n_blocks, n_sims, p))
        test_y = np.empty((n_blocks, n_sims))
        for i in range(n_blocks):
            rows = order[bounds[i] : bounds[i + 1]]
            test_y1[i] = (xs[rows].T @ ysim[rows]).T
            test_y[i] = ysim[rows].sum(axis=0, dtype=float)
        test = _SetSums(
            y=test_y[..., None],
            e=np.broadcast_to(real.e[k:, None, :], (n_blocks, n_sims, 1)),
            n=None,
            y1=test_y1[:, :, None, :],
            e1=np.broadcast_to(e1[k:, None, None, :], (n_blocks, n_sims, 1, p)),
            n1=None,
        )
        gains = _heldout_gain(train, test, self.PRIOR, folds.fold_of_block).sum(axis=0)
        whole = _SetSums(
            y=test.y.sum(axis=0, keepdims=True),
            e=test.e.sum(axis=0, keepdims=True),
            n=None,
            y1=test.y1.sum(axis=0, keepdims=True),
            e1=test.e1.sum(axis=0, keepdims=True),
            n1=None,
        )
        return gains / _block_dispersion(whole, test, self.PRIOR)

    # -- estimation ----------------------------------------------------------------------
    def _estimate(self, x, y, e, unit, selected: Sequence[int]):
        """Poisson GLM of the selected variants on the estimation half.

        Standard errors are cluster-robust with the sub-block units as clusters (valid
        under any over-dispersion and correlation within a unit), with t intervals on
        (clusters - 1) degrees of freedom.
        A variant without events on one side in this half cannot be estimated (its RRV
        would be 0 or infinite); it is left out of the GLM and its estimate stays missing.
        """
        kept = [
            i
            for i, j in enumerate(selected)
            if y[x[:, j] == 1].sum() > 0 and y[x[:, j] == 0].sum() > 0
        ]
        design = sm.add_constant(x[:, [selected[i] for i in kept]], has_constant="add")
        model = sm.GLM(y, design, family=sm.families.Poisson(), offset=np.log(e))
        result = model.fit(cov_type="cluster", cov_kwds={"groups": unit}, use_t=True)
        return result, kept

    def _factor_table(self, names, n_points, ops, factor_of, x, y, main, result, kept):
        ci = np.asarray(result.conf_int(0.05))
        rows = []
        for f_idx, f in enumerate(names):
            row = dict.fromkeys(FACTOR_COLUMNS, np.nan)
            row.update(
                factor=f,
                geselecteerd=False,
                aantal_punten=n_points[f],
                stabiliteit=self.stability_[f],
                dispersie=self.dispersion_,
            )
            variants = np.flatnonzero(factor_of == f_idx)
            chosen = [j for j in main.selected if factor_of[j] == f_idx]
            if len(variants) == 0:
                row["operationalisatie"] = "geen variatie"
            elif not chosen and not main.supported[variants].any():
                row["operationalisatie"] = "te weinig steun"
            else:
                if chosen:
                    j = chosen[0]
                    gain = main.entry_gain[j]
                else:
                    j = int(variants[np.nanargmax(main.first_gain[variants])])
                    gain = main.first_gain[j]
                present = x[:, j] == 1
                row.update(
                    operationalisatie=OPERATIONALISATION_NL[ops[j].kind],
                    afstand_m=ops[j].distance,
                    cv_winst_t=float(gain),
                    aandeel_cellen=float(present.mean()),
                    cellen_met_factor=int(present.sum()),
                    gebeurtenissen_bij_factor=float(y[present].sum()),
                    geselecteerd=bool(chosen),
                )
                if chosen and main.selected.index(j) in kept:
                    col = kept.index(main.selected.index(j)) + 1
                    row.update(
                        coef=float(result.params[col]),
                        rrv=float(np.exp(result.params[col])),
                        ci_laag=float(np.exp(ci[col, 0])),
                        ci_hoog=float(np.exp(ci[col, 1])),
                        p_waarde=float(result.pvalues[col]),
                    )
            rows.append(row)
        table = pd.DataFrame(rows, columns=FACTOR_COLUMNS)
        table["operationalisatie"] = table["operationalisatie"].astype("string")
        table["geselecteerd"] = table["geselecteerd"].astype(bool)
        return table.sort_values(
            ["geselecteerd", "rrv", "stabiliteit"], ascending=False, kind="stable"
        ).reset_index(drop=True)

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

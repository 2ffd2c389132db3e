"""Validation of the risk terrain model against a kernel-density baseline.

Two checks, both reported honestly (also when the baseline wins):

* a **time split**: fit on the events before ``split_date``, test on the events from that
  date on; hit rate and predictive accuracy index (PAI) at the top 5/10/20% of the area
  for the RTM and for a quartic-kernel density surface of the training events;
* a **spatial cross-validation**: square blocks (default 1 km) assigned at random to k
  folds; the RTM is fitted on the other folds and scored on the held-out blocks (mean
  Poisson deviance per cell, and hit rate at 10% of the held-out area), next to a model
  that only knows the exposure.

See ``docs/method-rtm.md`` for the definitions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from bcba.errors import ConfigError
from bcba.rtm import (
    RiskTerrainModel,
    cell_area,
    centroid_xy,
    check_crs,
    count_events,
    exposure_array,
    raw_measures,
    subset_measures,
)

logger = logging.getLogger(__name__)

RTM = "RTM"
KDE = "KDE-basislijn"
DEFAULT_BANDWIDTH = 300.0


def hit_rate_pai(
    scores: np.ndarray | pd.Series,
    test_counts: np.ndarray | pd.Series,
    area: np.ndarray | pd.Series,
    *,
    tiebreak: np.ndarray | pd.Series | None = None,
    area_shares: Sequence[float] = (0.05, 0.10, 0.20),
) -> pd.DataFrame:
    """Hit rate and PAI of a cell ranking at given shares of the area.

    Cells are ranked by ``scores`` (descending; ties broken by ``tiebreak`` ascending,
    e.g. ``cel_id``, else by position) and taken in that order until their summed area
    reaches ``share`` of the total area; the cell that crosses the share is included.
    ``hit_rate = n_hit / N`` and ``PAI = hit_rate / (a_hot / A)`` with the *actual* area
    share of the cells taken.

    Returns
    -------
    DataFrame
        aandeel_oppervlak, werkelijk_aandeel, n_cellen, n_hit, n_test_events, hit_rate, pai.
    """
    scores = np.asarray(scores, dtype=float)
    counts = np.asarray(test_counts, dtype=float)
    area = np.asarray(area, dtype=float)
    if not (len(scores) == len(counts) == len(area)):
        raise ConfigError("scores, test_counts en area moeten even lang zijn (één per cel).")
    key2 = np.arange(len(scores)) if tiebreak is None else np.asarray(tiebreak)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((key2, -scores))
    cum_area = np.cumsum(area[order])
    total_area = area.sum()
    total = counts.sum()
    rows = []
    for share in area_shares:
        if not 0 < share <= 1:
            raise ConfigError(f"aandeel_oppervlak moet in (0, 1] liggen, kreeg {share!r}.")
        # include every cell whose preceding cumulative area is below the target
        before = cum_area - area[order]
        n_cells = int(np.searchsorted(before, share * total_area - 1e-9, side="left"))
        n_cells = max(n_cells, 1)
        taken = order[:n_cells]
        a_hot = area[taken].sum() / total_area
        hits = counts[taken].sum()
        hit_rate = hits / total if total > 0 else np.nan
        rows.append(
            {
                "aandeel_oppervlak": share,
                "werkelijk_aandeel": a_hot,
                "n_cellen": n_cells,
                "n_hit": hits,
                "n_test_events": total,
                "hit_rate": hit_rate,
                "pai": hit_rate / a_hot if a_hot > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def silverman_bandwidth(xy: np.ndarray) -> float:
    """Silverman-type bandwidth for 2-D points: ``0.9 min(SD, IQR/1.349) n^(-1/5)``.

    SD is the standard distance (root of the mean of the x and y variances); IQR the mean
    of the x and y interquartile ranges.
    """
    n = len(xy)
    if n < 2:
        return DEFAULT_BANDWIDTH
    sd = float(np.sqrt(xy.var(axis=0, ddof=1).mean()))
    q75, q25 = np.percentile(xy, [75, 25], axis=0)
    iqr = float((q75 - q25).mean()) / 1.349
    spread = min(sd, iqr) if iqr > 0 else sd
    return 0.9 * spread * n ** (-0.2)


def kde_surface(
    cells: gpd.GeoDataFrame,
    events: gpd.GeoDataFrame,
    *,
    bandwidth: float | str = DEFAULT_BANDWIDTH,
) -> np.ndarray:
    """Quartic (biweight) kernel density of the events at the cell centroids (per m²).

    ``K(d) = 3 / (pi h²) (1 - d²/h²)²`` for ``d < h``. ``bandwidth`` in metres or
    ``"silverman"`` (see :func:`silverman_bandwidth`).
    """
    check_crs(cells, "cells")
    check_crs(events, "events")
    xy_events = centroid_xy(events[~(events.geometry.is_empty | events.geometry.isna())])
    if isinstance(bandwidth, str):
        if bandwidth != "silverman":
            raise ConfigError(
                f"bandwidth moet een getal (m) of 'silverman' zijn, kreeg {bandwidth!r}."
            )
        h = silverman_bandwidth(xy_events)
    else:
        h = float(bandwidth)
    if not h > 0:
        raise ConfigError(f"bandwidth moet positief zijn, kreeg {bandwidth!r}.")
    xy_cells = centroid_xy(cells)
    if len(xy_events) == 0:
        return np.zeros(len(cells))
    pairs = cKDTree(xy_cells).sparse_distance_matrix(
        cKDTree(xy_events), max_distance=h, output_type="coo_matrix"
    )
    u = pairs.data**2 / h**2
    k = 3.0 / (np.pi * h**2) * (1.0 - u) ** 2
    # coo output keeps explicit zero distances (an event on a centroid counts fully)
    density = np.bincount(pairs.row, weights=k, minlength=len(cells))
    return density


def split_events(
    events: gpd.GeoDataFrame, split_date=None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.Timestamp]:
    """Events before and from ``split_date`` (default: the middle of their period)."""
    if "datum" not in events.columns:
        raise ConfigError(
            "Gebeurtenissen missen de kolom 'datum'; een tijdsplitsing is niet mogelijk."
        )
    dates = pd.to_datetime(events["datum"], errors="coerce")
    if dates.isna().all():
        raise ConfigError("Geen enkele geldige 'datum' in de gebeurtenissen.")
    if split_date is None:
        split = dates.min() + (dates.max() - dates.min()) / 2
    else:
        split = pd.Timestamp(split_date)
    train = events[(dates < split).to_numpy()]
    test = events[(dates >= split).to_numpy()]
    if len(train) == 0 or len(test) == 0:
        raise ConfigError(
            f"Splitsdatum {split.date()} laat geen gebeurtenissen over voor "
            f"{'training' if len(train) == 0 else 'toetsing'}; kies een datum binnen de periode."
        )
    return train, test, split


def validate_rtm(
    cells: gpd.GeoDataFrame,
    events: gpd.GeoDataFrame,
    factors: Mapping[str, gpd.GeoDataFrame],
    *,
    split_date=None,
    area_shares: Sequence[float] = (0.05, 0.10, 0.20),
    exposure=None,
    model_params: Mapping | None = None,
    bandwidth: float | str = DEFAULT_BANDWIDTH,
    raw: Mapping | None = None,
) -> pd.DataFrame:
    """Time-split validation of the RTM against a quartic-KDE baseline.

    The RTM is fitted on the training events and cells are ranked by its expected count
    (exposure times relative risk); the baseline ranks cells by the kernel density of the
    training events. Both are scored on the test events. ``raw``: precomputed
    :func:`bcba.rtm.raw_measures` of ``cells`` (saves recomputing them).

    Returns
    -------
    DataFrame
        One row per method and area share: methode, aandeel_oppervlak, werkelijk_aandeel,
        n_cellen, n_hit, n_test_events, hit_rate, pai, n_train_events, split_datum,
        bandbreedte_m. ``.attrs["conclusie"]`` holds a Dutch conclusion (also from
        :func:`conclusion`).
    """
    check_crs(cells, "cells")
    train, test, split = split_events(events, split_date)
    model = RiskTerrainModel(**dict(model_params or {})).fit(
        cells, train, factors, exposure=exposure, raw=raw
    )
    surface = model.predict()
    rtm_score = surface["verwacht_aantal"].to_numpy(float)
    if np.isnan(rtm_score).all():
        rtm_score = surface["relatief_risico"].to_numpy(float)
    kde = kde_surface(cells, train, bandwidth=bandwidth)
    h = silverman_bandwidth(centroid_xy(train)) if bandwidth == "silverman" else float(bandwidth)
    test_counts = count_events(cells, test)
    area = cell_area(cells)
    tiebreak = cells["cel_id"].astype(str).to_numpy() if "cel_id" in cells else None
    parts = []
    for name, score in ((RTM, rtm_score), (KDE, kde)):
        table = hit_rate_pai(score, test_counts, area, tiebreak=tiebreak, area_shares=area_shares)
        table.insert(0, "methode", name)
        parts.append(table)
    result = pd.concat(parts, ignore_index=True)
    result["n_train_events"] = len(train)
    result["split_datum"] = split.date().isoformat()
    result["bandbreedte_m"] = h
    result["methode"] = result["methode"].astype("string")
    result.attrs["conclusie"] = conclusion(result)
    logger.info("Validatie: %s", result.attrs["conclusie"])
    return result


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%".replace(".", ",")


def _num(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def conclusion(table: pd.DataFrame) -> str:
    """Dutch conclusion from a :func:`validate_rtm` table: which method predicts better."""
    pivot = table.pivot_table(index="aandeel_oppervlak", columns="methode", values="pai")
    if RTM not in pivot or KDE not in pivot:
        return "Onvoldoende gegevens voor een vergelijking tussen RTM en KDE-basislijn."
    diff = pivot[RTM] - pivot[KDE]
    details = "; ".join(
        f"{_pct(s)} van het oppervlak: PAI RTM {_num(pivot.loc[s, RTM])} tegen KDE "
        f"{_num(pivot.loc[s, KDE])}"
        for s in pivot.index
    )
    n_test = int(table["n_test_events"].iloc[0])
    wins = int((diff > 1e-12).sum())
    losses = int((diff < -1e-12).sum())
    if wins > losses:
        head = "Het risicoterreinmodel (RTM) voorspelt de latere gebeurtenissen beter dan de KDE-basislijn"
    elif losses > wins:
        head = (
            "De KDE-basislijn (waar eerder veel gebeurde) voorspelt de latere gebeurtenissen "
            "beter dan het risicoterreinmodel; gebruik het RTM hier vooral als verklaring "
            "van de omgevingsfactoren, niet als voorspelling"
        )
    else:
        head = "RTM en KDE-basislijn voorspellen de latere gebeurtenissen even goed"
    text = f"{head} ({details}; {n_test} toetsgebeurtenissen)."
    if n_test < 30:
        text += " Let op: met minder dan 30 toetsgebeurtenissen is dit verschil onzeker."
    return text


def spatial_blocks(
    cells: gpd.GeoDataFrame, *, block_size: float = 1000.0, k: int = 5, seed: int = 0
) -> np.ndarray:
    """Fold number per cell: square blocks of ``block_size`` m assigned at random to k folds."""
    if k < 2:
        raise ConfigError(f"k moet >= 2 zijn, kreeg {k!r}.")
    xy = centroid_xy(cells)
    bx = np.floor(xy[:, 0] / block_size).astype(np.int64)
    by = np.floor(xy[:, 1] / block_size).astype(np.int64)
    _, block = np.unique(np.c_[bx, by], axis=0, return_inverse=True)
    block = block.reshape(-1)
    n_blocks = int(block.max()) + 1
    if n_blocks < k:
        raise ConfigError(
            f"Slechts {n_blocks} blokken van {block_size:g} m voor k={k} folds; "
            "kies kleinere blokken of minder folds."
        )
    rng = np.random.default_rng(seed)
    fold_of_block = rng.permutation(np.arange(n_blocks) % k)
    return fold_of_block[block]


def _mean_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    mu = np.maximum(mu, 1e-12)
    term = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return float(np.mean(2 * (term - (y - mu))))


def spatial_cv(
    cells: gpd.GeoDataFrame,
    events: gpd.GeoDataFrame,
    factors: Mapping[str, gpd.GeoDataFrame],
    *,
    exposure=None,
    block_size: float = 1000.0,
    k: int = 5,
    seed: int = 0,
    area_share: float = 0.10,
    model_params: Mapping | None = None,
    raw: Mapping | None = None,
) -> pd.DataFrame:
    """Spatial block cross-validation of the RTM.

    Per fold the model is fitted on the cells outside the held-out blocks and scored on
    the held-out cells: mean Poisson deviance per cell (lower is better) for the RTM and
    for a model with exposure only (same event rate per address everywhere), and the hit
    rate of the RTM at ``area_share`` of the held-out area.

    Returns
    -------
    DataFrame
        fold, n_cellen, n_events, deviantie_rtm, deviantie_alleen_blootstelling,
        hit_rate_rtm, pai_rtm, n_geselecteerd.
    """
    check_crs(cells, "cells")
    folds = spatial_blocks(cells, block_size=block_size, k=k, seed=seed)
    e_full = exposure_array(cells, exposure)
    y_full = count_events(cells, events)
    area = cell_area(cells)
    params = dict(model_params or {})
    if raw is None:
        settings = RiskTerrainModel(**params).get_params()
        raw = raw_measures(
            cells,
            factors,
            distances=settings["distances"],
            operationalisations=settings["operationalisations"],
        )
    rows = []
    for fold in range(k):
        test = folds == fold
        train_cells = cells[~test]
        model = RiskTerrainModel(**params)
        e_train = None if e_full is None else e_full[~test]
        model.fit(train_cells, events, factors, exposure=e_train, raw=subset_measures(raw, ~test))
        e_test = None if e_full is None else e_full[test]
        surface = model.predict(cells[test], exposure=e_test)
        mu = surface["verwacht_aantal"].to_numpy(float)
        y_test = y_full[test]
        y_train = y_full[~test]
        # the exposure-only model: one event rate per unit of exposure, from the training folds
        base_e = model._exposure(cells[test], e_test)[0]
        train_e = model.exposure_
        rate = y_train.sum() / train_e.sum()
        scored = base_e > 0
        hr = hit_rate_pai(
            mu, y_test, area[test], tiebreak=np.arange(int(test.sum())), area_shares=(area_share,)
        ).iloc[0]
        rows.append(
            {
                "fold": fold,
                "n_cellen": int(test.sum()),
                "n_events": float(y_test.sum()),
                "deviantie_rtm": _mean_deviance(y_test[scored], mu[scored]),
                "deviantie_alleen_blootstelling": _mean_deviance(
                    y_test[scored], rate * base_e[scored]
                ),
                "hit_rate_rtm": hr["hit_rate"],
                "pai_rtm": hr["pai"],
                "n_geselecteerd": int(model.factors_["geselecteerd"].sum()),
            }
        )
    return pd.DataFrame(rows)

"""Validation of the risk terrain model against baselines that know no risk factors.

Two checks, both reported honestly (also when a baseline wins):

* a **time split**: fit on the events before ``split_date``, test on the events from that
  date on; hit rate and predictive accuracy index (PAI) at the top 5/10/20% of the area,
  with bootstrap intervals, for the RTM and three baselines: the number of addresses alone
  (the RTM's own exposure: without it the RTM would be credited for address density), a
  quartic-kernel density of the training events, and that density times the addresses.
  :func:`verdict` is the one place that decides whether the RTM adds value;
* a **spatial cross-validation**: square blocks (default 1 km) assigned at random to k
  folds; the RTM is fitted on the other folds and scored on the held-out blocks (mean
  Poisson deviance per cell, and hit rate at 10% of the held-out area), next to a model
  that only knows the exposure.

See ``docs/method-rtm.md`` for the definitions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
EXPOSURE = "Alleen adressen"
KDE = "KDE-basislijn"
KDE_EXPOSURE = "KDE × adressen"
DEFAULT_BANDWIDTH = 300.0


def top_area_cells(
    scores: np.ndarray | pd.Series,
    area: np.ndarray | pd.Series,
    share: float,
    *,
    tiebreak: np.ndarray | pd.Series | None = None,
) -> np.ndarray:
    """Indices of the highest-ranked cells whose area first reaches ``share`` of the total.

    Cells are ranked by ``scores`` (descending, NaN last; ties by ``tiebreak`` ascending,
    else by position) and taken until their summed area reaches ``share``; the cell that
    crosses the share is included (at least one cell).
    """
    if not 0 < share <= 1:
        raise ConfigError(f"aandeel_oppervlak moet in (0, 1] liggen, kreeg {share!r}.")
    scores = np.asarray(scores, dtype=float)
    area = np.asarray(area, dtype=float)
    key2 = np.arange(len(scores)) if tiebreak is None else np.asarray(tiebreak)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((key2, -scores))
    before = np.cumsum(area[order]) - area[order]
    n_cells = int(np.searchsorted(before, share * area.sum() - 1e-9, side="left"))
    return order[: max(n_cells, 1)]


def hit_rate_pai(
    scores: np.ndarray | pd.Series,
    test_counts: np.ndarray | pd.Series,
    area: np.ndarray | pd.Series,
    *,
    tiebreak: np.ndarray | pd.Series | None = None,
    area_shares: Sequence[float] = (0.05, 0.10, 0.20),
) -> pd.DataFrame:
    """Hit rate and PAI of a cell ranking at given shares of the area.

    Cells are taken as in :func:`top_area_cells`. ``hit_rate = n_hit / N`` and
    ``PAI = hit_rate / (a_hot / A)`` with the *actual* area share of the cells taken.

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
    total_area = area.sum()
    total = counts.sum()
    rows = []
    for share in area_shares:
        taken = top_area_cells(scores, area, share, tiebreak=tiebreak)
        a_hot = area[taken].sum() / total_area
        hits = counts[taken].sum()
        hit_rate = hits / total if total > 0 else np.nan
        rows.append(
            {
                "aandeel_oppervlak": share,
                "werkelijk_aandeel": a_hot,
                "n_cellen": len(taken),
                "n_hit": hits,
                "n_test_events": total,
                "hit_rate": hit_rate,
                "pai": hit_rate / a_hot if a_hot > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def bootstrap_hits(
    test_counts: np.ndarray,
    taken: Mapping[str, Sequence[np.ndarray]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Hit counts of several rankings when the test events are resampled with replacement.

    The same resamples are used for every ranking (paired). Resampling N events with
    replacement is a multinomial draw over the events' distinct "which selections contain
    me" patterns, which is how it is computed (exactly the same distribution, far less work).

    Parameters
    ----------
    test_counts : array of int
        Test events per cell.
    taken : dict of name to list of index arrays
        Per ranking, the cells taken at each area share (:func:`top_area_cells`).

    Returns
    -------
    dict of name to (n_boot, n_shares) array of hit counts
    """
    counts = np.round(np.asarray(test_counts, dtype=float)).astype(np.int64)
    n_events = int(counts.sum())
    names = list(taken)
    columns = []
    for name in names:
        for idx in taken[name]:
            member = np.zeros(len(counts), bool)
            member[idx] = True
            columns.append(member)
    membership = np.column_stack(columns) if columns else np.zeros((len(counts), 0), bool)
    has_events = counts > 0
    patterns, inverse = np.unique(membership[has_events], axis=0, return_inverse=True)
    weight = np.bincount(inverse.reshape(-1), weights=counts[has_events], minlength=len(patterns))
    rng = np.random.default_rng(seed)
    if n_events == 0:
        draws = np.zeros((n_boot, len(patterns)))
    else:
        draws = rng.multinomial(n_events, weight / weight.sum(), size=n_boot)
    hits = draws @ patterns.astype(np.int64)
    out = {}
    col = 0
    for name in names:
        k = len(taken[name])
        out[name] = hits[:, col : col + k]
        col += k
    return out


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
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Time-split validation of the RTM against an exposure-only and a KDE baseline.

    The RTM is fitted on the training events (before ``split_date``) and ranks cells by its
    expected count (exposure times relative risk). Baselines: the exposure alone (number of
    addresses: "events fall where people live"), a quartic KDE of the training events, and
    KDE times exposure. All are scored on the test events: hit rate and PAI with bootstrap
    intervals (test events resampled, ``seed``), and for each baseline the paired bootstrap
    interval of ``PAI(RTM) - PAI(baseline)``. ``factors`` must describe the situation at
    ``split_date`` (no layer built from data of the test period; see
    :func:`bcba.spatial.analyse_theme`). ``raw``: precomputed :func:`bcba.rtm.raw_measures`
    of ``cells`` and ``factors``.

    Returns
    -------
    DataFrame
        One row per method and area share: methode, aandeel_oppervlak, werkelijk_aandeel,
        n_cellen, n_hit, n_test_events, hit_rate, hit_rate_laag, hit_rate_hoog, pai,
        pai_laag, pai_hoog, verschil_rtm, verschil_rtm_laag, verschil_rtm_hoog (baselines
        only: PAI of the RTM minus this baseline's), n_train_events, split_datum,
        bandbreedte_m. ``.attrs["oordeel"]`` is the :class:`ValidationVerdict` of
        :func:`verdict`, ``.attrs["conclusie"]`` its Dutch sentence.
    """
    check_crs(cells, "cells")
    if n_boot < 100:
        raise ConfigError(f"n_boot moet minstens 100 zijn, kreeg {n_boot!r}.")
    train, test, split = split_events(events, split_date)
    params = dict(model_params or {})
    expo = exposure_array(cells, exposure)
    if expo is not None and params.get("min_exposure") is None:
        # Cells without addresses are left out of the fit and get an expected count of 0
        # (RiskTerrainModel, min_exposure=None): fit on the cells with addresses only, which
        # is the same model without the distance measures of every empty cell (3/4 of a city
        # grid), and give the empty cells their 0.
        has = expo > 0
        model = RiskTerrainModel(**params).fit(
            cells[has],
            train,
            factors,
            exposure=expo[has],
            raw=None if raw is None else subset_measures(raw, has),
        )
        rtm_score = np.zeros(len(cells))
        rtm_score[has] = model.predict()["verwacht_aantal"].to_numpy(float)
    else:
        model = RiskTerrainModel(**params).fit(cells, train, factors, exposure=exposure, raw=raw)
        surface = model.predict()
        rtm_score = surface["verwacht_aantal"].to_numpy(float)
        if np.isnan(rtm_score).all():
            rtm_score = surface["relatief_risico"].to_numpy(float)
    kde = kde_surface(cells, train, bandwidth=bandwidth)
    h = silverman_bandwidth(centroid_xy(train)) if bandwidth == "silverman" else float(bandwidth)
    scores = {RTM: rtm_score}
    if expo is not None:
        scores[EXPOSURE] = expo
    scores[KDE] = kde
    if expo is not None:
        scores[KDE_EXPOSURE] = kde * expo
    test_counts = count_events(cells, test)
    area = cell_area(cells)
    tiebreak = cells["cel_id"].astype(str).to_numpy() if "cel_id" in cells else None
    taken = {
        name: [top_area_cells(score, area, s, tiebreak=tiebreak) for s in area_shares]
        for name, score in scores.items()
    }
    boot = bootstrap_hits(test_counts, taken, n_boot=n_boot, seed=seed)
    n_test = test_counts.sum()
    tail = (1 - level) / 2 * 100
    parts = []
    pai_boot = {}
    for name, score in scores.items():
        table = hit_rate_pai(score, test_counts, area, tiebreak=tiebreak, area_shares=area_shares)
        rate_b = boot[name] / n_test if n_test > 0 else np.full(boot[name].shape, np.nan)
        pai_boot[name] = rate_b / table["werkelijk_aandeel"].to_numpy()
        table["hit_rate_laag"], table["hit_rate_hoog"] = np.percentile(
            rate_b, [tail, 100 - tail], axis=0
        )
        table["pai_laag"], table["pai_hoog"] = np.percentile(
            pai_boot[name], [tail, 100 - tail], axis=0
        )
        if name == RTM:
            table["verschil_rtm"] = np.nan
            table["verschil_rtm_laag"] = np.nan
            table["verschil_rtm_hoog"] = np.nan
        else:
            diff = pai_boot[RTM] - pai_boot[name]
            table["verschil_rtm"] = parts[0]["pai"].to_numpy() - table["pai"].to_numpy()
            table["verschil_rtm_laag"], table["verschil_rtm_hoog"] = np.percentile(
                diff, [tail, 100 - tail], axis=0
            )
        table.insert(0, "methode", name)
        parts.append(table)
    result = pd.concat(parts, ignore_index=True)
    result["n_train_events"] = len(train)
    result["split_datum"] = split.date().isoformat()
    result["bandbreedte_m"] = h
    result["methode"] = result["methode"].astype("string")
    judged = verdict(result)
    result.attrs["oordeel"] = judged
    result.attrs["conclusie"] = judged.text
    logger.info("Validatie: %s", judged.text)
    return result


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%".replace(".", ",")


def _num(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def _shares_nl(shares: Sequence[float]) -> str:
    labels = [f"{s * 100:.0f}" for s in shares]
    if len(labels) == 1:
        return f"{labels[0]}%"
    return ", ".join(labels[:-1]) + f" en {labels[-1]}%"


@dataclass(frozen=True)
class ValidationVerdict:
    """Whether the RTM adds predictive value beyond a baseline, with the Dutch sentence.

    ``adds_value`` is True only when, at *every* area share of the validation, the lower
    bound of the paired bootstrap interval of ``PAI(RTM) - PAI(reference)`` is above 0
    (an intersection-union test: each share at the 2.5% one-sided level, no multiplicity
    correction needed). ``reference`` is the exposure-only baseline, or the KDE baseline
    when no exposure was given. The numbers quoted are those at ``share``.
    """

    adds_value: bool
    reference: str
    share: float
    pai_rtm: float
    pai_reference: float
    difference: float
    difference_low: float
    difference_high: float
    n_test_events: int
    text: str


def verdict(table: pd.DataFrame, *, share: float = 0.10) -> ValidationVerdict:
    """The one verdict on a :func:`validate_rtm` table (see :class:`ValidationVerdict`).

    ``share``: the area share whose figures the sentence quotes (the nearest one present).
    """
    methods = set(table["methode"].astype(str))
    reference = EXPOSURE if EXPOSURE in methods else KDE
    n_test = int(table["n_test_events"].iloc[0]) if len(table) else 0
    if RTM not in methods or reference not in methods:
        return ValidationVerdict(
            False, reference, share, *([np.nan] * 5), n_test,
            "Onvoldoende gegevens voor een vergelijking van het risicoterreinmodel met een "
            "basislijn.",
        )  # fmt: skip
    rtm = table[table["methode"] == RTM].set_index("aandeel_oppervlak").sort_index()
    ref = table[table["methode"] == reference].set_index("aandeel_oppervlak").sort_index()
    adds_value = bool((ref["verschil_rtm_laag"] > 0).all())
    shares = list(ref.index)
    quoted = min(shares, key=lambda s: abs(s - share))
    d, lo, hi = ref.loc[quoted, ["verschil_rtm", "verschil_rtm_laag", "verschil_rtm_hoog"]]
    pai_rtm, pai_ref = float(rtm.loc[quoted, "pai"]), float(ref.loc[quoted, "pai"])
    what = "het aantal adressen alleen" if reference == EXPOSURE else "de KDE-basislijn"
    figures = (
        f"op {_pct(quoted)} van het oppervlak PAI {_num(pai_rtm)} tegen {_num(pai_ref)}; "
        f"verschil {_num(d)}, 95%-interval {_num(lo)} tot {_num(hi)}; {n_test} toetsmeldingen"
    )
    if adds_value:
        text = (
            f"Het risicoterreinmodel voorspelt de latere meldingen beter dan {what}: op "
            f"{_shares_nl(shares)} van het oppervlak ligt de PAI aantoonbaar hoger ({figures}). "
            "De risicofactoren voegen iets toe aan de adresdichtheid."
        )
    elif reference == EXPOSURE:
        text = (
            f"Het risicoterreinmodel voorspelt de latere meldingen niet aantoonbaar beter dan "
            f"{what} ({figures}). Waar de meldingen vallen, wordt verklaard door de "
            "adresdichtheid; gebruik de risicofactoren niet als voorspelling."
        )
    else:
        text = (
            f"Het risicoterreinmodel voorspelt de latere meldingen niet aantoonbaar beter dan "
            f"{what} ({figures}); gebruik de risicofactoren niet als voorspelling."
        )
    if n_test < 30:
        text += " Met minder dan 30 toetsmeldingen is deze vergelijking onzeker."
    return ValidationVerdict(
        adds_value, reference, quoted, pai_rtm, pai_ref, float(d), float(lo), float(hi), n_test,
        text,
    )  # fmt: skip


def conclusion(table: pd.DataFrame) -> str:
    """The Dutch sentence of :func:`verdict` (kept for callers that only need the text)."""
    return verdict(table).text


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

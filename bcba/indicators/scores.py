"""Composite scores per theme and in total per buurt, their decomposition and rank intervals.

Method (see docs/method.md, section 8):

1. Skewed indicators are log-transformed first (:data:`TRANSFORMS`), so a few extreme
   buurten do not all end up at the clip. Every indicator is then standardised over the
   buurten of the municipality with a robust z-score ``z = (x - median) / (1.4826 · MAD)``,
   clipped to ``±clip``. When the MAD is 0 (more than half of the buurten share one value)
   the scale falls back to ``1.2533 · mean absolute deviation from the median``; when that is
   0 too, z = 0. A missing value gets z = 0 (the typical buurt), so missing data never raise
   a score.
2. ``score = Σ gewicht_i · z_i`` over the indicators of the theme (weights from the theme
   YAML). The total (``thema = 'totaal'``) is the same sum over indicators computed on the
   union of all themes' evidence, each record once (the caller builds those rows); it is
   not a sum or mean of theme scores, which would count shared evidence more than once.
3. Ranks (1 = highest) and percentiles are computed among the rankable buurten only; small
   areas get NaN.
4. :func:`rank_intervals` repeats the score with random weights, other normalisations and
   one indicator left out (OECD/JRC Handbook on Constructing Composite Indicators, 2008,
   ch. 7) and reports the 5th-95th percentile of each buurt's rank.

The contributions table (:data:`CONTRIBUTION_COLUMNS`) is the only source of the scores: a
score is the sum of its ``bijdrage`` column.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from bcba.indicators.verdicts import SENTENCES, verdicts
from bcba.themes import INDICATORS, ThemeConfig

log = logging.getLogger(__name__)

#: Scale factor that makes the MAD a consistent estimator of the standard deviation.
MAD_SCALE = 1.4826
#: Same for the mean absolute deviation (sqrt(pi / 2)).
MEANAD_SCALE = 1.2533

TOTAAL = "totaal"

#: Transformation applied before standardising (all are ratios or rates, 1 = average).
TRANSFORMS = {
    "kansstructuur_lq": "log",
    "vlaggen_index": "log",
    "partner_per_1000_adressen": "log",
    "enquete_vermeldingen": "log",
}

#: Normalisations of the sensitivity analysis; the first is the one of the reported score.
NORMALISATIONS: tuple[str, ...] = ("robuuste_z", "minmax", "rang")

CONTRIBUTION_COLUMNS = [
    "buurtcode",
    "thema",
    "indicator",
    "waarde",
    "referentie",
    "ondergrens",
    "z",
    "gewicht",
    "bijdrage",
    "oordeel",
    "detail",
]


def _robust_z_array(a: np.ndarray, clip: float | None) -> np.ndarray:
    """Column-wise robust z of a 2-D float array (NaN stays NaN; constant column -> 0)."""
    out = np.full(a.shape, np.nan)
    for j in range(a.shape[1]):
        col = a[:, j]
        ok = ~np.isnan(col)
        if not ok.any():
            continue
        known = col[ok]
        med = float(np.median(known))
        dev = np.abs(known - med)
        scale = MAD_SCALE * float(np.median(dev))
        if scale <= 0:
            scale = MEANAD_SCALE * float(dev.mean())
        out[ok, j] = (known - med) / scale if scale > 0 else 0.0
    if clip is not None:
        out = np.clip(out, -clip, clip)
    return out


def robust_z(values: pd.Series | np.ndarray, *, clip: float | None = 3.0) -> pd.Series:
    """Robust z-score (median/MAD, mean-absolute-deviation fallback), clipped to ``±clip``.

    NaN stays NaN. Returns a float Series aligned with ``values``.
    """
    x = (
        pd.Series(values, dtype=float)
        if not isinstance(values, pd.Series)
        else values.astype(float)
    )
    z = _robust_z_array(x.to_numpy(dtype=float)[:, None], clip)[:, 0]
    return pd.Series(z, index=x.index, dtype=float)


def _minmax_array(a: np.ndarray) -> np.ndarray:
    """Column-wise (x - min) / (max - min); missing -> the column median; constant -> 0."""
    out = np.zeros(a.shape)
    for j in range(a.shape[1]):
        col = a[:, j]
        ok = ~np.isnan(col)
        if not ok.any():
            continue
        lo, hi = col[ok].min(), col[ok].max()
        if hi > lo:
            filled = np.where(ok, col, np.median(col[ok]))
            out[:, j] = (filled - lo) / (hi - lo)
    return out


def _rank_array(a: np.ndarray) -> np.ndarray:
    """Column-wise percentile rank ``(average rank - 0.5) / n`` of the known values;
    missing -> 0.5 (the middle)."""
    out = np.full(a.shape, 0.5)
    for j in range(a.shape[1]):
        col = a[:, j]
        ok = ~np.isnan(col)
        if ok.any():
            out[ok, j] = (stats.rankdata(col[ok]) - 0.5) / int(ok.sum())
    return out


def normalise(matrix: np.ndarray, how: str, *, clip: float | None = 3.0) -> np.ndarray:
    """Normalise the columns of a (buurten x indicators) array of transformed values.

    ``robuuste_z`` (missing -> 0), ``minmax`` (0-1, missing -> the median's value) or
    ``rang`` (percentile rank in (0, 1), missing -> 0.5).
    """
    if how == "robuuste_z":
        return np.nan_to_num(_robust_z_array(matrix, clip), nan=0.0)
    if how == "minmax":
        return _minmax_array(matrix)
    if how == "rang":
        return _rank_array(matrix)
    from bcba.errors import ConfigError

    raise ConfigError(f"normalisatie {how!r} is onbekend; kies uit: {', '.join(NORMALISATIONS)}")


def transform(values: pd.Series, how: str | None) -> pd.Series:
    """``log`` (non-positive -> NaN), ``log1p`` (negative -> NaN) or identity."""
    x = values.astype(float)
    if how == "log":
        return np.log(x.where(x > 0))
    if how == "log1p":
        return np.log1p(x.where(x >= 0))
    return x


def _transformed(indicators: pd.DataFrame, transforms: dict[str, str] | None) -> pd.DataFrame:
    ind = indicators.copy()
    for name, default in (("referentie", np.nan), ("ondergrens", np.nan), ("detail", "")):
        if name not in ind:
            ind[name] = default
    ind["waarde"] = pd.to_numeric(ind["waarde"], errors="coerce").astype(float)
    tf = TRANSFORMS if transforms is None else transforms
    ind["_t"] = ind["waarde"]
    for name, how in tf.items():
        sel = ind["indicator"] == name
        ind.loc[sel, "_t"] = transform(ind.loc[sel, "waarde"], how)
    return ind


def _rankable_mask(codes: pd.Series, rankable: pd.Series | None) -> np.ndarray:
    if rankable is None:
        return np.ones(len(codes), dtype=bool)
    lookup = rankable.copy()
    lookup.index = lookup.index.astype(str)
    return codes.astype(str).map(lookup).fillna(False).to_numpy(dtype=bool)


def composite_scores(
    indicators: pd.DataFrame,
    themes: ThemeConfig,
    *,
    clip: float = 3.0,
    transforms: dict[str, str] | None = None,
    rankable: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardise indicators, weight them and sum to scores per buurt and theme.

    Parameters
    ----------
    indicators
        Long table: buurtcode, thema (theme ids and optionally ``totaal``), indicator,
        waarde, and optionally referentie, ondergrens and detail. Every buurt must appear for
        every (thema, indicator) pair (NaN allowed).
    themes
        Provides the weights (:meth:`ThemeConfig.weights`; ``totaal`` uses the defaults); an
        indicator without a weight is listed with bijdrage 0.
    clip
        Clip of the robust z-scores.
    transforms
        Indicator -> ``log``/``log1p`` applied before standardising; default :data:`TRANSFORMS`.
    rankable
        buurtcode -> bool: the buurten that get a rank (default all). The others (small
        areas) keep their score but get rang and percentiel NaN.

    Returns
    -------
    scores
        Long table buurtcode, thema, score, rang (1 = highest, Int64, NA when not rankable),
        percentiel (0-100, share of rankable buurten with a score at or below this one).
    contributions
        :data:`CONTRIBUTION_COLUMNS`; per (buurtcode, thema) ``bijdrage`` sums to ``score``;
        ``oordeel`` is the verdict word of the value (:mod:`bcba.indicators.verdicts`).
    """
    ind = _transformed(indicators, transforms)
    ind["z"] = ind.groupby(["thema", "indicator"], sort=False)["_t"].transform(
        lambda s: robust_z(s, clip=clip)
    )
    ind["z"] = ind["z"].fillna(0.0)
    weights = {tid: themes.weights(tid) for tid in [*themes.themas, TOTAAL]}
    ind["gewicht"] = [
        weights.get(t, {}).get(i, 0.0) for t, i in zip(ind["thema"], ind["indicator"], strict=True)
    ]
    ind["bijdrage"] = ind["gewicht"] * ind["z"]
    ref = pd.to_numeric(ind["referentie"], errors="coerce").astype(float)
    ref = ref.where(ref > 0)
    ind["oordeel"] = verdicts(
        ind["indicator"],
        ind["waarde"] / ref,
        pd.to_numeric(ind["ondergrens"], errors="coerce") / ref,
    )
    contributions = ind[CONTRIBUTION_COLUMNS].reset_index(drop=True)
    contributions["detail"] = contributions["detail"].fillna("").astype("string")
    scores = contributions.groupby(["buurtcode", "thema"], as_index=False, sort=False)[
        "bijdrage"
    ].sum()
    scores = scores.rename(columns={"bijdrage": "score"})
    ok = _rankable_mask(scores["buurtcode"], rankable)
    ranked = scores["score"].where(ok)
    grp = ranked.groupby(scores["thema"])
    scores["rang"] = grp.rank(ascending=False, method="min").round().astype("Int64")
    scores["percentiel"] = grp.rank(ascending=True, method="max", pct=True) * 100.0
    return scores, contributions


def rank_intervals(
    indicators: pd.DataFrame,
    themes: ThemeConfig,
    *,
    clip: float = 3.0,
    transforms: dict[str, str] | None = None,
    rankable: pd.Series | None = None,
    replicaties: int = 200,
    seed: int = 20250,
    spreiding: float = 0.5,
    normalisaties: tuple[str, ...] = NORMALISATIONS,
    weglaten: bool = True,
    kwantielen: tuple[float, float] = (5.0, 95.0),
) -> pd.DataFrame:
    """Rank interval of every buurt per theme from a Monte Carlo uncertainty analysis.

    Each replicate (OECD/JRC Handbook 2008, section 7) draws at once: a normalisation from
    ``normalisaties``, every weight times ``U(1 - spreiding, 1 + spreiding)``, and, when
    ``weglaten``, one of "no indicator left out" or "indicator k left out" with equal
    probability (not in a theme with fewer than two informative indicators, i.e. weighted
    and not constant). Replicate 0 is the reported configuration. Scores of all replicates are one
    matrix product per normalisation; ranks (method ``min``) are among the rankable buurten.

    Parameters
    ----------
    indicators, themes, clip, transforms, rankable
        As :func:`composite_scores`.
    replicaties
        Number of replicates (>= 1), drawn with ``seed``; the same draws serve every theme.
    kwantielen
        Percentiles of the ranks reported as the interval (lower bound rounded down, upper
        bound rounded up to an observed rank).

    Returns
    -------
    DataFrame: buurtcode, thema, rang_laag, rang_hoog (Int64), rang_mediaan (float); NA for
    buurten that are not rankable.
    """
    ind = _transformed(indicators, transforms)
    k = len(INDICATORS)
    rng = np.random.default_rng(seed)
    n_rep = max(int(replicaties), 1)
    norm = rng.integers(0, len(normalisaties), n_rep)
    mult = rng.uniform(1.0 - spreiding, 1.0 + spreiding, (n_rep, k))
    drop = rng.integers(0, k + 1, n_rep) if weglaten else np.zeros(n_rep, dtype=int)
    norm[0], mult[0], drop[0] = 0, 1.0, 0
    keep = np.ones((n_rep, k))
    keep[np.arange(n_rep)[drop > 0], drop[drop > 0] - 1] = 0.0
    parts = []
    for thema, sub in ind.groupby("thema", sort=False):
        wide = sub.pivot(index="buurtcode", columns="indicator", values="_t").reindex(
            columns=list(INDICATORS)
        )
        codes = wide.index.to_series()
        base = np.array([themes.weights(str(thema)).get(i, 0.0) for i in INDICATORS])
        matrix = wide.to_numpy(dtype=float)
        # leaving out the only informative indicator would tie every buurt at rank 1: a
        # theme with fewer than two informative indicators leaves none out
        spread = np.ptp(normalise(matrix, "robuuste_z", clip=clip), axis=0) > 0
        informative = (base > 0) & spread
        weights = base * mult * (keep if informative.sum() >= 2 else 1.0)
        scores = np.empty((len(wide), n_rep))
        for c, how in enumerate(normalisaties):
            sel = norm == c
            if sel.any():
                # (buurten x indicators) times (indicators x replicates) as a broadcast sum:
                # with four indicators this beats a BLAS call, which stalls on a busy machine
                z = normalise(matrix, how, clip=clip)
                scores[:, sel] = (z[:, :, None] * weights[sel].T[None, :, :]).sum(axis=1)
        ok = _rankable_mask(codes, rankable)
        lo = np.full(len(wide), np.nan)
        hi = np.full(len(wide), np.nan)
        med = np.full(len(wide), np.nan)
        if ok.any():
            ranks = stats.rankdata(-scores[ok], method="min", axis=0)
            lo[ok] = np.percentile(ranks, kwantielen[0], axis=1, method="lower")
            hi[ok] = np.percentile(ranks, kwantielen[1], axis=1, method="higher")
            med[ok] = np.median(ranks, axis=1)
        parts.append(
            pd.DataFrame(
                {
                    "buurtcode": codes.to_numpy(),
                    "thema": thema,
                    "rang_laag": pd.array(np.round(lo), dtype="Int64"),
                    "rang_hoog": pd.array(np.round(hi), dtype="Int64"),
                    "rang_mediaan": med,
                }
            )
        )
    cols = ["buurtcode", "thema", "rang_laag", "rang_hoog", "rang_mediaan"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    return pd.concat(parts, ignore_index=True)[cols]


def _nl(value: float, digits: int = 1) -> str:
    if value is None or pd.isna(value) or not np.isfinite(value):
        return "onbekend"
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def explain_contributions(
    contributions: pd.DataFrame, buurtcode: str, thema: str, *, top: int = 3
) -> list[str]:
    """The ``top`` largest positive contributions with a verdict word, as Dutch sentences."""
    sub = contributions[
        (contributions["buurtcode"] == buurtcode) & (contributions["thema"] == thema)
    ]
    if sub.empty:
        from bcba.errors import ConfigError

        raise ConfigError(f"Geen score voor buurt {buurtcode!r} en thema {thema!r}.")
    return explain_top_contributions(sub, thema, top=top).get(buurtcode, [])


def explain_top_contributions(
    contributions: pd.DataFrame, thema: str, *, top: int = 3
) -> dict[str, list[str]]:
    """:func:`explain_contributions` for every buurt of a theme at once (buurtcode ->
    sentences). Only contributions that raise the score *and* pass a verdict rule
    (:data:`bcba.indicators.verdicts.VERDICT_RULES`) are explained; buurten without one are
    left out."""
    sub = contributions[
        (contributions["thema"] == thema)
        & (contributions["bijdrage"] > 0)
        & (contributions["oordeel"].fillna("") != "")
    ]
    # largest first within each buurt; ties keep the table's order (stable sort)
    sub = sub.sort_values(["buurtcode", "bijdrage"], ascending=[True, False], kind="stable")
    sentences: dict[str, list[str]] = {}
    for row in sub.groupby("buurtcode", sort=False).head(top).itertuples(index=False):
        sentences.setdefault(row.buurtcode, []).append(_sentence(row))
    return sentences


def _sentence(row) -> str:
    """One contribution (a row of the contributions table) as a Dutch sentence."""
    indicator = str(row.indicator)
    ratio = (
        row.waarde / row.referentie
        if pd.notna(row.referentie) and np.isfinite(row.referentie) and row.referentie > 0
        else np.nan
    )
    detail = f" ({row.detail})" if isinstance(row.detail, str) and row.detail else ""
    template = SENTENCES.get(indicator, indicator + " {woord} ({waarde})")
    digits = 2 if indicator == "kansstructuur_lq" else 1
    woord = str(row.oordeel)
    return template.format(
        woord=woord,
        Woord=woord[:1].upper() + woord[1:],
        waarde=_nl(row.waarde, digits),
        ratio=_nl(ratio),
        detail=detail,
    )

"""Composite scores per theme and overall per buurt, with an exact decomposition.

Method (see docs/method.md):

1. Skewed indicators are log-transformed first (:data:`TRANSFORMS`: ``log`` for the
   location quotient, ``log(1 + x)`` for densities, rates and counts), so a few extreme
   buurten do not all end up at the clip. Every indicator is then standardised over the buurten of the municipality with a robust z-score
   ``z = (x - median) / (1.4826 · MAD)``, clipped to ``±clip``. When the MAD is 0 (more than
   half of the buurten share one value, e.g. zero flags) the scale falls back to
   ``1.2533 · mean absolute deviation from the median``; when that is 0 too, z = 0.
   A missing value gets z = 0 (the typical buurt), so missing data never raise a score.
2. ``score = Σ gewicht_i · z_i`` over the indicators of the theme (weights from the theme YAML).
3. The overall score is the mean of the theme scores; its contributions are the theme
   contributions divided by the number of themes, so they also sum exactly to the score.

The contributions table (buurtcode, thema, indicator, waarde, z, gewicht, bijdrage) is the
only source of the scores: scores are computed as the sum of its ``bijdrage`` column.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)

#: Scale factor that makes the MAD a consistent estimator of the standard deviation.
MAD_SCALE = 1.4826
#: Same for the mean absolute deviation (sqrt(pi / 2)).
MEANAD_SCALE = 1.2533

TOTAAL = "totaal"

#: Transformation applied before standardising (skewed counts and rates; LQ is a ratio).
TRANSFORMS = {
    "kansstructuur_lq": "log",
    "kansstructuur_dichtheid": "log1p",
    "vlaggen_index": "log",
    "partner_per_1000_adressen": "log1p",
    "enquete_vermeldingen": "log1p",
}

CONTRIBUTION_COLUMNS = [
    "buurtcode",
    "thema",
    "indicator",
    "waarde",
    "referentie",
    "z",
    "gewicht",
    "bijdrage",
    "detail",
]

#: Dutch sentence templates for :func:`explain`; {waarde}, {ratio} and {detail} are filled in.
SENTENCES = {
    "kansstructuur_lq": "Oververtegenwoordiging van gelegenheidsstructuren{detail} (locatiequotiënt {waarde})",
    "kansstructuur_dichtheid": "Hoge dichtheid van gelegenheidsstructuren{detail} ({waarde} per km²; {ratio}× regio)",
    "vlaggen_index": "Veel risicosignalen uit KvK/Kadaster{detail} (gemiddeld {ratio}× regio per 1.000 adressen)",
    "partner_per_1000_adressen": "Veel partnermeldingen{detail} ({waarde} per 1.000 adressen; {ratio}× regio)",
    "enquete_vermeldingen": "Vaak genoemd in de enquête onder medewerkers ({ratio}× het gemiddelde per buurt)",
    "kwetsbaarheid": "Sociaal-economisch kwetsbare buurt (kwetsbaarheidsindex {waarde})",
}


def robust_z(values: pd.Series | np.ndarray, *, clip: float | None = 3.0) -> pd.Series:
    """Robust z-score (median/MAD, mean-absolute-deviation fallback), clipped to ``±clip``.

    NaN stays NaN. Returns a float Series aligned with ``values``.
    """
    x = (
        pd.Series(values, dtype=float)
        if not isinstance(values, pd.Series)
        else values.astype(float)
    )
    known = x.dropna()
    if known.empty:
        return pd.Series(np.nan, index=x.index, dtype=float)
    med = float(known.median())
    dev = (known - med).abs()
    scale = MAD_SCALE * float(dev.median())
    if scale <= 0:
        scale = MEANAD_SCALE * float(dev.mean())
    if scale <= 0:
        return pd.Series(np.where(x.isna(), np.nan, 0.0), index=x.index, dtype=float)
    z = (x - med) / scale
    return z.clip(-clip, clip) if clip is not None else z


def transform(values: pd.Series, how: str | None) -> pd.Series:
    """``log`` (non-positive -> NaN), ``log1p`` (negative -> NaN) or identity."""
    x = values.astype(float)
    if how == "log":
        return np.log(x.where(x > 0))
    if how == "log1p":
        return np.log1p(x.where(x >= 0))
    return x


def composite_scores(
    indicators: pd.DataFrame,
    themes: ThemeConfig,
    *,
    clip: float = 3.0,
    transforms: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardise indicators, weight them and sum to scores per buurt and theme.

    Parameters
    ----------
    indicators
        Long table: buurtcode, thema, indicator, waarde, and optionally referentie and detail.
        Every buurt must appear for every (thema, indicator) pair (NaN allowed).
    themes
        Provides the weights per theme (:meth:`ThemeConfig.weights`); an indicator without a
        weight (or weight 0) is listed with bijdrage 0.
    clip
        Clip of the robust z-scores.
    transforms
        Indicator -> ``log``/``log1p`` applied before standardising; default :data:`TRANSFORMS`.

    Returns
    -------
    scores
        Long table buurtcode, thema (incl. ``totaal``), score, rang (1 = highest), percentiel
        (0-100, share of buurten with a score at or below this one).
    contributions
        :data:`CONTRIBUTION_COLUMNS`; per (buurtcode, thema) ``bijdrage`` sums to ``score``.
    """
    ind = indicators.copy()
    for name, default in (("referentie", np.nan), ("detail", "")):
        if name not in ind:
            ind[name] = default
    ind["waarde"] = pd.to_numeric(ind["waarde"], errors="coerce").astype(float)
    tf = TRANSFORMS if transforms is None else transforms
    ind["_t"] = ind["waarde"]
    for name, how in tf.items():
        sel = ind["indicator"] == name
        ind.loc[sel, "_t"] = transform(ind.loc[sel, "waarde"], how)
    ind["z"] = ind.groupby(["thema", "indicator"], sort=False)["_t"].transform(
        lambda s: robust_z(s, clip=clip)
    )
    ind["z"] = ind["z"].fillna(0.0)
    weights = {tid: themes.weights(tid) for tid in themes.themas}
    ind["gewicht"] = [
        weights.get(t, {}).get(i, 0.0) for t, i in zip(ind["thema"], ind["indicator"], strict=True)
    ]
    ind["bijdrage"] = ind["gewicht"] * ind["z"]
    theme_ids = [t for t in themes.themas if t in set(ind["thema"])]
    n_themes = len(theme_ids)
    overall = ind[ind["thema"].isin(theme_ids)].copy()
    overall["indicator"] = overall["thema"].astype(str) + ":" + overall["indicator"].astype(str)
    overall["thema"] = TOTAAL
    overall["gewicht"] = overall["gewicht"] / n_themes
    overall["bijdrage"] = overall["bijdrage"] / n_themes
    contributions = pd.concat([ind, overall], ignore_index=True)[CONTRIBUTION_COLUMNS]
    contributions["detail"] = contributions["detail"].fillna("").astype("string")
    scores = contributions.groupby(["buurtcode", "thema"], as_index=False, sort=False)[
        "bijdrage"
    ].sum()
    scores = scores.rename(columns={"bijdrage": "score"})
    grp = scores.groupby("thema")["score"]
    scores["rang"] = grp.rank(ascending=False, method="min").astype(int)
    scores["percentiel"] = grp.rank(ascending=True, method="max", pct=True) * 100.0
    return scores, contributions


def _nl(value: float, digits: int = 1) -> str:
    if value is None or not np.isfinite(value):
        return "onbekend"
    return f"{value:,.{digits}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def explain_contributions(
    contributions: pd.DataFrame, buurtcode: str, thema: str, *, top: int = 3
) -> list[str]:
    """The ``top`` largest positive contributions of a buurt's score as Dutch sentences."""
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
    sentences; buurten without a positive contribution are left out)."""
    sub = contributions[(contributions["thema"] == thema) & (contributions["bijdrage"] > 0)]
    # largest first within each buurt; ties keep the table's order (stable sort)
    sub = sub.sort_values(["buurtcode", "bijdrage"], ascending=[True, False], kind="stable")
    sentences: dict[str, list[str]] = {}
    for row in sub.groupby("buurtcode", sort=False).head(top).itertuples(index=False):
        sentences.setdefault(row.buurtcode, []).append(_sentence(row, thema))
    return sentences


def _sentence(row, thema: str) -> str:
    """One contribution (a row of the contributions table) as a Dutch sentence."""
    indicator = str(row.indicator).split(":")[-1]
    prefix = ""
    if thema == TOTAAL and ":" in str(row.indicator):
        prefix = str(row.indicator).split(":")[0].replace("_", " ") + ": "
    ratio = (
        row.waarde / row.referentie
        if row.referentie and np.isfinite(row.referentie) and row.referentie > 0
        else np.nan
    )
    detail = f" ({row.detail})" if isinstance(row.detail, str) and row.detail else ""
    template = SENTENCES.get(indicator, indicator + " ({waarde})")
    digits = 2 if indicator in ("kansstructuur_lq", "kwetsbaarheid") else 1
    text = template.format(waarde=_nl(row.waarde, digits), ratio=_nl(ratio), detail=detail)
    return prefix + text.replace("(onbekend× regio)", "").replace("; onbekend× regio", "")

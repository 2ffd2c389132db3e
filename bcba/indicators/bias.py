"""Bias diagnostics of the buurt scores, and the guard against protected attributes.

:func:`bias_diagnostics` tells how strongly each theme's scores follow address density,
income/wealth and the socio-economic vulnerability index (Spearman's rho with a bootstrap
interval and a Dutch reading), for the annex of the report. A strong link is not an error
in itself, but the reader must know when a "high risk" buurt is mainly a dense or a poor one.

No attribute about migration background or origin (CBS ``percentage_met_herkomstland_*``,
``..._migratieachtergrond``, ...) may enter any model or output: :func:`drop_protected`
removes them from the CBS buurt table before the indicator analysis uses it.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
from scipy import stats

from bcba.indicators.verdicts import samenhang_woord

log = logging.getLogger(__name__)

#: Column-name fragments of protected attributes (migration background, origin, nationality).
PROTECTED_PATTERNS: tuple[str, ...] = (
    "migratie",
    "herkomst",
    "westers",
    "allochto",
    "autochto",
    "nationaliteit",
    "geboorteland",
    "geb_in_nl",
    "geb_buiten_nl",
    "etnic",
    "etnisch",
)
_PROTECTED = re.compile("|".join(PROTECTED_PATTERNS), flags=re.IGNORECASE)

#: Buurt-level income columns of the CBS wijk- en buurtkaart (older editions), first found wins.
INKOMEN_KOLOMMEN: tuple[str, ...] = (
    "gemiddeld_inkomen_per_inwoner",
    "gemiddeld_inkomen_per_inkomensontvanger",
    "gem_inkomen_per_inwoner",
)

#: Diagnostic characteristics: id -> Dutch label (the income label is set by what is found).
KENMERKEN = {
    "adresdichtheid": "adresdichtheid (BAG-adressen per km² land)",
    "inkomen_welvaart": "inkomen/welvaart",
    "kwetsbaarheid": "sociaal-economische kwetsbaarheidsindex",
}

BIAS_COLUMNS = [
    "thema",
    "kenmerk",
    "omschrijving",
    "n",
    "rho",
    "rho_laag",
    "rho_hoog",
    "samenhang",
    "lezing",
]


def protected_columns(columns) -> list[str]:
    """The column names that describe migration background or origin."""
    return [str(c) for c in columns if _PROTECTED.search(str(c))]


def drop_protected(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` without protected columns (:func:`protected_columns`)."""
    cols = protected_columns(frame.columns)
    if cols:
        log.debug("%d beschermde kolommen (herkomst/migratie) genegeerd", len(cols))
    return frame.drop(columns=cols)


def bias_covariates(
    buurten: pd.DataFrame, n_adressen: pd.Series, kwetsbaarheid: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The characteristics per buurt that the diagnostics compare the scores with.

    Income: a buurt-level CBS income column when present (:data:`INKOMEN_KOLOMMEN`),
    otherwise the average WOZ value (``gemiddelde_woningwaarde``) as a wealth proxy; CBS
    income per buurt is not in the 2024 wijk- en buurtkaart.

    Returns
    -------
    (DataFrame buurtcode + one column per :data:`KENMERKEN` id, labels id -> Dutch text)
    """
    codes = buurten["buurtcode"].astype("string")
    land_km2 = pd.to_numeric(buurten.get("oppervlakte_land_in_ha"), errors="coerce") / 100.0
    adr = codes.map(n_adressen).fillna(0).astype(float)
    out = pd.DataFrame({"buurtcode": codes.to_numpy()}, index=buurten.index)
    out["adresdichtheid"] = (adr / land_km2.where(land_km2 > 0)).to_numpy()
    labels = dict(KENMERKEN)
    found = [
        c
        for c in INKOMEN_KOLOMMEN
        if c in buurten and pd.to_numeric(buurten[c], errors="coerce").notna().sum() >= 3
    ]
    if found:
        out["inkomen_welvaart"] = pd.to_numeric(buurten[found[0]], errors="coerce")
        labels["inkomen_welvaart"] = f"inkomen ({found[0].replace('_', ' ')}, CBS)"
    else:
        out["inkomen_welvaart"] = pd.to_numeric(
            buurten.get("gemiddelde_woningwaarde"), errors="coerce"
        )
        labels["inkomen_welvaart"] = (
            "welvaart (gemiddelde WOZ-waarde; CBS publiceert geen inkomen per buurt in deze kaart)"
        )
    kw = kwetsbaarheid.set_index(kwetsbaarheid["buurtcode"].astype("string"))["kwetsbaarheid"]
    out["kwetsbaarheid"] = codes.map(kw).astype(float).to_numpy()
    return out.reset_index(drop=True), labels


def _resample_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average ranks of each buurt's value inside every bootstrap resample.

    ``counts`` (resamples x buurten) says how often each buurt was drawn. A buurt's rank in a
    resample is the number of drawn values below its value plus ``(drawn equal values + 1) / 2``,
    which is what ranking the resample itself gives, without sorting every resample.
    """
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group = np.empty(len(values), dtype=int)
    group[order] = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    # draws per distinct value (resamples x distinct values), ties summed
    per_value = np.add.reduceat(counts[:, order], starts, axis=1)
    below = np.cumsum(per_value, axis=1) - per_value
    return (below + (per_value + 1.0) / 2.0)[:, group]


def _weighted_row_pearson(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson correlation per row with weights ``w`` (the draw counts)."""
    total = w.sum(axis=1, keepdims=True)
    xc = x - (w * x).sum(axis=1, keepdims=True) / total
    yc = y - (w * y).sum(axis=1, keepdims=True) / total
    den = np.sqrt((w * xc * xc).sum(axis=1) * (w * yc * yc).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (w * xc * yc).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def _spearman_many(
    x: np.ndarray, ys: np.ndarray, *, n_boot: int, level: float, seed: int
) -> list[tuple[float, float, float, int]]:
    """:func:`spearman_bootstrap` of one ``x`` against each column of ``ys`` (all known),
    with the same resampled buurten for every column."""
    n = len(x)
    if n < 4 or np.ptp(x) == 0:
        return [(np.nan, np.nan, np.nan, n)] * ys.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, (n_boot, n))
    counts = np.zeros((n_boot, n))
    np.add.at(counts, (np.repeat(np.arange(n_boot), n), idx.ravel()), 1.0)
    rx = _resample_ranks(x, counts)
    tail = (1.0 - level) / 2.0 * 100.0
    out = []
    for j in range(ys.shape[1]):
        y = ys[:, j]
        if np.ptp(y) == 0:
            out.append((np.nan, np.nan, np.nan, n))
            continue
        rho = float(stats.spearmanr(x, y).statistic)
        boot = _weighted_row_pearson(rx, _resample_ranks(y, counts), counts)
        boot = boot[~np.isnan(boot)]
        if not len(boot):
            out.append((rho, np.nan, np.nan, n))
            continue
        lo, hi = np.percentile(boot, [tail, 100.0 - tail])
        out.append((rho, float(lo), float(hi), n))
    return out


def spearman_bootstrap(
    x, y, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float, int]:
    """Spearman's rho of the pairs where both are known, with a percentile bootstrap interval
    (buurten resampled with replacement; Spearman = Pearson of the ranks in each resample).

    Returns (rho, lower, upper, n); NaN when fewer than 4 pairs or a constant variable.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = ~(np.isnan(xa) | np.isnan(ya))
    return _spearman_many(xa[ok], ya[ok][:, None], n_boot=n_boot, level=level, seed=seed)[0]


def _nl(value: float) -> str:
    return f"{value:.2f}".replace(".", ",") if np.isfinite(value) else "onbekend"


def _lezing(theme_label: str, label: str, rho: float, lo: float, hi: float, word: str) -> str:
    if word == "niet te bepalen":
        return f"{theme_label}: samenhang met {label} niet te bepalen (te weinig buurten of geen spreiding)."
    figures = f"(rho {_nl(rho)}; 95%-interval {_nl(lo)} tot {_nl(hi)})"
    if word == "geen aantoonbare":
        return f"{theme_label}: geen aantoonbare samenhang met {label} {figures}."
    direction = "hoger" if rho > 0 else "lager"
    return (
        f"{theme_label}: {word} samenhang met {label} {figures}: hoe hoger de {label.split(' (')[0]}, "
        f"hoe {direction} de score."
    )


def bias_diagnostics(
    scores: pd.DataFrame,
    covariates: pd.DataFrame,
    *,
    labels: dict[str, str] | None = None,
    theme_labels: dict[str, str] | None = None,
    rankable: pd.Series | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """How strongly each theme's scores follow each characteristic (Spearman, bootstrap).

    Parameters
    ----------
    scores
        Long scores (buurtcode, thema, score), as :func:`bcba.indicators.scores.composite_scores`.
    covariates
        buurtcode plus one column per characteristic (:func:`bias_covariates`).
    labels, theme_labels
        Dutch labels of the characteristics and themes (default: the ids).
    rankable
        buurtcode -> bool; only these buurten are compared (small areas are noise).
    n_boot, level, seed
        Bootstrap replicates (buurten resampled with replacement), interval coverage, seed.

    Returns
    -------
    DataFrame with :data:`BIAS_COLUMNS`; ``samenhang`` is the word of
    :data:`bcba.indicators.verdicts.SAMENHANG_RULES` and ``lezing`` one Dutch sentence.
    """
    labels = labels or {}
    theme_labels = theme_labels or {}
    wide = scores.assign(buurtcode=scores["buurtcode"].astype(str)).pivot(
        index="buurtcode", columns="thema", values="score"
    )
    themes = [t for t in pd.unique(scores["thema"]) if t in wide.columns]
    wide = wide[themes]
    if rankable is not None:
        keep = rankable.copy()
        keep.index = keep.index.astype(str)
        wide = wide[wide.index.map(keep).fillna(False).to_numpy(dtype=bool)]
    wide = wide.dropna()
    cov = covariates.set_index(covariates["buurtcode"].astype(str))
    kenmerken = [c for c in cov.columns if c != "buurtcode"]
    found = {}
    for kenmerk in kenmerken:
        x = cov[kenmerk].reindex(wide.index).to_numpy(dtype=float)
        ok = ~np.isnan(x)
        found[kenmerk] = _spearman_many(
            x[ok], wide.to_numpy(dtype=float)[ok], n_boot=n_boot, level=level, seed=seed
        )
    rows = []
    for j, thema in enumerate(themes):
        for kenmerk in kenmerken:
            rho, lo, hi, n = found[kenmerk][j]
            word = samenhang_woord(rho, lo, hi)
            label = labels.get(kenmerk, kenmerk)
            rows.append(
                {
                    "thema": thema,
                    "kenmerk": kenmerk,
                    "omschrijving": label,
                    "n": n,
                    "rho": rho,
                    "rho_laag": lo,
                    "rho_hoog": hi,
                    "samenhang": word,
                    "lezing": _lezing(
                        theme_labels.get(str(thema), str(thema)), label, rho, lo, hi, word
                    ),
                }
            )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in BIAS_COLUMNS})
    return pd.DataFrame(rows)[BIAS_COLUMNS]


def gemeente_inkomen_tekst(gemeentecode: str) -> str | None:
    """One Dutch sentence with the municipality's CBS income (context for the bias annex)."""
    from bcba import reference

    table = reference.inkomen_welvaart()
    row = table[table["gemeentecode_2024"].astype(str) == str(gemeentecode)]
    if row.empty or pd.isna(row["gemiddeldInkomenPerInwoner"].iloc[0]):
        return None
    r = row.iloc[0]
    value = f"{float(r['gemiddeldInkomenPerInwoner']):.1f}".replace(".", ",")
    return (
        f"Gemiddeld inkomen per inwoner in {r['gemeentenaam']}: € {value} duizend "
        f"(CBS, {int(r['jaar_kaart'])}). CBS levert inkomen hier alleen per gemeente; binnen de "
        "gemeente vergelijkt de tabel daarom met de gemiddelde WOZ-waarde als maat voor welvaart."
    )

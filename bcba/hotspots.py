"""Hot spots: Getis-Ord Gi* and local Moran's I with permutation inference and FDR.

Counts are first adjusted for exposure (number of addresses): under the null scenario
events fall uniformly per address, so raw counts only mirror address density. The default
adjustment is the global empirical-Bayes smoothed rate (Marshall 1991); the excess count
(observed minus expected from exposure) is the alternative. Significance: pseudo p-values
from conditional permutations (esda), made two-sided, then Benjamini-Hochberg (FDR).

Refusal rule. With P permutations the smallest two-sided pseudo p-value is 2/(P+1). BH at
level q over n units rejects the k smallest p-values when ``p_(k) <= k q / n``; a single
unit that stands out on its own (k = 1) can therefore only be called significant when
``2/(P+1) <= q/n``, i.e. ``P >= 2n/q - 1``. When that is not met, every unit gets
"Niet te beoordelen" and ``.attrs["melding"]`` says how many permutations are needed
(clusters of m units could in principle be detected with ``P >= 2n/(m q) - 1``, but
whether that happens depends on the data, so we refuse rather than report a map that
cannot show an isolated hot spot). ``inference="normaal"`` uses the analytic Gi*/Moran
z-scores instead (as ArcGIS Hot Spot Analysis does); no permutation floor then applies.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bcba.errors import ConfigError
from bcba.rtm import check_crs, exposure_array

logger = logging.getLogger(__name__)

LEVELS = (0.01, 0.05, 0.10)
NOT_ASSESSABLE = "Niet te beoordelen"
NOT_SIGNIFICANT = "Niet significant"
HOT = {0.01: "Hot spot 99%", 0.05: "Hot spot 95%", 0.10: "Hot spot 90%"}
COLD = {0.01: "Cold spot 99%", 0.05: "Cold spot 95%", 0.10: "Cold spot 90%"}
GI_CLASSES = [*HOT.values(), NOT_SIGNIFICANT, *reversed(COLD.values()), NOT_ASSESSABLE]
MORAN_LABELS = {
    1: "Hoog-hoog (HH)",
    2: "Laag-hoog (LH)",
    3: "Laag-laag (LL)",
    4: "Hoog-laag (HL)",
}
ADJUSTMENTS = ("eb", "overschot", "geen")

_ESDA_ALTERNATIVE_WARNING = "The alternative hypothesis for conditional randomization"


def required_permutations(n: int, alpha: float) -> int:
    """Smallest number of permutations P with ``2/(P+1) <= alpha/n`` (see module doc)."""
    return max(math.ceil(2 * n / alpha) - 1, 1)


def fdr_reachable(n: int, permutations: int, alpha: float) -> bool:
    """Whether one unit on its own can be significant after BH-FDR at level ``alpha``."""
    return 2 / (permutations + 1) <= alpha / n * (1 + 1e-12)


def benjamini_hochberg(p: np.ndarray | Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (reject at level q where adjusted <= q)."""
    p = np.asarray(p, dtype=float)
    if len(p) == 0:
        return p
    return multipletests(p, method="fdr_bh")[1]


def empirical_bayes_rate(counts: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Global empirical-Bayes smoothed rate per unit of exposure (Marshall 1991).

    ``m = sum y / sum e``; ``s2 = sum e (r - m)^2 / sum e - m / mean(e)`` (floored at 0);
    weight ``w = s2 / (s2 + m / e)``; smoothed ``w r + (1 - w) m``. Units without exposure
    get the overall rate ``m``.
    """
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    pos = e > 0
    m = y[pos].sum() / e[pos].sum()
    r = np.zeros_like(y)
    r[pos] = y[pos] / e[pos]
    s2 = max(float((e[pos] * (r[pos] - m) ** 2).sum() / e[pos].sum() - m / e[pos].mean()), 0.0)
    w = np.zeros_like(y)
    if s2 > 0:
        w[pos] = s2 / (s2 + m / e[pos])
    return w * r + (1 - w) * m


def adjusted_values(counts: np.ndarray, exposure: np.ndarray | None, adjustment: str) -> np.ndarray:
    """Values analysed for hot spots: EB rate, excess count, or the raw counts."""
    if adjustment not in ADJUSTMENTS:
        raise ConfigError(f"adjustment {adjustment!r} ongeldig; toegestaan: {ADJUSTMENTS}.")
    y = np.asarray(counts, dtype=float)
    if exposure is None or adjustment == "geen":
        return y
    if exposure.sum() <= 0:
        raise ConfigError("De blootstelling is overal 0; corrigeren voor adressen kan niet.")
    if adjustment == "eb":
        return empirical_bayes_rate(y, exposure)
    expected = exposure * y.sum() / exposure.sum()
    return y - expected


@contextlib.contextmanager
def _quiet_esda():
    """Silence known, expected third-party warnings (and only those).

    * esda's conditional randomisation warns that its default alternative hypothesis will
      change; G_Local/Moran_Local offer no argument to set it, and we make the (directed)
      pseudo p-value two-sided ourselves;
    * libpysal's W warns about islands and disconnected parts (cells across water), which
      are expected, even with ``silence_warnings=True`` when esda rebuilds the weights.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=_ESDA_ALTERNATIVE_WARNING, category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore", message="The weights matrix is not fully connected", category=UserWarning
        )
        warnings.filterwarnings("ignore", message=".*islands", category=UserWarning)
        yield


def _weights(units: gpd.GeoDataFrame, weights: str, distance: float | None):
    from libpysal import weights as lw

    if weights not in ("queen", "distance"):
        raise ConfigError(f"weights moet 'queen' of 'distance' zijn, kreeg {weights!r}.")
    if weights == "distance" and (distance is None or not distance > 0):
        raise ConfigError(
            f"Bij weights='distance' is een positieve 'distance' (m) nodig, kreeg {distance!r}."
        )
    with _quiet_esda():
        if weights == "queen":
            w = lw.Queen.from_dataframe(units, use_index=False, silence_warnings=True)
        else:
            w = lw.DistanceBand.from_dataframe(
                units.set_geometry(units.geometry.centroid),
                threshold=float(distance),
                binary=True,
                silence_warnings=True,
                use_index=False,
            )
    w.transform = "B"
    return w


def _resolve_values(units: gpd.GeoDataFrame, values) -> np.ndarray:
    if isinstance(values, str):
        if values not in units.columns:
            raise ConfigError(
                f"Kolom '{values}' ontbreekt; aanwezig: {', '.join(map(str, units.columns))}."
            )
        out = pd.to_numeric(units[values], errors="coerce").to_numpy(float)
    else:
        out = np.asarray(values, dtype=float)
        if out.shape != (len(units),):
            raise ConfigError(f"values heeft vorm {out.shape}, verwacht ({len(units)},).")
    if np.isnan(out).any():
        raise ConfigError("values bevat lege of niet-numerieke waarden.")
    return out


def _check_common(units, permutations, alpha, inference) -> None:
    check_crs(units, "units")
    if len(units) < 3:
        raise ConfigError(f"Te weinig gebieden ({len(units)}) voor een hotspotanalyse.")
    if inference not in ("permutatie", "normaal"):
        raise ConfigError(f"inference moet 'permutatie' of 'normaal' zijn, kreeg {inference!r}.")
    if inference == "permutatie" and (
        not isinstance(permutations, int | np.integer) or permutations < 1
    ):
        raise ConfigError(
            f"permutations moet een positief geheel getal zijn, kreeg {permutations!r}."
        )
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha moet tussen 0 en 1 liggen, kreeg {alpha!r}.")


def _nl(x: float) -> str:
    return f"{x:.2g}".replace(".", ",")


def _refusal(n: int, permutations: int, alpha: float) -> str:
    need = required_permutations(n, alpha)
    return (
        f"Significantie niet te beoordelen: met {permutations} permutaties is de kleinste "
        f"haalbare (tweezijdige) p-waarde {_nl(2 / (permutations + 1))}, terwijl na correctie "
        f"voor {n} gebieden (FDR, alpha {_nl(alpha)}) minimaal {_nl(alpha / n)} nodig is. "
        f"Gebruik minstens {need} permutaties, analyseer op buurtniveau, of kies "
        "inference='normaal'."
    )


def _levels_note(n: int, permutations: int, alpha: float, inference: str) -> str:
    if inference != "permutatie":
        return ""
    lost = [lvl for lvl in LEVELS if not fdr_reachable(n, permutations, lvl)]
    if not lost:
        return ""
    return (
        "Met "
        f"{permutations} permutaties kan een los gebied niet het niveau "
        + ", ".join(f"{round((1 - lvl) * 100)}%" for lvl in lost)
        + f" halen (daarvoor {required_permutations(n, min(lost))} permutaties)."
    )


def hotspots(
    units: gpd.GeoDataFrame,
    values: str | np.ndarray | pd.Series,
    *,
    exposure: str | pd.Series | np.ndarray | None = None,
    adjustment: str = "eb",
    weights: str = "queen",
    distance: float | None = None,
    permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    inference: str = "permutatie",
    n_jobs: int = 1,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots with BH-FDR correction.

    Parameters
    ----------
    units : GeoDataFrame
        Buurten or grid cells in EPSG:28992.
    values : column name or array
        Event counts per unit.
    exposure : column name, Series (by ``cel_id``) or array, optional
        Addresses per unit; counts are adjusted as set by ``adjustment``.
    adjustment : {"eb", "overschot", "geen"}
        Empirical-Bayes rate (default), excess count, or raw values. Ignored without
        exposure.
    weights : {"queen", "distance"}
        Queen contiguity or a binary distance band of ``distance`` metres (centroids).
    permutations : int
        Conditional permutations for pseudo p-values (fixed ``seed``).
    alpha : float
        FDR level for ``significant``; classes use 1%, 5% and 10%.
    inference : {"permutatie", "normaal"}
        Permutation pseudo p-values (default) or analytic z-score p-values.

    Returns
    -------
    GeoDataFrame
        Copy of ``units`` with waarde, gi_z, p_sim (two-sided), p_fdr (BH-adjusted),
        significant, klasse (Dutch class). ``.attrs["melding"]`` holds a Dutch note when
        significance could not (fully) be assessed.
    """
    _check_common(units, permutations, alpha, inference)
    counts = _resolve_values(units, values)
    expo = exposure_array(units, exposure)
    y = adjusted_values(counts, expo, adjustment)
    if expo is not None and adjustment == "overschot":
        # Gi* divides by the sum of the values, which is 0 for excess counts; adding a
        # constant changes neither the binary-weights Gi* z-score nor the permutation rank.
        y = y - y.min() + 1.0
    if (y < 0).any():
        raise ConfigError(
            "Gi* vereist niet-negatieve waarden; kies adjustment='eb' of 'overschot'."
        )
    n = len(units)
    out = units.copy()
    out["waarde"] = y
    melding = ""
    if np.ptp(y) == 0:
        z = np.zeros(n)
        p = np.ones(n)
        melding = "Alle waarden zijn gelijk; er zijn geen hot of cold spots."
    else:
        import esda

        w = _weights(units, weights, distance)
        with _quiet_esda():
            g = esda.G_Local(
                y,
                w,
                transform="B",
                star=True,
                permutations=permutations if inference == "permutatie" else 0,
                seed=seed,
                n_jobs=n_jobs,
                keep_simulations=False,
            )
        z = np.asarray(g.Zs, dtype=float)
        if inference == "permutatie":
            p = np.minimum(1.0, 2 * np.asarray(g.p_sim, dtype=float))
        else:
            p = 2 * stats.norm.sf(np.abs(z))
    out["gi_z"] = z
    out["p_sim"] = p
    return _classify(out, z, p, n, permutations, alpha, inference, melding, hot_cold=True)


def _classify(
    out, direction, p, n, permutations, alpha, inference, melding, *, hot_cold, quad=None
):
    reachable = inference == "normaal" or fdr_reachable(n, permutations, alpha)
    if not reachable:
        melding = _refusal(n, permutations, alpha)
        logger.warning(melding)
        out["p_fdr"] = np.nan
        out["significant"] = False
        out["klasse"] = pd.Series(NOT_ASSESSABLE, index=out.index, dtype="string")
        out.attrs["melding"] = melding
        return out
    p_fdr = benjamini_hochberg(p)
    out["p_fdr"] = p_fdr
    out["significant"] = p_fdr <= alpha
    if hot_cold:
        labels = np.full(n, NOT_SIGNIFICANT, dtype=object)
        for lvl in sorted(LEVELS, reverse=True):  # strictest level written last
            hit = p_fdr <= lvl
            labels[hit & (direction > 0)] = HOT[lvl]
            labels[hit & (direction < 0)] = COLD[lvl]
    else:
        labels = np.where(
            out["significant"].to_numpy(),
            pd.Series(quad).map(MORAN_LABELS).to_numpy(),
            NOT_SIGNIFICANT,
        )
    out["klasse"] = pd.Series(labels, index=out.index, dtype="string")
    note = _levels_note(n, permutations, alpha, inference)
    out.attrs["melding"] = " ".join(t for t in (melding, note) if t)
    return out


def local_moran(
    units: gpd.GeoDataFrame,
    values: str | np.ndarray | pd.Series,
    *,
    exposure: str | pd.Series | np.ndarray | None = None,
    adjustment: str = "eb",
    weights: str = "queen",
    distance: float | None = None,
    permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    inference: str = "permutatie",
    n_jobs: int = 1,
) -> gpd.GeoDataFrame:
    """Local Moran's I cluster labels (HH/LH/LL/HL) with BH-FDR, as a second view.

    Same parameters and refusal rule as :func:`hotspots` (row-standardised weights).

    Returns
    -------
    GeoDataFrame
        Copy of ``units`` with waarde, moran_i, moran_z, kwadrant (1 HH, 2 LH, 3 LL, 4 HL),
        p_sim (two-sided), p_fdr, significant, klasse.
    """
    _check_common(units, permutations, alpha, inference)
    counts = _resolve_values(units, values)
    y = adjusted_values(counts, exposure_array(units, exposure), adjustment)
    n = len(units)
    out = units.copy()
    out["waarde"] = y
    if np.ptp(y) == 0:
        out["moran_i"] = 0.0
        out["moran_z"] = 0.0
        out["kwadrant"] = 0
        out["p_sim"] = 1.0
        return _classify(
            out,
            None,
            np.ones(n),
            n,
            permutations,
            alpha,
            inference,
            "Alle waarden zijn gelijk; er zijn geen clusters.",
            hot_cold=False,
            quad=np.zeros(n, int),
        )
    import esda

    w = _weights(units, weights, distance)
    with _quiet_esda():
        m = esda.Moran_Local(
            y,
            w,
            transformation="r",
            permutations=permutations if inference == "permutatie" else 0,
            seed=seed,
            n_jobs=n_jobs,
            keep_simulations=False,
        )
    out["moran_i"] = np.asarray(m.Is, dtype=float)
    # units without neighbours have zero variance: their analytic z is undefined (NaN)
    variance = np.asarray(m.VI, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        analytic_z = np.where(
            variance > 0,
            (np.asarray(m.Is, float) - np.asarray(m.EI, float)) / np.sqrt(variance),
            np.nan,
        )
    out["moran_z"] = np.asarray(m.z_sim, dtype=float) if inference == "permutatie" else analytic_z
    out["kwadrant"] = np.asarray(m.q, dtype=int)
    if inference == "permutatie":
        p = np.minimum(1.0, 2 * np.asarray(m.p_sim, dtype=float))
    else:
        p = 2 * stats.norm.sf(np.abs(analytic_z))
    out["p_sim"] = p
    return _classify(
        out,
        None,
        p,
        n,
        permutations,
        alpha,
        inference,
        "",
        hot_cold=False,
        quad=out["kwadrant"].to_numpy(),
    )

"""Hot spots: Getis-Ord Gi* and local Moran's I, corrected for addresses, with BH-FDR.

**Gi\\* with an exact test (default, ``inference="exact"``).** Getis and Ord's statistic with
binary weights and the unit itself included is the share of all events that falls in a unit's
neighbourhood: ``G*_i = O_i / N`` with ``O_i`` the events in the unit and its neighbours. The
null hypothesis of the analysis is that events fall *uniformly per address*; given the total
``N`` the count ``O_i`` is then binomial with ``p_i`` = the neighbourhood's share of all
addresses (exposure). The p-value is exact (binomial tails, two-sided as twice the smaller
tail), so it can be as small as a large grid needs for BH-FDR: no permutation floor, never
"not assessable", and no normal approximation of a skewed statistic (the analytic Gi* z on
empirical-Bayes rates gave false hot spots in 10 of 20 null worlds, see docs/method-rtm.md).
Counts must be whole numbers (events, not weights).

**Permutation Gi\\* (``inference="permutatie"``).** The classical version: esda's conditional
permutations on exposure-adjusted values (empirical-Bayes rate by default). With P
permutations the smallest two-sided pseudo p-value is 2/(P+1); when that cannot pass BH for a
single unit (``2/(P+1) > q/n``) every unit is "Niet te beoordelen" with a note saying how many
permutations are needed.

**Units without neighbours** ("Geen buren": e.g. a farm cell with no inhabited neighbour
cell, a buurt across water) have no local cluster statistic: their neighbourhood is only
themselves, so permuting neighbours changes nothing (esda then returns the smallest possible
pseudo p-value) and a "cluster" of one unit is no cluster. They get class "Geen buren", no p-
value, and stay out of the FDR family. A single unit's excess is what the per-buurt excess
test (:mod:`bcba.excess`) is for.

**Significance.** BH-FDR over the units with neighbours; ``significant`` is ``p_fdr <=
alpha`` (default 0.05): only the 95% and 99% classes. "Hot spot 90%" (``p_fdr <= 0.10``) is a
weaker class for maps, never "significant".
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
import shapely
from scipy import sparse, stats
from scipy.spatial import cKDTree
from statsmodels.stats.multitest import multipletests

from bcba.errors import ConfigError
from bcba.rtm import check_crs, exposure_array

logger = logging.getLogger(__name__)

LEVELS = (0.01, 0.05, 0.10)
NOT_ASSESSABLE = "Niet te beoordelen"
NOT_SIGNIFICANT = "Niet significant"
NO_NEIGHBOURS = "Geen buren"
HOT = {0.01: "Hot spot 99%", 0.05: "Hot spot 95%", 0.10: "Hot spot 90%"}
COLD = {0.01: "Cold spot 99%", 0.05: "Cold spot 95%", 0.10: "Cold spot 90%"}
GI_CLASSES = [
    *HOT.values(),
    NOT_SIGNIFICANT,
    *reversed(COLD.values()),
    NO_NEIGHBOURS,
    NOT_ASSESSABLE,
]
MORAN_LABELS = {
    1: "Hoog-hoog (HH)",
    2: "Laag-hoog (LH)",
    3: "Laag-laag (LL)",
    4: "Hoog-laag (HL)",
}
ADJUSTMENTS = ("eb", "overschot", "geen")
INFERENCES = ("exact", "permutatie")

_ESDA_ALTERNATIVE_WARNING = "The alternative hypothesis for conditional randomization"


def required_permutations(n: int, alpha: float) -> int:
    """Smallest number of permutations P with ``2/(P+1) <= alpha/n`` (see module doc)."""
    return max(math.ceil(2 * n / alpha) - 1, 1)


def fdr_reachable(n: int, permutations: int, alpha: float) -> bool:
    """Whether one unit on its own can be significant after BH-FDR at level ``alpha``."""
    return 2 / (permutations + 1) <= alpha / n * (1 + 1e-12)


def benjamini_hochberg(p: np.ndarray | Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (reject at level q where adjusted <= q).

    Missing p-values (NaN: units not tested) stay NaN and are not part of the family.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = multipletests(p[tested], method="fdr_bh")[1]
    return out


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
    """Values analysed by the permutation statistics: EB rate, excess count, or raw counts."""
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


def exact_gi_star(
    counts: np.ndarray, exposure: np.ndarray | None, neighbours: sparse.spmatrix
) -> pd.DataFrame:
    """Gi* with the exact binomial test of "events uniform per address" (see module doc).

    Parameters
    ----------
    counts : array of int
        Events per unit.
    exposure : array or None
        Addresses per unit; None gives every unit the same weight (classical Gi* null).
    neighbours : sparse (n, n) 0/1 matrix
        Binary neighbours without the unit itself.

    Returns
    -------
    DataFrame
        buren (neighbours), waargenomen (O_i, events in the neighbourhood incl. the unit),
        verwacht (N p_i), gi (O_i / N), gi_z ((O_i - N p_i) / sqrt(N p_i (1 - p_i))),
        p_hoog (P(X >= O_i)), p_laag (P(X <= O_i)), p (two-sided: min(1, 2 min)).
    """
    y = np.asarray(counts, dtype=float)
    if (y < 0).any() or not np.allclose(y, np.round(y)):
        raise ConfigError(
            "De exacte Gi*-toets telt meldingen: de aantallen moeten gehele getallen >= 0 zijn."
        )
    y = np.round(y).astype(np.int64)
    e = np.ones(len(y)) if exposure is None else np.asarray(exposure, dtype=float)
    if e.sum() <= 0:
        raise ConfigError("De blootstelling is overal 0; corrigeren voor adressen kan niet.")
    w = sparse.csr_matrix(neighbours, dtype=float)
    n_total = int(y.sum())
    observed = y + np.rint(w @ y).astype(np.int64)
    share = np.clip((e + w @ e) / e.sum(), 0.0, 1.0)
    expected = n_total * share
    p_high = stats.binom.sf(observed - 1, n_total, share)
    p_low = stats.binom.cdf(observed, n_total, share)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(n_total * share * (1 - share))
        z = np.where(sd > 0, (observed - expected) / sd, 0.0)
    return pd.DataFrame(
        {
            "buren": np.diff(w.indptr).astype(int),
            "waargenomen": observed,
            "verwacht": expected,
            "gi": observed / n_total if n_total > 0 else np.zeros(len(y)),
            "gi_z": z,
            "p_hoog": p_high,
            "p_laag": p_low,
            "p": np.minimum(1.0, 2 * np.minimum(p_high, p_low)),
        }
    )


@contextlib.contextmanager
def _quiet_esda():
    """Silence known, expected third-party warnings (and only those).

    * esda's conditional randomisation warns that its default alternative hypothesis will
      change; G_Local/Moran_Local offer no argument to set it, and we make the (directed)
      pseudo p-value two-sided ourselves;
    * libpysal's W warns about islands and disconnected parts (cells across water), which
      are expected (islands get "Geen buren"), even with ``silence_warnings=True`` when esda
      rebuilds the weights.
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


def _check_weights(weights: str, distance: float | None) -> None:
    if weights not in ("queen", "distance"):
        raise ConfigError(f"weights moet 'queen' of 'distance' zijn, kreeg {weights!r}.")
    if weights == "distance" and (distance is None or not distance > 0):
        raise ConfigError(
            f"Bij weights='distance' is een positieve 'distance' (m) nodig, kreeg {distance!r}."
        )


def spatial_weights(units: gpd.GeoDataFrame, weights: str = "queen", distance: float | None = None):
    """Binary libpysal weights: Queen contiguity or a distance band (m) between centroids.

    On a 100 m grid a band of 150 m is the Queen neighbourhood (the 8 surrounding cells).
    """
    from libpysal import weights as lw

    _check_weights(weights, distance)
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


def neighbour_matrix(
    units: gpd.GeoDataFrame, weights: str = "queen", distance: float | None = None
) -> sparse.csr_matrix:
    """Binary neighbours (without the unit itself) as a sparse matrix.

    The same neighbours as :func:`spatial_weights`; a distance band is found with a k-d tree
    on the centroids (milliseconds for a city grid, where libpysal's band takes ~0.2-0.6 s).
    """
    if weights == "distance":
        _check_weights(weights, distance)
        xy = shapely.get_coordinates(shapely.centroid(units.geometry.values))
        tree = cKDTree(xy)
        pairs = tree.sparse_distance_matrix(tree, float(distance), output_type="coo_matrix")
        off = pairs.row != pairs.col
        n = len(units)
        return sparse.csr_matrix(
            (np.ones(int(off.sum())), (pairs.row[off], pairs.col[off])), shape=(n, n)
        )
    return sparse.csr_matrix(spatial_weights(units, weights, distance).sparse)


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


def _check_common(units, permutations, alpha, inference, allowed=INFERENCES) -> None:
    check_crs(units, "units")
    if len(units) < 3:
        raise ConfigError(f"Te weinig gebieden ({len(units)}) voor een hotspotanalyse.")
    if inference not in allowed:
        raise ConfigError(
            f"inference moet een van {', '.join(map(repr, allowed))} zijn, kreeg {inference!r}."
        )
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
        f"Gebruik minstens {need} permutaties of inference='exact'."
    )


def _levels_note(n: int, permutations: int, inference: str) -> str:
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


def _islands_note(n_islands: int) -> str:
    if not n_islands:
        return ""
    return (
        f"{n_islands} {'gebied heeft' if n_islands == 1 else 'gebieden hebben'} geen buren "
        "en {} daarom niet getoetst (klasse 'Geen buren').".format(
            "is" if n_islands == 1 else "zijn"
        )
    )


def hotspots(
    units: gpd.GeoDataFrame,
    values: str | np.ndarray | pd.Series,
    *,
    exposure: str | pd.Series | np.ndarray | None = None,
    adjustment: str = "eb",
    weights: str = "queen",
    distance: float | None = None,
    inference: str = "exact",
    permutations: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
    n_jobs: int = 1,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot and cold spots with BH-FDR over the units that have neighbours.

    Parameters
    ----------
    units : GeoDataFrame
        Buurten or grid cells in EPSG:28992. Leave out units without addresses: under the
        "uniform per address" null they cannot hold events.
    values : column name or array
        Number of events per unit (whole numbers for ``inference="exact"``).
    exposure : column name, Series (by ``cel_id``) or array, optional
        Addresses per unit.
    adjustment : {"eb", "overschot", "geen"}
        Only for ``inference="permutatie"``: empirical-Bayes rate (default), excess count or
        raw values. The exact test uses the exposure directly.
    weights : {"queen", "distance"}
        Queen contiguity or a binary distance band of ``distance`` metres (centroids).
    inference : {"exact", "permutatie"}
        Exact binomial test of the neighbourhood count (default) or esda's conditional
        permutations (``permutations``, fixed ``seed``).
    alpha : float
        FDR level of ``significant``; classes use 1%, 5% and 10%.

    Returns
    -------
    GeoDataFrame
        Copy of ``units`` with waarde (the analysed values), buren, gi_z, p (two-sided; NaN
        without neighbours), p_fdr (BH-adjusted), significant (``p_fdr <= alpha``), hotspot
        (significant and ``gi_z > 0``), klasse (Dutch class); the exact test adds
        waargenomen and verwacht (events in the neighbourhood, observed and expected from the
        addresses) and gi. ``.attrs["melding"]`` holds a Dutch note (islands, refusal).
    """
    _check_common(units, permutations, alpha, inference)
    counts = _resolve_values(units, values)
    expo = exposure_array(units, exposure)
    n = len(units)
    out = units.copy()
    if inference == "exact":
        w = None
        w_sparse = neighbour_matrix(units, weights, distance)
    else:
        w = spatial_weights(units, weights, distance)
        w_sparse = sparse.csr_matrix(w.sparse)
    n_neighbours = np.diff(w_sparse.indptr)
    islands = n_neighbours == 0
    if inference == "exact":
        table = exact_gi_star(counts, expo, w_sparse)
        out["waarde"] = counts
        for col in ("buren", "waargenomen", "verwacht", "gi", "gi_z"):
            out[col] = table[col].to_numpy()
        z = table["gi_z"].to_numpy()
        p = table["p"].to_numpy().copy()
        melding = ""
    else:
        y = adjusted_values(counts, expo, adjustment)
        if expo is not None and adjustment == "overschot":
            # Gi* divides by the sum of the values, which is 0 for excess counts; adding a
            # constant changes neither the binary-weights Gi* z-score nor the permutation rank.
            y = y - y.min() + 1.0
        if (y < 0).any():
            raise ConfigError(
                "Gi* vereist niet-negatieve waarden; kies adjustment='eb' of 'overschot'."
            )
        out["waarde"] = y
        out["buren"] = n_neighbours
        melding = ""
        if np.ptp(y) == 0:
            z = np.zeros(n)
            p = np.ones(n)
            melding = "Alle waarden zijn gelijk; er zijn geen hot of cold spots."
        else:
            import esda

            with _quiet_esda():
                g = esda.G_Local(
                    y,
                    w,
                    transform="B",
                    star=True,
                    permutations=permutations,
                    seed=seed,
                    n_jobs=n_jobs,
                    keep_simulations=False,
                )
            z = np.asarray(g.Zs, dtype=float)
            p = np.minimum(1.0, 2 * np.asarray(g.p_sim, dtype=float))
        out["gi_z"] = z
    p[islands] = np.nan
    out["p"] = p
    return _classify(
        out, p, permutations, alpha, inference, melding, islands=islands, hot_cold=True
    )


def _classify(out, p, permutations, alpha, inference, melding, *, islands, hot_cold, quad=None):
    n_tested = int((~islands).sum())
    notes = [melding, _islands_note(int(islands.sum()))]
    reachable = inference != "permutatie" or fdr_reachable(max(n_tested, 1), permutations, alpha)
    if not reachable:
        refusal = _refusal(n_tested, permutations, alpha)
        logger.warning(refusal)
        out["p_fdr"] = np.nan
        out["significant"] = False
        if hot_cold:
            out["hotspot"] = False
        labels = np.where(islands, NO_NEIGHBOURS, NOT_ASSESSABLE)
        out["klasse"] = pd.Series(labels, index=out.index, dtype="string")
        out.attrs["melding"] = " ".join(t for t in (refusal, *notes) if t)
        return out
    notes.append(_levels_note(n_tested, permutations, inference))
    out.attrs["melding"] = " ".join(t for t in notes if t)
    if hot_cold:
        return apply_fdr(out, benjamini_hochberg(p), alpha=alpha)
    p_fdr = benjamini_hochberg(p)
    significant = np.nan_to_num(p_fdr, nan=1.0) <= alpha
    out["p_fdr"] = p_fdr
    out["significant"] = significant
    labels = np.where(significant, pd.Series(quad).map(MORAN_LABELS).to_numpy(), NOT_SIGNIFICANT)
    out["klasse"] = pd.Series(
        np.where(islands, NO_NEIGHBOURS, labels), index=out.index, dtype="string"
    )
    return out


def apply_fdr(frame: gpd.GeoDataFrame, p_fdr: np.ndarray, *, alpha: float = 0.05):
    """Set p_fdr, significant, hotspot and klasse of a Gi* result from adjusted p-values.

    Used by :func:`hotspots` (BH over its own units) and by
    :func:`bcba.spatial.joint_fdr` (BH over every test of a report). Units without a p-value
    (no neighbours) keep "Geen buren". Returns a copy.
    """
    out = frame.copy()
    p_fdr = np.asarray(p_fdr, dtype=float)
    direction = out["gi_z"].to_numpy(dtype=float)
    islands = out["p"].isna().to_numpy()
    adjusted = np.nan_to_num(p_fdr, nan=1.0)
    significant = adjusted <= alpha
    out["p_fdr"] = p_fdr
    out["significant"] = significant
    out["hotspot"] = significant & (direction > 0)
    labels = np.full(len(out), NOT_SIGNIFICANT, dtype=object)
    for lvl in sorted(LEVELS, reverse=True):  # strictest level written last
        hit = adjusted <= lvl
        labels[hit & (direction > 0)] = HOT[lvl]
        labels[hit & (direction < 0)] = COLD[lvl]
    labels[islands] = NO_NEIGHBOURS
    out["klasse"] = pd.Series(labels, index=out.index, dtype="string")
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
    n_jobs: int = 1,
) -> gpd.GeoDataFrame:
    """Local Moran's I cluster labels (HH/LH/LL/HL) with BH-FDR, as a second view.

    Conditional permutations (esda, row-standardised weights) of the exposure-adjusted values;
    units without neighbours are "Geen buren" and outside the FDR family; the refusal rule of
    :func:`hotspots` applies when ``permutations`` cannot reach the FDR threshold.

    Returns
    -------
    GeoDataFrame
        Copy of ``units`` with waarde, buren, moran_i, moran_z, kwadrant (1 HH, 2 LH, 3 LL,
        4 HL), p (two-sided), p_fdr, significant, klasse.
    """
    _check_common(units, permutations, alpha, "permutatie")
    counts = _resolve_values(units, values)
    y = adjusted_values(counts, exposure_array(units, exposure), adjustment)
    n = len(units)
    out = units.copy()
    out["waarde"] = y
    w = spatial_weights(units, weights, distance)
    out["buren"] = np.diff(sparse.csr_matrix(w.sparse).indptr)
    islands = out["buren"].to_numpy() == 0
    if np.ptp(y) == 0:
        out["moran_i"] = 0.0
        out["moran_z"] = 0.0
        out["kwadrant"] = 0
        p = np.where(islands, np.nan, 1.0)
        out["p"] = p
        return _classify(
            out,
            p,
            permutations,
            alpha,
            "permutatie",
            "Alle waarden zijn gelijk; er zijn geen clusters.",
            islands=islands,
            hot_cold=False,
            quad=np.zeros(n, int),
        )
    import esda

    with _quiet_esda():
        m = esda.Moran_Local(
            y,
            w,
            transformation="r",
            permutations=permutations,
            seed=seed,
            n_jobs=n_jobs,
            keep_simulations=False,
        )
    out["moran_i"] = np.asarray(m.Is, dtype=float)
    out["moran_z"] = np.where(islands, np.nan, np.asarray(m.z_sim, dtype=float))
    out["kwadrant"] = np.asarray(m.q, dtype=int)
    p = np.minimum(1.0, 2 * np.asarray(m.p_sim, dtype=float))
    p[islands] = np.nan
    out["p"] = p
    return _classify(
        out,
        p,
        permutations,
        alpha,
        "permutatie",
        "",
        islands=islands,
        hot_cold=False,
        quad=out["kwadrant"].to_numpy(),
    )

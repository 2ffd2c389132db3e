"""Per-buurt excess test: more partner events than the buurt's addresses explain?

Gi* looks for clusters of neighbouring units; a single buurt with many events among quiet
neighbours is what this test is for. Per buurt ``i`` with ``e_i`` BAG addresses and ``y_i``
events of a theme:

* expected ``mu_i = r e_i`` with ``r = sum y / sum e`` (the municipality's rate per address);
* ratio ``y_i / mu_i`` with an exact 95% interval (the test below inverted: Garwood's
  gamma interval when there is no over-dispersion);
* one-sided p-values ``P(Y >= y_i)`` under Poisson(``mu_i``) and under a negative binomial
  with mean ``mu_i`` and variance ``mu_i + a mu_i^2`` (NB2). The over-dispersion ``a`` is the
  moment estimate ``sum[(y - mu)^2 - y] / sum mu^2`` (floored at 0) over the *other* buurten
  (leave-one-out), so a buurt's own excess does not widen its own null;
* Benjamini-Hochberg over the buurten tested; ``verhoogd`` when ``q <= alpha``.

The reported test is the negative binomial: buurten differ in more than chance alone
(population, housing, enforcement), and a buurt should be called "verhoogd" only when it
stands out against that normal variation between buurten. Without over-dispersion ``a`` is 0
and the test *is* the Poisson test, so nothing is lost on clean data.

Events are counted, not weighted: a weight (``gewicht``) is no number of observations.
Small buurten (``klein_gebied``) and buurten without addresses are shown with their counts
but not tested, not in the FDR family, and not ranked: a handful of households says nothing
about a buurt and would be recognisable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from bcba.errors import ConfigError
from bcba.hotspots import benjamini_hochberg

TESTS = ("nb", "poisson")
TEST_LABELS = {"nb": "negatief-binomiaal", "poisson": "Poisson"}


def dispersion_moments(counts: np.ndarray, expected: np.ndarray) -> float:
    """Moment estimate of the NB2 over-dispersion ``a`` (``Var = mu + a mu^2``), floored at 0.

    ``E[(y - mu)^2 - y] = a mu^2``, so ``a = sum[(y - mu)^2 - y] / sum mu^2``.
    """
    y = np.asarray(counts, dtype=float)
    mu = np.asarray(expected, dtype=float)
    denominator = float((mu**2).sum())
    if denominator <= 0:
        return 0.0
    return max(float((((y - mu) ** 2) - y).sum()) / denominator, 0.0)


def _leave_one_out_dispersion(y: np.ndarray, mu: np.ndarray, used: np.ndarray) -> np.ndarray:
    """:func:`dispersion_moments` over the ``used`` units other than each unit itself."""
    num = np.where(used, (y - mu) ** 2 - y, 0.0)
    den = np.where(used, mu**2, 0.0)
    num_rest = num.sum() - num
    den_rest = den.sum() - den
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(den_rest > 0, num_rest / den_rest, 0.0)
    return np.maximum(a, 0.0)


def upper_tail(y: np.ndarray, mu: np.ndarray, a: np.ndarray | float = 0.0) -> np.ndarray:
    """``P(Y >= y)`` for Poisson(``mu``) (``a == 0``) or NB2(``mu``, ``a``).

    Through the regularised incomplete gamma and beta functions (what scipy.stats uses for
    these tails, without its per-call overhead in the interval search): Poisson
    ``P(Y >= y) = P(y, mu)``; NB with size ``r = 1/a`` and ``p = r / (r + mu)``:
    ``P(Y >= y) = I_{1-p}(y, r)``.
    """
    y, mu, a = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, mu, a)))
    out = np.ones(y.shape)
    pos = y > 0
    nb = pos & (a > 1e-10)
    pois = pos & ~nb
    out[pois] = special.gammainc(y[pois], mu[pois])
    if nb.any():
        size = 1.0 / a[nb]
        out[nb] = special.betainc(y[nb], size, mu[nb] / (size + mu[nb]))
    return out


def lower_tail(y: np.ndarray, mu: np.ndarray, a: np.ndarray | float = 0.0) -> np.ndarray:
    """``P(Y <= y)`` for Poisson(``mu``) (``a == 0``) or NB2(``mu``, ``a``).

    Poisson ``P(Y <= y) = Q(y + 1, mu)``; NB ``P(Y <= y) = I_p(r, y + 1)``.
    """
    y, mu, a = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, mu, a)))
    out = np.empty(y.shape)
    nb = a > 1e-10
    out[~nb] = special.gammaincc(y[~nb] + 1, mu[~nb])
    if nb.any():
        size = 1.0 / a[nb]
        out[nb] = special.betainc(size, y[nb] + 1, size / (size + mu[nb]))
    return out


def _solve_log(f, target: float, lo: np.ndarray, hi: np.ndarray, *, increasing: bool):
    """Solve ``f(m) = target`` for every unit by bisection on ``log m``; ``f`` monotone in m.

    ``hi`` is widened first until it brackets the root (NB tails can be heavy).
    """
    for _ in range(200):
        short = (f(np.exp(hi)) < target) if increasing else (f(np.exp(hi)) > target)
        if not short.any():
            break
        hi = np.where(short, hi + 2.0, hi)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = (f(np.exp(mid)) < target) if increasing else (f(np.exp(mid)) > target)
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return np.exp((lo + hi) / 2)


def mean_interval(
    y: np.ndarray, a: np.ndarray | float = 0.0, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact interval for the mean of one count ``y`` by inverting the one-sided tails.

    Lower bound: ``P(Y >= y | m) = (1 - level) / 2`` (0 when ``y == 0``); upper bound:
    ``P(Y <= y | m) = (1 - level) / 2``. Poisson when ``a == 0`` (then Garwood's interval),
    NB2 with over-dispersion ``a`` otherwise; solved for all units at once.
    """
    y = np.asarray(y, dtype=float)
    a = np.broadcast_to(np.asarray(a, dtype=float), y.shape)
    tail = (1 - level) / 2
    low = np.zeros(y.shape)
    pos = y > 0
    if pos.any():
        yp, ap = y[pos], a[pos]
        low[pos] = _solve_log(
            lambda m: upper_tail(yp, m, ap),
            tail,
            np.full(yp.shape, -30.0),
            np.log(yp) + 1.0,
            increasing=True,
        )
    start = np.log(np.maximum(y, 0.5))
    high = _solve_log(
        lambda m: lower_tail(y, m, a), tail, start - 1.0, start + 2.0, increasing=False
    )
    return low, high


def verhoogd(q: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    """``verhoogd``: BH-adjusted p-value at most ``alpha`` (untested units: False)."""
    return np.nan_to_num(np.asarray(q, dtype=float), nan=1.0) <= alpha


def excess_test(
    units: pd.DataFrame,
    counts: np.ndarray | pd.Series,
    exposure: np.ndarray | pd.Series,
    *,
    small: np.ndarray | pd.Series | None = None,
    test: str = "nb",
    alpha: float = 0.05,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per-unit excess of events over the expectation from addresses (see module doc).

    Parameters
    ----------
    units : DataFrame or GeoDataFrame
        One row per buurt (kept columns, e.g. buurtcode, buurtnaam, geometry).
    counts : array
        Number of events per unit (whole numbers).
    exposure : array
        Addresses per unit.
    small : bool array, optional
        ``klein_gebied`` per unit: shown, not tested, not ranked.
    test : {"nb", "poisson"}
        The reported test (``p``, ``q``, ``verhoogd``, interval); both p-values are always
        given (``p_poisson``, ``p_nb``).
    alpha : float
        FDR level of ``verhoogd``.
    level : float
        Confidence level of the ratio interval.

    Returns
    -------
    DataFrame (GeoDataFrame when ``units`` is one)
        Copy of ``units`` with adressen, waargenomen, verwacht, ratio, ratio_laag, ratio_hoog,
        p_poisson, p_nb, p, q, verhoogd, klein_gebied, getoetst, rang (1 = the highest lower
        bound of the ratio among tested units; NA when not tested). ``.attrs``: ``toets``
        (Dutch name of the reported test), ``dispersie`` (moment estimate over all tested
        units), ``tempo`` (events per address), ``melding``.
    """
    if test not in TESTS:
        raise ConfigError(f"test moet een van {TESTS} zijn, kreeg {test!r}.")
    if not 0 < alpha < 1 or not 0 < level < 1:
        raise ConfigError(
            f"alpha en level moeten tussen 0 en 1 liggen, kreeg {alpha!r}, {level!r}."
        )
    y = np.asarray(counts, dtype=float)
    e = np.asarray(exposure, dtype=float)
    n = len(units)
    if y.shape != (n,) or e.shape != (n,):
        raise ConfigError(f"counts en exposure moeten lengte {n} hebben (één per gebied).")
    if np.isnan(y).any() or (y < 0).any() or not np.allclose(y, np.round(y)):
        raise ConfigError("counts moeten gehele aantallen meldingen >= 0 zijn.")
    if np.isnan(e).any() or (e < 0).any():
        raise ConfigError("exposure (aantal adressen) moet >= 0 zijn en mag niet leeg zijn.")
    small_mask = np.zeros(n, bool) if small is None else np.asarray(small, dtype=bool)
    has_addresses = e > 0
    tested = has_addresses & ~small_mask
    out = units.copy()
    rate = y[has_addresses].sum() / e[has_addresses].sum() if has_addresses.any() else np.nan
    mu = e * rate if has_addresses.any() else np.zeros(n)
    a_loo = _leave_one_out_dispersion(y, mu, tested)
    a_all = dispersion_moments(y[tested], mu[tested])
    p_poisson = np.full(n, np.nan)
    p_nb = np.full(n, np.nan)
    p_poisson[tested] = upper_tail(y[tested], mu[tested])
    p_nb[tested] = upper_tail(y[tested], mu[tested], a_loo[tested])
    p = p_nb if test == "nb" else p_poisson
    q = benjamini_hochberg(p)
    a_used = a_loo if test == "nb" else np.zeros(n)
    low = np.full(n, np.nan)
    high = np.full(n, np.nan)
    shown = has_addresses & (mu > 0)
    if shown.any():
        m_low, m_high = mean_interval(y[shown], a_used[shown], level=level)
        low[shown] = m_low / mu[shown]
        high[shown] = m_high / mu[shown]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mu > 0, y / mu, np.nan)
    out["adressen"] = e
    out["waargenomen"] = y.astype(int)
    out["verwacht"] = mu
    out["ratio"] = ratio
    out["ratio_laag"] = low
    out["ratio_hoog"] = high
    out["p_poisson"] = p_poisson
    out["p_nb"] = p_nb
    out["p"] = p
    out["q"] = q
    out["verhoogd"] = verhoogd(q, alpha=alpha)
    out["klein_gebied"] = small_mask | ~has_addresses
    out["getoetst"] = tested
    order = pd.Series(np.where(tested, low, np.nan), index=out.index)
    out["rang"] = order.rank(ascending=False, method="min").astype("Int64")
    out.attrs["toets"] = TEST_LABELS[test]
    out.attrs["dispersie"] = a_all
    out.attrs["tempo"] = float(rate) if has_addresses.any() else float("nan")
    n_small = int((~tested).sum())
    out.attrs["melding"] = (
        f"{n_small} {'gebied is' if n_small == 1 else 'gebieden zijn'} te klein of zonder "
        "adressen en niet getoetst."
        if n_small
        else ""
    )
    return out

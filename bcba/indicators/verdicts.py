"""Verdict words and their thresholds: the one place where a figure becomes a Dutch word.

Every sentence of the indicator analysis that calls something "hoog", "verhoogd" or "vaak
genoemd" takes the word from :data:`VERDICT_RULES`; a value that passes no rule gets no word
and no sentence. The thresholds are ratios to the municipal average (1 = average), on
shrunk values, so a buurt at about the average is never called high. The reading of the bias
diagnostics (:data:`SAMENHANG_RULES`) and the Dutch text of rank intervals live here too.
See docs/method.md, sections 8 and 11.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Label of a buurt that is too small to rank (``klein_gebied``).
KLEIN_GEBIED = "klein gebied"


@dataclass(frozen=True)
class VerdictRule:
    """A Dutch word for an indicator value at or above a threshold.

    Attributes
    ----------
    indicator
        Indicator id (see :data:`bcba.themes.INDICATORS`).
    woord
        The word used in sentences and tables.
    min_verhouding
        The (shrunk) value divided by the municipal reference must be at least this.
    ondergrens_boven
        When True, the lower bound of the value's interval must lie above the reference too
        (only for indicators that carry an interval: partner rates and survey mentions).
    """

    indicator: str
    woord: str
    min_verhouding: float
    ondergrens_boven: bool = False


#: Rules per indicator, strongest first; the first rule that holds gives the word.
VERDICT_RULES: tuple[VerdictRule, ...] = (
    VerdictRule("kansstructuur_lq", "sterk oververtegenwoordigd", 2.0),
    VerdictRule("kansstructuur_lq", "oververtegenwoordigd", 1.5),
    VerdictRule("vlaggen_index", "hoog", 2.0),
    VerdictRule("vlaggen_index", "verhoogd", 1.5),
    VerdictRule("partner_per_1000_adressen", "hoog", 2.0, ondergrens_boven=True),
    VerdictRule("partner_per_1000_adressen", "verhoogd", 1.5, ondergrens_boven=True),
    VerdictRule("enquete_vermeldingen", "zeer vaak genoemd", 3.0, ondergrens_boven=True),
    VerdictRule("enquete_vermeldingen", "vaak genoemd", 2.0, ondergrens_boven=True),
)

#: Sentence templates of the score explanation; {woord}, {Woord}, {waarde}, {ratio} and
#: {detail} are filled in. A contribution without a verdict word gets no sentence.
SENTENCES = {
    "kansstructuur_lq": "Gelegenheidsstructuren {woord}{detail} (locatiequotiënt {waarde})",
    "vlaggen_index": "Risicosignalen uit KvK/Kadaster {woord}{detail} "
    "(gemiddeld {ratio}× de gemeente per 1.000 adressen)",
    "partner_per_1000_adressen": "Partnermeldingen {woord}{detail} "
    "({waarde} per 1.000 adressen na krimp; {ratio}× de gemeente)",
    "enquete_vermeldingen": "{Woord} in de enquête onder medewerkers "
    "({ratio}× de gemiddelde buurt na krimp; alleen gebieden met ≥ 5 respondenten)",
}

#: Bias reading: minimum |Spearman rho| -> word, strongest first (below the last: "zeer zwakke").
SAMENHANG_RULES: tuple[tuple[float, str], ...] = (
    (0.5, "sterke"),
    (0.3, "matige"),
    (0.1, "zwakke"),
)


def _finite(value) -> bool:
    return value is not None and not pd.isna(value) and math.isfinite(float(value))


def verdict(indicator: str, verhouding: float, ondergrens: float = np.nan) -> str | None:
    """The verdict word for one value (``verhouding`` = value / reference), or None.

    ``ondergrens`` is the lower interval bound divided by the reference (NaN: no interval).
    """
    if not _finite(verhouding):
        return None
    for rule in VERDICT_RULES:
        if rule.indicator != indicator or verhouding < rule.min_verhouding:
            continue
        if rule.ondergrens_boven and _finite(ondergrens) and ondergrens <= 1.0:
            continue
        return rule.woord
    return None


def verdicts(
    indicator: pd.Series, verhouding: pd.Series, ondergrens: pd.Series | None = None
) -> pd.Series:
    """:func:`verdict` for aligned Series; "" where no rule holds."""
    ratio = pd.to_numeric(verhouding, errors="coerce").astype(float)
    low = (
        pd.Series(np.nan, index=ratio.index)
        if ondergrens is None
        else pd.to_numeric(ondergrens, errors="coerce").astype(float)
    )
    out = pd.Series("", index=ratio.index, dtype="string")
    decided = pd.Series(False, index=ratio.index)
    ind = indicator.astype("string")
    for rule in VERDICT_RULES:
        hit = (ind == rule.indicator) & (ratio >= rule.min_verhouding) & ~decided
        if rule.ondergrens_boven:
            hit &= low.isna() | (low > 1.0)
        hit = hit.fillna(False).astype(bool)
        out[hit] = rule.woord
        decided |= hit
    return out


def samenhang_woord(rho: float, laag: float, hoog: float) -> str:
    """Strength of a rank correlation in Dutch: "geen aantoonbare" when the interval holds 0."""
    if not (_finite(rho) and _finite(laag) and _finite(hoog)):
        return "niet te bepalen"
    if laag <= 0.0 <= hoog:
        return "geen aantoonbare"
    for threshold, word in SAMENHANG_RULES:
        if abs(rho) >= threshold:
            return word
    return "zeer zwakke"


def rang_tekst(laag, hoog, *, klein_gebied: bool = False) -> str:
    """A rank interval in Dutch: ``"rang 2–6"``, ``"rang 1"`` or ``"klein gebied"``."""
    if klein_gebied:
        return KLEIN_GEBIED
    if not (_finite(laag) and _finite(hoog)):
        return "geen rang"
    lo, hi = int(laag), int(hoog)
    return f"rang {lo}" if lo == hi else f"rang {lo}–{hi}"


def rang_teksten(laag: pd.Series, hoog: pd.Series, klein_gebied: pd.Series) -> pd.Series:
    """:func:`rang_tekst` for aligned Series."""
    return pd.Series(
        [
            rang_tekst(lo, hi, klein_gebied=bool(k))
            for lo, hi, k in zip(laag, hoog, klein_gebied.fillna(False), strict=True)
        ],
        index=laag.index,
        dtype="string",
    )

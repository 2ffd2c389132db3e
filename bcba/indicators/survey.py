"""Survey indicators: perception per theme and wijk, area mentions, responses per department.

Small cells are suppressed to protect respondents: every cell with fewer than ``min_n``
respondents gets NaN values and ``onderdrukt = True``. A suppressed area mention does not count
in the scores either (docs/method.md, section 5): small numbers are noise and a ratio built on
them would reveal the hidden count.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

from bcba.indicators.shrinkage import gamma_poisson_eb

log = logging.getLogger(__name__)

MIN_N = 5
#: Theme id of the rows that count respondents over all themes (the total score).
TOTAAL = "totaal"


def _area_column(percepties: pd.DataFrame) -> str | None:
    for name in ("wijkcode", "gebiedcode"):
        if name in percepties and percepties[name].notna().any():
            return name
    return None


def perception_summary(
    percepties: pd.DataFrame | None, *, min_n: int = MIN_N, level: float = 0.95
) -> pd.DataFrame:
    """Mean perception score (1-5) per theme and wijk with n and a t-based confidence interval.

    When the perceptions carry no wijk (``wijkcode``) the whole municipality is one group
    (``wijkcode = 'gemeente'``). A group with fewer than ``min_n`` respondents is suppressed.

    Returns
    -------
    DataFrame: thema, wijkcode, n, gemiddelde, sd, ci_laag, ci_hoog, onderdrukt.
    """
    cols = ["thema", "wijkcode", "n", "gemiddelde", "sd", "ci_laag", "ci_hoog", "onderdrukt"]
    if percepties is None or percepties.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    frame = percepties.assign(score=pd.to_numeric(percepties["score"], errors="coerce")).dropna(
        subset=["score"]
    )
    area = _area_column(frame)
    frame = frame.assign(
        wijkcode=frame[area].astype("string").fillna("onbekend") if area else "gemeente"
    )
    # one answer per respondent and group: a respondent answering twice counts once (mean)
    per_resp = frame.groupby(["thema", "wijkcode", "respondent_id"], as_index=False)["score"].mean()
    g = per_resp.groupby(["thema", "wijkcode"])["score"]
    out = pd.DataFrame({"n": g.size(), "gemiddelde": g.mean(), "sd": g.std(ddof=1)}).reset_index()
    se = out["sd"] / np.sqrt(out["n"])
    tcrit = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    out["ci_laag"] = out["gemiddelde"] - tcrit * se
    out["ci_hoog"] = out["gemiddelde"] + tcrit * se
    out["onderdrukt"] = out["n"] < min_n
    out.loc[out["onderdrukt"], ["gemiddelde", "sd", "ci_laag", "ci_hoog"]] = np.nan
    out["n"] = out["n"].astype(int)
    return out[cols]


def mention_counts(
    vermeldingen: pd.DataFrame | None, *, min_n: int = MIN_N, met_totaal: bool = False
) -> pd.DataFrame:
    """How often each wijk/buurt is mentioned per theme.

    Parameters
    ----------
    vermeldingen
        Survey area mentions (respondent_id, thema, gebied_niveau, gebiedcode).
    min_n
        Areas named by fewer distinct respondents are suppressed.
    met_totaal
        Also add rows with ``thema = 'totaal'``: distinct respondents naming the area for any
        theme (a respondent naming it for two themes counts once).

    Returns
    -------
    DataFrame: thema, gebied_niveau, gebiedcode, vermeldingen (count), respondenten (distinct),
    onderdrukt (fewer than ``min_n`` distinct respondents: not shown and not counted in any
    score), vermeldingen_rapport (NaN where suppressed).
    """
    cols = [
        "thema",
        "gebied_niveau",
        "gebiedcode",
        "vermeldingen",
        "respondenten",
        "onderdrukt",
        "vermeldingen_rapport",
    ]
    if vermeldingen is None or vermeldingen.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    known = vermeldingen.dropna(subset=["gebiedcode"])
    if met_totaal:
        known = pd.concat([known, known.assign(thema=TOTAAL)], ignore_index=True)
    g = known.groupby(["thema", "gebied_niveau", "gebiedcode"])
    out = pd.DataFrame(
        {"vermeldingen": g.size(), "respondenten": g["respondent_id"].nunique()}
    ).reset_index()
    out["onderdrukt"] = out["respondenten"] < min_n
    out["vermeldingen_rapport"] = out["vermeldingen"].astype(float).where(~out["onderdrukt"])
    return out[cols]


def mentions_per_buurt(mentions: pd.DataFrame, buurten: pd.DataFrame) -> pd.DataFrame:
    """Distinct respondents naming each buurt per theme, from unsuppressed areas only.

    A buurt gets the respondents who named it directly plus, for each mention of its wijk,
    ``respondents / number of buurten in the wijk``. Suppressed areas (fewer than ``min_n``
    respondents, see :func:`mention_counts`) count 0.

    Returns
    -------
    DataFrame: buurtcode, thema, respondenten (float).
    """
    cols = ["buurtcode", "thema", "respondenten"]
    if mentions is None or mentions.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    mentions = mentions[~mentions["onderdrukt"].astype(bool)]
    b = buurten[["buurtcode", "wijkcode"]].astype("string")
    n_in_wijk = b.groupby("wijkcode").size()
    niveau = mentions["gebied_niveau"].astype("string").str.lower()
    direct = mentions[niveau == "buurt"].rename(columns={"gebiedcode": "buurtcode"})[cols]
    wijk = mentions[niveau == "wijk"].rename(columns={"gebiedcode": "wijkcode"})
    wijk = wijk.merge(b, on="wijkcode")
    wijk = wijk.assign(
        respondenten=wijk["respondenten"].astype(float)
        / wijk["wijkcode"].map(n_in_wijk).astype(float)
    )[cols]
    both = pd.concat([direct, wijk], ignore_index=True)
    both["buurtcode"] = both["buurtcode"].astype("string")
    return (
        both.groupby(["buurtcode", "thema"], as_index=False)["respondenten"]
        .sum()
        .astype({"respondenten": float})[cols]
    )


def shrunk_mentions(respondenten: pd.Series, *, level: float = 0.9) -> pd.DataFrame:
    """Mentions of each buurt relative to the average buurt, shrunk towards 1.

    Respondents per buurt (:func:`mentions_per_buurt`, 0 where not named) are shrunk with
    :func:`~bcba.indicators.shrinkage.gamma_poisson_eb` with one unit of exposure per buurt,
    then divided by the mean. Without any counted mention every buurt gets 1.

    Returns
    -------
    DataFrame (index of ``respondenten``): ``verhouding`` (shrunk, 1 = average buurt) and
    ``ondergrens`` (lower interval bound on the same scale).
    """
    fit = gamma_poisson_eb(respondenten, np.ones(len(respondenten)), level=level)
    m = fit.gemiddelde
    if not np.isfinite(m) or m <= 0:
        ones = np.ones(len(respondenten))
        return pd.DataFrame({"verhouding": ones, "ondergrens": ones}, index=respondenten.index)
    return pd.DataFrame(
        {
            "verhouding": fit.tabel["gekrompen"].to_numpy() / m,
            "ondergrens": fit.tabel["laag"].to_numpy() / m,
        },
        index=respondenten.index,
    )


def responses_per_department(
    percepties: pd.DataFrame | None, *, min_n: int = MIN_N
) -> pd.DataFrame:
    """Distinct respondents per department (``afdeling``); counts below ``min_n`` suppressed."""
    cols = ["afdeling", "respondenten", "onderdrukt"]
    if percepties is None or percepties.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    g = percepties.assign(
        afdeling=percepties["afdeling"].astype("string").fillna("onbekend")
    ).groupby("afdeling")
    out = g["respondent_id"].nunique().rename("respondenten").reset_index()
    out["onderdrukt"] = out["respondenten"] < min_n
    out["respondenten"] = out["respondenten"].astype(float).where(~out["onderdrukt"])
    return out[cols]

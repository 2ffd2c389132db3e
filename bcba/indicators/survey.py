"""Survey indicators: perception per theme and wijk, area mentions, responses per department.

Small cells are suppressed to protect respondents: every cell with fewer than ``min_n``
respondents gets NaN values and ``onderdrukt = True``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

log = logging.getLogger(__name__)

MIN_N = 5


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


def mention_counts(vermeldingen: pd.DataFrame | None, *, min_n: int = MIN_N) -> pd.DataFrame:
    """How often each wijk/buurt is mentioned per theme.

    Returns
    -------
    DataFrame: thema, gebied_niveau, gebiedcode, vermeldingen (count), respondenten (distinct),
    onderdrukt (fewer than ``min_n`` distinct respondents; the count is kept for the scores
    but must not be shown in the report), vermeldingen_rapport (NaN where suppressed).
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
    g = vermeldingen.dropna(subset=["gebiedcode"]).groupby(["thema", "gebied_niveau", "gebiedcode"])
    out = pd.DataFrame(
        {"vermeldingen": g.size(), "respondenten": g["respondent_id"].nunique()}
    ).reset_index()
    out["onderdrukt"] = out["respondenten"] < min_n
    out["vermeldingen_rapport"] = out["vermeldingen"].astype(float).where(~out["onderdrukt"])
    return out[cols]


def mentions_per_buurt(mentions: pd.DataFrame, buurten: pd.DataFrame) -> pd.DataFrame:
    """Mentions per buurt and theme: direct buurt mentions plus each wijk mention divided
    evenly over the buurten of that wijk. Returns buurtcode, thema, vermeldingen."""
    cols = ["buurtcode", "thema", "vermeldingen"]
    if mentions is None or mentions.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    b = buurten[["buurtcode", "wijkcode"]].astype("string")
    n_in_wijk = b.groupby("wijkcode").size()
    niveau = mentions["gebied_niveau"].astype("string").str.lower()
    direct = mentions[niveau == "buurt"].rename(columns={"gebiedcode": "buurtcode"})[
        ["buurtcode", "thema", "vermeldingen"]
    ]
    wijk = mentions[niveau == "wijk"].rename(columns={"gebiedcode": "wijkcode"})
    wijk = wijk.merge(b, on="wijkcode")
    wijk = wijk.assign(
        vermeldingen=wijk["vermeldingen"].astype(float)
        / wijk["wijkcode"].map(n_in_wijk).astype(float)
    )[["buurtcode", "thema", "vermeldingen"]]
    both = pd.concat([direct, wijk], ignore_index=True)
    both["buurtcode"] = both["buurtcode"].astype("string")
    return (
        both.groupby(["buurtcode", "thema"], as_index=False)["vermeldingen"]
        .sum()
        .astype({"vermeldingen": float})[cols]
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

"""Partner events per theme and area: weighted counts and rates per 1,000 inhabitants.

An event belongs to a theme when its ``thema`` (or the theme id itself) or its ``soort`` is
listed for that theme in the theme configuration; one event may count for several themes.
Counts are weighted by ``gewicht`` (default 1).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bcba.indicators.kvk_flags import check_crs
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)

PARTNER_COLUMNS = ["gebied", "thema", "meldingen", "gewogen", "inwoners", "per_1000_inw"]


def events_by_theme(
    partners: pd.DataFrame, themes: ThemeConfig, *, periode: tuple | None = None
) -> pd.DataFrame:
    """Long table: one row per event x theme it belongs to (with ``thema_id`` and ``gewicht``).

    Events outside ``periode`` (when given) are dropped; events matching no theme are logged.
    """
    check_crs(partners, "partners")
    ev = partners.reset_index(drop=True)
    if periode is not None and "datum" in ev:
        d = pd.to_datetime(ev["datum"])
        ev = ev.loc[
            d.isna() | ((d >= pd.Timestamp(periode[0])) & (d <= pd.Timestamp(periode[1])))
        ].reset_index(drop=True)
    ev["gewicht"] = (
        pd.to_numeric(ev["gewicht"], errors="coerce").fillna(1.0) if "gewicht" in ev else 1.0
    )
    matrix = themes.partner_theme_matrix(
        ev["thema"], ev["soort"] if "soort" in ev else pd.Series("", index=ev.index)
    )
    unmatched = int((~matrix.any(axis=1)).sum())
    if unmatched:
        log.info(
            "%d partnermeldingen passen bij geen thema (thema/soort niet in de themaconfiguratie)",
            unmatched,
        )
    stacked = matrix.stack()
    pairs = stacked[stacked].index.to_frame(index=False, name=["_row", "thema_id"])
    out = ev.iloc[pairs["_row"].to_numpy()].reset_index(drop=True)
    out["thema_id"] = pairs["thema_id"].to_numpy()
    return out


def partner_rates(
    events: pd.DataFrame,
    units: pd.DataFrame,
    *,
    key: str = "buurtcode",
    theme_ids: list[str] | tuple[str, ...],
) -> pd.DataFrame:
    """Weighted event counts and rates per 1,000 inhabitants per area unit and theme.

    Parameters
    ----------
    events
        Output of :func:`events_by_theme`.
    units
        ``gebied``, ``inwoners`` (see :func:`bcba.indicators.opportunity.units_from_buurten`).
    key
        ``buurtcode`` or ``cel_id``.

    Returns
    -------
    DataFrame with :data:`PARTNER_COLUMNS`; ``per_1000_inw`` is NaN where nobody lives.
    """
    gebieden = units["gebied"].astype("string")
    grid = pd.MultiIndex.from_product([gebieden, list(theme_ids)], names=["gebied", "thema"])
    if events is None or len(events) == 0:
        agg = pd.DataFrame(index=grid, data={"meldingen": 0, "gewogen": 0.0})
    else:
        ev = events.assign(_g=events[key].astype("string")).dropna(subset=["_g"])
        g = ev.groupby(["_g", "thema_id"])
        agg = pd.DataFrame({"meldingen": g.size(), "gewogen": g["gewicht"].sum()})
        agg.index = agg.index.set_names(["gebied", "thema"])
        agg = agg.reindex(grid, fill_value=0)
    out = agg.reset_index()
    inw = pd.Series(units["inwoners"].to_numpy(dtype=float), index=gebieden.to_numpy())
    out["inwoners"] = out["gebied"].map(inw).astype(float)
    out["meldingen"] = out["meldingen"].astype(int)
    out["gewogen"] = out["gewogen"].astype(float)
    out["per_1000_inw"] = out["gewogen"] / out["inwoners"].where(out["inwoners"] > 0) * 1000.0
    return out[PARTNER_COLUMNS]


def shrunk_rate(count, denominator, *, prior: float, per: float = 1000.0) -> np.ndarray:
    """A rate per ``per`` shrunk toward the overall rate with ``prior`` pseudo-units.

    ``(count + prior * R) / (denominator + prior) * per`` with ``R = sum(count) / sum(denominator)``;
    a unit without a denominator gets the overall rate.
    """
    c = np.asarray(count, dtype=float)
    d = np.nan_to_num(np.asarray(denominator, dtype=float), nan=0.0)
    d = np.clip(d, 0, None)
    total_d = d.sum()
    overall = c.sum() / total_d if total_d > 0 else 0.0
    return (c + prior * overall) / (d + prior) * per

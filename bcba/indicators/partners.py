"""Partner events per theme and area: counts, raw rates and empirical-Bayes shrunk rates.

An event counts for exactly one theme: the theme its ``thema`` names (theme id or a value in
``partner_thema``), or else the theme its ``soort`` names (``partner_soort``); see
:meth:`bcba.themes.ThemeConfig.partner_theme`. Counts are weighted by ``gewicht``
(default 1). Rates per 1,000 BAG addresses are shrunk with :func:`gamma_poisson_eb`, so a
buurt with four events and a handful of addresses does not top the table.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bcba.indicators.kvk_flags import check_crs
from bcba.indicators.shrinkage import gamma_poisson_eb
from bcba.indicators.verdicts import verdicts
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)

PARTNER_COLUMNS = [
    "gebied",
    "thema",
    "meldingen",
    "gewogen",
    "inwoners",
    "per_1000_inw",
    "adressen",
    "per_1000_adressen",
    "per_1000_adressen_gekrompen",
    "interval_laag",
    "interval_hoog",
    "oordeel",
    "klein_gebied",
    "rang",
]

#: Coverage of the interval around shrunk partner rates.
INTERVAL_LEVEL = 0.9


def events_by_theme(
    partners: pd.DataFrame, themes: ThemeConfig, *, periode: tuple | None = None
) -> pd.DataFrame:
    """The events that belong to a theme, each once, with ``thema_id`` and ``gewicht``.

    Events outside ``periode`` (when given) are dropped; events matching no theme are logged
    and left out.
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
    theme = themes.partner_theme(
        ev["thema"], ev["soort"] if "soort" in ev else pd.Series("", index=ev.index)
    )
    unmatched = int(theme.isna().sum())
    if unmatched:
        log.info(
            "%d partnermeldingen passen bij geen thema (thema/soort niet in de themaconfiguratie)",
            unmatched,
        )
    out = ev.loc[theme.notna().to_numpy()].reset_index(drop=True)
    out["thema_id"] = theme.dropna().astype(str).to_numpy()
    return out


def partner_rates(
    events: pd.DataFrame | None,
    units: pd.DataFrame,
    *,
    key: str = "buurtcode",
    theme_ids: list[str] | tuple[str, ...],
    adressen: pd.Series | None = None,
    klein_gebied: pd.Series | None = None,
    level: float = INTERVAL_LEVEL,
) -> pd.DataFrame:
    """Event counts, raw rates and shrunk rates per 1,000 addresses per area unit and theme.

    Parameters
    ----------
    events
        Output of :func:`events_by_theme` (or None: no events).
    units
        ``gebied``, ``inwoners`` (see :func:`bcba.indicators.opportunity.units_from_buurten`).
    key
        ``buurtcode`` or ``cel_id``.
    theme_ids
        The themes to report (``thema_id`` values of ``events``).
    adressen
        BAG addresses per unit (gebied -> count); missing units have 0.
    klein_gebied
        Units that are too small to rank (gebied -> bool); they get ``rang`` NaN.
    level
        Coverage of the interval around the shrunk rate.

    Returns
    -------
    DataFrame with :data:`PARTNER_COLUMNS`: ``meldingen`` (raw count), ``gewogen``,
    ``per_1000_inw`` and ``per_1000_adressen`` (raw rates; NaN without denominator),
    ``per_1000_adressen_gekrompen`` with ``interval_laag``/``interval_hoog`` (empirical
    Bayes, per theme over all units), ``oordeel`` ("hoog"/"verhoogd"/"",
    :mod:`bcba.indicators.verdicts`), ``klein_gebied`` and ``rang`` (1 = highest shrunk rate
    within the theme; NaN for small units).
    """
    gebieden = units["gebied"].astype("string")
    themes = list(theme_ids)
    grid = pd.MultiIndex.from_product([gebieden, themes], names=["gebied", "thema"])
    if events is None or len(events) == 0:
        agg = pd.DataFrame(index=grid, data={"meldingen": 0, "gewogen": 0.0})
    else:
        ev = events.assign(_g=events[key].astype("string")).dropna(subset=["_g"])
        g = ev.groupby(["_g", "thema_id"])
        agg = pd.DataFrame({"meldingen": g.size(), "gewogen": g["gewicht"].sum()})
        agg.index = agg.index.set_names(["gebied", "thema"])
        agg = agg.reindex(grid, fill_value=0)
    out = agg.reset_index()
    # rows are unit-major (product of units x themes): unit attributes repeat per theme
    n_units, n_themes = len(gebieden), len(themes)
    keys = gebieden.to_numpy()
    inw = units["inwoners"].to_numpy(dtype=float)
    adr = (
        adressen.reindex(keys).fillna(0).to_numpy(dtype=float)
        if adressen is not None
        else np.zeros(n_units)
    )
    small = (
        klein_gebied.reindex(keys).fillna(False).to_numpy(dtype=bool)
        if klein_gebied is not None
        else np.zeros(n_units, dtype=bool)
    )
    out["inwoners"] = np.repeat(inw, n_themes)
    out["meldingen"] = out["meldingen"].astype(int)
    out["gewogen"] = out["gewogen"].astype(float)
    out["per_1000_inw"] = out["gewogen"] / out["inwoners"].where(out["inwoners"] > 0) * 1000.0
    out["adressen"] = np.repeat(adr, n_themes)
    out["klein_gebied"] = np.repeat(small, n_themes)
    # one EB fit per theme over all units
    counts = out["gewogen"].to_numpy().reshape(n_units, n_themes)
    exposure = out["adressen"].to_numpy().reshape(n_units, n_themes)
    cols = {c: np.full((n_units, n_themes), np.nan) for c in ("ruw", "gekrompen", "laag", "hoog")}
    reference = np.full(n_themes, np.nan)
    for j in range(n_themes):
        fit = gamma_poisson_eb(counts[:, j], exposure[:, j], level=level)
        reference[j] = fit.gemiddelde
        for c in cols:
            cols[c][:, j] = fit.tabel[c].to_numpy()
    out["per_1000_adressen"] = cols["ruw"].ravel() * 1000.0
    out["per_1000_adressen_gekrompen"] = cols["gekrompen"].ravel() * 1000.0
    out["interval_laag"] = cols["laag"].ravel() * 1000.0
    out["interval_hoog"] = cols["hoog"].ravel() * 1000.0
    ref = np.tile(reference * 1000.0, n_units)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["oordeel"] = verdicts(
            pd.Series("partner_per_1000_adressen", index=out.index),
            pd.Series(out["per_1000_adressen_gekrompen"].to_numpy() / ref, index=out.index),
            pd.Series(out["interval_laag"].to_numpy() / ref, index=out.index),
        )
    ranked = out["per_1000_adressen_gekrompen"].where(~out["klein_gebied"])
    out["rang"] = (
        ranked.groupby(out["thema"]).rank(ascending=False, method="min").round().astype("Int64")
    )
    return out[PARTNER_COLUMNS]

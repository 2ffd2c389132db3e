"""Opportunity structures: active establishments per category per buurt and per 100 m cell.

For every area unit and category: the count, density per km² land, count per 1,000
inhabitants and the location quotient against the region (all establishments in the input):

    LQ = (n_i,cat / n_i,all) / (N_cat / N_all)

LQ is undefined (NaN) where the unit has no establishments at all or the category does not
occur in the region; it is 0 where the unit has establishments but none of the category.
For scoring, a shrunk LQ (``lq_gekrompen``) pulls units with few establishments toward 1:
``((n + k·p) / (n_all + k)) / p`` with ``p = N_cat / N_all`` and prior weight ``k``.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd

from bcba.indicators.kvk_flags import check_crs
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)

#: Group of the establishments in a category of any theme (``by='thema'``).
TOTAAL = "totaal"

OPPORTUNITY_COLUMNS = [
    "gebied",
    "groep",
    "n",
    "n_alle",
    "oppervlakte_km2",
    "inwoners",
    "dichtheid_km2",
    "per_1000_inw",
    "lq",
    "lq_gekrompen",
]


def location_quotient(n_cat, n_all, total_cat, total_all) -> np.ndarray:
    """Location quotient ``(n_cat / n_all) / (total_cat / total_all)``, NaN where undefined."""
    n_cat = np.asarray(n_cat, dtype=float)
    n_all = np.asarray(n_all, dtype=float)
    share_region = np.divide(float(total_cat), float(total_all)) if total_all else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(n_all > 0, n_cat / np.where(n_all > 0, n_all, 1), np.nan)
        if not share_region or np.isnan(share_region):
            return np.full(n_cat.shape, np.nan)
        return local / share_region


def shrunk_location_quotient(
    n_cat, n_all, total_cat, total_all, *, prior: float = 10.0
) -> np.ndarray:
    """LQ with ``prior`` pseudo-establishments at the regional share added (1.0 when no data)."""
    n_cat = np.asarray(n_cat, dtype=float)
    n_all = np.asarray(n_all, dtype=float)
    if not total_all or not total_cat:
        return np.full(n_cat.shape, np.nan)
    p = total_cat / total_all
    return ((n_cat + prior * p) / (n_all + prior)) / p


def active_establishments(
    vestigingen: pd.DataFrame, *, peildatum: dt.date | pd.Timestamp
) -> pd.DataFrame:
    """Establishments registered on or before ``peildatum`` and not deregistered by then."""
    at = pd.Timestamp(peildatum)
    ins = pd.to_datetime(vestigingen["datum_inschrijving"])
    uit = pd.to_datetime(vestigingen["datum_uitschrijving"])
    return vestigingen.loc[(ins.isna() | (ins <= at)) & (uit.isna() | (uit > at))]


def membership(
    vestigingen: pd.DataFrame, themes: ThemeConfig, *, by: str = "categorie"
) -> pd.DataFrame:
    """Boolean frame: establishment x category (``by='categorie'``) or x theme (``by='thema'``).

    An establishment belongs to a theme when it falls in any of the theme's categories. With
    ``by='thema'`` a column ``totaal`` marks establishments in a category of any theme, each
    once (the opportunity structure of the total score).
    """
    cats = themes.match_categories(vestigingen["sbi_code"], vestigingen.get("handelsnaam"))
    if by == "categorie":
        return cats
    if by == "thema":
        out = pd.DataFrame(
            {
                tid: cats[t.categorieen].any(axis=1) if t.categorieen else False
                for tid, t in themes.themas.items()
            },
            index=vestigingen.index,
        )
        out[TOTAAL] = out.any(axis=1)
        return out
    from bcba.errors import ConfigError

    raise ConfigError(f"by moet 'categorie' of 'thema' zijn, niet {by!r}")


def units_from_buurten(buurten: pd.DataFrame) -> pd.DataFrame:
    """Area units (gebied, oppervlakte_km2, inwoners) from CBS buurten."""
    area = pd.to_numeric(buurten.get("oppervlakte_land_in_ha"), errors="coerce") / 100.0
    if area.isna().any() and hasattr(buurten, "geometry"):
        area = area.fillna(pd.Series(buurten.geometry.area / 1e6, index=buurten.index))
    return pd.DataFrame(
        {
            "gebied": buurten["buurtcode"].astype("string").to_numpy(),
            "oppervlakte_km2": area.to_numpy(dtype=float),
            "inwoners": pd.to_numeric(buurten.get("aantal_inwoners"), errors="coerce").to_numpy(
                dtype=float
            ),
        }
    )


def units_from_cells(cellen: pd.DataFrame) -> pd.DataFrame:
    """Area units from the 100 m grid (area inside the municipality when given, else 1 ha)."""
    if "oppervlakte_in_gebied" in cellen:
        area = pd.to_numeric(cellen["oppervlakte_in_gebied"], errors="coerce") / 1e6
    else:
        area = pd.Series(0.01, index=cellen.index)
    inw = (
        pd.to_numeric(cellen["aantal_inwoners"], errors="coerce")
        if "aantal_inwoners" in cellen
        else pd.Series(np.nan, index=cellen.index)
    )
    return pd.DataFrame(
        {
            "gebied": cellen["cel_id"].astype("string").to_numpy(),
            "oppervlakte_km2": area.to_numpy(dtype=float),
            "inwoners": inw.to_numpy(dtype=float),
        }
    )


def opportunity_table(
    vestigingen: pd.DataFrame,
    units: pd.DataFrame,
    *,
    themes: ThemeConfig,
    key: str = "buurtcode",
    by: str = "categorie",
    peildatum: dt.date | pd.Timestamp,
    prior: float = 10.0,
) -> pd.DataFrame:
    """Counts, densities and location quotients per area unit and category (or theme).

    Parameters
    ----------
    vestigingen
        KvK establishments with ``sbi_code``, ``handelsnaam``, dates and the ``key`` column.
    units
        Area units with ``gebied``, ``oppervlakte_km2``, ``inwoners`` (see :func:`units_from_buurten`).
    key
        Column of ``vestigingen`` holding the unit id (``buurtcode`` or ``cel_id``).
    by
        ``categorie`` or ``thema`` (the themes plus ``totaal``: any theme's categories).
    peildatum
        Establishments active on this date are counted (normally the period end).
    prior
        Prior weight of the shrunk LQ (pseudo-establishments).

    Returns
    -------
    DataFrame with :data:`OPPORTUNITY_COLUMNS`, one row per unit x group (zeros included).
    """
    check_crs(vestigingen, "kvk_vestigingen")
    active = active_establishments(vestigingen, peildatum=peildatum)
    member = membership(active, themes, by=by)
    unit_of = active[key].astype("string")
    total_all = len(active)  # region = all active establishments in the input
    totals_cat = member.sum(axis=0)
    in_unit = unit_of.notna()
    per_unit = member.loc[in_unit].groupby(unit_of[in_unit].to_numpy()).sum()
    n_all = unit_of[in_unit].value_counts()
    gebieden = pd.Index(units["gebied"].astype("string"))
    per_unit = per_unit.reindex(gebieden, fill_value=0)
    n_all = n_all.reindex(gebieden, fill_value=0)
    long = (
        per_unit.rename_axis("gebied")
        .reset_index()
        .melt(id_vars="gebied", var_name="groep", value_name="n")
    )
    u = units.assign(gebied=units["gebied"].astype("string")).set_index("gebied")
    long["n"] = long["n"].astype(int)
    long["n_alle"] = long["gebied"].map(n_all).astype(int)
    long["oppervlakte_km2"] = long["gebied"].map(u["oppervlakte_km2"]).astype(float)
    long["inwoners"] = long["gebied"].map(u["inwoners"]).astype(float)
    area = long["oppervlakte_km2"].where(long["oppervlakte_km2"] > 0)
    pop = long["inwoners"].where(long["inwoners"] > 0)
    long["dichtheid_km2"] = long["n"] / area
    long["per_1000_inw"] = long["n"] / pop * 1000.0
    tot = long["groep"].map(totals_cat).astype(float)
    long["lq"] = np.nan
    long["lq_gekrompen"] = np.nan
    for idx in long.groupby("groep").groups.values():
        sub = long.loc[idx]
        long.loc[idx, "lq"] = location_quotient(
            sub["n"], sub["n_alle"], tot[idx].iloc[0], total_all
        )
        long.loc[idx, "lq_gekrompen"] = shrunk_location_quotient(
            sub["n"], sub["n_alle"], tot[idx].iloc[0], total_all, prior=prior
        )
    outside = int((~in_unit).sum())
    if outside:
        log.info(
            "%d actieve vestigingen zonder %s tellen mee in de regio maar niet in een gebied",
            outside,
            key,
        )
    return long[OPPORTUNITY_COLUMNS]

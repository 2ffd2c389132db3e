"""Kadaster red flags (``KAD_*``) on property transactions.

Records use the common flag table of :mod:`bcba.indicators.kvk_flags`. Buyers appear only
as ``koper_id`` (a pseudonym ``P-…`` for natural persons, ``K-<kvk>``/``R-…`` for legal
entities); names are never written into the evidence. Thresholds are inclusive.
"""

from __future__ import annotations

import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from bcba.indicators.kvk_flags import (
    VOL,
    ZWAK,
    _fmt_date,
    _ts,
    check_crs,
    concat_flags,
    empty_flags,
    flag_frame,
    location_key,
)
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)


class KadasterFlagConfig(BaseModel):
    """Thresholds of the Kadaster flags (all inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abc_dagen: int = Field(183, ge=1, description="doorverkoop binnen zoveel dagen")
    prijs_woz_afwijking: float = Field(0.5, gt=0, description="|koopsom/WOZ - 1| vanaf deze waarde")
    zonder_hypotheek_vanaf: float = Field(
        300_000, ge=0, description="koopsom in euro zonder hypotheek"
    )
    jonge_rechtspersoon_maanden: int = Field(12, ge=1)
    veel_aankopen: int = Field(3, ge=2, description="aankopen door één koper in de periode")
    # -- context (bewijskracht, not whether a flag fires; docs/method.md, section 4) --------
    abc_prijssprong: float = Field(
        0.10,
        ge=0,
        description="KAD_ABC telt vol vanaf deze relatieve prijsverandering tegen de vorige "
        "verkoop (de markt stijgt in een half jaar hooguit enkele procenten)",
    )
    gevestigde_koper_jaren: float = Field(
        3.0,
        gt=0,
        description="KAD_VEEL_AANKOPEN weegt zwak bij een rechtspersoon die minstens zoveel "
        "jaar vóór haar eerste aankoop in de KvK stond (een gevestigde belegger)",
    )


def _euro(values: pd.Series) -> pd.Series:
    """Dutch money format: € 1.234.567."""
    return (
        values.round(0)
        .astype("Int64")
        .map(lambda v: f"€ {v:,.0f}".replace(",", "."), na_action="ignore")
        .astype("string")
    )


def _in_period(kad: pd.DataFrame, periode: tuple) -> pd.Series:
    d = pd.to_datetime(kad["datum"])
    return (d >= _ts(periode[0])) & (d <= _ts(periode[1]))


def _transaction_flags(
    base: pd.DataFrame, flag_id: str, bewijs: pd.Series, themes: ThemeConfig | None
) -> gpd.GeoDataFrame:
    """Flag records for the Kadaster transactions in ``base`` (one per transaction)."""
    return flag_frame(
        base,
        flag_id,
        bron="kadaster",
        entiteit_type="transactie",
        entiteit_id=base["transactie_id"],
        bewijs=bewijs,
        themes=themes,
        datum=base["datum"],
    )


def flag_abc(
    kad: gpd.GeoDataFrame,
    *,
    themes: ThemeConfig | None = None,
    dagen: int = 183,
    prijssprong: float = 0.10,
) -> gpd.GeoDataFrame:
    """KAD_ABC: the same object sold again within ``dagen`` days; the resale is flagged.

    Context: an ABC-constructie is a quick resale *with* a value jump (the difference between
    the A-B and the B-C price is what is laundered or skimmed). A quick resale at about the
    same price (an estate sold on, a relocation) weighs :data:`ZWAK`: the price changed by
    less than ``prijssprong`` against the previous sale (or, without its price, the WOZ)."""
    key = location_key(kad)
    frame = kad.assign(_key=key, _d=pd.to_datetime(kad["datum"])).dropna(subset=["_key", "_d"])
    frame = frame.sort_values(["_key", "_d"], kind="stable")
    prev_d = frame.groupby("_key")["_d"].shift(1)
    prev_t = frame.groupby("_key")["transactie_id"].shift(1)
    koop = pd.to_numeric(frame["koopsom"], errors="coerce")
    prev_p = koop.groupby(frame["_key"]).shift(1)
    woz = pd.to_numeric(frame["woz_waarde"], errors="coerce")
    prev_p = prev_p.where(prev_p > 0, woz.where(woz > 0))
    gap = (frame["_d"] - prev_d).dt.days
    hit = gap.notna() & (gap <= dagen)
    base = frame.loc[hit].drop(columns=["_key", "_d"])
    if base.empty:
        return empty_flags()
    change = (koop / prev_p - 1)[hit]
    jump = (change.abs().round(9) >= prijssprong).fillna(False)
    pct = (change * 100).round(0)
    change_txt = pct.map(
        lambda v: "" if pd.isna(v) else f"{'+' if v >= 0 else ''}{int(v)}%", na_action=None
    ).astype("string")
    context = pd.Series(
        np.where(
            jump,
            np.where(change >= 0, " met prijssprong van ", " met prijsdaling van ")
            + change_txt.str.lstrip("+-")
            + " tegen de vorige koopsom",
            np.where(
                change.notna(),
                " zonder prijssprong ("
                + change_txt
                + "): past bij bijvoorbeeld een boedel of verhuizing",
                " (vorige koopsom en WOZ onbekend)",
            ),
        ),
        index=change.index,
    ).astype("string")
    bewijs = (
        "Doorverkocht "
        + gap[hit].astype(int).astype(str)
        + " dagen na de vorige transactie ("
        + prev_t[hit].astype("string")
        + " op "
        + _fmt_date(prev_d[hit])
        + ")"
        + context
    )
    return flag_frame(
        base,
        "KAD_ABC",
        bron="kadaster",
        entiteit_type="transactie",
        entiteit_id=base["transactie_id"],
        bewijs=bewijs,
        themes=themes,
        datum=base["datum"],
        bewijskracht=np.where(jump, VOL, ZWAK),
    )


def flag_prijs_woz(
    kad: gpd.GeoDataFrame, *, themes: ThemeConfig | None = None, afwijking: float = 0.5
) -> gpd.GeoDataFrame:
    """KAD_PRIJS_WOZ: ``|koopsom / woz_waarde - 1| >= afwijking`` (missing or zero WOZ: skipped)."""
    koop = pd.to_numeric(kad["koopsom"], errors="coerce")
    woz = pd.to_numeric(kad["woz_waarde"], errors="coerce").where(lambda s: s > 0)
    ratio = koop / woz
    # round to avoid 0.49999999 at an exact edge such as 150000/100000
    hit = ((ratio - 1).abs().round(9) >= afwijking).fillna(False)
    base = kad.loc[hit]
    if base.empty:
        return empty_flags()
    pct = ((ratio[hit] - 1) * 100).round(0).astype(int)
    sign = np.where(pct >= 0, "+", "")
    bewijs = (
        "Koopsom "
        + _euro(koop[hit])
        + " tegen WOZ "
        + _euro(woz[hit])
        + " ("
        + pd.Series(sign, index=base.index)
        + pct.astype(str)
        + "%)"
    )
    return _transaction_flags(base, "KAD_PRIJS_WOZ", bewijs, themes)


def flag_zonder_hypotheek(
    kad: gpd.GeoDataFrame, *, themes: ThemeConfig | None = None, vanaf: float = 300_000
) -> gpd.GeoDataFrame:
    """KAD_ZONDER_HYPOTHEEK: no mortgage and ``koopsom >= vanaf`` (unknown mortgage: not flagged)."""
    koop = pd.to_numeric(kad["koopsom"], errors="coerce")
    hyp = kad["hypotheek"].astype("boolean")
    hit = ((hyp == False) & (koop >= vanaf)).fillna(False)  # noqa: E712 (nullable boolean)
    base = kad.loc[hit]
    if base.empty:
        return empty_flags()
    bewijs = (
        "Aankoop van "
        + _euro(koop[hit])
        + " zonder hypotheek (drempel "
        + _euro(pd.Series([vanaf] * len(base), index=base.index))
        + ")"
    )
    return _transaction_flags(base, "KAD_ZONDER_HYPOTHEEK", bewijs, themes)


def _founded(kad: pd.DataFrame, vestigingen: pd.DataFrame | None) -> pd.Series:
    """Per transaction: the KvK registration date of a legal-entity buyer (earliest
    ``datum_inschrijving`` of its establishments); NaT for persons and unknown companies."""
    if vestigingen is None or vestigingen.empty or "koper_kvk_nummer" not in kad:
        return pd.Series(pd.NaT, index=kad.index, dtype="datetime64[ns]")
    founded = (
        pd.DataFrame(
            {
                "k": vestigingen["kvk_nummer"].astype("string"),
                "d": pd.to_datetime(vestigingen["datum_inschrijving"]),
            }
        )
        .groupby("k")["d"]
        .min()
    )
    is_rp = kad["koper_type"].astype("string").str.lower().eq("rechtspersoon").fillna(False)
    buyer_kvk = (
        kad["koper_kvk_nummer"].astype("string").str.replace(r"\D", "", regex=True).str.zfill(8)
    )
    return pd.to_datetime(buyer_kvk.map(founded)).where(is_rp)


def flag_jonge_rechtspersoon(
    kad: gpd.GeoDataFrame,
    vestigingen: pd.DataFrame | None,
    *,
    themes: ThemeConfig | None = None,
    maanden: int = 12,
) -> gpd.GeoDataFrame:
    """KAD_JONGE_RECHTSPERSOON: buyer is a legal entity registered at most ``maanden`` before the
    purchase (registration = earliest ``datum_inschrijving`` of its establishments)."""
    if vestigingen is None or vestigingen.empty or "koper_kvk_nummer" not in kad:
        return empty_flags()
    since = _founded(kad, vestigingen)  # NaT for persons and unknown companies
    d = pd.to_datetime(kad["datum"])
    hit = (since.notna() & (since <= d) & (d <= since + pd.DateOffset(months=maanden))).fillna(
        False
    )
    base = kad.loc[hit]
    if base.empty:
        return empty_flags()
    days = (d[hit] - since[hit]).dt.days
    bewijs = (
        "Koper "
        + base["koper_id"].astype("string")
        + " ingeschreven in KvK op "
        + _fmt_date(since[hit])
        + ", aankoop "
        + days.astype(str)
        + " dagen later"
    )
    return _transaction_flags(base, "KAD_JONGE_RECHTSPERSOON", bewijs, themes)


def flag_veel_aankopen(
    kad: gpd.GeoDataFrame,
    *,
    periode: tuple,
    themes: ThemeConfig | None = None,
    minimum: int = 3,
    vestigingen: pd.DataFrame | None = None,
    gevestigd_jaren: float = 3.0,
) -> gpd.GeoDataFrame:
    """KAD_VEEL_AANKOPEN: one ``koper_id`` acquires >= ``minimum`` objects in the period.

    One record per purchase of that buyer, so every address is located.

    Context: buying and letting homes is the business of an established property company; a
    natural person or a young entity buying several is not. A legal entity registered in the
    KvK at least ``gevestigd_jaren`` before its first purchase in the period weighs
    :data:`ZWAK`."""
    inp = _in_period(kad, periode) & kad["koper_id"].notna()
    buyer = kad["koper_id"].astype("string")
    key = location_key(kad).fillna(kad["transactie_id"].astype("string"))
    n = pd.DataFrame({"b": buyer[inp], "k": key[inp]}).drop_duplicates().groupby("b").size()
    many = n[n >= minimum]
    hit = inp & buyer.isin(many.index)
    base = kad.loc[hit]
    if base.empty:
        return empty_flags()
    since = _founded(kad.loc[hit], vestigingen)
    first = pd.to_datetime(kad.loc[hit, "datum"]).groupby(buyer[hit]).transform("min")
    settled = (
        since.notna() & (first >= since + pd.DateOffset(days=round(365.25 * gevestigd_jaren)))
    ).fillna(False)
    jaren = f"{gevestigd_jaren:g}".replace(".", ",")
    bewijs = (
        "Koper "
        + buyer[hit]
        + " verwierf "
        + buyer[hit].map(many).astype(str)
        + " objecten in de periode"
        + pd.Series(
            np.where(
                settled,
                "; koper staat sinds "
                + _fmt_date(since).fillna("")
                + f" in de KvK (meer dan {jaren} jaar vóór de eerste aankoop: "
                "een gevestigde belegger)",
                "",
            ),
            index=base.index,
        )
    )
    return flag_frame(
        base.assign(persoon_id=buyer[hit].where(buyer[hit].str.startswith("P-"))),
        "KAD_VEEL_AANKOPEN",
        bron="kadaster",
        entiteit_type="koper",
        entiteit_id=buyer[hit],
        bewijs=bewijs,
        themes=themes,
        datum=base["datum"],
        bewijskracht=np.where(settled, ZWAK, VOL),
    )


def kadaster_flags(
    kadaster: gpd.GeoDataFrame | None,
    vestigingen: pd.DataFrame | None = None,
    *,
    periode: tuple[dt.date, dt.date],
    themes: ThemeConfig,
    config: KadasterFlagConfig | None = None,
) -> gpd.GeoDataFrame:
    """All Kadaster flags as one table (transactions in the period only).

    ``persoon_id`` is filled with the buyer's pseudonym when the buyer is a natural person,
    so person-level signals can link Kadaster and KvK flags.
    """
    cfg = config or KadasterFlagConfig()
    if kadaster is None or kadaster.empty:
        return empty_flags()
    check_crs(kadaster, "kadaster")
    kad = kadaster.copy()
    buyer = kad["koper_id"].astype("string")
    kad["persoon_id"] = buyer.where(buyer.str.startswith("P-").fillna(False))
    in_period = kad.loc[_in_period(kad, periode)]
    frames = [
        # ABC looks at all transactions so a resale early in the period sees its predecessor,
        # but only flags resales inside the period
        flag_abc(kad, themes=themes, dagen=cfg.abc_dagen, prijssprong=cfg.abc_prijssprong),
        flag_prijs_woz(in_period, themes=themes, afwijking=cfg.prijs_woz_afwijking),
        flag_zonder_hypotheek(in_period, themes=themes, vanaf=cfg.zonder_hypotheek_vanaf),
        flag_jonge_rechtspersoon(
            in_period, vestigingen, themes=themes, maanden=cfg.jonge_rechtspersoon_maanden
        ),
        flag_veel_aankopen(
            kad,
            periode=periode,
            themes=themes,
            minimum=cfg.veel_aankopen,
            vestigingen=vestigingen,
            gevestigd_jaren=cfg.gevestigde_koper_jaren,
        ),
    ]
    out = concat_flags(frames)
    if len(out):
        d = out["datum"]
        keep = ~out["flag_id"].eq("KAD_ABC") | ((d >= _ts(periode[0])) & (d <= _ts(periode[1])))
        out = out.loc[keep].reset_index(drop=True)
    log.info("Kadastervlaggen: %s", out["flag_id"].value_counts().to_dict())
    return out

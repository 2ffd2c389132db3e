"""KvK red flags (``KVK_*``): addresses, companies and officers with suspicious patterns.

Every flag is one record in a common long table (:data:`FLAG_COLUMNS`) with a Dutch
description, the entity, its location and the evidence (``bewijs``). Records never hold
person names: officers appear only as their ``persoon_id`` pseudonym.

Thresholds are inclusive: a value equal to the threshold is flagged.
"""

from __future__ import annotations

import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from bcba.config import CRS
from bcba.errors import CRSMismatchError
from bcba.themes import ThemeConfig

log = logging.getLogger(__name__)

#: Location columns carried from the input tables onto every flag record.
LOCATION_COLUMNS = ["adres_id", "adres_sleutel", "buurtcode", "wijkcode", "cel_id"]

#: The columns of every flag table.
FLAG_COLUMNS = [
    "flag_id",
    "bron",
    "omschrijving",
    "entiteit_type",
    "entiteit_id",
    "kvk_nummer",
    "vestigingsnummer",
    "persoon_id",
    "transactie_id",
    *LOCATION_COLUMNS,
    "datum",
    "bewijs",
    "bewijskracht",
    "themas",
    "geometry",
]

#: Evidence strength of one flag record (``bewijskracht``; docs/method.md, section 4). A flag
#: fires exactly at its threshold; how much it weighs in risk locations and signals depends on
#: what else the extract says. ``VOL``: the pattern as the flag describes it. ``ZWAK``: an
#: ordinary event with a high base rate (a new business in a risk branch, a starter that stops
#: within a year, a purchase without mortgage), or a flag whose context in the same extract
#: shows a common legitimate explanation (old, stable registrations; a resale without price
#: jump; an established investor). Two weak indications make one, not two.
VOL = 1.0
ZWAK = 0.5

#: Flags that describe ordinary business or market events with a high base rate: they start
#: at ``ZWAK`` and only count fully in combination (several entities at one address).
ZWAK_VAN_ZICHZELF = frozenset(
    {"KVK_NIEUW_RISICOBRANCHE", "KVK_KORT_BESTAAN", "KAD_ZONDER_HYPOTHEEK"}
)

#: Dutch descriptions of the flags.
OMSCHRIJVING = {
    "KVK_VEEL_INSCHRIJVINGEN": "Veel actieve inschrijvingen op één adres",
    "KVK_VERLOOP_ADRES": "Veel in- en uitschrijvingen op één adres (verloop)",
    "KVK_NIEUW_RISICOBRANCHE": "Recent ingeschreven in een risicobranche",
    "KVK_WOONADRES": "Onderneming op een adres met alleen woonfunctie (risicobranche of veel personeel)",
    "KVK_KORT_BESTAAN": "Onderneming kort na oprichting opgeheven",
    "KVK_FUNCTIONARIS_VEEL": "Functionaris bij veel (kortlevende) ondernemingen",
    "KAD_ABC": "Object binnen korte tijd doorverkocht (ABC-transactie)",
    "KAD_PRIJS_WOZ": "Koopsom wijkt sterk af van de WOZ-waarde",
    "KAD_ZONDER_HYPOTHEEK": "Aankoop zonder hypotheek boven de drempel",
    "KAD_JONGE_RECHTSPERSOON": "Koper is een recent opgerichte rechtspersoon",
    "KAD_VEEL_AANKOPEN": "Eén koper verwerft veel objecten",
}


class KvkFlagConfig(BaseModel):
    """Thresholds of the KvK flags (all inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    veel_inschrijvingen: int = Field(8, ge=1, description="actieve inschrijvingen op één adres")
    verloop_adres: int = Field(
        6, ge=1, description="in- plus uitschrijvingen op één adres in de periode"
    )
    nieuw_maanden: int = Field(
        12, ge=1, description="'recent' = in de laatste N maanden van de periode"
    )
    woonadres_werkzame_personen: int = Field(
        5, ge=1, description="werkzame personen op een woonadres"
    )
    kort_bestaan_maanden: int = Field(
        12, ge=1, description="opgeheven binnen N maanden na inschrijving"
    )
    functionaris_min_ondernemingen: int = Field(5, ge=1)
    functionaris_min_kort: int = Field(3, ge=0)
    # -- context (bewijskracht, not whether a flag fires; docs/method.md, section 4) --------
    jong_aandeel: float = Field(
        0.25,
        ge=0,
        le=1,
        description="KVK_VEEL_INSCHRIJVINGEN telt vol vanaf dit aandeel inschrijvingen jonger "
        "dan nieuw_maanden (landelijk is zo'n 10-12 % van de ondernemingen jonger dan een jaar)",
    )
    verloop_per_jaar: float = Field(
        0.5,
        ge=0,
        description="KVK_VERLOOP_ADRES telt vol vanaf zoveel wisselingen per aanwezige "
        "inschrijving per jaar (gewone huur van bedrijfsruimte: termijnen van vijf jaar)",
    )
    gevestigd_jaren: float = Field(
        2.0,
        gt=0,
        description="KVK_FUNCTIONARIS_VEEL: een onderneming die minstens zoveel jaar bestaat "
        "(bestond) telt als gevestigd",
    )


# -- shared helpers (also used by kadaster_flags) ----------------------------------------------
def check_crs(frame: pd.DataFrame | None, name: str) -> None:
    """Raise :class:`CRSMismatchError` when a GeoDataFrame is not in EPSG:28992."""
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and frame.crs != CRS:
        raise CRSMismatchError(
            f"{name} staat in {frame.crs}, verwacht {CRS}. Projecteer eerst naar RD New."
        )


def location_key(frame: pd.DataFrame) -> pd.Series:
    """One address key per row: ``adres_id`` when known, else ``S|`` + ``adres_sleutel``."""
    idx = frame.index
    aid = (
        frame["adres_id"].astype("string")
        if "adres_id" in frame
        else pd.Series(pd.NA, index=idx, dtype="string")
    )
    key = (
        frame["adres_sleutel"].astype("string")
        if "adres_sleutel" in frame
        else pd.Series(pd.NA, index=idx, dtype="string")
    )
    aid = aid.where(aid.str.len() > 0)
    key = ("S|" + key).where(key.str.len() > 0)
    return aid.fillna(key)


def _col(frame: pd.DataFrame, name: str, default=pd.NA) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series(default, index=frame.index, dtype="object")


def flag_frame(
    base: pd.DataFrame,
    flag_id: str,
    *,
    bron: str,
    entiteit_type: str,
    entiteit_id: pd.Series,
    bewijs: pd.Series,
    themes: ThemeConfig | None,
    datum: pd.Series | None = None,
    bewijskracht: pd.Series | float | None = None,
) -> gpd.GeoDataFrame:
    """Build flag records (:data:`FLAG_COLUMNS`) from the rows of ``base``.

    ``bewijskracht`` defaults to :data:`ZWAK` for the flags in :data:`ZWAK_VAN_ZICHZELF` and
    :data:`VOL` for the others; a flag function passes its own when context weakens it."""
    out = pd.DataFrame(index=base.index)
    out["flag_id"] = flag_id
    out["bron"] = bron
    out["omschrijving"] = OMSCHRIJVING[flag_id]
    out["entiteit_type"] = entiteit_type
    out["entiteit_id"] = entiteit_id.astype("string")
    for name in (
        "kvk_nummer",
        "vestigingsnummer",
        "persoon_id",
        "transactie_id",
        *LOCATION_COLUMNS,
    ):
        out[name] = _col(base, name).astype("string")
    out["datum"] = pd.to_datetime(
        datum if datum is not None else pd.Series(pd.NaT, index=base.index)
    )
    out["bewijs"] = bewijs.astype("string")
    if bewijskracht is None:
        bewijskracht = ZWAK if flag_id in ZWAK_VAN_ZICHZELF else VOL
    out["bewijskracht"] = (
        pd.Series(bewijskracht, index=base.index, dtype=float)
        if np.isscalar(bewijskracht)
        else pd.to_numeric(pd.Series(np.asarray(bewijskracht), index=base.index), errors="coerce")
    ).astype(float)
    out["themas"] = ";".join(themes.themes_of_flag(flag_id)) if themes is not None else ""
    geom = (
        base.geometry
        if isinstance(base, gpd.GeoDataFrame)
        else gpd.GeoSeries([None] * len(base), index=base.index)
    )
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom.values, index=base.index), crs=CRS)[
        FLAG_COLUMNS
    ]


def empty_flags() -> gpd.GeoDataFrame:
    """An empty flag table with the right columns."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in FLAG_COLUMNS if c != "geometry"})
    frame["datum"] = pd.Series(dtype="datetime64[us]")
    frame["bewijskracht"] = pd.Series(dtype=float)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)[FLAG_COLUMNS]


def concat_flags(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Concatenate flag tables (empty ones skipped) into one with a fresh index."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_flags()
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CRS)


def _first_per_group(frame: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """The first row of ``frame`` for each value of ``key`` (location representative)."""
    return frame.loc[~key.duplicated()].set_index(key[~key.duplicated()].to_numpy())


def _ts(value: dt.date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value)


def _fmt_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.strftime("%d-%m-%Y").astype("string")


def _active(vest: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    ins = pd.to_datetime(vest["datum_inschrijving"])
    uit = pd.to_datetime(vest["datum_uitschrijving"])
    return (ins <= at) & (uit.isna() | (uit > at))


def _category_label(vest: pd.DataFrame, themes: ThemeConfig) -> pd.Series:
    """The label of the first risk-branch category each establishment falls in ('' if none)."""
    cats = themes.match_categories(vest["sbi_code"], vest.get("handelsnaam"))
    risk = [c for c in themes.risicobranches if c in cats]
    label = pd.Series("", index=vest.index, dtype="string")
    for cat in reversed(risk):  # first listed wins
        label = label.mask(cats[cat], themes.categorieen[cat].label)
    return label


# -- the flags ----------------------------------------------------------------------------------
def flag_veel_inschrijvingen(
    vest: gpd.GeoDataFrame,
    *,
    periode: tuple,
    themes: ThemeConfig | None = None,
    threshold: int = 8,
    recent_maanden: int = 12,
    jong_aandeel: float = 0.25,
) -> gpd.GeoDataFrame:
    """KVK_VEEL_INSCHRIJVINGEN: ``threshold`` or more active registrations at one address.

    Context: a letterbox or facilitator address fills with young registrations; a business
    centre or an accountant hosting clients' holdings holds old, stable ones. Below
    ``jong_aandeel`` registrations younger than ``recent_maanden`` the flag weighs
    :data:`ZWAK`."""
    end = _ts(periode[1])
    key = location_key(vest)
    active = _active(vest, end) & key.notna()
    act = vest.loc[active]
    k = key[active]
    n = k.value_counts()
    recent = pd.to_datetime(act["datum_inschrijving"]) > end - pd.DateOffset(months=recent_maanden)
    n_recent = k[recent].value_counts().reindex(n.index, fill_value=0)
    hit = n[n >= threshold].index
    if len(hit) == 0:
        return empty_flags()
    base = _first_per_group(act, k).loc[hit]
    young = n_recent[hit] / n[hit] >= jong_aandeel
    bewijs = (
        n[hit].astype(str)
        + " actieve inschrijvingen op dit adres; "
        + n_recent[hit].astype(str)
        + f" in de laatste {recent_maanden} maanden"
        + np.where(
            young,
            "",
            " (oude, stabiele inschrijvingen: past bij een bedrijfsverzamelgebouw of administratiekantoor)",
        )
    )
    return flag_frame(
        base.assign(kvk_nummer=pd.NA, vestigingsnummer=pd.NA),
        "KVK_VEEL_INSCHRIJVINGEN",
        bron="kvk",
        entiteit_type="adres",
        entiteit_id=pd.Series(hit, index=base.index),
        bewijs=pd.Series(bewijs.to_numpy(), index=base.index),
        themes=themes,
        bewijskracht=np.where(young, VOL, ZWAK),
    )


def flag_verloop_adres(
    vest: gpd.GeoDataFrame,
    *,
    periode: tuple,
    themes: ThemeConfig | None = None,
    threshold: int = 6,
    verloop_per_jaar: float = 0.5,
) -> gpd.GeoDataFrame:
    """KVK_VERLOOP_ADRES: registrations plus deregistrations at one address in the period >= threshold.

    Context: the same number of moves is ordinary tenant turnover in a building with many
    tenants and churn at an address with a few. Below ``verloop_per_jaar`` moves per
    registration present in the period per year the flag weighs :data:`ZWAK`."""
    start, end = _ts(periode[0]), _ts(periode[1])
    key = location_key(vest)
    ins = pd.to_datetime(vest["datum_inschrijving"])
    uit = pd.to_datetime(vest["datum_uitschrijving"])
    n_in = key[(ins >= start) & (ins <= end)].value_counts()
    n_uit = key[(uit >= start) & (uit <= end)].value_counts()
    total = n_in.add(n_uit, fill_value=0).astype(int)
    hit = total[total >= threshold].index
    if len(hit) == 0:
        return empty_flags()
    present = key[(ins <= end) & (uit.isna() | (uit >= start))].value_counts()
    years = max((end - start).days + 1, 1) / 365.25
    rate = total[hit] / present.reindex(hit, fill_value=0).clip(lower=1) / years
    churning = rate >= verloop_per_jaar
    valid = key.notna()
    base = _first_per_group(vest.loc[valid], key[valid]).loc[hit]
    bewijs = (
        n_in.reindex(hit, fill_value=0).astype(int).astype(str)
        + " inschrijvingen en "
        + n_uit.reindex(hit, fill_value=0).astype(int).astype(str)
        + " uitschrijvingen op dit adres in de periode, bij "
        + present.reindex(hit, fill_value=0).astype(str)
        + " inschrijvingen"
        + np.where(
            churning,
            "",
            " (gewoon huurdersverloop: "
            + rate.map(lambda v: f"{v:.2f}".replace(".", ","))
            + " wisselingen per inschrijving per jaar)",
        )
    )
    return flag_frame(
        base.assign(kvk_nummer=pd.NA, vestigingsnummer=pd.NA),
        "KVK_VERLOOP_ADRES",
        bron="kvk",
        entiteit_type="adres",
        entiteit_id=pd.Series(hit, index=base.index),
        bewijs=pd.Series(bewijs.to_numpy(), index=base.index),
        themes=themes,
        bewijskracht=np.where(churning, VOL, ZWAK),
    )


def flag_nieuw_risicobranche(
    vest: gpd.GeoDataFrame, *, periode: tuple, themes: ThemeConfig, maanden: int = 12
) -> gpd.GeoDataFrame:
    """KVK_NIEUW_RISICOBRANCHE: registered in a risk branch within the last ``maanden`` of the period.

    The window is inclusive: ``eind - maanden <= datum_inschrijving <= eind``.
    """
    end = _ts(periode[1])
    ins = pd.to_datetime(vest["datum_inschrijving"])
    label = _category_label(vest, themes)
    hit = (ins >= end - pd.DateOffset(months=maanden)) & (ins <= end) & (label != "")
    base = vest.loc[hit]
    if base.empty:
        return empty_flags()
    bewijs = (
        "Ingeschreven op "
        + _fmt_date(base["datum_inschrijving"])
        + " in risicobranche '"
        + label[hit]
        + "' (SBI "
        + base["sbi_code"].astype("string")
        + ")"
    )
    return flag_frame(
        base,
        "KVK_NIEUW_RISICOBRANCHE",
        bron="kvk",
        entiteit_type="vestiging",
        entiteit_id=base["vestigingsnummer"],
        bewijs=bewijs,
        themes=themes,
        datum=base["datum_inschrijving"],
    )


def flag_woonadres(
    vest: gpd.GeoDataFrame,
    bag: pd.DataFrame | None,
    *,
    periode: tuple,
    themes: ThemeConfig,
    min_werkzame_personen: int = 5,
) -> gpd.GeoDataFrame:
    """KVK_WOONADRES: an active business at an address whose only BAG use is ``woonfunctie``.

    Working from home is normal (ZZP), so only flagged when the business is in a risk branch
    or has at least ``min_werkzame_personen`` working persons.
    """
    if bag is None or bag.empty or "gebruiksdoel" not in bag:
        log.info("KVK_WOONADRES overgeslagen: geen BAG-gebruiksdoelen")
        return empty_flags()
    end = _ts(periode[1])
    doel = bag[["adres_id", "gebruiksdoel"]].dropna(subset=["adres_id"]).drop_duplicates("adres_id")
    only_wonen = (
        doel.set_index("adres_id")["gebruiksdoel"].astype("string").str.strip().str.lower()
        == "woonfunctie"
    )
    aid = (
        vest["adres_id"].astype("string")
        if "adres_id" in vest
        else pd.Series(pd.NA, index=vest.index, dtype="string")
    )
    at_home = aid.map(only_wonen).fillna(False).astype(bool)
    label = _category_label(vest, themes)
    personen = pd.to_numeric(_col(vest, "werkzame_personen", np.nan), errors="coerce")
    many = personen >= min_werkzame_personen
    hit = _active(vest, end) & at_home & ((label != "") | many.fillna(False))
    base = vest.loc[hit]
    if base.empty:
        return empty_flags()
    lab, pers = label[hit], personen[hit]
    reason = pd.Series("", index=base.index, dtype="string")
    reason = reason.mask(lab != "", "risicobranche '" + lab + "'")
    many_txt = pers.fillna(0).astype(int).astype(str) + " werkzame personen"
    reason = reason.mask((lab == "") & many[hit], many_txt)
    reason = reason.mask((lab != "") & many[hit].fillna(False), reason + " en " + many_txt)
    bewijs = "Actieve vestiging (" + reason + ") op een adres met alleen woonfunctie (BAG)"
    return flag_frame(
        base,
        "KVK_WOONADRES",
        bron="kvk",
        entiteit_type="vestiging",
        entiteit_id=base["vestigingsnummer"],
        bewijs=bewijs,
        themes=themes,
    )


def company_lifetimes(vest: pd.DataFrame, *, maanden: int = 12) -> pd.DataFrame:
    """Per kvk_nummer: first registration, last deregistration (NaT while any branch is active),
    number of branches and whether the company was short-lived (closed within ``maanden``)."""
    ins = pd.to_datetime(vest["datum_inschrijving"])
    uit = pd.to_datetime(vest["datum_uitschrijving"])
    grouped = pd.DataFrame(
        {
            "kvk_nummer": vest["kvk_nummer"].astype("string"),
            "ins": ins,
            "uit": uit,
            "open": uit.isna(),
        }
    ).groupby("kvk_nummer")
    life = pd.DataFrame(
        {
            "datum_inschrijving": grouped["ins"].min(),
            "datum_uitschrijving": grouped["uit"].max(),
            "n_vestigingen": grouped.size(),
        }
    )
    life.loc[grouped["open"].any(), "datum_uitschrijving"] = pd.NaT
    life["kort_bestaan"] = life["datum_uitschrijving"].notna() & (
        life["datum_uitschrijving"] <= life["datum_inschrijving"] + pd.DateOffset(months=maanden)
    )
    return life


def flag_kort_bestaan(
    vest: gpd.GeoDataFrame, *, periode: tuple, themes: ThemeConfig | None = None, maanden: int = 12
) -> gpd.GeoDataFrame:
    """KVK_KORT_BESTAAN: a company deregistered in the period within ``maanden`` of its registration."""
    start, end = _ts(periode[0]), _ts(periode[1])
    life = company_lifetimes(vest, maanden=maanden)
    hit = life[
        life["kort_bestaan"]
        & (life["datum_uitschrijving"] >= start)
        & (life["datum_uitschrijving"] <= end)
    ]
    if hit.empty:
        return empty_flags()
    ordered = vest.assign(_ins=pd.to_datetime(vest["datum_inschrijving"])).sort_values(
        "_ins", kind="stable"
    )
    rep = ordered.drop_duplicates("kvk_nummer").set_index(
        ordered.drop_duplicates("kvk_nummer")["kvk_nummer"].astype("string")
    )
    base = rep.loc[hit.index].drop(columns="_ins")
    days = (hit["datum_uitschrijving"] - hit["datum_inschrijving"]).dt.days
    bewijs = (
        "Ingeschreven "
        + _fmt_date(hit["datum_inschrijving"])
        + ", opgeheven "
        + _fmt_date(hit["datum_uitschrijving"])
        + " (na "
        + days.astype(str)
        + " dagen)"
    )
    base = base.assign(vestigingsnummer=pd.NA)
    return flag_frame(
        base,
        "KVK_KORT_BESTAAN",
        bron="kvk",
        entiteit_type="onderneming",
        entiteit_id=pd.Series(hit.index, index=base.index),
        bewijs=pd.Series(bewijs.to_numpy(), index=base.index),
        themes=themes,
        datum=pd.Series(hit["datum_uitschrijving"].to_numpy(), index=base.index),
    )


def flag_functionaris_veel(
    vest: gpd.GeoDataFrame,
    functionarissen: pd.DataFrame | None,
    *,
    themes: ThemeConfig | None = None,
    min_ondernemingen: int = 5,
    min_kort: int = 3,
    maanden: int = 12,
    gevestigd_jaren: float = 2.0,
    eind: pd.Timestamp | None = None,
) -> gpd.GeoDataFrame:
    """KVK_FUNCTIONARIS_VEEL: one officer (``persoon_id``) of >= ``min_ondernemingen`` companies,
    of which >= ``min_kort`` short-lived. Located at the address most of those companies use.

    Context: a straw man's companies are all young; a project developer or an established
    entrepreneur dissolves project companies beside companies that have existed for years.
    When at least as many of the officer's companies existed ``gevestigd_jaren`` or longer
    (until ``eind`` or their deregistration) as were short-lived, the flag weighs
    :data:`ZWAK`."""
    if functionarissen is None or functionarissen.empty:
        return empty_flags()
    life = company_lifetimes(vest, maanden=maanden)
    links = (
        functionarissen[["persoon_id", "kvk_nummer"]].dropna().astype("string").drop_duplicates()
    )
    until = life["datum_uitschrijving"].fillna(
        eind if eind is not None else pd.to_datetime(vest["datum_inschrijving"]).max()
    )
    established = until >= life["datum_inschrijving"] + pd.DateOffset(
        days=round(365.25 * gevestigd_jaren)
    )
    links = links.assign(
        kort=links["kvk_nummer"].map(life["kort_bestaan"]).fillna(False).astype(bool),
        lang=links["kvk_nummer"].map(established).fillna(False).astype(bool),
    )
    per = links.groupby("persoon_id").agg(
        n=("kvk_nummer", "size"), n_kort=("kort", "sum"), n_lang=("lang", "sum")
    )
    hit = per[(per["n"] >= min_ondernemingen) & (per["n_kort"] >= min_kort)]
    if hit.empty:
        return empty_flags()
    key = location_key(vest)
    vk = vest.assign(_key=key, kvk_nummer=vest["kvk_nummer"].astype("string")).dropna(
        subset=["_key"]
    )
    ll = links[links["persoon_id"].isin(hit.index)].merge(
        vk[["kvk_nummer", "_key"]], on="kvk_nummer"
    )
    # the address where most of the person's companies are registered (ties: smallest key)
    mode = (
        ll.groupby(["persoon_id", "_key"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["persoon_id", "n", "_key"], ascending=[True, False, True])
        .drop_duplicates("persoon_id")
        .set_index("persoon_id")["_key"]
    )
    reps = _first_per_group(vk, vk["_key"])
    persons = hit.index
    base = reps.reindex(mode.reindex(persons).to_numpy())
    if not isinstance(base, gpd.GeoDataFrame):
        base = gpd.GeoDataFrame(base, geometry=gpd.GeoSeries([None] * len(base)), crs=CRS)
    base = base.set_axis(pd.RangeIndex(len(persons))).assign(
        persoon_id=persons.to_numpy(), kvk_nummer=pd.NA, vestigingsnummer=pd.NA
    )
    bewijs = (
        "Functionaris bij "
        + hit["n"].astype(str)
        + " ondernemingen, waarvan "
        + hit["n_kort"].astype(int).astype(str)
        + f" binnen {maanden} maanden opgeheven"
    )
    settled = hit["n_lang"] >= hit["n_kort"]
    jaren = f"{gevestigd_jaren:g}".replace(".", ",")
    bewijs = bewijs + np.where(
        settled,
        "; daarnaast "
        + hit["n_lang"].astype(int).astype(str)
        + f" ondernemingen die {jaren} jaar of langer bestaan (past bij projectvennootschappen "
        "van een gevestigde ondernemer)",
        "",
    )
    return flag_frame(
        base,
        "KVK_FUNCTIONARIS_VEEL",
        bron="kvk",
        entiteit_type="persoon",
        entiteit_id=pd.Series(persons.to_numpy(), index=base.index),
        bewijs=pd.Series(bewijs.to_numpy(), index=base.index),
        themes=themes,
        bewijskracht=np.where(settled, ZWAK, VOL),
    )


def kvk_flags(
    vestigingen: gpd.GeoDataFrame | None,
    functionarissen: pd.DataFrame | None = None,
    bag: pd.DataFrame | None = None,
    *,
    periode: tuple[dt.date, dt.date],
    themes: ThemeConfig,
    config: KvkFlagConfig | None = None,
) -> gpd.GeoDataFrame:
    """All KvK flags as one table (:data:`FLAG_COLUMNS`).

    Parameters
    ----------
    vestigingen
        KvK establishments (canonical columns incl. location columns).
    functionarissen
        Officers with ``persoon_id`` pseudonyms (no names).
    bag
        BAG addresses with ``adres_id`` and ``gebruiksdoel``.
    periode
        ``(start, eind)`` of the analysis.
    themes, config
        Theme configuration and thresholds.
    """
    cfg = config or KvkFlagConfig()
    if vestigingen is None or vestigingen.empty:
        return empty_flags()
    check_crs(vestigingen, "kvk_vestigingen")
    vest = vestigingen.copy()
    frames = [
        flag_veel_inschrijvingen(
            vest,
            periode=periode,
            themes=themes,
            threshold=cfg.veel_inschrijvingen,
            recent_maanden=cfg.nieuw_maanden,
            jong_aandeel=cfg.jong_aandeel,
        ),
        flag_verloop_adres(
            vest,
            periode=periode,
            themes=themes,
            threshold=cfg.verloop_adres,
            verloop_per_jaar=cfg.verloop_per_jaar,
        ),
        flag_nieuw_risicobranche(vest, periode=periode, themes=themes, maanden=cfg.nieuw_maanden),
        flag_woonadres(
            vest,
            bag,
            periode=periode,
            themes=themes,
            min_werkzame_personen=cfg.woonadres_werkzame_personen,
        ),
        flag_kort_bestaan(vest, periode=periode, themes=themes, maanden=cfg.kort_bestaan_maanden),
        flag_functionaris_veel(
            vest,
            functionarissen,
            themes=themes,
            min_ondernemingen=cfg.functionaris_min_ondernemingen,
            min_kort=cfg.functionaris_min_kort,
            maanden=cfg.kort_bestaan_maanden,
            gevestigd_jaren=cfg.gevestigd_jaren,
            eind=_ts(periode[1]),
        ),
    ]
    out = concat_flags(frames)
    log.info("KvK-vlaggen: %s", out["flag_id"].value_counts().to_dict())
    return out

"""Risk locations and signals for follow-up.

``risicolocaties``: one row per address with at least one flag (address-located flags only;
person-level flags such as KVK_FUNCTIONARIS_VEEL are not pinned on an address).

Evidence strength (``bewijskracht``, docs/method.md sections 4 and 9): each flag record
carries one (1 in full, 0.5 when weak by nature or weakened by its context). Per address and
kind of flag the strengths of the distinct entities add up to at most 1, so two weak records
of one kind make one indication and several records of one kind never make more; the
location's strength is the sum over the kinds. A risk location with strength >= 2
(:data:`MEERVOUDIG`) combines at least two full indications of different kinds.

``signalen``: addresses and persons (pseudonyms) where several independent indications come
together. An *indication* is a distinct flag id, a distinct partner (``bron``) with events at
the address, or a survey signal at the address. Rules (documented in docs/method.md):

- a signal needs at least 2 indications;
- its strength is the flags' strength plus 1 per partner and 1 for survey signals;
- priority ``hoog``: >= 4 indications, or >= 3 from >= 2 different sources (kvk, kadaster,
  partners, enquête), *and* strength >= 3; ``middel``: 3 indications, or 2 from 2 sources,
  *and* strength >= 2; ``laag``: otherwise. The counting rule is the one analysts know; the
  strength condition keeps weak indications from counting as full ones;
- proposed owner ``RIEC-intake`` for person signals and for signals that involve property
  transactions, officers/networks or events of partners other than the municipality;
  otherwise ``gemeente`` (local instruments: APV, Bibob, permits, checks).

No signal ever contains a person's name: persons appear as ``persoon_id`` pseudonyms.
"""

from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bcba.config import CRS
from bcba.indicators.kvk_flags import LOCATION_COLUMNS, location_key

RISK_LOCATION_COLUMNS = [
    "adres_id",
    "adres_sleutel",
    "buurtcode",
    "wijkcode",
    "cel_id",
    "flag_ids",
    "n_flags",
    "n_soorten",
    "bewijskracht",
    "bewijs",
    "themas",
    "geometry",
]

#: A risk location "met gecombineerd bewijs": at least this strength (two full indications of
#: different kinds, or more weaker ones).
MEERVOUDIG = 2.0

SIGNAL_COLUMNS = [
    "signaal_id",
    "soort",
    "entiteit_id",
    "adres_id",
    "adres_sleutel",
    "buurtcode",
    "wijkcode",
    "cel_id",
    "prioriteit",
    "indicaties",
    "bewijskracht",
    "bronnen",
    "flag_ids",
    "bewijs",
    "themas",
    "eigenaar",
    "geometry",
]

#: Flags that point at persons, networks or property: follow-up belongs with the RIEC partners.
RIEC_FLAGS = {
    "KVK_FUNCTIONARIS_VEEL",
    "KAD_ABC",
    "KAD_JONGE_RECHTSPERSOON",
    "KAD_VEEL_AANKOPEN",
    "KAD_ZONDER_HYPOTHEEK",
    "KAD_PRIJS_WOZ",
}
GEMEENTE_BRONNEN = {"gemeente", "handhaving", "vergunningen", "boa", "bibob"}


def _concat_per_key(keys: pd.Series, values: pd.Series, sep: str) -> pd.Series:
    """``values.groupby(keys).agg(sep.join)`` in Arrow: values joined in their order, per key.

    Arrow's single-threaded list aggregate keeps the input order; the pandas version calls
    ``str.join`` once per group in Python (tens of thousands of addresses in a city).
    """
    table = pa.table(
        {
            "k": pa.array(keys.to_numpy(dtype=object)),
            "v": pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string()),
        }
    )
    grouped = table.group_by("k", use_threads=False).aggregate([("v", "list")])
    joined = pc.binary_join(grouped["v_list"], sep).to_numpy(zero_copy_only=False)
    index = pd.Index(grouped["k"].to_numpy(zero_copy_only=False))
    return pd.Series(joined, index=index, dtype="str").sort_index()


def _join_groups(keys: pd.Series, values: pd.Series, sep: str = ";") -> pd.Series:
    """Per key: the sorted unique items of ``sep``-joined values, joined again (vectorised)."""
    frame = pd.DataFrame(
        {"k": keys.to_numpy(), "v": values.fillna("").astype(str).str.split(sep).to_numpy()}
    )
    frame = frame.explode("v")
    frame = frame[frame["v"].notna() & (frame["v"] != "")].drop_duplicates().sort_values(["k", "v"])
    joined = _concat_per_key(frame["k"], frame["v"], sep)
    return joined.reindex(pd.unique(keys.to_numpy()), fill_value="")


def _empty(columns: list[str]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in columns if c != "geometry"})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)[columns]


def strength_per_kind(keys: pd.Series, flags: pd.DataFrame) -> pd.Series:
    """Evidence strength per key and flag kind: the strengths of the distinct entities (the
    strongest record of each) added up and capped at 1.

    Two weak records of one kind (two starters at one address that stopped within a year)
    make one full indication; ten records of one kind still make one."""
    kracht = (
        pd.to_numeric(flags["bewijskracht"], errors="coerce").fillna(1.0)
        if "bewijskracht" in flags
        else pd.Series(1.0, index=flags.index)
    )
    frame = pd.DataFrame(
        {
            "k": keys.to_numpy(),
            "f": flags["flag_id"].astype(str).to_numpy(),
            "e": flags["entiteit_id"].astype(str).to_numpy(),
            "w": kracht.to_numpy(dtype=float),
        }
    )
    per_entity = frame.groupby(["k", "f", "e"])["w"].max()
    return per_entity.groupby(level=["k", "f"]).sum().clip(upper=1.0)


def risk_locations(flags: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per flagged address: sorted ``flag_ids``, counts, evidence strength (the sum over
    kinds of :func:`strength_per_kind`), joined evidence and themes; strongest first."""
    located = flags[flags["entiteit_type"] != "persoon"]
    key = location_key(located)
    located = located.assign(_key=key).dropna(subset=["_key"])
    if located.empty:
        return _empty(RISK_LOCATION_COLUMNS)
    located = located.sort_values(["_key", "flag_id"], kind="stable")
    g = located.groupby("_key", sort=True)
    first = g.first()
    out = pd.DataFrame({c: first[c] for c in LOCATION_COLUMNS}, index=first.index)
    out["flag_ids"] = _join_groups(located["_key"], located["flag_id"]).reindex(out.index)
    out["n_flags"] = g.size().astype(int)
    out["n_soorten"] = g["flag_id"].nunique().astype(int)
    kinds = strength_per_kind(located["_key"], located)
    out["bewijskracht"] = kinds.groupby(level="k").sum().reindex(out.index).astype(float)
    text = (located["flag_id"] + ": " + located["bewijs"].fillna("")).astype(str)
    out["bewijs"] = _concat_per_key(located["_key"], text, " | ").reindex(out.index)
    out["themas"] = _join_groups(located["_key"], located["themas"]).reindex(out.index)
    geom = g["geometry"].first()
    res = gpd.GeoDataFrame(
        out.reset_index(drop=True), geometry=gpd.GeoSeries(geom.to_numpy(), crs=CRS), crs=CRS
    )
    return res.sort_values(
        ["bewijskracht", "n_soorten", "n_flags"], ascending=False, kind="stable"
    ).reset_index(drop=True)[RISK_LOCATION_COLUMNS]


def _signal_id(kind: str, keys: pd.Series) -> pd.Series:
    return keys.astype(str).map(
        lambda k: "SIG-" + hashlib.sha1(f"{kind}|{k}".encode()).hexdigest()[:10].upper()
    )


#: Evidence strength a signal of priority ``hoog`` / ``middel`` needs besides its count.
KRACHT_HOOG = 3.0
KRACHT_MIDDEL = 2.0


def _priority(indicaties: pd.Series, n_sources: pd.Series, kracht: pd.Series) -> pd.Series:
    """``hoog``/``middel``/``laag``: the count of indications and sources, and the strength."""
    indicaties, n_sources, kracht = (
        pd.Series(np.asarray(x), index=indicaties.index) for x in (indicaties, n_sources, kracht)
    )
    hoog = ((indicaties >= 4) | ((indicaties >= 3) & (n_sources >= 2))) & (kracht >= KRACHT_HOOG)
    middel = ((indicaties >= 3) | ((indicaties >= 2) & (n_sources >= 2))) & (
        kracht >= KRACHT_MIDDEL
    )
    return pd.Series(np.select([hoog, middel], ["hoog", "middel"], "laag"), index=indicaties.index)


def build_signals(
    flags: gpd.GeoDataFrame,
    risicolocaties: gpd.GeoDataFrame,
    *,
    partner_events: pd.DataFrame | None = None,
    survey_signals: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Combine flags, partner events and survey signals into prioritised signals.

    Parameters
    ----------
    flags, risicolocaties
        From the flag modules and :func:`risk_locations`.
    partner_events
        Partner events with location columns, ``bron`` and (optionally) ``thema_id``.
    survey_signals
        Survey signals (``enquete.signalen``) with location columns and ``thema``.

    Returns
    -------
    GeoDataFrame with :data:`SIGNAL_COLUMNS`, highest priority first.
    """
    parts = []
    # -- address signals ------------------------------------------------------------------------
    if len(risicolocaties):
        loc = risicolocaties.assign(_key=location_key(risicolocaties)).set_index("_key", drop=False)
        n_partner_src = pd.Series(0, index=loc.index)
        partner_txt = pd.Series("", index=loc.index, dtype="string")
        partner_bronnen = pd.Series("", index=loc.index, dtype="string")
        partner_themes = pd.Series("", index=loc.index, dtype="string")
        if partner_events is not None and len(partner_events):
            pe = partner_events.assign(_key=location_key(partner_events)).dropna(subset=["_key"])
            pe = pe[pe["_key"].isin(loc.index)].drop_duplicates(
                subset=[c for c in ("_key", "bron", "datum", "soort") if c in pe]
            )
            if len(pe):
                bron = pe["bron"].astype("string").fillna("onbekend").str.lower()
                g = pe.assign(bron=bron).groupby("_key")
                n_partner_src = g["bron"].nunique().reindex(loc.index, fill_value=0)
                partner_bronnen = _join_groups(pe["_key"], bron).reindex(loc.index, fill_value="")
                counts = g.size().reindex(loc.index, fill_value=0)
                partner_txt = (
                    "partners: "
                    + counts.astype(str)
                    + " melding(en) van "
                    + partner_bronnen.str.replace(";", ", ")
                ).where(counts > 0, "")
                if "thema_id" in pe:
                    partner_themes = _join_groups(pe["_key"], pe["thema_id"]).reindex(
                        loc.index, fill_value=""
                    )
        n_survey = pd.Series(0, index=loc.index)
        if survey_signals is not None and len(survey_signals):
            ss = survey_signals.assign(_key=location_key(survey_signals)).dropna(subset=["_key"])
            n_survey = ss.groupby("_key").size().reindex(loc.index, fill_value=0)
        has_kvk = loc["flag_ids"].str.contains("KVK_", regex=False)
        has_kad = loc["flag_ids"].str.contains("KAD_", regex=False)
        n_sources = (
            has_kvk.astype(int)
            + has_kad.astype(int)
            + (n_partner_src > 0).astype(int)
            + (n_survey > 0).astype(int)
        )
        indicaties = (
            loc["n_soorten"].astype(int) + n_partner_src.astype(int) + (n_survey > 0).astype(int)
        )
        flag_kracht = (
            loc["bewijskracht"].astype(float)
            if "bewijskracht" in loc
            else loc["n_soorten"].astype(float)
        )
        kracht = flag_kracht + n_partner_src.astype(float) + (n_survey > 0).astype(float)
        keep = indicaties >= 2
        if keep.any():
            sel = loc[keep]
            riec = loc["flag_ids"][keep].str.contains(
                "|".join(sorted(RIEC_FLAGS)), regex=True
            ) | partner_bronnen[keep].map(
                lambda b: any(x and x not in GEMEENTE_BRONNEN for x in str(b).split(";"))
            )
            bronnen = (
                np.where(has_kvk[keep], "kvk;", "")
                + np.where(has_kad[keep], "kadaster;", "")
                + np.where(n_partner_src[keep] > 0, "partners;", "")
                + np.where(n_survey[keep] > 0, "enquete;", "")
            )
            survey_txt = np.where(
                n_survey[keep] > 0,
                " | enquête: " + n_survey[keep].astype(str) + " signaal/signalen op dit adres",
                "",
            )
            bewijs = (
                sel["bewijs"]
                + np.where(partner_txt[keep] != "", " | " + partner_txt[keep], "")
                + survey_txt
            )
            themas = _join_groups(
                pd.Series(list(sel.index) * 2), pd.concat([sel["themas"], partner_themes[keep]])
            )
            themas = themas.reindex(sel.index).to_numpy()
            addr = pd.DataFrame(
                {
                    "signaal_id": _signal_id("adres", sel.index.to_series()).to_numpy(),
                    "soort": "adres",
                    "entiteit_id": sel.index.to_numpy(),
                    **{c: sel[c].to_numpy() for c in LOCATION_COLUMNS},
                    "prioriteit": _priority(
                        indicaties[keep], n_sources[keep], kracht[keep]
                    ).to_numpy(),
                    "indicaties": indicaties[keep].to_numpy(),
                    "bewijskracht": kracht[keep].to_numpy(dtype=float),
                    "bronnen": pd.Series(bronnen).str.rstrip(";").to_numpy(),
                    "flag_ids": sel["flag_ids"].to_numpy(),
                    "bewijs": np.asarray(bewijs, dtype=object),
                    "themas": themas,
                    "eigenaar": np.where(riec, "RIEC-intake", "gemeente"),
                }
            )
            parts.append(
                gpd.GeoDataFrame(
                    addr, geometry=gpd.GeoSeries(sel.geometry.to_numpy(), crs=CRS), crs=CRS
                )
            )
    # -- person signals (pseudonyms only) -------------------------------------------------------
    pf = flags.dropna(subset=["persoon_id"])
    if len(pf):
        g = pf.groupby("persoon_id")
        n_ids = g["flag_id"].nunique()
        hit = n_ids[n_ids >= 2].index
        if len(hit):
            sub = pf[pf["persoon_id"].isin(hit)].sort_values(
                ["persoon_id", "flag_id"], kind="stable"
            )
            gg = sub.groupby("persoon_id")
            ids = _join_groups(sub["persoon_id"], sub["flag_id"])
            srcs = gg["bron"].nunique().reindex(ids.index)
            kracht = (
                strength_per_kind(sub["persoon_id"], sub)
                .groupby(level="k")
                .sum()
                .reindex(ids.index)
                .astype(float)
            )
            text = (sub["flag_id"] + ": " + sub["bewijs"].fillna("")).astype(str)
            bewijs = text.groupby(sub["persoon_id"].to_numpy()).agg(" | ".join).reindex(ids.index)
            first = gg.first()
            pers = pd.DataFrame(
                {
                    "signaal_id": _signal_id("persoon", ids.index.to_series()).to_numpy(),
                    "soort": "persoon",
                    "entiteit_id": ids.index.to_numpy(),
                    **{c: first[c].to_numpy() for c in LOCATION_COLUMNS},
                    "prioriteit": _priority(n_ids[ids.index], srcs, kracht).to_numpy(),
                    "indicaties": n_ids[ids.index].to_numpy(),
                    "bewijskracht": kracht.to_numpy(dtype=float),
                    "bronnen": _join_groups(sub["persoon_id"], sub["bron"])
                    .reindex(ids.index)
                    .to_numpy(),
                    "flag_ids": ids.to_numpy(),
                    "bewijs": bewijs.to_numpy(),
                    "themas": _join_groups(sub["persoon_id"], sub["themas"])
                    .reindex(ids.index)
                    .to_numpy(),
                    "eigenaar": "RIEC-intake",
                }
            )
            parts.append(
                gpd.GeoDataFrame(
                    pers,
                    geometry=gpd.GeoSeries(gg["geometry"].first().to_numpy(), crs=CRS),
                    crs=CRS,
                )
            )
    if not parts:
        return _empty(SIGNAL_COLUMNS)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=CRS)
    order = out["prioriteit"].map({"hoog": 0, "middel": 1, "laag": 2})
    out = out.assign(_o=order).sort_values(
        ["_o", "bewijskracht", "indicaties", "signaal_id"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    out["indicaties"] = out["indicaties"].astype(int)
    return out.drop(columns="_o").reset_index(drop=True)[SIGNAL_COLUMNS]

"""Orchestration of the indicator analysis: ``compute_indicators`` and result writers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from bcba.config import CRS
from bcba.indicators import kadaster_flags as kad_mod
from bcba.indicators import kvk_flags as kvk_mod
from bcba.indicators import opportunity, partners, scores, signals, survey, vulnerability
from bcba.io import atomic_path, ensure_dir, write_csv
from bcba.themes import ThemeConfig, load_themes

log = logging.getLogger(__name__)


class IndicatorConfig(BaseModel):
    """Thresholds and tuning of the indicator analysis (documented in docs/method.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kvk: kvk_mod.KvkFlagConfig = Field(default_factory=kvk_mod.KvkFlagConfig)
    kadaster: kad_mod.KadasterFlagConfig = Field(default_factory=kad_mod.KadasterFlagConfig)
    enquete_min_n: int = Field(5, ge=1, description="kleinere cellen worden onderdrukt")
    z_clip: float = Field(5.0, gt=0, description="robuuste z-scores afgekapt op ±z_clip")
    prior_vestigingen: float = Field(10.0, ge=0, description="krimp van het locatiequotiënt")
    prior_adressen: float = Field(
        100.0, ge=0, description="krimp van partnermeldingen per 1.000 adressen"
    )
    prior_vlaggen: float = Field(
        2.0, gt=0, description="krimp van de vlaggenindex (pseudo-aantal vlaggen)"
    )
    klein_gebied_inwoners: int = Field(50, ge=0)
    klein_gebied_adressen: int = Field(25, ge=0)


@dataclass
class IndicatorResults:
    """All tables of the indicator analysis (GeoDataFrames in EPSG:28992)."""

    scores_buurt: gpd.GeoDataFrame
    scores: pd.DataFrame
    bijdragen: pd.DataFrame
    indicatoren: pd.DataFrame
    flags: gpd.GeoDataFrame
    risicolocaties: gpd.GeoDataFrame
    signalen: gpd.GeoDataFrame
    gelegenheid_buurt: pd.DataFrame
    gelegenheid_cel: pd.DataFrame
    gelegenheid_thema_buurt: pd.DataFrame
    enquete_percepties: pd.DataFrame
    enquete_vermeldingen: pd.DataFrame
    enquete_afdelingen: pd.DataFrame
    partners_buurt: pd.DataFrame
    partners_cel: pd.DataFrame
    kwetsbaarheid: pd.DataFrame
    kwetsbaarheid_ontbrekend: pd.DataFrame
    themes: ThemeConfig = field(repr=False)
    config: IndicatorConfig = field(repr=False)

    def explain(self, buurtcode: str, thema: str, top: int = 3) -> list[str]:
        """Dutch sentences naming the ``top`` indicators that raise the buurt's score most."""
        return scores.explain_contributions(self.bijdragen, buurtcode, thema, top=top)


def _lower_first(text: str) -> str:
    """Lower-case the first letter only, keeping abbreviations such as ABC."""
    return text[:1].lower() + text[1:]


def _count_by(frame: pd.DataFrame | None, key: str) -> pd.Series:
    if frame is None or key not in frame:
        return pd.Series(dtype=int)
    return frame[key].astype("string").dropna().value_counts()


def build_indicators(
    *,
    buurten: pd.DataFrame,
    themes: ThemeConfig,
    config: IndicatorConfig,
    opp_thema: pd.DataFrame,
    opp_cat: pd.DataFrame,
    flags: pd.DataFrame,
    n_adressen: pd.Series,
    partner_buurt: pd.DataFrame,
    mentions_buurt: pd.DataFrame,
    kwetsbaarheid: pd.DataFrame,
) -> pd.DataFrame:
    """The long indicator table (buurtcode, thema, indicator, waarde, referentie, detail)."""
    codes = pd.Index(buurten["buurtcode"].astype("string"))
    adressen = n_adressen.reindex(codes, fill_value=0).astype(float)
    rows = []
    kw = kwetsbaarheid.set_index("buurtcode")["kwetsbaarheid"].reindex(codes)
    for tid, theme in themes.themas.items():
        ot = opp_thema[opp_thema["groep"] == tid].set_index("gebied").reindex(codes)
        # the category with most establishments in the buurt, for the explanation
        oc = opp_cat[opp_cat["groep"].isin(theme.categorieen) & (opp_cat["n"] > 0)]
        top_cat = oc.sort_values(
            ["gebied", "n", "groep"], ascending=[True, False, True]
        ).drop_duplicates("gebied")
        cat_detail = (
            "vooral " + top_cat["groep"].map(lambda c: _lower_first(themes.categorieen[c].label))
        ).set_axis(top_cat["gebied"].to_numpy())
        cat_detail = cat_detail.reindex(codes).fillna("")
        area_total = ot["oppervlakte_km2"].sum()
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "kansstructuur_lq",
                    "waarde": ot["lq_gekrompen"].to_numpy(),
                    "referentie": 1.0,
                    "detail": cat_detail.to_numpy(),
                }
            )
        )
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "kansstructuur_dichtheid",
                    "waarde": ot["dichtheid_km2"].to_numpy(),
                    "referentie": ot["n"].sum() / area_total if area_total > 0 else np.nan,
                    "detail": cat_detail.to_numpy(),
                }
            )
        )
        # flag index: per flag type of the theme the shrunk rate per 1,000 addresses relative to
        # the municipal rate, averaged over the flag types that occur in the municipality. Each
        # type weighs equally, so a common, noisy flag cannot drown a rare, specific one.
        tf = (
            flags[flags["themas"].fillna("").str.split(";").map(lambda ts, t=tid: t in ts)]
            if len(flags)
            else flags
        )
        ratios = []
        for fid in theme.vlaggen:
            n_f = (
                _count_by(tf[tf["flag_id"] == fid] if len(tf) else None, "buurtcode")
                .reindex(codes, fill_value=0)
                .astype(float)
            )
            if n_f.sum() == 0 or adressen.sum() == 0:
                continue
            expected = adressen * (n_f.sum() / adressen.sum())
            # Poisson-gamma smoothing: a rare flag seen once in a big buurt is not a big ratio
            rr = (n_f + config.prior_vlaggen) / (expected + config.prior_vlaggen)
            ratios.append(rr.rename(fid))
        if ratios:
            rr_all = pd.concat(ratios, axis=1)
            index = rr_all.mean(axis=1)
            top = rr_all.idxmax(axis=1)
            flag_detail = (
                "vooral: " + top.map(lambda f: _lower_first(kvk_mod.OMSCHRIJVING.get(f, f)))
            ).where(rr_all.max(axis=1) > 1.5, "")
        else:
            index = pd.Series(1.0, index=codes)
            flag_detail = pd.Series("", index=codes)
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "vlaggen_index",
                    "waarde": index.to_numpy(),
                    "referentie": 1.0,
                    "detail": flag_detail.fillna("").to_numpy(),
                }
            )
        )
        # partner events per 1,000 addresses (shrunk). Addresses, not inhabitants: business
        # parks have (almost) no inhabitants, so a per-inhabitant rate explodes there
        pb = partner_buurt[partner_buurt["thema"] == tid].set_index("gebied").reindex(codes)
        gew = pb["gewogen"].fillna(0.0)
        prate = partners.shrunk_rate(gew, adressen, prior=config.prior_adressen)
        pref = gew.sum() / adressen.sum() * 1000 if adressen.sum() > 0 else np.nan
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "partner_per_1000_adressen",
                    "waarde": prate,
                    "referentie": pref,
                    "detail": "",
                }
            )
        )
        # survey mentions
        st = theme.enquete_thema or tid
        mb = (
            mentions_buurt[mentions_buurt["thema"] == st].set_index("buurtcode")["vermeldingen"]
            if len(mentions_buurt)
            else pd.Series(dtype=float)
        )
        mentions = mb.reindex(codes, fill_value=0.0).astype(float)
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "enquete_vermeldingen",
                    "waarde": mentions.to_numpy(),
                    "referentie": mentions.mean() if len(mentions) else np.nan,
                    "detail": "",
                }
            )
        )
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": "kwetsbaarheid",
                    "waarde": kw.to_numpy(),
                    "referentie": np.nan,
                    "detail": "",
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["buurtcode"] = out["buurtcode"].astype("string")
    return out


def compute_indicators(
    inputs, *, themes: ThemeConfig | None = None, config: IndicatorConfig | None = None
) -> IndicatorResults:
    """Run the whole indicator analysis on validated :class:`bcba.sources.Inputs`.

    Parameters
    ----------
    inputs
        ``bcba.sources.load_inputs(...)`` result (any attribute may be None except area/bag).
    themes
        Theme configuration; default :func:`bcba.themes.load_themes`.
    config
        Thresholds and tuning; default :class:`IndicatorConfig`.
    """
    themes = themes or load_themes()
    cfg = config or IndicatorConfig()
    periode = inputs.periode
    area = inputs.area
    buurten = area.buurten
    kvk_mod.check_crs(buurten, "buurten")
    vest = inputs.kvk_vestigingen
    empty_vest = pd.DataFrame(
        columns=[
            "sbi_code",
            "handelsnaam",
            "datum_inschrijving",
            "datum_uitschrijving",
            "buurtcode",
            "cel_id",
        ]
    )
    v = (
        vest
        if vest is not None
        else empty_vest.astype(
            {"datum_inschrijving": "datetime64[us]", "datum_uitschrijving": "datetime64[us]"}
        )
    )
    end = pd.Timestamp(periode[1])
    ub, uc = opportunity.units_from_buurten(buurten), opportunity.units_from_cells(area.cellen)
    opp_cat = opportunity.opportunity_table(
        v, ub, themes=themes, key="buurtcode", peildatum=end, prior=cfg.prior_vestigingen
    )
    opp_cel = opportunity.opportunity_table(
        v, uc, themes=themes, key="cel_id", peildatum=end, prior=cfg.prior_vestigingen
    )
    opp_thema = opportunity.opportunity_table(
        v,
        ub,
        themes=themes,
        key="buurtcode",
        by="thema",
        peildatum=end,
        prior=cfg.prior_vestigingen,
    )
    flags = kvk_mod.concat_flags(
        [
            kvk_mod.kvk_flags(
                vest,
                inputs.kvk_functionarissen,
                inputs.bag,
                periode=periode,
                themes=themes,
                config=cfg.kvk,
            ),
            kad_mod.kadaster_flags(
                inputs.kadaster, vest, periode=periode, themes=themes, config=cfg.kadaster
            ),
        ]
    )
    theme_ids = list(themes.themas)
    if inputs.partners is not None and len(inputs.partners):
        events = partners.events_by_theme(inputs.partners, themes, periode=periode)
    else:
        events = None
    p_buurt = partners.partner_rates(events, ub, key="buurtcode", theme_ids=theme_ids)
    p_cel = partners.partner_rates(events, uc, key="cel_id", theme_ids=theme_ids)
    enq = inputs.enquete
    perc = survey.perception_summary(enq.percepties if enq else None, min_n=cfg.enquete_min_n)
    mentions = survey.mention_counts(enq.vermeldingen if enq else None, min_n=cfg.enquete_min_n)
    afd = survey.responses_per_department(enq.percepties if enq else None, min_n=cfg.enquete_min_n)
    m_buurt = survey.mentions_per_buurt(mentions, buurten)
    kw = vulnerability.vulnerability(buurten, clip=cfg.z_clip)
    n_adr = _count_by(inputs.bag, "buurtcode")
    ind = build_indicators(
        buurten=buurten,
        themes=themes,
        config=cfg,
        opp_thema=opp_thema,
        opp_cat=opp_cat,
        flags=flags,
        n_adressen=n_adr,
        partner_buurt=p_buurt,
        mentions_buurt=m_buurt,
        kwetsbaarheid=kw,
    )
    sc, contrib = scores.composite_scores(ind, themes, clip=cfg.z_clip)
    risk = signals.risk_locations(flags)
    sig = signals.build_signals(
        flags, risk, partner_events=events, survey_signals=enq.signalen if enq is not None else None
    )
    scores_buurt = _scores_wide(buurten, sc, n_adr, cfg)
    log.info(
        "Indicatoren berekend: %d vlaggen, %d risicolocaties, %d signalen",
        len(flags),
        len(risk),
        len(sig),
    )
    return IndicatorResults(
        scores_buurt=scores_buurt,
        scores=sc,
        bijdragen=contrib,
        indicatoren=ind,
        flags=flags,
        risicolocaties=risk,
        signalen=sig,
        gelegenheid_buurt=opp_cat,
        gelegenheid_cel=opp_cel,
        gelegenheid_thema_buurt=opp_thema,
        enquete_percepties=perc,
        enquete_vermeldingen=mentions,
        enquete_afdelingen=afd,
        partners_buurt=p_buurt,
        partners_cel=p_cel,
        kwetsbaarheid=kw,
        kwetsbaarheid_ontbrekend=vulnerability.missing_report(kw),
        themes=themes,
        config=cfg,
    )


def _scores_wide(
    buurten: gpd.GeoDataFrame, sc: pd.DataFrame, n_adr: pd.Series, cfg: IndicatorConfig
) -> gpd.GeoDataFrame:
    keep = [c for c in ("buurtcode", "buurtnaam", "wijkcode", "aantal_inwoners") if c in buurten]
    base = pd.DataFrame(buurten[keep]).copy()
    base["buurtcode"] = base["buurtcode"].astype("string")
    base["adressen"] = base["buurtcode"].map(n_adr).fillna(0).astype(int)
    inw = pd.to_numeric(base.get("aantal_inwoners"), errors="coerce").fillna(0)
    # a tiny buurt is marked: its rates are shrunk, but readers should weigh its rank with care
    base["klein_gebied"] = (inw < cfg.klein_gebied_inwoners) & (
        base["adressen"] < cfg.klein_gebied_adressen
    )
    wide = sc.pivot(index="buurtcode", columns="thema", values=["score", "rang", "percentiel"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    out = base.merge(wide.reset_index(), on="buurtcode", how="left")
    for c in [c for c in out if c.startswith("rang_")]:
        out[c] = out[c].astype("Int64")
    return gpd.GeoDataFrame(out, geometry=buurten.geometry.to_numpy(), crs=CRS)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV-ready copy: point geometries as x/y columns (RD New), others dropped."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geom = frame.geometry
    is_point = geom.notna() & (geom.geom_type == "Point")
    if is_point.any():
        pts = geom[is_point]
        out["x"] = pd.Series(pts.x.round(1), index=pts.index).reindex(frame.index)
        out["y"] = pd.Series(pts.y.round(1), index=pts.index).reindex(frame.index)
    return out


CSV_TABLES = {
    "scores_buurt": "scores_buurt.csv",
    "bijdragen": "bijdragen.csv",
    "risicolocaties": "risicolocaties.csv",
    "signalen": "signalen.csv",
    "flags": "vlaggen.csv",
    "gelegenheid_buurt": "gelegenheid_buurt.csv",
    "gelegenheid_cel": "gelegenheid_cel.csv",
    "partners_buurt": "partners_buurt.csv",
    "enquete_percepties": "enquete_percepties.csv",
    "enquete_afdelingen": "enquete_afdelingen.csv",
    "kwetsbaarheid": "kwetsbaarheid.csv",
}


def write_results(results: IndicatorResults, out_dir: str | Path) -> dict[str, Path]:
    """Write the result tables as CSV (atomic, owner-only). Returns table name -> path.

    The survey mentions are written with suppressed counts only (``vermeldingen_rapport``);
    ``gelegenheid_cel.csv`` lists the 100m squares with at least one establishment.
    """
    folder = ensure_dir(out_dir)
    written = {}
    for name, filename in CSV_TABLES.items():
        frame = _flat(getattr(results, name))
        if name == "gelegenheid_cel":
            # 100m squares without any establishment only repeat zeros and the prior (four
            # in five rows of a city: 29 MB and 2 s to write); they are left out
            frame = frame[frame["n_alle"] > 0]
        written[name] = write_csv(frame, folder / filename)
    mentions = results.enquete_vermeldingen.drop(columns=["vermeldingen"], errors="ignore")
    written["enquete_vermeldingen"] = write_csv(mentions, folder / "enquete_vermeldingen.csv")
    return written


def to_geopackage(results: IndicatorResults, path: str | Path) -> Path:
    """Write layers ``scores_buurt``, ``risicolocaties`` and ``signalen`` to one GeoPackage."""
    path = Path(path)
    with atomic_path(path) as tmp:
        for i, name in enumerate(("scores_buurt", "risicolocaties", "signalen")):
            layer = getattr(results, name)
            layer = layer[layer.geometry.notna()] if name == "signalen" else layer
            layer.to_file(tmp, layer=name, driver="GPKG", mode="w" if i == 0 else "a")
    return path

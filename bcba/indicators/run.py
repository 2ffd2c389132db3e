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
from bcba.indicators import (
    bias,
    opportunity,
    partners,
    scores,
    signals,
    survey,
    verdicts,
    vulnerability,
)
from bcba.indicators import kadaster_flags as kad_mod
from bcba.indicators import kvk_flags as kvk_mod
from bcba.io import atomic_path, ensure_dir, write_csv
from bcba.themes import ThemeConfig, load_themes

log = logging.getLogger(__name__)


class IndicatorConfig(BaseModel):
    """Thresholds and tuning of the indicator analysis (documented in docs/method.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kvk: kvk_mod.KvkFlagConfig = Field(default_factory=kvk_mod.KvkFlagConfig)
    kadaster: kad_mod.KadasterFlagConfig = Field(default_factory=kad_mod.KadasterFlagConfig)
    enquete_min_n: int = Field(
        5, ge=1, description="gebieden en cellen met minder respondenten: niet getoond, niet geteld"
    )
    z_clip: float = Field(5.0, gt=0, description="robuuste z-scores afgekapt op ±z_clip")
    prior_vestigingen: float = Field(10.0, ge=0, description="krimp van het locatiequotiënt")
    prior_vlaggen: float = Field(
        2.0, gt=0, description="krimp van de vlaggenindex (pseudo-aantal vlaggen)"
    )
    klein_gebied_adressen: int = Field(
        25, ge=0, description="buurten met minder BAG-adressen krijgen geen rang (klein gebied)"
    )
    gevoeligheid_replicaties: int = Field(
        200, ge=1, description="replicaties van de gevoeligheidsanalyse (rangintervallen)"
    )
    gevoeligheid_spreiding: float = Field(
        0.5, ge=0, lt=1, description="gewichten varieren met ±spreiding (0,5 = ±50 %)"
    )
    gevoeligheid_seed: int = Field(20250, description="seed van de gevoeligheidsanalyse")
    bias_bootstrap: int = Field(1000, ge=10, description="bootstrapreplicaties biasdiagnostiek")


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
    bias: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Bias diagnostics per theme and characteristic (:func:`bcba.indicators.bias.bias_diagnostics`)."""
    bias_toelichting: str | None = None
    """A Dutch sentence with the municipality's CBS income, context for the bias table."""

    def explain(self, buurtcode: str, thema: str, top: int = 3) -> list[str]:
        """Dutch sentences naming the ``top`` indicators that raise the buurt's score most."""
        return scores.explain_contributions(self.bijdragen, buurtcode, thema, top=top)

    def rang_tekst(self, buurtcode: str, thema: str) -> str:
        """The buurt's rank interval in Dutch (``"rang 2–6"``, ``"klein gebied"``)."""
        row = self.scores_buurt.set_index("buurtcode").loc[buurtcode]
        return str(row[f"rang_{thema}_tekst"])


def _lower_first(text: str) -> str:
    """Lower-case the first letter only, keeping abbreviations such as ABC."""
    return text[:1].lower() + text[1:]


def _count_by(frame: pd.DataFrame | None, key: str) -> pd.Series:
    if frame is None or key not in frame:
        return pd.Series(dtype=int)
    return frame[key].astype("string").dropna().value_counts()


def _flag_index(
    flags: pd.DataFrame,
    flag_ids: list[str],
    codes: pd.Index,
    adressen: pd.Series,
    *,
    prior: float,
) -> tuple[pd.Series, pd.Series]:
    """Per buurt the mean over flag types of ``(n + a) / (E + a)`` and a Dutch detail."""
    ratios = []
    by_type = {fid: sub for fid, sub in flags.groupby("flag_id")} if len(flags) else {}
    for fid in flag_ids:
        n_f = _count_by(by_type.get(fid), "buurtcode").reindex(codes, fill_value=0).astype(float)
        if n_f.sum() == 0 or adressen.sum() == 0:
            continue
        expected = adressen * (n_f.sum() / adressen.sum())
        # Poisson-gamma smoothing: a rare flag seen once in a big buurt is not a big ratio
        rr = (n_f + prior) / (expected + prior)
        ratios.append(rr.rename(fid))
    if not ratios:
        return pd.Series(1.0, index=codes), pd.Series("", index=codes)
    rr_all = pd.concat(ratios, axis=1)
    top = rr_all.idxmax(axis=1)
    # the largest flag type is named only when it would earn a verdict word on its own
    named = rr_all.max(axis=1).map(lambda r: verdicts.verdict("vlaggen_index", r) is not None)
    detail = ("vooral: " + top.map(lambda f: _lower_first(kvk_mod.OMSCHRIJVING.get(f, f)))).where(
        named.astype(bool), ""
    )
    return rr_all.mean(axis=1), detail.fillna("")


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
) -> pd.DataFrame:
    """The long indicator table (buurtcode, thema, indicator, waarde, referentie, ondergrens,
    detail) for every theme and for ``totaal``.

    Evidence enters a theme only through the rules of the theme configuration (its
    categories, its ``vlaggen``, the partner events mapped to it, its survey theme). The
    ``totaal`` rows use the union of all themes' evidence with every record once: the
    establishments in any theme's category, every flag that any theme uses, every mapped
    partner event (``partner_buurt`` rows with ``thema = 'totaal'``) and the respondents
    naming the buurt for any theme (``mentions_buurt`` rows with ``thema = 'totaal'``).
    """
    codes = pd.Index(buurten["buurtcode"].astype("string"))
    adressen = n_adressen.reindex(codes, fill_value=0).astype(float)
    themed_flags = (
        flags.assign(_themas=flags["themas"].fillna("").astype(str).str.split(";"))
        if len(flags)
        else flags.assign(_themas=pd.Series(dtype=object))
    )
    groups: dict[str, tuple[list[str], list[str], str]] = {
        tid: (t.categorieen, t.vlaggen, t.enquete_thema or tid) for tid, t in themes.themas.items()
    }
    all_cats = list(dict.fromkeys(c for t in themes.themas.values() for c in t.categorieen))
    all_flags = list(dict.fromkeys(f for t in themes.themas.values() for f in t.vlaggen))
    groups[scores.TOTAAL] = (all_cats, all_flags, survey.TOTAAL)
    oc_all = opp_cat[opp_cat["n"] > 0]
    rows = []

    def add(tid, indicator, waarde, referentie, ondergrens=np.nan, detail=""):
        rows.append(
            pd.DataFrame(
                {
                    "buurtcode": codes,
                    "thema": tid,
                    "indicator": indicator,
                    "waarde": np.asarray(waarde, dtype=float),
                    "referentie": referentie,
                    "ondergrens": ondergrens,
                    "detail": detail,
                }
            )
        )

    for tid, (cats, flag_ids, survey_theme) in groups.items():
        # opportunity structure: shrunk LQ; the explanation names the largest category
        ot = opp_thema[opp_thema["groep"] == tid].set_index("gebied").reindex(codes)
        oc = oc_all[oc_all["groep"].isin(cats)]
        top_cat = oc.sort_values(
            ["gebied", "n", "groep"], ascending=[True, False, True]
        ).drop_duplicates("gebied")
        cat_detail = (
            "vooral " + top_cat["groep"].map(lambda c: _lower_first(themes.categorieen[c].label))
        ).set_axis(top_cat["gebied"].to_numpy())
        add(
            tid,
            "kansstructuur_lq",
            ot["lq_gekrompen"].to_numpy(),
            1.0,
            detail=cat_detail.reindex(codes).fillna("").to_numpy(),
        )
        # flag index: per flag type of the theme the shrunk rate per 1,000 addresses relative
        # to the municipal rate, averaged over the flag types that occur. Each type weighs
        # equally, so a common, noisy flag cannot drown a rare, specific one.
        if tid == scores.TOTAAL:
            tf = (
                themed_flags[themed_flags["_themas"].map(lambda ts: any(ts))]
                if len(flags)
                else flags
            )
        else:
            tf = (
                themed_flags[themed_flags["_themas"].map(lambda ts, t=tid: t in ts)]
                if len(flags)
                else flags
            )
        index, flag_detail = _flag_index(tf, flag_ids, codes, adressen, prior=config.prior_vlaggen)
        add(tid, "vlaggen_index", index.to_numpy(), 1.0, detail=flag_detail.to_numpy())
        # partner events per 1,000 addresses, empirical-Bayes shrunk (partners.partner_rates).
        # Addresses, not inhabitants: business parks have (almost) no inhabitants
        pb = partner_buurt[partner_buurt["thema"] == tid].set_index("gebied").reindex(codes)
        pref = (
            pb["gewogen"].sum() / pb["adressen"].sum() * 1000
            if pb["adressen"].sum() > 0
            else np.nan
        )
        add(
            tid,
            "partner_per_1000_adressen",
            pb["per_1000_adressen_gekrompen"].to_numpy(),
            pref,
            ondergrens=pb["interval_laag"].to_numpy(),
        )
        # survey: respondents naming the buurt (areas with >= min_n respondents), shrunk
        mb = (
            mentions_buurt[mentions_buurt["thema"] == survey_theme].set_index("buurtcode")[
                "respondenten"
            ]
            if len(mentions_buurt)
            else pd.Series(dtype=float)
        )
        sm = survey.shrunk_mentions(mb.reindex(codes, fill_value=0.0).astype(float))
        add(
            tid,
            "enquete_vermeldingen",
            sm["verhouding"].to_numpy(),
            1.0,
            ondergrens=sm["ondergrens"].to_numpy(),
        )
    out = pd.concat(rows, ignore_index=True)
    out["buurtcode"] = out["buurtcode"].astype("string")
    out["detail"] = out["detail"].fillna("").astype("string")
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
    # no attribute about migration background or origin enters any model or output
    buurten = bias.drop_protected(area.buurten)
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
    n_adr = _count_by(inputs.bag, "buurtcode")
    codes = buurten["buurtcode"].astype("string")
    # small areas: too few addresses for any rate or rank to mean something
    klein = pd.Series(
        codes.map(n_adr).fillna(0).to_numpy() < cfg.klein_gebied_adressen, index=codes.to_numpy()
    )
    if inputs.partners is not None and len(inputs.partners):
        events = partners.events_by_theme(inputs.partners, themes, periode=periode)
    else:
        events = None
    p_buurt = partners.partner_rates(
        events, ub, key="buurtcode", theme_ids=theme_ids, adressen=n_adr, klein_gebied=klein
    )
    p_totaal = partners.partner_rates(
        events.assign(thema_id=scores.TOTAAL) if events is not None else None,
        ub,
        key="buurtcode",
        theme_ids=[scores.TOTAAL],
        adressen=n_adr,
        klein_gebied=klein,
    )
    p_cel = partners.partner_rates(
        events, uc, key="cel_id", theme_ids=theme_ids, adressen=_count_by(inputs.bag, "cel_id")
    )
    enq = inputs.enquete
    perc = survey.perception_summary(enq.percepties if enq else None, min_n=cfg.enquete_min_n)
    mentions = survey.mention_counts(
        enq.vermeldingen if enq else None, min_n=cfg.enquete_min_n, met_totaal=True
    )
    afd = survey.responses_per_department(enq.percepties if enq else None, min_n=cfg.enquete_min_n)
    m_buurt = survey.mentions_per_buurt(mentions, buurten)
    kw = vulnerability.vulnerability(buurten, clip=cfg.z_clip)
    ind = build_indicators(
        buurten=buurten,
        themes=themes,
        config=cfg,
        opp_thema=opp_thema,
        opp_cat=opp_cat,
        flags=flags,
        n_adressen=n_adr,
        partner_buurt=pd.concat([p_buurt, p_totaal], ignore_index=True),
        mentions_buurt=m_buurt,
    )
    rankable = ~klein
    sc, contrib = scores.composite_scores(ind, themes, clip=cfg.z_clip, rankable=rankable)
    intervals = scores.rank_intervals(
        ind,
        themes,
        clip=cfg.z_clip,
        rankable=rankable,
        replicaties=cfg.gevoeligheid_replicaties,
        seed=cfg.gevoeligheid_seed,
        spreiding=cfg.gevoeligheid_spreiding,
    )
    sc = _with_intervals(sc, intervals)
    covariates, labels = bias.bias_covariates(buurten, n_adr, kw)
    bias_table = bias.bias_diagnostics(
        sc,
        covariates,
        labels=labels,
        theme_labels={
            **{tid: t.label for tid, t in themes.themas.items()},
            scores.TOTAAL: "Totaal",
        },
        rankable=rankable,
        n_boot=cfg.bias_bootstrap,
        seed=cfg.gevoeligheid_seed,
    )
    gemeente = getattr(area, "gemeente", None)
    risk = signals.risk_locations(flags)
    sig = signals.build_signals(
        flags, risk, partner_events=events, survey_signals=enq.signalen if enq is not None else None
    )
    scores_buurt = _scores_wide(buurten, sc, n_adr, klein, kw)
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
        bias=bias_table,
        bias_toelichting=(
            bias.gemeente_inkomen_tekst(gemeente.code) if gemeente is not None else None
        ),
    )


def _with_intervals(sc: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """Scores with their rank interval; the interval always holds the reported rank."""
    out = sc.merge(intervals, on=["buurtcode", "thema"], how="left")
    rang = out["rang"].astype("Float64")
    lo = out["rang_laag"].astype("Float64")
    hi = out["rang_hoog"].astype("Float64")
    out["rang_laag"] = lo.where(lo <= rang, rang).round().astype("Int64")
    out["rang_hoog"] = hi.where(hi >= rang, rang).round().astype("Int64")
    return out


def _scores_wide(
    buurten: gpd.GeoDataFrame,
    sc: pd.DataFrame,
    n_adr: pd.Series,
    klein: pd.Series,
    kw: pd.DataFrame,
) -> gpd.GeoDataFrame:
    keep = [c for c in ("buurtcode", "buurtnaam", "wijkcode", "aantal_inwoners") if c in buurten]
    base = pd.DataFrame(buurten[keep]).copy()
    base["buurtcode"] = base["buurtcode"].astype("string")
    base["adressen"] = base["buurtcode"].map(n_adr).fillna(0).astype(int)
    # a small buurt keeps its score but gets no rank: shown as "klein gebied"
    base["klein_gebied"] = base["buurtcode"].map(klein).fillna(False).astype(bool).to_numpy()
    # context only: the vulnerability index is no term of any score
    base["kwetsbaarheid"] = (
        base["buurtcode"].map(kw.set_index("buurtcode")["kwetsbaarheid"]).astype(float)
    )
    values = ["score", "rang", "percentiel", "rang_laag", "rang_hoog"]
    wide = sc.pivot(index="buurtcode", columns="thema", values=values)
    names = {"rang_laag": "rang_{t}_laag", "rang_hoog": "rang_{t}_hoog"}
    wide.columns = [names.get(a, a + "_{t}").format(t=b) for a, b in wide.columns]
    out = base.merge(wide.reset_index(), on="buurtcode", how="left")
    for thema in sc["thema"].unique():
        for c in (f"rang_{thema}", f"rang_{thema}_laag", f"rang_{thema}_hoog"):
            out[c] = out[c].astype("Float64").round().astype("Int64")
        # the pivot of mixed value columns leaves objects: scores stay numbers in every file
        for c in (f"score_{thema}", f"percentiel_{thema}"):
            out[c] = out[c].astype(float)
        out[f"rang_{thema}_tekst"] = verdicts.rang_teksten(
            out[f"rang_{thema}_laag"], out[f"rang_{thema}_hoog"], out["klein_gebied"]
        ).to_numpy()
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
    "bias": "bias_diagnostiek.csv",
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
    if "respondenten" in mentions:
        # a suppressed cell shows no count at all
        mentions = mentions.assign(
            respondenten=mentions["respondenten"].astype(float).where(~mentions["onderdrukt"])
        )
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

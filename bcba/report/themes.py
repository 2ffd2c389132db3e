"""Report sections: overview of the themes, one section per theme, opportunity structures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from IPython.display import HTML

from bcba.report import html as rh
from bcba.report.common import TOP_BUURTEN, n_hot

if TYPE_CHECKING:
    from bcba.report.view import Report


def overzicht_themas(r: Report) -> HTML:
    rows = []
    ind = r.indicators
    for thema, theme in r.themes.themas.items():
        s = r.spatial.get(thema)
        n_flags = (
            int(ind.flags["themas"].astype(str).str.contains(thema).sum()) if len(ind.flags) else 0
        )
        hot_b = n_hot(s.hotspots_buurt) if s is not None else 0
        top = ind.scores_buurt.sort_values(f"rang_{thema}").head(1)
        rows.append(
            {
                "thema": theme.label,
                "top": top["buurtnaam"].iloc[0] if len(top) else "–",
                "vlaggen": n_flags,
                "meldingen": s.n_events if s is not None else 0,
                "hotspots": hot_b,
            }
        )
    table = pd.DataFrame(rows)
    frame = r.score_frame("totaal")
    kaart = r.map(
        "choropleth",
        frame,
        column="score_totaal",
        titel="Totaalscore per buurt",
        legend_title="Totaalscore",
        slug="totaalscore",
        bijschrift="Samengestelde totaalscore per buurt (klik op een buurt voor de redenen).",
    )
    return rh.section(
        rh.markering_html(),
        rh.tabel_html(
            table,
            kolommen={
                "thema": "Thema",
                "top": "Hoogste buurt",
                "vlaggen": "Vlaggen",
                "meldingen": "Partnermeldingen",
                "hotspots": "Hotspot-buurten",
            },
            decimalen=0,
            bijschrift="Overzicht per thema",
        ),
        kaart,
    )


def themabeeld(r: Report, thema: str) -> HTML:
    """Map, top buurten with reasons, survey picture and partner signals of one theme."""
    from bcba.errors import ConfigError

    if thema not in r.themes.themas:
        raise ConfigError(f"Onbekend thema {thema!r}; kies uit {list(r.themes.themas)}")
    theme = r.themes.themas[thema]
    ind = r.indicators
    parts = [rh.markering_html(), rh.p(theme.omschrijving)]
    frame = r.score_frame(thema)
    parts.append(
        r.map(
            "choropleth",
            frame,
            column=f"score_{thema}",
            titel=f"{theme.label}: score per buurt",
            legend_title="Score",
            slug=f"score_{thema}",
            bijschrift=f"{theme.label}: samengestelde score per buurt.",
        )
    )
    top = frame.sort_values(f"rang_{thema}").head(TOP_BUURTEN)
    parts.append(
        rh.tabel_html(
            top[["buurtnaam", f"score_{thema}", f"rang_{thema}", "reden"]],
            kolommen={
                "buurtnaam": "Buurt",
                f"score_{thema}": "Score",
                f"rang_{thema}": "Rang",
                "reden": "Waarom (belangrijkste indicatoren)",
            },
            decimalen={f"score_{thema}": 2, f"rang_{thema}": 0},
            bijschrift=f"Top {TOP_BUURTEN} buurten",
        )
    )
    parts.append(rh.h(3, "Beeld van medewerkers (enquête)"))
    perc = ind.enquete_percepties
    perc = perc[perc["thema"] == thema] if len(perc) else perc
    if len(perc):
        wijknamen = r.inputs.area.wijken.set_index("wijkcode")["wijknaam"]
        shown = perc.assign(wijk=perc["wijkcode"].map(wijknamen).fillna(perc["wijkcode"]))
        shown = shown.assign(
            gemiddelde=np.where(shown["onderdrukt"], np.nan, shown["gemiddelde"]),
            ci=[
                ("–" if o else f"{rh.nl_getal(lo, 1)} – {rh.nl_getal(hi, 1)}")
                for o, lo, hi in zip(
                    shown["onderdrukt"], shown["ci_laag"], shown["ci_hoog"], strict=True
                )
            ],
        )
        parts.append(
            rh.tabel_html(
                shown[["wijk", "n", "gemiddelde", "ci"]],
                kolommen={
                    "wijk": "Wijk",
                    "n": "n",
                    "gemiddelde": "Gemiddelde (1-5)",
                    "ci": "95%-betrouwbaarheidsinterval",
                },
                decimalen={"n": 0, "gemiddelde": 1},
                bijschrift="Waargenomen signalen (1 = nooit, 5 = zeer vaak); cellen met n < 5 worden niet getoond",
            )
        )
    else:
        parts.append(rh.p("Geen enquêteantwoorden voor dit thema."))
    mentions = ind.enquete_vermeldingen
    mentions = (
        mentions[(mentions["thema"] == thema) & ~mentions["onderdrukt"]]
        if len(mentions)
        else mentions
    )
    if len(mentions):
        names = pd.concat(
            [
                r.inputs.area.wijken.set_index("wijkcode")["wijknaam"],
                r.inputs.area.buurten.set_index("buurtcode")["buurtnaam"],
            ]
        )
        m = mentions.sort_values("vermeldingen_rapport", ascending=False).head(5)
        m = m.assign(gebied=m["gebiedcode"].map(names).fillna(m["gebiedcode"]))
        parts.append(
            rh.tabel_html(
                m[["gebied", "gebied_niveau", "vermeldingen_rapport"]],
                kolommen={
                    "gebied": "Gebied",
                    "gebied_niveau": "Niveau",
                    "vermeldingen_rapport": "Vermeldingen",
                },
                decimalen=0,
                bijschrift="Meest genoemde gebieden (n ≥ 5)",
            )
        )
    parts.append(rh.h(3, "Signalen van partners"))
    pb = ind.partners_buurt
    pb = pb[pb["thema"] == thema] if len(pb) else pb
    if len(pb) and pb["meldingen"].sum() > 0:
        names = r.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
        top_p = pb.sort_values("per_1000_inw", ascending=False).head(TOP_BUURTEN)
        top_p = top_p.assign(buurt=top_p["gebied"].map(names).fillna(top_p["gebied"]))
        parts.append(
            rh.p(
                f"In de periode zijn {rh.nl_getal(pb['meldingen'].sum())} partnermeldingen over dit thema "
                "geregistreerd. Meldingsteksten worden niet letterlijk opgenomen."
            )
        )
        parts.append(
            rh.tabel_html(
                top_p[["buurt", "meldingen", "per_1000_inw"]],
                kolommen={
                    "buurt": "Buurt",
                    "meldingen": "Meldingen",
                    "per_1000_inw": "Per 1.000 inwoners",
                },
                decimalen={"meldingen": 0, "per_1000_inw": 1},
                bijschrift="Buurten met de meeste partnermeldingen per inwoner",
            )
        )
    else:
        parts.append(rh.p("Geen partnermeldingen voor dit thema in de periode."))
    return rh.section(*parts)


def gelegenheidsstructuren(r: Report) -> HTML:
    ind = r.indicators
    g = ind.gelegenheid_buurt
    cats = r.themes.categorieen
    per_cat = (
        g[g["groep"].isin(list(cats))]
        .groupby("groep")
        .agg(n=("n", "sum"), lq_max=("lq_gekrompen", "max"))
        .reset_index()
    )
    if len(per_cat):
        idx = (
            g[g["groep"].isin(list(cats))]
            .sort_values("lq_gekrompen", ascending=False)
            .drop_duplicates("groep")
        )
        names = r.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
        top = idx.set_index("groep")["gebied"].map(names)
        per_cat["categorie"] = per_cat["groep"].map({k: v.label for k, v in cats.items()})
        per_cat["buurt"] = per_cat["groep"].map(top)
        per_cat = per_cat.sort_values("n", ascending=False)
    text = (
        "Gelegenheidsstructuren zijn branches en plekken die kansen bieden voor ondermijning "
        "(bijvoorbeeld contante omzet, weinig toezicht of afgeschermde ruimte). Het locatiequotiënt (LQ) "
        "vergelijkt het aandeel van een branche in een buurt met de hele gemeente; LQ > 1 betekent "
        "oververtegenwoordiging (gekrompen naar 1 bij kleine aantallen)."
    )
    parts = [rh.markering_html(), rh.p(text)]
    if len(per_cat):
        parts.append(
            rh.tabel_html(
                per_cat[["categorie", "n", "buurt", "lq_max"]],
                kolommen={
                    "categorie": "Categorie",
                    "n": "Actieve vestigingen",
                    "buurt": "Sterkst vertegenwoordigd in",
                    "lq_max": "LQ daar",
                },
                decimalen={"n": 0, "lq_max": 2},
                bijschrift="Gelegenheidsstructuren (actieve KvK-vestigingen)",
            )
        )
    return rh.section(*parts)

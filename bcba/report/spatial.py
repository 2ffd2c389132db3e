"""Report sections: the risk terrain model and the hot spots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.report import html as rh
from bcba.report.common import n_hot

if TYPE_CHECKING:
    from bcba.report.view import Report


def risicoterrein(r: Report) -> HTML:
    thema = r.results.main_theme
    s = r.spatial[thema]
    parts = [rh.markering_html()]
    if s.model is None:
        return rh.section(*parts, rh.p(f"Geen risicoterreinmodel: {' '.join(s.meldingen)}"))
    parts.append(
        rh.p(
            f"Het risicoterreinmodel (Caplan & Kennedy) schat voor {r.label(thema).lower()} per 100m-vierkant "
            "het relatieve risico uit de nabijheid of dichtheid van gelegenheidsstructuren, gecorrigeerd voor het "
            "aantal adressen. Factoren zijn geselecteerd met L1-gestrafte Poissonregressie en kruisvalidatie; "
            "de relatieve risicowaarde (RRV) zegt hoeveel keer hoger het risico is waar een factor aanwezig is."
        )
    )
    f = s.factoren[s.factoren["geselecteerd"]].sort_values("rrv", ascending=False)
    cats = r.themes.categorieen
    f = f.assign(
        naam=f["factor"].map(lambda c: cats[c].label if c in cats else c.replace("_", " "))
    )
    parts.append(
        rh.tabel_html(
            f[
                [
                    "naam",
                    "operationalisatie",
                    "afstand_m",
                    "rrv",
                    "ci_laag",
                    "ci_hoog",
                    "p_waarde",
                ]
            ],
            kolommen={
                "naam": "Risicofactor",
                "operationalisatie": "Vorm",
                "afstand_m": "Invloed (m)",
                "rrv": "RRV",
                "ci_laag": "95%-BI laag",
                "ci_hoog": "95%-BI hoog",
                "p_waarde": "p",
            },
            decimalen={"afstand_m": 0, "rrv": 2, "ci_laag": 2, "ci_hoog": 2, "p_waarde": 3},
            bijschrift="Geselecteerde risicofactoren",
        )
    )
    surface = s.surface.copy()
    surface["reden"] = [f"relatief risico {rh.nl_getal(v, 1)}" for v in surface["relatief_risico"]]
    parts.append(
        r.map(
            "risico",
            surface,
            titel=f"Risicokaart {r.label(thema).lower()}",
            slug=f"risicokaart_{thema}",
            bijschrift="Relatief risico per 100m-vierkant (alleen vierkanten met risico > 1).",
        )
    )
    if s.conclusie:
        parts.append(rh.p("Validatie: " + s.conclusie + " (zie bijlage B)."))
    return rh.section(*parts)


def hotspots(r: Report) -> HTML:
    thema = r.results.main_theme
    s = r.spatial[thema]
    parts = [rh.markering_html()]
    if s.hotspots_cel is None:
        return rh.section(*parts, rh.p(" ".join(s.meldingen) or "Geen hotspotanalyse mogelijk."))
    parts.append(
        rh.p(
            "Getis-Ord Gi* toont waar meldingen meer clusteren dan op grond van het aantal adressen te verwachten is "
            "(empirisch-Bayesiaans gecorrigeerde aantallen, permutatietoets met correctie voor meervoudig testen "
            "(FDR, Benjamini-Hochberg))."
        )
    )
    grid = s.hotspots_cel
    melding = grid.attrs.get("melding") if hasattr(grid, "attrs") else None
    if melding:
        parts.append(rh.p(str(melding)))
    sig = grid[grid["klasse"].astype(str).str.startswith(("Hot", "Cold"))].copy()
    sig["reden"] = [
        f"{k}, {rh.nl_getal(v)} meldingen"
        for k, v in zip(sig["klasse"].astype(str), sig["aantal"], strict=True)
    ]
    if len(sig):
        parts.append(
            r.map(
                "hotspot",
                sig,
                titel=f"Hotspots {r.label(thema).lower()} (100m)",
                klasse_column="klasse",
                slug=f"hotspots_{thema}",
                bijschrift="Significante hot- en coldspots per 100m-vierkant (na FDR).",
            )
        )
    else:
        parts.append(
            rh.p("Geen significante hot- of coldspots op het 100m-raster na FDR-correctie.")
        )
    rows = []
    for t, res in r.spatial.items():
        if res.hotspots_buurt is None:
            continue
        hot = res.hotspots_buurt[res.hotspots_buurt["klasse"].astype(str).str.startswith("Hot")]
        cells = n_hot(res.hotspots_cel) if res.hotspots_cel is not None else "niet berekend"
        rows.append(
            {
                "thema": r.label(t),
                "meldingen": res.n_events,
                "hot_cellen": cells,
                "hot_buurten": ", ".join(hot.get("buurtnaam", hot["buurtcode"]).astype(str)) or "–",
            }
        )
    if rows:
        parts.append(
            rh.tabel_html(
                pd.DataFrame(rows),
                kolommen={
                    "thema": "Thema",
                    "meldingen": "Meldingen",
                    "hot_cellen": "Hotspot-vierkanten",
                    "hot_buurten": "Hotspot-buurten",
                },
                decimalen=0,
                bijschrift="Hotspots per thema (na FDR-correctie)",
            )
        )
    return rh.section(*parts)

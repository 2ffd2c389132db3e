"""Report sections: concentrations of events and the risk map (mayor's report), the risk
terrain model with its validation and the hot spots in detail (annex)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.findings import significant_hot
from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report


def _risk_map(r: Report, thema: str, *, number: str) -> str:
    s = r.spatial[thema]
    surface = s.surface.copy()
    surface["reden"] = [
        f"{rh.nl_getal(v, 1)} keer het gemiddelde risico" for v in surface["relatief_risico"]
    ]
    return r.map(
        "risico",
        surface,
        titel=f"Risicokaart {r.label(thema).lower()}",
        slug=f"risicokaart_{thema}",
        bijschrift=f"{number} Waar de omgeving ({r.label(thema).lower()}) meer gelegenheid biedt dan gemiddeld, "
        "per vierkant van 100 bij 100 meter (alleen vierkanten boven het gemiddelde).",
    )


def model_sentence(r: Report) -> str:
    """The risk model's verdict in plain Dutch (the annex gives the figures): from the same
    computed verdict as the validation table."""
    f = r.findings
    label = r.label(f.leading_theme).lower()
    if f.model_adds_value:
        return (
            f"Het risicomodel voor {label} voorspelt latere meldingen aantoonbaar beter dan het aantal "
            "adressen alleen: de kaart laat zien waar de omgeving (nabijheid van bepaalde branches) extra "
            "risico geeft. De onderbouwing staat in bijlage C."
        )
    return (
        f"Het risicomodel voor {label} voorspelt latere meldingen niet aantoonbaar beter dan het aantal "
        "adressen alleen: waar meldingen vallen, wordt vooral verklaard door hoeveel mensen er wonen en "
        "werken. Daarom staat hier geen risicokaart; bijlage C geeft de cijfers."
    )


def concentraties(r: Report) -> HTML:
    """The mayor's report: where events concentrate beyond what addresses explain, and the
    risk map of the leading theme with what its validation says."""
    f = r.findings
    names = r.buurtnamen()
    rows = []
    for thema, t in f.themes.items():
        if not (t.verhoogd or t.n_hot_cells):
            continue
        buurten = [n for n in names.reindex(t.verhoogd).fillna("").tolist() if n]
        rows.append(
            {
                "thema": r.label(thema),
                "buurten": rh.opsomming(buurten) or "–",
                "cellen": t.n_hot_cells,
            }
        )
    parts = [
        rh.p(
            "Een concentratie betekent hier: in een buurt of een blok van 100 bij 100 meter zijn meer meldingen van "
            "partners dan het aantal adressen daar doet verwachten, en dat verschil is te groot om toeval te zijn "
            "(getoetst over alle buurten tegelijk, zodat er niet door veel toetsen vanzelf uitschieters ontstaan)."
        )
    ]
    if rows:
        parts.append(
            rh.tabel_html(
                pd.DataFrame(rows),
                kolommen={
                    "thema": "Thema",
                    "buurten": "Buurten met meer meldingen dan verwacht",
                    "cellen": "Blokken van 100 m",
                },
                decimalen=0,
                bijschrift="Aantoonbare concentraties van meldingen",
                breed=("buurten",),
            )
        )
    else:
        parts.append(
            rh.p(
                "Er zijn geen concentraties gevonden die groter zijn dan toeval en het aantal adressen verklaren: "
                "de meldingen zijn verspreid zoals de bebouwing."
            )
        )
    thema = f.leading_theme
    s = r.spatial.get(thema)
    if f.model_adds_value is not None:
        parts.append(rh.h(3, f"Risicomodel {r.label(thema).lower()}"))
        parts.append(rh.p(model_sentence(r)))
        if f.model_adds_value and s is not None and s.surface is not None:
            parts.append(_risk_map(r, thema, number="Kaart 3."))
    return rh.section(*parts)


def bijlage_risicomodel(r: Report) -> HTML:
    """Annex: the risk terrain model's factors and its validation against baselines."""
    thema = r.findings.leading_theme
    s = r.spatial.get(thema)
    parts = [
        rh.p(
            "Het risicoterreinmodel (Caplan & Kennedy) schat per vierkant van 100 meter het relatieve risico op "
            "meldingen uit de nabijheid of dichtheid van gelegenheidsstructuren, gecorrigeerd voor het aantal "
            "adressen. De relatieve risicowaarde (RRV) zegt hoeveel keer zo veel meldingen er zijn waar een factor "
            "aanwezig is, bij gelijke adressen. De factoren zijn gekozen op de helft van de blokken van 1 km: "
            "een factor telt alleen als hij het aantal meldingen op weggelaten blokken beter voorspelt dan in 99 "
            "nagebootste situaties zonder enig effect (toets op 2 %). RRV, 95%-betrouwbaarheidsinterval en p-waarde "
            "komen uit de andere helft, die niet aan de keuze meedeed. Stabiliteit: in hoeveel willekeurige helften "
            "dezelfde factor gekozen werd."
        )
    ]
    if s is None or s.model is None:
        reason = " ".join(s.meldingen) if s is not None else ""
        return rh.section(*parts, rh.p(f"Geen risicoterreinmodel. {reason}".strip()))
    cats = r.themes.categorieen
    factors = s.factoren[s.factoren["geselecteerd"]].sort_values("rrv", ascending=False)
    factors = factors.assign(
        naam=factors["factor"].map(
            lambda c: (
                cats[c].label
                if c in cats
                else (
                    "risicolocaties (KvK/Kadaster)"
                    if c.startswith("risicolocatie")
                    else c.replace("_", " ")
                )
            )
        ),
        vorm=factors["operationalisatie"]
        .map({"nabijheid": "nabijheid", "dichtheid": "dichtheid"})
        .fillna(factors["operationalisatie"]),
    )
    columns = {"naam": "Risicofactor", "vorm": "Vorm", "afstand_m": "Invloed tot (m)", "rrv": "RRV"}
    decimals = {"afstand_m": 0, "rrv": 2}
    for extra, label in (
        ("ci_laag", "95%-interval laag"),
        ("ci_hoog", "95%-interval hoog"),
        ("stabiliteit", "Stabiliteit"),
    ):
        if extra in factors:
            columns[extra] = label
            decimals[extra] = 2
    parts.append(
        rh.tabel_html(
            factors,
            kolommen=columns,
            decimalen=decimals,
            bijschrift=f"Geselecteerde risicofactoren ({r.label(thema).lower()})",
        )
        if len(factors)
        else rh.p(
            "Het model selecteerde geen risicofactor: geen factor voorspelt meldingen beter dan het aantal adressen."
        )
    )
    parts.append(rh.h(3, "Validatie"))
    parts.append(
        rh.p(
            "Het model is getraind op de eerste helft van de periode en getoetst op de tweede. De trefkans (hit rate) "
            "is het aandeel toetsmeldingen in het hoogst geschatte deel van het oppervlak; de voorspellingsindex (PAI) "
            "deelt die trefkans door dat deel van het oppervlak (PAI 3 = drie keer zo veel meldingen als bij willekeurig "
            "kiezen). Basislijnen: het aantal adressen alleen, een kerndichtheidsschatting (KDE, quartic kernel) van "
            "de trainingsmeldingen, en die dichtheid maal het aantal adressen. Het model is geschat met de vestigingen "
            "zoals die op de splitsdatum bestonden (zonder KvK/Kadaster-risicolocaties, waarvan de vlaggen in de "
            "toetsperiode vallen). Tussen haakjes: 95%-interval uit een bootstrap van de toetsmeldingen. Het model "
            "voegt alleen iets toe als het bij elk oppervlaktedeel aantoonbaar beter is dan het aantal adressen alleen."
        )
    )
    rows = []
    for t, res in r.spatial.items():
        if res.validatie is None:
            continue
        v = res.validatie.copy()
        v.insert(0, "thema", r.label(t))
        rows.append(v)
    if rows:
        table = pd.concat(rows, ignore_index=True)
        table["aandeel_oppervlak"] = table["aandeel_oppervlak"] * 100
        table["hit_rate"] = table["hit_rate"] * 100
        columns = {
            "thema": "Thema",
            "methode": "Methode",
            "aandeel_oppervlak": "Oppervlak (%)",
            "hit_rate": "Trefkans (%)",
            "pai": "PAI",
        }
        for extra, label in (("pai_laag", "PAI laag"), ("pai_hoog", "PAI hoog")):
            if extra in table:
                columns[extra] = label
        columns["n_test_events"] = "Toetsmeldingen"
        parts.append(
            rh.tabel_html(
                table,
                kolommen=columns,
                decimalen={
                    "aandeel_oppervlak": 0,
                    "hit_rate": 1,
                    "pai": 2,
                    "pai_laag": 2,
                    "pai_hoog": 2,
                    "n_test_events": 0,
                },
                bijschrift="Validatie op een tijdsplitsing",
            )
        )
        if r.findings.model_verdict:
            parts.append(rh.p("Oordeel: " + r.findings.model_verdict))
        if s.surface is not None and not r.findings.model_adds_value:  # else in the report
            parts.append(_risk_map(r, thema, number=""))
    else:
        parts.append(
            rh.p("Geen validatie mogelijk: te weinig meldingen in beide helften van de periode.")
        )
    return rh.section(*parts)


def _interval(value, low, high, decimals: int = 1) -> str:
    return f"{rh.nl_getal(value, decimals)} ({rh.nl_getal(low, decimals)}–{rh.nl_getal(high, decimals)})"


def bijlage_hotspots(r: Report) -> HTML:
    """Annex: hot spots and raised buurten per theme, and the cell map of the leading theme."""
    any_grid = next(
        (s.hotspots_cel for s in r.spatial.values() if s.hotspots_cel is not None), None
    )
    n_tests = any_grid.attrs.get("fdr_toetsen") if any_grid is not None else None
    parts = [
        rh.p(
            "Hotspots zijn plekken waar in een cel of buurt en de aangrenzende cellen of buurten meer meldingen "
            "vallen dan het aantal adressen doet verwachten (Getis-Ord Gi*, exacte toets). Verhoogde buurten hebben "
            "zelf meer meldingen dan hun adressen verklaren, ook gemeten tegen de gewone verschillen tussen buurten "
            "(negatief-binomiale toets). Alle toetsen van hotspots en verhoogde buurten samen zijn gecorrigeerd voor "
            "meervoudig toetsen (FDR 5 %"
            + (f", {rh.nl_getal(n_tests)} toetsen" if n_tests else "")
            + "): van de aangewezen plekken is naar verwachting hooguit 5 % toeval. Alleen 'Hot spot 95%' en "
            "'99%' tellen; 'Hot spot 90%' is een zwakke aanwijzing. Cellen zonder bewoonde buurcel ('Geen buren') "
            "en buurten met weinig adressen worden niet beoordeeld."
        )
    ]
    rows, raised = [], []
    for t, res in r.spatial.items():
        hot_b = (
            res.hotspots_buurt[significant_hot(res.hotspots_buurt).to_numpy()]
            if res.hotspots_buurt is not None
            else None
        )
        rows.append(
            {
                "thema": r.label(t),
                "meldingen": res.n_events,
                "buurten": "niet berekend"
                if hot_b is None
                else (rh.opsomming(hot_b["buurtnaam"].astype(str).tolist()) or "geen"),
                "cellen": int(significant_hot(res.hotspots_cel).sum())
                if res.hotspots_cel is not None
                else "–",
            }
        )
        excess = res.overschot_buurt
        if excess is not None and len(excess):
            up = excess[excess["verhoogd"].fillna(False).astype(bool)].sort_values("rang")
            for row in up.itertuples():
                raised.append(
                    {
                        "thema": r.label(t),
                        "buurt": row.buurtnaam,
                        "waargenomen": row.waargenomen,
                        "verwacht": row.verwacht,
                        "verhouding": _interval(row.ratio, row.ratio_laag, row.ratio_hoog),
                    }
                )
    parts.append(
        rh.tabel_html(
            pd.DataFrame(rows),
            kolommen={
                "thema": "Thema",
                "meldingen": "Meldingen",
                "buurten": "Hotspot-buurten",
                "cellen": "Hotspot-cellen (100 m)",
            },
            decimalen=0,
            bijschrift="Hotspots per thema (significant na FDR)",
            breed=("buurten",),
        )
    )
    if raised:
        parts.append(
            rh.tabel_html(
                pd.DataFrame(raised),
                kolommen={
                    "thema": "Thema",
                    "buurt": "Buurt",
                    "waargenomen": "Meldingen",
                    "verwacht": "Verwacht",
                    "verhouding": "Verhouding (95%-interval)",
                },
                decimalen={"waargenomen": 0, "verwacht": 1},
                groep=None,
                bijschrift="Verhoogde buurten: meer meldingen dan hun adressen verklaren",
                heel=("verhouding",),
            )
        )
    else:
        parts.append(
            rh.p("Geen enkele buurt heeft aantoonbaar meer meldingen dan haar adressen verklaren.")
        )
    thema = r.findings.leading_theme
    s = r.spatial.get(thema)
    grid = s.hotspots_cel if s is not None else None
    if grid is not None:
        note = grid.attrs.get("melding") if hasattr(grid, "attrs") else None
        if note:
            parts.append(rh.p(str(note)))
        sig = grid[grid["significant"].fillna(False).astype(bool)].copy()
        if len(sig):
            sig["reden"] = [
                f"{k}: {rh.nl_getal(w)} meldingen, {rh.nl_getal(v, 1)} verwacht"
                for k, w, v in zip(
                    sig["klasse"].astype(str), sig["waargenomen"], sig["verwacht"], strict=True
                )
            ]
            parts.append(
                r.map(
                    "hotspot",
                    sig,
                    titel=f"Hotspots {r.label(thema).lower()} (100 m)",
                    klasse_column="klasse",
                    slug=f"hotspots_{thema}",
                    bijschrift=f"Significante hot- en coldspots van {r.label(thema).lower()} per cel van 100 meter (FDR 5 %).",
                )
            )
    return rh.section(*parts)

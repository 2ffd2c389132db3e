"""Report sections: title page, summary and sources."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.reference import ATTRIBUTION
from bcba.report import html as rh
from bcba.report.common import SOURCE_LABELS, n_hot

if TYPE_CHECKING:
    from bcba.report.view import Report


def titelpagina(r: Report) -> HTML:
    gem = r.gemeente
    page = rh.titelpagina(
        gemeentenaam=gem.naam,
        gemeente=gem.code,
        datum=dt.date.today(),
        rapport_id=r.cfg.rapport_id,
        ontvanger=r.cfg.ontvanger,
        periode=r.periode,
    )
    return HTML(page.data + rh.inhoudsopgave().data)


def samenvatting(r: Report) -> HTML:
    ind = r.indicators
    gem = r.gemeente
    present = r.inputs.bronnen[r.inputs.bronnen["aanwezig"]]["bron"].map(SOURCE_LABELS)
    findings = []
    total = ind.scores_buurt.sort_values("rang_totaal").head(3)
    if len(total):
        names = ", ".join(f"{r.buurtnaam}" for r in total.itertuples())
        findings.append(f"De buurten met de hoogste totaalscore zijn {names}.")
    for thema in r.themes.themas:
        col = f"rang_{thema}"
        if col in ind.scores_buurt:
            top = ind.scores_buurt.sort_values(col).head(1)
            if len(top) and pd.notna(top[col].iloc[0]):
                # the main reason only; the theme's section gives them all with figures
                why = r.reasons(thema, top["buurtcode"])[0].split(";")[0]
                why = why.split(" (")[0].strip()
                why = why[:1].lower() + why[1:]
                findings.append(
                    f"{r.label(thema)}: hoogste score in {top['buurtnaam'].iloc[0]} "
                    f"(vooral: {why})."
                )
    n_loc = len(ind.risicolocaties)
    n_multi = int((ind.risicolocaties["n_soorten"] >= 2).sum()) if n_loc else 0
    findings.append(
        f"{rh.nl_getal(n_loc)} adressen dragen minstens één rode vlag; "
        f"{rh.nl_getal(n_multi)} daarvan combineren meerdere soorten vlaggen."
    )
    sig = ind.signalen
    if len(sig):
        local = int((sig["eigenaar"] == "gemeente").sum())
        findings.append(
            f"{rh.nl_getal(len(sig))} signalen voor opvolging, waarvan {rh.nl_getal((sig['prioriteit'] == 'hoog').sum())} "
            f"met hoge prioriteit: {rh.nl_getal(local)} voor de gemeente, "
            f"{rh.nl_getal(len(sig) - local)} voor de RIEC-intake."
        )
    hot = [
        r.label(t) for t, s in r.spatial.items() if n_hot(s.hotspots_cel) + n_hot(s.hotspots_buurt)
    ]
    if hot:
        findings.append(
            "Statistisch significante concentraties (hotspots, na FDR-correctie) bij: "
            + ", ".join(hot)
            + "."
        )
    else:
        findings.append(
            "Er zijn geen statistisch significante hotspots gevonden (na FDR-correctie)."
        )
    main = r.spatial.get(r.results.main_theme)
    if main is not None and main.conclusie:
        findings.append(f"Risicoterreinmodel {r.label(main.thema).lower()}: {main.conclusie}")
    nets = r.networks.networks
    flagged = nets[nets["flags"].astype(str).str.len() > 0] if len(nets) else nets
    if len(flagged):
        findings.append(
            f"{rh.nl_getal(len(flagged))} netwerken van bedrijven, personen (gepseudonimiseerd) en adressen "
            "dragen netwerkvlaggen (stromannen, adreshubs, carrousels, vastgoed via jonge rechtspersonen)."
        )
    intro = (
        f"Deze bestuurlijke criminaliteitsbeeldanalyse (B-CBA) beschrijft voor {gem.naam} waar "
        "ondermijnende criminaliteit kansen krijgt (gelegenheidsstructuren), waar signalen samenkomen "
        "en welke structuren achter de casussen zitten. Gebruikte bronnen: "
        + ", ".join(present)
        + "."
    )
    caveat = (
        "Scores en kaarten wijzen op verhoogde risico's en signalen, niet op bewezen criminaliteit. "
        "Elke score is herleidbaar tot de onderliggende indicatoren (zie de redenen per buurt)."
    )
    return rh.section(
        rh.markering_html(),
        rh.p(intro),
        rh.h(3, "Belangrijkste bevindingen"),
        rh.ul(findings),
        rh.p(caveat),
    )


def bronnen(r: Report) -> HTML:
    b = r.inputs.bronnen.copy()
    b["bron"] = b["bron"].map(SOURCE_LABELS).fillna(b["bron"])
    b["aanwezig"] = b["aanwezig"].map({True: "ja", False: "nee"})
    for c in ("periode_van", "periode_tot"):
        b[c] = pd.to_datetime(b[c]).dt.strftime("%d-%m-%Y").fillna("–")
    geo = r.inputs.geocodering.copy()
    geo["bron"] = geo["bron"].map(SOURCE_LABELS).fillna(geo["bron"])
    geo["aandeel"] = geo["aandeel"] * 100
    method = (
        "Alle bronnen zijn ingelezen en gevalideerd; twijfelachtige records zijn behouden en gemarkeerd "
        "(bijlage C). Natuurlijke personen zijn bij het inlezen gepseudonimiseerd. Adressen zijn offline "
        "gekoppeld aan de BAG (exact, dan postcode + huisnummer, postcode, PC4) en toegekend aan buurt, "
        "wijk en 100m-vierkant. Analyse in RD New (EPSG:28992)."
    )
    return rh.section(
        rh.markering_html(),
        rh.p(method),
        rh.tabel_html(
            b[["bron", "aanwezig", "bestand", "rijen", "periode_van", "periode_tot"]],
            kolommen={
                "bron": "Bron",
                "aanwezig": "Aanwezig",
                "bestand": "Bestand",
                "rijen": "Records",
                "periode_van": "Van",
                "periode_tot": "Tot",
            },
            decimalen=0,
            bijschrift="Gebruikte bronnen met periode en aantal records",
        ),
        rh.tabel_html(
            geo,
            kolommen={
                "bron": "Bron",
                "geocode_niveau": "Koppelniveau",
                "aantal": "Aantal",
                "aandeel": "Aandeel (%)",
            },
            decimalen={"aantal": 0, "aandeel": 1},
            bijschrift="Geocodering per bron",
        ),
        rh.p(
            f"Referentiedata: {ATTRIBUTION}; CBS 100m-vierkanten en PC4 2024; SBI 2008 (CBS); "
            "geregistreerde criminaliteit (Bron: Politie)."
        ),
    )

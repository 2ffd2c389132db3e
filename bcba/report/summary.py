"""Report sections: title pages, the one-page summary and the short account of method."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from IPython.display import HTML

from bcba.labels import SOURCE_LABELS
from bcba.reference import ATTRIBUTION
from bcba.report import html as rh
from bcba.report.spatial import model_sentence
from bcba.report.themes import concentration_text

if TYPE_CHECKING:
    from bcba.report.view import Report

#: At most this many findings on the summary page.
MAX_FINDINGS = 5


def subtitle(r: Report) -> str:
    """The municipality (or cluster) and, for a focused B-CBA, what it covers."""
    focus = r.results.focus
    if focus is None or not focus.active:
        return r.gemeente.naam
    parts = []
    if focus.buurtcodes is not None:
        parts.append(focus.gebied_naam)
    if focus.sbi:
        parts.append(f"knooppunt {focus.branche_naam}")
    return f"{r.gemeente.naam} – {', '.join(parts)}"


def titelpagina(r: Report) -> HTML:
    """Title page of the mayor's report, with the table of contents."""
    return rh.titelpagina(
        gemeentenaam=r.gemeente.naam,
        gemeente=r.gemeente.code,
        datum=dt.date.today(),
        rapport_id=r.cfg.rapport_id,
        ontvanger=r.cfg.ontvanger,
        ondertitel=subtitle(r),
        periode=r.periode,
        demo=r.demo,
    )


def titelpagina_bijlagen(r: Report) -> HTML:
    """Title page of the analysts' annex, with its table of contents."""
    return rh.titelpagina(
        gemeentenaam=r.gemeente.naam,
        gemeente=r.gemeente.code,
        datum=dt.date.today(),
        rapport_id=r.cfg.rapport_id,
        ontvanger=r.cfg.ontvanger,
        titel="Bijlagen bij de bestuurlijke criminaliteitsbeeldanalyse",
        ondertitel=f"{subtitle(r)} – verantwoording en tabellen voor analisten",
        periode=r.periode,
        demo=r.demo,
    )


def _names(frame, *, intervals: bool = True) -> str:
    parts = []
    for row in frame.itertuples():
        text = str(row.buurtnaam)
        if intervals and hasattr(row, "rang_laag") and row.rang_laag != row.rang_hoog:
            text += f" (rang {rh.nl_getal(row.rang_laag)}–{rh.nl_getal(row.rang_hoog)})"
        parts.append(text)
    return rh.opsomming(parts)


def scope_sentence(r: Report) -> str:
    """What the B-CBA covers when it is not one whole municipality, and why it works per
    wijk where the CBS has no buurten (empty otherwise)."""
    text = ""
    gem = r.gemeente
    if gem.is_cluster:
        text += (
            f" De B-CBA beslaat {len(gem.leden)} gemeenten samen ({gem.naam}); scores zijn over het hele "
            "cluster berekend en dus tussen de gemeenten vergelijkbaar."
        )
    focus = r.results.focus
    if focus is not None and focus.buurtcodes is not None:
        text += (
            f" Deze B-CBA gaat over {focus.gebied_naam}. Locatiequotiënten, scores en rangen zijn berekend "
            f"ten opzichte van heel {gem.naam}; de tabel hieronder vergelijkt het gebied met de rest van de "
            "gemeente."
        )
    if focus is not None and focus.sbi:
        text += (
            f" Het is een knooppunt-B-CBA voor {focus.branche_naam}: rode vlaggen, signalen en netwerken "
            "zijn beperkt tot de vestigingen in die branche(s) en hun adressen."
        )
    per_wijk = getattr(r.inputs.area, "per_wijk", ())
    if per_wijk:
        names = [m.naam for m in (gem.leden or (gem,)) if m.code in per_wijk]
        text += (
            f" Voor {rh.opsomming(names)} levert het CBS in dit pakket geen buurtindeling; daar is per wijk "
            "gerekend (met de officiële CBS-buurtkaart als gebieden.gpkg in de invoermap kan het per buurt)."
        )
    return text


def profile_table(r: Report) -> str:
    """The focus against the rest of the municipality, the municipality against the region."""
    profiel = r.results.profiel
    if profiel is None or len(profiel) == 0:
        return ""
    return rh.tabel_html(
        profiel,
        kolommen={
            "maat": "Kenmerk",
            "gebied": "Gebied",
            "waarde": "Waarde",
            "referentie": "Ter vergelijking",
        },
        decimalen={"waarde": 1},
        bijschrift="Context (Politie, CBS) en vergelijking",
        breed=("maat",),
    )


def findings(r: Report) -> list[str]:
    """The summary's findings as HTML list items, most important first (3 to 5)."""
    f = r.findings
    items: list[str] = []
    if len(f.top_total):
        items.append(
            "Over alle thema's samen vallen "
            + rh.esc(_names(f.top_total.head(3)))
            + " het meest op: daar komen gelegenheidsstructuren, rode vlaggen en meldingen samen. "
            + rh.verwijzing("In-één-oogopslag", "kaart totaalscore")
        )
    concentrated = f.themes_with_concentrations
    for thema in concentrated[:2]:
        t = f.themes[thema]
        where = concentration_text(r, t)
        text = (
            f"{r.label(thema)}: meer meldingen dan het aantal adressen doet verwachten in {where} "
            f"({rh.nl_getal(t.n_events)} meldingen in de periode). "
        )
        items.append(rh.esc(text) + rh.verwijzing(rh.anchor(r.label(thema)), r.label(thema)))
    if len(concentrated) == 0 and len(r.themes.themas):
        busiest = max(f.themes.values(), key=lambda t: t.n_flags + t.n_events)
        items.append(
            rh.esc(
                "Nergens zijn meer meldingen dan het aantal adressen doet verwachten; de "
                f"meeste signalen betreffen {r.label(busiest.thema).lower()} "
                f"({rh.nl_getal(busiest.n_flags)} rode vlaggen, "
                f"{rh.nl_getal(busiest.n_events)} partnermeldingen). "
            )
            + rh.verwijzing(rh.anchor(r.label(busiest.thema)), r.label(busiest.thema))
        )
    if f.n_locations:
        owners = f.signals.groupby("eigenaar")["aantal"].sum() if len(f.signals) else {}
        high = (
            int(f.signals.loc[f.signals["prioriteit"] == "hoog", "aantal"].sum())
            if len(f.signals)
            else 0
        )
        text = (
            f"{rh.nl_getal(f.n_locations)} adressen dragen een rode vlag uit KvK of Kadaster, "
            f"{rh.nl_getal(f.n_locations_multi)} daarvan met gecombineerd bewijs (minstens twee "
            "volwaardige aanwijzingen van verschillende soort). "
        )
        if len(f.signals):
            text += (
                f"Dat levert {rh.nl_getal(int(f.signals['aantal'].sum()))} signalen voor opvolging op "
                f"({rh.nl_getal(high)} met hoge prioriteit): {rh.nl_getal(int(owners.get('gemeente', 0)))} "
                f"voor de gemeente en {rh.nl_getal(int(owners.get('RIEC-intake', 0)))} voor de RIEC-intake. "
            )
        items.append(rh.esc(text) + rh.verwijzing("Risicolocaties-en-signalen", "risicolocaties"))
    if f.n_networks_multi:
        items.append(
            rh.esc(
                f"{rh.nl_getal(f.n_networks_multi)} groepen van bedrijven, personen en adressen die "
                "onderling verbonden zijn, dragen meer dan één soort signaal (bijvoorbeeld "
                "stromannen, adressen met veel bedrijven of vastgoed via pas opgerichte bv's). "
            )
            + rh.verwijzing("Netwerken", "netwerken")
        )
    if f.model_verdict:
        items.append(
            rh.esc(f.model_verdict + " ")
            + rh.verwijzing("Concentraties-en-risicokaart", "risicokaart")
        )
    return items[:MAX_FINDINGS]


def samenvatting(r: Report) -> HTML:
    """One page: what the B-CBA is, the 3-5 findings, and how to read them."""
    present = r.inputs.bronnen[r.inputs.bronnen["aanwezig"]]["bron"].map(SOURCE_LABELS).dropna()
    intro = (
        f"Deze bestuurlijke criminaliteitsbeeldanalyse (B-CBA) laat zien waar in {r.gemeente.naam} "
        "ondermijnende criminaliteit kansen krijgt, waar signalen samenkomen en wat de gemeente en haar "
        "partners kunnen doen. Gebruikt zijn: " + rh.opsomming(list(present)) + "."
    )
    intro += scope_sentence(r)
    caveat = (
        "Scores en kaarten wijzen op verhoogde risico's en signalen, niet op bewezen criminaliteit. "
        "Een buurt hoog op de lijst vraagt om nadere duiding met de partners, niet om conclusies over "
        "bewoners of ondernemers. De onderbouwing per buurt staat bij elk thema; methode en tabellen "
        "staan in de bijlagen voor analisten."
    )
    items = "".join(f"<li>{item}</li>" for item in findings(r))
    model = rh.p(model_sentence(r)) if r.findings.model_adds_value is not None else ""
    return rh.section(
        f'<p class="bcba-lead">{rh.esc(intro)}</p>',
        rh.h(3, "Belangrijkste bevindingen"),
        f'<ol class="bcba-findings">{items}</ol>',
        model,
        rh.p(caveat),
        profile_table(r),
    )


def verantwoording(r: Report) -> HTML:
    """Short account for the mayor: what the scores rest on and where the details are."""
    present = r.inputs.bronnen[r.inputs.bronnen["aanwezig"]]["bron"].map(SOURCE_LABELS).dropna()
    return rh.section(
        rh.p(
            "Gebruikt zijn "
            + rh.opsomming(list(present))
            + ", offline ingelezen en gecontroleerd; "
            "twijfelachtige records zijn behouden en gemarkeerd. Natuurlijke personen zijn bij het inlezen "
            "vervangen door een pseudoniem. Elke score is herleidbaar tot de onderliggende indicatoren; de "
            "rangmarge laat zien hoe gevoelig een volgorde is voor de gekozen gewichten. Methode, validatie, "
            f"datakwaliteit en herkomst staan in de bijlagen voor analisten. Referentiegegevens: {ATTRIBUTION}."
        )
    )


#: What a finished run keeps of its report for the presentation and the council version.
SUMMARY_FILE = "samenvatting.json"


def run_summary(r: Report) -> dict:
    """The report's content at area level and its findings, for ``bcba presentatie``.

    Area-level entries (buurt names, counts per theme, the approach) are marked so the
    council version (``hoofdlijnen``) can leave out everything else.
    """
    f = r.findings
    themes = []
    for thema, t in f.themes.items():
        theme = r.themes.themas[thema]
        themes.append(
            {
                "id": thema,
                "label": theme.label,
                "omschrijving": theme.omschrijving,
                "kaart": f"kaarten/score_{thema}.png",
                "top": t.top["buurtnaam"].head(3).tolist(),
                "concentraties": concentration_text(r, t),
                "vlaggen": t.n_flags,
                "meldingen": t.n_events,
                "aanpak": [
                    {"stap": i.stap, "instrument": i.instrument, "partner": i.partner}
                    for i in theme.interventies
                ],
            }
        )
    return {
        "gemeente": r.gemeente.code,
        "gemeentenaam": r.gemeente.naam,
        "rapport_id": r.cfg.rapport_id,
        "ontvanger": r.cfg.ontvanger,
        "datum": dt.date.today().isoformat(),
        "periode": [r.periode[0].isoformat(), r.periode[1].isoformat()],
        "demo": r.demo,
        "bevindingen": findings(r),
        "totaal": {
            "kaart": "kaarten/totaalscore.png",
            "top": f.top_total["buurtnaam"].head(3).tolist(),
        },
        "themas": themes,
        "model_oordeel": f.model_verdict,
        # what the B-CBA covers (a cluster, a gebied, a knooppunt): the deck and audit say so
        "reikwijdte": subtitle(r),
    }

"""Report sections of the annex: method and terms, all scores, data quality, provenance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba import __version__, labels
from bcba.reference import ATTRIBUTION
from bcba.report import html as rh
from bcba.report.themes import rank_text

if TYPE_CHECKING:
    from bcba.report.view import Report

#: Terms the annex explains once; the mayor's report avoids them.
TERMS = {
    "Gelegenheidsstructuur": "Branche of plek die kansen biedt voor ondermijning, zoals contante omzet of weinig toezicht.",
    "Rode vlag": "Een patroon in KvK- of Kadastergegevens dat bij ondermijning vaak voorkomt; geen bewijs op zich.",
    "Signaal": "Een adres of entiteit waar meerdere vlaggen of bronnen samenkomen, met een voorgestelde eigenaar.",
    "Score": "Gewogen som van gestandaardiseerde indicatoren per buurt en thema; 0 is het midden van de gemeente.",
    "Rang met marge": "De rang van een buurt en, tussen haakjes, de rangen die zij krijgt als gewichten en "
    "normalisatie redelijk anders worden gekozen (gevoeligheidsanalyse).",
    "Locatiequotiënt (LQ)": "Aandeel van een branche in een buurt gedeeld door dat aandeel in de gemeente.",
    "Risicoterreinmodel (RTM)": "Model dat per vierkant van 100 meter het relatieve risico schat uit de omgeving.",
    "RRV": "Relatieve risicowaarde: hoeveel keer zo veel meldingen waar een factor aanwezig is.",
    "Trefkans en PAI": "Aandeel latere meldingen in het hoogst geschatte deel van het oppervlak, en die trefkans "
    "gedeeld door dat deel van het oppervlak (voorspellingsindex).",
    "KDE": "Kerndichtheidsschatting: een vloeiende kaart van eerdere meldingen, als vergelijkingsmaat.",
    "Hotspot (Gi*)": "Een buurt of blok waar meldingen samen met de buren hoger liggen dan het aantal adressen verklaart.",
    "FDR": "Correctie voor het aantal toetsen: van de aangewezen plekken is naar verwachting hooguit 5 % toeval.",
    "Pseudoniem": "Vervanging van een naam door een code met een sleutel; herleiden kan alleen met die sleutel en wordt vastgelegd.",
}


def bijlage_methode(r: Report) -> HTML:
    """How the B-CBA was made, the settings used, and the terms of the report."""
    cfg = r.indicators.config
    thresholds = pd.DataFrame(
        [
            {
                "instelling": "Veel inschrijvingen op één adres (drempel)",
                "waarde": cfg.kvk.veel_inschrijvingen,
            },
            {"instelling": "Verloop op één adres (drempel)", "waarde": cfg.kvk.verloop_adres},
            {
                "instelling": "Kadaster: doorverkoop binnen (dagen)",
                "waarde": cfg.kadaster.abc_dagen,
            },
            {"instelling": "Enquête: minimale groepsgrootte", "waarde": cfg.enquete_min_n},
            {
                "instelling": "Klein gebied: minder dan … adressen",
                "waarde": cfg.klein_gebied_adressen,
            },
            {
                "instelling": "Gevoeligheidsanalyse: herberekeningen",
                "waarde": cfg.gevoeligheid_replicaties,
            },
            {"instelling": "Thema-instellingen (versie)", "waarde": r.themes.versie},
        ]
    )
    text = [
        "Per buurt zijn indicatoren berekend uit de gelegenheidsstructuren (actieve KvK-vestigingen), de rode "
        "vlaggen uit KvK en Kadaster, de partnermeldingen en de enquête onder medewerkers. Elke indicator is "
        "robuust gestandaardiseerd (mediaan en spreiding, afgekapt) en per thema gewogen opgeteld; de bijdrage van "
        "elke indicator aan de score is bewaard, zodat elke score te verklaren is (bijdragen.csv). Kleine aantallen "
        "zijn empirisch-Bayesiaans naar het gemeentelijke niveau gekrompen, zodat één melding geen uitschieter "
        "maakt; enquêtegebieden tellen pas vanaf vijf verschillende respondenten. De kwetsbaarheidsindex is "
        "context en telt niet mee in een score; elk stuk bewijs telt in de totaalscore één keer. De marge van een "
        "rang komt uit 200 herberekeningen met andere gewichten (±50 %), andere normalisaties en steeds één bron "
        "weggelaten (gevoeligheidsanalyse volgens het OECD/JRC-handboek voor samengestelde indicatoren).",
        "Ruimtelijke concentraties zijn getoetst tegen het aantal adressen; het risicoterreinmodel is getoetst op "
        "latere meldingen (bijlage C). De volledige methode staat in docs/method.md en docs/method-rtm.md.",
    ]
    terms = pd.DataFrame({"begrip": list(TERMS), "betekenis": list(TERMS.values())})
    return rh.section(
        *[rh.p(t) for t in text],
        rh.tabel_html(
            thresholds,
            kolommen={"instelling": "Instelling", "waarde": "Waarde"},
            bijschrift="Instellingen",
        ),
        rh.tabel_html(
            terms,
            kolommen={"begrip": "Begrip", "betekenis": "Betekenis"},
            bijschrift="Begrippen",
            breed=("betekenis",),
        ),
    )


def bijlage_scores(r: Report) -> HTML:
    """Every buurt's rank per theme (with its margin), small areas labelled, not ranked."""
    scores = r.indicators.scores_buurt.sort_values("rang_totaal", na_position="last")
    table = pd.DataFrame({"buurt": scores["buurtnaam"].to_numpy()})
    columns = {"buurt": "Buurt"}
    for thema in ["totaal", *r.themes.themas]:
        rows = scores.rename(
            columns={
                f"rang_{thema}": "rang",
                f"rang_{thema}_laag": "rang_laag",
                f"rang_{thema}_hoog": "rang_hoog",
            }
        )
        small = (
            scores["klein_gebied"].fillna(False).to_numpy() if "klein_gebied" in scores else None
        )
        texts = [
            "klein gebied"
            if (small is not None and small[i]) or pd.isna(row.rang)
            else rank_text(row)
            for i, row in enumerate(rows.itertuples())
        ]
        table[thema] = texts
        columns[thema] = "Totaal" if thema == "totaal" else r.label(thema)
    return rh.section(
        rh.p(
            "Rang per thema (1 = hoogste score) met tussen haakjes de marge uit de gevoeligheidsanalyse. Buurten met "
            "weinig adressen of inwoners heten 'klein gebied' en krijgen geen rang: daar zegt een score te weinig."
        ),
        rh.tabel_html(table, kolommen=columns, bijschrift="Rang per buurt en thema"),
    )


def bijlage_datakwaliteit(r: Report) -> HTML:
    """The data-quality table and the geocoding rates per source."""
    k = r.inputs.kwaliteit.copy()
    if "bron" in k:
        k["bron"] = k["bron"].map(labels.SOURCE_LABELS).fillna(k["bron"])
    geo = r.inputs.geocodering.copy()
    geo["bron"] = geo["bron"].map(labels.SOURCE_LABELS).fillna(geo["bron"])
    geo["geocode_niveau"] = (
        geo["geocode_niveau"].map(labels.GEOCODE_LABELS).fillna(geo["geocode_niveau"])
    )
    geo["aandeel"] = geo["aandeel"] * 100
    return rh.section(
        rh.p("Twijfelachtige records zijn niet verwijderd maar gemarkeerd en hieronder geteld."),
        rh.tabel_html(
            k,
            kolommen={
                "bron": "Bron",
                "bestand": "Bestand",
                "controle": "Controle",
                "aantal": "Aantal",
                "toelichting": "Toelichting",
            },
            decimalen=0,
            bijschrift="Datakwaliteit per bron",
            breed=("toelichting",),
        ),
        rh.tabel_html(
            geo,
            kolommen={
                "bron": "Bron",
                "geocode_niveau": "Gekoppeld op",
                "aantal": "Aantal",
                "aandeel": "Aandeel (%)",
            },
            decimalen={"aantal": 0, "aandeel": 1},
            bijschrift="Koppeling aan adressen per bron",
        ),
    )


def bijlage_herkomst(r: Report) -> HTML:
    """Provenance: version, parameters, key fingerprint, input files with their hashes."""
    from bcba.keys import key_fingerprint, load_key

    key = load_key(required=False)
    b = r.inputs.bronnen.copy()
    b["bron"] = b["bron"].map(labels.SOURCE_LABELS).fillna(b["bron"])
    b["aanwezig"] = b["aanwezig"].map({True: "ja", False: "nee"})
    for c in ("periode_van", "periode_tot"):
        b[c] = pd.to_datetime(b[c]).map(lambda d: labels.nl_date(d) if pd.notna(d) else "–")
    total = sum(r.results.timings.values())
    params = pd.DataFrame(
        [
            {"gegeven": "bcba-versie", "waarde": __version__},
            {"gegeven": "Rapportnummer", "waarde": r.cfg.rapport_id},
            {"gegeven": "Gemeente", "waarde": f"{r.gemeente.naam} ({r.cfg.gemeente})"},
            {
                "gegeven": "Periode",
                "waarde": f"{labels.nl_date(r.cfg.periode_start)} t/m {labels.nl_date(r.cfg.periode_eind)}",
            },
            {
                "gegeven": "Thema-instellingen",
                "waarde": f"versie {r.themes.versie}"
                + (f" ({Path(r.cfg.thema_config).name})" if r.cfg.thema_config else " (standaard)"),
            },
            {"gegeven": "Sleutel (vingerafdruk)", "waarde": key_fingerprint(key) if key else "–"},
            {
                "gegeven": "Gemaakt op",
                "waarde": f"{labels.nl_date(dt.date.today())}, {dt.datetime.now():%H:%M} uur",
            },
            {"gegeven": "Rekentijd analyse", "waarde": f"{rh.nl_getal(total, 0)} seconden"},
        ]
    )
    manifest = r.inputs.manifest.copy()
    manifest["sha256"] = manifest["sha256"].astype(str).str.slice(0, 16) + "…"
    return rh.section(
        rh.tabel_html(
            params, kolommen={"gegeven": "Gegeven", "waarde": "Waarde"}, bijschrift="Parameters"
        ),
        rh.tabel_html(
            b,
            kolommen={
                "bron": "Bron",
                "aanwezig": "Aanwezig",
                "bestand": "Bestand",
                "rijen": "Records",
                "periode_van": "Van",
                "periode_tot": "Tot",
            },
            decimalen=0,
            bijschrift="Gebruikte bronnen",
        ),
        rh.tabel_html(
            manifest,
            kolommen={
                "bestand": "Bestand",
                "sha256": "Controlegetal (sha256, ingekort)",
                "rijen": "Rijen",
                "bron": "Bron",
            },
            decimalen=0,
            bijschrift="Invoerbestanden",
        ),
        rh.p(f"Referentiegegevens: {ATTRIBUTION}. Zie bcba/reference_data/SOURCES.md."),
    )


def bijlage_vertekening(r: Report) -> HTML:
    """How strongly each theme's scores follow address density, wealth and vulnerability."""
    bias = r.indicators.bias
    parts = [
        rh.p(
            "Een score kan vooral de bebouwingsdichtheid, de welvaart of de sociale kwetsbaarheid van een buurt "
            "weerspiegelen in plaats van ondermijning. De tabel toont per thema de rangcorrelatie (Spearman, met "
            "95%-interval uit een bootstrap) tussen de score en die kenmerken. Een sterke samenhang is geen fout, "
            "maar vraagt om voorzichtigheid bij het vergelijken van buurten. Herkomst of migratieachtergrond wordt "
            "nergens gebruikt."
        )
    ]
    if bias is None or len(bias) == 0:
        return rh.section(*parts, rh.p("Te weinig buurten om de samenhang te toetsen."))
    table = bias.assign(
        thema_label=[
            r.label(t) if t in r.themes.themas or t == "totaal" else t for t in bias["thema"]
        ],
        interval=[
            f"{rh.nl_getal(lo, 2)} – {rh.nl_getal(hi, 2)}"
            for lo, hi in zip(bias["rho_laag"], bias["rho_hoog"], strict=True)
        ],
    )
    parts.append(
        rh.tabel_html(
            table,
            kolommen={
                "thema_label": "Thema",
                "omschrijving": "Kenmerk",
                "n": "Buurten",
                "rho": "Rangcorrelatie",
                "interval": "95%-interval",
                "samenhang": "Samenhang",
            },
            decimalen={"n": 0, "rho": 2},
            groep=None,
            bijschrift="Samenhang van de scores met dichtheid, welvaart en kwetsbaarheid",
        )
    )
    if r.indicators.bias_toelichting:
        parts.append(rh.p(r.indicators.bias_toelichting))
    return rh.section(*parts)

"""Report sections of the annex: method, validation, data quality, provenance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba import __version__
from bcba.reference import ATTRIBUTION
from bcba.report import html as rh
from bcba.report.common import SOURCE_LABELS

if TYPE_CHECKING:
    from bcba.report.view import Report


def bijlage_methode(r: Report) -> HTML:
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
            {"instelling": "Enquête: minimale celgrootte", "waarde": cfg.enquete_min_n},
            {"instelling": "Thema-configuratie versie", "waarde": r.themes.versie},
        ]
    )
    text = [
        "Indicatoren per buurt worden robuust gestandaardiseerd (mediaan en MAD, afgekapt) en per thema gewogen "
        "opgeteld; de bijdrage van elke indicator aan de score wordt bewaard (bijdragen.csv), zodat elke score "
        "te verklaren is. Kleine aantallen worden naar het gemiddelde gekrompen.",
        "Het risicoterreinmodel en de hotspotanalyse staan beschreven in docs/method-rtm.md; de indicatoren "
        "en scores in docs/method.md.",
    ]
    return rh.section(
        rh.markering_html(),
        *[rh.p(t) for t in text],
        rh.tabel_html(thresholds, kolommen={"instelling": "Instelling", "waarde": "Waarde"}),
    )


def bijlage_validatie(r: Report) -> HTML:
    parts = [rh.markering_html()]
    rows = []
    for t, s in r.spatial.items():
        if s.validatie is None:
            continue
        v = s.validatie.copy()
        v.insert(0, "thema", r.label(t))
        rows.append(v)
    if not rows:
        return rh.section(
            *parts,
            rh.p("Geen validatie mogelijk: te weinig meldingen in beide helften van de periode."),
        )
    table = pd.concat(rows, ignore_index=True)
    table["aandeel_oppervlak"] = table["aandeel_oppervlak"] * 100
    table["hit_rate"] = table["hit_rate"] * 100
    parts.append(
        rh.p(
            "Het model is getraind op de eerste helft van de periode en getoetst op de tweede helft. De hit rate is "
            "het aandeel toetsmeldingen in het hoogst geschatte deel van het oppervlak; de PAI deelt dat door het "
            "aandeel oppervlak. De basislijn is een kerndichtheidsschatting (quartic kernel) van de trainingsmeldingen."
        )
    )
    parts.append(
        rh.tabel_html(
            table[["thema", "methode", "aandeel_oppervlak", "hit_rate", "pai", "n_test_events"]],
            kolommen={
                "thema": "Thema",
                "methode": "Methode",
                "aandeel_oppervlak": "Oppervlak (%)",
                "hit_rate": "Hit rate (%)",
                "pai": "PAI",
                "n_test_events": "Toetsmeldingen",
            },
            decimalen={"aandeel_oppervlak": 0, "hit_rate": 1, "pai": 2, "n_test_events": 0},
            bijschrift="Validatie op een tijdsplitsing: risicoterreinmodel tegen de KDE-basislijn",
        )
    )
    for t, s in r.spatial.items():
        if s.conclusie:
            parts.append(rh.p(f"{r.label(t)}: {s.conclusie}"))
    return rh.section(*parts)


def bijlage_datakwaliteit(r: Report) -> HTML:
    k = r.inputs.kwaliteit.copy()
    if "bron" in k:
        k["bron"] = k["bron"].map(SOURCE_LABELS).fillna(k["bron"])
    return rh.section(
        rh.markering_html(),
        rh.p("Twijfelachtige records zijn niet verwijderd maar gemarkeerd en hieronder geteld."),
        rh.tabel_html(k, decimalen=0, bijschrift="Datakwaliteit per bron"),
    )


def bijlage_herkomst(r: Report) -> HTML:
    from bcba.keys import key_fingerprint, load_key

    key = load_key(required=False)
    params = pd.DataFrame(
        [
            {"gegeven": "bcba-versie", "waarde": __version__},
            {"gegeven": "Rapportnummer", "waarde": r.cfg.rapport_id},
            {"gegeven": "Gemeente", "waarde": f"{r.gemeente.naam} ({r.cfg.gemeente})"},
            {
                "gegeven": "Periode",
                "waarde": f"{rh.nl_datum(r.cfg.periode_start)} t/m {rh.nl_datum(r.cfg.periode_eind)}",
            },
            {
                "gegeven": "Thema-configuratie",
                "waarde": f"versie {r.themes.versie}"
                + (f" ({Path(r.cfg.thema_config).name})" if r.cfg.thema_config else " (standaard)"),
            },
            {
                "gegeven": "Sleutel (vingerafdruk)",
                "waarde": key_fingerprint(key) if key else "–",
            },
            {"gegeven": "Gemaakt op", "waarde": dt.datetime.now().strftime("%d-%m-%Y %H:%M")},
        ]
        + [
            {"gegeven": f"Rekentijd {k}", "waarde": f"{rh.nl_getal(v, 1)} s"}
            for k, v in r.results.timings.items()
        ]
    )
    manifest = r.inputs.manifest.copy()
    manifest["sha256"] = manifest["sha256"].astype(str).str.slice(0, 16) + "…"
    return rh.section(
        rh.markering_html(),
        rh.tabel_html(
            params, kolommen={"gegeven": "Gegeven", "waarde": "Waarde"}, bijschrift="Parameters"
        ),
        rh.tabel_html(manifest, decimalen=0, bijschrift="Invoerbestanden (sha256, ingekort)"),
        rh.p(f"Referentiedata: {ATTRIBUTION}. Zie bcba/reference_data/SOURCES.md."),
    )

"""Report sections: risk locations (red flags) and signals for follow-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.display import HTML

from bcba.report import common
from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report


def risicolocaties(r: Report) -> HTML:
    from bcba.maps.palette import flag_label

    ind = r.indicators
    flags = ind.flags
    parts = [rh.markering_html()]
    if len(flags) == 0:
        return rh.section(*parts, rh.p("Er zijn geen rode vlaggen gevonden."))
    counts = (
        flags.groupby("flag_id")
        .agg(n=("flag_id", "size"), adressen=("adres_id", "nunique"))
        .reset_index()
    )
    counts["omschrijving"] = flag_label(counts["flag_id"].to_numpy())
    parts.append(
        rh.tabel_html(
            counts[["flag_id", "omschrijving", "n", "adressen"]],
            kolommen={
                "flag_id": "Vlag",
                "omschrijving": "Omschrijving",
                "n": "Aantal",
                "adressen": "Adressen",
            },
            decimalen=0,
            bijschrift="Rode vlaggen uit KvK en Kadaster",
        )
    )
    loc = ind.risicolocaties[ind.risicolocaties.geometry.notna()].copy()
    loc["reden"] = loc["bewijs"].astype(str).str.slice(0, 300)
    loc["flag"] = loc["flag_ids"]
    bijschrift = "Adressen met rode vlaggen, gekleurd naar soort vlag (geclusterd)."
    shown = loc
    if len(loc) > common.MAX_REPORT_LOCATIONS:
        # A city has tens of thousands: the report's map shows the addresses with the
        # most kinds of flags; the separate map file and the print map show them all.
        shown = loc.sort_values(
            ["n_soorten", "n_flags", "adres_id"], ascending=[False, False, True]
        ).head(common.MAX_REPORT_LOCATIONS)
        bijschrift += (
            f" Interactief getoond: de {rh.nl_getal(len(shown), 0)} adressen met de meeste "
            f"soorten vlaggen van de {rh.nl_getal(len(loc), 0)}; alle adressen staan in "
            "kaarten/risicolocaties_alle.html, in risicolocaties.csv en op de afdrukkaart."
        )
        from bcba.maps.interactive import risk_locations_map

        r.save_map(
            risk_locations_map(
                loc,
                titel="Risicolocaties (alle)",
                flag_column="flag",
                basemap=r.basemap(),
                tegel_url=r.cfg.tegel_url,
            ),
            "risicolocaties_alle",
        )
    parts.append(
        r.map(
            "locaties",
            shown,
            titel="Risicolocaties",
            flag_column="flag",
            slug="risicolocaties",
            bijschrift=bijschrift,
            figure_frame=loc,
        )
    )
    top = ind.risicolocaties.sort_values(["n_soorten", "n_flags"], ascending=False).head(15)
    names = r.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
    top = top.assign(buurt=top["buurtcode"].map(names).fillna(top["buurtcode"]))
    parts.append(
        rh.tabel_html(
            top[["adres_sleutel", "buurt", "flag_ids", "bewijs"]],
            kolommen={
                "adres_sleutel": "Adres (postcode|nr)",
                "buurt": "Buurt",
                "flag_ids": "Vlaggen",
                "bewijs": "Onderbouwing",
            },
            bijschrift="Adressen met de meeste soorten vlaggen",
        )
    )
    return rh.section(*parts)


def signalen(r: Report) -> HTML:
    sig = r.indicators.signalen
    parts = [rh.markering_html()]
    if len(sig) == 0:
        return rh.section(*parts, rh.p("Geen signalen voor opvolging."))
    parts.append(
        rh.p(
            "Locaties en entiteiten die meerdere vlaggen of bronnen combineren worden signalen. De voorgestelde "
            "eigenaar is de gemeente (lokale opvolging: vergunningen, APV, Bibob, handhaving) of de RIEC-intake "
            "(als personen, netwerken of meerdere partners betrokken zijn)."
        )
    )
    names = r.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
    sig = sig.assign(buurt=sig["buurtcode"].map(names).fillna(sig["buurtcode"]).fillna("–"))
    order = {"hoog": 0, "middel": 1, "laag": 2}
    sig = sig.assign(_o=sig["prioriteit"].map(order)).sort_values(["_o", "signaal_id"])
    columns = {
        "signaal_id": "Signaal",
        "prioriteit": "Prioriteit",
        "buurt": "Buurt",
        "flag_ids": "Vlaggen",
        "bewijs": "Onderbouwing",
    }
    for owner, title in (
        ("gemeente", "Lokale opvolging (gemeente)"),
        ("RIEC-intake", "Voor de RIEC-intake"),
    ):
        sel = sig[sig["eigenaar"] == owner]
        parts.append(rh.h(3, f"{title}: {rh.nl_getal(len(sel))} signalen"))
        if len(sel):
            parts.append(rh.tabel_html(sel, kolommen=columns, max_rijen=25, decimalen=0))
    return rh.section(*parts)

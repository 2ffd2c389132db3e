"""Report sections: risk locations (red flags) and the signals for follow-up, short in the
mayor's report and in full in the annex."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba import labels
from bcba.report import common
from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report

PRIORITY_ORDER = {"hoog": 0, "middel": 1, "laag": 2}
#: Addresses listed in the mayor's report and in the annex.
TOP_LOCATIONS = 10
ANNEX_LOCATIONS = 60
#: Signals of low priority listed in the annex per follow-up owner; the rest (a city has
#: thousands: hundreds of printed pages) are in the workbook and signalen.csv
ANNEX_LOW_SIGNALS = 100
#: Signals listed in the mayor's report (the annex lists them all).
TOP_SIGNALS = 5


def _located(r: Report, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a readable address and the buurt name."""
    return frame.assign(
        adres=labels.addresses(frame, r.inputs.bag),
        buurt=frame["buurtcode"].map(r.buurtnamen()).fillna("buiten de buurtindeling"),
    )


def _most_flagged(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` strongest risk locations (evidence strength, then kinds and flags)."""
    order = [c for c in ("bewijskracht", "n_soorten", "n_flags") if c in frame]
    return frame.sort_values(
        [*order, "adres_id"], ascending=[False] * len(order) + [True], kind="stable"
    ).head(n)


def _locations_map(r: Report) -> str:
    loc = r.indicators.risicolocaties
    loc = _located(r, loc[loc.geometry.notna()])
    loc["reden"] = [
        f"{a}: " + "; ".join(labels.evidence_items(b))
        for a, b in zip(loc["adres"], loc["bewijs"], strict=True)
    ]
    loc["flag"] = loc["flag_ids"]
    bijschrift = "Kaart 2. Adressen met rode vlaggen, gekleurd naar soort vlag."
    shown = loc
    if len(loc) > common.MAX_REPORT_LOCATIONS:
        # A city has tens of thousands: the report's map shows the addresses with the
        # strongest evidence; the separate map file and the print map show them all.
        shown = _most_flagged(loc, common.MAX_REPORT_LOCATIONS)
        bijschrift += (
            f" Interactief getoond: de {rh.nl_getal(len(shown))} adressen met het sterkste "
            f"bewijs van de {rh.nl_getal(len(loc))}; de afdrukkaart toont ze allemaal."
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
    return r.map(
        "locaties",
        shown,
        titel="Risicolocaties",
        flag_column="flag",
        slug="risicolocaties",
        bijschrift=bijschrift,
        op_scherm="Klik op een adres voor de onderbouwing.",
        figure_frame=loc,
    )


def _signal_rows(r: Report, sig: pd.DataFrame) -> pd.DataFrame:
    """Signals in priority order, numbered, with where, what, why and who."""
    sig = _located(r, sig)
    sig = sig.assign(_o=sig["prioriteit"].map(PRIORITY_ORDER)).sort_values(["_o", "signaal_id"])
    return pd.DataFrame(
        {
            "nr": range(1, len(sig) + 1),
            "waar": [f"{a} ({b})" for a, b in zip(sig["adres"], sig["buurt"], strict=True)],
            "wat": [labels.flags_text(f) for f in sig["flag_ids"]],
            "waarom": [labels.evidence_items(b) for b in sig["bewijs"]],
            "wie": [
                f"{labels.OWNER_LABELS.get(o, o)}; bron: {labels.sources_text(s)}"
                for o, s in zip(sig["eigenaar"], sig["bronnen"], strict=True)
            ],
            "prioriteit": sig["prioriteit"].to_numpy(),
            "eigenaar": sig["eigenaar"].to_numpy(),
        }
    )


def risicolocaties(r: Report) -> HTML:
    """The mayor's report: where the red flags are, and the addresses with the most kinds."""
    ind = r.indicators
    if len(ind.flags) == 0:
        return rh.section(
            rh.p("Er zijn in de periode geen rode vlaggen uit KvK en Kadaster gevonden.")
        )
    top = _located(r, _most_flagged(ind.risicolocaties, TOP_LOCATIONS))
    table = pd.DataFrame(
        {
            "adres": top["adres"],
            "buurt": top["buurt"],
            "vlaggen": [labels.flags_text(f) for f in top["flag_ids"]],
        }
    )
    return rh.section(
        rh.p(
            "Een rode vlag is een patroon in de KvK- of Kadastergegevens dat bij ondermijning vaak voorkomt, "
            "zoals veel bedrijven op één adres, een bedrijf op een woonadres of een woning die snel wordt "
            "doorverkocht. Eén vlag zegt weinig, en niet elke vlag weegt even zwaar: een doorverkoop zonder "
            "prijssprong, oude en stabiele inschrijvingen in een bedrijfsverzamelgebouw of een gevestigde "
            "belegger tellen half. Adressen met gecombineerd bewijs verdienen een nadere blik. "
            "De onderbouwing per adres staat in bijlage F."
        ),
        _locations_map(r),
        rh.tabel_html(
            table,
            kolommen={"adres": "Adres", "buurt": "Buurt", "vlaggen": "Rode vlaggen"},
            bijschrift=f"De {rh.nl_getal(len(table))} adressen met het sterkste gecombineerde bewijs",
            breed=("vlaggen",),
        ),
        klasse="bcba-compact",
    )


def signalen(r: Report) -> HTML:
    """The mayor's report: how many signals for whom, and the most urgent ones."""
    sig = r.indicators.signalen
    if len(sig) == 0:
        return rh.section(
            rh.h(2, "Signalen voor opvolging"), rh.p("Er zijn geen signalen voor opvolging.")
        )
    rows = _signal_rows(r, sig)
    counts = (
        rows.groupby(["eigenaar", "prioriteit"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(PRIORITY_ORDER), fill_value=0)
    )
    counts.index = [labels.OWNER_LABELS.get(o, o) for o in counts.index]
    counts = counts.reset_index(names="eigenaar")
    top = rows[rows["prioriteit"] == "hoog"].head(TOP_SIGNALS)
    top = top.assign(waarom=[items[:2] for items in top["waarom"]])
    return rh.section(
        rh.h(2, "Signalen voor opvolging"),
        rh.p(
            "Waar meerdere vlaggen of bronnen samenkomen, ontstaat een signaal. De gemeente volgt signalen lokaal "
            "op (vergunningen, APV, Bibob, handhaving); signalen waarbij personen, netwerken of meerdere partners "
            "betrokken zijn, gaan naar de RIEC-intake. De volledige lijst staat in bijlage G."
        ),
        rh.tabel_html(
            counts,
            kolommen={
                "eigenaar": "Opvolging door",
                "hoog": "Hoge prioriteit",
                "middel": "Middel",
                "laag": "Laag",
            },
            decimalen=0,
            bijschrift="Signalen per eigenaar en prioriteit",
        ),
        rh.tabel_html(
            top,
            kolommen={
                "nr": "Nr.",
                "waar": "Waar",
                "wat": "Wat",
                "waarom": "Waarom",
                "wie": "Opvolging",
            },
            decimalen=0,
            bijschrift="Signalen met hoge prioriteit (eerste vijf)",
            breed=("waarom",),
        )
        if len(top)
        else "",
        klasse="bcba-compact",
    )


def bijlage_risicolocaties(r: Report) -> HTML:
    """Annex: every kind of red flag with its count, and the most flagged addresses with
    their evidence."""
    ind = r.indicators
    flags = ind.flags
    if len(flags) == 0:
        return rh.section(rh.p("Er zijn geen rode vlaggen gevonden."))
    counts = (
        flags.groupby("flag_id")
        .agg(n=("flag_id", "size"), adressen=("adres_id", "nunique"))
        .reset_index()
    )
    counts["vlag"] = [labels.flag_label(f) for f in counts["flag_id"]]
    counts["bron"] = (
        counts["flag_id"]
        .str.split("_")
        .str[0]
        .map({"KVK": "KvK", "KAD": "Kadaster", "NET": "netwerk"})
    )
    top = _located(r, _most_flagged(ind.risicolocaties, ANNEX_LOCATIONS))
    table = pd.DataFrame(
        {
            "adres": top["adres"],
            "buurt": top["buurt"],
            "bewijs": [labels.evidence_items(b) for b in top["bewijs"]],
        }
    )
    return rh.section(
        rh.tabel_html(
            counts.sort_values("n", ascending=False),
            kolommen={"vlag": "Rode vlag", "bron": "Bron", "n": "Aantal", "adressen": "Adressen"},
            decimalen=0,
            bijschrift="Rode vlaggen per soort",
        ),
        rh.tabel_html(
            table,
            kolommen={"adres": "Adres", "buurt": "Buurt", "bewijs": "Onderbouwing"},
            bijschrift=f"De {rh.nl_getal(len(table))} adressen met het sterkste bewijs "
            f"(alle {rh.nl_getal(len(ind.risicolocaties))} adressen staan in risicolocaties.csv)",
            breed=("bewijs",),
        ),
    )


def bijlage_signalen(r: Report) -> HTML:
    """Annex: the signals (landscape pages): every signal of high and medium priority and
    the first :data:`ANNEX_LOW_SIGNALS` of low priority per owner."""
    sig = r.indicators.signalen
    if len(sig) == 0:
        return rh.section(rh.p("Er zijn geen signalen voor opvolging."))
    rows = _signal_rows(r, sig)
    parts = []
    for owner, title in (
        ("gemeente", "Lokale opvolging door de gemeente"),
        ("RIEC-intake", "Voor de RIEC-intake"),
    ):
        sel = rows[rows["eigenaar"] == owner]
        parts.append(rh.h(3, f"{title} ({rh.nl_getal(len(sel))})"))
        low = sel["prioriteit"] == "laag"
        rest = sel[low].iloc[ANNEX_LOW_SIGNALS:]
        if len(rest):
            sel = pd.concat([sel[~low], sel[low].head(ANNEX_LOW_SIGNALS)])
            parts.append(
                rh.p(
                    "Afgedrukt staan alle signalen met hoge en middelhoge prioriteit en de "
                    f"eerste {rh.nl_getal(ANNEX_LOW_SIGNALS)} met lage prioriteit; de andere "
                    f"{rh.nl_getal(len(rest))} staan in de HTML-versie van deze bijlage, in het "
                    f"Excel-werkboek resultaten_{r.gemeente.code}.xlsx (blad Signalen) en in "
                    "signalen.csv."
                )
            )
        for shown, screen_only in ((sel, False), (rest, True)):
            if len(shown) == 0:
                continue
            table = rh.tabel_html(
                shown,
                kolommen={
                    "nr": "Nr.",
                    "prioriteit": "Prioriteit",
                    "waar": "Waar",
                    "wat": "Wat",
                    "waarom": "Waarom",
                    "wie": "Opvolging en bron",
                },
                decimalen=0,
                breed=("waarom",),
            )
            # the long tail on screen only: a city's thousands of signals are hundreds of
            # printed pages
            parts.append(f'<div class="screen-only">{table}</div>' if screen_only else table)
    return rh.section(
        rh.p(
            "De signalen op volgorde van prioriteit; het nummer is ook gebruikt in het "
            "bestuurlijke rapport en in het Excel-werkboek."
        ),
        *parts,
    )

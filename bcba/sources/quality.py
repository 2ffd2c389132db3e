"""Data-quality and geocoding tables (Dutch labels) for the analyst and the report."""

from __future__ import annotations

import pandas as pd

#: reason code in ``dq_redenen`` -> (Dutch check label, explanation)
CONTROLES = {
    "buiten_gemeente": (
        "buiten gemeente",
        "Locatie ligt buiten de gemeente; record is bewaard maar telt niet mee in kaarten.",
    ),
    "dubbel": (
        "dubbel record",
        "Zelfde record komt vaker voor; alleen het eerste telt mee waar dat uitmaakt.",
    ),
    "buiten_periode": ("buiten periode", "Datum valt buiten de analyseperiode."),
    "sbi_onbekend": (
        "SBI-code onbekend",
        "SBI-code staat niet in de SBI 2008-lijst (let op: Excel kan een voorloopnul hebben verwijderd).",
    ),
    "datum_volgorde": (
        "uitschrijving voor inschrijving",
        "Datum uitschrijving ligt voor datum inschrijving; record is bewaard.",
    ),
    "niet_gegeocodeerd": (
        "niet gegeocodeerd",
        "Adres of gebied niet gevonden in BAG/CBS; record heeft geen locatie.",
    ),
}
KWALITEIT_COLUMNS = ["bron", "bestand", "controle", "aantal", "toelichting"]
GEOCODERING_COLUMNS = ["bron", "geocode_niveau", "aantal", "aandeel"]


def reason_counts(bron: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows per reason code in ``dq_redenen`` per file, as kwaliteit rows (zero counts left out)."""
    if frame is None or "dq_redenen" not in frame.columns or frame.empty:
        return pd.DataFrame(columns=KWALITEIT_COLUMNS)
    files = (
        frame["bron_bestand"]
        if "bron_bestand" in frame.columns
        else pd.Series("", index=frame.index)
    )
    # few distinct (file, reasons) combinations: count those, then split each one once
    combos = (
        pd.DataFrame({"bestand": files, "redenen": frame["dq_redenen"].fillna("").astype(str)})
        .groupby(["bestand", "redenen"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .astype({"bestand": object, "redenen": object})  # the few combinations as before
    )
    long = combos.assign(code=combos["redenen"].str.split(";")).explode("code")
    long = long[long["code"].astype(str) != ""]
    if long.empty:
        return pd.DataFrame(columns=KWALITEIT_COLUMNS)
    counts = long.groupby(["bestand", "code"])["n"].sum().rename("aantal").reset_index()
    counts["controle"] = counts["code"].map(lambda c: CONTROLES.get(c, (c, ""))[0])
    counts["toelichting"] = counts["code"].map(lambda c: CONTROLES.get(c, ("", ""))[1])
    counts["bron"] = bron
    return counts[KWALITEIT_COLUMNS]


def note_rows(bron: str, notes: list[dict]) -> pd.DataFrame:
    """Kwaliteit rows of a reader's notes (``codering``, ``open einddatum``, categories…)."""
    if not notes:
        return pd.DataFrame(columns=KWALITEIT_COLUMNS)
    frame = pd.DataFrame(notes)
    frame["bron"] = bron
    return frame[KWALITEIT_COLUMNS]


def read_counts(
    bron: str, bestand: str, rijen_in: int, rijen_uit: int, lege_rijen: int
) -> pd.DataFrame:
    """The row balance of one source: read, kept and empty rows skipped."""
    rows = [
        (
            bron,
            bestand,
            "rijen gelezen",
            rijen_in,
            "Gegevensrijen in het bestand (kopregel niet meegeteld).",
        ),
        (bron, bestand, "rijen ingelezen", rijen_uit, "Rijen die in de analyse beschikbaar zijn."),
    ]
    if lege_rijen:
        rows.append(
            (
                bron,
                bestand,
                "lege rij overgeslagen",
                lege_rijen,
                "Volledig lege rijen zijn overgeslagen.",
            )
        )
    return pd.DataFrame(rows, columns=KWALITEIT_COLUMNS)


def geocoding_table(bron: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Count and share of records per ``geocode_niveau`` for one source."""
    if frame is None or "geocode_niveau" not in frame.columns or frame.empty:
        return pd.DataFrame(columns=GEOCODERING_COLUMNS)
    counts = frame["geocode_niveau"].value_counts().rename("aantal").reset_index()
    counts["aandeel"] = counts["aantal"] / counts["aantal"].sum()
    counts.insert(0, "bron", bron)
    return counts[GEOCODERING_COLUMNS]


def kwaliteitsrapport(kwaliteit: pd.DataFrame) -> pd.DataFrame:
    """The data-quality table with Dutch headings, for display to the analyst."""
    return kwaliteit.rename(
        columns={
            "bron": "Bron",
            "bestand": "Bestand",
            "controle": "Controle",
            "aantal": "Aantal",
            "toelichting": "Toelichting",
        }
    )

"""The input check for the analyst: Dutch-ready tables and a verdict that reflects quality.

``bcba controleer`` prints these; the report can show the same tables. Values are text in
Dutch notation (dd-mm-jjjj, ja/nee, ``12.345``, ``54,2%``), never ``True``, ``NaT`` or a raw
float. The verdict says "geldig" when the input could be read at all (otherwise loading
raised), and names every share of problem records above :data:`QUALITY_THRESHOLDS`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from bcba import labels
from bcba.maps.palette import format_number_nl
from bcba.sources.quality import CONTROLES

#: Dutch name of each source (tables, headings).
SOURCE_LABELS = {key: label[:1].upper() + label[1:] for key, label in labels.SOURCE_LABELS.items()}
#: What one record of a source is called in a sentence ("54% van de enquêterecords ...").
RECORD_NOUNS = {
    "bag": "BAG-adressen",
    "kvk_vestigingen": "KvK-vestigingen",
    "kvk_functionarissen": "KvK-functionarissen",
    "kadaster": "Kadaster-transacties",
    "enquete": "enquêterecords",
    "partners": "partnermeldingen",
}
#: Dutch labels of ``geocode_niveau`` (most precise first).
GEOCODE_LABELS = {
    "exact": "exact adres",
    "postcode_huisnummer": "postcode en huisnummer",
    "xy": "coördinaten",
    "postcode": "postcode",
    "pc4": "postcodegebied (PC4)",
    "buurtcode": "buurtcode",
    "geen": "geen locatie",
}

#: The one place for the quality thresholds of the verdict: the largest share of a source's
#: records that may have the problem before ``controleer`` says "geldig, maar ...".
#: ``zonder_locatie`` is the geocoding level ``geen``; the others are ``dq_redenen`` codes
#: (:data:`bcba.sources.quality.CONTROLES`). ``buiten_periode`` has none: KvK extracts
#: rightly hold registrations from long before the analysis period.
QUALITY_THRESHOLDS: dict[str, float] = {
    "zonder_locatie": 0.10,
    "buiten_gemeente": 0.05,
    "dubbel": 0.02,
    "sbi_onbekend": 0.02,
    "datum_volgorde": 0.01,
}
#: How a problem reads after "<share> van de <records>".
PROBLEM_PHRASES = {
    "zonder_locatie": "zonder locatie",
    "buiten_gemeente": "buiten de gemeente",
    "dubbel": "dubbel",
    "sbi_onbekend": "met een onbekende SBI-code",
    "datum_volgorde": "met een uitschrijving vóór de inschrijving",
}


def nl_date(value) -> str:
    """A date as dd-mm-jjjj; missing gives ``–``."""
    if value is None or value is pd.NaT or (not isinstance(value, dt.date) and pd.isna(value)):
        return "–"
    return pd.Timestamp(value).strftime("%d-%m-%Y")


def nl_share(fraction: float | None, decimals: int = 1) -> str:
    """A fraction (0.5385) as a Dutch percentage: ``53,8%``; missing gives ``–``."""
    if fraction is None or pd.isna(fraction):
        return "–"
    return f"{format_number_nl(float(fraction) * 100, decimals)}%"


def nl_count(value) -> str:
    """A count with a thousands dot: ``21.756``."""
    return format_number_nl(value, 0)


def yes_no(value) -> str:
    return "ja" if bool(value) else "nee"


def sources_table(bronnen: pd.DataFrame) -> pd.DataFrame:
    """``Inputs.bronnen`` for display: source, present, files, records and date range."""
    out = pd.DataFrame(
        {
            "Bron": bronnen["bron"].map(SOURCE_LABELS).fillna(bronnen["bron"]),
            "Aanwezig": bronnen["aanwezig"].map(yes_no),
            "Bestand": bronnen["bestand"].fillna("–"),
            "Records": bronnen["rijen"].map(nl_count),
            "Van": bronnen["periode_van"].map(nl_date),
            "Tot en met": bronnen["periode_tot"].map(nl_date),
        }
    )
    return out.reset_index(drop=True)


def quality_table(
    kwaliteit: pd.DataFrame, bronnen: pd.DataFrame, geocodering: pd.DataFrame
) -> pd.DataFrame:
    """``Inputs.kwaliteit`` for display, with each count's share of the source's records.

    The row balance (rows read, kept, empty) has no share; "niet gegeocodeerd" shows the
    share of the located records (:func:`geocoding_table`'s denominator, e.g. the survey's
    signals, not all its rows). Explanations: :func:`quality_legend`.
    """
    rows = bronnen.set_index("bron")["rijen"]
    counts = kwaliteit.groupby(["bron", "controle"], sort=False)["aantal"].sum().reset_index()
    share = counts["aantal"] / counts["bron"].map(rows).replace(0, float("nan"))
    balance = ~counts["controle"].isin([label for label, _ in CONTROLES.values()])
    share[balance] = float("nan")
    unlocated = counts["controle"] == CONTROLES["niet_gegeocodeerd"][0]
    geen = geocodering[geocodering["geocode_niveau"] == "geen"].set_index("bron")["aandeel"]
    share[unlocated] = counts.loc[unlocated, "bron"].map(geen)
    return pd.DataFrame(
        {
            "Bron": counts["bron"].map(SOURCE_LABELS).fillna(counts["bron"]),
            "Controle": counts["controle"],
            "Aantal": counts["aantal"].map(nl_count),
            "Aandeel": share.map(lambda v: "" if pd.isna(v) else nl_share(v)),
        }
    )


def quality_legend(kwaliteit: pd.DataFrame) -> list[str]:
    """``"<controle>: <toelichting>"`` once per check."""
    pairs = kwaliteit[["controle", "toelichting"]].drop_duplicates("controle")
    return [f"{c}: {t}" for c, t in zip(pairs["controle"], pairs["toelichting"], strict=True) if t]


def geocoding_table(geocodering: pd.DataFrame) -> pd.DataFrame:
    """``Inputs.geocodering`` for display, levels in Dutch and in order of precision."""
    order = {level: i for i, level in enumerate(GEOCODE_LABELS)}
    geo = geocodering.assign(
        _s=geocodering["bron"].map(_source_order), _o=geocodering["geocode_niveau"].map(order)
    ).sort_values(["_s", "_o"], kind="stable")
    return pd.DataFrame(
        {
            "Bron": geo["bron"].map(SOURCE_LABELS).fillna(geo["bron"]),
            "Koppelniveau": geo["geocode_niveau"].map(GEOCODE_LABELS).fillna(geo["geocode_niveau"]),
            "Aantal": geo["aantal"].map(nl_count),
            "Aandeel": geo["aandeel"].map(nl_share),
        }
    ).reset_index(drop=True)


def _source_order(bron: str) -> int:
    order = list(SOURCE_LABELS)
    return order.index(bron) if bron in order else len(order)


@dataclass(frozen=True)
class Verdict:
    """The verdict on an input that could be read: ``problems`` lists the Dutch phrases of
    shares above their threshold, ``missing`` the absent optional sources."""

    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems and not self.missing

    def text(self) -> str:
        """``"Invoer is geldig."`` or ``"Invoer is geldig, maar ..."`` in one sentence."""
        if self.clean:
            return "Invoer is geldig."
        parts = list(self.problems)
        if self.missing:
            parts.append("zonder " + _join(self.missing))
        return f"Invoer is geldig, maar {'; '.join(parts)}."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


def verdict(
    bronnen: pd.DataFrame,
    kwaliteit: pd.DataFrame,
    geocodering: pd.DataFrame,
    *,
    thresholds: dict[str, float] | None = None,
) -> Verdict:
    """Judge a loaded input (``Inputs.bronnen``, ``.kwaliteit``, ``.geocodering``).

    Every share of a source's records with a problem in ``thresholds`` (default
    :data:`QUALITY_THRESHOLDS`) above its threshold becomes one phrase, e.g.
    ``"53,8% van de enquêterecords zonder locatie"``, in source order.
    """
    limits = QUALITY_THRESHOLDS if thresholds is None else thresholds
    code_of = {label: code for code, (label, _) in CONTROLES.items()}
    rows = bronnen.set_index("bron")["rijen"]
    found: list[tuple[int, str]] = []
    if "zonder_locatie" in limits:
        none = geocodering[geocodering["geocode_niveau"] == "geen"]
        for bron, share in zip(none["bron"], none["aandeel"], strict=True):
            if share > limits["zonder_locatie"]:
                found.append((_source_order(bron), _phrase(bron, share, "zonder_locatie")))
    counts = kwaliteit.assign(code=kwaliteit["controle"].map(code_of))
    counts = counts[counts["code"].isin([c for c in limits if c != "zonder_locatie"])]
    for (bron, code), n in counts.groupby(["bron", "code"], sort=False)["aantal"].sum().items():
        total = rows.get(bron, 0)
        if total and n / total > limits[code]:
            found.append((_source_order(bron), _phrase(bron, n / total, code)))
    missing = [
        SOURCE_LABELS.get(b, b) for b in bronnen.loc[~bronnen["aanwezig"].astype(bool), "bron"]
    ]
    return Verdict(problems=[p for _, p in sorted(found, key=lambda x: x[0])], missing=missing)


def _phrase(bron: str, share: float, code: str) -> str:
    return (
        f"{nl_share(share)} van de {RECORD_NOUNS.get(bron, bron)} "
        f"{PROBLEM_PHRASES.get(code, code.replace('_', ' '))}"
    )

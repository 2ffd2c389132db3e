"""Dutch labels of the codes bcba uses, and readable addresses: one place for every output.

Reports, maps, the Excel workbook and the explore helpers show flags, sources, geocoding
levels and addresses through these functions, so no raw code (``KAD_ZONDER_HYPOTHEEK``),
joined key (``2992VR|12||``) or node id (``K-12345678``) reaches a reader.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

#: Flag id -> short Dutch label (a reader's words; the evidence says the details).
FLAG_LABELS: dict[str, str] = {
    "KVK_VEEL_INSCHRIJVINGEN": "Veel inschrijvingen op één adres",
    "KVK_VERLOOP_ADRES": "Hoog verloop van inschrijvingen",
    "KVK_NIEUW_RISICOBRANCHE": "Nieuw in risicobranche",
    "KVK_WOONADRES": "Bedrijf op woonadres",
    "KVK_KORT_BESTAAN": "Kortbestaand bedrijf",
    "KVK_FUNCTIONARIS_VEEL": "Functionaris met veel bedrijven",
    "KAD_ABC": "Snelle doorverkoop (ABC)",
    "KAD_PRIJS_WOZ": "Koopsom wijkt af van WOZ",
    "KAD_ZONDER_HYPOTHEEK": "Aankoop zonder hypotheek",
    "KAD_JONGE_RECHTSPERSOON": "Koper is jonge rechtspersoon",
    "KAD_VEEL_AANKOPEN": "Koper met veel aankopen",
    "NET_STROMAN": "Mogelijke stroman",
    "NET_ADRES_HUB": "Adres als knooppunt",
    "NET_CARROUSEL": "Vastgoedcarrousel",
    "NET_VASTGOED_JONGE_BV": "Vastgoed via jonge bv",
    "NET_GEDEELDE_FUNCTIONARIS": "Gedeelde functionaris",
}

SOURCE_LABELS: dict[str, str] = {
    "bag": "BAG-adressen",
    "kvk": "KvK",
    "kvk_vestigingen": "KvK-vestigingen",
    "kvk_functionarissen": "KvK-functionarissen",
    "kadaster": "Kadaster",
    "enquete": "enquête onder medewerkers",
    "partners": "partnermeldingen",
    "netwerk": "netwerkanalyse",
}

#: Partner files (the ``bron`` of a partner event) -> the organisation.
PARTNER_LABELS: dict[str, str] = {
    "politie": "Politie",
    "handhaving": "gemeentelijke handhaving",
    "gemeente": "gemeente",
    "belastingdienst": "Belastingdienst",
    "arbeidsinspectie": "Nederlandse Arbeidsinspectie",
    "fiod": "FIOD",
    "om": "Openbaar Ministerie",
}

GEOCODE_LABELS: dict[str, str] = {
    "exact": "exact adres",
    "postcode_huisnummer": "postcode en huisnummer",
    "postcode": "postcode",
    "pc4": "postcode (4 cijfers)",
    "xy": "coördinaten",
    "buurtcode": "buurt",
    "geen": "niet gekoppeld",
}

OWNER_LABELS: dict[str, str] = {
    "gemeente": "gemeente",
    "RIEC-intake": "RIEC-intake",
}

_CODE = re.compile(r"\b(?:KVK|KAD|NET)_[A-Z_]+\b")
_COMPANY = re.compile(r"\bK-(\d{8})\b")
_PERSON = re.compile(r"\bP-[0-9A-Za-z]{6,}\b")
_LEGAL = re.compile(r"\bR-[0-9a-z_]+\b")
_DATE = re.compile(r"\b(\d{2})-(\d{2})-(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


#: CBS writes wijk names as ``Wijk 01 Centrum``; a reader calls it ``Centrum``.
_WIJK_PREFIX = re.compile(r"^\s*wijk\s*\d+\s*[-–:.]?\s*", re.I)


def clean_area_name(name: object) -> str:
    """A wijk or buurt name as a reader says it: CBS's ``Wijk 01 Centrum`` becomes ``Centrum``."""
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    stripped = _WIJK_PREFIX.sub("", text).strip()
    return stripped or text.strip()


def nl_date(value: dt.date | str | pd.Timestamp | None) -> str:
    """A date in words, the one date format of every report: ``3 december 2026``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def flag_label(flag_id: str) -> str:
    """The Dutch label of one flag id (an unknown id is shown in words, never as a code)."""
    return FLAG_LABELS.get(flag_id) or flag_id.split("_", 1)[-1].replace("_", " ").capitalize()


def flags_text(flag_ids: object, *, sep: str = ";") -> str:
    """``"KAD_ABC;KVK_WOONADRES"`` as ``"Snelle doorverkoop (ABC); Bedrijf op woonadres"``."""
    if flag_ids is None or (not isinstance(flag_ids, str) and pd.isna(flag_ids)):
        return ""
    return "; ".join(flag_label(f.strip()) for f in str(flag_ids).split(sep) if f.strip())


def sources_text(sources: object, *, sep: str = ";") -> str:
    """``"kvk;partners"`` as ``"KvK, partnermeldingen"``."""
    if sources is None or (not isinstance(sources, str) and pd.isna(sources)):
        return ""
    parts = [s.strip() for s in str(sources).split(sep) if s.strip()]
    return ", ".join(SOURCE_LABELS.get(s, PARTNER_LABELS.get(s, s)) for s in parts)


def readable(text: object) -> str:
    """Free text produced by bcba (evidence, descriptions) without codes or node ids:
    flag ids become labels, ``K-12345678`` becomes ``KvK 12345678``, pseudonyms become
    ``een persoon``, dates are written in words."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    out = _CODE.sub(lambda m: flag_label(m.group(0)), str(text))
    out = _COMPANY.sub(r"KvK \1", out)
    out = _PERSON.sub("een persoon", out)
    out = _LEGAL.sub("een rechtspersoon", out)
    out = _DATE.sub(lambda m: _date_words(int(m.group(3)), int(m.group(2)), int(m.group(1))), out)
    return _ISO_DATE.sub(
        lambda m: _date_words(int(m.group(1)), int(m.group(2)), int(m.group(3))), out
    )


def _date_words(year: int, month: int, day: int) -> str:
    try:
        return nl_date(dt.date(year, month, day))
    except ValueError:
        return f"{day:02d}-{month:02d}-{year}"


def evidence_items(bewijs: object) -> list[str]:
    """Evidence joined with `` | `` (``CODE: text``) as readable items (``Label: text``)."""
    if bewijs is None or (not isinstance(bewijs, str) and pd.isna(bewijs)):
        return []
    items = []
    for part in str(bewijs).split(" | "):
        code, sep, rest = part.partition(": ")
        if sep and _CODE.fullmatch(code.strip()):
            items.append(f"{flag_label(code.strip())}: {readable(rest)}")
        elif sep and code.strip() in SOURCE_LABELS:
            items.append(f"{SOURCE_LABELS[code.strip()].capitalize()}: {readable(rest)}")
        elif part.strip():
            items.append(readable(part))
    return items


def postcode_text(postcode: object) -> str:
    """``3131AB`` as ``3131 AB``."""
    if postcode is None or (not isinstance(postcode, str) and pd.isna(postcode)):
        return ""
    value = str(postcode).replace(" ", "").upper()
    return f"{value[:4]} {value[4:]}" if len(value) == 6 else value


def house_number_text(
    huisnummer: object, huisletter: object = None, toevoeging: object = None
) -> str:
    """``12``, ``a``, ``2`` as ``12a-2``."""
    if huisnummer is None or (not isinstance(huisnummer, str) and pd.isna(huisnummer)):
        return ""
    text = str(int(huisnummer)) if not isinstance(huisnummer, str) else huisnummer
    if isinstance(huisletter, str) and huisletter.strip():
        text += huisletter.strip().lower()
    if isinstance(toevoeging, str) and toevoeging.strip():
        text += "-" + toevoeging.strip()
    return text


def format_address(
    straat: object, huisnummer: object, huisletter: object, toevoeging: object, postcode: object
) -> str:
    """One address as a reader writes it: ``Dorpsstraat 12a-2, 3131 AB``."""
    number = house_number_text(huisnummer, huisletter, toevoeging)
    street = straat if isinstance(straat, str) and straat.strip() else ""
    first = " ".join(p for p in (street, number) if p)
    pc = postcode_text(postcode)
    return ", ".join(p for p in (first, pc) if p) or "onbekend adres"


def address_from_key(key: object) -> str:
    """A normalised address key ``2992VR|12|a|2`` as ``2992 VR 12a-2`` (no street known)."""
    if key is None or (not isinstance(key, str) and pd.isna(key)) or not str(key).strip("|"):
        return "onbekend adres"
    postcode, number, letter, addition = (str(key).split("|") + ["", "", "", ""])[:4]
    number_text = house_number_text(number or None, letter, addition)
    return " ".join(p for p in (postcode_text(postcode), number_text) if p)


def addresses(frame: pd.DataFrame, bag: pd.DataFrame) -> pd.Series:
    """Readable addresses for the rows of ``frame`` (``adres_id`` and/or ``adres_sleutel``),
    with the street from the BAG where the address is known; indexed like ``frame``."""
    columns = ["straat", "huisnummer", "huisletter", "toevoeging", "postcode"]
    known = bag.drop_duplicates("adres_id").set_index("adres_id")[columns]
    ids = frame["adres_id"] if "adres_id" in frame else pd.Series(pd.NA, index=frame.index)
    found = known.reindex(ids.astype("string").to_numpy())
    texts = [
        format_address(*row) if isinstance(row[0], str) or pd.notna(row[1]) else None
        for row in found.itertuples(index=False, name=None)
    ]
    out = pd.Series(texts, index=frame.index, dtype=object)
    missing = out.isna()
    if missing.any():
        keys = (
            frame["adres_sleutel"]
            if "adres_sleutel" in frame
            else pd.Series(pd.NA, index=frame.index)
        )
        out[missing] = [address_from_key(k) for k in keys[missing]]
    return out


def labelled(values: Iterable[object], table: dict[str, str]) -> np.ndarray:
    """Each value's label from ``table`` (unknown values as they are)."""
    return np.array([table.get(v, v) if isinstance(v, str) else v for v in values], dtype=object)

"""Normalisation of company names, addresses and KvK numbers for entity resolution.

Every function here is vectorised over a :class:`pandas.Series` (scalar input is accepted
for convenience and returns a scalar) and never mutates its input.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "normalise_company_name",
    "normalise_kvk",
    "normalise_postcode",
    "split_huisnummer",
    "normalise_address",
    "parse_adres_sleutel",
    "address_key",
]

# Legal forms and the like, written after punctuation became spaces and case was folded.
_LEGAL_FORMS = (
    "besloten vennootschap met beperkte aansprakelijkheid",
    "besloten vennootschap",
    "naamloze vennootschap",
    "vennootschap onder firma",
    "commanditaire vennootschap",
    "eenmanszaak",
    "stichting",
    "holding",
    "b v",
    "bv",
    "n v",
    "nv",
    "v o f",
    "vof",
    "c v",
    "cv",
    "i o",  # "in oprichting"
    "in oprichting",
)
_FORMS = "|".join(
    re.escape(f).replace(r"\ ", " ") for f in sorted(_LEGAL_FORMS, key=len, reverse=True)
)
# Applied after punctuation became single spaces, so a literal space stands for any
# whitespace; without ``\s`` pandas hands these to pyarrow (RE2) instead of Python's ``re``.
_PREFIX_RE = rf"^(?:(?:{_FORMS}) +)+"
_SUFFIX_RE = rf"(?: +(?:{_FORMS}))+$"
# "X B.V. h.o.d.n. Y": X is the legal name that Kadaster and KvK use; keep it. Applied to
# folded (ASCII) text, where this class is exactly Python's ``\s``.
_WS = r"[ \t\n\r\f\v]"
_HODN_RE = rf"{_WS}*\b(?:h\.?{_WS}*o\.?{_WS}*d\.?{_WS}*n\.?|handelend onder de naam)(?:{_WS}|$).*$"

#: The characters Python's ``\s`` matches, spelled out so pyarrow (RE2) can run a pattern
#: with them: pandas falls back to Python's ``re`` per value for ``\s``.
_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)

_POSTCODE_RE = r"^[1-9][0-9]{3}[A-Z]{2}$"
_SEPARATORS = r"[\s\-/\.,_]+"


def _as_series(values) -> tuple[pd.Series, bool]:
    if isinstance(values, pd.Series):
        return values, False
    return pd.Series([values], dtype="object"), True


def _unwrap(result: pd.Series, scalar: bool):
    if not scalar:
        return result
    value = result.iloc[0]
    return None if pd.isna(value) else value


def _fold(text: pd.Series) -> pd.Series:
    """Remove diacritics and fold case (vectorised)."""
    return (
        text.astype("string")
        .str.normalize("NFKD")
        .str.encode("ascii", errors="ignore")
        .str.decode("ascii")
        .astype("string")
        .str.lower()
    )


def normalise_company_name(names):
    """Fold a company name to a matching key.

    Removes diacritics and case, turns ``&`` into ``en``, drops everything after
    ``h.o.d.n.`` (the legal name comes first), strips legal forms at the start or end
    (B.V., BV, B V, N.V., V.O.F., C.V., Holding, Stichting, Eenmanszaak, i.o.), replaces
    punctuation by spaces and collapses whitespace. ``"Café Één & Zn Holding B.V."`` becomes
    ``"cafe een en zn"``.

    Parameters
    ----------
    names : Series or str
        Company names; missing values stay missing.

    Returns
    -------
    Series of string dtype (or str / None for scalar input). A name that consists only of
    a legal form (e.g. ``"B.V."``) gives ``<NA>``.
    """
    series, scalar = _as_series(names)
    text = _fold(series)
    text = text.str.replace(_HODN_RE, "", regex=True)
    text = text.str.replace("&", " en ", regex=False).str.replace("+", " en ", regex=False)
    text = text.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    # Strip repeatedly: "jansen holding b v" needs two suffix passes per regex alternation.
    for _ in range(2):
        text = text.str.replace(_PREFIX_RE, "", regex=True).str.replace(_SUFFIX_RE, "", regex=True)
        text = text.str.strip()
    text = text.str.replace(" +", " ", regex=True)
    text = text.mask(text.fillna("").eq("") | text.isin(_LEGAL_FORMS))
    return _unwrap(text.rename(series.name), scalar)


def normalise_kvk(values):
    """KvK numbers as 8-character zero-padded strings; anything else becomes ``<NA>``.

    Accepts ints, floats read from Excel (``12345678.0``), strings with spaces or dots and
    the ``K-`` node prefix.
    """
    series, scalar = _as_series(values)
    text = series.astype("string").str.strip()
    text = text.str.replace(r"^[Kk]-", "", regex=True).str.replace(r"\.0+$", "", regex=True)
    digits = text.str.replace(f"[{_SPACE_CHARS}.]", "", regex=True)
    ok = digits.str.fullmatch(r"[0-9]{1,8}").fillna(False).astype(bool)
    out = digits.str.zfill(8).where(ok)
    return _unwrap(out.astype("string").rename(series.name), scalar)


def normalise_postcode(values):
    """Dutch postcodes as ``1234AB`` (upper case, no space); invalid ones become ``<NA>``."""
    series, scalar = _as_series(values)
    text = series.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    ok = text.str.fullmatch(_POSTCODE_RE).fillna(False).astype(bool)
    return _unwrap(text.where(ok).rename(series.name), scalar)


def _clean_addition(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.upper().str.replace(_SEPARATORS, "", regex=True)
    return text.fillna("")


def split_huisnummer(values: pd.Series) -> pd.DataFrame:
    """Split free house numbers into ``huisnummer`` (Int64), ``huisletter``, ``toevoeging``.

    ``"12a"``, ``"12 A"`` and ``"12-a"`` all give ``(12, "A", "")``; ``"12 bis"`` gives
    ``(12, "", "BIS")``; ``"12-1"`` gives ``(12, "", "1")``; ``"12 A 2"`` gives
    ``(12, "A", "2")``. A single letter directly after the number is the huisletter, the
    rest (separators removed, upper case) is the toevoeging.
    """
    text = pd.Series(values, copy=False).astype("string").str.upper().str.strip()
    text = text.str.replace(r"\.0+$", "", regex=True)  # 12.0 from Excel
    parts = text.str.extract(r"^(?P<nr>[0-9]+)[\s\-/\.,_]*(?P<rest>.*)$")
    rest = parts["rest"].fillna("")
    letter = rest.str.extract(r"^(?P<l>[A-Z])(?![A-Z])[\s\-/\.,_]*(?P<t>.*)$")
    huisletter = letter["l"].fillna("")
    toevoeging = letter["t"].where(letter["l"].notna(), rest)
    return pd.DataFrame(
        {
            "huisnummer": pd.to_numeric(parts["nr"], errors="coerce").astype("Int64"),
            "huisletter": huisletter.astype("string"),
            "toevoeging": _clean_addition(toevoeging),
        },
        index=text.index,
    )


def normalise_address(
    frame: pd.DataFrame,
    *,
    postcode: str = "postcode",
    huisnummer: str = "huisnummer",
    huisletter: str = "huisletter",
    toevoeging: str = "toevoeging",
) -> pd.DataFrame:
    """Normalise address columns to ``postcode``, ``huisnummer``, ``huisletter``, ``toevoeging``.

    The huisnummer column may hold free text such as ``"12a"`` or ``"12 bis"``; letters and
    additions found there are used when the separate columns are empty. A single-letter
    toevoeging without huisletter is read as huisletter (``12`` + ``"a"`` equals ``12a``).

    Returns
    -------
    DataFrame with the four normalised columns plus ``adres_sleutel``
    (``postcode|huisnummer|huisletter|toevoeging``, empty strings for missing parts), on the
    index of ``frame``.
    """

    def column(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name]
        return pd.Series(pd.NA, index=frame.index, dtype="string")

    split = split_huisnummer(column(huisnummer))
    letter = (
        column(huisletter).astype("string").str.upper().str.replace(_SEPARATORS, "", regex=True)
    )
    letter = letter.fillna("").where(letter.fillna("").ne(""), split["huisletter"])
    addition = _clean_addition(column(toevoeging))
    addition = addition.where(addition.ne(""), split["toevoeging"])
    # A single letter in the toevoeging field is the huisletter written in the wrong place.
    move = letter.eq("") & addition.str.fullmatch(r"[A-Z]").fillna(False)
    letter = letter.where(~move, addition)
    addition = addition.where(~move, "")
    out = pd.DataFrame(
        {
            "postcode": normalise_postcode(column(postcode)),
            "huisnummer": split["huisnummer"],
            "huisletter": letter.astype("string"),
            "toevoeging": addition.astype("string"),
        },
        index=frame.index,
    )
    out["adres_sleutel"] = address_key(out)
    return out


def address_key(frame: pd.DataFrame) -> pd.Series:
    """``postcode|huisnummer|huisletter|toevoeging`` of normalised columns; NA without pc+nr."""
    nr = frame["huisnummer"].astype("Int64").astype("string")
    key = (
        frame["postcode"].astype("string")
        + "|"
        + nr
        + "|"
        + frame["huisletter"].astype("string").fillna("")
        + "|"
        + frame["toevoeging"].astype("string").fillna("")
    )
    return key.where(frame["postcode"].notna() & frame["huisnummer"].notna()).astype("string")


#: A key exactly as :func:`address_key` writes it: splitting it gives the normalised parts
#: back (a lone letter in the toevoeging would move to the huisletter, so it is excluded).
_CANONICAL_KEY_RE = (
    r"[1-9][0-9]{3}[A-Z]{2}\|(?:0|[1-9][0-9]{0,5})\|"
    r"(?:[A-Z]\|[A-Z0-9]*|\|(?:[0-9]|[A-Z0-9]{2,})?)"
)


def parse_adres_sleutel(keys: pd.Series) -> pd.DataFrame:
    """Parse ``adres_sleutel`` values (``postcode|huisnummer|huisletter|toevoeging``) and
    re-normalise them, so keys written by other modules compare equal to ours.

    Each distinct key is parsed once; keys already in normal form are only split.
    """
    keys = pd.Series(keys, copy=False).astype("string")
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype="string")
    canonical = distinct.str.fullmatch(_CANONICAL_KEY_RE).fillna(False).astype(bool)

    ready = distinct[canonical]
    # pyarrow splits in C; every canonical key has exactly four parts
    split = pc.split_pattern(pa.array(ready.to_numpy(dtype=object), type=pa.string()), "|")
    part = [
        pd.Series(pc.list_element(split, i), index=ready.index, dtype="string") for i in range(4)
    ]
    ready = pd.DataFrame(
        {
            "postcode": part[0],
            "huisnummer": pd.to_numeric(part[1]).astype("Int64"),
            "huisletter": part[2],
            "toevoeging": part[3],
            "adres_sleutel": ready,
        }
    )

    other = distinct[~canonical]
    parts = other.str.split("|", expand=True, regex=False).reindex(columns=range(4))
    frame = pd.DataFrame(
        {
            "postcode": parts[0],
            "huisnummer": parts[1],
            "huisletter": parts[2],
            "toevoeging": parts[3],
        },
        index=other.index,
    ).replace({None: np.nan})
    parsed = pd.concat([ready, normalise_address(frame)]).sort_index()
    out = parsed.take(codes)
    out.index = keys.index
    return out

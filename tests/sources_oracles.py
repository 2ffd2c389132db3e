"""Reference parsers for the property tests, written from docs/data-dictionary.md.

They work cell by cell with :mod:`datetime` and :mod:`decimal` (the readers work on whole
columns with pandas), so a test that compares the two checks the readers against the
documented rules rather than against themselves. ``ERR`` means: the reader must report the
cell; ``None``: empty (or "no end date").
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

ERR = "ERR"
MIN_YEAR, OPEN_END_YEAR = 1800, 2100
_EXCEL_DAY0 = dt.date(1899, 12, 30)
_TIME = re.compile(r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$")


def date(text: str, *, open_end: bool = False):
    """A ``datetime.date``, None (empty, or an open end in an end-date column) or ERR."""
    t = _TIME.sub("", text.strip())
    if t == "":
        return None
    ymd = None
    if m := re.fullmatch(r"([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})", t):
        ymd = int(m[3]), int(m[2]), int(m[1])
    elif m := re.fullmatch(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})", t):
        ymd = int(m[1]), int(m[2]), int(m[3])
    elif re.fullmatch(r"[0-9]{8}", t):
        ymd = int(t[:4]), int(t[4:6]), int(t[6:])
    elif re.fullmatch(r"[0-9]{4,7}(\.0+)?", t):
        days = int(t.split(".")[0])
        if not 3000 <= days <= 2_958_465:
            return ERR
        value = _EXCEL_DAY0 + dt.timedelta(days=days)
        return _in_range(value, open_end)
    if ymd is None:
        return ERR
    try:
        value = dt.date(*ymd)
    except ValueError:
        return ERR
    if value.year < MIN_YEAR:
        return ERR
    return _in_range(value, open_end)


def _in_range(value: dt.date, open_end: bool):
    if value.year >= OPEN_END_YEAR:
        return None if open_end else ERR
    return value


def number(text: str):
    """A float, None (empty) or ERR."""
    t = text.strip()
    if t == "":
        return None
    t = re.sub(r"\s", "", t)
    signed = t[:1] in ("+", "-")
    head, body = (t[:1], t[1:]) if signed else ("", t)
    for token in ("€", "euro", "eur"):
        if body.lower().startswith(token):
            body = body[len(token) :]
            break
    t = head + body
    for token in ("€", "euro", "eur"):
        if t.lower().endswith(token):
            t = t[: -len(token)]
            break
    sign = 1
    if len(t) >= 2 and t[0] in "+-" and t[1] not in "+-":
        sign, t = (-1 if t[0] == "-" else 1), t[1:]
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?|[0-9]+,[0-9]*", t):
        digits = t.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"[0-9]{1,3}(,[0-9]{3}){2,}(\.[0-9]*)?|[0-9]{1,3}(,[0-9]{3})+\.[0-9]*", t):
        digits = t.replace(",", "")
    elif re.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+", t):
        digits = t
    else:
        return ERR
    value = Decimal(digits.rstrip(".") or "0")
    if abs(value) >= Decimal(10) ** 15:
        return ERR
    return sign * float(value)


def integer(text: str):
    value = number(text)
    if value in (None, ERR):
        return value
    return int(value) if value == int(value) else ERR


def digits(text: str, width: int):
    """Identifier of ``width`` digits (zero-padded), None or ERR."""
    t = text.strip()
    if t == "":
        return None
    if not re.fullmatch(f"[0-9]{{{width}}}", t):
        t = re.sub(r"[\s.\-]", "", re.sub(r"\.0+$", "", t))
    if not re.fullmatch(f"[0-9]{{1,{width}}}", t):
        return ERR
    return t.zfill(width)


def postcode(text: str):
    t = re.sub(r"[\s\-]", "", text.strip().upper())
    if t == "":
        return None
    return t if re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", t) else ERR


def boolean(text: str):
    t = text.strip().lower()
    if t == "":
        return None
    if t in {"ja", "j", "true", "waar", "yes", "y", "1", "x", "wel"}:
        return True
    if t in {"nee", "n", "false", "onwaar", "no", "0", "niet", "geen"}:
        return False
    return ERR


def sbi(text: str):
    t = re.sub(r"[.\s]", "", re.sub(r"^([0-9]+)\.0$", r"\1", text.strip()))
    if t == "":
        return ERR  # required
    return t if re.fullmatch(r"[0-9]{2,5}", t) else ERR

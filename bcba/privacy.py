"""Pseudonymisation of natural persons (keyed HMAC-SHA256).

This is the minimal core used at ingest; key management, re-identification and text
masking live here too (see docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata


def normalise_person_name(name: str) -> str:
    """Fold a person's name for matching: accents, case, punctuation and spacing removed."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def pseudonym(key: bytes, name: str, birth_date: str | None = None, *, prefix: str = "P") -> str:
    """A stable keyed pseudonym for a natural person, e.g. ``P-3fa9c2d1e07b``.

    The same key, normalised name and birth date (ISO ``YYYY-MM-DD`` or empty) always give
    the same pseudonym; a different key gives an unlinkable one.
    """
    message = f"{normalise_person_name(name)}|{birth_date or ''}".encode()
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:12]}"


MASK = "[persoon]"


def mask_names(texts, names, *, mask: str = MASK):
    """Replace every known person name in free texts by ``[persoon]``.

    Matching ignores case and accents and also masks the surname alone when it is at least
    four letters long, because staff often write "meneer Jansen". Returns a list of str.
    """
    folded_names = set()
    for name in names:
        norm = normalise_person_name(name)
        if not norm:
            continue
        folded_names.add(norm)
        parts = norm.split()
        if len(parts) > 1 and len(parts[-1]) >= 4:
            folded_names.add(parts[-1])
    out = []
    pattern = None
    if folded_names:
        alternation = "|".join(
            re.escape(n).replace(r"\ ", r"[\W_]+") for n in sorted(folded_names, key=len, reverse=True)
        )
        pattern = re.compile(rf"(?<![\w])(?:{alternation})(?![\w])", re.IGNORECASE)
    for text in texts:
        if text is None or (isinstance(text, float) and text != text):
            out.append(text)
            continue
        raw = str(text)
        if pattern is None:
            out.append(raw)
            continue
        # match on an accent-folded copy of equal length, then cut the same spans from the original
        folded = "".join(
            (unicodedata.normalize("NFKD", c)[0] if unicodedata.normalize("NFKD", c) else c)
            for c in raw
        )
        pieces, last = [], 0
        for m in pattern.finditer(folded):
            pieces.append(raw[last : m.start()])
            pieces.append(mask)
            last = m.end()
        pieces.append(raw[last:])
        out.append("".join(pieces))
    return out

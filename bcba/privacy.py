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

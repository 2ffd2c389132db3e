"""Pseudonymisation of natural persons (keyed HMAC-SHA256).

This is the minimal core used at ingest; key management, re-identification and text
masking live here too (see docs/privacy.md).
"""

from __future__ import annotations

import codecs
import functools
import hmac
import itertools
import re
import threading
import unicodedata


def _decompose(text: str) -> str:
    """The one normalisation behind names, masking and the leak check (first steps).

    Compatibility decomposition (NFKD: so NFC, NFD, NFKC and NFKD forms of a text give the
    same result, and a ligature "ﬁ" gives "fi"), then every mark (accents, in decomposed
    or composed input alike) and every invisible format character (soft hyphen,
    zero-width space, direction marks) dropped, then lower case.
    """
    text = unicodedata.normalize("NFKD", text)
    if not text.isascii():
        text = "".join(c for c in text if unicodedata.category(c) not in _DROPPED)
    return text.lower()


#: Unicode categories dropped by the fold: marks (Mn, Mc, Me) and format characters (Cf)
_DROPPED = frozenset({"Mn", "Mc", "Me", "Cf"})
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=500_000)  # names repeat across pseudonymisation and masking
def normalise_person_name(name: str) -> str:
    """Fold a person's name for matching: accents, case, punctuation and spacing removed.

    "Agnes Öztürk" gives ``"agnes ozturk"`` whether the Ö is one character (NFC) or an O
    followed by a combining diaeresis (NFD, as macOS writes it). This is the reference
    form: pseudonyms are made from it, and :func:`fold_text` folds free text to the same
    words (see docs/privacy.md).
    """
    return _SEPARATORS.sub(" ", _decompose(str(name))).strip()


def pseudonym(key: bytes, name: str, birth_date: str | None = None, *, prefix: str = "P") -> str:
    """A stable keyed pseudonym for a natural person, e.g. ``P-3fa9c2d1e07b``.

    The same key, normalised name and birth date (ISO ``YYYY-MM-DD`` or empty) always give
    the same pseudonym; a different key gives an unlinkable one.
    """
    message = f"{normalise_person_name(name)}|{birth_date or ''}".encode()
    digest = hmac.digest(key, message, "sha256").hex()  # one-shot C call: same bytes as hmac.new
    return f"{prefix}-{digest[:12]}"


MASK = "[persoon]"


def _name_forms(names) -> tuple[frozenset[str], int]:
    """Normalised full names (and surnames of >= 4 letters) to mask, and the longest in words."""
    return _name_forms_cached(frozenset(str(n) for n in names))


@functools.lru_cache(maxsize=4)  # ingest masks survey and partner texts with the same names
def _name_forms_cached(names: frozenset[str]) -> tuple[frozenset[str], int]:
    forms = set()
    for name in names:
        norm = normalise_person_name(name)
        if not norm:
            continue
        forms.add(norm)
        parts = norm.split()
        if len(parts) > 1 and len(parts[-1]) >= 4:
            forms.add(parts[-1])
    longest = max((len(f.split()) for f in forms), default=0)
    return frozenset(forms), longest


_WORD = re.compile(r"[a-z0-9]+")


def _fold_char(c: str) -> str:
    """The fold of one character: :func:`normalise_person_name`'s normalisation of it alone,
    with a separator kept as one space.

    Mostly one character (``"Ö"`` -> ``"o"``, ``"-"`` -> ``" "``); ``""`` for a mark or an
    invisible format character, which so joins its neighbours (an O followed by a combining
    diaeresis folds like Ö); several for a ligature or fraction (``"ﬁ"`` -> ``"fi"``).
    The normalisation works character by character (a decomposition never depends on the
    neighbours, and what is reordered is dropped), so folding a text character by character
    gives the words of :func:`normalise_person_name` of the whole text.
    """
    return _SEPARATORS.sub(" ", _decompose(c))


#: byte -> folded byte for ASCII text: letters lower-cased, digits kept, the rest a space
_ASCII_FOLD = bytes(ord(_fold_char(chr(b))) if b < 128 else ord(" ") for b in range(256))
#: code point -> folded ASCII byte, filled per distinct character on first sight (0 = unknown;
#: a fold is never NUL; :data:`_OTHER` = not one character, see :data:`_OTHER_FOLDS`). One
#: byte per code point: 1.1 MB, allocated on first non-ASCII text.
_FOLD_LUT = None
_OTHER = 1
#: code point -> its fold, for the characters that do not fold to one character
_OTHER_FOLDS: dict[int, str] = {}
_FOLD_LOCK = threading.Lock()


class _CharFolds(dict):
    """Code point -> fold, for ``str.translate``; a character is folded on first sight."""

    def __missing__(self, code: int) -> str:
        fold = self[code] = _fold_char(chr(code))
        return fold


_CHAR_FOLDS = _CharFolds()
#: texts up to this many characters are folded by ``str.translate`` (no numpy set-up)
_SHORT = 512
_CHUNK = 1 << 22  # characters per vectorised step: bounds memory on multi-megabyte texts


def _fold_codes(codes):
    """Folded bytes (a uint8 array, :data:`_OTHER` where not one character) of ``codes`` (a
    uint32 array of code points)."""
    import numpy as np

    global _FOLD_LUT
    with _FOLD_LOCK:  # leak scans fold in threads; the table is made once
        if _FOLD_LUT is None:
            table = np.zeros(0x110000, dtype=np.uint8)
            table[:128] = np.frombuffer(_ASCII_FOLD[:128], dtype=np.uint8)
            _FOLD_LUT = table
    lut = _FOLD_LUT
    folded = lut[codes]
    unknown = codes[folded == 0]
    if unknown.size:
        for code in np.unique(unknown).tolist():
            fold = _fold_char(chr(code))
            if len(fold) == 1:
                lut[code] = ord(fold)  # the same value whichever thread writes
            else:
                _OTHER_FOLDS[code] = fold  # before the table says to look here
                lut[code] = _OTHER
        folded = lut[codes]
    return folded


def _fold_array(text: str):
    """One folded byte per character of ``text``: a uint8 array, where :data:`_OTHER`
    marks a character whose fold is not one character, or the fold as bytes when there is
    no such character.

    ASCII characters are folded with one ``bytes.translate``; other characters through a
    table indexed by code point, so ``unicodedata`` runs once per distinct character
    instead of once per character (leak scans fold many megabytes, mostly ASCII with a few
    accented names).
    """
    import numpy as np

    raw = text.encode("ascii", "replace")  # one "?" per other character: offsets kept
    marks = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == ord("?"))
    if len(marks) > len(text) // 16:  # not mostly ASCII: every character by code point
        return _fold_by_code_point(text)
    folded = np.frombuffer(raw.translate(_ASCII_FOLD), dtype=np.uint8).copy()
    others = "".join([text[i] for i in marks.tolist()])  # also the real "?": folded alike
    folded_others = _fold_by_code_point(others)
    folded[marks] = folded_others
    if not (folded_others == _OTHER).any():  # the usual case, decided on the few others
        return folded.tobytes()
    return folded


def _fold_by_code_point(text: str):
    import numpy as np

    pieces = []
    for start in range(0, len(text), _CHUNK):
        # surrogatepass: a lone surrogate is a code point like any other (folds to a space)
        raw = text[start : start + _CHUNK].encode("utf-32-le", "surrogatepass")
        pieces.append(_fold_codes(np.frombuffer(raw, dtype=np.uint32)))
    return np.concatenate(pieces) if len(pieces) != 1 else pieces[0]


class FoldedText:
    """A text folded for matching, and the way back from folded offsets to the original.

    Attributes
    ----------
    text
        The fold: only ``[a-z0-9 ]``; its words are the words of
        :func:`normalise_person_name` of the original.
    original
        The text that was folded.

    Most characters fold to one character, so a folded offset is the original offset;
    only the few that fold to none (decomposed accents) or several (ligatures) shift the
    rest, and :meth:`span` accounts for them.
    """

    __slots__ = ("_at", "_folded_at", "_length", "_shift", "original", "text")

    def __init__(self, original: str, folded) -> None:
        """``folded``: :func:`_fold_array` of ``original``."""
        import numpy as np

        self.original = original
        if isinstance(folded, bytes):
            self.text, self._at = folded.decode("ascii"), None
            return
        other = np.flatnonzero(folded == _OTHER)
        if not other.size:
            self.text, self._at = folded.tobytes().decode("ascii"), None
            return
        pieces = [_OTHER_FOLDS[ord(original[i])] for i in other.tolist()]
        raw, out, done = folded.tobytes(), [], 0
        for i, piece in zip(other.tolist(), pieces, strict=True):
            out += [raw[done:i].decode("ascii"), piece]
            done = i + 1
        out.append(raw[done:].decode("ascii"))
        self.text = "".join(out)
        # offsets: the characters at ``_at`` (original) start at ``_folded_at`` (folded);
        # after the k-th of them, folded = original + _shift[k]
        lengths = np.array([len(p) for p in pieces], dtype=np.int64)
        self._at, self._length = other, lengths
        self._shift = np.cumsum(lengths - 1)
        self._folded_at = other + np.r_[0, self._shift[:-1]]

    @property
    def shifts(self) -> bool:
        """Whether some character folds to none or several (folded offsets then differ)."""
        return self._at is not None

    def _original(self, offset: int) -> int:
        """The original offset of the character that folded offset ``offset`` comes from."""
        import numpy as np

        k = int(np.searchsorted(self._folded_at, offset, side="right")) - 1
        if k < 0:
            return offset
        if offset < self._folded_at[k] + self._length[k]:
            return int(self._at[k])  # inside the fold of a ligature
        return int(offset - self._shift[k])

    def span(self, begin: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[begin, end)`` (``end > begin``): from
        its first character to its last, with the marks that follow the last (an accent
        written after its letter belongs to the name)."""
        if self._at is None:
            return begin, end
        first = self._original(begin)
        after = self._original(end - 1) + 1
        text = self.original
        while after < len(text) and _fold_is_empty(text[after]):
            after += 1
        return first, after

    def folded_offsets(self, offsets):
        """Folded offsets of original ``offsets`` (ascending ints): where the fold of the
        character at each offset starts."""
        import numpy as np

        offsets = np.asarray(offsets, dtype=np.int64)
        if self._at is None:
            return offsets
        k = np.searchsorted(self._at, offsets, side="left") - 1  # specials strictly before
        return offsets + np.where(k >= 0, self._shift[np.maximum(k, 0)], 0)


def _fold_is_empty(c: str) -> bool:
    return ord(c) in _OTHER_FOLDS and not _OTHER_FOLDS[ord(c)]


def fold(text: str) -> FoldedText:
    """Fold ``text`` for matching names, keeping the way back to its offsets.

    Every character is folded as :func:`normalise_person_name` folds it (accents and
    other marks off, in composed and decomposed form alike, lower case, punctuation a
    space), so the words of ``fold(text).text`` are the words of
    ``normalise_person_name(text)``.
    """
    if text.isascii():
        return FoldedText(text, text.encode("ascii").translate(_ASCII_FOLD))
    return FoldedText(text, _fold_array(text))


def fold_text(text: str) -> str:
    """The fold of ``text`` (see :func:`fold`) without the way back to its offsets.

    One character per character of ``text``, except for the characters that fold to none
    or several (decomposed accents, ligatures): use :func:`fold` for offsets.
    """
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    if len(text) <= _SHORT:  # a cell or a sentence: a dict lookup per character is quicker
        return text.translate(_CHAR_FOLDS)
    return FoldedText(text, _fold_array(text)).text


def fold_utf8(data: bytes) -> bytes | None:
    """:func:`fold_text` of the text that UTF-8 ``data`` holds (as ASCII bytes), made
    without decoding the text: ASCII bytes are folded by one ``bytes.translate`` and only
    the few runs of other bytes are decoded. ``None`` when ``data`` is not UTF-8 or mostly
    not ASCII.
    """
    import numpy as np

    data = data.removeprefix(codecs.BOM_UTF8)
    folded = data.translate(_ASCII_FOLD)
    high = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80)
    if not high.size:
        return folded
    if high.size > len(data) // 16:
        return None
    # runs of non-ASCII bytes: whole characters, as UTF-8 never puts an ASCII byte in one
    breaks = np.flatnonzero(np.diff(high) > 1) + 1
    starts = high[np.r_[0, breaks]].tolist()
    ends = (high[np.r_[breaks - 1, -1]] + 1).tolist()
    try:
        others = [data[start:end].decode("utf-8") for start, end in zip(starts, ends, strict=True)]
    except UnicodeDecodeError:
        return None
    joined = "".join(others)  # folded in one call for all runs
    folded_others = FoldedText(joined, _fold_by_code_point(joined))
    text = folded_others.text.encode("ascii")
    if folded_others.shifts:  # a run may fold to more or fewer characters than it has
        bounds = np.cumsum([0, *map(len, others)])
        at = folded_others.folded_offsets(bounds[:-1]).tolist() + [len(text)]
    else:
        at = list(itertools.accumulate(map(len, others), initial=0))
    pieces, done = [], 0
    for k, (start, end) in enumerate(zip(starts, ends, strict=True)):
        pieces += [folded[done:start], text[at[k] : at[k + 1]]]
        done = end
    pieces.append(folded[done:])
    return b"".join(pieces)


def mask_names(texts, names, *, mask: str = MASK):
    """Replace every known person name in free texts by ``[persoon]``.

    Matching ignores case, accents (composed or decomposed) and punctuation between the
    words of a name, and also masks the surname alone when it is at least four letters
    long, because staff often write "meneer Jansen". Word n-grams are looked up in a set,
    so the cost grows with the length of the texts, not with the number of names. Returns
    a list (None/NaN are passed through); text outside the masks is kept as it was.
    """
    forms, longest = _name_forms(names)
    firsts = frozenset(f.split(" ", 1)[0] for f in forms)  # a form starts with one of these
    out = []
    for text in texts:
        if text is None or (isinstance(text, float) and text != text):
            out.append(text)
            continue
        raw = str(text)
        if not forms or firsts.isdisjoint(fold_text(raw).split()):
            out.append(raw)
            continue
        folded = fold(raw)
        words = list(_WORD.finditer(folded.text))
        spans = []
        i = 0
        while i < len(words):
            hit = 0
            if words[i].group() in firsts:
                for n in range(min(longest, len(words) - i), 0, -1):
                    if " ".join(w.group() for w in words[i : i + n]) in forms:
                        hit = n
                        break
            if hit:
                spans.append(folded.span(words[i].start(), words[i + hit - 1].end()))
                i += hit
            else:
                i += 1
        pieces, last = [], 0
        for begin, finish in spans:
            pieces.append(raw[last:begin])
            pieces.append(mask)
            last = finish
        pieces.append(raw[last:])
        out.append("".join(pieces))
    return out


# --------------------------------------------------------------------------- output columns

#: Column names that hold a natural person's identity and never appear in any output.
FORBIDDEN_COLUMNS: frozenset[str] = frozenset(
    {
        "naam",
        "namen",
        "voornaam",
        "voornamen",
        "voorletters",
        "achternaam",
        "tussenvoegsel",
        "geslachtsnaam",
        "volledige_naam",
        "persoon_naam",
        "functionaris_naam",
        "naam_functionaris",
        "geboortedatum",
        "geboortedata",
        "geboorteplaats",
        "persoon_geboortedatum",
        "bsn",
        "burgerservicenummer",
        "telefoonnummer",
        "email",
        "e_mail",
        "emailadres",
    }
)
#: Name columns that are allowed only for legal entities: column -> its type column.
CONDITIONAL_NAME_COLUMNS: dict[str, str] = {
    "koper_naam": "koper_type",
    "verkoper_naam": "verkoper_type",
}
NATURAL_PERSON = "natuurlijk_persoon"


def _fold_column(name: object) -> str:
    """Column key without case, accents or separators: "Geboorte datum" -> "geboortedatum"."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "", text)


_FORBIDDEN_KEYS = frozenset(_fold_column(c) for c in FORBIDDEN_COLUMNS)
_CONDITIONAL_KEYS = {_fold_column(k): _fold_column(v) for k, v in CONDITIONAL_NAME_COLUMNS.items()}


def is_natural_person_column(name: object) -> bool:
    """True when a column name stands for a natural person's identifying data.

    Recognises the forbidden names in :data:`FORBIDDEN_COLUMNS` regardless of case, accents
    or separators (``"Geboorte datum"``, ``"NAAM"``), plus the conditional
    ``koper_naam``/``verkoper_naam`` (which may hold a natural person's name).
    """
    folded = _fold_column(name)
    return folded in _FORBIDDEN_KEYS or folded in _CONDITIONAL_KEYS


def forbidden_output_columns(frame) -> list[str]:
    """The columns of ``frame`` that may not be written to any output.

    ``koper_naam``/``verkoper_naam`` are forbidden only when a row with a non-empty name has
    type ``natuurlijk_persoon`` (or when the type column is missing).
    """
    bad: list[str] = []
    folded = {_fold_column(c): c for c in frame.columns}
    for col in frame.columns:
        key = _fold_column(col)
        if key in _FORBIDDEN_KEYS:
            bad.append(str(col))
        elif key in _CONDITIONAL_KEYS:
            type_col = folded.get(_CONDITIONAL_KEYS[key])
            names = frame[col]
            filled = names.notna() & (names.astype("string").str.strip() != "")
            if type_col is None:
                if filled.any():
                    bad.append(str(col))
                continue
            natural = frame[type_col].astype("string").str.strip().str.lower() == NATURAL_PERSON
            if (filled & natural.fillna(False)).any():
                bad.append(str(col))
    return bad


def check_output_columns(frame, *, context: str = "uitvoer") -> None:
    """Raise :class:`~bcba.errors.PrivacyError` when ``frame`` carries personal columns."""
    from bcba.errors import PrivacyError

    bad = forbidden_output_columns(frame)
    if bad:
        raise PrivacyError(
            f"{context} bevat persoonsgegevens in kolom(men) {', '.join(bad)}; "
            "deze mogen niet worden weggeschreven. Gebruik persoon_id (pseudoniem)."
        )


# --------------------------------------------------------------------------- report ids

_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_report_id(gemeente: str, date=None) -> str:
    """A unique report id such as ``GM0489-20261128-7F3K9Q`` (30 random bits).

    Parameters
    ----------
    gemeente
        Municipality code ``GMxxxx``.
    date
        ``datetime.date`` (or ISO string) of the report; default today.
    """
    import datetime as dt
    import secrets

    from bcba.errors import ConfigError

    code = str(gemeente).strip().upper()
    if not re.fullmatch(r"GM\d{4}", code):
        raise ConfigError(f"gemeente moet de vorm GMxxxx hebben, niet {gemeente!r}")
    if date is None:
        date = dt.date.today()
    elif isinstance(date, str):
        date = dt.date.fromisoformat(date)
    suffix = "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))
    return f"{code}-{date:%Y%m%d}-{suffix}"


# --------------------------------------------------------------------------- re-identification

HERLEID_COLUMNS = ["persoon_id", "naam", "geboortedatum", "bron_bestand", "bron_rij"]


def herleid(pseudonyms, candidates_file, *, key: bytes, reason: str, audit_log=None):
    """Re-identify pseudonyms against a raw file of names and birth dates.

    The pseudonyms of every person in ``candidates_file`` (e.g. the raw
    ``kvk_functionarissen`` extract: columns naam and geboortedatum, or a Kadaster extract
    with koper_naam/verkoper_naam) are recomputed with ``key``; the rows whose pseudonym is
    asked for are returned. An audit entry records the reason, the pseudonyms asked, the
    number found and the file's sha256, never the names.

    Parameters
    ----------
    pseudonyms
        Iterable of ``P-…`` pseudonyms.
    candidates_file
        CSV or XLSX with at least a name column.
    key
        The key the pseudonyms were made with.
    reason
        Why re-identification is needed (required; recorded in the audit log).
    audit_log
        Audit log path; default :func:`bcba.audit.default_log_path`.

    Returns
    -------
    pandas.DataFrame
        Columns ``persoon_id, naam, geboortedatum, bron_bestand, bron_rij``; one row per
        matching record (a person appearing in several rows appears several times).

    Raises
    ------
    PrivacyError
        Empty reason, no key, or unreadable/unsuitable file.
    """
    from pathlib import Path

    import pandas as pd

    from bcba import audit
    from bcba.errors import InputValidationError, PrivacyError
    from bcba.sources import _read

    if not isinstance(reason, str) or not reason.strip():
        raise PrivacyError(
            "Herleiden mag alleen met een reden (bijvoorbeeld het zaaknummer of het verzoek "
            "van de burgemeester); geef een reden op."
        )
    if not key:
        raise PrivacyError(
            "Herleiden kan niet zonder de sleutel waarmee de pseudoniemen zijn gemaakt."
        )
    wanted = {str(p).strip() for p in pseudonyms if str(p).strip()}
    if not wanted:
        raise PrivacyError("Geef ten minste één pseudoniem (P-…) op om te herleiden.")
    path = Path(candidates_file)
    problems = _read.Problems()
    table = _read.read_table(path, problems=problems)
    if table is None:
        raise InputValidationError(problems.items)
    frame, _ = _read.match_columns(
        table.frame,
        ["naam", "geboortedatum", "koper_naam", "koper_type", "verkoper_naam", "verkoper_type"],
        file=path.name,
        sheet=table.sheet,
        problems=problems,
    )
    if problems.items:
        raise InputValidationError(problems.items)

    parts = []
    if "naam" in frame.columns:
        if "geboortedatum" in frame.columns:
            dates, _bad = _read.parse_date(frame["geboortedatum"])
            iso = dates.dt.strftime("%Y-%m-%d").astype("string").fillna("")
        else:
            iso = pd.Series("", index=frame.index, dtype="string")
        parts.append(
            pd.DataFrame(
                {
                    "naam": _read.as_text(frame["naam"]),
                    "geboortedatum": iso,
                    "bron_rij": frame["bron_rij"],
                }
            )
        )
    for role in ("koper", "verkoper"):
        col = f"{role}_naam"
        if col not in frame.columns:
            continue
        keep = pd.Series(True, index=frame.index)
        if f"{role}_type" in frame.columns:
            keep = _read.as_text(frame[f"{role}_type"]).str.lower() == NATURAL_PERSON
        sub = frame[keep]
        parts.append(
            pd.DataFrame(
                {"naam": _read.as_text(sub[col]), "geboortedatum": "", "bron_rij": sub["bron_rij"]}
            )
        )
    if not parts:
        raise PrivacyError(
            f"{path.name} heeft geen kolom met namen (naam, koper_naam of verkoper_naam); "
            "kies het ruwe bronbestand waaruit de pseudoniemen zijn gemaakt."
        )
    people = pd.concat(parts, ignore_index=True)
    people = people[people["naam"] != ""]
    names = people["naam"].tolist()
    dates = people["geboortedatum"].tolist()
    # a pseudonym may have been made with or without birth date: try both
    with_date = [pseudonym(key, n, d or None) for n, d in zip(names, dates, strict=True)]
    without = [pseudonym(key, n, None) for n in names]
    people = people.assign(_p1=with_date, _p2=without)
    hit1 = people[people["_p1"].isin(wanted)].assign(persoon_id=lambda d: d["_p1"])
    hit2 = people[people["_p2"].isin(wanted) & (people["_p2"] != people["_p1"])].assign(
        persoon_id=lambda d: d["_p2"]
    )
    result = (
        pd.concat([hit1, hit2])
        .assign(bron_bestand=path.name)
        .sort_values(["persoon_id", "bron_rij"], kind="stable")
        .reset_index(drop=True)[HERLEID_COLUMNS]
    )
    found = sorted(set(result["persoon_id"]))
    from bcba.keys import key_fingerprint

    audit.record(
        "herleid",
        parameters={
            "reden": reason.strip(),
            "pseudoniemen": sorted(wanted),
            "gevonden": found,
            "aantal_gevraagd": len(wanted),
            "aantal_gevonden": len(found),
            "sleutel_vingerafdruk": key_fingerprint(key),
        },
        inputs=[path],
        path=audit_log,
    )
    return result

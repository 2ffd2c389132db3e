"""Search outputs for names and birth dates of natural persons before anything leaves.

:func:`scan_outputs` reads HTML, PDF (text via pypdf), CSV/TSV, JSON/GeoJSON, notebooks,
logs and other text files, GeoPackages (every text value of every table, via sqlite),
(Geo)Parquet (every string column) and Excel workbooks, and reports every place where one
of the given names or birth dates occurs.

Names are matched case- and accent-insensitively on word boundaries, as the full name and
as "first name + surname" (middle names dropped, with or without tussenvoegsel). A
surname alone is *not* searched: common surnames ("Bakker") also occur as street, company
or theme names and would drown the real hits. Birth dates are searched as
``dd-mm-jjjj``, ``d-m-jjjj`` and ``jjjj-mm-dd`` (separators ``-``, ``/`` or ``.``).

Images (PNG/JPEG map tiles, screenshots) cannot be searched; see docs/privacy.md.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bcba.errors import PrivacyError
from bcba.privacy import fold_text, normalise_person_name

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset(
    {
        ".html",
        ".htm",
        ".csv",
        ".tsv",
        ".txt",
        ".log",
        ".md",
        ".json",
        ".geojson",
        ".ipynb",
        ".xml",
        ".svg",
        ".js",
        ".css",
        ".yaml",
        ".yml",
        ".tex",
        ".jsonl",
    }
)
BINARY_SKIP = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf"}
)
_PARTICLES = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "ter",
        "ten",
        "te",
        "het",
        "t",
        "in",
        "op",
        "la",
        "le",
        "du",
        "da",
        "di",
        "von",
        "vd",
    }
)


@dataclass(frozen=True)
class Hit:
    """One occurrence of a person's name or birth date in an output.

    ``waarde`` is the matched text itself; :meth:`__str__` masks it so a hit can be logged
    without repeating the leak.
    """

    pad: Path
    soort: str  # "naam" or "geboortedatum"
    locatie: str  # "regel 12", "pagina 2", "tabel kvk kolom naam"
    waarde: str
    index: int  # position of the person in the names / birth_dates given

    def __str__(self) -> str:
        masked = self.waarde[:1] + "…" if self.waarde else "…"
        return (
            f"{self.pad} ({self.locatie}): {self.soort} nr. {self.index + 1} gevonden ('{masked}')"
        )


# --------------------------------------------------------------------------- patterns


def name_variants(name: str) -> set[str]:
    """Folded search forms of a name: full, and first name + (tussenvoegsel) surname."""
    tokens = normalise_person_name(name).split()
    if not tokens:
        return set()
    variants = {" ".join(tokens)}
    if len(tokens) >= 3:
        # the surname group: last token plus the particles right before it
        i = len(tokens) - 1
        while i - 1 > 0 and tokens[i - 1] in _PARTICLES:
            i -= 1
        variants.add(" ".join([tokens[0], *tokens[i:]]))
        variants.add(" ".join([tokens[0], tokens[-1]]))
    # a one-word "name" is too ambiguous to search on its own unless it is long
    return {v for v in variants if " " in v or len(v) >= 8}


def _iso_date(value) -> str | None:
    """ISO form of a birth date given as date, ISO text or dd-mm-jjjj text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _parse_date_text(str(value).strip()[:10])


_DATE = re.compile(r"(?<![0-9])(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})(?![0-9])")


def _parse_date_text(text: str) -> str | None:
    m = _DATE.fullmatch(text)
    if not m:
        return None
    a, b, c = m.groups()
    if len(a) == 4 and len(c) <= 2:
        y, mo, d = int(a), int(b), int(c)
    elif len(c) == 4 and len(a) <= 2:
        y, mo, d = int(c), int(b), int(a)
    else:
        return None
    try:
        return dt.date(y, mo, d).isoformat()
    except ValueError:
        return None


class _Matcher:
    """Word n-gram lookup (fast on multi-megabyte HTML maps) plus a generic date pattern."""

    def __init__(self, names: Iterable[str], birth_dates: Iterable) -> None:
        self.name_of: dict[str, int] = {}
        for i, name in enumerate(names):
            for v in name_variants(str(name)):
                self.name_of.setdefault(v, i)
        self.lengths = sorted({v.count(" ") + 1 for v in self.name_of})
        self.first_words = {v.split(" ", 1)[0] for v in self.name_of}
        self.date_of: dict[str, int] = {}
        for i, value in enumerate(birth_dates):
            iso = _iso_date(value)
            if iso is None:
                log.warning("geboortedatum nr. %d niet herkend; deze wordt niet gezocht", i + 1)
                continue
            self.date_of.setdefault(iso, i)
        # every written form of every date, so the scan is a dict lookup per date-like match
        self.date_forms: dict[str, int] = {}
        for iso, i in self.date_of.items():
            y, mo, d = iso.split("-")
            for sep in "-/.":
                for form in (
                    f"{d}{sep}{mo}{sep}{y}",
                    f"{int(d)}{sep}{int(mo)}{sep}{y}",
                    f"{y}{sep}{mo}{sep}{d}",
                ):
                    self.date_forms.setdefault(form, i)

    def scan(self, text: str, path: Path, where) -> Iterator[Hit]:
        """Yield hits in ``text``; ``where(text, offset)`` turns an offset into a location."""
        if self.name_of:
            folded = fold_text(text)
            tokens = folded.split()  # folded text has only [a-z0-9 ], so split() == words
            found = []
            first = self.first_words
            present = first.intersection(tokens)
            for i in [k for k, t in enumerate(tokens) if t in present] if present else []:
                for n in self.lengths:
                    if i + n > len(tokens):
                        break
                    idx = self.name_of.get(" ".join(tokens[i : i + n]))
                    if idx is not None:
                        found.append((i, n, idx))
            if found:  # character offsets only when needed: hits are rare
                spans = [m.span() for m in re.finditer(r"[a-z0-9]+", folded)]
                for i, n, idx in found:
                    start, end = spans[i][0], spans[i + n - 1][1]
                    yield Hit(path, "naam", where(text, start), text[start:end], idx)
        if self.date_of:
            for m in _DATE.finditer(text):
                idx = self.date_forms.get(m.group())
                if idx is not None:
                    yield Hit(path, "geboortedatum", where(text, m.start()), m.group(), idx)


# --------------------------------------------------------------------------- extraction


def _line_of(text: str, offset: int) -> str:
    return f"regel {text.count(chr(10), 0, offset) + 1}"


_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_TAG = re.compile(r"<[^>]*>", re.DOTALL)


def _text_variants(text: str, suffix: str) -> list[str]:
    """The raw text plus decoded forms in which an encoded name becomes visible."""
    out = [text]
    if "\\u" in text:
        out.append(_JS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    if "&" in text:
        out.append(html.unescape(text))
    if suffix in (".html", ".htm", ".svg", ".xml") and "<" in text:
        # tags become blanks of equal shape so "Jan <b>de Vries</b>" is found, lines kept
        stripped = _TAG.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), html.unescape(text))
        out.append(re.sub(r" {2,}", " ", stripped))
    return out


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _scan_text_file(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    text = _read_text(path)
    for variant in _text_variants(text, path.suffix.lower()):
        yield from matcher.scan(variant, path, _line_of)


def _scan_pdf(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    from pypdf import PdfReader

    reader = PdfReader(path)
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        yield from matcher.scan(text, path, lambda _t, _o, n=number: f"pagina {n}")
    meta = reader.metadata or {}
    text = "\n".join(str(v) for v in meta.values())
    yield from matcher.scan(text, path, lambda _t, _o: "documenteigenschappen")


def _scan_sqlite(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            cursor = con.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names from the file itself
            columns = [d[0] for d in cursor.description]
            yield from matcher.scan(
                " | ".join(columns), path, lambda _t, _o, t=table: f"tabel {t} kolomnamen"
            )
            for row in cursor:
                for col, value in zip(columns, row, strict=True):
                    if isinstance(value, str):
                        yield from matcher.scan(
                            value, path, lambda _t, _o, t=table, c=col: f"tabel {t} kolom {c}"
                        )
    finally:
        con.close()


def _scan_parquet(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    yield from matcher.scan(" | ".join(table.column_names), path, lambda _t, _o: "kolomnamen")
    for name in table.column_names:
        column = table.column(name)
        typ = column.type
        if pa.types.is_dictionary(typ):
            column = column.cast(typ.value_type)
            typ = typ.value_type
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            continue
        for value in column.to_pylist():
            if value:
                yield from matcher.scan(value, path, lambda _t, _o, c=name: f"kolom {c}")


def _scan_xlsx(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            for r, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                for value in row:
                    if isinstance(value, str):
                        yield from matcher.scan(
                            value, path, lambda _t, _o, s=sheet.title, n=r: f"blad {s} rij {n}"
                        )
                    elif isinstance(value, dt.date | dt.datetime):
                        day = value.date() if isinstance(value, dt.datetime) else value
                        yield from matcher.scan(
                            day.isoformat(),
                            path,
                            lambda _t, _o, s=sheet.title, n=r: f"blad {s} rij {n}",
                        )
    finally:
        book.close()


def _files(paths_or_dirs: Iterable[str | os.PathLike] | str | os.PathLike) -> list[Path]:
    if isinstance(paths_or_dirs, str | os.PathLike):
        paths_or_dirs = [paths_or_dirs]
    out: list[Path] = []
    for item in paths_or_dirs:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"te controleren bestand of map bestaat niet: {p}")
    return out


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def scan_outputs(
    paths_or_dirs: Iterable[str | os.PathLike] | str | os.PathLike,
    names: Iterable[str],
    birth_dates: Iterable = (),
) -> list[Hit]:
    """Search files (folders recursively) for the given names and birth dates.

    Parameters
    ----------
    paths_or_dirs
        Files and/or folders to scan.
    names
        Full names of natural persons (e.g. ``planted.json`` ``personen``).
    birth_dates
        Birth dates (``date``, ISO ``jjjj-mm-dd`` or ``dd-mm-jjjj`` strings).

    Returns
    -------
    list[Hit]
        One hit per occurrence, deduplicated; empty when clean. Files that cannot be
        searched (images, unknown binaries) are logged at WARNING level, not reported.
    """
    matcher = _Matcher(names, birth_dates)
    hits: dict[tuple, Hit] = {}
    for path in _files(paths_or_dirs):
        suffix = path.suffix.lower()
        if suffix in BINARY_SKIP:
            log.warning("kan %s niet doorzoeken (afbeelding of lettertype)", path)
            continue
        try:
            if suffix == ".pdf":
                found = _scan_pdf(path, matcher)
            elif suffix in (".gpkg", ".sqlite", ".db") or (
                suffix not in TEXT_SUFFIXES and _is_sqlite(path)
            ):
                found = _scan_sqlite(path, matcher)
            elif suffix in (".parquet", ".geoparquet"):
                found = _scan_parquet(path, matcher)
            elif suffix in (".xlsx", ".xlsm"):
                found = _scan_xlsx(path, matcher)
            elif suffix in TEXT_SUFFIXES or b"\x00" not in path.read_bytes()[:8192]:
                found = _scan_text_file(path, matcher)
            else:
                log.warning("kan %s niet doorzoeken (onbekend binair bestand)", path)
                continue
            for hit in found:
                hits.setdefault((hit.pad, hit.soort, hit.locatie, hit.index), hit)
        except (OSError, ValueError, sqlite3.DatabaseError, json.JSONDecodeError) as exc:
            # an output we cannot read could hide a leak: that is a failed scan, not a pass
            raise PrivacyError(
                f"Lekcontrole kon {path} niet lezen ({exc}); controleer het bestand."
            ) from exc
    return list(hits.values())


def check_outputs(
    paths_or_dirs: Iterable[str | os.PathLike] | str | os.PathLike,
    names: Iterable[str],
    birth_dates: Iterable = (),
) -> None:
    """Like :func:`scan_outputs`, but raise :class:`PrivacyError` on any hit (blocks a report)."""
    hits = scan_outputs(paths_or_dirs, names, birth_dates)
    if hits:
        listed = "\n".join(f"  - {h}" for h in hits[:20])
        more = f"\n  ... en nog {len(hits) - 20}" if len(hits) > 20 else ""
        raise PrivacyError(
            f"Lekcontrole: {len(hits)} vermelding(en) van personen in de uitvoer gevonden; "
            f"het rapport wordt niet vrijgegeven.\n{listed}{more}"
        )


def persons_from_planted(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Names and birth dates of every person in a ``planted.json`` (for end-to-end tests)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    people = list(data.get("personen") or [])
    for net in data.get("netwerken") or []:
        if net.get("persoon_naam"):
            people.append(
                {"naam": net["persoon_naam"], "geboortedatum": net.get("persoon_geboortedatum")}
            )
    names = [p["naam"] for p in people if p.get("naam")]
    dates = [p["geboortedatum"] for p in people if p.get("geboortedatum")]
    return names, dates

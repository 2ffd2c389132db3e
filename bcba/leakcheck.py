"""Search outputs for names and birth dates of natural persons before anything leaves.

:func:`scan_outputs` reads HTML, PDF (text via pypdf), CSV/TSV, JSON/GeoJSON, notebooks,
logs and other text files, GeoPackages (every text value of every table, via sqlite),
(Geo)Parquet (every string column) and Excel workbooks, and reports every place where one
of the given names or birth dates occurs.

Names are matched case- and accent-insensitively on word boundaries, in composed (NFC),
decomposed (NFD) or mixed Unicode alike, as the full name and as "first name + surname"
(middle names dropped, with or without tussenvoegsel). A surname alone is *not*
searched: common surnames ("Bakker") also occur as street, company or theme names and
would drown the real hits. Birth dates are searched as ``dd-mm-jjjj``, ``d-m-jjjj`` and
``jjjj-mm-dd`` (separators ``-``, ``/`` or ``.``).

Images (PNG/JPEG map tiles, screenshots) cannot be searched; see docs/privacy.md.
"""

from __future__ import annotations

import bisect
import codecs
import datetime as dt
import functools
import html
import itertools
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bcba.errors import PrivacyError
from bcba.privacy import fold, fold_text, fold_utf8, normalise_person_name

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


_WORDS = re.compile(r"[a-z0-9]+")
#: characters per block when looking for first names in a long folded text
_BLOCK = 1 << 16


class _Matcher:
    """Finds names and birth dates in long texts and in many values at once.

    A text is folded once (:func:`~bcba.privacy.fold`: the normalisation of
    :func:`~bcba.privacy.normalise_person_name`, so composed and decomposed accents
    alike); one RE2 search (pyarrow, in C++) over the whole folded text tells whether any
    first word of a name occurs at all.
    Only then are the blocks that hold one walked word by word in Python, and a name is
    looked up as word n-grams starting at that word. Hits are rare, so a scan costs about
    one fold and one regular-expression pass per text, however many names are searched.
    """

    def __init__(self, names: Iterable[str], birth_dates: Iterable) -> None:
        self.name_of: dict[str, int] = {}
        for i, name in enumerate(names):
            for v in name_variants(str(name)):
                self.name_of.setdefault(v, i)
        self.lengths = sorted({v.count(" ") + 1 for v in self.name_of})
        self.first_words = {v.split(" ", 1)[0] for v in self.name_of}
        # folded words are [a-z0-9]+ only, so they need no escaping in the pattern
        self.first_pattern = r"\b(?:" + "|".join(sorted(self.first_words)) + r")\b"
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

    def _first_word_offsets(self, folded: str) -> Iterator[int]:
        """Offsets in ``folded`` where a word starts that is the first word of a name."""
        import pyarrow as pa
        import pyarrow.compute as pc

        first = self.first_words
        if len(folded) <= _BLOCK:  # a short text (a cell): plain Python is quicker
            if not first.isdisjoint(folded.split()):
                yield from (m.start() for m in _WORDS.finditer(folded) if m.group() in first)
            return
        whole = pa.array([folded], type=pa.large_string())
        if not pc.match_substring_regex(whole, pattern=self.first_pattern)[0].as_py():
            return
        # blocks end on a space, so no word is cut; only blocks with a first word are walked
        bounds, start = [], 0
        while start < len(folded):
            end = folded.find(" ", start + _BLOCK)
            end = len(folded) if end < 0 else end
            bounds.append((start, end))
            start = end
        blocks = pa.array([folded[b:e] for b, e in bounds], type=pa.large_string())
        found = pc.match_substring_regex(blocks, pattern=self.first_pattern).to_pylist()
        for (begin, end), hit in zip(bounds, found, strict=True):
            if hit:
                for m in _WORDS.finditer(folded, begin, end):
                    if m.group() in first:
                        yield m.start()

    def has_first_word(self, folded: bytes) -> bool:
        """Whether a first word of a name occurs in ``folded`` (folded text as bytes)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not self.name_of:
            return False
        whole = pa.array([folded], type=pa.large_binary())
        return pc.match_substring_regex(whole, self.first_pattern)[0].as_py()

    def _name_hits(self, folded: str) -> Iterator[tuple[int, int, int]]:
        """(start, end, person index) of every name variant in ``folded``."""
        if not self.name_of:
            return
        longest = self.lengths[-1]
        for offset in self._first_word_offsets(folded):
            words = []
            for m in _WORDS.finditer(folded, offset):
                words.append(m)
                if len(words) == longest:
                    break
            for n in self.lengths:
                if n > len(words):
                    break
                idx = self.name_of.get(" ".join(w.group() for w in words[:n]))
                if idx is not None:
                    yield words[0].start(), words[n - 1].end(), idx

    def scan(self, text: str, path: Path, where) -> Iterator[Hit]:
        """Yield hits in ``text``; ``where(text, offset)`` turns an offset into a location.

        A name may run across line breaks (``"Jan\\nde Vries"`` is found).
        """
        if self.name_of:
            folded = fold(text)
            for start, end, idx in self._name_hits(folded.text):
                start, end = folded.span(start, end)  # offsets in the text itself
                yield Hit(path, "naam", where(text, start), text[start:end], idx)
        if self.date_of:
            for m in _DATE.finditer(text):
                idx = self.date_forms.get(m.group())
                if idx is not None:
                    yield Hit(path, "geboortedatum", where(text, m.start()), m.group(), idx)

    def may_hit(self, text: str) -> bool:
        """Whether ``text`` (e.g. many values joined by line breaks) holds a name or date.

        A cheap test over a whole column: when it is false, no single value can hit.
        """
        if self.name_of and next(self._name_hits(fold_text(text)), None) is not None:
            return True
        return bool(self.date_of) and any(
            m.group() in self.date_forms for m in _DATE.finditer(text)
        )

    def scan_values(self, values: list[str], path: Path, where) -> Iterator[Hit]:
        """Yield hits in separate values (cells); ``where(k)`` is the location of value ``k``.

        The values are searched together as one text, and only the few values with a first
        name or a birth date in them are then scanned one by one, so that a name never runs
        from one value into the next and each hit keeps the location of its own value.
        """
        if not values or not (self.name_of or self.date_of):
            return
        joined = "\n".join(values)
        starts = list(itertools.accumulate((len(v) + 1 for v in values[:-1]), initial=0))
        candidates = set()
        if self.name_of:
            folded = fold(joined)
            candidates.update(
                bisect.bisect_right(starts, folded.span(start, end)[0]) - 1
                for start, end, _idx in self._name_hits(folded.text)
            )
        if self.date_of:
            candidates.update(
                bisect.bisect_right(starts, m.start()) - 1
                for m in _DATE.finditer(joined)
                if m.group() in self.date_forms
            )
        for k in sorted(candidates):
            yield from self.scan(values[k], path, lambda _t, _o, k=k: where(k))


# --------------------------------------------------------------------------- extraction


def _line_finder(text: str):
    """``where`` for :meth:`_Matcher.scan`: the line of an offset ("regel 12").

    The line ends are found once per text, on the first hit, so many hits in a long file
    cost a binary search each.
    """
    ends: list[int] = []

    def where(_text: str, offset: int) -> str:
        if not ends:
            ends.extend(itertools.accumulate(len(line) + 1 for line in text.split("\n")))
        return f"regel {bisect.bisect_right(ends, offset) + 1}"

    return where


_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_TAG = re.compile(r"<[^>]*>", re.DOTALL)


_MARKUP = (".html", ".htm", ".svg", ".xml")


def _has_escapes(raw: bytes, suffix: str) -> bool:
    """Whether a file's bytes hold escapes or markup that :func:`_text_variants` decodes.

    The escapes are ASCII, and searching bytes for them is a ``memchr`` where searching a
    long non-ASCII str is not.
    """
    return b"\\u" in raw or b"&" in raw or (suffix in _MARKUP and b"<" in raw)


def _text_variants(text: str, suffix: str, raw: bytes) -> list[str]:
    """The text plus decoded forms in which an encoded name becomes visible (``raw``: the
    file's bytes, searched for the escapes)."""
    out = [text]
    if b"\\u" in raw:
        out.append(_JS_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text))
    if b"&" in raw:
        out.append(html.unescape(text))
    if suffix in _MARKUP and b"<" in raw:
        # tags become blanks of equal shape so "Jan <b>de Vries</b>" is found, lines kept
        stripped = _TAG.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), html.unescape(text))
        out.append(re.sub(r" {2,}", " ", stripped))
    return out


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: the bytes that are not UTF-8 read as Windows-1252."""
    bad = exc.object[exc.start : exc.end]
    return bad.decode("cp1252", errors="replace"), exc.end


codecs.register_error("bcba-cp1252", _cp1252_fallback)


def _decode(data: bytes) -> str:
    """The text of a file: UTF-8, and where a byte is not UTF-8, that byte as Windows-1252.

    Decoding a whole file as Windows-1252 because one line is not UTF-8 would turn every
    UTF-8 name in it into mojibake ("Ã–ztÃ¼rk") that no search finds.
    """
    return data.decode("utf-8-sig", errors="bcba-cp1252")


def _scan_text_file(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if not matcher.date_of and not _has_escapes(data, suffix):
        # the usual output: no first word of any name in it at all, which is decided on
        # the bytes, without decoding a text of tens of megabytes
        folded = fold_utf8(data)
        if folded is not None and not matcher.has_first_word(folded):
            return
    text = _decode(data)
    for variant in _text_variants(text, suffix, data):
        yield from matcher.scan(variant, path, _line_finder(variant))


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
        tables = con.execute("SELECT name, sql FROM sqlite_master WHERE type='table'").fetchall()
        for table, sql in tables:
            quoted = _quote(table)
            cursor = con.execute(f"SELECT * FROM {quoted} LIMIT 0")  # noqa: S608 - table names from the file itself
            columns = [d[0] for d in cursor.description]
            yield from matcher.scan(
                " | ".join(columns), path, lambda _t, _o, t=table: f"tabel {t} kolomnamen"
            )
            if not columns or (sql or "").upper().startswith("CREATE VIRTUAL TABLE"):
                # a virtual table (a GeoPackage's R-tree) keeps its data in shadow tables,
                # which are ordinary tables and scanned as such
                continue
            # one pass over the table: sqlite joins the texts of every column itself
            joined = _joined_texts(con, quoted, columns)
            for col, text in zip(columns, joined, strict=True):
                # bytes: not UTF-8 (a blob, or broken text): the exact scan below decides
                if text is None or (isinstance(text, str) and not matcher.may_hit(text)):
                    continue
                # rare: search the column's texts one by one for the exact hits
                rows = con.execute(
                    f"SELECT DISTINCT {_quote(col)} FROM {quoted} "  # noqa: S608
                    f"WHERE typeof({_quote(col)}) = 'text'"
                )
                yield from matcher.scan_values(
                    [r[0] for r in rows], path, lambda _k, t=table, c=col: f"tabel {t} kolom {c}"
                )
    finally:
        con.close()


def _joined_texts(con: sqlite3.Connection, quoted: str, columns: list[str]) -> list:
    """Per column, its values joined by line breaks (str; bytes when not valid UTF-8).

    A column with TEXT affinity holds only text, blobs or NULL, so its values are joined
    as they are (a blob at worst makes :meth:`_Matcher.may_hit` say yes, after which only
    the column's texts are searched); other columns keep only their text values, which
    costs sqlite a type test per cell.
    """
    declared = {row[1]: str(row[2]).upper() for row in con.execute(f"PRAGMA table_info({quoted})")}
    # sqlite's affinity rules: INT first, then CHAR, CLOB or TEXT
    affinity = {
        col: "INT" not in typ and any(t in typ for t in ("CHAR", "CLOB", "TEXT"))
        for col, typ in declared.items()
    }
    parts = []
    for col in columns:
        q = _quote(col)
        value = q if affinity.get(col) else f"CASE WHEN typeof({q}) = 'text' THEN {q} END"
        parts.append(f"group_concat({value}, char(10))")
    con.text_factory = bytes
    try:
        row = con.execute(f"SELECT {', '.join(parts)} FROM {quoted}").fetchone()  # noqa: S608
    finally:
        con.text_factory = str
    out = []
    for data in row:
        try:
            out.append(data.decode("utf-8") if isinstance(data, bytes) else data)
        except UnicodeDecodeError:
            out.append(data)
    return out


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _scan_parquet(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        schema = parquet.schema_arrow
        yield from matcher.scan(" | ".join(schema.names), path, lambda _t, _o: "kolomnamen")
        for field in schema:
            typ = field.type
            if pa.types.is_dictionary(typ):
                typ = typ.value_type
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
                continue
            # one column and one row group at a time keeps memory small; each text once
            for group in range(parquet.num_row_groups):
                column = parquet.read_row_group(group, columns=[field.name]).column(0)
                if pa.types.is_dictionary(column.type):
                    column = column.cast(typ)
                texts = pc.unique(column.combine_chunks()).drop_null()
                texts = texts.filter(pc.not_equal(texts, ""))
                if not len(texts):
                    continue
                texts = texts.cast(pa.large_string())
                as_list = pa.LargeListArray.from_arrays([0, len(texts)], texts)
                joined = pc.binary_join(as_list, pa.scalar("\n", pa.large_string()))[0].as_py()
                if matcher.may_hit(joined):
                    yield from matcher.scan_values(
                        texts.to_pylist(), path, lambda _k, c=field.name: f"kolom {c}"
                    )


#: A string of a workbook: a shared string (``<si>``) or an inline one (``<is>``), its
#: text in one or more runs (``<t>``).
_XLSX_STRING = re.compile(rb"<(si|is)>(.*?)</\1>", re.S)
_XLSX_RUN = re.compile(rb"<t(?:\s[^>]*)?>(.*?)</t>", re.S)


def _xlsx_strings(path: Path) -> list[str]:
    """Every text of a workbook, read from its XML parts (shared and inline strings)."""
    import zipfile

    values = []
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/") and name.endswith(".xml"):
                for m in _XLSX_STRING.finditer(book.read(name)):
                    runs = b"".join(_XLSX_RUN.findall(m.group(2)))
                    values.append(html.unescape(runs.decode("utf-8", errors="replace")))
    return values


def _scan_xlsx(path: Path, matcher: _Matcher) -> Iterator[Hit]:
    import openpyxl

    if not matcher.date_of and not any(
        matcher.scan_values(_xlsx_strings(path), path, lambda _k: "")
    ):
        # the usual output: no name among the workbook's strings, decided on its XML (a
        # city's workbook in 0.3 s instead of 11 s through openpyxl); dates are cell
        # values, so a search for birth dates reads the sheets
        return
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in book.worksheets:
            texts: list[str] = []
            rows: list[int] = []
            for r, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                for value in row:
                    if isinstance(value, str):
                        texts.append(value)
                        rows.append(r)
                    elif isinstance(value, dt.date | dt.datetime):
                        day = value.date() if isinstance(value, dt.datetime) else value
                        texts.append(day.isoformat())
                        rows.append(r)
            yield from matcher.scan_values(
                texts, path, lambda k, s=sheet.title, n=rows: f"blad {s} rij {n[k]}"
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


def _head(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _is_sqlite(path: Path) -> bool:
    return _head(path, 16) == b"SQLite format 3\x00"


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
    names, birth_dates = tuple(names), tuple(birth_dates)
    try:
        matcher = _matcher(names, birth_dates)
    except TypeError:  # an unhashable birth date (a list?): made for this scan only
        matcher = _Matcher(names, birth_dates)
    hits: dict[tuple, Hit] = {}
    files = _files(paths_or_dirs)
    # SQLite, Arrow and NumPy work without the GIL, so a second thread overlaps e.g. a
    # GeoPackage with the text files. Largest files first (the threads end together);
    # results are taken in file order, so the outcome does not depend on timing.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        futures = {
            path: pool.submit(_scan_file, path, matcher)
            for path in sorted(files, key=lambda p: p.stat().st_size, reverse=True)
        }
        for path in files:
            for hit in futures[path].result():
                hits.setdefault((hit.pad, hit.soort, hit.locatie, hit.index), hit)
    return list(hits.values())


@functools.lru_cache(maxsize=2)
def _matcher(names: tuple, birth_dates: tuple) -> _Matcher:
    """The matcher of these names and dates, made once: a run checks its outputs in several
    rounds with the same tens of thousands of names, and a matcher of that many takes a few
    tenths of a second to make."""
    return _Matcher(names, birth_dates)


def _scan_file(path: Path, matcher: _Matcher) -> list[Hit]:
    """Every hit in one file (a reader per kind of file); [] for images and unknown binaries.

    Raises
    ------
    PrivacyError
        When the file cannot be read: an unreadable output could hide a leak.
    """
    suffix = path.suffix.lower()
    if suffix in BINARY_SKIP:
        log.warning("kan %s niet doorzoeken (afbeelding of lettertype)", path)
        return []
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
        elif suffix in TEXT_SUFFIXES or b"\x00" not in _head(path, 8192):
            found = _scan_text_file(path, matcher)
        else:
            log.warning("kan %s niet doorzoeken (onbekend binair bestand)", path)
            return []
        return list(found)
    except (OSError, ValueError, sqlite3.DatabaseError, json.JSONDecodeError) as exc:
        # an output we cannot read could hide a leak: that is a failed scan, not a pass
        raise PrivacyError(
            f"Lekcontrole kon {path} niet lezen ({exc}); controleer het bestand."
        ) from exc


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

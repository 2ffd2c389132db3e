"""Robust reading of analysts' extracts: CSV/XLSX, header aliases, Dutch value parsing.

Every reader in :mod:`bcba.sources` goes through :func:`read_table` (bytes -> raw frame of
cells), :func:`match_columns` (header aliases) and the vectorised ``parse_*`` helpers, and
collects every failure in a :class:`Problems` list that is raised once as
:class:`bcba.errors.InputValidationError`.

Row numbers are those an analyst sees in Excel: the header is row 1, the first data row 2.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as dt
import functools
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bcba.errors import InputProblem, InputValidationError

log = logging.getLogger(__name__)

#: Columns whose values are personal data and never appear in an error message.
PERSONAL_COLUMNS = frozenset(
    {"naam", "geboortedatum", "koper_naam", "verkoper_naam", "tekst", "omschrijving"}
)
HIDDEN = "waarde verborgen (persoonsgegeven)"

#: Excel's day zero (with the 1900 leap-year bug folded in).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


# --------------------------------------------------------------------------- problems


@dataclass
class Problems:
    """Collects input problems of one or more files before raising them together."""

    items: list[InputProblem] = field(default_factory=list)
    #: canonical column name -> the header as written in the file (shown to the analyst)
    labels: dict[str, str] = field(default_factory=dict)
    #: doubtful-but-read findings for the kwaliteit table: dicts with bestand, controle,
    #: aantal, toelichting (the bundle adds ``bron``)
    notes: list[dict] = field(default_factory=list)

    def _label(self, column: str | None) -> str | None:
        if column is None:
            return None
        return self.labels.get(column, column)  # the header as the analyst wrote it

    def add(
        self,
        file: str,
        check: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        fix: str = "",
        sheet: str | None = None,
    ) -> None:
        if column in PERSONAL_COLUMNS and value is not None:
            value = HIDDEN
        self.items.append(InputProblem(file, row, self._label(column), check, value, fix, sheet))

    def add_rows(
        self,
        file: str,
        rows: pd.Series,
        values: pd.Series,
        mask: pd.Series,
        *,
        column: str,
        check: str,
        fix: str,
        sheet: str | None = None,
    ) -> None:
        """Add one problem per row where ``mask`` holds (rows are Excel row numbers)."""
        mask = mask.fillna(False).astype(bool).to_numpy()
        if not mask.any():
            return
        hide = column in PERSONAL_COLUMNS
        label = self._label(column)
        for row, value in zip(rows.to_numpy()[mask], values.to_numpy()[mask], strict=True):
            shown = HIDDEN if hide else _display(value)
            self.items.append(InputProblem(file, int(row), label, check, shown, fix, sheet))

    def parsed(
        self,
        frame: pd.DataFrame,
        column: str,
        parser,
        *,
        file: str,
        check: str,
        fix: str,
        sheet: str | None = None,
    ) -> pd.Series:
        """Parse ``frame[column]`` with ``parser`` (which returns values and a bad-row mask),
        record a problem for every bad row, and return the parsed values."""
        values, bad = parser(frame[column])
        self.add_rows(
            file,
            frame["bron_rij"],
            frame[column],
            bad,
            column=column,
            check=check,
            fix=fix,
            sheet=sheet,
        )
        return values

    def note(self, file: str, controle: str, aantal: int, toelichting: str) -> None:
        """Record a finding that does not reject the file (shown in the kwaliteit table)."""
        self.notes.append(
            {
                "bestand": file,
                "controle": controle,
                "aantal": int(aantal),
                "toelichting": toelichting,
            }
        )

    def extend(self, other: Problems) -> None:
        self.items.extend(other.items)
        self.notes.extend(other.notes)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InputValidationError(list(self.items))


def _display(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "..."
    return value


# --------------------------------------------------------------------------- reading


@dataclass
class RawTable:
    """Cells of one sheet/CSV as read: strings (CSV, Arrow-backed when fast) or Excel values."""

    frame: pd.DataFrame  # original header labels as columns; plus 'bron_rij'
    file: str
    sheet: str | None
    n_rows_in: int  # data rows in the file (incl. wholly empty rows)
    empty_rows: int  # wholly empty rows dropped (reported in kwaliteit)


#: Limits that keep a damaged or hostile file from exhausting time or memory. Real extracts
#: of the largest municipality are far below them (Rotterdam's BAG: 358k rows, ~40 MB).
MAX_FILE_BYTES = 1 << 30  # 1 GiB on disk (CSV or XLSX)
MAX_XLSX_UNPACKED = 1 << 30  # 1 GiB for all members of an XLSX together, uncompressed
#: An XLSX member that unpacks to more than this many times its packed size is refused as a
#: zip bomb; spreadsheet XML packs 5-30 times, a bomb a thousand times.
MAX_XLSX_RATIO = 100
#: Members smaller than this unpacked are harmless whatever their ratio.
XLSX_RATIO_FLOOR = 8 << 20
MAX_ROWS = 1_048_576  # Excel's own limit
MAX_CELLS = 20_000_000


@dataclass(frozen=True)
class Decoded:
    """Text of a CSV file and how it was decoded.

    ``fallback_lines`` are the 1-based physical lines that were not valid UTF-8 and were read
    as Windows-1252 instead (line breaks ``\\r\\n``, ``\\r`` or ``\\n``).
    """

    text: str
    fallback_lines: tuple[int, ...] = ()
    #: True when some other line holds valid non-ASCII UTF-8 (a file of mixed encodings)
    mixed: bool = False


_BOM = b"\xef\xbb\xbf"
#: a line holding at least one byte that is not valid UTF-8 (surrogate-escaped)
_ESCAPED_LINE = re.compile(r"[^\r\n]*[\udc80-\udcff][^\r\n]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _decode(data: bytes) -> Decoded:
    """Decode UTF-8 (with or without BOM); lines that are not valid UTF-8 as Windows-1252.

    Deciding per line keeps one line saved by another program from turning every accented
    name of a UTF-8 file into mojibake (which would change pseudonyms and defeat masking).
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    # an invalid byte becomes a lone surrogate; a line with one is re-read as Windows-1252
    text = data.decode("utf-8", "surrogateescape")
    parts: list[str] = []
    lines: list[int] = []
    pos, line = 0, 1
    for match in _ESCAPED_LINE.finditer(text):
        line += len(_LINE_BREAK.findall(text, pos, match.start()))
        parts.append(text[pos : match.start()])
        raw = match.group().encode("utf-8", "surrogateescape")
        try:
            parts.append(raw.decode("cp1252"))
        except UnicodeDecodeError:  # five bytes are undefined in Windows-1252
            parts.append(raw.decode("latin-1"))
        lines.append(line)
        pos = match.end()
    parts.append(text[pos:])
    rest = "".join(parts[0::2])  # the lines that were valid UTF-8
    return Decoded("".join(parts), tuple(lines), mixed=not rest.isascii())


def _line_rows(text: str, delim: str, lines: tuple[int, ...]) -> list[int]:
    """Excel rows (records) holding the given physical lines of a CSV text."""
    if '"' not in text:
        return list(lines)  # no cell spans lines: line n is row n
    ends = []  # last physical line of each record
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        for _ in reader:
            ends.append(reader.line_num)
    except csv.Error:
        return list(lines)  # reported as unreadable elsewhere
    rows = np.searchsorted(np.asarray(ends), np.asarray(lines), side="left") + 1
    return sorted({int(r) for r in rows})


def rows_text(rows: Iterable[int], *, limit: int = 20) -> str:
    """'rij 3', 'rijen 3, 7 en 12' or 'rijen 3, 7, … (en 40 meer)' for a toelichting."""
    rows = sorted(set(int(r) for r in rows))
    if len(rows) == 1:
        return f"rij {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:limit])
    if len(rows) > limit:
        return f"rijen {shown}, … (en nog {len(rows) - limit})"
    head, last = shown.rsplit(", ", 1)
    return f"rijen {head} en {last}"


def _note_encoding(decoded: Decoded, delim: str, name: str, problems: Problems) -> None:
    if not decoded.fallback_lines:
        return
    rows = _line_rows(decoded.text, delim, decoded.fallback_lines)
    if decoded.mixed:
        why = (
            "Het bestand is UTF-8, maar deze rijen niet (ze zijn door een ander programma "
            "opgeslagen); ze zijn per rij als Windows-1252 gelezen"
        )
    else:
        why = "Het bestand is niet in UTF-8 opgeslagen; deze rijen zijn als Windows-1252 gelezen"
    problems.note(
        name,
        "codering",
        len(rows),
        f"{why}: {rows_text(rows)}. Controleer namen met accenten in deze rijen; "
        "sla het bestand bij voorkeur op als 'CSV UTF-8'.",
    )


def _head_lines(text: str, n: int) -> list[str]:
    """``text.splitlines()[:n]`` without splitting the whole (large) text."""
    lines = text[:65536].splitlines()
    # more than n lines in the prefix: the first n are complete and split as in the whole
    return lines[:n] if len(lines) > n else text.splitlines()[:n]


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(_head_lines(text, 20))
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        first = _head_lines(text, 1)[0] if text else ""
        counts = {d: first.count(d) for d in (";", "\t", ",")}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _unreadable(problems: Problems, name: str, why: str, sheet: str | None = None) -> None:
    problems.add(
        name,
        f"bestand kan niet worden gelezen ({why})",
        fix="Sla het bestand opnieuw op als CSV (UTF-8) of Excel (.xlsx) en lever het opnieuw aan",
        sheet=sheet,
    )


def read_table(
    path: str | Path, *, sheet: str | None = None, problems: Problems
) -> RawTable | None:
    """Read a CSV or XLSX file into a :class:`RawTable`; on failure add a problem, return None.

    The file is opened read-only and never modified. Wholly empty rows are dropped and
    counted in ``RawTable.empty_rows``. CSV lines that are not valid UTF-8 are read as
    Windows-1252 and noted (``codering``) in ``problems.notes``. Files beyond the limits
    above (size, rows, cells, an XLSX that unpacks suspiciously far) are refused.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if not path.exists():
        problems.add(name, "bestand bestaat niet", fix="Controleer de bestandsnaam en de map")
        return None
    try:
        size = path.stat().st_size
    except OSError as exc:
        _unreadable(problems, name, type(exc).__name__)
        return None
    if size > MAX_FILE_BYTES:
        problems.add(
            name,
            f"bestand is te groot ({size / 2**20:.0f} MB; de grens is {MAX_FILE_BYTES >> 20} MB)",
            fix="Lever alleen de gegevens van deze gemeente aan, of splits het bestand",
        )
        return None
    if suffix in (".xlsx", ".xlsm"):
        rows, sheet_name = _xlsx_rows(path, sheet, problems)
        if rows is None:
            return None
    elif suffix in (".csv", ".txt", ".tsv"):
        sheet_name = None
        try:
            data = path.read_bytes()
        except OSError as exc:
            _unreadable(problems, name, type(exc).__name__)
            return None
        decoded = _decode(data)
        text = decoded.text
        if "\x00" in text:
            _unreadable(problems, name, "bevat binaire tekens; is dit wel een CSV-bestand?")
            return None
        if not text.strip():
            problems.add(
                name, "bestand is leeg", fix="Lever een bestand met kopregel en gegevens aan"
            )
            return None
        delim = _sniff_delimiter(text)
        _note_encoding(decoded, delim, name, problems)
        fast = _csv_frame_fast(text, delim)
        if fast is not None:
            if len(fast[0]) > MAX_ROWS + 1:
                _too_many_rows(problems, name, None)
                return None
            return _frame_to_table(*fast, name, None, problems)
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True))
        except csv.Error as exc:
            _unreadable(problems, name, f"CSV-opmaak klopt niet: {exc}")
            return None
        if len(rows) > MAX_ROWS + 1:
            _too_many_rows(problems, name, None)
            return None
    else:
        problems.add(
            name,
            f"onbekend bestandstype '{suffix}'",
            fix="Lever CSV (.csv) of Excel (.xlsx) aan",
        )
        return None
    return _rows_to_table(rows, name, sheet_name, problems, typed=suffix in (".xlsx", ".xlsm"))


def _too_many_rows(problems: Problems, name: str, sheet: str | None) -> None:
    problems.add(
        name,
        f"bestand heeft meer dan {MAX_ROWS:,} rijen".replace(",", "."),
        fix="Lever alleen de gegevens van deze gemeente aan, of splits het bestand",
        sheet=sheet,
    )


def _check_xlsx_archive(path: Path, problems: Problems) -> bool:
    """Inspect the XLSX's zip members before openpyxl touches them; False (and a problem)
    when the file is no zip, unpacks to more than :data:`MAX_XLSX_UNPACKED`, or has a
    member packed more than :data:`MAX_XLSX_RATIO` times (a zip bomb).

    Python's zipfile never unpacks more than a member's declared size, so checking the
    declared sizes bounds the work openpyxl can be made to do.
    """
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        _unreadable(
            problems,
            name,
            f"geen geldig Excel-bestand ({type(exc).__name__}); is het met een wachtwoord "
            "beveiligd of als ander type opgeslagen?",
        )
        return False
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_XLSX_UNPACKED:
        problems.add(
            name,
            f"Excel-bestand is uitgepakt {unpacked / 2**20:,.0f} MB; de grens is "
            f"{MAX_XLSX_UNPACKED >> 20} MB".replace(",", "."),
            fix="Lever alleen de gegevens van deze gemeente aan, of als CSV",
        )
        return False
    for member in members:
        if member.file_size > XLSX_RATIO_FLOOR and member.file_size > MAX_XLSX_RATIO * max(
            member.compress_size, 1
        ):
            ratio = member.file_size / max(member.compress_size, 1)
            problems.add(
                name,
                f"Excel-bestand is verdacht sterk ingepakt (onderdeel {member.filename!r} "
                f"wordt {ratio:,.0f} keer zo groot; mogelijk een zip-bom)".replace(",", "."),
                fix="Sla het bestand opnieuw op vanuit Excel, of lever het aan als CSV",
            )
            return False
    return True


def _xlsx_rows(path: Path, sheet: str | None, problems: Problems):
    name = path.name
    if not _check_xlsx_archive(path, problems):
        return None, None
    try:
        with open(path, "rb") as handle:  # ours to close, also when openpyxl fails halfway
            return _workbook_rows(handle, name, sheet, problems)
    except OSError as exc:
        _unreadable(problems, name, type(exc).__name__)
        return None, None


def _workbook_rows(handle, name: str, sheet: str | None, problems: Problems):
    import openpyxl

    try:
        wb = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure inside openpyxl: a damaged file
        _unreadable(problems, name, f"geen geldig Excel-bestand: {type(exc).__name__}")
        return None, None
    try:
        if sheet is None:
            if not wb.worksheets:
                _unreadable(problems, name, "het bestand heeft geen werkblad")
                return None, None
            ws = wb.worksheets[0]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            problems.add(
                name,
                f"werkblad '{sheet}' bestaat niet",
                value=sheet,
                fix=f"Kies een van de werkbladen: {', '.join(wb.sheetnames)}",
            )
            return None, None
        title = ws.title
        if hasattr(ws, "reset_dimensions"):
            # a declared size (A1:XFD1048576) would pad every row; read what is there
            ws.reset_dimensions()
        rows: list[list] = []
        cells = 0
        try:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
                if len(rows) >= MAX_ROWS + 1:
                    _too_many_rows(problems, name, title)
                    return None, None
                if cells > MAX_CELLS:
                    problems.add(
                        name,
                        f"werkblad heeft meer dan {MAX_CELLS:,} cellen".replace(",", "."),
                        fix="Verwijder lege kolommen en opmaak tot aan de rand van het blad, "
                        "of lever het bestand aan als CSV",
                        sheet=title,
                    )
                    return None, None
                rows.append(list(row))
        except Exception as exc:  # noqa: BLE001 - any failure inside openpyxl: a damaged sheet
            _unreadable(problems, name, f"werkblad beschadigd: {type(exc).__name__}", title)
            return None, None
        return rows, title
    finally:
        wb.close()


def _cell_to_value(value: object) -> object:
    """Normalise an Excel/CSV cell: '' for empty, ISO text for dates, else as is."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _rows_to_table(
    rows: list[list], name: str, sheet: str | None, problems: Problems, *, typed: bool
) -> RawTable | None:
    if not rows:
        problems.add(
            name,
            "bestand is leeg",
            fix="Lever een bestand met kopregel en gegevens aan",
            sheet=sheet,
        )
        return None
    header = [str(_cell_to_value(c)) for c in rows[0]]
    if all(h == "" for h in header):
        problems.add(
            name,
            "de eerste rij (kopregel) is leeg",
            row=1,
            fix="Zet de kolomnamen in rij 1",
            sheet=sheet,
        )
        return None
    width = len(header)
    body = rows[1:]
    longest = max((len(r) for r in body), default=width)
    if longest > width:
        # cells beyond the header: only a problem if they hold a value
        for i, r in enumerate(body):
            if any(_cell_to_value(c) != "" for c in r[width:]):
                problems.add(
                    name,
                    "rij heeft meer cellen dan de kopregel",
                    row=i + 2,
                    fix="Controleer scheidingstekens en aanhalingstekens in deze rij",
                    sheet=sheet,
                )
        if problems:
            return None
    labels = [h if h else f"kolom_{i + 1}" for i, h in enumerate(header)]
    if typed:
        body = [
            [_cell_to_value(c) for c in r[:width]] + [""] * (width - len(r[:width])) for r in body
        ]
    elif any(len(r) != width for r in body):
        body = [r[:width] + [""] * (width - len(r[:width])) for r in body]
    frame = pd.DataFrame(body, columns=pd.Index(range(width)), dtype=object)
    if not typed and len(frame):
        frame = _strip_frame(frame)
    return _finish_table(frame, header, labels, name, sheet)


def _csv_frame_fast(text: str, delim: str) -> tuple[pd.DataFrame, bool] | None:
    """All rows (header included) of a simple CSV and whether its cells are stripped, or None.

    Only files without quote characters, bare carriage returns or a blank first line take
    this path: there the C parser splits exactly as :func:`csv.reader` does. Everything
    else (and any row longer than the first) returns None, so the strict ``csv`` module
    reads it and reports the problems row by row.
    """
    if '"' in text:
        return None
    crlf = "\r" in text
    if crlf and text.count("\r") != text.count("\r\n"):
        return None  # a bare carriage return
    if not text.split("\n", 1)[0].strip():
        return None
    frame = _arrow_csv(text, delim)  # pyarrow reads \r\n line ends itself
    if frame is not None:
        return frame, True
    if crlf:
        text = text.replace("\r\n", "\n")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delim,
            header=None,
            dtype=object,
            na_filter=False,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError):
        return None
    return frame, False


def _arrow_csv(text: str, delim: str) -> pd.DataFrame | None:
    """Split a quote-free CSV with pyarrow (fastest), cells stripped; None on a short/long row.

    Blank rows and short rows make pyarrow fail; the caller then uses pandas' C parser,
    which pads them like :func:`csv.reader` does.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow comes with pandas' string dtype
        return None
    names = [f"c{i}" for i in range(text.split("\n", 1)[0].count(delim) + 1)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, quote_char=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    columns = {}
    for i in range(len(names)):
        column = table.column(i)
        # only columns whose first or last characters include whitespace need str.strip
        ends = pc.unique(pc.utf8_slice_codeunits(column, 0, 1)).to_pylist()
        ends += pc.unique(pc.utf8_slice_codeunits(column, -1)).to_pylist()
        if any(c.isspace() for c in ends):
            cells = column.to_numpy(zero_copy_only=False)
            column = _strip_column(pd.Series(cells, dtype=object))
        # Arrow-backed strings: no Python object per cell (the parsers take both kinds)
        columns[i] = pd.array(column, dtype="str")
    return pd.DataFrame(columns)


def _strip_column(values: pd.Series) -> np.ndarray:
    """``str.strip`` each cell of a CSV column (all str): a plain loop beats ``.str.strip``."""
    out = np.empty(len(values), dtype=object)
    out[:] = [cell.strip() for cell in values.to_numpy(dtype=object)]
    return out


def _strip_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {c: _strip_column(frame[c]) for c in frame.columns}, index=frame.index, dtype=object
    )


def _frame_to_table(
    rows: pd.DataFrame, stripped: bool, name: str, sheet: str | None, problems: Problems
) -> RawTable | None:
    """:func:`_rows_to_table` for a CSV already split by :func:`_csv_frame_fast`."""
    header = [str(c).strip() for c in rows.iloc[0].tolist()]
    if all(h == "" for h in header):
        problems.add(
            name,
            "de eerste rij (kopregel) is leeg",
            row=1,
            fix="Zet de kolomnamen in rij 1",
            sheet=sheet,
        )
        return None
    labels = [h if h else f"kolom_{i + 1}" for i, h in enumerate(header)]
    body = rows.iloc[1:].reset_index(drop=True)
    body.columns = pd.Index(range(len(header)))
    if len(body) and not stripped:
        body = _strip_frame(body)
    return _finish_table(body, header, labels, name, sheet)


def _finish_table(
    frame: pd.DataFrame, header: list[str], labels: list[str], name: str, sheet: str | None
) -> RawTable:
    frame.columns = pd.Index(labels)
    frame["bron_rij"] = np.arange(2, len(frame) + 2, dtype="int64")
    values = frame.drop(columns="bron_rij")
    if len(values.columns):
        empty = (values == "").all(axis=1)
    else:
        empty = pd.Series(True, index=frame.index)
    n_in = len(frame)
    frame = frame.loc[~empty].reset_index(drop=True)
    # unnamed empty columns (trailing separators) carry nothing
    for i, h in enumerate(header):
        if h == "" and (frame[labels[i]] == "").all():
            frame = frame.drop(columns=labels[i])
    return RawTable(frame, name, sheet, n_in, int(empty.sum()))


# --------------------------------------------------------------------------- headers


def fold_header(label: object) -> str:
    """Header key ignoring case, accents, spaces, dashes, underscores, dots and brackets."""
    text = unicodedata.normalize("NFKD", str(label))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "", text)


#: Dutch header variants seen in real extracts, folded -> canonical name.
COMMON_ALIASES: dict[str, tuple[str, ...]] = {
    "kvk_nummer": (
        "kvknummer",
        "kvknr",
        "kvk",
        "dossiernummer",
        "kamervankoophandelnummer",
        "kvkno",
    ),
    "vestigingsnummer": ("vestigingsnummer", "vestigingsnr", "vestnr", "vestigingnummer"),
    "handelsnaam": (
        "handelsnaam",
        "naamonderneming",
        "bedrijfsnaam",
        "eerstehandelsnaam",
        "statutairenaam",
    ),
    "rechtsvorm": ("rechtsvorm", "rechtsvormomschrijving"),
    "sbi_code": (
        "sbicode",
        "sbi",
        "sbihoofdactiviteit",
        "hoofdactiviteit",
        "sbihoofdactiviteitcode",
        "hoofdsbi",
    ),
    "straat": ("straat", "straatnaam", "openbareruimte", "openbareruimtenaam"),
    "huisnummer": ("huisnummer", "huisnr", "nr", "nummer"),
    "huisletter": ("huisletter", "letter"),
    "toevoeging": ("toevoeging", "toev", "huisnummertoevoeging", "huisnrtoevoeging"),
    "postcode": ("postcode", "pc", "postcd"),
    "plaats": ("plaats", "woonplaats", "plaatsnaam", "vestigingsplaats"),
    "datum_inschrijving": (
        "datuminschrijving",
        "inschrijfdatum",
        "datumvestiging",
        "datumoprichting",
        "ingangsdatum",
    ),
    "datum_uitschrijving": ("datumuitschrijving", "uitschrijfdatum", "datumopheffing", "einddatum"),
    "werkzame_personen": (
        "werkzamepersonen",
        "aantalwerkzamepersonen",
        "totaalwerkzamepersonen",
        "werkzpersonen",
        "medewerkers",
    ),
    "naam": ("naam", "volledigenaam", "naamfunctionaris", "functionaris"),
    "geboortedatum": ("geboortedatum", "gebdatum", "geboren"),
    "functie": ("functie", "functieomschrijving", "rol"),
    "datum_aanvang": ("datumaanvang", "aanvangsdatum", "datumingang", "ingangsdatumfunctie"),
    "datum_einde": ("datumeinde", "einddatumfunctie", "datumuittreding"),
    "transactie_id": ("transactieid", "transactienummer", "transactie", "id"),
    "datum": ("datum", "datumtransport", "transportdatum", "datumakte", "aktedatum"),
    "koopsom": ("koopsom", "koopsomeur", "koopprijs", "prijs", "koopsomineuro"),
    "koper_naam": ("kopernaam", "naamkoper", "koper"),
    "koper_type": ("kopertype", "typekoper", "soortkoper"),
    "koper_kvk_nummer": ("koperkvknummer", "kvknummerkoper", "koperkvk", "kvkkoper"),
    "verkoper_naam": ("verkopernaam", "naamverkoper", "verkoper"),
    "verkoper_type": ("verkopertype", "typeverkoper", "soortverkoper"),
    "verkoper_kvk_nummer": ("verkoperkvknummer", "kvknummerverkoper", "verkoperkvk"),
    "hypotheek": ("hypotheek", "hypotheekja", "metHypotheek".lower(), "hypotheekjanee"),
    "woz_waarde": ("wozwaarde", "woz", "wozeur", "wozwaardeeur"),
    "adresseerbaar_object_id": (
        "adresseerbaarobjectid",
        "adresseerbaarobject",
        "verblijfsobjectid",
        "vboid",
        "identificatie",
        "adresid",
    ),
    "gebruiksdoel": ("gebruiksdoel", "gebruiksdoelen"),
    "oppervlakte": ("oppervlakte", "oppervlaktem2", "opp"),
    "x": ("x", "xcoordinaat", "xrd", "rdx"),
    "y": ("y", "ycoordinaat", "yrd", "rdy"),
    "bron": ("bron", "partner", "organisatie"),
    "thema": ("thema", "onderwerp"),
    "soort": ("soort", "soortgebeurtenis", "type", "categorie"),
    "buurtcode": ("buurtcode", "buurt", "cbsbuurtcode"),
    "omschrijving": ("omschrijving", "toelichting", "beschrijving"),
    "gewicht": ("gewicht", "weging"),
}


def match_columns(
    frame: pd.DataFrame,
    canonical: Iterable[str],
    *,
    aliases: Mapping[str, tuple[str, ...]] = COMMON_ALIASES,
    file: str,
    sheet: str | None,
    problems: Problems,
) -> tuple[pd.DataFrame, list[str]]:
    """Rename header variants to canonical names; return (frame, extra column labels).

    Only the canonical names listed are looked for; other columns are kept aside as extra.
    A canonical name matched by two columns is a problem.
    """
    lookup: dict[str, str] = {}
    for name in canonical:
        lookup[fold_header(name)] = name
        for alias in aliases.get(name, ()):
            lookup.setdefault(fold_header(alias), name)
    rename: dict[str, str] = {}
    seen: dict[str, str] = {}
    extra: list[str] = []
    for col in frame.columns:
        if col == "bron_rij":
            continue
        target = lookup.get(fold_header(col))
        if target is None:
            extra.append(str(col))
            continue
        if target in seen:
            problems.add(
                file,
                f"kolom '{col}' en kolom '{seen[target]}' betekenen allebei '{target}'",
                row=1,
                column=str(col),
                fix="Verwijder of hernoem een van beide kolommen",
                sheet=sheet,
            )
            continue
        seen[target] = str(col)
        rename[col] = target
        problems.labels[target] = str(col)
    keep = [c for c in frame.columns if c in rename or c == "bron_rij"]
    out = frame[keep].rename(columns=rename)
    if extra:
        log.info("%s: extra kolommen genegeerd: %s", file, ", ".join(extra))
    return out, extra


def require_columns(
    frame: pd.DataFrame,
    required: Iterable[str],
    *,
    file: str,
    sheet: str | None,
    problems: Problems,
) -> bool:
    """Add a problem per missing required column; True when all are present."""
    ok = True
    for name in required:
        if name not in frame.columns:
            ok = False
            problems.add(
                file,
                "verplichte kolom ontbreekt",
                row=1,
                column=name,
                fix=f"Voeg een kolom '{name}' toe (of gebruik een van de bekende kolomnamen, zie de datadictionary)",
                sheet=sheet,
            )
    return ok


# --------------------------------------------------------------------------- parsing


#: Below this many rows parsing every cell is as cheap as finding the distinct ones.
_DISTINCT_MIN_ROWS = 256
#: Set while a parser runs on distinct values, so the parsers it calls do not factorize again.
_ON_DISTINCT = contextvars.ContextVar("bcba_on_distinct", default=False)


def _text_like(values: pd.Series) -> bool:
    """True for a string column whose nulls are all of one kind (safe to factorize)."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string"


def _spread(result: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    return result.take(codes).set_axis(index)


def on_distinct(func):
    """Run a column parser once per distinct value and spread the results over the rows.

    Extracts repeat the same postcode, date or label thousands of times; parsing the
    distinct values only keeps every ``.str`` and regex step small. Only string columns
    take this path (mixed Excel-typed cells are parsed directly), so the result is the same
    as calling ``func`` on the whole column.
    """

    @functools.wraps(func)
    def wrapper(values: pd.Series, *args, **kwargs):
        if _ON_DISTINCT.get() or len(values) < _DISTINCT_MIN_ROWS or not _text_like(values):
            return func(values, *args, **kwargs)
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        if not isinstance(values.dtype, pd.StringDtype):  # Arrow strings stay Arrow strings
            uniques = np.asarray(uniques, dtype=object)
        distinct = pd.Series(uniques, dtype=values.dtype, name=values.name)
        token = _ON_DISTINCT.set(True)
        try:
            result = func(distinct, *args, **kwargs)
        finally:
            _ON_DISTINCT.reset(token)
        if isinstance(result, tuple):
            return tuple(_spread(r, codes, values.index) for r in result)
        return _spread(result, codes, values.index)

    return wrapper


@on_distinct
def as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings ('' for empty), whatever their Excel type."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = values.map(
            lambda v: v if isinstance(v, str) else ("" if v is None or v is pd.NA else str(v))
        )
    return values.fillna("").astype(str).str.strip()


@on_distinct
def blank(values: pd.Series) -> pd.Series:
    return as_text(values) == ""


#: Earliest date accepted: anything before is a typing error (01-01-1600).
MIN_YEAR = 1800
#: A date from this year on is no real date but an "open end" (31-12-9999, 31-12-2999,
#: 01-01-3000): in end-date columns it means "no end date", elsewhere it is an error.
OPEN_END_YEAR = 2100
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: Excel serial of 01-01-2100 and of 31-12-9999 (Excel's last day)
_SERIAL_OPEN_END = (pd.Timestamp(OPEN_END_YEAR, 1, 1) - _EXCEL_EPOCH).days
_SERIAL_MAX = 2_958_465
_TIME_SUFFIX = r"[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$"


def _mask(values: pd.Series) -> np.ndarray:
    """A writable boolean array of a (nullable) boolean series, NA as False."""
    return np.array(values.fillna(False), dtype=bool)


@on_distinct
def parse_date(values: pd.Series, *, open_end: bool = False) -> tuple[pd.Series, pd.Series]:
    """Parse dates: dd-mm-jjjj, d-m-jjjj, dd/mm/jjjj, jjjj-mm-dd, jjjjmmdd or Excel serials.

    Only the ASCII digits 0-9 count; a date must exist (no 31-02-2024) and lie between
    :data:`MIN_YEAR` and :data:`OPEN_END_YEAR`. With ``open_end`` (end-date columns) a date
    from :data:`OPEN_END_YEAR` on, such as 31-12-9999, means "no end date": it becomes NaT
    and is not bad; ``open_end_mask`` finds those cells for a note.

    Returns (datetime64[ns] series with NaT, mask of non-empty cells that failed).
    """
    text = as_text(values).str.replace(_TIME_SUFFIX, "", regex=True)
    n = len(text)
    year, month, day = (np.full(n, np.nan) for _ in range(3))
    far = np.zeros(n, dtype=bool)
    pos = np.arange(n)
    for pattern, order in (
        (r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{4}", (2, 1, 0)),
        (r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}", (0, 1, 2)),
    ):
        hit = _mask(text.str.fullmatch(pattern))
        if hit.any():
            parts = text[hit].str.split(r"[-/.]", regex=True, expand=True)
            for target, i in zip((year, month, day), order, strict=True):
                target[pos[hit]] = pd.to_numeric(parts[i]).to_numpy(dtype="float64")
    compact = _mask(text.str.fullmatch(r"[0-9]{8}"))
    if compact.any():
        t = text[compact]
        for target, (a, b) in zip((year, month, day), ((0, 4), (4, 6), (6, 8)), strict=True):
            target[compact] = pd.to_numeric(t.str[a:b]).to_numpy(dtype="float64")
    serial = _mask(text.str.fullmatch(r"[0-9]{4,7}(\.0+)?")) & ~compact
    days = np.full(n, np.nan)
    if serial.any():
        days[serial] = pd.to_numeric(text[serial]).to_numpy(dtype="float64")
        days[(days < 3000) | (days > _SERIAL_MAX)] = np.nan
        far |= days >= _SERIAL_OPEN_END
        days[far] = np.nan
    with np.errstate(invalid="ignore"):
        m = np.where((month >= 1) & (month <= 12), month, 1).astype("int64")
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        last = _DAYS_IN_MONTH[m - 1] + ((m == 2) & leap)
        exists = (month >= 1) & (month <= 12) & (day >= 1) & (day <= last) & (year >= MIN_YEAR)
        far |= exists & (year >= OPEN_END_YEAR)
        ok = exists & (year < OPEN_END_YEAR)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if ok.any():
        built = pd.to_datetime(
            pd.DataFrame({"year": year[ok], "month": month[ok], "day": day[ok]}).astype("int64")
        )
        out.iloc[np.flatnonzero(ok)] = built.to_numpy(dtype="datetime64[ns]")
    good_serial = ~np.isnan(days)
    if good_serial.any():
        out.iloc[np.flatnonzero(good_serial)] = (
            _EXCEL_EPOCH + pd.to_timedelta(days[good_serial], unit="D")
        ).to_numpy(dtype="datetime64[ns]")
    bad = (text != "") & out.isna()
    if open_end:
        bad &= ~pd.Series(far, index=values.index)
    return out, bad


def open_end_mask(values: pd.Series, parsed: pd.Series, bad: pd.Series) -> pd.Series:
    """Cells that :func:`parse_date` with ``open_end=True`` read as "no end date"."""
    return ~blank(values) & parsed.isna() & ~bad


DATE_CHECK = "ongeldige datum"
DATE_FIX = (
    f"Gebruik dd-mm-jjjj (bv. 31-01-2024) met een bestaande datum tussen {MIN_YEAR} en "
    f"{OPEN_END_YEAR}, alleen met de cijfers 0-9"
)
END_DATE_FIX = DATE_FIX + "; laat de cel leeg als er geen einddatum is"


def date_column(
    frame: pd.DataFrame,
    column: str,
    *,
    file: str,
    sheet: str | None,
    problems: Problems,
    open_end: bool = False,
) -> pd.Series:
    """Parse a date column, adding a problem per bad cell.

    With ``open_end`` (end-date columns) sentinels such as 31-12-9999 become NaT and are
    noted once in ``problems.notes`` (controle ``open einddatum``), naming the rows.
    """
    parser = functools.partial(parse_date, open_end=open_end)
    values, bad = parser(frame[column])
    problems.add_rows(
        file,
        frame["bron_rij"],
        frame[column],
        bad,
        column=column,
        check=DATE_CHECK,
        fix=END_DATE_FIX if open_end else DATE_FIX,
        sheet=sheet,
    )
    if open_end:
        sentinel = open_end_mask(frame[column], values, bad)
        if sentinel.any():
            rows = frame["bron_rij"][sentinel]
            problems.note(
                file,
                "open einddatum",
                int(sentinel.sum()),
                f"In kolom '{problems._label(column)}' staan datums vanaf {OPEN_END_YEAR} "
                "(zoals 31-12-9999); die betekenen 'geen einddatum' en zijn als leeg gelezen: "
                f"{rows_text(rows)}.",
            )
    return values


#: Whole digits of an amount or count beyond which precision (and sense) is lost.
MAX_DIGITS = 15
_CURRENCY_START = r"(?i)^([+-]?)(€|eur(o)?)"  # '€ -5', '-€ 5'
_CURRENCY_END = r"(?i)(€|eur(o)?)$"


@on_distinct
def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse amounts in Dutch or plain notation: '€ 1.250.000,00', '1250000', '1.250.000', '12,5'.

    Rules: whitespace is ignored, a currency sign (€, EUR, euro) may lead (after or before
    the sign) or trail, one sign (+/-) may lead; a comma is the decimal mark unless several commas group thousands; dots
    are thousands separators when they group exactly three digits, else the decimal mark.
    Only the ASCII digits 0-9 count, and at most :data:`MAX_DIGITS` whole digits.
    Returns (float series with NaN, mask of non-empty cells that failed).
    """
    if _text_like(values):
        numeric = pd.Series(False, index=values.index)
    else:
        numeric = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    if numeric.any():
        nums = pd.to_numeric(values[numeric].astype(object), errors="coerce").astype("float64")
        out[numeric] = nums.where(nums.abs() < 10.0**MAX_DIGITS)
    text = as_text(values[~numeric])
    if len(text) and text.str.fullmatch(rf"[0-9]{{1,{MAX_DIGITS}}}").all():
        # the common case (coordinates, areas, counts): plain whole numbers only
        out[~numeric] = pd.to_numeric(text).astype("float64")
        return out, pd.Series(False, index=values.index)
    text = (
        text.str.replace(r"\s", "", regex=True)
        .str.replace(_CURRENCY_START, r"\1", regex=True)
        .str.replace(_CURRENCY_END, "", regex=True)
    )
    neg = text.str.match(r"-[^+-]")
    text = text.str.replace(r"^[+-](?=[^+-])", "", regex=True)
    dutch = text.str.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?") | text.str.fullmatch(
        r"[0-9]+,[0-9]*"
    )
    english = text.str.fullmatch(r"[0-9]{1,3}(,[0-9]{3}){2,}(\.[0-9]*)?") | text.str.fullmatch(
        r"[0-9]{1,3}(,[0-9]{3})+\.[0-9]*"
    )
    plain = text.str.fullmatch(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")
    conv = pd.Series(pd.NA, index=text.index, dtype="str")
    conv[dutch] = text[dutch].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    conv[english & ~dutch] = text[english & ~dutch].str.replace(",", "", regex=False)
    conv[plain & ~dutch & ~english] = text[plain & ~dutch & ~english]
    whole = conv.str.replace(r"\..*$", "", regex=True).str.lstrip("0").str.len()
    conv = conv.where(whole.fillna(0) <= MAX_DIGITS)
    nums = pd.to_numeric(conv, errors="coerce").astype("float64")
    nums[neg] = -nums[neg]
    out[~numeric] = nums
    bad = ~blank(values) & out.isna()
    return out, bad


def parse_int(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (Int64); '12.0' is accepted, '12,5' is not."""
    nums, bad = parse_number(values)
    frac = nums.notna() & (nums != np.floor(nums.fillna(0)))
    bad = bad | frac
    out = nums.where(~frac).round().astype("Int64")  # |n| < 10**15: exact in float64
    return out, bad


@on_distinct
def parse_digits(values: pd.Series, width: int) -> tuple[pd.Series, pd.Series]:
    """Identifier of ``width`` digits as string, left-padded with zeros (Excel drops them)."""
    written = as_text(values)
    text = written
    if not (len(text) and text.str.fullmatch(rf"[0-9]{{{width}}}").all()):  # else nothing to clean
        text = text.str.replace(r"\.0+$", "", regex=True).str.replace(r"[\s.\-]", "", regex=True)
    ok = text.str.fullmatch(rf"[0-9]{{1,{width}}}")
    out = text.str.zfill(width).where(ok)
    bad = (written != "") & ~ok  # '.' or '-' is no number, not an empty cell
    return out.astype("str"), bad


@on_distinct
def parse_postcode(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Postcodes normalised to ``1234AB``; returns (str with NA, mask of invalid non-empty)."""
    text = as_text(values).str.upper().str.replace(r"[\s\-]", "", regex=True)
    ok = text.str.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}")
    bad = (text != "") & ~ok
    return text.where(ok).astype("str"), bad


@on_distinct
def parse_code(values: pd.Series) -> pd.Series:
    """Short code or label: stripped text, NA when empty."""
    text = as_text(values)
    return text.where(text != "").astype("str")


@on_distinct
def norm_suffix(values: pd.Series) -> pd.Series:
    """Huisletter/toevoeging normalised for matching: uppercase, stripped, '' when empty."""
    text = as_text(values.fillna("")).str.upper().str.replace(r"^[\s\-/]+|\s+", "", regex=True)
    return text.astype("str")


_TRUE = {"ja", "j", "true", "waar", "yes", "y", "1", "x", "wel"}
_FALSE = {"nee", "n", "false", "onwaar", "no", "0", "niet", "geen"}


@on_distinct
def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ja/nee, j/n, true/false, 1/0 -> boolean (NA when empty)."""
    text = as_text(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    bad = (text != "") & out.isna()
    return out, bad


def excel_rows(frame: pd.DataFrame) -> pd.Series:
    return frame["bron_rij"]


# --------------------------------------------------------------------------- results


@dataclass
class SourceResult:
    """What a reader returns: the validated frame plus what the analyst must know about it.

    ``names`` holds real person names seen in the file (to mask free text elsewhere). It is
    kept in memory only: it is excluded from ``repr`` and never written by bcba.
    """

    bron: str
    frame: pd.DataFrame
    files: list[str]
    rijen_in: int
    lege_rijen: int = 0
    extra_kolommen: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set, repr=False)
    #: findings that did not reject the file, as kwaliteit rows without ``bron``
    #: (see :meth:`Problems.note`): ``codering``, ``open einddatum``, …
    notes: list[dict] = field(default_factory=list)
    #: the delivery's own categories and how they were mapped (partners, survey signals);
    #: see :mod:`bcba.sources.categories`
    categorieen: pd.DataFrame | None = None

    @property
    def rijen_uit(self) -> int:
        return len(self.frame)


def run_schema(
    schema, frame: pd.DataFrame, *, file: str, sheet: str | None, problems: Problems
) -> None:
    """Validate ``frame`` lazily with a pandera schema and add every failure as a problem.

    Failures on a (row, column) that already has a problem (e.g. an unparseable value that
    became NA) are not repeated.
    """
    import pandera.pandas as pa

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        seen = {(p.file, p.row, p.column) for p in problems.items}
        cases = exc.failure_cases
        for case in cases.to_dict("records"):
            column = case.get("column")
            index = case.get("index")
            row = None
            if index is not None and not (isinstance(index, float) and np.isnan(index)):
                try:
                    row = int(frame.loc[index, "bron_rij"])
                except (KeyError, TypeError, ValueError):
                    row = None
            if (file, row, problems._label(column)) in seen:
                continue
            seen.add((file, row, problems._label(column)))
            check = str(case.get("check"))
            if check == "not_nullable":
                check, fix = "verplichte waarde ontbreekt", "Vul deze cel in"
            elif check.startswith("column_in_dataframe"):
                check, fix = "verplichte kolom ontbreekt", "Voeg deze kolom toe"
            elif check.startswith("dtype("):
                check, fix = (
                    f"verkeerd gegevenstype ({check})",
                    "Controleer de waarden in deze kolom",
                )
            else:
                fix = "Corrigeer de waarde in het bronbestand of in een nieuwe export"
            value = case.get("failure_case")
            problems.add(
                file, check, row=row, column=column, value=_display(value), fix=fix, sheet=sheet
            )


def add_reason(reasons: pd.Series, mask: pd.Series, code: str) -> pd.Series:
    """Append a ``;``-joined data-quality reason code where ``mask`` holds."""
    mask = mask.fillna(False).astype(bool)
    joined = reasons.where(reasons == "", reasons + ";") + code
    return reasons.where(~mask, joined).astype("str")


def flag_duplicates(frame: pd.DataFrame, subset: list[str]) -> pd.Series:
    """True for every row after the first with equal values in ``subset`` (NA compares equal)."""
    cols = [c for c in subset if c in frame.columns]
    if not cols or frame.empty:
        return pd.Series(False, index=frame.index)
    return frame[cols].astype("str").fillna("<NA>").duplicated(keep="first")


def finish_frame(frame: pd.DataFrame, file: str, columns: list[str]) -> pd.DataFrame:
    """Order columns, add any missing optional column as NA and the provenance columns."""
    out = frame.copy()
    out.insert(0, "bron_bestand", file)
    for col in columns:
        if col not in out.columns:
            out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
    if "dq_redenen" not in out.columns:
        out["dq_redenen"] = ""
    out["dq_redenen"] = out["dq_redenen"].astype("str")
    ordered = ["bron_bestand", "bron_rij", *columns, "dq_redenen"]
    rest = [c for c in out.columns if c not in ordered]
    return out[ordered + rest]


def address_columns(
    frame: pd.DataFrame, out: dict, *, file: str, sheet: str | None, problems: Problems
) -> None:
    """Parse the shared address fields into ``out`` (postcode invalid -> problem)."""
    rows = frame["bron_rij"]
    if "straat" in frame:
        out["straat"] = parse_code(frame["straat"])
    if "postcode" in frame:
        pc, bad = parse_postcode(frame["postcode"])
        problems.add_rows(
            file,
            rows,
            frame["postcode"],
            bad,
            column="postcode",
            check="ongeldige postcode",
            fix="Schrijf de postcode als 1234AB",
            sheet=sheet,
        )
        out["postcode"] = pc
    if "huisnummer" in frame:
        hn, bad = parse_int(frame["huisnummer"])
        bad = bad | (hn.fillna(1) <= 0)
        problems.add_rows(
            file,
            rows,
            frame["huisnummer"],
            bad,
            column="huisnummer",
            check="ongeldig huisnummer",
            fix="Alleen het nummer (bv. 12); letter en toevoeging in eigen kolommen",
            sheet=sheet,
        )
        out["huisnummer"] = hn.where(~bad)
    for col in ("huisletter", "toevoeging"):
        if col in frame:
            out[col] = parse_code(frame[col])
    if "plaats" in frame:
        out["plaats"] = parse_code(frame["plaats"])


def reader_start(
    path: str | Path,
    *,
    sheet: str | None,
    canonical: list[str],
    required: list[str],
    problems: Problems,
):
    """Read and match headers; returns (raw table, matched frame, extra) or None on failure."""
    raw = read_table(path, sheet=sheet, problems=problems)
    if raw is None:
        return None
    frame, extra = match_columns(
        raw.frame, canonical, file=raw.file, sheet=raw.sheet, problems=problems
    )
    ok = require_columns(frame, required, file=raw.file, sheet=raw.sheet, problems=problems)
    if not ok or problems:
        return None
    if frame.empty:
        problems.add(
            raw.file,
            "bestand bevat geen gegevensrijen",
            row=2,
            sheet=raw.sheet,
            fix="Lever een export met gegevens aan",
        )
        return None
    return raw, frame, extra

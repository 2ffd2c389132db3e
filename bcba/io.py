"""Atomic, owner-only output writing, and the one CSV convention of bcba's outputs.

Every output goes to a temporary file in the target folder first and is moved into place
with :func:`os.replace`, so a crash never leaves a half-written file, and files are created
with mode 0600 (folders 0700) because all outputs are confidential.

Every CSV bcba writes follows one convention (docs/data-dictionary.md, "Uitvoerbestanden"):
``;`` between fields, a decimal comma, UTF-8 with BOM and CRLF line ends, so Dutch Excel opens
it in columns with the right numbers; stable machine column names and ISO dates, so scripts
and later runs read it back. Text that a spreadsheet would run as a formula is neutralised by
:func:`neutralise` (in the CSVs and in the Excel workbook alike); :func:`read_csv` reads these
files back and undoes that.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create a folder (and parents) with owner-only permissions; return it."""
    folder = Path(path)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):
        # mkdir's mode only applies to the leaf with parents=True; set each level explicitly
        created.mkdir(exist_ok=True, mode=DIR_MODE)
        os.chmod(created, DIR_MODE)
    return folder


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it onto ``target``.

    Use for writers that want a file name (GeoPackage, Parquet, PDF)::

        with atomic_path(out / "x.gpkg") as tmp:
            frame.to_file(tmp, layer="a")
    """
    target = Path(target)
    ensure_dir(target.parent)
    # the writer's process id in the name: a file left by a killed run can be told from one
    # another run is writing (remove_stale_temporaries)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.{os.getpid()}-", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers such as GDAL want to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"writer did not create {tmp}")
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


#: A temporary file of :func:`atomic_path` (and a side file such as SQLite's ``-journal``).
_TEMPORARY = re.compile(r"^\..+\.(\d+)-[a-z0-9_]{8}")


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` left in ``folder`` when its process
    was killed (``kill -9`` skips the clean-up); files of live processes stay."""
    from bcba.worker import process_alive  # generic; imports nothing from bcba

    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        match = _TEMPORARY.match(path.name)
        if match is None or not path.is_file() or process_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def write_text(target: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write text atomically with owner-only permissions."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write bytes atomically with owner-only permissions."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


#: The CSV convention of every output (see the module docstring).
CSV_OPTIONS: dict[str, str] = {
    "sep": ";",
    "decimal": ",",
    "encoding": "utf-8-sig",
    "lineterminator": "\r\n",
}
#: Text starting with one of these (after any apostrophes) is neutralised: a spreadsheet
#: would run ``=``, ``+``, ``-`` and ``@`` as a formula, and tab and CR as the start of one.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
#: A neutralised text: the apostrophe :func:`neutralise` put before it.
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")


def _matches(values: pd.Series, pattern: re.Pattern):
    """Which values are text matching ``pattern`` (a boolean array), or None when the
    column holds no text. Arrow's regex runs in C: a city's flags are 100,000 rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # text mixed with numbers
        array = None
    if array is not None and pa.types.is_string(array.type) | pa.types.is_large_string(array.type):
        hit = pc.fill_null(pc.match_substring_regex(array, pattern.pattern), False)
        return hit.to_numpy(zero_copy_only=False)
    if array is not None and not pa.types.is_null(array.type):
        return None
    try:
        # non-text values (numbers in an object column) give NA: not a match
        return values.str.match(pattern, na=False).to_numpy(dtype=bool)
    except AttributeError:
        return None


def _rewrite(frame: pd.DataFrame, pattern: re.Pattern, change) -> pd.DataFrame:
    """``frame`` with ``change`` applied to the texts (cells and column names) that match
    ``pattern``; ``frame`` itself when none does. Numbers are never touched."""
    out = None
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if not (
            pd.api.types.is_object_dtype(values.dtype)
            or pd.api.types.is_string_dtype(values.dtype)
            or isinstance(values.dtype, pd.CategoricalDtype)
        ):
            continue
        dtype = values.dtype if pd.api.types.is_string_dtype(values.dtype) else object
        values = values.astype(object)
        hit = _matches(values, pattern)
        if hit is None:  # an object column without any text
            continue
        if hit.any():
            out = frame.copy() if out is None else out
            changed = values.to_numpy(copy=True)
            changed[hit] = [change(v) for v in changed[hit]]
            out.isetitem(position, pd.Series(changed, index=frame.index, dtype=dtype))
    names = [change(c) if isinstance(c, str) and pattern.match(c) else c for c in frame.columns]
    if names != list(frame.columns):
        out = (frame.copy() if out is None else out).set_axis(names, axis=1)
    return frame if out is None else out


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text that a spreadsheet would run as a formula made inert.

    A text cell (or column name) that starts with ``=``, ``+``, ``-``, ``@``, tab or CR
    (after any apostrophes) gets a leading apostrophe, so ``=HYPERLINK(...)`` is written as
    ``'=HYPERLINK(...)``. Numbers are never changed (``-1`` stays a number; the text ``"-1"``
    becomes ``'-1``). Apostrophes already present are kept and one more is added, so
    :func:`unneutralise` restores every text exactly. The CSV writer and the Excel workbook
    both use this function. ``frame`` is not modified.
    """
    return _rewrite(frame, _FORMULA, lambda text: "'" + text)


def unneutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise`: drop the apostrophe it put before a text."""
    return _rewrite(frame, _NEUTRALISED, lambda text: text[1:])


def write_csv(frame: pd.DataFrame, target: str | os.PathLike, **overrides) -> Path:
    """Write a table atomically and owner-only in the output convention (:data:`CSV_OPTIONS`),
    with formula-like text neutralised (:func:`neutralise`); no index unless given.

    ``overrides`` are :meth:`pandas.DataFrame.to_csv` options that replace the convention;
    only files that imitate someone else's format (the synthetic raw extracts) use them.
    """
    options = {**CSV_OPTIONS, "index": False, **overrides}
    if options.pop("index"):
        frame = frame.reset_index()
    with atomic_path(target) as tmp:
        neutralise(frame).to_csv(tmp, index=False, **options)
    return Path(target)


def read_csv(source: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """Read a CSV that bcba wrote (:func:`write_csv`), undoing the neutralisation.

    Files in the convention start with a UTF-8 byte order mark; files of runs before it
    (comma-separated, decimal point, no mark) are read too, so a comparison with an older
    run still works. ``kwargs`` go to :func:`pandas.read_csv` (``dtype``, ``usecols``, ...).
    """
    with open(source, "rb") as fh:
        current = fh.read(3) == b"\xef\xbb\xbf"
    options = (
        {"sep": CSV_OPTIONS["sep"], "decimal": CSV_OPTIONS["decimal"]}
        if current
        else {"sep": ",", "decimal": "."}
    )
    frame = pd.read_csv(source, encoding="utf-8-sig", **{**options, **kwargs})
    return unneutralise(frame)

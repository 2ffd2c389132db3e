"""Atomic, owner-only output writing.

Every output goes to a temporary file in the target folder first and is moved into place
with :func:`os.replace`, so a crash never leaves a half-written file, and files are created
with mode 0600 (folders 0700) because all outputs are confidential.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent
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


def write_csv(frame, target: str | os.PathLike, **kwargs) -> Path:
    """Write a DataFrame as UTF-8 CSV atomically (index off unless given)."""
    kwargs.setdefault("index", False)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, **kwargs)
    return Path(target)

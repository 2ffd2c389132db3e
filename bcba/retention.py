"""Retention: remove processed data and reports of a municipality after N days.

The privacy protocol allows keeping derived personal data only as long as needed.
:func:`opschonen` removes

* report folders ``<reports_root>/<GMxxxx>_<naam>/<YYYY-MM-DD>[...]/`` whose date in the
  folder name is more than N days ago, and
* entries (files or folders) in ``<processed_root>/<GMxxxx>/`` whose newest modification
  time is more than N days ago,

and records what was removed in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
from pathlib import Path

from bcba import audit
from bcba.errors import ConfigError

log = logging.getLogger(__name__)

_DATE_FOLDER = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _newest_mtime(path: Path) -> float:
    """Newest modification time of a file, or of anything inside a folder."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            newest = max(newest, child.lstat().st_mtime)
    return newest


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _old_reports(gemeente: str, root: Path, cutoff: dt.date) -> list[Path]:
    found: list[Path] = []
    if not root.is_dir():
        return found
    for area in sorted(root.iterdir()):
        if not area.is_dir() or area.is_symlink():
            continue
        if not (area.name == gemeente or area.name.startswith(f"{gemeente}_")):
            continue
        for run in sorted(area.iterdir()):
            m = _DATE_FOLDER.match(run.name)
            if not run.is_dir() or run.is_symlink() or m is None:
                continue
            try:
                day = dt.date.fromisoformat(m.group(1))
            except ValueError:
                log.warning("map %s heeft geen geldige datum in de naam; overgeslagen", run)
                continue
            if day < cutoff:
                found.append(run)
    return found


def _old_processed(gemeente: str, root: Path, cutoff_ts: float) -> list[Path]:
    folder = root / gemeente
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if _newest_mtime(p) < cutoff_ts]


def opschonen(
    gemeente: str,
    *,
    ouder_dan_dagen: int,
    processed_root: str | os.PathLike | None = None,
    reports_root: str | os.PathLike | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    audit_log: str | os.PathLike | None = None,
) -> list[Path]:
    """Remove processed data and reports of one municipality older than N days.

    Parameters
    ----------
    gemeente
        Municipality code ``GMxxxx``; only its folders are touched.
    ouder_dan_dagen
        Remove what is more than this many days old (>= 0).
    processed_root, reports_root
        Default :func:`bcba.config.processed_dir` and :func:`bcba.config.reports_dir`.
    dry_run
        Only list what would be removed (nothing removed, nothing audited).
    today
        Reference date (default today); report folder dates are compared with it.
    audit_log
        Audit log path; default :func:`bcba.audit.default_log_path`.

    Returns
    -------
    list[Path]
        What was (or, with ``dry_run``, would be) removed.
    """
    from bcba import config

    code = str(gemeente).strip().upper()
    if not re.fullmatch(r"GM\d{4}", code):
        raise ConfigError(f"gemeente moet de vorm GMxxxx hebben, niet {gemeente!r}")
    if (
        isinstance(ouder_dan_dagen, bool)
        or not isinstance(ouder_dan_dagen, int)
        or ouder_dan_dagen < 0
    ):
        raise ConfigError(
            f"ouder_dan_dagen moet een geheel getal >= 0 zijn, niet {ouder_dan_dagen!r}"
        )
    processed = Path(processed_root) if processed_root is not None else config.processed_dir()
    reports = Path(reports_root) if reports_root is not None else config.reports_dir()
    now = dt.datetime.now() if today is None else dt.datetime.combine(today, dt.time())
    today = now.date()
    cutoff_day = today - dt.timedelta(days=ouder_dan_dagen)
    cutoff_ts = (now - dt.timedelta(days=ouder_dan_dagen)).timestamp()
    targets = _old_reports(code, reports, cutoff_day) + _old_processed(code, processed, cutoff_ts)
    if dry_run:
        log.info(
            "opschonen (proef): %d map(pen)/bestand(en) zouden worden verwijderd", len(targets)
        )
        return targets
    removed: list[Path] = []
    for target in targets:
        _remove(target)
        removed.append(target)
        log.info("verwijderd: %s", target)
    audit.record(
        "opschonen",
        parameters={
            "gemeente": code,
            "ouder_dan_dagen": ouder_dan_dagen,
            "peildatum": today.isoformat(),
            "verwijderd": [str(p) for p in removed],
            "aantal_verwijderd": len(removed),
        },
        path=audit_log,
    )
    return removed

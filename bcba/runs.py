"""Runs: the validated configuration of a run, and the folders runs write into.

A run folder is built under a temporary name beside its final place and renamed when the
run succeeds, so a folder with a report is always a complete run (it holds
:data:`RUN_MARKER`). A failed or killed run leaves only a folder marked
:data:`INCOMPLETE_MARKER` (with a debug log for the analyst), never half a report. A lock
refuses a second run into the same folder, and ``--out`` must be empty or an earlier run
folder, so a run never mixes its files with someone else's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from bcba import config
from bcba.config import RunConfig
from bcba.errors import ConfigError, MissingInputError
from bcba.reference import resolve_gemeente

log = logging.getLogger(__name__)


def _as_date(value: str | dt.date | None, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    raise ConfigError(f"{what}: ongeldige datum {value!r}; gebruik jjjj-mm-dd")


def make_run_config(
    *,
    gemeente: str | list[str],
    data_dir: str | Path | list | None = None,
    output_dir: str | Path | None = None,
    periode: tuple[dt.date | str | None, dt.date | str | None] | None = None,
    ontvanger: str = "Burgemeester",
    rapport_id: str = "",
    thema_config: str | Path | None = None,
    tegel_url: str | None = None,
    today: dt.date | None = None,
    gebied: list[str] | None = None,
    gebied_bestand: str | Path | None = None,
    gebied_naam: str = "",
    knooppunt_sbi: list[str] | None = None,
    knooppunt_naam: str = "",
) -> RunConfig:
    """Resolve defaults (folders, period, report id) into a validated :class:`RunConfig`.

    ``gemeente`` may name several municipalities (a cluster analysed as one). Their inputs
    sit in one folder (``data_dir``, or ``data/raw/<GMxxxx+GMyyyy>``) or in one folder per
    municipality (a list, or ``data/raw/<GMxxxx>`` of each).
    """
    from bcba.privacy import new_report_id

    gem = resolve_gemeente(gemeente)
    today = today or dt.date.today()
    default_start, default_end = config.default_period(today)
    start = _as_date(periode[0], "periode_start") if periode else None
    end = _as_date(periode[1], "periode_eind") if periode else None
    folders = _input_folders(gem, data_dir)
    absent = [f for f in folders if not f.is_dir()]
    if absent:
        raise MissingInputError(
            f"Invoermap {', '.join(map(str, absent))} bestaat niet. Zet de extracten daar neer, of "
            f"maak demodata met 'bcba demodata --gemeente {gem.codes[0]}'."
        )
    out = (
        Path(output_dir)
        if output_dir not in (None, "")
        else new_run_folder(config.reports_dir() / gem.slug)
    )
    theme_path = Path(thema_config) if thema_config not in (None, "") else None
    if theme_path is not None and not theme_path.is_file():
        raise MissingInputError(f"Thema-configuratie {theme_path} bestaat niet.")
    area_file = Path(gebied_bestand) if gebied_bestand not in (None, "") else None
    if area_file is not None and not area_file.is_file():
        raise MissingInputError(f"Gebiedsbestand {area_file} bestaat niet.")
    return RunConfig(
        gemeente=gem.code,
        data_dir=folders[0].resolve(),
        data_dirs=[f.resolve() for f in folders],
        output_dir=out.resolve(),
        periode_start=start or default_start,
        periode_eind=end or default_end,
        ontvanger=ontvanger or "Burgemeester",
        rapport_id=rapport_id or new_report_id(gem.codes[0], today),
        thema_config=theme_path,
        tegel_url=tegel_url or None,
        gebied=list(gebied or []),
        gebied_bestand=area_file.resolve() if area_file is not None else None,
        gebied_naam=gebied_naam,
        knooppunt_sbi=list(knooppunt_sbi or []),
        knooppunt_naam=knooppunt_naam,
    )


def _input_folders(gem, data_dir) -> list[Path]:
    if isinstance(data_dir, list | tuple):
        return [Path(d) for d in data_dir]
    if data_dir not in (None, ""):
        return [Path(data_dir)]
    joint = config.raw_dir() / gem.code
    if not gem.is_cluster or joint.is_dir():
        return [joint]
    return [config.raw_dir() / code for code in gem.codes]


#: Files only the synthetic generator writes into a raw folder.
DEMO_MARKERS = ("DEMO_SYNTHETISCH.txt", "planted.json")


def is_demo_data(folder: str | Path | list) -> bool:
    """Whether ``folder`` (or any of several) holds generated (synthetic) demo data: the
    generator leaves a marker."""
    folders = folder if isinstance(folder, list | tuple) else [folder]
    return any((Path(f) / name).is_file() for f in folders for name in DEMO_MARKERS)


#: Written into a run folder when the run completed; its presence makes a folder a run.
RUN_MARKER = "bcba-run.json"
#: Written into the folder a failed or killed run leaves behind.
INCOMPLETE_MARKER = "ONVOLLEDIG.txt"
#: The traceback of a failed run (owner-only), for the analyst or the developers.
DEBUG_LOG = "debug.log"
_BUILDING = ".bezig-"


def new_run_folder(base: Path, *, now: dt.datetime | None = None) -> Path:
    """A new folder name under ``base`` for a run started ``now``: ``2026-12-03_1430``,
    with ``-2``, ``-3``… when that name is taken (reruns keep their own folder)."""
    now = now or dt.datetime.now()
    stem = f"{now:%Y-%m-%d_%H%M}"
    candidate = base / stem
    n = 2
    while candidate.exists() or _building_name(candidate).exists():
        candidate = base / f"{stem}-{n}"
        n += 1
    return candidate


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` was written by a bcba run (complete or marked incomplete)."""
    return (folder / RUN_MARKER).is_file() or (folder / INCOMPLETE_MARKER).is_file()


def is_complete_run(folder: Path) -> bool:
    """Whether ``folder`` holds a completed run (runs of bcba before 0.3 have no marker but
    their last two files, ``LEESMIJ.txt`` and ``looptijden.json``)."""
    if (folder / INCOMPLETE_MARKER).exists():
        return False
    legacy = (folder / "LEESMIJ.txt").is_file() and (folder / "looptijden.json").is_file()
    return (folder / RUN_MARKER).is_file() or legacy


def completed_runs(base: Path) -> list[Path]:
    """The completed run folders directly under ``base``, oldest first."""
    if not base.is_dir():
        return []
    return sorted(
        (
            p
            for p in base.iterdir()
            if p.is_dir() and not p.name.startswith(".") and is_complete_run(p)
        ),
        key=lambda p: (_run_started(p), p.name),
    )


def _run_started(folder: Path) -> str:
    try:
        return str(json.loads((folder / RUN_MARKER).read_text(encoding="utf-8")).get("gestart", ""))
    except (OSError, ValueError):
        return ""


def mark_complete(folder: Path, *, started: dt.datetime | None = None) -> Path:
    """Write :data:`RUN_MARKER` into ``folder``: from now on it counts as a completed run."""
    now = dt.datetime.now()
    marker = {
        "gestart": (started or now).isoformat(timespec="seconds"),
        "voltooid": now.isoformat(timespec="seconds"),
        "status": "voltooid",
    }
    path = Path(folder) / RUN_MARKER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        json.dump(marker, handle)
    return path


def check_output_folder(out: Path) -> None:
    """Refuse an ``--out`` that holds anything but an earlier bcba run (its files would be
    mixed with the report and end up in its audit entry and leak check)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(
            f"De uitvoermap {out} is een bestand, geen map. Kies een nieuwe of lege map."
        )
    if any(out.iterdir()) and not is_run_folder(out):
        raise ConfigError(
            f"De uitvoermap {out} is niet leeg en is geen eerdere bcba-run. Kies een nieuwe of lege map "
            "(of laat --out weg: dan krijgt elke run een eigen map met datum en tijd)."
        )


def _building_name(out: Path) -> Path:
    return out.with_name(f"{_BUILDING}{out.name}")


def _lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


@contextlib.contextmanager
def _try_lock(out: Path) -> Iterator[bool]:
    """Hold the lock of run folder ``out`` if no live process holds it (yields whether it
    does). The lock dies with its process, even after ``kill -9``: a run whose lock is free
    has no owner left, whatever became of its process id."""
    fd = os.open(_lock_path(out), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # the lock file stays: removing it would let two runs lock two files


def _mark_incomplete(folder: Path, target: Path, reason: str) -> Path:
    """Empty ``folder`` but for its debug log, mark it incomplete and move it to ``target``."""
    for item in folder.iterdir():
        if item.name == DEBUG_LOG:
            continue
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
    text = (
        "ONVOLLEDIG – deze run is niet afgerond.\n"
        f"Reden: {reason}\n"
        f"Tijdstip: {dt.datetime.now():%d-%m-%Y %H:%M}\n"
        "Er staat geen rapport in deze map; start de run opnieuw. "
        f"Technische details (voor beheer) staan in {DEBUG_LOG}, als die er is.\n"
    )
    fd = os.open(folder / INCOMPLETE_MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if target.exists():
        target = target.with_name(f"{target.name}-onvolledig")
        n = 2
        while target.exists():
            target = target.with_name(f"{target.name.rsplit('-onvolledig', 1)[0]}-onvolledig-{n}")
            n += 1
    os.replace(folder, target)
    return target


def remove_stale_runs(base: str | Path) -> list[Path]:
    """Mark the half-built run folders of killed runs under ``base`` as incomplete.

    A folder counts as abandoned when no process holds its lock (a live run holds it from
    before the folder exists until it is put in place).
    """
    base = Path(base)
    marked = []
    if not base.is_dir():
        return marked
    for folder in base.glob(f"{_BUILDING}*"):
        final = folder.with_name(folder.name[len(_BUILDING) :])
        with _try_lock(final) as free:
            if free and folder.is_dir():  # another run may have marked it meanwhile
                marked.append(
                    _mark_incomplete(folder, final, "de run is afgebroken (proces gestopt)")
                )
    return marked


@contextlib.contextmanager
def run_folder(out: Path) -> Iterator[Path]:
    """Build a run in a temporary folder beside ``out`` and put it in place on success.

    Yields the folder to write into. On success it gets :data:`RUN_MARKER` and replaces
    ``out`` (an earlier run there is removed); on failure everything but the debug log is
    removed and the folder is left marked :data:`INCOMPLETE_MARKER` (beside an earlier
    complete run, which stays). Raises :class:`~bcba.errors.ConfigError` when another run
    writes into ``out`` now.
    """
    from bcba.io import ensure_dir

    out = Path(out)
    check_output_folder(out)
    parent = ensure_dir(out.parent)
    remove_stale_runs(parent)
    with _try_lock(out) as free:
        if not free:
            raise ConfigError(
                f"Er loopt al een run naar {out}. Wacht tot die klaar is of kies een andere "
                "uitvoermap."
            )
        building = _building_name(out)
        if building.exists():
            shutil.rmtree(building)
        building.mkdir(mode=0o700)
        started = dt.datetime.now()
        try:
            yield building
        except BaseException as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            try:
                _mark_incomplete(building, out, reason)
            except OSError as mark_exc:  # never hide the run's own failure
                log.error("run niet als onvolledig gemarkeerd: %s", mark_exc)
            raise
        marker = {
            "gestart": started.isoformat(timespec="seconds"),
            "voltooid": dt.datetime.now().isoformat(timespec="seconds"),
            "status": "voltooid",
        }
        fd_marker = os.open(building / RUN_MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd_marker, "w", encoding="utf-8") as handle:
            json.dump(marker, handle)
        if out.exists():
            old = out.with_name(f".{out.name}.oud-{os.getpid()}")
            os.replace(out, old)
            os.replace(building, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(building, out)

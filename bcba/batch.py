"""Run the B-CBA for several municipalities at once (``bcba batch``).

Every requested municipality that has a data folder is run in its own worker process
(:class:`concurrent.futures.ProcessPoolExecutor`); a municipality that fails does not stop
the others. The result is a Dutch summary table with one row per municipality.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd

from bcba import config
from bcba.errors import BcbaError, ConfigError
from bcba.reference import gemeenten as _all_gemeenten
from bcba.reference import resolve_gemeente

log = logging.getLogger(__name__)

#: Columns of the summary table returned by :func:`run_batch`.
SUMMARY_COLUMNS = ["gemeente", "naam", "status", "reden", "duur_s", "rapport"]
KLAAR, FOUT, OVERGESLAGEN = "klaar", "fout", "overgeslagen"

#: ``runner(gemeente, data_dir, output_dir, periode, pdf) -> Path`` of the HTML report.
Runner = Callable[[str, Path, Path, tuple | None, bool], Path]


def has_data(folder: Path) -> bool:
    """Whether a raw folder holds at least the BAG address extract (``bag_adressen.*``)."""
    return folder.is_dir() and any(folder.glob("bag_adressen.*"))


def report_runner(
    gemeente: str, data_dir: Path, output_dir: Path, periode: tuple | None, pdf: bool
) -> Path:
    """The default runner: :func:`bcba.pipeline.run_report` for one municipality."""
    from bcba.pipeline import make_run_config, run_report

    cfg = make_run_config(
        gemeente=gemeente, data_dir=data_dir, output_dir=output_dir, periode=periode
    )
    return run_report(cfg, pdf=pdf).html


def _no_second_process() -> None:
    """Batch worker start-up: runs (and their notebook kernels) use one process each."""
    os.environ["BCBA_TWEEDE_PROCES"] = "0"


def _run_one(task: dict, runner: Runner) -> dict:
    """Run one municipality in a worker; never raises (the row says what went wrong)."""
    started = time.perf_counter()
    row = {"gemeente": task["gemeente"], "naam": task["naam"], "reden": "", "rapport": ""}
    try:
        html = runner(
            task["gemeente"], task["data_dir"], task["output_dir"], task["periode"], task["pdf"]
        )
        row.update(status=KLAAR, rapport=str(html))
    except BcbaError as exc:
        row.update(status=FOUT, reden=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken municipality must not stop the batch
        row.update(status=FOUT, reden=f"interne fout: {type(exc).__name__}: {exc}")
    row["duur_s"] = round(time.perf_counter() - started, 1)
    return row


def select_gemeenten(
    gemeenten: Sequence[str] | None, *, regio: bool, data_root: Path
) -> list[tuple[str, str]]:
    """Resolve the requested municipalities to ``(code, naam)`` pairs.

    ``regio=True`` takes every municipality of :func:`bcba.reference.gemeenten` with a data
    folder holding ``bag_adressen``; otherwise the given names/codes (duplicates removed).

    Raises
    ------
    ConfigError
        When neither or both of ``gemeenten`` and ``regio`` are given.
    UnknownMunicipalityError
        For a name or code that does not resolve.
    """
    if regio and gemeenten:
        raise ConfigError("Geef --gemeenten of --regio, niet allebei.")
    if regio:
        table = _all_gemeenten()
        return [
            (code, naam)
            for code, naam in zip(table["gemeentecode"], table["gemeentenaam"], strict=True)
            if has_data(data_root / code)
        ]
    if not gemeenten:
        raise ConfigError(
            "Geen gemeenten opgegeven: gebruik --gemeenten GM0489 GM0597 ... of --regio."
        )
    resolved = [resolve_gemeente(g) for g in gemeenten]
    return list(dict.fromkeys((g.code, g.naam) for g in resolved))


def run_batch(
    *,
    gemeenten: Sequence[str] | None = None,
    regio: bool = False,
    workers: int = 2,
    periode: tuple[dt.date | str, dt.date | str] | None = None,
    pdf: bool = True,
    regio_rapport: bool = False,
    data_root: str | Path | None = None,
    output_root: str | Path | None = None,
    progress: bool = False,
    runner: Runner | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Make the B-CBA for several municipalities in parallel.

    Parameters
    ----------
    gemeenten
        Codes or names; or ``regio=True`` for every municipality of the region with data.
    workers
        Number of worker processes (each runs one municipality at a time).
    periode
        (start, end) of the analysis; default :func:`bcba.config.default_period`.
    pdf
        Also print the PDF (needs Chromium).
    regio_rapport
        Afterwards render the regional overview from the runs just made
        (:func:`bcba.regional.run_regional_report`); it is added as a last row ``REGIO``.
    data_root
        Folder with one raw folder per municipality (default ``data/raw``).
    output_root
        Folder under which ``<GMxxxx>_<naam>/<date>/`` is written (default ``reports``).
    progress
        Show a rich progress bar (the CLI does; library use stays silent).
    runner
        ``runner(gemeente, data_dir, output_dir, periode, pdf) -> Path`` run per municipality;
        default :func:`report_runner`. Must be picklable (a module-level function).

    Returns
    -------
    DataFrame
        ``gemeente, naam, status (klaar/fout/overgeslagen), reden, duur_s, rapport``.

    Raises
    ------
    ConfigError
        For ``workers < 1`` or no municipalities requested.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers moet een geheel getal van minstens 1 zijn, niet {workers!r}")
    data_root = Path(data_root) if data_root is not None else config.raw_dir()
    output_root = Path(output_root) if output_root is not None else config.reports_dir()
    runner = runner or report_runner
    day = (today or dt.date.today()).isoformat()
    selected = select_gemeenten(gemeenten, regio=regio, data_root=data_root)

    rows: list[dict] = []
    tasks: list[dict] = []
    for code, naam in selected:
        folder = data_root / code
        if not has_data(folder):
            rows.append(
                {
                    "gemeente": code,
                    "naam": naam,
                    "status": OVERGESLAGEN,
                    "reden": f"geen invoer: {folder} bevat geen bag_adressen",
                    "duur_s": 0.0,
                    "rapport": "",
                }
            )
            continue
        slug = resolve_gemeente(code).slug
        tasks.append(
            {
                "gemeente": code,
                "naam": naam,
                "data_dir": folder,
                "output_dir": output_root / slug / day,
                "periode": tuple(periode) if periode is not None else None,
                "pdf": pdf,
            }
        )
    log.info("batch: %d gemeenten, %d overgeslagen, %d workers", len(tasks), len(rows), workers)

    bar = _Bar(progress, total=len(tasks))
    if tasks:
        n_workers = min(workers, len(tasks))
        # several municipalities at once already use the cores: no second process per run
        with ProcessPoolExecutor(
            max_workers=n_workers, initializer=_no_second_process if n_workers > 1 else None
        ) as pool:
            futures = {pool.submit(_run_one, task, runner): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    row = future.result()
                except Exception as exc:  # noqa: BLE001 - a crashed worker (e.g. out of memory)
                    row = {
                        "gemeente": task["gemeente"],
                        "naam": task["naam"],
                        "status": FOUT,
                        "reden": f"interne fout: {type(exc).__name__}: {exc}",
                        "duur_s": float("nan"),
                        "rapport": "",
                    }
                rows.append(row)
                bar.advance(f"{task['naam']}: {row['status']}")
    bar.close()

    order = {code: i for i, (code, _) in enumerate(selected)}
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    summary = summary.sort_values("gemeente", key=lambda s: s.map(order)).reset_index(drop=True)
    if regio_rapport:
        summary = pd.concat(
            [summary, pd.DataFrame([_regional_row(output_root)], columns=SUMMARY_COLUMNS)],
            ignore_index=True,
        )
    return summary


def _regional_row(output_root: Path) -> dict:
    from bcba.regional import run_regional_report

    started = time.perf_counter()
    row = {"gemeente": "REGIO", "naam": "Regionaal overzicht", "reden": "", "rapport": ""}
    try:
        row.update(status=KLAAR, rapport=str(run_regional_report(results_root=output_root)))
    except BcbaError as exc:
        row.update(status=FOUT, reden=str(exc))
    except Exception as exc:  # noqa: BLE001 - the municipal reports are done; report, do not crash
        row.update(status=FOUT, reden=f"interne fout: {type(exc).__name__}: {exc}")
    row["duur_s"] = round(time.perf_counter() - started, 1)
    return row


class _Bar:
    """A rich progress bar over municipalities; silent unless enabled."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._progress = None
        if enabled and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
            )
            self._progress.start()
            self._task = self._progress.add_task("Gemeenten", total=total)

    def advance(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

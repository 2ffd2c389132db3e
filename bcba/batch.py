"""Run the B-CBA for several municipalities at once (``bcba batch``).

Every requested municipality that has a data folder is one task: on this machine in a
process pool (:class:`concurrent.futures.ProcessPoolExecutor`), or with ``scheduler`` on a
dask.distributed cluster (a :class:`~distributed.LocalCluster` for ``"lokaal"``, else the
scheduler at that address). A municipality that fails does not stop the others; both ways
give the same summary table, one row per municipality. Afterwards the regional overview and
the national anonymised export can be built from the runs that completed.

On a cluster of several machines every worker must see the same paths (data, reports,
notebooks) and the same pseudonymisation key; see the README ("Batch op een dask-cluster").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
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
#: ``scheduler`` value for a dask cluster on this machine.
LOCAL = "lokaal"
#: Seconds to wait for a remote dask scheduler before giving up with a Dutch error.
SCHEDULER_TIMEOUT_S = 20

#: ``runner(gemeente, data_dir, output_dir, periode, pdf) -> Path`` of the HTML report.
Runner = Callable[[str, Path, Path, tuple | None, bool], Path]
#: ``on_progress(text, done, total)``: called in this process after each municipality.
Progress = Callable[[str, int, int], None]


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


def _run_one(task: dict, runner: Runner) -> dict:
    """Run one municipality in a worker; never raises (the row says what went wrong).

    With ``task["tweede_proces"]`` false the run uses one process (other tasks use the
    other cores). The CLI's progress file is not passed on: parallel runs would mix their
    stages; the batch reports per municipality instead.
    """
    from bcba.progress import ENV as PROGRESS_ENV

    saved = {name: os.environ.get(name) for name in ("BCBA_TWEEDE_PROCES", PROGRESS_ENV)}
    os.environ.pop(PROGRESS_ENV, None)
    if not task.get("tweede_proces", True):
        os.environ["BCBA_TWEEDE_PROCES"] = "0"
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
        row.update(status=FOUT, reden=_internal(exc))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    row["duur_s"] = round(time.perf_counter() - started, 1)
    return row


def _internal(exc: BaseException) -> str:
    """The reason of an unexpected error; an error raised inside the report notebook
    (papermill's ``ename``/``evalue``) is named by the error inside, and a bcba error
    there gives its own Dutch message."""
    from bcba import errors

    name, text = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if name is None or text is None:
        return f"interne fout: {type(exc).__name__}: {exc}"
    inner = getattr(errors, str(name), None)
    if isinstance(inner, type) and issubclass(inner, errors.BcbaError):
        return str(text)
    return f"interne fout in het rapport: {name}: {text}"


def _crashed(task: dict, exc: BaseException) -> dict:
    """The row of a task whose worker died (out of memory, killed) instead of returning."""
    return {
        "gemeente": task["gemeente"],
        "naam": task["naam"],
        "status": FOUT,
        "reden": _internal(exc),
        "duur_s": float("nan"),
        "rapport": "",
    }


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
    scheduler: str | None = None,
    periode: tuple[dt.date | str, dt.date | str] | None = None,
    pdf: bool = True,
    regio_rapport: bool = False,
    landelijk: str | Path | None = None,
    drempel: int = 10,
    data_root: str | Path | None = None,
    output_root: str | Path | None = None,
    on_progress: Progress | None = None,
    runner: Runner | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Make the B-CBA for several municipalities in parallel.

    Parameters
    ----------
    gemeenten
        Codes or names; or ``regio=True`` for every municipality of the region with data.
    workers
        Municipalities at a time on this machine: worker processes of the pool, or of the
        local dask cluster (``scheduler="lokaal"``). Ignored for a remote cluster.
    scheduler
        ``None``: the local process pool. ``"lokaal"``: a dask ``LocalCluster`` with
        ``workers`` single-threaded workers. Else the address of a running dask scheduler
        (``tcp://host:8786``, ``tls://...``; TLS settings from the dask configuration).
    periode
        (start, end) of the analysis; default :func:`bcba.config.default_period`.
    pdf
        Also print the PDF (needs Chromium on every worker).
    regio_rapport
        Afterwards render the regional overview from the runs that completed
        (:func:`bcba.regional.run_regional_report`); added as a last row ``REGIO``.
    landelijk
        Afterwards write the national anonymised export of the municipalities whose run
        completed to this CSV (:func:`bcba.pipeline.export_national`); a row ``LANDELIJK``.
        Needs ``output_root`` to be the reports folder the export reads.
    drempel
        Threshold of the national export.
    data_root
        Folder with one raw folder per municipality (default ``data/raw``).
    output_root
        Folder under which ``<GMxxxx>_<naam>/<date>/`` is written (default ``reports``).
    on_progress
        ``on_progress(text, done, total)`` after each municipality (the CLI shows it).
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
        For ``workers < 1``, no municipalities requested, an unreachable scheduler, or a
        national export with an ``output_root`` other than the reports folder.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers moet een geheel getal van minstens 1 zijn, niet {workers!r}")
    data_root = Path(data_root) if data_root is not None else config.raw_dir()
    output_root = Path(output_root) if output_root is not None else config.reports_dir()
    if landelijk is not None and output_root.resolve() != config.reports_dir().resolve():
        raise ConfigError(
            f"De landelijke export leest de runs in {config.reports_dir()}; schrijf de batch "
            f"daarheen (niet naar {output_root}) of maak de export later met 'bcba landelijk'."
        )
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
    where = "pool" if scheduler is None else f"dask ({scheduler})"
    log.info("batch: %d gemeenten, %d overgeslagen, %s", len(tasks), len(rows), where)

    if tasks:
        run = _on_pool if scheduler is None else _on_dask
        for done, (task, row) in enumerate(run(tasks, runner, workers, scheduler), start=1):
            rows.append(row)
            if on_progress is not None:
                on_progress(f"{task['naam']}: {row['status']}", done, len(tasks))

    order = {code: i for i, (code, _) in enumerate(selected)}
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    summary = summary.sort_values("gemeente", key=lambda s: s.map(order)).reset_index(drop=True)
    complete = {
        task["gemeente"]: task["output_dir"]
        for task in tasks
        if (summary.loc[summary["gemeente"] == task["gemeente"], "status"] == KLAAR).all()
    }
    extra = []
    if regio_rapport:
        extra.append(_regional_row(output_root, complete))
    if landelijk is not None:
        extra.append(_national_row(complete, Path(landelijk), drempel))
    if extra:
        summary = pd.concat([summary, pd.DataFrame(extra, columns=SUMMARY_COLUMNS)])
    return summary.reset_index(drop=True)


def _on_pool(
    tasks: list[dict], runner: Runner, workers: int, scheduler: None
) -> Iterator[tuple[dict, dict]]:
    """``(task, row)`` as the municipalities finish in a local process pool."""
    n_workers = min(workers, len(tasks))
    # several municipalities at once already use the cores: no second process per run
    tasks = [dict(task, tweede_proces=n_workers == 1) for task in tasks]
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        futures = {pool.submit(_run_one, task, runner): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                yield task, future.result()
            except Exception as exc:  # noqa: BLE001 - a crashed worker (e.g. out of memory)
                yield task, _crashed(task, exc)


def _on_dask(
    tasks: list[dict], runner: Runner, workers: int, scheduler: str
) -> Iterator[tuple[dict, dict]]:
    """``(task, row)`` as the municipalities finish on a dask cluster, one task each."""
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler == LOCAL:
        cluster = LocalCluster(
            n_workers=min(workers, len(tasks)),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # nothing listens beyond this machine
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"Kan de dask-scheduler op {scheduler!r} niet bereiken ({exc}). Controleer het "
                "adres (bv. tcp://10.0.0.5:8786) en of de scheduler draait."
            ) from None
    try:
        slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        # one task slot in the whole cluster: the run may use a second process, as in a pool
        tasks = [dict(task, tweede_proces=slots <= 1) for task in tasks]
        batch_id = secrets.token_hex(4)
        futures = {
            client.submit(
                _run_one, task, runner, key=f"bcba-{batch_id}-{task['gemeente']}", pure=False
            ): task
            for task in tasks
        }
        for future in dask_completed(list(futures)):
            task = futures[future]
            try:
                yield task, future.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died (KilledWorker)
                yield task, _crashed(task, exc)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _extra_row(gemeente: str, naam: str, make: Callable[[], Path]) -> dict:
    """A summary row for a step after the municipal runs; never raises."""
    started = time.perf_counter()
    row = {"gemeente": gemeente, "naam": naam, "reden": "", "rapport": ""}
    try:
        row.update(status=KLAAR, rapport=str(make()))
    except BcbaError as exc:
        row.update(status=FOUT, reden=str(exc))
    except Exception as exc:  # noqa: BLE001 - the municipal reports are done; report, do not crash
        row.update(status=FOUT, reden=_internal(exc))
    row["duur_s"] = round(time.perf_counter() - started, 1)
    return row


def _regional_row(output_root: Path, complete: dict[str, Path]) -> dict:
    from bcba.regional import run_regional_report

    def make() -> Path:
        if not complete:
            raise ConfigError("geen gelukte runs in deze batch")
        return run_regional_report(results_root=output_root, folders=complete)

    return _extra_row("REGIO", "Regionaal overzicht", make)


def _national_row(complete: dict[str, Path], out: Path, threshold: int) -> dict:
    from bcba.pipeline import export_national

    def make() -> Path:
        if not complete:
            raise ConfigError("geen gelukte runs in deze batch")
        return export_national(sorted(complete), out=out, threshold=threshold)

    return _extra_row("LANDELIJK", "Landelijke export", make)

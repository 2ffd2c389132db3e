"""Orchestration of a B-CBA run: load, analyse, write results, execute and render the report.

``run_report`` is what ``bcba maak`` calls: it executes the parameterised report notebook
with papermill (the notebook receives the :class:`~bcba.config.RunConfig` as JSON, calls
:func:`bcba.report.view.open_report` and one section of :class:`bcba.report.view.Report`
per cell), renders it to HTML without code with the nbconvert template, prints the PDF and
the map book with headless Chromium, and writes an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import bcba.report  # noqa: F401  (before papermill: keeps a slow, unused import out)
from bcba import config, progress
from bcba.config import RunConfig
from bcba.errors import BcbaError, MissingInputError, RunError
from bcba.reference import resolve_gemeente
from bcba.runs import make_run_config

log = logging.getLogger(__name__)

REPORT_NOTEBOOK = "bcba_rapport.ipynb"
#: Set while ``run_report`` executes the notebook: the run is audited here, not in the kernel.
AUDITED_ENV = "BCBA_RUN_GEAUDIT"

__all__ = ["ReportResult", "export_national", "make_run_config", "run_report"]


@dataclass
class ReportResult:
    """Paths written by :func:`run_report` and timings per stage (seconds)."""

    output_dir: Path
    html: Path
    notebook: Path
    pdf: Path | None = None
    mapbook: Path | None = None
    bundle: Path | None = None
    #: the analysts' annex (``bcba_<GMxxxx>_bijlagen``)
    annex_html: Path | None = None
    annex_pdf: Path | None = None

    def moved_to(self, folder: Path) -> ReportResult:
        """The same result after its folder was put in place under ``folder``."""
        old = self.output_dir

        def move(path: Path | None) -> Path | None:
            return None if path is None else folder / Path(path).relative_to(old)

        return ReportResult(
            output_dir=folder,
            html=move(self.html),
            notebook=move(self.notebook),
            pdf=move(self.pdf),
            mapbook=move(self.mapbook),
            bundle=self.bundle,
            timings=self.timings,
            annex_html=move(self.annex_html),
            annex_pdf=move(self.annex_pdf),
        )

    timings: dict[str, float] = field(default_factory=dict)


def _kernel_name() -> str:
    """The registered ``bcba`` kernel when present (``make setup``), else this Python."""
    from jupyter_client.kernelspec import KernelSpecManager

    return "bcba" if "bcba" in KernelSpecManager().find_kernel_specs() else "python3"


def notebook_parameters(cfg: RunConfig) -> dict[str, str]:
    """The papermill parameters: the municipality and the whole run configuration as JSON."""
    return {"gemeente": cfg.gemeente, "run_config": cfg.model_dump_json()}


def run_report(
    cfg: RunConfig,
    *,
    pdf: bool = True,
    encrypt_for: list[str] | None = None,
    notebook: Path | None = None,
) -> ReportResult:
    """Execute, render and print the B-CBA report for one run configuration.

    The run is built in a temporary folder beside ``cfg.output_dir`` and put in place when
    it succeeded (:func:`bcba.runs.run_folder`); the audit log records its start and its
    end (``voltooid`` or ``mislukt``). A :func:`bcba.worker.guarded` process watches the
    run: if this process is killed, it stops the kernel, the second process and Chromium,
    removes the run's temporary files, marks the folder incomplete and writes the audit
    entry ``mislukt`` (``fout``: ``afgebroken``).

    Raises
    ------
    bcba.errors.BcbaError
        Every failure, with a Dutch message (a missing key before anything starts); the
        traceback of a failure inside the report notebook or while rendering goes to
        ``debug.log`` (0600) in the (incomplete) run folder.
    """
    from bcba import audit
    from bcba.runs import run_folder
    from bcba.worker import guarded, remove_stale_folders

    notebook = notebook or (config.notebooks_dir() / REPORT_NOTEBOOK)
    if not notebook.is_file():
        raise MissingInputError(f"Rapportnotebook {notebook} ontbreekt.")
    parameters = {
        "gemeente": cfg.gemeente,
        "rapport_id": cfg.rapport_id,
        "ontvanger": cfg.ontvanger,
        "uitvoer": str(cfg.output_dir),
        "versie": "volledig",
        # what the run covers (issue 18): a cluster, a part of it, a branch
        "gebied": list(cfg.gebied),
        "gebied_bestand": str(cfg.gebied_bestand) if cfg.gebied_bestand else None,
        "gebied_naam": cfg.gebied_naam,
        "knooppunt_sbi": list(cfg.knooppunt_sbi),
        "knooppunt_naam": cfg.knooppunt_naam,
        "pdf": pdf,
        # the key before anything starts: without it the run would fail in the kernel
        "sleutel_vingerafdruk": _key_fingerprint(),
    }
    inputs = sorted(
        {p for folder in (cfg.data_dirs or [cfg.data_dir]) for p in input_files(Path(folder))}
    )
    out = Path(cfg.output_dir)
    remove_stale_folders(KERNEL_PREFIX)  # kernel sockets of runs of earlier versions
    log_path = audit.default_log_path()
    with guarded() as guard:
        # if this process is killed: the half-built folder is marked incomplete and the
        # audit log gets the run's end
        guard.on_death("bcba.runs", "remove_stale_runs", base=str(out.parent))
        # and the half-written processed data (a GeoPackage and its journal) goes
        guard.on_death(
            "bcba.io",
            "remove_stale_temporaries",
            folder=str(config.processed_dir() / cfg.gemeente),
        )
        with audit.run_events("run", parameters=parameters, inputs=inputs) as run:
            guard.on_death(
                "bcba.audit",
                "record",
                command="run",
                status=audit.FAILED,
                parameters={**parameters, "fout": "afgebroken"},
                gestart_regel=run.start["seq"],
                path=str(log_path),
            )
            os.environ[AUDITED_ENV] = "1"  # the notebook's kernel need not record the run again
            try:
                with run_folder(out) as building:
                    work = cfg.model_copy(update={"output_dir": building})
                    try:
                        result = _make_report(work, notebook=notebook, pdf=pdf, temp=guard.temp)
                    except BcbaError:
                        raise
                    except Exception as exc:  # disk full, a bug: Dutch here, details in the log
                        import traceback

                        _write_debug_log(building, "".join(traceback.format_exception(exc)))
                        raise failure_from_notebook(type(exc).__name__, str(exc)) from None
            finally:
                os.environ.pop(AUDITED_ENV, None)
            result = result.moved_to(out)
            if encrypt_for:
                from bcba.transport import encrypt_bundle

                result.bundle = encrypt_bundle(out, encrypt_for, out.with_suffix(".tar.age"))
            run.outputs.extend(sorted(p for p in result.output_dir.rglob("*") if p.is_file()))
            if result.bundle is not None:
                run.outputs.append(result.bundle)
    return result


def input_files(data_dir: Path) -> list[Path]:
    """The files of an input folder that a run may read (hashed into its audit entry):
    those in the folder itself and in ``partners/``, never a whole tree (``--data-dir /``)."""
    from bcba.sources.bundle import PARTNERS_DIR

    found = []
    for folder in (data_dir, data_dir / PARTNERS_DIR):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for path in entries:
            try:
                if path.is_file() and path.name != "planted.json":
                    found.append(path)
            except OSError:  # unreadable: not an input bcba can read either
                continue
    return sorted(found)


def _make_report(cfg: RunConfig, *, notebook: Path, pdf: bool, temp: Path) -> ReportResult:
    """Execute the notebook into ``cfg.output_dir``, render the two documents, print them."""
    from bcba.io import atomic_path
    from bcba.report import render
    from bcba.report.browser import BackgroundBrowser

    out = Path(cfg.output_dir)
    timings: dict[str, float] = {}
    stem = f"bcba_{cfg.gemeente}"
    executed = out / f"{stem}.ipynb"
    # Chromium starts on the core the kernel leaves idle while it starts, so the PDF need
    # not wait for it at the end
    browser = BackgroundBrowser() if pdf else None
    try:
        progress.stage("Rapport uitvoeren", done=0.0)
        started = time.perf_counter()
        with atomic_path(executed) as tmp:
            executed_nb = _execute(notebook, tmp, cfg, sockets=temp)
        timings["analyse_en_notebook"] = time.perf_counter() - started
        progress.stage("HTML maken", done=0.85)

        started = time.perf_counter()
        html = render.render_html(executed, out / f"{stem}.html", notebook=executed_nb)
        annex = render.render_html(
            executed, out / f"{stem}_bijlagen.html", document="bijlagen", notebook=executed_nb
        )
        timings["html"] = time.perf_counter() - started

        result = ReportResult(
            output_dir=out, html=html, notebook=executed, timings=timings, annex_html=annex
        )
        if pdf:
            progress.stage("PDF maken", done=0.9)
            started = time.perf_counter()
            result.pdf = render.render_pdf(html, out / f"{stem}.pdf", browser=browser)
            result.annex_pdf = render.render_pdf(
                annex, out / f"{stem}_bijlagen.pdf", browser=browser
            )
            timings["pdf"] = time.perf_counter() - started
            mapbook = out / "kaartenboek.pdf"
            result.mapbook = mapbook if mapbook.exists() else None
    finally:
        if browser is not None:
            browser.close()
    return result


def _execute(notebook: Path, target: Path, cfg: RunConfig, *, sockets: Path):
    """Run the report notebook with papermill; a failure inside becomes a Dutch
    :class:`~bcba.errors.BcbaError` and its traceback goes to the run's debug log.

    The kernel's sockets are made in ``sockets``, the run's private temporary folder.
    """
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError

    try:
        return papermill.execute_notebook(
            _with_report_metadata(notebook, cfg),
            str(target),
            parameters=notebook_parameters(cfg),
            kernel_name=_kernel_name(),
            # papermill otherwise rewrites the whole notebook (maps included, 10+ MB for a
            # city) before and after every cell; it is written once at the end instead
            request_save_on_cell_execute=False,
            # every output is written (atomically) by the last cell; a graceful shutdown
            # only lets the kernel free its gigabytes one object at a time (2-3 s for a city)
            shutdown_kernel="immediate",
            progress_bar=False,
            cwd=str(cfg.output_dir),
            log_output=False,
            # the kernel talks to this process over local sockets in a private folder, not TCP
            config=_ipc_kernel_config(sockets),
        )
    except PapermillExecutionError as exc:
        _write_debug_log(cfg.output_dir, "\n".join(exc.traceback))
        raise failure_from_notebook(exc.ename, exc.evalue) from None
    except NoSuchKernel as exc:
        raise RunError(
            f"De Jupyter-kernel ontbreekt ({exc}); voer 'make setup' opnieuw uit."
        ) from None
    except RuntimeError as exc:  # papermill's DeadKernelError and kernel start failures
        import traceback

        _write_debug_log(cfg.output_dir, "".join(traceback.format_exception(exc)))
        raise RunError(
            "Het rekenproces van het rapport is onverwacht gestopt (te weinig geheugen, of "
            "afgebroken). Probeer het opnieuw; de details staan in debug.log in de "
            "(onvolledige) uitvoermap."
        ) from None


KERNEL_PREFIX = "bcba-kernel-"


def _ipc_kernel_config(folder: Path):
    """Kernel transport over IPC sockets in ``folder`` (private), not TCP. The socket
    names are short (``k-1`` …): a socket path may not exceed 107 bytes."""
    from traitlets.config import Config

    return Config({"KernelManager": {"transport": "ipc", "ip": str(folder / "k")}})


def failure_from_notebook(ename: str, evalue: str) -> BcbaError:
    """The Dutch error for an exception raised inside the report notebook.

    A :class:`~bcba.errors.BcbaError` raised there keeps its class and message; anything
    else is reported as an unexpected error with the hint where the details are.
    """
    import bcba.errors as errors

    known = getattr(errors, ename, None)
    if isinstance(known, type) and issubclass(known, BcbaError):
        error = RunError(evalue)
        error.original = ename
        return error
    if any(
        hint in evalue
        for hint in ("No space left", "Errno 28", "Disk quota", "Errno 122", "disk is full")
    ):
        return RunError("De schijf is vol: maak ruimte vrij en start de run opnieuw.")
    if ename == "MemoryError":
        return RunError(
            "Te weinig geheugen voor deze run. Sluit andere programma's of gebruik een grotere machine."
        )
    return RunError(
        f"Onverwachte fout tijdens de analyse ({ename}). De details staan in debug.log in de "
        "(onvolledige) uitvoermap; meld ze aan de beheerder van bcba."
    )


def _write_debug_log(folder: Path, text: str) -> None:
    """The traceback, without terminal colours, owner-only in the run folder."""
    import re

    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    try:
        fd = os.open(Path(folder) / "debug.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(clean)
    except OSError as exc:  # a full disk: the Dutch message still reaches the analyst
        log.error("debug.log niet geschreven: %s", exc)


def _key_fingerprint() -> str:
    from bcba.keys import key_fingerprint, load_key

    return key_fingerprint(load_key())


def _with_report_metadata(path: Path, cfg: RunConfig):
    """The report notebook with municipality, date, report id and recipient in its metadata
    (for the template), so the executed notebook need not be read and written again."""
    import nbformat

    from bcba.labels import nl_date
    from bcba.runs import is_demo_data

    nb = nbformat.read(path, as_version=4)
    today = dt.date.today()
    nb.metadata["bcba"] = {
        "gemeente": cfg.gemeente,
        "gemeentenaam": resolve_gemeente(cfg.gemeente).naam,
        "datum": today.isoformat(),
        "datum_tekst": nl_date(today),
        "rapport_id": cfg.rapport_id,
        "ontvanger": cfg.ontvanger,
        "periode": f"{cfg.periode_start.isoformat()}/{cfg.periode_eind.isoformat()}",
        "demo": "ja" if is_demo_data(cfg.data_dir) else "",
    }
    return nb


def export_national(gemeenten: list[str] | None, *, out: Path, threshold: int = 10) -> Path:
    """Anonymised counts per theme per municipality/wijk from the latest runs (see docs/privacy.md)."""
    from bcba.export import export_landelijk, write_export
    from bcba.outputs import national_counts

    counts = national_counts(gemeenten)
    frame = export_landelijk(counts, threshold=threshold)
    return write_export(frame, out)

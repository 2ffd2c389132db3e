"""Orchestration of a B-CBA run: load, analyse, write results, execute and render the report.

``run_report`` is what ``bcba run`` calls: it executes the parameterised report notebook
with papermill (the notebook receives the :class:`~bcba.config.RunConfig` as JSON, calls
:func:`bcba.report.view.open_report` and one section of :class:`bcba.report.view.Report`
per cell), renders it to HTML without code with the nbconvert template, prints the PDF and
the map book with headless Chromium, and writes an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import bcba.report  # noqa: F401  (before papermill: keeps a slow, unused import out)
from bcba import config
from bcba.config import RunConfig
from bcba.errors import MissingInputError
from bcba.reference import resolve_gemeente
from bcba.runs import make_run_config

log = logging.getLogger(__name__)

REPORT_NOTEBOOK = "bcba_rapport.ipynb"

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
    progress: bool = False,
    notebook: Path | None = None,
) -> ReportResult:
    """Execute, render and print the B-CBA report for one run configuration."""
    import papermill

    from bcba import audit
    from bcba.io import atomic_path, ensure_dir
    from bcba.report import render
    from bcba.report.browser import BackgroundBrowser

    notebook = notebook or (config.notebooks_dir() / REPORT_NOTEBOOK)
    if not notebook.is_file():
        raise MissingInputError(f"Rapportnotebook {notebook} ontbreekt.")
    out = ensure_dir(cfg.output_dir)
    timings: dict[str, float] = {}
    stem = f"bcba_{cfg.gemeente}"
    executed = out / f"{stem}.ipynb"

    # Chromium starts on the core the kernel leaves idle while it starts, so the PDF need
    # not wait for it at the end
    browser = BackgroundBrowser() if pdf else None
    try:
        bar = _Progress(progress, total=4 if pdf else 2)
        started = time.perf_counter()
        with atomic_path(executed) as tmp:
            executed_nb = papermill.execute_notebook(
                _with_report_metadata(notebook, cfg),
                str(tmp),
                parameters=notebook_parameters(cfg),
                kernel_name=_kernel_name(),
                # papermill otherwise rewrites the whole notebook (maps included, 10+ MB for a
                # city) before and after every cell; it is written once at the end instead
                request_save_on_cell_execute=False,
                # every output is written (atomically) by the last cell; a graceful shutdown
                # only lets the kernel free its gigabytes one object at a time (2-3 s for a city)
                shutdown_kernel="immediate",
                progress_bar=False,
                cwd=str(out),
                log_output=False,
            )
        timings["analyse_en_notebook"] = time.perf_counter() - started
        bar.update("Notebook uitgevoerd")

        started = time.perf_counter()
        html = render.render_html(executed, out / f"{stem}.html", notebook=executed_nb)
        annex = render.render_html(
            executed, out / f"{stem}_bijlagen.html", document="bijlagen", notebook=executed_nb
        )
        timings["html"] = time.perf_counter() - started
        bar.update("HTML gemaakt")

        result = ReportResult(
            output_dir=out, html=html, notebook=executed, timings=timings, annex_html=annex
        )
        if pdf:
            started = time.perf_counter()
            result.pdf = render.render_pdf(html, out / f"{stem}.pdf", browser=browser)
            result.annex_pdf = render.render_pdf(
                annex, out / f"{stem}_bijlagen.pdf", browser=browser
            )
            timings["pdf"] = time.perf_counter() - started
            bar.update("PDF gemaakt")
            mapbook = out / "kaartenboek.pdf"
            result.mapbook = mapbook if mapbook.exists() else None
            bar.update("Kaartenboek")
        if encrypt_for:
            from bcba.transport import encrypt_bundle

            result.bundle = encrypt_bundle(out, encrypt_for, out.with_suffix(".tar.age"))
        bar.close()
    finally:
        if browser is not None:
            browser.close()

    outputs = sorted(p for p in out.rglob("*") if p.is_file())
    if result.bundle is not None:
        outputs.append(result.bundle)
    inputs = sorted(
        p for p in Path(cfg.data_dir).rglob("*") if p.is_file() and p.name != "planted.json"
    )
    audit.record(
        "run",
        parameters=notebook_parameters(cfg)
        | {"pdf": pdf, "sleutel_vingerafdruk": _key_fingerprint()},
        inputs=inputs,
        outputs=outputs,
    )
    return result


def _key_fingerprint() -> str:
    from bcba.keys import key_fingerprint, load_key

    key = load_key(required=False)
    return key_fingerprint(key) if key else ""


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


class _Progress:
    """A rich progress bar for the CLI; silent for library use."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._progress = None
        if enabled:
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._progress.start()
            self._task = self._progress.add_task("B-CBA maken", total=total)

    def update(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def export_national(gemeenten: list[str] | None, *, out: Path, threshold: int = 10) -> Path:
    """Anonymised counts per theme per municipality/wijk from the latest runs (see docs/privacy.md)."""
    from bcba.export import export_landelijk, write_export
    from bcba.outputs import national_counts

    counts = national_counts(gemeenten)
    frame = export_landelijk(counts, threshold=threshold)
    return write_export(frame, out)

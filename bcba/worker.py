"""A second process for a run: processed data, spatial analysis, result files and the
sections that need no networks, beside the indicators and the networks.

The network analysis is mostly Python and holds the GIL, so threads barely overlap with
it (measured: 23 s with threads against 27 s in sequence for Rotterdam). A spawned process
does: it starts importing while the main process reads the inputs; it gets the inputs
right after and writes the processed data (:func:`processed_files`) while the main process
computes the indicators; then, with the indicators, it does the spatial analysis, the
result files and the overview, theme, risk-map and hot-spot sections
(:func:`spatial_and_files`) while the main process analyses and exports the networks.
Work and results pass through a private file (see :meth:`SecondProcess.submit`).
A spawned (not forked) process is used because a Jupyter kernel has threads, and forking
a threaded process, or one whose OpenMP runtime is in use, can deadlock.

When the second process cannot be started or dies, the work runs in this process instead
(logged), so a run never fails for want of parallelism. ``BCBA_TWEEDE_PROCES=0`` turns the
second process off (a one-core machine gains nothing from it).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

__all__ = ["HELD_INPUTS", "SecondProcess", "processed_files", "spatial_and_files"]

#: Passed instead of the inputs to :func:`spatial_and_files` in the second process: use the
#: inputs :func:`processed_files` received there (they are not handed over twice).
HELD_INPUTS = "bcba:invoer-van-processed_files"
_held: dict = {}  # in the second process: the inputs of the run, between the two tasks


def _warm_up() -> None:
    """Import what the spatial analysis needs (a few seconds) before the work arrives."""
    import bcba.analysis  # noqa: F401
    import bcba.sources  # noqa: F401
    import bcba.spatial  # noqa: F401


def processed_files(inputs, processed: Path, *, hold: bool = False) -> tuple[dict, float]:
    """The processed-data files of the inputs (:func:`bcba.sources.write_processed`) and the
    seconds they took; the first task of the second process, while the main process
    computes the indicators. With ``hold`` the inputs are kept for :func:`spatial_and_files`
    (:data:`HELD_INPUTS`)."""
    from bcba.sources import write_processed

    if hold:
        _held[HELD_INPUTS] = inputs
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        written = write_processed(inputs, processed)
    return written, time.perf_counter() - started


def spatial_and_files(
    inputs, indicators, themes, *, cfg, processed: Path
) -> tuple[dict, dict[str, Path], dict[str, float], dict]:
    """Spatial analysis of every theme, then the indicator and risk-model result files
    (:func:`bcba.analysis.write_analysis_results`); the result files (they leave the
    workplace) are checked for personal data (:func:`bcba.leakcheck.check_outputs`, raises
    ``PrivacyError``). Last, the report sections that need the spatial results but not the
    networks are rendered (``Bcba._sections_in_second_process``).

    ``inputs`` may be :data:`HELD_INPUTS` in the second process, after :func:`processed_files`.
    Returns the spatial results, the files written, the seconds each part took and the
    rendered sections.
    """
    from bcba.analysis import Bcba, write_analysis_results
    from bcba.leakcheck import check_outputs
    from bcba.spatial import SpatialConfig, analyse_spatial

    if isinstance(inputs, str) and inputs == HELD_INPUTS:
        inputs = _held.pop(HELD_INPUTS)
    timings: dict[str, float] = {}
    # one thread for BLAS/OpenMP: the other core is the main process's
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        spatial = analyse_spatial(inputs, indicators, themes, config=SpatialConfig(seed=cfg.seed))
        timings["risicomodel_en_hotspots"] = time.perf_counter() - started
        started = time.perf_counter()
        results = write_analysis_results(
            Path(cfg.output_dir), processed, cfg.gemeente, indicators, spatial
        )
        timings["resultaten_schrijven"] = time.perf_counter() - started
        started = time.perf_counter()
        check_outputs(list(results.values()), sorted(inputs._names))
        timings["lekcontrole_resultaten"] = time.perf_counter() - started
        started = time.perf_counter()
        view = Bcba(cfg, inputs, themes, indicators, spatial, networks=None)
        # their maps are checked for personal data there
        view._prepare_sections(view._sections_in_second_process(), until=lambda: False)
        timings["rapportonderdelen_ruimtelijk"] = time.perf_counter() - started
    written = dict(results)
    written.update({f"kaart:{path.stem}": path for path in view._checked})
    return spatial, written, timings, view._prepared


def _handover_dir() -> Path:
    """A private folder for the work and results passed between the processes: in memory
    (``/dev/shm``) where the system has it, else in the temporary folder."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="bcba-overdracht-", dir=base))


def _dump(obj, path: Path) -> Path:
    with open(path, "xb") as handle:  # mkdtemp's folder is owner-only (0700)
        pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _load(path: Path):
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    finally:
        path.unlink(missing_ok=True)


def _run_handed_over(fn, work: Path):
    """In the second process: read the work from its file, run it, write the result back."""
    args, kwargs = _load(work)
    return _dump(fn(*args, **kwargs), work.with_suffix(".resultaat"))


class SecondProcess:
    """One spawned worker process, warmed up at creation; use as a context manager.

    >>> with SecondProcess() as worker:                                   # doctest: +SKIP
    ...     future = worker.submit(spatial_and_files, inputs, ind, themes, **options)
    ...     spatial, written, timings, sections = worker.result(future, spatial_and_files, ...)
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._folder: Path | None = None
        self._handed = 0
        if not enabled or os.environ.get("BCBA_TWEEDE_PROCES", "1") == "0":
            return
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            self._pool.submit(_warm_up)
        except (OSError, RuntimeError) as exc:  # no processes allowed here: work in-process
            log.warning("tweede proces niet gestart (%s); alles draait in dit proces", exc)
            self._pool = None

    def __enter__(self) -> SecondProcess:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            # the worker frees its gigabytes on the way out (about a second for a city);
            # nothing is left for it to do, so that need not hold up this process
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def submit(self, fn, /, *args, **kwargs) -> Future | None:
        """Start ``fn`` in the second process; ``None`` when it runs here (see :meth:`result`).

        The arguments are handed over through a file rather than the pool's pipe: the pipe
        is written 64 kB at a time by a thread that must win the GIL back from this busy
        process for every piece, which took 3-4 s for a city's inputs instead of 1.
        """
        if self._pool is None:
            return None
        try:
            self._folder = self._folder or _handover_dir()
            self._handed += 1
            work = _dump((args, kwargs), self._folder / f"werk{self._handed}.pickle")
            return self._pool.submit(_run_handed_over, fn, work)
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            log.warning("tweede proces niet beschikbaar (%s); werk draait in dit proces", exc)
            return None

    def result(self, future: Future | None, fn, /, *args, **kwargs):
        """The outcome of ``future``; runs ``fn(*args, **kwargs)`` here when the process failed.

        Errors raised by ``fn`` itself (bad data, configuration) are raised as they are.
        """
        if future is not None:
            try:
                return _load(future.result())
            except BrokenProcessPool as exc:
                log.warning("tweede proces afgebroken (%s); werk wordt hier herhaald", exc)
        return fn(*args, **kwargs)

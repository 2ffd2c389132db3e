"""The B-CBA engine: from a run configuration to typed results, without presentation.

:func:`analyse` reads and validates the inputs, computes the indicators, the spatial
analysis and the networks, writes the processed data and the result files, and returns
:class:`Results`. It writes no report text; :mod:`bcba.report` renders the results.

Both cores are used: a second process (:mod:`bcba.worker`) writes the processed data while
this one computes the indicators, and then does the spatial analysis and writes its result
files while this one analyses the networks. The results are the same without it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bcba import config, progress
from bcba.config import RunConfig
from bcba.io import ensure_dir, remove_stale_temporaries
from bcba.reference import Gemeente, resolve_gemeente

log = logging.getLogger(__name__)

#: The theme whose risk map leads the report when it has enough events.
MAIN_THEME = "drugs"

#: What the second process imports while this one reads the inputs.
_WARM_UP = ("bcba.sources", "bcba.spatial", "bcba.indicators.run", "bcba.leakcheck")


@dataclass
class Results:
    """Everything one run computed (EPSG:28992), and the files it wrote.

    ``networks`` is None in the partial results handed to an ``after_spatial`` hook.
    """

    cfg: RunConfig
    inputs: object  # bcba.sources.Inputs
    themes: object  # bcba.themes.ThemeConfig
    indicators: object  # bcba.indicators.run.IndicatorResults
    spatial: dict  # theme id -> bcba.spatial.ThemeSpatial
    networks: object | None  # bcba.network.NetworkResults
    timings: dict[str, float] = field(default_factory=dict)
    #: result files written, by name
    written: dict[str, Path] = field(default_factory=dict)
    #: files already checked for personal data (resolved paths)
    checked: set[Path] = field(default_factory=set)
    #: what the ``after_spatial`` hook of :func:`analyse` returned
    extra: object = None
    #: what the report covers (:mod:`bcba.scope`); the tables above are restricted to it
    focus: object = None
    #: the focus against the rest of the municipality, the municipality against the region
    profiel: object = None

    @property
    def gemeente(self) -> Gemeente:
        return resolve_gemeente(self.cfg.gemeente)

    @property
    def names(self) -> list[str]:
        """The real person names seen at ingest (for leak checks; never written)."""
        return sorted(self.inputs._names)

    @property
    def main_theme(self) -> str:
        """The theme whose risk model leads: drugs when modelled, else the best-modelled one."""
        return main_theme(self.spatial)


def main_theme(spatial: dict) -> str:
    """The theme whose risk model leads: drugs when modelled, else the best-modelled one."""
    modelled = [t for t, s in spatial.items() if s.model is not None]
    if MAIN_THEME in modelled:
        return MAIN_THEME
    if modelled:
        return max(modelled, key=lambda t: spatial[t].n_events)
    return max(spatial, key=lambda t: spatial[t].n_events)


def load(cfg: RunConfig):
    """The validated, pseudonymised and geocoded inputs of ``cfg`` (:class:`bcba.sources.Inputs`)."""
    from bcba import keys
    from bcba.sources import load_inputs

    return load_inputs(
        cfg.gemeente,
        data_dir=cfg.data_dirs,
        periode=(cfg.periode_start, cfg.periode_eind),
        key=keys.load_key(),
    )


def write_processed_data(inputs, processed: Path) -> tuple[dict[str, Path], float]:
    """The processed-data files of the inputs and the seconds they took."""
    from threadpoolctl import threadpool_limits

    from bcba.sources import write_processed

    started = time.perf_counter()
    with threadpool_limits(limits=1):
        written = write_processed(inputs, processed)
    return written, time.perf_counter() - started


def spatial_and_results(
    inputs,
    indicators,
    themes,
    names,
    *,
    cfg: RunConfig,
    processed: Path,
    focus=None,
    after_spatial=None,
) -> tuple[dict, dict[str, Path], dict[str, float], object]:
    """Spatial analysis of every theme, then its result files (checked for personal data:
    they leave the workplace), then the ``after_spatial`` hook.

    Runs in the second process when there is one; ``names`` are the real person names the
    leak check looks for. Returns the spatial results, the files written, the seconds per
    part and what the hook returned.
    """
    from threadpoolctl import threadpool_limits

    from bcba import scope
    from bcba.leakcheck import check_outputs
    from bcba.outputs import write_analysis_results
    from bcba.spatial import SpatialConfig, analyse_spatial

    timings: dict[str, float] = {}
    # one thread for BLAS/OpenMP: the other core is the main process's
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        spatial = analyse_spatial(inputs, indicators, themes, config=SpatialConfig(seed=cfg.seed))
        timings["ruimtelijke_analyse"] = time.perf_counter() - started
        if focus is not None:  # analysed on the whole area, reported for the focus
            spatial = scope.restrict_spatial(spatial, focus)
            indicators = scope.restrict_indicators(indicators, focus)
        started = time.perf_counter()
        written = write_analysis_results(
            Path(cfg.output_dir),
            processed,
            cfg.gemeente,
            indicators,
            spatial,
            leading=main_theme(spatial),
        )
        check_outputs(list(written.values()), names)
        timings["resultaten_schrijven"] = time.perf_counter() - started
        extra = None
        if after_spatial is not None:
            started = time.perf_counter()
            partial = Results(cfg, inputs, themes, indicators, spatial, None, focus=focus)
            partial.inputs = dataclasses.replace(inputs, _names=frozenset(names))
            extra = after_spatial(partial)
            timings["na_ruimtelijke_analyse"] = time.perf_counter() - started
    return spatial, written, timings, extra


def analyse(
    cfg: RunConfig,
    *,
    second_process: bool = True,
    after_spatial: Callable[[Results], object] | None = None,
) -> Results:
    """Analyse the inputs of ``cfg`` and write the processed data and result files.

    Parameters
    ----------
    cfg
        The validated run configuration.
    second_process
        Use a second process for the spatial analysis and the processed data (the results
        are the same without it).
    after_spatial
        A module-level function called with the partial :class:`Results` (no networks) as
        soon as the spatial analysis is done, in whichever process did it; what it returns
        is kept as :attr:`Results.extra`. The report uses it to render the sections that
        need no networks while this process analyses them.

    Raises
    ------
    bcba.errors.InputValidationError
        Invalid inputs (every problem of every file at once).
    bcba.errors.PrivacyError
        A missing key, or personal data found in a result file.
    """
    from bcba import scope
    from bcba.indicators.run import compute_indicators
    from bcba.leakcheck import check_outputs
    from bcba.network import analyse_networks
    from bcba.outputs import write_gis_files, write_network_results
    from bcba.themes import load_themes
    from bcba.workbook import write_workbook
    from bcba.worker import SecondProcess

    timings: dict[str, float] = {}
    with SecondProcess(enabled=second_process, warm_up=_WARM_UP) as worker:
        started = time.perf_counter()
        progress.stage("Invoer inlezen", done=0.02)
        inputs = load(cfg)
        names = sorted(inputs._names)
        focus = scope.resolve_focus(cfg, inputs.area, inputs)
        timings["inlezen"] = time.perf_counter() - started

        started = time.perf_counter()
        processed = ensure_dir(config.processed_dir() / cfg.gemeente)
        remove_stale_temporaries(processed)  # of a run killed while writing here
        # real names never go into the hand-over file; they travel through the pipe
        held = worker.put("invoer", dataclasses.replace(inputs, _names=frozenset()))
        held_names = worker.put("namen", names, private=True)
        first = worker.submit(write_processed_data, held, processed)
        themes = load_themes(cfg.thema_config)
        progress.stage("Indicatoren berekenen", done=0.15)
        indicators = compute_indicators(inputs, themes=themes)
        timings["indicatoren"] = time.perf_counter() - started

        started = time.perf_counter()
        second = worker.submit(
            spatial_and_results,
            held,
            indicators,
            themes,
            held_names,
            cfg=cfg,
            processed=processed,
            focus=focus if focus.active else None,
            after_spatial=after_spatial,
        )
        progress.stage("Netwerken analyseren (ruimtelijke analyse ernaast)", done=0.3)
        networks = scope.restrict_networks(analyse_networks(inputs, flags=indicators.flags), focus)
        written = write_network_results(cfg.output_dir, networks)
        check_outputs(list(written.values()), names)
        timings["netwerken"] = time.perf_counter() - started

        # the workbook needs no spatial result: written while the second process finishes
        started = time.perf_counter()
        progress.stage("Excel-werkboek schrijven (ruimtelijke analyse ernaast)", done=0.45)
        profiel = scope.profile(inputs, indicators, focus)
        indicators = scope.restrict_indicators(indicators, focus)
        workbook = write_workbook(
            Results(cfg, inputs, themes, indicators, {}, networks, focus=focus)
        )
        check_outputs([workbook], names)
        written["werkboek"] = workbook
        timings["werkboek"] = time.perf_counter() - started

        progress.stage("Wachten op de ruimtelijke analyse", done=0.5)
        data_files, timings["verwerkte_data"] = worker.result(first)
        spatial, more, spent, extra = worker.result(second)
        written.update(more)
        timings.update(spent)
    written.update({f"verwerkt:{k}": v for k, v in data_files.items()})
    report_dir = Path(cfg.output_dir).resolve()
    results = Results(
        cfg,
        inputs,
        themes,
        indicators,
        spatial,
        networks,
        timings,
        written,
        extra=extra,
        focus=focus,
        profiel=profiel,
    )
    started = time.perf_counter()
    progress.stage("QGIS-project schrijven", done=0.55)
    gis_files = write_gis_files(results)
    check_outputs(list(gis_files.values()), names)
    written.update(gis_files)
    timings["qgis"] = time.perf_counter() - started
    results.checked = {
        p.resolve() for p in written.values() if p.resolve().is_relative_to(report_dir)
    }
    return results

"""The report of one run: :class:`Report` renders :class:`bcba.engine.Results` section by
section for the report notebook (one call per cell), keeps the print maps for the map book
and checks every file it writes for personal data.

The sections live in one module per group (:mod:`.summary`, :mod:`.themes`,
:mod:`.locations`, :mod:`.spatial`, :mod:`.networks`, :mod:`.actions`, :mod:`.annex`);
:class:`Report` holds what they share (maps, labels, reasons) and delegates to them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from IPython.display import HTML

from bcba import progress
from bcba.config import RunConfig
from bcba.engine import Results
from bcba.io import write_text
from bcba.report import actions, annex, locations, networks, spatial, summary, themes
from bcba.report import html as rh

MAP_DPI = 150  # print twins of the maps, in the report and in the map book
#: Inches: the print twin of a map fills the report's text column (about 178 mm).
REPORT_MAP_SIZE = (7.4, 5.0)


def _preparable(section):
    """Mark a section the second process may render ahead (it needs no networks); the
    notebook's call then returns it."""

    @functools.wraps(section)
    def shown(self, *args, **kwargs):
        progress.stage(f"Rapportonderdeel {section.__name__.replace('_', ' ')}", done=0.6)
        ready = None if kwargs else self._prepared.pop((section.__name__, *args), None)
        if ready is None:
            return section(self, *args, **kwargs)
        page, figures = ready
        self._figures.extend(figures)  # the map book follows the notebook's order
        return page

    return shown


@dataclass
class Report:
    """The sections of the B-CBA report of one run (see module docstring)."""

    results: Results
    _figures: list = field(default_factory=list, repr=False)
    _reason_cache: dict = field(default_factory=dict, repr=False)
    _started: float = field(default_factory=time.perf_counter, repr=False)
    _unchecked_maps: list[Path] = field(default_factory=list, repr=False)
    _prepared: dict = field(default_factory=dict, repr=False)
    #: the audit entry of a notebook run by hand (its end is recorded by afronden)
    _audit_start: int | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ shared state
    @property
    def cfg(self) -> RunConfig:
        return self.results.cfg

    @property
    def out(self) -> Path:
        return Path(self.cfg.output_dir)

    @property
    def inputs(self):
        return self.results.inputs

    @property
    def themes(self):
        return self.results.themes

    @property
    def indicators(self):
        return self.results.indicators

    @property
    def spatial(self) -> dict:
        return self.results.spatial

    @property
    def networks(self):
        return self.results.networks

    @property
    def gemeente(self):
        return self.results.gemeente

    @property
    def periode(self) -> tuple[dt.date, dt.date]:
        return (self.cfg.periode_start, self.cfg.periode_eind)

    @functools.cached_property
    def findings(self):
        """The verdicts of the run (:mod:`bcba.findings`), computed once for every section."""
        from bcba import findings

        return findings.compute(self.results)

    @property
    def demo(self) -> bool:
        """Whether the run analysed generated demo data (the report then says so)."""
        from bcba.runs import is_demo_data

        return is_demo_data(self.cfg.data_dir)

    def label(self, thema: str) -> str:
        """The Dutch label of a theme id (``totaal`` for the overall score)."""
        if thema == "totaal":
            return "Totaal (alle thema's)"
        return self.themes.themas[thema].label

    def buurtnamen(self):
        """Buurt code -> name (at wijk level, when the municipality has no buurten, the wijken)."""
        names = self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
        return names[~names.index.duplicated()]

    def reasons(self, thema: str, buurtcodes) -> list[list[str]]:
        """The top-3 contributing indicators of each buurt, as Dutch sentences."""
        from bcba.indicators.scores import explain_top_contributions

        if thema not in self._reason_cache:
            explained = explain_top_contributions(self.indicators.bijdragen, thema, top=3)
            self._reason_cache[thema] = explained
        known = self._reason_cache[thema]
        return [known.get(code) or ["geen opvallende indicatoren"] for code in buurtcodes]

    def score_frame(self, thema: str) -> gpd.GeoDataFrame:
        frame = self.indicators.scores_buurt.copy()
        frame["reden"] = ["; ".join(r) for r in self.reasons(thema, frame["buurtcode"])]
        return frame

    # ------------------------------------------------------------------ maps
    def basemap(self):
        """Water, neighbours, names and streets under every map (built once per report)."""
        return self._basemap

    @functools.cached_property
    def _basemap(self):
        from bcba.maps.basemap import build_basemap, find_achtergrond

        focus = self.results.focus
        return build_basemap(
            self.inputs.area,
            bag=self.inputs.bag,
            achtergrond=find_achtergrond(self.cfg.data_dir),
            focus=None if focus is None else focus.gebied,
        )

    def save_map(self, page, slug: str) -> Path:
        """Write a map page to ``kaarten/`` (to be checked for personal data)."""
        from bcba.maps.interactive import save_map

        path = save_map(page, self.out / "kaarten" / f"{slug}.html")
        self.results.checked.discard(path.resolve())
        self._unchecked_maps.append(path)
        return path

    def static_and_interactive(self, kind: str, frame, **kwargs):
        """The folium map and its print twin; the twin is kept as PNG for the map book."""
        import inspect

        import matplotlib.pyplot as plt

        from bcba.maps import interactive, static

        titel = kwargs.pop("titel")
        figure_fn = {
            "choropleth": static.buurt_choropleth_figure,
            "risico": static.risk_surface_figure,
            "hotspot": static.hotspot_figure,
            "locaties": static.risk_locations_figure,
        }[kind]
        map_fn = {
            "choropleth": interactive.buurt_choropleth,
            "risico": interactive.risk_surface_map,
            "hotspot": interactive.hotspot_map,
            "locaties": interactive.risk_locations_map,
        }[kind]
        basemap = self.basemap()
        figure_frame = kwargs.pop("figure_frame", frame)
        # sized for the report's column, so names stay legible in print (the map book
        # enlarges the same picture)
        figsize = kwargs.pop("figsize", REPORT_MAP_SIZE)
        m = map_fn(frame, titel=titel, basemap=basemap, tegel_url=self.cfg.tegel_url, **kwargs)
        accepted = set(inspect.signature(figure_fn).parameters)
        fig_kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        # the page carries the marking once; the map book adds it to every page of its own
        fig = figure_fn(
            figure_frame,
            titel=titel,
            basemap=basemap,
            figsize=figsize,
            markering=False,
            **fig_kwargs,
        )
        # rendered once, for the report and the map book alike; the figure is freed
        png = static.figure_to_png_bytes(fig, dpi=MAP_DPI)
        plt.close(fig)
        self._figures.append((png, titel))
        return m, png

    def map(
        self,
        kind: str,
        frame,
        *,
        bijschrift: str,
        slug: str,
        op_scherm: str | None = None,
        hoogte: int = 540,
        **kwargs,
    ) -> str:
        """An interactive map (saved to ``kaarten/<slug>.html`` too) with its print twin."""
        from bcba.io import write_bytes
        from bcba.maps.offline import to_offline_html

        m, png = self.static_and_interactive(kind, frame, **kwargs)
        page = to_offline_html(m)
        self.save_map(page, slug)
        write_bytes(self.out / "kaarten" / f"{slug}.png", png)  # for the presentation
        return rh.kaart_html(
            page, statisch=png, bijschrift=bijschrift, op_scherm=op_scherm, hoogte=hoogte
        )

    def check_written_maps(self) -> None:
        """Check the map pages written so far for personal data (raises ``PrivacyError``)."""
        from bcba.leakcheck import check_outputs

        check_outputs(self._unchecked_maps, self.results.names)
        self.results.checked |= {p.resolve() for p in self._unchecked_maps}
        self._unchecked_maps.clear()

    # ------------------------------------------------------------------ sections
    # the mayor's report
    def titelpagina(self) -> HTML:
        return summary.titelpagina(self)

    def samenvatting(self) -> HTML:
        return summary.samenvatting(self)

    @_preparable
    def overzicht(self) -> HTML:
        return themes.overzicht(self)

    @_preparable
    def themabeeld(self, thema: str) -> HTML:
        return themes.themabeeld(self, thema)

    def risicolocaties(self) -> HTML:
        return locations.risicolocaties(self)

    def signalen(self) -> HTML:
        return locations.signalen(self)

    @_preparable
    def concentraties(self) -> HTML:
        return spatial.concentraties(self)

    def netwerken(self) -> HTML:
        return networks.netwerken(self)

    def aanpak(self) -> HTML:
        return actions.aanpak(self)

    def verantwoording(self) -> HTML:
        return summary.verantwoording(self)

    # the analysts' annex
    def titelpagina_bijlagen(self) -> HTML:
        return summary.titelpagina_bijlagen(self)

    def bijlage_methode(self) -> HTML:
        return annex.bijlage_methode(self)

    def bijlage_scores(self) -> HTML:
        return annex.bijlage_scores(self)

    def bijlage_risicomodel(self) -> HTML:
        return spatial.bijlage_risicomodel(self)

    @_preparable
    def bijlage_hotspots(self) -> HTML:
        return spatial.bijlage_hotspots(self)

    def gelegenheidsstructuren(self) -> HTML:
        return themes.gelegenheidsstructuren(self)

    def bijlage_risicolocaties(self) -> HTML:
        return locations.bijlage_risicolocaties(self)

    def bijlage_signalen(self) -> HTML:
        return locations.bijlage_signalen(self)

    def bijlage_netwerken(self) -> HTML:
        return networks.bijlage_netwerken(self)

    def bijlage_vertekening(self) -> HTML:
        return annex.bijlage_vertekening(self)

    def bijlage_datakwaliteit(self) -> HTML:
        return annex.bijlage_datakwaliteit(self)

    def bijlage_herkomst(self) -> HTML:
        return annex.bijlage_herkomst(self)

    def ontwikkeling(self) -> HTML:
        return actions.ontwikkeling(self)

    def afronden(self) -> HTML:
        """Write the map book and check every file of the report folder for personal data."""
        from bcba.leakcheck import check_outputs
        from bcba.maps.mapbook import write_mapbook

        timings = self.results.timings
        timings["rapportonderdelen"] = time.perf_counter() - self._started
        started = time.perf_counter()
        if self._figures:
            write_mapbook(
                self._figures,
                self.out / "kaartenboek.pdf",
                gemeente=self.gemeente.naam,
                rapport_id=self.cfg.rapport_id,
                ontvanger=self.cfg.ontvanger,
            )
        self._figures.clear()
        write_text(
            self.out / summary.SUMMARY_FILE,
            json.dumps(summary.run_summary(self), indent=1, ensure_ascii=False),
        )
        # Everything in the report folder leaves the workplace and is checked; the engine
        # checked the files it wrote. data/processed stays on the workplace and holds
        # pseudonyms only (the test suite scans it too).
        checked = self.results.checked
        unchecked = [p for p in self.out.rglob("*") if p.is_file() and p.resolve() not in checked]
        check_outputs(unchecked, self.results.names)
        code = self.gemeente.code
        write_text(
            self.out / "LEESMIJ.txt",
            "STRIKT VERTROUWELIJK\n"
            f"B-CBA {self.gemeente.naam}, rapportnummer {self.cfg.rapport_id}, ontvanger {self.cfg.ontvanger}.\n"
            "Niet verspreiden zonder toestemming.\n\n"
            "Inhoud van deze map:\n"
            f"  bcba_{code}.pdf / .html          rapportage voor de ontvanger\n"
            f"  bcba_{code}_bijlagen.pdf / .html bijlagen voor analisten (methode, tabellen, signalen)\n"
            "  kaartenboek.pdf                  alle kaarten op A4\n"
            "  kaarten/                         interactieve kaarten (openen in een browser, offline)\n"
            f"  resultaten_{code}.xlsx          alle tabellen in Excel\n"
            f"  bcba_{code}.qgs                 QGIS-project met de opgemaakte kaartlagen (*.gpkg)\n"
            "  *.csv                            tabellen (puntkomma, decimale komma, UTF-8)\n"
            "  netwerken/                       netwerken en i2-export\n"
            "Presentatie of hoofdlijnen voor de raad: bcba presentatie --run <deze map> [--hoofdlijnen]\n",
        )
        timings["kaartenboek_en_controle"] = time.perf_counter() - started
        if self._audit_start is not None:
            from bcba import audit

            audit.record(
                "notebook",
                status=audit.COMPLETED,
                gestart_regel=self._audit_start,
                parameters={"gemeente": self.cfg.gemeente, "rapport_id": self.cfg.rapport_id},
                outputs=sorted(p for p in self.out.rglob("*") if p.is_file()),
            )
        # seconds per part, for benchmarks/ and for an analyst wondering where time went
        write_text(
            self.out / "looptijden.json",
            json.dumps({k: round(v, 2) for k, v in timings.items()}, indent=2),
        )
        return HTML("")

    # ------------------------------------------------------------------ rendering ahead
    def prepare(self, calls) -> None:
        """Render the sections ``calls`` (name and arguments) now and keep each with its
        print maps for the notebook's call; their map pages are checked here."""
        for name, *args in calls:
            before = len(self._figures)
            page = getattr(self, name)(*args)
            self._prepared[(name, *args)] = (page, self._figures[before:])
            del self._figures[before:]
        self.check_written_maps()


def sections_without_networks(themes) -> list[tuple]:
    """The costly sections (maps) that need the spatial results but no networks, in the
    notebook's order."""
    return [
        ("overzicht",),
        *[("themabeeld", thema) for thema in themes.themas],
        ("concentraties",),
        ("bijlage_hotspots",),
    ]


def prepare_sections(partial: Results) -> tuple[dict, set[Path]]:
    """The ``after_spatial`` hook of :func:`bcba.engine.analyse`: render the sections that
    need no networks in the process that holds the spatial results, while the other one
    analyses the networks. Returns the rendered sections and the map files checked."""
    report = Report(partial)
    report.prepare(sections_without_networks(partial.themes))
    return report._prepared, partial.checked


def open_report(run_config: str = "", *, gemeente: str = "") -> Report:
    """Analyse a run and return its :class:`Report`: what the report notebook calls first.

    Parameters
    ----------
    run_config
        The run configuration as JSON (``RunConfig.model_dump_json()``), as ``bcba maak``
        passes it to the notebook.
    gemeente
        Without ``run_config``: the municipality, with every other setting at its default
        (for a notebook run by hand).
    """
    from bcba import audit
    from bcba.engine import analyse
    from bcba.pipeline import AUDITED_ENV
    from bcba.runs import make_run_config

    if run_config:
        cfg = RunConfig.model_validate_json(run_config)
    else:
        cfg = make_run_config(gemeente=gemeente)
    audited = os.environ.get(AUDITED_ENV) == "1"
    if not audited:  # a notebook run by hand (JupyterLab, papermill): audited here
        start = audit.record(
            "notebook",
            status=audit.STARTED,
            parameters={
                "gemeente": cfg.gemeente,
                "rapport_id": cfg.rapport_id,
                "uitvoer": str(cfg.output_dir),
            },
        )
    results = analyse(cfg, after_spatial=prepare_sections)
    report = Report(results, _audit_start=None if audited else start["seq"])
    if results.extra is not None:
        prepared, checked = results.extra
        report._prepared.update(prepared)
        results.checked |= checked
    return report

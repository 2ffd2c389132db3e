"""One B-CBA: load, analyse, write results, and the report sections the notebook shows.

:meth:`Bcba.run` does the work (sources, indicators, spatial analysis, networks) and writes
every result table beside the report; each section method returns a display object with
Dutch text, tables and maps, so the report notebook is one call per cell.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from IPython.display import HTML

from bcba import __version__, config
from bcba.config import RunConfig
from bcba.io import atomic_path, ensure_dir, write_csv, write_text
from bcba.reference import ATTRIBUTION, resolve_gemeente
from bcba.report import html as rh

log = logging.getLogger(__name__)

#: The theme whose risk map leads the report when it has enough events.
MAIN_THEME = "drugs"
TOP_BUURTEN = 5
MAP_DPI = 150  # print twins of the maps, in the report and in the map book
#: More risk locations than this: the report's interactive map shows the most flagged ones.
MAX_REPORT_LOCATIONS = 2500

SOURCE_LABELS = {
    "bag": "BAG-adressen",
    "kvk_vestigingen": "KvK-vestigingen",
    "kvk_functionarissen": "KvK-functionarissen",
    "kadaster": "Kadaster-transacties",
    "enquete": "Enquête medewerkers",
    "partners": "Partnermeldingen",
}


def _esc(text: object) -> str:
    return html.escape(str(text))


def _p(text: str) -> str:
    return f"<p>{_esc(text)}</p>"


def _ul(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{_esc(i)}</li>" for i in items) + "</ul>"


def _section(*parts: str) -> HTML:
    return HTML('<div class="bcba-section">' + "".join(parts) + "</div>")


def _h(level: int, text: str) -> str:
    return f"<h{level}>{_esc(text)}</h{level}>"


def _preparable(section):
    """Mark a section :meth:`Bcba.run` may render ahead, in either process, while the
    other is still busy; the notebook's call then returns it."""

    @functools.wraps(section)
    def shown(self, *args, **kwargs):
        ready = None if kwargs else self._prepared.pop((section.__name__, *args), None)
        if ready is None:
            return section(self, *args, **kwargs)
        page, figures = ready
        self._figures.extend(figures)  # the map book follows the notebook's order
        return page

    return shown


@dataclass
class Bcba:
    """The analysed B-CBA of one municipality (see module docstring)."""

    cfg: RunConfig
    inputs: object
    themes: object
    indicators: object
    spatial: dict
    networks: object
    timings: dict[str, float] = field(default_factory=dict)
    written: dict[str, Path] = field(default_factory=dict)
    _figures: list = field(default_factory=list, repr=False)
    _reason_cache: dict = field(default_factory=dict, repr=False)
    _sections_started: float | None = field(default=None, repr=False)
    _checked: set[Path] = field(default_factory=set, repr=False)  # leak-checked already
    _unchecked_maps: list[Path] = field(default_factory=list, repr=False)
    _prepared: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ running
    @classmethod
    def run(cls, cfg: RunConfig, *, second_process: bool = True) -> Bcba:
        """Load and analyse the inputs of ``cfg`` and write the result tables.

        With ``second_process`` (default) the spatial analysis and the processed-data files
        run in a spawned worker while this process analyses the networks
        (:mod:`bcba.worker`; the results are the same either way).
        """
        from bcba import keys
        from bcba.indicators.run import compute_indicators
        from bcba.network import analyse_networks
        from bcba.sources import load_inputs
        from bcba.themes import load_themes
        from bcba.worker import HELD_INPUTS, SecondProcess, processed_files, spatial_and_files

        timings: dict[str, float] = {}
        with SecondProcess(enabled=second_process) as worker:
            started = time.perf_counter()
            key = keys.load_key()
            inputs = load_inputs(
                cfg.gemeente,
                data_dir=cfg.data_dir,
                periode=(cfg.periode_start, cfg.periode_eind),
                key=key,
            )
            timings["inlezen"] = time.perf_counter() - started
            started = time.perf_counter()
            processed = ensure_dir(config.processed_dir() / cfg.gemeente)
            # the second process writes the processed data while the indicators are computed
            # here, and keeps the inputs for the spatial analysis
            first = worker.submit(processed_files, inputs, processed, hold=True)
            themes = load_themes(cfg.thema_config)
            indicators = compute_indicators(inputs, themes=themes)
            timings["indicatoren"] = time.perf_counter() - started
            started = time.perf_counter()
            options = {"cfg": cfg, "processed": processed}
            held = HELD_INPUTS if first is not None else inputs
            future = worker.submit(spatial_and_files, held, indicators, themes, **options)
            networks = analyse_networks(inputs, flags=indicators.flags)
            written = write_network_results(cfg.output_dir, networks)
            bcba = cls(cfg, inputs, themes, indicators, None, networks, timings)
            bcba._leak_check(written.values())
            timings["netwerken"] = time.perf_counter() - started
            if future is not None:
                waiting = time.perf_counter()
                bcba._prepare_sections(bcba._sections_while_waiting(), until=future.done)
                timings["rapportonderdelen_vooraf"] = time.perf_counter() - waiting
            data_files, timings["verwerkte_data"] = worker.result(
                first, processed_files, inputs, processed
            )
            spatial, more, spent, sections = worker.result(
                future, spatial_and_files, inputs, indicators, themes, **options
            )
            bcba._prepared.update(sections)
            written.update(data_files)
            written.update(more)
            timings.update(spent)
            timings["analyse_en_schrijven_samen"] = time.perf_counter() - started
        bcba.spatial = spatial
        bcba.written.update(written)
        report_dir = Path(cfg.output_dir).resolve()
        # the second process checked the result files and section maps it wrote
        bcba._checked |= {
            Path(p).resolve() for p in more.values() if Path(p).resolve().is_relative_to(report_dir)
        }
        bcba._sections_started = time.perf_counter()
        return bcba

    def _sections_in_second_process(self) -> list[tuple]:
        """The costly sections the second process of :meth:`run` renders after the spatial
        analysis (they need no networks), in report order. With the themes' maps there,
        both processes take about as long."""
        themes = [("themabeeld", thema) for thema in self.themes.themas]
        return [("overzicht_themas",), *themes, ("risicoterrein",), ("hotspots",)]

    def _sections_while_waiting(self) -> list[tuple]:
        """The costly sections this process renders while the second one still works (they
        need no spatial results)."""
        return [("risicolocaties",), ("netwerken",)]

    def _prepare_sections(self, calls, *, until) -> None:
        """Render the sections ``calls`` (name and arguments) in order until ``until()`` is
        true; each is kept with its print maps for the notebook's call. The map pages they
        wrote are checked for personal data here, while there is time."""
        for name, *args in calls:
            if until():
                break
            before = len(self._figures)
            page = getattr(self, name)(*args)
            self._prepared[(name, *args)] = (page, self._figures[before:])
            del self._figures[before:]
        self._leak_check(self._unchecked_maps)
        self._unchecked_maps.clear()

    def _leak_check(self, paths) -> None:
        """Check written report files for personal data now (raises ``PrivacyError``), so
        :meth:`afronden` need not."""
        from bcba.leakcheck import check_outputs

        paths = [Path(p) for p in paths]
        check_outputs(paths, sorted(self.inputs._names))
        self._checked |= {p.resolve() for p in paths}

    def _save_map(self, page, slug: str) -> Path:
        """Write a map page to ``kaarten/`` (to be checked for personal data again)."""
        from bcba.maps.interactive import save_map

        path = save_map(page, self.out / "kaarten" / f"{slug}.html")
        self._checked.discard(path.resolve())
        self._unchecked_maps.append(path)
        return path

    @property
    def out(self) -> Path:
        return Path(self.cfg.output_dir)

    @property
    def gemeente(self):
        return resolve_gemeente(self.cfg.gemeente)

    @property
    def periode(self) -> tuple[dt.date, dt.date]:
        return (self.cfg.periode_start, self.cfg.periode_eind)

    def main_theme(self) -> str:
        """The theme whose risk model leads: drugs when modelled, else the best-modelled one."""
        return main_theme(self.spatial)

    # ------------------------------------------------------------------ helpers
    def _basemap(self) -> dict:
        area = self.inputs.area
        return {"outline": area.outline, "wijken": area.wijken}

    def _label(self, thema: str) -> str:
        if thema == "totaal":
            return "Totaal (alle thema's)"
        return self.themes.themas[thema].label

    def _reasons(self, thema: str, buurtcodes) -> list[str]:
        """The top-3 contributing indicators of each buurt as one Dutch sentence list."""
        from bcba.indicators.scores import explain_top_contributions

        if thema not in self._reason_cache:
            explained = explain_top_contributions(self.indicators.bijdragen, thema, top=3)
            self._reason_cache[thema] = {
                code: "; ".join(sentences) for code, sentences in explained.items()
            }
            if thema == "totaal" and self.themes is not None:
                # overall sentences are prefixed with the theme id; show the Dutch label
                labels = {
                    tid.replace("_", " ") + ": ": t.label + ": "
                    for tid, t in self.themes.themas.items()
                }
                for code, text in self._reason_cache[thema].items():
                    for prefix, label in labels.items():
                        text = text.replace(prefix, label)
                    self._reason_cache[thema][code] = text
        known = self._reason_cache[thema]
        return [known.get(code) or "geen opvallende indicatoren" for code in buurtcodes]

    def _score_frame(self, thema: str) -> gpd.GeoDataFrame:
        frame = self.indicators.scores_buurt.copy()
        frame["reden"] = self._reasons(thema, frame["buurtcode"])
        return frame

    def _static_and_interactive(self, kind: str, frame, **kwargs):
        """The folium map and its print twin; the twin is kept as PNG for the map book."""
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
        basemap = self._basemap()
        figure_frame = kwargs.pop("figure_frame", frame)
        m = map_fn(frame, titel=titel, basemap=basemap, tegel_url=self.cfg.tegel_url, **kwargs)
        fig_kwargs = {k: v for k, v in kwargs.items() if k in _static_kwargs(figure_fn)}
        fig = figure_fn(figure_frame, titel=titel, basemap=basemap, **fig_kwargs)
        # rendered once, for the report and the map book alike; the figure is freed
        png = static.figure_to_png_bytes(fig, dpi=MAP_DPI)
        plt.close(fig)
        self._figures.append((png, titel))
        return m, png

    def _map(self, kind: str, frame, *, bijschrift: str, slug: str, **kwargs) -> str:
        from bcba.maps.offline import to_offline_html

        m, png = self._static_and_interactive(kind, frame, **kwargs)
        page = to_offline_html(m)
        self._save_map(page, slug)
        return rh.kaart_html(page, statisch=png, bijschrift=bijschrift)

    # ------------------------------------------------------------------ sections
    def titelpagina(self) -> HTML:
        gem = self.gemeente
        page = rh.titelpagina(
            gemeentenaam=gem.naam,
            gemeente=gem.code,
            datum=dt.date.today(),
            rapport_id=self.cfg.rapport_id,
            ontvanger=self.cfg.ontvanger,
            periode=self.periode,
        )
        return HTML(page.data + rh.inhoudsopgave().data)

    def samenvatting(self) -> HTML:
        ind = self.indicators
        gem = self.gemeente
        present = self.inputs.bronnen[self.inputs.bronnen["aanwezig"]]["bron"].map(SOURCE_LABELS)
        findings = []
        total = ind.scores_buurt.sort_values("rang_totaal").head(3)
        if len(total):
            names = ", ".join(f"{r.buurtnaam}" for r in total.itertuples())
            findings.append(f"De buurten met de hoogste totaalscore zijn {names}.")
        for thema in self.themes.themas:
            col = f"rang_{thema}"
            if col in ind.scores_buurt:
                top = ind.scores_buurt.sort_values(col).head(1)
                if len(top) and pd.notna(top[col].iloc[0]):
                    # the main reason only; the theme's section gives them all with figures
                    why = self._reasons(thema, top["buurtcode"])[0].split(";")[0]
                    why = why.split(" (")[0].strip()
                    why = why[:1].lower() + why[1:]
                    findings.append(
                        f"{self._label(thema)}: hoogste score in {top['buurtnaam'].iloc[0]} "
                        f"(vooral: {why})."
                    )
        n_loc = len(ind.risicolocaties)
        n_multi = int((ind.risicolocaties["n_soorten"] >= 2).sum()) if n_loc else 0
        findings.append(
            f"{rh.nl_getal(n_loc)} adressen dragen minstens één rode vlag; "
            f"{rh.nl_getal(n_multi)} daarvan combineren meerdere soorten vlaggen."
        )
        sig = ind.signalen
        if len(sig):
            local = int((sig["eigenaar"] == "gemeente").sum())
            findings.append(
                f"{rh.nl_getal(len(sig))} signalen voor opvolging, waarvan {rh.nl_getal((sig['prioriteit'] == 'hoog').sum())} "
                f"met hoge prioriteit: {rh.nl_getal(local)} voor de gemeente, "
                f"{rh.nl_getal(len(sig) - local)} voor de RIEC-intake."
            )
        hot = [
            self._label(t)
            for t, s in self.spatial.items()
            if _n_hot(s.hotspots_cel) + _n_hot(s.hotspots_buurt)
        ]
        if hot:
            findings.append(
                "Statistisch significante concentraties (hotspots, na FDR-correctie) bij: "
                + ", ".join(hot)
                + "."
            )
        else:
            findings.append(
                "Er zijn geen statistisch significante hotspots gevonden (na FDR-correctie)."
            )
        main = self.spatial.get(self.main_theme())
        if main is not None and main.conclusie:
            findings.append(
                f"Risicoterreinmodel {self._label(main.thema).lower()}: {main.conclusie}"
            )
        nets = self.networks.networks
        flagged = nets[nets["flags"].astype(str).str.len() > 0] if len(nets) else nets
        if len(flagged):
            findings.append(
                f"{rh.nl_getal(len(flagged))} netwerken van bedrijven, personen (gepseudonimiseerd) en adressen "
                "dragen netwerkvlaggen (stromannen, adreshubs, carrousels, vastgoed via jonge rechtspersonen)."
            )
        intro = (
            f"Deze bestuurlijke criminaliteitsbeeldanalyse (B-CBA) beschrijft voor {gem.naam} waar "
            "ondermijnende criminaliteit kansen krijgt (gelegenheidsstructuren), waar signalen samenkomen "
            "en welke structuren achter de casussen zitten. Gebruikte bronnen: "
            + ", ".join(present)
            + "."
        )
        caveat = (
            "Scores en kaarten wijzen op verhoogde risico's en signalen, niet op bewezen criminaliteit. "
            "Elke score is herleidbaar tot de onderliggende indicatoren (zie de redenen per buurt)."
        )
        return _section(
            rh.markering_html(),
            _p(intro),
            _h(3, "Belangrijkste bevindingen"),
            _ul(findings),
            _p(caveat),
        )

    def bronnen(self) -> HTML:
        b = self.inputs.bronnen.copy()
        b["bron"] = b["bron"].map(SOURCE_LABELS).fillna(b["bron"])
        b["aanwezig"] = b["aanwezig"].map({True: "ja", False: "nee"})
        for c in ("periode_van", "periode_tot"):
            b[c] = pd.to_datetime(b[c]).dt.strftime("%d-%m-%Y").fillna("–")
        geo = self.inputs.geocodering.copy()
        geo["bron"] = geo["bron"].map(SOURCE_LABELS).fillna(geo["bron"])
        geo["aandeel"] = geo["aandeel"] * 100
        method = (
            "Alle bronnen zijn ingelezen en gevalideerd; twijfelachtige records zijn behouden en gemarkeerd "
            "(bijlage C). Natuurlijke personen zijn bij het inlezen gepseudonimiseerd. Adressen zijn offline "
            "gekoppeld aan de BAG (exact, dan postcode + huisnummer, postcode, PC4) en toegekend aan buurt, "
            "wijk en 100m-vierkant. Analyse in RD New (EPSG:28992)."
        )
        return _section(
            rh.markering_html(),
            _p(method),
            rh.tabel_html(
                b[["bron", "aanwezig", "bestand", "rijen", "periode_van", "periode_tot"]],
                kolommen={
                    "bron": "Bron",
                    "aanwezig": "Aanwezig",
                    "bestand": "Bestand",
                    "rijen": "Records",
                    "periode_van": "Van",
                    "periode_tot": "Tot",
                },
                decimalen=0,
                bijschrift="Gebruikte bronnen met periode en aantal records",
            ),
            rh.tabel_html(
                geo,
                kolommen={
                    "bron": "Bron",
                    "geocode_niveau": "Koppelniveau",
                    "aantal": "Aantal",
                    "aandeel": "Aandeel (%)",
                },
                decimalen={"aantal": 0, "aandeel": 1},
                bijschrift="Geocodering per bron",
            ),
            _p(
                f"Referentiedata: {ATTRIBUTION}; CBS 100m-vierkanten en PC4 2024; SBI 2008 (CBS); "
                "geregistreerde criminaliteit (Bron: Politie)."
            ),
        )

    @_preparable
    def overzicht_themas(self) -> HTML:
        rows = []
        ind = self.indicators
        for thema, theme in self.themes.themas.items():
            s = self.spatial.get(thema)
            n_flags = (
                int(ind.flags["themas"].astype(str).str.contains(thema).sum())
                if len(ind.flags)
                else 0
            )
            hot_b = _n_hot(s.hotspots_buurt) if s is not None else 0
            top = ind.scores_buurt.sort_values(f"rang_{thema}").head(1)
            rows.append(
                {
                    "thema": theme.label,
                    "top": top["buurtnaam"].iloc[0] if len(top) else "–",
                    "vlaggen": n_flags,
                    "meldingen": s.n_events if s is not None else 0,
                    "hotspots": hot_b,
                }
            )
        table = pd.DataFrame(rows)
        frame = self._score_frame("totaal")
        kaart = self._map(
            "choropleth",
            frame,
            column="score_totaal",
            titel="Totaalscore per buurt",
            legend_title="Totaalscore",
            slug="totaalscore",
            bijschrift="Samengestelde totaalscore per buurt (klik op een buurt voor de redenen).",
        )
        return _section(
            rh.markering_html(),
            rh.tabel_html(
                table,
                kolommen={
                    "thema": "Thema",
                    "top": "Hoogste buurt",
                    "vlaggen": "Vlaggen",
                    "meldingen": "Partnermeldingen",
                    "hotspots": "Hotspot-buurten",
                },
                decimalen=0,
                bijschrift="Overzicht per thema",
            ),
            kaart,
        )

    @_preparable
    def themabeeld(self, thema: str) -> HTML:
        """Map, top buurten with reasons, survey picture and partner signals of one theme."""
        from bcba.errors import ConfigError

        if thema not in self.themes.themas:
            raise ConfigError(f"Onbekend thema {thema!r}; kies uit {list(self.themes.themas)}")
        theme = self.themes.themas[thema]
        ind = self.indicators
        parts = [rh.markering_html(), _p(theme.omschrijving)]
        frame = self._score_frame(thema)
        parts.append(
            self._map(
                "choropleth",
                frame,
                column=f"score_{thema}",
                titel=f"{theme.label}: score per buurt",
                legend_title="Score",
                slug=f"score_{thema}",
                bijschrift=f"{theme.label}: samengestelde score per buurt.",
            )
        )
        top = frame.sort_values(f"rang_{thema}").head(TOP_BUURTEN)
        parts.append(
            rh.tabel_html(
                top[["buurtnaam", f"score_{thema}", f"rang_{thema}", "reden"]],
                kolommen={
                    "buurtnaam": "Buurt",
                    f"score_{thema}": "Score",
                    f"rang_{thema}": "Rang",
                    "reden": "Waarom (belangrijkste indicatoren)",
                },
                decimalen={f"score_{thema}": 2, f"rang_{thema}": 0},
                bijschrift=f"Top {TOP_BUURTEN} buurten",
            )
        )
        parts.append(_h(3, "Beeld van medewerkers (enquête)"))
        perc = ind.enquete_percepties
        perc = perc[perc["thema"] == thema] if len(perc) else perc
        if len(perc):
            wijknamen = self.inputs.area.wijken.set_index("wijkcode")["wijknaam"]
            shown = perc.assign(wijk=perc["wijkcode"].map(wijknamen).fillna(perc["wijkcode"]))
            shown = shown.assign(
                gemiddelde=np.where(shown["onderdrukt"], np.nan, shown["gemiddelde"]),
                ci=[
                    ("–" if o else f"{rh.nl_getal(lo, 1)} – {rh.nl_getal(hi, 1)}")
                    for o, lo, hi in zip(
                        shown["onderdrukt"], shown["ci_laag"], shown["ci_hoog"], strict=True
                    )
                ],
            )
            parts.append(
                rh.tabel_html(
                    shown[["wijk", "n", "gemiddelde", "ci"]],
                    kolommen={
                        "wijk": "Wijk",
                        "n": "n",
                        "gemiddelde": "Gemiddelde (1-5)",
                        "ci": "95%-betrouwbaarheidsinterval",
                    },
                    decimalen={"n": 0, "gemiddelde": 1},
                    bijschrift="Waargenomen signalen (1 = nooit, 5 = zeer vaak); cellen met n < 5 worden niet getoond",
                )
            )
        else:
            parts.append(_p("Geen enquêteantwoorden voor dit thema."))
        mentions = ind.enquete_vermeldingen
        mentions = (
            mentions[(mentions["thema"] == thema) & ~mentions["onderdrukt"]]
            if len(mentions)
            else mentions
        )
        if len(mentions):
            names = pd.concat(
                [
                    self.inputs.area.wijken.set_index("wijkcode")["wijknaam"],
                    self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"],
                ]
            )
            m = mentions.sort_values("vermeldingen_rapport", ascending=False).head(5)
            m = m.assign(gebied=m["gebiedcode"].map(names).fillna(m["gebiedcode"]))
            parts.append(
                rh.tabel_html(
                    m[["gebied", "gebied_niveau", "vermeldingen_rapport"]],
                    kolommen={
                        "gebied": "Gebied",
                        "gebied_niveau": "Niveau",
                        "vermeldingen_rapport": "Vermeldingen",
                    },
                    decimalen=0,
                    bijschrift="Meest genoemde gebieden (n ≥ 5)",
                )
            )
        parts.append(_h(3, "Signalen van partners"))
        pb = ind.partners_buurt
        pb = pb[pb["thema"] == thema] if len(pb) else pb
        if len(pb) and pb["meldingen"].sum() > 0:
            names = self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
            top_p = pb.sort_values("per_1000_inw", ascending=False).head(TOP_BUURTEN)
            top_p = top_p.assign(buurt=top_p["gebied"].map(names).fillna(top_p["gebied"]))
            parts.append(
                _p(
                    f"In de periode zijn {rh.nl_getal(pb['meldingen'].sum())} partnermeldingen over dit thema "
                    "geregistreerd. Meldingsteksten worden niet letterlijk opgenomen."
                )
            )
            parts.append(
                rh.tabel_html(
                    top_p[["buurt", "meldingen", "per_1000_inw"]],
                    kolommen={
                        "buurt": "Buurt",
                        "meldingen": "Meldingen",
                        "per_1000_inw": "Per 1.000 inwoners",
                    },
                    decimalen={"meldingen": 0, "per_1000_inw": 1},
                    bijschrift="Buurten met de meeste partnermeldingen per inwoner",
                )
            )
        else:
            parts.append(_p("Geen partnermeldingen voor dit thema in de periode."))
        return _section(*parts)

    def gelegenheidsstructuren(self) -> HTML:
        ind = self.indicators
        g = ind.gelegenheid_buurt
        cats = self.themes.categorieen
        per_cat = (
            g[g["groep"].isin(list(cats))]
            .groupby("groep")
            .agg(n=("n", "sum"), lq_max=("lq_gekrompen", "max"))
            .reset_index()
        )
        if len(per_cat):
            idx = (
                g[g["groep"].isin(list(cats))]
                .sort_values("lq_gekrompen", ascending=False)
                .drop_duplicates("groep")
            )
            names = self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
            top = idx.set_index("groep")["gebied"].map(names)
            per_cat["categorie"] = per_cat["groep"].map({k: v.label for k, v in cats.items()})
            per_cat["buurt"] = per_cat["groep"].map(top)
            per_cat = per_cat.sort_values("n", ascending=False)
        text = (
            "Gelegenheidsstructuren zijn branches en plekken die kansen bieden voor ondermijning "
            "(bijvoorbeeld contante omzet, weinig toezicht of afgeschermde ruimte). Het locatiequotiënt (LQ) "
            "vergelijkt het aandeel van een branche in een buurt met de hele gemeente; LQ > 1 betekent "
            "oververtegenwoordiging (gekrompen naar 1 bij kleine aantallen)."
        )
        parts = [rh.markering_html(), _p(text)]
        if len(per_cat):
            parts.append(
                rh.tabel_html(
                    per_cat[["categorie", "n", "buurt", "lq_max"]],
                    kolommen={
                        "categorie": "Categorie",
                        "n": "Actieve vestigingen",
                        "buurt": "Sterkst vertegenwoordigd in",
                        "lq_max": "LQ daar",
                    },
                    decimalen={"n": 0, "lq_max": 2},
                    bijschrift="Gelegenheidsstructuren (actieve KvK-vestigingen)",
                )
            )
        return _section(*parts)

    @_preparable
    def risicolocaties(self) -> HTML:
        from bcba.maps.palette import flag_label

        ind = self.indicators
        flags = ind.flags
        parts = [rh.markering_html()]
        if len(flags) == 0:
            return _section(*parts, _p("Er zijn geen rode vlaggen gevonden."))
        counts = (
            flags.groupby("flag_id")
            .agg(n=("flag_id", "size"), adressen=("adres_id", "nunique"))
            .reset_index()
        )
        counts["omschrijving"] = flag_label(counts["flag_id"].to_numpy())
        parts.append(
            rh.tabel_html(
                counts[["flag_id", "omschrijving", "n", "adressen"]],
                kolommen={
                    "flag_id": "Vlag",
                    "omschrijving": "Omschrijving",
                    "n": "Aantal",
                    "adressen": "Adressen",
                },
                decimalen=0,
                bijschrift="Rode vlaggen uit KvK en Kadaster",
            )
        )
        loc = ind.risicolocaties[ind.risicolocaties.geometry.notna()].copy()
        loc["reden"] = loc["bewijs"].astype(str).str.slice(0, 300)
        loc["flag"] = loc["flag_ids"]
        bijschrift = "Adressen met rode vlaggen, gekleurd naar soort vlag (geclusterd)."
        shown = loc
        if len(loc) > MAX_REPORT_LOCATIONS:
            # A city has tens of thousands: the report's map shows the addresses with the
            # most kinds of flags; the separate map file and the print map show them all.
            shown = loc.sort_values(
                ["n_soorten", "n_flags", "adres_id"], ascending=[False, False, True]
            ).head(MAX_REPORT_LOCATIONS)
            bijschrift += (
                f" Interactief getoond: de {rh.nl_getal(len(shown), 0)} adressen met de meeste "
                f"soorten vlaggen van de {rh.nl_getal(len(loc), 0)}; alle adressen staan in "
                "kaarten/risicolocaties_alle.html, in risicolocaties.csv en op de afdrukkaart."
            )
            from bcba.maps.interactive import risk_locations_map

            self._save_map(
                risk_locations_map(
                    loc,
                    titel="Risicolocaties (alle)",
                    flag_column="flag",
                    basemap=self._basemap(),
                    tegel_url=self.cfg.tegel_url,
                ),
                "risicolocaties_alle",
            )
        parts.append(
            self._map(
                "locaties",
                shown,
                titel="Risicolocaties",
                flag_column="flag",
                slug="risicolocaties",
                bijschrift=bijschrift,
                figure_frame=loc,
            )
        )
        top = ind.risicolocaties.sort_values(["n_soorten", "n_flags"], ascending=False).head(15)
        names = self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
        top = top.assign(buurt=top["buurtcode"].map(names).fillna(top["buurtcode"]))
        parts.append(
            rh.tabel_html(
                top[["adres_sleutel", "buurt", "flag_ids", "bewijs"]],
                kolommen={
                    "adres_sleutel": "Adres (postcode|nr)",
                    "buurt": "Buurt",
                    "flag_ids": "Vlaggen",
                    "bewijs": "Onderbouwing",
                },
                bijschrift="Adressen met de meeste soorten vlaggen",
            )
        )
        return _section(*parts)

    @_preparable
    def risicoterrein(self) -> HTML:
        thema = self.main_theme()
        s = self.spatial[thema]
        parts = [rh.markering_html()]
        if s.model is None:
            return _section(*parts, _p(f"Geen risicoterreinmodel: {' '.join(s.meldingen)}"))
        parts.append(
            _p(
                f"Het risicoterreinmodel (Caplan & Kennedy) schat voor {self._label(thema).lower()} per 100m-vierkant "
                "het relatieve risico uit de nabijheid of dichtheid van gelegenheidsstructuren, gecorrigeerd voor het "
                "aantal adressen. Factoren zijn geselecteerd met L1-gestrafte Poissonregressie en kruisvalidatie; "
                "de relatieve risicowaarde (RRV) zegt hoeveel keer hoger het risico is waar een factor aanwezig is."
            )
        )
        f = s.factoren[s.factoren["geselecteerd"]].sort_values("rrv", ascending=False)
        cats = self.themes.categorieen
        f = f.assign(
            naam=f["factor"].map(lambda c: cats[c].label if c in cats else c.replace("_", " "))
        )
        parts.append(
            rh.tabel_html(
                f[
                    [
                        "naam",
                        "operationalisatie",
                        "afstand_m",
                        "rrv",
                        "ci_laag",
                        "ci_hoog",
                        "p_waarde",
                    ]
                ],
                kolommen={
                    "naam": "Risicofactor",
                    "operationalisatie": "Vorm",
                    "afstand_m": "Invloed (m)",
                    "rrv": "RRV",
                    "ci_laag": "95%-BI laag",
                    "ci_hoog": "95%-BI hoog",
                    "p_waarde": "p",
                },
                decimalen={"afstand_m": 0, "rrv": 2, "ci_laag": 2, "ci_hoog": 2, "p_waarde": 3},
                bijschrift="Geselecteerde risicofactoren",
            )
        )
        surface = s.surface.copy()
        surface["reden"] = [
            f"relatief risico {rh.nl_getal(v, 1)}" for v in surface["relatief_risico"]
        ]
        parts.append(
            self._map(
                "risico",
                surface,
                titel=f"Risicokaart {self._label(thema).lower()}",
                slug=f"risicokaart_{thema}",
                bijschrift="Relatief risico per 100m-vierkant (alleen vierkanten met risico > 1).",
            )
        )
        if s.conclusie:
            parts.append(_p("Validatie: " + s.conclusie + " (zie bijlage B)."))
        return _section(*parts)

    @_preparable
    def hotspots(self) -> HTML:
        thema = self.main_theme()
        s = self.spatial[thema]
        parts = [rh.markering_html()]
        if s.hotspots_cel is None:
            return _section(*parts, _p(" ".join(s.meldingen) or "Geen hotspotanalyse mogelijk."))
        parts.append(
            _p(
                "Getis-Ord Gi* toont waar meldingen meer clusteren dan op grond van het aantal adressen te verwachten is "
                "(empirisch-Bayesiaans gecorrigeerde aantallen, permutatietoets met correctie voor meervoudig testen "
                "(FDR, Benjamini-Hochberg))."
            )
        )
        grid = s.hotspots_cel
        melding = grid.attrs.get("melding") if hasattr(grid, "attrs") else None
        if melding:
            parts.append(_p(str(melding)))
        sig = grid[grid["klasse"].astype(str).str.startswith(("Hot", "Cold"))].copy()
        sig["reden"] = [
            f"{k}, {rh.nl_getal(v)} meldingen"
            for k, v in zip(sig["klasse"].astype(str), sig["aantal"], strict=True)
        ]
        if len(sig):
            parts.append(
                self._map(
                    "hotspot",
                    sig,
                    titel=f"Hotspots {self._label(thema).lower()} (100m)",
                    klasse_column="klasse",
                    slug=f"hotspots_{thema}",
                    bijschrift="Significante hot- en coldspots per 100m-vierkant (na FDR).",
                )
            )
        else:
            parts.append(
                _p("Geen significante hot- of coldspots op het 100m-raster na FDR-correctie.")
            )
        rows = []
        for t, res in self.spatial.items():
            if res.hotspots_buurt is None:
                continue
            hot = res.hotspots_buurt[res.hotspots_buurt["klasse"].astype(str).str.startswith("Hot")]
            cells = _n_hot(res.hotspots_cel) if res.hotspots_cel is not None else "niet berekend"
            rows.append(
                {
                    "thema": self._label(t),
                    "meldingen": res.n_events,
                    "hot_cellen": cells,
                    "hot_buurten": ", ".join(hot.get("buurtnaam", hot["buurtcode"]).astype(str))
                    or "–",
                }
            )
        if rows:
            parts.append(
                rh.tabel_html(
                    pd.DataFrame(rows),
                    kolommen={
                        "thema": "Thema",
                        "meldingen": "Meldingen",
                        "hot_cellen": "Hotspot-vierkanten",
                        "hot_buurten": "Hotspot-buurten",
                    },
                    decimalen=0,
                    bijschrift="Hotspots per thema (na FDR-correctie)",
                )
            )
        return _section(*parts)

    @_preparable
    def netwerken(self) -> HTML:
        from bcba.maps.static import figure_to_base64
        from bcba.network.plot import plot_network

        nets = self.networks.networks
        parts = [rh.markering_html()]
        flagged = (
            nets[nets["flags"].astype(str).str.len() > 0].sort_values("rang").head(5)
            if len(nets)
            else nets
        )
        if len(flagged) == 0:
            return _section(*parts, _p("Geen netwerken met netwerkvlaggen gevonden."))
        parts.append(
            _p(
                "Bedrijven, personen (alleen als pseudoniem), adressen en vastgoed zijn gekoppeld tot netwerken. "
                "De rangorde volgt het aantal en gewicht van de vlaggen in een netwerk. Exports voor i2 Analyst's "
                "Notebook en GraphML staan in de map 'netwerken'."
            )
        )
        parts.append(
            rh.tabel_html(
                flagged[
                    [
                        "rang",
                        "netwerk_id",
                        "n_bedrijven",
                        "n_personen",
                        "n_adressen",
                        "flags",
                        "beschrijving",
                    ]
                ],
                kolommen={
                    "rang": "Rang",
                    "netwerk_id": "Netwerk",
                    "n_bedrijven": "Bedrijven",
                    "n_personen": "Personen",
                    "n_adressen": "Adressen",
                    "flags": "Vlaggen",
                    "beschrijving": "Beschrijving",
                },
                decimalen=0,
                bijschrift="Netwerken met de meeste signalen",
            )
        )
        for row in flagged.head(3).itertuples():
            fig = plot_network(self.networks, row.netwerk_id)
            parts.append(_h(3, f"Netwerk {row.netwerk_id}"))
            parts.append(
                f'<figure class="bcba-figure"><img alt="Netwerkdiagram {_esc(row.netwerk_id)}" '
                f'src="data:image/png;base64,{figure_to_base64(fig, dpi=110)}">'
                f"<figcaption>{_esc(row.beschrijving)}</figcaption></figure>"
            )
            import matplotlib.pyplot as plt

            plt.close(fig)
        return _section(*parts)

    def signalen(self) -> HTML:
        sig = self.indicators.signalen
        parts = [rh.markering_html()]
        if len(sig) == 0:
            return _section(*parts, _p("Geen signalen voor opvolging."))
        parts.append(
            _p(
                "Locaties en entiteiten die meerdere vlaggen of bronnen combineren worden signalen. De voorgestelde "
                "eigenaar is de gemeente (lokale opvolging: vergunningen, APV, Bibob, handhaving) of de RIEC-intake "
                "(als personen, netwerken of meerdere partners betrokken zijn)."
            )
        )
        names = self.inputs.area.buurten.set_index("buurtcode")["buurtnaam"]
        sig = sig.assign(buurt=sig["buurtcode"].map(names).fillna(sig["buurtcode"]).fillna("–"))
        order = {"hoog": 0, "middel": 1, "laag": 2}
        sig = sig.assign(_o=sig["prioriteit"].map(order)).sort_values(["_o", "signaal_id"])
        columns = {
            "signaal_id": "Signaal",
            "prioriteit": "Prioriteit",
            "buurt": "Buurt",
            "flag_ids": "Vlaggen",
            "bewijs": "Onderbouwing",
        }
        for owner, title in (
            ("gemeente", "Lokale opvolging (gemeente)"),
            ("RIEC-intake", "Voor de RIEC-intake"),
        ):
            sel = sig[sig["eigenaar"] == owner]
            parts.append(_h(3, f"{title}: {rh.nl_getal(len(sel))} signalen"))
            if len(sel):
                parts.append(rh.tabel_html(sel, kolommen=columns, max_rijen=25, decimalen=0))
        return _section(*parts)

    def ontwikkeling(self) -> HTML:
        """Change since the previous B-CBA of this municipality (monitoring), if there is one."""
        from bcba.monitoring import monitoring_section, run_folders, vergelijk

        here = self.out.resolve()
        earlier = [
            f for f in run_folders(self.cfg.gemeente) if f.resolve() != here and f.name < here.name
        ]
        if not earlier:
            return _section(rh.markering_html(), monitoring_section(None).data)
        result = vergelijk(self.cfg.gemeente, current=here, previous=earlier[-1])
        return _section(rh.markering_html(), monitoring_section(result).data)

    def interventies(self) -> HTML:
        rows = []
        for theme in self.themes.themas.values():
            for i in theme.interventies:
                rows.append(
                    {
                        "thema": theme.label,
                        "stap": i.stap,
                        "partner": i.partner,
                        "instrument": i.instrument,
                        "omschrijving": i.omschrijving,
                    }
                )
        text = (
            "Volgens het barrièremodel kan elke stap in het criminele proces (huisvesting, logistiek, "
            "financiën, werving) worden bemoeilijkt. Per thema staan hieronder instrumenten en de partner die ze inzet."
        )
        return _section(
            rh.markering_html(),
            _p(text),
            rh.tabel_html(
                pd.DataFrame(rows),
                kolommen={
                    "thema": "Thema",
                    "stap": "Stap in het proces",
                    "partner": "Partner",
                    "instrument": "Instrument",
                    "omschrijving": "Toelichting",
                },
            ),
        )

    def bijlage_methode(self) -> HTML:
        cfg = self.indicators.config
        thresholds = pd.DataFrame(
            [
                {
                    "instelling": "Veel inschrijvingen op één adres (drempel)",
                    "waarde": cfg.kvk.veel_inschrijvingen,
                },
                {"instelling": "Verloop op één adres (drempel)", "waarde": cfg.kvk.verloop_adres},
                {
                    "instelling": "Kadaster: doorverkoop binnen (dagen)",
                    "waarde": cfg.kadaster.abc_dagen,
                },
                {"instelling": "Enquête: minimale celgrootte", "waarde": cfg.enquete_min_n},
                {"instelling": "Thema-configuratie versie", "waarde": self.themes.versie},
            ]
        )
        text = [
            "Indicatoren per buurt worden robuust gestandaardiseerd (mediaan en MAD, afgekapt) en per thema gewogen "
            "opgeteld; de bijdrage van elke indicator aan de score wordt bewaard (bijdragen.csv), zodat elke score "
            "te verklaren is. Kleine aantallen worden naar het gemiddelde gekrompen.",
            "Het risicoterreinmodel en de hotspotanalyse staan beschreven in docs/method-rtm.md; de indicatoren "
            "en scores in docs/method.md.",
        ]
        return _section(
            rh.markering_html(),
            *[_p(t) for t in text],
            rh.tabel_html(thresholds, kolommen={"instelling": "Instelling", "waarde": "Waarde"}),
        )

    def bijlage_validatie(self) -> HTML:
        parts = [rh.markering_html()]
        rows = []
        for t, s in self.spatial.items():
            if s.validatie is None:
                continue
            v = s.validatie.copy()
            v.insert(0, "thema", self._label(t))
            rows.append(v)
        if not rows:
            return _section(
                *parts,
                _p("Geen validatie mogelijk: te weinig meldingen in beide helften van de periode."),
            )
        table = pd.concat(rows, ignore_index=True)
        table["aandeel_oppervlak"] = table["aandeel_oppervlak"] * 100
        table["hit_rate"] = table["hit_rate"] * 100
        parts.append(
            _p(
                "Het model is getraind op de eerste helft van de periode en getoetst op de tweede helft. De hit rate is "
                "het aandeel toetsmeldingen in het hoogst geschatte deel van het oppervlak; de PAI deelt dat door het "
                "aandeel oppervlak. De basislijn is een kerndichtheidsschatting (quartic kernel) van de trainingsmeldingen."
            )
        )
        parts.append(
            rh.tabel_html(
                table[
                    ["thema", "methode", "aandeel_oppervlak", "hit_rate", "pai", "n_test_events"]
                ],
                kolommen={
                    "thema": "Thema",
                    "methode": "Methode",
                    "aandeel_oppervlak": "Oppervlak (%)",
                    "hit_rate": "Hit rate (%)",
                    "pai": "PAI",
                    "n_test_events": "Toetsmeldingen",
                },
                decimalen={"aandeel_oppervlak": 0, "hit_rate": 1, "pai": 2, "n_test_events": 0},
                bijschrift="Validatie op een tijdsplitsing: risicoterreinmodel tegen de KDE-basislijn",
            )
        )
        for t, s in self.spatial.items():
            if s.conclusie:
                parts.append(_p(f"{self._label(t)}: {s.conclusie}"))
        return _section(*parts)

    def bijlage_datakwaliteit(self) -> HTML:
        k = self.inputs.kwaliteit.copy()
        if "bron" in k:
            k["bron"] = k["bron"].map(SOURCE_LABELS).fillna(k["bron"])
        return _section(
            rh.markering_html(),
            _p("Twijfelachtige records zijn niet verwijderd maar gemarkeerd en hieronder geteld."),
            rh.tabel_html(k, decimalen=0, bijschrift="Datakwaliteit per bron"),
        )

    def bijlage_herkomst(self) -> HTML:
        from bcba.keys import key_fingerprint, load_key

        key = load_key(required=False)
        params = pd.DataFrame(
            [
                {"gegeven": "bcba-versie", "waarde": __version__},
                {"gegeven": "Rapportnummer", "waarde": self.cfg.rapport_id},
                {"gegeven": "Gemeente", "waarde": f"{self.gemeente.naam} ({self.cfg.gemeente})"},
                {
                    "gegeven": "Periode",
                    "waarde": f"{rh.nl_datum(self.cfg.periode_start)} t/m {rh.nl_datum(self.cfg.periode_eind)}",
                },
                {
                    "gegeven": "Thema-configuratie",
                    "waarde": f"versie {self.themes.versie}"
                    + (
                        f" ({Path(self.cfg.thema_config).name})"
                        if self.cfg.thema_config
                        else " (standaard)"
                    ),
                },
                {
                    "gegeven": "Sleutel (vingerafdruk)",
                    "waarde": key_fingerprint(key) if key else "–",
                },
                {"gegeven": "Gemaakt op", "waarde": dt.datetime.now().strftime("%d-%m-%Y %H:%M")},
            ]
            + [
                {"gegeven": f"Rekentijd {k}", "waarde": f"{rh.nl_getal(v, 1)} s"}
                for k, v in self.timings.items()
            ]
        )
        manifest = self.inputs.manifest.copy()
        manifest["sha256"] = manifest["sha256"].astype(str).str.slice(0, 16) + "…"
        return _section(
            rh.markering_html(),
            rh.tabel_html(
                params, kolommen={"gegeven": "Gegeven", "waarde": "Waarde"}, bijschrift="Parameters"
            ),
            rh.tabel_html(manifest, decimalen=0, bijschrift="Invoerbestanden (sha256, ingekort)"),
            _p(f"Referentiedata: {ATTRIBUTION}. Zie bcba/reference_data/SOURCES.md."),
        )

    def afronden(self) -> HTML:
        """Write the map book and check every file of the report folder for personal data."""
        from bcba.leakcheck import check_outputs
        from bcba.maps.mapbook import write_mapbook

        if self._sections_started is not None:
            self.timings["rapportonderdelen"] = time.perf_counter() - self._sections_started
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
        # Everything in the report folder leaves the workplace and is checked; run() already
        # checked the files it wrote (and the maps of the sections it prepared). data/processed
        # stays on the workplace and holds pseudonyms only (the test suite scans it too).
        unchecked = [
            p for p in self.out.rglob("*") if p.is_file() and p.resolve() not in self._checked
        ]
        check_outputs(unchecked, sorted(self.inputs._names))
        write_text(
            self.out / "LEESMIJ.txt",
            "STRIKT VERTROUWELIJK\n"
            f"B-CBA {self.gemeente.naam}, rapportnummer {self.cfg.rapport_id}, ontvanger {self.cfg.ontvanger}.\n"
            "Niet verspreiden zonder toestemming. Zie bcba_<GMxxxx>.html / .pdf.\n",
        )
        self.timings["kaartenboek_en_controle"] = time.perf_counter() - started
        # seconds per part, for benchmarks/ and for an analyst wondering where time went
        write_text(
            self.out / "looptijden.json",
            json.dumps({k: round(v, 2) for k, v in self.timings.items()}, indent=2),
        )
        return HTML(f'<p class="bcba-end">{rh.markering_html()} Einde van het rapport.</p>')


def main_theme(spatial: dict) -> str:
    """The theme whose risk model leads: drugs when modelled, else the best-modelled one."""
    modelled = [t for t, s in spatial.items() if s.model is not None]
    if MAIN_THEME in modelled:
        return MAIN_THEME
    if modelled:
        return max(modelled, key=lambda t: spatial[t].n_events)
    return max(spatial, key=lambda t: spatial[t].n_events)


def write_analysis_results(
    out: Path, processed: Path, gemeente: str, indicators, spatial: dict
) -> dict[str, Path]:
    """Indicator tables, the result GeoPackage (also in ``processed``) and the risk model and
    hot spot files of every theme (the main theme's beside the report)."""
    from bcba.indicators.run import to_geopackage, write_results
    from bcba.rtm import write_rtm_outputs

    out = ensure_dir(out)
    written = dict(write_results(indicators, out))
    result_gpkg = to_geopackage(indicators, out / f"resultaten_{gemeente}.gpkg")
    written["resultaten_gpkg"] = result_gpkg
    # the same layers in the processed GeoPackage, so QGIS users find everything in one file
    shutil.copyfile(result_gpkg, Path(processed) / f"resultaten_{gemeente}.gpkg")
    os.chmod(Path(processed) / f"resultaten_{gemeente}.gpkg", 0o600)
    leading = main_theme(spatial)
    for thema, result in spatial.items():
        if result.model is None and result.hotspots_buurt is None:
            continue
        folder = out if thema == leading else out / "ruimtelijk" / thema
        if result.model is not None:
            files = write_rtm_outputs(
                result.model,
                result.validatie,
                result.hotspots_cel,
                result.hotspots_buurt,
                folder,
            )
        else:
            files = _write_hotspots_only(result, folder)
        written.update({f"{thema}:{k}": v for k, v in files.items()})
    return written


def write_network_results(out: Path, networks) -> dict[str, Path]:
    """GraphML, i2 and CSV exports of the networks that carry flags.

    The whole register graph of a city is hundreds of thousands of nodes nobody opens in
    i2; the flagged networks are the ones analysts follow up.
    """
    from bcba.network.export import write_graphml, write_i2

    net_dir = ensure_dir(Path(out) / "netwerken")
    flagged = _flagged_network_ids(networks)
    written = {
        "graphml": write_graphml(networks, net_dir / "netwerken.graphml", netwerk_ids=flagged)
    }
    written.update(write_i2(networks, net_dir, netwerk_ids=flagged))
    write_csv(_networks_table(networks), net_dir / "netwerken.csv")
    return written


def _static_kwargs(fn) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)


def _write_hotspots_only(result, folder: Path) -> dict[str, Path]:
    path = Path(folder) / "hotspots.gpkg"
    with atomic_path(path) as tmp:
        result.hotspots_buurt.to_file(tmp, layer="buurten", driver="GPKG")
        if result.hotspots_cel is not None:
            result.hotspots_cel.to_file(tmp, layer="cellen", driver="GPKG", mode="a")
    return {"hotspots": path}


def _n_hot(frame) -> int:
    """Number of units classed as a hot spot (0 when the analysis was not run)."""
    if frame is None:
        return 0
    return int(frame["klasse"].astype(str).str.startswith("Hot spot").sum())


def _flagged_network_ids(networks) -> list[str]:
    """Ids of the networks that carry at least one flag, best ranked first."""
    table = networks.networks
    if len(table) == 0:
        return []
    flagged = table[table["flags"].astype(str).str.len() > 0].sort_values("rang")
    return flagged["netwerk_id"].astype(str).tolist()


def _networks_table(networks) -> pd.DataFrame:
    return networks.networks.copy()


def national_counts(gemeenten: list[str] | None) -> pd.DataFrame:
    """Counts per theme per municipality/wijk from the latest run of each municipality.

    Reads ``vlaggen.csv`` (flags per theme) of the newest report folder per municipality.
    """
    rows = []
    root = config.reports_dir()
    codes = [resolve_gemeente(g).code for g in gemeenten] if gemeenten else None
    for folder in sorted(root.glob("GM*_*")):
        code = folder.name.split("_")[0]
        if codes is not None and code not in codes:
            continue
        runs = sorted(p for p in folder.iterdir() if p.is_dir())
        if not runs or not (runs[-1] / "vlaggen.csv").exists():
            continue
        flags = pd.read_csv(runs[-1] / "vlaggen.csv", dtype=str)
        flags["thema"] = flags["themas"].fillna("").str.split(";")
        flags = flags.explode("thema")
        flags = flags[flags["thema"].astype(bool)]
        counts = flags.groupby(["wijkcode", "thema"]).size().reset_index(name="aantal")
        counts.insert(0, "gemeentecode", code)
        rows.append(counts)
    if not rows:
        from bcba.errors import MissingInputError

        raise MissingInputError("Geen resultaten gevonden in reports/; draai eerst 'bcba run'.")
    return pd.concat(rows, ignore_index=True)

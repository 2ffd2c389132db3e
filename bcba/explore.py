"""Helpers for analysts in JupyterLab (``notebooks/exploratory/``).

They wrap the library so a notebook stays thin (one call per cell): check a delivery, run the
analysis, open a finished run fast (:func:`open_run`), follow a signal to its evidence, and
show tables, charts and offline interactive maps in the report's classes and colours.
Nothing here changes a run folder; :func:`analyseer` makes a new one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
from IPython.display import HTML

from bcba import config, labels
from bcba.io import read_csv
from bcba.maps import palette
from bcba.report import html as rh
from bcba.workbook import readable_addresses

log = logging.getLogger(__name__)

#: The theme whose risk model leads when several were modelled (as in the engine).
_MAIN_THEME = "drugs"
#: Marker colours of :func:`kaart` (taken from the report's palette).
_BRANCH_COLOUR = palette.FLAGS["KVK_NIEUW_RISICOBRANCHE"][1]
_EVENT_COLOUR = palette.RISK_COLOURS[-2]


# --------------------------------------------------------------------------- inputs
def laad(gemeente: str, *, data_dir: str = "", periode_start: str = "", periode_eind: str = ""):
    """Read, validate, pseudonymise and geocode the inputs of a municipality."""
    from bcba import keys
    from bcba.reference import resolve_gemeente
    from bcba.runs import _as_date
    from bcba.sources import load_inputs

    gem = resolve_gemeente(gemeente)
    start, end = config.default_period()
    periode = (
        _as_date(periode_start, "periode_start") or start,
        _as_date(periode_eind, "periode_eind") or end,
    )
    folder = data_dir or (config.raw_dir() / gem.code)
    return load_inputs(gem.code, data_dir=folder, periode=periode, key=keys.load_key())


def controleer(inputs) -> HTML:
    """The check of a delivery, as ``bcba controleer`` prints it: the verdict, the sources,
    the geocoding rates and the data-quality counts (Dutch notation)."""
    from bcba import input_summary as summary

    verdict = summary.verdict(inputs.bronnen, inputs.kwaliteit, inputs.geocodering)
    legend = summary.quality_legend(inputs.kwaliteit)
    return HTML(
        rh.markering_html()
        + rh.p(verdict.text())
        + rh.tabel_html(summary.sources_table(inputs.bronnen), bijschrift="Bronnen")
        + rh.tabel_html(summary.geocoding_table(inputs.geocodering), bijschrift="Geocodering")
        + rh.tabel_html(
            summary.quality_table(inputs.kwaliteit, inputs.bronnen, inputs.geocodering),
            bijschrift="Datakwaliteit",
        )
        + (rh.ul(legend) if legend else "")
    )


def bronnen(inputs) -> HTML:
    """Which sources are present, with periods and record counts."""
    return rh.tabel(inputs.bronnen, decimalen=0, bijschrift="Bronnen")


def kwaliteit(inputs) -> HTML:
    """Geocoding rates and the data-quality table."""
    return HTML(
        rh.tabel_html(
            inputs.geocodering, decimalen={"aantal": 0, "aandeel": 3}, bijschrift="Geocodering"
        )
        + rh.tabel_html(inputs.kwaliteit, decimalen=0, bijschrift="Datakwaliteit")
    )


def voorbeeld(obj, table: str, n: int = 10) -> pd.DataFrame:
    """The first rows of a table of ``Inputs``, ``IndicatorResults`` or :class:`Run` (no
    geometry column)."""
    frame = getattr(obj, table)
    if frame is None:
        return pd.DataFrame()
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).head(n)


def _points(m: folium.Map, frame: gpd.GeoDataFrame, *, name: str, colour: str, popup: list[str]):
    """A layer of circle markers with the (safe, Dutch) ``popup`` columns."""
    from bcba.maps.interactive import check_safe_columns
    from bcba.maps.offline import geojson_dict, to_web

    check_safe_columns(popup)
    layer = to_web(
        gpd.GeoDataFrame(
            {c: frame[c].astype("string").fillna("–").to_numpy() for c in popup},
            geometry=frame.geometry.to_numpy(),
            crs=frame.crs,
        )
    )
    folium.GeoJson(
        geojson_dict(layer),
        name=name,
        marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.9, weight=1),
        style_function=lambda _f: {"fillColor": colour, "color": "#333333"},
        popup=folium.GeoJsonPopup(fields=popup, labels=True) if len(layer) else None,
    ).add_to(m)


def kaart(inputs) -> HTML:
    """Active establishments in risk branches and the partner events of the period on an
    offline map, each in its own layer with its own colour (no trade names: of a one-man
    business that is often the owner's name)."""
    from bcba.maps.interactive import Legend
    from bcba.maps.offline import offline_map, use_vendored_assets
    from bcba.themes import load_themes

    themes = load_themes()
    m = offline_map(
        outline=inputs.area.outline,
        wijken=inputs.area.wijken,
        title="Risicobranches en partnermeldingen",
    )
    entries = []
    vest = inputs.kvk_vestigingen
    if vest is not None and len(vest) and themes.risicobranches:
        located = vest[vest.geometry.notna() & vest["datum_uitschrijving"].isna()]
        cats = themes.match_categories(located["sbi_code"], located.get("handelsnaam"))
        risky = cats[themes.risicobranches].any(axis=1).to_numpy()
        branch = located[risky]
        first = cats.loc[risky, themes.risicobranches].idxmax(axis=1)
        branch = branch.assign(
            branche=first.map(lambda c: themes.categorieen[c].label).to_numpy(),
            sbi=branch["sbi_code"].astype("string").to_numpy(),
            buurt=branch["buurtcode"].to_numpy(),
        )
        _points(
            m,
            branch,
            name=f"Vestigingen in risicobranches ({len(branch)})",
            colour=_BRANCH_COLOUR,
            popup=["branche", "sbi", "buurt"],
        )
        entries.append(("Vestiging in risicobranche", _BRANCH_COLOUR))
    events = inputs.partners
    if events is not None and len(events):
        located = events[events.geometry.notna()]
        located = located.assign(
            partner=[labels.PARTNER_LABELS.get(b, b) for b in located["bron"]],
            thema_label=[
                themes.themas[t].label if t in themes.themas else str(t) for t in located["thema"]
            ],
            datum_tekst=[labels.nl_date(d) for d in located["datum"]],
        )
        _points(
            m,
            located,
            name=f"Partnermeldingen ({len(located)})",
            colour=_EVENT_COLOUR,
            popup=["partner", "thema_label", "soort", "datum_tekst"],
        )
        entries.append(("Partnermelding", _EVENT_COLOUR))
    Legend(entries, title="Op de kaart", marker=True).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    use_vendored_assets(m)
    return HTML(rh.kaart_html(m, hoogte=520))


def indicatoren(inputs):
    """Compute the indicator results (scores, flags, signals) for exploration."""
    from bcba.indicators.run import compute_indicators

    return compute_indicators(inputs)


def topbuurten(resultaten, thema: str, n: int = 10) -> pd.DataFrame:
    """The top-n buurten of a theme with the reasons for their score."""
    frame = resultaten.scores_buurt.sort_values(f"rang_{thema}").head(n)
    return pd.DataFrame(
        {
            "buurt": frame["buurtnaam"].to_numpy(),
            "score": frame[f"score_{thema}"].round(2).to_numpy(),
            "redenen": ["; ".join(resultaten.explain(c, thema)) for c in frame["buurtcode"]],
        }
    )


def scorekaart(inputs, resultaten, thema: str) -> HTML:
    """An offline choropleth of a theme's score with reasons in the popups."""
    from bcba.maps import interactive

    frame = resultaten.scores_buurt.copy()
    frame["reden"] = ["; ".join(resultaten.explain(c, thema)) for c in frame["buurtcode"]]
    m = interactive.buurt_choropleth(
        frame,
        f"score_{thema}",
        titel=f"Score {thema}",
        legend_title="Score",
        basemap={"outline": inputs.area.outline, "wijken": inputs.area.wijken},
    )
    return HTML(rh.kaart_html(m, hoogte=520))


# --------------------------------------------------------------------------- runs
def analyseer(
    gemeente: str,
    *,
    data_dir: str = "",
    periode_start: str = "",
    periode_eind: str = "",
    uitvoer: str = "",
) -> Run:
    """Run the analysis (no report) into a new run folder and open it.

    The folder is built as every run folder (complete with ``bcba-run.json``, or marked
    incomplete) and holds the result tables, GeoPackages, the workbook and the QGIS project.
    """
    from bcba.engine import analyse
    from bcba.runs import make_run_config, run_folder

    cfg = make_run_config(
        gemeente=gemeente,
        data_dir=data_dir or None,
        output_dir=uitvoer or None,
        periode=(periode_start or None, periode_eind or None),
    )
    with run_folder(Path(cfg.output_dir)) as building:
        # the engine writes the workbook and QGIS project too, leak-checked
        analyse(cfg.model_copy(update={"output_dir": building}))
    return open_run(cfg.output_dir)


def laatste_run(
    gemeente: str,
    *,
    data_dir: str = "",
    periode_start: str = "",
    periode_eind: str = "",
    maak: bool = True,
) -> Run:
    """The newest completed run of a municipality under ``reports/``; with ``maak`` a new
    one (:func:`analyseer` with ``data_dir`` and the period) when there is none yet."""
    from bcba.errors import MissingInputError
    from bcba.reference import resolve_gemeente
    from bcba.runs import completed_runs

    gem = resolve_gemeente(gemeente)
    runs = [r for r in completed_runs(config.reports_dir() / gem.slug) if _result_gpkg(r)]
    if runs:
        return open_run(runs[-1])
    if not maak:
        raise MissingInputError(
            f"Geen afgeronde run van {gem.naam} gevonden in {config.reports_dir()}."
        )
    return analyseer(
        gem.code, data_dir=data_dir, periode_start=periode_start, periode_eind=periode_eind
    )


def _result_gpkg(folder: Path) -> Path | None:
    found = sorted(Path(folder).glob("resultaten_GM*.gpkg"))
    return found[0] if found else None


@dataclass
class Run:
    """A finished run folder, its tables read on first use (GeoDataFrames in EPSG:28992).

    Tables: :attr:`scores_buurt`, :attr:`risicolocaties`, :attr:`signalen` (numbered as in
    the report), :attr:`vlaggen`, :attr:`netwerken`, :attr:`netwerk_entiteiten`,
    :attr:`rtm_factoren`, :attr:`validatie`; per theme :meth:`hotspots` and
    :meth:`risico_cellen`; the processed inputs with :meth:`invoer`.
    """

    folder: Path
    gemeente: str
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Run({self.gemeente}, {self.folder})"

    @property
    def result_gpkg(self) -> Path:
        return self.folder / f"resultaten_{self.gemeente}.gpkg"

    def _layer(self, layer: str) -> gpd.GeoDataFrame:
        import pyogrio

        return pyogrio.read_dataframe(self.result_gpkg, layer=layer, use_arrow=True)

    def _csv(self, name: str, **kwargs) -> pd.DataFrame:
        path = self.folder / name
        return read_csv(path, **kwargs) if path.is_file() else pd.DataFrame()

    @cached_property
    def scores_buurt(self) -> gpd.GeoDataFrame:
        return self._layer("scores_buurt")

    @cached_property
    def risicolocaties(self) -> gpd.GeoDataFrame:
        return self._layer("risicolocaties")

    @cached_property
    def signalen(self) -> gpd.GeoDataFrame:
        """The signals in follow-up order with their number ``nr`` (as in the report)."""
        from bcba.workbook import numbered_signals

        return numbered_signals(self._layer("signalen")).set_index("nr", drop=False)

    @cached_property
    def vlaggen(self) -> pd.DataFrame:
        return self._csv(
            "vlaggen.csv", dtype={"kvk_nummer": str, "vestigingsnummer": str, "adres_id": str}
        )

    @cached_property
    def netwerken(self) -> pd.DataFrame:
        return self._csv("netwerken/netwerken.csv")

    @cached_property
    def netwerk_entiteiten(self) -> pd.DataFrame:
        """The i2 entities of the flagged networks (all cells text)."""
        path = self.folder / "netwerken" / "netwerk_entiteiten.csv"
        if not path.is_file():
            return pd.DataFrame()
        from bcba.io import unneutralise

        return unneutralise(
            pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        )

    @cached_property
    def rtm_factoren(self) -> pd.DataFrame:
        return self._csv("rtm_factoren.csv")

    @cached_property
    def validatie(self) -> pd.DataFrame:
        return self._csv("validatie.csv")

    def themas_met_ruimtelijke_analyse(self) -> dict[str, Path]:
        """Theme -> folder of its risk model and hot spots (the leading theme's are in the
        run folder itself)."""
        from bcba.themes import load_themes

        others = {p.name: p for p in sorted((self.folder / "ruimtelijk").glob("*")) if p.is_dir()}
        leading = [t for t in load_themes().themas if t not in others]
        main = _MAIN_THEME if _MAIN_THEME in leading else (leading[0] if leading else None)
        found = {main: self.folder} if main and (self.folder / "hotspots.gpkg").is_file() else {}
        return {**found, **others}

    def _spatial_file(self, thema: str | None, name: str) -> Path:
        from bcba.errors import ConfigError

        folders = self.themas_met_ruimtelijke_analyse()
        thema = thema or next(iter(folders), None)
        if thema not in folders or not (folders[thema] / name).is_file():
            raise ConfigError(f"Geen {name} voor thema {thema!r}; beschikbaar: {sorted(folders)}")
        return folders[thema] / name

    def hotspots(self, thema: str | None = None, niveau: str = "cellen") -> gpd.GeoDataFrame:
        """Gi* hot spots of a theme (default the leading one) per ``cellen`` or ``buurten``."""
        import pyogrio

        return pyogrio.read_dataframe(self._spatial_file(thema, "hotspots.gpkg"), layer=niveau)

    def risico_cellen(self, thema: str | None = None) -> gpd.GeoDataFrame:
        """The risk surface of a theme (default the leading one)."""
        import pyogrio

        return pyogrio.read_dataframe(
            self._spatial_file(thema, "risico_cellen.gpkg"), layer="risico_cellen"
        )

    def invoer(self, tabel: str) -> pd.DataFrame:
        """A processed input table from ``data/processed/<GMxxxx>/<tabel>.parquet``
        (``bag``, ``partners``, ``kvk_vestigingen``, ...), read fast from Parquet."""
        from bcba.errors import MissingInputError

        path = config.processed_dir() / self.gemeente / f"{tabel}.parquet"
        if not path.is_file():
            raise MissingInputError(f"Verwerkte tabel {path} bestaat niet.")
        try:
            return gpd.read_parquet(path)
        except ValueError:  # a table without geometry
            return pd.read_parquet(path)

    @cached_property
    def bag(self) -> pd.DataFrame:
        """The processed BAG addresses (for readable addresses)."""
        return self.invoer("bag")

    @cached_property
    def buurtnamen(self) -> pd.Series:
        frame = self.scores_buurt
        return pd.Series(frame["buurtnaam"].to_numpy(), index=frame["buurtcode"].astype(str))

    def basemap(self) -> dict:
        """The basemap of this municipality (CBS outline and wijken)."""
        return {"gemeente": self.gemeente}


def open_run(folder: str | Path) -> Run:
    """Open a finished run folder (its tables are read on first use).

    Raises
    ------
    MissingInputError
        When the folder is no completed run with results.
    """
    from bcba.errors import MissingInputError
    from bcba.runs import RUN_MARKER, is_complete_run

    path = Path(folder)
    gpkg = _result_gpkg(path) if path.is_dir() else None
    if gpkg is None or not is_complete_run(path):
        raise MissingInputError(
            f"{path} is geen afgeronde run met resultaten (resultaten_GMxxxx.gpkg en "
            f"{RUN_MARKER} ontbreken)."
        )
    meta = {}
    for name in (RUN_MARKER, "samenvatting.json"):
        if (path / name).is_file():
            meta.update(json.loads((path / name).read_text(encoding="utf-8")))
    code = gpkg.stem.removeprefix("resultaten_")
    return Run(folder=path, gemeente=code, meta=meta)


# --------------------------------------------------------------------------- a signal
def signaaltabel(run: Run, *, prioriteit: str = "") -> pd.DataFrame:
    """The signals as the report lists them: number, priority, where, what, who."""
    sig = run.signalen
    if prioriteit:
        sig = sig[sig["prioriteit"] == prioriteit]
    return pd.DataFrame(
        {
            "prioriteit": sig["prioriteit"],
            "waar": readable_addresses(sig, run.bag),
            "buurt": sig["buurtcode"].astype(str).map(run.buurtnamen).fillna("–"),
            "wat": [labels.flags_text(f) for f in sig["flag_ids"]],
            "opvolging": [labels.OWNER_LABELS.get(o, o) for o in sig["eigenaar"]],
        }
    ).rename_axis("nr")


def signaal(run: Run, nr: int) -> HTML:
    """From a signal (its number in the report) to its evidence: what it says, the red
    flags at its address with their evidence, and the networks the address belongs to."""
    from bcba.errors import ConfigError

    if nr not in run.signalen.index:
        raise ConfigError(f"Signaal {nr} bestaat niet; kies 1 tot en met {len(run.signalen)}.")
    row = run.signalen.loc[[nr]]
    where = readable_addresses(row, run.bag).iloc[0]
    s = row.iloc[0]
    parts = [
        rh.markering_html(),
        rh.h(3, f"Signaal {nr}: {where}"),
        rh.p(
            f"Prioriteit {s['prioriteit']}; opvolging door "
            f"{labels.OWNER_LABELS.get(s['eigenaar'], s['eigenaar'])}; bronnen: "
            f"{labels.sources_text(s['bronnen'])}."
        ),
        rh.ul(labels.evidence_items(s["bewijs"])),
    ]
    flags = run.vlaggen
    if len(flags) and pd.notna(s.get("adres_id")):
        here = flags[flags["adres_id"].astype(str) == str(s["adres_id"])]
        if len(here):
            table = pd.DataFrame(
                {
                    "vlag": [labels.flag_label(f) for f in here["flag_id"]],
                    "datum": [labels.nl_date(d) if pd.notna(d) else "–" for d in here["datum"]],
                    "onderbouwing": [labels.readable(b) for b in here["bewijs"]],
                }
            )
            parts.append(rh.tabel_html(table, bijschrift="Rode vlaggen op dit adres"))
    entities = run.netwerk_entiteiten
    if len(entities) and pd.notna(s.get("adres_id")):
        ids = entities.loc[entities["BAG-id"] == str(s["adres_id"]), "Netwerk ID"]
        nets = run.netwerken[run.netwerken["netwerk_id"].isin(set(ids) - {""})]
        if len(nets):
            parts.append(
                rh.tabel_html(
                    pd.DataFrame(
                        {
                            "netwerk": nets["netwerk_id"],
                            "rang": nets["rang"],
                            "beschrijving": [labels.readable(b) for b in nets["beschrijving"]],
                        }
                    ),
                    decimalen=0,
                    bijschrift="Netwerken met dit adres",
                )
            )
    return HTML("".join(parts))


# --------------------------------------------------------------------------- maps of a run
def _shown(m) -> HTML:
    return HTML(rh.kaart_html(m, hoogte=520))


def signalenkaart(run: Run, *, prioriteit: str = "") -> HTML:
    """The signals (their number and evidence in the popup), coloured by their first flag."""
    from bcba.maps.interactive import risk_locations_map

    sig = run.signalen
    sig = sig[sig.geometry.notna()]
    if prioriteit:
        sig = sig[sig["prioriteit"] == prioriteit]
    frame = sig.assign(
        nummer=sig["nr"].astype(str),
        reden=[" | ".join(labels.evidence_items(b)) for b in sig["bewijs"]],
    )
    m = risk_locations_map(
        frame,
        titel="Signalen",
        flag_column="flag_ids",
        popup_columns=("nummer", "prioriteit", "reden"),
        aliases={"nummer": "Signaal", "prioriteit": "Prioriteit"},
        basemap=run.basemap(),
    )
    return _shown(m)


def risicolocatiekaart(run: Run) -> HTML:
    """Every risk location, coloured by its first flag, with its evidence."""
    from bcba.maps.interactive import risk_locations_map

    loc = run.risicolocaties
    loc = loc[loc.geometry.notna()]
    frame = loc.assign(reden=[" | ".join(labels.evidence_items(b)) for b in loc["bewijs"]])
    m = risk_locations_map(
        frame, titel="Risicolocaties", flag_column="flag_ids", basemap=run.basemap()
    )
    return _shown(m)


def hotspotkaart(run: Run, thema: str | None = None, *, niveau: str = "cellen") -> HTML:
    """Gi* hot and cold spots of a theme in the report's classes."""
    from bcba.maps.interactive import hotspot_map

    frame = run.hotspots(thema, niveau)
    frame = frame.assign(reden=[f"{a} meldingen" for a in frame["aantal"]])
    m = hotspot_map(
        frame, titel=f"Hot spots ({niveau})", klasse_column="klasse", basemap=run.basemap()
    )
    return _shown(m)


def risicokaart(run: Run, thema: str | None = None) -> HTML:
    """The risk terrain surface of a theme (squares above average risk)."""
    from bcba.maps.interactive import risk_surface_map

    surface = run.risico_cellen(thema)
    surface = surface.assign(
        reden=[
            f"{rh.nl_getal(v, 1)} keer het gemiddelde risico" for v in surface["relatief_risico"]
        ]
    )
    return _shown(risk_surface_map(surface, titel="Risicokaart", basemap=run.basemap()))


def netwerkkaart(run: Run, netwerk_id: str) -> HTML:
    """The addresses of one network on the map, coloured by their first flag."""
    from bcba.errors import ConfigError
    from bcba.maps.interactive import risk_locations_map

    ent = run.netwerk_entiteiten
    if len(ent) == 0 or netwerk_id not in set(ent["Netwerk ID"]):
        raise ConfigError(
            f"Netwerk {netwerk_id!r} staat niet in de export van gemarkeerde netwerken."
        )
    places = ent[(ent["Netwerk ID"] == netwerk_id) & (ent["X"] != "") & (ent["Y"] != "")]
    frame = gpd.GeoDataFrame(
        {
            "flag": places["Signalen"].replace("", "ADRES").to_numpy(),
            "reden": places["Label"].to_numpy(),
        },
        geometry=gpd.points_from_xy(places["X"].astype(float), places["Y"].astype(float)),
        crs=config.CRS,
    )
    return _shown(
        risk_locations_map(
            frame,
            titel=f"Netwerk {netwerk_id}",
            flag_column="flag",
            basemap=run.basemap(),
            cluster=False,
        )
    )


def scorekaart_run(run: Run, thema: str = "totaal") -> HTML:
    """The score of a theme (``totaal``: all themes) per buurt, in the report's classes."""
    from bcba.maps import interactive

    frame = run.scores_buurt.assign(reden="")
    m = interactive.buurt_choropleth(
        frame,
        f"score_{thema}",
        titel=f"Score {thema}",
        legend_title="Score",
        popup_columns=("buurtnaam",),
        basemap=run.basemap(),
    )
    return _shown(m)


# --------------------------------------------------------------------------- charts
def grafiek_vlaggen(run: Run):
    """Bar chart: the number of red flags per kind, in the flag colours of the maps."""
    import matplotlib.pyplot as plt

    counts = run.vlaggen["flag_id"].value_counts().sort_values()
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(3, len(counts)) + 1))
    colours = [palette.FLAGS.get(f, ("", palette.OTHER_FLAG_COLOUR))[1] for f in counts.index]
    ax.barh([labels.flag_label(f) for f in counts.index], counts.to_numpy(), color=colours)
    ax.set_xlabel("Aantal rode vlaggen")
    ax.set_title(f"Rode vlaggen per soort – {palette.MARKING}", color=palette.MARKING_COLOUR)
    fig.tight_layout()
    plt.close(fig)
    return fig


def grafiek_signalen(run: Run):
    """Bar chart: signals per follow-up owner and priority."""
    import matplotlib.pyplot as plt

    sig = run.signalen
    table = (
        sig.groupby(["eigenaar", "prioriteit"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=["hoog", "middel", "laag"], fill_value=0)
    )
    table.index = [labels.OWNER_LABELS.get(o, o) for o in table.index]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    table.plot.bar(ax=ax, stacked=True, color=list(palette.RISK_COLOURS[-1:-4:-1]), rot=0)
    ax.set_ylabel("Aantal signalen")
    ax.set_title(f"Signalen per opvolger – {palette.MARKING}", color=palette.MARKING_COLOUR)
    ax.legend(title="Prioriteit")
    fig.tight_layout()
    plt.close(fig)
    return fig


def grafiek_scores(run: Run, thema: str = "totaal", n: int = 15):
    """Bar chart: the ``n`` buurten with the highest score of a theme."""
    import matplotlib.pyplot as plt

    frame = run.scores_buurt.dropna(subset=[f"rang_{thema}"]).sort_values(f"rang_{thema}").head(n)
    classes = palette.score_classes(run.scores_buurt[f"score_{thema}"])
    colours = classes.colour_of(classes.assign(frame[f"score_{thema}"]))
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(3, len(frame)) + 1))
    ax.barh(
        frame["buurtnaam"].to_numpy()[::-1],
        frame[f"score_{thema}"].to_numpy()[::-1],
        color=list(colours[::-1]),
        edgecolor="#555555",
    )
    ax.set_xlabel("Score")
    ax.set_title(f"Hoogste scores ({thema}) – {palette.MARKING}", color=palette.MARKING_COLOUR)
    fig.tight_layout()
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------- the region
def regio(*, results_root: str = "", aanpak_csv: str = ""):
    """The regional comparison of the newest run of every municipality
    (:class:`bcba.regional.Regio`)."""
    from bcba.regional import open_regio

    return open_regio(results_root=results_root, aanpak_csv=aanpak_csv)


def regiokaart(regio, kolom: str = "vlaggen_per_1000_adressen") -> HTML:
    """One measure of :data:`bcba.regional.MEASURES` per municipality on an offline map,
    in the report's score classes (also for a region of one or two municipalities)."""
    from bcba.errors import ConfigError
    from bcba.maps import interactive
    from bcba.regional import MEASURES, gemeente_polygonen

    if kolom not in MEASURES:
        raise ConfigError(f"kolom {kolom!r} onbekend; kies uit {list(MEASURES)!r}")
    measures = regio.measures
    frame = gemeente_polygonen(measures["gemeentecode"]).merge(
        measures[["gemeentecode", kolom]], on="gemeentecode", how="left"
    )
    outline = gpd.GeoDataFrame(geometry=[frame.geometry.union_all()], crs=frame.crs)
    m = interactive.buurt_choropleth(
        frame,
        kolom,
        titel=MEASURES[kolom],
        legend_title=MEASURES[kolom],
        basemap={"outline": outline},
        k=int(min(5, max(3, frame[kolom].notna().sum()))),
        popup_columns=("gemeentenaam",),
        aliases={"gemeentenaam": "Gemeente"},
    )
    return _shown(m)

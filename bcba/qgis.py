"""QGIS styles and a QGIS project for the GeoPackages of a run, in the report's colours.

Every GeoPackage layer of a run gets its styles in the ``layer_styles`` table that QGIS reads
(the QGIS GeoPackage styling extension): opened in QGIS a layer shows the classes and colours
of the report's maps straight away, and the other styles of the layer (one per theme for the
scores) are under Layer Properties > Styles. The classes and colours come from
:mod:`bcba.maps.palette`, so QGIS, the interactive maps and the map book agree.

:func:`write_project` adds ``bcba_<GMxxxx>.qgs``, a QGIS project (plain XML, relative paths,
no internet tiles) that opens the layers of the run folder over the CBS outline and wijken.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from bcba.maps import palette

log = logging.getLogger(__name__)

#: The QGIS version whose project and style format is written (read by every QGIS 3).
QGIS_VERSION = "3.22.0"
#: Style names are at most 30 characters in the ``layer_styles`` table.
_NAME_LENGTH = 30
#: QGIS' expression for the first flag of a ``;``-joined list (the report colours by it).
FIRST_FLAG = "regexp_substr(\"flag_ids\", '^[^;]+')"
_OTHER_LABEL = "Overig"
_POINT_SIZE = "2.6"
#: RD New as a PROJ string (QGIS reads the WKT first; pyproj warns when asked for this).
_RD_PROJ4 = (
    "+proj=sterea +lat_0=52.1561605555556 +lon_0=5.38763888888889 +k=0.9999079 "
    "+x_0=155000 +y_0=463000 +ellps=bessel "
    "+towgs84=565.4171,50.3319,465.5524,1.9342,-1.6677,9.1019,4.0725 +units=m +no_defs"
)


@dataclass(frozen=True)
class Style:
    """One QGIS style of a layer: its name, whether QGIS applies it by default, a Dutch
    description and the ``<renderer-v2>`` element."""

    name: str
    renderer: str
    default: bool = False
    description: str = ""

    def qml(self, geometry: str) -> str:
        """The whole QML document of this style for a layer of ``geometry`` type."""
        kind = {"point": 0, "line": 1, "polygon": 2}[geometry]
        return (
            "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology">\n'
            f"{self.renderer}\n"
            f"<layerGeometryType>{kind}</layerGeometryType>\n"
            "</qgis>\n"
        )


# --------------------------------------------------------------------------- symbols
def _rgba(colour: str, alpha: int = 255) -> str:
    """``#b2182b`` as QGIS writes colours: ``178,24,43,255``."""
    value = colour.lstrip("#")
    return ",".join(str(int(value[i : i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _symbol_layer(cls: str, props: dict[str, str]) -> str:
    # both notations: <Option> (QGIS >= 3.26 writes it) and <prop> (read by every QGIS 3)
    options = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in props.items()
    )
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<layer class="{cls}" enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option>{legacy}</layer>'
    )


def symbol(
    name: str, geometry: str, colour: str, *, outline: str = "#636363", fill: bool = True
) -> str:
    """A QGIS symbol: a filled polygon, an outline, or a circle marker in ``colour``."""
    if geometry == "point":
        props = {
            "name": "circle",
            "color": _rgba(colour),
            "outline_color": _rgba("#ffffff"),
            "outline_width": "0.4",
            "outline_width_unit": "MM",
            "size": _POINT_SIZE,
            "size_unit": "MM",
        }
        kind, layer = "marker", _symbol_layer("SimpleMarker", props)
    elif geometry == "line":
        props = {"line_color": _rgba(colour), "line_width": "0.5", "line_width_unit": "MM"}
        kind, layer = "line", _symbol_layer("SimpleLine", props)
    else:
        props = {
            "color": _rgba(colour, 255 if fill else 0),
            "style": "solid" if fill else "no",
            "outline_color": _rgba(outline),
            "outline_style": "solid",
            "outline_width": "0.26" if fill else "0.6",
            "outline_width_unit": "MM",
        }
        kind, layer = "fill", _symbol_layer("SimpleFill", props)
    return (
        f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0">{layer}</symbol>'
    )


def _number(value: float) -> str:
    """A class bound as QGIS reads it (infinite bounds become the largest double)."""
    if math.isinf(value):
        value = math.copysign(1.7976931348623157e308, value)
    return repr(float(value))


# --------------------------------------------------------------------------- renderers
def categorized(
    attribute: str,
    classes: palette.Classes,
    geometry: str,
    *,
    values: Sequence[str] | None = None,
    other: str | None = palette.NO_DATA_COLOUR,
    other_label: str = _OTHER_LABEL,
) -> str:
    """A categorized renderer: one category per class of ``classes`` (matched on
    ``values``, default the class labels), plus "all other values" in ``other``."""
    values = list(values) if values is not None else list(classes.labels)
    cats, symbols = [], []
    for i, (value, label, colour) in enumerate(
        zip(values, classes.labels, classes.colours, strict=True)
    ):
        cats.append(
            f'<category render="true" symbol="{i}" value={quoteattr(value)} '
            f'label={quoteattr(label)} type="string"/>'
        )
        symbols.append(symbol(str(i), geometry, colour))
    if other is not None:
        i = len(values)
        cats.append(
            f'<category render="true" symbol="{i}" value="" label={quoteattr(other_label)} '
            'type="string"/>'
        )
        symbols.append(symbol(str(i), geometry, other))
    return (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(attribute)} forceraster="0" '
        'symbollevels="0" enableorderby="0" referencescale="-1">'
        f"<categories>{''.join(cats)}</categories><symbols>{''.join(symbols)}</symbols>"
        "</renderer-v2>"
    )


def graduated(attribute: str, classes: palette.Classes, geometry: str) -> str:
    """A graduated renderer with the numeric ``classes`` (upper bounds inclusive, as the
    palette assigns them; QGIS takes the first range that holds a value)."""
    ranges, symbols = [], []
    lower = classes.lower
    if classes.lower_open:
        lower = math.nextafter(lower, math.inf)  # QGIS' lower bound is inclusive
    for i, (upper, label, colour) in enumerate(
        zip(classes.breaks, classes.labels, classes.colours, strict=True)
    ):
        ranges.append(
            f'<range render="true" symbol="{i}" lower="{_number(lower)}" '
            f'upper="{_number(upper)}" label={quoteattr(label)}/>'
        )
        symbols.append(symbol(str(i), geometry, colour))
        lower = upper
    return (
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(attribute)} '
        'graduatedMethod="GraduatedColor" forceraster="0" symbollevels="0" enableorderby="0" '
        f'referencescale="-1"><ranges>{"".join(ranges)}</ranges>'
        f"<symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )


def single(geometry: str, colour: str, *, fill: bool = True) -> str:
    """One symbol for every feature (the CBS outline and wijken: no fill)."""
    return (
        '<renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" '
        'enableorderby="0" referencescale="-1"><symbols>'
        f"{symbol('0', geometry, colour, outline=colour, fill=fill)}</symbols></renderer-v2>"
    )


# --------------------------------------------------------------------------- styles per layer
def _style_name(text: str) -> str:
    return text if len(text) <= _NAME_LENGTH else text[: _NAME_LENGTH - 1] + "…"


def score_styles(
    frame: pd.DataFrame, *, labels: dict[str, str] | None = None, default: str = "totaal"
) -> list[Style]:
    """One style per ``score_<thema>`` column: the report's quantile classes of that score
    (:func:`bcba.maps.palette.score_classes`); ``score_<default>`` is the default."""
    labels = labels or {}
    styles = []
    for column in [c for c in frame.columns if str(c).startswith("score_")]:
        thema = column.removeprefix("score_")
        label = labels.get(thema, thema.replace("_", " "))
        classes = palette.score_classes(frame[column], title="Score")
        styles.append(
            Style(
                _style_name(f"Score {label.lower()}"),
                graduated(column, classes, "polygon"),
                default=thema == default,
                description=f"Score per buurt, {label.lower()} (klassen als in het rapport)",
            )
        )
    if styles and not any(s.default for s in styles):
        styles[0] = Style(styles[0].name, styles[0].renderer, True, styles[0].description)
    return styles


def _first_flags(values: Iterable) -> list[str]:
    firsts = pd.Series(list(values), dtype="string").fillna("").str.split(";").str[0].str.strip()
    return [f for f in firsts.unique().tolist() if f]


def flag_style(frame: pd.DataFrame, *, column: str = "flag_ids") -> Style:
    """Markers coloured by the first flag, as the report's map of risk locations."""
    ids = _first_flags(frame[column]) if column in frame else []
    classes = palette.flag_classes(ids)
    ordered = sorted(set(ids), key=palette._flag_order)
    return Style(
        "Soort rode vlag",
        categorized(FIRST_FLAG, classes, "point", values=ordered, other=palette.OTHER_FLAG_COLOUR),
        default=True,
        description="Gekleurd naar de (eerste) rode vlag, als in het rapport",
    )


def risk_style() -> Style:
    """The risk surface: relative risk classes above 1 (cells at or below 1 are not drawn)."""
    return Style(
        "Relatief risico",
        graduated("relatief_risico", palette.risk_classes(), "polygon"),
        default=True,
        description="Relatief risico per vierkant van 100 m (alleen boven gemiddeld)",
    )


def hotspot_style() -> Style:
    """Getis-Ord Gi* classes of the report (other values such as 'niet te beoordelen' grey)."""
    return Style(
        "Hot spots (Gi*)",
        categorized("klasse", palette.gistar_classes(), "polygon"),
        default=True,
        description="Hot en cold spots (Getis-Ord Gi*), klassen als in het rapport",
    )


def outline_style(colour: str = palette.OUTLINE_COLOUR, name: str = "Grens") -> Style:
    """A boundary without fill."""
    return Style(name, single("polygon", colour, fill=False), default=True)


def styles_for(layer: str, frame: pd.DataFrame, *, labels: dict[str, str] | None = None):
    """The styles of a known output layer (by layer name); [] for other layers."""
    if layer == "scores_buurt":
        return score_styles(frame, labels=labels)
    if layer in ("risicolocaties", "signalen"):
        return [flag_style(frame)]
    if layer == "risico_cellen":
        return [risk_style()]
    if layer in ("buurten", "cellen") and "klasse" in frame:
        return [hotspot_style()]
    if layer == "gemeente":
        return [outline_style(palette.OUTLINE_COLOUR, "Gemeentegrens")]
    if layer == "wijken":
        return [outline_style(palette.WIJK_BORDER_COLOUR, "Wijkgrenzen")]
    return []


# --------------------------------------------------------------------------- GeoPackages
_CREATE = """
CREATE TABLE IF NOT EXISTS layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""
_REGISTER = """
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description,
    last_change)
VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS-stijlen (bcba)',
    strftime('%Y-%m-%dT%H:%M:%fZ','now'))"""
_GEOMETRY = {
    "POINT": "point",
    "MULTIPOINT": "point",
    "LINESTRING": "line",
    "MULTILINESTRING": "line",
    "POLYGON": "polygon",
    "MULTIPOLYGON": "polygon",
}


def geometry_columns(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{layer: (geometry column, point/line/polygon)}`` of a GeoPackage."""
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns"
        ).fetchall()
    return {t: (c, _GEOMETRY.get(str(g).upper(), "polygon")) for t, c, g in rows}


def add_styles(path: str | Path, styles: dict[str, list[Style]]) -> int:
    """Store ``styles`` (``{layer: [Style, ...]}``) in the ``layer_styles`` table of the
    GeoPackage ``path``, replacing earlier bcba styles of those layers; return how many.

    The table is registered in ``gpkg_contents`` as an attribute table, as QGIS and GDAL
    create it, in one transaction: a crash leaves the GeoPackage as it was.
    """
    geometry = geometry_columns(path)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    rows = []
    for layer, layer_styles in styles.items():
        if layer not in geometry:
            continue
        column, kind = geometry[layer]
        for style in layer_styles:
            rows.append(
                (
                    "",
                    "",
                    layer,
                    column,
                    style.name,
                    style.qml(kind),
                    "",
                    1 if style.default else 0,
                    style.description,
                    "bcba",
                    None,
                    stamp,
                )
            )
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute(_CREATE)
            con.execute(_REGISTER)
            con.executemany(
                "DELETE FROM layer_styles WHERE f_table_name = ? AND owner = 'bcba'",
                [(layer,) for layer in styles],
            )
            con.executemany(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        con.close()
    return len(rows)


def style_geopackage(
    path: str | Path, layers: dict[str, pd.DataFrame], *, labels: dict[str, str] | None = None
) -> int:
    """Add the styles of :func:`styles_for` for each of ``layers`` (``{layer: frame as
    written}``) to the GeoPackage ``path``; return how many styles were stored."""
    styles = {
        name: styles_for(name, frame, labels=labels)
        for name, frame in layers.items()
        if frame is not None
    }
    return add_styles(path, {k: v for k, v in styles.items() if v})


def read_styles(path: str | Path) -> pd.DataFrame:
    """The ``layer_styles`` rows of a GeoPackage (empty when it has none)."""
    with sqlite3.connect(path) as con:
        exists = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'"
        ).fetchone()
        if not exists:
            return pd.DataFrame()
        return pd.read_sql_query("SELECT * FROM layer_styles ORDER BY id", con)


# --------------------------------------------------------------------------- project
@dataclass(frozen=True)
class ProjectLayer:
    """A layer of the project: a GeoPackage layer (path relative to the project), its
    Dutch name, its style and whether it is switched on."""

    source: str
    layer: str
    name: str
    geometry: str
    style: Style
    visible: bool = True


def _srs() -> str:
    """The project and layer CRS, RD New, with its WKT so QGIS needs no lookup."""
    from pyproj import CRS

    crs = CRS.from_epsg(28992)
    return (
        f"<spatialrefsys><wkt>{escape(crs.to_wkt())}</wkt>"
        f"<proj4>{_RD_PROJ4}</proj4><srsid>2517</srsid><srid>28992</srid>"
        "<authid>EPSG:28992</authid><description>Amersfoort / RD New</description>"
        "<projectionacronym>sterea</projectionacronym><ellipsoidacronym>EPSG:7004"
        "</ellipsoidacronym><geographicflag>false</geographicflag></spatialrefsys>"
    )


def project_xml(title: str, layers: Sequence[ProjectLayer]) -> str:
    """A QGIS project (``.qgs`` XML) with ``layers`` drawn in order, the first on top;
    paths stay relative to the project file, and there is no background map."""
    tree, maps = [], []
    for i, lyr in enumerate(layers):
        layer_id = f"bcba_{i:02d}_{lyr.layer}"
        source = escape(f"./{lyr.source}|layername={lyr.layer}")
        geometry = {"point": "Point", "line": "Line", "polygon": "Polygon"}[lyr.geometry]
        tree.append(
            f'<layer-tree-layer id="{layer_id}" name={quoteattr(lyr.name)} source="{source}" '
            f'providerKey="ogr" checked="{"Qt::Checked" if lyr.visible else "Qt::Unchecked"}" '
            'expanded="0"><customproperties/></layer-tree-layer>'
        )
        maps.append(
            f'<maplayer type="vector" geometry="{geometry}" autoRefreshEnabled="0" '
            'styleCategories="AllStyleCategories">'
            f"<id>{layer_id}</id><datasource>{source}</datasource>"
            f"<layername>{escape(lyr.name)}</layername><srs>{_srs()}</srs>"
            '<provider encoding="UTF-8">ogr</provider>'
            f"{lyr.style.renderer}</maplayer>"
        )
    order = "".join(f"<item>bcba_{i:02d}_{lyr.layer}</item>" for i, lyr in enumerate(layers))
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis projectname={quoteattr(title)} version="{QGIS_VERSION}">\n'
        f"<title>{escape(title)}</title>\n"
        f"<projectCrs>{_srs()}</projectCrs>\n"
        f"<layer-tree-group><customproperties/>{''.join(tree)}"
        f'<custom-order enabled="0">{order}</custom-order></layer-tree-group>\n'
        f"<projectlayers>{''.join(maps)}</projectlayers>\n"
        '<properties><Paths><Absolute type="bool">false</Absolute></Paths>'
        '<SpatialRefSys><ProjectionsEnabled type="int">1</ProjectionsEnabled></SpatialRefSys>'
        f'<Marking type="QString">{palette.MARKING}</Marking></properties>\n'
        "</qgis>\n"
    )


def write_project(results, out_dir: str | Path | None = None) -> Path:
    """Write ``bcba_<GMxxxx>.qgs`` into the run folder: the CBS outline and wijken (layers
    ``gemeente`` and ``wijken`` of ``resultaten_<GMxxxx>.gpkg``, written by
    :func:`bcba.outputs.write_gis_files`), the risk locations and signals, the hot spots
    and risk surface of the leading theme and the scores per buurt (one layer per theme),
    each in its default style. Layers missing from the run folder are left out.

    Parameters
    ----------
    results
        :class:`bcba.engine.Results` of the run whose files are in ``out_dir``.
    out_dir
        The run folder; default ``results.cfg.output_dir``.
    """
    import pyogrio

    from bcba.io import write_text

    folder = Path(out_dir) if out_dir is not None else Path(results.cfg.output_dir)
    gem = results.gemeente
    gpkg = f"resultaten_{gem.code}.gpkg"
    present = {name for name, _ in pyogrio.list_layers(folder / gpkg)}
    names = {t: th.label for t, th in results.themes.themas.items()} | {"totaal": "Totaal"}
    ind = results.indicators
    layers = [
        ProjectLayer(gpkg, "gemeente", "Gemeentegrens", "polygon", outline_style()),
        ProjectLayer(
            gpkg, "wijken", "Wijken", "polygon", outline_style(palette.WIJK_BORDER_COLOUR)
        ),
        ProjectLayer(
            gpkg, "signalen", "Signalen", "point", flag_style(ind.signalen), visible=False
        ),
        ProjectLayer(
            gpkg, "risicolocaties", "Risicolocaties", "point", flag_style(ind.risicolocaties)
        ),
    ]
    layers = [lyr for lyr in layers if lyr.layer in present]
    if (folder / "hotspots.gpkg").is_file():
        hot = {name for name, _ in pyogrio.list_layers(folder / "hotspots.gpkg")}
        for layer, label in (("cellen", "vierkanten"), ("buurten", "buurten")):
            if layer in hot:
                layers.append(
                    ProjectLayer(
                        "hotspots.gpkg",
                        layer,
                        f"Hot spots ({label})",
                        "polygon",
                        hotspot_style(),
                        visible=False,
                    )
                )
    if (folder / "risico_cellen.gpkg").is_file():
        layers.append(
            ProjectLayer(
                "risico_cellen.gpkg",
                "risico_cellen",
                "Risicokaart",
                "polygon",
                risk_style(),
                visible=False,
            )
        )
    for style in score_styles(ind.scores_buurt, labels=names):
        layers.append(
            ProjectLayer(gpkg, "scores_buurt", style.name, "polygon", style, visible=style.default)
        )
    title = f"B-CBA {gem.naam} – {palette.MARKING}"
    return write_text(folder / f"bcba_{gem.code}.qgs", project_xml(title, layers))

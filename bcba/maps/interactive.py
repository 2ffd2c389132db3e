"""Interactive (folium) maps of the B-CBA: scores per buurt, risk surface, hot spots, locations.

Every function returns a :class:`folium.Map` built on :func:`bcba.maps.offline.offline_map`
(no internet tiles, vendored Leaflet) with a Dutch legend, a layer control and popups that
explain *why* an area or location scores. Only the columns the caller names are written into
the map; columns that hold personal data are refused.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from bcba.config import CRS
from bcba.errors import ConfigError, CRSMismatchError, PrivacyError
from bcba.maps import palette
from bcba.maps.basemap import Basemap, coerce_basemap
from bcba.maps.offline import (
    geojson_dict,
    js_string,
    offline_map,
    to_offline_html,
    to_web,
    use_vendored_assets,
)

log = logging.getLogger(__name__)

#: Column names that hold personal data and may never appear on a map.
FORBIDDEN_COLUMNS = frozenset(
    {
        "naam",
        "voornaam",
        "achternaam",
        "geboortedatum",
        "geboorteplaats",
        "bsn",
        "koper_naam",
        "verkoper_naam",
        "persoon_naam",
        "persoon_geboortedatum",
        "persoon_id",
        "koper_id",
        "verkoper_id",
        "respondent_id",
        "handelsnaam",  # of a sole proprietorship this is usually the owner's name
        "telefoon",
        "telefoonnummer",
        "email",
        "e_mail",
        "iban",
        "tekst",
        "omschrijving",
    }
)
_FORBIDDEN_PART = re.compile(
    r"(^|_)(naam|voornaam|achternaam|geboortedatum|bsn|persoon|iban|telefoon|email)(_|$)"
)
_LIST_SEPARATOR = re.compile(r";(?=\S)")
#: Popups are at most this wide (px) and wrap their text; longer ones scroll.
POPUP_MAX_WIDTH = 360
POPUP_MAX_HEIGHT = 320
#: Area-name columns that contain "naam" but are not personal.
_ALLOWED_NAMES = frozenset({"buurtnaam", "wijknaam", "gemeentenaam", "themanaam", "thema_naam"})

#: Dutch popup labels of common columns.
DEFAULT_ALIASES: dict[str, str] = {
    "buurtnaam": "Buurt",
    "buurtcode": "Buurtcode",
    "wijknaam": "Wijk",
    "cel_id": "Vierkant",
    "reden": "Waarom",
    "relatief_risico": "Relatief risico",
    "gi_klasse": "Hot spot",
    "klasse": "Klasse",
    "flag_label": "Signaal",
    "straat": "Straat",
    "postcode": "Postcode",
    "aantal": "Aantal",
}


def check_safe_columns(columns: Sequence[str]) -> None:
    """Refuse column names that hold personal data.

    Raises
    ------
    PrivacyError
        Naming every refused column.
    """
    bad = [
        c
        for c in columns
        if c not in _ALLOWED_NAMES
        and (c.lower() in FORBIDDEN_COLUMNS or _FORBIDDEN_PART.search(c.lower()))
    ]
    if bad:
        raise PrivacyError(
            f"Kolommen met persoonsgegevens mogen niet op een kaart: {', '.join(map(repr, bad))}. "
            "Geef alleen kolommen zonder persoonsgegevens mee (bijvoorbeeld 'reden')."
        )


class Legend(MacroElement):
    """A Dutch legend drawn as a plain Leaflet control (HTML/CSS, no external JS)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var legend = L.control({position: {{ this.position|tojson }}});
            legend.onAdd = function() {
                var d = L.DomUtil.create('div', 'bcba-legend');
                d.innerHTML = {{ this.html_js }};
                d.style.cssText = 'background:rgba(255,255,255,.92);padding:6px 9px;'
                    + 'font:12px/1.5 system-ui,sans-serif;border-radius:3px;'
                    + 'box-shadow:0 1px 4px rgba(0,0,0,.35);max-width:260px;';
                return d;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        entries: Sequence[tuple[str, str]],
        *,
        title: str = "",
        position: str = "bottomright",
        marker: bool = False,
    ) -> None:
        super().__init__()
        self._name = "BcbaLegend"
        self.position = position
        radius = "50%" if marker else "2px"
        rows = "".join(
            f'<div><span style="display:inline-block;width:14px;height:14px;'
            f"vertical-align:-2px;margin-right:6px;background:{colour};"
            f'border:1px solid #777;border-radius:{radius}"></span>{html.escape(label)}</div>'
            for label, colour in entries
        )
        head = (
            f'<div style="font-weight:bold;margin-bottom:3px">{html.escape(title)}</div>'
            if title
            else ""
        )
        self.html = head + rows
        self.html_js = js_string(self.html)


def _format_cell(value: object, decimals: int) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "ja" if value else "nee"
    if isinstance(value, int | np.integer):
        return palette.format_number_nl(int(value), 0)
    if isinstance(value, float | np.floating):
        return palette.format_number_nl(float(value), decimals)
    # a list joined by ";" gets a space after each item so a popup can wrap it
    return html.escape(_LIST_SEPARATOR.sub("; ", str(value)))


def _layer_frame(
    frame: gpd.GeoDataFrame,
    *,
    popup_columns: Sequence[str],
    colours: np.ndarray,
    classes: np.ndarray,
    decimals: int,
) -> gpd.GeoDataFrame:
    """Only the shown columns, formatted in Dutch and HTML-escaped, plus colour and class."""
    check_safe_columns(popup_columns)
    missing = [c for c in popup_columns if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"popup_columns niet gevonden: {missing!r}; beschikbaar: {list(frame.columns)!r}"
        )
    data = {c: [_format_cell(v, decimals) for v in frame[c].tolist()] for c in popup_columns}
    data["_kleur"] = list(colours)
    data["_klasse"] = [
        html.escape(str(c)) if c is not None else palette.NO_DATA_LABEL for c in classes
    ]
    out = gpd.GeoDataFrame(data, geometry=frame.geometry.values, crs=frame.crs)
    return to_web(out)


def _aliases(columns: Sequence[str], aliases: Mapping[str, str] | None) -> list[str]:
    merged = {**DEFAULT_ALIASES, **(aliases or {})}
    return [merged.get(c, c.replace("_", " ").capitalize()) for c in columns]


def _check(frame: gpd.GeoDataFrame, column: str | None = None) -> None:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ConfigError(f"Verwacht een GeoDataFrame, kreeg {type(frame).__name__}.")
    if frame.crs is None or frame.crs != CRS:
        raise CRSMismatchError(f"Kaartlaag moet in {CRS} zijn, niet in {frame.crs}.")
    if column is not None and column not in frame.columns:
        raise ConfigError(f"Kolom {column!r} niet gevonden; beschikbaar: {list(frame.columns)!r}")


def add_polygons(
    m: folium.Map,
    frame: gpd.GeoDataFrame,
    *,
    classes: palette.Classes,
    labels: np.ndarray,
    name: str,
    popup_columns: Sequence[str] = (),
    aliases: Mapping[str, str] | None = None,
    decimals: int = 2,
    fill_opacity: float = 0.75,
    show: bool = True,
) -> folium.GeoJson:
    """Add a class-coloured polygon layer with popups to a map; return the layer."""
    colours = classes.colour_of(labels)
    layer = _layer_frame(
        frame, popup_columns=popup_columns, colours=colours, classes=labels, decimals=decimals
    )
    popup_fields = [*popup_columns, "_klasse"]
    geo = folium.GeoJson(
        geojson_dict(layer),
        name=name,
        show=show,
        style_function=lambda f: {
            "fillColor": f["properties"]["_kleur"],
            "fillOpacity": fill_opacity,
            "color": "#555555",
            "weight": 0.6,
        },
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        # folium refuses popup fields on a layer without features (nothing to pop up anyway)
        popup=_popup(popup_fields, [*_aliases(popup_columns, aliases), "Klasse"])
        if len(layer)
        else None,
    )
    geo.add_to(m)
    return geo


def _popup(fields: Sequence[str], aliases: Sequence[str]) -> folium.GeoJsonPopup:
    """A popup that shows every field in full: wrapped at words within
    :data:`POPUP_MAX_WIDTH`, scrolling beyond :data:`POPUP_MAX_HEIGHT`."""
    return folium.GeoJsonPopup(
        fields=list(fields),
        aliases=list(aliases),
        labels=True,
        max_width=POPUP_MAX_WIDTH,
        max_height=POPUP_MAX_HEIGHT,
    )


def _finish(
    m: folium.Map,
    classes: palette.Classes,
    *,
    title: str,
    marker: bool = False,
    include_no_data: bool = False,
) -> folium.Map:
    Legend(
        classes.legend_entries(include_no_data=include_no_data), title=title, marker=marker
    ).add_to(m)
    # collapsed, and at the top left under the zoom buttons and the title: unfolded on a
    # small map it would otherwise reach down over the legend at the bottom right
    folium.LayerControl(collapsed=True, position="topleft").add_to(m)
    use_vendored_assets(m)
    return m


def _base(
    basemap: Basemap | Mapping | None,
    titel: str,
    tegel_url: str | None,
    *,
    data_are_buurten: bool = False,
) -> folium.Map:
    return offline_map(
        coerce_basemap(basemap),
        title=titel,
        tegel_url=tegel_url,
        data_are_buurten=data_are_buurten,
    )


def buurt_choropleth(
    buurten: gpd.GeoDataFrame,
    column: str,
    *,
    titel: str,
    legend_title: str | None = None,
    basemap: Basemap | Mapping | None = None,
    method: str = "quantile",
    k: int = 5,
    breaks: Sequence[float] | None = None,
    decimals: int = 1,
    popup_columns: Sequence[str] = ("buurtnaam", "reden"),
    aliases: Mapping[str, str] | None = None,
    tegel_url: str | None = None,
) -> folium.Map:
    """A buurt choropleth of one theme's score.

    Parameters
    ----------
    buurten
        Buurten in EPSG:28992 with ``column`` and the ``popup_columns``.
    column
        The score to classify (shown in the popup too).
    titel
        Map title (Dutch).
    basemap
        The run's :class:`~bcba.maps.basemap.Basemap` (built once with
        :func:`~bcba.maps.basemap.build_basemap`; the buurten take its cleaned geometry),
        or the older keyword mapping (``gemeente`` or ``outline``/``wijken``/``water``).
    method, k, breaks, decimals
        Classification, see :func:`bcba.maps.palette.score_classes`.
    popup_columns
        Safe columns for the popup; the caller's ``reden`` column says why a buurt scores.
    aliases
        Dutch popup labels per column.
    tegel_url
        Optional internal tile server.

    Raises
    ------
    PrivacyError
        When a popup column holds personal data.
    CRSMismatchError, ConfigError
        For a wrong CRS or unknown column.
    """
    _check(buurten, column)
    classes = palette.score_classes(
        buurten[column],
        method=method,
        k=k,
        breaks=breaks,
        decimals=decimals,
        title=legend_title or column,
    )
    labels = classes.assign(buurten[column])
    base = coerce_basemap(basemap)
    m = _base(base, titel, tegel_url, data_are_buurten=True)
    shown = list(dict.fromkeys([*popup_columns[:1], column, *popup_columns[1:]]))
    add_polygons(
        m,
        base.align(buurten) if base is not None else buurten,
        classes=classes,
        labels=labels,
        name=legend_title or titel,
        popup_columns=shown,
        aliases={column: legend_title or column, **(aliases or {})},
        decimals=decimals,
    )
    has_missing = any(lab is None for lab in labels)
    return _finish(m, classes, title=legend_title or column, include_no_data=has_missing)


def risk_surface_map(
    cellen: gpd.GeoDataFrame,
    *,
    titel: str,
    column: str = "relatief_risico",
    basemap: Basemap | Mapping | None = None,
    popup_columns: Sequence[str] = ("reden",),
    aliases: Mapping[str, str] | None = None,
    tegel_url: str | None = None,
) -> folium.Map:
    """The risk terrain surface: 100 m squares coloured by relative risk class.

    Only squares with relative risk above 1 are drawn, which keeps the page small.
    """
    _check(cellen, column)
    classes = palette.risk_classes()
    above = cellen[pd.to_numeric(cellen[column], errors="coerce") > 1.0]
    log.debug("risk surface: %d of %d squares above 1", len(above), len(cellen))
    m = _base(basemap, titel, tegel_url)
    shown = list(
        dict.fromkeys([c for c in ("cel_id",) if c in above.columns] + [column, *popup_columns])
    )
    add_polygons(
        m,
        above,
        classes=classes,
        labels=classes.assign(above[column]),
        name=titel,
        popup_columns=shown,
        aliases=aliases,
        decimals=1,
        fill_opacity=0.8,
    )
    return _finish(m, classes, title=classes.title)


def hotspot_map(
    frame: gpd.GeoDataFrame,
    *,
    titel: str,
    klasse_column: str | None = "gi_klasse",
    z_column: str = "gi_z",
    p_column: str = "gi_p",
    basemap: Basemap | Mapping | None = None,
    popup_columns: Sequence[str] = ("reden",),
    aliases: Mapping[str, str] | None = None,
    show_not_significant: bool = True,
    tegel_url: str | None = None,
) -> folium.Map:
    """Gi* hot and cold spots (buurten or squares) with the Dutch classes of the palette.

    Uses ``klasse_column`` when present (labels as in :data:`palette.GISTAR_CLASSES`),
    otherwise derives the class from ``z_column`` and ``p_column``.
    """
    _check(frame)
    classes = palette.gistar_classes()
    if klasse_column and klasse_column in frame.columns:
        labels = classes.assign(frame[klasse_column])
    elif z_column in frame.columns and p_column in frame.columns:
        labels = palette.gistar_label(frame[z_column], frame[p_column])
    else:
        raise ConfigError(
            f"Geef een klassekolom ({klasse_column!r}) of z- en p-kolommen "
            f"({z_column!r}, {p_column!r}); beschikbaar: {list(frame.columns)!r}"
        )
    keep = np.ones(len(frame), dtype=bool) if show_not_significant else labels != "Niet significant"
    base = coerce_basemap(basemap)
    by_buurt = "buurtcode" in frame.columns
    m = _base(base, titel, tegel_url, data_are_buurten=by_buurt)
    add_polygons(
        m,
        base.align(frame[keep]) if base is not None else frame[keep],
        classes=classes,
        labels=labels[keep],
        name=titel,
        popup_columns=list(popup_columns),
        aliases=aliases,
        fill_opacity=0.8,
    )
    return _finish(m, classes, title=classes.title)


def risk_locations_map(
    locaties: gpd.GeoDataFrame,
    *,
    titel: str,
    flag_column: str = "flag",
    basemap: Basemap | Mapping | None = None,
    popup_columns: Sequence[str] = ("reden",),
    aliases: Mapping[str, str] | None = None,
    cluster: bool = True,
    tegel_url: str | None = None,
) -> folium.Map:
    """Risk locations as (clustered) circle markers coloured by flag type.

    ``flag_column`` holds a flag id of docs/architecture.md; several ids joined by ``;``
    are coloured by the first. Popups show the Dutch flag label and ``popup_columns``.
    """
    _check(locaties, flag_column)
    if not locaties.geometry.geom_type.isin(["Point"]).all():
        raise ConfigError("risk_locations_map verwacht puntgeometrieën.")
    first = locaties[flag_column].astype(str).str.split(";").str[0].str.strip()
    classes = palette.flag_classes(first.unique().tolist())
    labels = palette.flag_label(first.to_numpy())
    frame = locaties.assign(
        flag_label=[
            "; ".join(palette.flag_label([f.strip() for f in str(v).split(";")]))
            for v in locaties[flag_column]
        ]
    )
    shown = list(dict.fromkeys(["flag_label", *popup_columns]))
    layer = _layer_frame(
        frame, popup_columns=shown, colours=classes.colour_of(labels), classes=labels, decimals=0
    )
    m = _base(basemap, titel, tegel_url)
    parent: folium.Map | MarkerCluster = m
    if cluster:
        parent = MarkerCluster(
            name=titel, options={"showCoverageOnHover": False, "maxClusterRadius": 40}
        )
        parent.add_to(m)
    folium.GeoJson(
        geojson_dict(layer),
        name=titel,
        marker=folium.CircleMarker(
            radius=7, fill=True, fill_opacity=0.95, weight=1.5, color="#ffffff"
        ),
        style_function=lambda f: {"fillColor": f["properties"]["_kleur"], "color": "#333333"},
        popup=_popup(shown, _aliases(shown, aliases)) if len(layer) else None,
        control=not cluster,
    ).add_to(parent)
    return _finish(m, classes, title=classes.title, marker=True)


def save_map(m: folium.Map | str, path: str | Path) -> Path:
    """Write a map as a self-contained offline HTML page (atomic, owner-only, marked).

    ``m`` is a folium map or its page already rendered by :func:`to_offline_html`.
    """
    from bcba.io import write_text

    page = m if isinstance(m, str) else to_offline_html(m)
    if palette.MARKING not in page:
        raise ConfigError("Kaart mist de markering; maak kaarten met bcba.maps.")
    marking = (
        f'<div class="bcba-page-marking" style="position:fixed;bottom:0;left:0;right:0;'
        f"z-index:2000;text-align:center;background:{palette.MARKING_COLOUR};color:#fff;"
        f'font:bold 12px sans-serif;letter-spacing:.1em;padding:2px">{palette.MARKING}</div>'
    )
    page = page.replace("<body>", "<body>\n" + marking, 1)
    # the map ends above the bar, so the bar covers no control and no part of the map
    page = page.replace(
        "</head>",
        "<style>.folium-map{height:calc(100% - 46px) !important}</style>\n</head>",
        1,
    )
    return write_text(path, page)

"""Folium maps that work without internet and leak nothing.

Folium loads Leaflet, jQuery, Bootstrap and icon fonts from CDNs and draws web tiles by
default: that fails on an offline machine and tells the CDN and tile provider which area is
being looked at. Here a map gets no tile layer (unless an internal tile server is given), a
neutral basemap drawn from the shipped CBS geometry, and :func:`to_offline_html` inlines the
vendored Leaflet assets from ``bcba/assets`` and refuses any remaining remote resource.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import MacroElement
from jinja2 import Template

from bcba.config import ASSETS_DIR, CRS, WEB_CRS
from bcba.errors import BcbaError, ConfigError, CRSMismatchError
from bcba.maps import palette
from bcba.maps.basemap import Basemap, basemap_from_layers, coerce_basemap

log = logging.getLogger(__name__)

ATTRIBUTION = "Bron: CBS, Wijk- en buurtkaart 2024"


class RemoteAssetError(BcbaError):
    """A rendered map or report still refers to a resource on the internet."""


#: Vendored assets by the name folium (or its plugins) gives them.
_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
}
#: Recognised CDN file names (any version of these libraries maps onto the vendored one).
_BY_FILE: dict[str, str] = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/MarkerCluster.Default.css",
}
_ASSET_PREFIX = "bcba-asset:"

_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*([\"'])(.*?)\1[^>]*>\s*</script>", re.I | re.S)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref\s*=\s*([\"'])(.*?)\1[^>]*/?>", re.I | re.S)
#: Attributes and CSS constructs through which a browser fetches something by itself.
_REMOTE_RESOURCE = re.compile(
    r"""(?:\b(?:src|href|srcset|poster|data|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//)""",
    re.I,
)
_REMOTE_RESOURCE_ENDING = re.compile(rf"(?:{_REMOTE_RESOURCE.pattern})\Z", re.I)
_DOUBLE_SLASH = re.compile("//")
# How far before its "//" a reference may begin (attribute name, blanks, quote, scheme)
_REFERENCE_REACH = 200
_SOURCEMAP = re.compile(r"^\s*/[/*]# sourceMappingURL=.*$", re.M)


@functools.cache
def _asset_text(relpath: str) -> str:
    """A vendored asset as text; CSS images become data URIs, source map hints are dropped."""
    path = ASSETS_DIR / relpath
    text = path.read_text(encoding="utf-8")
    text = _SOURCEMAP.sub("", text)
    if path.suffix == ".css":

        def _inline(match: re.Match) -> str:
            target = match.group(2)
            if target.startswith(("#", "data:")):
                return match.group(0)
            image = (path.parent / target).resolve()
            data = base64.b64encode(image.read_bytes()).decode("ascii")
            return f'url("data:image/png;base64,{data}")'

        text = re.sub(r"url\((['\"]?)([^)'\"]+)\1\)", _inline, text)
    return text


def _vendored_for(url: str) -> str | None:
    if url.startswith(_ASSET_PREFIX):
        return _ASSETS.get(url.removeprefix(_ASSET_PREFIX))
    name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return _BY_FILE.get(name)


#: folium.Map's default extras that bcba's maps do not use (removed, not vendored).
_UNUSED_MAP_DEFAULTS = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


def use_vendored_assets(element: object) -> None:
    """Point a folium element's own JS/CSS list at the vendored copies.

    Folium's map needs only Leaflet itself for what bcba draws: its jQuery, Bootstrap,
    awesome-markers and Font Awesome (remote web fonts) defaults are removed. Any other
    remote asset is kept as it is, so :func:`to_offline_html` refuses it loudly instead of
    producing a map whose scripts silently fail.
    """
    for attr in ("default_js", "default_css"):
        entries = getattr(element, attr, None)
        if entries is None:
            continue
        kept = []
        for name, url in entries:
            if name in _ASSETS:
                kept.append((name, _ASSET_PREFIX + name))
            elif not (isinstance(element, folium.Map) and name in _UNUSED_MAP_DEFAULTS):
                kept.append((name, url))
        setattr(element, attr, kept)


def to_offline_html(m: folium.Map) -> str:
    """Render a folium map to one self-contained HTML page.

    Every ``<script src>`` and ``<link href>`` is replaced by the vendored file's content.

    Raises
    ------
    RemoteAssetError
        When the page refers to a script or stylesheet that is not vendored, or when any
        other remote resource URL remains.
    """
    use_vendored_assets(m)
    for child in _walk(m):
        use_vendored_assets(child)
    page = m.get_root().render()
    return inline_assets(page)


def _walk(element):
    for child in getattr(element, "_children", {}).values():
        yield child
        yield from _walk(child)


def inline_assets(page: str) -> str:
    """Inline vendored scripts and stylesheets in an HTML page and check nothing is remote."""
    unknown: list[str] = []

    def _script(match: re.Match) -> str:
        url = match.group(2)
        rel = _vendored_for(url)
        if rel is None:
            unknown.append(url)
            return match.group(0)
        body = _asset_text(rel).replace("</script", "<\\/script")
        return f"<script>/* {rel} (bcba/assets) */\n{body}\n</script>"

    def _link(match: re.Match) -> str:
        tag, url = match.group(0), match.group(2)
        if not re.search(r"rel\s*=\s*[\"']?stylesheet", tag, re.I):
            return tag
        rel = _vendored_for(url)
        if rel is None:
            unknown.append(url)
            return tag
        return f"<style>/* {rel} (bcba/assets) */\n{_asset_text(rel)}\n</style>"

    page = _SCRIPT_SRC.sub(_script, page)
    page = _LINK_HREF.sub(_link, page)
    if unknown:
        raise RemoteAssetError(
            "De kaart gebruikt scripts of stijlbladen die niet zijn meegeleverd en van internet "
            f"zouden komen: {', '.join(sorted(set(unknown)))}. Voeg ze toe aan bcba/assets of "
            "gebruik de betreffende kaartfunctie niet."
        )
    assert_no_remote(page)
    return page


_ANCHOR_TAG = re.compile(r"<a\s[^>]*>", re.I)


def find_remote_resources(page: str) -> list[str]:
    """Snippets of every place where a browser would fetch something from another host.

    Plain hyperlinks (``<a href>``) are not resources: the browser follows them only when
    the reader clicks, so they are not reported.
    """
    page = _ANCHOR_TAG.sub("<a>", page)
    # Every remote reference ends in "//", which is rare; trying the pattern only just
    # before each one is five times faster on a 12 MB report than scanning every position.
    hits = []
    for slashes in _DOUBLE_SLASH.finditer(page):
        start = max(0, slashes.start() - _REFERENCE_REACH)
        found = _REMOTE_RESOURCE_ENDING.search(page, start, slashes.end())
        if found is not None:
            hits.append(page[max(0, found.start() - 40) : found.end() + 60])
    return hits


def assert_no_remote(page: str, *, allowed_prefixes: tuple[str, ...] = ()) -> None:
    """Raise :class:`RemoteAssetError` when the page loads anything from the internet.

    ``allowed_prefixes`` lets an explicitly configured internal tile server through.
    """
    if _ASSET_PREFIX in page:
        raise RemoteAssetError(
            "De pagina bevat niet-ingevoegde kaartbestanden (bcba-asset:); gebruik "
            "to_offline_html(m) of bcba.report.html.kaart(m)."
        )
    hits = [
        h
        for h in find_remote_resources(page)
        if not any(prefix and prefix.split("{", 1)[0] in h for prefix in allowed_prefixes)
    ]
    if hits:
        raise RemoteAssetError(
            "De pagina laadt nog iets van internet (niet toegestaan): " + " | ".join(hits[:5])
        )


def js_string(text: str) -> str:
    """A JavaScript string literal that keeps non-ASCII text readable and cannot close a
    ``<script>`` element."""
    literal = json.dumps(str(text), ensure_ascii=False)
    return literal.replace("</", "<\\/").replace("<!--", "<\\!--")


#: Height of the marking strip above every interactive map (px): outside the map, so no
#: map control can ever cover it.
MARKING_STRIP_PX = 24

_MAP_CSS = f"""<style>
.leaflet-container{{background:#ffffff !important;font-family:system-ui,sans-serif}}
.folium-map{{height:calc(100% - {MARKING_STRIP_PX}px) !important}}
.bcba-map-marking{{height:{MARKING_STRIP_PX}px;box-sizing:border-box;text-align:center;
 font:bold 13px/{MARKING_STRIP_PX - 4}px sans-serif;letter-spacing:.08em;background:#fff;
 color:{palette.MARKING_COLOUR};border-bottom:2px solid {palette.MARKING_COLOUR};overflow:hidden;
 white-space:nowrap}}
.bcba-map-title{{background:rgba(255,255,255,.92);padding:4px 8px;font:bold 14px sans-serif;
 border-radius:3px;box-shadow:0 1px 4px rgba(0,0,0,.3);max-width:min(420px,45vw);white-space:normal}}
.bcba-legend{{max-height:calc(100vh - {MARKING_STRIP_PX + 150}px);overflow-y:auto}}
.leaflet-popup-content{{max-width:360px}}
.leaflet-control-layers{{font-size:12px;line-height:1.4}}
.foliumpopup table{{font-size:13px;line-height:1.35}}
.foliumpopup th{{vertical-align:top;text-align:left;white-space:nowrap}}
.foliumpopup td{{overflow-wrap:anywhere;word-break:normal}}
.bcba-naam-anker{{overflow:visible}}
.bcba-naam{{position:absolute;left:0;top:0;transform:translate(-50%,-50%);white-space:nowrap;
 font:12px/1.15 system-ui,sans-serif;color:#333;pointer-events:none;
 text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 4px #fff}}
.bcba-naam-gemeente{{font-size:13px;color:#6f6f6f;font-style:italic;text-transform:uppercase;
 letter-spacing:.06em}}
.bcba-naam-wijk{{font-weight:700;color:#262626}}
.bcba-naam-buurt{{font-size:11px;font-style:italic;color:#4a4a4a}}
.bcba-naam-straat{{font-size:10px;color:#5b4636}}
</style>"""


class _MapChrome(MacroElement):
    """Marking strip above the map, CBS attribution without Leaflet's web link, title."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            map.attributionControl.setPrefix(false);
            L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
            var container = map.getContainer();
            var mark = document.createElement('div');
            mark.className = 'bcba-map-marking';
            mark.textContent = {{ this.marking_js }};
            container.parentNode.insertBefore(mark, container);
            var bounds = {{ this.bounds_js }};
            // In an iframe the map may be built before it has a size: fit again once it has.
            var fitted = false;
            var fit = function() {
                if (container.clientWidth > 0 && container.clientHeight > 0) {
                    map.invalidateSize();
                    if (bounds) { map.fitBounds(bounds); }
                    fitted = true;
                }
            };
            window.addEventListener('load', fit);
            if (window.ResizeObserver) {
                new ResizeObserver(function() { if (!fitted) { fit(); } }).observe(container);
            }
            map.attributionControl.addAttribution({{ this.attribution_js }});
            {% if this.title %}
            var title = L.control({position: 'topleft'});
            title.onAdd = function() {
                var d = L.DomUtil.create('div', 'bcba-map-title');
                d.textContent = {{ this.title_js }};
                return d;
            };
            title.addTo(map);
            {% endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        title: str = "",
        attribution: str = ATTRIBUTION,
        bounds: list[list[float]] | None = None,
    ) -> None:
        super().__init__()
        self._name = "BcbaMapChrome"
        self.title = title
        self.attribution = attribution
        self.marking = palette.MARKING
        self.attribution_js = js_string(attribution)
        self.marking_js = js_string(palette.MARKING)
        self.title_js = js_string(title)
        self.bounds_js = json.dumps(bounds)


class MapLabels(folium.map.Layer):
    """The basemap's names on a web map, shown per zoom level without collisions.

    Every label carries the zoom from which it fits its area or street
    (:attr:`bcba.maps.basemap.Basemap.labels`); after every zoom or move the labels that
    qualify are laid out in priority order and one that would overlap an earlier one is
    hidden, so wijk names show first, buurt names as one zooms in and street names only
    close up.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        (function(map, group) {
            var pane = map.createPane('bcba-namen');
            pane.style.zIndex = 450;
            pane.style.pointerEvents = 'none';
            var data = {{ this.data_js }};
            var items = data.map(function(d) {
                var span = document.createElement('span');
                span.className = 'bcba-naam bcba-naam-' + d[3];
                span.textContent = d[2];
                if (d[4]) {
                    span.style.transform = 'translate(-50%,-50%) rotate(' + (-d[4]) + 'deg)';
                }
                var icon = L.divIcon({className: 'bcba-naam-anker', html: span, iconSize: [0, 0]});
                var marker = L.marker([d[0], d[1]], {
                    icon: icon, interactive: false, keyboard: false, pane: 'bcba-namen'
                }).addTo(group);
                return {d: d, marker: marker, span: span};
            });
            var layout = function() {
                if (!map.hasLayer(group) || map._animatingZoom) { return; }
                var zoom = map.getZoom(), size = map.getSize(), shown = [];
                var frame = map.getContainer().getBoundingClientRect();
                // the controls (zoom, title, legend, layers, scale) are obstacles too
                var placed = Array.prototype.map.call(
                    map.getContainer().querySelectorAll('.leaflet-control'),
                    function(c) {
                        var r = c.getBoundingClientRect();
                        return {left: r.left - frame.left, right: r.right - frame.left,
                                top: r.top - frame.top, bottom: r.bottom - frame.top};
                    });
                items.forEach(function(item) {
                    var el = item.marker.getElement();
                    if (!el) { return; }
                    var p = map.latLngToContainerPoint([item.d[0], item.d[1]]);
                    var ok = zoom >= item.d[5] && p.x >= 0 && p.y >= 0
                        && p.x <= size.x && p.y <= size.y;
                    el.style.display = ok ? '' : 'none';
                    delete el.dataset.zichtbaar;
                    if (ok) { item.p = p; shown.push(item); }
                });
                // the size of each text (unaffected by map transforms), turned by its angle
                shown.forEach(function(item) {
                    if (item.w === undefined) {
                        var a = Math.abs(item.d[4]) * Math.PI / 180;
                        var w = item.span.offsetWidth, h = item.span.offsetHeight;
                        item.w = w * Math.cos(a) + h * Math.sin(a);
                        item.h = w * Math.sin(a) + h * Math.cos(a);
                    }
                });
                shown.forEach(function(item) {
                    var r = {left: item.p.x - item.w / 2, right: item.p.x + item.w / 2,
                             top: item.p.y - item.h / 2, bottom: item.p.y + item.h / 2};
                    var hit = false;
                    for (var j = 0; j < placed.length && !hit; j++) {
                        var q = placed[j];
                        hit = r.left - 2 < q.right && r.right + 2 > q.left
                            && r.top - 2 < q.bottom && r.bottom + 2 > q.top;
                    }
                    var el = item.marker.getElement();
                    if (hit) { el.style.display = 'none'; }
                    else { placed.push(r); el.dataset.zichtbaar = '1'; }
                });
            };
            map.on('zoomend moveend viewreset overlayadd resize', layout);
            window.addEventListener('load', function() { setTimeout(layout, 0); });
            {% if this.show %}group.addTo(map);{% endif %}
            layout();
        })({{ this._parent.get_name() }}, {{ this.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, labels: pd.DataFrame, *, name: str = "Namen", show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "BcbaNamen"
        if len(labels):
            lon, lat = to_web_xy(labels["x"].to_numpy(), labels["y"].to_numpy())
            rows = [
                [round(float(a), 6), round(float(o), 6), str(t), str(k), round(float(h), 1), int(z)]
                for a, o, t, k, h, z in zip(
                    lat,
                    lon,
                    labels["tekst"],
                    labels["soort"],
                    labels["hoek"],
                    labels["min_zoom"],
                    strict=True,
                )
            ]
        else:
            rows = []
        self.data_js = js_json(rows)


def to_web(frame: gpd.GeoDataFrame, *, grid_size: float = 1e-5) -> gpd.GeoDataFrame:
    """Reproject an EPSG:28992 frame to WGS84 for folium, rounding coordinates (1e-5 degree, about 1 m).

    Raises
    ------
    CRSMismatchError
        When the frame is not in EPSG:28992.
    """
    if frame.crs is None or frame.crs != CRS:
        raise CRSMismatchError(f"Kaartlaag moet in {CRS} zijn, niet in {frame.crs}.")
    out = frame.to_crs(WEB_CRS)
    out = out.set_geometry(shapely.set_precision(out.geometry.values, grid_size, mode="pointwise"))
    return out


#: GeoJSON names of the geometry types that shapely can export as ragged arrays.
_RAGGED_TYPES = {
    shapely.GeometryType.POINT: "Point",
    shapely.GeometryType.LINESTRING: "LineString",
    shapely.GeometryType.POLYGON: "Polygon",
    shapely.GeometryType.MULTIPOINT: "MultiPoint",
    shapely.GeometryType.MULTILINESTRING: "MultiLineString",
    shapely.GeometryType.MULTIPOLYGON: "MultiPolygon",
}


def _geometry_dicts(geometries: np.ndarray) -> list[dict | None]:
    """GeoJSON geometry dicts (coordinates as nested lists), one per geometry.

    Coordinates come from :func:`shapely.to_ragged_array` per geometry type and are nested
    by its offset arrays, which is much faster than one ``mapping()`` call per geometry.
    Missing and empty geometries give ``None``, as in geopandas' ``to_json``.
    """
    out: list[dict | None] = [None] * len(geometries)
    present = ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))
    type_ids = shapely.get_type_id(geometries)
    for type_id in np.unique(type_ids[present]).tolist():
        rows = np.flatnonzero(present & (type_ids == type_id)).tolist()
        name = _RAGGED_TYPES.get(shapely.GeometryType(type_id))
        if name is None:  # e.g. a GeometryCollection: rare, so the plain (slow) way
            for row in rows:
                out[row] = json.loads(json.dumps(shapely.geometry.mapping(geometries[row])))
            continue
        _kind, coords, offsets = shapely.to_ragged_array(geometries[rows])
        nested = coords.tolist()
        for level in offsets:  # innermost (coordinates of a ring) first
            bounds = level.tolist()
            nested = [nested[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        for row, coordinates in zip(rows, nested, strict=True):
            out[row] = {"type": name, "coordinates": coordinates}
    return out


def geojson_dict(frame: gpd.GeoDataFrame) -> dict:
    """A WGS84 frame as the GeoJSON dict folium gets from ``frame.to_json(drop_id=True)``.

    The same features, properties (missing values as ``None``) and coordinates, built
    from shapely's coordinate arrays instead of geopandas' per-row ``iterfeatures`` and a
    JSON round trip, which took seconds for a city's maps. Frames in another CRS are
    handled by geopandas (its output then names the CRS).
    """
    if frame.crs is None or not frame.crs.equals(WEB_CRS):
        return json.loads(frame.to_json(drop_id=True))
    geometries = _geometry_dicts(frame.geometry.values)
    names = list(frame.columns.drop(frame.geometry.name))
    columns = [frame[name].to_numpy(dtype=object, na_value=None).tolist() for name in names]
    rows = (
        [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        if names
        else [{} for _ in range(len(frame))]
    )
    features = [
        {"type": "Feature", "properties": props, "geometry": geometry}
        for props, geometry in zip(rows, geometries, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def map_iframe(page: str, *, hoogte: int = 520) -> str:
    """An offline map page as a sandboxed ``<iframe srcdoc>`` for a report or notebook.

    The attribute is single-quoted, so only ``&`` and ``'`` need escaping: GeoJSON is full
    of double quotes, and escaping each as ``&quot;`` made map-heavy reports about 40 %
    larger.
    """
    escaped = page.replace("&", "&amp;").replace("'", "&#39;")
    return (
        '<div class="bcba-interactive-map"><iframe class="bcba-map-frame" '
        'title="Interactieve kaart" sandbox="allow-scripts" '
        f'style="width:100%;height:{int(hoogte)}px;border:0" '
        f"srcdoc='{escaped}'></iframe></div>"
    )


class OfflineMap(folium.Map):
    """A :class:`folium.Map` whose notebook display is the offline page (vendored Leaflet).

    Showing such a map directly in a notebook cell therefore works without internet and
    passes the report's offline check; :func:`bcba.report.html.kaart` adds the static twin.
    """

    def _repr_html_(self, **kwargs) -> str:
        return map_iframe(to_offline_html(self))


def js_json(value: object) -> str:
    """A JSON value as JavaScript that keeps non-ASCII text readable and cannot close a
    ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


@functools.cache
def _to_wgs84() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(CRS, WEB_CRS, always_xy=True)


def to_web_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EPSG:28992 coordinates as WGS84 (longitude, latitude)."""
    return _to_wgs84().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


#: Simplification of the basemap layers on web maps (metres): invisible at the zooms where
#: the layer matters, and it keeps each map page small.
WEB_SIMPLIFY_M = {"buren": 25.0, "land": 5.0, "water": 15.0, "bebouwing": 15.0, "grenzen": 5.0}
#: A background building layer larger than this is left off the web maps (print only).
MAX_WEB_BUILDINGS = 20_000


def _web_layer(basemap: Basemap, name: str, frame: gpd.GeoDataFrame, tolerance: float) -> dict:
    """A basemap layer as WGS84 GeoJSON (simplified), cached on the basemap for every map."""
    key = f"web:{name}"
    if key not in basemap.cache:
        geometry = shapely.simplify(frame.geometry.values, tolerance, preserve_topology=True)
        plain = gpd.GeoDataFrame(geometry=geometry, crs=CRS)
        plain = plain[~plain.geometry.is_empty]
        basemap.cache[key] = geojson_dict(to_web(plain))
    return basemap.cache[key]


def _add_geojson(
    m: folium.Map, data: dict, *, name: str, style: dict, pane: str, control: bool = True
) -> None:
    if not data["features"]:
        return
    folium.GeoJson(
        data,
        name=name,
        style_function=lambda _f, s=style: s,
        interactive=False,
        control=control,
        pane=pane,
    ).add_to(m)


def add_basemap(
    m: folium.Map,
    basemap: Basemap,
    *,
    data_are_buurten: bool,
    tiles: bool,
) -> None:
    """Draw a :class:`~bcba.maps.basemap.Basemap` on a folium map in its own panes.

    Neighbours, land and built-up land lie under the data; water over it for buurt maps
    (``data_are_buurten``: a river is not part of a buurt's score) and under it for squares
    and points; the built-up tint and the buurt borders only where the data do not draw
    the buurten themselves;
    borders and names lie over everything and let clicks through. With an
    internal tile server (``tiles``) the tiles show land, water and streets, so only the
    borders and the wijk and buurt names are added.
    """
    panes = {"bcba-onder": 250, "bcba-water": 410 if data_are_buurten else 260, "bcba-grenzen": 420}
    for pane, z_index in panes.items():
        folium.map.CustomPane(pane, z_index=z_index, pointer_events=False).add_to(m)
    if not tiles:
        _add_geojson(
            m,
            _web_layer(
                basemap,
                "buren",
                # grown a little so the simplified neighbours leave no white slivers
                basemap.buren.set_geometry(basemap.buren.buffer(120.0, quad_segs=2)),
                WEB_SIMPLIFY_M["buren"],
            ),
            name="Buurgemeenten",
            style={
                "fillColor": palette.NEIGHBOUR_COLOUR,
                "fillOpacity": 1,
                "color": "#ffffff",
                "weight": 1.5,
            },
            pane="bcba-onder",
        )
        _add_geojson(
            m,
            _web_layer(basemap, "land", basemap.outline, WEB_SIMPLIFY_M["land"]),
            name="Gemeente",
            style={"fillColor": palette.LAND_COLOUR, "fillOpacity": 1, "stroke": False},
            pane="bcba-onder",
            control=False,
        )
        layers = basemap.achtergrond
        if "gebouwen" in layers and len(layers["gebouwen"]) <= MAX_WEB_BUILDINGS:
            _add_geojson(
                m,
                _web_layer(basemap, "gebouwen", layers["gebouwen"], 0.5),
                name="Gebouwen",
                style={"fillColor": palette.BUILDING_COLOUR, "fillOpacity": 1, "stroke": False},
                pane="bcba-onder",
            )
        elif not data_are_buurten and "gebouwen" not in layers and len(basemap.bebouwing):
            _add_geojson(
                m,
                _web_layer(basemap, "bebouwing", basemap.bebouwing, WEB_SIMPLIFY_M["bebouwing"]),
                name="Bewoond gebied",
                style={"fillColor": palette.BUILT_UP_COLOUR, "fillOpacity": 1, "stroke": False},
                pane="bcba-onder",
            )
        if "wegen" in layers:
            _add_geojson(
                m,
                _web_layer(basemap, "wegen", layers["wegen"], 0.5),
                name="Wegen",
                style={
                    "color": palette.ROAD_LINE_COLOUR,
                    "weight": 1,
                    "fillColor": palette.ROAD_COLOUR,
                    "fillOpacity": 1,
                },
                pane="bcba-onder",
            )
        _add_geojson(
            m,
            _web_layer(basemap, "water", basemap.water, WEB_SIMPLIFY_M["water"]),
            name="Water",
            style={"fillColor": palette.WATER_COLOUR, "fillOpacity": 1, "stroke": False},
            pane="bcba-water",
        )
        if "water" in layers:
            streams = layers["water"]
            streams = streams[~streams.geom_type.isin(["Polygon", "MultiPolygon"])]
            _add_geojson(
                m,
                _web_layer(basemap, "waterlopen", streams, 0.5),
                name="Waterlopen",
                style={"color": palette.WATER_COLOUR, "weight": 2},
                pane="bcba-water",
            )
    if len(basemap.buurten) > len(basemap.wijken) and not data_are_buurten:
        _add_geojson(
            m,
            _web_layer(basemap, "buurtgrenzen", basemap.buurten, WEB_SIMPLIFY_M["grenzen"]),
            name="Buurtgrenzen",
            style={"fill": False, "color": palette.BUURT_BORDER_COLOUR, "weight": 0.8},
            pane="bcba-grenzen",
        )
    _add_geojson(
        m,
        _web_layer(basemap, "wijkgrenzen", basemap.wijken, WEB_SIMPLIFY_M["grenzen"]),
        name="Wijkgrenzen",
        style={
            "fill": False,
            "color": palette.WIJK_BORDER_COLOUR,
            "weight": 1.2,
            "dashArray": "4 3",
        },
        pane="bcba-grenzen",
    )
    _add_geojson(
        m,
        _web_layer(basemap, "grens", basemap.outline, WEB_SIMPLIFY_M["land"]),
        name="Gemeentegrens",
        style={"fill": False, "color": palette.OUTLINE_COLOUR, "weight": 2},
        pane="bcba-grenzen",
    )
    labels = basemap.labels
    if tiles:
        labels = labels[labels["soort"].isin(["wijk", "buurt"])]
    if len(labels):
        MapLabels(labels).add_to(m)


def offline_map(
    basemap: Basemap | Mapping | None = None,
    *,
    gemeente: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    wijken: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
    data_are_buurten: bool = False,
    tegel_url: str | None = None,
    tegel_attributie: str = "Interne kaartserver",
    title: str = "",
    crs: str = "EPSG3857",
    height: str | int = "100%",
) -> folium.Map:
    """A folium map with no internet tiles and the run's basemap.

    Parameters
    ----------
    basemap
        The run's :class:`~bcba.maps.basemap.Basemap` (build it once with
        :func:`~bcba.maps.basemap.build_basemap`), or the older keyword mapping.
    gemeente, outline, wijken, water
        The older keywords (EPSG:28992): a basemap is built from them when ``basemap`` is
        not given (:func:`~bcba.maps.basemap.basemap_from_layers`).
    data_are_buurten
        The map's data are the buurten (a choropleth): water is drawn over them, and
        neither the built-up tint nor the buurt borders are added.
    tegel_url
        Optional internal tile server URL template (``https://kaart.intern/{z}/{x}/{y}.png``);
        never a public one unless the organisation decides so (see docs/maps.md).
    title
        Title shown at the top left of the map.
    crs
        Leaflet CRS name (folium's ``crs``), default Web Mercator.

    Returns
    -------
    folium.Map
        With the basemap, the marking strip and the CBS attribution; fitted to the area.

    Raises
    ------
    CRSMismatchError
        When a layer is not in EPSG:28992.
    ConfigError
        For a ``tegel_url`` that is not an URL template with ``{z}``, ``{x}`` and ``{y}``.
    """
    if basemap is None and any(v is not None for v in (gemeente, outline, wijken, water)):
        basemap = basemap_from_layers(
            gemeente=gemeente, outline=outline, wijken=wijken, water=water
        )
    base = coerce_basemap(basemap)
    if tegel_url is not None and not re.match(r"^https?://.+\{z\}.*\{x\}.*\{y\}", tegel_url):
        raise ConfigError(
            f"tegel_url moet een URL-sjabloon met {{z}}, {{x}} en {{y}} zijn, niet {tegel_url!r}"
        )
    m = OfflineMap(
        location=(51.85, 4.55),
        zoom_start=12,
        tiles=None,
        crs=crs,
        control_scale=False,
        prefer_canvas=False,
        height=height,
    )
    # Without a tile layer nothing tells Leaflet the zoom range, and markercluster needs it
    # ("Map has no maxZoom specified"); folium only passes min/max zoom on to tile layers.
    m.options["minZoom"] = 8
    m.options["maxZoom"] = 19
    use_vendored_assets(m)
    m.get_root().header.add_child(folium.Element(_MAP_CSS), name="bcba_map_css")
    if tegel_url:
        folium.TileLayer(
            tiles=tegel_url,
            attr=html.escape(tegel_attributie),
            name="Achtergrondkaart",
            overlay=False,
        ).add_to(m)
    bounds = None
    if base is not None:
        add_basemap(m, base, data_are_buurten=data_are_buurten, tiles=bool(tegel_url))
        lon, lat = to_web_xy(base.outline.total_bounds[[0, 2]], base.outline.total_bounds[[1, 3]])
        bounds = [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]]
        m.fit_bounds(bounds)
    _MapChrome(title=title, bounds=bounds).add_to(m)
    return m


def save_offline_html(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained offline HTML file (atomic, owner-only)."""
    from bcba.io import write_text

    return write_text(path, to_offline_html(m))

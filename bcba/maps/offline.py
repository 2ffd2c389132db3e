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
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from bcba.config import ASSETS_DIR, CRS, WEB_CRS
from bcba.errors import BcbaError, ConfigError, CRSMismatchError
from bcba.maps import palette

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


class _MapChrome(MacroElement):
    """Marking overlay, CBS attribution without Leaflet's web link, and a legend slot."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            map.attributionControl.setPrefix(false);
            L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
            var bounds = {{ this.bounds_js }};
            if (bounds) {
                // In an iframe the map may be built before it has a size: fit again once it has.
                var fitted = false;
                var fit = function() {
                    var c = map.getContainer();
                    if (c.clientWidth > 0 && c.clientHeight > 0) {
                        map.invalidateSize();
                        map.fitBounds(bounds);
                        fitted = true;
                    }
                };
                window.addEventListener('load', fit);
                if (window.ResizeObserver) {
                    new ResizeObserver(function() { if (!fitted) { fit(); } })
                        .observe(map.getContainer());
                }
            }
            map.attributionControl.addAttribution({{ this.attribution_js }});
            var mark = L.DomUtil.create('div', 'bcba-map-marking', map.getContainer());
            mark.textContent = {{ this.marking_js }};
            mark.style.cssText = 'position:absolute;top:6px;left:50%;transform:translateX(-50%);'
                + 'z-index:1000;background:#fff;color:{{ this.colour }};font:bold 13px sans-serif;'
                + 'letter-spacing:.08em;padding:2px 10px;border:2px solid {{ this.colour }};'
                + 'pointer-events:none;';
            {% if this.title %}
            var title = L.control({position: 'topleft'});
            title.onAdd = function() {
                var d = L.DomUtil.create('div', 'bcba-map-title');
                d.textContent = {{ this.title_js }};
                d.style.cssText = 'background:rgba(255,255,255,.9);padding:4px 8px;'
                    + 'font:bold 14px sans-serif;border-radius:3px;box-shadow:0 1px 4px rgba(0,0,0,.3);';
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
        self.colour = palette.MARKING_COLOUR


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


def _check_crs(frame: gpd.GeoDataFrame | None, what: str) -> None:
    if frame is not None and (frame.crs is None or frame.crs != CRS):
        raise CRSMismatchError(f"{what} moet in {CRS} zijn, niet in {frame.crs}.")


def basemap_layers(
    *,
    gemeente: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    wijken: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
) -> dict[str, gpd.GeoDataFrame | None]:
    """The neutral basemap layers (outline, wijken, water), shared by folium and matplotlib.

    Missing outline/wijken are taken from the shipped CBS Wijk- en buurtkaart 2024 when a
    ``gemeente`` is given. Raises :class:`CRSMismatchError` for a layer not in EPSG:28992.
    """
    if gemeente is not None and (outline is None or wijken is None):
        from bcba import reference

        outline = reference.gemeente_grens(gemeente) if outline is None else outline
        wijken = reference.wijken(gemeente) if wijken is None else wijken
    for frame, what in ((outline, "outline"), (wijken, "wijken"), (water, "water")):
        _check_crs(frame, what)
    if wijken is not None and "water" in wijken.columns:
        is_water = wijken["water"].astype(str).eq("JA")
        if is_water.any():
            extra = wijken.loc[is_water, [wijken.geometry.name]]
            water = (
                extra
                if water is None
                else gpd.GeoDataFrame(
                    geometry=list(water.geometry.values) + list(extra.geometry.values), crs=CRS
                )
            )
            wijken = wijken.loc[~is_water]
    return {"outline": outline, "wijken": wijken, "water": water}


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


def offline_map(
    *,
    gemeente: str | None = None,
    outline: gpd.GeoDataFrame | None = None,
    wijken: gpd.GeoDataFrame | None = None,
    water: gpd.GeoDataFrame | None = None,
    tegel_url: str | None = None,
    tegel_attributie: str = "Interne kaartserver",
    title: str = "",
    crs: str = "EPSG3857",
    height: str | int = "100%",
) -> folium.Map:
    """A folium map with no internet tiles and a neutral basemap from CBS geometry.

    Parameters
    ----------
    gemeente
        Municipality code or name: outline and wijken are taken from the shipped CBS
        Wijk- en buurtkaart 2024 when not given explicitly.
    outline, wijken, water
        Basemap layers in EPSG:28992 (e.g. from ``bcba.areas.StudyArea``); ``wijken`` with
        a ``water == "JA"`` column value or a separate ``water`` layer is drawn blue.
    tegel_url
        Optional internal tile server URL template (``https://kaart.intern/{z}/{x}/{y}.png``);
        never a public one unless the organisation decides so.
    title
        Title shown at the top left of the map.
    crs
        Leaflet CRS name (folium's ``crs``), default Web Mercator.

    Returns
    -------
    folium.Map
        With the basemap layers, marking and CBS attribution; fitted to the outline.

    Raises
    ------
    CRSMismatchError
        When a layer is not in EPSG:28992.
    """
    outline, wijken, water = basemap_layers(
        gemeente=gemeente, outline=outline, wijken=wijken, water=water
    ).values()
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
    background = "#ffffff"
    m.get_root().header.add_child(
        folium.Element(
            f"<style>.leaflet-container{{background:{background} !important;"
            "font-family:system-ui,sans-serif}</style>"
        ),
        name="bcba_map_css",
    )
    if tegel_url:
        folium.TileLayer(
            tiles=tegel_url,
            attr=html.escape(tegel_attributie),
            name="Achtergrondkaart",
            overlay=False,
        ).add_to(m)
    bounds = None
    if outline is not None:
        land = to_web(outline[[outline.geometry.name]])
        folium.GeoJson(
            geojson_dict(land),
            name="Gemeentegrens",
            style_function=lambda _f: {
                "fillColor": palette.LAND_COLOUR,
                "fillOpacity": 1.0 if not tegel_url else 0.0,
                "color": palette.OUTLINE_COLOUR,
                "weight": 2,
            },
            interactive=False,
            control=True,
        ).add_to(m)
        xmin, ymin, xmax, ymax = (float(v) for v in land.total_bounds)
        bounds = [[ymin, xmin], [ymax, xmax]]
        m.fit_bounds(bounds)
    if water is not None and len(water):
        wat = to_web(water[[water.geometry.name]])
        folium.GeoJson(
            geojson_dict(wat),
            name="Water",
            style_function=lambda _f: {
                "fillColor": palette.WATER_COLOUR,
                "fillOpacity": 1.0,
                "color": palette.WATER_COLOUR,
                "weight": 0.5,
            },
            interactive=False,
        ).add_to(m)
    if wijken is not None:
        keep = [c for c in ("wijkcode", "wijknaam") if c in wijken.columns]
        wk = to_web(wijken[[*keep, wijken.geometry.name]])
        folium.GeoJson(
            geojson_dict(wk),
            name="Wijkgrenzen",
            style_function=lambda _f: {
                "fill": False,
                "color": palette.WIJK_BORDER_COLOUR,
                "weight": 1,
                "dashArray": "4 3",
            },
            interactive=False,
        ).add_to(m)
    _MapChrome(title=title, bounds=bounds).add_to(m)
    return m


def save_offline_html(m: folium.Map, path: str | Path) -> Path:
    """Write a map as one self-contained offline HTML file (atomic, owner-only)."""
    from bcba.io import write_text

    return write_text(path, to_offline_html(m))

"""Maps: offline HTML, Dutch legends, privacy of popups, static print twins, one palette."""

from __future__ import annotations

import re

import folium
import geopandas as gpd
import matplotlib.colors
import numpy as np
import pytest
import shapely
from folium.plugins import Fullscreen

from bcba import reference
from bcba.config import CRS
from bcba.errors import ConfigError, CRSMismatchError, PrivacyError
from bcba.maps import interactive, palette, static
from bcba.maps.offline import (
    RemoteAssetError,
    find_remote_resources,
    map_iframe,
    offline_map,
    to_offline_html,
)

BASE = {"gemeente": "GM0489"}
FIXED = [2.0, 4.0, 6.0, 8.0, 10.0]
FIXED_LABELS = ["t/m 2,0", "2,0 – 4,0", "4,0 – 6,0", "6,0 – 8,0", "8,0 – 10,0"]


@pytest.fixture(scope="module")
def buurten() -> gpd.GeoDataFrame:
    frame = reference.buurten("GM0489").head(12)[["buurtcode", "buurtnaam", "geometry"]]
    return frame.assign(
        score=np.linspace(0.5, 9.5, len(frame)),
        reden="Veel KvK-inschrijvingen & <b>ABC</b>-transacties",
        naam="Jan Jansen",  # personal data that must never reach the page
    )


@pytest.fixture(scope="module")
def cellen() -> gpd.GeoDataFrame:
    x0, y0 = 95000, 429000
    boxes = [shapely.box(x0 + i * 100, y0, x0 + (i + 1) * 100, y0 + 100) for i in range(5)]
    return gpd.GeoDataFrame(
        {
            "cel_id": [f"E0{950 + i}N4290" for i in range(5)],
            "relatief_risico": [0.5, 1.0, 1.2, 2.5, 6.0],
            "reden": ["nabij opslag"] * 5,
        },
        geometry=boxes,
        crs=CRS,
    )


@pytest.fixture(scope="module")
def locaties() -> gpd.GeoDataFrame:
    pts = shapely.points([95100, 95600, 96100], [429100, 429500, 430000])
    return gpd.GeoDataFrame(
        {
            "flag": ["KVK_VEEL_INSCHRIJVINGEN", "KAD_ABC;KAD_PRIJS_WOZ", "NET_STROMAN"],
            "reden": ["14 inschrijvingen op één adres", "3 verkopen in 5 maanden", "stroman"],
            "koper_naam": ["A. de Vries", None, None],
        },
        geometry=pts,
        crs=CRS,
    )


@pytest.fixture(scope="module")
def choropleth_page(buurten) -> str:
    m = interactive.buurt_choropleth(
        buurten,
        "score",
        titel="Drugs per buurt",
        legend_title="Score drugs",
        basemap=BASE,
        method="fixed",
        breaks=FIXED,
    )
    return to_offline_html(m)


def _geojson_layers(m: folium.Map) -> list[folium.GeoJson]:
    found = []
    stack = list(m._children.values())
    while stack:
        child = stack.pop()
        if isinstance(child, folium.GeoJson):
            found.append(child)
        stack.extend(getattr(child, "_children", {}).values())
    return found


def test_offline_html_has_no_remote_url_and_inlines_leaflet(choropleth_page):
    assert find_remote_resources(choropleth_page) == []
    assert not re.search(r"<script[^>]+src=", choropleth_page)
    assert not re.search(r"<link[^>]+href=", choropleth_page)
    assert "leaflet/leaflet.js (bcba/assets)" in choropleth_page
    assert "L.version" not in choropleth_page or "1.9.4" in choropleth_page
    assert '"1.9.4"' in choropleth_page  # Leaflet's own version string, inlined
    for dropped in ("jquery", "bootstrap", "fontawesome", "awesome-markers"):
        assert dropped not in choropleth_page.lower()
    # CSS images are data URIs, so even the layer control icon needs no file
    assert "images/layers.png" not in choropleth_page


def test_map_iframe_carries_the_page_unchanged(choropleth_page):
    from html.parser import HTMLParser

    class Frames(HTMLParser):
        docs: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "iframe":
                self.docs.append(dict(attrs)["srcdoc"])

    tricky = choropleth_page + "<p title='x &amp; y'>O'Brien & \"Co\"</p>"
    parser = Frames()
    parser.feed(map_iframe(tricky, hoogte=300))
    assert parser.docs == [tricky]
    # double quotes are left as they are: GeoJSON is full of them
    assert "&quot;" not in map_iframe('{"a": "b"}')


def test_legend_is_dutch_and_marking_present(choropleth_page):
    for label in FIXED_LABELS:
        assert label in choropleth_page
    assert "Score drugs" in choropleth_page
    assert palette.MARKING in choropleth_page
    assert "Bron: CBS, Wijk- en buurtkaart 2024" in choropleth_page


def test_popup_has_reason_escaped_and_no_personal_data(choropleth_page):
    # HTML-escaped by bcba (popups use innerHTML), then JSON-escaped by folium
    escaped = "Veel KvK-inschrijvingen &amp; &lt;b&gt;ABC&lt;/b&gt;-transacties"
    assert escaped.replace("&", "\\u0026") in choropleth_page
    assert "<b>ABC" not in choropleth_page
    assert '"Waarom"' in choropleth_page
    assert "Jan Jansen" not in choropleth_page
    assert '"naam"' not in choropleth_page


@pytest.mark.parametrize(
    "column", ["naam", "geboortedatum", "koper_naam", "verkoper_naam", "persoon_id", "handelsnaam"]
)
def test_personal_popup_column_is_refused(buurten, column):
    frame = buurten.assign(**{column: "x"})
    with pytest.raises(PrivacyError, match=column):
        interactive.buurt_choropleth(
            frame, "score", titel="t", basemap=BASE, popup_columns=("buurtnaam", column)
        )


def test_area_name_columns_are_allowed():
    interactive.check_safe_columns(["buurtnaam", "wijknaam", "gemeentenaam", "reden"])


def test_unknown_remote_plugin_is_refused():
    m = offline_map(gemeente="GM0489")
    Fullscreen().add_to(m)
    # refused by the inlining itself (a script bcba does not ship), naming the script; the
    # final scan for remote references is a second, separate guard (next test)
    with pytest.raises(RemoteAssetError, match="(?s)niet zijn meegeleverd.*[Ff]ullscreen"):
        to_offline_html(m)


@pytest.mark.parametrize("scheme", ["https:", "http:", ""])  # "" = protocol-relative //
def test_any_remote_reference_left_in_the_page_is_refused(scheme):
    # not a script or stylesheet (those are inlined or refused above) but an image in the
    # page: only the final scan of the rendered page can catch it
    m = offline_map(gemeente="GM0489")
    m.get_root().html.add_child(folium.Element(f'<img src="{scheme}//tegels.example/1.png">'))
    with pytest.raises(RemoteAssetError, match="(?s)laadt nog iets van internet.*tegels.example"):
        to_offline_html(m)


def test_wrong_crs_is_an_error(buurten):
    with pytest.raises(CRSMismatchError):
        interactive.buurt_choropleth(buurten.to_crs(4326), "score", titel="t", basemap=BASE)
    with pytest.raises(CRSMismatchError):
        static.buurt_choropleth_figure(buurten.to_crs(4326), "score", titel="t", basemap=BASE)


def test_internal_tile_server_only_when_asked():
    plain = to_offline_html(offline_map(gemeente="GM0489"))
    assert "L.tileLayer" not in plain
    tiled = offline_map(gemeente="GM0489", tegel_url="https://kaart.intern.local/{z}/{x}/{y}.png")
    assert "kaart.intern.local" in to_offline_html(tiled)
    with pytest.raises(ConfigError, match="tegel_url"):
        offline_map(gemeente="GM0489", tegel_url="https://tile.openstreetmap.org/")


def test_risk_surface_draws_only_risk_above_one(cellen):
    m = interactive.risk_surface_map(cellen, titel="Risicoterrein", basemap=BASE)
    layer = next(g for g in _geojson_layers(m) if g.layer_name == "Risicoterrein")
    classes = [f["properties"]["_klasse"] for f in layer.data["features"]]
    assert classes == ["1 – 1,5× gemiddeld", "2 – 3× gemiddeld", "meer dan 5× gemiddeld"]
    page = to_offline_html(m)
    assert "Relatief risico" in page
    assert find_remote_resources(page) == []


def test_gistar_labels_exact():
    labels = palette.gistar_label(
        [3.0, 2.0, 1.7, 0.5, -2.0, -3.0, np.nan], [0.001, 0.03, 0.08, 0.5, 0.04, 0.005, 0.01]
    )
    assert list(labels) == [
        "Hot spot 99%",
        "Hot spot 95%",
        "Hot spot 90%",
        "Niet significant",
        "Cold spot 95%",
        "Cold spot 99%",
        None,
    ]


#: z, p and the class each of the twelve buurten must get (worked out by hand from the
#: two-sided 90/95/99 % rule: p <= 0.01, 0.05, 0.10; the sign of z says hot or cold).
HOTSPOT_CASES = [
    (3.1, 0.002, "Hot spot 99%"),
    (2.2, 0.010, "Hot spot 99%"),  # the bound belongs to the stricter class
    (2.0, 0.030, "Hot spot 95%"),
    (1.7, 0.050, "Hot spot 95%"),
    (1.5, 0.090, "Hot spot 90%"),
    (1.2, 0.100, "Hot spot 90%"),
    (0.9, 0.300, "Niet significant"),
    (-0.2, 0.900, "Niet significant"),
    (-1.6, 0.080, "Cold spot 90%"),
    (-2.1, 0.040, "Cold spot 95%"),
    (-2.9, 0.004, "Cold spot 99%"),
    (2.5, 0.110, "Niet significant"),
]


def test_hotspot_map_gives_each_feature_its_class_and_colour(buurten):
    z, p, expected = (list(col) for col in zip(*HOTSPOT_CASES, strict=True))
    frame = buurten.assign(gi_z=z, gi_p=p, reden=[f"buurt {i}" for i in range(len(z))])
    m = interactive.hotspot_map(frame, titel="Hot spots drugs", basemap=BASE, klasse_column=None)
    layer = next(g for g in _geojson_layers(m) if g.layer_name == "Hot spots drugs")
    features = layer.data["features"]
    assert [f["properties"]["reden"] for f in features] == [f"buurt {i}" for i in range(12)]
    assert [f["properties"]["_klasse"] for f in features] == expected
    assert [f["properties"]["_kleur"] for f in features] == [
        palette.GISTAR_CLASSES[c] for c in expected
    ]
    # the legend lists every class once, in order, with its colour
    legend = next(c for c in m._children.values() if isinstance(c, interactive.Legend))
    listed = re.findall(r"background:(#[0-9a-f]{6});[^>]*></span>([^<]+)</div>", legend.html)
    assert [(label, colour) for colour, label in listed] == list(palette.GISTAR_CLASSES.items())
    # the print twin colours each buurt the same way (alpha 0.9 over the fill)
    fig = static.hotspot_figure(frame, titel="t", basemap=BASE, klasse_column=None)
    data = next(c for c in fig.axes[0].collections if c.get_zorder() == 5)
    assert [matplotlib.colors.to_hex(c) for c in data.get_facecolors()] == [
        palette.GISTAR_CLASSES[c] for c in expected
    ]


def test_hotspot_map_without_any_signal_has_only_not_significant(buurten):
    frame = buurten.assign(gi_z=0.0, gi_p=0.9)
    m = interactive.hotspot_map(frame, titel="Hot spots", basemap=BASE, klasse_column=None)
    layer = next(g for g in _geojson_layers(m) if g.layer_name == "Hot spots")
    assert {f["properties"]["_klasse"] for f in layer.data["features"]} == {"Niet significant"}
    assert {f["properties"]["_kleur"] for f in layer.data["features"]} == {
        palette.GISTAR_CLASSES["Niet significant"]
    }


def test_risk_locations_are_clustered_and_coloured_by_flag(locaties):
    m = interactive.risk_locations_map(locaties, titel="Risicolocaties", basemap=BASE)
    page = to_offline_html(m)
    assert "markerClusterGroup" in page
    assert "leaflet.markercluster/leaflet.markercluster.js (bcba/assets)" in page
    assert find_remote_resources(page) == []
    assert "Snelle doorverkoop (ABC); Koopsom wijkt af van WOZ" in page
    assert "14 inschrijvingen op" in page  # (non-ASCII is JSON-escaped)
    assert "A. de Vries" not in page
    layer = next(g for g in _geojson_layers(m) if g.layer_name == "Risicolocaties")
    colours = [f["properties"]["_kleur"] for f in layer.data["features"]]
    assert colours == [
        palette.FLAGS["KVK_VEEL_INSCHRIJVINGEN"][1],
        palette.FLAGS["KAD_ABC"][1],
        palette.FLAGS["NET_STROMAN"][1],
    ]


def test_save_map_is_owner_only_and_marked(buurten, tmp_path):
    m = interactive.buurt_choropleth(buurten, "score", titel="t", basemap=BASE)
    path = interactive.save_map(m, tmp_path / "kaart.html")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text(encoding="utf-8")
    assert 'class="bcba-page-marking"' in text and palette.MARKING in text


def test_score_classes_quantile_exact():
    classes = palette.score_classes(np.arange(1, 11), k=5)
    assert classes.breaks == pytest.approx((2.8, 4.6, 6.4, 8.2, 10.0))
    assert list(classes.assign([1, 2.8, 2.9, 10, np.nan, 11])) == [
        classes.labels[0],
        classes.labels[0],
        classes.labels[1],
        classes.labels[4],
        None,
        None,
    ]
    assert classes.labels[0] == "1,0 – 2,8"
    with pytest.raises(ConfigError, match="method"):
        palette.score_classes([1, 2], method="jenks")


def test_format_number_nl():
    assert palette.format_number_nl(1234567.891, 2) == "1.234.567,89"
    assert palette.format_number_nl(-0.5, 1) == "-0,5"
    assert palette.format_number_nl(None) == "–"
    assert palette.format_number_nl(float("nan")) == "–"


def test_static_figure_has_scalebar_north_arrow_attribution_and_marking(buurten):
    fig = static.buurt_choropleth_figure(buurten, "score", titel="Drugs", basemap=BASE)
    for gid in (static.GID_SCALEBAR, static.GID_NORTH, static.GID_ATTRIBUTION, static.GID_MARKING):
        assert fig.findobj(lambda a, g=gid: a.get_gid() == g), gid
    texts = {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}
    assert "Bron: CBS, Wijk- en buurtkaart 2024" in texts
    assert palette.MARKING in texts
    assert "1 km" in texts  # the 12 buurten span a few km: a 1 km bar
    png = static.figure_to_png_bytes(fig, dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_palette_is_shared_by_static_and_interactive(buurten):
    fig = static.buurt_choropleth_figure(
        buurten, "score", titel="t", basemap=BASE, method="fixed", breaks=FIXED
    )
    legend = fig.legends[0]
    static_entries = [
        (t.get_text(), matplotlib.colors.to_hex(h.get_facecolor()))
        for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)
    ]
    m = interactive.buurt_choropleth(
        buurten, "score", titel="t", basemap=BASE, method="fixed", breaks=FIXED
    )
    legend_el = next(c for c in m._children.values() if isinstance(c, interactive.Legend))
    web_entries = re.findall(
        r"background:(#[0-9a-f]{6});[^>]*></span>([^<]+)</div>", legend_el.html
    )
    assert [(label, colour) for colour, label in web_entries] == static_entries
    assert [c for _l, c in static_entries] == list(palette.SCORE_COLOURS[5])


def test_find_remote_resources_finds_each_kind_of_reference_and_skips_links():
    filler = "x = 1; // a comment\n" * 2000  # many harmless "//" before and after
    references = [
        '<script src="https://cdn.example/leaflet.js"></script>',
        "<IMG SRC = 'http://tiles.example/1.png'>",
        "<link href=//fonts.example/css rel=stylesheet>",
        "<div style=\"background: url( 'https://img.example/a.png')\">",
        '<style>@import url("//cdn.example/x.css");</style>',
        '<svg><use xlink:href="https://icons.example/s.svg#a"/></svg>',
    ]
    page = filler + "".join(r + filler for r in references)
    page += '<a href="https://www.cbs.nl">CBS</a>'  # a link the reader may click: fine
    hits = find_remote_resources(page)
    assert len(hits) == len(references)
    for hit, planted in zip(hits, references, strict=True):
        assert planted[:20] in hit
    assert find_remote_resources(filler + '<a href="https://www.cbs.nl">CBS</a>') == []


def test_maps_without_any_feature_still_render(cellen, locaties):
    # no square above 1: the layer is empty and has no popup, but the page renders
    quiet = cellen.assign(relatief_risico=0.5)
    m = interactive.risk_surface_map(quiet, titel="Risico", basemap=BASE)
    layer = next(g for g in _geojson_layers(m) if g.layer_name == "Risico")
    assert layer.data["features"] == []
    assert not any(isinstance(c, folium.GeoJsonPopup) for c in layer._children.values())
    assert palette.MARKING in to_offline_html(m)
    none = locaties.iloc[:0]
    page = to_offline_html(interactive.risk_locations_map(none, titel="Locaties", basemap=BASE))
    assert palette.MARKING in page
    fig = static.risk_surface_figure(quiet, titel="Risico", basemap=BASE)
    assert static.figure_to_png_bytes(fig, dpi=20)[:4] == b"\x89PNG"

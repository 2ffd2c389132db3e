"""Maps and the report in a real headless Chromium with every network request blocked."""

from __future__ import annotations

import io

import matplotlib.image as mpimg
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from bcba import reference
from bcba.maps import interactive, static
from bcba.report import html as rhtml
from bcba.report.browser import open_offline
from bcba.report.render import render_html

pytestmark = pytest.mark.browser

META = {
    "gemeente": "GM0489",
    "gemeentenaam": "Barendrecht",
    "datum": "2025-03-03",
    "rapport_id": "R-BROWSER",
    "ontvanger": "Burgemeester",
}


@pytest.fixture(scope="module")
def buurten():
    frame = reference.buurten("GM0489").head(15)[["buurtnaam", "geometry"]]
    return frame.assign(score=np.arange(15.0), reden="veel signalen")


def _pixel_spread(png_path) -> tuple[float, int]:
    image = mpimg.imread(io.BytesIO(png_path.read_bytes()), format="png")[..., :3]
    colours = np.unique((image.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    return float(image.std()), len(colours)


def test_standalone_map_offline(buurten, tmp_path):
    m = interactive.buurt_choropleth(
        buurten, "score", titel="Drugs", basemap={"gemeente": "GM0489"}
    )
    path = interactive.save_map(m, tmp_path / "kaart.html")
    check = open_offline(path, screenshot=tmp_path / "kaart.png")
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    assert check.counts[".leaflet-pane"] > 0
    # 15 buurten + outline + wijk borders are drawn as SVG paths
    assert check.counts[".leaflet-overlay-pane path"] >= 15
    assert len(check.map_zooms) == 1 and check.map_zooms[0] >= 11
    spread, n_colours = _pixel_spread(check.screenshot)
    assert spread > 0.05 and n_colours > 20


def test_report_offline_with_map_in_iframe(buurten, tmp_path):
    base = {"gemeente": "GM0489"}
    m = interactive.buurt_choropleth(buurten, "score", titel="Drugs", basemap=base)
    fig = static.buurt_choropleth_figure(
        buurten, "score", titel="Drugs", basemap=base, figsize=(6, 4)
    )
    table = rhtml.tabel(buurten.drop(columns="geometry").head(3), kolommen={"buurtnaam": "Buurt"})
    cells = [
        new_markdown_cell("# Drugs\n\nTekst."),
        *(
            new_code_cell(
                "x",
                execution_count=i,
                outputs=[
                    new_output("display_data", data={"text/html": obj.data, "text/plain": ""})
                ],
            )
            for i, obj in enumerate((rhtml.kaart(m, statisch=fig), table), start=1)
        ),
    ]
    nbformat.write(new_notebook(cells=cells, metadata={"bcba": META}), tmp_path / "r.ipynb")
    page = render_html(tmp_path / "r.ipynb", tmp_path / "r.html")
    check = open_offline(
        page,
        screenshot=tmp_path / "r.png",
        full_page=True,
        selectors=(".leaflet-pane", ".leaflet-overlay-pane path", ".bcba-static-map", "h1"),
    )
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    assert check.counts[".leaflet-pane"] > 0
    assert check.counts[".leaflet-overlay-pane path"] >= 15
    assert check.counts["h1"] == 1
    assert len(check.map_zooms) == 1 and check.map_zooms[0] >= 11  # fitted to the municipality
    spread, n_colours = _pixel_spread(check.screenshot)
    assert spread > 0.05 and n_colours > 20
    # in print the static twin replaces the interactive map
    printed = open_offline(
        page,
        print_media=True,
        screenshot=tmp_path / "p.png",
        full_page=True,
        selectors=(".bcba-static-map:visible", "iframe:visible"),
    )
    assert printed.counts == {".bcba-static-map:visible": 1, "iframe:visible": 0}


def test_background_browser_prints_several_pages_and_reports_a_missing_chromium(
    tmp_path, monkeypatch
):
    from pypdf import PdfReader

    from bcba.report import browser as chromium

    page = tmp_path / "p.html"
    page.write_text("<html><body><h1>STRIKT VERTROUWELIJK</h1></body></html>", encoding="utf-8")
    with chromium.BackgroundBrowser() as shared:
        for name in ("een.pdf", "twee.pdf"):
            check = chromium.print_pdf(
                page,
                tmp_path / name,
                header_template="<span></span>",
                footer_template="<span></span>",
                settle_ms=0,
                browser=shared,
            )
            assert check.ok
            assert "STRIKT VERTROUWELIJK" in PdfReader(tmp_path / name).pages[0].extract_text()
    with pytest.raises(chromium.BcbaError, match="gesloten"):
        shared.run(lambda context: None)
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "geen-chromium")
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    with (
        chromium.BackgroundBrowser() as missing,
        pytest.raises(chromium.BrowserMissingError, match="apt-get install -y chromium"),
    ):
        missing.run(lambda context: None)


# --------------------------------------------------------------------------- maps in depth
import contextlib  # noqa: E402
import itertools  # noqa: E402

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from bcba.config import CRS  # noqa: E402
from bcba.maps import palette  # noqa: E402
from bcba.maps.basemap import basemap_for_gemeente  # noqa: E402
from bcba.maps.offline import map_iframe, to_offline_html  # noqa: E402
from bcba.report.browser import launch  # noqa: E402

FIXED = [2.0, 4.0, 6.0, 8.0, 10.0]

_MAPS_JS = """() => (typeof L === 'undefined') ? [] : Object.keys(window)
    .filter(k => k.startsWith('map_') && window[k] instanceof L.Map).map(k => window[k])"""

_FEATURES_JS = """() => {
    const out = [];
    Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)
        .forEach(k => window[k].eachLayer(l => {
            const p = l.feature && l.feature.properties;
            if (!p || !('_klasse' in p)) { return; }
            const el = l.getElement ? l.getElement() : l._path;
            out.push({klasse: p._klasse, reden: p.reden || null,
                      fill: el ? el.getAttribute('fill') : null});
        }));
    return out;
}"""


@contextlib.contextmanager
def _offline_page(path, *, width=1280, height=900):
    """A Chromium page with ``path`` open and every other request blocked and recorded."""
    url = path.resolve().as_uri()
    seen: list[str] = []
    with launch() as context:
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})

        def block(route):
            if route.request.url == url:
                route.continue_()
            else:
                seen.append(route.request.url)
                route.abort("blockedbyclient")

        context.route("**/*", block)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url, wait_until="load")
        page.wait_for_timeout(600)
        yield page, seen, errors


def test_requests_over_http_https_and_protocol_relative_urls_are_caught(tmp_path):
    page = tmp_path / "lek.html"
    page.write_text(
        "<html><head><link rel='stylesheet' href='https://cdn.example.invalid/s.css'>"
        "<script src='http://cdn.example.invalid/a.js'></script></head>"
        "<body><img src='https://tiles.example.invalid/1/2/3.png'>"
        # protocol-relative: from a file:// page the browser asks for file://<host>/...
        "<img src='//tiles.example.invalid/4/5/6.png'></body></html>",
        encoding="utf-8",
    )
    check = open_offline(page)
    assert not check.ok
    assert {u.split("://")[0] for u in check.requests} == {"http", "https", "file"}
    assert set(check.requests) == {
        "https://cdn.example.invalid/s.css",
        "http://cdn.example.invalid/a.js",
        "https://tiles.example.invalid/1/2/3.png",
        "file://tiles.example.invalid/4/5/6.png",
    }


def _report_maps(buurten):
    """Four maps of the report's kinds, each feature with a reason naming its class."""
    base = basemap_for_gemeente("GM0489")
    scores = np.array([1.0, 3.0, 5.0, 7.0, 9.0, 1.5, 3.5, 5.5, 7.5, 9.5, 0.5, 2.0, 4.0, 6.0, 8.0])
    expected_choropleth = [palette.SCORE_COLOURS[5][int(np.searchsorted(FIXED, s))] for s in scores]
    choropleth = interactive.buurt_choropleth(
        buurten.assign(score=scores, reden=[f"buurt-{i}" for i in range(15)]),
        "score",
        titel="Drugs",
        basemap=base,
        method="fixed",
        breaks=FIXED,
    )
    x0, y0 = 95000, 429000
    risk = np.array([1.2, 1.7, 2.5, 4.0, 7.0])
    cells = gpd.GeoDataFrame(
        {"relatief_risico": risk, "reden": [f"cel-{i}" for i in range(5)]},
        geometry=[shapely.box(x0 + 300 * i, y0, x0 + 300 * i + 100, y0 + 100) for i in range(5)],
        crs=CRS,
    )
    surface = interactive.risk_surface_map(cells, titel="Risico", basemap=base)
    klassen = ["Hot spot 99%", "Hot spot 90%", "Niet significant", "Cold spot 95%"]
    hot = gpd.GeoDataFrame(
        {"klasse": klassen, "reden": [f"hot-{i}" for i in range(4)]},
        geometry=[
            shapely.box(x0 + 300 * i, y0 + 600, x0 + 300 * i + 100, y0 + 700) for i in range(4)
        ],
        crs=CRS,
    )
    hotspots = interactive.hotspot_map(hot, titel="Hotspots", klasse_column="klasse", basemap=base)
    flags = ["KVK_VEEL_INSCHRIJVINGEN", "KAD_ABC", "NET_STROMAN"]
    points = gpd.GeoDataFrame(
        {"flag": flags, "reden": [f"adres-{i}" for i in range(3)]},
        geometry=shapely.points([94000, 96500, 98000], [428500, 430500, 429500]),
        crs=CRS,
    )
    locations = interactive.risk_locations_map(points, titel="Locaties", basemap=base)
    expected = {
        **{f"buurt-{i}": c for i, c in enumerate(expected_choropleth)},
        **{f"cel-{i}": palette.RISK_COLOURS[i] for i in range(5)},
        **{f"hot-{i}": palette.GISTAR_CLASSES[k] for i, k in enumerate(klassen)},
        **{f"adres-{i}": palette.FLAGS[f][1] for i, f in enumerate(flags)},
    }
    return [choropleth, surface, hotspots, locations], expected


def test_every_map_is_drawn_with_the_colour_of_each_features_class(buurten, tmp_path):
    maps, expected = _report_maps(buurten)
    body = "".join(map_iframe(to_offline_html(m), hoogte=420) for m in maps)
    path = tmp_path / "kaarten.html"
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", encoding="utf-8")
    with _offline_page(path) as (page, requests, errors):
        frames = [f for f in page.frames if f != page.main_frame]
        assert len(frames) == 4
        drawn = {}
        for frame, n in zip(frames, (15, 5, 4, 3), strict=True):
            # a lazily loaded frame loads once in view; a busy machine (CI with two
            # workers) may still be fitting the map and unclustering its markers
            frame.frame_element().scroll_into_view_if_needed()
            frame.wait_for_function(
                f"() => ({_FEATURES_JS})().filter(f => f.fill).length >= {n}", timeout=60_000
            )
            assert len(frame.evaluate(_MAPS_JS)) == 1
            assert (
                frame.locator(".leaflet-overlay-pane path, .leaflet-bcba-onder-pane path").count()
                > 0
            )
            features = frame.evaluate(_FEATURES_JS)
            assert features, "a map without its data layer"
            for feature in features:
                drawn[feature["reden"]] = feature["fill"]
        assert requests == [] and errors == []
    # every feature of every map is on the page, filled with its own class's colour
    assert drawn == expected


def _boxes(page, selectors) -> dict[str, list[dict]]:
    return {
        s: page.evaluate(
            "s => Array.from(document.querySelectorAll(s)).filter(e => e.offsetParent !== null"
            " || getComputedStyle(e).position === 'fixed').map(e => {"
            " const r = e.getBoundingClientRect();"
            " return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })",
            s,
        )
        for s in selectors
    }


def _intersects(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


MARKINGS = (".bcba-map-marking", ".bcba-page-marking")
CONTROLS = (
    ".leaflet-control-zoom",
    ".leaflet-control-layers",
    ".bcba-map-title",
    ".leaflet-control-scale",
    ".leaflet-control-attribution",
)


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (729, 520)])
def test_map_controls_never_cover_the_marking_or_the_legend(buurten, tmp_path, width, height):
    base = basemap_for_gemeente("GM0489")
    every_flag = list(palette.FLAGS)  # the tallest legend there is
    points = gpd.GeoDataFrame(
        {"flag": every_flag, "reden": "x"},
        geometry=shapely.points(np.linspace(93500, 98500, 16), np.full(16, 429500.0)),
        crs=CRS,
    )
    maps = {
        "score": interactive.buurt_choropleth(
            buurten.assign(reden="x"),
            "score",
            titel="Kwetsbare branches: samengestelde score per buurt",
            basemap=base,
        ),
        "locaties": interactive.risk_locations_map(points, titel="Risicolocaties", basemap=base),
    }
    for name, m in maps.items():
        path = interactive.save_map(m, tmp_path / f"{name}.html")
        with _offline_page(path, width=width, height=height) as (page, requests, errors):
            for state in ("dicht", "open"):
                if state == "open":  # the layer list unfolds on hover
                    page.hover(".leaflet-control-layers")
                    page.wait_for_timeout(200)
                    assert page.locator(".leaflet-control-layers-expanded").count() == 1
                boxes = _boxes(page, (*MARKINGS, ".bcba-legend", *CONTROLS))
                assert all(len(boxes[s]) == 1 for s in (*MARKINGS, ".bcba-legend")), boxes
                guarded = [*boxes[MARKINGS[0]], *boxes[MARKINGS[1]], *boxes[".bcba-legend"]]
                for control in CONTROLS:
                    assert boxes[control], control
                    for box in boxes[control]:
                        for other in guarded:
                            assert not _intersects(box, other), (name, state, control, box, other)
                legend = boxes[".bcba-legend"][0]
                for marking in (*boxes[MARKINGS[0]], *boxes[MARKINGS[1]]):
                    assert not _intersects(legend, marking)
            assert requests == [] and errors == []


def test_popup_shows_the_whole_reason_wrapped(buurten, tmp_path):
    reason = (
        "Veel KvK-inschrijvingen op één adres;aankoop zonder hypotheek door een jonge "
        "rechtspersoon en meldingen van de politie over hennepteelt in bedrijfspanden, "
        "terwijl de gemeente hier weinig vestigingen in risicobranches telt: "
        "Vastgoedtransactieregistratienummeroverzicht"  # one long word must wrap too
    )
    m = interactive.buurt_choropleth(
        buurten.assign(reden=reason), "score", titel="Drugs", basemap=basemap_for_gemeente("GM0489")
    )
    path = interactive.save_map(m, tmp_path / "popup.html")
    with _offline_page(path) as (page, _requests, errors):
        # click (as a reader would) in the middle of the first buurt
        x, y = page.evaluate(
            """() => { const m = Object.keys(window).filter(k => k.startsWith('map_'))
                .map(k => window[k]).find(v => v instanceof L.Map);
                let target = null;
                m.eachLayer(l => { if (!target && l.feature && l.feature.properties._klasse) {
                    target = l; } });
                const p = m.latLngToContainerPoint(target.getCenter());
                const r = m.getContainer().getBoundingClientRect();
                return [r.left + p.x, r.top + p.y]; }"""
        )
        page.mouse.click(x, y)
        page.wait_for_timeout(300)
        content = page.locator(".leaflet-popup-content")
        text = content.inner_text()
        assert "aankoop zonder hypotheek door een jonge rechtspersoon" in text
        assert f"Waarom\t{reason.replace(';', '; ')}\n" in text  # whole, not cut
        assert "adres; aankoop" in text  # a space after the list separator lets it wrap
        size = content.evaluate(
            "e => ({w: e.getBoundingClientRect().width, sw: e.scrollWidth, cw: e.clientWidth})"
        )
        assert size["w"] <= interactive.POPUP_MAX_WIDTH + 2
        assert size["sw"] <= size["cw"] + 1  # nothing runs out of the box: it wraps
        assert errors == []


_VISIBLE_LABELS_JS = """() => Array.from(document.querySelectorAll('.bcba-naam-anker'))
    .filter(e => e.style.display !== 'none').map(e => {
        const r = e.firstChild.getBoundingClientRect();
        return {text: e.firstChild.textContent, kind: e.firstChild.className,
                x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; })"""


def test_web_map_names_never_overlap_at_any_zoom(tmp_path):
    from bcba import areas
    from bcba.maps.basemap import build_basemap

    area = areas.load_area("GM0489")
    rng = np.random.default_rng(3)
    points = area.cellen.sample(400, random_state=3).geometry.centroid
    bag = gpd.GeoDataFrame(
        {"straat": rng.choice([f"Straat {i}" for i in range(60)], 400), "plaats": "B"},
        geometry=points.values,
        crs=CRS,
    )
    base = build_basemap(area, bag=bag)
    page_path = interactive.save_map(
        interactive.risk_surface_map(
            gpd.GeoDataFrame(
                {"relatief_risico": [2.0], "reden": ["x"]},
                geometry=[area.cellen.geometry.iloc[0]],
                crs=CRS,
            ),
            titel="Risico",
            basemap=base,
        ),
        tmp_path / "namen.html",
    )
    with _offline_page(page_path) as (page, requests, errors):
        seen_kinds = set()
        for zoom in (None, 14, 15, 16, 17):
            if zoom is not None:
                page.evaluate(
                    "z => { const m = Object.keys(window).filter(k => k.startsWith('map_'))"
                    ".map(k => window[k]).find(v => v instanceof L.Map);"
                    " m.setView([51.853, 4.535], z, {animate: false}); }",
                    zoom,
                )
                page.wait_for_timeout(300)
            labels = page.evaluate(_VISIBLE_LABELS_JS)
            assert labels, zoom
            seen_kinds |= {lab["kind"].split("-")[-1] for lab in labels}
            for a, b in itertools.combinations(labels, 2):
                assert not _intersects(a, b), (zoom, a["text"], b["text"])
        assert {"gemeente", "wijk", "buurt", "straat"} <= seen_kinds
        assert requests == [] and errors == []

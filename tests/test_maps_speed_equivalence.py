"""The fast map paths give the same output as the geopandas/folium code they replace."""

from __future__ import annotations

import io
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from bcba import reference
from bcba.config import CRS
from bcba.maps import interactive, static
from bcba.maps.offline import geojson_dict

SQUARE_WITH_HOLE = shapely.Polygon(
    [(0, 0), (100, 0), (100, 100), (0, 100)],
    holes=[[(30, 30), (70, 30), (70, 70), (30, 70)]],  # same winding as the shell
)
TWO_PARTS = shapely.MultiPolygon(
    [
        shapely.box(120, 0, 160, 40),
        shapely.box(120, 60, 160, 100).difference(shapely.box(130, 70, 150, 90)),
    ]
)


@pytest.fixture
def polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"kleur": ["#d7191c", "#2b83ba", "#fdae61", "#abdda4", "#ffffbf"]},
        geometry=[
            SQUARE_WITH_HOLE,
            None,
            TWO_PARTS,
            shapely.Polygon(),
            shapely.box(0, 110, 160, 130),
        ],
        crs=CRS,
    )


def _pixels(draw) -> tuple[np.ndarray, object]:
    """The RGBA pixels of a small figure and a function from data (x, y) to its pixel."""
    fig = Figure(figsize=(3, 2), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    draw(ax)
    ax.set_xlim(-10, 170)
    ax.set_ylim(-10, 140)
    ax.set_aspect("equal", adjustable="box")
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba()).copy()

    def at(x: float, y: float) -> tuple[int, ...]:
        col, row = ax.transData.transform((x, y))
        return tuple(pixels[pixels.shape[0] - 1 - int(row), int(col), :3].tolist())

    return pixels, at


def test_polygon_collection_draws_the_pixels_of_geopandas_plot(polygons):
    style = {"edgecolor": "#555555", "linewidth": 0.3, "alpha": 0.85, "zorder": 5}
    expected, _ = _pixels(lambda ax: polygons.plot(ax=ax, color=list(polygons["kleur"]), **style))
    fast, at = _pixels(
        lambda ax: static.draw_polygons(ax, polygons, facecolor=list(polygons["kleur"]), **style)
    )
    assert np.array_equal(fast, expected)
    assert at(50, 50) == (255, 255, 255)  # the hole stays open
    assert at(140, 80) == (255, 255, 255)  # and so does the one in the second part
    assert at(15, 50) != (255, 255, 255)  # the ring around it is filled
    assert at(140, 20) != (255, 255, 255)  # the first part of the multipolygon too


def test_polygon_paths_skip_missing_and_empty_and_keep_holes_and_parts(polygons):
    paths, kept = static.polygon_paths(polygons.geometry.values)
    assert kept.tolist() == [0, 2, 4]
    # rings per path: square + hole; two parts, the second with a hole; one box
    moveto = [int((p.codes == p.MOVETO).sum()) for p in paths]
    assert moveto == [2, 3, 1]
    assert all((p.codes == p.CLOSEPOLY).sum() == n for p, n in zip(paths, moveto, strict=True))
    assert paths[0].vertices.shape == (10, 2)
    assert static.polygon_paths(np.array([None, shapely.Polygon()], dtype=object))[0] == []


def test_geojson_dict_equals_geopandas_to_json():
    frame = gpd.GeoDataFrame(
        {
            "buurtnaam": ["Centrum", None, "Noord & <Zuid>", "Oost", "West", "Haven", "Dijk"],
            "score": [1.25, np.nan, 3.0, 4.5, 0.1, 2.0, 7.0],
            "aantal": [1, 2, 3, 4, 5, 6, 7],
        },
        geometry=[
            SQUARE_WITH_HOLE,
            TWO_PARTS,
            shapely.Point(4.47123, 51.92345),
            None,
            shapely.LineString([(0, 0), (1, 1.5)]),
            shapely.Polygon(),
            shapely.GeometryCollection([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)]),
        ],
        crs="EPSG:4326",
    )
    assert geojson_dict(frame) == json.loads(frame.to_json(drop_id=True))
    no_properties = frame[["geometry"]]
    assert geojson_dict(no_properties) == json.loads(no_properties.to_json(drop_id=True))


def test_geojson_dict_of_another_crs_is_geopandas_output():
    frame = gpd.GeoDataFrame({"a": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=CRS)
    out = geojson_dict(frame)
    assert out == json.loads(frame.to_json(drop_id=True))
    assert out["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::28992"


def test_png_is_lossless_with_fast_compression(polygons):
    fig = Figure(figsize=(3, 2))
    ax = fig.add_axes((0, 0, 1, 1))
    static.draw_polygons(ax, polygons, facecolor=list(polygons["kleur"]))
    ax.set_xlim(-10, 170)
    ax.set_ylim(-10, 140)
    default = io.BytesIO()
    fig.savefig(default, format="png", dpi=60, facecolor="white")
    fast = static.figure_to_png_bytes(fig, dpi=60)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(fast))), np.asarray(Image.open(default)))


def _same_ids(page: str) -> str:
    """Element ids are random per render: number them in order of appearance."""
    seen: dict[str, str] = {}
    return re.sub(r"[0-9a-f]{32}", lambda m: seen.setdefault(m.group(0), f"id{len(seen)}"), page)


def _choropleth() -> folium.Map:
    buurten = reference.buurten("GM0489").head(8)[["buurtcode", "buurtnaam", "geometry"]]
    buurten = buurten.assign(score=np.arange(8.0), reden="veel <b>meldingen</b> & 'aangiften'")
    return interactive.buurt_choropleth(
        buurten,
        "score",
        titel="Drugs",
        basemap={"gemeente": "GM0489"},
        method="fixed",
        breaks=[1.0, 2.0, 4.0, 6.0, 8.0],
    )


def test_fast_folium_page_equals_folium_rendering_geopandas_json(monkeypatch):
    """The page built from ragged arrays equals the page folium renders when given
    geopandas' own GeoJSON text (``to_json(drop_id=True)``) for every layer."""
    from bcba.maps import basemap, offline

    fast = _same_ids(offline.to_offline_html(_choropleth()))

    def reference_json(frame):  # what folium itself does with geopandas' GeoJSON text
        return json.loads(frame.to_json(drop_id=True))

    monkeypatch.setattr(interactive, "geojson_dict", reference_json)
    monkeypatch.setattr(offline, "geojson_dict", reference_json)
    basemap.basemap_for_gemeente.cache_clear()  # the basemap caches its web layers
    try:
        slow = _same_ids(offline.to_offline_html(_choropleth()))
    finally:
        basemap.basemap_for_gemeente.cache_clear()
    assert fast == slow
    # the comparison covers real content: the eight buurten, their popups and the basemap
    reason = "veel \\u0026lt;b\\u0026gt;meldingen\\u0026lt;/b\\u0026gt;"  # escaped twice
    assert fast.count(reason) == 8
    for layer in ("Buurgemeenten", "Water", "Wijkgrenzen", "Gemeentegrens", "Namen"):
        assert layer in fast, layer

"""The basemap: water where the rivers are, neighbours with names, borders that line up,
names placed without collisions, and the analyst's background checked."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from bcba import areas, reference
from bcba.config import CRS
from bcba.errors import InputValidationError
from bcba.maps import basemap as bm
from bcba.maps import interactive, static
from bcba.maps.offline import MapLabels, to_offline_html


def _rd(lon: float, lat: float) -> shapely.Point:
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs(CRS).iloc[0]


#: Places whose nature is known from the real map (WGS84 longitude, latitude).
NIEUWE_MAAS = {
    "onder de Erasmusbrug": (4.4866, 51.9093),
    "bij de Willemsbrug": (4.4955, 51.9160),
    "voor de Maashaven": (4.4690, 51.9040),
    "bij de Van Brienenoordbrug": (4.5370, 51.9050),
}
LAND = {
    "Rotterdam Centraal": (4.4690, 51.9250),
    "Stadhuis Rotterdam": (4.4797, 51.9225),
    "Ahoy": (4.4883, 51.8842),
    "station Barendrecht": (4.5379, 51.8563),
}


@pytest.fixture(scope="module")
def rotterdam() -> bm.Basemap:
    return bm.basemap_for_gemeente("GM0599")


@pytest.fixture(scope="module")
def barendrecht(demo_dir) -> bm.Basemap:
    raw = pd.read_csv(demo_dir / "bag_adressen.csv", sep=";", dtype={"straat": str})
    bag = gpd.GeoDataFrame(
        raw[["straat", "plaats"]], geometry=shapely.points(raw["x"], raw["y"]), crs=CRS
    )
    return bm.build_basemap(areas.load_area("GM0489"), bag=bag)


def test_nieuwe_maas_is_water_between_rotterdam_noord_and_zuid(rotterdam):
    water = shapely.union_all(rotterdam.water.geometry.values)
    for place, (lon, lat) in NIEUWE_MAAS.items():
        assert water.contains(_rd(lon, lat)), place
    for place, (lon, lat) in LAND.items():
        assert not water.contains(_rd(lon, lat)), place


def test_haringvliet_is_water_beside_voorne_aan_zee():
    voorne = bm.basemap_for_gemeente("GM1992")
    water = shapely.union_all(voorne.water.geometry.values)
    assert water.contains(_rd(4.14, 51.80))  # between Hellevoetsluis and Goeree
    assert not water.contains(_rd(4.1300, 51.8300))  # Hellevoetsluis itself


@pytest.mark.parametrize("gemeente", ["GM0599", "GM0489", "GM1992"])
def test_water_has_no_simplification_slivers(gemeente):
    water = bm.basemap_for_gemeente(gemeente).water
    parts = shapely.get_parts(water.geometry.values)
    assert len(parts) > 0
    # every piece is at least 100 m wide somewhere and 5 ha large: the simplified CBS
    # borders leave slivers of a few tens of metres between neighbours
    radius = shapely.length(shapely.maximum_inscribed_circle(parts, 1.0))
    assert radius.min() >= 50.0
    assert shapely.area(parts).min() >= 5e4 - 1


def test_neighbours_are_present_with_their_names(barendrecht, rotterdam):
    # the real neighbours of Barendrecht (its borders on the map)
    expected = {"Rotterdam", "Ridderkerk", "Zwijndrecht", "Albrandswaard", "Hoeksche Waard"}
    assert expected <= set(barendrecht.buren["gemeentenaam"])
    assert "Barendrecht" not in set(barendrecht.buren["gemeentenaam"])
    named = set(barendrecht.labels.loc[barendrecht.labels["soort"] == "gemeente", "tekst"])
    assert expected <= named
    # Vlaardingen is missing from the 2024 layer and comes from the 2017 one
    assert "Vlaardingen" in set(rotterdam.buren["gemeentenaam"])
    assert not rotterdam.buren.geometry.is_empty.any()


def test_borders_line_up(barendrecht):
    buurten = barendrecht.buurten.geometry.values
    assert shapely.coverage_is_valid(buurten)
    buurt_lines = shapely.union_all(shapely.boundary(buurten)).buffer(0.5)
    for layer in (barendrecht.wijken, barendrecht.outline):
        lines = shapely.union_all(shapely.boundary(layer.geometry.values))
        assert shapely.difference(lines, buurt_lines).length == pytest.approx(0.0, abs=1.0)
    # the outline is the union of the buurten, not the simplified municipality polygon
    outline = barendrecht.outline.geometry.iloc[0]
    assert outline.symmetric_difference(shapely.union_all(buurten)).area < 2e4


def test_align_gives_a_buurt_layer_the_cleaned_geometry(barendrecht):
    raw = reference.buurten("GM0489")[["buurtcode", "geometry"]].head(5)
    aligned = barendrecht.align(raw)
    lookup = barendrecht.buurten.set_index("buurtcode").geometry
    for code, geom in zip(aligned["buurtcode"], aligned.geometry, strict=True):
        assert geom.equals(lookup[code])
    unknown = raw.assign(buurtcode="BU99999999")
    assert barendrecht.align(unknown) is unknown


def test_street_labels_hand_worked():
    rows = [
        *[("Diagonaal", "A", 10.0 * i, 10.0 * i) for i in range(5)],  # 5 addresses at 45°
        *[("Dwarsweg", "A", x, 0.0) for x in (100.0, 110.0, 130.0)],  # 3, horizontal
        *[("Hoogstraat", "A", 200.0, y) for y in (0.0, 50.0, 60.0, 100.0)],  # 4, vertical
        ("Kort", "A", 300.0, 0.0),  # 2 addresses: too few to name
        ("Kort", "A", 310.0, 0.0),
        *[("Dwarsweg", "B", x, 500.0) for x in (0.0, 5.0, 9.0)],  # same name, other place
    ]
    frame = pd.DataFrame(rows, columns=["straat", "plaats", "x", "y"])
    bag = gpd.GeoDataFrame(frame, geometry=shapely.points(frame["x"], frame["y"]), crs=CRS)
    labels = bm.street_labels(bag)
    assert list(labels["tekst"]) == ["Diagonaal", "Hoogstraat", "Dwarsweg", "Dwarsweg"]
    first = labels.iloc[0]
    assert (first["x"], first["y"]) == (20.0, 20.0)  # the address nearest the median
    assert first["hoek"] == pytest.approx(45.0)
    assert first["ruimte_m"] == pytest.approx(40.0 * math.sqrt(2))
    vertical = labels.iloc[1]
    assert vertical["hoek"] == pytest.approx(90.0)  # reads bottom to top, not upside down
    assert (vertical["x"], vertical["y"]) == (200.0, 50.0)  # median 55: nearest is 50
    in_a = labels[(labels["tekst"] == "Dwarsweg") & (labels["y"] == 0.0)].iloc[0]
    assert (in_a["x"], in_a["hoek"], in_a["ruimte_m"]) == (110.0, 0.0, 30.0)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Wijk 01 Centrum", "Centrum"),
        ("Wijk09-Kinderdijk", "Kinderdijk"),
        ("wijk 12: Dalem", "Dalem"),
        ("Rotterdam Centrum", "Rotterdam Centrum"),
        ("Wijk 00", "Wijk 00"),
    ],
)
def test_clean_area_name(name, shown):
    assert bm.clean_area_name(name) == shown


def test_inland_water_lies_farthest_from_where_people_live():
    # a buurt of 1 km x 1 km with 20 ha water; people live in the outer columns
    area = gpd.GeoDataFrame(
        {"oppervlakte_water_in_ha": [20.0], "oppervlakte_totaal_in_ha": [100.0]},
        geometry=[shapely.box(0, 0, 1000, 1000)],
        crs=CRS,
    )
    xs = np.array([0.0] * 10 + [900.0] * 10)
    ys = np.tile(np.arange(0.0, 1000.0, 100.0), 2)
    inhabited = gpd.GeoDataFrame(geometry=shapely.box(xs, ys, xs + 100, ys + 100), crs=CRS)
    water = bm.estimate_inland_water(area, inhabited)
    # columns 4 and 5 (x 400-600) are four cells from the nearest inhabited one
    assert water.contains(shapely.Point(500, 500))
    assert water.contains(shapely.Point(420, 300)) and water.contains(shapely.Point(580, 700))
    for x in (150, 300, 700, 850):
        assert not water.contains(shapely.Point(x, 500)), x
    assert water.area == pytest.approx(20e4, rel=0.25)
    # without inhabited squares to anchor it, nothing is placed
    assert bm.estimate_inland_water(area, inhabited.iloc[:2]).is_empty
    # too little water (below the share) stays land
    dry = area.assign(oppervlakte_water_in_ha=5.0)
    assert bm.estimate_inland_water(dry, inhabited).is_empty


def _choropleth_figure(basemap: bm.Basemap):
    buurten = reference.buurten("GM0489")[["buurtcode", "buurtnaam", "geometry"]]
    scores = buurten.assign(score=np.arange(len(buurten), dtype=float))
    return static.buurt_choropleth_figure(scores, "score", titel="Drugs", basemap=basemap)


def test_static_labels_do_not_overlap(barendrecht):
    fig = _choropleth_figure(barendrecht)
    ax = fig.axes[0]
    texts = static.label_texts(ax, barendrecht)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    kinds = set(static.chosen_labels(ax, barendrecht)["soort"])
    assert {"gemeente", "wijk", "buurt"} <= kinds
    assert len(texts) >= 30
    frame = ax.get_window_extent(renderer)
    obstacles = [
        a.get_window_extent(renderer)
        for a in ax.get_children()
        if a.get_gid() in (static.GID_SCALEBAR, static.GID_NORTH)
    ]
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.overlaps(o) for o in obstacles)
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        assert not a.overlaps(b), (texts[i].get_text(), texts[j].get_text())
    # the names are in the map itself (as one image layer over the data)
    layer = next(a for a in ax.get_children() if a.get_gid() == static.GID_LABEL)
    assert isinstance(layer, static.LabelLayer) and len(layer.rows) == len(texts)
    assert (layer.pixels[..., 3] > 0).mean() > 0.005


def test_static_legend_never_covers_the_map(barendrecht):
    fig = _choropleth_figure(barendrecht)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.axes[0].get_window_extent(renderer)
    assert len(fig.legends) == 2  # the classes and the basemap's own legend
    for legend in fig.legends:
        assert not legend.get_window_extent(renderer).overlaps(frame)
    marking = next(t for t in fig.texts if t.get_gid() == static.GID_MARKING)
    assert not marking.get_window_extent(renderer).overlaps(frame)


def test_interactive_map_carries_names_per_zoom(barendrecht):
    buurten = reference.buurten("GM0489")[["buurtcode", "buurtnaam", "geometry"]]
    m = interactive.buurt_choropleth(
        buurten.assign(score=1.0, reden="x"), "score", titel="Drugs", basemap=barendrecht
    )
    names = next(c for c in m._children.values() if isinstance(c, MapLabels))
    page = to_offline_html(m)
    assert names.data_js in page
    labels = barendrecht.labels
    streets = labels[labels["soort"] == "straat"]
    assert len(streets) > 50 and (streets["min_zoom"] >= 15).all()
    assert (labels.loc[labels["soort"] == "buurt", "min_zoom"] >= 12).all()
    for name in ("Vrijenburg", "Carnisselande", "Ridderkerk"):
        assert name in set(labels["tekst"]) or name not in set(buurten["buurtnaam"])
    for layer in ("Buurgemeenten", "Water", "Wijkgrenzen", "Namen"):
        assert f'"{layer}"' in page or f"{layer}" in page


def _write_background(path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG")


def test_background_is_read_reprojected_and_drawn(tmp_path):
    area = areas.load_area("GM0489")
    x0, y0 = area.outline.total_bounds[:2] + 1500
    road = shapely.LineString([(x0, y0), (x0 + 800, y0 + 300)])
    pond = shapely.box(x0 + 100, y0 + 500, x0 + 400, y0 + 800)
    houses = shapely.box(x0 + 600, y0 + 600, x0 + 640, y0 + 630)
    path = tmp_path / bm.ACHTERGROND_FILE
    _write_background(
        path,
        {
            "wegen": gpd.GeoDataFrame(geometry=[road], crs=CRS).to_crs("EPSG:4326"),
            "water": gpd.GeoDataFrame(geometry=[pond], crs=CRS),
            "gebouwen": gpd.GeoDataFrame(geometry=[houses], crs=CRS),
            "bomen": gpd.GeoDataFrame(geometry=[shapely.Point(x0, y0)], crs=CRS),
        },
    )
    layers, notes = bm.read_achtergrond(path)
    assert set(layers) == {"wegen", "water", "gebouwen"}
    assert layers["wegen"].crs == CRS
    assert layers["wegen"].geometry.iloc[0].coords[0] == pytest.approx((x0, y0), abs=0.01)
    assert any("bomen" in n and "niet gebruikt" in n for n in notes)
    assert any("wegen" in n and "EPSG:4326" in n for n in notes)
    base = bm.build_basemap(area, achtergrond=path)
    assert list(base.water["bron"]) == ["achtergrond"]
    assert base.water.geometry.iloc[0].equals(pond)
    assert base.meldingen == notes
    fig = static.risk_surface_figure(
        gpd.GeoDataFrame({"relatief_risico": [2.0]}, geometry=[pond], crs=CRS),
        titel="Risico",
        basemap=base,
    )
    labels = {t.get_text() for t in fig.legends[1].get_texts()}
    assert {"Gebouwen", "Water"} <= labels
    page = to_offline_html(
        interactive.risk_surface_map(
            gpd.GeoDataFrame({"relatief_risico": [2.0], "reden": ["x"]}, geometry=[pond], crs=CRS),
            titel="Risico",
            basemap=base,
        )
    )
    assert '"Gebouwen"' in page or "Gebouwen" in page
    assert "Wegen" in page


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_background_problems_are_listed_in_dutch(tmp_path):
    path = tmp_path / bm.ACHTERGROND_FILE
    _write_background(
        path,
        {
            "gebouwen": gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs=CRS),
            "wegen": gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])]),
        },
    )
    with pytest.raises(InputValidationError) as caught:
        bm.read_achtergrond(path)
    text = str(caught.value)
    assert "2 problemen" in text
    assert "blad gebouwen" in text and "verkeerde soort (Point)" in text
    assert "blad wegen" in text and "coördinatenstelsel ontbreekt" in text
    only_unknown = tmp_path / "ander.gpkg"
    _write_background(
        only_unknown, {"bomen": gpd.GeoDataFrame(geometry=[shapely.Point(1, 1)], crs=CRS)}
    )
    with pytest.raises(InputValidationError, match="geen bruikbare laag.*bomen"):
        bm.read_achtergrond(only_unknown)
    broken = tmp_path / "kapot.gpkg"
    broken.write_bytes(b"geen geopackage")
    with pytest.raises(InputValidationError, match="kan niet worden gelezen"):
        bm.read_achtergrond(broken)
    assert bm.find_achtergrond(tmp_path) == path
    assert bm.find_achtergrond(tmp_path / "leeg") is None


def test_a_run_builds_its_basemap_once(barendrecht):
    area = areas.load_area("GM0489")
    first = bm.build_basemap(area)
    assert bm.build_basemap(area) is first  # the report asks once per map
    assert bm.build_basemap(areas.load_area("GM0489")) is not first  # another run

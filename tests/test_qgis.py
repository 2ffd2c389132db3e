"""QGIS styles in the GeoPackages match the report's palette; real QGIS reads them."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, box

from bcba import qgis
from bcba.config import CRS
from bcba.maps import palette


def _hex(rgba: str) -> str:
    r, g, b, _ = (int(v) for v in rgba.split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def _colours(qml: str) -> dict[str, str]:
    """symbol name -> fill colour (hex) of a QML document."""
    out = {}
    for sym in ET.fromstring(qml).iter("symbol"):
        props = {p.get("k"): p.get("v") for p in sym.iter("prop")}
        out[sym.get("name")] = _hex(props["color"])
    return out


@pytest.fixture
def gpkg(tmp_path) -> tuple[Path, dict]:
    rng = np.random.default_rng(5)
    squares = [box(i * 100, 0, i * 100 + 100, 100) for i in range(30)]
    scores = gpd.GeoDataFrame(
        {
            "buurtcode": [f"BU{i:08d}" for i in range(30)],
            "score_totaal": rng.normal(size=30),
            "score_drugs": rng.normal(size=30),
        },
        geometry=squares,
        crs=CRS,
    )
    hot = gpd.GeoDataFrame(
        {
            "cel_id": [f"E{i}" for i in range(30)],
            "klasse": rng.choice(list(palette.GISTAR_CLASSES), 30),
        },
        geometry=squares,
        crs=CRS,
    )
    risk = gpd.GeoDataFrame(
        {"cel_id": [f"E{i}" for i in range(30)], "relatief_risico": rng.uniform(0.5, 8, 30)},
        geometry=squares,
        crs=CRS,
    )
    flags = ["KAD_ABC;KVK_WOONADRES", "KVK_WOONADRES", "NET_STROMAN", "ONBEKEND_X"]
    points = gpd.GeoDataFrame(
        {"flag_ids": flags}, geometry=[Point(i, i) for i in range(4)], crs=CRS
    )
    layers = {
        "scores_buurt": scores,
        "cellen": hot,
        "risico_cellen": risk,
        "risicolocaties": points,
    }
    path = tmp_path / "uit.gpkg"
    for name, frame in layers.items():
        frame.to_file(path, layer=name, driver="GPKG", mode="a" if path.exists() else "w")
    return path, layers


def test_layer_styles_rows_as_qgis_reads_them(gpkg):
    path, layers = gpkg
    stored = qgis.style_geopackage(path, layers, labels={"drugs": "Drugs"})
    rows = qgis.read_styles(path)
    assert stored == len(rows) == 5
    expected = {
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    }
    assert expected <= set(rows.columns)
    assert set(rows["f_geometry_column"]) == {"geom"}
    defaults = rows[rows["useAsDefault"] == 1].groupby("f_table_name")["styleName"].agg(list)
    assert defaults.to_dict() == {
        "cellen": ["Hot spots (Gi*)"],
        "risico_cellen": ["Relatief risico"],
        "risicolocaties": ["Soort rode vlag"],
        "scores_buurt": ["Score totaal"],
    }
    # styling again replaces the styles instead of adding a second set
    qgis.style_geopackage(path, layers)
    assert len(qgis.read_styles(path)) == 5
    # the table is an attribute table of the GeoPackage, as QGIS creates it
    import sqlite3

    with sqlite3.connect(path) as con:
        kind = con.execute(
            "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
        ).fetchone()
    assert kind == ("attributes",)


def _qml(path, layer, name=None) -> str:
    rows = qgis.read_styles(path)
    rows = rows[rows["f_table_name"] == layer]
    if name:
        rows = rows[rows["styleName"] == name]
    return rows["styleQML"].iloc[0]


def test_hotspot_categories_are_the_gistar_classes(gpkg):
    path, layers = gpkg
    qgis.style_geopackage(path, layers)
    qml = _qml(path, "cellen")
    root = ET.fromstring(qml)
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "klasse"
    colours = _colours(qml)
    cats = [
        (c.get("value"), c.get("label"), colours[c.get("symbol")])
        for c in renderer.iter("category")
    ]
    assert cats[:-1] == [(k, k, v) for k, v in palette.GISTAR_CLASSES.items()]
    assert cats[-1][0] == "" and cats[-1][2] == palette.NO_DATA_COLOUR  # other values grey
    assert root.find("layerGeometryType").text == "2"


def test_risk_ranges_are_the_palette_risk_classes(gpkg):
    path, layers = gpkg
    qgis.style_geopackage(path, layers)
    qml = _qml(path, "risico_cellen")
    colours = _colours(qml)
    ranges = list(ET.fromstring(qml).iter("range"))
    assert [float(r.get("upper")) for r in ranges[:-1]] == [1.5, 2.0, 3.0, 5.0]
    assert float(ranges[-1].get("upper")) > 1e300  # "meer dan 5x": no upper bound
    assert 1.0 < float(ranges[0].get("lower")) < 1.0 + 1e-12  # risk 1 itself is not drawn
    assert [colours[r.get("symbol")] for r in ranges] == list(palette.RISK_COLOURS)
    assert [r.get("label") for r in ranges] == list(palette.risk_classes().labels)


def test_score_ranges_are_the_report_quantiles(gpkg):
    path, layers = gpkg
    qgis.style_geopackage(path, layers, labels={"drugs": "Drugs"})
    values = layers["scores_buurt"]["score_drugs"].to_numpy()
    qml = _qml(path, "scores_buurt", "Score drugs")
    ranges = list(ET.fromstring(qml).iter("range"))
    # quintiles by numpy, as the report's maps classify (palette.score_classes)
    assert [float(r.get("upper")) for r in ranges] == pytest.approx(
        np.quantile(values, [0.2, 0.4, 0.6, 0.8, 1.0])
    )
    assert float(ranges[0].get("lower")) == pytest.approx(values.min())
    assert [_colours(qml)[r.get("symbol")] for r in ranges] == list(palette.SCORE_COLOURS[5])


def test_flag_categories_use_the_first_flag_and_its_colour(gpkg):
    path, layers = gpkg
    qgis.style_geopackage(path, layers)
    qml = _qml(path, "risicolocaties")
    renderer = ET.fromstring(qml).find("renderer-v2")
    assert renderer.get("attr") == qgis.FIRST_FLAG
    colours = _colours(qml)
    cats = {
        c.get("value"): (c.get("label"), colours[c.get("symbol")])
        for c in renderer.iter("category")
    }
    assert cats["KAD_ABC"] == palette.FLAGS["KAD_ABC"]
    assert cats["KVK_WOONADRES"] == palette.FLAGS["KVK_WOONADRES"]
    assert cats["NET_STROMAN"] == palette.FLAGS["NET_STROMAN"]
    assert cats[""][1] == palette.OTHER_FLAG_COLOUR


_QGIS_CHECK = """
import sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False); app.initQgis()
for name in sys.argv[2:]:
    layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
    msg, ok = layer.loadDefaultStyle()
    r = layer.renderer()
    n = len(r.categories()) if r.type() == "categorizedSymbol" else len(r.ranges())
    print(name, layer.isValid(), ok, r.type(), r.classAttribute(), n)
"""


@pytest.mark.slow
def test_real_qgis_applies_the_default_styles(gpkg, tmp_path):
    python = shutil.which("python3", path="/usr/bin")
    if (
        python is None
        or subprocess.run([python, "-c", "import qgis.core"], capture_output=True).returncode
    ):
        pytest.skip("QGIS (python3-qgis) is niet geïnstalleerd")
    path, layers = gpkg
    qgis.style_geopackage(path, layers)
    script = tmp_path / "check.py"
    script.write_text(_QGIS_CHECK)
    out = subprocess.run(
        [python, str(script), str(path), *layers],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
        timeout=120,
    )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["cellen"] == "True True categorizedSymbol klasse 8"
    assert lines["risico_cellen"] == "True True graduatedSymbol relatief_risico 5"
    assert lines["scores_buurt"] == "True True graduatedSymbol score_totaal 5"
    assert lines["risicolocaties"].startswith("True True categorizedSymbol regexp_substr")

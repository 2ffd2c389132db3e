"""Offline geocoding: every fallback level on a tiny hand-made BAG, areas, speed."""

from __future__ import annotations

import dataclasses
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sources_fixtures import BAG_HEADER, BAG_ROWS, write_csv

from bcba import reference
from bcba.areas import load_area
from bcba.errors import CRSMismatchError
from bcba.sources import read_bag
from bcba.sources.geocode import _cell_ids, assign_areas, build_index, geocode


@pytest.fixture(scope="module")
def area():
    return load_area("GM0489")


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    path = write_csv(tmp_path_factory.mktemp("bag") / "bag.csv", BAG_HEADER, BAG_ROWS)
    return read_bag(path).frame


def _records():
    rows = [
        # postcode, huisnummer, huisletter, toevoeging, x, y, buurtcode
        ("2991AA", 1, "a", None, None, None, None),  # exact (letter)
        ("2991AA", 1, None, "A", None, None, None),  # exact (letter written as toevoeging)
        ("2991AA", 3, None, " 2 ", None, None, None),  # exact (toevoeging)
        ("2991AA", 1, "Z", None, None, None, None),  # postcode_huisnummer -> plain address 1
        ("2991AB", 99, None, None, None, None, None),  # postcode centroid
        ("2992ZZ", 1, None, None, None, None, None),  # pc4 from BAG points
        ("2993AA", 1, None, None, None, None, None),  # pc4 from shipped CBS polygon
        (None, None, None, None, 96900.0, 429550.0, None),  # xy
        (None, None, None, None, None, None, "BU04890103"),  # buurtcode
        ("9999ZZ", 1, None, None, None, None, None),  # nothing
        (None, None, None, None, 120000.0, 480000.0, None),  # xy outside the municipality
    ]
    frame = pd.DataFrame(
        rows, columns=["postcode", "huisnummer", "huisletter", "toevoeging", "x", "y", "buurtcode"]
    )
    frame = frame.astype(
        {
            "postcode": "str",
            "huisnummer": "Int64",
            "huisletter": "str",
            "toevoeging": "str",
            "x": "float64",
            "y": "float64",
            "buurtcode": "str",
        }
    )
    frame["dq_redenen"] = ""
    return frame


def test_every_level(bag, area):
    records = _records()
    before = records.copy()
    out = geocode(records, bag, area)
    pd.testing.assert_frame_equal(records, before)  # input not mutated
    assert out["geocode_niveau"].tolist() == [
        "exact",
        "exact",
        "exact",
        "postcode_huisnummer",
        "postcode",
        "pc4",
        "pc4",
        "xy",
        "buurtcode",
        "geen",
        "xy",
    ]
    assert out["adres_id"].tolist()[:4] == [
        "0489010000000002",
        "0489010000000002",
        "0489010000000003",
        "0489010000000001",
    ]
    assert out["adres_id"].iloc[4:].isna().all()
    assert out["adres_sleutel"].iloc[0] == "2991AA|1|A|"
    assert out["adres_sleutel"].iloc[2] == "2991AA|3||2"
    # postcode centroid = mean of the two BAG points of 2991AB
    assert (out.geometry.iloc[4].x, out.geometry.iloc[4].y) == (96900.0, 429550.0)
    assert (out.geometry.iloc[5].x, out.geometry.iloc[5].y) == (96750.0, 430678.0)
    shipped = reference.pc4().set_index("postcode").geometry.loc["2993"]
    assert shipped.contains(out.geometry.iloc[6])
    assert out.geometry.iloc[9] is None
    assert out["dq_redenen"].tolist()[9:] == ["niet_gegeocodeerd", "buiten_gemeente"]
    assert out["buurtcode"].tolist()[:2] == ["BU04890101", "BU04890101"]
    assert out["buurtcode"].iloc[8] == "BU04890103"
    assert out["wijkcode"].iloc[8] == "WK048901"
    assert out["cel_id"].iloc[7] == "E0969N4295"
    assert pd.isna(out["buurtcode"].iloc[10]) and pd.isna(out["cel_id"].iloc[9])
    assert out.crs == "EPSG:28992"


def test_border_point_goes_to_lowest_code(area):
    # every vertex that two or more buurten share lies on their common border; the documented
    # rule gives it the lowest buurtcode of all buurten it touches (brute force as oracle)
    buurten = area.buurten.reset_index(drop=True)
    owners: dict[tuple[float, float], set[str]] = {}
    for code, geom in zip(buurten["buurtcode"], buurten.geometry, strict=True):
        for xy in map(tuple, shapely.get_coordinates(geom)):
            owners.setdefault(xy, set()).add(code)
    shared = sorted(xy for xy, codes in owners.items() if len(codes) >= 2)
    assert len(shared) >= 20  # the shipped map has many; the test must not be vacuous
    points = shapely.points(np.array(shared))
    touching = [
        {c for c, g in zip(buurten["buurtcode"], buurten.geometry, strict=True) if g.intersects(pt)}
        for pt in points
    ]
    expected = [min(codes) for codes in touching]
    assert any(min(c) != max(c) for c in touching)  # really a choice between buurten
    pts = gpd.GeoDataFrame({"dq_redenen": [""] * len(points)}, geometry=points, crs="EPSG:28992")
    assert assign_areas(pts, area)["buurtcode"].tolist() == expected
    # the order of the buurten in the area does not matter
    reordered = dataclasses.replace(area, buurten=area.buurten.sample(frac=1, random_state=3))
    assert assign_areas(pts, reordered)["buurtcode"].tolist() == expected


def test_crs_mismatch_is_an_error(area):
    pts = gpd.GeoDataFrame(
        {"dq_redenen": [""]}, geometry=[shapely.Point(4.5, 51.8)], crs="EPSG:4326"
    )
    with pytest.raises(CRSMismatchError):
        assign_areas(pts, area)


def test_fast_at_scale(bag, area):
    rng = np.random.default_rng(1)
    n = 500_000
    idx = rng.integers(0, len(bag), n)
    frame = pd.DataFrame(
        {
            "postcode": bag["postcode"].to_numpy()[idx],
            "huisnummer": bag["huisnummer"].to_numpy()[idx],
            "huisletter": bag["huisletter"].to_numpy()[idx],
            "toevoeging": bag["toevoeging"].to_numpy()[idx],
            "dq_redenen": "",
        }
    ).astype({"postcode": "str", "huisnummer": "Int64", "huisletter": "str", "toevoeging": "str"})
    index = build_index(bag)
    start = time.perf_counter()
    out = geocode(frame, bag, area, index=index)
    elapsed = time.perf_counter() - start
    assert (out["geocode_niveau"] == "exact").all()
    assert elapsed < 20, elapsed  # a few seconds on a normal machine; generous for shared CI cores


@pytest.mark.parametrize("cell_size", [100, 250])
def test_cell_ids_match_reference_cell_id(cell_size):
    # one id per distinct cell, spread back over the points: same as formatting each point
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(90_000, 95_000, 500), [92_000.0, 92_000.0, 91_999.999, 250.0]]
    y = np.r_[rng.uniform(430_000, 436_000, 500), [433_000.0, 433_099.9, 433_000.0, 99.9]]
    expected = reference.cell_id(x, y, cell_size)
    assert _cell_ids(x, y, cell_size).tolist() == expected.tolist()

"""The shipped reference geography and municipality resolution."""

import numpy as np
import pytest
import shapely

from bcba import reference
from bcba.errors import CRSMismatchError, UnknownMunicipalityError


@pytest.mark.parametrize(
    "query", ["GM0489", "0489", "489", "barendrecht", "BARENDRECHT", " Barendrecht "]
)
def test_resolve_barendrecht(query):
    gem = reference.resolve_gemeente(query)
    assert (gem.code, gem.naam) == ("GM0489", "Barendrecht")


def test_resolve_is_accent_and_punctuation_insensitive():
    assert reference.resolve_gemeente("capelle aan den ijssel").code == "GM0502"
    assert reference.resolve_gemeente("Capelle-aan-den-IJssel").code == "GM0502"
    assert reference.resolve_gemeente("Hendrik Ido Ambacht").code == "GM0531"


def test_unknown_municipality_lists_close_matches_in_dutch():
    with pytest.raises(UnknownMunicipalityError) as info:
        reference.resolve_gemeente("Barendrect")
    message = str(info.value)
    assert "Onbekende gemeente" in message
    assert "Barendrecht (GM0489)" in message


def test_unknown_code():
    with pytest.raises(UnknownMunicipalityError, match="GM9999"):
        reference.resolve_gemeente("GM9999")


def test_layers_are_rd_new_and_belong_to_the_municipality():
    for layer in (reference.gemeente_grens, reference.wijken, reference.buurten):
        frame = layer("GM0489")
        assert frame.crs == "EPSG:28992"
        assert set(frame["gemeentecode"]) == {"GM0489"}
    buurten = reference.buurten("GM0489")
    assert buurten["buurtcode"].str.startswith("BU0489").all()
    # CBS rounding: buurt inhabitants add up to the municipal total within a small margin
    total = reference.gemeente_grens("GM0489")["aantal_inwoners"].iloc[0]
    assert abs(buurten["aantal_inwoners"].sum() - total) / total < 0.01


def test_municipality_without_buurten_gives_dutch_hint():
    with pytest.raises(UnknownMunicipalityError, match="gebieden.gpkg"):
        reference.buurten("Dordrecht")


def test_cell_id_matches_cbs_square_ids():
    cells = reference.vierkanten("GM0489")
    centre = shapely.centroid(cells.geometry.values)
    ids = reference.cell_id(shapely.get_x(centre), shapely.get_y(centre))
    assert (ids == cells["crs28992res100m"].to_numpy()).all()
    assert reference.cell_id(np.array([97400.0]), np.array([451499.9]))[0] == "E0974N4514"


def test_grid_covers_outline_and_contains_all_inhabited_squares():
    outline = reference.gemeente_grens("GM0489")
    grid = reference.grid(outline)
    assert grid["cel_id"].is_unique
    assert set(reference.vierkanten("GM0489")["crs28992res100m"]) <= set(grid["cel_id"])
    area = outline.geometry.area.iloc[0]
    assert grid["oppervlakte_in_gebied"].sum() == pytest.approx(area, rel=1e-6)
    # each cell's share is its intersection with the outline (full squares inside)
    cut = shapely.area(shapely.intersection(grid.geometry.values, outline.geometry.iloc[0]))
    np.testing.assert_allclose(grid["oppervlakte_in_gebied"], cut, rtol=1e-9, atol=1e-6)
    assert (grid["oppervlakte_in_gebied"] == 10_000.0).sum() > len(grid) / 2


def test_grid_refuses_other_crs():
    with pytest.raises(CRSMismatchError):
        reference.grid(reference.gemeente_grens("GM0489").to_crs(4326))


def test_sbi_codes_keep_leading_zeros():
    sbi = reference.sbi2008()
    assert "0113" in set(sbi["sbi_code"])
    assert sbi.loc[sbi["sbi_code"] == "5630", "omschrijving"].iloc[0] == "Cafés"

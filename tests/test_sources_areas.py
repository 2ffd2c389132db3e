"""StudyArea: shipped geography, the wijken-as-buurten fallback and the gebieden.gpkg override."""

from __future__ import annotations

import logging

import pytest

from bcba import reference
from bcba.areas import BRON_GEBIEDEN, load_area
from bcba.errors import InputValidationError


def test_shipped_barendrecht():
    area = load_area("barendrecht")
    assert area.gemeente.code == "GM0489"
    assert not area.buurten_zijn_wijken
    assert len(area.buurten) == len(reference.buurten("GM0489"))
    assert area.cellen["cel_id"].is_unique
    # every inhabited CBS square of the municipality is in the full grid with its attributes
    inhabited = set(reference.vierkanten("GM0489")["crs28992res100m"])
    joined = set(area.cellen.loc[area.cellen["aantal_inwoners"].notna(), "cel_id"])
    assert joined == inhabited & set(area.cellen["cel_id"])
    assert len(joined) >= 0.95 * len(inhabited)
    assert area.cellen.crs == "EPSG:28992"


def test_wijken_as_buurten_fallback(caplog):
    with caplog.at_level(logging.WARNING):
        area = load_area("GM0505")  # Dordrecht: no buurten shipped
    assert area.buurten_zijn_wijken
    assert (area.buurten["buurtcode"] == area.buurten["wijkcode"]).all()
    assert "wijken worden als buurten gebruikt" in caplog.text


def test_gebieden_gpkg_takes_precedence(tmp_path):
    gpkg = tmp_path / "gebieden.gpkg"
    wijken = reference.wijken("GM0489")
    buurten = reference.buurten("GM0489").iloc[:5]
    reference.gemeente_grens("GM0489").to_crs("EPSG:4326").to_file(gpkg, layer="gemeenten")
    wijken.to_file(gpkg, layer="wijken")
    buurten.to_file(gpkg, layer="buurten")
    area = load_area("GM0489", data_dir=tmp_path)
    assert area.bron == BRON_GEBIEDEN
    assert len(area.buurten) == 5
    assert area.outline.crs == "EPSG:28992"


def test_gebieden_gpkg_without_cbs_columns(tmp_path):
    gpkg = tmp_path / "gebieden.gpkg"
    reference.wijken("GM0489").rename(columns={"wijkcode": "code"}).to_file(gpkg, layer="wijken")
    with pytest.raises(InputValidationError, match="verplichte kolom ontbreekt"):
        load_area("GM0489", data_dir=tmp_path)

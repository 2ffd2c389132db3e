"""load_inputs / write_processed on a small input folder, and on the generated demo data."""

from __future__ import annotations

import hashlib
import json
import stat

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from sources_fixtures import KEY, KVK_HEADER, KVK_ROWS, PERIODE, make_raw_dir, write_csv

from bcba.errors import InputValidationError
from bcba.sources import load_inputs, validate, write_processed


def _hashes(folder):
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def raw(tmp_path):
    return make_raw_dir(tmp_path / "raw")


def test_load_inputs_full(raw):
    before = _hashes(raw)
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert _hashes(raw) == before
    assert inputs.gemeente.code == "GM0489"
    assert inputs.bronnen["aanwezig"].all()
    assert inputs.kvk_vestigingen["geocode_niveau"].tolist() == [
        "exact",
        "exact",
        "postcode",
        "exact",
    ]
    assert inputs.kadaster["dq_redenen"].tolist() == ["", "", "buiten_periode"]
    assert inputs.kvk_functionarissen["dq_redenen"].tolist() == ["", "", ""]
    assert inputs.enquete.signalen["tekst_gemaskeerd"].iloc[0] == "Drugshandel bij [persoon] thuis"
    assert inputs.partners["geocode_niveau"].tolist() == ["xy", "exact", "buurtcode"]
    assert "Jan de Vries" in inputs._names and "Jan de Vries" not in repr(inputs)
    kw = inputs.kwaliteit.set_index(["bron", "controle"])["aantal"]
    assert kw[("kvk_vestigingen", "SBI-code onbekend")] == 1
    assert kw[("kadaster", "buiten periode")] == 1
    assert kw[("enquete", "niet gegeocodeerd")] == 1
    geo = inputs.geocodering.set_index(["bron", "geocode_niveau"])["aandeel"]
    assert geo[("kvk_vestigingen", "exact")] == 0.75
    assert set(inputs.manifest["bestand"]) == {
        "bag_adressen.csv",
        "kvk_vestigingen.csv",
        "kvk_functionarissen.csv",
        "kadaster_transacties.csv",
        "enquete.csv",
        "enquete_mapping.yaml",
        "partners/politie.csv",
    }
    # rows in = rows out (+ rows reported) for every tabular source
    for bron, table in (
        ("kvk_vestigingen", inputs.kvk_vestigingen),
        ("kadaster", inputs.kadaster),
        ("partners", inputs.partners),
        ("bag", inputs.bag),
    ):
        assert kw[(bron, "rijen gelezen")] == len(table)


def test_only_bag_is_required(tmp_path):
    raw = make_raw_dir(tmp_path / "raw", with_optional=False)
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert inputs.kvk_vestigingen is None and inputs.enquete is None and inputs.partners is None
    assert inputs.bronnen.set_index("bron")["aanwezig"].to_dict() == {
        "bag": True,
        "kvk_vestigingen": False,
        "kvk_functionarissen": False,
        "kadaster": False,
        "enquete": False,
        "partners": False,
    }
    (raw / "bag_adressen.csv").unlink()
    with pytest.raises(InputValidationError, match="verplicht bestand ontbreekt"):
        load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)


def test_all_invalid_files_in_one_error(raw, tmp_path):
    write_csv(raw / "kvk_vestigingen.csv", KVK_HEADER, [KVK_ROWS[0].replace("01-02-2020", "nooit")])
    (raw / "kadaster_transacties.csv").write_text("transactie_id;datum\n", encoding="utf-8")
    before = _hashes(tmp_path)
    with pytest.raises(InputValidationError) as info:
        load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    files = {p.file for p in info.value.problems}
    assert files == {"kvk_vestigingen.csv", "kadaster_transacties.csv"}
    # nothing written or changed anywhere under the test folder (inputs included)
    assert _hashes(tmp_path) == before


def test_write_processed(raw, tmp_path):
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    out = tmp_path / "processed"
    written = write_processed(inputs, out)
    gpkg = written["gpkg"]
    assert gpkg.name == "bcba_GM0489.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert {
        "bag",
        "kvk_vestigingen",
        "kvk_functionarissen",
        "kadaster",
        "partners",
        "enquete_signalen",
    } <= set(layers)
    assert layers["kvk_vestigingen"] == "Point"
    back = pd.read_parquet(written["categorieen"])
    assert {"partner", "categorie", "thema", "gekoppeld", "aantal"} <= set(back.columns)
    back = gpd.read_parquet(written["kadaster"])
    assert back.crs == "EPSG:28992" and len(back) == 3
    for path in written.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = json.loads(written["manifest"].read_text())
    assert {m["bestand"] for m in manifest["invoer"]} >= {
        "bag_adressen.csv",
        "kadaster_transacties.csv",
    }
    everything = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    for name in ("Jan de Vries", "Piet Jansen", "Klaas Smit", "Bakker", "1980-01-31"):
        assert name.encode() not in everything, name


def test_validate_returns_dutch_table(raw):
    table = validate("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert list(table.columns) == ["Bron", "Bestand", "Controle", "Aantal", "Toelichting"]
    assert (table["Aantal"] > 0).all()


@pytest.mark.slow
def test_demo_end_to_end(demo_dir):
    before = _hashes(demo_dir)
    inputs = load_inputs("GM0489", data_dir=demo_dir, periode=PERIODE, key=KEY)
    assert _hashes(demo_dir) == before
    geo = inputs.geocodering.set_index(["bron", "geocode_niveau"])["aandeel"]
    assert geo[("kvk_vestigingen", "exact")] >= 0.99
    assert geo[("kadaster", "exact")] >= 0.99
    planted = json.loads((demo_dir / "planted.json").read_text())
    kw = inputs.kwaliteit.set_index(["bron", "controle"])["aantal"]
    assert kw[("kvk_vestigingen", "rijen gelezen")] == len(inputs.kvk_vestigingen)
    texts = pd.concat(
        [inputs.enquete.signalen["tekst_gemaskeerd"]] if inputs.enquete is not None else []
    )
    for person in planted.get("personen", []):
        assert not texts.str.contains(person["naam"], regex=False).any()

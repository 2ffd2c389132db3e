"""B-CBAs at the scale the RIEC works (issue 18): clusters, part of a city, a knooppunt.

Small generated municipalities run through the engine (no report notebook: the report of a
scoped run is covered by the CLI runs in the closing note and tests/test_report_e2e.py).
The oracles are independent of bcba.scope: the CBS wijk and buurt codes are read straight
from the vendored wijk- en buurtkaart, the branches straight from the generated KvK file.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from tests.conftest import PERIODE

pytestmark = pytest.mark.slow

WBK = "wijkbuurtkaart_2024_riec_rotterdam.gpkg"
SCALE = 0.15


def _cbs(layer: str) -> pd.DataFrame:
    from bcba.reference import REFERENCE_DIR

    return gpd.read_file(REFERENCE_DIR / "cbs" / WBK, layer=layer)


def _run(tmp_path, folders, gemeente, **scope):
    from bcba.engine import analyse
    from bcba.runs import make_run_config

    cfg = make_run_config(
        gemeente=gemeente,
        data_dir=folders,
        output_dir=tmp_path / "run",
        periode=PERIODE,
        **scope,
    )
    return analyse(cfg, second_process=False)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    from bcba import synthetic

    root = tmp_path_factory.mktemp("scope")

    def make(code: str, seed: int = 1):
        out = root / code
        if not (out / "planted.json").exists():
            synthetic.generate(code, out, seed=seed, periode=PERIODE, scale=SCALE)
        return out

    return make


def test_cluster_zwijndrecht_hia_covers_both_at_wijk_level(raw, tmp_path):
    """Zwijndrecht and Hendrik-Ido-Ambacht ship without CBS buurten: the cluster runs per
    wijk, over the wijken of both, with one score scale."""
    r = _run(tmp_path, [raw("GM0642"), raw("GM0531")], ["Zwijndrecht", "Hendrik-Ido-Ambacht"])
    wijken = _cbs("wijken")
    expected = set(wijken.loc[wijken["gemeentecode"].isin(["GM0642", "GM0531"]), "wijkcode"])
    scores = r.indicators.scores_buurt
    assert set(scores["buurtcode"]) == expected  # a unit per wijk, of both municipalities
    assert r.gemeente.is_cluster and r.gemeente.naam.count("en") >= 1
    assert {"Zwijndrecht", "Hendrik-Ido-Ambacht"} <= set(
        r.gemeente.naam.replace(" en ", ",").split(",")
    )
    # one scale: the ranks run over the whole cluster
    ranked = scores["rang_totaal"].dropna()
    assert sorted(ranked.astype(int)) == list(range(1, len(ranked) + 1))
    # every signal lies in one of the two municipalities
    codes = r.indicators.signalen["buurtcode"].dropna().astype(str)
    assert len(codes) and codes.isin(expected).all()


def test_cluster_voorne_aan_zee_and_neighbour_at_buurt_level(raw, tmp_path):
    r = _run(tmp_path, [raw("GM1992"), raw("GM1930", seed=2)], ["Voorne aan Zee", "Nissewaard"])
    buurten = _cbs("buurten")
    expected = set(buurten.loc[buurten["gemeentecode"].isin(["GM1992", "GM1930"]), "buurtcode"])
    assert set(r.indicators.scores_buurt["buurtcode"]) == expected
    # both members contribute risk locations
    locs = r.indicators.risicolocaties["buurtcode"].dropna().astype(str).str[2:6]
    assert {"1992", "1930"} <= set(locs)


def test_gebied_delfshaven_scores_only_its_buurten(raw, tmp_path):
    r = _run(tmp_path, [raw("GM0599")], "Rotterdam", gebied=["Delfshaven"])
    buurten = _cbs("buurten")
    wijken = _cbs("wijken")
    delfshaven = wijken.loc[wijken["wijknaam"] == "Delfshaven", "wijkcode"].item()
    expected = set(
        buurten.loc[buurten["buurtcode"].str.startswith("BU" + delfshaven[2:]), "buurtcode"]
    )
    assert set(r.indicators.scores_buurt["buurtcode"]) == expected
    for name in ("risicolocaties", "signalen"):
        codes = getattr(r.indicators, name)["buurtcode"].dropna().astype(str)
        assert codes.isin(expected).all(), name
    # the written table too, and the profile compares the area with the rest
    from bcba.io import read_csv

    written = read_csv(r.cfg.output_dir / "scores_buurt.csv", dtype={"buurtcode": str})
    assert set(written["buurtcode"]) == expected
    assert r.profiel is not None and len(r.profiel) > 0
    assert {"gebied", "referentie"} <= set(r.profiel.columns)


def test_gebied_by_code_and_unknown_name(raw, tmp_path):
    from bcba.errors import ConfigError

    with pytest.raises(ConfigError, match="Onbekend gebied: 'Atlantis'.*Delfshaven"):
        _run(tmp_path, [raw("GM0599")], "Rotterdam", gebied=["Atlantis"])


def test_drawn_polygon_keeps_points_inside_it(raw, tmp_path):
    """A drawn area (a port, a business park) need not follow buurt borders: risk
    locations are kept by where they lie."""
    folder = raw("GM0489")
    bag = pd.read_csv(folder / "bag_adressen.csv", sep=";", dtype=str)
    x, y = bag["x"].astype(float), bag["y"].astype(float)
    area = box(x.quantile(0.2), y.quantile(0.2), x.quantile(0.7), y.quantile(0.7))
    path = tmp_path / "terrein.gpkg"
    gpd.GeoDataFrame({"naam": ["terrein"]}, geometry=[area], crs="EPSG:28992").to_file(path)
    r = _run(tmp_path, [folder], "Barendrecht", gebied_bestand=path, gebied_naam="Testterrein")
    locs = r.indicators.risicolocaties
    assert len(locs) > 0
    assert locs.geometry.within(area.buffer(0.01)).all()
    assert r.focus.gebied_naam == "Testterrein"


def test_knooppunt_one_branch_across_two_municipalities(raw, tmp_path):
    """All car washes (SBI 45205) and cafés, shisha lounges among them (5630), of Barendrecht
    and Ridderkerk: every flag belongs to an establishment of those branches."""
    folders = [raw("GM0489"), raw("GM0597", seed=2)]
    kvk = pd.concat(
        pd.read_csv(f / "kvk_vestigingen.csv", sep=";", dtype=str, keep_default_na=False)
        for f in folders
    )
    sbi = ("45205", "5630")
    branch = kvk[kvk["sbi_code"].str.startswith(sbi)]
    assert branch["plaats"].nunique() == 2  # the branch in both municipalities
    r = _run(
        tmp_path,
        folders,
        ["Barendrecht", "Ridderkerk"],
        knooppunt_sbi=list(sbi),
        knooppunt_naam="Autowasserijen en cafés",
    )
    flags = r.indicators.flags
    assert len(flags) > 0
    allowed_kvk = set(branch["kvk_nummer"])
    allowed_addr = set(r.focus.adres_ids)
    in_branch = flags.get("kvk_nummer", pd.Series(index=flags.index, dtype=str)).astype(
        "string"
    ).isin(allowed_kvk).fillna(False) | flags["adres_id"].astype("string").isin(
        allowed_addr
    ).fillna(False)
    assert in_branch.all()
    assert r.focus.kvk_nummers == frozenset(allowed_kvk)
    assert r.focus.branche_naam == "Autowasserijen en cafés"

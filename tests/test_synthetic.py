"""Tests of the seeded synthetic data generator (bcba.synthetic)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from bcba import reference
from bcba.errors import ConfigError, UnknownMunicipalityError
from bcba.synthetic import COLUMNS, generate

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
log = logging.getLogger(__name__)


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, sep=";", dtype=str, keep_default_na=False)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.replace("", None), format="%d-%m-%Y")


def _key(frame: pd.DataFrame) -> pd.Series:
    return (
        frame["postcode"]
        + "|"
        + frame["huisnummer"].astype(str)
        + "|"
        + frame["huisletter"]
        + "|"
        + frame["toevoeging"]
    )


@pytest.fixture(scope="module")
def barendrecht(tmp_path_factory) -> tuple[Path, dict, float]:
    out = tmp_path_factory.mktemp("GM0489")
    reference.buurten("GM0489")  # warm the shipped-geography cache: time the generator only
    # CPU time of this process: wall time varies with other jobs on the shared machine
    t0 = time.process_time()
    manifest = generate("GM0489", out, seed=7, periode=PERIODE)
    seconds = time.process_time() - t0
    log.warning("generate(Barendrecht) took %.2f s", seconds)
    return out, manifest, seconds


@pytest.fixture(scope="module")
def tables(barendrecht) -> dict[str, pd.DataFrame]:
    out, _, _ = barendrecht
    return {
        "bag": _read(out, "bag_adressen.csv"),
        "kvk": _read(out, "kvk_vestigingen.csv"),
        "fun": _read(out, "kvk_functionarissen.csv"),
        "kad": _read(out, "kadaster_transacties.csv"),
        "pol": _read(out, "partners/politie.csv"),
    }


def test_barendrecht_is_fast(barendrecht):
    assert barendrecht[2] < 5.0


def test_files_have_exact_contract_columns(barendrecht):
    out, manifest, _ = barendrecht
    for name in ("bag_adressen", "kvk_vestigingen", "kvk_functionarissen", "kadaster_transacties"):
        assert list(_read(out, f"{name}.csv").columns) == COLUMNS[name]
    for path in sorted((out / "partners").glob("*.csv")):
        assert list(_read(out, f"partners/{path.name}").columns) == COLUMNS["partners"]
    assert sorted(manifest["bestanden"]) == sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "planted.json"
    )
    raw = (out / "kvk_vestigingen.csv").read_bytes()
    assert b"\r\n" in raw
    raw.decode("utf-8")
    assert json.loads((out / "planted.json").read_text(encoding="utf-8")) == manifest


def test_formats_of_fields(tables):
    bag, kvk, fun, kad = tables["bag"], tables["kvk"], tables["fun"], tables["kad"]
    assert bag["adresseerbaar_object_id"].str.fullmatch(r"0489\d{12}").all()
    assert bag["adresseerbaar_object_id"].is_unique
    assert bag["postcode"].str.fullmatch(r"\d{4}[A-Z]{2}").all()
    assert set(bag["postcode"].str[:4]) <= set(reference.pc4("GM0489")["postcode"])
    assert not _key(bag).duplicated().any()
    assert kvk["kvk_nummer"].str.fullmatch(r"\d{8}").all()
    assert kvk["vestigingsnummer"].str.fullmatch(r"\d{12}").all()
    assert kvk["vestigingsnummer"].is_unique
    assert set(kvk["sbi_code"]) <= set(reference.sbi2008()["sbi_code"])
    for col in ("datum_inschrijving", "datum_uitschrijving"):
        assert kvk[col].str.fullmatch(r"(\d{2}-\d{2}-\d{4})?").all()
    assert fun["geboortedatum"].str.fullmatch(r"\d{2}-\d{2}-\d{4}").all()
    assert set(kad["koper_type"]) == {"natuurlijk_persoon", "rechtspersoon"}
    assert set(kad["hypotheek"]) == {"ja", "nee"}
    assert kad["transactie_id"].is_unique
    dates = _date(kad["datum"])
    assert dates.min() >= pd.Timestamp(PERIODE[0]) and dates.max() <= pd.Timestamp(PERIODE[1])
    rp = kad["koper_type"] == "rechtspersoon"
    assert kad.loc[rp, "koper_kvk_nummer"].str.fullmatch(r"\d{8}").all()
    assert (kad.loc[~rp, "koper_kvk_nummer"] == "").all()


def test_realistic_sizes(tables):
    bag, kvk, kad, fun = tables["bag"], tables["kvk"], tables["kad"], tables["fun"]
    dwellings = reference.vierkanten("GM0489")["aantal_woningen"].sum()
    n_res = (bag["gebruiksdoel"] == "woonfunctie").sum()
    assert abs(n_res / dwellings - 1) < 0.1
    assert 0.07 < (len(bag) - n_res) / n_res < 0.13
    cbs = reference.buurten("GM0489")["aantal_bedrijfsvestigingen"].sum()
    assert abs(len(kvk) / cbs - 1) < 0.1
    assert 1.05 < len(fun) / kvk["kvk_nummer"].nunique() < 1.45
    assert 0.06 < len(kad) / n_res < 0.10  # about 4 % a year over two years
    active = kvk["datum_uitschrijving"] == ""
    assert 0.7 < active.mean() < 0.95
    home = (
        kvk["postcode"]
        .pipe(lambda s: _key(kvk))
        .isin(_key(bag[bag["gebruiksdoel"] == "woonfunctie"]))
    )
    assert 0.1 < home.mean() < 0.3


def test_every_register_address_exists_in_bag(tables):
    keys = set(_key(tables["bag"]))
    assert _key(tables["kvk"]).isin(keys).all()
    assert _key(tables["kad"]).isin(keys).all()
    hh = tables["pol"]
    assert (hh["x"] != "").mean() > 0.9


def test_bag_points_inside_municipality(tables):
    outline = shapely.union_all(reference.gemeente_grens("GM0489").geometry.values)
    x = tables["bag"]["x"].astype(float).to_numpy()
    y = tables["bag"]["y"].astype(float).to_numpy()
    inside = shapely.contains_xy(outline.buffer(1.0), x, y)
    assert inside.mean() >= 0.99


def test_planted_many_registrations_and_churn(tables, barendrecht):
    kvk = tables["kvk"]
    kvk = kvk.assign(
        _ins=_date(kvk["datum_inschrijving"]),
        _uit=_date(kvk["datum_uitschrijving"]),
        _adres=_key(kvk),
    )
    by_id = dict(zip(_key(tables["bag"]), tables["bag"]["adresseerbaar_object_id"], strict=True))
    rl = {r["flag"]: r for r in barendrecht[1]["risicolocaties"]}
    many = rl["KVK_VEEL_INSCHRIJVINGEN"]
    at = kvk[kvk["_adres"] == f"{many['postcode']}|{many['huisnummer']}||"]
    assert by_id[at["_adres"].iloc[0]] == many["adres_id"]
    active = at[at["_uit"].isna()]
    assert len(active) >= 12
    assert (active["_ins"] >= pd.Timestamp("2025-06-01")).sum() >= 3
    churn = rl["KVK_VERLOOP_ADRES"]
    at = kvk[kvk["_adres"] == f"{churn['postcode']}|{churn['huisnummer']}||"]
    start, end = pd.Timestamp(PERIODE[0]), pd.Timestamp(PERIODE[1])
    assert at["_ins"].between(start, end).sum() >= 8
    assert at["_uit"].between(start, end).sum() >= 8
    # background stays below the planted address
    counts = kvk[kvk["_uit"].isna()].groupby("_adres").size().sort_values()
    assert counts.iloc[-2] < 12
    assert (counts.between(3, 4)).sum() >= 5


def test_planted_risk_branches_and_home_addresses(tables, barendrecht):
    kvk, bag = tables["kvk"], tables["bag"]
    manifest = barendrecht[1]
    use = dict(zip(bag["adresseerbaar_object_id"], bag["gebruiksdoel"], strict=True))
    cluster = [r for r in manifest["risicolocaties"] if r["flag"] == "KVK_NIEUW_RISICOBRANCHE"]
    assert 6 <= len(cluster) <= 8
    assert len({r["buurtcode"] for r in cluster}) == 1
    assert {
        "thema": "kwetsbare_branches",
        "buurtcode": cluster[0]["buurtcode"],
        "bronnen": ["kvk", "partners", "enquete"],
    } in manifest["buurten_hoog_risico"]
    rows = kvk[kvk["kvk_nummer"].isin([r["kvk_nummers"][0] for r in cluster])]
    assert set(rows["sbi_code"]) <= {"5630", "45205", "96021", "96022", "4742"}
    assert (_date(rows["datum_inschrijving"]) >= pd.Timestamp("2025-01-01")).all()
    home = [r for r in manifest["risicolocaties"] if r["flag"] == "KVK_WOONADRES"]
    assert len(home) == 5
    assert all(use[r["adres_id"]] == "woonfunctie" for r in home)
    for r in home + cluster:
        assert set(r) >= {
            "patroon",
            "flag",
            "postcode",
            "huisnummer",
            "huisletter",
            "toevoeging",
            "adres_id",
        }


def test_planted_networks(tables, barendrecht):
    kvk, fun = tables["kvk"], tables["fun"]
    nets = {n["flag"]: n for n in barendrecht[1]["netwerken"]}
    straw = nets["NET_STROMAN"]
    mine = fun[
        (fun["naam"] == straw["persoon_naam"])
        & (_date(fun["geboortedatum"]) == pd.Timestamp(straw["persoon_geboortedatum"]))
    ]
    assert mine["kvk_nummer"].nunique() >= 10
    assert set(mine["kvk_nummer"]) == set(straw["kvk_nummers"])
    rows = kvk[kvk["kvk_nummer"].isin(straw["kvk_nummers"])]
    life = _date(rows["datum_uitschrijving"]) - _date(rows["datum_inschrijving"])
    assert (life < pd.Timedelta(days=365)).all()
    assert 3 <= _key(rows).nunique() <= 4
    hub = nets["NET_ADRES_HUB"]
    rows = kvk[kvk["kvk_nummer"].isin(hub["kvk_nummers"])]
    assert len(rows) >= 15 and _key(rows).nunique() == 1
    shared = fun[fun["kvk_nummer"].isin(hub["kvk_nummers"])].groupby("naam")["kvk_nummer"].nunique()
    assert (shared >= 4).sum() >= 2
    car = nets["NET_CARROUSEL"]
    rows = kvk[kvk["kvk_nummer"].isin(car["kvk_nummers"])]
    assert 4 <= len(car["kvk_nummers"]) <= 5 and _key(rows).nunique() == 3
    assert (
        rows.groupby("kvk_nummer").apply(lambda g: _key(g).nunique(), include_groups=False) >= 3
    ).all()
    shared = nets["NET_GEDEELDE_FUNCTIONARIS"]
    both = fun[fun["naam"] == shared["persoon_naam"]]
    assert set(shared["kvk_nummers"]) <= set(both["kvk_nummer"])
    sbi = set(kvk.loc[kvk["kvk_nummer"].isin(shared["kvk_nummers"]), "sbi_code"])
    assert "6810" in sbi and sbi & {"5630", "45205", "96021", "96022", "4742"}


def test_planted_kadaster(tables, barendrecht):
    kad, kvk = tables["kad"].set_index("transactie_id"), tables["kvk"]
    manifest = barendrecht[1]
    abc = [k for k in manifest["kadaster"] if k["flag"] == "KAD_ABC"]
    assert len(abc) == 3
    for item in abc:
        t1, t2 = kad.loc[item["transactie_ids"][0]], kad.loc[item["transactie_ids"][1]]
        gap = _date(pd.Series([t2["datum"]]))[0] - _date(pd.Series([t1["datum"]]))[0]
        assert pd.Timedelta(0) < gap <= pd.Timedelta(days=183)
        assert int(t2["koopsom"]) >= 1.3 * int(t1["koopsom"])
        assert t1["koper_naam"] == t2["verkoper_naam"]
        assert t1["postcode"] == t2["postcode"] == item["postcode"]
    young = {k["flag"]: k for k in manifest["kadaster"] if k["patroon"] == "jonge_bv_aankopen"}
    assert set(young) == {
        "KAD_JONGE_RECHTSPERSOON",
        "KAD_ZONDER_HYPOTHEEK",
        "KAD_VEEL_AANKOPEN",
        "KAD_PRIJS_WOZ",
    }
    item = young["KAD_JONGE_RECHTSPERSOON"]
    buys = kad.loc[item["transactie_ids"]]
    founded = _date(
        kvk.loc[kvk["kvk_nummer"] == item["koper_kvk_nummer"], "datum_inschrijving"]
    ).min()
    assert (buys["koper_kvk_nummer"] == item["koper_kvk_nummer"]).all()
    assert ((_date(buys["datum"]) - founded) < pd.Timedelta(days=183)).all()
    assert (buys["hypotheek"] == "nee").all()
    assert (buys["koopsom"].astype(int) > 1.3 * buys["woz_waarde"].astype(int)).all()
    areas = {b["thema"]: b["buurtcode"] for b in manifest["buurten_hoog_risico"]}
    assert "vastgoed_witwassen" in areas


def test_hotspot_and_rtm_effect(tables, barendrecht):
    manifest, pol, bag = barendrecht[1], tables["pol"], tables["bag"]
    hot = manifest["hotspot"]
    assert hot["thema"] == "drugs"
    assert {
        "thema": "drugs",
        "buurtcode": hot["buurtcode"],
        "bronnen": ["partners", "enquete"],
    } in manifest["buurten_hoog_risico"]
    xy = pol[(pol["x"] != "") & (pol["thema"] == "drugs")]
    cells = reference.cell_id(xy["x"].astype(float), xy["y"].astype(float))
    in_hot = np.isin(cells, hot["cel_ids"]) & (xy["soort"] == "hennepkwekerij").to_numpy()
    assert in_hot.sum() >= 25
    assert len(xy) >= 200
    assert [f["factor"] for f in manifest["rtm_factoren"]] == ["opslag", "autowasstraat"]
    # events per address near storage are clearly more frequent than elsewhere
    ids = bag.set_index("adresseerbaar_object_id")
    sto = ids.loc[manifest["voorzieningen"]["opslag"], ["x", "y"]].astype(float).to_numpy()
    assert 8 <= len(sto) <= 15
    bx, by = bag["x"].astype(float).to_numpy(), bag["y"].astype(float).to_numpy()
    d_bag = np.min(np.hypot(bx[:, None] - sto[:, 0], by[:, None] - sto[:, 1]), axis=1)
    ex, ey = xy["x"].astype(float).to_numpy()[~in_hot], xy["y"].astype(float).to_numpy()[~in_hot]
    d_ev = np.min(np.hypot(ex[:, None] - sto[:, 0], ey[:, None] - sto[:, 1]), axis=1)
    near_rate = (d_ev <= 300).sum() / (d_bag <= 300).sum()
    far_rate = (d_ev > 300).sum() / (d_bag > 300).sum()
    assert near_rate / far_rate > 1.8


def test_survey_and_mapping(barendrecht):
    out, manifest, _ = barendrecht
    mapping = yaml.safe_load((out / "enquete_mapping.yaml").read_text(encoding="utf-8"))
    themes = [
        "drugs",
        "mensenhandel",
        "vastgoed_witwassen",
        "omg",
        "kwetsbare_branches",
        "bedrijventerreinen",
        "recreatieparken",
    ]
    assert list(mapping["percepties"]) == themes == list(mapping["vermeldingen"])
    survey = _read(out, "enquete.csv")
    assert 40 <= len(survey) <= 80
    for col in list(mapping["percepties"].values()):
        assert set(survey[col]) <= set(mapping["likert"]) | {"weet niet"}
    known = set(reference.buurten("GM0489")["buurtnaam"]) | set(
        reference.wijken("GM0489")["wijknaam"]
    )
    hot_name = (
        reference.buurten("GM0489")
        .set_index("buurtcode")
        .loc[manifest["hotspot"]["buurtcode"], "buurtnaam"]
    )
    mentions = survey[mapping["vermeldingen"]["drugs"]].str.split(", ").explode()
    mentions = mentions[mentions != ""]
    assert set(mentions) <= known
    assert (mentions == hot_name).sum() >= 0.25 * len(survey)
    texts = " ".join(survey[mapping["signalen"]["tekst"]])
    names = {p["naam"] for p in manifest["personen"]}
    assert any(n in texts for n in names)


def test_personen_cover_every_person_written(tables, barendrecht):
    manifest = barendrecht[1]
    listed = {(p["naam"], p["geboortedatum"]) for p in manifest["personen"]}
    fun = tables["fun"]
    officers = set(
        zip(fun["naam"], _date(fun["geboortedatum"]).dt.strftime("%Y-%m-%d"), strict=True)
    )
    assert officers <= listed
    names = {p["naam"] for p in manifest["personen"]}
    kad = tables["kad"]
    np_names = set(kad.loc[kad["koper_type"] == "natuurlijk_persoon", "koper_naam"]) | set(
        kad.loc[kad["verkoper_type"] == "natuurlijk_persoon", "verkoper_naam"]
    )
    assert np_names <= names
    kad_names = set(kad["koper_naam"]) | set(kad["verkoper_naam"])
    assert {n for n, _ in officers} & kad_names  # officer names appear in Kadaster too


def test_deterministic_and_seed_dependent(tmp_path):
    a = generate("Barendrecht", tmp_path / "a", seed=3, periode=PERIODE, scale=0.15)
    b = generate("0489", tmp_path / "b", seed=3, periode=PERIODE, scale=0.15)
    c = generate("GM0489", tmp_path / "c", seed=4, periode=PERIODE, scale=0.15)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert a == b
    da, dc = _digest(tmp_path / "a"), _digest(tmp_path / "c")
    assert all(da[k] != dc[k] for k in ("bag_adressen.csv", "kvk_vestigingen.csv"))
    assert a["hotspot"] != c["hotspot"] or a["risicolocaties"] != c["risicolocaties"]


def test_xlsx_is_deterministic_and_readable(tmp_path):
    generate("GM0489", tmp_path / "a", seed=2, periode=PERIODE, scale=0.1, fmt="xlsx")
    generate("GM0489", tmp_path / "b", seed=2, periode=PERIODE, scale=0.1, fmt="xlsx")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    frame = pd.read_excel(tmp_path / "a" / "kvk_vestigingen.xlsx", dtype={"kvk_nummer": str})
    assert list(frame.columns) == COLUMNS["kvk_vestigingen"]
    assert (tmp_path / "a" / "kadaster_transacties.xlsx").exists()
    assert (tmp_path / "a" / "bag_adressen.csv").exists()


def test_scenario_nul_has_no_hotspot_or_rtm(tmp_path):
    m = generate("GM0489", tmp_path, seed=1, periode=PERIODE, scenario="nul", scale=0.3)
    assert m["hotspot"] is None and m["rtm_factoren"] == []
    assert all(b["thema"] != "drugs" for b in m["buurten_hoog_risico"])
    assert m["netwerken"] and m["kadaster"]  # other planted data as usual


def test_hotspot_override(tmp_path):
    code = sorted(reference.buurten("GM0489")["buurtcode"])[5]
    m = generate("GM0489", tmp_path, seed=1, periode=PERIODE, scale=0.3, hotspot_buurt=code)
    assert m["hotspot"]["buurtcode"] == code
    with pytest.raises(ConfigError, match="hotspot_buurt"):
        generate(
            "GM0489", tmp_path / "x", seed=1, periode=PERIODE, scale=0.3, hotspot_buurt="BU99999999"
        )


def test_sizes_scale_with_municipality_and_scale(tmp_path):
    b = generate("GM0489", tmp_path / "b", seed=1, periode=PERIODE, scale=0.2)
    r = generate("GM0597", tmp_path / "r", seed=1, periode=PERIODE, scale=0.2)
    assert r["gemeente"] == "GM0597" and b["gemeente"] == "GM0489"
    nb = len(_read(tmp_path / "b", "bag_adressen.csv"))
    nr = len(_read(tmp_path / "r", "bag_adressen.csv"))
    sq = {c: reference.vierkanten(c)["aantal_woningen"].sum() for c in ("GM0489", "GM0597")}
    assert abs((nr / nb) / (sq["GM0597"] / sq["GM0489"]) - 1) < 0.08
    kb = len(_read(tmp_path / "b", "kvk_vestigingen.csv"))
    kr = len(_read(tmp_path / "r", "kvk_vestigingen.csv"))
    cbs = {
        c: reference.buurten(c)["aantal_bedrijfsvestigingen"].sum() for c in ("GM0489", "GM0597")
    }
    assert abs((kr / kb) / (cbs["GM0597"] / cbs["GM0489"]) - 1) < 0.1
    dwell = (_read(tmp_path / "b", "bag_adressen.csv")["gebruiksdoel"] == "woonfunctie").sum()
    assert abs(dwell / (0.2 * sq["GM0489"]) - 1) < 0.05


def test_municipality_without_squares_uses_wijken(tmp_path):
    m = generate("Dordrecht", tmp_path, seed=1, periode=PERIODE, scale=0.1)
    assert m["gebied_niveau"] == "wijk" and m["hotspot"]["buurtcode"].startswith("WK0505")
    bag = _read(tmp_path, "bag_adressen.csv")
    assert bag["adresseerbaar_object_id"].str.startswith("0505").all()
    stock = reference.wijken("GM0505")["woningvoorraad"].sum()
    assert abs((bag["gebruiksdoel"] == "woonfunctie").sum() / (0.1 * stock) - 1) < 0.05
    outline = shapely.union_all(reference.gemeente_grens("GM0505").geometry.values)
    inside = shapely.contains_xy(
        outline.buffer(1.0), bag["x"].astype(float), bag["y"].astype(float)
    )
    assert inside.mean() >= 0.99


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scenario": "extra"}, ConfigError, "scenario"),
        ({"fmt": "json"}, ConfigError, "fmt"),
        ({"scale": 0}, ConfigError, "scale"),
        ({"periode": (dt.date(2025, 1, 1), dt.date(2024, 1, 1))}, ConfigError, "periode"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        generate("GM0489", tmp_path, **kwargs)


def test_unknown_municipality(tmp_path):
    with pytest.raises(UnknownMunicipalityError):
        generate("Atlantis", tmp_path)
    with pytest.raises(UnknownMunicipalityError):  # Vlaardingen: no shipped geography
        generate("GM0622", tmp_path)


def test_default_period_is_two_full_years(tmp_path):
    m = generate("GM0489", tmp_path, seed=1, scale=0.1)
    today = dt.date.today()
    assert m["periode"] == {"start": f"{today.year - 2}-01-01", "eind": f"{today.year - 1}-12-31"}


@pytest.mark.slow
def test_rotterdam_is_fast_enough(tmp_path):
    t0 = time.process_time()
    m = generate("GM0599", tmp_path, seed=1, periode=PERIODE)
    seconds = time.process_time() - t0
    log.warning("generate(Rotterdam) took %.1f s", seconds)
    assert seconds < 60
    assert m["hotspot"]["buurtcode"].startswith("BU0599")
    kvk = _read(tmp_path, "kvk_vestigingen.csv")
    assert len(kvk) > 80_000

"""The scenario family of bcba.synthetic: truth that differs from the model ("afwijkend").

The truth table of planted.json is checked against the written files (the reader's view),
not against the generator's own bookkeeping: every planted value is recomputed from the
CSV extracts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bcba import reference
from bcba.errors import ConfigError
from bcba.synthetic import CLUSTER, OVERDISPERSIE, RTM_FACTOREN_AFWIJKEND, SCENARIOS, generate
from bcba.synthetic._signals import _decay_weights, cell_frailty, kernel
from bcba.synthetic._truth import DREMPELS
from tests.test_synthetic import _date, _key

PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
START, END = pd.Timestamp(PERIODE[0]), pd.Timestamp(PERIODE[1])
ALL_FLAGS = set(DREMPELS)


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, sep=";", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def afwijkend(tmp_path_factory):
    out = tmp_path_factory.mktemp("afwijkend")
    manifest = generate("GM0489", out, seed=1, periode=PERIODE, scenario="afwijkend")
    bag = _read(out, "bag_adressen.csv")
    kvk = _read(out, "kvk_vestigingen.csv")
    kvk = kvk.assign(_ins=_date(kvk["datum_inschrijving"]), _uit=_date(kvk["datum_uitschrijving"]))
    kad = _read(out, "kadaster_transacties.csv")
    kad = kad.assign(_d=_date(kad["datum"]), _key=_key(kad))
    tables = {
        "bag": bag,
        "kvk": kvk.assign(_key=_key(kvk)),
        "fun": _read(out, "kvk_functionarissen.csv"),
        "kad": kad,
        "key_of": dict(zip(bag["adresseerbaar_object_id"], _key(bag), strict=True)),
    }
    return out, manifest, tables


def test_scenarios_are_named_in_dutch():
    assert SCENARIOS == ("standaard", "nul", "afwijkend")


def test_thresholds_are_the_indicator_defaults():
    """The plants sit around the documented defaults; a changed default must move them too."""
    from bcba.indicators.kadaster_flags import KadasterFlagConfig
    from bcba.indicators.kvk_flags import KvkFlagConfig

    kvk, kad = KvkFlagConfig(), KadasterFlagConfig()
    assert {
        "KVK_VEEL_INSCHRIJVINGEN": kvk.veel_inschrijvingen,
        "KVK_VERLOOP_ADRES": kvk.verloop_adres,
        "KVK_NIEUW_RISICOBRANCHE": kvk.nieuw_maanden,
        "KVK_WOONADRES": kvk.woonadres_werkzame_personen,
        "KVK_KORT_BESTAAN": kvk.kort_bestaan_maanden,
        "KVK_FUNCTIONARIS_VEEL": {
            "ondernemingen": kvk.functionaris_min_ondernemingen,
            "kortlevend": kvk.functionaris_min_kort,
        },
        "KAD_ABC": kad.abc_dagen,
        "KAD_PRIJS_WOZ": kad.prijs_woz_afwijking,
        "KAD_ZONDER_HYPOTHEEK": kad.zonder_hypotheek_vanaf,
        "KAD_JONGE_RECHTSPERSOON": kad.jonge_rechtspersoon_maanden,
        "KAD_VEEL_AANKOPEN": kad.veel_aankopen,
    } == DREMPELS


#: How close to the threshold a near-threshold plant is (in the unit of ``waarde``).
NEAR = {
    "KVK_VEEL_INSCHRIJVINGEN": (8, 2),
    "KVK_VERLOOP_ADRES": (6, 2),
    "KVK_NIEUW_RISICOBRANCHE": (365, 40),  # days before the end
    "KVK_WOONADRES": (5, 2),
    "KVK_KORT_BESTAAN": (365, 70),  # days lived
    "KAD_ABC": (183, 50),
    "KAD_PRIJS_WOZ": (1.5, 0.1),  # ratio (the plants above WOZ)
    "KAD_ZONDER_HYPOTHEEK": (300_000, 25_000),
    "KAD_JONGE_RECHTSPERSOON": (365, 60),
    "KAD_VEEL_AANKOPEN": (3, 1),
}


def _near(entry: dict) -> bool:
    if entry["flag"] == "KVK_FUNCTIONARIS_VEEL":
        v = entry["waarde"]
        return v["ondernemingen"] in (4, 5) and v["kortlevend"] in (2, 3, 4)
    centre, margin = NEAR[entry["flag"]]
    return isinstance(entry["waarde"], int | float) and abs(entry["waarde"] - centre) <= margin


def test_every_flag_has_plants_just_above_and_just_below_its_threshold(afwijkend):
    _, manifest, _ = afwijkend
    planted = [k for k in manifest["kandidaten"] if k["waarheid"] != "legitiem"]
    for flag in sorted(ALL_FLAGS):
        mine = [k for k in planted if k["flag"] == flag and _near(k)]
        above = [k for k in mine if k["boven_drempel"] and k["waarheid"] == "ondermijnend"]
        below = [k for k in mine if not k["boven_drempel"] and k["waarheid"] == "grensgeval"]
        assert above and below, (flag, mine)


def test_legitimate_lookalikes_are_labelled(afwijkend):
    _, manifest, _ = afwijkend
    legit = {
        (k["patroon"], k["flag"]) for k in manifest["kandidaten"] if k["waarheid"] == "legitiem"
    }
    assert legit >= {
        ("doorverkoop_regulier", "KAD_ABC"),
        ("doorverkoop_zonder_winst", "KAD_ABC"),
        ("contant_onder_drempel", "KAD_ZONDER_HYPOTHEEK"),
        ("contant_boven_drempel", "KAD_ZONDER_HYPOTHEEK"),
        ("krappe_markt", "KAD_PRIJS_WOZ"),
        ("familieverkoop", "KAD_PRIJS_WOZ"),
        ("bedrijfsverzamelgebouw", "KVK_VEEL_INSCHRIJVINGEN"),
        ("bedrijfsverzamelgebouw", "KVK_VERLOOP_ADRES"),
        ("administratiekantoor_holdings", "KVK_VEEL_INSCHRIJVINGEN"),
        ("functionaris_holding_legitiem", "KVK_FUNCTIONARIS_VEEL"),
        ("functionaris_starter_legitiem", "KVK_FUNCTIONARIS_VEEL"),
        ("belegger_legitiem", "KAD_VEEL_AANKOPEN"),
    }
    regular = [k for k in manifest["kandidaten"] if k["patroon"] == "doorverkoop_regulier"]
    assert all(k["waarde"] > DREMPELS["KAD_ABC"] and not k["boven_drempel"] for k in regular)


def test_locations_carry_the_strongest_label_of_their_entries(afwijkend):
    _, manifest, _ = afwijkend
    rank = {"ondermijnend": 0, "grensgeval": 1, "legitiem": 2}
    expected: dict[str, str] = {}
    for k in manifest["kandidaten"]:
        for a in k["adres_ids"]:
            old = expected.get(a, k["waarheid"])
            expected[a] = min(old, k["waarheid"], key=rank.__getitem__)
    labels = {loc["adres_id"]: loc["waarheid"] for loc in manifest["locaties"]}
    assert {a: labels[a] for a in expected} == expected
    for net in manifest["netwerken"]:  # network plants are subversive locations too
        assert all(labels[a] == "ondermijnend" for a in net.get("adres_ids", []))


def _months(day: pd.Timestamp, months: int) -> pd.Timestamp:
    return day + pd.DateOffset(months=months)


def test_truth_values_match_the_written_files(afwijkend):
    """Every value in the truth table recomputed from the CSV extracts (brute force)."""
    _, manifest, t = afwijkend
    kvk, kad, fun, bag = t["kvk"], t["kad"], t["fun"], t["bag"]
    use = dict(zip(bag["adresseerbaar_object_id"], bag["gebruiksdoel"], strict=True))
    by_id = kad.set_index("transactie_id")
    checked = set()
    for k in manifest["kandidaten"]:
        flag, value = k["flag"], k["waarde"]
        if flag in ("KVK_VEEL_INSCHRIJVINGEN", "KVK_VERLOOP_ADRES"):
            at = kvk[kvk["_key"] == t["key_of"][k["adres_ids"][0]]]
            active = (at["_ins"] <= END) & (at["_uit"].isna() | (at["_uit"] > END))
            moves = at["_ins"].between(START, END).sum() + at["_uit"].between(START, END).sum()
            got = int(active.sum()) if flag == "KVK_VEEL_INSCHRIJVINGEN" else int(moves)
            reaches = got >= DREMPELS[flag]
        elif flag == "KVK_NIEUW_RISICOBRANCHE":
            ins = kvk.loc[kvk["kvk_nummer"] == k["kvk_nummers"][0], "_ins"].min()
            got, reaches = (END - ins).days, ins >= _months(END, -12)
        elif flag == "KVK_KORT_BESTAAN":
            rows = kvk[kvk["kvk_nummer"] == k["kvk_nummers"][0]]
            ins, uit = rows["_ins"].min(), rows["_uit"].max()
            got = (uit - ins).days
            reaches = uit <= _months(ins, 12) and START <= uit <= END
        elif flag == "KVK_WOONADRES":
            row = kvk[kvk["kvk_nummer"] == k["kvk_nummers"][0]].iloc[0]
            assert use[k["adres_ids"][0]] == "woonfunctie"
            if value == "risicobranche":
                got, reaches = value, True
            else:
                got = int(row["werkzame_personen"])
                reaches = got >= DREMPELS[flag]
        elif flag == "KVK_FUNCTIONARIS_VEEL":
            p = k["persoon"]
            mine = fun[
                (fun["naam"] == p["naam"])
                & (_date(fun["geboortedatum"]) == pd.Timestamp(p["geboortedatum"]))
            ]
            companies = set(mine["kvk_nummer"])
            rows = kvk[kvk["kvk_nummer"].isin(companies)]
            life = rows.groupby("kvk_nummer").agg(ins=("_ins", "min"), uit=("_uit", "max"))
            gone = rows.groupby("kvk_nummer")["_uit"].apply(lambda s: s.notna().all())
            short = sum(
                bool(gone[c]) and life.loc[c, "uit"] <= _months(life.loc[c, "ins"], 12)
                for c in life.index
            )
            got = {"ondernemingen": len(companies), "kortlevend": short}
            need = DREMPELS[flag]
            reaches = len(companies) >= need["ondernemingen"] and short >= need["kortlevend"]
        elif flag == "KAD_ABC":
            row = by_id.loc[k["transactie_ids"][0]]
            before = kad[(kad["_key"] == row["_key"]) & (kad["_d"] < row["_d"])]
            got = (row["_d"] - before["_d"].max()).days
            reaches = got <= DREMPELS[flag] and START <= row["_d"] <= END
        elif flag == "KAD_PRIJS_WOZ":
            row = by_id.loc[k["transactie_ids"][0]]
            ratio = int(row["koopsom"]) / int(row["woz_waarde"])
            got, reaches = round(ratio, 4), abs(ratio - 1) >= DREMPELS[flag]
        elif flag == "KAD_ZONDER_HYPOTHEEK":
            row = by_id.loc[k["transactie_ids"][0]]
            got = int(row["koopsom"])
            reaches = row["hypotheek"] == "nee" and got >= DREMPELS[flag]
        elif flag == "KAD_JONGE_RECHTSPERSOON":
            row = by_id.loc[k["transactie_ids"][0]]
            ins = kvk.loc[kvk["kvk_nummer"] == row["koper_kvk_nummer"], "_ins"].min()
            got, reaches = (row["_d"] - ins).days, row["_d"] <= _months(ins, 12)
        elif flag == "KAD_VEEL_AANKOPEN":
            row = by_id.loc[k["transactie_ids"][0]]
            col = "koper_kvk_nummer" if row["koper_type"] == "rechtspersoon" else "koper_naam"
            mine = kad[(kad[col] == row[col]) & kad["_d"].between(START, END)]
            got = mine["_key"].nunique()
            reaches = got >= DREMPELS[flag]
        assert (got, bool(reaches)) == (value, k["boven_drempel"]), k
        checked.add(flag)
    assert checked == ALL_FLAGS


def test_rtm_truth_is_smooth_decay_off_the_model_grid(afwijkend):
    _, manifest, _ = afwijkend
    assert manifest["rtm_factoren"] == [dict(f) for f in RTM_FACTOREN_AFWIJKEND]
    grid = (100, 200, 300, 400, 500)
    assert all(f["lengte_m"] not in grid for f in manifest["rtm_factoren"])
    assert manifest["overdispersie"] == OVERDISPERSIE


def test_kernels_by_hand():
    d = np.array([0.0, 170.0, 340.0])
    assert kernel(d, "exponentieel", 170) == pytest.approx([1.0, np.exp(-1), np.exp(-2)])
    assert kernel(d, "gauss", 170) == pytest.approx([1.0, np.exp(-0.5), np.exp(-2)])
    # one storage unit at the origin, addresses at 0, 170 and 340 m: 1 + 3 exp(-d/170)
    bag = pd.DataFrame({"x": [0.0, 170.0, 0.0], "y": [0.0, 0.0, 340.0]})
    factors = [{"factor": "opslag", "effect": 4.0, "vorm": "exponentieel", "lengte_m": 170}]
    w = _decay_weights(bag, {"opslag": np.array([0])}, factors)
    assert w == pytest.approx([4.0, 1 + 3 * np.exp(-1), 1 + 3 * np.exp(-2)])


def test_cell_frailty_is_gamma_with_zero_inflation():
    n = 40_000
    bag = pd.DataFrame({"_cel": [f"c{i}" for i in range(n) for _ in (0, 1)]})
    g = cell_frailty(bag, vorm=1.5, nul_kans=0.2, rng=np.random.default_rng(5))
    assert (g[0::2] == g[1::2]).all()  # one value per cell
    cells = g[0::2]
    assert (cells == 0).mean() == pytest.approx(0.2, abs=0.01)
    positive = cells[cells > 0]
    assert positive.mean() == pytest.approx(1.0, abs=0.02)
    assert positive.var() == pytest.approx(1 / 1.5, rel=0.05)


def _dispersion(folder: Path) -> float:
    """Pearson dispersion of partner events per 100 m cell against addresses (1 = Poisson)."""
    bag = _read(folder, "bag_adressen.csv")
    xy = dict(
        zip(
            _key(bag), zip(bag["x"].astype(float), bag["y"].astype(float), strict=True), strict=True
        )
    )
    events = pd.concat(
        [_read(folder / "partners", p.name) for p in (folder / "partners").glob("*.csv")]
    )
    located = events["x"] != ""
    x = pd.to_numeric(events["x"].where(located), errors="coerce")
    y = pd.to_numeric(events["y"].where(located), errors="coerce")
    by_key = _key(events).map(xy)
    x = x.fillna(by_key.map(lambda v: v[0] if isinstance(v, tuple) else np.nan))
    y = y.fillna(by_key.map(lambda v: v[1] if isinstance(v, tuple) else np.nan))
    ok = x.notna() & y.notna()
    cells = reference.cell_id(x[ok].to_numpy(), y[ok].to_numpy())
    expo = pd.Series(
        reference.cell_id(bag["x"].astype(float), bag["y"].astype(float))
    ).value_counts()
    observed = pd.Series(cells).value_counts().reindex(expo.index, fill_value=0)
    expected = expo / expo.sum() * observed.sum()
    return float((((observed - expected) ** 2) / expected).sum() / (len(expected) - 1))


def test_events_are_over_dispersed_only_in_afwijkend(afwijkend, tmp_path):
    generate("GM0489", tmp_path, seed=1, periode=PERIODE, scenario="nul")
    assert 0.85 < _dispersion(tmp_path) < 1.15
    assert _dispersion(afwijkend[0]) > 1.5


def test_compact_cluster_ignores_the_grid(afwijkend):
    folder, manifest, _ = afwijkend
    hot = manifest["hotspot"]
    assert hot["straal_m"] == CLUSTER["straal_m"] and hot["sigma_m"] == CLUSTER["sigma_m"]
    high = {(b["thema"], b["buurtcode"]) for b in manifest["buurten_hoog_risico"]}
    assert ("drugs", hot["buurtcode"]) in high
    police = _read(folder / "partners", "politie.csv")
    cannabis = police[(police["soort"] == "hennepkwekerij") & (police["x"] != "")]
    d = np.hypot(
        cannabis["x"].astype(float) - hot["centrum_x"],
        cannabis["y"].astype(float) - hot["centrum_y"],
    )
    # 25-40 planted events within the radius (plus police jitter of ~8 m)
    assert (d <= hot["straal_m"] + 30).sum() >= 25
    centres = [(int(c[1:5]) * 100 + 50, int(c[6:10]) * 100 + 50) for c in hot["cel_ids"]]
    assert len(centres) >= 2  # not one grid cell
    reach = hot["straal_m"] + 71  # half the diagonal of a 100 m cell
    assert all(
        np.hypot(cx - hot["centrum_x"], cy - hot["centrum_y"]) <= reach for cx, cy in centres
    )


def test_standard_scenario_records_its_plants_as_truth(tmp_path):
    m = generate("GM0489", tmp_path, seed=2, periode=PERIODE, scale=0.3)
    assert {k["waarheid"] for k in m["kandidaten"]} == {"ondermijnend"}
    flags = {k["flag"] for k in m["kandidaten"]}
    assert flags == ALL_FLAGS
    planted_locations = {r["adres_id"] for r in m["risicolocaties"]}
    labels = {loc["adres_id"]: loc["waarheid"] for loc in m["locaties"]}
    assert planted_locations <= set(labels)
    assert m["overdispersie"] is None
    assert json.loads(json.dumps(m)) == m


def test_afwijkend_needs_a_long_enough_period(tmp_path):
    with pytest.raises(ConfigError, match="afwijkend"):
        generate(
            "GM0489",
            tmp_path,
            scenario="afwijkend",
            periode=(dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        )


def test_cli_offers_every_scenario():
    from bcba.cli import build_parser

    parser = build_parser()
    for scenario in SCENARIOS:
        assert parser.parse_args(["demo-data", "--scenario", scenario]).scenario == scenario

"""Planted patterns of the synthetic generator must be found (two municipalities x three seeds).

Each case generates raw data (cached per session by ``generate_raw`` in conftest), reads it with
``bcba.sources.load_inputs`` and runs ``compute_indicators``; about 10-15 s per case.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import PERIODE, TEST_KEY_HEX

CASES = [(g, s) for g in ("GM0489", "GM0597") for s in (1, 2, 3)]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=CASES, ids=[f"{g}-seed{s}" for g, s in CASES])
def planted_run(request, generate_raw):
    from bcba.indicators import compute_indicators
    from bcba.sources import load_inputs

    gemeente, seed = request.param
    folder = generate_raw(gemeente, seed)
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    inputs = load_inputs(
        gemeente, data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY_HEX + "00")
    )
    return planted, compute_indicators(inputs)


def test_planted_risk_locations_carry_their_flag(planted_run):
    planted, results = planted_run
    risk = results.risicolocaties.set_index("adres_id")["flag_ids"].str.split(";")
    locations = [
        loc for loc in planted["risicolocaties"] if loc["flag"].startswith(("KVK_", "KAD_"))
    ]
    assert locations, "generator planted no KvK/Kadaster risk locations"
    hits = [
        loc["adres_id"] in risk.index and loc["flag"] in risk[loc["adres_id"]] for loc in locations
    ]
    assert sum(hits) / len(hits) >= 0.8, [
        loc for loc, h in zip(locations, hits, strict=True) if not h
    ]


def test_planted_kadaster_transactions_are_flagged(planted_run):
    planted, results = planted_run
    flags = results.flags
    entries = planted["kadaster"]
    found = [
        flags[
            (flags["flag_id"] == e["flag"]) & flags["transactie_id"].isin(e["transactie_ids"])
        ].shape[0]
        > 0
        for e in entries
    ]
    assert entries and sum(found) / len(found) >= 0.8


def test_planted_high_risk_buurten_rank_in_top_decile(planted_run):
    planted, results = planted_run
    scores = results.scores.set_index(["thema", "buurtcode"])
    for entry in planted["buurten_hoog_risico"]:
        row = scores.loc[(entry["thema"], entry["buurtcode"])]
        assert row["percentiel"] >= 90.0, (
            entry,
            row.to_dict(),
            results.explain(entry["buurtcode"], entry["thema"]),
        )
        assert results.explain(entry["buurtcode"], entry["thema"])  # a top buurt is explained


def test_no_person_names_in_outputs(planted_run, tmp_path):
    from bcba.indicators import write_results

    planted, results = planted_run
    written = write_results(results, tmp_path)
    text = "\n".join(p.read_text(encoding="utf-8") for p in written.values()).lower()
    names = {p["naam"].lower() for p in planted["personen"]}
    assert not [n for n in names if n in text]

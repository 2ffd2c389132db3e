"""Planted patterns of the synthetic generator must be found (two municipalities x three seeds).

Each case generates raw data (cached per session by ``generate_raw`` in conftest), reads it with
``bcba.sources.load_inputs`` and runs ``compute_indicators``; about 10-15 s per case. The
oracle is the truth table of ``planted.json`` (``kandidaten``, ``locaties``), matched to the
output by ``bcba.synthetic.evaluation``; it never uses the indicator code's own rules.
Precision against legitimate look-alikes is measured on the mismatched scenario in
tests/test_indicators_mismatched.py.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import PERIODE, TEST_KEY_HEX

CASES = [(g, s) for g in ("GM0489", "GM0597") for s in (1, 2, 3)]
CASE_IDS = [f"{g}-seed{s}" for g, s in CASES]

pytestmark = pytest.mark.slow

#: Words of the explanation per planted evidence source (planted.json "bronnen").
SOURCE_WORDS = {
    "kvk": ("kvk", "gelegenheidsstructuren"),
    "kadaster": ("kadaster",),
    "partners": ("partnermeldingen",),
    "enquete": ("enquête",),
}
#: How an explanation names the flag it is "vooral" about (the flags' Dutch descriptions).
FLAG_WORDS = {
    "KVK_VEEL_INSCHRIJVINGEN": "veel actieve inschrijvingen",
    "KVK_VERLOOP_ADRES": "verloop",
    "KVK_NIEUW_RISICOBRANCHE": "recent ingeschreven in een risicobranche",
    "KVK_WOONADRES": "alleen woonfunctie",
    "KVK_KORT_BESTAAN": "kort na oprichting",
    "KVK_FUNCTIONARIS_VEEL": "functionaris bij veel",
    "KAD_ABC": "abc-transactie",
    "KAD_PRIJS_WOZ": "woz-waarde",
    "KAD_ZONDER_HYPOTHEEK": "zonder hypotheek",
    "KAD_JONGE_RECHTSPERSOON": "recent opgerichte rechtspersoon",
    "KAD_VEEL_AANKOPEN": "veel objecten",
}
ISSUE_15 = "issue 15 (statistieken): "


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def planted_run(request, generate_raw):
    from bcba.indicators import compute_indicators
    from bcba.sources import load_inputs
    from bcba.synthetic.evaluation import evaluate

    gemeente, seed = request.param
    folder = generate_raw(gemeente, seed)
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    inputs = load_inputs(
        gemeente, data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY_HEX + "00")
    )
    results = compute_indicators(inputs)
    evaluation = evaluate(planted, results, inputs.kvk_functionarissen)
    return planted, results, evaluation, inputs, f"{gemeente}-seed{seed}"


def _xfail_for(request, case: str, failing: set[str], reason: str) -> None:
    if case in failing:
        request.applymarker(pytest.mark.xfail(strict=True, reason=ISSUE_15 + reason))


def test_planted_risk_locations_carry_their_flag(planted_run):
    planted, results, _, _, _ = planted_run
    risk = results.risicolocaties.set_index("adres_id")["flag_ids"].str.split(";")
    locations = [
        loc for loc in planted["risicolocaties"] if loc["flag"].startswith(("KVK_", "KAD_"))
    ]
    assert len(locations) == 14  # 2 addresses, 7 risk-branch shops, 5 home addresses
    missed = [
        loc
        for loc in locations
        if loc["adres_id"] not in risk.index or loc["flag"] not in risk[loc["adres_id"]]
    ]
    assert missed == []


#: Cases whose report top 10 of risk locations holds fewer than 8 planted addresses today.
TOP10_BELOW_80 = {"GM0489-seed2", "GM0597-seed2", "GM0597-seed3"}


def test_report_top10_risk_locations_are_planted(planted_run, request):
    """Precision on background data: the ten risk locations the report lists first (most
    kinds of flags) are planted subversive addresses, not ordinary background."""
    _, _, evaluation, _, case = planted_run
    _xfail_for(
        request,
        case,
        TOP10_BELOW_80,
        "3 van de 10 getoonde risicolocaties zijn gewone achtergrondadressen; met bewijskracht "
        "niet meer twee zwakke vlaggen van één kortlevende zaak, wel jonge bv's die meerdere "
        "woningen kopen en toevallige combinaties van twee volle vlaggen",
    )
    top = evaluation.locaties["top10"]
    assert top.n_gekozen == 10
    assert top.precisie >= 0.8, top


def test_every_planted_entity_is_flagged_exactly_at_its_threshold(planted_run):
    """Each planted company, address, officer and transaction separately (not one of three):
    flagged when its planted value reaches the documented threshold, not flagged otherwise."""
    planted, _, evaluation, _, _ = planted_run
    table = evaluation.kandidaten
    assert len(table) == len(planted["kandidaten"]) >= 35
    wrong = table[table["gevlagd"] != table["boven_drempel"]]
    assert wrong.empty, wrong.to_dict("records")
    assert set(table["flag"]) == set(FLAG_WORDS)


def test_planted_kadaster_transactions_are_flagged(planted_run):
    planted, results, evaluation, _, _ = planted_run
    flags = results.flags
    entries = planted["kadaster"]
    for e in entries:
        mine = flags[
            (flags["flag_id"] == e["flag"]) & flags["transactie_id"].isin(e["transactie_ids"])
        ]
        truth = [
            k
            for k in planted["kandidaten"]
            if k["flag"] == e["flag"] and set(k["transactie_ids"]) <= set(e["transactie_ids"])
        ]
        expected = {t for k in truth if k["boven_drempel"] for t in k["transactie_ids"]}
        if e["flag"] == "KAD_VEEL_AANKOPEN":  # one record per purchase of the buyer
            expected = set(e["transactie_ids"]) if truth[0]["boven_drempel"] else set()
        assert set(mine["transactie_id"]) == expected, e
    # precision on background data: the background never resells within a year or pays 1.5x
    # WOZ (docs/synthetic-data.md), so these flags may only hit planted transactions
    per_flag = evaluation.per_vlag.set_index("flag")
    for flag in ("KAD_ABC", "KAD_PRIJS_WOZ"):
        row = per_flag.loc[flag]
        assert row["n_vlaggen"] == row["n_vlaggen_ondermijnend"], (flag, row.to_dict())


def _numbers(sentence: str) -> list[float]:
    """The ratios an explanation quotes: "N× regio", "N× het gemiddelde", "locatiequotiënt N"."""
    found = re.findall(
        r"(\d+(?:,\d+)?)× (?:regio|het gemiddelde)|locatiequotiënt (\d+(?:,\d+)?)", sentence
    )
    return [float((a or b).replace(",", ".")) for a, b in found]


def _planted_flags_in(planted: dict, inputs, buurtcode: str) -> set[str]:
    buurt = dict(
        zip(inputs.bag["adres_id"].astype(str), inputs.bag["buurtcode"].astype(str), strict=True)
    )
    return {
        k["flag"]
        for k in planted["kandidaten"]
        if k["waarheid"] == "ondermijnend"
        and any(buurt.get(a) == buurtcode for a in k["adres_ids"])
    }


#: What the generator plants per theme, as the start of the sentence that must name it: the
#: drugs hot spot is police events (and 40 % of respondents name the buurt); the risk-branch
#: cluster and the property pattern are KvK/Kadaster flags (and the same survey plant).
#: The opportunity structure is not planted, so a buurt explained by it alone fails.
MECHANISM = {
    # in GM0597 (wijken as buurten) the compact hot spot is < 1.5x its wijk's rate: the
    # survey then carries the explanation
    "drugs": ("Partnermeldingen", "Vaak genoemd", "Zeer vaak genoemd"),
    "kwetsbare_branches": ("Risicosignalen uit KvK/Kadaster", "Vaak genoemd", "Zeer vaak genoemd"),
    "vastgoed_witwassen": ("Risicosignalen uit KvK/Kadaster", "Vaak genoemd", "Zeer vaak genoemd"),
}


def test_planted_high_risk_buurten_rank_in_top_decile(planted_run):
    """Rank in the top decile, and the explanation names the evidence that was planted there."""
    planted, results, _, inputs, _ = planted_run
    scores = results.scores.set_index(["thema", "buurtcode"])
    for entry in planted["buurten_hoog_risico"]:
        row = scores.loc[(entry["thema"], entry["buurtcode"])]
        why = results.explain(entry["buurtcode"], entry["thema"])
        assert row["percentiel"] >= 90.0, (entry, row.to_dict(), why)
        # the explanation names the planted mechanism, not just anything
        assert any(s.startswith(MECHANISM[entry["thema"]]) for s in why), (entry, why)


@pytest.fixture(scope="module", params=[1, 2, 3], ids=lambda s: f"GM0489-nul-seed{s}")
def null_run(request, generate_raw):
    from bcba.indicators import compute_indicators
    from bcba.sources import load_inputs

    folder = generate_raw("GM0489", request.param, scenario="nul")
    inputs = load_inputs(
        "GM0489", data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY_HEX + "00")
    )
    return compute_indicators(inputs)


def test_null_world_calls_no_buurt_high_on_partner_events(null_run):
    """Precision on background data: events drawn in proportion to addresses only."""
    pb = null_run.partners_buurt
    assert (pb["oordeel"] == "").all(), pb[pb["oordeel"] != ""]
    c = null_run.bijdragen
    words = c.loc[c["indicator"] == "partner_per_1000_adressen", "oordeel"]
    assert (words == "").all()
    from bcba.indicators.scores import explain_top_contributions

    assert not any(
        s.startswith("Partnermeldingen")
        for t in [*null_run.themes.themas, "totaal"]
        for sentences in explain_top_contributions(c, t).values()
        for s in sentences
    )


#: Cases where an explanation says "veel" of something at the regional level (1,0×) today.
MANY_AT_REGIONAL_LEVEL: set[str] = set()  # fixed by the verdict thresholds (issue 15)


def test_explanations_say_many_only_above_the_regional_level(planted_run, request):
    """ "Veel"/"Vaak"/"Hoge"/"Oververtegenwoordiging" needs a ratio above 1 in the same
    sentence: a planted buurt is never explained by something at the municipal level."""
    planted, results, _, _, case = planted_run
    _xfail_for(
        request,
        case,
        MANY_AT_REGIONAL_LEVEL,
        "uitleg 'Veel risicosignalen uit KvK/Kadaster (gemiddeld 1,0× regio)': woorden "
        "volgen geen expliciete drempel",
    )
    for entry in planted["buurten_hoog_risico"]:
        for sentence in results.explain(entry["buurtcode"], entry["thema"]):
            ratios = _numbers(sentence)
            assert all(r > 1.0 for r in ratios), (entry, sentence)


def test_no_person_names_in_outputs(planted_run, tmp_path):
    from bcba.indicators import write_results

    planted, results, _, _, _ = planted_run
    written = write_results(results, tmp_path)
    text = "\n".join(p.read_text(encoding="utf-8") for p in written.values()).lower()
    names = {p["naam"].lower() for p in planted["personen"]}
    assert not [n for n in names if n in text]

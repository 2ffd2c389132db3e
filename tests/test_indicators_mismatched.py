"""Recall and precision of flags, risk locations and signals on data not shaped to the model.

Scenario ``afwijkend`` of bcba.synthetic plants KvK/Kadaster values just above and just below
every flag threshold and legitimate look-alikes (business centres, an accountant hosting
clients' holdings, officers of several sound companies, ordinary resales, cash purchases);
everything else is legitimate background. The oracle is the truth table of planted.json,
matched to the output by ``bcba.synthetic.evaluation`` (never the indicator code's rules).

Where the analysis falls short today the test is ``xfail(strict=True)`` naming issue 15, so
it turns into a failure (XPASS) the moment a fix lands and the mark can go.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import PERIODE, TEST_KEY_HEX

CASES = [("GM0489", 1), ("GM0597", 2)]
CASE_IDS = [f"{g}-seed{s}" for g, s in CASES]
ISSUE_15 = "issue 15 (statistieken): "

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def mismatched(request, generate_raw):
    from bcba.indicators import compute_indicators
    from bcba.sources import load_inputs
    from bcba.synthetic.evaluation import evaluate

    gemeente, seed = request.param
    folder = generate_raw(gemeente, seed, scenario="afwijkend")
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    inputs = load_inputs(
        gemeente, data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY_HEX + "00")
    )
    results = compute_indicators(inputs)
    evaluation = evaluate(planted, results, inputs.kvk_functionarissen)
    return planted, results, evaluation, f"{gemeente}-seed{seed}"


def _xfail_for(request, case: str, failing: set[str], reason: str) -> None:
    if case in failing:
        request.applymarker(pytest.mark.xfail(strict=True, reason=ISSUE_15 + reason))


def test_flags_fire_exactly_at_their_documented_thresholds(mismatched):
    """Plants just above a threshold are flagged, just below are not, and look-alikes are
    flagged exactly when their (legitimate) value reaches it: the rules do what they say."""
    _, _, evaluation, _ = mismatched
    table = evaluation.kandidaten
    wrong = table[table["gevlagd"] != table["boven_drempel"]]
    assert wrong.empty, wrong.to_dict("records")
    below = table[(table["waarheid"] == "grensgeval")]
    assert len(below) >= 20 and not below["gevlagd"].any()


def _xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=ISSUE_15 + reason)


FLAG_PRECISION = [
    pytest.param(
        "KAD_ABC",
        marks=_xfail(
            "doorverkoop binnen 183 dagen zonder prijssprong (boedel, verhuizing) is een "
            "ABC-vlag met halve bewijskracht;"
            " de vlag vuurt bij haar drempel (zo gedocumenteerd), de context verlaagt alleen haar bewijskracht (zie risicolocaties/signalen)"
        ),
    ),
    "KAD_JONGE_RECHTSPERSOON",
    "KAD_PRIJS_WOZ",
    pytest.param(
        "KAD_VEEL_AANKOPEN",
        marks=_xfail(
            "een al jaren bestaande verhuurder (belegger-bv) die drie woningen koopt: halve "
            "bewijskracht; de vlag vuurt bij haar drempel (zo gedocumenteerd), de context verlaagt alleen haar bewijskracht (zie risicolocaties/signalen)"
        ),
    ),
    pytest.param(
        "KAD_ZONDER_HYPOTHEEK",
        marks=_xfail(
            "contante aankopen boven de drempel door particulieren (bv. senioren) zijn in "
            "Kadasterdata alleen niet te onderscheiden; de vlag weegt daarom half en "
            "precisie komt uit combinatie"
        ),
    ),
    pytest.param(
        "KVK_FUNCTIONARIS_VEEL",
        marks=_xfail(
            "projectontwikkelaar met projectvennootschappen die na oplevering worden opgeheven: "
            "halve bewijskracht naast zijn gevestigde ondernemingen; de vlag vuurt bij haar drempel (zo gedocumenteerd), de context verlaagt alleen haar bewijskracht (zie risicolocaties/signalen)"
        ),
    ),
    "KVK_KORT_BESTAAN",
    "KVK_NIEUW_RISICOBRANCHE",
    pytest.param(
        "KVK_VEEL_INSCHRIJVINGEN",
        marks=_xfail(
            "bedrijfsverzamelgebouwen en een administratiekantoor met holdings van klanten "
            "(oude, stabiele inschrijvingen) halen de drempel: halve bewijskracht; de vlag vuurt bij haar drempel (zo gedocumenteerd), de context verlaagt alleen haar bewijskracht (zie risicolocaties/signalen)"
        ),
    ),
    pytest.param(
        "KVK_VERLOOP_ADRES",
        marks=_xfail(
            "gewoon huurdersverloop in een groot bedrijfsverzamelgebouw haalt de drempel; "
            "naar verhouding van het aantal huurders weegt het half; de vlag vuurt bij haar drempel (zo gedocumenteerd), de context verlaagt alleen haar bewijskracht (zie risicolocaties/signalen)"
        ),
    ),
    "KVK_WOONADRES",
]


@pytest.mark.parametrize("flag", FLAG_PRECISION)
def test_flag_precision_among_plants_and_lookalikes(mismatched, flag):
    """Of the planted and look-alike entities a flag marks, at least 80 % are subversive."""
    _, _, evaluation, _ = mismatched
    row = evaluation.per_vlag.set_index("flag").loc[flag]
    assert row["recall"] >= 0.8, row.to_dict()
    assert row["precisie"] >= 0.8, row.to_dict()


@pytest.mark.xfail(
    strict=True,
    reason=ISSUE_15 + "locaties met gecombineerd bewijs (bewijskracht >= 2): precisie 81 % "
    "(ontwikkelseeds 1-3 van GM0489/GM0597) en 74 % (seeds 11-20 en GM0502/GM0606 1-3), recall "
    "21 % en 18 %: zo'n 40 van de 54 ondermijnende adressen dragen in de data één aanwijzing "
    "(een grensplant of één winkel van het risicobranchecluster); geen combinatieregel tilt "
    "die op zonder de look-alikes mee te tillen",
)
def test_risk_locations_reach_80_recall_at_80_precision(mismatched):
    """Risk locations with combined evidence (the report's count of locations "met
    gecombineerd bewijs", strength >= 2) against the subversive addresses of the truth."""
    _, _, evaluation, _ = mismatched
    score = evaluation.locaties["meerdere_soorten"]
    assert score.recall >= 0.8 and score.precisie >= 0.8, score


def test_every_subversive_address_is_a_risk_location(mismatched):
    _, _, evaluation, _ = mismatched
    score = evaluation.locaties["alle"]
    assert score.n_positief >= 50
    assert score.recall == 1.0, score


#: Cases whose report top 10 of risk locations holds fewer than 8 subversive addresses today.
TOP10_BELOW_80 = {"GM0597-seed2"}


def test_report_top10_risk_locations_are_subversive(mismatched, request):
    _, _, evaluation, case = mismatched
    _xfail_for(
        request,
        case,
        TOP10_BELOW_80,
        "3 van de 10 getoonde risicolocaties zijn achtergrond (na bewijskracht nog steeds: jonge "
        "bv's die meerdere woningen kopen en eenmalige combinaties van volle vlaggen)",
    )
    score = evaluation.locaties["top10"]
    assert score.n_gekozen == 10 and score.precisie >= 0.8, score


@pytest.mark.xfail(
    strict=True,
    reason=ISSUE_15 + "signalen met prioriteit hoog/middel: precisie 43 % (ontwikkelseeds) en "
    "36 % (uitgestelde seeds en gemeenten), recall 12 % en 11 %: een signaal vraagt twee "
    "aanwijzingen en de meeste ondermijnende adressen hebben er één; de overige valse signalen "
    "zijn één volle vlag plus één partnermelding op hetzelfde adres",
)
def test_signals_reach_80_recall_at_80_precision(mismatched):
    """Signals of priority hoog or middel (address and person) against the truth."""
    _, _, evaluation, _ = mismatched
    score = evaluation.signalen["hoog_middel"]
    assert score.recall >= 0.8 and score.precisie >= 0.8, score


#: Cases whose report top 5 of signals holds fewer than 4 subversive ones today (GM0489-seed1
#: passes since signals are prioritised by evidence strength).
TOP5_BELOW_80: set[str] = set()


def test_report_top5_signals_are_subversive(mismatched, request):
    _, _, evaluation, case = mismatched
    _xfail_for(
        request,
        case,
        TOP5_BELOW_80,
        "3 van de 5 getoonde signalen zijn achtergrondadressen met een partnermelding",
    )
    score = evaluation.signalen["top5"]
    assert score.n_gekozen == 5 and score.precisie >= 0.8, score


def test_lookalikes_and_borderline_cases_stay_out_of_the_report_lists(mismatched):
    """No legitimate look-alike or borderline case among the ten risk locations and the five
    signals the report shows, nor among the signals of priority hoog."""
    planted, results, _, _ = mismatched
    negative = {loc["adres_id"] for loc in planted["locaties"] if loc["waarheid"] != "ondermijnend"}
    assert len(negative) >= 30
    risk = results.risicolocaties.sort_values(
        ["n_soorten", "n_flags", "adres_id"], ascending=[False, False, True]
    )
    signals = results.signalen
    shown = (
        set(risk.head(10)["adres_id"].astype(str))
        | set(signals.head(5)["adres_id"].dropna().astype(str))
        | set(signals.loc[signals["prioriteit"] == "hoog", "adres_id"].dropna().astype(str))
    )
    assert shown & negative == set()

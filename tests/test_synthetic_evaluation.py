"""Scoring against the truth of planted.json (bcba.synthetic.evaluation), on a hand-made case.

Four candidates and a handful of flags, risk locations and signals whose recall and
precision are worked out by hand in the comments.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from bcba.synthetic.evaluation import Score, evaluate

PLANTED = {
    "kandidaten": [
        # K1: subversive address above the threshold, flagged
        {
            "id": "K1",
            "patroon": "p",
            "flag": "KVK_VEEL_INSCHRIJVINGEN",
            "waarheid": "ondermijnend",
            "entiteit": "adres",
            "boven_drempel": True,
            "adres_ids": ["A1"],
            "kvk_nummers": ["11111111"],
            "transactie_ids": [],
            "persoon": None,
        },
        # K2: legitimate business centre above the threshold, flagged (a false positive)
        {
            "id": "K2",
            "patroon": "bedrijfsverzamelgebouw",
            "flag": "KVK_VEEL_INSCHRIJVINGEN",
            "waarheid": "legitiem",
            "entiteit": "adres",
            "boven_drempel": True,
            "adres_ids": ["A2"],
            "kvk_nummers": [],
            "transactie_ids": [],
            "persoon": None,
        },
        # K3: a resale just after the ABC window, not flagged
        {
            "id": "K3",
            "patroon": "abc_grens",
            "flag": "KAD_ABC",
            "waarheid": "grensgeval",
            "entiteit": "transactie",
            "boven_drempel": False,
            "adres_ids": ["A3"],
            "kvk_nummers": [],
            "transactie_ids": ["T2"],
            "persoon": None,
        },
        # K4: an officer of two companies; only P-x is an officer of both
        {
            "id": "K4",
            "patroon": "stroman",
            "flag": "KVK_FUNCTIONARIS_VEEL",
            "waarheid": "ondermijnend",
            "entiteit": "persoon",
            "boven_drempel": True,
            "adres_ids": ["A4"],
            "kvk_nummers": ["22222222", "33333333"],
            "transactie_ids": [],
            "persoon": {"naam": "X", "geboortedatum": "1990-01-01"},
        },
    ],
    "locaties": [
        {"adres_id": "A1", "waarheid": "ondermijnend", "patronen": ["p"]},
        {"adres_id": "A2", "waarheid": "legitiem", "patronen": ["bedrijfsverzamelgebouw"]},
        {"adres_id": "A3", "waarheid": "grensgeval", "patronen": ["abc_grens"]},
        {"adres_id": "A4", "waarheid": "ondermijnend", "patronen": ["stroman"]},
    ],
}

FUNCTIONARISSEN = pd.DataFrame(
    {
        "kvk_nummer": ["22222222", "22222222", "33333333"],
        "persoon_id": ["P-x", "P-y", "P-x"],
    }
)


def _flags() -> pd.DataFrame:
    rows = [
        # flag_id, entiteit_id, adres_id, kvk, persoon, transactie
        ("KVK_VEEL_INSCHRIJVINGEN", "A1", "A1", None, None, None),
        ("KVK_KORT_BESTAAN", "11111111", "A1", "11111111", None, None),
        ("KVK_VEEL_INSCHRIJVINGEN", "A2", "A2", None, None, None),
        ("KVK_VEEL_INSCHRIJVINGEN", "A9", "A9", None, None, None),
        ("KVK_FUNCTIONARIS_VEEL", "P-x", "A4", None, "P-x", None),
        ("KAD_ABC", "T9", "A9", None, None, "T9"),
    ]
    columns = ["flag_id", "entiteit_id", "adres_id", "kvk_nummer", "persoon_id", "transactie_id"]
    return pd.DataFrame(rows, columns=columns).astype("string")


def _results() -> SimpleNamespace:
    risk = pd.DataFrame(
        {
            "adres_id": ["A2", "A4", "A9", "A1"],
            "n_soorten": [1, 1, 2, 2],
            "n_flags": [1, 1, 2, 2],
        }
    )
    signals = pd.DataFrame(
        {
            "soort": ["adres", "adres", "persoon", "adres"],
            "entiteit_id": ["A1", "A9", "P-x", "A2"],
            "adres_id": ["A1", "A9", "A4", "A2"],
            "prioriteit": ["hoog", "middel", "laag", "laag"],
        }
    )
    return SimpleNamespace(flags=_flags(), risicolocaties=risk, signalen=signals)


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(PLANTED, _results(), FUNCTIONARISSEN)


def test_candidates_are_matched_by_their_own_identifiers(evaluation):
    flagged = evaluation.kandidaten.set_index("id")["gevlagd"].to_dict()
    # K3's transaction T2 has no ABC record (T9 is another object); K4 via P-x, the common officer
    assert flagged == {"K1": True, "K2": True, "K3": False, "K4": True}


def test_per_flag_recall_precision_and_rule(evaluation):
    table = evaluation.per_vlag.set_index("flag")
    veel = table.loc["KVK_VEEL_INSCHRIJVINGEN"]
    # candidates K1 (subversive, flagged) and K2 (legitimate, flagged)
    assert (veel["n_kandidaten"], veel["n_ondermijnend"], veel["n_gevlagd"]) == (2, 1, 2)
    assert veel["recall"] == 1.0
    assert veel["precisie"] == 0.5
    assert veel["regel"] == 1.0
    # all three flagged addresses A1, A2, A9: only A1 is subversive
    assert (veel["n_vlaggen"], veel["n_vlaggen_ondermijnend"]) == (3, 1)
    assert veel["precisie_alle"] == pytest.approx(1 / 3)
    abc = table.loc["KAD_ABC"]
    assert math.isnan(abc["recall"]) and math.isnan(abc["precisie"])
    assert abc["regel"] == 1.0
    assert (abc["n_vlaggen"], abc["n_vlaggen_ondermijnend"]) == (1, 0)
    functionaris = table.loc["KVK_FUNCTIONARIS_VEEL"]
    assert (functionaris["recall"], functionaris["precisie"]) == (1.0, 1.0)


def test_location_scores_follow_the_report_order(evaluation):
    # order: A1 and A9 (two kinds; A1 first by id), then A2 and A4; positives A1 and A4
    assert evaluation.locaties["alle"] == Score(4, 2, 2, 2)
    assert evaluation.locaties["meerdere_soorten"] == Score(2, 1, 1, 2)
    assert evaluation.locaties["top10"] == Score(4, 2, 2, 2)
    assert evaluation.locaties["meerdere_soorten"].recall == 0.5
    assert evaluation.locaties["meerdere_soorten"].precisie == 0.5


def test_signal_scores_count_person_signals_in_precision(evaluation):
    # correct: A1 (address) and P-x (officer of K4); found addresses: A1 of {A1, A4}
    assert evaluation.signalen["alle"] == Score(4, 2, 1, 2)
    assert evaluation.signalen["hoog_middel"] == Score(2, 1, 1, 2)
    assert evaluation.signalen["top5"] == Score(4, 2, 1, 2)
    # the person signal P-x counts as correct in precision (2 of 4), not in recall (1 of 2)
    assert evaluation.signalen["alle"].precisie == 0.5
    assert evaluation.signalen["alle"].recall == 0.5


def test_score_precision_and_recall_by_hand():
    # 8 selected, 6 of them subversive, covering 3 of the 4 subversive items (duplicates)
    score = Score(8, 6, 3, 4)
    assert score.precisie == 0.75
    assert score.recall == 0.75
    assert Score(5, 1, 1, 4).precisie == 0.2 and Score(5, 1, 1, 4).recall == 0.25


def test_empty_selection_has_undefined_precision():
    score = Score(0, 0, 0, 3)
    assert score.recall == 0.0
    assert math.isnan(score.precisie)

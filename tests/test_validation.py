"""Tests of bcba.validation: hit rate/PAI by hand, KDE values, time split, spatial CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bcba.errors import ConfigError
from bcba.validation import (
    KDE,
    RTM,
    conclusion,
    hit_rate_pai,
    kde_surface,
    spatial_blocks,
    spatial_cv,
    split_events,
    validate_rtm,
)
from tests.test_rtm import X0, Y0, make_grid, points, simulate


def test_hit_rate_and_pai_by_hand_on_4x4_grid():
    cells = make_grid(4)  # 16 cells of 1 ha
    scores = np.zeros(16)
    scores[[5, 6, 9]] = [3.0, 2.0, 1.0]
    scores[[0, 15]] = 1.0  # tie with cell 9: broken by cel_id (c0000 first, then c0009)
    # 10 test events: 4 in cell 5, 2 in cell 6, 1 in cell 9, 3 elsewhere
    counts = np.zeros(16)
    counts[[5, 6, 9, 12]] = [4, 2, 1, 3]
    area = np.full(16, 10_000.0)
    area[5] = 5_000.0  # half of cell 5 lies outside the area; A = 155,000 m2
    table = hit_rate_pai(
        scores, counts, area, tiebreak=cells["cel_id"].to_numpy(), area_shares=(0.05, 0.10, 0.20)
    )
    # 5%: target 7,750 m2 -> cell 5 (5,000) then cell 6 crosses it -> 2 cells, 15,000 m2
    # 10%: target 15,500 -> cells 5, 6, then 0 (tie winner) -> 25,000 m2
    # 20%: target 31,000 -> 5, 6, 0, 9 -> 35,000 m2
    assert table["n_cellen"].tolist() == [2, 3, 4]
    np.testing.assert_allclose(table["werkelijk_aandeel"], [15 / 155, 25 / 155, 35 / 155])
    np.testing.assert_allclose(table["hit_rate"], [0.6, 0.6, 0.7])
    np.testing.assert_allclose(table["pai"], [0.6 * 155 / 15, 0.6 * 155 / 25, 0.7 * 155 / 35])
    assert (table["n_test_events"] == 10).all()


def test_kde_quartic_values_by_hand():
    cells = make_grid(3)
    events = points([X0 + 150.0], [Y0 + 150.0])  # on the centre cell's centroid
    density = kde_surface(cells, events, bandwidth=300)
    k0 = 3 / (np.pi * 300**2)
    expected = np.array(
        [
            k0 * (1 - d**2 / 300**2) ** 2
            for d in [
                np.sqrt(2) * 100,
                100,
                np.sqrt(2) * 100,
                100,
                0,
                100,
                np.sqrt(2) * 100,
                100,
                np.sqrt(2) * 100,
            ]
        ]
    )
    np.testing.assert_allclose(density, expected)
    with pytest.raises(ConfigError):
        kde_surface(cells, events, bandwidth="chainey")


def test_split_events_default_is_middle_of_period():
    ev = points([X0] * 3, [Y0] * 3)
    ev["datum"] = pd.to_datetime(["2024-01-01", "2024-06-01", "2025-01-01"])
    train, test, split = split_events(ev)
    assert split == pd.Timestamp("2024-07-02")
    assert len(train) == 2 and len(test) == 1
    with pytest.raises(ConfigError, match="Splitsdatum"):
        split_events(ev, "2030-01-01")


def test_validate_rtm_against_kde_on_planted_data():
    cells, events, factors, exposure = simulate(2, n=30, n_events=600)
    table = validate_rtm(cells, events, factors, exposure=exposure)
    assert table["methode"].tolist() == [RTM] * 3 + [KDE] * 3
    assert set(table.columns) >= {
        "methode",
        "aandeel_oppervlak",
        "hit_rate",
        "pai",
        "n_test_events",
        "n_train_events",
    }
    rtm = table[table["methode"] == RTM].set_index("aandeel_oppervlak")
    assert (rtm["pai"] > 1).all()  # better than random on a planted factor
    assert table.attrs["conclusie"] == conclusion(table)
    assert "RTM" in table.attrs["conclusie"]


def test_conclusion_says_when_baseline_wins():
    table = pd.DataFrame(
        {
            "methode": [RTM, RTM, KDE, KDE],
            "aandeel_oppervlak": [0.05, 0.10, 0.05, 0.10],
            "pai": [1.5, 1.2, 2.5, 2.0],
            "n_test_events": [100] * 4,
        }
    )
    text = conclusion(table)
    assert text.startswith("De KDE-basislijn")
    assert "PAI RTM 1,50 tegen KDE 2,50" in text


def test_spatial_cv_blocks_and_folds():
    cells, events, factors, exposure = simulate(4, n=20, n_events=400, n_noise=1)
    folds = spatial_blocks(cells, block_size=500, k=3, seed=0)
    # every 500 m block (5 x 5 cells) lies in exactly one fold
    block = (np.arange(400) % 20) // 5 + 4 * ((np.arange(400) // 20) // 5)
    assert all(len(set(folds[block == b])) == 1 for b in range(16))
    assert set(folds) == {0, 1, 2}
    result = spatial_cv(cells, events, factors, exposure=exposure, k=3, block_size=500)
    assert result["fold"].tolist() == [0, 1, 2]
    assert result["n_cellen"].sum() == len(cells)
    # the planted factor makes the RTM beat the exposure-only model on held-out blocks
    assert (result["deviantie_rtm"] < result["deviantie_alleen_blootstelling"]).mean() >= 2 / 3
    with pytest.raises(ConfigError):
        spatial_blocks(cells, block_size=10_000, k=3)

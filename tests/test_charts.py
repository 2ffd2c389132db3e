"""Report charts: what is drawn (read from the Axes before saving) against hand-worked cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection

from bcba.errors import ConfigError
from bcba.report import charts


def _bars(ax):
    return [p for p in ax.patches if p.get_gid() == charts.GID_BARS]


def test_top_buurten_bars_follow_the_ranks():
    frame = pd.DataFrame(
        {
            "buurtnaam": ["Oost", "Centrum", "West", "Noord"],
            "score": [2.25, 4.5, 1.0, 3.75],
            "rank": [3, 1, 4, 2],
        }
    )
    fig = charts.top_buurten_figure(frame, n=3, titel="Drugs")
    ax = fig.axes[0]
    assert len(fig.axes) == 1  # no rank interval given: no second panel
    bars = _bars(ax)
    # rank 1 at the top: the y-axis runs downwards, bar i sits at y = i
    assert ax.yaxis_inverted()
    assert [b.get_width() for b in bars] == [4.5, 3.75, 2.25]
    assert [b.get_y() + b.get_height() / 2 for b in bars] == [0, 1, 2]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1. Centrum", "2. Noord", "3. Oost"]
    # the labels at the bars' ends, Dutch (3,75 and 2,25 round half to even)
    assert [t.get_text() for t in ax.texts] == ["4,5", "3,8", "2,2"]
    assert charts.top_buurten_png(frame)[:8] == b"\x89PNG\r\n\x1a\n"


def test_top_buurten_draw_the_rank_interval_when_given():
    frame = pd.DataFrame(
        {
            "buurtnaam": ["A", "B", "C"],
            "score": [3.0, 2.0, 1.0],
            "rank": [1, 2, 3],
            "rank_low": [1, 1, np.nan],
            "rank_high": [2, 5, np.nan],
        }
    )
    fig = charts.top_buurten_figure(frame)
    ax, rank_ax = fig.axes
    lines = [c for c in rank_ax.collections if isinstance(c, LineCollection)]
    segments = [seg.tolist() for seg in lines[0].get_segments()]
    # one segment per known interval, at the bar's height: (low, y) -> (high, y)
    assert segments == [[[1.0, 0.0], [2.0, 0.0]], [[1.0, 1.0], [5.0, 1.0]]]
    marker = rank_ax.lines[0]
    assert list(marker.get_xdata()) == [1.0, 2.0, 3.0]
    assert rank_ax.xaxis_inverted()
    with pytest.raises(ConfigError, match="rank"):
        charts.top_buurten_figure(frame.drop(columns="rank"))


@pytest.fixture
def partners() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "datum": pd.to_datetime(
                ["2024-01-15", "2024-03-31", "2024-04-01", "2024-12-31", "2025-01-01", "2024-02-02"]
            ),
            "thema": ["drugs", "drugs", "drugs", "drugs", "drugs", "omg"],
            "bron": ["politie", "handhaving", "politie", "politie", "politie", "politie"],
        }
    )


def test_events_per_quarter_hand_counted(partners):
    table = charts.events_per_quarter(partners, thema="drugs", periode=("2024-01-01", "2024-12-31"))
    # 31 March is still K1, 1 April K2; nothing in K3; 2025 lies outside the period
    assert list(table.index) == ["2024 K1", "2024 K2", "2024 K3", "2024 K4"]
    assert table["aantal"].tolist() == [2, 1, 0, 1]
    everything = charts.events_per_quarter(partners)
    assert everything.loc["2024 K1", "aantal"] == 3 and everything.loc["2025 K1", "aantal"] == 1


def test_partner_events_bars_are_the_counts(partners):
    fig = charts.partner_events_figure(
        partners, thema="drugs", periode=("2024-01-01", "2024-12-31"), by="bron"
    )
    ax = fig.axes[0]
    bars = _bars(ax)
    # stacked: handhaving first (alphabetical), then politie on top of it
    heights = [b.get_height() for b in bars]
    bottoms = [b.get_y() for b in bars]
    assert heights == [1, 0, 0, 0, 1, 1, 0, 1]
    assert bottoms == [0, 0, 0, 0, 1, 0, 0, 0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "2024 K1",
        "2024 K2",
        "2024 K3",
        "2024 K4",
    ]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Handhaving", "Politie"]
    assert ax.get_ylabel() == "Aantal meldingen"


def test_perception_distribution_hand_worked():
    answers = [
        ("r1", "drugs", 1),
        ("r1", "drugs", 2),  # answered twice: mean 1,5 rounds to 2
        ("r2", "drugs", 2),
        ("r3", "drugs", 3),
        ("r4", "drugs", 5),
        ("r5", "drugs", 5),
        ("r6", "drugs", 4),
        *[(f"q{i}", "omg", 3) for i in range(4)],  # four respondents: not shown
    ]
    percepties = pd.DataFrame(answers, columns=["respondent_id", "thema", "score"])
    dist = charts.perception_distribution(percepties)
    assert list(dist.index) == ["drugs"]
    assert dist.loc["drugs", "n"] == 6
    shares = [dist.loc["drugs", k] for k in range(1, 6)]
    assert shares == pytest.approx([0, 2 / 6, 1 / 6, 1 / 6, 2 / 6])
    fig = charts.perception_figure(percepties, labels={"drugs": "Drugs"})
    ax = fig.axes[0]
    bars = _bars(ax)
    assert [b.get_width() for b in bars] == pytest.approx([0, 2 / 6, 1 / 6, 1 / 6, 2 / 6])
    assert [b.get_x() for b in bars] == pytest.approx([0, 0, 2 / 6, 3 / 6, 4 / 6])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Drugs (n = 6)"]
    only_small = percepties[percepties["thema"] == "omg"]
    assert charts.perception_figure(only_small) is None
    assert charts.perception_png(only_small) is None
    assert charts.perception_png(percepties)[:4] == b"\x89PNG"

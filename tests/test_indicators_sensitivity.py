"""Rank intervals of the composite scores (uncertainty analysis, OECD/JRC handbook)."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pandas as pd
import pytest

from bcba.indicators import scores
from bcba.themes import INDICATORS, load_themes


@pytest.fixture(scope="module")
def themes():
    return load_themes()


def _table(values: dict[str, list[float]], thema: str = "drugs") -> pd.DataFrame:
    """Long indicator table of one theme from buurt -> values in INDICATORS order."""
    rows = [
        {"buurtcode": code, "thema": thema, "indicator": ind, "waarde": v}
        for code, vals in values.items()
        for ind, v in zip(INDICATORS, vals, strict=True)
    ]
    return pd.DataFrame(rows)


def _brute_force(values, weights, clip):
    """Min and max rank over every normalisation x left-out indicator, written out by hand."""
    codes = list(values)
    cols = list(zip(*values.values(), strict=True))

    def robust(col):
        med = statistics.median(col)
        dev = [abs(v - med) for v in col]
        scale = 1.4826 * statistics.median(dev) or 1.2533 * statistics.fmean(dev)
        return [max(-clip, min(clip, (v - med) / scale)) if scale else 0.0 for v in col]

    def minmax(col):
        lo, hi = min(col), max(col)
        return [(v - lo) / (hi - lo) if hi > lo else 0.0 for v in col]

    def rank(col):
        n = len(col)
        out = []
        for v in col:
            below = sum(u < v for u in col)
            equal = sum(u == v for u in col)
            out.append((below + (equal + 1) / 2 - 0.5) / n)
        return out

    ranks = {c: [] for c in codes}
    for norm, left_out in itertools.product((robust, minmax, rank), [None, 0, 1, 2, 3]):
        z = [norm(list(col)) for col in cols]
        score = {
            c: sum(weights[j] * z[j][i] for j in range(len(INDICATORS)) if j != left_out)
            for i, c in enumerate(codes)
        }
        for c in codes:
            ranks[c].append(1 + sum(score[o] > score[c] for o in codes))
    return {c: (min(r), max(r)) for c, r in ranks.items()}


def test_hand_built_four_buurten_match_a_brute_force_enumeration(themes):
    values = {
        "A": [4.0, 4.0, 4.0, 4.0],  # dominates every indicator
        "B": [3.0, 1.0, 2.0, 2.0],
        "C": [1.0, 3.0, 2.0, 2.0],
        "D": [2.0, 2.0, 1.0, 1.0],
    }
    out = scores.rank_intervals(
        _table(values),
        themes,
        clip=3.0,
        transforms={},
        replicaties=3000,
        spreiding=0.0,
        kwantielen=(0.0, 100.0),
    ).set_index("buurtcode")
    weights = [themes.weights("drugs")[i] for i in INDICATORS]
    expected = _brute_force(values, weights, 3.0)
    got = {c: (int(out.loc[c, "rang_laag"]), int(out.loc[c, "rang_hoog"])) for c in values}
    assert got == expected
    assert got["A"] == (1, 1)
    # by hand: B and C differ only in LQ (B +2) and flags (C +2); with the flag weight 1.5
    # against 1.0, C is ahead unless the flags are left out -> both rank 2-3. D is behind B
    # and C on three of four indicators in every normalisation (e.g. ranks: B - D = 0.25 -
    # 1.5 * 0.25 + 0.375 + 1.5 * 0.375 > 0, and still > 0 with any one left out) -> 4-4
    assert got == {"A": (1, 1), "B": (2, 3), "C": (2, 3), "D": (4, 4)}


def test_dominating_buurt_is_always_first_and_twins_share_an_interval(themes):
    rng = np.random.default_rng(11)
    values = {f"B{i:02d}": list(rng.lognormal(0, 1, len(INDICATORS))) for i in range(30)}
    values["TOP"] = [max(v[j] for v in values.values()) * 1.5 for j in range(len(INDICATORS))]
    values["TWIN"] = list(values["B07"])
    out = scores.rank_intervals(_table(values), themes, clip=5.0, replicaties=200).set_index(
        "buurtcode"
    )
    assert (out.loc["TOP", "rang_laag"], out.loc["TOP", "rang_hoog"]) == (1, 1)
    assert out.loc["TWIN"].tolist() == out.loc["B07"].tolist()
    assert (out["rang_laag"] <= out["rang_hoog"]).all()


def test_first_replicate_is_the_reported_score_and_small_areas_get_no_interval(themes):
    rng = np.random.default_rng(5)
    values = {f"B{i}": list(rng.lognormal(0, 1, len(INDICATORS))) for i in range(12)}
    table = _table(values)
    rankable = pd.Series({c: c != "B3" for c in values})
    sc, _ = scores.composite_scores(table, themes, clip=5.0, rankable=rankable)
    one = scores.rank_intervals(table, themes, clip=5.0, rankable=rankable, replicaties=1)
    merged = sc.merge(one, on=["buurtcode", "thema"]).set_index("buurtcode")
    ranked = merged.drop(index="B3")
    assert (ranked["rang"] == ranked["rang_laag"]).all()
    assert (ranked["rang"] == ranked["rang_hoog"]).all()
    assert pd.isna(merged.loc["B3", "rang_laag"]) and pd.isna(merged.loc["B3", "rang_hoog"])


def test_leaving_out_the_only_informative_indicator_does_not_tie_everyone(themes):
    values = {f"B{i}": [float(i + 1), 1.0, 1.0, 1.0] for i in range(10)}  # only the LQ varies
    out = scores.rank_intervals(
        _table(values), themes, transforms={}, replicaties=200, spreiding=0.5
    ).set_index("buurtcode")
    # with the LQ the only information, every replicate ranks by it
    assert out["rang_laag"].tolist() == list(range(10, 0, -1))
    assert out["rang_hoog"].tolist() == list(range(10, 0, -1))


def test_normalisations_by_hand():
    m = np.array([[1.0, np.nan], [2.0, 5.0], [4.0, 5.0], [3.0, 7.0]])
    mm = scores.normalise(m, "minmax")
    assert mm[:, 0].tolist() == pytest.approx([0.0, 1 / 3, 1.0, 2 / 3])
    assert mm[0, 1] == pytest.approx(0.0)  # missing -> the median (5) -> 0
    rk = scores.normalise(m, "rang")
    assert rk[:, 0].tolist() == pytest.approx([0.125, 0.375, 0.875, 0.625])
    assert rk[:, 1].tolist() == pytest.approx([0.5, (1.5 - 0.5) / 3, (1.5 - 0.5) / 3, 2.5 / 3])

"""Small-cell suppression that holds, rounding and the export writer.

The oracle is an attacker written here, independently of ``bcba.export``: from the
published frame alone (rounded values, statuses, the documented rules) it solves the
table's row and column sums as a linear system (exact recovery) and as a linear
programme (the tightest interval for every hidden cell), with numpy and scipy.optimize.
"""

from __future__ import annotations

import json
import math
import stat

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from bcba import audit, export
from bcba.errors import ConfigError, PrivacyError
from bcba.io import read_csv

# --------------------------------------------------------------------------- the attacker


def _round_half_up(n: int, base: int) -> int:
    return int(math.floor(n / base + 0.5)) * base


def what_a_published_value_tells(v: int, *, threshold: int, base: int) -> tuple[int, int]:
    """The counts that publish as ``v``: round to it, and are 0 or at least the threshold."""
    counts = [
        n
        for n in range(max(0, v - base), v + base + 1)
        if _round_half_up(n, base) == v and (n == 0 or n >= threshold)
    ]
    return min(counts), max(counts)


def _line_sums(rows: int, cols: int) -> sp.csr_matrix:
    """Every row and column of a table with totals (last row/column): cells minus total."""
    entries = []
    for i in range(rows):
        entries += [(i, i * cols + j, -1.0 if j == cols - 1 else 1.0) for j in range(cols)]
    for j in range(cols):
        entries += [(rows + j, i * cols + j, -1.0 if i == rows - 1 else 1.0) for i in range(rows)]
    r, c, v = zip(*entries, strict=True)
    return sp.csr_matrix((v, (r, c)), shape=(rows + cols, rows * cols))


def published_table(frame: pd.DataFrame, key: str) -> np.ndarray:
    """What the attacker reads: the table with totals, -1 where a cell is hidden."""
    areas = list(dict.fromkeys(frame[key]))
    themes = list(dict.fromkeys(frame["thema"]))
    values = frame.pivot(index=key, columns="thema", values="aantal").reindex(
        index=areas, columns=themes
    )
    return values.fillna(-1).to_numpy(dtype=np.int64)


def attack(tables: list[tuple[np.ndarray, int, int]], *, integer: bool = False) -> list:
    """The tightest bounds of every hidden cell (-1) of each published table, by linear (or
    integer) programming: minimise and maximise it over all tables with non-negative
    counts that add up and publish the same. All the cells' programmes are solved at once
    as one block-diagonal programme. Returns per table (lower, upper), NaN where
    published, inf where unbounded."""
    blocks, lows, highs, goals, which = [], [], [], [], []
    for t, (pub, threshold, base) in enumerate(tables):
        rows, cols = pub.shape
        lines = _line_sums(rows, cols)
        unbounded = 10.0 * (np.abs(pub).sum() + base * pub.size + 10)
        lo, hi = np.zeros(pub.size), np.full(pub.size, unbounded)
        for k, v in enumerate(pub.ravel()):
            if v >= 0:
                lo[k], hi[k] = what_a_published_value_tells(int(v), threshold=threshold, base=base)
        for k in np.flatnonzero(pub.ravel() < 0):
            goal = np.zeros(pub.size)
            goal[k] = 1.0
            blocks.append(lines)
            lows.append(lo)
            highs.append(hi)
            goals.append(goal)
            which.append((t, divmod(int(k), cols), unbounded))
    out = [(np.full(p.shape, np.nan), np.full(p.shape, np.nan)) for p, _, _ in tables]
    if not blocks:
        return out
    a = sp.block_diag(blocks, format="csr")
    lb, ub, goal = np.concatenate(lows), np.concatenate(highs), np.concatenate(goals)
    if integer:
        sums = LinearConstraint(a, 0, 0)
        ints = np.ones(goal.size)
        low = milp(goal, constraints=sums, bounds=Bounds(lb, ub), integrality=ints)
        high = milp(-goal, constraints=sums, bounds=Bounds(lb, ub), integrality=ints)
    else:
        zero, box = np.zeros(a.shape[0]), np.c_[lb, ub]
        low = linprog(goal, A_eq=a, b_eq=zero, bounds=box, method="highs")
        high = linprog(-goal, A_eq=a, b_eq=zero, bounds=box, method="highs")
    assert low.status == 0 and high.status == 0
    at = 0
    for (t, cell, unbounded), block in zip(which, blocks, strict=True):
        k = cell[0] * tables[t][0].shape[1] + cell[1]
        out[t][0][cell] = round(low.x[at + k], 6)
        top = high.x[at + k]
        out[t][1][cell] = np.inf if top > unbounded / 2 else round(top, 6)
        at += block.shape[1]
    return out


def solvable_cells(pub: np.ndarray) -> list[tuple[int, int]]:
    """Hidden cells that the row and column sums determine exactly (rounding base 1): the
    cells where every solution of the homogeneous system (the sums over the hidden cells
    equal to zero) is zero, i.e. the rows of its null space basis that vanish."""
    from scipy.linalg import null_space

    hidden = pub.ravel() < 0
    lines = _line_sums(*pub.shape).toarray()[:, hidden]
    free = null_space(lines)  # moves of the hidden cells that keep every sum
    fixed = np.abs(free).max(axis=1, initial=0.0) < 1e-9
    return [divmod(int(flat), pub.shape[1]) for flat in np.flatnonzero(hidden)[fixed]]


def _long(matrix: np.ndarray) -> pd.DataFrame:
    r, c = matrix.shape
    return pd.DataFrame(
        {
            "wijkcode": np.repeat([f"W{i:02d}" for i in range(r)], c),
            "thema": np.tile([f"t{j}" for j in range(c)], r),
            "aantal": matrix.ravel(),
        }
    )


def _with_totals(matrix: np.ndarray) -> np.ndarray:
    r, c = matrix.shape
    out = np.zeros((r + 1, c + 1), dtype=np.int64)
    out[:r, :c] = matrix
    out[:r, c] = matrix.sum(axis=1)
    out[r, :c] = matrix.sum(axis=0)
    out[r, c] = matrix.sum()
    return out


def _random_tables(seed: int, n: int, *, bases=(1,)):
    """Seeded tables as a RIEC would export them: many zeros, many small counts, some
    large ones, 1-6 areas by 1-6 themes."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        r, c = (int(v) for v in rng.integers(1, 7, 2))
        kind = rng.random((r, c))
        matrix = np.where(
            kind < 0.25,
            0,
            np.where(kind < 0.6, rng.integers(1, 15, (r, c)), rng.integers(10, 200, (r, c))),
        )
        yield matrix, int(rng.integers(2, 16)), int(rng.choice(bases))


# --------------------------------------------------------------------------- the cases

#: issue 16: a 5 x 5 table, rounding base 1, in which the old rule ("every row and column
#: has 0 or at least 2 hidden cells") hid two rectangles of cells joined by a bridge
BRIDGE = np.array(
    [
        [34, 2, 14, 14, 35],
        [3, 49, 6, 59, 21],
        [33, 54, 24, 22, 38],
        [41, 28, 5, 1, 43],
        [36, 56, 7, 52, 54],
    ]
)
OLD_PATTERN = np.array(
    [
        [0, 1, 0, 1, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
    ],
    dtype=bool,
)


def test_the_attack_recovers_the_bridge_cell_of_the_old_rule():
    # the oracle is not blind: under the old pattern, the 5 in row 4, column 3 comes out
    ext = _with_totals(BRIDGE)
    assert ext[-1, -1] == 731 and ext[3, -1] == 118
    for line in (*OLD_PATTERN, *OLD_PATTERN.T):
        assert line.sum() in (0, 2, 3)  # the old rule held
    pub = np.where(OLD_PATTERN, -1, ext)
    assert solvable_cells(pub) == [(3, 2)]
    (lower, upper) = attack([(pub, 10, 1)])[0]
    assert lower[3, 2] == upper[3, 2] == 5


def test_bridge_table_is_protected_now():
    out = export.export_landelijk(_long(BRIDGE), threshold=10, rounding_base=1)
    pub = published_table(out, "wijkcode")
    assert (pub < 0).sum() == out.attrs["primair"] + out.attrs["secundair"]
    assert solvable_cells(pub) == []
    for integer in (False, True):
        lower, upper = attack([(pub, 10, 1)], integer=integer)[0]
        hidden = pub < 0
        assert (upper[hidden] - lower[hidden] >= 10).all()
        truth = _with_totals(BRIDGE)
        assert (lower[hidden] <= truth[hidden]).all() and (truth[hidden] <= upper[hidden]).all()


def test_hand_checked_example():
    counts = pd.DataFrame(
        {
            "wijkcode": ["W1", "W1", "W2", "W2", "W3"],
            "thema": ["drugs", "omg", "drugs", "omg", "drugs"],
            "aantal": [12, 3, 40, 0, 25],
        }
    )
    out = export.export_landelijk(counts)
    assert list(out.columns) == ["wijkcode", "thema", "aantal", "status"]
    got = {
        (w, t): (None if pd.isna(a) else int(a), s) for w, t, a, s in out.itertuples(index=False)
    }
    hidden, shown = export.SUPPRESSED, export.PUBLISHED
    assert got == {
        # W1/omg (3) alone in its row has only the rounding of 12 and 15 as room (6 < 10);
        # the cheapest rectangle that protects it: W1/drugs and the drugs total
        ("W1", "drugs"): (None, hidden),
        ("W1", "omg"): (None, hidden),
        ("W1", "totaal"): (15, shown),
        ("W2", "drugs"): (40, shown),
        ("W2", "omg"): (0, shown),  # zeros are published
        ("W2", "totaal"): (40, shown),
        ("W3", "drugs"): (25, shown),
        ("W3", "omg"): (0, shown),  # missing combination counts as 0
        ("W3", "totaal"): (25, shown),
        ("totaal", "drugs"): (None, hidden),
        ("totaal", "omg"): (None, hidden),  # total 3 is itself a small cell
        ("totaal", "totaal"): (80, shown),
    }
    assert out.attrs == {
        "drempel": 10,
        "afrondingsbasis": 5,
        "bescherming": 10,
        "primair": 2,
        "secundair": 2,
    }
    # by hand: W1 drugs + omg = 13..17; the omg column is 0 apart from W1; all themes
    # together 78..82, W2 and W3 38..42 and 23..27: omg can be anything from 0 to 17
    lower, upper = attack([(published_table(out, "wijkcode"), 10, 5)])[0]
    assert (lower[0, 1], upper[0, 1]) == (0, 17)
    assert (lower[3, 0], upper[3, 0]) == (61, 82)


# --------------------------------------------------------------------------- random tables


def _publish(matrix: np.ndarray, threshold: int, base: int) -> np.ndarray:
    """The table as :func:`bcba.export.export_landelijk` publishes it (-1: hidden), made
    from :func:`bcba.export.suppress` without the frame (thousands of tables)."""
    primary, secondary = export.suppress(matrix, threshold=threshold, rounding_base=base)
    rounded = (np.floor(_with_totals(matrix) / base + 0.5) * base).astype(np.int64)
    return np.where(primary | secondary, -1, rounded)


def test_no_hidden_cell_is_recovered_by_solving_the_linear_system():
    recovered_before, tables = 0, 0
    for matrix, threshold, _ in _random_tables(seed=16, n=2000):
        ext = _with_totals(matrix)
        primary = (ext > 0) & (ext < threshold)
        if not primary.any():
            continue
        tables += 1
        # the attack is not blind: hiding only the small cells gives many away
        recovered_before += bool(solvable_cells(np.where(primary, -1, ext)))
        assert solvable_cells(_publish(matrix, threshold, 1)) == [], (matrix.tolist(), threshold)
    assert tables > 1400 and recovered_before > tables // 2


@pytest.mark.parametrize("seed", [19, 20])
def test_no_hidden_cell_can_be_narrowed_below_the_threshold(seed):
    cases, truths = [], []
    for matrix, threshold, base in _random_tables(seed=seed, n=500, bases=(1, 3, 5)):
        cases.append((_publish(matrix, threshold, base), threshold, base))
        truths.append(_with_totals(matrix))
    for (pub, threshold, base), truth, (lower, upper) in zip(
        cases, truths, attack(cases), strict=True
    ):
        hidden = pub < 0
        width = upper[hidden] - lower[hidden]
        assert (width >= threshold).all(), (truth.tolist(), threshold, base)
        assert (lower[hidden] <= truth[hidden]).all() and (truth[hidden] <= upper[hidden]).all()
    # the module's own audit finds the same intervals (a sample: it is slower per table)
    for (pub, threshold, base), truth, (lower, upper) in list(
        zip(cases, truths, attack(cases[:60]), strict=False)
    ):
        hidden = pub < 0
        own_lower, own_upper = export.audit(
            truth[:-1, :-1], hidden, threshold=threshold, rounding_base=base
        )
        assert np.array_equal(own_lower[hidden], lower[hidden])
        assert np.array_equal(own_upper[hidden], upper[hidden])


@pytest.mark.parametrize(
    "matrix",
    [
        np.array([[4]]),  # one cell: everything hidden
        np.array([[3, 0, 0], [0, 0, 0]]),  # a small cell among zeros (zeros cannot go down)
        np.array([[1, 500, 500], [500, 500, 500], [500, 500, 500]]),  # one small, large rest
        np.array([[1, 2, 3], [4, 5, 6]]),  # every cell small
        np.array([[9, 9, 9, 9, 9, 9, 9]]),  # one row of small cells, large total
        np.array([[1], [40], [40], [40]]),  # one column
        np.array([[12, 12], [12, 1]]),  # the cell across from the small one is small
        # four small cells forming a rectangle: it moves them by only 2 down and 4 up
        np.array([[8, 4, 50], [4, 2, 50], [50, 50, 50]]),
        np.array([[50, 50, 50, 3], [50, 50, 50, 6]]),  # small cells make a small total
    ],
)
def test_adversarial_tables(matrix):
    for base in (1, 5):
        out = export.export_landelijk(_long(matrix), threshold=10, rounding_base=base)
        pub = published_table(out, "wijkcode")
        lower, upper = attack([(pub, 10, base)])[0]
        hidden = pub < 0
        assert (upper[hidden] - lower[hidden] >= 10).all()


def test_protection_width_can_be_set():
    matrix = np.array([[3, 40, 50], [30, 40, 50], [30, 40, 50]])
    for protection in (1, 25):
        out = export.export_landelijk(
            _long(matrix), threshold=10, rounding_base=1, protection=protection
        )
        assert out.attrs["primair"] == 1
        lower, upper = attack([(published_table(out, "wijkcode"), 10, 1)])[0]
        hidden = np.isfinite(lower)
        assert (upper[hidden] - lower[hidden] >= protection).all()
        assert hidden.sum() >= 4  # a lone small cell needs three partners at least


# --------------------------------------------------------------------------- the frame


def test_export_frame_properties():
    for matrix, threshold, base in _random_tables(seed=7, n=60, bases=(1, 5)):
        r, c = matrix.shape
        out = export.export_landelijk(_long(matrix), threshold=threshold, rounding_base=base)
        assert len(out) == (r + 1) * (c + 1)
        assert set(out["status"]) <= {export.PUBLISHED, export.SUPPRESSED}
        pub = out["status"] == export.PUBLISHED
        assert out.loc[~pub, "aantal"].isna().all()
        assert (out.loc[pub, "aantal"] % base == 0).all()
        flat = _with_totals(matrix).ravel()[pub.to_numpy()]
        assert not ((flat > 0) & (flat < threshold)).any()
        # the frame hides exactly what suppress() hides, and shows the rounded rest
        assert np.array_equal(published_table(out, "wijkcode"), _publish(matrix, threshold, base))


def test_wide_input_and_rounding():
    wide = pd.DataFrame(
        {"drugs": [12, 23, 37], "omg": [10, 0, 48]},
        index=pd.Index(["A", "B", "C"], name="gemeente"),
    )
    out = export.export_landelijk(wide, threshold=10, rounding_base=5)
    assert (out["status"] == export.PUBLISHED).all()
    assert out["aantal"].tolist() == [10, 10, 20, 25, 0, 25, 35, 50, 85, 70, 60, 130]
    raw = export.export_landelijk(wide, rounding_base=1)
    assert raw["aantal"].tolist() == [12, 10, 22, 23, 0, 23, 37, 48, 85, 72, 58, 130]


def test_round_to_base_half_up():
    values = [0, 2, 3, 7, 8, 12, 13, 10]
    assert export.round_to_base(np.array(values), 5).tolist() == [
        _round_half_up(v, 5) for v in values
    ]
    assert export.round_to_base(np.array(values), 5).tolist() == [0, 0, 5, 5, 10, 10, 15, 10]
    assert export.round_to_base(np.array([1, 2, 3]), 1).tolist() == [1, 2, 3]


def test_published_bounds_match_the_attackers_reading():
    values = np.arange(0, 60)
    for base in (1, 2, 3, 4, 5, 10):
        for threshold in (1, 3, 10):
            shown = (values == 0) | (values >= threshold)
            lo, hi = export.published_bounds(values[shown], threshold=threshold, rounding_base=base)
            expected = [
                what_a_published_value_tells(
                    _round_half_up(int(v), base), threshold=threshold, base=base
                )
                for v in values[shown]
            ]
            assert list(zip(lo.tolist(), hi.tolist(), strict=True)) == expected


def test_single_cell_table_fully_suppressed():
    out = export.export_landelijk(
        pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [4]})
    )
    assert out["status"].tolist() == [export.SUPPRESSED] * 4  # cell and its three totals


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [-1]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [1.5]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["drugs"], "aantal": [None]}), "gehele aantallen"),
        (pd.DataFrame({"gebied": ["A", "A"], "thema": ["drugs"] * 2, "aantal": [1, 2]}), "dubbele"),
        (pd.DataFrame({"gebied": ["A"], "thema": ["totaal"], "aantal": [20]}), "gereserveerd"),
        (pd.DataFrame({"thema": ["drugs"], "aantal": [20]}), "gebiedskolom"),
    ],
)
def test_invalid_input(frame, match):
    with pytest.raises(ConfigError, match=match):
        export.export_landelijk(frame)


def test_invalid_parameters_and_personal_columns():
    counts = _long(np.array([[20]]))
    with pytest.raises(ConfigError, match="threshold"):
        export.export_landelijk(counts, threshold=0)
    with pytest.raises(ConfigError, match="rounding_base"):
        export.export_landelijk(counts, rounding_base=2.5)
    with pytest.raises(ConfigError, match="protection"):
        export.export_landelijk(counts, protection=0)
    with pytest.raises(PrivacyError, match="naam"):
        export.export_landelijk(counts.assign(naam="Jan"), row_keys=["wijkcode"])


def test_input_not_mutated():
    counts = _long(np.array([[3, 20], [15, 0]]))
    before = counts.copy()
    export.export_landelijk(counts)
    pd.testing.assert_frame_equal(counts, before)


# --------------------------------------------------------------------------- writing


def test_write_export_and_its_audit_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("BCBA_AUDITLOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    flags = tmp_path / "vlaggen.csv"
    flags.write_text("wijkcode;themas\nW00;t0\n", encoding="utf-8")
    out = export.export_landelijk(_long(np.array([[3, 20], [15, 30]])))
    path = export.write_export(out, tmp_path / "uit" / "landelijk.csv", inputs=[flags])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    back = read_csv(path, dtype={"aantal": "Int64"})
    assert back.columns.tolist() == ["wijkcode", "thema", "aantal", "status"]
    assert back["status"].tolist() == out["status"].tolist()
    readme = (tmp_path / "uit" / "landelijk_LEESMIJ.txt").read_text(encoding="utf-8")
    assert "kleiner dan 10" in readme and "veelvoud van 5" in readme and "los afgerond" in readme
    assert "bandbreedte van 10" in readme
    [entry] = audit.read_entries()
    assert entry["command"] == "export-landelijk" and entry["status"] == "voltooid"
    assert entry["parameters"]["cellen"] == 9 and entry["parameters"]["drempel"] == 10
    assert [o["pad"] for o in entry["outputs"]] == [
        str(path),
        str(tmp_path / "uit" / "landelijk_LEESMIJ.txt"),
    ]
    assert entry["inputs"][0]["pad"] == str(flags)
    assert audit.verify().ok
    assert "Jan" not in json.dumps(entry)


def test_write_export_refuses_unprotected_table(tmp_path):
    raw = pd.DataFrame(
        {"wijkcode": ["W1"], "thema": ["drugs"], "aantal": [3], "status": [export.PUBLISHED]}
    )
    with pytest.raises(ConfigError, match="onder de drempel"):
        export.write_export(raw, tmp_path / "x.csv")
    shown = raw.assign(aantal=[30], status=[export.SUPPRESSED])
    with pytest.raises(ConfigError, match="onderdrukte"):
        export.write_export(shown, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()

"""Anonymised aggregate export for the national picture (``bcba landelijk``).

A table of counts (area x theme) is protected in three steps before it leaves the RIEC:

1. **Primary suppression**: every cell (including row, column and grand totals) with
   ``0 < n < threshold`` is suppressed. Zeros are published: a zero says "nothing
   registered here", which points at no one, and suppressing all zeros would hide most of
   a sparse table (see docs/privacy.md for when that is not acceptable).
2. **Secondary suppression, proven by linear programming**: an attacker who knows every
   published (rounded) value, the rules (a published non-zero count is at least the
   threshold) and that counts are non-negative and add up to their totals can bound each
   suppressed cell by minimising and maximising it over all tables that fit (a linear
   programme; :func:`audit`). More cells are suppressed (:func:`suppress`: the cheapest
   rectangle of four cells that protects a cell on its own) until that interval is at
   least ``protection`` (default: the threshold) wide for *every* suppressed cell.
3. **Rounding**: published values are rounded to a multiple of ``rounding_base``
   (half up). Totals are rounded independently of their cells, so published cells need
   not add up to the published total.

Suppressed cells are published with one status, ``onderdrukt``: saying which are primary
would tell an attacker that those lie between 1 and the threshold. The guarantee holds
within one table; combining it with other tables about the same areas can break it (see
docs/privacy.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bcba.errors import ConfigError
from bcba.privacy import check_output_columns

log = logging.getLogger(__name__)

PUBLISHED = "gepubliceerd"
SUPPRESSED = "onderdrukt"
TOTAL = "totaal"
#: Column names of the export (besides the area key columns).
THEME_COLUMN = "thema"
VALUE_COLUMN = "aantal"
STATUS_COLUMN = "status"


def _validate_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} moet een geheel getal >= {minimum} zijn, niet {value!r}")
    return int(value)


def _to_wide(
    counts: pd.DataFrame, *, row_keys: Sequence[str] | None, column_key: str, value: str
) -> tuple[pd.DataFrame, list[str]]:
    """Counts as a wide frame (MultiIndex or Index of area keys x themes) + key names."""
    if value in counts.columns:  # long form
        if column_key not in counts.columns:
            raise ConfigError(
                f"lange tabel heeft kolom '{value}' maar geen kolom '{column_key}'; "
                f"kolommen: {', '.join(map(str, counts.columns))}"
            )
        keys = (
            list(row_keys)
            if row_keys is not None
            else [c for c in counts.columns if c not in (value, column_key)]
        )
        if not keys:
            raise ConfigError("lange tabel heeft geen gebiedskolom (bijv. gemeente of wijkcode)")
        missing = [k for k in keys if k not in counts.columns]
        if missing:
            raise ConfigError(f"gebiedskolom(men) ontbreken: {', '.join(missing)}")
        dup = counts.duplicated(subset=[*keys, column_key], keep=False)
        if dup.any():
            first = counts.loc[dup, [*keys, column_key]].iloc[0].tolist()
            raise ConfigError(
                f"{int(dup.sum())} dubbele combinaties van gebied en thema, bijv. {first}; "
                "tel ze eerst op"
            )
        numbers = _check_counts(counts[value], value)
        long = counts[keys + [column_key]].assign(**{value: numbers})
        row_index = pd.MultiIndex.from_frame(long[keys].drop_duplicates())
        col_index = pd.Index(long[column_key].drop_duplicates().tolist(), name=column_key)
        wide = long.set_index([*keys, column_key])[value].unstack(column_key, fill_value=0)
        if len(keys) == 1:
            row_index = row_index.get_level_values(0)
        wide = wide.reindex(index=row_index, columns=col_index, fill_value=0)
        return wide.astype("int64"), keys
    # wide form: numeric columns are themes, other columns (or the index) are area keys
    numeric = [
        c
        for c in counts.columns
        if pd.api.types.is_numeric_dtype(counts[c]) and c not in (row_keys or ())
    ]
    keys = (
        list(row_keys) if row_keys is not None else [c for c in counts.columns if c not in numeric]
    )
    if not numeric:
        raise ConfigError("tabel heeft geen kolommen met aantallen per thema")
    if keys:
        wide = counts.set_index(keys)[numeric]
    else:
        wide = counts[numeric]
        name = counts.index.name or "gebied"
        wide = wide.rename_axis(name)
        keys = [name]
    if wide.index.duplicated().any():
        raise ConfigError("tabel heeft dubbele gebieden; tel ze eerst op")
    checked = {c: _check_counts(wide[c], str(c)) for c in numeric}
    out = pd.DataFrame(checked, index=wide.index).astype("int64")
    out.columns = pd.Index([str(c) for c in numeric], name=column_key)
    return out, keys


def _check_counts(values: pd.Series, name: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.round(numbers))
    if bad.any():
        examples = values[bad].head(3).tolist()
        raise ConfigError(
            f"kolom '{name}' moet gehele aantallen >= 0 bevatten; {int(bad.sum())} ongeldige "
            f"waarde(n), bijv. {examples}"
        )
    return numbers.astype("int64")


def extend_with_totals(matrix: np.ndarray) -> np.ndarray:
    """The (r+1) x (c+1) table: cells, row totals (last column), column totals (last row)."""
    matrix = np.asarray(matrix, dtype="int64")
    r, c = matrix.shape
    ext = np.zeros((r + 1, c + 1), dtype="int64")
    ext[:r, :c] = matrix
    ext[:r, c] = matrix.sum(axis=1)
    ext[r, :c] = matrix.sum(axis=0)
    ext[r, c] = matrix.sum()
    return ext


def suppress(
    matrix: np.ndarray,
    *,
    threshold: int = 10,
    rounding_base: int = 1,
    protection: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary suppression masks of a count table *with* its margins.

    Primary: every cell (totals included) with ``0 < n < threshold``. Secondary: more
    cells, until :func:`audit` proves that no suppressed cell can be narrowed by an
    attacker to an interval less than ``protection`` wide. Each round audits the cells
    not yet proven safe; for each that fails, the cheapest rectangle of four cells
    (the cell, one in its row, one in its column and the one across; totals count as
    cells) that protects it on its own is suppressed: a rectangle lets its corners move
    together (+d, -d, -d, +d) without changing any published value. Cheap means few and
    small counts, and interior cells before totals. Adding cells only widens intervals, so
    a cell once proven stays proven, and the loop ends (at worst with every cell hidden).

    Parameters
    ----------
    matrix
        r x c non-negative integer counts (without totals).
    threshold
        Cells with ``0 < n < threshold`` are primary suppressed.
    rounding_base
        The base the published values will be rounded to (1 = exact); the attacker's
        knowledge of a published value is its rounding interval.
    protection
        Smallest width of the interval an attacker may derive for a suppressed cell;
        default ``threshold``.

    Returns
    -------
    (primary, secondary)
        Boolean masks of shape (r+1, c+1) over :func:`extend_with_totals` (last row and
        column are the totals).
    """
    ext = extend_with_totals(matrix)
    need = threshold if protection is None else protection
    primary = (ext > 0) & (ext < threshold)
    hidden = primary.copy()
    lo, hi = published_bounds(ext, threshold=threshold, rounding_base=rounding_base)
    flows = None  # the network is made when a cell first needs it
    proven = np.zeros_like(hidden)
    while True:
        todo = [tuple(int(v) for v in cell) for cell in np.argwhere(hidden & ~proven)]
        if not todo:
            break
        lonely = _lonely_width(hidden, hi - lo)
        failing, network_ready = [], False
        for cell in todo:
            if lonely[cell] < need:  # alone in a line: no more room than its rounding
                failing.append(cell)
                continue
            if _rectangle_width(ext, hidden, cell) < need:
                if flows is None:
                    flows = _Circulation(ext, threshold=threshold, rounding_base=rounding_base)
                if not network_ready:
                    flows.hide(hidden)
                    network_ready = True
                if not flows.width_at_least(cell, need):
                    failing.append(cell)
                    continue
            proven[cell] = True
        # the smallest (most sensitive) cells choose their partners first
        for cell in sorted(failing, key=lambda rc: (int(ext[rc]), rc)):
            if _rectangle_width(ext, hidden, cell) >= need:
                continue  # protected by a rectangle chosen for an earlier cell this round
            for corner in _cheapest_rectangle(ext, hidden, cell, need):
                hidden[corner] = True
    return primary, hidden & ~primary


def audit(
    matrix: np.ndarray,
    hidden: np.ndarray,
    *,
    threshold: int = 10,
    rounding_base: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval an attacker can derive for every hidden cell of a protected table.

    The attacker knows every published value up to its rounding (a published ``v`` with
    base ``b`` is a count in ``[v - b/2, v + b/2)``), that a published non-zero count is at
    least ``threshold`` and a published zero is zero (smaller counts would have been
    hidden), that counts are non-negative, and that every row and column adds up to its
    total. The tightest bounds follow from a linear programme per hidden cell (minimise
    and maximise it); for a two-way table with totals it is a circulation in a network
    (rows, columns and totals as arcs), so it is solved as maximum flows
    (``scipy.sparse.csgraph.maximum_flow``), and its bounds are whole numbers: no integer
    attacker does better.

    Parameters
    ----------
    matrix
        r x c counts (without totals).
    hidden
        (r+1) x (c+1) mask over :func:`extend_with_totals` of the hidden cells.

    Returns
    -------
    (lower, upper)
        Float arrays of shape (r+1, c+1): the bounds for hidden cells (``inf`` when the
        attacker has no upper bound), NaN elsewhere.
    """
    ext = extend_with_totals(matrix)
    hidden = np.asarray(hidden, dtype=bool)
    flows = _Circulation(ext, threshold=threshold, rounding_base=rounding_base)
    flows.hide(hidden)
    lower = np.full(ext.shape, np.nan)
    upper = np.full(ext.shape, np.nan)
    for cell in np.argwhere(hidden):
        cell = tuple(int(v) for v in cell)
        down, up = flows.slack(cell)
        lower[cell] = ext[cell] - down
        upper[cell] = ext[cell] + up
    return lower, upper


def published_bounds(
    values: np.ndarray, *, threshold: int, rounding_base: int
) -> tuple[np.ndarray, np.ndarray]:
    """What a published count tells: the smallest and largest true count behind it.

    A count ``n`` is published as ``round_to_base(n)``; the counts that round to a value
    ``v`` are ``v - floor(b/2)`` to ``v + ceil(b/2) - 1``. Of those, only 0 and counts of at
    least ``threshold`` are ever published.
    """
    v = round_to_base(values, rounding_base)
    lo = v - rounding_base // 2
    hi = v + (rounding_base + 1) // 2 - 1
    lo = np.where(v > 0, np.maximum(lo, threshold), 0)
    hi = np.where((v > 0) | (hi >= threshold), hi, 0)
    return lo, hi


def _lonely_width(hidden: np.ndarray, room: np.ndarray) -> np.ndarray:
    """An upper bound of each hidden cell's width from its lines alone: a cell that is
    the only hidden one in its row (or column) is that line's total minus its other
    entries, so it is as uncertain as their rounding together (``room``: the width of
    what each published value tells); inf when both lines hide another cell."""
    room = np.where(hidden, 0, room).astype(float)
    per_row = np.where(hidden.sum(axis=1) == 1, room.sum(axis=1), np.inf)
    per_col = np.where(hidden.sum(axis=0) == 1, room.sum(axis=0), np.inf)
    return np.minimum(per_row[:, None], per_col[None, :])


#: sign of a line position in the relation "cells minus total = 0": the total is -1
def _signs(n: int) -> np.ndarray:
    signs = np.ones(n, dtype=np.int64)
    signs[-1] = -1
    return signs


def _rectangle_caps(ext: np.ndarray, cell: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """For every rectangle through ``cell`` (indexed by its opposite corner), how far the
    cell can go up and down by moving only the four corners; an entry for the cell's own
    row or column is 0."""
    i, j = cell
    rows, cols = _signs(ext.shape[0]), _signs(ext.shape[1])
    x = ext.astype(float)
    # change of each corner when the cell goes up by one
    d_row = -cols[j] * cols  # (i, j') for every j'
    d_col = -rows[i] * rows  # (i', j) for every i'
    d_far = np.outer(rows[i] * rows, cols[j] * cols)  # (i', j')
    inf = np.inf
    up = np.minimum(
        np.minimum(
            np.where(d_row < 0, x[i, :], inf)[None, :], np.where(d_col < 0, x[:, j], inf)[:, None]
        ),
        np.where(d_far < 0, x, inf),
    )
    down = np.minimum(
        np.minimum(
            np.where(d_row > 0, x[i, :], inf)[None, :], np.where(d_col > 0, x[:, j], inf)[:, None]
        ),
        np.minimum(np.where(d_far > 0, x, inf), x[i, j]),
    )
    up[i, :] = up[:, j] = 0
    down[i, :] = down[:, j] = 0
    return up, down


def _rectangle_width(ext: np.ndarray, hidden: np.ndarray, cell: tuple[int, int]) -> float:
    """The width that fully hidden rectangles guarantee for ``cell`` (a proof by example:
    the widest upward and downward moves that change no published value)."""
    i, j = cell
    up, down = _rectangle_caps(ext, cell)
    full = hidden[i, :][None, :] & hidden[:, j][:, None] & hidden
    if not full.any():
        return 0.0
    return float(np.max(np.where(full, up, 0)) + np.max(np.where(full, down, 0)))


def _cheapest_rectangle(
    ext: np.ndarray, hidden: np.ndarray, cell: tuple[int, int], need: int
) -> list[tuple[int, int]]:
    """The corners of the cheapest rectangle through ``cell`` that alone gives it ``need``
    of width (else the widest); cost: 1 + count per cell newly hidden, times 10 for a
    total (totals are what a reader uses most)."""
    i, j = cell
    up, down = _rectangle_caps(ext, cell)
    width = up + down
    r, c = ext.shape
    margin = np.zeros(ext.shape, dtype=bool)
    margin[-1, :] = margin[:, -1] = True
    price = np.where(hidden, 0.0, (1.0 + ext) * np.where(margin, 10.0, 1.0))
    cost = price[i, :][None, :] + price[:, j][:, None] + price
    # rectangles through the cell that hide at least one more cell
    valid = ~(hidden[i, :][None, :] & hidden[:, j][:, None] & hidden)
    valid[i, :] = valid[:, j] = False
    if not valid.any():  # every rectangle hidden: the cell is unbounded, so never here
        raise RuntimeError(f"geen rechthoek meer om cel {cell} te beschermen")
    enough = valid & (width >= need)
    if enough.any():
        key = np.where(enough, cost, np.inf)
        best = np.unravel_index(int(np.argmin(key)), ext.shape)
    else:  # no rectangle suffices alone: the widest (then cheapest) helps most
        key = np.where(valid, width, -1.0)
        widest = valid & (key == key.max())
        best = np.unravel_index(int(np.argmin(np.where(widest, cost, np.inf))), ext.shape)
    bi, bj = int(best[0]), int(best[1])
    return [(i, bj), (bi, j), (bi, bj)]


class _Circulation:
    """The attacker's linear programme for a table with totals, as a flow network.

    Nodes: a row node per row, a column node per column, and two nodes for the grand
    total. Arcs: a row total (total node -> row), a cell (row -> column), a column total
    (column -> total node) and the grand total (between the two total nodes), each with
    the bounds the attacker knows and the true count as its flow. How far a cell (arc
    u -> v) can move up is the maximum flow from v to u in the residual network without
    the arc itself, and down from u to v; a super source caps the flow when only "at
    least" is asked.
    """

    def __init__(self, ext: np.ndarray, *, threshold: int, rounding_base: int) -> None:
        from scipy.sparse import csr_matrix

        r, c = ext.shape[0] - 1, ext.shape[1] - 1
        self.shape = ext.shape
        ii, jj = np.meshgrid(np.arange(r + 1), np.arange(c + 1), indexing="ij")
        total_in, total_out = 0, 1  # grand total: total_in -> total_out
        row_node, col_node = 2 + ii, 2 + r + jj
        tails = np.where((ii < r) & (jj < c), row_node, 0)
        heads = np.where((ii < r) & (jj < c), col_node, 0)
        tails = np.where((ii < r) & (jj == c), total_out, tails)  # row total
        heads = np.where((ii < r) & (jj == c), row_node, heads)
        tails = np.where((ii == r) & (jj < c), col_node, tails)  # column total
        heads = np.where((ii == r) & (jj < c), total_in, heads)
        tails[r, c], heads[r, c] = total_in, total_out
        self.tails, self.heads = tails.ravel(), heads.ravel()
        self.super = 2 + r + c
        n = self.super + 1
        self.flow = ext.ravel().astype(np.int64)
        self.lo, self.hi = published_bounds(
            ext.ravel(), threshold=threshold, rounding_base=rounding_base
        )
        m = self.flow.size
        # a finite move is at most every count plus every rounding interval; "big" stands
        # for unbounded (the capacities are int32)
        self.finite = 4 * int(ext[r, c]) + rounding_base * m
        self.big = 2 * self.finite + 64
        if self.big > np.iinfo(np.int32).max:
            raise ConfigError("de aantallen zijn te groot voor de controle op terugrekenen")
        src = np.r_[self.tails, self.heads, np.full(n - 1, self.super)]
        dst = np.r_[self.heads, self.tails, np.arange(n - 1)]
        order = np.lexsort((dst, src))
        self.graph = csr_matrix(
            (np.zeros(src.size, dtype=np.int32), (src[order], dst[order])), shape=(n, n)
        )
        self.graph.sort_indices()
        where = np.empty(src.size, dtype=np.int64)
        where[order] = np.arange(src.size)  # one entry per (src, dst): no duplicate pairs
        self.forward, self.backward = where[:m], where[m : 2 * m]
        self.source_arc = where[2 * m :]

    def hide(self, hidden: np.ndarray) -> None:
        """Set the residual capacities for this suppression (hidden: only >= 0 known)."""
        hidden = hidden.ravel()
        lo = np.where(hidden, 0, self.lo)
        up = np.where(hidden, self.big, self.hi - self.flow)
        data = self.graph.data
        data[self.forward] = np.minimum(up, self.big)
        data[self.backward] = np.minimum(self.flow - lo, self.big)

    def _push(self, source: int, sink: int, arc: int, cap: int | None) -> int:
        from scipy.sparse.csgraph import maximum_flow

        data = self.graph.data
        saved = data[self.forward[arc]], data[self.backward[arc]]
        data[self.forward[arc]] = data[self.backward[arc]] = 0
        try:
            if cap is None:
                return int(maximum_flow(self.graph, source, sink).flow_value)
            data[self.source_arc[source]] = cap
            try:
                return int(maximum_flow(self.graph, self.super, sink).flow_value)
            finally:
                data[self.source_arc[source]] = 0
        finally:
            data[self.forward[arc]], data[self.backward[arc]] = saved

    def slack(self, cell: tuple[int, int]) -> tuple[float, float]:
        """How far the hidden ``cell`` can go down and up (inf: no upper bound)."""
        arc = cell[0] * self.shape[1] + cell[1]
        u, v = int(self.tails[arc]), int(self.heads[arc])
        data = self.graph.data
        room_up, room_down = int(data[self.forward[arc]]), int(data[self.backward[arc]])
        up = min(room_up, self._push(v, u, arc, None))
        down = min(room_down, self._push(u, v, arc, None))
        return float(down), (np.inf if up > self.finite else float(up))

    def width_at_least(self, cell: tuple[int, int], need: int) -> bool:
        """Whether the hidden ``cell`` can move over at least ``need`` (capped flows)."""
        arc = cell[0] * self.shape[1] + cell[1]
        u, v = int(self.tails[arc]), int(self.heads[arc])
        data = self.graph.data
        up = min(int(data[self.forward[arc]]), self._push(v, u, arc, need))
        if up >= need:
            return True
        down = min(int(data[self.backward[arc]]), self._push(u, v, arc, need - up))
        return up + down >= need


def round_to_base(values: np.ndarray, base: int) -> np.ndarray:
    """Round non-negative integers half up to a multiple of ``base`` (12 -> 10, 13 -> 15)."""
    values = np.asarray(values, dtype="int64")
    if base <= 1:
        return values
    return ((values * 2 + base) // (2 * base)) * base


def export_landelijk(
    counts: pd.DataFrame,
    *,
    threshold: int = 10,
    rounding_base: int = 5,
    protection: int | None = None,
    row_keys: Sequence[str] | None = None,
    column_key: str = THEME_COLUMN,
    value: str = VALUE_COLUMN,
) -> pd.DataFrame:
    """Protect an area x theme count table for the national export.

    Parameters
    ----------
    counts
        Long form (area key column(s), ``thema``, ``aantal``; missing combinations count as
        0) or wide form (area key column(s) or index, one numeric column per theme).
    threshold
        Smallest publishable non-zero count (default 10).
    rounding_base
        Published values are rounded half up to a multiple of this (default 5; 1 = none).
    protection
        Smallest width of the interval an attacker can derive for any suppressed cell
        (default: ``threshold``).
    row_keys
        Area key columns; default every column that is not the theme or the value.
    column_key, value
        Names of the theme and count columns in the long form.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per area (plus ``totaal``) x theme (plus ``totaal``): the area
        key columns, ``thema``, ``aantal`` (Int64, rounded; NA when suppressed) and
        ``status`` (``gepubliceerd`` or ``onderdrukt``). ``attrs`` holds ``drempel``,
        ``afrondingsbasis``, ``bescherming`` (the protection width), ``primair`` and
        ``secundair`` (numbers of cells) for :func:`write_export` and the report.

    Raises
    ------
    ConfigError
        Negative, fractional or missing counts, duplicate areas, bad parameters.
    PrivacyError
        The input carries columns with personal data.
    """
    threshold = _validate_int("threshold", threshold, 1)
    rounding_base = _validate_int("rounding_base", rounding_base, 1)
    protection = threshold if protection is None else _validate_int("protection", protection, 1)
    if not isinstance(counts, pd.DataFrame):
        raise ConfigError(f"counts moet een DataFrame zijn, niet {type(counts).__name__}")
    check_output_columns(counts, context="de landelijke export")
    wide, keys = _to_wide(counts, row_keys=row_keys, column_key=column_key, value=value)
    if wide.shape[0] == 0 or wide.shape[1] == 0:
        raise ConfigError("de tabel is leeg: geen gebieden of geen thema's")
    themes = [str(c) for c in wide.columns]
    if TOTAL in themes:
        raise ConfigError(f"thema '{TOTAL}' is gereserveerd voor het totaal")
    matrix = wide.to_numpy()
    primary, secondary = suppress(
        matrix, threshold=threshold, rounding_base=rounding_base, protection=protection
    )
    ext = extend_with_totals(matrix)
    rounded = round_to_base(ext, rounding_base)
    hidden = primary | secondary

    area_frame = wide.index.to_frame(index=False).astype("string")
    area_frame.columns = keys
    total_row = pd.DataFrame({k: [TOTAL] for k in keys}, dtype="string")
    areas = pd.concat([area_frame, total_row], ignore_index=True)
    r1, c1 = ext.shape
    out = areas.loc[np.repeat(np.arange(r1), c1)].reset_index(drop=True)
    flat = hidden.ravel()
    out[THEME_COLUMN] = pd.array(np.tile([*themes, TOTAL], r1), dtype="string")
    out[VALUE_COLUMN] = pd.array(np.where(flat, 0, rounded.ravel()), dtype="Int64")
    out.loc[flat, VALUE_COLUMN] = pd.NA
    out[STATUS_COLUMN] = pd.array(np.where(flat, SUPPRESSED, PUBLISHED), dtype="string")
    out.attrs = {
        "drempel": threshold,
        "afrondingsbasis": rounding_base,
        "bescherming": protection,
        "primair": int(primary.sum()),
        "secundair": int(secondary.sum()),
    }
    log.info(
        "landelijke export: %d cellen, %d primair en %d secundair onderdrukt",
        out.shape[0],
        int(primary.sum()),
        int(secondary.sum()),
    )
    return out


README_TEXT = """\
Landelijke export B-CBA: geanonimiseerde aantallen per gebied en thema
======================================================================

Bestand: {name}

Kolommen
  {keys}: gebied ('totaal' = alle gebieden samen)
  thema: thema-id ('totaal' = alle thema's samen)
  aantal: afgerond aantal; leeg als de cel is onderdrukt
  status: gepubliceerd | onderdrukt

Bescherming
  - Onderdrukt: aantallen groter dan 0 en kleiner dan {threshold} (ook totalen), en
    zoveel andere cellen als nodig is om die te beschermen ({suppressed} van de {cells}
    cellen zijn onderdrukt).
  - Bewezen: wie alle gepubliceerde aantallen, de afronding en deze regels kent en alle
    tabellen doorrekent die erbij passen (lineair programmeren), kan geen enkele
    onderdrukte cel nauwkeuriger vaststellen dan op een bandbreedte van {protection}.
  - Nullen worden gepubliceerd.
  - Gepubliceerde aantallen zijn afgerond op een veelvoud van {base} (half naar boven).
    Totalen zijn los afgerond: de cellen tellen daardoor niet altijd op tot het totaal.

Publiceer deze tabel niet samen met andere tabellen over dezelfde gebieden
(bijv. per gemeente én per wijk): combinaties kunnen onderdrukte cellen alsnog
prijsgeven. Zie docs/privacy.md.
"""


def write_export(
    frame: pd.DataFrame,
    path: str | os.PathLike,
    *,
    inputs: Sequence[str | os.PathLike] = (),
    audit_log: str | os.PathLike | None = None,
) -> Path:
    """Write an export atomically as CSV (0600) plus ``<naam>_LEESMIJ.txt`` beside it, and
    record it in the audit log (command ``export-landelijk``).

    Refuses a frame with a published value below the threshold or personal columns, so
    an unprotected table cannot be written by mistake.

    Parameters
    ----------
    frame
        The output of :func:`export_landelijk`.
    path
        The CSV to write.
    inputs
        The files the counts were read from (hashed in the audit entry).
    audit_log
        Audit log path; default :func:`bcba.audit.default_log_path`.
    """
    from bcba import audit, io

    missing = [c for c in (THEME_COLUMN, VALUE_COLUMN, STATUS_COLUMN) if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"dit is geen uitvoer van export_landelijk (kolommen ontbreken: {', '.join(missing)})"
        )
    check_output_columns(frame, context="de landelijke export")
    threshold = frame.attrs.get("drempel", 10)
    base = frame.attrs.get("afrondingsbasis", 5)
    published = frame[frame[STATUS_COLUMN] == PUBLISHED][VALUE_COLUMN].astype("Int64")
    # a count at the threshold may round down by at most base // 2
    if ((published > 0) & (published < threshold - base // 2)).any():
        raise ConfigError(
            "de tabel bevat gepubliceerde aantallen onder de drempel; gebruik export_landelijk"
        )
    if (frame.loc[frame[STATUS_COLUMN] != PUBLISHED, VALUE_COLUMN].notna()).any():
        raise ConfigError(
            "de tabel toont aantallen van onderdrukte cellen; gebruik export_landelijk"
        )
    path = Path(path)
    io.write_csv(frame, path)
    keys = [c for c in frame.columns if c not in (THEME_COLUMN, VALUE_COLUMN, STATUS_COLUMN)]
    readme = io.write_text(
        path.with_name(f"{path.stem}_LEESMIJ.txt"),
        README_TEXT.format(
            name=path.name,
            keys=", ".join(keys),
            threshold=threshold,
            base=base,
            protection=frame.attrs.get("bescherming", threshold),
            suppressed=int((frame[STATUS_COLUMN] != PUBLISHED).sum()),
            cells=len(frame),
        ),
    )
    audit.record(
        "export-landelijk",
        parameters={
            k: frame.attrs[k]
            for k in ("drempel", "afrondingsbasis", "bescherming", "primair", "secundair")
            if k in frame.attrs
        }
        | {"cellen": len(frame)},
        inputs=list(inputs),
        outputs=[path, readme],
        path=audit_log,
    )
    return path

"""Charts of the report: top buurten per theme, partner events per quarter, the survey's
perceptions.

matplotlib (Agg, no pyplot state) in the maps' palette (:mod:`bcba.maps.palette`), Dutch
labels and number formats, sized for a column of an A4 page (about 170 mm wide). Each
``*_figure`` function returns the :class:`~matplotlib.figure.Figure` (so a test can read
what was drawn), each ``*_png`` function the PNG bytes the report embeds. Nothing is drawn
from fewer than :data:`MIN_N` survey respondents.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from bcba.errors import ConfigError  # noqa: E402
from bcba.maps import palette  # noqa: E402

#: Width of the text column of the A4 report (170 mm) in inches.
COLUMN_IN = 170 / 25.4
DPI = 150
#: Fewest survey respondents per theme before a distribution is shown.
MIN_N = 5
BAR_COLOUR = palette.SCORE_COLOURS[5][3]
INTERVAL_COLOUR = "#444444"
#: The survey's answer scale (bcba.sources.survey.DEFAULT_LIKERT) in the palette's colours.
LIKERT = ("nooit", "zelden", "soms", "vaak", "zeer vaak")
LIKERT_COLOURS = palette.SCORE_COLOURS[5]
GID_BARS = "bcba-staven"
GID_INTERVALS = "bcba-rangintervallen"


def _figure(height_in: float) -> Figure:
    fig = Figure(figsize=(COLUMN_IN, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _nl(decimals: int = 0) -> FuncFormatter:
    return FuncFormatter(lambda value, _pos: palette.format_number_nl(value, decimals))


def _theme_label(thema: str, labels: Mapping[str, str] | None) -> str:
    if labels and thema in labels:
        return labels[thema]
    return str(thema).replace("_", " ").capitalize()


def to_png(fig: Figure, *, dpi: int = DPI) -> bytes:
    """A chart as PNG bytes (white background)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


# --------------------------------------------------------------------------- top buurten
def top_buurten_figure(
    frame: pd.DataFrame,
    *,
    titel: str = "",
    score_label: str = "Score",
    n: int = 10,
    decimals: int = 1,
) -> Figure:
    """Horizontal bars of the best-ranked buurten's scores, with their rank interval.

    Parameters
    ----------
    frame
        One row per buurt: ``buurtnaam``, ``score``, ``rank`` (1 = highest) and optionally
        ``rank_low``/``rank_high`` (an interval of the rank, e.g. from a bootstrap). With
        the interval a second panel shows it on the rank scale.
    titel
        Chart title (Dutch).
    score_label
        Label of the score axis.
    n
        How many buurten (the ``n`` best ranks).
    decimals
        Decimals of the score labels.

    Raises
    ------
    ConfigError
        When a required column is missing.
    """
    missing = [c for c in ("buurtnaam", "score", "rank") if c not in frame.columns]
    if missing:
        raise ConfigError(f"Kolommen {missing!r} ontbreken; beschikbaar: {list(frame.columns)!r}")
    top = frame.sort_values(["rank", "buurtnaam"], kind="stable").head(n)
    intervals = {"rank_low", "rank_high"} <= set(top.columns) and (
        top[["rank_low", "rank_high"]].notna().any(axis=None)
    )
    fig = _figure(0.9 + 0.3 * max(len(top), 1))
    if intervals:
        ax, rank_ax = fig.subplots(1, 2, sharey=True, width_ratios=(3, 1.3))
    else:
        ax, rank_ax = fig.add_subplot(), None
    y = np.arange(len(top))
    scores = pd.to_numeric(top["score"], errors="coerce").to_numpy(dtype=float)
    bars = ax.barh(y, np.nan_to_num(scores), color=BAR_COLOUR, height=0.7, gid=GID_BARS)
    ax.set_yticks(
        y, [f"{int(r)}. {name}" for r, name in zip(top["rank"], top["buurtnaam"], strict=True)]
    )
    ax.invert_yaxis()
    ax.set_xlabel(score_label)
    ax.xaxis.set_major_formatter(_nl(decimals))
    ax.bar_label(
        bars, labels=[palette.format_number_nl(s, decimals) for s in scores], padding=3, fontsize=8
    )
    ax.margins(x=0.12)
    ax.spines[["top", "right"]].set_visible(False)
    if rank_ax is not None:
        low = pd.to_numeric(top["rank_low"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(top["rank_high"], errors="coerce").to_numpy(dtype=float)
        rank = pd.to_numeric(top["rank"], errors="coerce").to_numpy(dtype=float)
        known = ~(np.isnan(low) | np.isnan(high))
        rank_ax.hlines(
            y[known], low[known], high[known], color=INTERVAL_COLOUR, linewidth=2, gid=GID_INTERVALS
        )
        rank_ax.plot(rank, y, "o", color=BAR_COLOUR, markeredgecolor=INTERVAL_COLOUR)
        rank_ax.set_xlabel("Rang (interval)")
        rank_ax.set_xlim(
            0.5, max(np.nanmax(high[known]) if known.any() else 1, np.nanmax(rank)) + 0.5
        )
        rank_ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        rank_ax.invert_xaxis()  # rank 1 (highest score) on the right, next to the bars' end
        rank_ax.tick_params(axis="y", left=False)
        rank_ax.spines[["top", "right"]].set_visible(False)
    if titel:
        fig.suptitle(titel, x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def top_buurten_png(frame: pd.DataFrame, **kwargs) -> bytes:
    """:func:`top_buurten_figure` as PNG bytes."""
    return to_png(top_buurten_figure(frame, **kwargs))


# --------------------------------------------------------------------------- partner events
def quarter_label(period: pd.Period) -> str:
    """A quarter the Dutch way: ``2024 K1``."""
    return f"{period.year} K{period.quarter}"


def events_per_quarter(
    partners: pd.DataFrame,
    *,
    thema: str | None = None,
    periode: tuple | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Partner events counted per quarter (rows ``2024 K1`` ...), optionally per ``by``.

    ``periode`` (start, end) keeps only events inside it and lists every quarter of it,
    also those without events.
    """
    frame = partners
    if thema is not None:
        frame = frame[frame["thema"] == thema]
    dates = pd.to_datetime(frame["datum"], errors="coerce")
    keep = dates.notna()
    if periode is not None:
        start, end = (pd.Timestamp(d) for d in periode)
        keep &= (dates >= start) & (dates <= end + pd.Timedelta(days=1) - pd.Timedelta(1))
    quarters = dates[keep].dt.to_period("Q")
    groups = frame.loc[keep, by].astype(str) if by else pd.Series("aantal", index=quarters.index)
    table = pd.crosstab(quarters, groups).sort_index()
    if periode is not None:
        span = pd.period_range(pd.Timestamp(periode[0]), pd.Timestamp(periode[1]), freq="Q")
        table = table.reindex(span, fill_value=0)
    elif len(table):
        table = table.reindex(
            pd.period_range(table.index.min(), table.index.max(), freq="Q"), fill_value=0
        )
    table.index = [quarter_label(p) for p in table.index]
    table.columns.name = None
    return table.astype(int)


def partner_events_figure(
    partners: pd.DataFrame,
    *,
    thema: str | None = None,
    periode: tuple | None = None,
    by: str | None = None,
    labels: Mapping[str, str] | None = None,
    titel: str = "",
) -> Figure:
    """Bars of partner events per quarter (stacked per ``by``, e.g. ``"bron"``).

    Parameters
    ----------
    partners
        ``inputs.partners``: ``datum``, ``thema`` (and ``by`` when given).
    thema
        Only this theme's events (all themes when omitted).
    periode
        (start, end): the quarters to show, empty ones included.
    by
        Column to stack by (``"bron"``); one bar colour when omitted.
    labels
        Dutch labels of the ``by`` values (default: capitalised).
    titel
        Chart title.
    """
    table = events_per_quarter(partners, thema=thema, periode=periode, by=by)
    fig = _figure(2.8)
    ax = fig.add_subplot()
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colours = palette.SCORE_COLOURS[max(3, min(7, table.shape[1]))][::-1] if by else (BAR_COLOUR,)
    for i, column in enumerate(table.columns):
        name = (labels or {}).get(column, str(column).replace("_", " ").capitalize())
        ax.bar(
            x,
            table[column].to_numpy(),
            bottom=bottom,
            color=colours[i % len(colours)],
            edgecolor="white",
            linewidth=0.5,
            width=0.75,
            label=name,
            gid=GID_BARS,
        )
        bottom = bottom + table[column].to_numpy()
    ax.set_xticks(
        x,
        list(table.index),
        rotation=0 if len(x) <= 8 else 45,
        ha="center" if len(x) <= 8 else "right",
    )
    ax.set_ylabel("Aantal meldingen")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(_nl(0))
    ax.spines[["top", "right"]].set_visible(False)
    if by and table.shape[1] > 1:
        ax.legend(frameon=False, fontsize=8, ncols=min(4, table.shape[1]), loc="upper left")
        ax.margins(y=0.25)
    if not len(table) or not table.to_numpy().sum():
        ax.text(0.5, 0.5, "Geen meldingen in deze periode", transform=ax.transAxes, ha="center")
    if titel:
        fig.suptitle(titel, x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def partner_events_png(partners: pd.DataFrame, **kwargs) -> bytes:
    """:func:`partner_events_figure` as PNG bytes."""
    return to_png(partner_events_figure(partners, **kwargs))


# --------------------------------------------------------------------------- survey
def perception_distribution(percepties: pd.DataFrame | None, *, min_n: int = MIN_N) -> pd.DataFrame:
    """Share of respondents per answer (1-5) and theme, with n; themes below ``min_n``
    respondents are left out.

    A respondent who answered a theme twice counts once, with the mean of the answers
    rounded half up (as :func:`bcba.indicators.survey.perception_summary` averages them).

    Returns
    -------
    DataFrame indexed by ``thema`` with columns 1..5 (shares, summing to 1) and ``n``.
    """
    columns = [1, 2, 3, 4, 5, "n"]
    if percepties is None or percepties.empty:
        return pd.DataFrame(columns=columns)
    frame = percepties.assign(score=pd.to_numeric(percepties["score"], errors="coerce"))
    frame = frame.dropna(subset=["score"])
    per = frame.groupby(["thema", "respondent_id"])["score"].mean()
    answer = np.floor(per.to_numpy(dtype=float) + 0.5).astype(int).clip(1, 5)
    counts = pd.crosstab(per.index.get_level_values("thema"), answer)
    counts = counts.reindex(columns=[1, 2, 3, 4, 5], fill_value=0)
    n = counts.sum(axis=1)
    shares = counts.div(n, axis=0)
    shares["n"] = n
    shares.index.name = "thema"
    shares.columns.name = None
    return shares[n >= min_n]


def perception_figure(
    percepties: pd.DataFrame | None,
    *,
    themas: list[str] | None = None,
    labels: Mapping[str, str] | None = None,
    min_n: int = MIN_N,
    titel: str = "",
) -> Figure | None:
    """100 % bars of the survey's answers per theme (nooit ... zeer vaak), with n.

    Parameters
    ----------
    percepties
        ``inputs.enquete.percepties``: ``respondent_id``, ``thema``, ``score`` (1-5).
    themas
        Themes to show, in this order (default: all with enough respondents).
    labels
        Dutch theme labels (``{id: label}``).
    min_n
        Themes with fewer respondents are not shown; ``None`` is returned when none is
        left (nothing to draw, and nothing that could identify a respondent).
    titel
        Chart title.
    """
    dist = perception_distribution(percepties, min_n=min_n)
    if themas is not None:
        dist = dist.reindex([t for t in themas if t in dist.index])
    if dist.empty:
        return None
    fig = _figure(1.0 + 0.38 * len(dist))
    ax = fig.add_subplot()
    y = np.arange(len(dist))
    left = np.zeros(len(dist))
    for score, name, colour in zip(range(1, 6), LIKERT, LIKERT_COLOURS, strict=True):
        share = dist[score].to_numpy(dtype=float)
        bars = ax.barh(
            y,
            share,
            left=left,
            color=colour,
            edgecolor="white",
            linewidth=0.5,
            height=0.65,
            label=f"{score} {name}",
            gid=GID_BARS,
        )
        ax.bar_label(
            bars,
            labels=[f"{palette.format_number_nl(100 * s, 0)}%" if s >= 0.08 else "" for s in share],
            label_type="center",
            fontsize=7,
            color="white" if score >= 4 else "black",  # readable on the dark reds
        )
        left = left + share
    ax.set_yticks(
        y,
        [
            f"{_theme_label(t, labels)} (n = {palette.format_number_nl(n, 0)})"
            for t, n in zip(dist.index, dist["n"], strict=True)
        ],
    )
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _p: f"{palette.format_number_nl(100 * v, 0)}%")
    )
    ax.set_xlabel("Aandeel respondenten")
    fig.legend(
        *ax.get_legend_handles_labels(),
        frameon=False,
        fontsize=8,
        ncols=5,
        loc="outside lower center",
        title="Antwoord (hoe vaak ziet u signalen?)",
        title_fontsize=8,
    )
    ax.spines[["top", "right"]].set_visible(False)
    if titel:
        fig.suptitle(titel, x=0.01, ha="left", fontsize=11, fontweight="bold")
    return fig


def perception_png(percepties: pd.DataFrame | None, **kwargs) -> bytes | None:
    """:func:`perception_figure` as PNG bytes (``None`` when nothing may be shown)."""
    fig = perception_figure(percepties, **kwargs)
    return None if fig is None else to_png(fig)


__all__ = [
    "events_per_quarter",
    "partner_events_figure",
    "partner_events_png",
    "perception_distribution",
    "perception_figure",
    "perception_png",
    "quarter_label",
    "to_png",
    "top_buurten_figure",
    "top_buurten_png",
]

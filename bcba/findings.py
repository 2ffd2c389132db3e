"""The findings of a run: every verdict the report states, computed in one place.

The summary, the theme pages and the annex tables all read these values, so a sentence
can never contradict the table it summarises. Values only: the Dutch words belong to
:mod:`bcba.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bcba.indicators.signals import MEERVOUDIG

#: How many buurten a theme page lists.
TOP_N = 5


def significant_hot(frame: pd.DataFrame | None) -> pd.Series:
    """Which units of a hot-spot table are a significant hot spot (FDR 5 %, above
    expectation; "Hot spot 90%" is not): :func:`bcba.hotspots.hotspots`' ``hotspot``."""
    if frame is None or len(frame) == 0:
        return pd.Series(dtype=bool)
    return frame["hotspot"].fillna(False).astype(bool)


@dataclass(frozen=True)
class ThemeFindings:
    """What the report says about one theme."""

    thema: str
    #: the highest-ranked buurten (small areas are not ranked): buurtcode, buurtnaam,
    #: score, rang and, when the scores carry them, rang_laag and rang_hoog
    top: pd.DataFrame
    n_flags: int
    n_events: int
    #: buurten with significantly more events than their addresses explain (the per-buurt
    #: excess test, :mod:`bcba.excess`), most raised first
    verhoogd: list[str] = field(default_factory=list)
    n_hot_cells: int = 0


@dataclass(frozen=True)
class Findings:
    """The verdicts of one run (see module docstring)."""

    themes: dict[str, ThemeFindings]
    #: buurten highest on the total score (same columns as ThemeFindings.top)
    top_total: pd.DataFrame
    n_locations: int
    n_locations_multi: int
    signals: pd.DataFrame  # eigenaar x prioriteit counts (columns: eigenaar, prioriteit, aantal)
    n_networks_flagged: int
    n_networks_multi: int
    leading_theme: str
    #: the risk terrain model's validation verdict for the leading theme (None: no model)
    model_adds_value: bool | None
    model_verdict: str

    @property
    def themes_with_concentrations(self) -> list[str]:
        """Themes with at least one significantly raised buurt or hot-spot cell."""
        return [t for t, f in self.themes.items() if f.verhoogd or f.n_hot_cells]


def ranked(scores: pd.DataFrame, thema: str, *, n: int = TOP_N) -> pd.DataFrame:
    """The ``n`` highest-ranked buurten of a theme (``totaal`` for the total), without the
    small areas, which are labelled and not ranked."""
    rank = f"rang_{thema}"
    frame = scores[scores[rank].notna()]
    if "klein_gebied" in frame:
        frame = frame[~frame["klein_gebied"].fillna(False).astype(bool)]
    columns = {
        "buurtcode": "buurtcode",
        "buurtnaam": "buurtnaam",
        f"score_{thema}": "score",
        rank: "rang",
    }
    for bound in ("laag", "hoog"):
        if f"{rank}_{bound}" in frame:
            columns[f"{rank}_{bound}"] = f"rang_{bound}"
    return (
        frame.sort_values(rank)
        .head(n)[list(columns)]
        .rename(columns=columns)
        .reset_index(drop=True)
    )


def _theme_flags(flags: pd.DataFrame, thema: str) -> int:
    if len(flags) == 0:
        return 0
    themes = flags["themas"].astype(str).str.split(";")
    return int(themes.map(lambda ts: thema in ts).sum())


def theme_findings(results, thema: str) -> ThemeFindings:
    """The findings of one theme from the run's results."""
    ind = results.indicators
    s = results.spatial.get(thema)
    verhoogd: list[str] = []
    n_hot_cells = 0
    if s is not None:
        excess = s.overschot_buurt
        if excess is not None and len(excess):
            raised = excess[excess["verhoogd"].fillna(False).astype(bool)].sort_values("rang")
            verhoogd = raised["buurtcode"].astype(str).tolist()
        n_hot_cells = (
            int(significant_hot(s.hotspots_cel).sum()) if s.hotspots_cel is not None else 0
        )
    return ThemeFindings(
        thema=thema,
        top=ranked(ind.scores_buurt, thema),
        n_flags=_theme_flags(ind.flags, thema),
        n_events=s.n_events if s is not None else 0,
        verhoogd=verhoogd,
        n_hot_cells=n_hot_cells,
    )


def _networks(networks) -> tuple[int, int]:
    table = networks.networks if networks is not None else pd.DataFrame()
    if len(table) == 0:
        return 0, 0
    flagged = table["flags"].astype(str).str.len() > 0
    multi = flagged & (table.get("n_signaalsoorten", pd.Series(0, index=table.index)) >= 2)
    return int(flagged.sum()), int(multi.sum())


def compute(results) -> Findings:
    """All findings of a run (:class:`bcba.engine.Results`)."""
    ind = results.indicators
    loc = ind.risicolocaties
    sig = ind.signalen
    counts = (
        sig.groupby(["eigenaar", "prioriteit"]).size().rename("aantal").reset_index()
        if len(sig)
        else pd.DataFrame(columns=["eigenaar", "prioriteit", "aantal"])
    )
    n_flagged, n_multi = _networks(results.networks)
    leading = results.main_theme
    s = results.spatial.get(leading)
    verdict = s.oordeel if s is not None else None
    if verdict is not None:
        adds_value, text = bool(verdict.adds_value), verdict.text
    else:
        adds_value, text = None, ""
    return Findings(
        themes={t: theme_findings(results, t) for t in results.themes.themas},
        top_total=ranked(ind.scores_buurt, "totaal"),
        n_locations=len(loc),
        n_locations_multi=(
            int((loc["bewijskracht"] >= MEERVOUDIG).sum())
            if len(loc) and "bewijskracht" in loc
            else int((loc["n_soorten"] >= 2).sum())
            if len(loc)
            else 0
        ),
        signals=counts,
        n_networks_flagged=n_flagged,
        n_networks_multi=n_multi,
        leading_theme=leading,
        model_adds_value=adds_value,
        model_verdict=text,
    )

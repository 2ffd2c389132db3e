"""Small helpers for the exploratory notebooks (``notebooks/exploratory/``).

They wrap the library so notebooks stay thin: load the data of a municipality, show tables
and offline interactive maps inline in JupyterLab. Nothing here writes files.
"""

from __future__ import annotations

import pandas as pd
from IPython.display import HTML

from bcba import config
from bcba.report import html as rh


def laad(gemeente: str, *, data_dir: str = "", periode_start: str = "", periode_eind: str = ""):
    """Read, validate, pseudonymise and geocode the inputs of a municipality."""
    from bcba import keys
    from bcba.reference import resolve_gemeente
    from bcba.runs import _as_date
    from bcba.sources import load_inputs

    gem = resolve_gemeente(gemeente)
    start, end = config.default_period()
    periode = (
        _as_date(periode_start, "periode_start") or start,
        _as_date(periode_eind, "periode_eind") or end,
    )
    folder = data_dir or (config.raw_dir() / gem.code)
    return load_inputs(gem.code, data_dir=folder, periode=periode, key=keys.load_key())


def bronnen(inputs) -> HTML:
    """Which sources are present, with periods and record counts."""
    return rh.tabel(inputs.bronnen, decimalen=0, bijschrift="Bronnen")


def kwaliteit(inputs) -> HTML:
    """Geocoding rates and the data-quality table."""
    return HTML(
        rh.tabel_html(
            inputs.geocodering, decimalen={"aantal": 0, "aandeel": 3}, bijschrift="Geocodering"
        )
        + rh.tabel_html(inputs.kwaliteit, decimalen=0, bijschrift="Datakwaliteit")
    )


def voorbeeld(obj, table: str, n: int = 10) -> pd.DataFrame:
    """The first rows of a table of ``Inputs`` or ``IndicatorResults`` (no geometry column)."""
    frame = getattr(obj, table)
    if frame is None:
        return pd.DataFrame()
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).head(n)


def kaart(inputs) -> HTML:
    """Risk-branch establishments and partner events on an offline map."""
    from bcba.maps import interactive
    from bcba.themes import load_themes

    themes = load_themes()
    vest = inputs.kvk_vestigingen
    located = vest[vest.geometry.notna() & vest["datum_uitschrijving"].isna()]
    risky = located[
        themes.is_risk_branch(located["sbi_code"], located.get("handelsnaam")).to_numpy()
    ]
    frame = risky[["sbi_code", "geometry"]].assign(
        flag="KVK_NIEUW_RISICOBRANCHE", reden="risicobranche " + risky["sbi_code"].astype(str)
    )
    m = interactive.risk_locations_map(
        frame,
        titel="Vestigingen in risicobranches",
        basemap={"outline": inputs.area.outline, "wijken": inputs.area.wijken},
    )
    return HTML(rh.kaart_html(m, hoogte=520))


def indicatoren(inputs):
    """Compute the indicator results (scores, flags, signals) for exploration."""
    from bcba.indicators.run import compute_indicators

    return compute_indicators(inputs)


def topbuurten(resultaten, thema: str, n: int = 10) -> pd.DataFrame:
    """The top-n buurten of a theme with the reasons for their score."""
    frame = resultaten.scores_buurt.sort_values(f"rang_{thema}").head(n)
    return pd.DataFrame(
        {
            "buurt": frame["buurtnaam"].to_numpy(),
            "score": frame[f"score_{thema}"].round(2).to_numpy(),
            "redenen": ["; ".join(resultaten.explain(c, thema)) for c in frame["buurtcode"]],
        }
    )


def scorekaart(inputs, resultaten, thema: str) -> HTML:
    """An offline choropleth of a theme's score with reasons in the popups."""
    from bcba.maps import interactive

    frame = resultaten.scores_buurt.copy()
    frame["reden"] = ["; ".join(resultaten.explain(c, thema)) for c in frame["buurtcode"]]
    m = interactive.buurt_choropleth(
        frame,
        f"score_{thema}",
        titel=f"Score {thema}",
        legend_title="Score",
        basemap={"outline": inputs.area.outline, "wijken": inputs.area.wijken},
    )
    return HTML(rh.kaart_html(m, hoogte=520))

"""Report sections: the approach per theme (barrier model) and the development since the
previous B-CBA."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report


def aanpak(r: Report) -> HTML:
    """The action list per theme from the barrier model: step, partner, instrument."""
    f = r.findings
    # themes with concentrations first: that is where the list starts
    order = sorted(
        r.themes.themas,
        key=lambda t: (not (f.themes[t].verhoogd or f.themes[t].n_hot_cells), -f.themes[t].n_flags),
    )
    parts = [
        rh.p(
            "Volgens het barrièremodel kan elke stap in het criminele proces (huisvesting, logistiek, financiën, "
            "werving) worden bemoeilijkt. Per thema staan hieronder de instrumenten en de partner die ze inzet; "
            "thema's met aantoonbare concentraties staan bovenaan."
        )
    ]
    rows = [
        {
            "thema": r.themes.themas[thema].label,
            "stap": i.stap,
            "partner": i.partner,
            "instrument": i.instrument,
            "toelichting": i.omschrijving,
        }
        for thema in order
        for i in r.themes.themas[thema].interventies
    ]
    parts.append(
        rh.tabel_html(
            pd.DataFrame(rows, columns=["thema", "stap", "partner", "instrument", "toelichting"]),
            kolommen={
                "stap": "Stap",
                "instrument": "Instrument",
                "partner": "Partner",
                "toelichting": "Toelichting",
            },
            groep="thema",
            breed=("toelichting",),
        )
    )
    return rh.section(*parts, klasse="bcba-compact")


def ontwikkeling(r: Report) -> HTML:
    """Annex: change since the previous B-CBA of this municipality; nothing on a first run."""
    from bcba.monitoring import monitoring_section, run_folders, vergelijk

    here = r.out.resolve()
    earlier = [f for f in run_folders(r.cfg.gemeente) if f.resolve() != here]
    if not earlier:
        return HTML("")
    result = vergelijk(r.cfg.gemeente, current=here, previous=earlier[-1])
    return rh.section(
        rh.h(1, "Bijlage L. Ontwikkeling sinds de vorige B-CBA"), monitoring_section(result).data
    )

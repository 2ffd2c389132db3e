"""Report sections: development since the previous B-CBA and the interventions (barrier model)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report


def ontwikkeling(r: Report) -> HTML:
    """Change since the previous B-CBA of this municipality (monitoring), if there is one."""
    from bcba.monitoring import monitoring_section, run_folders, vergelijk

    here = r.out.resolve()
    earlier = [f for f in run_folders(r.cfg.gemeente) if f.resolve() != here and f.name < here.name]
    if not earlier:
        return rh.section(rh.markering_html(), monitoring_section(None).data)
    result = vergelijk(r.cfg.gemeente, current=here, previous=earlier[-1])
    return rh.section(rh.markering_html(), monitoring_section(result).data)


def interventies(r: Report) -> HTML:
    rows = []
    for theme in r.themes.themas.values():
        for i in theme.interventies:
            rows.append(
                {
                    "thema": theme.label,
                    "stap": i.stap,
                    "partner": i.partner,
                    "instrument": i.instrument,
                    "omschrijving": i.omschrijving,
                }
            )
    text = (
        "Volgens het barrièremodel kan elke stap in het criminele proces (huisvesting, logistiek, "
        "financiën, werving) worden bemoeilijkt. Per thema staan hieronder instrumenten en de partner die ze inzet."
    )
    return rh.section(
        rh.markering_html(),
        rh.p(text),
        rh.tabel_html(
            pd.DataFrame(rows),
            kolommen={
                "thema": "Thema",
                "stap": "Stap in het proces",
                "partner": "Partner",
                "instrument": "Instrument",
                "omschrijving": "Toelichting",
            },
        ),
    )

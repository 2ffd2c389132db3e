"""Report sections: the networks behind the cases (short for the mayor, in full in the annex)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML

from bcba import labels
from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report

#: Networks described in the mayor's report and listed in the annex.
TOP_REPORT = 3
TOP_ANNEX = 20


def _flagged(r: Report) -> pd.DataFrame:
    nets = r.networks.networks
    if len(nets) == 0:
        return nets
    flagged = nets[nets["flags"].astype(str).str.len() > 0].sort_values("rang")
    return flagged.assign(nr=range(1, len(flagged) + 1))


def _composition(row) -> str:
    parts = [
        f"{rh.nl_getal(row.n_bedrijven)} {'bedrijf' if row.n_bedrijven == 1 else 'bedrijven'}",
        f"{rh.nl_getal(row.n_personen)} {'persoon' if row.n_personen == 1 else 'personen'}",
        f"{rh.nl_getal(row.n_adressen)} {'adres' if row.n_adressen == 1 else 'adressen'}",
    ]
    text = rh.opsomming(parts)
    if getattr(row, "n_vastgoed", 0):
        text += f" (waarvan {rh.nl_getal(row.n_vastgoed)} vastgoed)"
    return text


def _signals(row) -> list[str]:
    return [labels.readable(part.strip()) for part in str(row.flags).split(";") if part.strip()]


def _central(value: object) -> str:
    text = labels.readable(value)
    return text if text and text != "een persoon" else "een persoon (gepseudonimiseerd)"


def netwerken(r: Report) -> HTML:
    """The mayor's report: how many connected groups carry signals, the strongest in words."""
    flagged = _flagged(r)
    if len(flagged) == 0:
        return rh.section(rh.p("Er zijn geen netwerken met signalen gevonden."))
    multi = flagged[flagged["n_signaalsoorten"] >= 2]
    items = [
        f"Netwerk {row.nr}: {_composition(row)}; rond {_central(row.centrale_knoop)}. "
        f"Signalen: {'; '.join(_signals(row))}."
        for row in flagged.head(TOP_REPORT).itertuples()
    ]
    return rh.section(
        rh.p(
            "Bedrijven, bestuurders (alleen als pseudoniem), adressen en vastgoed die met elkaar verbonden zijn, "
            f"vormen netwerken. {rh.nl_getal(len(flagged))} netwerken dragen minstens één signaal, "
            f"{rh.nl_getal(len(multi))} daarvan meer dan één soort. De sterkste drie:"
        ),
        rh.ul(items),
        rh.p(
            "Tabellen en netwerkdiagrammen staan in bijlage H; exports voor i2 en GraphML in de map 'netwerken'."
        ),
    )


def bijlage_netwerken(r: Report) -> HTML:
    """Annex: the flagged networks with their composition and signals, and diagrams."""
    from bcba.maps.static import figure_to_png_bytes
    from bcba.network.plot import plot_network

    flagged = _flagged(r)
    if len(flagged) == 0:
        return rh.section(rh.p("Er zijn geen netwerken met signalen gevonden."))
    top = flagged.head(TOP_ANNEX)
    table = pd.DataFrame(
        {
            "nr": top["nr"],
            "samenstelling": [_composition(row) for row in top.itertuples()],
            "signalen": [_signals(row) for row in top.itertuples()],
            "centraal": [_central(v) for v in top["centrale_knoop"]],
        }
    )
    parts = [
        rh.p(
            "De rangorde volgt aantal en gewicht van de signalen in een netwerk. Personen staan alleen als "
            "pseudoniem in de exports; herleiden kan alleen via 'bcba herleid', met reden, en wordt vastgelegd."
        ),
        rh.tabel_html(
            table,
            kolommen={
                "nr": "Nr.",
                "samenstelling": "Samenstelling",
                "signalen": "Signalen",
                "centraal": "Centraal",
            },
            decimalen=0,
            bijschrift=f"De {rh.nl_getal(len(table))} netwerken met de meeste signalen "
            f"(alle {rh.nl_getal(len(flagged))} in netwerken/netwerken.csv)",
            breed=("signalen",),
        ),
    ]
    import matplotlib.pyplot as plt

    for row in top.head(TOP_REPORT).itertuples():
        fig = plot_network(r.networks, row.netwerk_id)
        png = figure_to_png_bytes(fig, dpi=110)
        plt.close(fig)
        parts.append(rh.h(3, f"Netwerk {row.nr}"))
        parts.append(
            rh.figuur(png, bijschrift=f"{_composition(row)}.", alt=f"Netwerkdiagram {row.nr}")
        )
    return rh.section(*parts)

"""Report section: the networks behind the cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from IPython.display import HTML

from bcba.report import html as rh

if TYPE_CHECKING:
    from bcba.report.view import Report


def netwerken(r: Report) -> HTML:
    from bcba.maps.static import figure_to_base64
    from bcba.network.plot import plot_network

    nets = r.networks.networks
    parts = [rh.markering_html()]
    flagged = (
        nets[nets["flags"].astype(str).str.len() > 0].sort_values("rang").head(5)
        if len(nets)
        else nets
    )
    if len(flagged) == 0:
        return rh.section(*parts, rh.p("Geen netwerken met netwerkvlaggen gevonden."))
    parts.append(
        rh.p(
            "Bedrijven, personen (alleen als pseudoniem), adressen en vastgoed zijn gekoppeld tot netwerken. "
            "De rangorde volgt het aantal en gewicht van de vlaggen in een netwerk. Exports voor i2 Analyst's "
            "Notebook en GraphML staan in de map 'netwerken'."
        )
    )
    parts.append(
        rh.tabel_html(
            flagged[
                [
                    "rang",
                    "netwerk_id",
                    "n_bedrijven",
                    "n_personen",
                    "n_adressen",
                    "flags",
                    "beschrijving",
                ]
            ],
            kolommen={
                "rang": "Rang",
                "netwerk_id": "Netwerk",
                "n_bedrijven": "Bedrijven",
                "n_personen": "Personen",
                "n_adressen": "Adressen",
                "flags": "Vlaggen",
                "beschrijving": "Beschrijving",
            },
            decimalen=0,
            bijschrift="Netwerken met de meeste signalen",
        )
    )
    for row in flagged.head(3).itertuples():
        fig = plot_network(r.networks, row.netwerk_id)
        parts.append(rh.h(3, f"Netwerk {row.netwerk_id}"))
        parts.append(
            f'<figure class="bcba-figure"><img alt="Netwerkdiagram {rh.esc(row.netwerk_id)}" '
            f'src="data:image/png;base64,{figure_to_base64(fig, dpi=110)}">'
            f"<figcaption>{rh.esc(row.beschrijving)}</figcaption></figure>"
        )
        import matplotlib.pyplot as plt

        plt.close(fig)
    return rh.section(*parts)

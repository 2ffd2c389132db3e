"""Diagram and map points of one network.

Labels are pseudonymised: persons as ``P-…``, companies by trade name only when they are a
legal entity (else ``K-<kvk>``), addresses as postcode + huisnummer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import networkx as nx
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bcba.config import CRS
from bcba.errors import ConfigError
from bcba.network._util import isin

if TYPE_CHECKING:
    from bcba.network import NetworkResults

__all__ = ["plot_network", "network_points", "NODE_STYLE", "EDGE_STYLE"]

#: node type -> (marker, colour, Dutch legend label)
NODE_STYLE = {
    "bedrijf": ("s", "#1f4e79", "Bedrijf"),
    "persoon": ("o", "#c0504d", "Persoon (pseudoniem)"),
    "adres": ("^", "#4f8a3c", "Adres"),
    "melding": ("D", "#e3a21a", "Melding partner"),
}
#: edge type -> (colour, line style, Dutch legend label)
EDGE_STYLE = {
    "functionaris_van": ("#c0504d", "-", "functionaris van"),
    "gevestigd_op": ("#1f4e79", "-", "gevestigd op"),
    "koper_van": ("#7030a0", "-", "koper van"),
    "verkoper_van": ("#7030a0", "--", "verkoper van"),
    "melding_op": ("#e3a21a", ":", "melding op"),
    "mogelijk_zelfde": ("#808080", "--", "mogelijk zelfde (twijfelachtig)"),
}
_FLAGGED_EDGE = "#d62728"


def _members(results: NetworkResults, netwerk_id: str) -> pd.DataFrame:
    nodes = results.nodes[results.nodes["netwerk_id"].eq(netwerk_id).fillna(False)]
    if nodes.empty:
        known = results.networks["netwerk_id"].head(5).tolist()
        raise ConfigError(f"netwerk_id {netwerk_id!r} bestaat niet; bijvoorbeeld: {known}")
    return nodes


def plot_network(
    results: NetworkResults,
    netwerk_id: str,
    *,
    with_events: bool = False,
    seed: int = 0,
    figsize: tuple[float, float] = (9.0, 7.0),
) -> Figure:
    """Draw one network as a node-link diagram.

    Parameters
    ----------
    results : NetworkResults
    netwerk_id : str
        A value of ``results.networks["netwerk_id"]``.
    with_events : bool, default False
        Also draw partner events (meldingen); they are often many leaves around an address.
    seed : int, default 0
        Seed of the spring layout, so the same network is drawn the same way every time.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; show it in a notebook or save it with ``fig.savefig``.

    Raises
    ------
    ConfigError
        When ``netwerk_id`` is unknown.
    """
    members = _members(results, netwerk_id)
    if not with_events:
        members = members[members["soort"].ne("melding")]
    ids = set(members["node_id"])
    sub = nx.Graph()
    sub.add_nodes_from(ids)
    edges = results.edges[isin(results.edges["bron"], ids) & isin(results.edges["doel"], ids)]
    sub.add_edges_from(zip(edges["bron"], edges["doel"], strict=True))
    pos = nx.spring_layout(sub, seed=seed, k=1.5 / max(len(ids), 1) ** 0.5)

    fig = Figure(figsize=figsize)
    ax = fig.add_subplot(1, 1, 1)
    for kind, group in edges.groupby("soort"):
        colour, style, _ = EDGE_STYLE.get(kind, ("#999999", "-", kind))
        nx.draw_networkx_edges(
            sub,
            pos,
            edgelist=list(zip(group["bron"], group["doel"], strict=True)),
            ax=ax,
            edge_color=colour,
            style=style,
            width=1.2,
            alpha=0.8,
        )
    flagged = (
        set(members.loc[members["flags"].fillna("").ne(""), "node_id"])
        if "flags" in members
        else set()
    )
    for kind, (marker, colour, _) in NODE_STYLE.items():
        group = members[members["soort"].eq(kind)]
        if group.empty:
            continue
        ring = [_FLAGGED_EDGE if n in flagged else "white" for n in group["node_id"]]
        nx.draw_networkx_nodes(
            sub,
            pos,
            nodelist=group["node_id"].tolist(),
            node_shape=marker,
            node_color=colour,
            edgecolors=ring,
            linewidths=2.0,
            node_size=260,
            ax=ax,
        )
    labels = dict(zip(members["node_id"], members["label"].fillna(members["node_id"]), strict=True))
    nx.draw_networkx_labels(
        sub,
        pos,
        labels={n: labels[n] for n in sub.nodes},
        font_size=7,
        ax=ax,
        verticalalignment="bottom",
    )

    handles = [
        Line2D([], [], marker=m, color="w", markerfacecolor=c, markersize=9, label=label)
        for kind, (m, c, label) in NODE_STYLE.items()
        if members["soort"].eq(kind).any()
    ]
    handles += [
        Line2D([], [], color=c, linestyle=s, label=label)
        for kind, (c, s, label) in EDGE_STYLE.items()
        if edges["soort"].eq(kind).any()
    ]
    if flagged:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                color="w",
                markerfacecolor="white",
                markeredgecolor=_FLAGGED_EDGE,
                markeredgewidth=2,
                markersize=9,
                label="met signaal",
            )
        )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="Legenda"
    )
    row = results.networks[results.networks["netwerk_id"].eq(netwerk_id)]
    rank = f" (rang {int(row['rang'].iloc[0])})" if len(row) else ""
    ax.set_title(f"Netwerk {netwerk_id}{rank}", fontsize=11)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def network_points(results: NetworkResults, netwerk_id: str) -> gpd.GeoDataFrame:
    """The address points of one network for the report map (EPSG:28992).

    Returns a GeoDataFrame with node_id, label, postcode, huisnummer, adres_id, vastgoed,
    flags and point geometry; addresses without coordinates are left out.
    """
    members = _members(results, netwerk_id)
    addresses = members[members["soort"].eq("adres") & members["x"].notna() & members["y"].notna()]
    columns = ["node_id", "label", "postcode", "huisnummer", "adres_id", "vastgoed", "flags"]
    frame = addresses[[c for c in columns if c in addresses]].reset_index(drop=True)
    return gpd.GeoDataFrame(
        frame,
        geometry=gpd.points_from_xy(addresses["x"].to_numpy(), addresses["y"].to_numpy()),
        crs=CRS,
    )

"""Networks of companies, persons and addresses behind the cases.

Entity resolution across KvK, Kadaster and partner extracts (:mod:`.resolution`), the
entity graph (:mod:`.graph`), structural indicators and the ranking of networks
(:mod:`.indicators`), diagrams (:mod:`.plot`) and GraphML / i2 Analyst's Notebook exports
(:mod:`.export`). See docs/network.md.

Example
-------
>>> results = analyse_networks(inputs, flags=flag_records)      # doctest: +SKIP
>>> results.networks.head()                                      # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bcba.network._util import isin, join_runs, positions
from bcba.network.graph import (
    EDGE_COLUMNS,
    NODE_COLUMNS,
    EntityTables,
    build_entity_tables,
    to_networkx,
)
from bcba.network.indicators import (
    LINKED_SBI_PREFIXES,
    RISK_SBI_PREFIXES,
    address_hubs,
    carousels,
    centralities,
    empty_flags,
    map_external_flags,
    network_components,
    rank_networks,
    shared_officers,
    straw_men,
    weighted,
    young_company_property,
)

log = logging.getLogger(__name__)

__all__ = ["NetworkConfig", "NetworkResults", "analyse_networks", "build_graph"]


class NetworkConfig(BaseModel):
    """Settings of the network analysis (validated; defaults documented in docs/network.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match_threshold: float = Field(0.85, gt=0, le=1, description="merge entities from this score")
    fuzzy_min: float = Field(
        0.8, gt=0, le=1, description="minimum name similarity for 'mogelijk zelfde'"
    )
    hub_min_companies: int = Field(10, ge=2)
    hub_min_owners: int = Field(3, ge=2)
    straw_man_min_short: int = Field(3, ge=2)
    short_role_days: int = Field(365, ge=1)
    short_company_days: int = Field(730, ge=1)
    carousel_min_companies: int = Field(2, ge=2)
    carousel_min_addresses: int = Field(2, ge=2)
    young_company_days: int = Field(365, ge=1)
    risk_sbi: tuple[str, ...] = RISK_SBI_PREFIXES
    linked_sbi: tuple[str, ...] = LINKED_SBI_PREFIXES
    shared_min_companies: int = Field(2, ge=2)
    shared_min_risk: int = Field(1, ge=1)
    betweenness_exact_max: int = Field(500, ge=3)
    betweenness_k: int = Field(100, ge=1)
    betweenness_all: bool = Field(
        False, description="betweenness for every network, not only flagged ones"
    )
    max_network_size: int | None = Field(
        150, ge=10, description="larger components are split (Louvain)"
    )
    seed: int = 0
    flag_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "NET_STROMAN": 1.5,
            "NET_ADRES_HUB": 1.5,
            "NET_CARROUSEL": 2.0,
            "NET_VASTGOED_JONGE_BV": 1.0,
            "NET_GEDEELDE_FUNCTIONARIS": 1.0,
        }
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        if self.shared_min_risk > self.shared_min_companies:
            raise ValueError(
                f"shared_min_risk ({self.shared_min_risk}) mag niet groter zijn dan "
                f"shared_min_companies ({self.shared_min_companies})"
            )
        bad = {k: v for k, v in self.flag_weights.items() if not v >= 0}
        if bad:
            raise ValueError(f"flag_weights moeten >= 0 zijn, niet {bad}")
        return self


@dataclass(frozen=True)
class NetworkResults:
    """Outcome of :func:`analyse_networks`.

    Attributes
    ----------
    networks : DataFrame
        netwerk_id, n_bedrijven, n_personen, n_adressen, n_vastgoed, n_meldingen, flags,
        n_signaalsoorten, score, rang, centrale_knoop, beschrijving.
    nodes : DataFrame
        Node table plus netwerk_id, graad, betweenness, flags.
    edges : DataFrame
        Link table (bron, doel, soort, dates, koopsom, score, toelichting) plus netwerk_id.
    flags : DataFrame
        Flag records (network and mapped external) with netwerk_id.
    config : NetworkConfig
    graph : networkx.MultiDiGraph
        Entity graph; node attribute ``netwerk_id``; edge key = ``link_id``. Built from the
        tables on first use (a city graph takes seconds and much memory); for a few networks
        use :meth:`subgraph`.
    """

    networks: pd.DataFrame
    nodes: pd.DataFrame
    edges: pd.DataFrame
    flags: pd.DataFrame
    config: NetworkConfig

    def entity_tables(self, netwerk_ids: Iterable[str] | None = None) -> EntityTables:
        """Node and link tables of the graph (columns as :func:`to_networkx` turns into
        attributes), optionally only of the networks ``netwerk_ids``.

        With ``netwerk_ids`` the result is the induced subgraph: their nodes and every link
        between two of them (also a ``mogelijk_zelfde`` link between two of those networks).
        """
        nodes = self.nodes[[*NODE_COLUMNS, "netwerk_id"]]
        edges = self.edges[list(EDGE_COLUMNS)]
        if netwerk_ids is not None:
            wanted = pd.Index(pd.unique(pd.Series(list(netwerk_ids), dtype="string")))
            if wanted.hasnans:  # a missing id selects the nodes without network
                nodes = nodes[wanted.get_indexer(nodes["netwerk_id"]) >= 0]
            else:
                nodes = nodes[isin(nodes["netwerk_id"], wanted)]
            ids = nodes["node_id"].dropna()
            edges = edges[isin(edges["bron"], ids) & isin(edges["doel"], ids)]
        return EntityTables(nodes=nodes, edges=edges)

    def subgraph(self, netwerk_ids: Iterable[str]) -> nx.MultiDiGraph:
        """The entity graph of the networks ``netwerk_ids`` only (see :meth:`entity_tables`);
        equal to ``graph.subgraph(their nodes)`` without building the whole graph."""
        return to_networkx(self.entity_tables(netwerk_ids))

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The whole entity graph (built once, on first use)."""
        return to_networkx(self.entity_tables())


def build_graph(
    inputs, *, config: NetworkConfig | None = None
) -> tuple[EntityTables, nx.MultiDiGraph]:
    """Resolve entities of ``inputs`` and build the entity graph (tables and networkx)."""
    tables = _entity_tables(inputs, config or NetworkConfig())
    return tables, to_networkx(tables)


def _entity_tables(inputs, config: NetworkConfig) -> EntityTables:
    return build_entity_tables(
        getattr(inputs, "kvk_vestigingen", None),
        getattr(inputs, "kvk_functionarissen", None),
        getattr(inputs, "kadaster", None),
        getattr(inputs, "partners", None),
        bag=getattr(inputs, "bag", None),
        threshold=config.match_threshold,
        fuzzy_min=config.fuzzy_min,
    )


def network_flags(tables: EntityTables, config: NetworkConfig) -> pd.DataFrame:
    """All five network patterns as one flag table (configured weights applied)."""
    parts = [
        straw_men(
            tables,
            min_short=config.straw_man_min_short,
            short_role_days=config.short_role_days,
            short_company_days=config.short_company_days,
        ),
        address_hubs(
            tables, min_companies=config.hub_min_companies, min_owners=config.hub_min_owners
        ),
        carousels(
            tables,
            min_companies=config.carousel_min_companies,
            min_addresses=config.carousel_min_addresses,
        ),
        young_company_property(tables, max_days=config.young_company_days),
        shared_officers(
            tables,
            risk_sbi=config.risk_sbi,
            linked_sbi=config.linked_sbi,
            min_companies=config.shared_min_companies,
            min_risk=config.shared_min_risk,
        ),
    ]
    parts = [p for p in parts if len(p)]
    flags = pd.concat(parts, ignore_index=True) if parts else empty_flags()
    return weighted(flags, config.flag_weights)


def _lookup(values: pd.Series, keys: pd.Series, universe) -> pd.Series:
    """``keys.map(values indexed by universe)`` through :func:`positions` (missing when a
    key is not in ``universe``); same index as ``keys``."""
    pos = positions(keys, universe)
    taken = values.iloc[np.maximum(pos, 0)].where(pos >= 0) if len(values) else None
    if taken is None:
        return pd.Series(pd.NA, index=keys.index, dtype=values.dtype)
    return pd.Series(taken.array, index=keys.index, name=keys.name)


def analyse_networks(
    inputs,
    *,
    flags: pd.DataFrame | None = None,
    config: NetworkConfig | None = None,
) -> NetworkResults:
    """Run the network analysis on the ``Inputs`` of a municipality.

    Parameters
    ----------
    inputs : bcba.sources.Inputs
        Any object with the attributes ``kvk_vestigingen``, ``kvk_functionarissen``,
        ``kadaster``, ``partners`` (and optionally ``bag``); missing tables are skipped.
    flags : DataFrame, optional
        Flag records of the other indicators (``flag_id``, ``kvk_nummer`` / ``persoon_id`` /
        ``adres_id``, ``weight``); they are mapped onto the nodes and count in the ranking.
    config : NetworkConfig, optional

    Returns
    -------
    NetworkResults
    """
    config = config or NetworkConfig()
    tables = _entity_tables(inputs, config)
    component = network_components(tables, max_size=config.max_network_size, seed=config.seed)
    nodes = tables.nodes.copy()
    width = max(len(str(int(component.max()))) if len(component) else 1, 4)
    netwerk = "N" + component.astype("int64").astype("string").str.zfill(width)
    # Node ids are looked up by position in the node table (see _util.positions).
    netwerk_of = _lookup(netwerk, nodes["node_id"], netwerk.index)
    nodes["netwerk_id"] = netwerk_of.astype("string")
    node_ids = nodes["node_id"]

    own = network_flags(tables, config)
    external = map_external_flags(flags, nodes)
    parts = [f for f in (own, external) if len(f)]
    all_flags = pd.concat(parts, ignore_index=True) if parts else empty_flags()
    all_flags = all_flags.assign(
        netwerk_id=_lookup(nodes["netwerk_id"], all_flags["node_id"], node_ids)
    )

    scope = None if config.betweenness_all else set(all_flags["netwerk_id"].dropna())
    central = centralities(
        tables,
        nodes.set_index("node_id")["netwerk_id"],
        exact_max=config.betweenness_exact_max,
        k=config.betweenness_k,
        seed=config.seed,
        only=scope,
    )
    nodes = nodes.join(central, on="node_id")
    nodes["graad"] = nodes["graad"].fillna(0).astype("int64")
    nodes["betweenness"] = nodes["betweenness"].fillna(0.0)
    per_node = (
        all_flags[["node_id", "flag_id"]].drop_duplicates().sort_values(["node_id", "flag_id"])
    )
    per_node = per_node.dropna(subset=["node_id"])
    per_node = join_runs(per_node["node_id"], per_node["flag_id"], ";")
    nodes["flags"] = _lookup(per_node, nodes["node_id"], per_node.index).astype("string").fillna("")

    networks = rank_networks(nodes, all_flags)
    edges = tables.edges.assign(
        netwerk_id=_lookup(nodes["netwerk_id"], tables.edges["bron"], node_ids)
    )
    log.info("netwerkanalyse: %d netwerken, %d signalen", len(networks), len(all_flags))
    return NetworkResults(
        networks=networks, nodes=nodes, edges=edges, flags=all_flags, config=config
    )

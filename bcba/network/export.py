"""Exports of the entity graph: GraphML and i2 Analyst's Notebook entity/link CSVs.

All files are written atomically with owner-only permissions through :mod:`bcba.io`.
Persons appear only by pseudonym (``P-…``); see docs/network.md for the i2 column layout and
import specification.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from bcba import io
from bcba.network.graph import is_legal_entity

if TYPE_CHECKING:
    from bcba.network import NetworkResults

__all__ = [
    "I2_ENTITY_COLUMNS",
    "I2_LINK_COLUMNS",
    "I2_ENTITY_TYPES",
    "I2_LINK_TYPES",
    "write_graphml",
    "i2_tables",
    "write_i2",
]

I2_ENTITY_COLUMNS = [
    "Entity ID",
    "Entity Type",
    "Label",
    "Description",
    "Date",
    "End Date",
    "KvK-nummer",
    "SBI-code",
    "Postcode",
    "Huisnummer",
    "BAG-id",
    "Netwerk ID",
    "Signalen",
    "X",
    "Y",
]
I2_LINK_COLUMNS = [
    "Link ID",
    "From Entity ID",
    "To Entity ID",
    "Link Type",
    "Date",
    "End Date",
    "Description",
    "Koopsom",
    "Score",
    "Netwerk ID",
]
#: bcba node type -> i2 entity type (icons are chosen in the import specification).
I2_ENTITY_TYPES = {
    "bedrijf": "Organisatie",
    "persoon": "Persoon",
    "adres": "Adres",
    "melding": "Gebeurtenis",
}
I2_LINK_TYPES = {
    "functionaris_van": "Functionaris van",
    "gevestigd_op": "Gevestigd op",
    "koper_van": "Koper van",
    "verkoper_van": "Verkoper van",
    "melding_op": "Melding op",
    "mogelijk_zelfde": "Mogelijk zelfde",
}


def _plain(value):
    """A GraphML-safe value: str/int/float/bool, dates ISO; None when missing."""
    if value is None:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        if pd.isna(value):
            return None
        return (
            value.date().isoformat()
            if isinstance(value, (pd.Timestamp, dt.datetime))
            else value.isoformat()
        )
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(float(value)) else float(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _graphml_graph(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    out = nx.MultiDiGraph()
    for node, data in graph.nodes(data=True):
        clean = {k: v for k, v in ((k, _plain(v)) for k, v in data.items()) if v is not None}
        out.add_node(str(node), **clean)
    for u, v, key, data in graph.edges(keys=True, data=True):
        clean = {k: x for k, x in ((k, _plain(x)) for k, x in data.items()) if x is not None}
        out.add_edge(str(u), str(v), key=str(key), **clean)
    return out


def write_graphml(graph_or_results, path: str | os.PathLike) -> Path:
    """Write the entity graph as GraphML (attributes as strings/numbers, dates ISO).

    Parameters
    ----------
    graph_or_results : networkx graph or NetworkResults
    path : path-like
        Target file, written atomically (mode 0600).
    """
    # a networkx graph has a ``.graph`` attribute dict of its own, so test the type first
    graph = graph_or_results if isinstance(graph_or_results, nx.Graph) else graph_or_results.graph
    clean = _graphml_graph(graph)
    with io.atomic_path(path) as tmp:
        nx.write_graphml(clean, tmp, encoding="utf-8", prettyprint=True, named_key_ids=True)
    return Path(path)


def _iso(values: pd.Series) -> pd.Series:
    return (
        pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d").astype("string").fillna("")
    )


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("")


def i2_tables(results: NetworkResults) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The i2 entities and links tables (all cells text; empty string when missing).

    Company labels are the trade name only for legal entities (BV, NV, stichting, ...);
    a one-man business or partnership, whose trade name is often the owner's name, is
    labelled by its ``K-`` id. Persons are labelled by pseudonym only.
    """
    nodes = results.nodes
    soort = nodes["soort"].astype("string")
    legal = is_legal_entity(nodes["rechtsvorm"]) | nodes["node_id"].str.startswith("R-").fillna(
        False
    )
    label = nodes["label"].astype("string")
    label = label.where(~soort.eq("bedrijf") | legal, nodes["node_id"])
    label = label.where(~soort.eq("persoon"), nodes["node_id"])
    description = pd.Series(
        np.select(
            [soort.eq("bedrijf"), soort.eq("adres"), soort.eq("melding")],
            [
                "Bedrijf; SBI "
                + _text(nodes["sbi_code"])
                + "; rechtsvorm "
                + _text(nodes["rechtsvorm"]),
                "Adres"
                + pd.Series(
                    np.where(nodes["vastgoed"].fillna(False).astype(bool), " (vastgoedobject)", ""),
                    index=nodes.index,
                ),
                "Melding; thema " + _text(nodes["thema"]),
            ],
            "Persoon (gepseudonimiseerd)",
        ),
        index=nodes.index,
    )
    start = nodes["datum_inschrijving"].where(nodes["datum_inschrijving"].notna(), nodes["datum"])
    entities = (
        pd.DataFrame(
            {
                "Entity ID": nodes["node_id"],
                "Entity Type": soort.map(I2_ENTITY_TYPES),
                "Label": label,
                "Description": description,
                "Date": _iso(start),
                "End Date": _iso(nodes["datum_uitschrijving"]),
                "KvK-nummer": _text(nodes["kvk_nummer"]),
                "SBI-code": _text(nodes["sbi_code"]),
                "Postcode": _text(nodes["postcode"]),
                "Huisnummer": _text(nodes["huisnummer"].astype("Int64").astype("string")),
                "BAG-id": _text(nodes["adres_id"]),
                "Netwerk ID": _text(nodes["netwerk_id"]),
                "Signalen": _text(nodes["flags"]) if "flags" in nodes else "",
                "X": _text(nodes["x"].round(1).astype("string")),
                "Y": _text(nodes["y"].round(1).astype("string")),
            }
        )
        .astype("string")
        .fillna("")
    )

    edges = results.edges
    kind = edges["soort"].astype("string")
    date = edges["datum"].where(edges["datum"].notna(), edges["datum_van"])
    links = (
        pd.DataFrame(
            {
                "Link ID": edges["link_id"],
                "From Entity ID": edges["bron"],
                "To Entity ID": edges["doel"],
                "Link Type": kind.map(I2_LINK_TYPES),
                "Date": _iso(date),
                "End Date": _iso(edges["datum_tot"]),
                "Description": _text(edges["functie"]).where(
                    kind.eq("functionaris_van"), _text(edges["toelichting"])
                ),
                "Koopsom": _text(edges["koopsom"].round(0).astype("Int64").astype("string")),
                "Score": _text(edges["score"].round(3).astype("string")).where(
                    kind.eq("mogelijk_zelfde"), ""
                ),
                "Netwerk ID": _text(edges["netwerk_id"]) if "netwerk_id" in edges else "",
            }
        )
        .astype("string")
        .fillna("")
    )
    return entities[I2_ENTITY_COLUMNS], links[I2_LINK_COLUMNS]


def write_i2(
    results: NetworkResults,
    out_dir: str | os.PathLike,
    *,
    netwerk_ids: list[str] | None = None,
    prefix: str = "netwerk",
) -> dict[str, Path]:
    """Write ``<prefix>_entiteiten.csv`` and ``<prefix>_links.csv`` for i2 Analyst's Notebook.

    Parameters
    ----------
    results : NetworkResults
    out_dir : path-like
        Folder (created 0700); files are written atomically (0600), UTF-8 with BOM,
        comma-separated, every value quoted as text.
    netwerk_ids : list of str, optional
        Only these networks (e.g. the top 10 of ``results.networks``); default all.
    prefix : str, default "netwerk"

    Returns
    -------
    dict with keys ``entiteiten`` and ``links`` -> written paths.
    """
    import csv

    entities, links = i2_tables(results)
    if netwerk_ids is not None:
        wanted = set(netwerk_ids)
        entities = entities[entities["Netwerk ID"].isin(wanted)]
        keep = set(entities["Entity ID"])
        links = links[links["From Entity ID"].isin(keep) & links["To Entity ID"].isin(keep)]
    folder = io.ensure_dir(out_dir)
    paths = {
        "entiteiten": folder / f"{prefix}_entiteiten.csv",
        "links": folder / f"{prefix}_links.csv",
    }
    options = {"encoding": "utf-8-sig", "quoting": csv.QUOTE_ALL, "lineterminator": "\r\n"}
    io.write_csv(entities, paths["entiteiten"], **options)
    io.write_csv(links, paths["links"], **options)
    return paths

"""Network indicators: structural patterns, centralities and the ranking of networks.

Every pattern function takes the :class:`~bcba.network.graph.EntityTables` and returns flag
records (:data:`FLAG_COLUMNS`): one row per flagged node per pattern instance. All work is
done with grouped pandas operations on the edge table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import networkx as nx
import numpy as np
import pandas as pd

from bcba.network._util import isin, join_runs, positions
from bcba.network.graph import EntityTables
from bcba.network.normalise import normalise_kvk
from bcba.network.resolution import person_node_id

log = logging.getLogger(__name__)

__all__ = [
    "FLAG_COLUMNS",
    "FLAG_LABELS",
    "RISK_SBI_PREFIXES",
    "LINKED_SBI_PREFIXES",
    "address_hubs",
    "straw_men",
    "carousels",
    "young_company_property",
    "shared_officers",
    "network_components",
    "centralities",
    "map_external_flags",
    "rank_networks",
]

#: Risk branches (SBI prefixes): shisha lounges, cafés/restaurants, car washes, massage and
#: beauty salons, phone shops, car trade, storage and money transfer.
RISK_SBI_PREFIXES: tuple[str, ...] = (
    "5630",
    "561",
    "45205",
    "96021",
    "96022",
    "4742",
    "4511",
    "5210",
    "6619",
)
#: Branches whose link with a risk branch is itself a signal: real estate (SBI 68).
LINKED_SBI_PREFIXES: tuple[str, ...] = ("68",)

FLAG_COLUMNS = {
    "flag_id": "string",
    "node_id": "string",
    "soort": "string",
    "kvk_nummer": "string",
    "persoon_id": "string",
    "adres_id": "string",
    "gewicht": "float64",
    "sterkte": "float64",
    "patroon": "string",
    "toelichting": "string",
    "bron": "string",
}

FLAG_LABELS = {
    "NET_STROMAN": "stroman (persoon met veel kortstondige functies)",
    "NET_ADRES_HUB": "adres met veel bedrijven of eigenaren",
    "NET_CARROUSEL": "bedrijvencarrousel tussen dezelfde adressen",
    "NET_VASTGOED_JONGE_BV": "vastgoed gekocht door een pas opgerichte rechtspersoon",
    "NET_GEDEELDE_FUNCTIONARIS": "gedeelde functionaris van risicobranchebedrijven",
}


def _edges(tables: EntityTables, kind: str) -> pd.DataFrame:
    return tables.edges[tables.edges["soort"].eq(kind)]


def _flags(
    flag_id: str,
    node_ids: pd.Series,
    patroon: pd.Series,
    toelichting: pd.Series,
    tables: EntityTables,
    *,
    sterkte=1.0,
    bron: str = "netwerk",
) -> pd.DataFrame:
    """Flag records; ``sterkte`` (strength, 1 = just over the threshold) is also the
    initial ``gewicht`` until :func:`weighted` multiplies it by the configured weight."""
    strength = np.asarray(
        pd.Series(sterkte, copy=False).to_numpy(dtype=float)
        if np.ndim(sterkte)
        else np.full(len(node_ids), float(sterkte)),
        dtype=float,
    )
    out = pd.DataFrame(
        {
            "flag_id": flag_id,
            "node_id": pd.Series(node_ids, copy=False).astype("string").to_numpy(dtype=object),
            "gewicht": strength,
            "sterkte": strength,
            "patroon": pd.Series(patroon, copy=False).astype("string").to_numpy(dtype=object),
            "toelichting": pd.Series(toelichting, copy=False)
            .astype("string")
            .to_numpy(dtype=object),
            "bron": bron,
        }
    )
    return _with_node_columns(out, tables.nodes)


def _with_node_columns(flags: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    columns = ["soort", "kvk_nummer", "persoon_id", "adres_id"]
    out = flags.drop(columns=[c for c in columns if c in flags.columns])
    try:
        # positional lookup: a join on Arrow string ids hashes them as Python objects
        pos = positions(out["node_id"], nodes["node_id"])
    except pd.errors.InvalidIndexError:  # repeated node ids: join them all, as before
        out = out.join(nodes.set_index("node_id")[columns], on="node_id")
    else:
        if len(nodes):
            info = (
                nodes[columns]
                .iloc[np.maximum(pos, 0)]
                .where(np.broadcast_to(pos[:, None] >= 0, (len(pos), len(columns))))
            )
        else:
            info = pd.DataFrame(
                {c: pd.Series(pd.NA, index=out.index, dtype=nodes[c].dtype) for c in columns}
            )
        out = out.assign(**{c: info[c].array for c in columns})
    out = out.drop_duplicates(subset=["flag_id", "node_id", "patroon"])
    for name, dtype in FLAG_COLUMNS.items():
        if name not in out:
            out[name] = pd.Series(pd.NA, index=out.index, dtype=dtype)
    return out[list(FLAG_COLUMNS)].astype(FLAG_COLUMNS).reset_index(drop=True)


def empty_flags() -> pd.DataFrame:
    """An empty flag table with the right columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in FLAG_COLUMNS.items()})


# --------------------------------------------------------------------------- patterns


def address_hubs(
    tables: EntityTables, *, min_companies: int = 5, min_owners: int = 3
) -> pd.DataFrame:
    """``NET_ADRES_HUB``: addresses where many companies were registered or many parties
    bought over the whole extract (not only at one moment).

    Parameters
    ----------
    min_companies : int, default 5
        Distinct companies ever registered at the address from which it is a hub.
    min_owners : int, default 3
        Distinct buyers of the address from which it is a hub.
    """
    companies = _edges(tables, "gevestigd_op").groupby("doel")["bron"].nunique()
    owners = _edges(tables, "koper_van").groupby("doel")["bron"].nunique()
    counts = pd.DataFrame({"bedrijven": companies, "eigenaren": owners}).fillna(0).astype(int)
    hubs = counts[(counts["bedrijven"] >= min_companies) | (counts["eigenaren"] >= min_owners)]
    if hubs.empty:
        return empty_flags()
    text = (
        hubs["bedrijven"].astype("string")
        + " bedrijven ingeschreven en "
        + hubs["eigenaren"].astype("string")
        + " kopers op dit adres"
    )
    strength = np.maximum(hubs["bedrijven"] / min_companies, hubs["eigenaren"] / min_owners)
    return _flags(
        "NET_ADRES_HUB",
        hubs.index.to_series(),
        "NET_ADRES_HUB:" + hubs.index.to_series(),
        text,
        tables,
        sterkte=strength.round(3),
    )


def _officer_roles(tables: EntityTables) -> pd.DataFrame:
    roles = _edges(tables, "functionaris_van")[["bron", "doel", "datum_van", "datum_tot"]]
    info = tables.nodes.set_index("node_id")[
        ["datum_inschrijving", "datum_uitschrijving", "sbi_code"]
    ]
    return roles.join(info, on="doel")


def straw_men(
    tables: EntityTables,
    *,
    min_short: int = 3,
    short_role_days: int = 365,
    short_company_days: int = 730,
) -> pd.DataFrame:
    """``NET_STROMAN``: a person with many short-lived directorships.

    A directorship counts as short when the role ended within ``short_role_days`` of its
    start, or the company itself was deregistered within ``short_company_days`` of its
    registration. The person and those companies are flagged.
    """
    roles = _officer_roles(tables)
    role_days = (roles["datum_tot"] - roles["datum_van"]).dt.days
    company_days = (roles["datum_uitschrijving"] - roles["datum_inschrijving"]).dt.days
    short = roles[
        (role_days <= short_role_days).fillna(False)
        | (company_days <= short_company_days).fillna(False)
    ]
    total = roles.groupby("bron")["doel"].nunique()
    n_short = short.groupby("bron")["doel"].nunique()
    persons = n_short[n_short >= min_short]
    if persons.empty:
        return empty_flags()
    text_person = (
        "functionaris van "
        + total.reindex(persons.index).astype("string")
        + " bedrijven, waarvan "
        + persons.astype("string")
        + " kortstondig"
    )
    person_flags = pd.DataFrame(
        {
            "node": persons.index,
            "patroon": "NET_STROMAN:" + persons.index.to_series(),
            "text": text_person.to_numpy(),
        }
    )
    comp = short[isin(short["bron"], persons.index)].drop_duplicates(["bron", "doel"])
    comp_flags = pd.DataFrame(
        {
            "node": comp["doel"],
            "patroon": "NET_STROMAN:" + comp["bron"],
            "text": "kortstondig bedrijf van functionaris " + comp["bron"],
        }
    )
    both = pd.concat([person_flags, comp_flags], ignore_index=True)
    strength = (n_short / min_short).round(3)
    both["sterkte"] = both["patroon"].str.removeprefix("NET_STROMAN:").map(strength)
    return _flags(
        "NET_STROMAN", both["node"], both["patroon"], both["text"], tables, sterkte=both["sterkte"]
    )


def carousels(
    tables: EntityTables, *, min_companies: int = 2, min_addresses: int = 2
) -> pd.DataFrame:
    """``NET_CARROUSEL``: companies that move between the same set of addresses.

    Two companies form a carousel pair when both were registered (at any time) at the same
    ``min_addresses`` or more addresses; overlapping pairs form one carousel. A carousel of
    at least ``min_companies`` companies flags its companies and the shared addresses.
    """
    located = _edges(tables, "gevestigd_op")[["bron", "doel"]].drop_duplicates()
    n_addr = located.groupby("bron")["doel"].transform("nunique")
    movers = located[n_addr >= min_addresses]
    pairs = movers.merge(movers, on="doel", suffixes=("_a", "_b"))
    pairs = pairs[pairs["bron_a"] < pairs["bron_b"]]
    shared = pairs.groupby(["bron_a", "bron_b"])["doel"].transform("nunique")
    pairs = pairs[shared >= min_addresses]
    if pairs.empty:
        return empty_flags()
    pair_graph = nx.Graph()
    pair_graph.add_edges_from(zip(pairs["bron_a"], pairs["bron_b"], strict=True))
    group_of = {}
    for i, members in enumerate(sorted(nx.connected_components(pair_graph), key=min), start=1):
        group_of.update(dict.fromkeys(members, i))
    pairs = pairs.assign(groep=pairs["bron_a"].map(group_of))
    members = pd.concat(
        [
            pairs[["groep", "bron_a"]].set_axis(["groep", "c"], axis=1),
            pairs[["groep", "bron_b"]].set_axis(["groep", "c"], axis=1),
        ]
    )
    size = members.groupby("groep")["c"].nunique()
    keep = size[size >= min_companies].index
    pairs = pairs[isin(pairs["groep"], keep)]
    if pairs.empty:
        return empty_flags()
    patroon = "NET_CARROUSEL:" + pairs["groep"].astype("string")
    companies = pd.concat(
        [
            pd.DataFrame({"node": pairs["bron_a"], "patroon": patroon}),
            pd.DataFrame({"node": pairs["bron_b"], "patroon": patroon}),
        ]
    )
    addresses = pd.DataFrame({"node": pairs["doel"], "patroon": patroon})
    n_comp = companies.groupby("patroon")["node"].nunique()
    n_adr = addresses.groupby("patroon")["node"].nunique()
    text = (
        n_comp.astype("string")
        + " bedrijven verhuizen tussen "
        + n_adr.astype("string")
        + " gedeelde adressen"
    )
    both = pd.concat([companies, addresses], ignore_index=True)
    strength = (n_comp / min_companies).round(3)
    return _flags(
        "NET_CARROUSEL",
        both["node"],
        both["patroon"],
        both["patroon"].map(text),
        tables,
        sterkte=both["patroon"].map(strength),
    )


def young_company_property(tables: EntityTables, *, max_days: int = 365) -> pd.DataFrame:
    """``NET_VASTGOED_JONGE_BV``: property bought by a company registered at KvK less than
    ``max_days`` before the purchase. Flags the company and the properties; one pattern per
    company, strength = objects bought so without mortgage + half those with mortgage."""
    buys = _edges(tables, "koper_van")
    info = tables.nodes.set_index("node_id")[["soort", "datum_inschrijving"]].add_prefix("koper_")
    buys = buys.join(info, on="bron")
    age = (buys["datum"] - buys["koper_datum_inschrijving"]).dt.days
    hit = buys[buys["koper_soort"].eq("bedrijf") & age.between(0, max_days - 1).fillna(False)]
    if hit.empty:
        return empty_flags()
    age = age[hit.index]
    without = hit["hypotheek"].eq(False).fillna(False)
    sum_text = hit["koopsom"].map(
        lambda v: "onbekend" if pd.isna(v) else f"€ {v:,.0f}".replace(",", ".")
    )
    text = (
        "aankoop "
        + hit["datum"].dt.strftime("%Y-%m-%d")
        + " (koopsom "
        + sum_text.astype("string")
        + pd.Series(np.where(without, ", zonder hypotheek", ""), index=hit.index)
        + ") door bedrijf ingeschreven "
        + age.astype("Int64").astype("string")
        + " dagen eerder"
    )
    # One pattern per buying company; its strength is the number of objects it bought.
    patroon = "NET_VASTGOED_JONGE_BV:" + hit["bron"]
    # A purchase without mortgage counts full, one with (or unknown) mortgage half.
    per_object = pd.DataFrame(
        {"bron": hit["bron"], "doel": hit["doel"], "w": np.where(without, 1.0, 0.5)}
    )
    strength = per_object.groupby(["bron", "doel"])["w"].max().groupby(level=0).sum()
    both = pd.concat(
        [
            pd.DataFrame({"node": hit["bron"], "patroon": patroon, "text": text}),
            pd.DataFrame({"node": hit["doel"], "patroon": patroon, "text": text}),
        ],
        ignore_index=True,
    )
    return _flags(
        "NET_VASTGOED_JONGE_BV",
        both["node"],
        both["patroon"],
        both["text"],
        tables,
        sterkte=both["patroon"].str.removeprefix("NET_VASTGOED_JONGE_BV:").map(strength),
    )


def shared_officers(
    tables: EntityTables,
    *,
    risk_sbi: Iterable[str] = RISK_SBI_PREFIXES,
    linked_sbi: Iterable[str] = LINKED_SBI_PREFIXES,
    min_companies: int = 2,
    min_risk: int = 1,
) -> pd.DataFrame:
    """``NET_GEDEELDE_FUNCTIONARIS``: one person is officer of ``min_companies`` or more
    companies in risk branches or linked branches, at least ``min_risk`` of them in a risk
    branch (SBI codes starting with one of ``risk_sbi`` / ``linked_sbi``).

    By default the linked branch is real estate (SBI 68): the officer of a shisha lounge who
    also runs the BV that buys houses. Pass ``linked_sbi=()`` and ``min_risk=2`` to count only
    officers shared between risk-branch businesses. The person and those companies are
    flagged; strength = number of such companies / ``min_companies``.
    """
    risk = tuple(str(p) for p in risk_sbi)
    linked = tuple(str(p) for p in linked_sbi)
    roles = _officer_roles(tables).drop_duplicates(["bron", "doel"])
    sbi = roles["sbi_code"].astype("string").str.replace(".", "", regex=False)
    is_risk = (
        sbi.str.startswith(risk).fillna(False) if risk else pd.Series(False, index=roles.index)
    )
    is_linked = (
        sbi.str.startswith(linked).fillna(False) if linked else pd.Series(False, index=roles.index)
    )
    roles = roles.assign(risico=is_risk.astype(bool))[(is_risk | is_linked).astype(bool)]
    n_all = roles.groupby("bron")["doel"].nunique()
    n_risk = (
        roles[roles["risico"]].groupby("bron")["doel"].nunique().reindex(n_all.index, fill_value=0)
    )
    persons = n_all[(n_all >= min_companies) & (n_risk >= min_risk)]
    if persons.empty:
        return empty_flags()
    comp = roles[isin(roles["bron"], persons.index)]
    text_person = (
        "functionaris van "
        + persons.astype("string")
        + " bedrijven in risico- of gelieerde branches, waarvan "
        + n_risk.reindex(persons.index).astype("string")
        + " in een risicobranche"
    )
    both = pd.concat(
        [
            pd.DataFrame(
                {"node": persons.index, "persoon": persons.index, "text": text_person.to_numpy()}
            ),
            pd.DataFrame(
                {
                    "node": comp["doel"],
                    "persoon": comp["bron"],
                    "text": pd.Series(
                        np.where(comp["risico"], "risicobranchebedrijf", "gelieerd bedrijf"),
                        index=comp.index,
                    )
                    + " met gedeelde functionaris "
                    + comp["bron"],
                }
            ),
        ],
        ignore_index=True,
    )
    strength = (persons / min_companies).round(3)
    return _flags(
        "NET_GEDEELDE_FUNCTIONARIS",
        both["node"],
        "NET_GEDEELDE_FUNCTIONARIS:" + both["persoon"],
        both["text"],
        tables,
        sterkte=both["persoon"].map(strength),
    )


# --------------------------------------------------------------------------- structure


def _undirected_pairs(graph, *, exclude: Iterable[str]) -> tuple[pd.Index, np.ndarray]:
    """Sorted node ids and the distinct undirected links ``(i, j)``, ``i < j``, as positions
    in them, of ``graph`` (MultiDiGraph or EntityTables) without the link types in
    ``exclude``. Self-loops are dropped: they join nothing."""
    skip = set(exclude)
    if isinstance(graph, EntityTables):
        kept = graph.edges[~graph.edges["soort"].isin(skip)]
        # One joint factorize (hashed in Arrow) of node ids and link ends: node ids get
        # the codes 0..k-1, which are then ranked in sorted order.
        ids = graph.nodes["node_id"]
        codes, uniques = pd.factorize(
            pd.concat([ids, kept["bron"], kept["doel"]], ignore_index=True)
        )
        n_ids = len(ids)
        known = codes[:n_ids]
        k = int(known.max()) + 1 if n_ids else 0
        names = np.asarray(uniques[:k], dtype=object)
        order = np.argsort(names, kind="stable")
        index = pd.Index(names[order])
        rank = np.full(len(uniques) + 1, -1, dtype=np.int64)  # last slot: missing (-1)
        rank[order] = np.arange(k)
        ends_a, ends_b = np.split(codes[n_ids:], 2)
        a, b = rank[ends_a], rank[ends_b]
        ok = (a >= 0) & (b >= 0) & (a != b)
        return index, _distinct_pairs(a[ok], b[ok], k)
    else:
        ids = np.asarray(list(graph.nodes), dtype=object)
        kept = [(u, v) for u, v, kind in graph.edges(data="soort") if kind not in skip]
        ends = (
            np.asarray([u for u, _ in kept], dtype=object),
            np.asarray([v for _, v in kept], dtype=object),
        )
    index = pd.Index(ids).unique().sort_values()
    a, b = index.get_indexer(ends[0]), index.get_indexer(ends[1])
    ok = (a >= 0) & (b >= 0) & (a != b)
    return index, _distinct_pairs(a[ok], b[ok], len(index))


def _distinct_pairs(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """The distinct undirected pairs ``(min, max)`` of positions ``a``, ``b`` (< ``n``),
    sorted; as ``np.unique(..., axis=0)`` gives them, through one int64 key."""
    low, high = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    key = np.sort(low * max(n, 1) + high)
    key = key[np.diff(key, prepend=-1) != 0]  # distinct (keys are >= 0)
    return np.column_stack([key // max(n, 1), key % max(n, 1)]).reshape(-1, 2)


def _louvain_first_level(n: int, pairs: np.ndarray, seed: int) -> np.ndarray:
    """Community of each of ``n`` vertices after the first level of Louvain (igraph's
    multilevel algorithm) with igraph's random numbers drawn from ``random.Random(seed)``."""
    import random

    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        # The C routine itself: Graph.community_multilevel wraps every level in a
        # VertexClustering (Python loops over all vertices) that is not needed here.
        levels, _ = igraph.GraphBase.community_multilevel(
            igraph.Graph(n=n, edges=pairs.tolist()), return_levels=True
        )
    finally:
        igraph.set_random_number_generator(random)  # igraph's default
    return np.asarray(levels[0], dtype=np.int64)


def network_components(
    graph,
    *,
    exclude: Iterable[str] = ("mogelijk_zelfde",),
    max_size: int | None = None,
    seed: int = 0,
) -> pd.Series:
    """Networks: connected components ignoring link types in ``exclude``.

    Parameters
    ----------
    graph : networkx.MultiDiGraph or EntityTables
    exclude : link types that do not join networks. Doubtful ``mogelijk_zelfde`` links are
        shown, not merged.
    max_size : int, optional
        In real registers ordinary links (offices with several tenants, officers with two
        companies) chain into one very large component; a component of more than
        ``max_size`` nodes is split into the communities of the first level of the Louvain
        method (:meth:`igraph.Graph.community_multilevel`, seeded, deterministic), which
        keeps dense structures (a hub address with its companies, a straw man with his
        companies) together.
    seed : int, default 0

    Returns
    -------
    Series node_id -> network number (1 = largest; ties by smallest node id).
    """
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    index, pairs = _undirected_pairs(graph, exclude=exclude)
    n = len(index)
    if n == 0:
        return pd.Series(
            np.array([], dtype=np.int64), index=pd.Index([], name="node_id"), name="component"
        )
    adjacency = coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(adjacency, directed=False)
    sizes = np.bincount(label)
    if max_size is not None and (sizes > max_size).any():
        label = label.copy()
        next_label = len(sizes)
        for big in np.flatnonzero(sizes > max_size):
            members = np.flatnonzero(label == big)
            local = np.full(n, -1, dtype=np.int64)
            local[members] = np.arange(len(members))
            inside = pairs[(label[pairs[:, 0]] == big)]
            # One Louvain level: communities of a few dozen nodes; further levels merge
            # them back into thousands of nodes.
            parts = _louvain_first_level(len(members), local[inside], seed)
            label[members] = next_label + parts
            next_label += int(parts.max()) + 1
            log.info(
                "netwerk van %d knopen gesplitst in %d gemeenschappen",
                len(members),
                int(parts.max()) + 1,
            )
    # Number the networks: 1 = largest, ties by the smallest node id (positions in the
    # sorted index, so the smallest position is the smallest id).
    _, label = np.unique(label, return_inverse=True)
    sizes = np.bincount(label)
    first = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first, label, np.arange(n))
    order = np.lexsort((first, -sizes))
    number = np.empty(len(sizes), dtype=np.int64)
    number[order] = np.arange(1, len(sizes) + 1)
    out = pd.Series(number[label], index=pd.Index(index, name="node_id"), name="component")
    return out.sort_values(kind="stable")


def centralities(
    tables: EntityTables,
    networks: pd.Series,
    *,
    exact_max: int = 500,
    k: int = 100,
    seed: int = 0,
    exclude: Iterable[str] = ("mogelijk_zelfde", "melding_op"),
    only: Iterable | None = None,
) -> pd.DataFrame:
    """Degree and betweenness of every node.

    ``graad`` is the number of distinct neighbours over all links. ``betweenness`` is
    computed within the node's own network (``networks``: node_id -> network) on the links
    between companies, persons and addresses (events and doubtful links left out, so a
    much-reported address does not look central), normalised to 0-1. Networks up to
    ``exact_max`` nodes are computed exactly, larger ones from ``k`` seeded samples.
    ``only`` restricts betweenness to these networks (the others get 0): at the scale of a
    large city most networks carry no flag and nobody looks at their centre.
    """
    edges = tables.edges
    node_ids = tables.nodes["node_id"]
    n_tab, n_links_all = len(node_ids), len(edges)
    # Everything below works on integer codes of one joint factorize of the node ids and
    # link ends (hashed in Arrow); ids are strings again only for the larger networks.
    codes, uniques = pd.factorize(
        pd.concat([node_ids, edges["bron"], edges["doel"]], ignore_index=True)
    )
    n_codes = len(uniques)
    node_code = codes[:n_tab]
    src, dst = codes[n_tab : n_tab + n_links_all], codes[n_tab + n_links_all :]

    # graad: distinct neighbours over all links
    ok = (src >= 0) & (dst >= 0) & (src != dst)
    both = pd.unique(
        np.concatenate([src[ok] * n_codes + dst[ok], dst[ok] * n_codes + src[ok]]).astype(np.int64)
    )
    degree = np.bincount(both // max(n_codes, 1), minlength=n_codes)

    # network code of every id code (-1: no network)
    net_codes, net_names = pd.factorize(pd.Series(networks, copy=False))
    pos = positions(uniques, networks.index) if len(networks) else np.full(n_codes, -1)
    net_of = np.where(pos >= 0, net_codes[np.maximum(pos, 0)] if len(net_codes) else -1, -1)
    net_of = np.append(net_of, -1)  # index -1 (missing end) -> no network

    kept = ~edges["soort"].isin(set(exclude)).to_numpy(dtype=bool)
    a, b = src[kept], dst[kept]
    net = net_of[a]
    same = (net >= 0) & (net == net_of[b])
    if only is not None:
        allowed = np.append(isin(pd.Series(net_names), set(only)), False)
        same &= allowed[net]
    a, b, net = a[same], b[same], net[same]
    first = ~pd.Series(a.astype(np.int64) * n_codes + b).duplicated().to_numpy()
    a, b, net = a[first], b[first], net[first]
    raw = np.zeros(n_codes, dtype=float)
    # Shortcut without a networkx call: in a star (one node linked to all others and no
    # other links; includes every network of one or two links) the centre has
    # betweenness 1 and the leaves 0. Most networks of a register are stars.
    n_nets = len(net_names)
    n_links = np.bincount(net, minlength=n_nets)
    node_degree = np.bincount(np.concatenate([a, b]), minlength=n_codes)
    present = np.flatnonzero(node_degree)
    n_nodes = np.bincount(net_of[present], minlength=n_nets)
    top = np.zeros(n_nets, dtype=np.int64)
    np.maximum.at(top, net_of[present], node_degree[present])
    star = (n_links > 0) & (n_links == n_nodes - 1) & (top == n_nodes - 1)
    centre = present[
        star[net_of[present]]
        & (node_degree[present] == top[net_of[present]])
        & (n_nodes[net_of[present]] >= 3)
    ]
    raw[centre] = 1.0
    rest = ~star[net]
    a, b, net = a[rest], b[rest], net[rest]
    size = n_nodes[net]
    with np.errstate(divide="ignore"):
        scale = np.where(n_nodes > 2, 2.0 / ((n_nodes - 1) * (n_nodes - 2)), np.nan)
    # Networks up to exact_max nodes: one igraph call on all of them together (paths never
    # leave a network, so each node gets the betweenness within its own network).
    exact = size <= exact_max
    if exact.any():
        import igraph

        local, ids = pd.factorize(np.concatenate([a[exact], b[exact]]))
        links = local.reshape(2, -1).T
        union = igraph.Graph(n=len(ids), edges=links.tolist()).simplify()
        values = np.asarray(union.betweenness(directed=False), dtype=float)
        factor = np.nan_to_num(scale[net_of[ids]], nan=0.0)
        raw[ids] = values * factor
    # Larger ones: k seeded samples each (networkx), in network order.
    larger = np.flatnonzero(~exact)
    if len(larger):
        names = np.asarray(uniques, dtype=object)
        order = sorted(pd.unique(net[larger]).tolist(), key=lambda c: net_names[c])
        for big, code in enumerate(order):
            rows = larger[net[larger] == code]
            sub = nx.Graph()
            sub.add_edges_from(zip(names[a[rows]].tolist(), names[b[rows]].tolist(), strict=True))
            n = sub.number_of_nodes()
            values = nx.betweenness_centrality(sub, k=min(k, n), normalized=False, seed=seed + big)
            factor = float(scale[code])
            factor = 0.0 if np.isnan(factor) else factor
            at = pd.Index(names).get_indexer(list(values))
            raw[at] = [v * factor for v in values.values()]
    index = pd.Index(node_ids, name="node_id")
    found = node_code >= 0
    return pd.DataFrame(
        {
            "graad": np.where(found, degree[np.maximum(node_code, 0)], 0).astype("int64"),
            "betweenness": np.round(np.where(found, raw[np.maximum(node_code, 0)], 0.0), 6),
        },
        index=index,
    )


def map_external_flags(flags: pd.DataFrame | None, nodes: pd.DataFrame) -> pd.DataFrame:
    """Map flag records of other modules onto graph nodes.

    ``flags`` needs ``flag_id`` and at least one of ``kvk_nummer`` (-> ``K-``),
    ``persoon_id`` (-> ``P-``), ``adres_id`` (-> ``A-``) or ``adres_sleutel``; ``weight`` or
    ``gewicht`` (default 1). Records that match no node are dropped (logged).
    """
    if flags is None or flags.empty:
        return empty_flags()
    index = flags.index
    candidates = []
    if "kvk_nummer" in flags:
        candidates.append("K-" + normalise_kvk(flags["kvk_nummer"]))
    if "persoon_id" in flags:
        candidates.append(person_node_id(flags["persoon_id"]))
    if "adres_id" in flags:
        candidates.append("A-" + flags["adres_id"].astype("string"))
    if "adres_sleutel" in flags:
        from bcba.network.normalise import parse_adres_sleutel

        candidates.append("A-" + parse_adres_sleutel(flags["adres_sleutel"])["adres_sleutel"])
    # get_indexer on one Index of the node ids; Series.isin(set) converts to Python objects.
    known = pd.Index(nodes["node_id"].astype("string").dropna().unique())
    rows = []
    for cand in candidates:
        cand = pd.Series(cand, index=index).astype("string")
        ok = pd.Series(known.get_indexer(cand) >= 0, index=index) & cand.notna()
        rows.append(
            pd.DataFrame(
                {"pos": np.flatnonzero(ok.to_numpy()), "node_id": cand[ok].to_numpy(dtype=object)}
            )
        )
    matched = (
        pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["pos", "node_id"])
    )
    weight_col = "weight" if "weight" in flags else ("gewicht" if "gewicht" in flags else None)
    weights = (
        pd.to_numeric(flags[weight_col], errors="coerce").fillna(1.0).to_numpy(dtype=float)
        if weight_col
        else np.ones(len(flags))
    )
    pos = matched["pos"].to_numpy(dtype=np.int64)
    flag_ids = flags["flag_id"].astype("string").to_numpy(dtype=object)
    text = (
        flags["toelichting"].astype("string").to_numpy(dtype=object)
        if "toelichting" in flags
        else None
    )
    out = pd.DataFrame(
        {
            "flag_id": flag_ids[pos],
            "node_id": matched["node_id"].to_numpy(dtype=object),
            "gewicht": weights[pos],
            "patroon": (
                pd.Series(flag_ids[pos], dtype="string") + ":" + matched["node_id"].astype("string")
            ).to_numpy(dtype=object),
            "toelichting": text[pos] if text is not None else "signaal uit andere analyse",
            "bron": "extern",
            "sterkte": weights[pos],
        }
    )
    dropped = len(flags) - out["flag_id"].size
    if dropped > 0:
        log.info("%d externe signalen vallen buiten de entiteitengraaf", dropped)
    return _with_node_columns(out, nodes) if len(out) else empty_flags()


def _network_score(flags: pd.DataFrame) -> pd.DataFrame:
    """Per network: score = sum over flag ids of max weight x (1 + log2(pattern instances))."""
    per = flags.groupby(["netwerk_id", "flag_id"]).agg(
        w=("gewicht", "max"), n=("patroon", "nunique")
    )
    per["s"] = per["w"] * (1.0 + np.log2(per["n"]))
    score = per.groupby(level=0)["s"].sum()
    kinds = per.reset_index().groupby("netwerk_id")["flag_id"].nunique()
    flat = per.reset_index()  # sorted by netwerk_id
    text = join_runs(
        flat["netwerk_id"], flat["flag_id"] + " (" + flat["n"].astype("string") + ")", "; "
    )
    return pd.DataFrame({"score": score, "n_signaalsoorten": kinds, "flags": text})


def rank_networks(
    nodes: pd.DataFrame, flags: pd.DataFrame, *, min_parties: int = 1
) -> pd.DataFrame:
    """The networks table, ranked by the number and weight of the flags they hold.

    Parameters
    ----------
    nodes : DataFrame
        Node table with ``netwerk_id``, ``soort``, ``label``, ``vastgoed``, ``graad``,
        ``betweenness``.
    flags : DataFrame
        Flag records with ``netwerk_id``, ``flag_id``, ``node_id``, ``gewicht``.
    min_parties : int, default 1
        Networks with fewer companies plus persons are left out (an address with only
        events is not a network of parties).

    Returns
    -------
    DataFrame
        netwerk_id, n_bedrijven, n_personen, n_adressen, n_vastgoed, n_meldingen, flags,
        n_signaalsoorten, score, rang, centrale_knoop, beschrijving (Dutch; persons only by
        pseudonym).
    """
    counts = (
        nodes.groupby(["netwerk_id", "soort"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=["bedrijf", "persoon", "adres", "melding"], fill_value=0)
    )
    table = (
        pd.DataFrame(
            {
                "n_bedrijven": counts["bedrijf"],
                "n_personen": counts["persoon"],
                "n_adressen": counts["adres"],
                "n_vastgoed": nodes[nodes["vastgoed"].fillna(False).astype(bool)]
                .groupby("netwerk_id")
                .size(),
                "n_meldingen": counts["melding"],
            }
        )
        .fillna(0)
        .astype("int64")
    )
    table = table[(table["n_bedrijven"] + table["n_personen"]) >= min_parties]
    scored = (
        _network_score(flags)
        if len(flags)
        else pd.DataFrame(columns=["score", "n_signaalsoorten", "flags"])
    )
    table = table.join(scored, how="left")
    table["score"] = table["score"].astype(float).fillna(0.0).round(4)
    table["n_signaalsoorten"] = table["n_signaalsoorten"].fillna(0).astype("int64")
    table["flags"] = table["flags"].astype("string").fillna("")
    table["grootte"] = table[["n_bedrijven", "n_personen", "n_adressen"]].sum(axis=1)
    table = table.reset_index().sort_values(
        ["score", "n_signaalsoorten", "grootte", "netwerk_id"],
        ascending=[False, False, False, True],
    )
    table["rang"] = np.arange(1, len(table) + 1)
    parties = nodes[nodes["soort"].isin(["bedrijf", "persoon", "adres"])].sort_values(
        ["betweenness", "graad", "node_id"], ascending=[False, False, True]
    )
    central = parties.drop_duplicates("netwerk_id").set_index("netwerk_id")["label"]
    table["centrale_knoop"] = table["netwerk_id"].map(central).astype("string")
    table["beschrijving"] = _describe(table)
    columns = [
        "netwerk_id",
        "n_bedrijven",
        "n_personen",
        "n_adressen",
        "n_vastgoed",
        "n_meldingen",
        "flags",
        "n_signaalsoorten",
        "score",
        "rang",
        "centrale_knoop",
        "beschrijving",
    ]
    return (
        table[columns]
        .reset_index(drop=True)
        .astype({"netwerk_id": "string", "beschrijving": "string"})
    )


def _plural(n: pd.Series, one: str, many: str) -> pd.Series:
    return n.astype("string") + " " + pd.Series(np.where(n.eq(1), one, many), index=n.index)


def _describe(table: pd.DataFrame) -> pd.Series:
    head = (
        "Netwerk van "
        + _plural(table["n_bedrijven"], "bedrijf", "bedrijven")
        + ", "
        + _plural(table["n_personen"], "persoon", "personen")
        + " en "
        + _plural(table["n_adressen"], "adres", "adressen")
    )
    vastgoed = pd.Series(
        np.where(
            table["n_vastgoed"].gt(0),
            " (waarvan " + table["n_vastgoed"].astype("string") + " vastgoed)",
            "",
        ),
        index=table.index,
    )
    signals = pd.Series(
        np.where(
            table["flags"].ne(""), ". Signalen: " + table["flags"].astype(str), ". Geen signalen"
        ),
        index=table.index,
    )
    central = ". Centrale knoop: " + table["centrale_knoop"].fillna("onbekend") + "."
    return (head + vastgoed + signals + central).astype("string")


def weighted(flags: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """gewicht = configured weight x sterkte for network flags (external flags keep theirs)."""
    if flags.empty or not weights:
        return flags
    own = flags["bron"].eq("netwerk")
    factor = flags["flag_id"].map(dict(weights)).astype(float).fillna(1.0)
    return flags.assign(gewicht=(flags["sterkte"] * factor).where(own, flags["gewicht"]))

"""The entity graph: companies, persons, addresses and events with typed, dated links.

The graph is built from edge and node tables made with grouped pandas operations and added
to a :class:`networkx.MultiDiGraph` in bulk. Node ids:

- ``K-<kvk_nummer>`` companies with a KvK number, ``R-<normalised name>`` legal entities
  from Kadaster without one;
- ``P-<pseudonym>`` natural persons (officers and private buyers/sellers);
- ``A-<adres_id>`` addresses (``A-<adres_sleutel>`` without BAG id). A Kadaster object is
  the address node of the property (attribute ``vastgoed=True``), so a company registered
  at an address it bought is one hop from it;
- ``E-<bron>-<n>`` partner events (meldingen).

Edge types: ``functionaris_van`` (person -> company, datum_van/datum_tot), ``gevestigd_op``
(company -> address, datum_van/datum_tot), ``koper_van`` / ``verkoper_van`` (party ->
property, datum, koopsom, hypotheek), ``melding_op`` (event -> address, datum) and
``mogelijk_zelfde`` (doubtful match, score, toelichting).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd

from bcba.network._util import isin
from bcba.network.normalise import normalise_kvk, parse_adres_sleutel
from bcba.network.resolution import (
    Resolution,
    company_node_id,
    person_node_id,
    resolve_addresses,
    resolve_companies,
)

log = logging.getLogger(__name__)

__all__ = [
    "EntityTables",
    "NODE_COLUMNS",
    "EDGE_COLUMNS",
    "EDGE_TYPES",
    "NODE_TYPES",
    "build_entity_tables",
    "to_networkx",
    "is_legal_entity",
]

NODE_TYPES = ("bedrijf", "persoon", "adres", "melding")
EDGE_TYPES = (
    "functionaris_van",
    "gevestigd_op",
    "koper_van",
    "verkoper_van",
    "melding_op",
    "mogelijk_zelfde",
)

NODE_COLUMNS = {
    "node_id": "string",
    "soort": "string",
    "label": "string",
    "kvk_nummer": "string",
    "persoon_id": "string",
    "adres_id": "string",
    "adres_sleutel": "string",
    "postcode": "string",
    "huisnummer": "Int64",
    "huisletter": "string",
    "toevoeging": "string",
    "handelsnaam": "string",
    "rechtsvorm": "string",
    "sbi_code": "string",
    "datum_inschrijving": "datetime64[ns]",
    "datum_uitschrijving": "datetime64[ns]",
    "vastgoed": "boolean",
    "thema": "string",
    "datum": "datetime64[ns]",
    "x": "float64",
    "y": "float64",
}
EDGE_COLUMNS = {
    "link_id": "string",
    "bron": "string",
    "doel": "string",
    "soort": "string",
    "datum_van": "datetime64[ns]",
    "datum_tot": "datetime64[ns]",
    "datum": "datetime64[ns]",
    "koopsom": "float64",
    "hypotheek": "boolean",
    "transactie_id": "string",
    "functie": "string",
    "score": "float64",
    "toelichting": "string",
}

# Folded fragments of legal forms that make a legal entity (rechtspersoon). Eenmanszaak,
# VOF and CV are run by natural persons whose name is often the trade name: not readable.
_LEGAL_ENTITY_PATTERN = (
    r"besloten|naamloze|stichting|vereniging|cooperatie|onderlinge|kerkgenootschap|^b ?v$|^n ?v$"
)


@dataclass(frozen=True)
class EntityTables:
    """Node and edge tables of the entity graph (the graph is built from these).

    Attributes
    ----------
    nodes : DataFrame
        One row per node, columns :data:`NODE_COLUMNS`.
    edges : DataFrame
        One row per link, columns :data:`EDGE_COLUMNS`; ``bron``/``doel`` are node ids.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame


def is_legal_entity(rechtsvorm: pd.Series) -> pd.Series:
    """True where the rechtsvorm is a legal entity (BV, NV, stichting, vereniging, ...)."""
    folded = (
        pd.Series(rechtsvorm, copy=False)
        .astype("string")
        .str.normalize("NFKD")
        .str.encode("ascii", errors="ignore")
        .str.decode("ascii")
        .astype("string")
        .str.lower()
        .str.replace(r"[^a-z ]+", " ", regex=True)
        .str.strip()
    )
    return folded.str.contains(_LEGAL_ENTITY_PATTERN, regex=True).fillna(False).astype(bool)


def _col(frame: pd.DataFrame, name: str, dtype: str = "string") -> pd.Series:
    if name in frame.columns:
        return frame[name]
    missing = pd.NaT if dtype.startswith("datetime") else (np.nan if dtype == "float64" else pd.NA)
    return pd.Series(missing, index=frame.index, dtype=dtype)


def _frame(data: dict, columns: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(data)
    for name, dtype in columns.items():
        if name not in out:
            missing = (
                pd.NaT
                if dtype.startswith("datetime")
                else (np.nan if dtype == "float64" else pd.NA)
            )
            out[name] = pd.Series(missing, index=out.index, dtype=dtype)
    out = out[list(columns)]
    for name, dtype in columns.items():
        if dtype == "datetime64[ns]":
            out[name] = pd.to_datetime(out[name], errors="coerce").astype("datetime64[ns]")
        else:
            out[name] = out[name].astype(dtype)
    return out


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    if "geometry" not in frame.columns:
        return np.full(n, np.nan), np.full(n, np.nan)
    geom = frame.geometry if hasattr(frame, "geometry") else frame["geometry"]
    try:
        import shapely

        arr = np.asarray(geom, dtype=object)
        valid = np.array([g is not None for g in arr]) & ~shapely.is_missing(arr)
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        if valid.any():
            x[valid] = shapely.get_x(arr[valid])
            y[valid] = shapely.get_y(arr[valid])
        return x, y
    except (TypeError, ValueError, shapely.errors.GEOSException):
        return np.full(n, np.nan), np.full(n, np.nan)


def _address_mentions(frame: pd.DataFrame | None, source: str) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["bron", "rij", "adres_id", "adres_sleutel", "x", "y"])
    x, y = _xy(frame)
    return pd.DataFrame(
        {
            "bron": source,
            "rij": np.arange(len(frame)),
            "adres_id": _col(frame, "adres_id").astype("string").to_numpy(),
            "adres_sleutel": _col(frame, "adres_sleutel").astype("string").to_numpy(),
            "x": x,
            "y": y,
        }
    )


def _check_crs(*frames) -> None:
    from bcba.config import CRS
    from bcba.errors import CRSMismatchError

    for frame in frames:
        crs = (
            getattr(frame, "crs", None)
            if frame is not None and "geometry" in getattr(frame, "columns", [])
            else None
        )
        if crs is not None and not crs.equals(CRS):
            raise CRSMismatchError(f"invoer heeft CRS {crs.to_string()}, verwacht {CRS} (RD New)")


def build_entity_tables(
    vestigingen: pd.DataFrame | None = None,
    functionarissen: pd.DataFrame | None = None,
    kadaster: pd.DataFrame | None = None,
    partners: pd.DataFrame | None = None,
    *,
    bag: pd.DataFrame | None = None,
    threshold: float = 0.85,
    fuzzy_min: float = 0.8,
) -> EntityTables:
    """Resolve entities across the extracts and build the node and edge tables.

    Parameters
    ----------
    vestigingen, functionarissen, kadaster, partners : DataFrame, optional
        The ``Inputs`` tables (see docs/architecture.md); any may be missing.
    bag : DataFrame, optional
        BAG addresses (``adres_id``, ``adres_sleutel``) to give addresses without BAG id one.
    threshold : float, default 0.85
        Entity-resolution score from which matches are merged; below it they become
        ``mogelijk_zelfde`` links.
    fuzzy_min : float, default 0.8
        Minimum name similarity for a possible company match.

    Returns
    -------
    EntityTables

    Raises
    ------
    CRSMismatchError
        When a GeoDataFrame is not in EPSG:28992.
    """
    _check_crs(vestigingen, kadaster, partners)
    vest = vestigingen if vestigingen is not None else pd.DataFrame()
    func = functionarissen if functionarissen is not None else pd.DataFrame()
    kad = kadaster if kadaster is not None else pd.DataFrame()
    part = partners if partners is not None else pd.DataFrame()

    # ---- addresses: resolve every mention of every source at once
    mentions = pd.concat(
        [
            _address_mentions(vest, "kvk"),
            _address_mentions(kad, "kadaster"),
            _address_mentions(part, "partners"),
        ],
        ignore_index=True,
    )
    reference = None
    if bag is not None and len(bag) and {"adres_id", "adres_sleutel"} <= set(bag.columns):
        reference = pd.DataFrame(
            {"adres_id": bag["adres_id"], "adres_sleutel": bag["adres_sleutel"]}
        )
    addr = resolve_addresses(mentions, reference=reference)
    mentions["node"] = addr.links["entiteit_id"]
    by_source = {s: g.set_index("rij")["node"] for s, g in mentions.groupby("bron", sort=False)}

    def address_nodes_of(source: str, n: int) -> np.ndarray:
        nodes = by_source.get(source)
        if nodes is None:
            return np.full(n, pd.NA, dtype=object)
        return nodes.reindex(np.arange(n)).to_numpy(dtype=object)

    edges: list[pd.DataFrame] = []
    node_parts: list[pd.DataFrame] = []

    # ---- companies from KvK
    if len(vest):
        kvk_node = company_node_id(_col(vest, "kvk_nummer")).to_numpy(dtype=object)
        v = pd.DataFrame(
            {
                "node_id": kvk_node,
                "kvk_nummer": normalise_kvk(_col(vest, "kvk_nummer")).to_numpy(dtype=object),
                "handelsnaam": _col(vest, "handelsnaam").astype("string").to_numpy(dtype=object),
                "rechtsvorm": _col(vest, "rechtsvorm").astype("string").to_numpy(dtype=object),
                "sbi_code": _col(vest, "sbi_code").astype("string").to_numpy(dtype=object),
                "datum_inschrijving": pd.to_datetime(
                    _col(vest, "datum_inschrijving", "datetime64[ns]")
                ).to_numpy(),
                "datum_uitschrijving": pd.to_datetime(
                    _col(vest, "datum_uitschrijving", "datetime64[ns]")
                ).to_numpy(),
                "adres": address_nodes_of("kvk", len(vest)),
                "vestigingsnummer": _col(vest, "vestigingsnummer")
                .astype("string")
                .to_numpy(dtype=object),
            }
        ).dropna(subset=["node_id"])
        v = v.sort_values(["node_id", "datum_inschrijving"], kind="stable")
        grouped = v.groupby("node_id", sort=False)
        companies = grouped.agg(
            kvk_nummer=("kvk_nummer", "first"),
            handelsnaam=("handelsnaam", "first"),
            rechtsvorm=("rechtsvorm", "first"),
            sbi_code=("sbi_code", "first"),
            datum_inschrijving=("datum_inschrijving", "min"),
            datum_uitschrijving=("datum_uitschrijving", "max"),
        )
        still_active = v["datum_uitschrijving"].isna().groupby(v["node_id"], sort=False).any()
        companies.loc[still_active, "datum_uitschrijving"] = pd.NaT
        companies = companies.reset_index()
        companies["soort"] = "bedrijf"
        readable = is_legal_entity(companies["rechtsvorm"]) & companies["handelsnaam"].notna()
        companies["label"] = companies["handelsnaam"].where(readable, companies["node_id"])
        # The trade name of a one-man business or partnership is often the owner's name.
        companies["handelsnaam"] = companies["handelsnaam"].where(readable)
        node_parts.append(companies)
        located = v.dropna(subset=["adres"])
        edges.append(
            pd.DataFrame(
                {
                    "bron": located["node_id"],
                    "doel": located["adres"],
                    "soort": "gevestigd_op",
                    "datum_van": located["datum_inschrijving"],
                    "datum_tot": located["datum_uitschrijving"],
                    "toelichting": "vestiging "
                    + located["vestigingsnummer"].astype("string").fillna("?"),
                }
            )
        )
        known_companies = companies[["kvk_nummer", "handelsnaam"]].assign(postcode=pd.NA)
    else:
        known_companies = pd.DataFrame(columns=["kvk_nummer", "handelsnaam", "postcode"])

    # ---- officers
    if len(func):
        person = person_node_id(_col(func, "persoon_id"))
        company = company_node_id(_col(func, "kvk_nummer"))
        f = pd.DataFrame(
            {
                "bron": person.to_numpy(dtype=object),
                "doel": company.to_numpy(dtype=object),
                "soort": "functionaris_van",
                "datum_van": pd.to_datetime(
                    _col(func, "datum_aanvang", "datetime64[ns]")
                ).to_numpy(),
                "datum_tot": pd.to_datetime(_col(func, "datum_einde", "datetime64[ns]")).to_numpy(),
                "functie": _col(func, "functie").astype("string").to_numpy(dtype=object),
            }
        ).dropna(subset=["bron", "doel"])
        edges.append(f)
        node_parts.append(pd.DataFrame({"node_id": f["bron"].unique(), "soort": "persoon"}))
        node_parts.append(
            pd.DataFrame({"node_id": f["doel"].unique(), "soort": "bedrijf"}).assign(
                kvk_nummer=lambda d: d["node_id"].str[2:]
            )
        )

    # ---- Kadaster parties and properties
    possible = [addr.possible]
    if len(kad):
        prop = address_nodes_of("kadaster", len(kad))
        for role in ("koper", "verkoper"):
            party = _party_nodes(
                kad, role, known_companies, threshold=threshold, fuzzy_min=fuzzy_min
            )
            possible.append(party.possible)
            ids = party.links["entiteit_id"].to_numpy(dtype=object)
            e = pd.DataFrame(
                {
                    "bron": ids,
                    "doel": prop,
                    "soort": f"{role}_van",
                    "datum": pd.to_datetime(_col(kad, "datum", "datetime64[ns]")).to_numpy(),
                    "koopsom": pd.to_numeric(
                        _col(kad, "koopsom", "float64"), errors="coerce"
                    ).to_numpy(dtype=float),
                    "hypotheek": _col(kad, "hypotheek", "boolean")
                    .astype("boolean")
                    .to_numpy(dtype=object),
                    "transactie_id": _col(kad, "transactie_id")
                    .astype("string")
                    .to_numpy(dtype=object),
                    "score": party.links["score"].to_numpy(dtype=float),
                    "toelichting": party.links["toelichting"].to_numpy(dtype=object),
                }
            ).dropna(subset=["bron", "doel"])
            edges.append(e)
            names = party.links.get("naam_rechtspersoon")
            pn = pd.DataFrame(
                {
                    "node_id": ids,
                    "naam": names.to_numpy(dtype=object) if names is not None else pd.NA,
                }
            )
            pn = pn.dropna(subset=["node_id"]).drop_duplicates("node_id")
            pn["soort"] = np.where(pn["node_id"].str.startswith("P-"), "persoon", "bedrijf")
            is_company = pn["soort"].eq("bedrijf")
            pn["handelsnaam"] = pn["naam"].where(is_company)
            pn["label"] = (
                pn["naam"]
                .where(is_company & pn["node_id"].str.startswith("R-"))
                .fillna(pn["node_id"])
            )
            pn["kvk_nummer"] = pn["node_id"].str[2:].where(pn["node_id"].str.startswith("K-"))
            node_parts.append(pn.drop(columns="naam"))

    # ---- partner events
    if len(part):
        source = _col(part, "bron").astype("string").fillna("partner")
        event_ids = (
            "E-"
            + source
            + "-"
            + pd.Series(np.arange(1, len(part) + 1), index=part.index).astype("string")
        )
        target = address_nodes_of("partners", len(part))
        ev = pd.DataFrame(
            {
                "node_id": event_ids.to_numpy(dtype=object),
                "soort": "melding",
                "label": (
                    source + ": " + _col(part, "soort").astype("string").fillna("melding")
                ).to_numpy(dtype=object),
                "thema": _col(part, "thema").astype("string").to_numpy(dtype=object),
                "datum": pd.to_datetime(_col(part, "datum", "datetime64[ns]")).to_numpy(),
                "adres": target,
            }
        )
        ev = ev.dropna(subset=["adres"])  # an event without address links to nothing
        node_parts.append(ev.drop(columns="adres"))
        edges.append(
            pd.DataFrame(
                {
                    "bron": ev["node_id"],
                    "doel": ev["adres"],
                    "soort": "melding_op",
                    "datum": ev["datum"],
                }
            )
        )

    # ---- address nodes
    used = mentions.dropna(subset=["node"])
    if len(used):
        parsed = parse_adres_sleutel(used["adres_sleutel"])
        a = pd.DataFrame(
            {
                "node_id": used["node"].to_numpy(dtype=object),
                "adres_id": used["adres_id"].to_numpy(dtype=object),
                "adres_sleutel": parsed["adres_sleutel"].to_numpy(dtype=object),
                "postcode": parsed["postcode"].to_numpy(dtype=object),
                "huisnummer": parsed["huisnummer"].to_numpy(dtype=object),
                "huisletter": parsed["huisletter"].to_numpy(dtype=object),
                "toevoeging": parsed["toevoeging"].to_numpy(dtype=object),
                "x": used["x"].to_numpy(dtype=float),
                "y": used["y"].to_numpy(dtype=float),
                "vastgoed": used["bron"].eq("kadaster").to_numpy(),
            }
        )
        a = (
            a.groupby("node_id", sort=False)
            .agg(
                adres_id=("adres_id", "first"),
                adres_sleutel=("adres_sleutel", "first"),
                postcode=("postcode", "first"),
                huisnummer=("huisnummer", "first"),
                huisletter=("huisletter", "first"),
                toevoeging=("toevoeging", "first"),
                x=("x", "first"),
                y=("y", "first"),
                vastgoed=("vastgoed", "any"),
            )
            .reset_index()
        )
        a["soort"] = "adres"
        a["label"] = _address_label(a)
        node_parts.append(a)

    # ---- mogelijk_zelfde
    pos = (
        pd.concat([p for p in possible if len(p)], ignore_index=True)
        if any(len(p) for p in possible)
        else None
    )
    if pos is not None:
        edges.append(
            pd.DataFrame(
                {
                    "bron": pos["entiteit_a"],
                    "doel": pos["entiteit_b"],
                    "soort": "mogelijk_zelfde",
                    "score": pos["score"],
                    "toelichting": pos["toelichting"],
                }
            )
        )

    nodes = _combine_nodes(node_parts)
    edge_frame = _frame(
        pd.concat([e for e in edges if len(e)], ignore_index=True)
        if any(len(e) for e in edges)
        else {},
        {k: v for k, v in EDGE_COLUMNS.items() if k != "link_id"} | {"link_id": "string"},
    )
    # Company nodes referenced only by a mogelijk_zelfde link (never happens for K-/R- of
    # this run) and any edge end without node get a bare node so the graph is consistent.
    ends = pd.unique(
        pd.concat([edge_frame["bron"], edge_frame["doel"]], ignore_index=True).dropna()
    )
    missing = pd.Index(ends[~isin(ends, nodes["node_id"])]).sort_values()
    if len(missing):
        extra = pd.DataFrame({"node_id": missing.astype("string")})
        extra["soort"] = np.select(
            [
                extra["node_id"].str.startswith("P-"),
                extra["node_id"].str.startswith("A-"),
                extra["node_id"].str.startswith("E-"),
            ],
            ["persoon", "adres", "melding"],
            "bedrijf",
        )
        nodes = _combine_nodes([nodes, extra])
    edge_frame["link_id"] = "L" + pd.Series(
        np.arange(1, len(edge_frame) + 1), index=edge_frame.index
    ).astype("string").str.zfill(7)
    edge_frame = edge_frame[list(EDGE_COLUMNS)]
    log.info("entiteitengraaf: %d knopen, %d links", len(nodes), len(edge_frame))
    return EntityTables(nodes=nodes, edges=edge_frame)


def _party_nodes(
    kad: pd.DataFrame, role: str, known: pd.DataFrame, *, threshold: float, fuzzy_min: float
) -> Resolution:
    """Node ids of Kadaster buyers or sellers; legal entities resolved onto KvK companies."""
    ptype = _col(kad, f"{role}_type").astype("string")
    pid = _col(kad, f"{role}_id").astype("string")
    kvk_col = normalise_kvk(_col(kad, f"{role}_kvk_nummer"))
    kvk_from_id = normalise_kvk(pid.where(pid.str.startswith("K-").fillna(False)))
    is_person = ptype.eq("natuurlijk_persoon").fillna(False) | (
        ptype.isna() & pid.str.startswith("P-").fillna(False)
    )
    # Names only of legal entities: a natural person's name never enters the graph.
    name = _col(kad, f"{role}_naam").astype("string").where(~is_person)
    parties = pd.DataFrame(
        {"naam": name, "kvk_nummer": kvk_col.fillna(kvk_from_id)}, index=kad.index
    )
    company = resolve_companies(
        parties[~is_person], known, threshold=threshold, fuzzy_min=fuzzy_min
    )
    links = pd.DataFrame(
        {
            "entiteit_id": pd.Series(pd.NA, index=kad.index, dtype="string"),
            "score": np.nan,
            "toelichting": pd.Series(pd.NA, index=kad.index, dtype="string"),
        },
        index=kad.index,
    )
    persons = person_node_id(pid.where(is_person))
    links.loc[is_person, "entiteit_id"] = persons[is_person]
    links.loc[is_person, "score"] = 1.0
    links.loc[is_person, "toelichting"] = "pseudoniem gelijk"
    links.loc[~is_person, "entiteit_id"] = company.links["entiteit_id"]
    links.loc[~is_person, "score"] = company.links["score"]
    links.loc[~is_person, "toelichting"] = company.links["toelichting"]
    # A legal entity without name nor KvK number keeps the id the source layer gave it.
    fallback = (
        links["entiteit_id"].isna()
        & ~is_person
        & pid.notna()
        & ~pid.str.startswith("P-").fillna(False)
    )
    links.loc[fallback, "entiteit_id"] = pid[fallback]
    links["naam_rechtspersoon"] = name
    return Resolution(links, company.possible)


def _address_label(a: pd.DataFrame) -> pd.Series:
    nr = a["huisnummer"].astype("Int64").astype("string").fillna("")
    letter = a["huisletter"].astype("string").fillna("")
    toev = a["toevoeging"].astype("string").fillna("")
    label = (
        a["postcode"].astype("string").fillna("")
        + " "
        + nr
        + letter
        + ("-" + toev).where(toev.ne(""), "")
    )
    label = label.str.strip()
    return label.where(label.ne(""), a["node_id"])


def _combine_nodes(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _frame({}, NODE_COLUMNS)
    allnodes = pd.concat(
        [_frame(p.to_dict("series"), NODE_COLUMNS) for p in parts], ignore_index=True
    )
    # The first non-missing value per attribute wins; KvK rows come first and carry most.
    nodes = allnodes.groupby("node_id", sort=True, dropna=True).first().reset_index()
    nodes["label"] = nodes["label"].fillna(nodes["node_id"])
    nodes["persoon_id"] = nodes["persoon_id"].fillna(
        nodes["node_id"].where(nodes["soort"].eq("persoon"))
    )
    return _frame(nodes.to_dict("series"), NODE_COLUMNS)


def to_networkx(tables: EntityTables) -> nx.MultiDiGraph:
    """Build a :class:`networkx.MultiDiGraph` from the tables (edge key = ``link_id``).

    Missing attribute values are left out rather than stored as NaN/NA.
    """
    graph = nx.MultiDiGraph()
    nodes, edges = tables.nodes, tables.edges
    graph.add_nodes_from(nodes["node_id"].tolist())
    for column in nodes.columns.drop("node_id"):
        values = nodes[column]
        ok = values.notna().to_numpy()
        if ok.any():
            nx.set_node_attributes(
                graph,
                dict(zip(nodes["node_id"][ok].tolist(), values[ok].tolist(), strict=True)),
                name=column,
            )
    keys = list(
        zip(edges["bron"].tolist(), edges["doel"].tolist(), edges["link_id"].tolist(), strict=True)
    )
    graph.add_edges_from(keys)
    for column in edges.columns.drop(["bron", "doel"]):
        values = edges[column]
        ok = values.notna().to_numpy()
        if ok.any():
            chosen = [k for k, good in zip(keys, ok, strict=True) if good]
            nx.set_edge_attributes(
                graph, dict(zip(chosen, values[ok].tolist(), strict=True)), name=column
            )
    return graph

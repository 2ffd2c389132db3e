"""Entity resolution: which records in KvK, Kadaster and partner extracts are the same
company, person or address.

Rules (scores in brackets; see docs/network.md):

- companies: same KvK number (1.0); same normalised name (0.9, 0.95 when the postcode also
  agrees); similar normalised names within a block of the same first three letters or postcode
  (``0.8 x`` name similarity, +0.05 when the postcode agrees). The similarity is the
  normalised Indel (LCS-based) similarity of :mod:`rapidfuzz`, ``2 * LCS / (len_a + len_b)``:
  the exact form of :class:`difflib.SequenceMatcher`'s ratio, which is a greedy lower bound
  of it;
- addresses: same BAG ``adres_id`` (1.0); same postcode, huisnummer, huisletter and
  toevoeging (0.95); same postcode and huisnummer with another toevoeging (0.6);
- persons: the pseudonym (already keyed on name and birth date, 1.0).

Matches scoring at least ``threshold`` (default 0.85) are merged into one node; weaker
ones become ``mogelijk_zelfde`` links and are never merged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel
from rapidfuzz.process import cpdist

from bcba.errors import ConfigError
from bcba.network._util import isin
from bcba.network.normalise import (
    normalise_company_name,
    normalise_kvk,
    normalise_postcode,
    parse_adres_sleutel,
)

log = logging.getLogger(__name__)

__all__ = [
    "Resolution",
    "company_node_id",
    "person_node_id",
    "address_node_id",
    "match_companies",
    "resolve_companies",
    "resolve_addresses",
    "SCORE_KVK",
    "SCORE_NAME",
    "SCORE_ADDRESS_KEY",
    "SCORE_ADDRESS_NUMBER",
]

SCORE_KVK = 1.0
SCORE_NAME = 0.9
SCORE_NAME_POSTCODE = 0.95
SCORE_BAG = 1.0
SCORE_ADDRESS_KEY = 0.95
SCORE_ADDRESS_NUMBER = 0.6
FUZZY_FACTOR = 0.8
POSTCODE_BONUS = 0.05
#: Buildings with more distinct additions than this get no ``mogelijk_zelfde`` links
#: (an apartment block is not one address; this keeps the pair count linear).
MAX_ADDITIONS_PER_NUMBER = 20

_POSSIBLE_COLUMNS = ["entiteit_a", "entiteit_b", "soort", "score", "toelichting"]


@dataclass(frozen=True)
class Resolution:
    """The outcome of resolving one kind of entity.

    Attributes
    ----------
    links : DataFrame
        One row per input record (same index): ``entiteit_id`` (node id), ``score`` and
        ``toelichting`` (Dutch: which fields agreed).
    possible : DataFrame
        ``mogelijk_zelfde`` pairs not merged: ``entiteit_a``, ``entiteit_b``, ``soort``,
        ``score``, ``toelichting``.
    """

    links: pd.DataFrame
    possible: pd.DataFrame


def _empty_possible() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c == "score" else "string") for c in _POSSIBLE_COLUMNS}
    )


def _check_threshold(threshold: float, name: str = "threshold") -> None:
    if not 0.0 < float(threshold) <= 1.0:
        raise ConfigError(f"{name} moet tussen 0 en 1 liggen, niet {threshold!r}")


def company_node_id(kvk: pd.Series) -> pd.Series:
    """``K-<8-digit KvK number>``; ``<NA>`` when the number is invalid."""
    return ("K-" + normalise_kvk(pd.Series(kvk, copy=False))).astype("string")


def person_node_id(pseudonyms: pd.Series) -> pd.Series:
    """The person node id: the pseudonym, with a ``P-`` prefix added when missing."""
    text = pd.Series(pseudonyms, copy=False).astype("string").str.strip()
    text = text.mask(text.fillna("").eq(""))
    return text.where(text.str.startswith("P-").fillna(True), "P-" + text)


def address_node_id(adres_id: pd.Series, adres_sleutel: pd.Series) -> pd.Series:
    """``A-<BAG adres_id>`` when known, else ``A-<normalised adres_sleutel>``."""
    bag = pd.Series(adres_id, copy=False).astype("string").str.strip()
    bag = bag.mask(bag.fillna("").eq(""))
    key = parse_adres_sleutel(adres_sleutel)["adres_sleutel"]
    return ("A-" + bag).fillna("A-" + key).astype("string")


# --------------------------------------------------------------------------- companies


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def match_companies(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    fuzzy_min: float = 0.8,
) -> pd.DataFrame:
    """Score candidate pairs of company records.

    Parameters
    ----------
    left, right : DataFrame
        Columns ``id`` and ``naam``; optional ``kvk_nummer`` and ``postcode``.
    fuzzy_min : float, default 0.8
        Minimum similarity of two normalised names for a 'possible' pair: the normalised
        Indel similarity ``2 * LCS / (len_a + len_b)`` (:mod:`rapidfuzz`; formerly the
        greedy, sometimes lower, :class:`difflib.SequenceMatcher` ratio).
        Fuzzy comparison is blocked: only pairs sharing the first three letters of the
        normalised name or the postcode are compared.

    Returns
    -------
    DataFrame
        ``id_links``, ``id_rechts``, ``score``, ``toelichting``, one row per pair with the
        best rule that applied. Pairs with two different known KvK numbers never match by
        name: the KvK number is authoritative.
    """
    _check_threshold(fuzzy_min, "fuzzy_min")

    def prep(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"id": frame["id"].astype("string")}, index=frame.index)
        out["norm"] = normalise_company_name(frame["naam"]) if "naam" in frame else pd.NA
        out["kvk"] = normalise_kvk(frame["kvk_nummer"]) if "kvk_nummer" in frame else pd.NA
        out["pc"] = normalise_postcode(frame["postcode"]) if "postcode" in frame else pd.NA
        out = out.astype({"norm": "string", "kvk": "string", "pc": "string"})
        # first three letters of the first word: tolerant of typos later in the word
        out["blok"] = out["norm"].str.split(" ").str[0].str[:3]
        return out.drop_duplicates()

    a, b = prep(left), prep(right)
    pieces = []

    by_kvk = a.dropna(subset=["kvk"]).merge(
        b.dropna(subset=["kvk"]), on="kvk", suffixes=("_l", "_r")
    )
    if len(by_kvk):
        pieces.append(
            pd.DataFrame(
                {
                    "id_links": by_kvk["id_l"],
                    "id_rechts": by_kvk["id_r"],
                    "score": SCORE_KVK,
                    "toelichting": "KvK-nummer gelijk",
                }
            )
        )

    def kvk_conflict(pairs: pd.DataFrame) -> pd.Series:
        return (
            pairs["kvk_l"].notna() & pairs["kvk_r"].notna() & pairs["kvk_l"].ne(pairs["kvk_r"])
        ).fillna(False)

    by_name = a.dropna(subset=["norm"]).merge(
        b.dropna(subset=["norm"]), on="norm", suffixes=("_l", "_r")
    )
    by_name = by_name[~kvk_conflict(by_name)]
    if len(by_name):
        same_pc = (by_name["pc_l"] == by_name["pc_r"]).fillna(False).astype(bool)
        pieces.append(
            pd.DataFrame(
                {
                    "id_links": by_name["id_l"],
                    "id_rechts": by_name["id_r"],
                    "score": np.where(same_pc, SCORE_NAME_POSTCODE, SCORE_NAME),
                    "toelichting": np.where(
                        same_pc,
                        "genormaliseerde naam gelijk; postcode gelijk",
                        "genormaliseerde naam gelijk",
                    ),
                }
            )
        )

    # Fuzzy, blocked by first word and by postcode.
    candidates = []
    for key in ("blok", "pc"):
        left_k, right_k = a.dropna(subset=[key, "norm"]), b.dropna(subset=[key, "norm"])
        if len(left_k) and len(right_k):
            pairs = left_k.merge(right_k, on=key, suffixes=("_l", "_r"))
            if key == "pc":  # the merge key is one column; the postcode bonus needs both
                pairs = pairs.assign(pc_l=pairs["pc"], pc_r=pairs["pc"])
            candidates.append(pairs)
    if candidates:
        cand = pd.concat(candidates, ignore_index=True)
        cand = cand[cand["norm_l"].ne(cand["norm_r"]) & ~kvk_conflict(cand)]
        cand = cand.drop_duplicates(subset=["id_l", "id_r", "norm_l", "norm_r"])
        if len(cand):
            # Score each distinct pair of names once: many records share a name.
            names = cand[["norm_l", "norm_r"]].drop_duplicates()
            # 2 * LCS / total length, from the Indel distance (total length - 2 * LCS) so
            # the value is computed as difflib computes its ratio.
            total = (names["norm_l"].str.len() + names["norm_r"].str.len()).to_numpy(float)
            distance = cpdist(
                names["norm_l"].tolist(), names["norm_r"].tolist(), scorer=Indel.distance
            )
            names["ratio"] = (total - distance) / total
            ratios = (
                cand[["norm_l", "norm_r"]]
                .merge(names, on=["norm_l", "norm_r"], how="left")["ratio"]
                .to_numpy(dtype=float)
            )
            keep = ratios >= fuzzy_min
            cand, ratios = cand[keep], ratios[keep]
            if len(cand):
                same_pc = (cand["pc_l"] == cand["pc_r"]).fillna(False).astype(bool).to_numpy()
                score = np.round(FUZZY_FACTOR * ratios + POSTCODE_BONUS * same_pc, 3)
                text = [
                    f"naam lijkt op elkaar (gelijkenis {_fmt(r)})"
                    + ("; postcode gelijk" if p else "")
                    for r, p in zip(ratios, same_pc, strict=True)
                ]
                pieces.append(
                    pd.DataFrame(
                        {
                            "id_links": cand["id_l"].to_numpy(),
                            "id_rechts": cand["id_r"].to_numpy(),
                            "score": score,
                            "toelichting": text,
                        }
                    )
                )

    if not pieces:
        return pd.DataFrame(
            {
                "id_links": pd.Series(dtype="string"),
                "id_rechts": pd.Series(dtype="string"),
                "score": pd.Series(dtype="float64"),
                "toelichting": pd.Series(dtype="string"),
            }
        )
    pairs = pd.concat(pieces, ignore_index=True)
    pairs = pairs.sort_values(["id_links", "id_rechts", "score"], ascending=[True, True, False])
    pairs = pairs.drop_duplicates(subset=["id_links", "id_rechts"]).reset_index(drop=True)
    return pairs.astype({"id_links": "string", "id_rechts": "string", "toelichting": "string"})


def resolve_companies(
    parties: pd.DataFrame,
    companies: pd.DataFrame,
    *,
    threshold: float = 0.85,
    fuzzy_min: float = 0.8,
) -> Resolution:
    """Resolve company mentions (e.g. Kadaster buyers) onto KvK companies.

    Parameters
    ----------
    parties : DataFrame
        Company mentions: ``naam`` and optional ``kvk_nummer``, ``postcode``.
    companies : DataFrame
        Known KvK companies: ``kvk_nummer``, ``handelsnaam``, optional ``postcode``.
    threshold : float, default 0.85
        Matches at or above it are merged; weaker ones become ``mogelijk_zelfde`` links.
    fuzzy_min : float, default 0.8
        See :func:`match_companies`.

    Returns
    -------
    Resolution
        ``links`` on the index of ``parties``: ``entiteit_id`` is ``K-<kvk>`` for a mention
        with a valid KvK number or a unique strong name match, else ``R-<normalised name>``.
        A name that matches several KvK companies equally well is not merged.
    """
    _check_threshold(threshold)
    parties = parties.copy()
    kvk = (
        normalise_kvk(parties["kvk_nummer"])
        if "kvk_nummer" in parties
        else pd.Series(pd.NA, index=parties.index, dtype="string")
    )
    norm = (
        normalise_company_name(parties["naam"])
        if "naam" in parties
        else pd.Series(pd.NA, index=parties.index, dtype="string")
    )
    own_id = ("K-" + kvk).fillna("R-" + norm).astype("string")
    links = pd.DataFrame(
        {
            "entiteit_id": own_id,
            "score": np.where(kvk.notna(), SCORE_KVK, np.nan),
            "toelichting": pd.Series(
                np.where(kvk.notna(), "KvK-nummer", "geen KvK-koppeling"),
                index=parties.index,
                dtype="string",
            ),
        },
        index=parties.index,
    )
    if companies is None or companies.empty or parties.empty:
        return Resolution(links, _empty_possible())

    known = pd.DataFrame(
        {
            "id": company_node_id(companies["kvk_nummer"]),
            "naam": companies["handelsnaam"],
            "kvk_nummer": companies["kvk_nummer"],
            "postcode": companies.get("postcode", pd.NA),
        }
    ).dropna(subset=["id"])
    in_kvk = pd.Series(isin(own_id, known["id"]), index=own_id.index)
    links.loc[in_kvk, "toelichting"] = "KvK-nummer gelijk"

    unresolved = parties.loc[kvk.isna() & norm.notna()]
    if unresolved.empty:
        return Resolution(links, _empty_possible())
    query = pd.DataFrame(
        {
            "id": own_id.loc[unresolved.index],
            "naam": unresolved["naam"],
            "postcode": unresolved.get("postcode", pd.NA),
        }
    )
    pairs = match_companies(query, known, fuzzy_min=fuzzy_min)
    # One decision per R- id: its best candidate(s).
    best = pairs.groupby("id_links")["score"].transform("max")
    top = pairs[pairs["score"].eq(best)]
    n_top = top.groupby("id_links")["id_rechts"].transform("nunique")
    merge = top[(top["score"] >= threshold) & n_top.eq(1)].drop_duplicates("id_links")
    mapping = merge.set_index("id_links")
    hit = pd.Series(isin(own_id, mapping.index), index=own_id.index) & kvk.isna()
    links.loc[hit, "entiteit_id"] = own_id[hit].map(mapping["id_rechts"])
    links.loc[hit, "score"] = own_id[hit].map(mapping["score"]).astype(float)
    links.loc[hit, "toelichting"] = own_id[hit].map(mapping["toelichting"])

    merged_ids = set(mapping.index)
    possible = pairs[~isin(pairs["id_links"], merged_ids)]
    possible = pd.DataFrame(
        {
            "entiteit_a": possible["id_links"],
            "entiteit_b": possible["id_rechts"],
            "soort": "bedrijf",
            "score": possible["score"],
            "toelichting": possible["toelichting"],
        }
    ).reset_index(drop=True)
    log.info("bedrijven: %d samengevoegd, %d mogelijk_zelfde", int(hit.sum()), len(possible))
    return Resolution(links, possible.astype({"soort": "string"}))


# --------------------------------------------------------------------------- addresses


def resolve_addresses(
    mentions: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
) -> Resolution:
    """Resolve address mentions from several sources onto address nodes.

    Parameters
    ----------
    mentions : DataFrame
        ``adres_id`` (BAG id, may be missing) and ``adres_sleutel``
        (``postcode|huisnummer|huisletter|toevoeging``), one row per mention.
    reference : DataFrame, optional
        Extra known BAG addresses (``adres_id``, ``adres_sleutel``), e.g. ``Inputs.bag``,
        used to give mentions without BAG id their BAG id.

    Returns
    -------
    Resolution
        ``links`` on the index of ``mentions`` (``entiteit_id`` ``<NA>`` for a mention
        without BAG id nor complete postcode+huisnummer) and ``possible`` pairs (score 0.6)
        between a node without BAG id and nodes at the same postcode+huisnummer with another
        huisletter/toevoeging.
    """
    bag = (
        mentions["adres_id"].astype("string").str.strip()
        if "adres_id" in mentions
        else pd.Series(pd.NA, index=mentions.index, dtype="string")
    )
    bag = bag.mask(bag.fillna("").eq(""))
    keys = (
        mentions["adres_sleutel"]
        if "adres_sleutel" in mentions
        else pd.Series(pd.NA, index=mentions.index, dtype="string")
    )
    parsed = parse_adres_sleutel(keys)
    key = parsed["adres_sleutel"]

    known = pd.DataFrame({"adres_id": bag, "sleutel": key}).dropna()
    if reference is not None and len(reference):
        ref_key = parse_adres_sleutel(reference["adres_sleutel"])["adres_sleutel"]
        known = pd.concat(
            [
                known,
                pd.DataFrame(
                    {"adres_id": reference["adres_id"].astype("string"), "sleutel": ref_key}
                ),
            ]
        ).dropna()
    key_to_bag = known.drop_duplicates("sleutel").set_index("sleutel")["adres_id"]

    via_key = key.map(key_to_bag).where(bag.isna())
    node = ("A-" + bag).fillna("A-" + via_key).fillna("A-" + key).astype("string")
    score = np.select(
        [bag.notna(), via_key.notna(), key.notna()], [SCORE_BAG, SCORE_ADDRESS_KEY, 1.0], np.nan
    )
    text = np.select(
        [bag.notna(), via_key.notna(), key.notna()],
        [
            "BAG-id gelijk",
            "postcode, huisnummer, huisletter en toevoeging gelijk",
            "adres zonder BAG-id",
        ],
        "",
    )
    links = pd.DataFrame(
        {
            "entiteit_id": node,
            "score": score,
            "toelichting": pd.Series(text, index=mentions.index, dtype="string"),
        },
        index=mentions.index,
    )
    links["toelichting"] = links["toelichting"].mask(node.isna())

    # Possible: same postcode + huisnummer, other huisletter/toevoeging.
    nodes = pd.DataFrame(
        {
            "node": node,
            "pn": parsed["postcode"] + "|" + parsed["huisnummer"].astype("string"),
            "sleutel": key,
            "zonder_bag": bag.isna() & via_key.isna(),
        }
    ).dropna(subset=["node", "pn"])
    nodes = nodes.drop_duplicates("node")
    sizes = nodes.groupby("pn")["sleutel"].transform("nunique")
    nodes = nodes[sizes.between(2, MAX_ADDITIONS_PER_NUMBER)]
    pairs = nodes[nodes["zonder_bag"]].merge(nodes, on="pn", suffixes=("_a", "_b"))
    pairs = pairs[pairs["sleutel_a"].ne(pairs["sleutel_b"])]
    # Two nodes without BAG id would give the pair twice; keep one orientation.
    pairs = pairs[~(pairs["zonder_bag_b"] & (pairs["node_a"] > pairs["node_b"]))]
    possible = pd.DataFrame(
        {
            "entiteit_a": pairs["node_a"].to_numpy(),
            "entiteit_b": pairs["node_b"].to_numpy(),
            "soort": "adres",
            "score": SCORE_ADDRESS_NUMBER,
            "toelichting": "postcode en huisnummer gelijk; huisletter/toevoeging verschilt",
        }
    )
    if possible.empty:
        possible = _empty_possible()
    return Resolution(
        links,
        possible.astype(
            {
                "entiteit_a": "string",
                "entiteit_b": "string",
                "soort": "string",
                "toelichting": "string",
            }
        ),
    )

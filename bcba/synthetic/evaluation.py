"""Score an analysis of synthetic data against the truth in its ``planted.json``.

The truth table (``kandidaten``, ``locaties``; see docs/synthetic-data.md) labels every
plant and look-alike; everything else in synthetic data is legitimate background by
construction. This module only matches the analysis' output to those labels, by the
identifiers both carry (address id, KvK number, transaction id, officers of the planted
companies); it never reuses the analysis' own rules, so it can serve as the oracle of tests
and of ``benchmarks/validity.py``.

Definitions (all per run):

- a candidate is *flagged* when a record of its flag names its entity;
- per flag: ``recall`` = flagged ``ondermijnend`` candidates / all of them; ``precisie`` =
  flagged ``ondermijnend`` / all flagged candidates (look-alikes and borderline cases are
  the negatives); ``regel`` = share of candidates flagged exactly when their planted value
  reaches the documented threshold; ``precisie_alle`` = share of all flagged entities
  (background included) that belong to a subversive plant;
- locations and signals: an address is positive when ``locaties`` labels it
  ``ondermijnend``; a person signal is positive when the person is an officer of an
  ``ondermijnend`` candidate's company or the buyer in one of its transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Order in which the report lists risk locations (bcba.report.locations): evidence strength
#: first (older results without it: kinds of flags).
_LOCATION_ORDER = (
    ["bewijskracht", "n_soorten", "n_flags", "adres_id"],
    [False, False, False, True],
)
#: The report's "locaties met gecombineerd bewijs": strength >= 2 (older results: >= 2 kinds).
_COMBINED = 2.0


@dataclass(frozen=True)
class Score:
    """Recall and precision of one selection (NaN when undefined)."""

    n_gekozen: int  # items selected (flagged, listed)
    n_juist: int  # selected items that are subversive
    n_gevonden: int  # subversive items found by the selection
    n_positief: int  # subversive items in the truth

    @property
    def recall(self) -> float:
        return self.n_gevonden / self.n_positief if self.n_positief else float("nan")

    @property
    def precisie(self) -> float:
        return self.n_juist / self.n_gekozen if self.n_gekozen else float("nan")


@dataclass(frozen=True)
class Evaluation:
    """The truth table with what the analysis did, and the scores derived from it."""

    kandidaten: pd.DataFrame  # one row per candidate: id, flag, waarheid, boven_drempel, gevlagd
    per_vlag: pd.DataFrame  # one row per flag
    locaties: dict[str, Score]  # "alle", "meerdere_soorten", "top10"
    signalen: dict[str, Score]  # "alle", "hoog_middel", "top5"


def _str_set(values) -> set[str]:
    return {str(v) for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}


def _officers(functionarissen: pd.DataFrame | None) -> dict[str, set[str]]:
    """KvK number -> pseudonyms of its officers."""
    if functionarissen is None or len(functionarissen) == 0:
        return {}
    f = functionarissen[["kvk_nummer", "persoon_id"]].dropna().astype(str)
    return f.groupby("kvk_nummer")["persoon_id"].agg(set).to_dict()


def _candidate_persons(cand: dict, officers: dict[str, set[str]]) -> set[str]:
    """Pseudonyms of the officer common to all of the candidate's companies."""
    sets = [officers.get(k, set()) for k in cand["kvk_nummers"]]
    return set.intersection(*sets) if sets else set()


def _matches(cand: dict, flags: pd.DataFrame, officers: dict[str, set[str]]) -> bool:
    own = flags[flags["flag_id"].astype(str) == cand["flag"]]
    if own.empty:
        return False
    kind = cand["entiteit"]
    if kind == "adres":
        return bool(own["adres_id"].astype(str).isin(cand["adres_ids"]).any())
    if kind in ("vestiging", "onderneming"):
        return bool(own["kvk_nummer"].astype(str).isin(cand["kvk_nummers"]).any())
    if kind == "persoon":
        return bool(own["persoon_id"].astype(str).isin(_candidate_persons(cand, officers)).any())
    if kind in ("transactie", "koper"):
        return bool(own["transactie_id"].astype(str).isin(cand["transactie_ids"]).any())
    raise ValueError(f"unknown entity kind {kind!r}")  # a manifest this module does not know


@dataclass(frozen=True)
class _Positives:
    addresses: set[str]
    kvk: set[str]
    transactions: set[str]
    persons: set[str]


def _positives(planted: dict, officers: dict[str, set[str]], flags: pd.DataFrame) -> _Positives:
    bad = [c for c in planted.get("kandidaten", []) if c["waarheid"] == "ondermijnend"]
    addresses = {
        loc["adres_id"] for loc in planted.get("locaties", []) if loc["waarheid"] == "ondermijnend"
    }
    kvk = {k for c in bad for k in c["kvk_nummers"]}
    transactions = {t for c in bad for t in c["transactie_ids"]}
    persons = set()
    for c in bad:
        if c["entiteit"] == "persoon":
            persons |= _candidate_persons(c, officers)
    # buyers (pseudonyms) in the subversive transactions
    if len(flags):
        in_bad = flags["transactie_id"].astype(str).isin(transactions)
        persons |= _str_set(flags.loc[in_bad, "persoon_id"].dropna())
    return _Positives(addresses, kvk, transactions, persons)


def _record_positive(flags: pd.DataFrame, pos: _Positives) -> pd.Series:
    """Whether each flag record belongs to a subversive plant (by any identifier)."""
    return (
        flags["adres_id"].astype(str).isin(pos.addresses)
        | flags["kvk_nummer"].astype(str).isin(pos.kvk)
        | flags["transactie_id"].astype(str).isin(pos.transactions)
        | flags["persoon_id"].astype(str).isin(pos.persons)
    )


def _location_scores(risk: pd.DataFrame, pos: _Positives) -> dict[str, Score]:
    columns, ascending = _LOCATION_ORDER
    present = [c in risk for c in columns]
    ordered = risk.sort_values(
        [c for c, p in zip(columns, present, strict=True) if p],
        ascending=[a for a, p in zip(ascending, present, strict=True) if p],
        kind="stable",
    )
    strength = ordered["bewijskracht"] if "bewijskracht" in ordered else ordered["n_soorten"]
    selections = {
        "alle": ordered,
        "meerdere_soorten": ordered[strength >= _COMBINED],
        "top10": ordered.head(10),
    }
    out = {}
    for name, sel in selections.items():
        hit = sel["adres_id"].astype(str).isin(pos.addresses)
        found = len(set(sel.loc[hit, "adres_id"].astype(str)))
        out[name] = Score(len(sel), int(hit.sum()), found, len(pos.addresses))
    return out


def _signal_scores(signals: pd.DataFrame, pos: _Positives) -> dict[str, Score]:
    """Precision over all signals (address and person); recall over the subversive addresses."""
    selections = {
        "alle": signals,
        "hoog_middel": signals[signals["prioriteit"].isin(["hoog", "middel"])],
        "top5": signals.head(5),
    }
    out = {}
    for name, sel in selections.items():
        is_addr = (sel["soort"] == "adres").to_numpy()
        addr_hit = is_addr & sel["adres_id"].astype(str).isin(pos.addresses).to_numpy()
        person_hit = ~is_addr & sel["entiteit_id"].astype(str).isin(pos.persons).to_numpy()
        found = len(set(sel.loc[addr_hit, "adres_id"].astype(str)))
        out[name] = Score(len(sel), int((addr_hit | person_hit).sum()), found, len(pos.addresses))
    return out


def evaluate(planted: dict, indicators, functionarissen: pd.DataFrame | None = None) -> Evaluation:
    """Score indicator results (``flags``, ``risicolocaties``, ``signalen``) against the truth.

    Parameters
    ----------
    planted
        The manifest (``planted.json``) of the synthetic data the analysis read.
    indicators
        :class:`bcba.indicators.run.IndicatorResults` (or anything with those tables).
    functionarissen
        The pseudonymised officers (``inputs.kvk_functionarissen``) to find the
        pseudonym of a planted officer.
    """
    flags = indicators.flags
    officers = _officers(functionarissen)
    cands = planted.get("kandidaten", [])
    table = pd.DataFrame(
        {
            "id": [c["id"] for c in cands],
            "patroon": [c["patroon"] for c in cands],
            "flag": [c["flag"] for c in cands],
            "waarheid": [c["waarheid"] for c in cands],
            "boven_drempel": [bool(c["boven_drempel"]) for c in cands],
            "gevlagd": [_matches(c, flags, officers) for c in cands],
        }
    )
    pos = _positives(planted, officers, flags)
    record_pos = _record_positive(flags, pos) if len(flags) else pd.Series(dtype=bool)
    rows = []
    for flag, sub in table.groupby("flag", sort=True):
        bad = sub["waarheid"] == "ondermijnend"
        hit = sub["gevlagd"]
        own = flags["flag_id"].astype(str) == flag
        entities = flags.loc[own, "entiteit_id"].astype(str)
        positive_entities = set(entities[record_pos[own]])
        score = Score(
            int(hit.sum()), int((hit & bad).sum()), int((hit & bad).sum()), int(bad.sum())
        )
        rows.append(
            {
                "flag": flag,
                "n_kandidaten": len(sub),
                "n_ondermijnend": int(bad.sum()),
                "n_gevlagd": int(hit.sum()),
                "recall": score.recall,
                "precisie": score.precisie,
                "regel": float((hit == sub["boven_drempel"]).mean()),
                "n_vlaggen": int(entities.nunique()),
                "n_vlaggen_ondermijnend": len(positive_entities),
                "precisie_alle": (
                    len(positive_entities) / entities.nunique() if entities.nunique() else np.nan
                ),
            }
        )
    return Evaluation(
        kandidaten=table,
        per_vlag=pd.DataFrame(rows),
        locaties=_location_scores(indicators.risicolocaties, pos),
        signalen=_signal_scores(indicators.signalen, pos),
    )

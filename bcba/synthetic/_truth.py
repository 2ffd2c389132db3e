"""The truth table of planted.json: every plant and look-alike with its label.

One entry (``kandidaten``) per entity and flag: the value the generator planted, the
documented threshold of that flag, whether the value reaches it (``boven_drempel``) and
what the entity really is (``waarheid``):

- ``ondermijnend``: part of a planted subversive pattern; should be found;
- ``grensgeval``: planted just below a threshold; the flag should not fire;
- ``legitiem``: a legitimate look-alike; nothing should be reported about it.

``locaties`` lists every address of a plant or look-alike with the strongest label of the
entries there, so tests can compute recall and precision of risk locations and signals.
Everything else in the data is ordinary background: legitimate by construction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bcba.synthetic._registers import DAY, Period

#: The documented default thresholds of the flags (docs/method.md, ``bcba.indicators``),
#: written out here rather than imported so that a changed default shows up as a failing
#: test (tests/test_synthetic_scenarios.py) instead of silently moving the plants.
DREMPELS: dict[str, object] = {
    "KVK_VEEL_INSCHRIJVINGEN": 8,  # active registrations at one address at the end
    "KVK_VERLOOP_ADRES": 6,  # registrations + deregistrations at one address in the period
    "KVK_NIEUW_RISICOBRANCHE": 12,  # months before the end of the period
    "KVK_WOONADRES": 5,  # working persons (a business outside the risk branches)
    "KVK_KORT_BESTAAN": 12,  # months from registration to deregistration
    "KVK_FUNCTIONARIS_VEEL": {"ondernemingen": 5, "kortlevend": 3},
    "KAD_ABC": 183,  # days between two sales of one object
    "KAD_PRIJS_WOZ": 0.5,  # |koopsom / WOZ - 1|
    "KAD_ZONDER_HYPOTHEEK": 300_000,  # euro, without mortgage
    "KAD_JONGE_RECHTSPERSOON": 12,  # months from registration to purchase
    "KAD_VEEL_AANKOPEN": 3,  # objects bought by one buyer in the period
}

WAARHEDEN = ("ondermijnend", "grensgeval", "legitiem")
_RANK = {w: i for i, w in enumerate(WAARHEDEN)}


def months_after(day, months: int) -> np.datetime64:
    """Calendar months after a day (as "in de laatste 12 maanden" reads)."""
    ts = pd.Timestamp(np.datetime64(day, "D")) + pd.DateOffset(months=months)
    return np.datetime64(ts.date(), "D")


class Truth:
    """Collects truth entries while the registers are built; finished once ids are known."""

    def __init__(self, bag: pd.DataFrame, per: Period) -> None:
        self.bag, self.per = bag, per
        self.entries: list[dict] = []
        self.locations: dict[int, tuple[str, set[str]]] = {}

    def add(
        self,
        *,
        patroon: str,
        flag: str,
        waarheid: str,
        entiteit: str,
        waarde=None,
        boven: bool | None = None,
        addrs=(),
        kvk=(),
        tags=(),
        persoon: dict | None = None,
    ) -> None:
        """One entry; ``waarde``/``boven`` left None are computed from the final data."""
        if waarheid not in _RANK:
            raise ValueError(waarheid)  # programming error
        self.entries.append(
            {
                "patroon": patroon,
                "flag": flag,
                "waarheid": waarheid,
                "entiteit": entiteit,
                "waarde": waarde,
                "boven_drempel": boven,
                "_addrs": [int(a) for a in addrs],
                "kvk_nummers": [str(k) for k in kvk],
                "_tags": list(tags),
                "persoon": persoon,
            }
        )
        self.location(addrs, waarheid, patroon)

    def location(self, addrs, waarheid: str, patroon: str) -> None:
        """Mark addresses as part of a plant or look-alike (the strongest label wins)."""
        for a in addrs:
            old, patterns = self.locations.get(int(a), (waarheid, set()))
            best = old if _RANK[old] <= _RANK[waarheid] else waarheid
            self.locations[int(a)] = (best, patterns | {patroon})

    # --- values from the final registers ------------------------------------------------
    def _address_counts(self, ves: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        per = self.per
        ins = ves["datum_inschrijving"].to_numpy(dtype="datetime64[D]")
        uit = ves["datum_uitschrijving"].to_numpy(dtype="datetime64[D]")
        addr = ves["_addr"].to_numpy()
        active = (ins <= per.end) & (np.isnat(uit) | (uit > per.end))
        moves = ((ins >= per.start) & (ins <= per.end)).astype(int) + (
            (uit >= per.start) & (uit <= per.end)
        ).astype(int)
        act = pd.Series(active.astype(int)).groupby(addr).sum()
        mov = pd.Series(moves).groupby(addr).sum()
        return act, mov

    def _purchases(self, trans: pd.DataFrame) -> pd.Series:
        """Distinct objects bought in the period per buyer (name for persons, KvK for legal)."""
        per = self.per
        d = trans["datum"].to_numpy(dtype="datetime64[D]")
        inp = (d >= per.start) & (d <= per.end)
        legal = trans["koper_type"].to_numpy() == "rechtspersoon"
        buyer = np.where(
            legal,
            "K|" + trans["koper_kvk_nummer"].astype(str).to_numpy(dtype=object),
            "N|" + trans["koper_naam"].astype(str).to_numpy(dtype=object),
        )
        frame = pd.DataFrame({"b": buyer[inp], "a": trans["_addr"].to_numpy()[inp]})
        return frame.drop_duplicates().groupby("b").size()

    def finish(self, ves: pd.DataFrame, trans: pd.DataFrame) -> tuple[list[dict], list[dict]]:
        """The JSON-ready ``kandidaten`` and ``locaties`` (transaction ids must be final)."""
        per = self.per
        act, mov = self._address_counts(ves)
        bought = self._purchases(trans)
        by_tag = trans[trans["_tag"] != ""].set_index("_tag")
        adres_id = self.bag["adres_id"].to_numpy(dtype=object)
        out = []
        for i, e in enumerate(self.entries, start=1):
            flag = e["flag"]
            drempel = DREMPELS[flag]
            waarde, boven = e["waarde"], e["boven_drempel"]
            rows = by_tag.loc[e["_tags"]] if e["_tags"] else by_tag.iloc[0:0]
            if flag == "KVK_VEEL_INSCHRIJVINGEN":
                waarde = int(act.get(e["_addrs"][0], 0))
                boven = waarde >= drempel
            elif flag == "KVK_VERLOOP_ADRES":
                waarde = int(mov.get(e["_addrs"][0], 0))
                boven = waarde >= drempel
            elif flag == "KAD_PRIJS_WOZ":
                ratio = float(rows["koopsom"].iloc[0]) / float(rows["woz_waarde"].iloc[0])
                waarde = round(ratio, 4)
                boven = round(abs(ratio - 1), 9) >= drempel
            elif flag == "KAD_ZONDER_HYPOTHEEK":
                r = rows.iloc[0]
                d = np.datetime64(r["datum"], "D")
                waarde = int(r["koopsom"])
                boven = r["hypotheek"] == "nee" and waarde >= drempel and per.start <= d <= per.end
            elif flag == "KAD_VEEL_AANKOPEN":
                r = rows.iloc[0]
                key = (
                    "K|" + str(r["koper_kvk_nummer"])
                    if r["koper_type"] == "rechtspersoon"
                    else "N|" + str(r["koper_naam"])
                )
                waarde = int(bought.get(key, 0))
                boven = waarde >= drempel
            ids = rows["transactie_id"].astype(str).tolist() if len(rows) else []
            out.append(
                {
                    "id": f"K{i:04d}",
                    "patroon": e["patroon"],
                    "flag": flag,
                    "waarheid": e["waarheid"],
                    "entiteit": e["entiteit"],
                    "waarde": waarde,
                    "drempel": drempel,
                    "boven_drempel": bool(boven),
                    "adres_ids": [adres_id[a] for a in e["_addrs"]],
                    "kvk_nummers": e["kvk_nummers"],
                    "transactie_ids": ids,
                    "persoon": e["persoon"],
                }
            )
        locaties = [
            {"adres_id": adres_id[a], "waarheid": w, "patronen": sorted(p)}
            for a, (w, p) in sorted(self.locations.items())
        ]
        return out, locaties


def days(a, b) -> int:
    """Whole days from ``a`` to ``b``."""
    return int((np.datetime64(b, "D") - np.datetime64(a, "D")) / DAY)

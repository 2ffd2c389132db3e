"""The planted KvK, network and Kadaster patterns (see docs/synthetic-data.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bcba.errors import ConfigError
from bcba.synthetic import _pools
from bcba.synthetic._registers import (
    DAY,
    NAT,
    Numbers,
    Period,
    Persons,
    Registers,
    _fun_frame,
    _ves_frame,
)
from bcba.synthetic._truth import DREMPELS, Truth, days, months_after

BV = "Besloten Vennootschap"


def address_record(bag: pd.DataFrame, idx: int) -> dict:
    """Address fields of one BAG row as written to planted.json."""
    row = bag.iloc[int(idx)]
    return {
        "postcode": row["postcode"],
        "huisnummer": int(row["huisnummer"]),
        "huisletter": row["huisletter"] or None,
        "toevoeging": row["toevoeging"] or None,
        "adres_id": row["adres_id"],
    }


def iso(day) -> str:
    return str(np.datetime64(day, "D"))


class Planter:
    """Adds the planted patterns to the registers and collects the manifest entries."""

    def __init__(
        self,
        bag,
        areas,
        per: Period,
        persons: Persons,
        numbers: Numbers,
        reg: Registers,
        rng: np.random.Generator,
    ) -> None:
        self.bag, self.areas, self.per = bag, areas, per
        self.persons, self.numbers, self.reg, self.rng = persons, numbers, reg, rng
        self.used = np.zeros(len(bag), dtype=bool)
        for frame in reg.vestigingen:
            self.used[frame["_addr"].to_numpy()] = True
        self.planted = np.zeros(len(bag), dtype=bool)
        self.risicolocaties: list[dict] = []
        self.netwerken: list[dict] = []
        self.kadaster: list[dict] = []
        self.buurten_hoog_risico: list[dict] = []
        self.use = bag["gebruiksdoel"].to_numpy()
        self.gebied = bag["_gebied"].to_numpy()
        # no dwelling at all (mixed uses such as "woonfunctie,winkelfunctie" excluded)
        self.nonres = ~pd.Series(self.use).str.startswith("woonfunctie").to_numpy()
        self.truth = Truth(bag, per)

    # --- helpers ---------------------------------------------------------------------
    def free_addresses(
        self, n: int, *, kind: str = "nonres", gebied: str | None = None, prefer: str | None = None
    ) -> np.ndarray:
        """``n`` distinct unused addresses of a kind (nonres / woon), optionally in one area."""
        ok = ~self.used
        ok &= (self.use == "woonfunctie") if kind == "woon" else (self.use != "woonfunctie")
        if kind == "nonres":
            ok &= self.nonres
        if gebied is not None:
            ok &= self.gebied == gebied
        cand = np.flatnonzero(ok)
        if prefer is not None:
            pref = cand[self.use[cand] == prefer]
            cand = np.concatenate(
                [self.rng.permutation(pref), self.rng.permutation(np.setdiff1d(cand, pref))]
            )
        else:
            cand = self.rng.permutation(cand)
        if len(cand) < n and gebied is not None and kind == "nonres":
            # busy area: share an occupied (not planted) business address in the same area
            more = np.flatnonzero(self.used & ~self.planted & (self.gebied == gebied) & self.nonres)
            cand = np.concatenate([cand, self.rng.permutation(more)])
        if len(cand) < n:  # small area: relax to any unused non-woon address anywhere
            more = np.flatnonzero(~self.used & (self.use != "woonfunctie"))
            cand = np.concatenate([cand, self.rng.permutation(np.setdiff1d(more, cand))])
        if len(cand) < n:  # tiny scale: share occupied business addresses, never planted ones
            more = np.flatnonzero(~self.planted & (self.use != "woonfunctie"))
            cand = np.concatenate([cand, self.rng.permutation(np.setdiff1d(more, cand))])
        if len(cand) < n:
            more = np.flatnonzero(~self.planted)
            cand = np.concatenate([cand, self.rng.permutation(np.setdiff1d(more, cand))])
        out = cand[:n]
        self.used[out] = True
        self.planted[out] = True
        return out

    def companies(
        self, n, *, vorm, sbi, names, addr, ins, uit, officers, functie="bestuurder", wp=None
    ) -> np.ndarray:
        kvk = self.numbers.kvk_numbers(n)
        vorm = np.broadcast_to(np.asarray(vorm, dtype=object), (n,))
        wp = self.rng.integers(1, 4, n) if wp is None else wp
        self.reg.vestigingen.append(
            _ves_frame(kvk, self.numbers.ves_numbers(n), names, vorm, sbi, addr, ins, uit, wp)
        )
        self.reg.functionarissen.append(_fun_frame(kvk, officers, functie, ins, uit))
        return kvk

    def name_for(self, sbi: str, word: str, vorm: str) -> str:
        prefixes = {c: p for c, _, p in _pools.SBI_MIX}
        prefixes[_pools.CARWASH_SBI] = _pools.CARWASH_PREFIXES
        pre = prefixes.get(sbi, ("Handelsonderneming",))
        suffix = {r: s for r, _, s in _pools.RECHTSVORMEN}[vorm]
        return f"{pre[int(self.rng.integers(0, len(pre)))]} {word}{suffix}"

    def words(self, n: int) -> list[str]:
        pool = np.array(_pools.NAME_WORDS, dtype=object)
        return list(pool[self.rng.choice(len(pool), size=n, replace=n > len(pool))])

    def dates(self, lo, hi, n) -> np.ndarray:
        lo, hi = np.datetime64(lo, "D"), np.datetime64(hi, "D")
        span = max(int((hi - lo) / DAY), 1)
        return np.sort(lo + self.rng.integers(0, span + 1, n) * DAY)

    def person(self, idx: int, *, birth: bool = True) -> dict:
        """Name (and birth date) of a synthetic person, as planted.json records it."""
        row = self.persons.table().iloc[int(idx)]
        return {
            "naam": row["naam"],
            "geboortedatum": iso(row["geboortedatum"]) if birth else None,
        }

    def is_new(self, ins) -> bool:
        """Registered in the last 12 months of the period (KVK_NIEUW_RISICOBRANCHE)."""
        return months_after(self.per.end, -12) <= np.datetime64(ins, "D") <= self.per.end

    def is_short(self, ins, uit) -> bool:
        """Deregistered in the period within 12 months of registration (KVK_KORT_BESTAAN)."""
        if np.isnat(np.datetime64(uit, "D")):
            return False
        uit = np.datetime64(uit, "D")
        return uit <= months_after(ins, 12) and self.per.start <= uit <= self.per.end

    def choose_areas(self, hotspot_buurt: str | None) -> dict[str, str]:
        """Pick the hot-spot, risk-branch and real-estate areas deterministically."""
        counts = pd.Series(self.gebied).value_counts()
        res_counts = pd.Series(self.gebied[self.use == "woonfunctie"]).value_counts()
        nonres_mask = ~pd.Series(self.use).str.startswith("woonfunctie").to_numpy()
        nonres_counts = pd.Series(self.gebied[nonres_mask]).value_counts()
        free_counts = pd.Series(self.gebied[nonres_mask & ~self.used]).value_counts()
        codes = sorted(counts.index)
        if hotspot_buurt is not None:
            if hotspot_buurt not in set(self.areas["gebiedcode"]):
                allowed = ", ".join(sorted(self.areas["gebiedcode"]))
                raise ConfigError(
                    f"hotspot_buurt {hotspot_buurt!r} is geen buurt (of wijk) van deze gemeente; "
                    f"kies uit: {allowed}"
                )
            hot = hotspot_buurt
        else:
            big = [c for c in codes if counts.get(c, 0) >= counts.median()]
            hot = big[int(self.rng.integers(0, len(big)))]
        rest = [c for c in codes if c != hot]
        shops = (
            [c for c in rest if free_counts.get(c, 0) >= 7]
            or [c for c in rest if nonres_counts.get(c, 0) >= 7]
            or rest
            or [hot]
        )
        risk = shops[int(self.rng.integers(0, len(shops)))]
        rest2 = [c for c in rest if c != risk and res_counts.get(c, 0) >= 40] or rest or [hot]
        vast = rest2[int(self.rng.integers(0, len(rest2)))]
        return {"hotspot": hot, "risicobranche": risk, "vastgoed": vast}

    # --- patterns ----------------------------------------------------------------------
    def many_registrations(self) -> None:
        per, rng = self.per, self.rng
        (a,) = self.free_addresses(1, prefer="kantoorfunctie")
        n = 13
        ins = np.concatenate(
            [
                self.dates(per.end - 3 * 365 * DAY, per.end - 200 * DAY, 8),
                self.dates(per.end - 170 * DAY, per.end - 10 * DAY, 5),
            ]
        )
        sbi = np.array(["6420", "7022", "4791", "6820", "4690", "7490", "8121"] * 2, dtype=object)[
            :n
        ]
        vorm = np.where(rng.random(n) < 0.7, BV, "Eenmanszaak")
        names = [self.name_for(s, w, v) for s, w, v in zip(sbi, self.words(n), vorm, strict=True)]
        kvk = self.companies(
            n,
            vorm=vorm,
            sbi=sbi,
            names=names,
            addr=np.full(n, a),
            ins=ins,
            uit=NAT,
            officers=self.persons.new(n),
            functie=np.where(vorm == BV, "bestuurder", "eigenaar"),
        )
        self.risicolocaties.append(
            {
                "patroon": "adres_veel_inschrijvingen",
                "flag": "KVK_VEEL_INSCHRIJVINGEN",
                **address_record(self.bag, a),
                "kvk_nummers": list(kvk),
            }
        )
        self.truth.add(
            patroon="adres_veel_inschrijvingen",
            flag="KVK_VEEL_INSCHRIJVINGEN",
            waarheid="ondermijnend",
            entiteit="adres",
            addrs=[a],
            kvk=kvk,
        )

    def churn(self) -> None:
        per, rng = self.per, self.rng
        (a,) = self.free_addresses(1, prefer="kantoorfunctie")
        n = 9
        step = per.days / (n + 0.5)
        ins = per.start + (np.arange(n) * step + rng.integers(0, 20, n)).astype(np.int64) * DAY
        uit = ins + rng.integers(60, max(int(step) - 5, 61), n) * DAY
        uit = np.minimum(uit, per.end - DAY)
        sbi = np.array(["4791", "7022", "4941", "8121", "4690"] * 2, dtype=object)[:n]
        vorm = np.where(rng.random(n) < 0.5, BV, "Eenmanszaak")
        names = [self.name_for(s, w, v) for s, w, v in zip(sbi, self.words(n), vorm, strict=True)]
        kvk = self.companies(
            n,
            vorm=vorm,
            sbi=sbi,
            names=names,
            addr=np.full(n, a),
            ins=ins,
            uit=uit,
            officers=self.persons.new(n),
            functie=np.where(vorm == BV, "bestuurder", "eigenaar"),
        )
        self.risicolocaties.append(
            {
                "patroon": "adres_verloop",
                "flag": "KVK_VERLOOP_ADRES",
                **address_record(self.bag, a),
                "kvk_nummers": list(kvk),
            }
        )
        self.truth.add(
            patroon="adres_verloop",
            flag="KVK_VERLOOP_ADRES",
            waarheid="ondermijnend",
            entiteit="adres",
            addrs=[a],
            kvk=kvk,
        )

    def risk_cluster(self, gebied: str) -> tuple[str, int]:
        """Seven new risk-branch businesses in one area; returns (kvk, officer) of the shisha bar."""
        per, _rng = self.per, self.rng
        n = 7
        addr = self.free_addresses(n, gebied=gebied, prefer="winkelfunctie")
        sbi = np.array(list(_pools.RISK_CLUSTER_SBI) + ["5630", "96021"], dtype=object)[:n]
        vorm = np.array([BV] + ["Eenmanszaak", "Vennootschap onder firma"] * 3, dtype=object)[:n]
        words = self.words(n)
        names = [f"Shisha Lounge {words[0]} B.V."] + [
            self.name_for(s, w, v) for s, w, v in zip(sbi[1:], words[1:], vorm[1:], strict=True)
        ]
        officers = self.persons.new(n)
        ins = self.dates(per.end - 330 * DAY, per.end - 15 * DAY, n)
        kvk = self.companies(
            n,
            vorm=vorm,
            sbi=sbi,
            names=names,
            addr=addr,
            ins=ins,
            uit=NAT,
            officers=officers,
            functie=np.select(
                [vorm == BV, vorm == "Eenmanszaak"], ["bestuurder", "eigenaar"], "vennoot"
            ),
        )
        for k, a, d in zip(kvk, addr, ins, strict=True):
            self.risicolocaties.append(
                {
                    "patroon": "risicobranche_cluster",
                    "flag": "KVK_NIEUW_RISICOBRANCHE",
                    "buurtcode": gebied,
                    **address_record(self.bag, a),
                    "kvk_nummers": [k],
                }
            )
            self.truth.add(
                patroon="risicobranche_cluster",
                flag="KVK_NIEUW_RISICOBRANCHE",
                waarheid="ondermijnend",
                entiteit="vestiging",
                waarde=days(d, per.end),
                boven=self.is_new(d),
                addrs=[a],
                kvk=[k],
            )
        self.buurten_hoog_risico.append({"thema": "kwetsbare_branches", "buurtcode": gebied})
        return kvk[0], int(officers[0])

    def home_addresses(self) -> None:
        per = self.per
        n = 5
        addr = self.free_addresses(n, kind="woon")
        sbi = np.array(["96022", "4742", "45205", "96021", "5630"], dtype=object)
        vorm = np.full(n, "Eenmanszaak", dtype=object)
        names = [self.name_for(s, w, v) for s, w, v in zip(sbi, self.words(n), vorm, strict=True)]
        ins = self.dates(per.start, per.end - 30 * DAY, n)
        kvk = self.companies(
            n,
            vorm=vorm,
            sbi=sbi,
            names=names,
            addr=addr,
            ins=ins,
            uit=NAT,
            officers=self.persons.new(n),
            functie="eigenaar",
            wp=np.ones(n, int),
        )
        for k, a in zip(kvk, addr, strict=True):
            self.risicolocaties.append(
                {
                    "patroon": "bedrijf_op_woonadres",
                    "flag": "KVK_WOONADRES",
                    **address_record(self.bag, a),
                    "kvk_nummers": [k],
                }
            )
            self.truth.add(
                patroon="bedrijf_op_woonadres",
                flag="KVK_WOONADRES",
                waarheid="ondermijnend",
                entiteit="vestiging",
                waarde="risicobranche",
                boven=True,
                addrs=[a],
                kvk=[k],
            )

    def straw_man(self) -> None:
        per, rng = self.per, self.rng
        n = int(rng.integers(10, 13))
        person = int(self.persons.new(1, born=(1998, 2003))[0])
        addrs = self.free_addresses(int(rng.integers(3, 5)))
        addr = addrs[np.arange(n) % len(addrs)]
        ins = self.dates(per.start - 150 * DAY, per.end - 340 * DAY, n)
        uit = ins + rng.integers(90, 331, n) * DAY
        sbi = np.array(["4941", "4120", "8121", "7830", "4332"] * 3, dtype=object)[:n]
        names = [self.name_for(s, w, BV) for s, w in zip(sbi, self.words(n), strict=True)]
        kvk = self.companies(
            n,
            vorm=BV,
            sbi=sbi,
            names=names,
            addr=addr,
            ins=ins,
            uit=uit,
            officers=np.full(n, person),
        )
        p = self.persons.table().iloc[person]
        short = [self.is_short(i, u) for i, u in zip(ins, uit, strict=True)]
        lived = [bool(u <= months_after(i, 12)) for i, u in zip(ins, uit, strict=True)]
        self.truth.add(
            patroon="stroman",
            flag="KVK_FUNCTIONARIS_VEEL",
            waarheid="ondermijnend",
            entiteit="persoon",
            waarde={"ondernemingen": n, "kortlevend": int(sum(lived))},
            boven=n >= DREMPELS["KVK_FUNCTIONARIS_VEEL"]["ondernemingen"]
            and sum(lived) >= DREMPELS["KVK_FUNCTIONARIS_VEEL"]["kortlevend"],
            addrs=list(addrs),
            kvk=kvk,
            persoon=self.person(person),
        )
        for k, a, i, u, s in zip(kvk, addr, ins, uit, short, strict=True):
            self.truth.add(
                patroon="stroman",
                flag="KVK_KORT_BESTAAN",
                waarheid="ondermijnend",
                entiteit="onderneming",
                waarde=days(i, u),
                boven=s,
                addrs=[a],
                kvk=[k],
            )
        self.netwerken.append(
            {
                "patroon": "stroman",
                "flag": "NET_STROMAN",
                "flags": ["NET_STROMAN", "KVK_FUNCTIONARIS_VEEL", "KVK_KORT_BESTAAN"],
                "kvk_nummers": list(kvk),
                "persoon_naam": p["naam"],
                "persoon_geboortedatum": iso(p["geboortedatum"]),
                "adres_ids": [self.bag.iloc[int(a)]["adres_id"] for a in addrs],
            }
        )

    def address_hub(self) -> None:
        per, rng = self.per, self.rng
        (a,) = self.free_addresses(1, prefer="kantoorfunctie")
        n = 16
        ins = self.dates(per.end - 8 * 365 * DAY, per.end - 60 * DAY, n)
        dereg = rng.random(n) < 0.6
        life = ((per.end - ins) / DAY).astype(np.int64)
        uit = np.where(
            dereg,
            ins + (200 + rng.random(n) * np.maximum(life - 200, 1)).astype(np.int64) * DAY,
            NAT,
        )
        uit = np.where(dereg & (uit > per.end), per.end, uit)
        sbi = np.array(
            ["6420", "7022", "6820", "4690", "7490", "4120", "4791", "7010"] * 2, dtype=object
        )[:n]
        names = [self.name_for(s, w, BV) for s, w in zip(sbi, self.words(n), strict=True)]
        shared = self.persons.new(3)
        kvk = self.companies(
            n,
            vorm=BV,
            sbi=sbi,
            names=names,
            addr=np.full(n, a),
            ins=ins,
            uit=uit,
            officers=shared[np.arange(n) % 3],
        )
        second = np.arange(0, n, 2)
        self.reg.functionarissen.append(
            _fun_frame(
                kvk[second], shared[(second + 1) % 3], "gevolmachtigde", ins[second], uit[second]
            )
        )
        table = self.persons.table()
        self.truth.location([a], "ondermijnend", "adres_hub")
        self.netwerken.append(
            {
                "patroon": "adres_hub",
                "flag": "NET_ADRES_HUB",
                "kvk_nummers": list(kvk),
                "adres_ids": [self.bag.iloc[int(a)]["adres_id"]],
                **address_record(self.bag, a),
                "personen": [
                    {
                        "naam": table.iloc[int(s)]["naam"],
                        "geboortedatum": iso(table.iloc[int(s)]["geboortedatum"]),
                    }
                    for s in shared
                ],
            }
        )

    def carousel(self) -> None:
        per, rng = self.per, self.rng
        n, slots = 4, 4
        addrs = self.free_addresses(3)
        kvk = self.numbers.kvk_numbers(n)
        sbi = np.array(["4941", "4120", "6820", "4690"], dtype=object)
        names = np.array(
            [self.name_for(s, w, BV) for s, w in zip(sbi, self.words(n), strict=True)], dtype=object
        )
        first = per.start - rng.integers(365, 3 * 365, n) * DAY
        bounds = per.start + (np.arange(1, slots) * per.days / slots).astype(np.int64) * DAY
        rows = []
        for j in range(slots):  # loops over 4 slots only
            jitter = (np.arange(n) * 3) * DAY
            ins = first if j == 0 else bounds[j - 1] + jitter
            uit = (bounds[j] + jitter - DAY) if j < slots - 1 else np.full(n, NAT)
            rows.append(
                _ves_frame(
                    kvk,
                    self.numbers.ves_numbers(n),
                    names,
                    BV,
                    sbi,
                    addrs[(np.arange(n) + j) % 3],
                    ins,
                    uit,
                    rng.integers(1, 6, n),
                )
            )
        self.reg.vestigingen.extend(rows)
        officers = self.persons.new(n)
        self.reg.functionarissen.append(_fun_frame(kvk, officers, "bestuurder", first, NAT))
        self.truth.location(addrs, "ondermijnend", "carrousel")
        self.netwerken.append(
            {
                "patroon": "carrousel",
                "flag": "NET_CARROUSEL",
                "kvk_nummers": list(kvk),
                "adres_ids": [self.bag.iloc[int(a)]["adres_id"] for a in addrs],
            }
        )

    def real_estate(
        self, gebied: str, area_woz: dict, shisha_kvk: str, shisha_officer: int
    ) -> None:
        """Fresh BV buying three houses and three ABC resale chains in one area."""
        per, rng = self.per, self.rng
        houses = self.free_addresses(6, kind="woon", gebied=gebied)
        self.used[houses] = True
        sold = np.zeros(len(self.bag), dtype=bool)
        for frame in self.reg.transacties:
            sold[frame["_addr"].to_numpy()] = True
        if sold[houses].any():  # keep planted objects free of background sales
            for frame_i, frame in enumerate(self.reg.transacties):
                self.reg.transacties[frame_i] = frame[~frame["_addr"].isin(houses)]
        woz_area = area_woz.get(gebied, float(np.median(list(area_woz.values()))))
        woz = np.round(woz_area * np.exp(rng.normal(0, 0.1, 6)), -3)

        # fresh BV (officer shared with the shisha lounge)
        (bv_addr,) = self.free_addresses(1, prefer="kantoorfunctie")
        bv_ins = per.start + int(rng.integers(40, max(min(200, per.days - 200), 41))) * DAY
        word = self.words(1)[0]
        bv_name = f"{word} Vastgoed B.V."
        (bv_kvk,) = self.companies(
            1,
            vorm=BV,
            sbi=np.array(["6810"], dtype=object),
            names=[bv_name],
            addr=[bv_addr],
            ins=[bv_ins],
            uit=NAT,
            officers=[shisha_officer],
        )
        buy_dates = bv_ins + np.sort(rng.integers(20, 170, 3)) * DAY
        sellers = self.persons.new(3)
        names = self.persons.table()["naam"].to_numpy(dtype=object)
        price = np.round(woz[:3] * rng.uniform(1.4, 1.65, 3) / 500) * 500
        self.reg.transacties.append(
            pd.DataFrame(
                {
                    "_addr": houses[:3],
                    "datum": buy_dates,
                    "koopsom": price.astype(np.int64),
                    "koper_naam": bv_name,
                    "koper_type": "rechtspersoon",
                    "koper_kvk_nummer": bv_kvk,
                    "verkoper_naam": names[sellers],
                    "verkoper_type": "natuurlijk_persoon",
                    "hypotheek": "nee",
                    "woz_waarde": woz[:3].astype(np.int64),
                    "_koper_person": -1,
                    "_verkoper_person": sellers,
                    "_tag": [f"jonge_bv_{i}" for i in range(3)],
                }
            )
        )
        # ABC: A -> B -> C within 6 months, C pays 30 %+ more
        a, b, c = self.persons.new(3), self.persons.new(3), self.persons.new(3)
        names = self.persons.table()["naam"].to_numpy(dtype=object)
        d1 = per.start + rng.integers(30, max(per.days - 200, 31), 3) * DAY
        d2 = d1 + rng.integers(30, 171, 3) * DAY
        p1 = np.round(woz[3:] * rng.uniform(0.95, 1.05, 3) / 500) * 500
        p2 = np.round(p1 * rng.uniform(1.32, 1.6, 3) / 500) * 500
        for step, (dates, prices, seller, buyer, hyp) in enumerate(
            ((d1, p1, a, b, "nee"), (d2, p2, b, c, "ja"))
        ):
            self.reg.transacties.append(
                pd.DataFrame(
                    {
                        "_addr": houses[3:],
                        "datum": dates,
                        "koopsom": prices.astype(np.int64),
                        "koper_naam": names[buyer],
                        "koper_type": "natuurlijk_persoon",
                        "koper_kvk_nummer": "",
                        "verkoper_naam": names[seller],
                        "verkoper_type": "natuurlijk_persoon",
                        "hypotheek": hyp,
                        "woz_waarde": woz[3:].astype(np.int64),
                        "_koper_person": buyer,
                        "_verkoper_person": seller,
                        "_tag": [f"abc_{i}_{step}" for i in range(3)],
                    }
                )
            )
        table = self.persons.table().iloc[shisha_officer]
        self.netwerken.append(
            {
                "patroon": "vastgoed_jonge_bv",
                "flag": "NET_VASTGOED_JONGE_BV",
                "kvk_nummers": [bv_kvk],
                "adres_ids": [self.bag.iloc[int(h)]["adres_id"] for h in houses[:3]],
            }
        )
        self.netwerken.append(
            {
                "patroon": "gedeelde_functionaris",
                "flag": "NET_GEDEELDE_FUNCTIONARIS",
                "kvk_nummers": [bv_kvk, shisha_kvk],
                "persoon_naam": table["naam"],
                "persoon_geboortedatum": iso(table["geboortedatum"]),
            }
        )
        self.buurten_hoog_risico.append({"thema": "vastgoed_witwassen", "buurtcode": gebied})
        self._jonge_bv = (bv_kvk, houses[:3])
        self._abc = houses[3:]
        for i, (h, d) in enumerate(zip(houses[:3], buy_dates, strict=True)):
            tag = f"jonge_bv_{i}"
            common = dict(patroon="jonge_bv_aankopen", waarheid="ondermijnend", tags=[tag])
            self.truth.add(
                **common,
                flag="KAD_JONGE_RECHTSPERSOON",
                entiteit="transactie",
                waarde=days(bv_ins, d),
                boven=bool(d <= months_after(bv_ins, 12)),
                addrs=[h],
                kvk=[bv_kvk],
            )
            self.truth.add(**common, flag="KAD_ZONDER_HYPOTHEEK", entiteit="transactie", addrs=[h])
            self.truth.add(**common, flag="KAD_PRIJS_WOZ", entiteit="transactie", addrs=[h])
        self.truth.add(
            patroon="jonge_bv_aankopen",
            flag="KAD_VEEL_AANKOPEN",
            waarheid="ondermijnend",
            entiteit="koper",
            tags=[f"jonge_bv_{i}" for i in range(3)],
            addrs=list(houses[:3]),
            kvk=[bv_kvk],
        )
        for i, h in enumerate(houses[3:]):
            gap = days(d1[i], d2[i])
            self.truth.add(
                patroon="abc",
                flag="KAD_ABC",
                waarheid="ondermijnend",
                entiteit="transactie",
                waarde=gap,
                boven=gap <= DREMPELS["KAD_ABC"] and per.start <= d2[i] <= per.end,
                tags=[f"abc_{i}_1"],
                addrs=[h],
            )

    def kadaster_manifest(self, trans: pd.DataFrame) -> None:
        """Kadaster entries, once the final transaction ids are known."""
        tags = trans.set_index("_tag")["transactie_id"]
        bv_kvk, houses = self._jonge_bv
        ids = [tags[f"jonge_bv_{i}"] for i in range(3)]
        adres_ids = [self.bag.iloc[int(h)]["adres_id"] for h in houses]
        for flag in (
            "KAD_JONGE_RECHTSPERSOON",
            "KAD_ZONDER_HYPOTHEEK",
            "KAD_VEEL_AANKOPEN",
            "KAD_PRIJS_WOZ",
        ):
            self.kadaster.append(
                {
                    "patroon": "jonge_bv_aankopen",
                    "flag": flag,
                    "transactie_ids": ids,
                    "koper_kvk_nummer": bv_kvk,
                    "adres_ids": adres_ids,
                }
            )
        for i, h in enumerate(self._abc):
            self.kadaster.append(
                {
                    "patroon": "abc",
                    "flag": "KAD_ABC",
                    "transactie_ids": [tags[f"abc_{i}_0"], tags[f"abc_{i}_1"]],
                    **address_record(self.bag, h),
                }
            )

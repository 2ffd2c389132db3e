"""Synthetic KvK (establishments, officers) and Kadaster (transactions) with planted patterns.

Dates are ``datetime64[D]`` arrays internally; addresses are row indices into the BAG table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bcba.synthetic import _pools

NAT = np.datetime64("NaT", "D")
DAY = np.timedelta64(1, "D")


@dataclass
class Period:
    start: np.datetime64
    end: np.datetime64

    @property
    def days(self) -> int:
        return int((self.end - self.start) / DAY)


class Persons:
    """A growing table of synthetic natural persons (name, birth date, surname for names)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.frames: list[pd.DataFrame] = []
        self.n = 0
        self._table: pd.DataFrame | None = None

    def new(self, n: int, *, born: tuple[int, int] = (1945, 2003)) -> np.ndarray:
        """Create ``n`` new persons; return their indices."""
        rng = self.rng
        first = np.array(_pools.FIRST_NAMES, dtype=object)[
            rng.integers(0, len(_pools.FIRST_NAMES), n)
        ]
        other = rng.random(n) < 0.28
        nl = np.array(_pools.SURNAMES_NL, dtype=object)[rng.integers(0, len(_pools.SURNAMES_NL), n)]
        ot = np.array(_pools.SURNAMES_OTHER, dtype=object)[
            rng.integers(0, len(_pools.SURNAMES_OTHER), n)
        ]
        tv = np.array(_pools.TUSSENVOEGSELS, dtype=object)[
            rng.integers(0, len(_pools.TUSSENVOEGSELS), n)
        ]
        tv = np.where(other, "", tv)
        sur = np.where(other, ot, nl)
        naam = pd.Series(first) + " " + pd.Series(np.where(tv == "", "", tv + " ")) + pd.Series(sur)
        achternaam = pd.Series(np.where(tv == "", "", tv + " ")) + pd.Series(sur)
        achternaam = achternaam.str.slice(0, 1).str.upper() + achternaam.str.slice(1)
        lo = np.datetime64(f"{born[0]}-01-01", "D")
        hi = np.datetime64(f"{born[1]}-12-31", "D")
        birth = lo + rng.integers(0, int((hi - lo) / DAY) + 1, n) * DAY
        frame = pd.DataFrame(
            {
                "naam": naam.to_numpy(dtype=object),
                "geboortedatum": birth,
                "achternaam": achternaam.to_numpy(dtype=object),
            }
        )
        self.frames.append(frame)
        idx = np.arange(self.n, self.n + n)
        self.n += n
        return idx

    def named(self, naam: str, geboortedatum: str) -> int:
        """Add one person with a given name and birth date; return the index."""
        frame = pd.DataFrame(
            {
                "naam": [naam],
                "geboortedatum": [np.datetime64(geboortedatum, "D")],
                "achternaam": [naam.split(" ", 1)[-1]],
            }
        )
        self.frames.append(frame)
        self.n += 1
        return self.n - 1

    def table(self) -> pd.DataFrame:
        """All persons so far (cached until the next person is added)."""
        if self._table is None or len(self._table) != self.n:
            self._table = pd.concat(self.frames, ignore_index=True)
        return self._table


class Numbers:
    """Unique KvK numbers and establishment numbers, handed out in order."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.kvk = rng.choice(89_999_999, size=n, replace=False) + 10_000_000
        self.ves = rng.choice(89_999_999, size=n, replace=False) + 10_000_000
        self.ik = 0
        self.iv = 0

    def kvk_numbers(self, n: int) -> np.ndarray:
        out = self.kvk[self.ik : self.ik + n]
        self.ik += n
        if len(out) < n:
            raise RuntimeError("KvK-nummerpool uitgeput")  # programming error, not user error
        return out.astype(str)

    def ves_numbers(self, n: int) -> np.ndarray:
        out = self.ves[self.iv : self.iv + n]
        self.iv += n
        if len(out) < n:
            raise RuntimeError("vestigingsnummerpool uitgeput")
        return np.char.zfill(out.astype(str), 12).astype(object)


@dataclass
class Registers:
    """KvK and Kadaster rows being built (internal representation)."""

    vestigingen: list[pd.DataFrame] = field(default_factory=list)
    functionarissen: list[pd.DataFrame] = field(default_factory=list)
    transacties: list[pd.DataFrame] = field(default_factory=list)


def _pick(options, n: int, rng: np.random.Generator, weights=None) -> np.ndarray:
    arr = np.array(options, dtype=object)
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return arr[rng.choice(len(arr), size=n, p=p)]


def trade_names(
    sbi: np.ndarray, rechtsvorm: np.ndarray, surname: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Dutch-sounding trade names from SBI-specific prefixes, a word or surname and legal suffix."""
    prefixes = {code: pre for code, _, pre in _pools.SBI_MIX}
    prefixes.update({c: _pools.STORAGE_PREFIXES for c in _pools.STORAGE_SBI})
    prefixes[_pools.CARWASH_SBI] = _pools.CARWASH_PREFIXES
    n = len(sbi)
    prefix = np.full(n, "Handelsonderneming", dtype=object)
    for code in pd.unique(sbi):
        mask = sbi == code
        options = prefixes.get(code, ("Handelsonderneming",))
        prefix[mask] = _pick(options, int(mask.sum()), rng)
    word = np.where(
        rng.random(n) < 0.5,
        _pick(_pools.NAME_WORDS, n, rng),
        surname,
    )
    suffix_map = {r: s for r, _, s in _pools.RECHTSVORMEN}
    suffix = pd.Series(rechtsvorm).map(suffix_map).fillna("").to_numpy(dtype=object)
    name = pd.Series(prefix) + " " + pd.Series(word) + pd.Series(suffix)
    holding = pd.Series(prefix) == "Holding"
    name = name.where(~holding, pd.Series(word) + " Holding" + pd.Series(suffix))
    stichting = pd.Series(rechtsvorm) == "Stichting"
    name = name.where(~stichting, "Stichting " + pd.Series(prefix) + " " + pd.Series(word))
    return name.to_numpy(dtype=object)


def _ves_frame(kvk, ves, naam, vorm, sbi, addr, ins, uit, wp) -> pd.DataFrame:
    n = len(kvk)
    return pd.DataFrame(
        {
            "kvk_nummer": np.asarray(kvk, dtype=object),
            "vestigingsnummer": np.asarray(ves, dtype=object),
            "handelsnaam": np.asarray(naam, dtype=object),
            "rechtsvorm": np.broadcast_to(np.asarray(vorm, dtype=object), (n,)).copy(),
            "sbi_code": np.broadcast_to(np.asarray(sbi, dtype=object), (n,)).copy(),
            "_addr": np.asarray(addr, dtype=np.int64),
            "datum_inschrijving": np.asarray(ins, dtype="datetime64[D]"),
            "datum_uitschrijving": np.broadcast_to(
                np.asarray(uit, dtype="datetime64[D]"), (n,)
            ).copy(),
            "werkzame_personen": np.broadcast_to(np.asarray(wp, dtype=np.int64), (n,)).copy(),
        }
    )


def _fun_frame(kvk, person, functie, start, end) -> pd.DataFrame:
    n = len(kvk)
    return pd.DataFrame(
        {
            "kvk_nummer": np.asarray(kvk, dtype=object),
            "_person": np.asarray(person, dtype=np.int64),
            "functie": np.broadcast_to(np.asarray(functie, dtype=object), (n,)).copy(),
            "datum_aanvang": np.asarray(start, dtype="datetime64[D]"),
            "datum_einde": np.broadcast_to(np.asarray(end, dtype="datetime64[D]"), (n,)).copy(),
        }
    )


def background_kvk(
    bag: pd.DataFrame,
    n_total: int,
    per: Period,
    persons: Persons,
    numbers: Numbers,
    reg: Registers,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Ordinary establishments and officers; returns the storage and car-wash addresses."""
    n_comp = max(int(round(n_total / 1.05)), 10)
    codes = np.array([c for c, _, _ in _pools.SBI_MIX], dtype=object)
    weights = np.array([w for _, w, _ in _pools.SBI_MIX])
    sbi_c = codes[rng.choice(len(codes), n_comp, p=weights / weights.sum())]
    vormen = [r for r, _, _ in _pools.RECHTSVORMEN]
    vorm_c = _pick(vormen, n_comp, rng, [w for _, w, _ in _pools.RECHTSVORMEN])
    vorm_c = np.where(np.isin(sbi_c, ["6420", "7010"]), "Besloten Vennootschap", vorm_c)
    vorm_c = np.where(
        sbi_c == "9499", np.where(rng.random(n_comp) < 0.5, "Vereniging", "Stichting"), vorm_c
    )
    vorm_c = np.where((sbi_c != "9499") & np.isin(vorm_c, ["Vereniging"]), "Eenmanszaak", vorm_c)
    kvk_c = numbers.kvk_numbers(n_comp)
    age = np.minimum(rng.exponential(9 * 365.25, n_comp), 45 * 365.25).astype(np.int64)
    ins_c = per.end - age * DAY
    dereg = rng.random(n_comp) < 0.15
    d_out = per.end - rng.integers(0, 4 * 365, n_comp) * DAY
    too_early = d_out < ins_c + 30 * DAY
    span = np.maximum(((per.end - ins_c) / DAY).astype(np.int64), 31)
    d_out = np.where(too_early, ins_c + rng.integers(30, span + 1) * DAY, d_out)
    uit_c = np.where(dereg, d_out, NAT)

    # officers first: trade names use the owner's surname
    n_off = np.select(
        [
            vorm_c == "Eenmanszaak",
            vorm_c == "Besloten Vennootschap",
            np.isin(vorm_c, ["Stichting", "Vereniging"]),
        ],
        [1, 1 + (rng.random(n_comp) < 0.3), 2 + (rng.random(n_comp) < 0.5)],
        2,
    )
    comp_of_slot = np.repeat(np.arange(n_comp), n_off)
    slot_rank = np.arange(len(comp_of_slot)) - np.repeat(np.cumsum(n_off) - n_off, n_off)
    people = persons.new(len(comp_of_slot))
    # some people hold two or three positions
    reuse = rng.random(len(people)) < 0.06
    people = np.where(reuse, people[rng.integers(0, len(people), len(people))], people)
    # holdings share their director with one operating company
    first_slot = np.cumsum(n_off) - n_off
    holdings = np.flatnonzero(sbi_c == "6420")
    bvs = np.flatnonzero((vorm_c == "Besloten Vennootschap") & (sbi_c != "6420"))
    if len(holdings) and len(bvs):
        ops = bvs[rng.integers(0, len(bvs), len(holdings))]
        people[first_slot[ops]] = people[first_slot[holdings]]
    vorm_s = vorm_c[comp_of_slot]
    functie = np.select(
        [
            vorm_s == "Eenmanszaak",
            vorm_s == "Besloten Vennootschap",
            np.isin(vorm_s, ["Vennootschap onder firma", "Commanditaire Vennootschap"]),
            np.isin(vorm_s, ["Stichting", "Vereniging"]),
        ],
        [
            np.full(len(vorm_s), "eigenaar", dtype=object),
            np.where(
                slot_rank == 0,
                "bestuurder",
                np.where(rng.random(len(vorm_s)) < 0.5, "bestuurder", "gevolmachtigde"),
            ),
            np.full(len(vorm_s), "vennoot", dtype=object),
            np.array(["voorzitter", "secretaris", "penningmeester", "bestuurder"], dtype=object)[
                np.minimum(slot_rank, 3)
            ],
        ],
        np.where(slot_rank == 0, "bestuurder", "commissaris"),
    )
    late = rng.random(len(comp_of_slot)) < 0.1
    start = (
        ins_c[comp_of_slot]
        + np.where(
            late,
            (rng.random(len(comp_of_slot)) * ((per.end - ins_c[comp_of_slot]) / DAY)).astype(
                np.int64
            ),
            0,
        )
        * DAY
    )
    reg.functionarissen.append(
        _fun_frame(kvk_c[comp_of_slot], people, functie, start, uit_c[comp_of_slot])
    )
    ptable = persons.table()
    surname = ptable["achternaam"].to_numpy(dtype=object)[people[first_slot]]
    naam_c = trade_names(sbi_c, vorm_c, surname, rng)

    # establishments: a few companies have 2-3
    n_ves = 1 + (rng.random(n_comp) < 0.04) * rng.integers(1, 3, n_comp)
    comp = np.repeat(np.arange(n_comp), n_ves)
    extra = (np.arange(len(comp)) - np.repeat(np.cumsum(n_ves) - n_ves, n_ves)) > 0
    ins_v = (
        ins_c[comp]
        + np.where(
            extra,
            (rng.random(len(comp)) * ((per.end - ins_c[comp]) / DAY) * 0.8).astype(np.int64),
            0,
        )
        * DAY
    )
    # an extra establishment opens while its company still exists (no random draw: the rest of
    # the data stay identical for a given seed)
    end_c = uit_c[comp]
    ins_v = np.where(np.isnat(end_c), ins_v, np.minimum(ins_v, end_c))
    wp = np.where(
        vorm_c[comp] == "Eenmanszaak",
        1 + (rng.random(len(comp)) < 0.2) * rng.integers(1, 3, len(comp)),
        np.minimum(np.round(np.exp(rng.normal(1.2, 1.1, len(comp)))), 800).astype(np.int64) + 1,
    )

    # addresses: ~20 % of (eligible) establishments at home, the rest at non-residential objects
    residential = np.flatnonzero(bag["gebruiksdoel"].to_numpy() == "woonfunctie")
    nonres = np.flatnonzero(bag["gebruiksdoel"].to_numpy() != "woonfunctie")
    no_home = np.isin(
        sbi_c[comp], np.array(_pools.RISK_CLUSTER_SBI + ("5520", "5530"), dtype=object)
    )
    home = (~no_home) & (rng.random(len(comp)) < np.where(vorm_c[comp] == "Eenmanszaak", 0.3, 0.07))
    addr = np.empty(len(comp), dtype=np.int64)
    addr[home] = residential[rng.integers(0, len(residential), int(home.sum()))]
    need = int((~home).sum())
    # about 15 % of non-residential objects stay vacant (also leaves room for planted patterns)
    occupied = np.sort(rng.permutation(nonres)[: int(0.85 * len(nonres))])
    lam = max(need / max(len(occupied), 1) - 1.0, 0.2)
    capacity = 1 + np.minimum(rng.poisson(lam, len(occupied)), 6)
    slots = np.repeat(occupied, capacity)
    while len(slots) < need:
        slots = np.concatenate([slots, occupied])
    addr[~home] = rng.permutation(slots)[:need]
    reg.vestigingen.append(
        _ves_frame(
            kvk_c[comp],
            numbers.ves_numbers(len(comp)),
            naam_c[comp],
            vorm_c[comp],
            sbi_c[comp],
            addr,
            ins_v,
            uit_c[comp],
            wp,
        )
    )

    # storage and car washes: spread out over distinct 500 m blocks, active
    n_res = len(residential)
    special = {}
    free_nonres = np.setdiff1d(nonres, addr)
    if len(free_nonres) < 10:
        free_nonres = nonres
    blocks = np.floor(bag["x"].to_numpy() / 500).astype(np.int64) * 100000 + np.floor(
        bag["y"].to_numpy() / 500
    ).astype(np.int64)
    order = rng.permutation(free_nonres)
    _, first = np.unique(blocks[order], return_index=True)
    spread = order[np.sort(first)]
    n_sto = int(np.clip(round(n_res / 1600), 8, 400))
    n_car = int(np.clip(round(n_res / 2000), 8, 300))
    sto = spread[:n_sto]
    car = spread[n_sto : n_sto + n_car]
    if len(car) < n_car:  # small municipality: fewer blocks than facilities
        car = rng.permutation(free_nonres)[:n_car]
    for kind, where, codes_ in (
        ("opslag", sto, _pools.STORAGE_SBI),
        ("autowasstraat", car, (_pools.CARWASH_SBI,)),
    ):
        m = len(where)
        k = numbers.kvk_numbers(m)
        sbi = _pick(codes_, m, rng)
        vorm = _pick(
            ["Besloten Vennootschap", "Eenmanszaak", "Vennootschap onder firma"],
            m,
            rng,
            [0.6, 0.3, 0.1],
        )
        owners = persons.new(m)
        sur = persons.table()["achternaam"].to_numpy(dtype=object)[owners]
        ins = per.end - rng.integers(200, 15 * 365, m) * DAY
        reg.vestigingen.append(
            _ves_frame(
                k,
                numbers.ves_numbers(m),
                trade_names(sbi, vorm, sur, rng),
                vorm,
                sbi,
                where,
                ins,
                NAT,
                rng.integers(1, 12, m),
            )
        )
        reg.functionarissen.append(
            _fun_frame(
                k,
                owners,
                np.where(
                    vorm == "Eenmanszaak",
                    "eigenaar",
                    np.where(vorm == "Vennootschap onder firma", "vennoot", "bestuurder"),
                ),
                ins,
                NAT,
            )
        )
        special[kind] = where
    return special


def background_kadaster(
    bag: pd.DataFrame,
    area_woz: pd.Series,
    per: Period,
    persons: Persons,
    reg: Registers,
    companies: pd.DataFrame,
    officer_people: np.ndarray,
    rng: np.random.Generator,
    *,
    scale_years: float,
) -> None:
    """Ordinary sales: ~4 % of dwellings a year, price around WOZ, a few normal resales."""
    use = bag["gebruiksdoel"].to_numpy()
    res = np.flatnonzero(use == "woonfunctie")
    other = np.flatnonzero(use != "woonfunctie")
    n = int(round(0.04 * len(res) * scale_years))
    n_other = int(round(0.05 * n))
    objs = np.concatenate(
        [
            rng.choice(res, size=min(n - n_other, len(res)), replace=False),
            rng.choice(other, size=min(n_other, len(other)), replace=False),
        ]
    )
    dates = per.start + rng.integers(0, per.days + 1, len(objs)) * DAY
    # about 1 % resold after more than a year, at a normally higher price
    resale = rng.random(len(objs)) < 0.01
    if per.days > 420 and resale.any():
        k = int(resale.sum())
        first = per.start + rng.integers(0, per.days - 400, k) * DAY
        dates[resale] = first
        room = ((per.end - first) / DAY).astype(np.int64)
        second = first + (395 + (rng.random(k) * (room - 395)).astype(np.int64)) * DAY
        objs = np.concatenate([objs, objs[resale]])
        dates = np.concatenate([dates, second])
    woz = bag["_gebied"].map(area_woz).to_numpy(dtype=float)[objs]
    size = (bag["oppervlakte"].to_numpy(dtype=float)[objs] / 95.0) ** 0.3
    woz = np.round(woz * size * np.exp(rng.normal(0, 0.2, len(objs))), -3)
    price = np.round(woz * np.exp(rng.normal(0.07, 0.07, len(objs))) / 500) * 500
    m = len(objs)
    koper_np = rng.random(m) < 0.86
    verkoper_np = rng.random(m) < 0.78
    buyers = persons.new(m)
    sellers = persons.new(m)
    ptable_names = persons.table()["naam"].to_numpy(dtype=object)
    # some buyers/sellers are also company officers
    if len(officer_people):
        swap = rng.random(m) < 0.08
        buyers = np.where(swap, officer_people[rng.integers(0, len(officer_people), m)], buyers)
    bvs = companies[companies["rechtsvorm"] == "Besloten Vennootschap"]
    invest = bvs[bvs["sbi_code"].isin(["6810", "6820", "6420", "7010", "4120"])]
    pool = invest if len(invest) >= 5 else bvs
    pick_b = rng.integers(0, max(len(pool), 1), m)
    pick_s = rng.integers(0, max(len(pool), 1), m)
    corporations = np.array(
        [
            "Woonstichting De Linie",
            "Woonbron Zuid",
            "Stichting Havensteder Wonen",
            "Woningcorporatie Maasdelta",
            "Stichting Woonvisie Rijnmond",
        ],
        dtype=object,
    )
    pool_kvk = pool["kvk_nummer"].to_numpy(dtype=object)
    pool_name = pool["handelsnaam"].to_numpy(dtype=object)
    koper_naam = np.where(koper_np, ptable_names[buyers], pool_name[pick_b])
    koper_kvk = np.where(koper_np, "", pool_kvk[pick_b])
    corp = rng.random(m) < 0.4
    verkoper_rp = np.where(
        corp, corporations[rng.integers(0, len(corporations), m)], pool_name[pick_s]
    )
    verkoper_naam = np.where(verkoper_np, ptable_names[sellers], verkoper_rp)
    hyp = np.where(koper_np, rng.random(m) < 0.8, rng.random(m) < 0.35)
    reg.transacties.append(
        pd.DataFrame(
            {
                "_addr": objs,
                "datum": dates,
                "koopsom": price.astype(np.int64),
                "koper_naam": koper_naam,
                "koper_type": np.where(koper_np, "natuurlijk_persoon", "rechtspersoon"),
                "koper_kvk_nummer": koper_kvk,
                "verkoper_naam": verkoper_naam,
                "verkoper_type": np.where(verkoper_np, "natuurlijk_persoon", "rechtspersoon"),
                "hypotheek": np.where(hyp, "ja", "nee"),
                "woz_waarde": woz.astype(np.int64),
                "_koper_person": np.where(koper_np, buyers, -1),
                "_verkoper_person": np.where(verkoper_np, sellers, -1),
                "_tag": "",
            }
        )
    )

"""Near-threshold plants and legitimate look-alikes (scenario ``afwijkend``).

The plants of ``standaard`` clear the flag thresholds by wide margins and the background
never comes near them, so a test there measures recall only. Here every flag gets plants
just above its documented threshold (should be flagged: ``ondermijnend``) and just below it
(should not: ``grensgeval``), and the background gets legitimate look-alikes that real data
holds too (business centres, an accountant hosting clients' holdings, officers of several
sound companies, ordinary resales, cash purchases below the threshold). Each is recorded
in the truth table (:mod:`bcba.synthetic._truth`) so that tests can measure precision.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bcba.synthetic._planted import BV, Planter
from bcba.synthetic._registers import DAY, NAT
from bcba.synthetic._truth import DREMPELS, days, months_after

#: SBI codes outside every risk-branch category of the default themes: plants with these
#: codes raise no KVK_NIEUW_RISICOBRANCHE or KVK_WOONADRES flag by their branch.
NEUTRAL_SBI = ("7022", "4690", "4791", "7490", "6201", "7311", "7410", "8559", "4669")
#: Risk branches of the default themes used for the near-threshold registrations.
RISK_SBI = ("96022", "4742", "96021", "45112")


def _label(boven: bool) -> str:
    """Near-threshold plants: found when above the threshold, a borderline case below."""
    return "ondermijnend" if boven else "grensgeval"


class Candidates:
    """Adds the near-threshold plants and look-alikes to the planter's registers."""

    def __init__(self, planter: Planter, area_woz: dict) -> None:
        self.p = planter
        self.rng = planter.rng
        self.per = planter.per
        self.truth = planter.truth
        self.area_woz = area_woz
        self.rows: list[dict] = []
        self._sold: np.ndarray | None = None

    # --- KvK -----------------------------------------------------------------------------
    def _register(self, n, *, addr, ins, uit=NAT, sbi=None, vorm=None, officers=None, wp=None):
        p, rng = self.p, self.rng
        sbi = (
            np.asarray(sbi, dtype=object)
            if sbi is not None
            else np.array(NEUTRAL_SBI, dtype=object)[rng.integers(0, len(NEUTRAL_SBI), n)]
        )
        sbi = np.broadcast_to(sbi, (n,))
        if vorm is None:
            vorm = np.where(rng.random(n) < 0.7, BV, "Eenmanszaak")
        vorm = np.broadcast_to(np.asarray(vorm, dtype=object), (n,))
        names = [p.name_for(s, w, v) for s, w, v in zip(sbi, p.words(n), vorm, strict=True)]
        officers = p.persons.new(n) if officers is None else officers
        return p.companies(
            n,
            vorm=vorm,
            sbi=sbi,
            names=names,
            addr=np.broadcast_to(np.asarray(addr, dtype=np.int64), (n,)),
            ins=np.asarray(ins, dtype="datetime64[D]"),
            uit=uit,
            officers=officers,
            functie=np.where(vorm == "Eenmanszaak", "eigenaar", "bestuurder"),
            wp=wp,
        )

    def many_registrations(self) -> None:
        """Addresses with 8-9 (flag) and 6-7 (no flag) active registrations, 3-4 of them new."""
        per, rng, p = self.per, self.rng, self.p
        for n_active in (8, 9, 6, 7):
            (a,) = p.free_addresses(1, prefer="kantoorfunctie")
            n_recent = int(rng.integers(3, 5))
            ins = np.concatenate(
                [
                    p.dates(per.start - 5 * 365 * DAY, per.start - 30 * DAY, n_active - n_recent),
                    p.dates(per.end - 170 * DAY, per.end - 10 * DAY, n_recent),
                ]
            )
            kvk = self._register(n_active, addr=a, ins=ins)
            self.truth.add(
                patroon="adres_veel_inschrijvingen_grens",
                flag="KVK_VEEL_INSCHRIJVINGEN",
                waarheid=_label(n_active >= DREMPELS["KVK_VEEL_INSCHRIJVINGEN"]),
                entiteit="adres",
                addrs=[a],
                kvk=kvk,
            )

    def churn(self) -> None:
        """Addresses with 6-7 (flag) and 4-5 (no flag) registrations plus deregistrations.

        Above the threshold the companies live 150-300 days (short-lived, KVK_KORT_BESTAAN);
        below it 380-420 days (just too long to count as short-lived)."""
        per, rng, p = self.per, self.rng, self.p
        for value in (6, 7, 4, 5):
            label = _label(value >= DREMPELS["KVK_VERLOOP_ADRES"])
            (a,) = p.free_addresses(1, prefer="kantoorfunctie")
            m_out, m_act = value // 2, value % 2
            life = rng.integers(150, 301, m_out) if label == "ondermijnend" else None
            if life is None:
                life = rng.integers(380, 421, m_out)
            ins_out = p.dates(per.start + 10 * DAY, per.end - 440 * DAY, m_out)
            uit_out = ins_out + life * DAY
            ins_act = p.dates(per.end - 300 * DAY, per.end - 20 * DAY, m_act)
            ins = np.concatenate([ins_out, ins_act])
            uit = np.concatenate([uit_out, np.full(m_act, NAT)])
            kvk = self._register(m_out + m_act, addr=a, ins=ins, uit=uit)
            self.truth.add(
                patroon="adres_verloop_grens",
                flag="KVK_VERLOOP_ADRES",
                waarheid=label,
                entiteit="adres",
                addrs=[a],
                kvk=kvk,
            )
            for k, i, u in zip(kvk[:m_out], ins_out, uit_out, strict=True):
                short = p.is_short(i, u)
                self.truth.add(
                    patroon="adres_verloop_grens",
                    flag="KVK_KORT_BESTAAN",
                    waarheid=_label(short),
                    entiteit="onderneming",
                    waarde=days(i, u),
                    boven=short,
                    addrs=[a],
                    kvk=[k],
                )

    def new_risk_branch(self) -> None:
        """Risk-branch shops registered 330-355 days (flag) or 375-400 days (no flag) ago."""
        per, rng, p = self.per, self.rng, self.p
        ages = np.concatenate([rng.integers(330, 356, 3), rng.integers(375, 401, 3)])
        sbi = np.array(RISK_SBI, dtype=object)[rng.integers(0, len(RISK_SBI), len(ages))]
        addrs = p.free_addresses(len(ages), prefer="winkelfunctie")
        for age, s, a in zip(ages, sbi, addrs, strict=True):
            ins = per.end - int(age) * DAY
            (k,) = self._register(1, addr=a, ins=[ins], sbi=[s], vorm="Eenmanszaak")
            new = p.is_new(ins)
            self.truth.add(
                patroon="nieuw_risicobranche_grens",
                flag="KVK_NIEUW_RISICOBRANCHE",
                waarheid=_label(new),
                entiteit="vestiging",
                waarde=int(age),
                boven=new,
                addrs=[a],
                kvk=[k],
            )

    def home_address(self) -> None:
        """Companies outside the risk branches at dwellings with 5-6 (flag) or 3-4 (no flag)
        working persons."""
        per, rng, p = self.per, self.rng, self.p
        for wp in (5, 6, 3, 4):
            (a,) = p.free_addresses(1, kind="woon")
            ins = per.end - int(rng.integers(200, 1500)) * DAY
            sbi = ["8121", "4120", "4332"][int(rng.integers(0, 3))]
            (k,) = self._register(1, addr=a, ins=[ins], sbi=[sbi], vorm=BV, wp=np.array([wp]))
            boven = wp >= DREMPELS["KVK_WOONADRES"]
            self.truth.add(
                patroon="woonadres_personeel_grens",
                flag="KVK_WOONADRES",
                waarheid=_label(boven),
                entiteit="vestiging",
                waarde=wp,
                boven=boven,
                addrs=[a],
                kvk=[k],
            )

    def officers(self) -> None:
        """Officers of several companies near the threshold, and legitimate ones.

        Short-lived companies live 300-350 days, the others of the near-threshold plants
        380-430 days (just not short-lived); the legitimate entrepreneurs' companies are
        long-standing, except a starter's one failure and a developer's project companies,
        which are dissolved when their project ends (legitimate, but short-lived)."""
        per, rng, p = self.per, self.rng, self.p
        specs = (
            ("functionaris_grens", None, 5, 3),
            ("functionaris_grens", None, 5, 2),
            ("functionaris_grens", None, 4, 4),
            ("functionaris_holding_legitiem", "legitiem", 6, 0),
            ("functionaris_starter_legitiem", "legitiem", 5, 1),
            ("functionaris_projectontwikkelaar_legitiem", "legitiem", 6, 3),
        )
        need = DREMPELS["KVK_FUNCTIONARIS_VEEL"]
        for patroon, fixed, n, n_short in specs:
            person = int(p.persons.new(1, born=(1955, 1995))[0])
            addrs = p.free_addresses(2)
            addr = addrs[np.arange(n) % 2]
            legit = fixed == "legitiem"
            short_life = (
                rng.integers(200, 301, n_short) if legit else rng.integers(300, 351, n_short)
            )
            ins_s = p.dates(per.start + 10 * DAY, per.end - 360 * DAY, n_short)
            uit_s = ins_s + short_life * DAY
            m = n - n_short
            if legit:
                ins_l = per.end - rng.integers(730, 5500, m) * DAY
                uit_l = np.full(m, NAT)
            else:
                ins_l = p.dates(per.start + 10 * DAY, per.end - 440 * DAY, m)
                uit_l = ins_l + rng.integers(380, 431, m) * DAY
            ins = np.concatenate([ins_s, ins_l])
            uit = np.concatenate([uit_s, uit_l])
            sbi = None
            if patroon == "functionaris_projectontwikkelaar_legitiem":
                sbi = np.array(["4120"] * n_short + ["6420"] + ["4120"] * (m - 1), dtype=object)
            elif patroon == "functionaris_holding_legitiem":
                sbi = np.array(["6420", "4711", "4771", "4778", "4711", "4771"][:n], dtype=object)
            kvk = self._register(
                n, addr=addr, ins=ins, uit=uit, sbi=sbi, vorm=BV, officers=np.full(n, person)
            )
            lived = [bool(u <= months_after(i, 12)) for i, u in zip(ins, uit, strict=True)]
            boven = n >= need["ondernemingen"] and sum(lived) >= need["kortlevend"]
            self.truth.add(
                patroon=patroon,
                flag="KVK_FUNCTIONARIS_VEEL",
                waarheid=fixed or _label(boven),
                entiteit="persoon",
                waarde={"ondernemingen": n, "kortlevend": int(sum(lived))},
                boven=boven,
                addrs=list(addrs),
                kvk=kvk,
                persoon=p.person(person),
            )
            for k, a, i, u in zip(kvk, addr, ins, uit, strict=True):
                if np.isnat(u):
                    continue
                short = p.is_short(i, u)
                self.truth.add(
                    patroon=patroon,
                    flag="KVK_KORT_BESTAAN",
                    waarheid=fixed or _label(short),
                    entiteit="onderneming",
                    waarde=days(i, u),
                    boven=short,
                    addrs=[a],
                    kvk=[k],
                )

    def business_centres(self) -> None:
        """Two business centres (12-16 tenants, a quarter moving each period) and an
        accountant at whose office 9-12 clients' holdings are registered: legitimate
        addresses with many registrations."""
        per, rng, p = self.per, self.rng, self.p
        for _ in range(2):
            (a,) = p.free_addresses(1, prefer="kantoorfunctie")
            n_act = int(rng.integers(12, 17))
            ins_act = per.end - rng.integers(60, 12 * 365, n_act) * DAY
            n_left = int(rng.binomial(n_act, 0.25))
            uit_left = per.start + rng.integers(0, per.days + 1, n_left) * DAY
            ins_left = uit_left - rng.integers(400, 3000, n_left) * DAY
            kvk = self._register(
                n_act + n_left,
                addr=a,
                ins=np.concatenate([ins_act, ins_left]),
                uit=np.concatenate([np.full(n_act, NAT), uit_left]),
            )
            for flag in ("KVK_VEEL_INSCHRIJVINGEN", "KVK_VERLOOP_ADRES"):
                self.truth.add(
                    patroon="bedrijfsverzamelgebouw",
                    flag=flag,
                    waarheid="legitiem",
                    entiteit="adres",
                    addrs=[a],
                    kvk=kvk,
                )
        (a,) = p.free_addresses(1, prefer="kantoorfunctie")
        n = int(rng.integers(9, 13))
        ins = per.end - rng.integers(3 * 365, 20 * 365, n + 1) * DAY
        sbi = np.array(["6920"] + ["6420"] * n, dtype=object)
        kvk = self._register(n + 1, addr=a, ins=ins, sbi=sbi, vorm=BV)
        for flag in ("KVK_VEEL_INSCHRIJVINGEN", "KVK_VERLOOP_ADRES"):
            self.truth.add(
                patroon="administratiekantoor_holdings",
                flag=flag,
                waarheid="legitiem",
                entiteit="adres",
                addrs=[a],
                kvk=kvk,
            )

    def kvk(self) -> None:
        """Every KvK plant and look-alike of this scenario."""
        self.many_registrations()
        self.churn()
        self.new_risk_branch()
        self.home_address()
        self.officers()
        self.business_centres()

    # --- Kadaster ------------------------------------------------------------------------
    def _objects(self, n: int) -> np.ndarray:
        """``n`` dwellings without any other sale or registration (fresh location keys)."""
        p = self.p
        if self._sold is None:
            self._sold = np.zeros(len(p.bag), dtype=bool)
            for frame in p.reg.transacties:
                self._sold[frame["_addr"].to_numpy()] = True
        ok = (p.use == "woonfunctie") & ~p.used & ~self._sold
        out = self.rng.permutation(np.flatnonzero(ok))[:n]
        p.used[out] = True
        p.planted[out] = True
        return out

    def _woz(self, a: int) -> float:
        bag = self.p.bag
        base = self.area_woz.get(
            bag["_gebied"].iloc[a], float(np.median(list(self.area_woz.values())))
        )
        size = (float(bag["oppervlakte"].iloc[a]) / 95.0) ** 0.3
        return float(np.round(base * size * np.exp(self.rng.normal(0, 0.15)), -3))

    def _date(self) -> np.datetime64:
        return self.per.start + int(self.rng.integers(5, self.per.days - 4)) * DAY

    def _sale(self, tag, a, datum, koopsom, woz, *, hyp="ja", koper=None, kvk="", naam=None):
        """One transaction; ``koper`` a person index (natural person), None for a new person,
        or None with ``kvk`` for a company. New persons are created in bulk by kadaster()."""
        seller = -2  # a new person
        if koper is None and not kvk:
            koper = -2
        self.rows.append(
            {
                "_addr": int(a),
                "datum": np.datetime64(datum, "D"),
                "koopsom": int(np.round(koopsom / 500) * 500),
                "koper_naam": naam,  # persons' names are filled in by kadaster()
                "koper_type": "rechtspersoon" if koper is None else "natuurlijk_persoon",
                "koper_kvk_nummer": "" if koper is not None else str(kvk),
                "verkoper_naam": "",
                "verkoper_type": "natuurlijk_persoon",
                "hypotheek": hyp,
                "woz_waarde": int(woz),
                "_koper_person": koper if koper is not None else -1,
                "_verkoper_person": seller,
                "_tag": tag,
            }
        )

    def abc(self) -> None:
        """Resales: 150-178 days with 25-40 % profit (flag), 190-230 days (no flag), and
        legitimate ones: ordinary resales after 220-600 days, and quick resales at the same
        price (an estate sold on, a relocation)."""
        rng = self.rng
        specs = [((150, 179), (1.25, 1.40), None, "abc_grens")] * 2
        specs += [((190, 231), (1.25, 1.40), None, "abc_grens")] * 2
        specs += [((220, 601), (1.02, 1.12), "legitiem", "doorverkoop_regulier")] * 3
        specs += [((40, 161), (0.97, 1.03), "legitiem", "doorverkoop_zonder_winst")] * 2
        for i, (gap_range, jump, fixed, patroon) in enumerate(specs):
            (h,) = self._objects(1)
            woz = self._woz(h)
            d2 = self._date()
            gap = int(rng.integers(*gap_range))
            p1 = woz * rng.uniform(0.95, 1.05)
            self._sale(f"kand_abc_{i}_0", h, d2 - gap * DAY, p1, woz)
            self._sale(f"kand_abc_{i}_1", h, d2, np.round(p1 / 500) * 500 * rng.uniform(*jump), woz)
            boven = gap <= DREMPELS["KAD_ABC"]
            self.truth.add(
                patroon=patroon,
                flag="KAD_ABC",
                waarheid=fixed or _label(boven),
                entiteit="transactie",
                waarde=gap,
                boven=boven,
                tags=[f"kand_abc_{i}_1"],
                addrs=[h],
            )

    def price_woz(self) -> None:
        """Prices 1.52-1.58 or 0.44-0.48 x WOZ (flag), 1.42-1.48 or 0.53-0.57 (no flag), and
        legitimate deviations: a tight market (1.25-1.42) and family sales (0.60-0.70)."""
        rng = self.rng
        specs = [((1.52, 1.58), None, "prijs_woz_grens")] * 2 + [
            ((0.44, 0.48), None, "prijs_woz_grens"),
            ((1.42, 1.48), None, "prijs_woz_grens"),
            ((1.42, 1.48), None, "prijs_woz_grens"),
            ((0.53, 0.57), None, "prijs_woz_grens"),
        ]
        specs += [((1.25, 1.42), "legitiem", "krappe_markt")] * 3
        specs += [((0.60, 0.70), "legitiem", "familieverkoop")] * 2
        for i, (ratio, fixed, patroon) in enumerate(specs):
            (h,) = self._objects(1)
            woz = self._woz(h)
            tag = f"kand_woz_{i}"
            self._sale(tag, h, self._date(), woz * rng.uniform(*ratio), woz)
            # the label follows the planned ratio (whole range on one side of the threshold);
            # the value and boven_drempel are computed from the written amounts
            planned = abs(ratio[0] - 1) >= DREMPELS["KAD_PRIJS_WOZ"]
            self.truth.add(
                patroon=patroon,
                flag="KAD_PRIJS_WOZ",
                waarheid=fixed or _label(planned),
                entiteit="transactie",
                tags=[tag],
                addrs=[h],
            )

    def cash(self) -> None:
        """Purchases without mortgage at 300-315 k (flag) and 280-298 k (no flag); legitimate
        cash buyers below (200-295 k) and above the threshold (320-420 k, e.g. retirees)."""
        rng = self.rng
        limit = DREMPELS["KAD_ZONDER_HYPOTHEEK"]
        specs = [((limit, limit + 15_000), None, "zonder_hypotheek_grens")] * 2
        specs += [((limit - 20_000, limit - 2_000), None, "zonder_hypotheek_grens")] * 2
        specs += [((200_000, limit - 5_000), "legitiem", "contant_onder_drempel")] * 4
        specs += [((limit + 20_000, limit + 120_000), "legitiem", "contant_boven_drempel")] * 2
        for i, (rng_price, fixed, patroon) in enumerate(specs):
            (h,) = self._objects(1)
            price = float(np.round(rng.uniform(*rng_price) / 500) * 500)
            woz = float(np.round(price / rng.uniform(1.0, 1.12), -3))
            tag = f"kand_cash_{i}"
            self._sale(tag, h, self._date(), price, woz, hyp="nee")
            self.truth.add(
                patroon=patroon,
                flag="KAD_ZONDER_HYPOTHEEK",
                waarheid=fixed or _label(price >= limit),
                entiteit="transactie",
                tags=[tag],
                addrs=[h],
            )

    def young_company(self) -> None:
        """Property companies buying 320-355 days (flag) or 380-420 days (no flag) after
        their registration."""
        rng, p = self.rng, self.p
        ages = np.concatenate([rng.integers(320, 356, 2), rng.integers(380, 421, 2)])
        for i, age in enumerate(ages):
            (office,) = p.free_addresses(1, prefer="kantoorfunctie")
            d = self._date()
            registered = d - int(age) * DAY
            name = f"{p.words(1)[0]} Vastgoed B.V."
            (kvk,) = p.companies(
                1,
                vorm=BV,
                sbi=np.array(["6810"], dtype=object),
                names=[name],
                addr=[office],
                ins=[registered],
                uit=NAT,
                officers=p.persons.new(1),
            )
            (h,) = self._objects(1)
            woz = self._woz(h)
            tag = f"kand_jong_{i}"
            self._sale(tag, h, d, woz * rng.uniform(0.98, 1.1), woz, kvk=kvk, naam=name)
            boven = bool(d <= months_after(registered, DREMPELS["KAD_JONGE_RECHTSPERSOON"]))
            self.truth.add(
                patroon="jonge_rechtspersoon_grens",
                flag="KAD_JONGE_RECHTSPERSOON",
                waarheid=_label(boven),
                entiteit="transactie",
                waarde=int(age),
                boven=boven,
                tags=[tag],
                addrs=[h],
                kvk=[kvk],
            )

    def many_purchases(self) -> None:
        """A person buying 3 objects (flag) and one buying 2 (no flag); legitimately a
        long-standing landlord company buying 3 and a person buying 2."""
        per, rng, p = self.per, self.rng, self.p
        specs = ((3, None, "veel_aankopen_grens"), (2, None, "veel_aankopen_grens"))
        specs += ((3, "legitiem", "belegger_legitiem"), (2, "legitiem", "particulier_legitiem"))
        for i, (n, fixed, patroon) in enumerate(specs):
            koper, kvk, name = None, "", None
            if patroon == "belegger_legitiem":
                (office,) = p.free_addresses(1, prefer="kantoorfunctie")
                name = f"{p.words(1)[0]} Vastgoedbeheer B.V."
                (kvk,) = p.companies(
                    1,
                    vorm=BV,
                    sbi=np.array(["6820"], dtype=object),
                    names=[name],
                    addr=[office],
                    ins=[per.end - int(rng.integers(8 * 365, 20 * 365)) * DAY],
                    uit=NAT,
                    officers=p.persons.new(1),
                )
            else:
                koper = int(p.persons.new(1)[0])
            houses = self._objects(n)
            tags = [f"kand_veel_{i}_{j}" for j in range(n)]
            for tag, h in zip(tags, houses, strict=True):
                woz = self._woz(h)
                self._sale(
                    tag,
                    h,
                    self._date(),
                    woz * rng.uniform(0.98, 1.08),
                    woz,
                    koper=koper,
                    kvk=kvk,
                    naam=name,
                )
            self.truth.add(
                patroon=patroon,
                flag="KAD_VEEL_AANKOPEN",
                waarheid=fixed or _label(n >= DREMPELS["KAD_VEEL_AANKOPEN"]),
                entiteit="koper",
                tags=tags,
                addrs=list(houses),
                kvk=[kvk] if kvk else [],
                persoon=None if koper is None else p.person(koper, birth=False),
            )

    def kadaster(self) -> None:
        """Every Kadaster plant and look-alike of this scenario."""
        self.abc()
        self.price_woz()
        self.cash()
        self.young_company()
        self.many_purchases()
        if self.rows:
            frame = pd.DataFrame(self.rows)
            for col in ("_verkoper_person", "_koper_person"):
                new = frame[col].to_numpy() == -2
                frame.loc[new, col] = self.p.persons.new(int(new.sum()))
            names = self.p.persons.table()["naam"].to_numpy(dtype=object)
            person = frame["_koper_person"].to_numpy()
            frame["koper_naam"] = np.where(
                person >= 0, names[np.maximum(person, 0)], frame["koper_naam"].to_numpy()
            )
            frame["verkoper_naam"] = names[frame["_verkoper_person"].to_numpy()]
            self.p.reg.transacties.append(frame)

"""Synthetic partner registrations (police, enforcement, tax, labour) and the staff survey."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from bcba.sources.partners import PARTNER_INPUT_COLUMNS
from bcba.synthetic import _pools
from bcba.synthetic._registers import DAY, Period
from bcba.themes import THEME_IDS

THEMES = THEME_IDS
THEME_LABELS = {
    "drugs": "drugscriminaliteit",
    "mensenhandel": "mensenhandel en uitbuiting",
    "vastgoed_witwassen": "vastgoedfraude en witwassen",
    "omg": "outlaw motorcycle gangs",
    "kwetsbare_branches": "misbruik van kwetsbare branches",
    "bedrijventerreinen": "criminaliteit op bedrijventerreinen",
    "recreatieparken": "criminaliteit op recreatieparken",
}
# events per 1000 inhabitants per year
RATES = {
    "drugs": 3.5,
    "mensenhandel": 0.6,
    "vastgoed_witwassen": 0.8,
    "omg": 0.6,
    "kwetsbare_branches": 1.2,
    "bedrijventerreinen": 0.8,
    "recreatieparken": 0.2,
}
# (bron, soort, share) per theme
SOURCES = {
    "drugs": (
        ("politie", "hennepkwekerij", 0.3),
        ("politie", "drugshandel", 0.35),
        ("politie", "drugsoverlast", 0.2),
        ("handhaving", "drugsoverlast", 0.15),
    ),
    "mensenhandel": (
        ("politie", "prostitutie_signaal", 0.4),
        ("arbeidsinspectie", "uitbuiting_signaal", 0.35),
        ("arbeidsinspectie", "huisvesting_arbeidsmigranten", 0.25),
    ),
    "vastgoed_witwassen": (
        ("belastingdienst", "witwassen_signaal", 0.4),
        ("belastingdienst", "fiscale_fraude", 0.3),
        ("handhaving", "vastgoed_signaal", 0.3),
    ),
    "omg": (("politie", "omg_incident", 1.0),),
    "kwetsbare_branches": (
        ("handhaving", "controle_bevinding", 0.7),
        ("belastingdienst", "fiscale_fraude", 0.3),
    ),
    "bedrijventerreinen": (
        ("handhaving", "controle_bevinding", 0.6),
        ("politie", "drugshandel", 0.4),
    ),
    "recreatieparken": (("handhaving", "controle_bevinding", 1.0),),
}
TEXTS = {
    "hennepkwekerij": (
        "Hennepkwekerij aangetroffen en geruimd",
        "Melding stankoverlast, hennepkwekerij ontmanteld",
        "Hoog stroomverbruik, kwekerij in woning aangetroffen",
    ),
    "drugshandel": (
        "Signalen van drugshandel vanuit pand",
        "Aanhouding voor handel in harddrugs",
        "Veel kort verkeer bij adres, vermoedelijk drugshandel",
    ),
    "drugsoverlast": (
        "Melding drugsoverlast door omwonenden",
        "Overlast door gebruikers bij portiek",
    ),
    "prostitutie_signaal": (
        "Signaal van illegale prostitutie in woning",
        "Advertenties gekoppeld aan adres",
    ),
    "uitbuiting_signaal": (
        "Signalen van arbeidsuitbuiting bij bedrijf",
        "Werknemers zonder contract aangetroffen",
    ),
    "huisvesting_arbeidsmigranten": (
        "Overbewoning door arbeidsmigranten",
        "Veel inschrijvingen, slechte huisvesting",
    ),
    "witwassen_signaal": (
        "Ongebruikelijke contante betalingen bij aankoop vastgoed",
        "Signaal witwassen via vastgoedtransacties",
    ),
    "fiscale_fraude": ("Vermoeden van omzetverzwijging", "Onverklaarbaar vermogen"),
    "vastgoed_signaal": (
        "Pand staat leeg maar wordt 's nachts bezocht",
        "Opvallende verbouwing zonder vergunning",
    ),
    "omg_incident": (
        "Bijeenkomst van motorclub, intimidatie omwonenden",
        "Clubhuis OMG, controle uitgevoerd",
    ),
    "controle_bevinding": (
        "Integrale controle: meerdere overtredingen",
        "Controle: administratie niet op orde",
        "Controle: onduidelijke geldstromen",
    ),
}
LIKERT = ("nooit", "zelden", "soms", "vaak", "zeer vaak")
#: Partner columns written: the reader's input contract without street and place names.
PARTNER_COLUMNS = [c for c in PARTNER_INPUT_COLUMNS if c not in {"straat", "plaats"}]


def _rtm_weights(bag: pd.DataFrame, special: dict, factors: list[dict]) -> np.ndarray:
    """Relative intensity per address: product of the effects of nearby facilities."""
    x = bag["x"].to_numpy()
    y = bag["y"].to_numpy()
    weight = np.ones(len(bag))
    for f in factors:
        idx = special.get(f["factor"], np.empty(0, dtype=np.int64))
        if len(idx) == 0:
            continue
        tree = shapely.STRtree(shapely.points(x[idx], y[idx]))
        hit, _ = tree.query(shapely.points(x, y), predicate="dwithin", distance=f["afstand_m"])
        near = np.zeros(len(bag), dtype=bool)
        near[hit] = True
        weight *= np.where(near, f["effect"], 1.0)
    return weight


def kernel(distance: np.ndarray, vorm: str, lengte_m: float) -> np.ndarray:
    """Distance decay between 1 (at the facility) and 0: ``exponentieel`` exp(-d/L) or
    ``gauss`` exp(-d²/(2L²))."""
    d = np.asarray(distance, dtype=float)
    if vorm == "exponentieel":
        return np.exp(-d / lengte_m)
    if vorm == "gauss":
        return np.exp(-0.5 * (d / lengte_m) ** 2)
    raise ValueError(f"unknown kernel {vorm!r}")  # programming error: shapes are constants


def _decay_weights(bag: pd.DataFrame, special: dict, factors: list[dict]) -> np.ndarray:
    """Relative intensity per address under smooth distance decay (scenario "afwijkend").

    Per factor ``1 + (effect - 1) * K(d)`` with ``d`` the distance to the nearest facility
    of that kind and ``K`` the factor's kernel; factors multiply. No step at any distance,
    so the model's 0/1 proximity at 100-500 m can only approximate it.
    """
    xy = bag[["x", "y"]].to_numpy(dtype=float)
    weight = np.ones(len(bag))
    for f in factors:
        idx = special.get(f["factor"], np.empty(0, dtype=np.int64))
        if len(idx) == 0:
            continue
        d, _ = cKDTree(xy[idx]).query(xy, k=1)
        weight *= 1.0 + (f["effect"] - 1.0) * kernel(d, f["vorm"], f["lengte_m"])
    return weight


def cell_frailty(
    bag: pd.DataFrame, *, vorm: float, nul_kans: float, rng: np.random.Generator
) -> np.ndarray:
    """Multiplier per address: gamma(vorm, 1/vorm) per 100 m cell, 0 for a share ``nul_kans``
    of the cells (zero inflation). Counts per cell become over-dispersed (gamma-Poisson
    mixture = negative binomial) with more empty cells than a Poisson model expects."""
    codes, cell = np.unique(bag["_cel"].to_numpy(dtype=object), return_inverse=True)
    g = rng.gamma(vorm, 1.0 / vorm, len(codes))
    g[rng.random(len(codes)) < nul_kans] = 0.0
    return g[cell.reshape(-1)]


def compact_cluster(
    bag: pd.DataFrame, gebied: str, *, sigma_m: float, straal_m: float, rng: np.random.Generator
) -> dict:
    """A compact cluster around a dense point of the area (scenario "afwijkend").

    The centre is drawn among the area's addresses with at least 30 addresses within
    ``straal_m``; events fall on addresses within ``straal_m`` with Gaussian weight
    exp(-d²/(2 sigma²)), so the cluster ignores the 100 m grid."""
    xy = bag[["x", "y"]].to_numpy(dtype=float)
    tree = cKDTree(xy)
    own = np.flatnonzero(bag["_gebied"].to_numpy() == gebied)
    n_near = np.asarray(tree.query_ball_point(xy[own], r=straal_m, return_length=True))
    dense = own[n_near >= 30]
    pool = dense if len(dense) else own[n_near == n_near.max()]
    centre = xy[pool[int(rng.integers(0, len(pool)))]]
    near = np.asarray(tree.query_ball_point(centre, r=straal_m), dtype=np.int64)
    near.sort()
    d = np.hypot(xy[near, 0] - centre[0], xy[near, 1] - centre[1])
    w = kernel(d, "gauss", sigma_m)
    return {
        "thema": "drugs",
        "buurtcode": gebied,
        "vorm": "gauss",
        "centrum_x": float(round(centre[0])),
        "centrum_y": float(round(centre[1])),
        "sigma_m": float(sigma_m),
        "straal_m": float(straal_m),
        "_addrs": near,
        "_p": w / w.sum(),
    }


def partner_events(
    bag: pd.DataFrame,
    per: Period,
    inhabitants: float,
    scenario: str,
    special: dict,
    targets: dict,
    hotspot: dict | None,
    factors: list[dict],
    person_names: np.ndarray,
    rng: np.random.Generator,
    *,
    frailty: np.ndarray | None = None,
) -> tuple[pd.DataFrame, list[int]]:
    """All partner events; returns the table and the person indices mentioned in texts.

    ``frailty`` (scenario "afwijkend") multiplies the background intensity per address;
    planted targets and the hot spot are not affected by it.
    """
    years = (per.days + 1) / 365.25
    n_addr = len(bag)
    uniform = np.full(n_addr, 1.0 / n_addr)
    if frailty is not None:
        uniform = frailty / frailty.sum()
    planted = scenario in ("standaard", "afwijkend")
    frames = []
    for theme in THEMES:
        n = int(rng.poisson(RATES[theme] * inhabitants / 1000 * years))
        if n == 0:
            continue
        if planted and theme == "drugs":
            if scenario == "afwijkend":
                w = _decay_weights(bag, special, factors) * frailty
            else:
                w = _rtm_weights(bag, special, factors)
            p = w / w.sum()
            addr = rng.choice(n_addr, size=n, p=p)
        elif planted and len(targets.get(theme, [])):
            tgt = targets[theme]
            on_target = rng.random(n) < 0.6
            addr = rng.choice(n_addr, size=n, p=uniform)
            addr[on_target] = tgt[rng.integers(0, len(tgt), int(on_target.sum()))]
        else:
            addr = rng.choice(n_addr, size=n, p=uniform)
        src = SOURCES[theme]
        k = rng.choice(len(src), size=n, p=np.array([s[2] for s in src]))
        frames.append(
            pd.DataFrame(
                {
                    "_addr": addr,
                    "bron": np.array([s[0] for s in src], dtype=object)[k],
                    "thema": theme,
                    "soort": np.array([s[1] for s in src], dtype=object)[k],
                }
            )
        )
    if planted and hotspot is not None:
        m = len(hotspot["_addrs"])
        n_hot = int(rng.integers(25, 41))
        if "_p" in hotspot:
            hot_addr = hotspot["_addrs"][rng.choice(m, size=n_hot, p=hotspot["_p"])]
        else:
            hot_addr = hotspot["_addrs"][rng.integers(0, m, n_hot)]
        hotspot["_events"] = hot_addr
        frames.append(
            pd.DataFrame(
                {
                    "_addr": hot_addr,
                    "bron": "politie",
                    "thema": "drugs",
                    "soort": "hennepkwekerij",
                    "_hot": True,
                }
            )
        )
    if planted and len(targets.get("_witwassen_buurt", [])):
        tgt = targets["_witwassen_buurt"]
        frames.append(
            pd.DataFrame(
                {
                    "_addr": tgt[rng.integers(0, len(tgt), 4)],
                    "bron": "belastingdienst",
                    "thema": "vastgoed_witwassen",
                    "soort": "witwassen_signaal",
                }
            )
        )
    ev = pd.concat(frames, ignore_index=True)
    n = len(ev)
    hot = ev["_hot"].fillna(False).to_numpy(dtype=bool) if "_hot" in ev else np.zeros(n, dtype=bool)
    ev["datum"] = per.start + rng.integers(0, per.days + 1, n) * DAY
    a = ev["_addr"].to_numpy()
    police = (ev["bron"] == "politie").to_numpy()
    only_area = (rng.random(n) < 0.03) & ~hot
    # police coordinates are a little off the address point, except in the planted cells of
    # "standaard" (the compact cluster of "afwijkend" is jittered like everything else)
    jitter = np.where(hot & (scenario == "standaard"), 0.0, 1.0)
    ev["x"] = np.where(
        police & ~only_area, np.round(bag["x"].to_numpy()[a] + jitter * rng.normal(0, 8, n)), np.nan
    )
    ev["y"] = np.where(
        police & ~only_area, np.round(bag["y"].to_numpy()[a] + jitter * rng.normal(0, 8, n)), np.nan
    )
    for col in ("postcode", "huisletter", "toevoeging"):
        ev[col] = np.where(~police & ~only_area, bag[col].to_numpy(dtype=object)[a], "")
    ev["huisnummer"] = pd.array(
        np.where(~police & ~only_area, bag["huisnummer"].to_numpy()[a], 0), dtype="Int64"
    )
    ev.loc[police | only_area, "huisnummer"] = pd.NA
    ev["buurtcode"] = np.where(only_area, bag["_gebied"].to_numpy(dtype=object)[a], "")
    soort = ev["soort"].to_numpy(dtype=object)
    text = np.empty(n, dtype=object)
    for s in pd.unique(soort):  # loop over a dozen kinds, not rows
        mask = soort == s
        opts = np.array(TEXTS[s], dtype=object)
        text[mask] = opts[rng.integers(0, len(opts), int(mask.sum()))]
    named = rng.random(n) < 0.08
    who = rng.integers(0, len(person_names), n)
    text = np.where(named, text + "; betrokkene " + person_names[who].astype(object), text)
    ev["omschrijving"] = text
    ev["gewicht"] = np.where(
        (ev["soort"] == "hennepkwekerij").to_numpy() & (rng.random(n) < 0.05), 2, 1
    )
    ev = ev.drop(columns=["_hot"], errors="ignore")
    ev = ev.sort_values(["bron", "datum", "_addr"], kind="stable").reset_index(drop=True)
    return ev, sorted(set(who[named].tolist()))


def survey(
    areas: pd.DataFrame,
    bag: pd.DataFrame,
    special_areas: dict,
    scenario: str,
    person_names: np.ndarray,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict, list[int]]:
    """Survey answers and the mapping (question texts as a survey tool exports them)."""
    n = int(rng.integers(40, 81))
    afd = np.array(_pools.AFDELINGEN, dtype=object)[rng.integers(0, len(_pools.AFDELINGEN), n)]
    cols: dict[str, object] = {"Respondentnummer": np.arange(1001, 1001 + n), "Afdeling": afd}
    mapping = {
        "respondent_id": "Respondentnummer",
        "afdeling": "Afdeling",
        "percepties": {},
        "likert": {lab: i + 1 for i, lab in enumerate(LIKERT)},
        "weet_niet": ["weet niet"],
        "vermeldingen": {},
        "signalen": {},
    }
    names = areas["gebiednaam"].to_numpy(dtype=object)
    codes = areas["gebiedcode"].to_numpy(dtype=object)
    wijknamen = pd.unique(areas["wijknaam"].dropna().to_numpy(dtype=object))
    base = {
        "drugs": 2.8,
        "mensenhandel": 2.0,
        "vastgoed_witwassen": 2.3,
        "omg": 1.6,
        "kwetsbare_branches": 2.6,
        "bedrijventerreinen": 2.1,
        "recreatieparken": 1.4,
    }
    hot_code = special_areas.get("hotspot")
    planted = scenario in ("standaard", "afwijkend")
    planted_area = {
        "drugs": hot_code if planted else None,
        "kwetsbare_branches": special_areas.get("risicobranche"),
        "vastgoed_witwassen": special_areas.get("vastgoed"),
    }
    for q, theme in enumerate(THEMES):
        lift = 0.6 if (theme == "drugs" and planted) else 0.0
        score = np.clip(np.round(rng.normal(base[theme] + lift, 0.9, n)), 1, 5).astype(int)
        labels = np.array(LIKERT, dtype=object)[score - 1]
        labels = np.where(rng.random(n) < 0.08, "weet niet", labels)
        pq = f"V{3 + 2 * q} Hoe vaak ziet u in uw werk signalen van {THEME_LABELS[theme]}?"
        mq = f"V{4 + 2 * q} In welke wijken of buurten ziet u dit ({theme})?"
        cols[pq] = labels
        mapping["percepties"][theme] = pq
        # mentions: a few random areas, the planted area far more often
        mentions = []
        target = planted_area.get(theme)
        target_name = (
            names[codes == target][0] if target is not None and (codes == target).any() else None
        )
        for _i in range(n):  # n <= 80 respondents
            k = int(rng.poisson(0.5))
            chosen = list(names[rng.integers(0, len(names), k)]) if k else []
            if rng.random() < 0.1 and len(wijknamen):
                chosen.append(wijknamen[int(rng.integers(0, len(wijknamen)))])
            if target_name is not None and rng.random() < 0.4:
                chosen.append(target_name)
            mentions.append(", ".join(dict.fromkeys(chosen)))
        cols[mq] = mentions
        mapping["vermeldingen"][theme] = mq
    # free-text signals
    texts, themes, addresses, mentioned = [], [], [], []
    streets = bag["straat"].to_numpy(dtype=object)
    for _i in range(n):
        if rng.random() < 0.45:
            texts.append("")
            themes.append("")
            addresses.append("")
            continue
        theme = THEMES[int(rng.integers(0, len(THEMES)))]
        a = int(rng.integers(0, len(bag)))
        street = streets[a]
        options = [
            f"Pand aan de {street} wordt 's nachts bezocht",
            f"Veel wisselende bewoners op een adres aan de {street}",
            f"Nieuwe zaak aan de {street} lijkt weinig klanten te hebben maar blijft open",
            "Ik hoor van collega's over dure auto's bij een uitkeringsgerechtigde",
        ]
        text = options[int(rng.integers(0, len(options)))]
        if rng.random() < 0.35:
            p = int(rng.integers(0, len(person_names)))
            mentioned.append(p)
            text += f", eigenaar {person_names[p]} rijdt dure auto's"
        texts.append(text)
        themes.append(theme)
        if rng.random() < 0.6:
            r = bag.iloc[a]
            nummer = f"{int(r['huisnummer'])}{r['huisletter']}"
            if r["toevoeging"]:
                nummer += f"-{r['toevoeging']}"
            addresses.append(f"{r['straat']} {nummer}, {r['postcode']} {r['plaats']}")
        else:
            addresses.append("")
    cols["V17 Signalen"] = texts
    cols["V17a Thema"] = themes
    cols["V18 Adres"] = addresses
    mapping["signalen"] = {"tekst": "V17 Signalen", "thema": "V17a Thema", "adres": "V18 Adres"}
    return pd.DataFrame(cols), mapping, mentioned


def hotspot_cells(bag: pd.DataFrame, gebied: str, rng: np.random.Generator) -> dict:
    """A seed cell with addresses in the area plus adjacent cells with addresses."""
    in_area = bag["_gebied"].to_numpy() == gebied
    cells = bag["_cel"].to_numpy(dtype=object)
    counts = pd.Series(cells[in_area]).value_counts()
    candidates = sorted(counts[counts >= 5].index) or sorted(counts.index)
    seed = candidates[int(rng.integers(0, len(candidates)))]
    ex, ny = int(seed[1:5]), int(seed[6:10])
    chosen = [seed]
    neighbours = [(ex + dx, ny + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]
    order = rng.permutation(len(neighbours))
    all_counts = pd.Series(cells).value_counts()
    for i in order:
        cid = f"E{neighbours[i][0]:04d}N{neighbours[i][1]:04d}"
        if all_counts.get(cid, 0) >= 3 and len(chosen) < 3:
            chosen.append(cid)
    addrs = np.flatnonzero(np.isin(cells, np.array(chosen, dtype=object)))
    return {"thema": "drugs", "buurtcode": gebied, "cel_ids": sorted(chosen), "_addrs": addrs}

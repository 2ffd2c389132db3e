"""Timing of the network analysis on Rotterdam-scale synthetic frames (not a test).

Synthesises, with numpy only, 80,000 KvK establishments (70,000 companies), 100,000
officers, 30,000 Kadaster transactions and 50,000 partner events, then times each stage of
:func:`bcba.network.analyse_networks`. Run::

    python benchmarks/bench_network.py [--scale 1.0] [--seed 0]

It also times the exports of the flagged networks (GraphML and i2) into a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import types
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from bcba.network import NetworkConfig, _entity_tables, analyse_networks, network_flags
from bcba.network.export import write_graphml, write_i2
from bcba.network.indicators import centralities, network_components


def synthesise(scale: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_addr = int(120_000 * scale)
    n_ves, n_comp = int(80_000 * scale), int(70_000 * scale)
    n_off, n_pers = int(100_000 * scale), int(85_000 * scale)
    n_tx, n_ev = int(30_000 * scale), int(50_000 * scale)

    pc = np.array(
        [
            f"{3000 + i // 26:04d}{chr(65 + i % 26)}{chr(65 + (i * 7) % 26)}"
            for i in range(n_addr // 20 + 1)
        ]
    )
    addr_pc = pc[np.arange(n_addr) // 20]
    addr_nr = (np.arange(n_addr) % 20 + 1).astype(str)
    addr_id = np.char.add("0599010000", np.char.zfill(np.arange(n_addr).astype(str), 6))
    key = np.char.add(np.char.add(addr_pc, "|"), np.char.add(addr_nr, "||"))
    x = rng.uniform(85_000, 100_000, n_addr)
    y = rng.uniform(430_000, 445_000, n_addr)

    def addr_cols(idx, with_id=0.95):
        has_id = rng.random(idx.size) < with_id
        return {
            "adres_id": np.where(has_id, addr_id[idx], None),
            "adres_sleutel": key[idx],
        }, gpd.points_from_xy(x[idx], y[idx])

    # Offices get many registrations: a skewed address choice.
    a_ves = np.minimum((rng.pareto(1.2, n_ves) * 2000).astype(int), n_addr - 1)
    comp = np.concatenate([np.arange(n_comp), rng.integers(0, n_comp, n_ves - n_comp)])
    kvk = np.char.zfill((10_000_000 + comp).astype(str), 8)
    ins = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 5500, n_ves), unit="D")
    life = rng.integers(90, 6000, n_ves)
    uit = (ins + pd.to_timedelta(life, unit="D")).where(rng.random(n_ves) < 0.3)
    sbi = rng.choice(
        np.array(["5630", "56101", "4120", "6810", "4791", "45205", "96022", "7022", "6420"]), n_ves
    )
    vorm = rng.choice(
        np.array(["Besloten Vennootschap", "Eenmanszaak", "Vennootschap onder firma"]), n_ves
    )
    cols, geom = addr_cols(a_ves)
    vest = gpd.GeoDataFrame(
        {
            "kvk_nummer": kvk,
            "vestigingsnummer": np.char.zfill(np.arange(n_ves).astype(str), 12),
            "handelsnaam": np.char.add("Bedrijf ", comp.astype(str)),
            "rechtsvorm": vorm,
            "sbi_code": sbi,
            **cols,
            "datum_inschrijving": ins,
            "datum_uitschrijving": uit,
        },
        geometry=geom,
        crs="EPSG:28992",
    )
    fcomp = rng.integers(0, n_comp, n_off)
    fpers = np.minimum((rng.pareto(2.5, n_off) * 20000).astype(int), n_pers - 1)
    start = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 5500, n_off), unit="D")
    func = pd.DataFrame(
        {
            "kvk_nummer": np.char.zfill((10_000_000 + fcomp).astype(str), 8),
            "persoon_id": np.char.add("P-", np.char.zfill(fpers.astype(str), 12)),
            "functie": "bestuurder",
            "datum_aanvang": start,
            "datum_einde": (start + pd.to_timedelta(rng.integers(30, 3000, n_off), unit="D")).where(
                rng.random(n_off) < 0.4
            ),
        }
    )
    a_tx = rng.integers(0, n_addr, n_tx)
    legal = rng.random(n_tx) < 0.15
    buyer_comp = rng.integers(0, n_comp, n_tx)
    cols, geom = addr_cols(a_tx)
    kad = gpd.GeoDataFrame(
        {
            "transactie_id": np.char.add("T", np.arange(n_tx).astype(str)),
            "datum": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730, n_tx), unit="D"),
            "koopsom": rng.integers(150_000, 900_000, n_tx).astype(float),
            **cols,
            "koper_id": np.where(
                legal,
                np.char.add("K-", np.char.zfill((10_000_000 + buyer_comp).astype(str), 8)),
                np.char.add("P-b", rng.integers(0, 10**9, n_tx).astype(str)),
            ),
            "koper_naam": np.where(legal, np.char.add("Bedrijf ", buyer_comp.astype(str)), None),
            "koper_type": np.where(legal, "rechtspersoon", "natuurlijk_persoon"),
            "koper_kvk_nummer": np.where(
                legal & (rng.random(n_tx) < 0.7),
                np.char.zfill((10_000_000 + buyer_comp).astype(str), 8),
                None,
            ),
            "verkoper_id": np.char.add("P-s", rng.integers(0, 10**9, n_tx).astype(str)),
            "verkoper_naam": None,
            "verkoper_type": "natuurlijk_persoon",
            "hypotheek": rng.random(n_tx) < 0.8,
            "woz_waarde": rng.integers(150_000, 900_000, n_tx).astype(float),
        },
        geometry=geom,
        crs="EPSG:28992",
    )
    a_ev = rng.integers(0, n_addr, n_ev)
    cols, geom = addr_cols(a_ev, with_id=0.9)
    part = gpd.GeoDataFrame(
        {
            "bron": rng.choice(np.array(["politie", "gemeente", "belastingdienst"]), n_ev),
            "thema": rng.choice(np.array(["drugs", "mensenhandel", "omg"]), n_ev),
            "soort": "melding",
            "datum": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 730, n_ev), unit="D"),
            **cols,
        },
        geometry=geom,
        crs="EPSG:28992",
    )
    return types.SimpleNamespace(
        kvk_vestigingen=vest, kvk_functionarissen=func, kadaster=kad, partners=part
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    inputs = synthesise(args.scale, args.seed)
    t1 = time.perf_counter()
    print(
        f"synthese: {t1 - t0:6.1f} s  ({len(inputs.kvk_vestigingen)} vestigingen, "
        f"{len(inputs.kvk_functionarissen)} functionarissen, {len(inputs.kadaster)} transacties, "
        f"{len(inputs.partners)} meldingen)"
    )
    config = NetworkConfig()
    tables = _entity_tables(inputs, config)
    t2 = time.perf_counter()
    print(
        f"entiteitresolutie + tabellen: {t2 - t1:6.1f} s  ({len(tables.nodes)} knopen, "
        f"{len(tables.edges)} links)"
    )
    comps = network_components(tables, max_size=config.max_network_size, seed=config.seed)
    t3 = time.perf_counter()
    print(f"netwerken (componenten + Louvain): {t3 - t2:6.1f} s  ({comps.max()} netwerken)")
    flags = network_flags(tables, config)
    t4 = time.perf_counter()
    print(f"netwerksignalen: {t4 - t3:6.1f} s  ({len(flags)} signaalregels)")
    centralities(tables, comps, exact_max=config.betweenness_exact_max, k=config.betweenness_k)
    t5 = time.perf_counter()
    print(f"centraliteit: {t5 - t4:6.1f} s")
    results = analyse_networks(inputs, config=config)
    t6 = time.perf_counter()
    print(
        f"analyse_networks totaal: {t6 - t5:6.1f} s  ({len(results.networks)} netwerken gerangschikt)"
    )
    flagged = results.networks.loc[results.networks["flags"].ne(""), "netwerk_id"].tolist()
    with tempfile.TemporaryDirectory() as tmp:
        write_graphml(results, Path(tmp) / "netwerken.graphml", netwerk_ids=flagged)
        t7 = time.perf_counter()
        write_i2(results, tmp, netwerk_ids=flagged)
        t8 = time.perf_counter()
    print(f"export GraphML: {t7 - t6:6.1f} s, i2: {t8 - t7:6.1f} s  ({len(flagged)} netwerken)")


if __name__ == "__main__":
    main()

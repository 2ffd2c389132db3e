"""The planted network structures of the synthetic generator are found and ranked on top."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bcba.network import analyse_networks
from bcba.network.export import write_graphml, write_i2
from bcba.privacy import pseudonym

KEY = b"netwerk-test-sleutel-32-bytes!!!"
TOP = 5

pytestmark = pytest.mark.slow


@pytest.fixture(
    scope="module",
    params=[("GM0489", 1), ("GM0489", 2), ("GM0597", 3)],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def run(request, tmp_path_factory):
    from bcba.sources import load_inputs
    from bcba.synthetic import generate

    gemeente, seed = request.param
    folder = tmp_path_factory.mktemp(f"{gemeente}_{seed}")
    manifest = generate(gemeente, folder, seed=seed)
    periode = (
        dt.date.fromisoformat(manifest["periode"]["start"]),
        dt.date.fromisoformat(manifest["periode"]["eind"]),
    )
    inputs = load_inputs(gemeente, data_dir=folder, periode=periode, key=KEY)
    return manifest, analyse_networks(inputs), folder


def test_planted_structures_rank_in_top(run):
    manifest, results, _ = run
    network_of = results.nodes.set_index("node_id")["netwerk_id"]
    rank_of = results.networks.set_index("netwerk_id")["rang"]
    planted = manifest["netwerken"]
    assert {p["patroon"] for p in planted} == {
        "stroman",
        "adres_hub",
        "carrousel",
        "vastgoed_jonge_bv",
        "gedeelde_functionaris",
    }
    for structure in planted:
        nodes = ["K-" + k for k in structure["kvk_nummers"]]
        if structure.get("persoon_naam"):
            nodes.append(
                pseudonym(KEY, structure["persoon_naam"], structure["persoon_geboortedatum"])
            )
        if structure["patroon"] == "adres_hub":
            nodes = ["A-" + a for a in structure["adres_ids"]]
        assert set(nodes) <= set(network_of.index), structure["patroon"]
        flagged = results.flags[
            results.flags["flag_id"].eq(structure["flag"]) & results.flags["node_id"].isin(nodes)
        ]
        assert len(flagged), f"{structure['patroon']}: {structure['flag']} niet gevonden"
        networks = set(flagged["netwerk_id"])
        best = min(rank_of[n] for n in networks)
        assert best <= TOP, f"{structure['patroon']} staat op rang {best}"


def test_no_person_name_in_network_outputs(run, tmp_path):
    manifest, results, _ = run
    write_graphml(results, tmp_path / "netwerk.graphml")
    write_i2(results, tmp_path)
    blob = "\n".join(p.read_text(encoding="utf-8-sig") for p in tmp_path.iterdir())
    blob += "\n".join(
        f.to_csv() for f in (results.nodes, results.edges, results.flags, results.networks)
    )
    # Compare word n-grams instead of substring search per name: thousands of names against
    # megabytes of output would take a minute.
    words = re.findall(r"[\w'-]+", blob.lower())
    grams = {" ".join(words[i : i + n]) for n in (2, 3, 4, 5) for i in range(len(words) - n + 1)}
    names = {" ".join(re.findall(r"[\w'-]+", p["naam"].lower())) for p in manifest["personen"]}
    assert names
    leaked = sorted(names & grams)
    assert not leaked, f"{len(leaked)} namen van personen in de netwerkuitvoer"

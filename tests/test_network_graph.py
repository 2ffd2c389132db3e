"""Entity graph, network indicators, ranking, plot and exports on tiny hand-made frames."""

from __future__ import annotations

import types

import geopandas as gpd
import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from bcba.errors import ConfigError, CRSMismatchError
from bcba.network import NetworkConfig, analyse_networks
from bcba.network.export import (
    I2_ENTITY_COLUMNS,
    I2_LINK_COLUMNS,
    i2_tables,
    write_graphml,
    write_i2,
)
from bcba.network.graph import build_entity_tables, to_networkx
from bcba.network.indicators import (
    address_hubs,
    carousels,
    centralities,
    network_components,
    shared_officers,
    straw_men,
    young_company_property,
)
from bcba.network.plot import network_points, plot_network

T = pd.Timestamp
NAT = pd.NaT
CRS = "EPSG:28992"
#: natural persons "in the raw extract": their names must never reach an output
RAW_NAMES = ["Jan Jansen", "Fatima el Amrani", "Piet de Vries"]


def _adres(i: int) -> tuple[str, str]:
    return f"04890100000000{i:02d}", f"2991AB|{i}||"


def _ves(rows):
    """rows: (kvk, handelsnaam, rechtsvorm, sbi, address no, ins, uit)."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "kvk_nummer",
            "handelsnaam",
            "rechtsvorm",
            "sbi_code",
            "nr",
            "datum_inschrijving",
            "datum_uitschrijving",
        ],
    )
    frame["vestigingsnummer"] = [f"{i:012d}" for i in range(1, len(frame) + 1)]
    frame["adres_id"] = [_adres(n)[0] for n in frame["nr"]]
    frame["adres_sleutel"] = [_adres(n)[1] for n in frame["nr"]]
    frame["datum_inschrijving"] = pd.to_datetime(frame["datum_inschrijving"])
    frame["datum_uitschrijving"] = pd.to_datetime(frame["datum_uitschrijving"])
    return gpd.GeoDataFrame(
        frame.drop(columns="nr"),
        geometry=[Point(90000 + 10 * n, 430000 + n) for n in frame["nr"]],
        crs=CRS,
    )


BV, EZ = "Besloten Vennootschap", "Eenmanszaak"


@pytest.fixture
def world():
    vest = _ves(
        [
            # straw man: three short-lived BVs and one lasting one
            ("10000001", "Alfa Transport B.V.", BV, "4941", 1, "2022-01-01", "2022-07-01"),
            ("10000002", "Beta Bouw B.V.", BV, "4120", 1, "2022-03-01", "2022-11-01"),
            ("10000003", "Gamma Schoonmaak B.V.", BV, "8121", 2, "2023-01-01", "2023-06-01"),
            ("10000004", "Delta Logistiek B.V.", BV, "4941", 3, "2015-01-01", NAT),
            # hub: three companies at address 10 over time
            ("10000011", "Hub Een B.V.", BV, "7022", 10, "2018-01-01", "2020-01-01"),
            ("10000012", "Hub Twee B.V.", BV, "7022", 10, "2020-02-01", NAT),
            ("10000013", "Jan Jansen Advies", EZ, "7022", 10, "2021-01-01", NAT),
            # carousel: C1 and C2 both at 20 and 21, C3 at 20 only
            ("10000021", "Carrousel Een B.V.", BV, "4690", 20, "2019-01-01", "2021-01-01"),
            ("10000021", "Carrousel Een B.V.", BV, "4690", 21, "2021-01-02", NAT),
            ("10000022", "Carrousel Twee B.V.", BV, "4690", 21, "2019-01-01", "2021-01-01"),
            ("10000022", "Carrousel Twee B.V.", BV, "4690", 20, "2021-01-02", NAT),
            ("10000023", "Vaste Klant B.V.", BV, "4690", 20, "2015-01-01", NAT),
            # young BV and an old BV, both buy a house
            ("10000031", "Jong Vastgoed B.V.", BV, "6810", 30, "2024-01-01", NAT),
            ("10000032", "Oud Vastgoed B.V.", BV, "6810", 31, "2010-01-01", NAT),
            # shared officers
            ("10000041", "Shisha Lounge Zoë B.V.", BV, "56301", 40, "2023-01-01", NAT),
            ("10000042", "Autopoets Snel", EZ, "45205", 41, "2023-02-01", NAT),
            ("10000043", "Shisha Noord B.V.", BV, "5630", 42, "2023-01-01", NAT),
            ("10000044", "Bouwbedrijf Noord B.V.", BV, "4120", 43, "2023-01-01", NAT),
        ]
    )
    func = pd.DataFrame(
        {
            "kvk_nummer": [
                "10000001",
                "10000002",
                "10000003",
                "10000004",
                "10000011",
                "10000012",
                "10000041",
                "10000042",
                "10000043",
                "10000044",
                "10000031",
            ],
            "persoon_id": [
                "P-stroman",
                "P-stroman",
                "P-stroman",
                "P-stroman",
                "P-hub",
                "P-hub",
                "P-gedeeld",
                "P-gedeeld",
                "P-anders",
                "P-anders",
                "P-gedeeld",
            ],
            "functie": "bestuurder",
            "datum_aanvang": pd.to_datetime(
                [
                    "2022-01-01",
                    "2022-03-01",
                    "2023-01-01",
                    "2015-01-01",
                    "2018-01-01",
                    "2020-02-01",
                    "2023-01-01",
                    "2023-02-01",
                    "2023-01-01",
                    "2023-01-01",
                    "2024-01-01",
                ]
            ),
            "datum_einde": pd.to_datetime([NAT] * 11),
        }
    )
    house_j, house_o = _adres(50), _adres(51)
    kad = gpd.GeoDataFrame(
        {
            "transactie_id": ["T1", "T2", "T3"],
            "datum": pd.to_datetime(["2024-06-01", "2024-06-01", "2024-09-01"]),
            "koopsom": [450000.0, 300000.0, 500000.0],
            "adres_id": [house_j[0], house_o[0], house_j[0]],
            "adres_sleutel": [house_j[1], house_o[1], house_j[1]],
            "koper_id": ["R-jong vastgoed", "K-10000032", "P-koper"],
            "koper_naam": ["Jong Vastgoed BV", "Oud Vastgoed B.V.", None],
            "koper_type": ["rechtspersoon", "rechtspersoon", "natuurlijk_persoon"],
            "koper_kvk_nummer": [None, "10000032", None],
            "verkoper_id": ["P-verkoper", "P-verkoper2", "K-10000031"],
            "verkoper_naam": [None, None, "Jong Vastgoed B.V."],
            "verkoper_type": ["natuurlijk_persoon", "natuurlijk_persoon", "rechtspersoon"],
            "verkoper_kvk_nummer": [None, None, "10000031"],
            "hypotheek": [False, True, True],
            "woz_waarde": [300000.0, 310000.0, 320000.0],
        },
        geometry=[Point(91000, 431000), Point(91010, 431010), Point(91000, 431000)],
        crs=CRS,
    )
    part = gpd.GeoDataFrame(
        {
            "bron": ["politie", "gemeente"],
            "thema": ["drugs", "omg"],
            "soort": ["melding", "controle"],
            "datum": pd.to_datetime(["2024-01-05", "2024-02-05"]),
            "omschrijving_gemaskeerd": ["[persoon] gezien", "controle"],
            "adres_id": [_adres(40)[0], None],
            "adres_sleutel": [_adres(40)[1], None],
        },
        geometry=[Point(90400, 430040), None],
        crs=CRS,
    )
    return types.SimpleNamespace(
        kvk_vestigingen=vest, kvk_functionarissen=func, kadaster=kad, partners=part
    )


@pytest.fixture
def tables(world):
    return build_entity_tables(
        world.kvk_vestigingen, world.kvk_functionarissen, world.kadaster, world.partners
    )


# --------------------------------------------------------------------------- graph


def test_graph_nodes_and_edges(tables, world):
    before = world.kvk_vestigingen.copy()
    nodes = tables.nodes.set_index("node_id")
    assert nodes.loc["K-10000021", "soort"] == "bedrijf"
    assert nodes.loc["P-stroman", "soort"] == "persoon"
    assert nodes.loc["A-0489010000000050", "vastgoed"]
    assert nodes.loc["E-politie-1", "soort"] == "melding"
    # the Kadaster buyer without KvK number is resolved onto the KvK company by name
    buys = tables.edges[tables.edges["soort"].eq("koper_van")].set_index("transactie_id")
    assert buys.loc["T1", "bron"] == "K-10000031"
    assert buys.loc["T1", "score"] == 0.9
    assert buys.loc["T1", "toelichting"] == "genormaliseerde naam gelijk"
    assert buys.loc["T3", "bron"] == "P-koper"
    counts = tables.edges["soort"].value_counts().to_dict()
    assert counts == {
        "gevestigd_op": 18,
        "functionaris_van": 11,
        "koper_van": 3,
        "verkoper_van": 3,
        "melding_op": 1,
    }
    # company dates aggregate over establishments; an active establishment keeps it active
    assert nodes.loc["K-10000021", "datum_inschrijving"] == T("2019-01-01")
    assert pd.isna(nodes.loc["K-10000021", "datum_uitschrijving"])
    # a one-man business is labelled by its KvK id (its trade name may be the owner's name)
    assert nodes.loc["K-10000013", "label"] == "K-10000013"
    assert pd.isna(nodes.loc["K-10000013", "handelsnaam"])
    assert nodes.loc["K-10000041", "label"] == "Shisha Lounge Zoë B.V."
    assert nodes.loc["A-0489010000000010", "label"] == "2991AB 10"
    pd.testing.assert_frame_equal(world.kvk_vestigingen, before)

    graph = to_networkx(tables)
    assert isinstance(graph, nx.MultiDiGraph)
    assert graph.number_of_nodes() == len(tables.nodes)
    assert graph.number_of_edges() == len(tables.edges)
    assert graph.nodes["K-10000041"]["sbi_code"] == "56301"
    assert "handelsnaam" not in graph.nodes["K-10000013"]


def test_graph_rejects_other_crs(world):
    with pytest.raises(CRSMismatchError):
        build_entity_tables(world.kvk_vestigingen.to_crs("EPSG:4326"))


def test_graph_possible_address_link():
    vest = _ves([("10000001", "A B.V.", BV, "4120", 5, "2020-01-01", NAT)])
    part = gpd.GeoDataFrame(
        {"bron": ["politie"], "adres_id": [None], "adres_sleutel": ["2991AB|5||BIS"]},
        geometry=[None],
        crs=CRS,
    )
    tables = build_entity_tables(vest, None, None, part)
    same = tables.edges[tables.edges["soort"].eq("mogelijk_zelfde")]
    assert same[["bron", "doel", "score"]].values.tolist() == [
        ["A-2991AB|5||BIS", "A-0489010000000005", 0.6]
    ]
    comps = network_components(tables)
    assert comps["A-2991AB|5||BIS"] != comps["A-0489010000000005"]  # doubtful links do not merge


# --------------------------------------------------------------------------- indicators


def test_straw_man(tables):
    flags = straw_men(tables, min_short=3)
    assert sorted(flags["node_id"]) == ["K-10000001", "K-10000002", "K-10000003", "P-stroman"]
    assert set(flags["patroon"]) == {"NET_STROMAN:P-stroman"}
    assert flags["sterkte"].tolist() == [1.0] * 4
    person = flags.set_index("node_id").loc["P-stroman"]
    assert person["toelichting"] == "functionaris van 4 bedrijven, waarvan 3 kortstondig"
    assert person["persoon_id"] == "P-stroman"
    assert straw_men(tables, min_short=4).empty


def test_address_hub(tables):
    flags = address_hubs(tables, min_companies=3, min_owners=2)
    assert sorted(flags["node_id"]) == [
        "A-0489010000000010",
        "A-0489010000000020",
        "A-0489010000000050",
    ]
    hub = flags.set_index("node_id")
    assert (
        hub.loc["A-0489010000000010", "toelichting"]
        == "3 bedrijven ingeschreven en 0 kopers op dit adres"
    )
    assert hub.loc["A-0489010000000050", "sterkte"] == 1.0  # two buyers / min_owners 2
    assert hub.loc["A-0489010000000010", "adres_id"] == "0489010000000010"
    assert address_hubs(tables, min_companies=4, min_owners=3).empty


def test_carousel(tables):
    flags = carousels(tables, min_companies=2, min_addresses=2)
    assert sorted(flags["node_id"]) == [
        "A-0489010000000020",
        "A-0489010000000021",
        "K-10000021",
        "K-10000022",
    ]
    assert flags["toelichting"].iloc[0] == "2 bedrijven verhuizen tussen 2 gedeelde adressen"
    assert flags["patroon"].nunique() == 1
    assert carousels(tables, min_companies=3).empty
    assert carousels(tables, min_addresses=3).empty


def test_young_company_property(tables):
    flags = young_company_property(tables, max_days=365)
    assert sorted(flags["node_id"]) == ["A-0489010000000050", "K-10000031"]
    text = flags["toelichting"].iloc[0]
    assert (
        text
        == "aankoop 2024-06-01 (koopsom € 450.000, zonder hypotheek) door bedrijf ingeschreven 152 dagen eerder"
    )
    assert flags["sterkte"].tolist() == [1.0, 1.0]
    assert young_company_property(tables, max_days=152).empty


def test_shared_officers(tables):
    flags = shared_officers(tables)
    by_person = flags.groupby("patroon")["node_id"].apply(sorted).to_dict()
    # P-gedeeld: shisha lounge + car wash (risk) + the young real-estate BV (linked)
    assert by_person == {
        "NET_GEDEELDE_FUNCTIONARIS:P-gedeeld": [
            "K-10000031",
            "K-10000041",
            "K-10000042",
            "P-gedeeld",
        ]
    }
    assert flags.set_index("node_id").loc["P-gedeeld", "sterkte"] == 1.5
    strict = shared_officers(tables, linked_sbi=(), min_risk=2)
    assert sorted(strict["node_id"]) == ["K-10000041", "K-10000042", "P-gedeeld"]
    assert shared_officers(tables, risk_sbi=("9999",)).empty


def test_centralities_exact_on_a_path(tables):
    comps = network_components(tables)
    central = centralities(tables, comps)
    # straw man network: P-stroman - 4 companies - addresses 1,2,3 (star of stars)
    assert central.loc["P-stroman", "graad"] == 4
    # in the carousel network C1, C2 (both at 20, 21) and C3 (at 20) form
    # C3 - A20 - {C1, C2} - A21: A20 lies on the three paths from C3 and on half of the
    # C1-C2 paths: 3.5 of the 6 pairs of the other four nodes
    assert central.loc["A-0489010000000020", "betweenness"] == round(3.5 / 6, 6)
    # C1 carries half of C3-A21 and half of A20-A21
    assert central.loc["K-10000021", "betweenness"] == round(1 / 6, 6)
    assert central.loc["K-10000023", "betweenness"] == 0.0


def test_analyse_networks_ranking_and_external_flags(world):
    config = NetworkConfig(hub_min_companies=3, hub_min_owners=2)
    external = pd.DataFrame(
        {
            "flag_id": ["KAD_ZONDER_HYPOTHEEK", "KVK_WOONADRES"],
            "adres_id": ["0489010000000050", "9999999999999999"],
            "weight": [2.0, 1.0],
        }
    )
    res = analyse_networks(world, flags=external, config=config)
    nodes = res.nodes.set_index("node_id")
    networks = res.networks.set_index("netwerk_id")
    assert list(res.networks["rang"]) == list(range(1, len(res.networks) + 1))
    assert res.networks["score"].is_monotonic_decreasing
    # the external flag maps onto the house; the unknown address is dropped
    ext = res.flags[res.flags["bron"].eq("extern")]
    assert ext["node_id"].tolist() == ["A-0489010000000050"]
    straw = networks.loc[nodes.loc["P-stroman", "netwerk_id"]]
    assert straw["flags"] == "NET_STROMAN (1)"
    assert straw["score"] == 1.5  # weight 1.5 x strength 1 x (1 + log2 1)
    assert (straw["n_bedrijven"], straw["n_personen"], straw["n_adressen"]) == (4, 1, 3)
    assert straw["beschrijving"] == (
        "Netwerk van 4 bedrijven, 1 persoon en 3 adressen. Signalen: NET_STROMAN (1). Centrale knoop: P-stroman."
    )
    young = networks.loc[nodes.loc["K-10000031", "netwerk_id"]]
    assert (
        "KAD_ZONDER_HYPOTHEEK (1)" in young["flags"]
        and "NET_VASTGOED_JONGE_BV (1)" in young["flags"]
    )
    assert young["rang"] == 1
    assert nodes.loc["K-10000031", "flags"] == "NET_GEDEELDE_FUNCTIONARIS;NET_VASTGOED_JONGE_BV"
    assert res.graph.nodes["P-stroman"]["netwerk_id"] == nodes.loc["P-stroman", "netwerk_id"]


def test_config_is_validated():
    with pytest.raises(ValueError, match="match_threshold"):
        NetworkConfig(match_threshold=0)
    with pytest.raises(ValueError, match="shared_min_risk"):
        NetworkConfig(shared_min_risk=3, shared_min_companies=2)


def test_large_component_is_split():
    # two stars of 12 companies joined by one person: split at max_size 20
    rows = [
        (f"2{i:07d}", f"S{i} B.V.", BV, "4120", 60 + i // 12, "2020-01-01", NAT) for i in range(24)
    ]
    vest = _ves(rows)
    func = pd.DataFrame(
        {"kvk_nummer": ["20000000", "20000012"], "persoon_id": ["P-brug", "P-brug"]}
    )
    tables = build_entity_tables(vest, func, None, None)
    assert network_components(tables).nunique() == 1
    split = network_components(tables, max_size=20, seed=0)
    assert split.nunique() >= 2
    assert split.groupby(split).size().max() <= 20


# --------------------------------------------------------------------------- plot and exports


@pytest.fixture
def results(world):
    return analyse_networks(world, config=NetworkConfig(hub_min_companies=3, hub_min_owners=2))


def test_plot_network(results):
    netwerk = results.nodes.set_index("node_id").loc["P-gedeeld", "netwerk_id"]
    fig = plot_network(results, netwerk)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert "P-gedeeld" in texts and "Shisha Lounge Zoë B.V." in texts and "K-10000042" in texts
    assert "Autopoets Snel" not in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"Bedrijf", "Persoon (pseudoniem)", "Adres", "functionaris van"} <= set(legend)
    with pytest.raises(ConfigError, match="bestaat niet"):
        plot_network(results, "N9999")


def test_network_points(results):
    netwerk = results.nodes.set_index("node_id").loc["P-stroman", "netwerk_id"]
    points = network_points(results, netwerk)
    assert points.crs == CRS
    assert sorted(points["label"]) == ["2991AB 1", "2991AB 2", "2991AB 3"]
    # every point sits where its own address was geocoded (the fixture puts address n at
    # x = 90000 + 10 n, y = 430000 + n), so a shuffled or swapped geometry fails
    for label, geom in zip(points["label"], points.geometry, strict=True):
        n = int(label.split()[-1])
        assert (geom.x, geom.y) == (90000 + 10 * n, 430000 + n), label


def test_i2_tables_layout(results):
    entities, links = i2_tables(results)
    assert list(entities.columns) == I2_ENTITY_COLUMNS
    assert list(links.columns) == I2_LINK_COLUMNS
    e = entities.set_index("Entity ID")
    assert e.loc["P-stroman", "Entity Type"] == "Persoon"
    assert e.loc["K-10000013", "Label"] == "K-10000013"
    assert e.loc["A-0489010000000050", "Description"] == "Adres (vastgoedobject)"
    assert (
        e.loc["K-10000001", "Date"] == "2022-01-01"
        and e.loc["K-10000001", "End Date"] == "2022-07-01"
    )
    buy = links[links["Link Type"].eq("Koper van") & links["From Entity ID"].eq("K-10000031")]
    assert buy[["Date", "Koopsom"]].values.tolist() == [["2024-06-01", "450000"]]
    assert set(links["From Entity ID"]) | set(links["To Entity ID"]) <= set(entities["Entity ID"])


def test_exports_written_atomically_and_readable(results, tmp_path):
    graphml = write_graphml(results, tmp_path / "netwerk.graphml")
    assert (graphml.stat().st_mode & 0o777) == 0o600
    back = nx.read_graphml(graphml, force_multigraph=True)
    assert back.number_of_nodes() == results.graph.number_of_nodes()
    assert back.number_of_edges() == results.graph.number_of_edges()
    assert back.nodes["K-10000001"]["datum_inschrijving"] == "2022-01-01"
    buy = [
        d
        for _, _, d in back.edges(data=True)
        if d.get("transactie_id") == "T1" and d["soort"] == "koper_van"
    ]
    assert buy[0]["koopsom"] == 450000.0 and buy[0]["datum"] == "2024-06-01"
    paths = write_i2(results, tmp_path / "i2")
    entities = pd.read_csv(
        paths["entiteiten"], dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    assert list(entities.columns) == I2_ENTITY_COLUMNS
    top = results.networks["netwerk_id"].head(1).tolist()
    subset = write_i2(results, tmp_path / "i2top", netwerk_ids=top)
    sub = pd.read_csv(subset["entiteiten"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert set(sub["Netwerk ID"]) == set(top)
    assert not list(tmp_path.glob("**/.*"))  # no temporary files left behind


def test_no_person_name_in_any_output(world, tmp_path):
    # raw-style extract: the person names are present in the input, as Kadaster would deliver
    kad = world.kadaster.copy()
    kad.loc[2, "koper_naam"] = RAW_NAMES[0]  # natural person: name must be dropped
    kad["verkoper_naam"] = [RAW_NAMES[1], RAW_NAMES[2], "Jong Vastgoed B.V."]
    inputs = types.SimpleNamespace(**{**vars(world), "kadaster": kad})
    res = analyse_networks(inputs)
    write_graphml(res, tmp_path / "g.graphml")
    write_i2(res, tmp_path)
    fig = plot_network(res, res.nodes.set_index("node_id").loc["P-koper", "netwerk_id"])
    fig.savefig(tmp_path / "net.svg")
    texts = [p.read_text(encoding="utf-8-sig") for p in tmp_path.iterdir()]
    for frame in (res.nodes, res.edges, res.flags, res.networks):
        texts.append(frame.to_csv())
    blob = "\n".join(texts).lower()
    for name in RAW_NAMES:
        assert name.lower() not in blob
        assert name.split()[-1].lower() not in blob  # not even the surname
    assert "p-koper" in blob  # the pseudonym is there


def test_empty_inputs_give_empty_results():
    res = analyse_networks(
        types.SimpleNamespace(
            kvk_vestigingen=None, kvk_functionarissen=None, kadaster=None, partners=None
        )
    )
    assert res.networks.empty and res.flags.empty and res.graph.number_of_nodes() == 0
    assert np.array_equal(
        res.networks.columns[:4], ["netwerk_id", "n_bedrijven", "n_personen", "n_adressen"]
    )


def test_graph_is_built_on_first_use_and_subgraph_matches(results):
    assert "graph" not in vars(results)  # analyse_networks builds no networkx graph
    ids = results.nodes.set_index("node_id").loc[["P-stroman", "K-10000021"], "netwerk_id"]
    sub = results.subgraph(ids)
    assert "graph" not in vars(results)
    graph = results.graph
    assert results.graph is graph  # built once
    members = results.nodes.loc[results.nodes["netwerk_id"].isin(ids), "node_id"].tolist()
    expected = graph.subgraph(members)
    assert dict(sub.nodes(data=True)) == dict(expected.nodes(data=True))
    assert sorted(sub.edges(keys=True, data="soort")) == sorted(
        expected.edges(keys=True, data="soort")
    )
    assert sub.nodes["P-stroman"]["netwerk_id"] == ids["P-stroman"]


def test_graphml_of_selected_networks_equals_networkx_subgraph(results, tmp_path):
    ids = results.nodes.set_index("node_id").loc[["P-gedeeld", "P-stroman"], "netwerk_id"]
    members = results.nodes.loc[results.nodes["netwerk_id"].isin(ids), "node_id"].tolist()
    fast = write_graphml(results, tmp_path / "fast.graphml", netwerk_ids=ids)
    slow = write_graphml(results.graph.subgraph(members).copy(), tmp_path / "slow.graphml")
    a = nx.read_graphml(fast, force_multigraph=True)
    b = nx.read_graphml(slow, force_multigraph=True)
    assert sorted(a.nodes) == sorted(members)
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert sorted(a.edges(keys=True, data=True), key=str) == sorted(
        b.edges(keys=True, data=True), key=str
    )
    assert a.nodes["K-10000041"]["label"] == "Shisha Lounge Zoë B.V."
    assert a.nodes["A-0489010000000001"]["huisnummer"] == 1  # attr.type long
    text = fast.read_text(encoding="utf-8")
    assert '<key id="vastgoed" for="node" attr.name="vastgoed" attr.type="boolean" />' in text
    assert (fast.stat().st_mode & 0o777) == 0o600
    with pytest.raises(ConfigError, match="netwerk_ids"):
        write_graphml(results.graph, tmp_path / "x.graphml", netwerk_ids=ids)


def test_graphml_escapes_markup(tmp_path):
    graph = nx.MultiDiGraph()
    graph.add_node('K-"1"', label="Bakker & Zn <B.V.>\x01", vastgoed=True, x=1.5)
    graph.add_edge('K-"1"', "A-2", key="L1", datum=T("2024-01-02"), koopsom=np.nan)
    path = write_graphml(graph, tmp_path / "g.graphml")
    back = nx.read_graphml(path, force_multigraph=True)
    assert back.nodes['K-"1"'] == {"label": "Bakker & Zn <B.V.>", "vastgoed": True, "x": 1.5}
    assert back.edges['K-"1"', "A-2", "L1"] == {"datum": "2024-01-02"}


def test_components_are_deterministic_and_numbered_by_size():
    rows = [
        (f"2{i:07d}", f"S{i} B.V.", BV, "4120", 60 + i // 12, "2020-01-01", NAT) for i in range(24)
    ] + [("30000000", "Los B.V.", BV, "4120", 90, "2020-01-01", NAT)]
    func = pd.DataFrame(
        {"kvk_nummer": ["20000000", "20000012"], "persoon_id": ["P-brug", "P-brug"]}
    )
    tables = build_entity_tables(_ves(rows), func, None, None)
    first = network_components(tables, max_size=20, seed=3)
    pd.testing.assert_series_equal(first, network_components(tables, max_size=20, seed=3))
    sizes = first.groupby(first).size()
    assert sizes.is_monotonic_decreasing and sizes.index.tolist() == list(range(1, len(sizes) + 1))
    # the lone company and its address form the last network
    assert first["K-30000000"] == first.max() == first["A-0489010000000090"]

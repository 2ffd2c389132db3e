"""Integration: RTM and Gi* find what bcba.synthetic planted (generator + sources)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bcba.hotspots import hotspots, required_permutations
from bcba.rtm import RiskTerrainModel, count_events
from tests.conftest import PERIODE, TEST_KEY_HEX

pytestmark = pytest.mark.slow

#: factor layers straight from KvK SBI prefixes (the themes config is not used here)
FACTOR_SBI = {"opslag": "5210", "autowasstraat": "45205", "horeca": "56", "detailhandel": "47"}


def _load(generate_raw, gemeente: str, seed: int, scenario: str = "standaard"):
    from bcba.sources import load_inputs

    folder = generate_raw(gemeente, seed, scenario=scenario)
    inputs = load_inputs(
        gemeente, data_dir=folder, periode=PERIODE, key=bytes.fromhex(TEST_KEY_HEX + "00")
    )
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    cells = inputs.area.cellen[["cel_id", "geometry", "oppervlakte_in_gebied"]]
    events = inputs.partners[inputs.partners["thema"] == "drugs"]
    events = events[~events.geometry.is_empty & events.geometry.notna()]
    kvk = inputs.kvk_vestigingen
    sbi = kvk["sbi_code"].astype(str)
    active = kvk["datum_uitschrijving"].isna() | (
        kvk["datum_uitschrijving"] >= dt.datetime(2024, 1, 1)
    )
    factors = {
        name: kvk[sbi.str.startswith(prefix) & active] for name, prefix in FACTOR_SBI.items()
    }
    exposure = inputs.bag.groupby("cel_id").size()
    return cells, events, factors, exposure, planted


@pytest.mark.parametrize("gemeente", ["GM0489", "GM0597"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_factors_and_hotspot_are_found(generate_raw, gemeente, seed):
    cells, events, factors, exposure, planted = _load(generate_raw, gemeente, seed)
    model = RiskTerrainModel(distances=(100, 200, 300, 400, 500), random_state=seed)
    model.fit(cells, events, factors, exposure=exposure)
    table = model.factors_.set_index("factor")
    for item in planted["rtm_factoren"]:
        assert table.loc[item["factor"], "geselecteerd"], table
        assert table.loc[item["factor"], "rrv"] > 1
    grid = _grid_hotspots(cells, events, exposure, seed)
    hot = grid.set_index("cel_id")["klasse"].str.startswith("Hot spot")
    assert hot.reindex(planted["hotspot"]["cel_ids"]).fillna(False).any()


def _grid_hotspots(cells, events, exposure, seed):
    """Gi* on the cells with addresses (distance band 150 m = queen on a 100 m grid).

    Only cells with addresses can hold events under the null of "uniform per address";
    restricting to them (~950 cells) keeps the FDR-reachable permutation count (2n/q - 1,
    ~38,000) at a few seconds without numba; the full grid would take ~30 s per run.
    """
    counts = count_events(cells, events)
    expo = exposure.reindex(cells["cel_id"]).fillna(0).to_numpy(float)
    keep = expo > 0
    sub = cells[keep].reset_index(drop=True)
    return hotspots(
        sub,
        counts[keep],
        exposure=expo[keep],
        weights="distance",
        distance=150,
        permutations=required_permutations(len(sub), 0.05),
        seed=seed,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_null_scenario_gives_no_grid_hotspot(generate_raw, seed):
    cells, events, factors, exposure, planted = _load(generate_raw, "GM0489", seed, "nul")
    grid = _grid_hotspots(cells, events, exposure, seed)
    hot_significant = grid["significant"] & grid["klasse"].str.startswith("Hot spot")
    assert int(hot_significant.sum()) == 0

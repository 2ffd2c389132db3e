"""Monitoring: score and hot-spot changes between runs, and the intervention before/after table."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from bcba import monitoring
from bcba.config import CRS
from bcba.errors import CRSMismatchError, InputValidationError, MissingInputError
from bcba.io import read_csv, write_csv
from bcba.runs import INCOMPLETE_MARKER, mark_complete

X0, Y0 = 100_000.0, 400_000.0


def _bag() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"postcode": ["1234AB", "1234AB"], "huisnummer": pd.array([1, 2], dtype="Int64")},
        geometry=[Point(X0, Y0), Point(X0 + 50_000, Y0)],
        crs=CRS,
    )


def _events() -> gpd.GeoDataFrame:
    rows = [  # (metres east of intervention 1, date)
        (100, "2024-03-01"),  # inside, before
        (200, "2024-06-30"),  # inside, before
        (50, "2024-08-01"),  # inside, after
        (10, "2024-07-01"),  # on the intervention date: neither
        (20, "2023-12-31"),  # inside but more than 6 months before: not counted
        (500, "2024-02-01"),  # ring, before
        (300, "2024-09-01"),  # ring, after
        (600, "2024-10-01"),  # ring, after
        (700, "2024-12-31"),  # ring, after
        (800, "2024-08-01"),  # beyond the ring
    ]
    return gpd.GeoDataFrame(
        {"datum": pd.to_datetime([d for _, d in rows]), "thema": "drugs"},
        geometry=[Point(X0 + dx, Y0) for dx, _ in rows],
        crs=CRS,
    )


def _interventions() -> pd.DataFrame:
    return monitoring.parse_interventions(
        pd.DataFrame(
            {
                "adres": ["1234 ab 1", "1234AB 2", "9999ZZ 9"],
                "datum": ["01-07-2024", "2024-07-01", "01-07-2024"],
                "type": ["sluiting 13b", "controle", "controle"],
                "partner": ["gemeente", "politie", "politie"],
            }
        )
    )


def test_intervention_before_after_exact_counts():
    eff = monitoring.intervention_effects(
        _interventions(), _events(), _bag(), maanden=6, data_eind=dt.date(2025, 6, 30)
    )
    first = eff.iloc[0]
    assert first["adres"] == "1234AB 1"
    assert first["meldingen_voor_binnen_250m"] == 2
    assert first["meldingen_na_binnen_250m"] == 1
    assert first["meldingen_voor_ring"] == 1
    assert first["meldingen_na_ring"] == 3
    assert first["verschil_gebied"] == -1
    # ring change (3 - 1) scaled to the circle: 250² / (750² - 250²) = 0.125
    assert first["verschil_ring_geschaald"] == pytest.approx(0.25)
    assert first["verschil_in_verschil"] == pytest.approx(-1.25)
    assert bool(first["na_periode_volledig"])
    assert first["opmerking"] == "kleine aantallen: voorzichtig interpreteren"
    second = eff.iloc[1]
    assert second[["meldingen_voor_binnen_250m", "meldingen_na_ring"]].tolist() == [0, 0]
    assert second["verschil_in_verschil"] == 0
    third = eff.iloc[2]
    assert not third["adres_gevonden"]
    assert pd.isna(third["verschil_in_verschil"])
    assert third["opmerking"] == "adres niet gevonden in de BAG"


def test_intervention_after_window_beyond_data_is_marked():
    eff = monitoring.intervention_effects(_interventions(), _events(), _bag(), maanden=6)
    assert not eff.iloc[0]["na_periode_volledig"]  # data end 31-12-2024 < 1-1-2025
    assert eff.iloc[0]["opmerking"] == "na-periode valt deels na het einde van de data"


def test_intervention_rejects_other_crs():
    with pytest.raises(CRSMismatchError):
        monitoring.intervention_effects(_interventions(), _events().to_crs(4326), _bag())


def test_interventions_file_lists_every_bad_row(tmp_path):
    path = tmp_path / "interventies.csv"
    path.write_text(
        "postcode;huisnummer;datum;type;partner\n"
        "2991AB;12;01-02-2025;sluiting;gemeente\n"
        "29AB;12;01-02-2025;sluiting;gemeente\n"
        "2991AB;3;31-02-2025;controle;politie\n",
        encoding="utf-8",
    )
    with pytest.raises(InputValidationError) as err:
        monitoring.read_interventions(path)
    text = str(err.value)
    assert "rij 3, kolom 'adres'" in text
    assert "rij 4, kolom 'datum'" in text and "31-02-2025" in text


def _write_run(folder: Path, scores: dict[str, float], hot_cells: list[str]) -> Path:
    folder.mkdir(parents=True)
    codes = list(scores)
    scores_buurt = pd.DataFrame(
        {
            "buurtcode": codes,
            "buurtnaam": [f"Buurt {c[-1]}" for c in codes],
            "score_drugs": list(scores.values()),
            "rang_drugs": pd.Series(list(scores.values())).rank(ascending=False).astype(int),
        }
    )
    write_csv(scores_buurt, folder / "scores_buurt.csv")
    cells = ["E1000N4000", "E1001N4000", "E1002N4000"]
    klasse = ["Hot spot 99%" if c in hot_cells else "Niet significant" for c in cells]
    gpd.GeoDataFrame(
        {"cel_id": cells, "klasse": klasse},
        geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(3)],
        crs=CRS,
    ).to_file(folder / "hotspots.gpkg", layer="cellen")
    mark_complete(folder)
    return folder


def test_vergelijk_finds_latest_two_runs_and_changes(tmp_path):
    base = tmp_path / "reports" / "GM0489_Barendrecht"
    _write_run(base / "2024-01-15", {"BU1": 1.0, "BU2": 5.0, "BU3": 0.0}, ["E1000N4000"])
    _write_run(base / "2025-01-15", {"BU1": 3.0, "BU2": 5.0, "BU3": 0.0}, ["E1000N4000"])
    _write_run(base / "2026-01-15", {"BU1": 4.0, "BU2": 2.0, "BU3": 0.0}, ["E1002N4000"])
    (base / "2026-02-01").mkdir()  # a failed run without results is ignored
    broken = _write_run(base / "2026-03-01", {"BU1": 9.0}, [])  # and one marked incomplete
    (broken / INCOMPLETE_MARKER).write_text("ONVOLLEDIG")
    result = monitoring.vergelijk("Barendrecht", reports_root=tmp_path / "reports")
    assert result.current.name == "2026-01-15" and result.previous.name == "2025-01-15"
    d = result.details.set_index("buurtcode")
    assert d.loc["BU1", "verschil_score"] == 1.0
    assert d.loc["BU2", "verschil_score"] == -3.0
    assert d.loc["BU1", "verschil_rang"] == 1  # from rank 2 to rank 1
    assert result.hotspots_nieuw["code"].tolist() == ["E1002N4000"]
    assert result.hotspots_verdwenen["code"].tolist() == ["E1000N4000"]
    row = result.summary.set_index("thema").loc["drugs"]
    assert (row["buurten_gestegen"], row["buurten_gedaald"]) == (1, 1)
    assert row["grootste_daling"] == "Buurt 2 (-3,00)"
    assert result.path == base / "2026-01-15" / "vergelijking.csv"
    assert len(read_csv(result.path)) == 3
    section = monitoring.monitoring_section(result).data
    assert "Buurt 2" in section and "Verdwenen hotspots" in section


def test_vergelijk_needs_two_runs(tmp_path):
    base = tmp_path / "reports" / "GM0489_Barendrecht"
    _write_run(base / "2025-01-15", {"BU1": 1.0}, [])
    with pytest.raises(MissingInputError, match="twee nodig"):
        monitoring.vergelijk("GM0489", reports_root=tmp_path / "reports")


def test_vergelijk_with_interventions_uses_processed_data(tmp_path):
    base = tmp_path / "reports" / "GM0489_Barendrecht"
    prev = _write_run(base / "2024-06-01", {"BU1": 1.0}, [])
    cur = _write_run(base / "2025-06-01", {"BU1": 2.0}, [])
    processed = tmp_path / "processed" / "GM0489"
    processed.mkdir(parents=True)
    _events().to_parquet(processed / "partners.parquet")
    _bag().to_parquet(processed / "bag.parquet")
    result = monitoring.vergelijk(
        "GM0489",
        cur,
        prev,
        _interventions().drop(columns="interventie_nr"),
        processed_root=tmp_path / "processed",
    )
    assert result.interventies["meldingen_voor_binnen_250m"].tolist() == [2, 0, 0]
    assert (cur / "interventies_effect.csv").is_file()
    assert monitoring.VOORZICHTIG in monitoring.monitoring_section(result).data


# --------------------------------------------------------------------------- planted change
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels/rtm overflow on tiny data
def test_planted_hotspot_move_is_detected(tmp_path, monkeypatch):
    """Two generator runs with the drugs hot spot in different buurten: the scores follow."""
    from bcba import reference, synthetic
    from bcba.engine import analyse
    from bcba.runs import make_run_config

    monkeypatch.setenv("BCBA_HOME", str(tmp_path))  # processed data into tmp
    buurten = reference.buurten("GM0489").sort_values("aantal_inwoners", ascending=False)
    old_buurt, new_buurt = buurten["buurtcode"].iloc[0], buurten["buurtcode"].iloc[1]
    reports = tmp_path / "reports" / "GM0489_Barendrecht"
    for year, buurt in ((2024, old_buurt), (2025, new_buurt)):
        raw = tmp_path / "raw" / str(year)
        periode = (dt.date(year - 1, 1, 1), dt.date(year, 12, 31))
        synthetic.generate("GM0489", raw, seed=3, periode=periode, scale=0.15, hotspot_buurt=buurt)
        assert json.loads((raw / "planted.json").read_text())["hotspot"]["buurtcode"] == buurt
        cfg = make_run_config(
            gemeente="GM0489",
            data_dir=raw,
            output_dir=reports / f"{year + 1}-01-10",
            periode=periode,
        )
        analyse(cfg)
        mark_complete(cfg.output_dir)
    result = monitoring.vergelijk("GM0489", reports_root=tmp_path / "reports")
    drugs = result.details[result.details["thema"] == "drugs"].set_index("buurtcode")
    assert drugs.loc[old_buurt, "verschil_score"] < 0
    assert drugs.loc[new_buurt, "verschil_score"] > 0
    top_rise = drugs["verschil_score"].idxmax()
    top_fall = drugs["verschil_score"].idxmin()
    assert (top_rise, top_fall) == (new_buurt, old_buurt)
    assert drugs.loc[new_buurt, "verschil_rang"] > 0

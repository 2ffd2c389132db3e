"""The regional overview: measures from hand-made result folders and the rendered report."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from bcba import regional
from bcba.errors import InputValidationError, MissingInputError
from bcba.maps.palette import MARKING

# (code, folder name, addresses per buurt, risk-branch establishments, flags, partner events)
FAKE = [
    ("GM0489", "GM0489_Barendrecht", [400, 600], [10, 20], 5, [3, 7]),
    ("GM0597", "GM0597_Ridderkerk", [1000], [4], 1, [2]),
    ("GM0613", "GM0613_Albrandswaard", [500], [0], 0, [0]),
]


def _write_run(root: Path, code: str, name: str, adressen, gelegenheid, vlaggen, meldingen) -> Path:
    folder = root / name / "2025-03-01"
    folder.mkdir(parents=True)
    buurten = [f"BU{code[2:]}{i:04d}" for i in range(len(adressen))]
    pd.DataFrame({"buurtcode": buurten, "adressen": adressen, "score_drugs": 0.0}).to_csv(
        folder / "scores_buurt.csv", index=False
    )
    pd.DataFrame({"gebied": buurten, "groep": "horeca", "n": gelegenheid}).to_csv(
        folder / "gelegenheid_buurt.csv", index=False
    )
    pd.DataFrame({"flag_id": ["KVK_WOONADRES"] * vlaggen}).to_csv(
        folder / "vlaggen.csv", index=False
    )
    pd.DataFrame({"gebied": buurten, "thema": "drugs", "meldingen": meldingen}).to_csv(
        folder / "partners_buurt.csv", index=False
    )
    pd.DataFrame(
        {
            "thema": ["drugs", "omg", "drugs"],
            "wijkcode": ["gemeente", "gemeente", "WK000101"],
            "n": [30, 4, 12],
            "gemiddelde": [3.5, 2.0, 4.5],
            "onderdrukt": [False, True, False],
        }
    ).to_csv(folder / "enquete_percepties.csv", index=False)
    return folder


@pytest.fixture
def results_root(tmp_path) -> Path:
    root = tmp_path / "reports"
    for code, name, *rest in FAKE:
        _write_run(root, code, name, *rest)
    # an older run of Barendrecht that must not be chosen
    old = root / "GM0489_Barendrecht" / "2024-03-01"
    old.mkdir()
    pd.DataFrame({"buurtcode": ["X"], "adressen": [1]}).to_csv(
        old / "scores_buurt.csv", index=False
    )
    return root


def test_latest_run_folders_picks_newest_date(results_root):
    found = regional.latest_run_folders(results_root)
    assert sorted(found) == ["GM0489", "GM0597", "GM0613"]
    assert found["GM0489"].name == "2025-03-01"


def test_measures_are_normalised_per_inhabitant_and_address(results_root):
    frame = regional.regional_measures(regional.latest_run_folders(results_root)).set_index(
        "gemeentecode"
    )
    inw = regional.gemeente_polygonen(["GM0489"]).set_index("gemeentecode")["aantal_inwoners"]
    bar = frame.loc["GM0489"]
    assert bar["inwoners"] == inw["GM0489"]
    assert bar["vlaggen_per_1000_adressen"] == pytest.approx(5 / 1000 * 1000)
    assert bar["risicobranches_per_10k_inw"] == pytest.approx(30 / inw["GM0489"] * 10_000)
    assert bar["partnermeldingen_per_1000_inw"] == pytest.approx(10 / inw["GM0489"] * 1000)
    # suppressed municipality-wide perception (omg) and wijk rows are left out
    assert bar["perceptie_drugs"] == 3.5
    assert pd.isna(bar.get("perceptie_omg"))
    assert bar["perceptie_gemiddeld"] == 3.5
    assert frame.loc["GM0613", "vlaggen_per_1000_adressen"] == 0.0


def test_no_results_gives_dutch_error(tmp_path):
    with pytest.raises(MissingInputError, match="Geen resultaten"):
        regional.regional_measures(regional.latest_run_folders(tmp_path))


def test_aanpak_csv_rejects_other_values_with_row_numbers(tmp_path):
    path = tmp_path / "aanpak.csv"
    frame = regional.read_aanpak()
    assert len(frame) == 23
    frame.loc[1, "beleid_13b"] = "misschien"
    frame.to_csv(path, index=False)
    with pytest.raises(InputValidationError, match=r"rij 3, kolom 'beleid_13b'.*misschien"):
        regional.read_aanpak(path)


def test_aanpak_table_is_colour_coded():
    aanpak = pd.DataFrame(
        {
            "gemeentecode": ["GM0489", "GM0597"],
            "bibob_beleid": ["ja", "nee"],
            "bibob_sectoren": ["horeca;vastgoed", ""],
            "programma_ondermijning": ["nee", ""],
            "beleid_13b": ["ja", "ja"],
            "training_gedaan": ["nee", "ja"],
            "peildatum": ["2025-01-01", "2025-01-01"],
        }
    )
    page = regional.aanpak_tabel_html(aanpak)
    assert page.count('class="bcba-ja"') == 4
    assert page.count('class="bcba-nee"') == 3
    assert page.count('class="bcba-onbekend"') == 1
    assert "horeca, vastgoed" in page
    assert page.index("Barendrecht") < page.index("Ridderkerk")


@pytest.mark.slow
def test_regional_report_renders_offline_with_marking(results_root, tmp_path):
    out = regional.run_regional_report(results_root=results_root, output_dir=tmp_path / "regio")
    page = out.read_text(encoding="utf-8")
    assert MARKING in page
    assert "Stand van de bestuurlijke aanpak" in page
    assert 'class="bcba-ja"' in page and 'class="bcba-nee"' in page
    for naam in ("Barendrecht", "Ridderkerk", "Albrandswaard"):
        assert naam in page
    assert "illustratief voorbeeld" in page
    # nothing remote: no http(s) src/href outside the text (render_html checks too)
    assert not re.search(r"""(src|href)=["']https?://""", page)
    # the interactive map (iframe srcdoc) is there, with its static twin
    assert page.count("bcba-map-frame") == 3
    assert page.count("data:image/png;base64") >= 3

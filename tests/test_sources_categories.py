"""Partners' own categories: mapped to theme ids, unmapped ones kept as 'overig' and named."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from sources_fixtures import KEY, PERIODE, make_raw_dir, write_csv

from bcba.errors import InputValidationError
from bcba.indicators.partners import events_by_theme
from bcba.sources import categories, load_inputs, read_partners, validate
from bcba.sources._read import fold_header
from bcba.themes import THEME_IDS, load_themes

GEMEENTE_HEADER = "bron;categorie;datum;postcode;huisnummer;omschrijving"


def _gemeente_rows(n_overlast: int = 153) -> list[str]:
    rows = [
        f"gemeente;overlast;0{1 + i % 9}-05-2024;2991AA;1;melding {i}" for i in range(n_overlast)
    ]
    rows += [
        "gemeente;Drugsoverlast;02-05-2024;2991AB;5;",
        "gemeente;Opiumwet (harddrugs);03-05-2024;2991AB;5;",
        "gemeente;mensenhandel;04-05-2024;2992XA;3;",
        "gemeente;woonoverlast;05-05-2024;2992XA;3;",
        "gemeente;;06-05-2024;2992XA;3;",
    ]
    return rows


@pytest.fixture
def raw(tmp_path):
    raw = make_raw_dir(tmp_path / "raw")
    write_csv(raw / "partners" / "gemeente.csv", GEMEENTE_HEADER, _gemeente_rows())
    return raw


def _kw(inputs, controle):
    kw = inputs.kwaliteit
    return kw[(kw["bron"] == "partners") & (kw["controle"] == controle)]


def test_delivery_with_own_categories_validates_and_names_them(raw):
    table = validate("GM0489", data_dir=raw, periode=PERIODE, key=KEY)  # no error
    assert (table["Controle"] == "categorie niet gekoppeld").sum() == 2
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    gem = inputs.partners[inputs.partners["bron_bestand"] == "gemeente.csv"]
    assert len(gem) == 158  # nothing dropped
    assert gem["thema"].value_counts().to_dict() == {
        "overig": 155,  # 153 overlast, 1 woonoverlast, 1 without a category
        "drugs": 2,
        "mensenhandel": 1,
    }
    assert gem["categorie_bron"].iloc[0] == "overlast"  # the partner's own word is kept
    assert gem["categorie_bron"].iloc[-1] is pd.NA or pd.isna(gem["categorie_bron"].iloc[-1])
    unmapped = _kw(inputs, "categorie niet gekoppeld").set_index("aantal")["toelichting"]
    assert sorted(unmapped.index) == [1, 153]
    assert "'overlast' van gemeente" in unmapped[153] and "partners_mapping.yaml" in unmapped[153]
    assert "'woonoverlast'" in unmapped[1]
    assert _kw(inputs, "categorie ontbreekt")["toelichting"].str.contains("rij 159").all()
    lines = categories.warnings(inputs.categorieen)
    assert lines[0].startswith("partners/gemeente: categorie 'overlast' (153 meldingen")
    assert len(lines) == 2
    table = inputs.categorieen.set_index(["partner", "categorie"])
    assert table.loc[("gemeente", "Opiumwet (harddrugs)"), "thema"] == "drugs"
    assert bool(table.loc[("gemeente", "Opiumwet (harddrugs)"), "gekoppeld"])
    assert table.loc[("gemeente", "overlast"), "aantal"] == 153


def test_overig_events_count_for_no_theme(raw):
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    events = events_by_theme(inputs.partners, load_themes(), periode=PERIODE)
    counted = events[events["bron_bestand"] == "gemeente.csv"]
    assert counted["thema_id"].value_counts().to_dict() == {"drugs": 2, "mensenhandel": 1}
    assert (counted["thema"] != "overig").all()


def test_overig_event_with_a_known_soort_counts_for_no_theme(tmp_path):
    path = write_csv(
        tmp_path / "politie.csv",
        "bron;thema;soort;datum;x;y",
        ["politie;overlast;drugshandel;01-05-2024;96900;429550"],
    )
    frame = read_partners([path]).frame
    assert frame["thema"].tolist() == ["overig"]
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=28992)
    assert events_by_theme(gdf, load_themes()).empty


def test_analyst_mapping_overrides_per_partner_and_for_all(raw):
    (raw / "partners_mapping.yaml").write_text(
        "gemeente:\n  Overlast: drugs\n  'Opiumwet (harddrugs)': overig\n"
        "alle_bronnen:\n  woon-overlast: overig\npolitie:\n  overlast: mensenhandel\n",
        encoding="utf-8",
    )
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    gem = inputs.partners[inputs.partners["bron_bestand"] == "gemeente.csv"]
    by_cat = gem.groupby("categorie_bron", dropna=False)["thema"].first().to_dict()
    assert by_cat["overlast"] == "drugs"  # gemeente's own section, case-insensitive
    assert by_cat["Opiumwet (harddrugs)"] == "overig"  # the analyst's word beats the default
    assert by_cat["woonoverlast"] == "overig"  # alle_bronnen, dash ignored
    assert categories.warnings(inputs.categorieen) == []  # every category was decided
    assert _kw(inputs, "categorie niet gekoppeld").empty
    assert "partners_mapping.yaml" in set(inputs.manifest["bestand"])


def test_skeleton_lists_every_unmapped_category_and_round_trips(raw):
    odd = ["Drugs: hard/soft", "ja", "123", 'zeg "hoi"', "# geen commentaar"]
    write_csv(
        raw / "partners" / "politie2.csv",
        "bron;thema;datum;x;y",
        [f"Politie Eenheid;{c};01-05-2024;96900;429550" for c in odd],
    )
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    text = categories.mapping_skeleton(inputs.categorieen)
    assert text.startswith("# partners_mapping.yaml") and "Vervang 'overig'" in text
    parsed = yaml.safe_load(text)
    assert parsed == {
        "gemeente": {"overlast": "overig", "woonoverlast": "overig"},
        "Politie Eenheid": dict.fromkeys(odd, "overig"),
    }
    # the analyst fills it in and puts it in the input folder: nothing is unmapped any more
    parsed["gemeente"]["overlast"] = "drugs"
    (raw / "partners_mapping.yaml").write_text(yaml.safe_dump(parsed), encoding="utf-8")
    again = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert categories.unmapped(again.categorieen).empty
    assert categories.mapping_skeleton(again.categorieen).endswith(
        "# Er zijn geen ongekoppelde categorieën.\n"
    )
    gem = again.partners[again.partners["categorie_bron"] == "overlast"]
    assert (gem["thema"] == "drugs").all() and len(gem) == 153


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("gemeente:\n  overlast: criminaliteit\n", "onbekend thema bij categorie 'overlast'"),
        ("gemeente: [overlast, drugs]\n", "onder 'gemeente' horen regels"),
        ("gemeente:\n  overlast: drugs\n bad: indent\n", "geen geldige YAML"),
        ("- drugs\n", "niet de verwachte opbouw"),
    ],
)
def test_bad_mapping_file_is_a_clear_error(raw, text, check):
    (raw / "partners_mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputValidationError) as info:
        load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    problems = [p for p in info.value.problems if p.file == "partners_mapping.yaml"]
    assert len(problems) == 1 and check in problems[0].check and problems[0].fix


def test_shipped_mapping_agrees_with_the_theme_configuration():
    # every partner_thema/partner_soort word of the default themes.yaml maps to its theme
    mapping = categories.load_mapping()
    themes = load_themes()
    for tid, theme in themes.themas.items():
        for word in [tid, *theme.partner_thema, *theme.partner_soort]:
            assert mapping.lookup("elke partner", word) == (tid, True), (tid, word)
    assert set(mapping.table[""].values()) <= set(THEME_IDS)
    # the categories named in the issue
    for word, tid in [
        ("drugsoverlast", "drugs"),
        ("Opiumwet", "drugs"),
        ("mensenhandel", "mensenhandel"),
    ]:
        assert mapping.lookup("politie", word)[0] == tid
    for word in ("overlast", "woonoverlast"):
        assert mapping.lookup("politie", word) == (None, False)


def test_only_a_soort_column_is_enough_and_thema_wins_over_soort(tmp_path):
    path = write_csv(
        tmp_path / "handhaving.csv",
        "thema;soort;datum;x;y",
        [
            ";hennepkwekerij;01-05-2024;96900;429550",
            "vastgoed;hennepkwekerij;01-05-2024;96900;429550",
            "OMG;;01-05-2024;96900;429550",
        ],
    )
    frame = read_partners([path]).frame
    assert frame["thema"].tolist() == ["drugs", "vastgoed_witwassen", "omg"]
    assert frame["categorie_bron"].tolist() == ["hennepkwekerij", "vastgoed", "OMG"]
    assert frame["bron"].tolist() == ["handhaving"] * 3
    none = write_csv(tmp_path / "geen.csv", "datum;x;y", ["01-05-2024;96900;429550"])
    with pytest.raises(InputValidationError, match="kolom 'thema'"):
        read_partners([none])


def test_survey_signal_themes_and_departments_are_mapped(tmp_path):
    raw = make_raw_dir(tmp_path / "raw")
    survey = (raw / "enquete.csv").read_text(encoding="utf-8")
    survey = survey.replace(";drugs;Dorpsstraat", ";Zorgen over de buurt;Dorpsstraat")
    survey = survey.replace(";vastgoed_witwassen;Kerkweg", ";Witwassen;Kerkweg")
    (raw / "enquete.csv").write_text(survey, encoding="utf-8")
    mapping = (raw / "enquete_mapping.yaml").read_text(encoding="utf-8")
    mapping += 'afdelingen:\n  "handhaving": "VTH"\n  "Vergunningen": "VTH"\n'
    (raw / "enquete_mapping.yaml").write_text(mapping, encoding="utf-8")
    inputs = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    sig = inputs.enquete.signalen
    assert sig["thema"].tolist() == ["overig", "vastgoed_witwassen"]
    assert sig["categorie_bron"].tolist() == ["Zorgen over de buurt", "Witwassen"]
    perc = inputs.enquete.percepties.drop_duplicates("respondent_id").sort_values("respondent_id")
    assert perc["afdeling"].tolist() == ["VTH", "Burgerzaken", "VTH"]
    assert perc["afdeling_bron"].tolist() == ["Handhaving", "Burgerzaken", "Vergunningen"]
    kw = inputs.kwaliteit[inputs.kwaliteit["bron"] == "enquete"].set_index("controle")
    assert "'Burgerzaken'" in kw.loc["afdeling niet gekoppeld", "toelichting"]
    assert (
        "'Zorgen over de buurt' in de enquête" in kw.loc["categorie niet gekoppeld", "toelichting"]
    )
    assert categories.warnings(inputs.categorieen) == [
        "enquête (signaalthema): categorie 'Zorgen over de buurt' (1 signaal, enquete.csv) hoort "
        "bij geen thema en telt als 'overig'; koppel haar in partners_mapping.yaml."
    ]
    (raw / "partners_mapping.yaml").write_text(
        'enquete:\n  "zorgen over de buurt": drugs\n', encoding="utf-8"
    )
    again = load_inputs("GM0489", data_dir=raw, periode=PERIODE, key=KEY)
    assert again.enquete.signalen["thema"].tolist() == ["drugs", "vastgoed_witwassen"]


def test_classify_is_one_theme_per_category_and_partner():
    mapping = categories.load_mapping()
    partner = pd.Series(["a", "a", "b", "b"], dtype="str")
    thema = pd.Series(["Overlast", "overlast ", "Hennep", None], dtype="str")
    soort = pd.Series([None, "drugshandel", None, "clubhuis"], dtype="str")
    out = categories.classify(partner, [thema, soort], mapping)
    assert out["thema"].tolist() == ["overig", "overig", "drugs", "omg"]
    assert out["gekoppeld"].tolist() == [False, False, True, True]
    assert fold_header(out["categorie_bron"].iloc[1]) == "overlast"

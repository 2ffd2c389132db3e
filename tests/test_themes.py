"""Theme configuration: default loads, overrides merge, bad configs give Dutch errors."""

from __future__ import annotations

import pandas as pd
import pytest

from bcba.errors import ConfigError
from bcba.themes import THEME_IDS, load_themes


def test_default_has_fixed_themes_and_real_sbi_codes():
    themes = load_themes()
    assert tuple(themes.themas) == THEME_IDS
    assert themes.categorieen["shishalounge"].sbi == ["5630"]
    assert themes.categorieen["kweek_tuinbouw"].sbi == ["0113", "0119", "4622", "4776"]
    for theme in themes.themas.values():
        assert theme.label and theme.interventies, theme
        assert set(theme.categorieen) <= set(themes.categorieen)


def test_prefix_match_and_keyword_refinement():
    themes = load_themes()
    cats = themes.match_categories(
        pd.Series(["56301", "5630", "56101", "4520", "01131"]),
        pd.Series(["Shisha Palace", "Café De Hoek", "Pizzeria", "Garage", "Kwekerij"]),
    )
    assert cats["shishalounge"].tolist() == [True, False, False, False, False]
    assert cats["horeca"].tolist() == [True, True, True, False, False]
    assert cats["kweek_tuinbouw"].tolist() == [False, False, False, False, True]
    assert not cats["autowasstraat"].any()  # 4520 is not 45205


def test_user_yaml_merges_over_default(tmp_path):
    user = tmp_path / "eigen.yaml"
    user.write_text(
        "versie: '2025.1-rotterdam'\n"
        "themas:\n  drugs:\n    gewichten: {partner_per_1000_adressen: 3.0}\n"
        "categorieen:\n  taxi: {label: Taxi's, sbi: ['4932', '4939']}\n",
        encoding="utf-8",
    )
    themes = load_themes(user)
    assert themes.versie == "2025.1-rotterdam"
    assert themes.weights("drugs")["partner_per_1000_adressen"] == 3.0
    assert themes.weights("drugs")["kansstructuur_lq"] == 1.0  # default kept
    assert themes.categorieen["taxi"].sbi == ["4932", "4939"]
    assert themes.themas["drugs"].label == "Drugs (incl. hennep)"  # untouched keys kept


def test_unknown_sbi_code_is_a_dutch_error(tmp_path):
    user = tmp_path / "fout.yaml"
    user.write_text("categorieen:\n  taxi: {label: Taxi, sbi: ['49329']}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"onbekende SBI-code\(s\) 49329"):
        load_themes(user)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("themas:\n  fietsendiefstal: {label: Fietsen}\n", "onbekende thema-id"),
        ("themas:\n  drugs: {categorieen: [bestaat_niet]}\n", "onbekende categorie 'bestaat_niet'"),
        ("themas:\n  drugs: {vlaggen: [KVK_ONZIN]}\n", "onbekende vlag"),
        ("themas:\n  drugs: {gewichten: {geluk: 1}}\n", "onbekende indicator 'geluk'"),
        ("versie: [\n", "geen geldige YAML"),
    ],
)
def test_invalid_configs_are_rejected(tmp_path, text, message):
    user = tmp_path / "fout.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_themes(user)


def test_missing_user_file(tmp_path):
    with pytest.raises(ConfigError, match="niet gevonden"):
        load_themes(tmp_path / "nergens.yaml")


def test_partner_event_gets_one_theme_thema_first_then_soort():
    themes = load_themes()
    got = themes.partner_theme(
        pd.Series(["Drugs", None, None, "bedrijventerreinen", "x", "overig"]),
        pd.Series(["", "hennepkwekerij", "clubhuis", "drugslab", "y", "hennepkwekerij"]),
    )
    # the 4th names bedrijventerreinen in its thema and a drugs kind in its soort: thema wins
    assert got.tolist()[:4] == ["drugs", "drugs", "omg", "bedrijventerreinen"]
    assert pd.isna(got.iloc[4])
    # 'overig' is a partner category mapped to no theme: its soort does not make it count
    assert pd.isna(got.iloc[5])


def test_a_partner_value_may_belong_to_one_theme_only(tmp_path):
    user = tmp_path / "dubbel.yaml"
    user.write_text(
        "themas:\n  omg: {partner_soort: [clubhuis, hennepkwekerij]}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="'hennepkwekerij' staat bij thema drugs en bij omg"):
        load_themes(user)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("kwetsbaarheid", "contextlaag"),
        ("kansstructuur_dichtheid", "dezelfde vestigingen als kansstructuur_lq"),
    ],
)
def test_retired_indicators_cannot_be_weighted(tmp_path, name, message):
    user = tmp_path / "oud.yaml"
    user.write_text(f"standaard_gewichten: {{{name}: 0.5}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_themes(user)


def test_each_flag_feeds_only_the_themes_its_rule_names():
    themes = load_themes()
    assert themes.themes_of_flag("KAD_ZONDER_HYPOTHEEK") == ["vastgoed_witwassen"]
    # no flag feeds more than two themes (docs/method.md, par. 8 gives the reason per flag)
    from bcba.themes import FLAG_IDS

    assert max(len(themes.themes_of_flag(f)) for f in FLAG_IDS) <= 2

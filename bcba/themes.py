"""Theme and opportunity-structure configuration (``bcba/defaults/themes.yaml``).

The default YAML ships with the package; a user YAML given per run is deep-merged over it
(mappings merge per key, lists and scalars replace). The result is validated with pydantic:
fixed theme ids, SBI codes that exist in SBI 2008, categories and flags that exist.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bcba import reference
from bcba.config import DEFAULTS_DIR
from bcba.errors import ConfigError

DEFAULT_THEMES = DEFAULTS_DIR / "themes.yaml"

#: The fixed theme ids (docs/architecture.md).
THEME_IDS: tuple[str, ...] = (
    "drugs",
    "mensenhandel",
    "vastgoed_witwassen",
    "omg",
    "kwetsbare_branches",
    "bedrijventerreinen",
    "recreatieparken",
)

#: Flag ids this package computes or that the network module adds.
FLAG_IDS: tuple[str, ...] = (
    "KVK_VEEL_INSCHRIJVINGEN",
    "KVK_VERLOOP_ADRES",
    "KVK_NIEUW_RISICOBRANCHE",
    "KVK_WOONADRES",
    "KVK_KORT_BESTAAN",
    "KVK_FUNCTIONARIS_VEEL",
    "KAD_ABC",
    "KAD_PRIJS_WOZ",
    "KAD_ZONDER_HYPOTHEEK",
    "KAD_JONGE_RECHTSPERSOON",
    "KAD_VEEL_AANKOPEN",
    "NET_STROMAN",
    "NET_ADRES_HUB",
    "NET_CARROUSEL",
    "NET_VASTGOED_JONGE_BV",
    "NET_GEDEELDE_FUNCTIONARIS",
)

#: Indicators of the composite score that a theme may weight.
INDICATORS: tuple[str, ...] = (
    "kansstructuur_lq",
    "vlaggen_index",
    "partner_per_1000_adressen",
    "enquete_vermeldingen",
)

#: Indicators that no longer enter any score, with the Dutch reason given when a YAML weights
#: them (docs/method.md, section 8).
RETIRED_INDICATORS: dict[str, str] = {
    "kansstructuur_dichtheid": (
        "telt dezelfde vestigingen als kansstructuur_lq en zou ze dubbel tellen; de dichtheid "
        "staat als context in de tabel gelegenheidsstructuren"
    ),
    "kwetsbaarheid": (
        "is een contextlaag (sociaal-economische kwetsbaarheid), geen risicoterm: zij telt niet "
        "mee in een score"
    ),
}


@functools.cache
def _sbi_codes() -> frozenset[str]:
    return frozenset(reference.sbi2008()["sbi_code"].astype(str))


class Category(BaseModel):
    """An opportunity-structure category: SBI prefixes, optionally refined by name keywords."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    sbi: list[str] = Field(min_length=1)
    trefwoorden: str | None = None

    @field_validator("sbi", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v).replace(".", "").strip() for v in value]
        return value

    @field_validator("sbi")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in _sbi_codes()]
        if unknown:
            raise ValueError(
                f"onbekende SBI-code(s) {', '.join(unknown)}: gebruik codes uit SBI 2008 zonder "
                'punten en met voorloopnullen, als tekst tussen aanhalingstekens (bijv. "0113")'
            )
        return value

    @field_validator("trefwoorden")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"ongeldige reguliere expressie {value!r}: {exc}") from exc
        return value


class Intervention(BaseModel):
    """A barrier-model intervention option (Dutch text for the report)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stap: str
    partner: str
    instrument: str
    omschrijving: str = ""


class Theme(BaseModel):
    """One B-CBA theme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1)
    omschrijving: str = ""
    categorieen: list[str] = Field(default_factory=list)
    vlaggen: list[str] = Field(default_factory=list)
    partner_thema: list[str] = Field(default_factory=list)
    partner_soort: list[str] = Field(default_factory=list)
    enquete_thema: str | None = None
    interventies: list[Intervention] = Field(default_factory=list)
    gewichten: dict[str, float] = Field(default_factory=dict)

    @field_validator("vlaggen")
    @classmethod
    def _flags(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in FLAG_IDS]
        if unknown:
            raise ValueError(
                f"onbekende vlag(gen) {', '.join(unknown)}; toegestaan: {', '.join(FLAG_IDS)}"
            )
        return value


class ThemeConfig(BaseModel):
    """The validated theme configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    versie: str
    categorieen: dict[str, Category]
    risicobranches: list[str] = Field(default_factory=list)
    standaard_gewichten: dict[str, float] = Field(default_factory=dict)
    themas: dict[str, Theme]

    @field_validator("versie", mode="before")
    @classmethod
    def _versie_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _consistent(self) -> ThemeConfig:
        problems = []
        unknown_themes = sorted(set(self.themas) - set(THEME_IDS))
        if unknown_themes:
            problems.append(
                f"onbekende thema-id(s) {', '.join(unknown_themes)}; toegestaan: {', '.join(THEME_IDS)}"
            )
        missing = [t for t in THEME_IDS if t not in self.themas]
        if missing:
            problems.append(f"thema('s) ontbreken: {', '.join(missing)}")
        for cat in self.risicobranches:
            if cat not in self.categorieen:
                problems.append(f"risicobranches: onbekende categorie {cat!r}")
        for name in self.standaard_gewichten:
            problems.extend(_weight_problem("standaard_gewichten", name))
        problems.extend(self._partner_mapping_problems())
        for tid, theme in self.themas.items():
            for cat in theme.categorieen:
                if cat not in self.categorieen:
                    problems.append(f"thema {tid}: onbekende categorie {cat!r}")
            for name in theme.gewichten:
                problems.extend(_weight_problem(f"thema {tid}: gewichten", name))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _partner_mapping_problems(self) -> list[str]:
        """Each partner ``thema``/``soort`` value may point at one theme only (one event, one
        theme); a theme id counts as a ``thema`` value of its own theme."""
        problems = []
        for field_name in ("partner_thema", "partner_soort"):
            owner: dict[str, str] = {}
            if field_name == "partner_thema":
                owner = {tid.lower(): tid for tid in self.themas}
            for tid, theme in self.themas.items():
                for value in getattr(theme, field_name):
                    key = value.strip().lower()
                    if owner.get(key, tid) != tid:
                        problems.append(
                            f"{field_name}: {value!r} staat bij thema {owner[key]} en bij {tid}; "
                            "een partnermelding telt voor één thema, noem de waarde bij één thema"
                        )
                    owner.setdefault(key, tid)
        return problems

    # -- helpers -----------------------------------------------------------------------------
    def weights(self, theme: str) -> dict[str, float]:
        """The score weights of a theme (``totaal``: the defaults), the theme's own over the
        defaults."""
        own = self.themas[theme].gewichten if theme in self.themas else {}
        merged = {**self.standaard_gewichten, **own}
        return {k: float(v) for k, v in merged.items() if k in INDICATORS}

    def match_categories(
        self, sbi_code: pd.Series, handelsnaam: pd.Series | None = None
    ) -> pd.DataFrame:
        """Boolean frame (rows of ``sbi_code`` x categories): does each establishment belong?

        A category code matches every SBI code that starts with it. When the category has
        ``trefwoorden`` the trade name must match them too (case-insensitive).
        """
        codes = sbi_code.astype("string").str.replace(".", "", regex=False).str.strip().fillna("")
        names = (
            handelsnaam.astype("string").fillna("")
            if handelsnaam is not None
            else pd.Series("", index=sbi_code.index, dtype="string")
        )
        out = {}
        for cid, cat in self.categorieen.items():
            hit = np.zeros(len(codes), dtype=bool)
            for prefix in cat.sbi:
                hit |= codes.str.startswith(prefix).to_numpy(dtype=bool)
            if cat.trefwoorden:
                hit &= names.str.contains(cat.trefwoorden, case=False, regex=True).to_numpy(
                    dtype=bool
                )
            out[cid] = hit
        return pd.DataFrame(out, index=sbi_code.index)

    def is_risk_branch(
        self, sbi_code: pd.Series, handelsnaam: pd.Series | None = None
    ) -> pd.Series:
        """Whether each establishment is in a risk branch (``risicobranches``)."""
        cats = self.match_categories(sbi_code, handelsnaam)
        if not self.risicobranches:
            return pd.Series(False, index=sbi_code.index)
        return cats[self.risicobranches].any(axis=1)

    def themes_of_flag(self, flag_id: str) -> list[str]:
        """The theme ids that use a flag."""
        return [tid for tid, t in self.themas.items() if flag_id in t.vlaggen]

    def partner_theme(self, thema: pd.Series, soort: pd.Series) -> pd.Series:
        """The one theme id of each partner event (NA when it matches no theme).

        The event's ``thema`` decides (the theme id itself or a value in ``partner_thema``);
        only when it names no theme does its ``soort`` (``partner_soort``) decide. Matching is
        case-insensitive. An event whose ``thema`` is ``overig`` (a partner category mapped to
        no theme) counts for none. The configuration guarantees each value belongs to one
        theme, so an event never counts for two themes (docs/method.md, section 6).
        """
        th = thema.astype("string").str.strip().str.lower()
        so = soort.astype("string").str.strip().str.lower()
        by_thema = {tid.lower(): tid for tid in self.themas}
        by_soort: dict[str, str] = {}
        for tid, t in self.themas.items():
            by_thema.update({v.strip().lower(): tid for v in t.partner_thema})
            by_soort.update({v.strip().lower(): tid for v in t.partner_soort})
        out = th.map(by_thema).astype("string")
        # 'overig' is the analyst's word for "none of the themes" (partners_mapping.yaml):
        # such an event counts for no theme, whatever its soort
        by_kind = so.map(by_soort).astype("string").where(th.fillna("").ne("overig").to_numpy(bool))
        return out.fillna(by_kind).rename("thema_id")


def _weight_problem(where: str, name: str) -> list[str]:
    if name in INDICATORS:
        return []
    if name in RETIRED_INDICATORS:
        return [f"{where}: {name} {RETIRED_INDICATORS[name]}; haal het gewicht weg"]
    return [f"{where}: onbekende indicator {name!r}; toegestaan: {', '.join(INDICATORS)}"]


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"Themaconfiguratie niet gevonden: {path}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Themaconfiguratie {path} is geen geldige YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Themaconfiguratie {path} moet een mapping (sleutel: waarde) zijn.")
    return data


def load_themes(path: Path | str | None = None) -> ThemeConfig:
    """Load the theme configuration: the shipped default, with ``path`` merged over it.

    Parameters
    ----------
    path
        Optional user YAML. Mappings merge per key; lists and scalars replace the default.

    Returns
    -------
    ThemeConfig

    Raises
    ------
    ConfigError
        With a Dutch message listing every problem (unknown SBI codes, theme ids, ...).
    """
    data = _read_yaml(DEFAULT_THEMES)
    source = str(DEFAULT_THEMES.name)
    if path is not None:
        data = _deep_merge(data, _read_yaml(Path(path)))
        source = f"{DEFAULT_THEMES.name} + {Path(path).name}"
    try:
        return ThemeConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(hoofdniveau)"
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"  - {where}: {msg}")
        raise ConfigError(f"Themaconfiguratie ({source}) afgekeurd:\n" + "\n".join(lines)) from None

"""Partners' own categories mapped to the seven theme ids (``partners_mapping.yaml``).

Partners deliver their own vocabulary (``overlast``, ``Opiumwet (harddrugs)``,
``woonoverlast``…). The shipped ``bcba/defaults/partners_mapping.yaml`` maps common Dutch
categories; an analyst's ``partners_mapping.yaml`` in the input folder is merged over it.
A category found nowhere becomes ``overig``: the record is kept, counts for no theme, and is
listed per category (kwaliteit table, :func:`warnings`, :func:`mapping_skeleton`) so the
analyst can map it. The same mapping (section ``enquete``) maps the themes respondents give
to their signals in the survey.

File format (keys are matched ignoring case, accents, spaces and punctuation)::

    alle_bronnen:            # every partner
      drugsoverlast: drugs
    politie:                 # only bron 'politie' (column 'bron', else the file name)
      overlast: overig

Look-up order for one category: the partner's own section, then ``alle_bronnen``, then the
theme ids themselves (``drugs`` is always ``drugs`` unless a section says otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bcba.config import DEFAULTS_DIR
from bcba.errors import InputValidationError
from bcba.sources._read import Problems, fold_header
from bcba.themes import THEME_IDS

MAPPING_FILE = "partners_mapping.yaml"
DEFAULT_MAPPING = DEFAULTS_DIR / MAPPING_FILE
#: section that applies to every partner
ALL_SOURCES = "alle_bronnen"
#: section for the themes of survey signals (and the ``partner`` of those rows)
SURVEY = "enquete"
OVERIG = "overig"
TARGETS: tuple[str, ...] = (*THEME_IDS, OVERIG)
#: columns of the category table (``Inputs.categorieen``)
CATEGORY_COLUMNS = ["bron", "partner", "categorie", "thema", "gekoppeld", "aantal", "bestand"]

_UNMAPPED = "categorie niet gekoppeld"
_MISSING = "categorie ontbreekt"


@dataclass(frozen=True)
class CategoryMapping:
    """Folded partner -> folded category -> theme id or ``overig`` (``""``: all partners)."""

    table: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: the analyst's mapping file when one was read (for the manifest)
    path: Path | None = None

    def lookup(self, partner: object, category: object) -> tuple[str | None, bool]:
        """(theme id or ``overig`` or None, whether a mapping entry said so)."""
        if category is None or category is pd.NA or str(category).strip() == "":
            return None, False
        cat = fold_header(category)
        for section in (fold_header(partner) if partner is not None else "", ""):
            own = self.table.get(section, {})
            if cat in own:
                return own[cat], True
        theme = _THEME_BY_FOLD.get(cat)
        return theme, theme is not None


_THEME_BY_FOLD = {fold_header(t): t for t in THEME_IDS}
_TARGET_BY_FOLD = {fold_header(t): t for t in TARGETS}


def _read_yaml(path: Path, problems: Problems) -> dict[str, dict[str, str]]:
    """The sections of one mapping file, folded; problems added for every bad entry."""
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        problems.add(
            name,
            f"koppelbestand is geen geldige YAML ({type(exc).__name__})",
            fix="Controleer inspringing en aanhalingstekens (zie de datadictionary)",
        )
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add(
            name,
            "koppelbestand heeft niet de verwachte opbouw",
            fix="Zet per bron (of onder 'alle_bronnen:') regels 'categorie: thema'",
        )
        return {}
    table: dict[str, dict[str, str]] = {}
    for partner, entries in data.items():
        section = "" if fold_header(partner) == fold_header(ALL_SOURCES) else fold_header(partner)
        if entries is None:
            continue
        if not isinstance(entries, dict):
            problems.add(
                name,
                f"onder '{partner}' horen regels 'categorie: thema'",
                column=str(partner),
                fix="Bijvoorbeeld:  overlast: overig",
            )
            continue
        own = table.setdefault(section, {})
        for category, theme in entries.items():
            target = _TARGET_BY_FOLD.get(fold_header(theme)) if theme is not None else None
            if target is None:
                problems.add(
                    name,
                    f"onbekend thema bij categorie '{category}' van '{partner}'",
                    column=str(partner),
                    value=theme,
                    fix=f"Gebruik een van: {', '.join(TARGETS)}",
                )
                continue
            own[fold_header(category)] = target
    return table


def load_mapping(folder: str | Path | None = None) -> CategoryMapping:
    """The shipped mapping, with the analyst's ``partners_mapping.yaml`` in ``folder`` over it.

    Raises
    ------
    InputValidationError
        The analyst's file is no valid YAML or maps a category to something other than a
        theme id or ``overig`` (every such entry is listed).
    """
    problems = Problems()
    table = _read_yaml(DEFAULT_MAPPING, problems)
    problems.raise_if_any()  # the shipped file is tested; a failure here is a packaging bug
    path = Path(folder) / MAPPING_FILE if folder is not None else None
    if path is not None and path.is_file():
        own = _read_yaml(path, problems)
        problems.raise_if_any()
        for section, entries in own.items():
            table[section] = {**table.get(section, {}), **entries}
    else:
        path = None
    return CategoryMapping(table, path)


def classify(
    partner: pd.Series,
    categories: list[pd.Series],
    mapping: CategoryMapping,
) -> pd.DataFrame:
    """Theme of each record from its own category.

    Parameters
    ----------
    partner
        The partner of each record (``bron``).
    categories
        The record's category columns in order of preference (``thema``, then ``soort``):
        the first non-empty one is the record's category and alone decides its theme, so
        one category always gets one theme per partner.

    Returns
    -------
    DataFrame (same index) with ``thema`` (theme id, or ``overig`` when the category is
    unmapped, mapped to ``overig`` or absent), ``categorie_bron`` (the category as
    written, NA when all columns are empty) and ``gekoppeld`` (a mapping entry or a theme
    id decided, also when it said ``overig``).
    """
    category = pd.Series(pd.NA, index=partner.index, dtype="str")
    for cat in categories:
        text = cat.astype("str").str.strip()
        category = category.where(category.notna(), text.where(text != ""))
    frame = pd.DataFrame({"p": partner.astype("str").fillna(""), "c": category})
    distinct = frame.drop_duplicates()  # a few dozen combinations, not one per record
    decided = [mapping.lookup(p, c) for p, c in zip(distinct["p"], distinct["c"], strict=True)]
    distinct = distinct.assign(
        thema=[t if t is not None else OVERIG for t, _ in decided],
        gekoppeld=[known for _, known in decided],
    )
    out = frame.merge(distinct, on=["p", "c"], how="left")
    return pd.DataFrame(
        {
            "thema": pd.Series(out["thema"].to_numpy(), index=frame.index, dtype="str"),
            "categorie_bron": category,
            "gekoppeld": pd.Series(out["gekoppeld"].to_numpy(dtype=bool), index=frame.index),
        }
    )


def category_table(
    bron: str, partner: pd.Series, classified: pd.DataFrame, files: pd.Series
) -> pd.DataFrame:
    """One row per (partner, category as written): theme, whether mapped, record count."""
    has = classified["categorie_bron"].notna()
    if not has.any():
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    frame = pd.DataFrame(
        {
            "partner": partner[has].astype("str").fillna(""),
            "categorie": classified["categorie_bron"][has],
            "thema": classified["thema"][has],
            "gekoppeld": classified["gekoppeld"][has],
            "bestand": files[has].astype("str"),
        }
    )
    # count per spelling first (a few dozen), then fold the spellings of one category together
    g = frame.groupby(["partner", "categorie"], sort=False)
    spelled = g.agg(
        thema=("thema", "first"),  # one category, one theme per partner (see classify)
        gekoppeld=("gekoppeld", "first"),
        aantal=("thema", "size"),
        bestand=("bestand", lambda s: sorted(set(s))),
    ).reset_index()
    spelled["_p"] = spelled["partner"].map(fold_header)
    spelled["_c"] = spelled["categorie"].map(fold_header)
    out = (
        spelled.groupby(["_p", "_c"], sort=True)
        .agg(
            partner=("partner", "first"),
            categorie=("categorie", "first"),
            thema=("thema", "first"),
            gekoppeld=("gekoppeld", "first"),
            aantal=("aantal", "sum"),
            bestand=("bestand", lambda s: ", ".join(sorted({f for files in s for f in files}))),
        )
        .reset_index(drop=True)
    )
    out.insert(0, "bron", bron)
    out["aantal"] = out["aantal"].astype("int64")
    return out[CATEGORY_COLUMNS]


def _count(n: int, what: str) -> str:
    """'1 melding', '153 meldingen', '1 signaal', '3 signalen'."""
    one = {"meldingen": "melding", "signalen": "signaal"}[what]
    return f"{n} {one if n == 1 else what}"


def category_notes(table: pd.DataFrame, *, what: str = "meldingen") -> list[dict]:
    """Kwaliteit rows (without ``bron``) for every category that is not mapped."""
    notes = []
    for row in unmapped(table).itertuples(index=False):
        who = "in de enquête" if row.bron == SURVEY else f"van {row.partner}"
        section = SURVEY if row.bron == SURVEY else row.partner
        notes.append(
            {
                "bestand": row.bestand,
                "controle": _UNMAPPED,
                "aantal": int(row.aantal),
                "toelichting": (
                    f"Categorie '{row.categorie}' {who} hoort bij geen thema: "
                    f"{_count(row.aantal, what)} bewaard als 'overig' (telt voor geen thema). "
                    f"Koppel haar in {MAPPING_FILE} in de invoermap: onder '{section}:' de regel "
                    f"'{row.categorie}: <thema>', of '{row.categorie}: overig' als ze bij geen "
                    "thema hoort. 'bcba controleer --mapping-skelet BESTAND' schrijft een opzet."
                ),
            }
        )
    return notes


def missing_note(file: str, rows: pd.Series) -> dict | None:
    """Kwaliteit row (without ``bron``) for partner records without any category."""
    if rows.empty:
        return None
    from bcba.sources._read import rows_text

    return {
        "bestand": file,
        "controle": _MISSING,
        "aantal": len(rows),
        "toelichting": (
            "Geen thema of categorie ingevuld; de meldingen zijn bewaard als 'overig' en "
            f"tellen voor geen thema: {rows_text(rows)}."
        ),
    }


def unmapped(table: pd.DataFrame | None) -> pd.DataFrame:
    """The categories no mapping entry decided (kept as ``overig``), most frequent first."""
    if table is None or table.empty:
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    out = table[~table["gekoppeld"].astype(bool)]
    order = out.assign(_p=out["partner"].str.lower(), _c=out["categorie"].str.lower())
    order = order.sort_values(["bron", "aantal", "_p", "_c"], ascending=[True, False, True, True])
    return out.loc[order.index]


def warnings(table: pd.DataFrame | None) -> list[str]:
    """One Dutch line per unmapped category, for ``bcba controleer``."""
    lines = []
    for row in unmapped(table).itertuples(index=False):
        where = "enquête (signaalthema)" if row.bron == SURVEY else f"partners/{row.partner}"
        what = "signalen" if row.bron == SURVEY else "meldingen"
        lines.append(
            f"{where}: categorie '{row.categorie}' ({_count(row.aantal, what)}, {row.bestand}) "
            f"hoort bij geen thema en telt als 'overig'; koppel haar in {MAPPING_FILE}."
        )
    return lines


def _quoted(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)  # a JSON string is a YAML scalar


def mapping_skeleton(table: pd.DataFrame | None) -> str:
    """YAML text (Dutch comments) listing every unmapped category per partner.

    Every category is proposed as ``overig``; the analyst replaces that by a theme id where
    it belongs to one and saves the text as ``partners_mapping.yaml`` in the input folder
    (or adds the sections to the file already there). Empty when nothing is unmapped.
    """
    rest = unmapped(table)
    head = [
        f"# {MAPPING_FILE}: koppeling van eigen categorieën aan de thema's van bcba.",
        "# Opzet gemaakt door 'bcba controleer --mapping-skelet'. Vervang 'overig' door het thema",
        "# waar de categorie bij hoort:",
        f"#   {', '.join(THEME_IDS)}",
        "# of laat 'overig' staan (bewaard, telt voor geen thema). Sla dit bestand op als",
        f"# {MAPPING_FILE} in de invoermap; staat daar al een, voeg deze regels eraan toe.",
    ]
    if rest.empty:
        return "\n".join([*head, "# Er zijn geen ongekoppelde categorieën.", ""])
    body = []
    rest = rest.assign(_section=np.where(rest["bron"] == SURVEY, SURVEY, rest["partner"]))
    for section, part in rest.groupby("_section", sort=True):
        body.append("")
        body.append(f"{_quoted(section)}:")
        width = max(len(_quoted(c)) for c in part["categorie"])
        for row in part.itertuples(index=False):
            what = "signalen" if row.bron == SURVEY else "meldingen"
            key = _quoted(row.categorie)
            pad = " " * (width - len(key))
            body.append(f"  {key}:{pad} overig  # {_count(row.aantal, what)} ({row.bestand})")
    return "\n".join([*head, *body, ""])


def load_or_report(folder: Path, problems: list) -> CategoryMapping:
    """:func:`load_mapping` for ``folder``; on a bad file its problems join ``problems``
    and the shipped mapping is used (the run is rejected anyway)."""
    try:
        return load_mapping(folder)
    except InputValidationError as exc:
        problems.extend(exc.problems)
        return load_mapping(None)

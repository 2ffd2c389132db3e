"""The RIEC survey (enquête) among municipal staff, mapped by ``enquete_mapping.yaml``.

The mapping names the survey tool's columns (see docs/data-dictionary.md for the format).
Free-text signals are masked for known person names at ingest; the original text is dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bcba import privacy
from bcba.sources import categories
from bcba.sources._read import (
    Problems,
    SourceResult,
    as_text,
    fold_header,
    parse_code,
    parse_postcode,
    read_table,
)
from bcba.themes import THEME_IDS

log = logging.getLogger(__name__)

THEMES = THEME_IDS
DEFAULT_LIKERT = {"nooit": 1, "zelden": 2, "soms": 3, "vaak": 4, "zeer vaak": 5}
DEFAULT_WEET_NIET = ("weet niet", "geen mening", "n.v.t.", "nvt", "geen antwoord")
_ADDRESS = re.compile(
    r"^(?P<straat>.*?)\s*(?P<huisnummer>[0-9]{1,5})\s*(?P<huisletter>[A-Za-z](?![A-Za-z]))?\s*"
    r"(?:[-/ ]\s*(?P<toevoeging>[A-Za-z0-9]{1,4}))?\s*,?\s*(?P<postcode>[1-9][0-9]{3}\s?[A-Za-z]{2})?\b.*$"
)


@dataclass
class SurveyData:
    """The survey in three long tables.

    Attributes
    ----------
    percepties
        respondent_id, afdeling, thema, score (1-5; 'weet niet' answers are left out).
    vermeldingen
        respondent_id, thema, gebied_tekst, gebied_niveau (wijk/buurt), gebiedcode.
    signalen
        respondent_id, thema, tekst_gemaskeerd, address fields (geocoded by the bundle).
    """

    percepties: pd.DataFrame
    vermeldingen: pd.DataFrame
    signalen: pd.DataFrame


def _fold(text: str) -> str:
    return fold_header(text)


def read_mapping(path: str | Path, problems: Problems) -> dict | None:
    """Read and check ``enquete_mapping.yaml``; problems are added, None on failure."""
    path = Path(path)
    name = path.name
    if not path.exists():
        problems.add(
            name, "mappingbestand ontbreekt", fix="Lever enquete_mapping.yaml naast de enquête aan"
        )
        return None
    try:
        mapping = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.add(
            name,
            f"mappingbestand is geen geldige YAML ({type(exc).__name__})",
            fix="Controleer inspringing en aanhalingstekens",
        )
        return None
    if not isinstance(mapping, dict):
        problems.add(
            name, "mappingbestand heeft niet de verwachte opbouw", fix="Zie de datadictionary"
        )
        return None
    if not isinstance(mapping.get("respondent_id"), str):
        problems.add(
            name,
            "sleutel 'respondent_id' ontbreekt",
            column="respondent_id",
            fix="Geef de kolom met het respondentnummer op",
        )
    for section in ("percepties", "vermeldingen"):
        value = mapping.get(section) or {}
        if not isinstance(value, dict):
            problems.add(
                name,
                f"'{section}' moet thema: kolom-paren bevatten",
                column=section,
                fix="Zie de datadictionary",
            )
            continue
        for theme, col in value.items():
            if theme not in THEMES:
                problems.add(
                    name,
                    f"onbekend thema in '{section}'",
                    column=section,
                    value=theme,
                    fix=f"Gebruik een van: {', '.join(THEMES)}",
                )
            if not isinstance(col, str) or not col:
                problems.add(
                    name,
                    f"kolomnaam ontbreekt bij thema '{theme}'",
                    column=section,
                    fix="Vul de kolomnaam in",
                )
    likert = mapping.get("likert", DEFAULT_LIKERT)
    if not isinstance(likert, dict) or not all(
        isinstance(v, int) and 1 <= v <= 5 for v in likert.values()
    ):
        problems.add(
            name,
            "'likert' moet label: 1-5 paren bevatten",
            column="likert",
            fix='Bijvoorbeeld "soms": 3',
        )
    afdelingen = mapping.get("afdelingen")
    if afdelingen is not None and not (
        isinstance(afdelingen, dict)
        and all(isinstance(v, str) and v.strip() for v in afdelingen.values())
    ):
        problems.add(
            name,
            "'afdelingen' moet 'naam in de enquête: naam in het rapport'-paren bevatten",
            column="afdelingen",
            fix='Bijvoorbeeld "VTH": "Vergunningen, toezicht en handhaving"',
        )
    signalen = mapping.get("signalen")
    if signalen is not None and not (
        isinstance(signalen, dict) and isinstance(signalen.get("tekst"), str)
    ):
        problems.add(
            name,
            "'signalen' moet minstens 'tekst' bevatten",
            column="signalen",
            fix="Zie de datadictionary",
        )
    return None if problems else mapping


def _area_lookup(area) -> pd.DataFrame:
    rows = []
    if area is None:
        return pd.DataFrame(columns=["key", "gebied_niveau", "gebiedcode"])
    for frame, code, naam, niveau in (
        (area.wijken, "wijkcode", "wijknaam", "wijk"),
        (area.buurten, "buurtcode", "buurtnaam", "buurt"),
    ):
        if niveau == "buurt" and area.buurten_zijn_wijken:
            continue
        codes = frame[code].astype(str)
        rows.append(
            pd.DataFrame({"key": codes.map(_fold), "gebied_niveau": niveau, "gebiedcode": codes})
        )
        if naam in frame.columns:
            rows.append(
                pd.DataFrame(
                    {
                        "key": frame[naam].astype(str).map(_fold),
                        "gebied_niveau": niveau,
                        "gebiedcode": codes,
                    }
                )
            )
    table = pd.concat(rows, ignore_index=True)
    # a buurt named like its wijk: prefer the buurt (finer); first occurrence otherwise
    table = table.sort_values(
        "gebied_niveau", key=lambda s: s.map({"buurt": 0, "wijk": 1}), kind="stable"
    )
    return table.drop_duplicates("key").set_index("key")


def read_survey(
    path: str | Path,
    mapping_path: str | Path,
    *,
    known_names=(),
    area=None,
    sheet: str | None = None,
    categories_mapping: categories.CategoryMapping | None = None,
) -> SourceResult:
    """Read the survey export with its mapping into a :class:`SurveyData` (``result.frame``).

    The survey tool's own labels are mapped like partner categories: department names by
    the optional ``afdelingen`` section of the mapping (``afdeling``; the label as written in
    ``afdeling_bron``), signal themes by section ``enquete`` of ``partners_mapping.yaml``
    (``categories_mapping``; unmapped themes become ``overig``, listed in
    ``SourceResult.categorieen`` and ``SourceResult.notes``).

    Parameters
    ----------
    path, mapping_path
        ``enquete.csv``/``.xlsx`` and ``enquete_mapping.yaml``.
    known_names
        Real person names (from KvK/Kadaster) to mask in free text.
    area
        The :class:`bcba.areas.StudyArea`, to resolve wijk/buurt names in mentions.
    categories_mapping
        Mapping of signal themes; default the shipped ``partners_mapping.yaml``.

    Raises
    ------
    InputValidationError
        Bad mapping, missing mapped columns, answers outside the scale.
    """
    problems = Problems()
    mapping = read_mapping(mapping_path, problems)
    raw = read_table(path, sheet=sheet, problems=problems)
    if mapping is None or raw is None:
        problems.raise_if_any()
    file, sh = raw.file, raw.sheet
    frame = raw.frame
    by_fold = {_fold(c): c for c in frame.columns if c != "bron_rij"}

    def column(label: str | None, what: str) -> str | None:
        if label is None:
            return None
        found = by_fold.get(_fold(label))
        if found is None:
            problems.add(
                file,
                f"kolom uit de mapping ontbreekt ({what})",
                row=1,
                column=label,
                sheet=sh,
                fix="Pas enquete_mapping.yaml aan of lever de volledige export aan",
            )
        return found

    rid_col = column(mapping["respondent_id"], "respondent_id")
    afd_col = column(mapping.get("afdeling"), "afdeling")
    perc = {t: column(c, f"perceptie {t}") for t, c in (mapping.get("percepties") or {}).items()}
    verm = {t: column(c, f"vermelding {t}") for t, c in (mapping.get("vermeldingen") or {}).items()}
    sig = mapping.get("signalen") or {}
    sig_cols = {
        k: column(sig.get(k), f"signalen {k}") for k in ("tekst", "thema", "adres") if sig.get(k)
    }
    if problems:
        problems.raise_if_any()
    if frame.empty:
        problems.add(
            file,
            "bestand bevat geen gegevensrijen",
            row=2,
            sheet=sh,
            fix="Lever de enquête-export met antwoorden aan",
        )
        problems.raise_if_any()
    rows = frame["bron_rij"]
    rid = parse_code(frame[rid_col]).str.replace(r"\.0$", "", regex=True)
    rid = rid.fillna("R" + rows.astype(str)).astype("str")
    afdeling_bron = (
        parse_code(frame[afd_col]).str.replace(r"\s+", " ", regex=True)
        if afd_col
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    afdeling = _departments(afdeling_bron, mapping.get("afdelingen"), file, rid, problems)
    likert = {_fold(k): int(v) for k, v in (mapping.get("likert") or DEFAULT_LIKERT).items()}
    weet_niet = {_fold(v) for v in (mapping.get("weet_niet") or DEFAULT_WEET_NIET)}
    parts = []
    for theme, col in perc.items():
        text = as_text(frame[col])
        folded = text.map(_fold)
        num = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
        score = (
            folded.map(likert)
            .astype("Float64")
            .fillna(num.where(num.isin([1, 2, 3, 4, 5])).astype("Float64"))
        )
        missing = (text == "") | folded.isin(weet_niet)
        bad = ~missing & score.isna()
        problems.add_rows(
            file,
            rows,
            frame[col],
            bad,
            column=col,
            check="antwoord buiten de schaal 1-5",
            fix="Gebruik 1-5 of nooit/zelden/soms/vaak/zeer vaak, of voeg het label toe aan 'likert'",
            sheet=sh,
        )
        keep = score.notna()
        parts.append(
            pd.DataFrame(
                {
                    "bron_rij": rows[keep],
                    "respondent_id": rid[keep],
                    "afdeling": afdeling[keep],
                    "afdeling_bron": afdeling_bron[keep],
                    "thema": theme,
                    "score": score[keep].astype("Int64"),
                }
            )
        )
    problems.raise_if_any()
    percepties = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            {
                "bron_rij": pd.Series(dtype="int64"),
                "respondent_id": pd.Series(dtype="str"),
                "afdeling": pd.Series(dtype="str"),
                "afdeling_bron": pd.Series(dtype="str"),
                "thema": pd.Series(dtype="str"),
                "score": pd.Series(dtype="Int64"),
            }
        )
    )
    lookup = _area_lookup(area)
    vparts = []
    for theme, col in verm.items():
        items = as_text(frame[col]).str.split(r"[;,]", regex=True)
        long = pd.DataFrame({"bron_rij": rows, "respondent_id": rid, "item": items}).explode("item")
        long["item"] = long["item"].astype("str").str.strip()
        long = long[long["item"].notna() & (long["item"] != "")]
        pos = (
            lookup.index.get_indexer(long["item"].map(_fold))
            if len(lookup)
            else pd.Series(-1, index=long.index).to_numpy()
        )
        found = pos >= 0
        safe = pos.clip(min=0)
        niveau = lookup["gebied_niveau"].to_numpy(dtype=object)[safe] if len(lookup) else None
        code = lookup["gebiedcode"].to_numpy(dtype=object)[safe] if len(lookup) else None
        vparts.append(
            pd.DataFrame(
                {
                    "bron_rij": long["bron_rij"].to_numpy(),
                    "respondent_id": long["respondent_id"].to_numpy(),
                    "thema": theme,
                    "gebied_tekst": long["item"].to_numpy(),
                    "gebied_niveau": pd.Series(
                        niveau if niveau is not None else [None] * len(long), dtype="str"
                    )
                    .where(found)
                    .to_numpy(),
                    "gebiedcode": pd.Series(
                        code if code is not None else [None] * len(long), dtype="str"
                    )
                    .where(found)
                    .to_numpy(),
                    "dq_redenen": np.where(found, "", "niet_gegeocodeerd"),
                }
            )
        )
    vermeldingen = (
        pd.concat(vparts, ignore_index=True)
        if vparts
        else pd.DataFrame(
            columns=[
                "bron_rij",
                "respondent_id",
                "thema",
                "gebied_tekst",
                "gebied_niveau",
                "gebiedcode",
                "dq_redenen",
            ]
        )
    )
    for col in (
        "respondent_id",
        "thema",
        "gebied_tekst",
        "gebied_niveau",
        "gebiedcode",
        "dq_redenen",
    ):
        vermeldingen[col] = vermeldingen[col].astype("str")
    cmap = categories_mapping if categories_mapping is not None else categories.load_mapping()
    signalen = _signals(frame, rows, rid, sig_cols, known_names, cmap)
    for table in (percepties, vermeldingen, signalen):
        table.insert(0, "bron_bestand", file)
    signal_categories = categories.category_table(
        categories.SURVEY,
        pd.Series(categories.SURVEY, index=signalen.index, dtype="str"),
        signalen[["thema", "categorie_bron", "gekoppeld"]],
        signalen["bron_bestand"],
    )
    signalen = signalen.drop(columns="gekoppeld")
    data = SurveyData(percepties, vermeldingen, signalen)
    return SourceResult(
        "enquete",
        data,
        [file, Path(mapping_path).name],
        raw.n_rows_in,
        raw.empty_rows,
        [
            c
            for c in frame.columns
            if c != "bron_rij"
            and c not in {rid_col, afd_col, *perc.values(), *verm.values(), *sig_cols.values()}
        ],
        notes=problems.notes + categories.category_notes(signal_categories, what="signalen"),
        categorieen=signal_categories,
    )


def _departments(labels: pd.Series, table, file: str, rid: pd.Series, problems) -> pd.Series:
    """Department labels mapped by the ``afdelingen`` section; unmapped ones kept as written
    (and noted when a section is given, naming the label and its respondents)."""
    if not table:
        return labels
    lookup = {_fold(k): str(v).strip() for k, v in table.items()}
    mapped = labels.map(lambda v: lookup.get(_fold(v)) if isinstance(v, str) else None)
    missing = labels.notna() & mapped.isna()
    for label in sorted(labels[missing].unique()):
        n = int(rid[(labels == label).fillna(False).astype(bool)].nunique())
        problems.note(
            file,
            "afdeling niet gekoppeld",
            n,
            f"Afdeling '{label}' staat niet onder 'afdelingen' in enquete_mapping.yaml; "
            f"de {n} respondent(en) staan onder de naam zoals in de enquête. Voeg de regel "
            f'\'"{label}": "<naam in het rapport>"\' toe om haar te koppelen.',
        )
    return mapped.fillna(labels).astype("str")


def _signals(frame, rows, rid, sig_cols, known_names, cmap) -> pd.DataFrame:
    cols = [
        "bron_rij",
        "respondent_id",
        "thema",
        "categorie_bron",
        "gekoppeld",
        "tekst_gemaskeerd",
        "straat",
        "postcode",
        "huisnummer",
        "huisletter",
        "toevoeging",
        "dq_redenen",
    ]
    if "tekst" not in sig_cols:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in cols}).astype(
            {"bron_rij": "int64", "huisnummer": "Int64", "gekoppeld": bool}
        )
    text = as_text(frame[sig_cols["tekst"]])
    keep = text != ""
    themes = (
        parse_code(frame[sig_cols["thema"]])
        if "thema" in sig_cols
        else pd.Series(pd.NA, index=frame.index, dtype="str")
    )
    decided = categories.classify(
        pd.Series(categories.SURVEY, index=frame.index, dtype="str"), [themes], cmap
    )
    # a signal without a theme stays without one; an unmapped theme becomes 'overig'
    theme_ids = decided["thema"].where(decided["categorie_bron"].notna())
    out = pd.DataFrame(
        {
            "bron_rij": rows[keep],
            "respondent_id": rid[keep],
            "thema": theme_ids[keep],
            "categorie_bron": decided["categorie_bron"][keep],
            "gekoppeld": decided["gekoppeld"][keep],
        }
    )
    out["tekst_gemaskeerd"] = pd.Series(
        privacy.mask_names(text[keep].tolist(), known_names), index=out.index, dtype="str"
    )
    if "adres" in sig_cols:
        addr = as_text(frame[sig_cols["adres"]])[keep]
        parts = addr.str.extract(_ADDRESS)
        pc, _ = parse_postcode(parts["postcode"].fillna(""))
        out["straat"] = parts["straat"].str.strip(" ,").replace("", pd.NA).astype("str")
        out["postcode"] = pc
        out["huisnummer"] = pd.to_numeric(parts["huisnummer"], errors="coerce").astype("Int64")
        out["huisletter"] = parts["huisletter"].str.upper().astype("str")
        out["toevoeging"] = parts["toevoeging"].astype("str")
    else:
        for c in ("straat", "postcode", "huisletter", "toevoeging"):
            out[c] = pd.Series(pd.NA, index=out.index, dtype="str")
        out["huisnummer"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out["dq_redenen"] = ""
    return out[cols].reset_index(drop=True)

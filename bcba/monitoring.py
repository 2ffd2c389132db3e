"""Monitoring over time: compare a B-CBA run with the previous one (``bcba vergelijk``).

Every run leaves its result tables in its report folder
(``reports/<GMxxxx>_<naam>/<date>/``). :func:`vergelijk` compares the latest two runs of a
municipality (or two given folders):

- the score and rank of every buurt per theme (``scores_buurt.csv``);
- hot spots that appeared or disappeared (``hotspots.gpkg``, layers ``cellen`` and
  ``buurten``, classes starting with "Hot spot");
- optionally, for each intervention in an interventions CSV, the partner events within a
  radius before and after the intervention date against a comparison ring around it
  (a difference-in-differences table).

The numbers around one intervention are small; the report says so next to the table.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from IPython.display import HTML

from bcba import config
from bcba.config import CRS
from bcba.errors import (
    ConfigError,
    CRSMismatchError,
    InputProblem,
    InputValidationError,
    MissingInputError,
)
from bcba.io import read_csv, write_csv
from bcba.reference import resolve_gemeente

log = logging.getLogger(__name__)

#: What counted as a significant hot spot in runs written before the ``hotspot`` column.
LEGACY_HOTSPOT_CLASSES = ("Hot spot 95%", "Hot spot 99%")
MAIN_LABEL = "hoofdthema"
VOORZICHTIG = (
    "Let op: rond één interventie gaat het om kleine aantallen. Een verschil van een paar "
    "meldingen kan toeval zijn, of komen doordat partners na een interventie anders gaan "
    "registreren. Lees de tabel als aanwijzing, niet als bewijs van effect; kijk naar het "
    "patroon over meerdere interventies en bespreek het met de betrokken partners."
)
_DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ADRES = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*[- ,]?\s*(\d+)\s*([A-Za-z]?)\b.*$")


@dataclass
class Vergelijking:
    """Result of :func:`vergelijk`.

    Attributes
    ----------
    summary
        Per theme: buurten that rose/fell, the largest riser and faller, hot spots new/gone.
    details
        Per buurt and theme: scores and ranks then and now (``vergelijking.csv``).
    path
        ``vergelijking.csv`` in the current run folder.
    hotspots_nieuw, hotspots_verdwenen
        ``thema, niveau (cel/buurt), code, klasse`` of hot spots that appeared / disappeared.
    interventies
        The before/after table (``interventies_effect.csv``), or None without interventions.
    """

    gemeente: str
    current: Path
    previous: Path
    summary: pd.DataFrame
    details: pd.DataFrame
    path: Path
    hotspots_nieuw: pd.DataFrame
    hotspots_verdwenen: pd.DataFrame
    interventies: pd.DataFrame | None = None
    written: dict[str, Path] = field(default_factory=dict)


# --------------------------------------------------------------------------- run folders
def run_folders(gemeente: str, *, reports_root: str | Path | None = None) -> list[Path]:
    """The run folders of a municipality with results, oldest first."""
    from bcba.runs import completed_runs

    gem = resolve_gemeente(gemeente)
    base = (Path(reports_root) if reports_root is not None else config.reports_dir()) / gem.slug
    return [p for p in completed_runs(base) if (p / "scores_buurt.csv").is_file()]


def _pick_runs(gemeente, current, previous, reports_root) -> tuple[Path, Path]:
    if current is not None and previous is not None:
        pair = (Path(current), Path(previous))
    else:
        runs = run_folders(gemeente, reports_root=reports_root)
        if current is not None:
            current = Path(current)
            others = [r for r in runs if r.resolve() != current.resolve()]
            earlier = [r for r in others if r.name < current.name] or others
            if not earlier:
                raise MissingInputError(
                    f"Geen eerdere run gevonden om {current} mee te vergelijken; geef --vorig."
                )
            pair = (current, earlier[-1])
        elif previous is not None:
            later = [r for r in runs if r.resolve() != Path(previous).resolve()]
            if not later:
                raise MissingInputError("Geen huidige run gevonden; geef --huidig.")
            pair = (later[-1], Path(previous))
        else:
            if len(runs) < 2:
                raise MissingInputError(
                    f"Voor {resolve_gemeente(gemeente).naam} zijn {len(runs)} run(s) met resultaten "
                    "gevonden; voor een vergelijking zijn er twee nodig. Maak eerst een nieuwe run "
                    "of geef --huidig en --vorig."
                )
            pair = (runs[-1], runs[-2])
    for folder in pair:
        if not (folder / "scores_buurt.csv").is_file():
            raise MissingInputError(f"Map {folder} bevat geen resultaten (scores_buurt.csv).")
    return pair


# --------------------------------------------------------------------------- scores
def _long_scores(frame: pd.DataFrame) -> pd.DataFrame:
    themes = [c.removeprefix("score_") for c in frame.columns if c.startswith("score_")]
    parts = []
    for thema in themes:
        part = pd.DataFrame(
            {
                "buurtcode": frame["buurtcode"],
                "buurtnaam": frame["buurtnaam"] if "buurtnaam" in frame else frame["buurtcode"],
                "thema": thema,
                "score": frame[f"score_{thema}"],
                "rang": frame.get(f"rang_{thema}", np.nan),
            }
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def compare_scores(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Per buurt and theme: score and rank then and now.

    ``verschil_score = score_huidig - score_vorig``; ``verschil_rang = rang_vorig -
    rang_huidig`` (positive: the buurt climbed towards rank 1). Buurten present in only one
    run get NA for the other.
    """
    cur = _long_scores(current)
    prev = _long_scores(previous)
    merged = cur.merge(prev, on=["buurtcode", "thema"], how="outer", suffixes=("_huidig", "_vorig"))
    merged["buurtnaam"] = merged["buurtnaam_huidig"].fillna(merged["buurtnaam_vorig"])
    merged["verschil_score"] = merged["score_huidig"] - merged["score_vorig"]
    merged["verschil_rang"] = merged["rang_vorig"] - merged["rang_huidig"]
    columns = [
        "thema",
        "buurtcode",
        "buurtnaam",
        "score_vorig",
        "score_huidig",
        "verschil_score",
        "rang_vorig",
        "rang_huidig",
        "verschil_rang",
    ]
    return merged.loc[:, columns].sort_values(["thema", "buurtcode"]).reset_index(drop=True)


# --------------------------------------------------------------------------- hot spots
def _hotspot_files(folder: Path) -> dict[str, Path]:
    files = {}
    if (folder / "hotspots.gpkg").is_file():
        files[MAIN_LABEL] = folder / "hotspots.gpkg"
    for path in sorted((folder / "ruimtelijk").glob("*/hotspots.gpkg")):
        files[path.parent.name] = path
    return files


def read_hotspots(folder: str | Path) -> pd.DataFrame:
    """Hot spots of a run folder: ``thema, niveau (cel/buurt), code, klasse``."""
    import pyogrio

    rows = []
    for thema, path in _hotspot_files(Path(folder)).items():
        layers = {name for name, _ in pyogrio.list_layers(path)}
        for layer, niveau, key in (("cellen", "cel", "cel_id"), ("buurten", "buurt", "buurtcode")):
            if layer not in layers:
                continue
            columns = {c for c in pyogrio.read_info(path, layer=layer)["fields"]}
            wanted = [key, "klasse"] + (["hotspot"] if "hotspot" in columns else [])
            frame = pyogrio.read_dataframe(path, layer=layer, columns=wanted, read_geometry=False)
            # significant hot spots only (FDR 5 %); runs before 0.3 have no 'hotspot' column
            is_hot = (
                frame["hotspot"].fillna(False).astype(bool)
                if "hotspot" in frame
                else frame["klasse"].astype(str).isin(LEGACY_HOTSPOT_CLASSES)
            )
            hot = frame[is_hot]
            rows.append(
                pd.DataFrame(
                    {
                        "thema": thema,
                        "niveau": niveau,
                        "code": hot[key].astype(str),
                        "klasse": hot["klasse"].astype(str),
                    }
                )
            )
    if not rows:
        return pd.DataFrame(columns=["thema", "niveau", "code", "klasse"])
    return pd.concat(rows, ignore_index=True)


def compare_hotspots(
    current: pd.DataFrame, previous: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hot spots (``thema, niveau, code, klasse``) new in ``current`` and gone since ``previous``."""
    keys = ["thema", "niveau", "code"]
    both = current.merge(previous[keys], on=keys, how="left", indicator=True)
    new = both[both["_merge"] == "left_only"].drop(columns="_merge")
    gone = previous.merge(current[keys], on=keys, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"].drop(columns="_merge")
    return new.reset_index(drop=True), gone.reset_index(drop=True)


# --------------------------------------------------------------------------- interventions
def read_interventions(path: str | Path) -> pd.DataFrame:
    """Read an interventions CSV: ``adres`` ("2991AB 12") or ``postcode`` + ``huisnummer``,
    ``datum`` (dd-mm-jjjj or jjjj-mm-dd), ``type``, ``partner``.

    Returns
    -------
    DataFrame
        ``interventie_nr, adres, postcode, huisnummer, datum, type, partner``.

    Raises
    ------
    InputValidationError
        Listing every row with an unreadable address or date, and missing columns.
    """
    source = Path(path)
    if not source.is_file():
        raise MissingInputError(f"Interventiebestand niet gevonden: {source}")
    if source.suffix.lower() in (".xlsx", ".xlsm"):
        raw = pd.read_excel(source, dtype=str)
    else:
        raw = pd.read_csv(source, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    return parse_interventions(raw, bestand=source.name)


def parse_interventions(raw: pd.DataFrame, *, bestand: str = "interventies.csv") -> pd.DataFrame:
    """Validate and normalise an interventions table (see :func:`read_interventions`)."""
    frame = raw.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    problems: list[InputProblem] = []
    has_adres = "adres" in frame.columns
    has_split = {"postcode", "huisnummer"} <= set(frame.columns)
    if not (has_adres or has_split):
        problems.append(
            InputProblem(
                bestand,
                None,
                "adres",
                "kolom ontbreekt",
                fix="geef een kolom 'adres' (bv. '2991AB 12') of 'postcode' en 'huisnummer'",
            )
        )
    for col in ("datum", "type", "partner"):
        if col not in frame.columns:
            problems.append(
                InputProblem(bestand, None, col, "kolom ontbreekt", fix=f"voeg '{col}' toe")
            )
    if problems:
        raise InputValidationError(problems)
    if has_split:
        postcode = frame["postcode"].astype("string").str.replace(" ", "").str.upper()
        huisnummer = pd.to_numeric(frame["huisnummer"], errors="coerce").astype("Int64")
        adres_text = postcode.fillna("") + " " + huisnummer.astype("string").fillna("")
    else:
        parts = frame["adres"].astype("string").str.extract(_ADRES)
        postcode = (parts[0] + parts[1].str.upper()).astype("string")
        huisnummer = pd.to_numeric(parts[2], errors="coerce").astype("Int64")
        adres_text = frame["adres"].astype("string")
    text = frame["datum"].astype("string").str.strip()
    datum = pd.to_datetime(text, format="%d-%m-%Y", errors="coerce").fillna(
        pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    )
    valid_pc = postcode.str.fullmatch(r"\d{4}[A-Z]{2}").fillna(False).astype(bool)
    for i in np.flatnonzero(~(valid_pc & huisnummer.notna()).to_numpy()):
        problems.append(
            InputProblem(
                bestand,
                int(i) + 2,
                "adres",
                "adres niet te lezen",
                adres_text.iloc[i],
                fix="schrijf postcode en huisnummer als '2991AB 12'",
            )
        )
    for i in np.flatnonzero(datum.isna().to_numpy()):
        problems.append(
            InputProblem(
                bestand,
                int(i) + 2,
                "datum",
                "datum niet te lezen",
                text.iloc[i],
                fix="gebruik dd-mm-jjjj",
            )
        )
    if problems:
        raise InputValidationError(problems)
    return pd.DataFrame(
        {
            "interventie_nr": np.arange(1, len(frame) + 1),
            "adres": (postcode + " " + huisnummer.astype("string")).to_numpy(),
            "postcode": postcode.to_numpy(),
            "huisnummer": huisnummer.to_numpy(),
            "datum": datum.to_numpy(),
            "type": frame["type"].astype("string").to_numpy(),
            "partner": frame["partner"].astype("string").to_numpy(),
        }
    )


def _check_crs(*frames: gpd.GeoDataFrame) -> None:
    for frame in frames:
        if frame.crs is None or frame.crs != CRS:
            raise CRSMismatchError(f"Verwacht {CRS}, kreeg {frame.crs}.")


def intervention_effects(
    interventions: pd.DataFrame,
    events: gpd.GeoDataFrame,
    addresses: gpd.GeoDataFrame,
    *,
    straal_m: float = 250.0,
    ring_m: float = 750.0,
    maanden: int = 6,
    data_eind: dt.date | None = None,
) -> pd.DataFrame:
    """Partner events around each intervention before and after its date, against a ring.

    For every intervention the address is located in the BAG (``postcode`` + ``huisnummer``;
    the first matching address). Events within ``straal_m`` form the intervention area,
    events between ``straal_m`` and ``ring_m`` the comparison area. "Voor" counts events in
    the ``maanden`` months before the date, "na" those in the ``maanden`` months after
    (the date itself belongs to neither). The comparison change is scaled to the area of the
    intervention circle, so ``verschil_in_verschil = (na - voor)_gebied - (na - voor)_ring ×
    oppervlakte_gebied / oppervlakte_ring``; negative means fewer events than the
    surroundings would suggest.

    Parameters
    ----------
    interventions
        From :func:`parse_interventions`.
    events
        Partner events (EPSG:28992 points) with ``datum``.
    addresses
        BAG addresses (EPSG:28992 points) with ``postcode`` and ``huisnummer``.
    data_eind
        Last date of the data; an after-window beyond it is marked incomplete
        (default: the last event date).

    Raises
    ------
    CRSMismatchError
        When events or addresses are not in EPSG:28992.
    ConfigError
        For a non-positive radius, a ring not larger than the radius or ``maanden < 1``.
    """
    if not (straal_m > 0 and ring_m > straal_m):
        raise ConfigError(
            f"straal_m ({straal_m}) moet positief zijn en ring_m ({ring_m}) groter dan straal_m"
        )
    if maanden < 1:
        raise ConfigError(f"maanden moet minstens 1 zijn, niet {maanden!r}")
    _check_crs(events, addresses)
    bag = addresses.assign(
        postcode=addresses["postcode"].astype("string").str.replace(" ", "").str.upper(),
        huisnummer=pd.to_numeric(addresses["huisnummer"], errors="coerce").astype("Int64"),
    ).drop_duplicates(["postcode", "huisnummer"])
    located = interventions.merge(
        bag[["postcode", "huisnummer", "geometry"]], on=["postcode", "huisnummer"], how="left"
    )
    found = located["geometry"].notna().to_numpy()
    eind = (
        pd.Timestamp(data_eind) if data_eind is not None else pd.to_datetime(events["datum"]).max()
    )
    keys = ("gebied_voor", "gebied_na", "ring_voor", "ring_na")
    counts = {k: np.zeros(len(located), dtype="int64") for k in keys}
    if found.any() and len(events):
        points = gpd.GeoSeries(located.loc[found, "geometry"].to_numpy(), crs=CRS)
        ev = events.loc[events.geometry.notna(), ["datum", "geometry"]].reset_index(drop=True)
        ring = gpd.GeoDataFrame(
            {"i": np.flatnonzero(found)},
            geometry=points.buffer(ring_m, quad_segs=32).to_numpy(),
            crs=CRS,
        )
        pairs = gpd.sjoin(ev, ring, predicate="within", how="inner")
        centre = located.geometry.to_numpy()[pairs["i"].to_numpy()]
        afstand = (
            gpd.GeoSeries(pairs.geometry.to_numpy(), crs=CRS)
            .distance(gpd.GeoSeries(centre, crs=CRS))
            .to_numpy()
        )
        moment = pd.to_datetime(pairs["datum"]).to_numpy()
        start = pd.to_datetime(located["datum"]).to_numpy()[pairs["i"].to_numpy()]
        offset = pd.DateOffset(months=maanden)
        begin = (pd.DatetimeIndex(start) - offset).to_numpy()
        end = (pd.DatetimeIndex(start) + offset).to_numpy()
        voor = (moment >= begin) & (moment < start)
        na = (moment > start) & (moment <= end)
        binnen = afstand <= straal_m
        idx = pairs["i"].to_numpy()
        for key, mask in (
            ("gebied_voor", binnen & voor),
            ("gebied_na", binnen & na),
            ("ring_voor", ~binnen & voor),
            ("ring_na", ~binnen & na),
        ):
            counts[key] = np.bincount(idx[mask], minlength=len(located)).astype("int64")
    factor = straal_m**2 / (ring_m**2 - straal_m**2)
    out = pd.DataFrame(
        {
            "interventie_nr": located["interventie_nr"],
            "adres": located["adres"],
            "datum": pd.to_datetime(located["datum"]).dt.date,
            "type": located["type"],
            "partner": located["partner"],
            "adres_gevonden": found,
            f"meldingen_voor_binnen_{int(straal_m)}m": counts["gebied_voor"],
            f"meldingen_na_binnen_{int(straal_m)}m": counts["gebied_na"],
            "meldingen_voor_ring": counts["ring_voor"],
            "meldingen_na_ring": counts["ring_na"],
        }
    )
    verschil_gebied = counts["gebied_na"] - counts["gebied_voor"]
    verschil_ring = (counts["ring_na"] - counts["ring_voor"]) * factor
    out["verschil_gebied"] = verschil_gebied
    out["verschil_ring_geschaald"] = verschil_ring
    out["verschil_in_verschil"] = np.where(found, verschil_gebied - verschil_ring, np.nan)
    na_eind = pd.to_datetime(located["datum"]) + pd.DateOffset(months=maanden)
    out["na_periode_volledig"] = (na_eind <= eind).to_numpy()
    small = (counts["gebied_voor"] + counts["gebied_na"]) < 10
    out["opmerking"] = np.select(
        [~found, ~out["na_periode_volledig"].to_numpy(), small],
        [
            "adres niet gevonden in de BAG",
            "na-periode valt deels na het einde van de data",
            "kleine aantallen: voorzichtig interpreteren",
        ],
        default="",
    )
    return out


def _load_interventions_data(gemeente: str, current: Path, processed_root: Path | None):
    folder = (processed_root if processed_root is not None else config.processed_dir()) / gemeente
    candidates = [folder, current]
    for base in candidates:
        partners, bag = base / "partners.parquet", base / "bag.parquet"
        if partners.is_file() and bag.is_file():
            return gpd.read_parquet(partners), gpd.read_parquet(bag)
    raise MissingInputError(
        f"Voor de interventie-analyse zijn partners.parquet en bag.parquet nodig in {folder}; "
        f"maak eerst een run voor {gemeente}."
    )


# --------------------------------------------------------------------------- summary
def _summary(
    details: pd.DataFrame, new: pd.DataFrame, gone: pd.DataFrame, *, drempel: float
) -> pd.DataFrame:
    rows = []
    for thema, part in details.groupby("thema", sort=True):
        valid = part.dropna(subset=["verschil_score"])
        up = valid.sort_values("verschil_score", ascending=False).head(1)
        down = valid.sort_values("verschil_score").head(1)
        rows.append(
            {
                "thema": thema,
                "buurten_gestegen": int((valid["verschil_score"] > drempel).sum()),
                "buurten_gedaald": int((valid["verschil_score"] < -drempel).sum()),
                "grootste_stijging": (
                    f"{up['buurtnaam'].iloc[0]} ({up['verschil_score'].iloc[0]:+.2f})".replace(
                        ".", ","
                    )
                    if len(up)
                    else ""
                ),
                "grootste_daling": (
                    f"{down['buurtnaam'].iloc[0]} ({down['verschil_score'].iloc[0]:+.2f})".replace(
                        ".", ","
                    )
                    if len(down)
                    else ""
                ),
                "hotspots_nieuw": int((new["thema"] == thema).sum()),
                "hotspots_verdwenen": int((gone["thema"] == thema).sum()),
            }
        )
    frame = pd.DataFrame(rows)
    for label in sorted(set(new["thema"]) | set(gone["thema"])):
        if label not in set(frame.get("thema", [])):
            frame = pd.concat(
                [
                    frame,
                    pd.DataFrame(
                        [
                            {
                                "thema": label,
                                "buurten_gestegen": 0,
                                "buurten_gedaald": 0,
                                "grootste_stijging": "",
                                "grootste_daling": "",
                                "hotspots_nieuw": int((new["thema"] == label).sum()),
                                "hotspots_verdwenen": int((gone["thema"] == label).sum()),
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )
    return frame


def vergelijk(
    gemeente: str,
    current: str | Path | None = None,
    previous: str | Path | None = None,
    interventions: str | Path | pd.DataFrame | None = None,
    *,
    reports_root: str | Path | None = None,
    processed_root: str | Path | None = None,
    drempel: float = 0.5,
    straal_m: float = 250.0,
    ring_m: float = 750.0,
    maanden: int = 6,
) -> Vergelijking:
    """Compare the current run of a municipality with the previous one.

    Parameters
    ----------
    gemeente
        Municipality code or name.
    current, previous
        Run folders; default the latest and the one before it under
        ``reports/<GMxxxx>_<naam>/``.
    interventions
        Optional interventions CSV (or table), see :func:`read_interventions`; the partner
        events and addresses come from ``data/processed/<GMxxxx>/`` (or the current folder).
    reports_root, processed_root
        Override ``reports/`` and ``data/processed/`` (tests).
    drempel
        A score change larger than this counts as rising/falling in the summary.
    straal_m, ring_m, maanden
        See :func:`intervention_effects`.

    Returns
    -------
    Vergelijking
        Also written: ``vergelijking.csv`` (and ``interventies_effect.csv``) in the current
        run folder.

    Raises
    ------
    MissingInputError
        When fewer than two runs exist or a folder lacks results.
    """
    gem = resolve_gemeente(gemeente)
    cur, prev = _pick_runs(gem.code, current, previous, reports_root)
    details = compare_scores(
        read_csv(cur / "scores_buurt.csv"), read_csv(prev / "scores_buurt.csv")
    )
    new, gone = compare_hotspots(read_hotspots(cur), read_hotspots(prev))
    summary = _summary(details, new, gone, drempel=drempel)
    written = {"vergelijking": write_csv(details, cur / "vergelijking.csv")}
    if len(new) or len(gone):
        changes = pd.concat(
            [new.assign(verandering="nieuw"), gone.assign(verandering="verdwenen")],
            ignore_index=True,
        )
        written["hotspots"] = write_csv(changes, cur / "hotspots_verandering.csv")
    effects = None
    if interventions is not None:
        table = (
            parse_interventions(interventions)
            if isinstance(interventions, pd.DataFrame)
            else read_interventions(interventions)
        )
        events, bag = _load_interventions_data(
            gem.code, cur, Path(processed_root) if processed_root is not None else None
        )
        effects = intervention_effects(
            table, events, bag, straal_m=straal_m, ring_m=ring_m, maanden=maanden
        )
        written["interventies"] = write_csv(effects, cur / "interventies_effect.csv")
    log.info("vergelijking %s: %s t.o.v. %s", gem.code, cur.name, prev.name)
    return Vergelijking(
        gemeente=gem.code,
        current=cur,
        previous=prev,
        summary=summary,
        details=details,
        path=written["vergelijking"],
        hotspots_nieuw=new,
        hotspots_verdwenen=gone,
        interventies=effects,
        written=written,
    )


def monitoring_section(result: Vergelijking | None, *, top: int = 5) -> HTML:
    """A report section (Dutch) on the change since the previous run.

    ``None`` (no previous run) gives a short explanation instead of a table.
    """
    from bcba.report import html as rh

    if result is None:
        return HTML(
            "<p>Er is nog geen eerdere B-CBA van deze gemeente om mee te vergelijken. "
            "Bij de volgende run toont dit hoofdstuk wat er veranderd is.</p>"
        )
    parts = [
        f"<p>Vergelijking van de run van {html.escape(result.current.name)} met die van "
        f"{html.escape(result.previous.name)}. Een positieve scoreverandering betekent dat de "
        "buurt op dat thema meer risico-indicatoren laat zien dan bij de vorige run.</p>",
        rh.tabel_html(
            result.summary,
            kolommen={
                "thema": "Thema",
                "buurten_gestegen": "Buurten gestegen",
                "buurten_gedaald": "Buurten gedaald",
                "grootste_stijging": "Grootste stijging",
                "grootste_daling": "Grootste daling",
                "hotspots_nieuw": "Nieuwe hotspots",
                "hotspots_verdwenen": "Verdwenen hotspots",
            },
            bijschrift="Verandering per thema",
        ),
    ]
    movers = result.details.dropna(subset=["verschil_score"])
    movers = movers.reindex(movers["verschil_score"].abs().sort_values(ascending=False).index).head(
        top
    )
    if len(movers):
        parts.append(
            rh.tabel_html(
                movers,
                kolommen={
                    "thema": "Thema",
                    "buurtnaam": "Buurt",
                    "score_vorig": "Score vorige run",
                    "score_huidig": "Score nu",
                    "verschil_score": "Verschil",
                    "verschil_rang": "Plaatsen gestegen",
                },
                decimalen={
                    "score_vorig": 2,
                    "score_huidig": 2,
                    "verschil_score": 2,
                    "verschil_rang": 0,
                },
                bijschrift=f"De {len(movers)} grootste veranderingen",
            )
        )
    if result.interventies is not None and len(result.interventies):
        eff = result.interventies
        straal = next(c for c in eff.columns if c.startswith("meldingen_voor_binnen_"))
        straal_na = straal.replace("_voor_", "_na_")
        parts.append(
            rh.tabel_html(
                eff,
                kolommen={
                    "adres": "Adres",
                    "datum": "Datum",
                    "type": "Interventie",
                    "partner": "Partner",
                    straal: "Meldingen voor (dichtbij)",
                    straal_na: "Meldingen na (dichtbij)",
                    "meldingen_voor_ring": "Voor (omgeving)",
                    "meldingen_na_ring": "Na (omgeving)",
                    "verschil_in_verschil": "Verschil-in-verschil",
                    "opmerking": "Opmerking",
                },
                bijschrift="Partnermeldingen rond interventies, voor en na",
            )
        )
        parts.append(f'<p class="bcba-caution">{html.escape(VOORZICHTIG)}</p>')
    return HTML('<div class="bcba-section">' + "".join(parts) + "</div>")

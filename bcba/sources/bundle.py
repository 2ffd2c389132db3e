"""All inputs of one municipality, validated together: ``Inputs``, ``load_inputs``, writing.

``load_inputs`` reads whatever is present in ``data/raw/<GMxxxx>/``, validates every file and
raises one combined :class:`~bcba.errors.InputValidationError` if any is invalid; nothing is
written then. Valid inputs are pseudonymised, masked and geocoded (EPSG:28992).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from bcba import config
from bcba.areas import StudyArea, load_area
from bcba.errors import InputProblem, InputValidationError
from bcba.io import atomic_path, ensure_dir, write_text
from bcba.reference import Gemeente, resolve_gemeente
from bcba.sources import categories, quality
from bcba.sources._read import SourceResult, add_reason
from bcba.sources.bag import read_bag
from bcba.sources.cbs import GEBIEDEN_FILE
from bcba.sources.geocode import assign_areas, build_index, geocode
from bcba.sources.kadaster import read_kadaster
from bcba.sources.kvk import read_kvk_functionarissen, read_kvk_vestigingen
from bcba.sources.partners import read_partners
from bcba.sources.survey import SurveyData, read_survey

log = logging.getLogger(__name__)

#: source id -> file stem in the input folder and accepted extensions (first found wins)
FILES = {
    "bag": ("bag_adressen", (".gpkg", ".csv", ".xlsx")),
    "kvk_vestigingen": ("kvk_vestigingen", (".csv", ".xlsx")),
    "kvk_functionarissen": ("kvk_functionarissen", (".csv", ".xlsx")),
    "kadaster": ("kadaster_transacties", (".csv", ".xlsx")),
    "enquete": ("enquete", (".csv", ".xlsx")),
}
MAPPING_FILE = "enquete_mapping.yaml"
PARTNERS_DIR = "partners"
BRONNEN = ("bag", "kvk_vestigingen", "kvk_functionarissen", "kadaster", "enquete", "partners")


@dataclass
class Inputs:
    """Validated, pseudonymised and geocoded inputs (see docs/architecture.md)."""

    gemeente: Gemeente
    area: StudyArea
    bag: gpd.GeoDataFrame
    kvk_vestigingen: gpd.GeoDataFrame | None
    kvk_functionarissen: pd.DataFrame | None
    kadaster: gpd.GeoDataFrame | None
    enquete: SurveyData | None
    partners: gpd.GeoDataFrame | None
    kwaliteit: pd.DataFrame
    geocodering: pd.DataFrame
    manifest: pd.DataFrame
    periode: tuple[dt.date, dt.date]
    bronnen: pd.DataFrame
    #: the deliveries' own categories (partners, survey signal themes) and the theme each
    #: was mapped to (:data:`bcba.sources.categories.CATEGORY_COLUMNS`); rows with
    #: ``gekoppeld`` False were found in no mapping and count as ``overig``
    categorieen: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=categories.CATEGORY_COLUMNS)
    )
    #: real person names seen at ingest, in memory only (for masking); never written
    _names: frozenset[str] = field(default_factory=frozenset, repr=False)


def _find(folder: Path, stem: str, exts: tuple[str, ...]) -> Path | None:
    hits = [folder / f"{stem}{ext}" for ext in exts if (folder / f"{stem}{ext}").exists()]
    if len(hits) > 1:
        log.warning("Meerdere bestanden voor %s gevonden; %s wordt gebruikt.", stem, hits[0].name)
    return hits[0] if hits else None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _period_flag(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, bron: str
) -> pd.Series:
    if bron == "kvk_vestigingen":
        return (frame["datum_inschrijving"] > end) | (frame["datum_uitschrijving"] < start)
    if bron == "kvk_functionarissen":
        return (frame["datum_aanvang"] > end) | (frame["datum_einde"] < start)
    return (frame["datum"] < start) | (frame["datum"] > end)


def load_inputs(
    gemeente: str | Gemeente,
    *,
    data_dir: str | Path | None = None,
    periode: tuple[dt.date, dt.date],
    key: bytes,
) -> Inputs:
    """Read, validate, pseudonymise and geocode every input of a municipality.

    Parameters
    ----------
    gemeente
        Code, name or resolved :class:`~bcba.reference.Gemeente`.
    data_dir
        The municipality's raw folder; default ``data/raw/<GMxxxx>``.
    periode
        (start, end) of the analysis; records dated outside are kept but flagged.
    key
        Pseudonymisation key (bytes).

    Raises
    ------
    InputValidationError
        One error listing the problems of all files.
    MissingInputError
        When the input folder does not exist.
    """
    from bcba.errors import ConfigError, MissingInputError

    start, end = periode
    if end < start:
        raise ConfigError(f"periode: einde ({end}) ligt voor begin ({start})")
    gem = gemeente if isinstance(gemeente, Gemeente) else None
    if gem is None:
        try:
            gem = resolve_gemeente(gemeente)
        except Exception:
            if data_dir is None:
                raise
            gem = None
    folders = _folders(data_dir, gem)
    missing_dirs = [f for f in folders if not f.is_dir()]
    if missing_dirs:
        raise MissingInputError(f"Invoermap bestaat niet: {', '.join(map(str, missing_dirs))}")
    # a cluster in one folder, or one folder per municipality; gebieden.gpkg is read from the
    # first (the cluster's own) folder
    area = load_area(gem if gem is not None else gemeente, data_dir=folders[0])
    gem = area.gemeente

    problems: list[InputProblem] = []
    prefix = len(folders) > 1
    reads = [_FolderRead(folder, prefix=prefix) for folder in folders]
    if not any(r.paths["bag"] for r in reads):
        problems.append(
            InputProblem(
                "bag_adressen.csv",
                None,
                None,
                "verplicht bestand ontbreekt",
                fix="Lever bag_adressen.csv of bag_adressen.gpkg met de BAG-adressen van de gemeente aan",
            )
        )
    for r in reads:  # the registers first: their person names mask the free text of all
        r.read_registers(key, problems)
    names: set[str] = set()
    for r in reads:
        for bron in ("kvk_functionarissen", "kadaster"):
            if r.results[bron] is not None:
                names |= r.results[bron].names
    for r in reads:
        r.read_texts(names, area, problems)
    if problems:
        raise InputValidationError(problems)
    results = {bron: _combine([r.results[bron] for r in reads], bron) for bron in BRONNEN}

    ts_start, ts_end = pd.Timestamp(start), pd.Timestamp(end)
    bag = results["bag"].frame
    index = build_index(bag)
    bag_geo = bag.assign(geocode_niveau="xy", adres_sleutel=_bag_key(bag))
    bag_geo = assign_areas(bag_geo, area)
    out: dict[str, object] = {"bag": bag_geo}
    for bron in ("kvk_vestigingen", "kadaster", "partners"):
        res = results[bron]
        if res is None:
            out[bron] = None
            continue
        frame = res.frame
        frame = frame.assign(
            dq_redenen=add_reason(
                frame["dq_redenen"], _period_flag(frame, ts_start, ts_end, bron), "buiten_periode"
            )
        )
        out[bron] = geocode(frame, bag, area, index=index)
    func = results["kvk_functionarissen"]
    if func is not None:
        frame = func.frame
        out["kvk_functionarissen"] = frame.assign(
            dq_redenen=add_reason(
                frame["dq_redenen"],
                _period_flag(frame, ts_start, ts_end, "kvk_functionarissen"),
                "buiten_periode",
            )
        )
    else:
        out["kvk_functionarissen"] = None
    survey = results["enquete"]
    if survey is not None:
        data: SurveyData = survey.frame
        out["enquete"] = SurveyData(
            data.percepties, data.vermeldingen, geocode(data.signalen, bag, area, index=index)
        )
    else:
        out["enquete"] = None

    kwaliteit, geocodering, manifest, bronnen = [], [], [], []
    for bron in BRONNEN:
        res = results[bron]
        if res is None:
            bronnen.append(
                {
                    "bron": bron,
                    "aanwezig": False,
                    "bestand": None,
                    "rijen": 0,
                    "periode_van": pd.NaT,
                    "periode_tot": pd.NaT,
                }
            )
            continue
        table = out[bron]
        files = ", ".join(res.files)
        kwaliteit.append(
            quality.read_counts(
                bron, files, res.rijen_in, res.rijen_in - res.lege_rijen, res.lege_rijen
            )
        )
        frames = (
            [table.percepties, table.vermeldingen, table.signalen] if bron == "enquete" else [table]
        )
        for frame in frames:
            kwaliteit.append(quality.reason_counts(bron, frame))
        kwaliteit.append(quality.note_rows(bron, res.notes))
        geo = table.signalen if bron == "enquete" else table
        geocodering.append(quality.geocoding_table(bron, geo))
        dates = _dates(bron, table)
        bronnen.append(
            {
                "bron": bron,
                "aanwezig": True,
                "bestand": files,
                "rijen": res.rijen_in - res.lege_rijen,
                "periode_van": dates.min() if len(dates) else pd.NaT,
                "periode_tot": dates.max() if len(dates) else pd.NaT,
            }
        )
    manifest = pd.concat([r.manifest() for r in reads], ignore_index=True)
    if area.bron == "gebieden.gpkg":
        gp = folders[0] / GEBIEDEN_FILE
        manifest = pd.concat(
            [
                manifest,
                pd.DataFrame(
                    [
                        {
                            "bestand": gp.name,
                            "sha256": sha256_file(gp),
                            "rijen": None,
                            "bron": "gebieden",
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    return Inputs(
        gemeente=gem,
        area=area,
        bag=out["bag"],
        kvk_vestigingen=out["kvk_vestigingen"],
        kvk_functionarissen=out["kvk_functionarissen"],
        kadaster=out["kadaster"],
        enquete=out["enquete"],
        partners=out["partners"],
        kwaliteit=_concat(kwaliteit, quality.KWALITEIT_COLUMNS),
        geocodering=_concat(geocodering, quality.GEOCODERING_COLUMNS),
        manifest=manifest,
        periode=(start, end),
        bronnen=pd.DataFrame(
            bronnen, columns=["bron", "aanwezig", "bestand", "rijen", "periode_van", "periode_tot"]
        ),
        categorieen=_concat(
            [
                results[b].categorieen
                for b in ("partners", "enquete")
                if results[b] is not None and results[b].categorieen is not None
            ],
            categories.CATEGORY_COLUMNS,
        ),
        _names=frozenset(names),
    )


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    if "aantal" in out.columns:
        out["aantal"] = out["aantal"].astype("int64")
    return out[columns]


def _bag_key(bag: pd.DataFrame) -> pd.Series:
    from bcba.sources.geocode import address_key

    return address_key(bag["postcode"], bag["huisnummer"], bag["huisletter"], bag["toevoeging"])


def _dates(bron: str, table) -> pd.Series:
    col = {
        "kvk_vestigingen": "datum_inschrijving",
        "kvk_functionarissen": "datum_aanvang",
        "kadaster": "datum",
        "partners": "datum",
    }.get(bron)
    if col is None or col not in table.columns:
        return pd.Series(dtype="datetime64[ns]")
    return table[col].dropna()


def _folders(data_dir, gem: Gemeente | None) -> list[Path]:
    """The input folders: those given, else ``data/raw/<GMxxxx>`` of every municipality
    (of a cluster)."""
    if data_dir is None:
        return [config.raw_dir() / code for code in gem.codes]
    if isinstance(data_dir, str | Path):
        return [Path(data_dir)]
    return [Path(d) for d in data_dir]


class _FolderRead:
    """The files of one input folder, read in two steps (registers, then free text)."""

    def __init__(self, folder: Path, *, prefix: bool) -> None:
        self.folder = folder
        self.prefix = f"{folder.name}/" if prefix else ""
        self.paths = {b: _find(folder, *FILES[b]) for b in FILES}
        self.results: dict[str, SourceResult | None] = dict.fromkeys(BRONNEN)
        self._raw: dict[str, SourceResult | None] = dict.fromkeys(BRONNEN)  # as read
        self.mapping = folder / MAPPING_FILE
        self.partner_dir = folder / PARTNERS_DIR
        self.cmap = None

    def _attempt(self, bron: str, problems: list, func, *args, **kwargs) -> None:
        try:
            result = func(*args, **kwargs)
            self._raw[bron] = result
            self.results[bron] = self._named(result) if self.prefix else result
        except InputValidationError as exc:
            problems.extend(
                dataclasses.replace(p, file=self.prefix + p.file) if self.prefix else p
                for p in exc.problems
            )

    def _named(self, result: SourceResult) -> SourceResult:
        """The result with this folder's name on its files (and survey respondents, who
        are numbered per delivery)."""
        if isinstance(result.frame, SurveyData):
            frame = SurveyData(
                *(
                    _prefixed(getattr(result.frame, part), self.prefix, respondents=True)
                    for part in ("percepties", "vermeldingen", "signalen")
                )
            )
        else:
            frame = _prefixed(result.frame, self.prefix)
        notes = [
            {**n, "bestand": self.prefix + str(n["bestand"])} if "bestand" in n else n
            for n in result.notes
        ]
        cats = result.categorieen
        if cats is not None and "bestand" in cats:
            cats = cats.assign(bestand=self.prefix + cats["bestand"].astype(str))
        return dataclasses.replace(
            result,
            frame=frame,
            files=[self.prefix + f for f in result.files],
            notes=notes,
            categorieen=cats,
        )

    def read_registers(self, key: bytes, problems: list) -> None:
        p = self.paths
        if p["bag"]:
            self._attempt("bag", problems, read_bag, p["bag"])
        if p["kvk_vestigingen"]:
            self._attempt("kvk_vestigingen", problems, read_kvk_vestigingen, p["kvk_vestigingen"])
        if p["kvk_functionarissen"]:
            self._attempt(
                "kvk_functionarissen",
                problems,
                read_kvk_functionarissen,
                p["kvk_functionarissen"],
                key=key,
            )
        if p["kadaster"]:
            self._attempt("kadaster", problems, read_kadaster, p["kadaster"], key=key)

    def read_texts(self, names: set[str], area, problems: list) -> None:
        self.cmap = categories.load_or_report(self.folder, problems)
        if self.paths["enquete"]:
            self._attempt(
                "enquete",
                problems,
                read_survey,
                self.paths["enquete"],
                self.mapping,
                known_names=names,
                area=area,
                categories_mapping=self.cmap,
            )
        if self.partner_dir.is_dir() and any(self.partner_dir.iterdir()):
            self._attempt(
                "partners",
                problems,
                read_partners,
                self.partner_dir,
                known_names=names,
                mapping=self.cmap,
            )

    def manifest(self) -> pd.DataFrame:
        frame = _manifest(
            self.folder, self._raw, self.paths, self.mapping, self.partner_dir, self.cmap
        )
        if self.prefix and len(frame):
            frame["bestand"] = self.prefix + frame["bestand"].astype(str)
        return frame


def _prefixed(frame: pd.DataFrame, prefix: str, *, respondents: bool = False) -> pd.DataFrame:
    """Rows of one folder of several: the file names (and survey respondents, who are
    numbered per delivery) carry the folder's name."""
    out = frame.copy()
    if "bron_bestand" in out:
        out["bron_bestand"] = prefix + out["bron_bestand"].astype(str)
    if respondents and "respondent_id" in out:
        out["respondent_id"] = prefix + out["respondent_id"].astype(str)
    return out


def _combine(parts: list[SourceResult | None], bron: str) -> SourceResult | None:
    """One source read from several folders as one result (a cluster)."""
    present = [p for p in parts if p is not None]
    if len(present) <= 1:
        return present[0] if present else None
    return SourceResult(
        bron=present[0].bron,
        frame=_combine_frames([p.frame for p in present], bron),
        files=[f for p in present for f in p.files],
        rijen_in=sum(p.rijen_in for p in present),
        lege_rijen=sum(p.lege_rijen for p in present),
        extra_kolommen=sorted({c for p in present for c in p.extra_kolommen}),
        names=set().union(*(p.names for p in present)),
        notes=[n for p in present for n in p.notes],
        categorieen=pd.concat(
            [p.categorieen for p in present if p.categorieen is not None], ignore_index=True
        )
        if any(p.categorieen is not None for p in present)
        else None,
    )


def _combine_frames(frames: list, bron: str):
    if bron == "enquete":
        return SurveyData(
            *(
                pd.concat([getattr(f, part) for f in frames], ignore_index=True)
                for part in ("percepties", "vermeldingen", "signalen")
            )
        )
    combined = pd.concat(frames, ignore_index=True)
    geometry = getattr(frames[0], "_geometry_column_name", None)
    return (
        gpd.GeoDataFrame(combined, geometry=geometry, crs=frames[0].crs) if geometry else combined
    )


def _manifest(folder, results, paths, mapping, partner_dir, cmap) -> pd.DataFrame:
    rows = []
    for bron in ("bag", "kvk_vestigingen", "kvk_functionarissen", "kadaster", "enquete"):
        res, path = results[bron], paths.get(bron)
        if res is None or path is None:
            continue
        rows.append(
            {"bestand": path.name, "sha256": sha256_file(path), "rijen": res.rijen_in, "bron": bron}
        )
    if results["enquete"] is not None:
        rows.append(
            {
                "bestand": mapping.name,
                "sha256": sha256_file(mapping),
                "rijen": None,
                "bron": "enquete",
            }
        )
    if results["partners"] is not None:
        counts = results["partners"].frame["bron_bestand"].value_counts()
        for name in results["partners"].files:
            p = partner_dir / name
            rows.append(
                {
                    "bestand": f"{PARTNERS_DIR}/{name}",
                    "sha256": sha256_file(p),
                    "rijen": int(counts.get(name, 0)),
                    "bron": "partners",
                }
            )
    if cmap.path is not None and (
        results["partners"] is not None or results["enquete"] is not None
    ):
        rows.append(
            {
                "bestand": cmap.path.name,
                "sha256": sha256_file(cmap.path),
                "rijen": None,
                "bron": "partners" if results["partners"] is not None else "enquete",
            }
        )
    frame = pd.DataFrame(rows, columns=["bestand", "sha256", "rijen", "bron"])
    frame["rijen"] = frame["rijen"].astype("Int64")
    return frame


def validate(
    gemeente: str | Gemeente,
    *,
    data_dir: str | Path | None = None,
    periode: tuple[dt.date, dt.date],
    key: bytes,
) -> pd.DataFrame:
    """Validate all inputs and return the Dutch data-quality table (Bron, Bestand, Controle, …).

    Raises
    ------
    InputValidationError
        As :func:`load_inputs`.
    """
    inputs = load_inputs(gemeente, data_dir=data_dir, periode=periode, key=key)
    return quality.kwaliteitsrapport(inputs.kwaliteit)


def _tables(inputs: Inputs) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {"bag": inputs.bag}
    for name in ("kvk_vestigingen", "kvk_functionarissen", "kadaster", "partners"):
        frame = getattr(inputs, name)
        if frame is not None:
            tables[name] = frame
    if inputs.enquete is not None:
        tables["enquete_percepties"] = inputs.enquete.percepties
        tables["enquete_vermeldingen"] = inputs.enquete.vermeldingen
        tables["enquete_signalen"] = inputs.enquete.signalen
    tables["kwaliteit"] = inputs.kwaliteit
    if len(inputs.categorieen):
        tables["categorieen"] = inputs.categorieen
    tables["geocodering"] = inputs.geocodering
    tables["bronnen"] = inputs.bronnen
    return tables


def write_processed(inputs: Inputs, out_dir: str | Path) -> dict[str, Path]:
    """Write every table as (Geo)Parquet plus one GeoPackage with a layer per table.

    Files are written atomically and owner-only (``bcba.io``); ``manifest.json`` records
    the input files' sha256 and row counts. Person names are never written.

    Returns
    -------
    dict
        Table name (and ``gpkg``, ``manifest``) -> path written.
    """
    import pyogrio

    out = ensure_dir(out_dir)
    written: dict[str, Path] = {}
    tables = _tables(inputs)
    for name, frame in tables.items():
        target = out / f"{name}.parquet"
        with atomic_path(target) as tmp:
            frame.to_parquet(tmp, index=False)
        written[name] = target
    gpkg = out / f"bcba_{inputs.gemeente.code}.gpkg"
    with atomic_path(gpkg) as tmp:
        for name, frame in tables.items():
            # through Arrow: three times faster than row-wise for the 358k BAG addresses of a city
            pyogrio.write_dataframe(
                frame, tmp, layer=name, driver="GPKG", append=tmp.exists(), use_arrow=True
            )
    written["gpkg"] = gpkg
    manifest = {
        "gemeente": inputs.gemeente.code,
        "periode": [inputs.periode[0].isoformat(), inputs.periode[1].isoformat()],
        "invoer": json.loads(inputs.manifest.to_json(orient="records")),
        "tabellen": {name: int(len(frame)) for name, frame in tables.items()},
    }
    written["manifest"] = write_text(
        out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False)
    )
    return written

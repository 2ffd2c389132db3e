"""Seeded generator of realistic raw demo extracts with planted, documented patterns.

Real KvK, Kadaster, survey and partner data cannot be used for development, tests or demos.
:func:`generate` writes synthetic raw extracts for any municipality with shipped geography,
in exactly the input formats analysts receive (``docs/data-dictionary.md``), plants known
patterns and lists them in ``planted.json`` (``docs/architecture.md``) so that tests can check
that the analysis finds them. See ``docs/synthetic-data.md``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bcba import config, reference
from bcba.errors import ConfigError
from bcba.io import atomic_path, ensure_dir, write_csv, write_text
from bcba.sources.bag import BAG_INPUT_COLUMNS
from bcba.sources.kadaster import KADASTER_INPUT_COLUMNS
from bcba.sources.kvk import FUNCTIONARISSEN_COLUMNS, VESTIGINGEN_COLUMNS
from bcba.synthetic import _bag, _registers, _signals
from bcba.synthetic._candidates import Candidates
from bcba.synthetic._planted import Planter, address_record, iso
from bcba.synthetic._registers import Numbers, Period, Persons, Registers

__all__ = [
    "generate",
    "SCENARIOS",
    "FORMATS",
    "COLUMNS",
    "RTM_FACTOREN",
    "DEMO_MARKER",
    "check_demo_target",
    "demo_files",
    "is_demo_output",
    "RTM_FACTOREN_AFWIJKEND",
    "OVERDISPERSIE",
    "CLUSTER",
]

log = logging.getLogger(__name__)

#: ``standaard``: every pattern, shaped like the model; ``nul``: no spatial pattern;
#: ``afwijkend``: truth that differs from the model (docs/synthetic-data.md).
SCENARIOS = ("standaard", "nul", "afwijkend")
FORMATS = ("csv", "xlsx")

#: The columns the generator writes per file: the readers' input contract (bcba.sources),
#: without the optional columns it leaves out (seller KvK number, street and place names).
COLUMNS: dict[str, list[str]] = {
    "bag_adressen": list(BAG_INPUT_COLUMNS),
    "kvk_vestigingen": list(VESTIGINGEN_COLUMNS),
    "kvk_functionarissen": list(FUNCTIONARISSEN_COLUMNS),
    "kadaster_transacties": [
        c for c in KADASTER_INPUT_COLUMNS if c not in {"verkoper_kvk_nummer", "straat", "plaats"}
    ],
    "partners": list(_signals.PARTNER_COLUMNS),
}

#: The planted risk-terrain effects (scenario "standaard").
RTM_FACTOREN = (
    {"thema": "drugs", "factor": "opslag", "effect": 3.0, "afstand_m": 300},
    {"thema": "drugs", "factor": "autowasstraat", "effect": 2.0, "afstand_m": 300},
)

#: The planted risk-terrain effects of scenario "afwijkend": relative risk ``1 + (effect - 1)
#: * K(d)`` at distance ``d`` from the nearest facility, with a smooth kernel whose length is
#: off the model's 100-500 m grid (exponentieel: exp(-d/L); gauss: exp(-d²/2L²)).
RTM_FACTOREN_AFWIJKEND = (
    {"thema": "drugs", "factor": "opslag", "effect": 4.0, "vorm": "exponentieel", "lengte_m": 170},
    {"thema": "drugs", "factor": "autowasstraat", "effect": 2.5, "vorm": "gauss", "lengte_m": 230},
)
#: Over-dispersion of the partner events of scenario "afwijkend": a gamma multiplier per
#: 100 m cell (shape ``vorm``, mean 1) and a share ``nul_kans`` of cells without events.
OVERDISPERSIE = {"niveau": "cel", "vorm": 1.5, "nul_kans": 0.2}
#: The compact drugs cluster of scenario "afwijkend" (not aligned with the grid).
CLUSTER = {"sigma_m": 60.0, "straal_m": 150.0}

_FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)

#: Marker file the generator writes into every folder it fills: it says (in Dutch) that the
#: data are synthetic and lists every file written with its SHA-256, so that a later demo
#: run can tell its own untouched output from an analyst's real extracts.
DEMO_MARKER = "DEMO_SYNTHETISCH.txt"
_MARKER_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")


def demo_files(folder: str | Path) -> dict[str, str] | None:
    """The files listed in ``folder``'s demo marker (relative POSIX path -> SHA-256).

    ``None`` when the folder has no :data:`DEMO_MARKER`. The listing says what the generator
    wrote; whether the folder still holds exactly that is :func:`is_demo_output`.
    """
    marker = Path(folder) / DEMO_MARKER
    if not marker.is_file():
        return None
    listed = {}
    for line in marker.read_text(encoding="utf-8").splitlines():
        hit = _MARKER_LINE.match(line)
        if hit:
            listed[hit.group(2)] = hit.group(1)
    return listed


def _demo_problems(folder: Path) -> tuple[dict[str, str], list[str]]:
    """Own earlier demo files of ``folder`` and the files that are not (added or changed)."""
    from bcba.sources.bundle import sha256_file

    listed = demo_files(folder) or {}
    problems = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir() or (path.name == DEMO_MARKER and path.parent == folder):
            continue
        rel = path.relative_to(folder).as_posix()
        if rel not in listed:
            problems.append(rel)
        elif not path.is_file() or sha256_file(path) != listed[rel]:
            problems.append(f"{rel} (gewijzigd)")
    return listed, problems


def is_demo_output(folder: str | Path) -> bool:
    """Whether ``folder`` holds exactly what the generator wrote there (marker, no file
    added or changed since). A report made from such a folder is a demo."""
    folder = Path(folder)
    if demo_files(folder) is None:
        return False
    return not _demo_problems(folder)[1]


def check_demo_target(out_dir: str | Path) -> dict[str, str]:
    """Refuse to write demo data anywhere but a new or empty folder or earlier demo output.

    Analysts put real extracts in ``data/raw/<GMxxxx>``, the demo's default folder: demo
    data may never overwrite them. Returns the files of the earlier demo output (empty for
    a new or empty folder), which the generator may replace.

    Raises
    ------
    ConfigError
        When ``out_dir`` is a file, or a folder holding anything the generator did not write
        (or changed since); nothing is touched then.
    """
    folder = Path(out_dir)
    if not folder.exists():
        return {}
    if not folder.is_dir():
        raise ConfigError(
            f"{folder} is een bestand, geen map; kies een (lege) map voor de demodata."
        )
    if not any(folder.iterdir()):
        return {}
    has_marker = (folder / DEMO_MARKER).is_file()
    listed, problems = _demo_problems(folder)
    if not problems:
        return listed
    shown = ", ".join(problems[:5]) + (f" en nog {len(problems) - 5}" if len(problems) > 5 else "")
    what = (
        f"eerdere demodata, maar ook bestanden die bcba daar niet heeft geschreven of die zijn "
        f"gewijzigd: {shown}"
        if has_marker
        else f"gegevens die geen (herkenbare) bcba-demodata zijn: {shown}"
    )
    hint = ""
    if not has_marker and (folder / "planted.json").is_file():
        hint = (
            f" Demodata van een oudere bcba-versie heeft nog geen {DEMO_MARKER}: staat er niets "
            "echts in de map, verwijder haar dan zelf."
        )
    raise ConfigError(
        f"Map {folder} bevat {what}. Demodata wordt alleen geschreven in een nieuwe of lege map "
        f"of over eigen, ongewijzigde demodata (herkenbaar aan {DEMO_MARKER}); er is niets "
        f"gewijzigd. Kies een andere map of verplaats die bestanden eerst.{hint}"
    )


def _write_marker(out_dir: Path, gem, seed: int, scenario: str, files: list[str]) -> None:
    """Write :data:`DEMO_MARKER`: what the folder is, in Dutch, and every file's SHA-256."""
    from bcba.sources.bundle import sha256_file

    lines = [
        "SYNTHETISCHE DEMODATA - GEEN ECHTE GEGEVENS",
        "",
        f"Deze map is geschreven door bcba (demodata) voor {gem.naam} ({gem.code}), "
        f"seed {seed}, scenario {scenario}.",
        "Alle personen, bedrijven, transacties, meldingen en enquêteantwoorden zijn verzonnen.",
        "Een rapport uit deze map is een demo (markering 'DEMO – synthetische gegevens').",
        "",
        "Zet hier geen echte extracten neer. 'bcba demodata' en 'bcba demo' schrijven deze map",
        "alleen opnieuw zolang er niets aan is toegevoegd of veranderd; anders weigeren zij.",
        "",
        "Bestanden (sha256):",
        *(f"{sha256_file(out_dir / name)}  {name}" for name in sorted(files)),
    ]
    write_text(out_dir / DEMO_MARKER, "\n".join(lines) + "\n")


def _check_args(scenario: str, fmt: str, scale: float, periode) -> None:
    if scenario not in SCENARIOS:
        raise ConfigError(f"scenario {scenario!r} is onbekend; kies uit: {', '.join(SCENARIOS)}")
    if fmt not in FORMATS:
        raise ConfigError(f"fmt {fmt!r} is onbekend; kies uit: {', '.join(FORMATS)}")
    if not (isinstance(scale, int | float) and np.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale moet een positief getal zijn, niet {scale!r}")
    if periode is not None:
        start, end = periode
        if end < start:
            raise ConfigError(f"periode: einddatum {end} ligt voor begindatum {start}")
        if (end - start).days < 180:
            raise ConfigError(
                f"periode {start} t/m {end} is te kort voor de demodata; kies minstens een half jaar"
            )
        if scenario == "afwijkend" and (end - start).days < 540:
            raise ConfigError(
                f"periode {start} t/m {end} is te kort voor scenario 'afwijkend' (grensgevallen "
                "rond de termijnen van de vlaggen); kies minstens anderhalf jaar"
            )


def _fmt_dates(values) -> pd.Series:
    """Dutch date format dd-mm-jjjj; empty for missing."""
    s = pd.Series(pd.to_datetime(np.asarray(values, dtype="datetime64[D]")))
    return s.dt.strftime("%d-%m-%Y").fillna("")


def _address_columns(bag: pd.DataFrame, idx: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "straat": bag["straat"].to_numpy(dtype=object)[idx],
        "huisnummer": bag["huisnummer"].to_numpy()[idx],
        "huisletter": bag["huisletter"].to_numpy(dtype=object)[idx],
        "toevoeging": bag["toevoeging"].to_numpy(dtype=object)[idx],
        "postcode": bag["postcode"].to_numpy(dtype=object)[idx],
        "plaats": bag["plaats"].to_numpy(dtype=object)[idx],
    }


def _write_table(frame: pd.DataFrame, out_dir: Path, name: str, fmt: str) -> str:
    """Write one extract as a Windows-style CSV or as XLSX; return the file name."""
    if fmt == "xlsx":
        target = out_dir / f"{name}.xlsx"
        out = frame.copy()
        for col in out.columns:
            if col.startswith("datum") or col == "geboortedatum":
                out[col] = pd.to_datetime(out[col], format="%d-%m-%Y", errors="coerce")
        buffer = io.BytesIO()
        with pd.ExcelWriter(
            buffer, engine="openpyxl", date_format="DD-MM-YYYY", datetime_format="DD-MM-YYYY"
        ) as writer:
            out.to_excel(writer, index=False, sheet_name=name[:31])
            props = writer.book.properties
            props.creator = "bcba synthetische demodata"
            props.created = dt.datetime(2000, 1, 1)
        _write_deterministic_xlsx(buffer.getvalue(), target)
        return target.name
    target = out_dir / f"{name}.csv"
    write_csv(frame, target, sep=";", lineterminator="\r\n", encoding="utf-8")
    return target.name


def _write_deterministic_xlsx(data: bytes, target: Path) -> None:
    """Rewrite an XLSX with fixed zip and document timestamps so equal input gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<2>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, content)
    with atomic_path(target) as tmp:
        tmp.write_bytes(out.getvalue())


def _sources(thema: str, scenario: str) -> list[str]:
    """Where the evidence planted for a high-risk buurt comes from (kvk, kadaster, partners,
    enquete): what an explanation of its score should point at."""
    events = ["partners"] if scenario in ("standaard", "afwijkend") else []
    own = {"kwetsbare_branches": ["kvk"], "vastgoed_witwassen": ["kadaster"]}.get(thema, [])
    return own + events + ["enquete"]


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.datetime64):
        return iso(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def generate(
    gemeente: str,
    out_dir: Path,
    *,
    seed: int = 0,
    periode: tuple[dt.date, dt.date] | None = None,
    scenario: str = "standaard",
    scale: float = 1.0,
    hotspot_buurt: str | None = None,
    fmt: str = "csv",
) -> dict:
    """Write synthetic raw extracts for one municipality and return the planted manifest.

    Parameters
    ----------
    gemeente
        Anything :func:`bcba.reference.resolve_gemeente` accepts (``"GM0489"``, ``"Barendrecht"``).
    out_dir
        Folder to write to (created with owner-only permissions): new, empty, or earlier
        demo output of the generator, which is replaced. It gets :data:`DEMO_MARKER`.
    seed
        Seed of the generator: the same arguments give byte-identical files.
    periode
        Analysis period (start, end); default :func:`bcba.config.default_period`.
    scenario
        ``"standaard"`` plants every pattern; ``"nul"`` plants no hot spot and no risk-terrain
        effects (partner events uniformly over the BAG addresses), other data as usual;
        ``"afwijkend"`` plants truth that differs from the model: smooth distance decay,
        over-dispersed and zero-inflated events, a compact cluster off the grid, KvK and
        Kadaster values just above and just below the flag thresholds and legitimate
        look-alikes (all labelled in ``kandidaten`` and ``locaties`` of the manifest).
    scale
        Multiplies all background sizes (addresses, establishments, transactions, events).
        The planted patterns keep their size.
    hotspot_buurt
        Buurtcode (or wijkcode where no buurten are shipped) of the planted drugs hot spot;
        default chosen from the seed.
    fmt
        ``"csv"`` (UTF-8, ``;``, dd-mm-jjjj, CRLF) or ``"xlsx"`` for the KvK and Kadaster files.

    Returns
    -------
    dict
        The manifest, also written to ``out_dir/planted.json``.

    Raises
    ------
    ConfigError
        For an unknown scenario, format, scale, period or hot-spot buurt, or an ``out_dir``
    holding anything but earlier, unchanged demo output (:func:`check_demo_target`).
    UnknownMunicipalityError
        When the municipality is unknown or has no shipped outline and wijken.
    """
    _check_args(scenario, fmt, scale, periode)
    gem = reference.resolve_gemeente(gemeente)
    earlier = check_demo_target(out_dir)  # before anything is written
    start, end = periode if periode is not None else config.default_period()
    per = Period(np.datetime64(start, "D"), np.datetime64(end, "D"))
    out_dir = ensure_dir(out_dir)
    rngs = [np.random.default_rng([int(seed), k]) for k in range(10)]

    geo = _bag.load_geography(gem)
    bag = _bag.make_bag(geo, scale, rngs[0])
    areas = geo.areas
    inhabitants = float(pd.to_numeric(areas.get("aantal_inwoners"), errors="coerce").sum())
    if not inhabitants > 0:
        inhabitants = 2.2 * int((bag["gebruiksdoel"] == "woonfunctie").sum()) / scale
    bedrijven = float(pd.to_numeric(areas.get("aantal_bedrijfsvestigingen"), errors="coerce").sum())
    if not bedrijven > 0:
        bedrijven = 0.12 * inhabitants
    n_kvk = max(int(round(bedrijven * scale)), 50)

    persons = Persons(rngs[1])
    numbers = Numbers(rngs[2], int(n_kvk * 1.3) + 2000)
    reg = Registers()
    special = _registers.background_kvk(bag, n_kvk, per, persons, numbers, reg, rngs[3])

    planter = Planter(bag, areas, per, persons, numbers, reg, rngs[4])
    chosen = planter.choose_areas(hotspot_buurt)
    planter.many_registrations()
    planter.churn()
    shisha_kvk, shisha_officer = planter.risk_cluster(chosen["risicobranche"])
    planter.home_addresses()
    planter.straw_man()
    planter.address_hub()
    planter.carousel()

    ves = pd.concat(reg.vestigingen, ignore_index=True)
    fun = pd.concat(reg.functionarissen, ignore_index=True)
    area_woz = dict(zip(areas["gebiedcode"], areas["woz"], strict=True))
    _registers.background_kadaster(
        bag,
        pd.Series(area_woz),
        per,
        persons,
        reg,
        ves,
        fun["_person"].to_numpy(),
        rngs[5],
        scale_years=(per.days + 1) / 365.25,
    )
    planter.real_estate(chosen["vastgoed"], area_woz, shisha_kvk, shisha_officer)
    if scenario == "afwijkend":
        candidates = Candidates(planter, area_woz)
        candidates.kvk()
        candidates.kadaster()
    ves = pd.concat(reg.vestigingen, ignore_index=True)
    fun = pd.concat(reg.functionarissen, ignore_index=True)
    trans = pd.concat(reg.transacties, ignore_index=True)
    people = persons.table()
    names = people["naam"].to_numpy(dtype=object)
    births = people["geboortedatum"].to_numpy()

    # --- KvK ------------------------------------------------------------------------
    ves = ves.sort_values(["kvk_nummer", "vestigingsnummer"], kind="stable").reset_index(drop=True)
    kvk_out = pd.DataFrame(
        {
            "kvk_nummer": ves["kvk_nummer"],
            "vestigingsnummer": ves["vestigingsnummer"],
            "handelsnaam": ves["handelsnaam"],
            "rechtsvorm": ves["rechtsvorm"],
            "sbi_code": ves["sbi_code"],
            **_address_columns(bag, ves["_addr"].to_numpy()),
            "datum_inschrijving": _fmt_dates(ves["datum_inschrijving"]),
            "datum_uitschrijving": _fmt_dates(ves["datum_uitschrijving"]),
            "werkzame_personen": ves["werkzame_personen"],
        }
    )[COLUMNS["kvk_vestigingen"]]
    fun = fun.assign(_naam=names[fun["_person"].to_numpy()])
    fun = fun.sort_values(["kvk_nummer", "datum_aanvang", "_naam", "functie"], kind="stable")
    fun_out = pd.DataFrame(
        {
            "kvk_nummer": fun["kvk_nummer"].to_numpy(),
            "naam": fun["_naam"].to_numpy(),
            "geboortedatum": _fmt_dates(births[fun["_person"].to_numpy()]).to_numpy(),
            "functie": fun["functie"].to_numpy(),
            "datum_aanvang": _fmt_dates(fun["datum_aanvang"]).to_numpy(),
            "datum_einde": _fmt_dates(fun["datum_einde"]).to_numpy(),
        }
    )

    # --- Kadaster -------------------------------------------------------------------
    order_key = rngs[6].random(len(trans))
    trans = trans.assign(_k=order_key).sort_values(["datum", "_k"], kind="stable")
    trans = trans.reset_index(drop=True)
    years = pd.Series(pd.to_datetime(trans["datum"].to_numpy())).dt.year.astype(str).to_numpy()
    seq = pd.Series(np.arange(1, len(trans) + 1)).astype(str).str.zfill(6).to_numpy()
    trans["transactie_id"] = "T" + pd.Series(years) + "-" + pd.Series(seq)
    planter.kadaster_manifest(trans)
    kandidaten, locaties = planter.truth.finish(ves, trans)
    addr_cols = _address_columns(bag, trans["_addr"].to_numpy())
    kad_out = pd.DataFrame(
        {
            "transactie_id": trans["transactie_id"],
            "datum": _fmt_dates(trans["datum"]),
            "koopsom": trans["koopsom"],
            **{k: addr_cols[k] for k in ("postcode", "huisnummer", "huisletter", "toevoeging")},
            "koper_naam": trans["koper_naam"],
            "koper_type": trans["koper_type"],
            "koper_kvk_nummer": trans["koper_kvk_nummer"],
            "verkoper_naam": trans["verkoper_naam"],
            "verkoper_type": trans["verkoper_type"],
            "hypotheek": trans["hypotheek"],
            "woz_waarde": trans["woz_waarde"],
        }
    )[COLUMNS["kadaster_transacties"]]

    # --- hot spot, partners, survey -----------------------------------------------------
    officer_people = np.unique(fun["_person"].to_numpy())
    officer_names = names[officer_people]
    hotspot = None
    frailty = None
    buurten_hoog = list(planter.buurten_hoog_risico)
    extra = np.random.default_rng([int(seed), 10])  # scenario "afwijkend" only
    if scenario == "standaard":
        hotspot = _signals.hotspot_cells(bag, chosen["hotspot"], rngs[7])
        buurten_hoog.append({"thema": "drugs", "buurtcode": chosen["hotspot"]})
    elif scenario == "afwijkend":
        hotspot = _signals.compact_cluster(bag, chosen["hotspot"], rng=extra, **CLUSTER)
        buurten_hoog.append({"thema": "drugs", "buurtcode": chosen["hotspot"]})
        frailty = _signals.cell_frailty(
            bag, vorm=OVERDISPERSIE["vorm"], nul_kans=OVERDISPERSIE["nul_kans"], rng=extra
        )
    sbi_addr = ves[ves["datum_uitschrijving"].isna()]
    targets = {
        "kwetsbare_branches": np.unique(
            sbi_addr.loc[
                sbi_addr["sbi_code"].isin(
                    ["5630", "45205", "96021", "96022", "4742", "45112", "66193", "6619"]
                ),
                "_addr",
            ]
        ),
        "mensenhandel": np.unique(
            sbi_addr.loc[sbi_addr["sbi_code"].isin(["96022", "45205", "8121", "7830"]), "_addr"]
        ),
        "recreatieparken": np.unique(
            sbi_addr.loc[sbi_addr["sbi_code"].isin(["5520", "5530"]), "_addr"]
        ),
        "bedrijventerreinen": np.flatnonzero(bag["_park"].to_numpy() >= 0),
        "_witwassen_buurt": np.flatnonzero(
            (bag["_gebied"] == chosen["vastgoed"]).to_numpy()
            & (bag["gebruiksdoel"] == "woonfunctie").to_numpy()
        ),
    }
    factors = [
        dict(f) for f in (RTM_FACTOREN_AFWIJKEND if scenario == "afwijkend" else RTM_FACTOREN)
    ]
    events, event_people = _signals.partner_events(
        bag,
        per,
        inhabitants * scale,
        scenario,
        special,
        targets,
        hotspot,
        factors,
        officer_names,
        rngs[8],
        frailty=frailty,
    )
    if hotspot is not None and "_events" in hotspot and "cel_ids" not in hotspot:
        hotspot["cel_ids"] = sorted(set(bag["_cel"].to_numpy(dtype=object)[hotspot["_events"]]))
    answers, mapping, survey_people = _signals.survey(
        areas, bag, chosen, scenario, officer_names, rngs[9]
    )

    # --- write --------------------------------------------------------------------------
    files = []
    bag_out = pd.DataFrame(
        {
            "adresseerbaar_object_id": bag["adres_id"],
            "straat": bag["straat"],
            "huisnummer": bag["huisnummer"],
            "huisletter": bag["huisletter"],
            "toevoeging": bag["toevoeging"],
            "postcode": bag["postcode"],
            "plaats": bag["plaats"],
            "gebruiksdoel": bag["gebruiksdoel"],
            "oppervlakte": bag["oppervlakte"],
            "x": bag["x"].round().astype(np.int64),
            "y": bag["y"].round().astype(np.int64),
        }
    )
    files.append(_write_table(bag_out, out_dir, "bag_adressen", "csv"))
    files.append(_write_table(kvk_out, out_dir, "kvk_vestigingen", fmt))
    files.append(_write_table(fun_out, out_dir, "kvk_functionarissen", fmt))
    files.append(_write_table(kad_out, out_dir, "kadaster_transacties", fmt))
    files.append(_write_table(answers, out_dir, "enquete", "csv"))
    write_text(
        out_dir / "enquete_mapping.yaml",
        yaml.safe_dump(mapping, allow_unicode=True, sort_keys=False, width=200),
    )
    files.append("enquete_mapping.yaml")
    partners_dir = ensure_dir(out_dir / "partners")
    for bron in ("politie", "handhaving", "belastingdienst", "arbeidsinspectie"):
        part = events[events["bron"] == bron]
        if part.empty:
            continue
        part_out = part[_signals.PARTNER_COLUMNS].copy()
        part_out["datum"] = _fmt_dates(part["datum"]).to_numpy()
        part_out["x"] = part["x"].astype("Int64")
        part_out["y"] = part["y"].astype("Int64")
        files.append("partners/" + _write_table(part_out, partners_dir, bron, "csv"))

    # --- manifest -----------------------------------------------------------------------
    files.append(DEMO_MARKER)  # written last, with the hashes of all the others
    personen = pd.concat(
        [
            pd.DataFrame(
                {
                    "naam": names[officer_people],
                    "geboortedatum": _fmt_dates(births[officer_people]).to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "naam": np.concatenate(
                        [
                            trans.loc[
                                trans["koper_type"] == "natuurlijk_persoon", "koper_naam"
                            ].to_numpy(dtype=object),
                            trans.loc[
                                trans["verkoper_type"] == "natuurlijk_persoon", "verkoper_naam"
                            ].to_numpy(dtype=object),
                            officer_names[np.asarray(event_people + survey_people, dtype=np.int64)],
                        ]
                    ),
                    "geboortedatum": "",
                }
            ),
        ],
        ignore_index=True,
    )
    # ISO birth dates in planted.json; null where the files give no birth date
    iso_birth = pd.to_datetime(personen["geboortedatum"], format="%d-%m-%Y", errors="coerce")
    personen["geboortedatum"] = iso_birth.dt.strftime("%Y-%m-%d")
    personen = personen.drop_duplicates().sort_values(["naam", "geboortedatum"], na_position="last")
    personen_list = [
        {"naam": n, "geboortedatum": (None if pd.isna(b) else b)}
        for n, b in zip(personen["naam"], personen["geboortedatum"], strict=True)
    ]
    manifest = {
        "gemeente": gem.code,
        "gemeentenaam": gem.naam,
        "seed": int(seed),
        "scenario": scenario,
        "scale": float(scale),
        "fmt": fmt,
        "periode": {"start": iso(per.start), "eind": iso(per.end)},
        "gebied_niveau": str(areas["niveau"].iloc[0]),
        "bestanden": files,
        "risicolocaties": planter.risicolocaties,
        "kadaster": planter.kadaster,
        "buurten_hoog_risico": [
            b | {"bronnen": _sources(b["thema"], scenario)} for b in buurten_hoog
        ],
        "hotspot": (
            None
            if hotspot is None
            else {k: v for k, v in hotspot.items() if not k.startswith("_")}
            | {"aantal_meldingen_min": 25}
        ),
        "rtm_factoren": factors if scenario in ("standaard", "afwijkend") else [],
        "overdispersie": dict(OVERDISPERSIE) if scenario == "afwijkend" else None,
        "kandidaten": kandidaten,
        "locaties": locaties,
        "voorzieningen": {
            kind: [address_record(bag, a)["adres_id"] for a in special[kind]]
            for kind in ("opslag", "autowasstraat")
        },
        "netwerken": planter.netwerken,
        "personen": personen_list,
        "monitoring": None,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, default=_json_default)
    write_text(out_dir / "planted.json", text + "\n")
    written = [f for f in files if f != DEMO_MARKER] + ["planted.json"]
    _write_marker(out_dir, gem, seed, scenario, written)
    for stale in sorted(set(earlier) - set(written)):  # e.g. xlsx of an earlier csv demo
        (out_dir / stale).unlink(missing_ok=True)
    log.info(
        "Demodata %s (%s, seed %d): %d adressen, %d vestigingen, %d transacties, %d meldingen",
        gem.code,
        scenario,
        seed,
        len(bag_out),
        len(kvk_out),
        len(kad_out),
        len(events),
    )
    return json.loads(text)

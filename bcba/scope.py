"""The focus of a B-CBA: part of the analysed area, or a branch (a knooppunt).

The analysis always runs on the whole municipality (or cluster), so location quotients,
rates and scores keep the municipality as their reference; a focus then restricts what is
reported and written: the buurten of a few wijken (``--gebied``), an area drawn by the
analyst (a port, a business park), or the establishments of a few branches across the
area (``--knooppunt-sbi``). :func:`profile` compares the focus with the rest of the
municipality and the municipality with the region, with the reference stated.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from bcba import reference
from bcba.config import CRS
from bcba.errors import ConfigError, InputProblem, InputValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Focus:
    """What a report covers. Without area or branch it is the whole analysed area."""

    #: buurtcodes of the area focus (None: the whole area)
    buurtcodes: frozenset[str] | None = None
    #: the area itself (an analyst's polygon, or the union of the focus buurten)
    gebied: shapely.Geometry | None = None
    gebied_naam: str = ""
    #: whether the area was drawn by the analyst (then points are selected by the polygon;
    #: else by their buurt)
    getekend: bool = False
    #: SBI code prefixes of the branch focus (a knooppunt)
    sbi: tuple[str, ...] = ()
    branche_naam: str = ""
    #: KvK numbers and BAG address ids of the focus branch's establishments
    kvk_nummers: frozenset[str] = frozenset()
    adres_ids: frozenset[str] = frozenset()
    #: BAG address ids inside the focus area (for the networks)
    gebied_adres_ids: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return self.buurtcodes is not None or bool(self.sbi)

    def description(self) -> str:
        """The focus in Dutch, for the title page and the introduction."""
        parts = []
        if self.buurtcodes is not None:
            parts.append(f"het gebied {self.gebied_naam}")
        if self.sbi:
            parts.append(f"de branche(s) {self.branche_naam}")
        return " en ".join(parts)


def _fold(text: object) -> str:
    return reference._fold(str(text))


def _area_codes(tokens: list[str], area) -> tuple[set[str], list[str]]:
    """Buurtcodes of wijk/buurt codes or names; unknown tokens are returned separately."""
    buurten = area.buurten
    wijken = area.wijken
    from bcba.labels import clean_area_name

    wijk_names = {}
    for code, name in zip(
        wijken["wijkcode"], wijken.get("wijknaam", wijken["wijkcode"]), strict=True
    ):
        wijk_names[_fold(name)] = code
        wijk_names[_fold(clean_area_name(name))] = code
    buurt_names = {}
    for code, name in zip(
        buurten["buurtcode"], buurten.get("buurtnaam", buurten["buurtcode"]), strict=True
    ):
        buurt_names[_fold(name)] = code
    found: set[str] = set()
    unknown: list[str] = []
    for token in tokens:
        text = str(token).strip()
        code = text.upper()
        if code in set(wijken["wijkcode"]):
            found |= set(buurten.loc[buurten["wijkcode"] == code, "buurtcode"])
        elif code in set(buurten["buurtcode"]):
            found.add(code)
        elif _fold(text) in wijk_names:
            found |= set(buurten.loc[buurten["wijkcode"] == wijk_names[_fold(text)], "buurtcode"])
        elif _fold(text) in buurt_names:
            found.add(buurt_names[_fold(text)])
        else:
            unknown.append(text)
    return found, unknown


def _read_polygon(path: Path) -> shapely.Geometry:
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio/GDAL errors have many types; all mean "unreadable"
        raise InputValidationError(
            [
                InputProblem(
                    path.name,
                    None,
                    None,
                    "gebiedsbestand kan niet worden gelezen",
                    str(exc)[:80],
                    "Lever een GeoPackage of GeoJSON met de grens van het gebied als vlak aan",
                )
            ]
        ) from None
    if frame.crs is None:
        raise InputValidationError(
            [
                InputProblem(
                    path.name,
                    None,
                    None,
                    "gebiedsbestand heeft geen coördinatenstelsel",
                    None,
                    "Sla het bestand op met EPSG:28992 (RD New)",
                )
            ]
        )
    frame = frame.to_crs(CRS)
    polygons = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polygons.empty:
        raise InputValidationError(
            [
                InputProblem(
                    path.name,
                    None,
                    None,
                    "gebiedsbestand bevat geen vlakken",
                    None,
                    "Teken het gebied als (multi)polygoon",
                )
            ]
        )
    return shapely.union_all(polygons.geometry.values)


def resolve_focus(cfg, area, inputs=None) -> Focus:
    """The :class:`Focus` of a run configuration (``gebied``, ``gebied_bestand``,
    ``knooppunt_sbi``) on its study area.

    Raises
    ------
    ConfigError
        A wijk or buurt that does not exist in the area (with the names that do).
    InputValidationError
        An unreadable area file.
    """
    buurtcodes: set[str] | None = None
    geometry = None
    names: list[str] = []
    if cfg.gebied:
        found, unknown = _area_codes(list(cfg.gebied), area)
        if unknown:
            known = sorted(area.wijken.get("wijknaam", area.wijken["wijkcode"]).astype(str))[:12]
            raise ConfigError(
                f"Onbekend gebied: {', '.join(repr(u) for u in unknown)}. Geef wijk- of buurtcodes "
                f"(WK…, BU…) of namen uit de CBS-indeling, bijvoorbeeld {', '.join(known)}."
            )
        buurtcodes = found
        names.append(", ".join(str(g) for g in cfg.gebied))
    if cfg.gebied_bestand:
        geometry = _read_polygon(Path(cfg.gebied_bestand))
        points = area.buurten.geometry.representative_point()
        inside = set(area.buurten.loc[points.within(geometry).to_numpy(), "buurtcode"])
        inside |= set(
            area.buurten.loc[
                area.buurten.intersects(geometry).to_numpy()
                & (area.buurten.intersection(geometry).area > 0.5 * area.buurten.area).to_numpy(),
                "buurtcode",
            ]
        )
        buurtcodes = inside if buurtcodes is None else buurtcodes | inside
        names.append(Path(cfg.gebied_bestand).stem)
    if buurtcodes is not None and geometry is None:
        chosen = area.buurten[area.buurten["buurtcode"].isin(buurtcodes)]
        geometry = shapely.union_all(chosen.geometry.values) if len(chosen) else None
    if buurtcodes is not None and not buurtcodes and geometry is None:
        raise ConfigError("Het opgegeven gebied bevat geen enkele buurt van het analysegebied.")
    sbi = tuple(str(c).strip() for c in cfg.knooppunt_sbi if str(c).strip())
    kvk, adressen = frozenset(), frozenset()
    if sbi and inputs is not None and inputs.kvk_vestigingen is not None:
        est = inputs.kvk_vestigingen
        match = est["sbi_code"].astype(str).str.startswith(sbi)
        kvk = frozenset(est.loc[match, "kvk_nummer"].dropna().astype(str))
        adressen = frozenset(est.loc[match, "adres_id"].dropna().astype(str))
    branche = cfg.knooppunt_naam or (", ".join(_sbi_label(c) for c in sbi) if sbi else "")
    area_ids = frozenset()
    if buurtcodes is not None and inputs is not None:
        bag = inputs.bag
        area_ids = frozenset(
            bag.loc[bag["buurtcode"].isin(buurtcodes), "adres_id"].dropna().astype(str)
        )
    return Focus(
        gebied_adres_ids=area_ids,
        buurtcodes=frozenset(buurtcodes) if buurtcodes is not None else None,
        gebied=geometry,
        gebied_naam=cfg.gebied_naam or " en ".join(names),
        getekend=cfg.gebied_bestand is not None,
        sbi=sbi,
        branche_naam=branche,
        kvk_nummers=kvk,
        adres_ids=adressen,
    )


def _sbi_label(code: str) -> str:
    table = reference.sbi2008()
    hit = table[table["sbi_code"].astype(str) == code]
    return f"{hit['omschrijving'].iloc[0]} (SBI {code})" if len(hit) else f"SBI {code}"


# --------------------------------------------------------------------------- restriction
def _in_area(frame: pd.DataFrame, focus: Focus) -> np.ndarray:
    """Rows of ``frame`` in the focus area.

    Tables per buurt (polygons or a ``buurtcode``) by their code: a neighbouring buurt that
    only touches the area is not in it. Points by their location when the analyst drew the
    area (a port need not follow buurt borders), else by the buurt they lie in.
    """
    if focus.buurtcodes is None:
        return np.ones(len(frame), dtype=bool)
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame
    points = is_geo and bool((frame.geometry.geom_type == "Point").any())
    if points and (focus.getekend or "buurtcode" not in frame) and focus.gebied is not None:
        geom = frame.geometry
        located = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
        inside = np.zeros(len(frame), dtype=bool)
        inside[located] = shapely.intersects(focus.gebied, geom.to_numpy()[located])
        if "buurtcode" in frame:
            inside |= frame["buurtcode"].isin(focus.buurtcodes).to_numpy() & ~located
        return inside
    for column in ("buurtcode", "gebied"):
        if column in frame:
            return frame[column].astype(str).isin(focus.buurtcodes).to_numpy()
    return np.ones(len(frame), dtype=bool)


def _in_branch(frame: pd.DataFrame, focus: Focus) -> np.ndarray:
    if not focus.sbi:
        return np.ones(len(frame), dtype=bool)
    keep = np.zeros(len(frame), dtype=bool)
    for column, wanted in (
        ("kvk_nummer", focus.kvk_nummers),
        ("adres_id", focus.adres_ids),
        ("entiteit_id", focus.kvk_nummers | focus.adres_ids),
    ):
        if column in frame:
            keep |= frame[column].astype("string").isin(wanted).fillna(False).to_numpy(bool)
    return keep


def _rows(frame, mask):
    if frame is None:
        return None
    out = frame[mask]
    if hasattr(frame, "attrs"):
        out.attrs = dict(frame.attrs)
    return out.reset_index(drop=True)


def restrict_indicators(indicators, focus: Focus):
    """The indicator tables of the focus: its buurten, and the flags, risk locations and
    signals in its area or of its branch."""
    if not focus.active:
        return indicators
    updates = {}
    for name in (
        "scores_buurt",
        "scores",
        "bijdragen",
        "indicatoren",
        "partners_buurt",
        "gelegenheid_buurt",
        "gelegenheid_thema_buurt",
        "kwetsbaarheid",
    ):
        table = getattr(indicators, name)
        if table is not None and len(table):
            updates[name] = _rows(table, _in_area(table, focus))
    for name in ("flags", "risicolocaties", "signalen"):
        table = getattr(indicators, name)
        updates[name] = _rows(table, _in_area(table, focus) & _in_branch(table, focus))
    return dataclasses.replace(indicators, **updates)


def restrict_spatial(spatial: dict, focus: Focus) -> dict:
    """Hot spots, raised buurten and the risk surface within the focus area (a branch
    focus keeps the area-wide statistics: they are about places, not branches)."""
    if focus.buurtcodes is None:
        return spatial
    out = {}
    for thema, s in spatial.items():
        updates = {}
        for name in ("hotspots_buurt", "overschot_buurt", "moran_buurt"):
            table = getattr(s, name)
            if table is not None:
                updates[name] = _rows(
                    table, table["buurtcode"].astype(str).isin(focus.buurtcodes).to_numpy()
                )
        for name in ("hotspots_cel", "surface"):
            table = getattr(s, name)
            if table is not None and focus.gebied is not None:
                # a cell belongs to the area its centre lies in (not every cell on the border)
                centres = shapely.centroid(table.geometry.to_numpy())
                updates[name] = _rows(table, shapely.intersects(focus.gebied, centres))
        out[thema] = dataclasses.replace(s, **updates)
    return out


def restrict_networks(networks, focus: Focus):
    """The networks with at least one company or address in the focus."""
    if not focus.active or networks is None:
        return networks
    nodes = networks.nodes
    ids = nodes["node_id"].astype(str)
    wanted = np.zeros(len(nodes), dtype=bool)
    if focus.sbi:
        wanted |= ids.isin(
            {f"K-{k}" for k in focus.kvk_nummers} | {f"A-{a}" for a in focus.adres_ids}
        ).to_numpy()
    if focus.buurtcodes is not None:
        in_area = (
            nodes["adres_id"]
            .astype("string")
            .isin(focus.gebied_adres_ids)
            .fillna(False)
            .to_numpy(bool)
        )
        wanted = (wanted & in_area) if focus.sbi else in_area
    keep = set(nodes.loc[wanted, "netwerk_id"].dropna().astype(str))
    table = networks.networks
    return dataclasses.replace(
        networks,
        networks=table[table["netwerk_id"].astype(str).isin(keep)].reset_index(drop=True),
        flags=networks.flags[
            networks.flags["netwerk_id"].astype("string").isin(keep).fillna(False).to_numpy(bool)
        ]
        if "netwerk_id" in networks.flags
        else networks.flags,
    )


# --------------------------------------------------------------------------- profile
def _per_1000(count: float, base: float) -> float:
    return float(count) / base * 1000 if base else float("nan")


def profile(inputs, indicators, focus: Focus) -> pd.DataFrame:
    """The focus against the rest of the municipality, and the municipality against the
    region: counts per 1,000 addresses (BAG) of red-flag addresses, partner events and
    signals, and registered crime and income from the shipped reference data.

    Columns: ``maat`` (Dutch), ``gebied`` (whose figure), ``waarde``, ``referentie`` (what
    it is compared with, in words).
    """
    bag = inputs.bag
    rows = []
    gem = inputs.gemeente

    def counts(mask_addr, mask_loc, mask_events, mask_sig):
        n = int(mask_addr.sum())
        return {
            "adressen": n,
            "risicoadressen": _per_1000(mask_loc.sum(), n),
            "meldingen": _per_1000(mask_events.sum(), n),
            "signalen": _per_1000(mask_sig.sum(), n),
        }

    loc = indicators.risicolocaties
    sig = indicators.signalen
    events = inputs.partners if inputs.partners is not None else pd.DataFrame({"buurtcode": []})
    if focus.buurtcodes is not None:

        def inside(frame):
            return (
                frame["buurtcode"]
                .astype("string")
                .isin(focus.buurtcodes)
                .fillna(False)
                .to_numpy(bool)
            )

        here = counts(inside(bag), inside(loc), inside(events), inside(sig))
        rest = counts(~inside(bag), ~inside(loc), ~inside(events), ~inside(sig))
        for key, label in (
            ("risicoadressen", "Adressen met een rode vlag"),
            ("meldingen", "Partnermeldingen"),
            ("signalen", "Signalen"),
        ):
            rows.append(
                {
                    "maat": f"{label} per 1.000 adressen",
                    "gebied": focus.gebied_naam,
                    "waarde": here[key],
                    "referentie": f"rest van {gem.naam}: {rest[key]:.1f}".replace(".", ","),
                }
            )
    crime = reference.geregistreerde_misdrijven()
    latest = int(crime["jaar"].max())
    crime = crime[(crime["jaar"] == latest) & crime["regiotype"].eq("gemeente")]
    # inhabitants: CBS 2024 kerncijfers of the shipped municipalities
    inhabitants = reference.gemeente_kerncijfers().set_index("gemeentecode")["aantal_inwoners"]
    own = crime.loc[crime["gemeentecode"].isin(gem.codes), "geregistreerde_misdrijven"].sum()
    own_inh = inhabitants.reindex(list(gem.codes)).sum()
    reg = crime[
        crime["riec_rotterdam"].astype(bool) & crime["gemeentecode"].isin(inhabitants.index)
    ]
    reg_inh = inhabitants.reindex(reg["gemeentecode"].unique()).sum()
    if own_inh and reg_inh:
        rows.append(
            {
                "maat": f"Geregistreerde misdrijven per 1.000 inwoners ({latest})",
                "gebied": gem.naam,
                "waarde": _per_1000(own, own_inh),
                "referentie": f"regio RIEC Rotterdam: {_per_1000(reg['geregistreerde_misdrijven'].sum(), reg_inh):.1f}".replace(
                    ".", ","
                ),
            }
        )
    income = reference.inkomen_welvaart()
    own_income = income[income["gemeentecode_2024"].isin(gem.codes)]
    if own_income["gemiddeldInkomenPerInwoner"].notna().any():

        def mean(frame):
            return float(
                (frame["gemiddeldInkomenPerInwoner"] * frame["aantalInwoners"]).sum()
                / frame["aantalInwoners"].sum()
            )

        rows.append(
            {
                "maat": "Gemiddeld inkomen per inwoner (× € 1.000, 2022)",
                "gebied": gem.naam,
                "waarde": mean(own_income),
                "referentie": f"regio RIEC Rotterdam: {mean(income):.1f}".replace(".", ","),
            }
        )
    return pd.DataFrame(rows, columns=["maat", "gebied", "waarde", "referentie"])

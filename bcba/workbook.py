"""The Excel workbook of a run: ``resultaten_<GMxxxx>.xlsx`` beside the report.

One sheet per result table (scores per buurt, risk locations, signals, red flags, networks,
data quality), with Dutch headers and labels, number and date formats, a frozen header row,
filters and sensible widths, and the marking "STRIKT VERTROUWELIJK" in the first row and the
print header of every sheet. Persons appear by pseudonym only, as in every output.

openpyxl makes the workbook (styles, sheet settings, marking and header rows), but its
per-cell API takes half a minute for a city's 100,000 flags; the data rows are therefore
written as sheet XML column by column with Arrow, as :mod:`bcba.network.export` streams
GraphML, in the styles openpyxl assigned to a template row. Text is neutralised by
:func:`bcba.io.neutralise`, as in the CSVs.
"""

from __future__ import annotations

import io as _io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bcba import labels
from bcba.io import neutralise, write_bytes
from bcba.maps.palette import MARKING, MARKING_COLOUR

#: The order in which signals are followed up and numbered (the report numbers them alike).
PRIORITY_ORDER: dict[str, int] = {"hoog": 0, "middel": 1, "laag": 2}
#: Excel number formats (Excel shows them in the reader's locale: 1.234,5 in Dutch Excel).
COUNT = "#,##0"
DECIMAL1 = "0.0"
DECIMAL2 = "0.00"
DECIMAL3 = "0.000"
PERCENT = "0.0%"
DATE = "dd-mm-yyyy"
#: Rows above the data: the marking and the header.
_HEADER_ROWS = 2
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_TEXT = pa.large_string()


@dataclass(frozen=True)
class Sheet:
    """One sheet: a table with Dutch headers, the number format of some columns (by header;
    other numbers: :data:`COUNT` for whole numbers, :data:`DECIMAL2` otherwise), and a
    one-line title shown after the marking."""

    name: str
    title: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)


def numbered_signals(signalen: pd.DataFrame) -> pd.DataFrame:
    """The signals in follow-up order (priority hoog, middel, laag, then signal id) with
    their number ``nr`` (1, 2, ...): the numbering of the report and the workbook."""
    order = signalen["prioriteit"].map(PRIORITY_ORDER).fillna(len(PRIORITY_ORDER))
    ordered = signalen.assign(_o=order).sort_values(["_o", "signaal_id"], kind="stable")
    return ordered.drop(columns="_o").assign(nr=np.arange(1, len(ordered) + 1))


def readable_addresses(frame: pd.DataFrame, bag: pd.DataFrame) -> pd.Series:
    """:func:`bcba.labels.addresses` of ``frame``, looking only at the BAG addresses it
    names (a city's BAG has 300,000; a table of signals names a few thousand)."""
    ids = frame["adres_id"].dropna().astype(str) if "adres_id" in frame else pd.Series(dtype=str)
    return labels.addresses(frame, bag[bag["adres_id"].astype(str).isin(ids)])


def _theme_labels(results) -> dict[str, str]:
    themes = {t: theme.label for t, theme in results.themes.themas.items()}
    return {"totaal": "Totaal", **themes}


def _themes_text(values: pd.Series, names: Mapping[str, str]) -> list[str]:
    return [
        ", ".join(names.get(t, t) for t in str(v).split(";") if t) if isinstance(v, str) else ""
        for v in values
    ]


def _drop_geometry(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))


def _buurt_names(results) -> pd.Series:
    buurten = results.inputs.area.buurten
    return pd.Series(buurten["buurtnaam"].to_numpy(), index=buurten["buurtcode"].astype(str))


def scores_sheet(results) -> Sheet:
    """Scores per buurt: score, rank (with its interval when the scores carry one) and
    percentile per theme, the total first."""
    scores = _drop_geometry(results.indicators.scores_buurt)
    names = _theme_labels(results)
    frame = pd.DataFrame(
        {
            "Buurtcode": scores["buurtcode"].astype("string"),
            "Buurt": scores.get("buurtnaam"),
            "Wijkcode": scores.get("wijkcode"),
            "Inwoners": pd.to_numeric(scores.get("aantal_inwoners"), errors="coerce"),
            "Adressen": scores.get("adressen"),
            "Klein gebied": scores["klein_gebied"].map({True: "ja", False: "nee"})
            if "klein_gebied" in scores
            else None,
        }
    ).dropna(axis=1, how="all")
    formats = {}
    for thema in sorted(
        (c.removeprefix("score_") for c in scores if c.startswith("score_")),
        key=lambda t: (t != "totaal", list(names).index(t) if t in names else len(names)),
    ):
        label = names.get(thema, thema)
        frame[f"Score {label.lower()}"] = scores[f"score_{thema}"]
        formats[f"Score {label.lower()}"] = DECIMAL2
        frame[f"Rang {label.lower()}"] = scores.get(f"rang_{thema}")
        for bound, word in (("laag", "van"), ("hoog", "tot")):
            if f"rang_{thema}_{bound}" in scores:
                frame[f"Rang {label.lower()} {word}"] = scores[f"rang_{thema}_{bound}"]
        if f"percentiel_{thema}" in scores:
            frame[f"Percentiel {label.lower()}"] = scores[f"percentiel_{thema}"]
            formats[f"Percentiel {label.lower()}"] = DECIMAL1
    rank = "Rang totaal" if "Rang totaal" in frame else None
    if rank is not None:
        frame = frame.sort_values([rank, "Buurtcode"], na_position="last", kind="stable")
    return Sheet(
        "Scores per buurt",
        "Samengestelde score per buurt en thema (rang 1 = hoogste score; kleine gebieden "
        "hebben geen rang)",
        frame,
        formats,
    )


def risk_locations_sheet(results) -> Sheet:
    """Risk locations: readable address, buurt, the red flags in words and their evidence."""
    loc = _drop_geometry(results.indicators.risicolocaties)
    order = [c for c in ("bewijskracht", "n_soorten", "n_flags") if c in loc]
    loc = loc.sort_values([*order, "adres_id"], ascending=[False] * len(order) + [True])
    names = _theme_labels(results)
    frame = pd.DataFrame(
        {
            "Adres": readable_addresses(loc, results.inputs.bag).to_numpy(),
            "Buurt": loc["buurtcode"].astype(str).map(_buurt_names(results)).to_numpy(),
            "Wijkcode": loc["wijkcode"].to_numpy(),
            "Rode vlaggen": [labels.flags_text(f) for f in loc["flag_ids"]],
            "Bewijskracht": loc["bewijskracht"].to_numpy() if "bewijskracht" in loc else np.nan,
            "Soorten vlaggen": loc["n_soorten"].to_numpy(),
            "Aantal vlaggen": loc["n_flags"].to_numpy(),
            "Onderbouwing": [" | ".join(labels.evidence_items(b)) for b in loc["bewijs"]],
            "Thema's": _themes_text(loc["themas"], names),
            "BAG-id": loc["adres_id"].to_numpy(),
        }
    )
    return Sheet(
        "Risicolocaties",
        "Adressen met rode vlaggen uit KvK en Kadaster, het sterkste gecombineerde bewijs eerst "
        "(bewijskracht: volle vlag 1, zwakke of verklaarbare vlag 0,5; per soort vlag hoogstens 1)",
        frame,
    )


def signals_sheet(results) -> Sheet:
    """Signals for follow-up, numbered as in the report."""
    sig = numbered_signals(_drop_geometry(results.indicators.signalen))
    names = _theme_labels(results)
    frame = pd.DataFrame(
        {
            "Nr.": sig["nr"].to_numpy(),
            "Prioriteit": sig["prioriteit"].to_numpy(),
            "Opvolging door": [labels.OWNER_LABELS.get(o, o) for o in sig["eigenaar"]],
            "Adres": readable_addresses(sig, results.inputs.bag).to_numpy(),
            "Buurt": sig["buurtcode"].astype(str).map(_buurt_names(results)).to_numpy(),
            "Wat": [labels.flags_text(f) for f in sig["flag_ids"]],
            "Onderbouwing": [" | ".join(labels.evidence_items(b)) for b in sig["bewijs"]],
            "Bronnen": [labels.sources_text(s) for s in sig["bronnen"]],
            "Aantal indicaties": sig["indicaties"].to_numpy(),
            "Thema's": _themes_text(sig["themas"], names),
            "Signaal-id": sig["signaal_id"].to_numpy(),
        }
    )
    return Sheet(
        "Signalen",
        "Signalen voor opvolging, genummerd zoals in het rapport",
        frame,
    )


def flags_sheet(results) -> Sheet:
    """Every red flag with its evidence (KvK numbers and pseudonyms, never names)."""
    flags = _drop_geometry(results.indicators.flags)
    names = _theme_labels(results)
    entity = {"adres": "adres", "bedrijf": "bedrijf", "vestiging": "vestiging"}
    frame = pd.DataFrame(
        {
            "Rode vlag": [labels.flag_label(f) for f in flags["flag_id"]],
            "Bron": [labels.SOURCE_LABELS.get(b, b) for b in flags["bron"]],
            "Datum": pd.to_datetime(flags["datum"], errors="coerce").to_numpy(),
            "Onderbouwing": [labels.readable(b) for b in flags["bewijs"]],
            "Soort": flags["entiteit_type"].map(lambda v: entity.get(v, v)).to_numpy(),
            "KvK-nummer": flags["kvk_nummer"].to_numpy(),
            "Vestigingsnummer": flags["vestigingsnummer"].to_numpy(),
            "Persoon (pseudoniem)": flags["persoon_id"].to_numpy(),
            "Transactie": flags["transactie_id"].to_numpy(),
            "Buurt": flags["buurtcode"].astype(str).map(_buurt_names(results)).to_numpy(),
            "Wijkcode": flags["wijkcode"].to_numpy(),
            "Thema's": _themes_text(flags["themas"], names),
            "BAG-id": flags["adres_id"].to_numpy(),
        }
    )
    return Sheet("Rode vlaggen", "Alle rode vlaggen met hun onderbouwing", frame, {"Datum": DATE})


def networks_sheet(results) -> Sheet | None:
    """Networks with at least one flag, best ranked first (all are in netwerken.csv)."""
    if results.networks is None:
        return None
    table = results.networks.networks
    flagged = table[table["flags"].astype(str).str.len() > 0].sort_values("rang")
    frame = pd.DataFrame(
        {
            "Rang": flagged["rang"].to_numpy(),
            "Netwerk": flagged["netwerk_id"].to_numpy(),
            "Score": flagged["score"].to_numpy(),
            "Soorten signalen": flagged["n_signaalsoorten"].to_numpy(),
            "Signalen": [labels.readable(f) for f in flagged["flags"]],
            "Bedrijven": flagged["n_bedrijven"].to_numpy(),
            "Personen": flagged["n_personen"].to_numpy(),
            "Adressen": flagged["n_adressen"].to_numpy(),
            "Vastgoed": flagged["n_vastgoed"].to_numpy(),
            "Meldingen": flagged["n_meldingen"].to_numpy(),
            "Centrale knoop": flagged["centrale_knoop"].to_numpy(),
            "Beschrijving": [labels.readable(b) for b in flagged["beschrijving"]],
        }
    )
    return Sheet(
        "Netwerken",
        "Netwerken van bedrijven, personen (pseudoniem) en adressen met signalen",
        frame,
    )


def quality_sheets(results) -> list[Sheet]:
    """Data quality: the checks per source, the geocoding rates and the sources read."""
    inputs = results.inputs
    source = labels.SOURCE_LABELS
    kw = inputs.kwaliteit
    quality = pd.DataFrame(
        {
            "Bron": [source.get(b, b) for b in kw["bron"]],
            "Bestand": kw["bestand"].to_numpy(),
            "Controle": kw["controle"].to_numpy(),
            "Aantal": kw["aantal"].to_numpy(),
            "Toelichting": kw["toelichting"].to_numpy(),
        }
    )
    geo = inputs.geocodering
    geocoding = pd.DataFrame(
        {
            "Bron": [source.get(b, b) for b in geo["bron"]],
            "Koppelniveau": [labels.GEOCODE_LABELS.get(g, g) for g in geo["geocode_niveau"]],
            "Aantal": geo["aantal"].to_numpy(),
            "Aandeel": geo["aandeel"].to_numpy(),
        }
    )
    src = inputs.bronnen
    sources = pd.DataFrame(
        {
            "Bron": [source.get(b, b) for b in src["bron"]],
            "Aanwezig": src["aanwezig"].map({True: "ja", False: "nee"}).to_numpy(),
            "Bestand": src["bestand"].to_numpy(),
            "Records": src["rijen"].to_numpy(),
            "Van": pd.to_datetime(src["periode_van"], errors="coerce").to_numpy(),
            "Tot en met": pd.to_datetime(src["periode_tot"], errors="coerce").to_numpy(),
        }
    )
    return [
        Sheet("Datakwaliteit", "Controles op de aangeleverde bestanden", quality),
        Sheet(
            "Geocodering",
            "Hoe nauwkeurig de records aan een locatie zijn gekoppeld",
            geocoding,
            {"Aandeel": PERCENT},
        ),
        Sheet(
            "Bronnen",
            "De gelezen bronnen en hun periode",
            sources,
            {"Van": DATE, "Tot en met": DATE},
        ),
    ]


def result_sheets(results) -> list[Sheet]:
    """Every data sheet of the workbook of ``results`` (:class:`bcba.engine.Results`)."""
    sheets = [
        scores_sheet(results),
        risk_locations_sheet(results),
        signals_sheet(results),
        flags_sheet(results),
        networks_sheet(results),
        *quality_sheets(results),
    ]
    return [s for s in sheets if s is not None]


def _guide(results, sheets: list[Sheet]) -> list[list[str]]:
    gem = results.gemeente
    cfg = results.cfg
    rows = [
        [f"Resultaten B-CBA {gem.naam} ({gem.code})"],
        [
            f"Periode: {labels.nl_date(cfg.periode_start)} tot en met {labels.nl_date(cfg.periode_eind)}"
        ],
        [f"Rapport: {cfg.rapport_id}"],
        [],
        ["Blad", "Inhoud", "Rijen"],
        *[[s.name, s.title, f"{len(s.frame):,}".replace(",", ".")] for s in sheets],
        [],
        [
            "Personen staan alleen als pseudoniem (P-…) in dit bestand. De CSV-bestanden in de "
            "runmap bevatten dezelfde tabellen met vaste kolomnamen voor scripts."
        ],
    ]
    return rows


def write_workbook(results, out_dir: str | Path | None = None) -> Path:
    """Write ``resultaten_<GMxxxx>.xlsx`` (atomic, owner-only) into ``out_dir`` (default the
    run folder of ``results``) and return its path.

    Parameters
    ----------
    results
        :class:`bcba.engine.Results` of a complete run (networks may be None).
    out_dir
        Target folder; default ``results.cfg.output_dir``.
    """
    folder = Path(out_dir) if out_dir is not None else Path(results.cfg.output_dir)
    sheets = result_sheets(results)
    path = folder / f"resultaten_{results.cfg.gemeente}.xlsx"
    return write_sheets(sheets, path, guide=_guide(results, sheets))


# --------------------------------------------------------------------------- writing
#: :func:`pandas.api.types.infer_dtype` of an object column -> how it is written.
_INFERRED = {
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "float",
    "datetime64": "date",
    "datetime": "date",
    "date": "date",
    "boolean": "bool",
}


def _excel_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The frame as written (texts neutralised, booleans as ja/nee) and each column's kind:
    ``text``, ``int``, ``float`` or ``date``."""
    out = {}
    kinds = []
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i].reset_index(drop=True)
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype):
            kind = "bool"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "date"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "int"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "float"
        elif pd.api.types.is_object_dtype(dtype):
            kind = _INFERRED.get(pd.api.types.infer_dtype(values, skipna=True), "text")
        else:
            kind = "text"
        if kind == "bool":
            values, kind = values.map({True: "ja", False: "nee"}).astype(object), "text"
        out[i] = values
        kinds.append(kind)
    written = pd.DataFrame(out)
    written.columns = frame.columns
    return neutralise(written), kinds


def _neutral(text: str) -> str:
    """One text as :func:`bcba.io.neutralise` writes it."""
    return neutralise(pd.DataFrame({"t": [text]}, dtype=object))["t"].iloc[0]


def _width(header: str, values: pd.Series, kind: str) -> float:
    if kind == "date":
        longest = 10
    elif kind == "text":
        sample = values.head(2000).dropna().astype(str).str.len()
        longest = int(sample.quantile(0.95)) if len(sample) else 0
    else:
        longest = 12
    return float(min(60, max(8, len(header) * 1.1, longest * 1.05) + 2))


def _text_array(values: pd.Series) -> pa.Array:
    """XML-escaped texts (control characters XML forbids removed); null when missing."""
    text = pa.array(values.astype("string"), type=_TEXT)
    text = pc.replace_substring_regex(text, _XML_ILLEGAL, "")
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, char, entity)
    return text


def _number_array(values: pd.Series, kind: str) -> pa.Array:
    """Numbers as text (Excel's date serials for dates); null when missing or infinite."""
    if kind == "date":
        stamps = pd.to_datetime(values, errors="coerce")
        numbers = ((stamps - _EXCEL_EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(numbers)
    if kind == "int" or (kind == "date" and np.all(numbers[finite] == np.round(numbers[finite]))):
        array = pa.array(np.where(finite, numbers, 0).astype(np.int64), mask=~finite)
    else:
        array = pa.array(numbers, mask=~finite)
    return pc.cast(array, _TEXT)


def _join(*parts: str | pa.Array, missing: str | None = None) -> pa.Array:
    scalars = [pa.scalar(p, _TEXT) if isinstance(p, str) else p for p in parts]
    options = {"null_handling": "emit_null"}
    if missing is not None:
        options = {"null_handling": "replace", "null_replacement": missing}
    return pc.binary_join_element_wise(*scalars, pa.scalar("", _TEXT), **options)


def _sheet_rows(frame: pd.DataFrame, kinds: list[str], styles: list[str]) -> bytes:
    """The ``<row>`` elements of the data rows (sheet rows 3, 4, ...)."""
    from openpyxl.utils import get_column_letter

    n = len(frame)
    if n == 0:
        return b""
    numbers = pa.array(np.arange(_HEADER_ROWS + 1, _HEADER_ROWS + 1 + n).astype(str), _TEXT)
    cells = []
    for i, kind in enumerate(kinds):
        values = frame.iloc[:, i]
        ref = f'<c r="{get_column_letter(i + 1)}'
        style = f' s="{styles[i]}"' if styles[i] else ""
        if kind == "text":
            content = _text_array(values)
            cells.append(
                _join(ref, numbers, f'"{style} t="inlineStr"><is><t>', content, "</t></is></c>")
            )
        else:
            content = _number_array(values, kind)
            cells.append(_join(ref, numbers, f'"{style}><v>', content, "</v></c>"))
    rows = _join('<row r="', numbers, '">', *cells, "</row>", missing="")
    whole = pc.binary_join(
        pa.LargeListArray.from_arrays(pa.array([0, n], pa.int64()), rows), pa.scalar("", _TEXT)
    )
    return whole[0].as_buffer().to_pybytes()


def write_sheets(
    sheets: list[Sheet], path: str | Path, *, guide: list[list[str]] | None = None
) -> Path:
    """Write ``sheets`` (and a first sheet "Leeswijzer" with the rows of ``guide``) as one
    workbook, atomically and owner-only.

    Every sheet: the marking and its title in row 1, Dutch headers in row 2 (frozen, with a
    filter), the data from row 3; the marking in the print header too.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    marking_font = Font(bold=True, color=MARKING_COLOUR.lstrip("#").upper())
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", start_color="D9D9D9")
    prepared = []
    if guide is not None:
        ws = book.create_sheet("Leeswijzer")
        ws.column_dimensions["A"].width = 24
        ws.column_dimensions["B"].width = 90
        ws.oddHeader.center.text = MARKING
        cell = WriteOnlyCell(ws, value=MARKING)
        cell.font = marking_font
        ws.append([cell])
        for row in guide:
            ws.append([_neutral(text) for text in row])
    for sheet in sheets:
        frame, kinds = _excel_frame(sheet.frame)
        headers = [_neutral(str(c)) for c in sheet.frame.columns]
        ws = book.create_sheet(sheet.name[:31])
        last = get_column_letter(max(1, len(headers)))
        ws.freeze_panes = f"A{_HEADER_ROWS + 1}"
        ws.auto_filter.ref = f"A{_HEADER_ROWS}:{last}{_HEADER_ROWS + max(1, len(frame))}"
        ws.oddHeader.center.text = MARKING
        ws.print_title_rows = f"1:{_HEADER_ROWS}"
        for i, header in enumerate(headers):
            ws.column_dimensions[get_column_letter(i + 1)].width = _width(
                header, frame.iloc[:, i], kinds[i]
            )
        title = WriteOnlyCell(ws, value=f"{MARKING} – {sheet.title}")
        title.font = marking_font
        ws.append([title])
        head = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=header)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(vertical="top")
            head.append(cell)
        ws.append(head)
        # a template row: openpyxl registers each column's style; its XML is replaced
        template = []
        for header, kind in zip(headers, kinds, strict=True):
            cell = WriteOnlyCell(ws, value="x" if kind == "text" else 0)
            if kind != "text":
                default = DATE if kind == "date" else COUNT if kind == "int" else DECIMAL2
                cell.number_format = sheet.formats.get(header, default)
            template.append(cell)
        ws.append(template)
        prepared.append((ws, frame, kinds, len(headers)))
    buffer = _io.BytesIO()
    book.save(buffer)
    return write_bytes(path, _fill_rows(buffer.getvalue(), prepared))


_TEMPLATE_ROW = re.compile(rb'<row r="%d"[^>]*>.*?</row>' % (_HEADER_ROWS + 1), re.S)
_CELL_STYLE = re.compile(rb'<c r="[A-Z]+%d"(?: s="(\d+)")?' % (_HEADER_ROWS + 1))
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"\s*/>')


def _fill_rows(data: bytes, prepared: list) -> bytes:
    """The workbook ``data`` with each sheet's template row replaced by its data rows."""
    from openpyxl.utils import get_column_letter

    by_part = {ws.path.lstrip("/"): rest for ws, *rest in prepared}
    source = zipfile.ZipFile(_io.BytesIO(data))
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename in by_part:
                frame, kinds, width = by_part[info.filename]
                match = _TEMPLATE_ROW.search(content)
                styles = [
                    (m.group(1) or b"").decode() for m in _CELL_STYLE.finditer(match.group(0))
                ]
                rows = _sheet_rows(frame, kinds, styles)
                content = content[: match.start()] + rows + content[match.end() :]
                ref = f"A1:{get_column_letter(max(1, width))}{_HEADER_ROWS + max(1, len(frame))}"
                content = _DIMENSION.sub(f'<dimension ref="{ref}"/>'.encode(), content, count=1)
            target.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()

"""The regional overview: the latest B-CBA results of several municipalities side by side.

Reads the result tables each municipal run wrote into its report folder
(``reports/<GMxxxx>_<naam>/<date>/``), normalises them per inhabitant or per address
(CBS inhabitants 2024 of the shipped municipality layer), draws a regional map, and shows
the state of the administrative approach per municipality from a small CSV
(``bcba/defaults/aanpak_regio.csv`` is an illustrative example, not real policy data).

:func:`run_regional_report` executes ``notebooks/regio_overzicht.ipynb`` (one
:class:`Regio` call per cell) and renders it with the same template, marking and offline
checks as the municipal report.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from IPython.display import HTML

from bcba import config
from bcba.errors import ConfigError, InputProblem, InputValidationError, MissingInputError
from bcba.io import read_csv
from bcba.report import html as rh

log = logging.getLogger(__name__)

REGIO_NOTEBOOK = "regio_overzicht.ipynb"
AANPAK_CSV = config.DEFAULTS_DIR / "aanpak_regio.csv"
AANPAK_JA_NEE = ("bibob_beleid", "programma_ondermijning", "beleid_13b", "training_gedaan")
AANPAK_COLUMNS = (
    "gemeentecode",
    *AANPAK_JA_NEE[:1],
    "bibob_sectoren",
    *AANPAK_JA_NEE[1:],
    "peildatum",
)
AANPAK_LABELS = {
    "gemeentenaam": "Gemeente",
    "bibob_beleid": "Bibob-beleid",
    "bibob_sectoren": "Bibob-sectoren",
    "programma_ondermijning": "Programma ondermijning",
    "beleid_13b": "Beleid art. 13b Opiumwet",
    "training_gedaan": "Training medewerkers",
    "peildatum": "Peildatum",
}
#: The comparison measures (column -> Dutch label) of :func:`regional_measures`.
MEASURES = {
    "risicobranches_per_10k_inw": "Vestigingen in risicobranches per 10.000 inwoners",
    "vlaggen_per_1000_adressen": "Signaleringen (vlaggen) per 1.000 adressen",
    "partnermeldingen_per_1000_inw": "Partnermeldingen per 1.000 inwoners",
    "perceptie_gemiddeld": "Gemiddelde perceptie medewerkers (1-5)",
}
_GM_FOLDER = re.compile(r"^(GM\d{4})(_|$)")
_DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}")


def gemeente_polygonen(codes: Sequence[str] | None = None) -> gpd.GeoDataFrame:
    """CBS municipality polygons 2024 (EPSG:28992) with code, name and inhabitants."""
    from bcba.reference import _read_layer

    frame = _read_layer("gemeenten")[
        ["gemeentecode", "gemeentenaam", "aantal_inwoners", "geometry"]
    ]
    if codes is not None:
        frame = frame[frame["gemeentecode"].isin(list(codes))]
    return frame.reset_index(drop=True).copy()


def latest_run_folders(results_root: str | Path | None = None) -> dict[str, Path]:
    """The latest run folder with results per municipality under ``results_root``.

    A run folder is ``<root>/<GMxxxx>_<naam>/<jjjj-mm-dd...>/`` holding ``scores_buurt.csv``;
    the latest is the last in name order (ISO dates sort by time).
    """
    root = Path(results_root) if results_root is not None else config.reports_dir()
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        match = _GM_FOLDER.match(folder.name)
        if not match:
            continue
        runs = sorted(
            p
            for p in folder.iterdir()
            if p.is_dir() and _DATE_FOLDER.match(p.name) and (p / "scores_buurt.csv").is_file()
        )
        if runs:
            found[match.group(1)] = runs[-1]
    return found


def _read(folder: Path, name: str) -> pd.DataFrame | None:
    path = folder / name
    return read_csv(path) if path.is_file() else None


def _measures_one(code: str, folder: Path, inwoners: float) -> dict:
    row: dict[str, object] = {"gemeentecode": code, "inwoners": inwoners, "map": str(folder)}
    scores = _read(folder, "scores_buurt.csv")
    adressen = (
        float(scores["adressen"].sum()) if scores is not None and "adressen" in scores else np.nan
    )
    row["adressen"] = adressen
    gel = _read(folder, "gelegenheid_buurt.csv")
    n_risk = float(gel["n"].sum()) if gel is not None and len(gel) else np.nan
    row["risicobranches"] = n_risk
    flags = _read(folder, "vlaggen.csv")
    row["vlaggen"] = float(len(flags)) if flags is not None else np.nan
    partners = _read(folder, "partners_buurt.csv")
    row["partnermeldingen"] = float(partners["meldingen"].sum()) if partners is not None else np.nan
    perc = _read(folder, "enquete_percepties.csv")
    if perc is not None and len(perc):
        whole = perc[(perc["wijkcode"] == "gemeente") & ~perc["onderdrukt"].astype(bool)]
        for thema, value in zip(whole["thema"], whole["gemiddelde"], strict=True):
            row[f"perceptie_{thema}"] = float(value)
        row["perceptie_gemiddeld"] = float(whole["gemiddelde"].mean()) if len(whole) else np.nan
    else:
        row["perceptie_gemiddeld"] = np.nan
    return row


def regional_measures(folders: dict[str, str | Path]) -> pd.DataFrame:
    """Comparable measures per municipality from their latest run folders.

    Parameters
    ----------
    folders
        ``{GMxxxx: run folder}`` (see :func:`latest_run_folders`).

    Returns
    -------
    DataFrame
        One row per municipality: ``gemeentecode, gemeentenaam, inwoners, adressen,
        risicobranches, vlaggen, partnermeldingen`` and the normalised measures of
        :data:`MEASURES`, plus ``perceptie_<thema>`` per theme. Inhabitants are CBS 2024.

    Raises
    ------
    MissingInputError
        When no folder is given or a folder does not exist.
    """
    if not folders:
        raise MissingInputError(
            "Geen resultaten van gemeenten gevonden. Maak eerst de B-CBA's, bijvoorbeeld met "
            "'bcba batch --regio'."
        )
    missing = [str(p) for p in folders.values() if not Path(p).is_dir()]
    if missing:
        raise MissingInputError(f"Resultaatmap(pen) bestaan niet: {', '.join(missing)}")
    polys = gemeente_polygonen(list(folders)).set_index("gemeentecode")
    rows = []
    for code, folder in sorted(folders.items()):
        inw = float(polys["aantal_inwoners"].get(code, np.nan)) if code in polys.index else np.nan
        rows.append(_measures_one(code, Path(folder), inw))
    frame = pd.DataFrame(rows)
    names = polys["gemeentenaam"].to_dict()
    frame.insert(1, "gemeentenaam", frame["gemeentecode"].map(names).fillna(frame["gemeentecode"]))
    inw = frame["inwoners"].where(frame["inwoners"] > 0)
    adr = frame["adressen"].where(frame["adressen"] > 0)
    frame["risicobranches_per_10k_inw"] = frame["risicobranches"] / inw * 10_000
    frame["vlaggen_per_1000_adressen"] = frame["vlaggen"] / adr * 1_000
    frame["partnermeldingen_per_1000_inw"] = frame["partnermeldingen"] / inw * 1_000
    return frame


def read_aanpak(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check the state-of-approach CSV (one row per municipality, ja/nee columns).

    Raises
    ------
    MissingInputError
        When the file does not exist.
    InputValidationError
        Listing every missing column and every value other than ``ja``/``nee``.
    """
    source = Path(path) if path not in (None, "") else AANPAK_CSV
    if not source.is_file():
        raise MissingInputError(f"Bestand met de stand van de aanpak niet gevonden: {source}")
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    problems = [
        InputProblem(source.name, None, col, "verplichte kolom ontbreekt", fix="voeg de kolom toe")
        for col in AANPAK_COLUMNS
        if col not in frame.columns
    ]
    if problems:
        raise InputValidationError(problems)
    frame = frame.assign(**{c: frame[c].str.strip().str.lower() for c in AANPAK_JA_NEE})
    for col in AANPAK_JA_NEE:
        bad = frame.index[~frame[col].isin(["ja", "nee", ""])]
        problems += [
            InputProblem(
                source.name,
                int(i) + 2,
                col,
                "waarde moet 'ja' of 'nee' zijn",
                frame.at[i, col],
                fix="vul ja of nee in (leeg = onbekend)",
            )
            for i in bad
        ]
    if problems:
        raise InputValidationError(problems)
    return frame.loc[:, list(AANPAK_COLUMNS)]


def aanpak_tabel_html(aanpak: pd.DataFrame, *, gemeenten: Sequence[str] | None = None) -> str:
    """The approach table as HTML: ``ja`` green, ``nee`` red, empty grey ("onbekend")."""
    from bcba.reference import _municipality_table

    names = _municipality_table().set_index("gemeentecode")["gemeentenaam"].to_dict()
    frame = aanpak if gemeenten is None else aanpak[aanpak["gemeentecode"].isin(list(gemeenten))]
    frame = frame.assign(
        gemeentenaam=frame["gemeentecode"].map(names).fillna(frame["gemeentecode"])
    )
    columns = ["gemeentenaam", *[c for c in AANPAK_COLUMNS if c != "gemeentecode"]]
    style = {
        "ja": "background:#d7efd9;color:#14532d",
        "nee": "background:#f8d4d4;color:#7f1d1d",
        "": "background:#eeeeee;color:#555555",
    }
    head = "".join(f"<th>{html.escape(AANPAK_LABELS[c])}</th>" for c in columns)
    rows = []
    for record in frame.sort_values("gemeentenaam").loc[:, columns].itertuples(index=False):
        cells = []
        for column, value in zip(columns, record, strict=True):
            text = str(value)
            if column in AANPAK_JA_NEE:
                label = text or "onbekend"
                cls = {"ja": "bcba-ja", "nee": "bcba-nee"}.get(text, "bcba-onbekend")
                cells.append(f'<td class="{cls}" style="{style[text]}">{html.escape(label)}</td>')
            else:
                cells.append(f"<td>{html.escape(text.replace(';', ', '))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table class="bcba-table bcba-aanpak"><caption>Stand van de bestuurlijke aanpak per '
        f"gemeente (groen = ja, rood = nee)</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


@dataclass
class Regio:
    """The regional comparison shown by ``notebooks/regio_overzicht.ipynb``."""

    measures: pd.DataFrame
    aanpak: pd.DataFrame
    datum: dt.date

    @classmethod
    def load(
        cls,
        *,
        results_root: str | Path | None = None,
        folders: dict[str, str | Path] | None = None,
        aanpak_csv: str | Path | None = None,
    ) -> Regio:
        """Read the latest run of each municipality (or the given folders) and the approach CSV."""
        chosen = folders if folders is not None else latest_run_folders(results_root)
        return cls(regional_measures(chosen), read_aanpak(aanpak_csv), dt.date.today())

    def titelpagina(self, *, ontvanger: str = "Stuurploeg RIEC", rapport_id: str = "") -> HTML:
        """Title page with the marking."""
        page = rh.titelpagina(
            gemeentenaam=f"Regionaal overzicht ({len(self.measures)} gemeenten)",
            gemeente="regio",
            datum=self.datum,
            rapport_id=rapport_id or "–",
            ontvanger=ontvanger,
            titel="Regionaal overzicht ondermijning",
        )
        return HTML(page.data + rh.inhoudsopgave().data)

    def inleiding(self) -> HTML:
        """What is compared and how to read it."""
        names = ", ".join(self.measures["gemeentenaam"])
        text = (
            f"Dit overzicht zet de laatste B-CBA-resultaten van {len(self.measures)} gemeenten "
            f"naast elkaar: {names}. Alle cijfers zijn omgerekend naar inwoners (CBS 2024) of "
            "adressen (BAG), zodat grote en kleine gemeenten vergelijkbaar zijn. Verschillen "
            "zeggen ook iets over de registratie: een gemeente die meer meldt of beter "
            "registreert, scoort hoger. Gebruik de vergelijking als aanleiding voor een gesprek, "
            "niet als rangorde van criminaliteit."
        )
        return HTML(rh.markering_html() + f"<p>{html.escape(text)}</p>")

    def vergelijking(self) -> HTML:
        """The comparison table of the normalised measures."""
        kolommen = {"gemeentenaam": "Gemeente", "inwoners": "Inwoners (CBS 2024)", **MEASURES}
        frame = self.measures.sort_values("gemeentenaam")
        frame = frame.assign(inwoners=frame["inwoners"].round().astype("Int64"))
        return rh.tabel(
            frame,
            kolommen=kolommen,
            decimalen={"perceptie_gemiddeld": 2, **{k: 1 for k in MEASURES}},
            bijschrift="Vergelijking per gemeente (laatste run per gemeente)",
        )

    def percepties(self) -> HTML:
        """Survey perception means per theme and municipality (suppressed cells shown as –)."""
        cols = sorted(
            c
            for c in self.measures.columns
            if c.startswith("perceptie_") and c != "perceptie_gemiddeld"
        )
        if not cols:
            return HTML("<p>Geen enquêteresultaten beschikbaar.</p>")
        kolommen = {
            "gemeentenaam": "Gemeente",
            **{c: c.removeprefix("perceptie_").replace("_", " ") for c in cols},
        }
        return rh.tabel(
            self.measures.sort_values("gemeentenaam"),
            kolommen=kolommen,
            decimalen=2,
            bijschrift="Gemiddelde perceptie per thema (schaal 1-5; – = te weinig respondenten)",
        )

    def kaart(self, kolom: str = "vlaggen_per_1000_adressen") -> HTML:
        """A regional choropleth of one measure (interactive, with its print twin)."""
        from bcba.maps import interactive, static

        if kolom not in MEASURES:
            raise ConfigError(f"kolom {kolom!r} onbekend; kies uit {list(MEASURES)!r}")
        polys = gemeente_polygonen(self.measures["gemeentecode"])
        frame = polys.merge(self.measures[["gemeentecode", kolom]], on="gemeentecode", how="left")
        frame = frame.assign(reden=MEASURES[kolom])
        outline = gpd.GeoDataFrame(geometry=[frame.geometry.union_all()], crs=frame.crs)
        basemap = {"outline": outline}
        k = int(min(5, max(1, frame[kolom].notna().sum())))
        titel = MEASURES[kolom]
        m = interactive.buurt_choropleth(
            frame,
            kolom,
            titel=titel,
            legend_title=titel,
            basemap=basemap,
            k=k,
            popup_columns=("gemeentenaam",),
            aliases={"gemeentenaam": "Gemeente"},
        )
        fig = static.buurt_choropleth_figure(
            frame, kolom, titel=titel, legend_title=titel, basemap=basemap, k=k
        )
        return rh.kaart(m, statisch=fig, bijschrift=f"{titel} per gemeente.")

    def stand_aanpak(self) -> HTML:
        """The colour-coded state of the administrative approach for the compared municipalities."""
        body = aanpak_tabel_html(self.aanpak, gemeenten=self.measures["gemeentecode"])
        note = (
            "<p>Bron: opgave per gemeente (bestand aanpak_regio.csv). Het meegeleverde bestand is "
            "een <strong>illustratief voorbeeld</strong>, geen echte beleidsstand; vervang het door "
            "de actuele opgave van de gemeenten.</p>"
        )
        return HTML(body + note)

    def verantwoording(self) -> HTML:
        """Which run folder each municipality's figures come from."""
        return rh.tabel(
            self.measures,
            kolommen={"gemeentenaam": "Gemeente", "gemeentecode": "Code", "map": "Resultaatmap"},
            bijschrift="Gebruikte runs (laatste per gemeente)",
        )


def open_regio(*, results_root: str = "", aanpak_csv: str = "", folders: str = "") -> Regio:
    """Notebook entry point: :meth:`Regio.load` with plain-string parameters.

    ``folders`` is an optional ``;``-separated list of run folders whose parent name starts
    with the municipality code (``.../GM0489_Barendrecht/2025-01-31``) or whose own name does.
    """
    chosen = None
    if folders:
        chosen = {}
        for part in (p for p in folders.split(";") if p.strip()):
            path = Path(part.strip())
            match = _GM_FOLDER.match(path.parent.name) or _GM_FOLDER.match(path.name)
            if not match:
                raise ConfigError(
                    f"Kan de gemeentecode niet afleiden uit {path}; gebruik een map "
                    "<GMxxxx>_<naam>/<datum>."
                )
            chosen[match.group(1)] = path
    return Regio.load(
        results_root=results_root or None, folders=chosen, aanpak_csv=aanpak_csv or None
    )


def run_regional_report(
    *,
    results_root: str | Path | None = None,
    output_dir: str | Path | None = None,
    aanpak_csv: str | Path | None = None,
    folders: dict[str, str | Path] | None = None,
    ontvanger: str = "Stuurploeg RIEC",
) -> Path:
    """Execute and render the regional overview; returns the HTML path.

    Parameters
    ----------
    results_root
        Folder with ``<GMxxxx>_<naam>/<date>/`` run folders (default ``reports``).
    output_dir
        Where to write (default ``reports/regio/<today>``).
    aanpak_csv
        State-of-approach CSV (default the illustrative ``bcba/defaults/aanpak_regio.csv``).
    folders
        Explicit ``{GMxxxx: run folder}`` instead of searching ``results_root``.

    Raises
    ------
    MissingInputError
        When no results are found or the notebook is missing.
    """
    import papermill

    from bcba.io import atomic_path, ensure_dir
    from bcba.pipeline import _kernel_name
    from bcba.report.render import render_html

    today = dt.date.today()
    notebook = config.notebooks_dir() / REGIO_NOTEBOOK
    if not notebook.is_file():
        notebook = config.PACKAGE_DIR.parent / "notebooks" / REGIO_NOTEBOOK
    if not notebook.is_file():
        raise MissingInputError(f"Notebook {REGIO_NOTEBOOK} ontbreekt.")
    # fail fast in this process with a clear message rather than inside the kernel
    chosen = {k: str(v) for k, v in (folders or latest_run_folders(results_root)).items()}
    regional_measures(chosen)
    read_aanpak(aanpak_csv)
    out = ensure_dir(
        Path(output_dir)
        if output_dir is not None
        else config.reports_dir() / "regio" / today.isoformat()
    )
    rapport_id = f"REGIO-{today:%Y%m%d}-{secrets.token_hex(3).upper()}"
    params = {
        "results_root": "",
        "aanpak_csv": str(Path(aanpak_csv).resolve()) if aanpak_csv else "",
        "folders": ";".join(str(Path(p).resolve()) for p in chosen.values()),
        "ontvanger": ontvanger,
        "rapport_id": rapport_id,
    }
    executed = out / "regio_overzicht.ipynb"
    with atomic_path(executed) as tmp:
        papermill.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=params,
            kernel_name=_kernel_name(),
            progress_bar=False,
            cwd=str(out),
            log_output=False,
        )
    metadata = {
        "gemeente": "regio",
        "gemeentenaam": f"Regionaal overzicht ({len(chosen)} gemeenten)",
        "datum": today.isoformat(),
        "rapport_id": rapport_id,
        "ontvanger": ontvanger,
    }
    return render_html(executed, out / "regio_overzicht.html", metadata=metadata)

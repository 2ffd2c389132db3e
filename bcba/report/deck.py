"""The presentation of a finished run: one self-contained, offline HTML slide deck.

``bcba presentatie --run MAP`` (or ``bcba maak ... --presentatie``) turns a run folder's
``samenvatting.json`` (written by :func:`bcba.report.summary.run_summary`) and its print
maps (``kaarten/*.png``) into ``presentatie_<GMxxxx>.html`` beside the report: a title
slide with the marking, the summary's findings one per slide, the maps full-screen with
the theme's top buurten and concentrations, the action list (barrier model) and a closing
slide. Everything is inside the one file: the maps as data URIs, and a small stylesheet
and script written here (keyboard navigation). No font, script or picture comes from
anywhere else, so the deck opens from a USB stick on a laptop without network. Printed,
it gives one landscape page per slide.

The council version (:mod:`bcba.report.hoofdlijnen`) is made by the same
:func:`render_deck` with its own marking and content.

Leak check. A run checks every file it writes for the names and birth dates of the persons
in its inputs (:func:`bcba.leakcheck.check_outputs`), but those names exist only while the
run reads its raw extracts. A deck is made later, from the run folder alone; reading the
raw extracts again just to make a presentation would mean handling personal data for no
analytic purpose. A deck therefore holds only what it copies from files of the run folder
that already passed that check (``samenvatting.json`` and the print maps) plus fixed text
written here, so it cannot name a person those files did not. The tests scan the decks
for the planted persons of the demo with :func:`bcba.leakcheck.scan_outputs`.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from bcba.errors import ConfigError, MissingInputError
from bcba.labels import nl_date
from bcba.maps.palette import MARKING, format_number_nl

log = logging.getLogger(__name__)

#: The run folder's summary that a deck is made from (see ``run_summary``).
SUMMARY_FILE = "samenvatting.json"
#: Keys every summary must have.
REQUIRED_KEYS = ("gemeente", "gemeentenaam", "rapport_id", "ontvanger", "datum", "themas")
#: Most rows of the action table on one slide (a theme is never split over two slides).
ACTION_ROWS_PER_SLIDE = 8
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMO_NOTICE = "DEMO – synthetische gegevens"
#: one municipality or a cluster (GM0531+GM0642)
_GEMEENTE_CODE = re.compile(r"GM\d{4}(\+GM\d{4})*")


# --------------------------------------------------------------------------- the run folder
@dataclass(frozen=True)
class RunSummary:
    """A finished run folder and its ``samenvatting.json``."""

    folder: Path
    data: dict

    @property
    def gemeente(self) -> str:
        return self.data["gemeente"]

    @property
    def gemeentenaam(self) -> str:
        return str(self.data["gemeentenaam"])

    @property
    def demo(self) -> bool:
        return bool(self.data.get("demo"))

    @property
    def themes(self) -> list[dict]:
        return list(self.data["themas"])

    def file(self, relative: str) -> Path:
        """A file of the run folder named in the summary (never one outside the folder).

        Raises
        ------
        ConfigError
            When the name points outside the run folder.
        MissingInputError
            When the file does not exist.
        """
        path = (self.folder / str(relative)).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise ConfigError(
                f"{SUMMARY_FILE} noemt een bestand buiten de runmap: {relative!r}; de map is "
                "niet door bcba geschreven of is gewijzigd."
            )
        if not path.is_file():
            raise MissingInputError(
                f"Het bestand {relative} uit {SUMMARY_FILE} ontbreekt in {self.folder}. "
                "Maak de B-CBA opnieuw (bcba maak) of kopieer de hele runmap."
            )
        return path


def open_run(folder: str | Path) -> RunSummary:
    """Read the summary of a completed run folder.

    Raises
    ------
    MissingInputError
        When the folder is not a completed run or has no ``samenvatting.json``.
    ConfigError
        When the summary cannot be read or misses a field.
    """
    from bcba.runs import is_complete_run

    folder = Path(folder)
    if not folder.is_dir():
        raise MissingInputError(f"Runmap {folder} bestaat niet.")
    if not is_complete_run(folder):
        raise MissingInputError(
            f"{folder} is geen voltooide run van bcba (bcba-run.json ontbreekt of de run is "
            "mislukt). Geef de map van een voltooide run, bv. reports/GM0489_Barendrecht/<datum>."
        )
    path = folder / SUMMARY_FILE
    if not path.is_file():
        raise MissingInputError(
            f"{SUMMARY_FILE} ontbreekt in {folder}: de run is gemaakt met een oudere versie van "
            "bcba. Maak de B-CBA opnieuw met 'bcba maak'."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is niet te lezen: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} bevat geen samenvatting (verwacht een JSON-object).")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ConfigError(f"{path} mist {', '.join(missing)}; maak de B-CBA opnieuw.")
    if not _GEMEENTE_CODE.fullmatch(str(data["gemeente"])):
        raise ConfigError(f"{path}: ongeldige gemeentecode {data['gemeente']!r}.")
    return RunSummary(folder=folder, data=data)


def png_bytes(path: Path) -> bytes:
    """The bytes of a PNG map (checked to be a PNG: the deck embeds nothing else)."""
    data = path.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ConfigError(f"{path} is geen PNG-afbeelding.")
    return data


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI (the picture travels inside the HTML file)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --------------------------------------------------------------------------- slides
@dataclass(frozen=True)
class DeckHeader:
    """What every slide carries: marking, document, for whom, which report, demo notice."""

    marking: str
    document: str
    gemeentenaam: str
    rapport_id: str
    datum: str
    audience: str
    demo: bool = False


@dataclass(frozen=True)
class Slide:
    """One slide: an id (its anchor), a kind (CSS class) and its body (HTML, escaped)."""

    id: str
    kind: str
    body: str
    label: str = ""


def esc(text: object) -> str:
    """``text`` escaped for HTML (quotes too: texts also go into attributes)."""
    return html.escape(str(text), quote=True)


def count_text(value: object) -> str:
    """An exact count in Dutch notation (the mayor's version)."""
    return format_number_nl(value, 0)


def title_slide(
    header: DeckHeader,
    *,
    title: str,
    subtitle: str,
    rows: Sequence[tuple[str, str]],
    handling: str,
) -> Slide:
    """The title slide: marking, demo notice, title, who it is for and which report."""
    meta = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    demo = (
        f'<p class="titel-demo">{DEMO_NOTICE}. Gemaakt met gegenereerde oefengegevens; zegt '
        "niets over de werkelijke situatie in de gemeente.</p>"
        if header.demo
        else ""
    )
    body = (
        f'<div class="titel-markering">{esc(header.marking)}</div>'
        f'<p class="titel-publiek">{esc(header.audience)}</p>{demo}'
        f'<h1>{esc(title)}</h1><p class="ondertitel">{esc(subtitle)}</p>'
        f'<table class="titel-meta">{meta}</table>'
        f'<p class="omgang">{esc(handling)}</p>'
        '<p class="scherm hint">Bladeren: pijltjestoetsen, spatie of PageUp/PageDown; '
        "Home en End voor de eerste en laatste dia.</p>"
    )
    return Slide("titel", "titel", body, label=title)


def finding_slides(
    findings: Sequence[str], *, heading: str = "Belangrijkste bevindingen"
) -> list[Slide]:
    """One slide per finding (``findings``: HTML of each, already escaped)."""
    n = len(findings)
    return [
        Slide(
            f"bevinding-{i}",
            "bevinding",
            f'<p class="bovenkop">{esc(heading)} · {i} van {n}</p>'
            f'<p class="bevinding-tekst">{finding}</p>',
            label=f"Bevinding {i}",
        )
        for i, finding in enumerate(findings, start=1)
    ]


def map_slide(slide_id: str, *, png: bytes, alt: str, panel: str, label: str) -> Slide:
    """A map full-screen with a side panel (HTML) beside it."""
    body = (
        f'<div class="kaart-vlak"><img alt="{esc(alt)}" src="{data_uri(png)}"></div>'
        f'<aside class="kaart-paneel">{panel}</aside>'
    )
    return Slide(slide_id, "kaart", body, label=label)


def theme_panel(theme: dict, *, counts: Callable[[object], str]) -> str:
    """The side panel of a theme's map: what the theme is, its top buurten, concentrations
    and counts (``counts`` formats a count: exact, or suppressed for the council)."""
    top = [str(t) for t in theme.get("top") or []]
    top_html = (
        "<ol>" + "".join(f"<li>{esc(t)}</li>" for t in top) + "</ol>"
        if top
        else "<p>Geen buurten met voldoende adressen om te rangschikken.</p>"
    )
    conc = str(theme.get("concentraties") or "geen")
    conc_html = (
        "<p>Nergens meer meldingen dan het aantal adressen doet verwachten.</p>"
        if conc == "geen"
        else f"<p>Meer meldingen dan het aantal adressen doet verwachten in {esc(conc)}.</p>"
    )
    return (
        f"<h2>{esc(theme['label'])}</h2>"
        f'<p class="omschrijving">{esc(theme.get("omschrijving", ""))}</p>'
        f"<h3>Buurten die het meest opvallen</h3>{top_html}"
        f"<h3>Concentraties</h3>{conc_html}"
        '<dl class="cijfers">'
        f"<dt>Adressen met een rode vlag</dt><dd>{esc(counts(theme.get('vlaggen', 0)))}</dd>"
        f"<dt>Meldingen van partners</dt><dd>{esc(counts(theme.get('meldingen', 0)))}</dd>"
        "</dl>"
    )


def total_panel(run: RunSummary) -> str:
    """The side panel of the total map."""
    top = [str(t) for t in (run.data.get("totaal") or {}).get("top") or []]
    items = "".join(f"<li>{esc(t)}</li>" for t in top)
    return (
        "<h2>Beeld in één oogopslag</h2>"
        '<p class="omschrijving">Samengestelde score per buurt over alle thema\'s: hoe meer '
        "gelegenheden, rode vlaggen, meldingen van partners en signalen van medewerkers "
        "samenkomen, hoe donkerder.</p>"
        "<h3>Buurten die het meest opvallen</h3>"
        + (f"<ol>{items}</ol>" if items else "<p>Geen buurten gerangschikt.</p>")
    )


def action_slides(themes: Sequence[dict], *, per_slide: int = ACTION_ROWS_PER_SLIDE) -> list[Slide]:
    """The barrier model per theme as tables, themes packed onto slides (never split)."""
    groups: list[list[dict]] = []
    rows = 0
    for theme in themes:
        n = max(1, len(theme.get("aanpak") or []))
        if groups and rows + n <= per_slide:
            groups[-1].append(theme)
            rows += n
        else:
            groups.append([theme])
            rows = n
    slides = []
    for i, group in enumerate(groups, start=1):
        body_rows = []
        for theme in group:
            body_rows.append(f'<tr class="groep"><td colspan="3">{esc(theme["label"])}</td></tr>')
            steps = theme.get("aanpak") or []
            if not steps:
                body_rows.append('<tr><td colspan="3">Geen interventies vastgelegd.</td></tr>')
            for step in steps:
                body_rows.append(
                    f"<tr><td>{esc(step.get('stap', ''))}</td><td>{esc(step.get('instrument', ''))}"
                    f"</td><td>{esc(step.get('partner', ''))}</td></tr>"
                )
        part = f" ({i} van {len(groups)})" if len(groups) > 1 else ""
        slides.append(
            Slide(
                f"aanpak-{i}",
                "aanpak",
                f"<h2>Aanpak per thema{part}</h2>"
                '<p class="uitleg">Barrièremodel: elke stap in het criminele proces is een plek '
                "waar gemeente en partners een barrière kunnen opwerpen.</p>"
                '<table class="aanpak"><thead><tr><th>Stap</th><th>Instrument</th>'
                f"<th>Partner</th></tr></thead><tbody>{''.join(body_rows)}</tbody></table>",
                label=f"Aanpak{part}",
            )
        )
    return slides


def closing_slide(*, title: str, points: Sequence[str], note: str) -> Slide:
    """The last slide: points for the discussion and a closing note (plain text)."""
    items = "".join(f"<li>{esc(p)}</li>" for p in points)
    return Slide(
        "slot",
        "slot",
        f'<h2>{esc(title)}</h2><ul class="punten">{items}</ul><p class="omgang">{esc(note)}</p>',
        label=title,
    )


# --------------------------------------------------------------------------- the page
DECK_CSS = """
:root { --rood: #b00020; --inkt: #1a1a1a; --grijs: #555; --lijn: #c8c8c8; --zacht: #f6f6f4;
  --letter: "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
html { font-size: min(1.5vw, 2.667vh); }
body { margin: 0; background: #2b2b2b; color: var(--inkt); font-family: var(--letter); line-height: 1.35; }
.dia { width: 100vw; height: 100vh; display: flex; flex-direction: column; background: #fff;
  overflow: hidden; position: relative; margin-bottom: 2px; }
.met-script body { overflow: hidden; }
.met-script .dia { display: none; margin: 0; }
.met-script .dia.actief { display: flex; }
.dia-kop { display: flex; justify-content: space-between; align-items: center; gap: 1rem;
  padding: .3rem 1.2rem; font-size: .62rem; color: var(--grijs); border-bottom: 1px solid var(--lijn); }
.dia-kop > span { flex: 1 1 0; }
.dia-kop .markering { flex: 0 0 auto; color: var(--rood); font-weight: 700; letter-spacing: .12em;
  font-size: .72rem; border: 2px solid var(--rood); padding: .05rem .6rem; }
.dia-kop .rechts { text-align: right; }
.dia-demo { text-align: center; background: #fff3cd; color: #6b4e00; font-weight: 700;
  font-size: .62rem; padding: .1rem; border-bottom: 1px solid #e0c36a; letter-spacing: .05em; }
.dia-inhoud { flex: 1 1 auto; min-height: 0; display: flex; flex-direction: column;
  padding: 1.2rem 2.4rem; overflow: hidden; }
.dia-voet { display: flex; justify-content: space-between; font-size: .6rem; color: var(--grijs);
  padding: .25rem 1.2rem; border-top: 1px solid var(--lijn); }
h1 { font-size: 2.3rem; margin: .6rem 0 .2rem; }
h2 { font-size: 1.45rem; margin: 0 0 .5rem; }
h3 { font-size: .8rem; margin: .9rem 0 .2rem; text-transform: uppercase; letter-spacing: .06em; color: var(--grijs); }
a { color: inherit; }
.titel .dia-inhoud { justify-content: center; padding-left: 4rem; }
.titel-markering { align-self: flex-start; color: var(--rood); border: 3px solid var(--rood);
  font-weight: 700; letter-spacing: .15em; padding: .15rem 1rem; font-size: 1.05rem; }
.titel-publiek { margin: .3rem 0 0; color: var(--rood); font-weight: 600; font-size: .9rem; }
.titel-demo { align-self: flex-start; background: #fff3cd; color: #6b4e00; border: 1px solid #e0c36a;
  font-weight: 700; padding: .2rem .6rem; margin: .8rem 0 0; font-size: .8rem; max-width: 46rem; }
.ondertitel { font-size: 1.3rem; color: var(--grijs); margin: 0 0 1.2rem; }
.titel-meta { align-self: flex-start; border-collapse: collapse; font-size: .9rem; margin-bottom: 1.2rem; }
.titel-meta th { text-align: left; font-weight: 600; padding: .12rem 1.4rem .12rem 0; vertical-align: top; }
.titel-meta td { padding: .12rem 0; }
.omgang { font-size: .75rem; color: var(--grijs); border-left: 3px solid var(--rood);
  padding-left: .7rem; max-width: 46rem; }
.hint { font-size: .65rem; color: var(--grijs); }
.bevinding .dia-inhoud { justify-content: center; padding: 2rem 5rem; }
.bovenkop { font-size: .8rem; color: var(--grijs); text-transform: uppercase; letter-spacing: .08em; margin: 0 0 .6rem; }
.bevinding-tekst { font-size: 1.55rem; line-height: 1.4; margin: 0; max-width: 54rem; }
.verwijzing { display: inline-block; font-size: .8rem; color: var(--grijs); white-space: nowrap; }
.kaart .dia-inhoud { flex-direction: row; gap: 1.2rem; padding: .5rem 1rem .5rem .5rem; }
.kaart-vlak { flex: 1 1 auto; min-width: 0; position: relative; }
.kaart-vlak img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; }
.kaart-paneel { flex: 0 0 28%; overflow: hidden; font-size: .78rem; padding-top: .6rem; }
.kaart-paneel h2 { font-size: 1.15rem; }
.kaart-paneel ol { margin: 0; padding-left: 1.2rem; }
.kaart-paneel p { margin: 0; }
.omschrijving { color: var(--grijs); margin: 0; }
.cijfers { display: grid; grid-template-columns: auto auto; gap: .15rem .8rem; margin: .9rem 0 0; }
.cijfers dt { color: var(--grijs); }
.cijfers dd { margin: 0; font-weight: 700; text-align: right; font-variant-numeric: tabular-nums; }
.uitleg { color: var(--grijs); margin: 0 0 .6rem; font-size: .85rem; }
table.aanpak { border-collapse: collapse; width: 100%; font-size: .8rem; }
table.aanpak th, table.aanpak td { text-align: left; vertical-align: top; padding: .22rem .5rem;
  border-bottom: 1px solid var(--lijn); }
table.aanpak thead th { border-bottom: 2px solid var(--inkt); }
table.aanpak tr.groep td { background: var(--zacht); font-weight: 700; }
.slot .dia-inhoud { justify-content: center; padding: 2rem 5rem; }
.punten { font-size: 1.1rem; line-height: 1.5; margin: 0 0 1.4rem; }
.navigatie { position: fixed; right: .8rem; bottom: 1.6rem; display: none; gap: .3rem; z-index: 5; }
.met-script .navigatie { display: flex; }
.navigatie button { font: inherit; font-size: .7rem; border: 1px solid var(--lijn); background: #fff;
  color: var(--inkt); padding: .1rem .55rem; cursor: pointer; opacity: .6; }
.navigatie button:hover, .navigatie button:focus { opacity: 1; }
@page { size: 297mm 210mm; margin: 0; }
@media print {
  html { font-size: 4.4mm; }
  body { background: #fff; }
  .dia, .met-script .dia { display: flex !important; width: 297mm; height: 209.5mm; margin: 0;
    break-after: page; page-break-after: always; }
  .dia:last-of-type { break-after: auto; page-break-after: auto; }
  .navigatie, .scherm { display: none !important; }
}
"""

#: Keyboard navigation: arrows, PageUp/PageDown, space (shift+space back), Home/End.
DECK_JS = """
(function () {
  var dias = Array.prototype.slice.call(document.querySelectorAll('section.dia'));
  if (!dias.length) { return; }
  document.documentElement.classList.add('met-script');
  var nu = 0;
  function toon(n) {
    n = Math.max(0, Math.min(dias.length - 1, n));
    dias[nu].classList.remove('actief');
    dias[nu].setAttribute('aria-hidden', 'true');
    nu = n;
    dias[nu].classList.add('actief');
    dias[nu].setAttribute('aria-hidden', 'false');
    try { history.replaceState(null, '', '#' + dias[nu].id); } catch (e) { /* file:// zonder history */ }
  }
  function uitAnker() {
    var id = decodeURIComponent(location.hash.replace(/^#/, ''));
    for (var i = 0; i < dias.length; i++) { if (dias[i].id === id) { return i; } }
    return -1;
  }
  var verder = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, ' ': 1, Spacebar: 1 };
  var terug = { ArrowLeft: 1, ArrowUp: 1, PageUp: 1 };
  document.addEventListener('keydown', function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var k = e.key;
    if ((k === ' ' || k === 'Spacebar') && e.shiftKey) { toon(nu - 1); }
    else if (verder[k]) { toon(nu + 1); }
    else if (terug[k]) { toon(nu - 1); }
    else if (k === 'Home') { toon(0); }
    else if (k === 'End') { toon(dias.length - 1); }
    else { return; }
    e.preventDefault();
  });
  window.addEventListener('hashchange', function () {
    var i = uitAnker();
    if (i >= 0 && i !== nu) { toon(i); }
  });
  document.getElementById('dia-vorige').addEventListener('click', function () { toon(nu - 1); });
  document.getElementById('dia-volgende').addEventListener('click', function () { toon(nu + 1); });
  dias.forEach(function (d) { d.setAttribute('aria-hidden', 'true'); });
  toon(Math.max(0, uitAnker()));
})();
"""


def render_deck(slides: Sequence[Slide], header: DeckHeader, *, title: str) -> str:
    """The whole deck as one HTML page: every slide with the marking in its head, the
    demo notice when the data are synthetic, and ``n / total`` in its foot."""
    if not slides:
        raise ConfigError("Een presentatie heeft minstens één dia nodig.")
    ids = [s.id for s in slides]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"Dubbele dia-namen: {sorted({i for i in ids if ids.count(i) > 1})}")
    total = len(slides)
    demo = f'<div class="dia-demo">{DEMO_NOTICE}</div>' if header.demo else ""
    date = nl_date(header.datum)
    parts = []
    for n, slide in enumerate(slides, start=1):
        parts.append(
            f'<section class="dia {esc(slide.kind)}" id="{esc(slide.id)}" '
            f'aria-label="Dia {n} van {total}: {esc(slide.label or slide.kind)}">'
            f'<header class="dia-kop"><span>{esc(header.document)} · {esc(header.gemeentenaam)}</span>'
            f'<span class="markering">{esc(header.marking)}</span>'
            f'<span class="rechts">Rapport {esc(header.rapport_id)} · {esc(header.audience)}</span>'
            f"</header>{demo}"
            f'<div class="dia-inhoud">{slide.body}</div>'
            f'<footer class="dia-voet"><span>{esc(date)}</span>'
            f'<span class="teller">{n} / {total}</span></footer></section>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f'<meta name="bcba-markering" content="{esc(header.marking)}">\n'
        f'<meta name="bcba-rapport-id" content="{esc(header.rapport_id)}">\n'
        f"<title>{esc(header.marking)} – {esc(title)} – {esc(header.rapport_id)}</title>\n"
        f"<style>{DECK_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + '\n<nav class="navigatie" aria-label="Bladeren">'
        '<button type="button" id="dia-vorige" title="Vorige dia (pijl links)">‹</button>'
        '<button type="button" id="dia-volgende" title="Volgende dia (pijl rechts)">›</button></nav>\n'
        f"<script>{DECK_JS}</script>\n</body>\n</html>\n"
    )


def check_deck(page: str, *, marking: str) -> None:
    """Raise unless the deck loads nothing remote and carries its marking on every slide.

    Raises
    ------
    bcba.maps.offline.RemoteAssetError
        When anything would be fetched from elsewhere.
    ConfigError
        When a slide lacks the marking.
    """
    from bcba.maps.offline import assert_no_remote

    assert_no_remote(page)
    slides = page.count('<section class="dia ')
    marked = page.count(f'<span class="markering">{esc(marking)}</span>')
    if slides == 0 or marked != slides:
        raise ConfigError(f"De presentatie mist de markering {marking!r} op een of meer dia's.")


# --------------------------------------------------------------------------- findings
class _FindingHTML(HTMLParser):
    """Rebuilds a finding of ``samenvatting.json`` as safe HTML: text escaped, every tag
    dropped except the pointers (``<a href="#...">``), which become links to a slide of
    the deck or, when the deck has no slide for them, plain text."""

    def __init__(self, targets: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.targets = targets
        self.out: list[str] = []
        self._link: str | None = None
        self._in_link = False

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            self._in_link = True
            self._link = self.targets.get(href[1:]) if href.startswith("#") else None
            self.out.append(
                f'<a class="verwijzing" href="#{esc(self._link)}">'
                if self._link
                else '<span class="verwijzing">'
            )

    def handle_endtag(self, tag) -> None:
        if tag == "a" and self._in_link:
            self.out.append("</a>" if self._link else "</span>")
            self._in_link = False
            self._link = None

    def handle_data(self, data) -> None:
        self.out.append(esc(data))


def finding_html(item: str, targets: dict[str, str]) -> str:
    """A finding of the report (HTML) with its pointer leading to a slide of the deck."""
    parser = _FindingHTML(targets)
    parser.feed(str(item))
    parser.close()
    if parser._in_link:
        parser.out.append("</a>" if parser._link else "</span>")
    return "".join(parser.out).strip()


# --------------------------------------------------------------------------- the presentation
def _anchor(text: str) -> str:
    from bcba.report.html import anchor

    return anchor(text)


def _extra_maps(run: RunSummary, theme_id: str) -> list[tuple[str, str, Path]]:
    """The theme's risk and hot-spot maps, when the run drew them: (id, title, path)."""
    found = []
    for slug, title in (("risicokaart", "Risicokaart"), ("hotspots", "Concentraties")):
        path = run.folder / "kaarten" / f"{slug}_{theme_id}.png"
        if path.is_file():
            found.append((f"{slug}-{theme_id}", title, path))
    return found


def presentation_slides(run: RunSummary) -> tuple[list[Slide], list[Path]]:
    """The mayor's deck: title, findings, total map, maps per theme, risk locations,
    action list, closing. Returns the slides and the run files they were made from."""
    d = run.data
    used: list[Path] = [run.folder / SUMMARY_FILE]
    maps: list[Slide] = []
    targets: dict[str, str] = {}

    total = d.get("totaal") or {}
    if total.get("kaart"):
        path = run.file(total["kaart"])
        used.append(path)
        maps.append(
            map_slide(
                "totaal",
                png=png_bytes(path),
                alt="Kaart: totaalscore per buurt",
                panel=total_panel(run),
                label="Totaalscore per buurt",
            )
        )
        targets["Beeld-in-één-oogopslag"] = "totaal"
    for theme in run.themes:
        slide_id = f"thema-{theme['id']}"
        path = run.file(theme["kaart"])
        used.append(path)
        maps.append(
            map_slide(
                slide_id,
                png=png_bytes(path),
                alt=f"Kaart: score per buurt, {theme['label']}",
                panel=theme_panel(theme, counts=count_text),
                label=str(theme["label"]),
            )
        )
        targets[_anchor(theme["label"])] = slide_id
        for extra_id, extra_title, extra in _extra_maps(run, theme["id"]):
            used.append(extra)
            maps.append(
                map_slide(
                    extra_id,
                    png=png_bytes(extra),
                    alt=f"Kaart: {extra_title.lower()}, {theme['label']}",
                    panel=f"<h2>{esc(theme['label'])}</h2><h3>{esc(extra_title)}</h3>"
                    + _EXTRA_TEXT[extra_id.split("-", 1)[0]],
                    label=f"{extra_title} {theme['label']}",
                )
            )
            targets.setdefault("Concentraties-en-risicokaart", extra_id)
    locations = run.folder / "kaarten" / "risicolocaties.png"
    if locations.is_file():
        used.append(locations)
        maps.append(
            map_slide(
                "risicolocaties",
                png=png_bytes(locations),
                alt="Kaart: risicolocaties",
                panel="<h2>Risicolocaties</h2>" + _EXTRA_TEXT["risicolocaties"],
                label="Risicolocaties",
            )
        )
        targets["Risicolocaties-en-signalen"] = "risicolocaties"

    findings = [finding_html(item, targets) for item in d.get("bevindingen") or []]
    header = mayor_header(run)
    slides = [
        title_slide(
            header,
            title="Bestuurlijke criminaliteitsbeeldanalyse",
            subtitle=run.gemeentenaam,
            rows=_title_rows(run, [("Ontvanger", str(d["ontvanger"]))]),
            handling="Deze presentatie bevat strikt vertrouwelijke informatie voor de ontvanger. "
            "Niet verspreiden, kopiëren of doorsturen zonder diens toestemming.",
        ),
        *finding_slides(findings),
        *maps,
        *action_slides(run.themes),
        closing_slide(
            title="Bespreking en vervolg",
            points=[
                "Welke bevindingen herkennen de gemeente en haar partners?",
                "Welke buurten en thema's krijgen voorrang?",
                "Welke barrières zetten we in, en wie doet wat?",
                "Welke hoofdlijnen deelt de burgemeester met raad, college of driehoek?",
            ],
            note="Scores en kaarten wijzen op verhoogde risico's en signalen, niet op bewezen "
            "criminaliteit. Onderbouwing, methode en tabellen staan in het rapport "
            f"(bcba_{run.gemeente}.pdf) en de bijlagen voor analisten.",
        ),
    ]
    return slides, used


_EXTRA_TEXT = {
    "risicokaart": '<p class="omschrijving">Het risicoterreinmodel: waar de omgeving '
    "(gelegenheden in de buurt) de kans op meldingen verhoogt, in blokken van 100 m.</p>",
    "hotspots": '<p class="omschrijving">Blokken van 100 m met significant meer meldingen '
    "dan hun omgeving.</p>",
    "risicolocaties": '<p class="omschrijving">Adressen met een of meer rode vlaggen uit '
    "KvK of Kadaster. De adressen en hun onderbouwing staan in het rapport.</p>",
}


def _title_rows(run: RunSummary, extra: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    d = run.data
    rows = [("Gemeente", f"{run.gemeentenaam} ({run.gemeente})"), *extra]
    rows += [("Datum", nl_date(d["datum"])), ("Rapportnummer", str(d["rapport_id"]))]
    periode = d.get("periode")
    if periode and len(periode) == 2:
        rows.append(("Onderzoeksperiode", f"{nl_date(periode[0])} t/m {nl_date(periode[1])}"))
    return rows


def mayor_header(run: RunSummary) -> DeckHeader:
    """The head of every slide of the mayor's deck."""
    d = run.data
    return DeckHeader(
        marking=MARKING,
        document="Presentatie B-CBA",
        gemeentenaam=run.gemeentenaam,
        rapport_id=str(d["rapport_id"]),
        datum=str(d["datum"]),
        audience=f"Ontvanger: {d['ontvanger']}",
        demo=run.demo,
    )


def build_presentation(folder: str | Path) -> Path:
    """Write ``presentatie_<GMxxxx>.html`` into a finished run folder and audit it.

    The deck is for the report's recipient (the mayor) and carries the report's marking.

    Raises
    ------
    MissingInputError, ConfigError
        When the folder is not a completed run or its summary or maps are missing.
    """
    from bcba import audit
    from bcba.io import write_text

    run = open_run(folder)
    slides, used = presentation_slides(run)
    page = render_deck(slides, mayor_header(run), title=f"Presentatie B-CBA {run.gemeentenaam}")
    check_deck(page, marking=MARKING)
    target = write_text(run.folder / f"presentatie_{run.gemeente}.html", page)
    audit.record(
        "presentatie",
        parameters={
            "gemeente": run.gemeente,
            "rapport_id": str(run.data["rapport_id"]),
            "versie": "presentatie",
            "ontvanger": str(run.data["ontvanger"]),
            "publiek": str(run.data["ontvanger"]),
            "reikwijdte": str(run.data.get("reikwijdte", run.data.get("gemeentenaam", ""))),
        },
        inputs=used,
        outputs=[target],
    )
    log.info("%s gemaakt (%d dia's)", target.name, len(slides))
    return target

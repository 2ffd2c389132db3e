"""The main lines of a B-CBA for the council: area level only, with its own marking.

With the mayor's consent the main lines of a B-CBA go to the closed council committee,
the college or the driehoek. ``bcba presentatie --hoofdlijnen --run MAP`` (or ``bcba maak
... --hoofdlijnen``) writes, into the run folder:

- ``bcba_<GMxxxx>_hoofdlijnen.html`` and ``.pdf``: a short document (title page, the
  main lines, the picture per theme with its map and the approach, a short account),
- ``presentatie_<GMxxxx>_hoofdlijnen.html``: the same as a slide deck
  (:func:`bcba.report.deck.render_deck`).

What they hold. Area-level findings and interventions only: theme names and descriptions,
the names of the buurten that stand out, where events concentrate (buurten or 100 m
blocks), counts per theme, the model's verdict in words, the approach (barrier model) and
the buurt score maps and the total map. Not: addresses, company or person identifiers,
signals, networks, point maps. The findings are written here from the structured fields
of ``samenvatting.json``, never copied from the mayor's findings (``bevindingen``), which
may count addresses, signals and networks.

Small numbers. As in the national export (:mod:`bcba.export`), a count ``0 < n <
threshold`` (default 10) is never shown: it reads "minder dan 10". Unlike that export these
documents publish no totals, no percentages and no other figure a suppressed count could
be derived from (each count stands alone), so no secondary suppression is needed. The
model verdict loses its figures in brackets (PAI values and numbers of test events).

Marking. "VERTROUWELIJK – HOOFDLIJNEN" with the audience ("voor de besloten commissie")
on every page and slide. The run's print maps carry the mayor's marking in the picture;
the copies here have it blanked (:func:`without_marking`), so no page shows two markings.

Leak check. See :mod:`bcba.report.deck`: the names of persons exist only while a run reads
its raw extracts; these documents copy from the run folder's already-checked files only.
On top of that every text written here is scanned for identifiers (postcode with house
number, pseudonyms, KvK numbers, signal and network ids, flag codes) before it is released
(:func:`check_identifiers`).
"""

from __future__ import annotations

import html
import io
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from bcba.config import SAFE_RECIPIENT
from bcba.errors import ConfigError, PrivacyError
from bcba.labels import nl_date
from bcba.maps.palette import MARKING as MAYOR_MARKING
from bcba.maps.palette import format_number_nl
from bcba.report import deck
from bcba.report.deck import DeckHeader, RunSummary, Slide, esc

log = logging.getLogger(__name__)

MARKING = "VERTROUWELIJK – HOOFDLIJNEN"
DEFAULT_AUDIENCE = "besloten commissie"
DEFAULT_THRESHOLD = 10
#: Most findings on the main-lines page.
MAX_FINDINGS = 5
#: Audiences the RIEC names, with their article ("voor de besloten commissie").
ARTICLES = {
    "besloten commissie": "de",
    "commissie": "de",
    "gemeenteraad": "de",
    "raad": "de",
    "college": "het",
    "college van b en w": "het",
    "college van burgemeester en wethouders": "het",
    "driehoek": "de",
    "lokale driehoek": "de",
}

#: What may never appear in a council document (its rendered text), with a Dutch name.
IDENTIFIER_PATTERNS: dict[str, re.Pattern] = {
    "postcode met huisnummer": re.compile(r"\b\d{4}\s?[A-Z]{2}\s*\d+"),
    "adressleutel": re.compile(r"\b\d{4}[A-Z]{2}\|"),
    "pseudoniem": re.compile(r"\b[PR]-[0-9A-Za-z]{4,}"),
    "KvK-nummer": re.compile(r"\bK-\d{8}\b|(?<![\d-])\d{8}(?![\d-])"),
    "signaalnummer": re.compile(r"\bSIG-[0-9A-Za-z]+"),
    "netwerknummer": re.compile(r"\bN\d{4}\b"),
    "code van een rode vlag": re.compile(r"\b(?:KVK|KAD|NET)_[A-Z_]{3,}"),
    "BAG-id": re.compile(r"\b\d{16}\b"),
}


# --------------------------------------------------------------------------- small pieces
def audience(text: str) -> str:
    """The audience as printed after "voor": checked like a recipient, with its article.

    ``"besloten commissie"`` -> ``"de besloten commissie"``; a text that already starts
    with an article, or an audience not in :data:`ARTICLES`, is kept as given.

    Raises
    ------
    ConfigError
        When the text holds characters other than those a name or function needs.
    """
    cleaned = " ".join(str(text).split())
    if not SAFE_RECIPIENT.fullmatch(cleaned):
        raise ConfigError(
            f"--voor {text!r} bevat tekens die niet zijn toegestaan; gebruik letters, cijfers, "
            "spaties en . , - ' ( ) / & (bijvoorbeeld 'besloten commissie')."
        )
    first = cleaned.split(" ", 1)[0].lower()
    if first in ("de", "het", "een"):
        return cleaned
    article = ARTICLES.get(cleaned.lower())
    return f"{article} {cleaned}" if article else cleaned


def check_threshold(drempel: object) -> int:
    """The suppression threshold as a whole number of at least 1."""
    if isinstance(drempel, bool) or not isinstance(drempel, int) or drempel < 1:
        raise ConfigError(f"drempel moet een geheel getal van minstens 1 zijn, niet {drempel!r}")
    return drempel


def suppressed(value: object, *, drempel: int) -> str:
    """A count for the council: ``geen``, ``minder dan 10`` (for 1-9) or the number."""
    try:
        n = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"ongeldig aantal {value!r} in de samenvatting") from None
    if n < 0:
        raise ConfigError(f"negatief aantal {n} in de samenvatting")
    if n == 0:
        return "geen"
    if n < drempel:
        return f"minder dan {format_number_nl(drempel, 0)}"
    return format_number_nl(n, 0)


_BRACKETS = re.compile(r"\s*\([^()]*\)")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def plain_model_verdict(text: str, *, drempel: int) -> str:
    """The model's verdict for the council: without its figures in brackets, without a
    sentence that still holds a number below the threshold, and with the two methods
    explained in words."""
    text = _BRACKETS.sub("", str(text or "")).strip()
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    kept = [
        s
        for s in sentences
        if not any(int(n.replace(".", "").split(",")[0]) < drempel for n in _NUMBER.findall(s))
    ]
    if not kept:
        return ""
    verdict = " ".join(kept)
    if "RTM" in verdict or "KDE" in verdict:
        verdict += (
            " (RTM: het risicoterreinmodel, dat uit de omgeving voorspelt waar meldingen te "
            "verwachten zijn; KDE-basislijn: kijken waar eerder veel gebeurde.)"
        )
    if not verdict[:2].isupper():  # an abbreviation (RTM) keeps its capitals
        verdict = verdict[:1].lower() + verdict[1:]
    return "Toets van het risicomodel: " + verdict


def without_marking(png: bytes) -> bytes:
    """The map with the mayor's marking (printed in red, top centre) blanked.

    The marking is found by its colour in the top eighth of the picture, above the
    map's title; nothing else there is red. A picture without it is returned unchanged.
    """
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        rgba = np.asarray(image.convert("RGBA")).copy()
    top = max(1, rgba.shape[0] // 8)
    band = rgba[:top].astype(np.int16)
    red = (
        (band[..., 0] - band[..., 1] > 80) & (band[..., 0] - band[..., 2] > 60) & (band[..., 3] > 0)
    )
    rows = np.flatnonzero(red.any(axis=1))
    if not len(rows):
        return png
    # the marking is the first run of red lines from the top; a map reaching into the
    # band (red buurten) starts lower, below the title
    gaps = np.flatnonzero(np.diff(rows) > 2)
    first, last = rows[0], rows[gaps[0]] if len(gaps) else rows[-1]
    if last >= top // 2:  # red reaching down to the title is not the marking
        return png
    cols = np.flatnonzero(red[first : last + 1].any(axis=0))
    pad = max(1, rgba.shape[0] // 400)  # 3 pixels at 150 dpi
    # never into the title: stop above the first line of dark (black) text below
    dark = np.flatnonzero((band[last + 1 :, :, :3].sum(axis=-1) < 200).any(axis=1))
    stop = last + 1 + int(dark[0]) if len(dark) else top
    rgba[
        max(0, first - pad) : min(stop, last + pad + 1),
        max(0, cols[0] - pad) : cols[-1] + pad + 1,
    ] = 255
    out = io.BytesIO()
    Image.fromarray(rgba).save(out, format="PNG")
    return out.getvalue()


class _Text(HTMLParser):
    """The text a reader can see or get at: text and attribute values, no scripts, no
    styles, no picture data."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if v and k not in ("src", "href", "class", "id"))

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The readable text of an HTML page (see :class:`_Text`), one part per line."""
    parser = _Text()
    parser.feed(page)
    parser.close()
    return "\n".join(parser.parts)


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF and its document properties."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = [page.extract_text() or "" for page in reader.pages]
    meta = [str(v) for v in (reader.metadata or {}).values()]
    return "\n".join(pages + meta)


def find_identifiers(text: str, *, allowed: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """Every identifier of :data:`IDENTIFIER_PATTERNS` in ``text``: (kind, match).

    ``allowed``: exact strings removed first (the report id, which holds a date of eight
    digits).
    """
    for keep in allowed:
        text = text.replace(keep, " ")
    return [
        (kind, m.group(0)) for kind, rx in IDENTIFIER_PATTERNS.items() for m in rx.finditer(text)
    ]


def check_identifiers(texts: dict[str, str], *, allowed: tuple[str, ...] = ()) -> None:
    """Raise :class:`PrivacyError` when any text (by file name) holds an identifier."""
    hits = [
        f"{name}: {kind} {match!r}"
        for name, text in texts.items()
        for kind, match in find_identifiers(text, allowed=allowed)
    ]
    if hits:
        raise PrivacyError(
            "De hoofdlijnen bevatten gegevens die herleidbaar zijn tot adressen, bedrijven of "
            "personen en worden niet vrijgegeven:\n  - " + "\n  - ".join(hits[:20])
        )


# --------------------------------------------------------------------------- content
@dataclass(frozen=True)
class Finding:
    """One main line: plain text, and the section or slide it rests on (if any)."""

    text: str
    target: str = ""
    target_label: str = ""


def council_findings(run: RunSummary, *, drempel: int) -> list[Finding]:
    """The main lines, from the area-level fields of the summary only (3 to 5)."""
    d = run.data
    items: list[Finding] = []
    top = [str(t) for t in (d.get("totaal") or {}).get("top") or []]
    if top:
        items.append(
            Finding(
                f"Over alle thema's samen vallen {_opsomming(top)} het meest op: daar komen "
                "gelegenheden, signalen uit registers en meldingen van partners samen.",
                "totaal",
                "kaart totaalscore",
            )
        )
    concentrated = [t for t in run.themes if str(t.get("concentraties") or "geen") != "geen"]
    for theme in concentrated[:2]:
        items.append(
            Finding(
                f"{theme['label']}: meer meldingen dan het aantal adressen doet verwachten in "
                f"{theme['concentraties']}.",
                f"thema-{theme['id']}",
                str(theme["label"]),
            )
        )
    if not concentrated and run.themes:
        items.append(
            Finding(
                "In geen enkel thema zijn op een plek duidelijk meer meldingen dan het aantal "
                "adressen doet verwachten."
            )
        )
    verdict = plain_model_verdict(d.get("model_oordeel") or "", drempel=drempel)
    if verdict:
        items.append(Finding(verdict))
    steps = sum(len(t.get("aanpak") or []) for t in run.themes)
    if steps:
        items.append(
            Finding(
                f"Per thema is uitgewerkt welke barrières gemeente en partners kunnen opwerpen: "
                f"{format_number_nl(steps, 0)} interventies voor "
                f"{format_number_nl(len(run.themes), 0)} thema's, van vergunningen en de Wet "
                "Bibob tot integrale controles.",
                "aanpak",
                "aanpak per thema",
            )
        )
    return items[:MAX_FINDINGS]


def _opsomming(items: list[str]) -> str:
    from bcba.report.html import opsomming

    return opsomming(items)


def _about(drempel: int) -> str:
    return (
        "Deze hoofdlijnen geven de uitkomsten van de B-CBA op het niveau van buurten en "
        "thema's, met de mogelijke aanpak. Ze bevatten geen adressen, geen namen of nummers "
        "van bedrijven of personen, geen signalen en geen netwerken. Aantallen kleiner dan "
        f"{drempel} staan er als 'minder dan {drempel}'."
    )


CAVEAT = (
    "Scores en kaarten wijzen op verhoogde risico's en signalen, niet op bewezen criminaliteit. "
    "Een buurt hoog op de lijst vraagt om nadere duiding met de partners, niet om conclusies "
    "over bewoners of ondernemers."
)


@dataclass(frozen=True)
class CouncilMaps:
    """The maps of the council version (marking blanked): total and per theme."""

    total: bytes | None
    themes: dict[str, bytes]
    used: list[Path]


def council_maps(run: RunSummary) -> CouncilMaps:
    """The buurt score maps and the total map of the run, never a point map."""
    used: list[Path] = []
    total = None
    kaart = (run.data.get("totaal") or {}).get("kaart")
    if kaart:
        path = run.file(kaart)
        _check_area_map(path)
        used.append(path)
        total = without_marking(deck.png_bytes(path))
    themes = {}
    for theme in run.themes:
        path = run.file(theme["kaart"])
        _check_area_map(path)
        used.append(path)
        themes[theme["id"]] = without_marking(deck.png_bytes(path))
    return CouncilMaps(total=total, themes=themes, used=used)


#: The only print maps the council version may show (buurt scores, total score).
AREA_MAP = re.compile(r"(?:score_[a-z_]+|totaalscore)\.png")


def _check_area_map(path: Path) -> None:
    if not AREA_MAP.fullmatch(path.name):
        raise ConfigError(
            f"De hoofdlijnen tonen alleen kaarten per buurt (score_<thema>.png, "
            f"totaalscore.png), niet {path.name}."
        )


# --------------------------------------------------------------------------- the document
def _header(run: RunSummary, publiek: str) -> DeckHeader:
    return DeckHeader(
        marking=MARKING,
        document="Hoofdlijnen B-CBA",
        gemeentenaam=run.gemeentenaam,
        rapport_id=str(run.data["rapport_id"]),
        datum=str(run.data["datum"]),
        audience=f"voor {publiek}",
        demo=run.demo,
    )


def _title(run: RunSummary) -> str:
    return f"Hoofdlijnen van de B-CBA van {run.gemeentenaam}"


def _subtitle(publiek: str) -> str:
    return (
        "Bestuurlijke criminaliteitsbeeldanalyse, met instemming van de burgemeester gedeeld "
        f"met {publiek}"
    )


def _handling(publiek: str) -> str:
    return (
        f"Dit document is vertrouwelijk en alleen bestemd voor {publiek}. De burgemeester heeft "
        "ingestemd met het delen van deze hoofdlijnen; de volledige B-CBA blijft bij de "
        "burgemeester. Niet verspreiden, kopiëren of doorsturen."
    )


def _title_rows(run: RunSummary, publiek: str) -> list[tuple[str, str]]:
    d = run.data
    rows = [
        ("Gemeente", f"{run.gemeentenaam} ({run.gemeente})"),
        ("Voor", publiek[:1].upper() + publiek[1:]),
        ("Datum", nl_date(d["datum"])),
        ("Gebaseerd op rapport", str(d["rapport_id"])),
    ]
    periode = d.get("periode")
    if periode and len(periode) == 2:
        rows.append(("Onderzoeksperiode", f"{nl_date(periode[0])} t/m {nl_date(periode[1])}"))
    return rows


EXTRA_CSS = """
.hl-publiek { text-align: center; color: var(--bcba-red); font-weight: 600; margin: -.3rem 0 1rem; }
.hl-kaart { margin: .4rem 0 .8rem; break-inside: avoid; page-break-inside: avoid; }
.hl-kaart img { display: block; max-width: 100%; max-height: 112mm; width: auto; height: auto; margin: 0 auto; }
.hl-kaart figcaption { text-align: left; }
.hl-feiten { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .4rem 0 .8rem; }
.hl-feiten dt { font-weight: 600; }
.hl-feiten dd { margin: 0; }
.hl-over { border: 1px solid var(--bcba-rule); background: #fafaf8; padding: .6rem 1rem; margin-top: 1.2rem; }
.hl-over h2 { margin-top: 0; font-size: 1.05rem; }
@media print { .hl-kaart img { max-height: 120mm; } }
"""


def _figure(png: bytes, *, caption: str, alt: str) -> str:
    return (
        f'<figure class="hl-kaart"><img alt="{esc(alt)}" src="{deck.data_uri(png)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _facts(theme: dict, *, drempel: int) -> str:
    top = [str(t) for t in theme.get("top") or []]
    conc = str(theme.get("concentraties") or "geen")
    rows = [
        ("Buurten die het meest opvallen", _opsomming(top) if top else "geen gerangschikt"),
        (
            "Meer meldingen dan verwacht",
            "nergens" if conc == "geen" else f"in {conc}",
        ),
        ("Adressen met een rode vlag", suppressed(theme.get("vlaggen", 0), drempel=drempel)),
        ("Meldingen van partners", suppressed(theme.get("meldingen", 0), drempel=drempel)),
    ]
    return (
        '<dl class="hl-feiten">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows)
        + "</dl>"
    )


def _approach_table(theme: dict) -> str:
    import pandas as pd

    from bcba.report.html import tabel_html

    steps = theme.get("aanpak") or []
    if not steps:
        return "<p>Geen interventies vastgelegd.</p>"
    frame = pd.DataFrame(
        [
            {
                "stap": s.get("stap", ""),
                "instrument": s.get("instrument", ""),
                "partner": s.get("partner", ""),
            }
            for s in steps
        ]
    )
    return tabel_html(
        frame,
        kolommen={"stap": "Stap", "instrument": "Instrument", "partner": "Partner"},
        breed=("instrument",),
    )


def _overview_table(run: RunSummary, *, drempel: int) -> str:
    import pandas as pd

    from bcba.report.html import tabel_html

    frame = pd.DataFrame(
        [
            {
                "thema": str(t["label"]),
                "top": _opsomming([str(x) for x in t.get("top") or []]) or "–",
                "conc": "–"
                if str(t.get("concentraties") or "geen") == "geen"
                else str(t["concentraties"]),
                "vlaggen": suppressed(t.get("vlaggen", 0), drempel=drempel),
                "meldingen": suppressed(t.get("meldingen", 0), drempel=drempel),
            }
            for t in run.themes
        ]
    )
    return tabel_html(
        frame,
        kolommen={
            "thema": "Thema",
            "top": "Buurten die het meest opvallen",
            "conc": "Meer meldingen dan verwacht in",
            "vlaggen": "Adressen met rode vlag",
            "meldingen": "Meldingen van partners",
        },
        bijschrift="Per thema",
        breed=("top", "conc"),
        heel=("vlaggen", "meldingen"),
    )


def _finding_report_html(f: Finding, run: RunSummary) -> str:
    # the document has the approach on each theme's page: the pointer goes to the first
    target = f"thema-{run.themes[0]['id']}" if f.target == "aanpak" and run.themes else f.target
    ref = (
        f' <a class="bcba-ref" href="#{esc(target)}">→ {esc(f.target_label)}</a>'
        if f.target
        else ""
    )
    return esc(f.text) + ref


def render_document(run: RunSummary, maps: CouncilMaps, *, publiek: str, drempel: int) -> str:
    """The council document as one offline HTML page (the report's stylesheet)."""
    from bcba.report.render import default_template_dir

    css = (default_template_dir() / "bcba.css").read_text(encoding="utf-8")
    d = run.data
    header = _header(run, publiek)
    date_text = nl_date(d["datum"])
    meta_rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _title_rows(run, publiek)
    )
    demo_title = (
        '<p class="bcba-demo-title">DEMO – synthetische gegevens. Deze hoofdlijnen zijn gemaakt '
        "met gegenereerde oefengegevens en zeggen niets over de werkelijke situatie in de "
        "gemeente.</p>"
        if run.demo
        else ""
    )
    findings = "".join(
        f"<li>{_finding_report_html(f, run)}</li>" for f in council_findings(run, drempel=drempel)
    )
    parts = [
        '<section class="bcba-titlepage">',
        f'<div class="bcba-marking" role="note">{esc(MARKING)}</div>',
        f'<p class="hl-publiek">voor {esc(publiek)}</p>',
        demo_title,
        f'<h1 class="bcba-title">{esc(_title(run))}</h1>',
        f'<p class="bcba-subtitle">{esc(_subtitle(publiek))}</p>',
        f'<table class="bcba-meta">{meta_rows}</table>',
        f'<p class="bcba-handling">{esc(_handling(publiek))}</p>',
        f'<div class="hl-over"><h2>Over deze versie</h2><p>{esc(_about(drempel))}</p></div>',
        "</section>",
        '<h1 id="hoofdlijnen">Hoofdlijnen</h1>',
        f'<p class="bcba-lead">{esc(_lead(run))}</p>',
        f'<ol class="bcba-findings">{findings}</ol>',
        f"<p>{esc(CAVEAT)}</p>",
        '<h1 id="totaal" class="bcba-newpage">Beeld per thema</h1>',
        "<p>De kaart toont per buurt hoeveel gelegenheden, rode vlaggen uit registers, meldingen "
        "van partners en signalen van medewerkers samenkomen, vergeleken met de andere buurten "
        "van de gemeente. De tabel geeft per thema de buurten die het hoogst scoren.</p>",
    ]
    if maps.total is not None:
        parts.append(
            _figure(
                maps.total,
                caption="Kaart 1. Samengestelde score per buurt over alle thema's (donkerder = "
                "meer signalen).",
                alt="Kaart: totaalscore per buurt",
            )
        )
    parts.append(_overview_table(run, drempel=drempel))
    for n, theme in enumerate(run.themes, start=2):
        parts += [
            '<div class="bcba-theme-page">',
            f'<h2 id="thema-{esc(theme["id"])}">{esc(theme["label"])}</h2>',
            f"<p>{esc(theme.get('omschrijving', ''))}</p>",
            _figure(
                maps.themes[theme["id"]],
                caption=f"Kaart {n}. Score per buurt voor {theme['label'].lower()} (donkerder = "
                "meer signalen).",
                alt=f"Kaart: score per buurt, {theme['label']}",
            ),
            _facts(theme, drempel=drempel),
            "<h3>Aanpak</h3>",
            _approach_table(theme),
            "</div>",
        ]
    parts += [
        '<h1 id="verantwoording" class="bcba-newpage">Verantwoording</h1>',
        f"<p>{esc(_account(run, drempel))}</p>",
        f"<p>{esc(CAVEAT)}</p>",
    ]
    demo_banner = (
        f'<div class="bcba-demo-banner" role="note">{deck.DEMO_NOTICE}</div>' if run.demo else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f'<meta name="bcba-markering" content="{esc(MARKING)}">\n'
        f'<meta name="bcba-gemeente" content="{esc(run.gemeente)}">\n'
        f'<meta name="bcba-rapport-id" content="{esc(d["rapport_id"])}">\n'
        f"<title>{esc(MARKING)} – {esc(_title(run))} – {esc(d['rapport_id'])}</title>\n"
        f"<style>\n{css}\n{EXTRA_CSS}</style>\n</head>\n"
        '<body class="bcba-report bcba-doc-hoofdlijnen">\n'
        '<header class="bcba-running-header">'
        f'<span class="bcba-rh-left">{esc(header.document)} · {esc(run.gemeentenaam)}</span>'
        f'<span class="bcba-rh-marking">{esc(MARKING)}</span>'
        f'<span class="bcba-rh-right">{esc(date_text)}</span></header>\n'
        f"{demo_banner}\n"
        '<main class="bcba-main">\n' + "\n".join(parts) + "\n</main>\n"
        '<footer class="bcba-running-footer">'
        f"<span>Voor {esc(publiek)}</span><span>Gebaseerd op rapport {esc(d['rapport_id'])}</span>"
        "</footer>\n</body>\n</html>\n"
    )


def _lead(run: RunSummary) -> str:
    return (
        f"Een bestuurlijke criminaliteitsbeeldanalyse (B-CBA) laat zien waar in "
        f"{run.gemeentenaam} ondermijnende criminaliteit kansen krijgt, waar signalen "
        "samenkomen en wat de gemeente en haar partners kunnen doen. Dit zijn de hoofdlijnen."
    )


def _account(run: RunSummary, drempel: int) -> str:
    return (
        f"Deze hoofdlijnen zijn afgeleid van de bestuurlijke rapportage "
        f"{run.data['rapport_id']} van de B-CBA van {run.gemeentenaam}. Per thema is een score "
        "per buurt berekend uit gelegenheidsstructuren, rode vlaggen uit KvK en Kadaster, "
        "meldingen van partners en een enquête onder medewerkers. Aantallen kleiner dan "
        f"{drempel} zijn vervangen door 'minder dan {drempel}'; er staan geen totalen of "
        "percentages in waaruit ze alsnog zijn af te leiden. Adressen, bedrijven, personen, "
        "signalen en netwerken blijven bij de burgemeester en de RIEC-partners."
    )


# --------------------------------------------------------------------------- the deck
def council_slides(
    run: RunSummary, maps: CouncilMaps, *, publiek: str, drempel: int
) -> list[Slide]:
    """The council deck: title, what this is, main lines, maps, approach, closing."""
    header = _header(run, publiek)
    findings = []
    for f in council_findings(run, drempel=drempel):
        target = {"aanpak": "aanpak-1"}.get(f.target, f.target)
        ref = (
            f' <a class="verwijzing" href="#{esc(target)}">→ {esc(f.target_label)}</a>'
            if f.target
            else ""
        )
        findings.append(esc(f.text) + ref)
    slides = [
        deck.title_slide(
            header,
            title=_title(run),
            subtitle=_subtitle(publiek),
            rows=_title_rows(run, publiek),
            handling=_handling(publiek),
        ),
        Slide(
            "over",
            "slot",
            "<h2>Over deze hoofdlijnen</h2>"
            f'<ul class="punten"><li>{esc(_lead(run))}</li><li>{esc(_about(drempel))}</li>'
            f"<li>{esc(CAVEAT)}</li></ul>",
            label="Over deze hoofdlijnen",
        ),
        *deck.finding_slides(findings, heading="Hoofdlijnen"),
    ]
    if maps.total is not None:
        slides.append(
            deck.map_slide(
                "totaal",
                png=maps.total,
                alt="Kaart: totaalscore per buurt",
                panel=deck.total_panel(run),
                label="Totaalscore per buurt",
            )
        )
    for theme in run.themes:
        slides.append(
            deck.map_slide(
                f"thema-{theme['id']}",
                png=maps.themes[theme["id"]],
                alt=f"Kaart: score per buurt, {theme['label']}",
                panel=deck.theme_panel(theme, counts=lambda v: suppressed(v, drempel=drempel)),
                label=str(theme["label"]),
            )
        )
    slides += deck.action_slides(run.themes)
    slides.append(
        deck.closing_slide(
            title="Bespreking",
            points=[
                "Welke buurten en thema's vragen aandacht in beleid en begroting?",
                "Welke barrières vragen een besluit van raad of college (APV, Bibob-beleid, "
                "omgevingsplan)?",
                "Hoe en wanneer horen raad, college of driehoek hoe de aanpak verloopt?",
            ],
            note=_handling(publiek),
        )
    )
    return slides


# --------------------------------------------------------------------------- build
@dataclass(frozen=True)
class HoofdlijnenResult:
    """The files of the council version."""

    html: Path
    deck: Path
    pdf: Path | None = None


def _pdf_templates(run: RunSummary, publiek: str) -> tuple[str, str]:
    """Chromium header and footer: the report's (:func:`render.pdf_header_footer`) with
    this version's marking instead of the mayor's."""
    from bcba.report.render import pdf_header_footer

    header, footer = pdf_header_footer(
        {
            "document": "Hoofdlijnen B-CBA",
            "gemeentenaam": run.gemeentenaam,
            "datum-tekst": nl_date(run.data["datum"]),
            "rapport-id": str(run.data["rapport_id"]),
            "ontvanger": publiek,
            "demo": "ja" if run.demo else "",
        }
    )
    marked = header.replace(html.escape(MAYOR_MARKING), esc(MARKING))
    if esc(MARKING) not in marked:
        raise ConfigError("De kopregel van de PDF mist de markering van de hoofdlijnen.")
    return marked, footer


def build_hoofdlijnen(
    folder: str | Path,
    *,
    voor: str = DEFAULT_AUDIENCE,
    drempel: int = DEFAULT_THRESHOLD,
    pdf: bool = True,
) -> HoofdlijnenResult:
    """Write the council version of a finished run (document, PDF, deck) and audit it.

    Parameters
    ----------
    folder
        A completed run folder.
    voor
        The audience ("besloten commissie", "college", "driehoek"); printed after "voor".
    drempel
        Counts from 1 to ``drempel - 1`` are shown as "minder dan <drempel>".
    pdf
        Also print the document to PDF (headless Chromium, network off).

    Raises
    ------
    ConfigError, MissingInputError
        A bad audience or threshold, or a folder that is not a completed run.
    PrivacyError
        When a text to be released holds an identifier (nothing is written then; a PDF
        already printed is removed).
    """
    from bcba import audit
    from bcba.io import atomic_path, write_text
    from bcba.maps.offline import RemoteAssetError, assert_no_remote
    from bcba.report.browser import print_pdf

    publiek = audience(voor)
    drempel = check_threshold(drempel)
    run = deck.open_run(folder)
    maps = council_maps(run)
    page = render_document(run, maps, publiek=publiek, drempel=drempel)
    slides = council_slides(run, maps, publiek=publiek, drempel=drempel)
    deck_page = deck.render_deck(slides, _header(run, publiek), title=_title(run))
    assert_no_remote(page)
    deck.check_deck(deck_page, marking=MARKING)
    allowed = (str(run.data["rapport_id"]),)
    stem = f"bcba_{run.gemeente}_hoofdlijnen"
    deck_name = f"presentatie_{run.gemeente}_hoofdlijnen.html"
    check_identifiers(
        {f"{stem}.html": visible_text(page), deck_name: visible_text(deck_page)}, allowed=allowed
    )
    html_path = write_text(run.folder / f"{stem}.html", page)
    deck_path = write_text(run.folder / deck_name, deck_page)
    pdf_path = None
    if pdf:
        header, footer = _pdf_templates(run, publiek)
        pdf_path = run.folder / f"{stem}.pdf"
        with atomic_path(pdf_path) as tmp:
            check = print_pdf(
                html_path, tmp, header_template=header, footer_template=footer, settle_ms=100
            )
        try:
            if check.requests:
                raise RemoteAssetError(
                    "De hoofdlijnen probeerden bij het afdrukken iets te laden: "
                    + ", ".join(check.requests[:5])
                )
            check_identifiers({pdf_path.name: pdf_text(pdf_path)}, allowed=allowed)
        except BaseException:
            pdf_path.unlink(missing_ok=True)
            raise
    inputs = [run.folder / deck.SUMMARY_FILE, *maps.used]
    base = {
        "gemeente": run.gemeente,
        "rapport_id": str(run.data["rapport_id"]),
        "ontvanger": str(run.data["ontvanger"]),
        "publiek": publiek,
        "drempel": drempel,
        "reikwijdte": str(run.data.get("reikwijdte", run.data.get("gemeentenaam", ""))),
    }
    audit.record(
        "presentatie",
        parameters={**base, "versie": "hoofdlijnen"},
        inputs=inputs,
        outputs=[p for p in (html_path, pdf_path) if p is not None],
    )
    audit.record(
        "presentatie",
        parameters={**base, "versie": "hoofdlijnen-presentatie"},
        inputs=inputs,
        outputs=[deck_path],
    )
    log.info("Hoofdlijnen gemaakt voor %s: %s", publiek, html_path.name)
    return HoofdlijnenResult(html=html_path, deck=deck_path, pdf=pdf_path)

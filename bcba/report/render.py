"""Render an executed report notebook to offline HTML (nbconvert) and to PDF (Chromium).

The HTML uses the ``templates/bcba`` nbconvert template: no code, no prompts, a table of
contents, the marking on every section, and nothing loaded from the internet (checked after
rendering). The PDF is printed by headless Chromium with the network off, with a header and
footer (marking, municipality, date, report id, page numbers) on every page.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat

from bcba.config import PACKAGE_DIR, templates_dir
from bcba.errors import ConfigError, MissingInputError
from bcba.io import atomic_path, write_text
from bcba.maps.offline import RemoteAssetError, find_remote_resources
from bcba.maps.palette import MARKING

log = logging.getLogger(__name__)

#: Keys of ``notebook.metadata["bcba"]`` the template shows in header and footer.
REQUIRED_METADATA = ("gemeente", "gemeentenaam", "datum", "rapport_id", "ontvanger")
TOC_PLACEHOLDER = "<!--BCBA_TOC-->"
#: The cells of the annex carry this tag; the others make the mayor's report.
ANNEX_TAG = "bijlage"
#: Document kind -> its name in the running header.
DOCUMENTS = {"rapport": "Bestuurlijke rapportage", "bijlagen": "Bijlagen voor analisten"}
TOC_SLOT = '<div class="bcba-toc-slot"></div>'

_HEADING = re.compile(r"<h([12])\b([^>]*)>(.*?)</h\1>", re.S | re.I)
_ID = re.compile(r"\bid\s*=\s*\"([^\"]+)\"")
_TAGS = re.compile(r"<[^>]+>")
# An interactive map of bcba.maps.offline.map_iframe, as written (single-quoted srcdoc) or as
# nbconvert re-serialises it (attributes double-quoted, reordered): attribute values are
# matched quote to quote, and the closing quote cannot occur inside (it is escaped), so
# this matches exactly one map.
_INTERACTIVE_MAP = re.compile(
    r'<div class="bcba-interactive-map"><iframe(?:\s+[\w-]+(?:=(?:\'[^\']*\'|"[^"]*"|[^\s>]+))?)*\s*>'
    r"</iframe></div>"
)


# A page that sends the reader elsewhere by itself (<meta http-equiv="refresh" ...>), in any
# quoting, also inside map iframes.
_META_REFRESH = re.compile(r"<meta\b[^>]*http-equiv\s*=\s*['\"]?\s*refresh", re.I)


def default_template_dir() -> Path:
    """``templates/bcba`` of the project (falls back to the source checkout)."""
    for candidate in (templates_dir() / "bcba", PACKAGE_DIR.parent / "templates" / "bcba"):
        if (candidate / "index.html.j2").exists():
            return candidate
    raise MissingInputError(
        "Het rapportsjabloon templates/bcba ontbreekt (index.html.j2 en conf.json)."
    )


def _exporter(template_dir: Path):
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=template_dir.name,
        extra_template_basedirs=[str(template_dir.parent)],
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.embed_images = True
    exporter.sanitize_html = False  # outputs are our own (escaped) HTML and offline maps
    return exporter


def _heading_text(inner: str) -> str:
    text = _TAGS.sub("", inner).replace("¶", "")
    return html.unescape(text).strip()


def add_toc(page: str) -> str:
    """Insert the table of contents into the ``bcba-toc-slot`` of the title page.

    Headings of level 1 and 2 with an ``id`` (every markdown heading nbconvert renders, and
    the headings sections write with :func:`bcba.report.html.h`) enter the contents; the
    title heading (class ``bcba-title``) does not. Each entry has a page-number slot that
    :func:`render_pdf` fills in print. Without a slot the page is left as it is.
    """
    entries: list[tuple[int, str, str]] = []
    for match in _HEADING.finditer(page):
        level, attrs, inner = int(match.group(1)), match.group(2), match.group(3)
        found = _ID.search(attrs)
        if "bcba-title" in attrs or found is None:
            continue
        entries.append((level, found.group(1), _heading_text(inner)))
    if not entries or TOC_SLOT not in page:
        return page.replace(TOC_PLACEHOLDER, "")
    items = "".join(
        f'<li class="bcba-toc-{lvl}"><a href="#{html.escape(anchor, quote=True)}">'
        f'{html.escape(text)}</a><span class="bcba-toc-dots"></span>'
        f'<span class="bcba-toc-page" data-anker="{html.escape(anchor, quote=True)}"></span></li>'
        for lvl, anchor, text in entries
    )
    toc = f'<nav class="bcba-toc" aria-label="Inhoudsopgave"><h2>Inhoud</h2><ol>{items}</ol></nav>'
    return page.replace(TOC_PLACEHOLDER, "").replace(TOC_SLOT, toc, 1)


def check_offline_html(page: str) -> None:
    """Raise unless the page is marked and loads nothing remote (also inside map iframes).

    Raises
    ------
    RemoteAssetError
        With the offending snippets; a map shown directly (``m`` instead of
        ``bcba.report.html.kaart(m)``) is the usual cause.
    ConfigError
        When the marking is missing.
    """
    unescaped = html.unescape(page)
    hits = find_remote_resources(page) + find_remote_resources(unescaped)
    for text in (page, unescaped):
        hits += [m.group(0) for m in _META_REFRESH.finditer(text)]
    if "bcba-asset:" in page:
        hits.append("bcba-asset: (kaartbestand niet ingevoegd)")
    if hits:
        raise RemoteAssetError(
            "Het rapport laadt iets van internet of stuurt de lezer door (niet toegestaan). Toon kaarten met "
            "bcba.report.html.kaart(m), niet met 'm' zelf. Gevonden: " + " | ".join(hits[:3])
        )
    if MARKING not in page:
        raise ConfigError(f"Het rapport mist de markering {MARKING!r}.")


def render_html(
    executed_notebook_path: str | Path,
    out_html_path: str | Path,
    *,
    document: str = "rapport",
    template_dir: str | Path | None = None,
    metadata: Mapping[str, str] | None = None,
    notebook=None,
) -> Path:
    """Render one document of an executed notebook to an offline HTML file (B-CBA template).

    One run makes two documents from one notebook: the mayor's report (``"rapport"``: the
    cells without the tag ``bijlage``) and the analysts' annex (``"bijlagen"``: the cells
    with it).

    Parameters
    ----------
    executed_notebook_path
        The notebook papermill executed.
    out_html_path
        Target HTML (written atomically, owner-only).
    template_dir
        The nbconvert template folder (default ``templates/bcba``).
    document
        ``"rapport"`` or ``"bijlagen"`` (see :data:`DOCUMENTS`).
    metadata
        Overrides/additions for ``notebook.metadata["bcba"]`` (gemeente, gemeentenaam,
        datum, rapport_id, ontvanger).
    notebook
        The executed notebook already read (saves reading it once per document).

    Raises
    ------
    MissingInputError
        When the notebook or template is missing.
    ConfigError
        When report metadata are missing.
    RemoteAssetError
        When the result would load anything from the internet.
    """
    if document not in DOCUMENTS:
        raise ConfigError(f"document moet een van {sorted(DOCUMENTS)} zijn, niet {document!r}")
    source = Path(executed_notebook_path)
    if notebook is None:
        if not source.is_file():
            raise MissingInputError(f"Notebook niet gevonden: {source}")
        notebook = nbformat.read(source, as_version=4)
    folder = Path(template_dir) if template_dir is not None else default_template_dir()
    annex = document == "bijlagen"
    notebook = nbformat.from_dict(
        {
            **notebook,
            "cells": [
                cell
                for cell in notebook.cells
                if (ANNEX_TAG in cell.get("metadata", {}).get("tags", [])) == annex
            ],
        }
    )
    meta = dict(notebook.metadata.get("bcba", {}))
    meta["document"] = DOCUMENTS[document]
    meta["soort"] = document
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    missing = [k for k in REQUIRED_METADATA if not str(meta.get(k, "")).strip()]
    if missing:
        raise ConfigError(
            f"Rapportgegevens ontbreken in de notebook-metadata 'bcba': {', '.join(missing)}. "
            "Geef ze mee via render_html(..., metadata={...})."
        )
    notebook.metadata["bcba"] = meta
    started = time.perf_counter()
    body, _resources = _exporter(folder).from_notebook_node(notebook)
    body = add_toc(body)
    check_offline_html(body)
    target = write_text(out_html_path, body)
    log.info(
        "%s gemaakt (%.0f kB) in %.1f s",
        target.name,
        len(body) / 1024,
        time.perf_counter() - started,
    )
    return target


def _meta_tags(page: str) -> dict[str, str]:
    """The ``<meta name="bcba-...">`` values of a rendered report (attribute order free)."""
    found = {}
    for tag in re.findall(r"<meta\b[^>]*>", page, re.I):
        name = re.search(r'\bname="bcba-([a-z-]+)"', tag)
        content = re.search(r'\bcontent="([^"]*)"', tag)
        if name and content:
            found[name.group(1)] = html.unescape(content.group(1))
    return found


def pdf_header_footer(meta: Mapping[str, str]) -> tuple[str, str]:
    """Chromium header and footer templates: the marking once per page (in the header),
    document, municipality, date, report id, recipient, page numbers, and the demo notice
    on every page when the data are synthetic."""
    esc = {k: html.escape(str(v)) for k, v in meta.items()}
    style = (
        "font-family:'Segoe UI',Arial,'Liberation Sans','DejaVu Sans',sans-serif;font-size:7.5pt;"
        "width:100%;margin:0 16mm;display:flex;justify-content:space-between;color:#444;"
    )
    mark = f'<span style="color:#b00020;font-weight:bold;letter-spacing:1px">{MARKING}</span>'
    demo = (
        '<span style="color:#6b4e00;font-weight:bold">DEMO – synthetische gegevens</span>'
        if meta.get("demo")
        else ""
    )
    header = (
        f'<div style="{style}"><span>{esc.get("document", "B-CBA")} · '
        f"{esc.get('gemeentenaam', '')}</span>{mark}<span>{esc.get('datum-tekst', '')}</span></div>"
    )
    footer = (
        f'<div style="{style}"><span>Rapport {esc.get("rapport-id", "")} · '
        f"Ontvanger: {esc.get('ontvanger', '')}</span>{demo}<span>Pagina "
        '<span class="pageNumber"></span> van <span class="totalPages"></span></span></div>'
    )
    return header, footer


def _clean_title(text: str) -> str:
    return " ".join(text.replace("¶", " ").split()).casefold()


def toc_page_numbers(pdf: bytes, headings: list[tuple[str, str]]) -> dict[str, int]:
    """The printed page of each heading of the contents, from the PDF's outline.

    ``headings``: (anchor, heading text) in document order. The outline lists every
    heading in document order too, so each is matched to the next outline entry with the
    same text.
    """
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    flat: list[tuple[str, int]] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                flat.append(
                    (_clean_title(item.title or ""), reader.get_destination_page_number(item) + 1)
                )

    walk(reader.outline)
    numbers: dict[str, int] = {}
    position = 0
    for anchor, text in headings:
        wanted = _clean_title(text)
        for index in range(position, len(flat)):
            if flat[index][0] == wanted:
                numbers[anchor] = flat[index][1]
                position = index + 1
                break
    return numbers


def print_copy(page: str) -> str:
    """The report page without its interactive maps (the print stylesheet hides them)."""
    return _INTERACTIVE_MAP.sub("", page)


def render_pdf(
    html_path: str | Path, pdf_path: str | Path, *, paper: str = "A4", browser=None
) -> Path:
    """Print a rendered report to PDF with headless Chromium (network off).

    Header and footer on every page carry the marking, municipality, date, report id and
    page numbers; interactive maps are replaced by their static twins (print stylesheet).
    ``browser``: a :class:`bcba.report.browser.BackgroundBrowser` already started.

    Raises
    ------
    bcba.report.browser.BrowserMissingError
        With the Dutch install hint (``apt-get install -y chromium``).
    RemoteAssetError
        When the page tried to load anything outside its own file.
    """
    from bcba.report.browser import print_pdf

    source = Path(html_path)
    if not source.is_file():
        raise MissingInputError(f"HTML-rapport niet gevonden: {source}")
    page = source.read_text(encoding="utf-8")
    header, footer = pdf_header_footer(_meta_tags(page))
    started = time.perf_counter()
    # Print shows the static twins only; without the interactive maps Chromium need not run
    # a dozen Leaflet maps with their GeoJSON before it can lay out the pages.
    copy = source.with_name(f".afdruk-{source.name}")
    try:
        write_text(copy, print_copy(page))
        with atomic_path(pdf_path) as tmp:
            # nothing left to draw after the load event: no scripted maps in the copy
            check = print_pdf(
                copy,
                tmp,
                header_template=header,
                footer_template=footer,
                paper=paper,
                settle_ms=100,
                browser=browser,
                number_toc=toc_page_numbers,
            )
    finally:
        copy.unlink(missing_ok=True)
    if check.requests:
        raise RemoteAssetError(
            "Het rapport probeerde bij het afdrukken iets te laden: "
            + ", ".join(check.requests[:5])
        )
    log.info("%s afgedrukt in %.1f s", Path(pdf_path).name, time.perf_counter() - started)
    return Path(pdf_path)

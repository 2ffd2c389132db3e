"""Report rendering: nbconvert template (no code, marked, offline), PDF and map book."""

from __future__ import annotations

import re

import folium
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from pypdf import PdfReader

from bcba import reference
from bcba.errors import ConfigError
from bcba.maps import interactive, mapbook, static
from bcba.maps.offline import RemoteAssetError, find_remote_resources, offline_map
from bcba.maps.palette import MARKING
from bcba.report import html as rhtml
from bcba.report.render import print_copy, render_html, render_pdf

META = {
    "gemeente": "GM0489",
    "gemeentenaam": "Barendrecht",
    "datum": "2025-03-03",
    "rapport_id": "R-TEST-001",
    "ontvanger": "Burgemeester",
}


def _display(obj) -> nbformat.NotebookNode:
    return new_code_cell(
        "bcba.call()",
        execution_count=3,
        outputs=[new_output("display_data", data={"text/html": obj.data, "text/plain": "<HTML>"})],
    )


def tiny_notebook(path, *, map_html: str | None = None):
    """A hand-built executed report: title page, two sections, a map and a table."""
    buurten = reference.buurten("GM0489").head(10)[["buurtnaam", "geometry"]]
    buurten = buurten.assign(score=np.arange(10.0), reden="veel signalen")
    base = {"gemeente": "GM0489"}
    m = interactive.buurt_choropleth(buurten, "score", titel="Drugs", basemap=base)
    fig = static.buurt_choropleth_figure(
        buurten, "score", titel="Drugs", basemap=base, figsize=(6, 4)
    )
    table = pd.DataFrame({"buurt": ["Centrum", "Noord"], "score": [1.25, 3.5], "n": [1200, 7]})
    cells = [
        _display(rhtml.titelpagina(**META)),
        new_markdown_cell("# Inleiding\n\nDeze analyse beschrijft de ondermijning."),
        new_code_cell("secret_code_line = 42", execution_count=1, outputs=[]),
        new_markdown_cell("# Drugs\n\n## Scores per buurt"),
        _display(rhtml.kaart(m, statisch=fig, hoogte=400, bijschrift="Score per buurt"))
        if map_html is None
        else new_code_cell(
            "m",
            execution_count=2,
            outputs=[
                new_output(
                    "execute_result",
                    data={"text/html": map_html, "text/plain": "<Map>"},
                    execution_count=2,
                )
            ],
        ),
        _display(rhtml.tabel(table, kolommen={"buurt": "Buurt", "score": "Score", "n": "Aantal"})),
    ]
    nb = new_notebook(cells=cells, metadata={"bcba": dict(META)})
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rapport")
    html_path = render_html(tiny_notebook(folder / "rapport.ipynb"), folder / "rapport.html")
    return html_path, html_path.read_text(encoding="utf-8")


def test_no_code_or_prompts_visible(rendered):
    _path, page = rendered
    assert "secret_code_line" not in page
    assert "bcba.call()" not in page
    for marker in ("jp-InputArea", "input_area", "jp-InputPrompt", "jp-OutputPrompt"):
        assert marker not in page, marker
    assert not re.search(r"(In|Out)(&nbsp;|\s)*\[\s*\d*\s*\]:", page)


def test_headings_marking_toc_and_metadata(rendered):
    path, page = rendered
    assert path.stat().st_mode & 0o777 == 0o600
    for heading in ("Inleiding", "Drugs", "Scores per buurt"):
        assert re.search(rf"<h[12][^>]*>{heading}", page), heading
    assert 'class="bcba-toc"' in page
    toc = page[page.index('class="bcba-toc"') :]
    toc = toc[: toc.index("</nav>")]
    assert re.findall(r">([^<]+)</a><span class=\"bcba-toc-dots\">", toc) == [
        "Inleiding",
        "Drugs",
        "Scores per buurt",
    ]
    # each entry has a page-number slot (filled in print)
    assert toc.count('class="bcba-toc-page"') == 3
    # the marking once: on the title page and in the running header (the footer names the
    # recipient and report); sections carry no marking of their own
    assert page.count('class="bcba-marking"') == 1
    body = page[page.index("<body") :]
    body = re.sub(r"<iframe.*?</iframe>", "", body, flags=re.S)  # maps carry their own
    assert body.count(MARKING) == 2  # title page banner and running header
    assert "R-TEST-001" in page and "Barendrecht (GM0489)" in page


def test_report_loads_nothing_remote(rendered):
    _path, page = rendered
    assert find_remote_resources(page) == []
    import html

    assert find_remote_resources(html.unescape(page)) == []  # inside the map iframes too
    assert "<script src" not in page and "require.js" not in page.lower()
    assert "mathjax" not in page.lower()
    assert 'class="bcba-static-map"' in page and "data:image/png;base64," in page


def test_print_css_swaps_interactive_for_static_map(rendered):
    _path, page = rendered
    css = page[page.index("@media print") :]
    assert re.search(r"\.bcba-interactive-map[^{]*\{\s*display:\s*none", css)
    assert re.search(r"\.bcba-static-map\s*\{\s*display:\s*block", css)


def test_missing_metadata_is_a_clear_error(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("# A")], metadata={"bcba": {"gemeente": "GM0489"}})
    nbformat.write(nb, tmp_path / "x.ipynb")
    with pytest.raises(ConfigError, match="rapport_id"):
        render_html(tmp_path / "x.ipynb", tmp_path / "x.html")


def test_plain_folium_map_is_refused_but_offline_map_display_is_fine(tmp_path):
    raw = folium.Map(tiles=None)._repr_html_()  # folium's own iframe pulls CDN scripts
    path = tiny_notebook(tmp_path / "raw.ipynb", map_html=raw)
    with pytest.raises(RemoteAssetError, match="kaart"):
        render_html(path, tmp_path / "raw.html")
    assert not (tmp_path / "raw.html").exists()
    shown = offline_map(gemeente="GM0489")._repr_html_()  # bcba maps display offline
    path = tiny_notebook(tmp_path / "ok.ipynb", map_html=shown)
    page = render_html(path, tmp_path / "ok.html").read_text(encoding="utf-8")
    assert "leaflet/leaflet.js (bcba/assets)" in page


@pytest.mark.browser
def test_pdf_has_marking_on_every_page(rendered, tmp_path):
    path, _page = rendered
    pdf = render_pdf(path, tmp_path / "rapport.pdf")
    reader = PdfReader(pdf)
    texts = [p.extract_text() for p in reader.pages]
    # title page with the contents, Inleiding, Drugs (map + table)
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert text.count(MARKING) == (2 if number == 1 else 1), (
            number
        )  # once; twice on the title page
        assert f"Pagina {number} van 3" in text
        assert "R-TEST-001" in text
    assert "Inhoud" in texts[0]
    # the contents carry the printed page of each section
    contents = texts[0][texts[0].index("Inhoud") :]
    assert re.search(r"Inleiding\s*2\b", contents) and re.search(r"Drugs\s*3\b", contents)
    assert "Inleiding" in texts[1] and "Drugs" in texts[2]
    assert "Centrum" in texts[2] and "1.200" in texts[2]


def test_mapbook_one_page_per_map_with_marking(tmp_path):
    buurten = reference.buurten("GM0489").head(6)[["geometry"]].assign(score=np.arange(6.0))
    figs = [
        (
            static.buurt_choropleth_figure(
                buurten, "score", titel=t, basemap={"gemeente": "GM0489"}, figsize=(6, 4)
            ),
            t,
        )
        for t in ("Drugs", "Vastgoed")
    ]
    out = mapbook.write_mapbook(
        figs,
        tmp_path / "kaartenboek.pdf",
        gemeente="Barendrecht",
        rapport_id="R-1",
        ontvanger="Burgemeester",
        dpi=60,
    )
    assert out.stat().st_mode & 0o777 == 0o600
    reader = PdfReader(out)
    assert len(reader.pages) == 2
    for number, (page, (_f, title)) in enumerate(zip(reader.pages, figs, strict=True), start=1):
        text = page.extract_text()
        assert text.count(MARKING) >= 2
        assert title in text and f"Pagina {number} van 2" in text and "R-1" in text
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert width > height  # landscape
        assert width == pytest.approx(11.69 * 72, abs=1)
    # a map already rendered to PNG (as the report does) gives the same page
    png = static.figure_to_png_bytes(figs[0][0], dpi=60)
    again = mapbook.write_mapbook(
        [(png, "Drugs")],
        tmp_path / "uit_png.pdf",
        gemeente="Barendrecht",
        rapport_id="R-1",
        ontvanger="Burgemeester",
    )
    assert "Drugs" in PdfReader(again).pages[0].extract_text()
    with pytest.raises(ConfigError):
        mapbook.write_mapbook(
            [], tmp_path / "leeg.pdf", gemeente="x", rapport_id="x", ontvanger="x"
        )


def test_print_copy_drops_exactly_the_interactive_maps():
    page_inside = "<html><body><div>kaart</div><p>O'Brien & co</p></body></html>"
    one = rhtml.kaart_html(page_inside, statisch=b"png1", bijschrift="Eerste")
    two = rhtml.kaart_html(page_inside, statisch=b"png2", bijschrift="Tweede")
    report = f"<h1>Rapport</h1>{one}<p>tussen</p>{two}<p>einde</p>"
    printed = print_copy(report)
    assert "<iframe" not in printed and "kaart</div>" not in printed
    assert printed.count('class="bcba-static-map"') == 2
    assert "<p>tussen</p>" in printed and "<p>einde</p>" in printed
    assert "Eerste" in printed and "Tweede" in printed
    assert len(report) - len(printed) == 2 * len(
        re.search(r'<div class="bcba-interactive-map">.*?</iframe></div>', one, re.S).group()
    )


def test_print_copy_drops_the_maps_nbconvert_rendered(rendered):
    # nbconvert re-serialises the iframe (double quotes, other attribute order); the print
    # copy must still lose the whole interactive map and keep its static twin
    _path, page = rendered
    assert page.count("<iframe") == 1
    printed = print_copy(page)
    assert "<iframe" not in printed and 'bcba-interactive-map"><' not in printed
    assert printed.count('class="bcba-static-map"') == page.count('class="bcba-static-map"') == 1
    assert len(printed) < len(page) / 2  # the map page (Leaflet and GeoJSON) is the bulk
    assert "Scores per buurt" in printed and printed.endswith(page[-200:])

"""Maps and the report in a real headless Chromium with every network request blocked."""

from __future__ import annotations

import io

import matplotlib.image as mpimg
import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from bcba import reference
from bcba.maps import interactive, static
from bcba.report import html as rhtml
from bcba.report.browser import open_offline
from bcba.report.render import render_html

pytestmark = pytest.mark.browser

META = {
    "gemeente": "GM0489",
    "gemeentenaam": "Barendrecht",
    "datum": "2025-03-03",
    "rapport_id": "R-BROWSER",
    "ontvanger": "Burgemeester",
}


@pytest.fixture(scope="module")
def buurten():
    frame = reference.buurten("GM0489").head(15)[["buurtnaam", "geometry"]]
    return frame.assign(score=np.arange(15.0), reden="veel signalen")


def _pixel_spread(png_path) -> tuple[float, int]:
    image = mpimg.imread(io.BytesIO(png_path.read_bytes()), format="png")[..., :3]
    colours = np.unique((image.reshape(-1, 3) * 255).astype(np.uint8), axis=0)
    return float(image.std()), len(colours)


def test_standalone_map_offline(buurten, tmp_path):
    m = interactive.buurt_choropleth(
        buurten, "score", titel="Drugs", basemap={"gemeente": "GM0489"}
    )
    path = interactive.save_map(m, tmp_path / "kaart.html")
    check = open_offline(path, screenshot=tmp_path / "kaart.png")
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    assert check.counts[".leaflet-pane"] > 0
    # 15 buurten + outline + wijk borders are drawn as SVG paths
    assert check.counts[".leaflet-overlay-pane path"] >= 15
    assert len(check.map_zooms) == 1 and check.map_zooms[0] >= 11
    spread, n_colours = _pixel_spread(check.screenshot)
    assert spread > 0.05 and n_colours > 20


def test_report_offline_with_map_in_iframe(buurten, tmp_path):
    base = {"gemeente": "GM0489"}
    m = interactive.buurt_choropleth(buurten, "score", titel="Drugs", basemap=base)
    fig = static.buurt_choropleth_figure(
        buurten, "score", titel="Drugs", basemap=base, figsize=(6, 4)
    )
    table = rhtml.tabel(buurten.drop(columns="geometry").head(3), kolommen={"buurtnaam": "Buurt"})
    cells = [
        new_markdown_cell("# Drugs\n\nTekst."),
        *(
            new_code_cell(
                "x",
                execution_count=i,
                outputs=[
                    new_output("display_data", data={"text/html": obj.data, "text/plain": ""})
                ],
            )
            for i, obj in enumerate((rhtml.kaart(m, statisch=fig), table), start=1)
        ),
    ]
    nbformat.write(new_notebook(cells=cells, metadata={"bcba": META}), tmp_path / "r.ipynb")
    page = render_html(tmp_path / "r.ipynb", tmp_path / "r.html")
    check = open_offline(
        page,
        screenshot=tmp_path / "r.png",
        full_page=True,
        selectors=(".leaflet-pane", ".leaflet-overlay-pane path", ".bcba-static-map", "h1"),
    )
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    assert check.counts[".leaflet-pane"] > 0
    assert check.counts[".leaflet-overlay-pane path"] >= 15
    assert check.counts["h1"] == 1
    assert len(check.map_zooms) == 1 and check.map_zooms[0] >= 11  # fitted to the municipality
    spread, n_colours = _pixel_spread(check.screenshot)
    assert spread > 0.05 and n_colours > 20
    # in print the static twin replaces the interactive map
    printed = open_offline(
        page,
        print_media=True,
        screenshot=tmp_path / "p.png",
        full_page=True,
        selectors=(".bcba-static-map:visible", "iframe:visible"),
    )
    assert printed.counts == {".bcba-static-map:visible": 1, "iframe:visible": 0}


def test_background_browser_prints_several_pages_and_reports_a_missing_chromium(
    tmp_path, monkeypatch
):
    from pypdf import PdfReader

    from bcba.report import browser as chromium

    page = tmp_path / "p.html"
    page.write_text("<html><body><h1>STRIKT VERTROUWELIJK</h1></body></html>", encoding="utf-8")
    with chromium.BackgroundBrowser() as shared:
        for name in ("een.pdf", "twee.pdf"):
            check = chromium.print_pdf(
                page,
                tmp_path / name,
                header_template="<span></span>",
                footer_template="<span></span>",
                settle_ms=0,
                browser=shared,
            )
            assert check.ok
            assert "STRIKT VERTROUWELIJK" in PdfReader(tmp_path / name).pages[0].extract_text()
    with pytest.raises(chromium.BcbaError, match="gesloten"):
        shared.run(lambda context: None)
    monkeypatch.setattr(chromium, "CHROMIUM", tmp_path / "geen-chromium")
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    with (
        chromium.BackgroundBrowser() as missing,
        pytest.raises(chromium.BrowserMissingError, match="apt-get install -y chromium"),
    ):
        missing.run(lambda context: None)

"""The presentation: one offline HTML slide deck from a finished run folder."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from deck_fixtures import BEVINDINGEN, MAPS, SUMMARY, make_run

from bcba.cli import main
from bcba.errors import ConfigError, MissingInputError
from bcba.report import deck

SLIDE = re.compile(r'<section class="dia [^"]*" id="([^"]+)"')
DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture
def run(tmp_path) -> Path:
    return make_run(tmp_path / "GM0489_Barendrecht" / "2026-12-04_0228")


@pytest.fixture
def built(run) -> tuple[Path, str]:
    path = deck.build_presentation(run)
    return path, path.read_text(encoding="utf-8")


def _slides(page: str) -> list[str]:
    """The HTML of each slide, in order."""
    return re.split(r'(?=<section class="dia )', page)[1:]


def test_deck_is_written_beside_the_report_with_every_slide_in_order(built):
    path, page = built
    assert path.name == "presentatie_GM0489.html"
    # by hand: title, 3 findings, total map, drugs (+ its risk map), mensenhandel,
    # risk locations, one action slide (3 + 2 rows <= 8), closing
    assert SLIDE.findall(page) == [
        "titel",
        "bevinding-1",
        "bevinding-2",
        "bevinding-3",
        "totaal",
        "thema-drugs",
        "risicokaart-drugs",
        "thema-mensenhandel",
        "risicolocaties",
        "aanpak-1",
        "slot",
    ]


def test_deck_of_a_cluster_run(tmp_path):
    """A cluster B-CBA (GM0531+GM0642) gets its deck too; a malformed code is refused."""
    summary = {**SUMMARY, "gemeente": "GM0531+GM0642", "gemeentenaam": "A en B"}
    folder = make_run(tmp_path / "GM0531+GM0642_A_en_B" / "2026-12-04_0228", summary=summary)
    assert deck.build_presentation(folder).name == "presentatie_GM0531+GM0642.html"
    bad = make_run(tmp_path / "x" / "2026-12-04_0229", summary={**SUMMARY, "gemeente": "GM05+x"})
    with pytest.raises(ConfigError, match="ongeldige gemeentecode"):
        deck.build_presentation(bad)


def test_every_slide_carries_marking_report_id_recipient_demo_notice_and_counter(built):
    _, page = built
    slides = _slides(page)
    for n, slide in enumerate(slides, start=1):
        assert '<span class="markering">STRIKT VERTROUWELIJK</span>' in slide
        assert "Rapport GM0489-20261204-TXBP4T · Ontvanger: Burgemeester" in slide
        assert "DEMO – synthetische gegevens" in slide
        assert f'<span class="teller">{n} / {len(slides)}</span>' in slide
    title = slides[0]
    assert "4 december 2026" in title and "1 januari 2024 t/m 31 december 2025" in title


def test_without_demo_flag_no_demo_notice(tmp_path):
    folder = make_run(tmp_path / "run", summary={**SUMMARY, "demo": False})
    page = deck.build_presentation(folder).read_text(encoding="utf-8")
    assert "DEMO" not in page


def test_maps_are_embedded_byte_for_byte_one_per_map_slide(built, run):
    _, page = built
    embedded = [base64.b64decode(m) for m in DATA_URI.findall(page)]
    files = {name: (run / "kaarten" / f"{name}.png").read_bytes() for name in MAPS}
    # total, drugs, risk map drugs, mensenhandel, risk locations: in slide order
    assert embedded == [
        files["totaalscore"],
        files["score_drugs"],
        files["risicokaart_drugs"],
        files["score_mensenhandel"],
        files["risicolocaties"],
    ]


def test_theme_slide_shows_its_top_buurten_concentrations_and_counts(built):
    _, page = built
    slide = next(s for s in _slides(page) if 'id="thema-drugs"' in s)
    assert re.search(
        r"<ol><li>Oranjewijk 1</li><li>Nieuweland 3</li><li>Meerwede Zuidwest</li></ol>", slide
    )
    assert "in 4 blokken van 100 m" in slide
    assert "<dd>361</dd>" in slide and "<dd>0</dd>" in slide


def test_action_list_has_every_step_of_every_theme(built):
    _, page = built
    slide = next(s for s in _slides(page) if 'id="aanpak-1"' in s)
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", slide)
    expected = [
        (s["stap"], s["instrument"], s["partner"]) for t in SUMMARY["themas"] for s in t["aanpak"]
    ]
    assert rows == expected


def test_action_slides_never_split_a_theme():
    themes = [
        {"label": f"T{i}", "aanpak": [{"stap": "s", "instrument": "i", "partner": "p"}] * n}
        for i, n in enumerate([3, 3, 3, 9, 1])
    ]
    slides = deck.action_slides(themes, per_slide=8)
    # by hand: [3+3] [3] [9] [1]  (3+3+3 > 8; 9 alone; the 1 does not join the 9)
    groups = [re.findall(r'<tr class="groep"><td colspan="3">(T\d)</td>', s.body) for s in slides]
    assert groups == [["T0", "T1"], ["T2"], ["T3"], ["T4"]]
    assert [s.id for s in slides] == ["aanpak-1", "aanpak-2", "aanpak-3", "aanpak-4"]


def test_findings_point_to_their_slides_and_carry_no_markup(built):
    _, page = built
    slides = _slides(page)
    first, second, third = slides[1:4]
    assert '<a class="verwijzing" href="#totaal">→ kaart totaalscore</a>' in first
    assert '<a class="verwijzing" href="#thema-drugs">→ Drugs (incl. hennep)</a>' in second
    # no slide for networks: the pointer stays as text, not as a dead link
    assert '<span class="verwijzing">→ netwerken</span>' in third
    assert "<b>" not in third and "<script>alert" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in third  # text that looks like a tag stays text
    assert len(BEVINDINGEN) == 3


def test_nothing_in_the_deck_comes_from_elsewhere(built):
    from bcba.maps.offline import find_remote_resources

    _, page = built
    assert find_remote_resources(page) == []
    for forbidden in ("http:", "https:", "//cdn", "@import", "@font-face", "<link", 'src="http'):
        assert forbidden not in page, forbidden
    assert len(re.findall(r"<script\b", page)) == 1  # the deck's own navigation only


def test_presentation_is_recorded_in_the_audit_log(built, run):
    from bcba import audit

    path, _ = built
    entry = audit.read_entries()[-1]
    assert entry["command"] == "presentatie"
    assert entry["parameters"] == {
        "gemeente": "GM0489",
        "rapport_id": "GM0489-20261204-TXBP4T",
        "versie": "presentatie",
        "ontvanger": "Burgemeester",
        "publiek": "Burgemeester",
        # what the B-CBA covers (samenvatting.json of a run before 0.3.0: the municipality)
        "reikwijdte": "Barendrecht",
    }
    assert entry["outputs"] == [{"pad": str(path), "sha256": audit.sha256_file(path)}]
    inputs = {Path(i["pad"]).name for i in entry["inputs"]}
    assert inputs == {"samenvatting.json", *(f"{m}.png" for m in MAPS)}
    assert audit.verify().ok


def test_folder_that_is_not_a_completed_run_is_refused(tmp_path, run):
    with pytest.raises(MissingInputError, match="geen voltooide run"):
        deck.build_presentation(tmp_path)
    (run / "samenvatting.json").unlink()
    with pytest.raises(MissingInputError, match="samenvatting.json ontbreekt"):
        deck.build_presentation(run)


def test_a_map_outside_the_run_folder_or_not_a_png_is_refused(tmp_path):
    outside = {**SUMMARY, "totaal": {"kaart": "../../geheim.png", "top": []}}
    folder = make_run(tmp_path / "a" / "run", summary=outside)
    (tmp_path / "geheim.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ConfigError, match="buiten de runmap"):
        deck.build_presentation(folder)
    folder = make_run(tmp_path / "b")
    (folder / "kaarten" / "score_drugs.png").write_text("<svg/>")
    with pytest.raises(ConfigError, match="geen PNG"):
        deck.build_presentation(folder)
    assert not (folder / "presentatie_GM0489.html").exists()


def test_cli_makes_the_presentation_and_refuses_an_audience_without_hoofdlijnen(run, capsys):
    assert main(["presentatie", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Presentatie (STRIKT VERTROUWELIJK)" in out and "presentatie_GM0489.html" in out
    assert main(["presentatie", "--run", str(run), "--voor", "besloten commissie"]) == 2
    assert "--voor hoort bij --hoofdlijnen" in capsys.readouterr().err


def test_cli_takes_the_latest_completed_run_of_a_municipality(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BCBA_HOME", str(tmp_path))
    base = tmp_path / "reports" / "GM0489_Barendrecht"
    assert main(["presentatie", "--gemeente", "Barendrecht"]) == 2
    assert "Geen voltooide run van Barendrecht" in capsys.readouterr().err
    older = make_run(base / "2026-01-01_0900")
    (older / "bcba-run.json").write_text(json.dumps({"gestart": "2026-01-01T09:00"}))
    newer = make_run(base / "2026-12-04_0228")
    (newer / "bcba-run.json").write_text(json.dumps({"gestart": "2026-12-04T02:28"}))
    assert main(["presentatie", "--gemeente", "GM0489"]) == 0
    assert (newer / "presentatie_GM0489.html").exists()
    assert not (older / "presentatie_GM0489.html").exists()


# --------------------------------------------------------------------------- in Chromium
_IMAGES_JS = """async () => {
  const images = Array.from(document.images);
  await Promise.all(images.map(i => i.decode().catch(() => null)));
  return images.map(i => [i.closest('section').id, i.naturalWidth, i.naturalHeight]);
}"""


@pytest.mark.browser
def test_deck_opens_offline_and_every_map_is_drawn(built, run):
    from PIL import Image

    from bcba.report.browser import open_offline

    path, _ = built
    check = open_offline(path, selectors=("section.dia",), evaluate=_IMAGES_JS, settle_ms=200)
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    assert check.counts["section.dia"] == 11
    sizes = {}
    for name in MAPS:
        with Image.open(run / "kaarten" / f"{name}.png") as image:
            sizes[name] = image.size
    drawn = {slide: (w, h) for slide, w, h in check.evaluated}
    assert drawn == {
        "totaal": sizes["totaalscore"],
        "thema-drugs": sizes["score_drugs"],
        "risicokaart-drugs": sizes["risicokaart_drugs"],
        "thema-mensenhandel": sizes["score_mensenhandel"],
        "risicolocaties": sizes["risicolocaties"],
    }


_VISIBLE_JS = """() => Array.from(document.querySelectorAll('section.dia'))
    .filter(s => getComputedStyle(s).display !== 'none').map(s => s.id)"""


@pytest.fixture
def page_of(tmp_path):
    """Open a local page at 1280 x 720 with every other request blocked; yields the page."""
    from bcba.report.browser import launch

    contexts = []

    def open_page(path: Path, fragment: str = ""):
        context = stack.enter_context(launch())
        url = path.resolve().as_uri()
        blocked: list[str] = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.split("#")[0] == url
                else (blocked.append(route.request.url), route.abort())
            ),
        )
        page = context.new_page()
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(url + fragment, wait_until="load")
        contexts.append(blocked)
        return page

    import contextlib

    with contextlib.ExitStack() as stack:
        yield open_page
    assert all(blocked == [] for blocked in contexts)


@pytest.mark.browser
def test_keyboard_moves_the_one_visible_slide(built, page_of):
    path, page_html = built
    ids = SLIDE.findall(page_html)
    page = page_of(path)
    assert page.evaluate(_VISIBLE_JS) == ["titel"]
    steps = [
        ("ArrowRight", 1),
        ("PageDown", 2),
        ("Space", 3),
        ("ArrowDown", 4),
        ("ArrowLeft", 3),
        ("PageUp", 2),
        ("Shift+Space", 1),
        ("ArrowUp", 0),
        ("ArrowLeft", 0),  # stays on the first
        ("End", len(ids) - 1),
        ("ArrowRight", len(ids) - 1),  # stays on the last
        ("Home", 0),
    ]
    for key, expected in steps:
        page.keyboard.press(key)
        assert page.evaluate(_VISIBLE_JS) == [ids[expected]], key
    # the slide fills the screen
    box = page.locator("section.dia.actief").bounding_box()
    assert (box["width"], box["height"]) == (1280, 720)


@pytest.mark.browser
def test_a_finding_link_and_an_anchor_open_their_slide(built, page_of):
    path, _ = built
    page = page_of(path, "#thema-mensenhandel")
    assert page.evaluate(_VISIBLE_JS) == ["thema-mensenhandel"]
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.locator("section.dia.actief a.verwijzing").click()
    assert page.evaluate(_VISIBLE_JS) == ["totaal"]


@pytest.mark.browser
def test_printed_deck_has_one_landscape_page_per_slide(built, page_of):
    from pypdf import PdfReader

    path, page_html = built
    page = page_of(path)
    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) == len(SLIDE.findall(page_html))
    for number, p in enumerate(pages, start=1):
        width, height = float(p.mediabox.width), float(p.mediabox.height)
        assert width == pytest.approx(842, abs=2) and height == pytest.approx(595, abs=2)
        text = p.extract_text()
        assert "STRIKT VERTROUWELIJK" in text and f"{number} / {len(pages)}" in text


def test_maak_with_both_flags_makes_both_versions_after_the_run(run, tmp_path, monkeypatch, capsys):
    from bcba import pipeline

    def fake_run_report(cfg, *, pdf, encrypt_for):
        return pipeline.ReportResult(output_dir=run, html=run / "bcba_GM0489.html", notebook=run)

    monkeypatch.setattr(pipeline, "run_report", fake_run_report)
    raw = tmp_path / "raw"
    raw.mkdir()
    argv = ["maak", "--gemeente", "GM0489", "--data-dir", str(raw), "--out", str(run)]
    assert main([*argv, "--presentatie", "--hoofdlijnen", "--voor", "college", "--geen-pdf"]) == 0
    out = capsys.readouterr().out
    assert "Presentatie (STRIKT VERTROUWELIJK)" in out
    assert "Hoofdlijnen (VERTROUWELIJK – HOOFDLIJNEN, voor het college)" in out
    for name in (
        "presentatie_GM0489.html",
        "bcba_GM0489_hoofdlijnen.html",
        "presentatie_GM0489_hoofdlijnen.html",
    ):
        assert (run / name).exists(), name
    # the mayor's deck is for the report's recipient, whatever --voor says
    assert "voor het college" not in (run / "presentatie_GM0489.html").read_text("utf-8")


def test_maak_refuses_a_bad_audience_before_the_run(tmp_path, monkeypatch, capsys):
    from bcba import pipeline

    monkeypatch.setattr(pipeline, "run_report", lambda *a, **k: pytest.fail("run started"))
    raw = tmp_path / "raw"
    raw.mkdir()
    argv = ["maak", "--gemeente", "GM0489", "--data-dir", str(raw), "--out", str(tmp_path / "o")]
    assert main([*argv, "--hoofdlijnen", "--voor", "commissie <b>"]) == 2
    assert main([*argv, "--voor", "college"]) == 2
    assert "--voor" in capsys.readouterr().err

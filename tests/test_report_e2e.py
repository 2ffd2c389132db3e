"""The whole B-CBA end to end: papermill report notebook, HTML, PDF, map book, result files,
and the privacy guarantee that no planted person appears in any output."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bcba.io import read_csv
from bcba.leakcheck import persons_from_planted, scan_outputs
from bcba.maps import palette
from bcba.maps.offline import find_remote_resources
from bcba.pipeline import make_run_config, run_report

pytestmark = pytest.mark.slow

SECTIONS = [
    "Samenvatting",
    "In één oogopslag",
    "Beeld per thema",
    "Risicolocaties en signalen",
    "Concentraties en risicokaart",
    "Netwerken",
    "Aanpak per thema",
    "Verantwoording",
]
ANNEX_SECTIONS = [
    "Bijlage A. Methode en begrippen",
    "Bijlage B. Scores per buurt",
    "Bijlage C. Risicomodel en validatie",
    "Bijlage D. Hotspots",
    "Bijlage E. Gelegenheidsstructuren",
    "Bijlage F. Risicolocaties",
    "Bijlage G. Signalen",
    "Bijlage H. Netwerken",
    "Bijlage I. Toets op vertekening",
    "Bijlage J. Datakwaliteit",
    "Bijlage K. Herkomst",
]
#: What must never reach a reader: flag ids, joined address keys, node and signal ids.
RAW_CODES = re.compile(
    r"\b(?:KVK|KAD|NET)_[A-Z_]{3,}|\b\d{4}[A-Z]{2}\|\d|\bSIG-[0-9A-F]{6,}|\bK-\d{8}\b"
    r"|\bP-[0-9a-f]{8,}|\bN\d{4}\b|\bWK\d{6}\b|\bBU\d{8}\b|\bE\d{4}N\d{4}\b"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory, generate_raw):
    """One full run (with PDF) on small generated data for Barendrecht."""
    home = tmp_path_factory.mktemp("project")
    raw = generate_raw("GM0489", 7)
    mp = pytest.MonkeyPatch()
    mp.setenv("BCBA_HOME", str(home))
    cfg = make_run_config(
        gemeente="GM0489",
        data_dir=raw,
        output_dir=home / "reports" / "run",
        periode=("2024-01-01", "2025-12-31"),
        ontvanger="Burgemeester Testgemeente",
    )
    result = run_report(cfg, pdf=True)
    yield result, raw, home, cfg
    mp.undo()


def test_report_files_exist(report):
    result, _, _, cfg = report
    assert result.html.name == "bcba_GM0489.html"
    assert result.pdf is not None and result.pdf.exists()
    assert (result.output_dir / "kaartenboek.pdf").exists()
    assert result.notebook.exists()
    for name in (
        "scores_buurt.csv",
        "risicolocaties.csv",
        "signalen.csv",
        "risico_cellen.gpkg",
        "rtm_factoren.csv",
        "validatie.csv",
        "hotspots.gpkg",
    ):
        assert (result.output_dir / name).exists(), name
    assert (result.output_dir / "netwerken" / "netwerken.graphml").exists()
    for path in result.output_dir.rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_html_has_sections_marking_and_no_code(report):
    result, _, _, cfg = report
    page = result.html.read_text(encoding="utf-8")
    annex = result.annex_html.read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in page, heading
        assert f">{heading}<" not in annex, heading
    for heading in ANNEX_SECTIONS:
        assert heading in annex, heading
        assert heading not in page, heading
    for document in (page, annex):
        assert "STRIKT VERTROUWELIJK" in document
        assert "DEMO – synthetische gegevens" in document  # generated data say so
        assert cfg.rapport_id in document and "Burgemeester Testgemeente" in document
    for code_marker in ("jp-InputArea", "input_area", "In&nbsp;[", "import bcba", "open_bcba("):
        assert code_marker not in page
    # nothing is fetched from another host: http://, https:// and protocol-relative //
    # references alike, in the page and inside the maps' iframes (srcdoc is HTML-escaped)
    for document in (page, annex):
        assert "leaflet" in document.lower()
        assert find_remote_resources(document) == []
        assert find_remote_resources(htmllib.unescape(document)) == []


def test_pdf_marking_and_demo_notice_on_every_page(report):
    result, *_ = report
    for pdf in (result.pdf, result.annex_pdf):
        reader = PdfReader(pdf)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text()
            assert "STRIKT VERTROUWELIJK" in text, f"{pdf.name} page {number} lacks the marking"
            assert "DEMO – synthetische gegevens" in text, f"{pdf.name} page {number}"
            assert f"Pagina {number} van {len(reader.pages)}" in text
            assert RAW_CODES.findall(text) == [], f"{pdf.name} page {number}"
    # the PDF is printed without the interactive maps: each one's static twin is printed
    for html, pdf in ((result.html, result.pdf), (result.annex_html, result.annex_pdf)):
        n_maps = html.read_text(encoding="utf-8").count("<iframe")
        assert sum(len(page.images) for page in PdfReader(pdf).pages) >= n_maps, pdf.name
    mapbook = PdfReader(result.output_dir / "kaartenboek.pdf")
    assert len(mapbook.pages) >= 5
    assert all("STRIKT VERTROUWELIJK" in p.extract_text() for p in mapbook.pages)


def _reader_text(document: str) -> str:
    """What a reader sees of a page: the text outside scripts, styles and map iframes."""
    body = re.sub(r"<iframe\b.*?</iframe>", " ", document, flags=re.S)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


def test_reader_sees_no_raw_codes(report):
    result, *_ = report
    for path in (result.html, result.annex_html):
        text = _reader_text(path.read_text(encoding="utf-8"))
        assert len(text) > 10_000, path.name  # the whole document, not an empty shell
        assert RAW_CODES.findall(text) == [], path.name
    # (the printed PDFs are checked page by page in test_pdf_marking_and_demo_notice_...)


def _bag_addresses(raw: Path) -> dict[str, str]:
    """adres_id -> the address as the reader should see it ("Dorpsstraat 12a-2, 2991 AB"),
    written out here from the raw BAG extract (not with bcba.labels)."""
    import pandas as pd

    bag = pd.read_csv(raw / "bag_adressen.csv", sep=";", dtype=str, keep_default_na=False)
    out = {}
    for row in bag.itertuples(index=False):
        number = row.huisnummer + row.huisletter.lower()
        number += f"-{row.toevoeging}" if row.toevoeging else ""
        out[row.adresseerbaar_object_id] = (
            f"{row.straat} {number}, {row.postcode[:4]} {row.postcode[4:]}"
        )
    return out


def test_risk_locations_are_listed_by_street_address(report):
    result, raw, *_ = report
    annex = result.annex_html.read_text(encoding="utf-8")
    start = annex.rindex("Bijlage F. Risicolocaties")
    section = annex[start : annex.index("Bijlage G. Signalen", start)]
    first_cells = [htmllib.unescape(c) for c in re.findall(r"<tr><td>([^<]*)</td>", section)]
    listed = [c for c in first_cells if re.search(r", \d{4} [A-Z]{2}$", c)]
    assert len(listed) >= 20
    # the annex lists the first risk locations of the result table, each by its BAG address
    bag = _bag_addresses(raw)
    table = read_csv(result.output_dir / "risicolocaties.csv", dtype={"adres_id": str})
    expected = [bag[a] for a in table["adres_id"].head(len(listed))]
    assert sorted(listed) == sorted(expected)


def test_mayors_report_is_short_and_every_page_numbered(report):
    result, *_ = report
    pages = len(PdfReader(result.pdf).pages)
    assert 8 <= pages <= 16, pages  # issue 14: at most 16 A4 pages for the mayor (demo: 13-14)
    assert len(PdfReader(result.annex_pdf).pages) > pages


def _only(url: str, blocked: list[str]):
    """A Playwright route handler that lets only ``url`` through and records the rest.
    (Playwright passes the request as a second argument to a handler that takes one, so
    the handler closes over ``url`` instead of taking it as a default argument.)"""

    def handle(route):
        if route.request.url == url:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("blockedbyclient")

    return handle


#: Every visible table's width, and the width of the box it sits in, in print layout.
_TABLE_WIDTHS_JS = """() => Array.from(document.querySelectorAll('table'))
    .filter(t => t.offsetParent !== null)
    .map(t => ({scroll: t.scrollWidth, box: t.parentElement.clientWidth,
                right: t.getBoundingClientRect().right,
                page: document.documentElement.clientWidth,
                text: t.innerText.slice(0, 60)}))"""
#: A4 portrait minus the 16 mm side margins of templates/bcba/bcba.css, in CSS pixels
_A4_TEXT_WIDTH_PX = round((210 - 2 * 16) / 25.4 * 96)


@pytest.mark.browser
def test_no_table_runs_off_the_printed_page(report):
    from bcba.report.browser import launch

    result, *_ = report
    for document in (result.html, result.annex_html):
        url = document.resolve().as_uri()
        with launch() as context:
            page = context.new_page()
            context.route("**/*", _only(url, []))
            page.emulate_media(media="print")
            page.set_viewport_size({"width": _A4_TEXT_WIDTH_PX, "height": 1000})
            page.goto(url, wait_until="load")
            tables = page.evaluate(_TABLE_WIDTHS_JS)
        assert len(tables) >= 10, document.name
        for table in tables:
            assert table["scroll"] <= table["box"] + 1, (document.name, table)
            assert table["right"] <= table["page"] + 1, (document.name, table)


def _business_dates(raw: Path) -> set[str]:
    """Every date of a company, transaction or event in the raw extracts (ISO)."""
    import pandas as pd

    found: set[str] = set()
    for name, columns in {
        "kvk_vestigingen.csv": ["datum_inschrijving", "datum_uitschrijving"],
        "kvk_functionarissen.csv": ["datum_aanvang", "datum_einde"],
        "kadaster_transacties.csv": ["datum"],
    }.items():
        frame = pd.read_csv(raw / name, sep=";", dtype=str)
        for column in columns:
            values = pd.to_datetime(frame[column], format="%d-%m-%Y", errors="coerce").dropna()
            found |= set(values.dt.strftime("%Y-%m-%d"))
    return found


def test_no_planted_person_in_any_output(report):
    result, raw, home, cfg = report
    names, dates = persons_from_planted(raw / "planted.json")
    assert len(names) > 100
    # A birth date that is also the date of a registration, transaction or event cannot be told
    # apart from it (and identifies nobody on its own); all other birth dates must be absent.
    business = _business_dates(raw)
    dates = [d for d in dates if d and d not in business]
    assert len(dates) > 100
    targets = [result.output_dir, home / "data" / "processed", Path(home / "audit.jsonl")]
    hits = scan_outputs([t for t in targets if t.exists()], names, dates)
    assert hits == [], [str(h) for h in hits[:5]]


def test_audit_log_records_the_run(report):
    from bcba import audit

    result, *_ = report
    entries = audit.read_entries()
    runs = [e for e in entries if e["command"] == "run"]
    assert runs, "no audit entry for the run"
    assert any(o.get("pad", "").endswith("bcba_GM0489.html") for o in runs[-1]["outputs"])
    assert audit.verify().ok


def test_planted_structures_surface_in_results(report):

    result, raw, *_ = report
    planted = json.loads((raw / "planted.json").read_text(encoding="utf-8"))
    factors = read_csv(result.output_dir / "rtm_factoren.csv")
    selected = set(factors.loc[factors["geselecteerd"], "factor"])
    assert {"opslag", "autowasstraat"} & selected
    scores = read_csv(result.output_dir / "scores_buurt.csv", dtype={"buurtcode": str})
    drugs = [b["buurtcode"] for b in planted["buurten_hoog_risico"] if b["thema"] == "drugs"]
    top = scores.sort_values("rang_drugs").head(max(1, len(scores) // 10))["buurtcode"]
    assert set(drugs) & set(top)


#: Per map: every feature with a class (drawn as itself, or inside a drawn marker cluster),
#: and for each the colour it is drawn with (the SVG fill; for a clustered marker its fill
#: option, since the cluster icon stands in for it).
_MAP_FEATURES_JS = """() => {
    const maps = Object.keys(window)
        .filter(k => k.startsWith('map_') && window[k] instanceof L.Map).map(k => window[k]);
    const all = new Set();
    const collect = l => {
        if (l.feature && l.feature.properties && '_klasse' in l.feature.properties) all.add(l);
        if (l.getLayers) { l.getLayers().forEach(collect); }
    };
    const drawn = new Set();
    let clusters = 0, clustered = 0;
    maps.forEach(m => m.eachLayer(l => {
        collect(l);
        if (L.MarkerCluster && l instanceof L.MarkerCluster) {
            clusters += 1; clustered += l.getChildCount(); return;
        }
        if (all.has(l) || (l.feature && l.feature.properties && '_klasse' in l.feature.properties)) {
            drawn.add(l);
        }
    }));
    const features = [];
    all.forEach(l => {
        const el = drawn.has(l) ? (l.getElement ? l.getElement() : l._path) : null;
        features.push({klasse: l.feature.properties._klasse,
                       fill: el ? el.getAttribute('fill') : null,
                       option: l.options ? (l.options.fillColor || null) : null,
                       drawn: drawn.has(l)});
    });
    return {maps: maps.length, features, clusters, clustered,
            cluster_icons: document.querySelectorAll('.marker-cluster').length};
}"""


def _score_label_lower(label: str) -> float | None:
    """The lower bound of a score class label such as "-0,6 – 1,5" (None for other labels)."""
    match = re.fullmatch(r"(-?\d+(?:,\d+)?) – -?\d+(?:,\d+)?", label)
    return float(match.group(1).replace(",", ".")) if match else None


def _expected_colours(classes: set[str]) -> dict[str, str]:
    """The palette's colour of each class label, worked out from bcba.maps.palette alone:
    Gi* classes, risk classes and flag labels by name; score classes by their rank."""
    named = {
        **palette.GISTAR_CLASSES,
        **dict(palette.risk_classes().legend_entries()),
        **{label: colour for label, colour in palette.FLAGS.values()},
    }
    scores = sorted((c for c in classes if c not in named), key=_score_label_lower)
    assert all(_score_label_lower(c) is not None for c in scores), scores
    expected = {c: named[c] for c in classes if c in named}
    if scores:  # one class per colour of the sequential scheme, lowest first
        assert len(scores) in palette.SCORE_COLOURS, scores
        expected.update(zip(scores, palette.SCORE_COLOURS[len(scores)], strict=True))
    return expected


@pytest.mark.browser
def test_report_renders_offline_in_chromium(report, tmp_path):
    from bcba.report.browser import launch, open_offline

    result, *_ = report
    check = open_offline(
        result.html,
        screenshot=tmp_path / "rapport.png",
        selectors=(".leaflet-container", ".leaflet-overlay-pane path"),
        settle_ms=1000,
    )
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    n_maps = result.html.read_text(encoding="utf-8").count("<iframe")
    assert n_maps >= 10
    assert check.counts[".leaflet-container"] == n_maps
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000
    # every map of both documents draws every feature of its data layer (as itself or in a
    # marker cluster), each in its own class's colour from the palette
    for document in (result.html, result.annex_html):
        url = document.resolve().as_uri()
        blocked: list[str] = []
        with launch() as context:
            page = context.new_page()
            context.route("**/*", _only(url, blocked))
            page.goto(url, wait_until="load")
            frames = [f for f in page.frames if f != page.main_frame]
            assert len(frames) == document.read_text(encoding="utf-8").count("<iframe")
            for number, frame in enumerate(frames, start=1):
                # a busy machine may still be fitting the map and drawing its layers
                frame.wait_for_function(
                    f"() => {{ const r = ({_MAP_FEATURES_JS})(); return r.features.length > 0 &&"
                    " r.features.filter(f => f.drawn).length + r.clustered"
                    " === r.features.length; }",
                    timeout=30_000,
                )
                state = frame.evaluate(_MAP_FEATURES_JS)
                where = f"{document.name}, kaart {number}"
                assert state["maps"] == 1, where
                assert state["cluster_icons"] == state["clusters"], where
                features = state["features"]
                drawn = [f for f in features if f["drawn"]]
                assert len(drawn) + state["clustered"] == len(features), where
                colours = _expected_colours({f["klasse"] for f in features})
                for feature in features:
                    shown = feature["fill"] if feature["drawn"] else feature["option"]
                    assert shown == colours[feature["klasse"]], (where, feature)
        assert blocked == [], (document.name, blocked[:5])

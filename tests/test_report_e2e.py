"""The whole B-CBA end to end: papermill report notebook, HTML, PDF, map book, result files,
and the privacy guarantee that no planted person appears in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bcba.io import read_csv
from bcba.leakcheck import persons_from_planted, scan_outputs
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
    assert "http://" not in page.replace("http://www.w3.org", "") or "leaflet" not in page


def test_pdf_marking_and_demo_notice_on_every_page(report):
    result, *_ = report
    for pdf in (result.pdf, result.annex_pdf):
        reader = PdfReader(pdf)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text()
            assert "STRIKT VERTROUWELIJK" in text, f"{pdf.name} page {number} lacks the marking"
            assert "DEMO – synthetische gegevens" in text, f"{pdf.name} page {number}"
            assert f"Pagina {number} van {len(reader.pages)}" in text
    # the PDF is printed without the interactive maps: each one's static twin is printed
    for html, pdf in ((result.html, result.pdf), (result.annex_html, result.annex_pdf)):
        n_maps = html.read_text(encoding="utf-8").count("<iframe")
        assert sum(len(page.images) for page in PdfReader(pdf).pages) >= n_maps, pdf.name
    mapbook = PdfReader(result.output_dir / "kaartenboek.pdf")
    assert len(mapbook.pages) >= 5
    assert all("STRIKT VERTROUWELIJK" in p.extract_text() for p in mapbook.pages)


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


@pytest.mark.browser
def test_report_renders_offline_in_chromium(report, tmp_path):
    from bcba.report.browser import open_offline

    result, *_ = report
    check = open_offline(
        result.html,
        screenshot=tmp_path / "rapport.png",
        selectors=(".leaflet-container", ".leaflet-overlay-pane path"),
        settle_ms=1000,
    )
    assert check.requests == []
    assert check.console_errors == [] and check.page_errors == []
    # every interactive map (an iframe with its page in srcdoc) draws its Leaflet map
    n_maps = result.html.read_text(encoding="utf-8").count("<iframe")
    assert n_maps >= 10
    assert check.counts[".leaflet-container"] == n_maps
    assert check.counts.get(".leaflet-overlay-pane path", 0) > 0
    assert check.screenshot is not None and check.screenshot.stat().st_size > 10_000


def test_mayors_report_is_short_and_its_contents_carry_page_numbers(report):
    result, *_ = report
    reader = PdfReader(result.pdf)
    assert len(reader.pages) <= 16
    first = reader.pages[0].extract_text()
    contents = first[first.index("Inhoud") :]
    for heading in ("Samenvatting", "Aanpak per thema"):
        found = re.search(rf"{heading}\s*(\d+)", contents)
        assert found, heading
        page = int(found.group(1))
        assert heading in reader.pages[page - 1].extract_text(), heading


def test_no_raw_code_or_key_in_any_pdf(report):
    result, *_ = report
    for pdf in (result.pdf, result.annex_pdf):
        text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
        found = sorted(set(RAW_CODES.findall(text)))
        assert found == [], (pdf.name, found[:10])


def test_flagged_addresses_appear_as_street_and_number(report):
    import pandas as pd

    result, raw, *_ = report
    bag = pd.read_csv(raw / "bag_adressen.csv", sep=";", dtype=str)
    locations = read_csv(result.output_dir / "risicolocaties.csv", dtype={"adres_id": str})
    top = locations.sort_values(
        ["bewijskracht", "n_soorten", "n_flags", "adres_id"], ascending=[False] * 3 + [True]
    ).head(5)
    streets = bag.set_index(bag.columns[0]).reindex(top["adres_id"])
    text = " ".join(page.extract_text() for page in PdfReader(result.pdf).pages)
    text = " ".join(text.split())
    shown = [
        f"{street} {int(number)}"
        for street, number in zip(streets["straat"], streets["huisnummer"], strict=True)
        if isinstance(street, str)
    ]
    assert shown and sum(s in text for s in shown) >= len(shown) - 1, shown


_OVERFLOW_JS = """() => {
  const bad = [];
  document.querySelectorAll('.bcba-main table').forEach((table, i) => {
    const box = table.parentElement.getBoundingClientRect();
    const own = table.getBoundingClientRect();
    if (own.width > box.width + 1) bad.push(`tabel ${i}: ${own.width} > ${box.width}`);
    table.querySelectorAll('td, th').forEach(cell => {
      if (cell.scrollWidth > cell.clientWidth + 1) bad.push(`cel in tabel ${i}: ${cell.textContent.slice(0, 40)}`);
    });
  });
  const main = document.querySelector('.bcba-main');
  if (main.scrollWidth > main.clientWidth + 1) bad.push('pagina breder dan de kolom');
  return bad;
}"""


@pytest.mark.browser
def test_no_table_or_cell_wider_than_its_box_at_1280px(report):
    from bcba.report.browser import open_offline

    result, *_ = report
    for page in (result.html, result.annex_html):
        check = open_offline(page, selectors=(), settle_ms=300, evaluate=_OVERFLOW_JS)
        assert check.evaluated == [], (page.name, check.evaluated[:5])
        printed = open_offline(
            page, selectors=(), settle_ms=300, print_media=True, evaluate=_OVERFLOW_JS
        )
        assert printed.evaluated == [], (page.name, printed.evaluated[:5])


@pytest.mark.browser
def test_no_raw_code_or_key_in_the_html_as_shown(report):
    """What a reader sees in the browser, maps' popups and tooltips included."""
    from bcba.report.browser import open_offline

    result, *_ = report
    for page in (result.html, result.annex_html):
        check = open_offline(
            page,
            selectors=(),
            settle_ms=300,
            evaluate="() => document.body.innerText",
        )
        found = sorted(set(RAW_CODES.findall(check.evaluated)))
        assert found == [], (page.name, found[:10])

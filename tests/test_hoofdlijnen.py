"""The main lines for the council: area level only, small numbers suppressed, own marking.

The identifier scans use their own patterns (those of the brief), not the module's guard.
"""

from __future__ import annotations

import base64
import html
import io
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from deck_fixtures import CANARIES, SUMMARY, make_run, map_png
from PIL import Image
from pypdf import PdfReader

from bcba.cli import main
from bcba.errors import ConfigError, PrivacyError
from bcba.report import hoofdlijnen as hl

MARK = "VERTROUWELIJK – HOOFDLIJNEN"
DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
#: What must never reach the council (the brief's list), written independently of the module.
IDENTIFIERS = {
    "postcode + huisnummer": re.compile(r"\b\d{4}\s?[A-Z]{2}\s*\d+"),
    "pseudoniem": re.compile(r"\bP-[0-9a-fA-F]{4,}"),
    "KvK-nummer": re.compile(r"\bK-\d{8}\b|\b\d{8}\b"),
    "signaal": re.compile(r"SIG-"),
    "netwerk": re.compile(r"\bN\d{4}\b"),
    "vlagcode": re.compile(r"\b(?:KVK|KAD|NET)_[A-Z_]+"),
}


def text_of(page: str) -> str:
    """What a reader of an HTML page sees or can read in it: no scripts, styles or pictures;
    attribute values (alt, title, meta) kept."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = DATA_URI.sub(" ", page)
    attrs = re.findall(r'\s(?:alt|title|content|aria-label)="([^"]*)"', page)
    body = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([body, *attrs]))


def pdf_text(path: Path) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(path).pages)


def identifiers(text: str, *, report_id: str) -> list[tuple[str, str]]:
    text = text.replace(report_id, " ")  # the report id holds a date of eight digits
    return [(k, m.group(0)) for k, rx in IDENTIFIERS.items() for m in rx.finditer(text)]


@pytest.fixture
def run(tmp_path) -> Path:
    return make_run(tmp_path / "GM0489_Barendrecht" / "2026-12-04_0228")


@pytest.fixture
def built(run):
    return hl.build_hoofdlijnen(run, pdf=False)


# --------------------------------------------------------------------------- small numbers
@pytest.mark.parametrize(
    ("value", "drempel", "expected"),
    [
        (0, 10, "geen"),
        (1, 10, "minder dan 10"),
        (9, 10, "minder dan 10"),
        (10, 10, "10"),
        (1234, 10, "1.234"),
        (12, 20, "minder dan 20"),
        (20, 20, "20"),
        (1, 1, "1"),
    ],
)
def test_counts_below_the_threshold_read_minder_dan(value, drempel, expected):
    assert hl.suppressed(value, drempel=drempel) == expected


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "10"])
def test_threshold_must_be_a_whole_number_of_at_least_one(bad):
    with pytest.raises(ConfigError, match="drempel"):
        hl.check_threshold(bad)


def test_a_negative_or_broken_count_is_an_error():
    with pytest.raises(ConfigError):
        hl.suppressed(-3, drempel=10)
    with pytest.raises(ConfigError):
        hl.suppressed("veel", drempel=10)


def test_small_counts_appear_nowhere_only_as_minder_dan(tmp_path):
    # counts chosen so that no date, page or slide number can be mistaken for them
    themes = [
        {**SUMMARY["themas"][0], "vlaggen": 47, "meldingen": 250, "concentraties": "geen"},
        {**SUMMARY["themas"][1], "vlaggen": 83, "meldingen": 0},
    ]
    folder = make_run(tmp_path / "run", summary={**SUMMARY, "themas": themes})
    result = hl.build_hoofdlijnen(folder, drempel=100, pdf=False)
    for path in (result.html, result.deck):
        text = text_of(path.read_text(encoding="utf-8"))
        assert not re.search(r"\b(?:47|83)\b", text), path.name
        assert re.search(r"\b250\b", text)
        assert "minder dan 100" in text
        assert "%" not in text  # no share or ratio that could reveal a suppressed count


def test_each_count_cell_shows_the_suppressed_value(built):
    # the fixture: drugs 0 flags / 361 events, mensenhandel 7 flags / 3 events
    doc = built.html.read_text(encoding="utf-8")
    facts = re.findall(
        r"<dt>Adressen met een rode vlag</dt><dd>(.*?)</dd><dt>Meldingen van partners</dt><dd>(.*?)</dd>",
        doc,
    )
    assert facts == [("geen", "361"), ("minder dan 10", "minder dan 10")]
    slides = built.deck.read_text(encoding="utf-8")
    cells = re.findall(r"<dt>Adressen met een rode vlag</dt><dd>(.*?)</dd>", slides)
    assert cells == ["geen", "minder dan 10"]


# --------------------------------------------------------------------------- content
def test_marking_audience_and_title_on_document_and_every_slide(built):
    doc = built.html.read_text(encoding="utf-8")
    assert built.html.name == "bcba_GM0489_hoofdlijnen.html"
    assert built.deck.name == "presentatie_GM0489_hoofdlijnen.html"
    text = text_of(doc)
    assert "Hoofdlijnen van de B-CBA van Barendrecht" in text
    assert "met instemming van de burgemeester gedeeld met de besloten commissie" in text
    assert MARK in text and "voor de besloten commissie" in text
    assert "STRIKT VERTROUWELIJK" not in doc
    slides = re.split(r'(?=<section class="dia )', built.deck.read_text(encoding="utf-8"))[1:]
    assert len(slides) >= 8
    for slide in slides:
        assert f'<span class="markering">{MARK}</span>' in slide
        assert "voor de besloten commissie" in slide
        assert "DEMO – synthetische gegevens" in slide
        assert "STRIKT VERTROUWELIJK" not in slide


def test_mayors_findings_never_reach_the_council(built):
    for path in (built.html, built.deck):
        page = path.read_text(encoding="utf-8")
        for canary in CANARIES:
            assert canary not in page, (path.name, canary)
        # no count of networks, signals or flagged addresses, whatever the wording
        assert not re.search(r"\d+ (?:groepen|netwerken|signalen|adressen)", text_of(page))


def test_no_identifier_in_any_council_file(built):
    for path in (built.html, built.deck):
        found = identifiers(
            text_of(path.read_text(encoding="utf-8")), report_id=SUMMARY["rapport_id"]
        )
        assert found == [], (path.name, found)


def test_only_the_area_maps_with_their_marking_blanked(built, run):
    files = {p.stem: p.read_bytes() for p in (run / "kaarten").glob("*.png")}
    expected = [
        hl.without_marking(files[n]) for n in ("totaalscore", "score_drugs", "score_mensenhandel")
    ]
    for path in (built.html, built.deck):
        embedded = [base64.b64decode(m) for m in DATA_URI.findall(path.read_text(encoding="utf-8"))]
        assert embedded == expected, path.name
        for point_map in ("risicolocaties", "risicokaart_drugs"):
            assert files[point_map] not in embedded


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGBA")).astype(int)


def _red(px: np.ndarray) -> np.ndarray:
    return (px[..., 0] > 120) & (px[..., 1] < 90) & (px[..., 2] < 110)


def test_without_marking_blanks_the_marking_and_nothing_else():
    png = map_png(
        "Drugs (incl. hennep): score per buurt met een lange titel tot onder de markering"
    )
    before, after = _pixels(png), _pixels(hl.without_marking(png))
    height = before.shape[0]
    band = height // 8
    assert _red(before[:band]).sum() > 20  # the marking is there before
    assert _red(after[:band]).sum() == 0
    changed = np.flatnonzero((before != after).any(axis=(1, 2)))
    # only rows of the marking changed: above the title (which starts below 5 % of the height)
    assert len(changed) and changed.max() < 0.055 * height
    dark = (before[..., :3].sum(axis=-1) < 150)[:band]  # the title: black text
    assert (dark == (after[..., :3].sum(axis=-1) < 150)[:band]).all()


def test_a_picture_without_marking_is_left_as_it_is():
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(out, format="PNG")
    assert hl.without_marking(out.getvalue()) == out.getvalue()


def test_model_verdict_loses_its_figures_and_explains_its_terms():
    verdict = hl.plain_model_verdict(SUMMARY["model_oordeel"], drempel=10)
    assert verdict == (
        "Toets van het risicomodel: RTM en KDE-basislijn voorspellen de latere gebeurtenissen "
        "even goed. (RTM: het risicoterreinmodel, dat uit de omgeving voorspelt waar meldingen "
        "te verwachten zijn; KDE-basislijn: kijken waar eerder veel gebeurde.)"
    )
    few = "Het model voorspelt beter (PAI 3,1). Er waren 7 toetsgebeurtenissen."
    assert hl.plain_model_verdict(few, drempel=10) == (
        "Toets van het risicomodel: het model voorspelt beter."
    )
    assert hl.plain_model_verdict("", drempel=10) == ""


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("besloten commissie", "de besloten commissie"),
        ("college", "het college"),
        ("driehoek", "de driehoek"),
        ("de gemeenteraad van Barendrecht", "de gemeenteraad van Barendrecht"),
        ("  Raadscommissie   Veiligheid ", "Raadscommissie Veiligheid"),
    ],
)
def test_audience_gets_its_article(given, printed):
    assert hl.audience(given) == printed


@pytest.mark.parametrize("bad", ["<script>", "commissie; X", "a" * 200, "", "x{y}"])
def test_audience_with_unsafe_characters_is_refused(bad):
    with pytest.raises(ConfigError, match="--voor"):
        hl.audience(bad)


def test_an_identifier_in_the_summary_blocks_the_release(tmp_path):
    themes = [{**SUMMARY["themas"][0], "concentraties": "Kerkstraat 12, 2991 AB 12"}]
    folder = make_run(tmp_path / "run", summary={**SUMMARY, "themas": themes})
    with pytest.raises(PrivacyError, match="postcode met huisnummer"):
        hl.build_hoofdlijnen(folder, pdf=False)
    assert not list(folder.glob("*hoofdlijnen*"))


def test_both_versions_are_recorded_in_the_audit_log(built):
    from bcba import audit

    entries = audit.read_entries()[-2:]
    assert [e["command"] for e in entries] == ["presentatie", "presentatie"]
    versions = {e["parameters"]["versie"]: e for e in entries}
    assert set(versions) == {"hoofdlijnen", "hoofdlijnen-presentatie"}
    for entry in entries:
        assert entry["parameters"]["publiek"] == "de besloten commissie"
        assert entry["parameters"]["ontvanger"] == "Burgemeester"
        assert entry["parameters"]["drempel"] == 10
        assert entry["parameters"]["rapport_id"] == SUMMARY["rapport_id"]
        names = {Path(i["pad"]).name for i in entry["inputs"]}
        assert names == {
            "samenvatting.json",
            "totaalscore.png",
            "score_drugs.png",
            "score_mensenhandel.png",
        }
    assert [Path(o["pad"]) for o in versions["hoofdlijnen"]["outputs"]] == [built.html]
    assert [Path(o["pad"]) for o in versions["hoofdlijnen-presentatie"]["outputs"]] == [built.deck]
    assert audit.verify().ok


def test_cli_makes_the_council_version_for_the_given_audience(run, capsys):
    code = main(
        ["presentatie", "--run", str(run), "--hoofdlijnen", "--voor", "driehoek", "--geen-pdf"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "VERTROUWELIJK – HOOFDLIJNEN, voor de driehoek" in out
    assert "voor de driehoek" in (run / "presentatie_GM0489_hoofdlijnen.html").read_text("utf-8")
    assert not (run / "presentatie_GM0489.html").exists()  # not the mayor's deck
    assert main(["presentatie", "--run", str(run), "--hoofdlijnen", "--voor", "<b>"]) == 2


# --------------------------------------------------------------------------- a real run
@pytest.fixture(scope="module")
def real(tmp_path_factory, generate_raw):
    """A full run on generated data, its presentation and its council version (with PDF)."""
    from bcba.pipeline import make_run_config, run_report
    from bcba.report.deck import build_presentation

    home = tmp_path_factory.mktemp("project")
    raw = generate_raw("GM0489", 7)
    mp = pytest.MonkeyPatch()
    mp.setenv("BCBA_HOME", str(home))
    cfg = make_run_config(
        gemeente="GM0489",
        data_dir=raw,
        output_dir=home / "reports" / "run",
        periode=("2024-01-01", "2025-12-31"),
    )
    result = run_report(cfg, pdf=False)
    summary = json.loads((result.output_dir / "samenvatting.json").read_text("utf-8"))
    counts = [n for t in summary["themas"] for n in (t["vlaggen"], t["meldingen"]) if n > 0]
    # a threshold above the smallest counts, so that some are suppressed
    drempel = max(10, sorted(counts)[min(2, len(counts) - 1)] + 1)
    council = hl.build_hoofdlijnen(result.output_dir, drempel=drempel, pdf=True)
    deck_path = build_presentation(result.output_dir)
    yield result, raw, summary, drempel, council, deck_path
    mp.undo()


def _council_texts(council) -> dict[str, str]:
    return {
        council.html.name: text_of(council.html.read_text("utf-8")),
        council.deck.name: text_of(council.deck.read_text("utf-8")),
        council.pdf.name: pdf_text(council.pdf),
    }


@pytest.mark.slow
def test_real_council_files_hold_no_identifier(real):
    _, _, summary, _, council, _ = real
    for name, text in _council_texts(council).items():
        found = identifiers(text, report_id=summary["rapport_id"])
        assert found == [], (name, found[:10])


@pytest.mark.slow
def test_real_council_files_hold_no_address_of_the_run(real):
    import pandas as pd

    from bcba.io import read_csv

    result, raw, summary, _, council, _ = real
    bag = pd.read_csv(raw / "bag_adressen.csv", sep=";", dtype=str)
    bag = bag.set_index(bag.columns[0])
    flagged = read_csv(result.output_dir / "risicolocaties.csv", dtype=str)["adres_id"]
    ids = [i for i in flagged if i in bag.index][:150]
    rest = sorted(set(bag.index) - set(ids))
    ids += random.Random(7).sample(rest, 200 - len(ids))
    buurten = " | ".join(
        [*summary["totaal"]["top"], *(b for t in summary["themas"] for b in t["top"])]
    )
    addresses = [f"{bag.at[i, 'straat']} {int(bag.at[i, 'huisnummer'])}" for i in ids]
    # a buurt name that happens to read like an address ("Nieuweland 5") is no address
    addresses = [a for a in addresses if a not in buurten]
    assert len(addresses) >= 190
    for name, text in _council_texts(council).items():
        flat = " ".join(text.split())
        hits = [a for a in addresses if re.search(rf"\b{re.escape(a)}\b", flat)]
        assert hits == [], (name, hits[:5])


@pytest.mark.slow
def test_real_suppressed_counts_never_appear(real):
    _, _, summary, drempel, council, _ = real
    hidden = {
        n for t in summary["themas"] for n in (t["vlaggen"], t["meldingen"]) if 0 < n < drempel
    }
    shown = {n for t in summary["themas"] for n in (t["vlaggen"], t["meldingen"]) if n >= drempel}
    assert hidden and shown
    for name, text in _council_texts(council).items():
        # what is not a count: dates, page and slide numbers, map numbers, block sizes
        rest = re.sub(r"\b\d{1,2} \w+ \d{4}\b", " ", " ".join(text.split()))
        rest = re.sub(
            r"(?:Pagina|Dia) \d+ van \d+|\b\d+ / \d+\b|Kaart \d+|\d+ blok(?:ken)? van 100 m",
            " ",
            rest,
        )
        rest = re.sub(r"minder dan \d+|kleiner dan \d+|\d+ interventies voor \d+", " ", rest)
        rest = rest.replace(summary["rapport_id"], " ")
        for n in hidden:
            assert not re.search(rf"\b{n}\b", rest), (name, n)
        assert f"minder dan {drempel}" in text


@pytest.mark.slow
def test_real_decks_name_no_planted_person(real):
    from bcba.leakcheck import persons_from_planted, scan_outputs

    _, raw, _, _, council, deck_path = real
    names, dates = persons_from_planted(raw / "planted.json")
    assert len(names) > 100
    hits = scan_outputs([council.html, council.pdf, council.deck, deck_path], names, dates)
    assert hits == [], [str(h) for h in hits[:5]]


@pytest.mark.slow
def test_real_pdf_is_marked_on_every_page(real):
    _, _, summary, _, council, _ = real
    pages = PdfReader(council.pdf).pages
    assert 6 <= len(pages) <= 16
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert MARK in text and "STRIKT" not in text, number
        assert "DEMO – synthetische gegevens" in text, number
        assert f"Pagina {number} van {len(pages)}" in text
    assert "Hoofdlijnen van de B-CBA van Barendrecht" in pages[0].extract_text()


@pytest.mark.slow
@pytest.mark.browser
def test_real_decks_open_offline_with_every_map_drawn(real):
    from bcba.report.browser import open_offline

    _, _, summary, _, council, deck_path = real
    script = """async () => {
      const images = Array.from(document.images);
      await Promise.all(images.map(i => i.decode().catch(() => null)));
      return images.map(i => i.naturalWidth);
    }"""
    for path, n_maps in ((council.deck, 1 + len(summary["themas"])), (deck_path, None)):
        check = open_offline(path, selectors=("section.dia",), evaluate=script, settle_ms=200)
        assert check.requests == [] and check.console_errors == [] and check.page_errors == []
        assert check.evaluated and all(w > 0 for w in check.evaluated)
        if n_maps is not None:
            assert len(check.evaluated) == n_maps
        else:  # the mayor's deck: at least the total map and one per theme
            assert len(check.evaluated) >= 1 + len(summary["themas"])

"""A partner delivery that names known persons in composed and decomposed Unicode leaves no
name in the processed data, and every form of a person gets one pseudonym (issue 19)."""

from __future__ import annotations

import shutil
import unicodedata

import pandas as pd
import pytest

from bcba import leakcheck
from bcba.sources import load_inputs, write_processed
from tests.conftest import PERIODE

KEY = b"\x07" * 32


@pytest.fixture(scope="module")
def delivery(demo_dir, tmp_path_factory):
    """The demo data with 30 known (accented) persons named in a partner's descriptions:
    15 written decomposed (NFD, as macOS writes), 15 composed (NFC); 5 of the 30 are also
    registered in KvK in decomposed form."""
    folder = tmp_path_factory.mktemp("levering") / "GM0489"
    shutil.copytree(demo_dir, folder)
    kvk_path = folder / "kvk_functionarissen.csv"
    kvk = pd.read_csv(kvk_path, sep=";", dtype=str, keep_default_na=False)
    # accented names whose letters all decompose to ASCII plus accents (not "ı", "ß")
    accented = [
        n
        for n in dict.fromkeys(kvk["naam"])
        if not n.isascii()
        and all(c.isascii() or unicodedata.combining(c) for c in unicodedata.normalize("NFD", n))
    ]
    named = accented[:30]
    nfd_in_kvk = set(named[25:])
    # the KvK extract writes the last five of them decomposed (every row of each)
    kvk["naam"] = [unicodedata.normalize("NFD", n) if n in nfd_in_kvk else n for n in kvk["naam"]]
    kvk.to_csv(kvk_path, sep=";", index=False)

    partner_path = folder / "partners" / "handhaving.csv"
    partner = pd.read_csv(partner_path, sep=";", dtype=str, keep_default_na=False)
    texts = []
    for i, name in enumerate(named):
        form = "NFD" if i % 2 else "NFC"
        texts.append(f"Overlast gemeld; {unicodedata.normalize(form, name)} was aanwezig")
    partner.loc[: len(texts) - 1, "omschrijving"] = texts
    partner.to_csv(partner_path, sep=";", index=False)
    inputs = load_inputs("GM0489", data_dir=folder, periode=PERIODE, key=KEY)
    processed = tmp_path_factory.mktemp("processed")
    write_processed(inputs, processed)
    return named, inputs, processed, sorted(nfd_in_kvk), kvk_path


def test_decomposed_names_leave_nothing_in_processed_data(delivery):
    named, inputs, processed, _, _ = delivery
    assert len(named) == 30
    masked = inputs.partners["omschrijving_gemaskeerd"]
    assert int(masked.str.contains("[persoon]", regex=False).sum()) >= 30
    # independent of the fold: every text cell of every Parquet file, composed, and the
    # bytes of the GeoPackage and the manifest (SQLite stores text as it is), in both forms
    import pyarrow.parquet as pq

    wanted = [unicodedata.normalize("NFC", n).lower() for n in named]
    for path in processed.glob("*.parquet"):
        table = pq.read_table(path)
        for column in table.column_names:
            for value in table.column(column).to_pylist():
                if isinstance(value, str):
                    text = unicodedata.normalize("NFC", value).lower()
                    assert not any(n in text for n in wanted), (path.name, column)
    for path in [*processed.glob("*.gpkg"), *processed.glob("*.json")]:
        data = path.read_bytes()
        for name in named:
            for form in ("NFC", "NFD"):
                assert unicodedata.normalize(form, name).encode() not in data, path.name
    # the planted-name leak scan over every processed file, with the names in either form
    for form in ("NFC", "NFD"):
        names = [unicodedata.normalize(form, n) for n in named]
        hits = leakcheck.scan_outputs(processed, names)
        assert hits == [], [str(h) for h in hits]


def test_control_the_scan_finds_the_planted_names_unmasked(delivery, tmp_path):
    # the same texts unmasked: every one of the 30 is found, in either form (recall)
    named, _, _, _, _ = delivery
    texts = [
        f"Overlast gemeld; {unicodedata.normalize('NFD' if i % 2 else 'NFC', n)} was aanwezig"
        for i, n in enumerate(named)
    ]
    pd.DataFrame({"omschrijving": texts}).to_parquet(tmp_path / "ongemaskeerd.parquet")
    hits = leakcheck.scan_outputs(tmp_path, named)
    assert sorted(h.index for h in hits) == list(range(30))


def test_one_pseudonym_per_person_whatever_the_form(delivery):
    # oracle: HMAC-SHA256 of the documented message "<folded name>|<birth date>", computed
    # here with hmac directly from the name in composed form and the raw birth date
    import datetime as dt
    import hashlib
    import hmac

    _, inputs, _, nfd_in_kvk, kvk_path = delivery
    raw = pd.read_csv(kvk_path, sep=";", dtype=str, keep_default_na=False)
    raw["bron_rij"] = range(2, len(raw) + 2)  # the row as the analyst sees it in Excel
    officers = inputs.kvk_functionarissen.merge(raw, on="bron_rij", suffixes=("", "_ruw"))
    checked = 0
    for name in nfd_in_kvk:
        decomposed = unicodedata.normalize("NFD", name)
        assert decomposed != name
        rows = officers[officers["naam"] == decomposed]  # as the raw file writes it
        assert len(rows) >= 1
        # accents off (the decomposed marks are the non-ASCII characters), lower case,
        # hyphen and apostrophe a space
        plain = "".join(c for c in decomposed if c.isascii()).lower()
        folded = " ".join(plain.replace("-", " ").replace("'", " ").split())
        for row in rows.itertuples():
            birth = dt.datetime.strptime(row.geboortedatum, "%d-%m-%Y").date().isoformat()
            digest = hmac.new(KEY, f"{folded}|{birth}".encode(), hashlib.sha256).hexdigest()
            assert row.persoon_id == f"P-{digest[:12]}"
            checked += 1
    assert checked >= 5

"""Retention: only old folders of the right municipality go, and that is audited."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from bcba import audit, retention
from bcba.errors import ConfigError

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BCBA_AUDITLOG", str(tmp_path / "audit.jsonl"))
    reports, processed = tmp_path / "reports", tmp_path / "processed"
    for folder in [
        "GM0489_Barendrecht/2026-01-10",  # old -> removed
        "GM0489_Barendrecht/2026-11-20",  # recent -> kept
        "GM0489_Barendrecht/2026-08-30_herzien",  # exactly 90 days -> kept
        "GM0489_Barendrecht/2026-08-29",  # 91 days -> removed
        "GM0489_Barendrecht/notities",  # no date -> kept
        "GM0599_Rotterdam/2025-01-01",  # other municipality -> kept
        "GM04890_Fout/2025-01-01",  # prefix trap -> kept
    ]:
        (reports / folder).mkdir(parents=True)
        (reports / folder / "rapport.html").write_text("x")
    old = dt.datetime.combine(TODAY - dt.timedelta(days=200), dt.time()).timestamp()
    new = dt.datetime.combine(TODAY - dt.timedelta(days=5), dt.time()).timestamp()
    (processed / "GM0489" / "oud").mkdir(parents=True)
    (processed / "GM0489" / "oud" / "kvk.parquet").write_text("x")
    (processed / "GM0489" / "gemengd").mkdir()
    (processed / "GM0489" / "gemengd" / "a.parquet").write_text("x")
    (processed / "GM0489" / "gemengd" / "b.parquet").write_text("x")
    (processed / "GM0489" / "los_oud.parquet").write_text("x")
    (processed / "GM0489" / "los_nieuw.parquet").write_text("x")
    (processed / "GM0599").mkdir()
    (processed / "GM0599" / "oud.parquet").write_text("x")
    for p in [
        processed / "GM0489" / "oud" / "kvk.parquet",
        processed / "GM0489" / "oud",
        processed / "GM0489" / "gemengd" / "a.parquet",
        processed / "GM0489" / "gemengd",
        processed / "GM0489" / "los_oud.parquet",
        processed / "GM0599" / "oud.parquet",
    ]:
        os.utime(p, (old, old))
    os.utime(processed / "GM0489" / "gemengd" / "b.parquet", (new, new))  # folder still in use
    os.utime(processed / "GM0489" / "los_nieuw.parquet", (new, new))
    return reports, processed, tmp_path


def _rel(paths, base):
    return sorted(str(p.relative_to(base)) for p in paths)


EXPECTED = [
    "processed/GM0489/los_oud.parquet",
    "processed/GM0489/oud",
    "reports/GM0489_Barendrecht/2026-01-10",
    "reports/GM0489_Barendrecht/2026-08-29",
]


def test_dry_run_lists_without_removing(tree):
    reports, processed, base = tree
    found = retention.opschonen(
        "GM0489",
        ouder_dan_dagen=90,
        processed_root=processed,
        reports_root=reports,
        dry_run=True,
        today=TODAY,
    )
    assert _rel(found, base) == EXPECTED
    assert all(p.exists() for p in found)
    assert audit.read_entries() == []


def test_removes_only_old_folders_of_the_municipality_and_audits(tree):
    reports, processed, base = tree
    removed = retention.opschonen(
        "gm0489", ouder_dan_dagen=90, processed_root=processed, reports_root=reports, today=TODAY
    )
    assert _rel(removed, base) == EXPECTED
    assert not any(p.exists() for p in removed)
    remaining = sorted(str(p.relative_to(base)) for p in base.rglob("*.html"))
    assert remaining == [
        "reports/GM04890_Fout/2025-01-01/rapport.html",
        "reports/GM0489_Barendrecht/2026-08-30_herzien/rapport.html",
        "reports/GM0489_Barendrecht/2026-11-20/rapport.html",
        "reports/GM0489_Barendrecht/notities/rapport.html",
        "reports/GM0599_Rotterdam/2025-01-01/rapport.html",
    ]
    assert (processed / "GM0489" / "gemengd").exists() and (
        processed / "GM0599" / "oud.parquet"
    ).exists()
    [entry] = audit.read_entries()
    assert entry["command"] == "opschonen"
    params = entry["parameters"]
    assert params["gemeente"] == "GM0489" and params["ouder_dan_dagen"] == 90
    assert sorted(params["verwijderd"]) == sorted(str(p) for p in removed)
    assert audit.verify().ok


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gemeente": "Barendrecht", "ouder_dan_dagen": 30}, "GMxxxx"),
        ({"gemeente": "GM0489", "ouder_dan_dagen": -1}, "ouder_dan_dagen"),
        ({"gemeente": "GM0489", "ouder_dan_dagen": 1.5}, "ouder_dan_dagen"),
    ],
)
def test_invalid_arguments(tree, kwargs, match):
    reports, processed, _ = tree
    with pytest.raises(ConfigError, match=match):
        retention.opschonen(
            kwargs.pop("gemeente"), processed_root=processed, reports_root=reports, **kwargs
        )


def test_missing_roots_remove_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("BCBA_AUDITLOG", str(tmp_path / "audit.jsonl"))
    assert (
        retention.opschonen(
            "GM0489",
            ouder_dan_dagen=0,
            processed_root=tmp_path / "p",
            reports_root=tmp_path / "r",
            today=TODAY,
        )
        == []
    )
    assert audit.read_entries()[0]["parameters"]["aantal_verwijderd"] == 0

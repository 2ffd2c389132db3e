"""The hash-chained audit log: appends, verification and detection of tampering."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest

from bcba import audit
from bcba.errors import AuditError, PrivacyError


@pytest.fixture
def log_path(tmp_path, monkeypatch):
    path = tmp_path / "audit" / "audit.jsonl"
    monkeypatch.setenv("BCBA_AUDITLOG", str(path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return path


@pytest.fixture
def filled(log_path, tmp_path):
    data = tmp_path / "invoer.csv"
    data.write_text("a,b\n1,2\n")
    for i in range(5):
        audit.record(f"stap{i}", parameters={"gemeente": "GM0489", "i": i}, inputs=[data])
    return log_path


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_entry_fields_and_chain(filled, tmp_path):
    entries = audit.read_entries()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    first = entries[0]
    assert set(first) == {
        "seq",
        "timestamp",
        "user",
        "host",
        "command",
        "parameters",
        "inputs",
        "outputs",
        "bcba_version",
        "prev_hash",
        "hash",
    }
    assert first["prev_hash"] == audit.GENESIS
    assert first["timestamp"].endswith("+00:00")
    assert first["inputs"] == [
        {"pad": str(tmp_path / "invoer.csv"), "sha256": audit.sha256_file(tmp_path / "invoer.csv")}
    ]
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert all(audit.entry_hash(e) == e["hash"] for e in entries)
    assert stat.S_IMODE(filled.stat().st_mode) == 0o600
    anchor = json.loads(audit.anchor_path(filled).read_text())
    assert anchor == {"aantal": 5, "laatste_hash": entries[-1]["hash"]}


def test_sha256_file_known_value(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert (
        audit.sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_untouched_log_verifies(filled):
    result = audit.verify()
    assert result.ok and result.aantal == 5 and result.eerste_fout_regel is None
    assert "in orde" in result.melding


def test_empty_log_verifies(log_path):
    assert audit.verify().ok


def _rewrite(path, lines):
    path.write_text("".join(lines), encoding="utf-8")


def test_edited_field_is_detected(filled):
    lines = _lines(filled)
    entry = json.loads(lines[2])
    entry["parameters"]["gemeente"] = "GM0599"
    lines[2] = json.dumps(entry) + "\n"
    _rewrite(filled, lines)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 3
    assert "regel 3" in result.melding and "bewerkt" in result.melding


def test_edited_field_with_recomputed_hash_is_detected(filled):
    lines = _lines(filled)
    entry = json.loads(lines[1])
    entry["user"] = "iemand_anders"
    entry["hash"] = audit.entry_hash(entry)
    lines[1] = json.dumps(entry) + "\n"
    _rewrite(filled, lines)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 3


def test_deleted_line_is_detected(filled):
    lines = _lines(filled)
    del lines[1]
    _rewrite(filled, lines)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 2


def test_swapped_lines_are_detected(filled):
    lines = _lines(filled)
    lines[1], lines[3] = lines[3], lines[1]
    _rewrite(filled, lines)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 2


def test_inserted_line_is_detected(filled):
    lines = _lines(filled)
    fake = json.loads(lines[0])
    fake["command"] = "ingevoegd"
    fake["hash"] = audit.entry_hash(fake)
    lines.insert(1, json.dumps(fake) + "\n")
    _rewrite(filled, lines)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 2


def test_truncated_tail_is_detected_by_anchor(filled):
    lines = _lines(filled)
    _rewrite(filled, lines[:3])
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel is None
    assert "anker noemt 5 regels" in result.melding
    # appending would hide the truncation, so it is refused
    with pytest.raises(AuditError, match="anker"):
        audit.record("na_inkorten")


def test_removed_log_and_missing_anchor_are_detected(filled):
    anchor = audit.anchor_path(filled)
    anchor.unlink()
    assert "ankerbestand" in audit.verify().melding
    assert not audit.verify().ok
    with pytest.raises(AuditError):
        audit.record("zonder_anker")


def test_deleted_log_with_anchor_is_detected(filled):
    filled.unlink()
    assert not audit.verify().ok
    with pytest.raises(AuditError, match="ontbreekt"):
        audit.record("opnieuw")


def test_personal_parameters_refused(log_path):
    with pytest.raises(PrivacyError, match="naam"):
        audit.record("x", parameters={"naam": "Jan"})
    with pytest.raises(AuditError):
        audit.append({"parameters": {}})
    assert not log_path.exists()


def test_parameters_are_json_roundtripped(log_path, tmp_path):
    import datetime as dt

    entry = audit.record("x", parameters={"datum": dt.date(2026, 1, 2), "pad": tmp_path})
    assert entry["parameters"] == {"datum": "2026-01-02", "pad": str(tmp_path)}
    assert audit.verify().ok


def _worker(path: str, n: int) -> None:
    os.environ["BCBA_AUDITLOG"] = path
    for i in range(n):
        audit.record("parallel", parameters={"i": i, "pid": os.getpid()})


def test_concurrent_appends_keep_the_chain(log_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(log_path), 15)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    result = audit.verify()
    assert result.ok, result.melding
    assert result.aantal == 45

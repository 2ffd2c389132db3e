"""The signed audit log: appends, the documented MAC, and detection of every tampering.

The oracle for the MAC is the documented canonical form, computed here with ``json``,
``hmac`` and ``hashlib`` directly (never with ``bcba.audit``'s own helpers); forged
entries are made the same way, with the real key where an attacker could not have it
only to prove that the chain (not the MAC) catches them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from bcba import audit, keys
from bcba.errors import AuditError, PrivacyError

OTHER_KEY = b"\x42" * 32


def _canonical(entry: dict) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _mac(key: bytes, entry: dict, domain: bytes = b"bcba-auditregel|") -> str:
    body = _canonical({k: v for k, v in entry.items() if k != "mac"})
    return hmac.new(key, domain + body, hashlib.sha256).hexdigest()


def _signed(key: bytes, entry: dict) -> bytes:
    entry = {**entry, "mac": _mac(key, entry)}
    return _canonical(entry) + b"\n"


def _anchor(key: bytes, count: int, last_mac: str) -> bytes:
    anchor = {"formaat": 2, "aantal": count, "laatste_mac": last_mac}
    anchor["mac"] = _mac(key, anchor, b"bcba-auditanker|")
    return _canonical(anchor) + b"\n"


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(keys.AUDIT_KEY_ENV, raising=False)
    monkeypatch.delenv(keys.AUDIT_KEYFILE_ENV, raising=False)
    return home


@pytest.fixture
def log_path(tmp_path, monkeypatch, home):
    path = tmp_path / "audit" / "audit.jsonl"
    monkeypatch.setenv("BCBA_AUDITLOG", str(path))
    return path


def _key(home: Path) -> bytes:
    """The audit key as the documentation says it is stored: hex in ~/.config/bcba/audit.key."""
    return bytes.fromhex((home / ".config" / "bcba" / "audit.key").read_text().strip())


@pytest.fixture
def filled(log_path, tmp_path):
    data = tmp_path / "invoer.csv"
    data.write_text("a,b\n1,2\n")
    for i in range(5):
        audit.record(f"stap{i}", parameters={"gemeente": "GM0489", "i": i}, inputs=[data])
    return log_path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in _lines(path)]


# --------------------------------------------------------------------------- format


def test_entries_carry_the_documented_mac(filled, home, tmp_path):
    key = _key(home)
    key_file = home / ".config" / "bcba" / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(filled.stat().st_mode) == 0o600
    raw = _lines(filled)
    entries = [json.loads(line) for line in raw]
    assert set(entries[0]) == {
        "formaat",
        "seq",
        "timestamp",
        "user",
        "host",
        "command",
        "status",
        "gestart_regel",
        "parameters",
        "inputs",
        "outputs",
        "bcba_version",
        "sleutel_id",
        "prev_mac",
        "mac",
    }
    previous = "0" * 64
    for n, (line, entry) in enumerate(zip(raw, entries, strict=True), start=1):
        assert line == _canonical(entry) + b"\n"  # each line is its canonical form
        assert entry["mac"] == _mac(key, entry)
        assert entry["prev_mac"] == previous and entry["seq"] == n
        assert entry["formaat"] == 2 and entry["status"] == "voltooid"
        assert entry["gestart_regel"] is None
        previous = entry["mac"]
    fingerprint = hashlib.sha256(b"bcba-sleutel-vingerafdruk|" + key).hexdigest()[:12]
    assert entries[0]["sleutel_id"].replace("-", "") == fingerprint
    assert entries[0]["timestamp"].endswith("+00:00")
    assert entries[0]["inputs"] == [
        {
            "pad": str(tmp_path / "invoer.csv"),
            "sha256": hashlib.sha256((tmp_path / "invoer.csv").read_bytes()).hexdigest(),
        }
    ]
    anchor = audit.anchor_path(filled).read_bytes()
    assert anchor == _anchor(key, 5, entries[-1]["mac"])


def test_sha256_file_known_value(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"abc")
    assert (
        audit.sha256_file(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_untouched_log_verifies(filled):
    result = audit.verify()
    assert result.ok and result.aantal == 5 and result.eerste_fout_regel is None
    assert "in orde" in result.melding and not result.verouderd


def test_empty_log_verifies(log_path):
    result = audit.verify()
    assert result.ok and result.aantal == 0 and "leeg" in result.melding


# --------------------------------------------------------------------------- the key


def test_audit_key_from_environment_is_used_and_no_file_made(log_path, home, monkeypatch):
    monkeypatch.setenv(keys.AUDIT_KEY_ENV, OTHER_KEY.hex())
    entry = audit.record("x")
    assert entry["mac"] == _mac(OTHER_KEY, entry)
    assert not (home / ".config" / "bcba" / "audit.key").exists()
    assert audit.verify().ok
    monkeypatch.delenv(keys.AUDIT_KEY_ENV)
    # without that key the log cannot be checked, and no new key is made for it
    result = audit.verify()
    assert not result.ok and "auditsleutel ontbreekt" in result.melding
    with pytest.raises(AuditError, match="auditsleutel ontbreekt"):
        audit.record("y")
    assert not (home / ".config" / "bcba" / "audit.key").exists()


def test_audit_key_file_from_environment(log_path, tmp_path, monkeypatch):
    target = tmp_path / "elders" / "mijn_audit.key"
    monkeypatch.setenv(keys.AUDIT_KEYFILE_ENV, str(target))
    entry = audit.record("x")
    assert entry["mac"] == _mac(bytes.fromhex(target.read_text().strip()), entry)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_lost_key_is_not_silently_replaced(filled, home):
    (home / ".config" / "bcba" / "audit.key").unlink()
    with pytest.raises(AuditError, match="auditsleutel ontbreekt"):
        audit.record("na_verlies")
    assert not (home / ".config" / "bcba" / "audit.key").exists()
    assert len(_lines(filled)) == 5


def test_audit_key_readable_by_others_is_refused(filled, home):
    os.chmod(home / ".config" / "bcba" / "audit.key", 0o644)
    with pytest.raises(PrivacyError, match="leesbaar voor anderen"):
        audit.record("x")
    result = audit.verify()
    assert not result.ok and "leesbaar voor anderen" in result.melding


# --------------------------------------------------------------------------- tamperings


def _edit_line(path, n, change, *, key=None):
    """Apply ``change`` to entry ``n`` (1-based); re-sign with ``key`` if given."""
    lines = _lines(path)
    entry = json.loads(lines[n - 1])
    change(entry)
    lines[n - 1] = _signed(key, entry) if key else _canonical(entry) + b"\n"
    path.write_bytes(b"".join(lines))


def _set(field, value):
    def change(entry):
        entry[field] = value

    return change


def _forge_append(path, key, *, anchor_key=None):
    """An entry appended by someone who may not hold the key (signed with ``key``)."""
    last = _entries(path)[-1]
    fake = {**last, "seq": last["seq"] + 1, "prev_mac": last["mac"], "command": "vervalst"}
    fake.pop("mac")
    line = _signed(key, fake)
    path.write_bytes(path.read_bytes() + line)
    if anchor_key is not None:
        audit.anchor_path(path).write_bytes(
            _anchor(anchor_key, fake["seq"], json.loads(line)["mac"])
        )


def _rewrite_chain(path, key):
    """Every entry edited and re-signed, chain and anchor recomputed, with ``key``."""
    previous, out = "0" * 64, []
    for entry in _entries(path):
        entry.pop("mac")
        entry["user"] = "iemand_anders"
        entry["sleutel_id"] = "0000-0000-0000"
        entry["prev_mac"] = previous
        line = _signed(key, entry)
        previous = json.loads(line)["mac"]
        out.append(line)
    path.write_bytes(b"".join(out))
    audit.anchor_path(path).write_bytes(_anchor(key, len(out), previous))


def _cut_tail(path, keep, *, anchor=None):
    lines = _lines(path)[:keep]
    path.write_bytes(b"".join(lines))
    last = json.loads(lines[-1])
    if anchor == "copied":  # the anchor's numbers edited, its MAC left as it was
        data = json.loads(audit.anchor_path(path).read_bytes())
        data.update(aantal=keep, laatste_mac=last["mac"])
        audit.anchor_path(path).write_bytes(_canonical(data) + b"\n")
    elif anchor is not None:  # a whole new anchor signed with another key
        audit.anchor_path(path).write_bytes(_anchor(anchor, keep, last["mac"]))


def _move(path, order):
    lines = _lines(path)
    path.write_bytes(b"".join(lines[i] for i in order))


def _insert(path, index, raw):
    lines = _lines(path)
    lines.insert(index, raw)
    path.write_bytes(b"".join(lines))


def _raw(path, change):
    path.write_bytes(change(path.read_bytes()))


def _other_log(path):
    other = path.with_name("ander.jsonl")
    for i in range(5):
        audit.record(f"ander{i}", parameters={"i": i}, path=other)
    return other


def _splice(path):
    lines = _lines(path)
    lines[2] = _lines(_other_log(path))[2]  # validly signed, with the same key
    path.write_bytes(b"".join(lines))


def _replace_log(path):
    path.write_bytes(_other_log(path).read_bytes())  # this log's anchor kept


def _legacy_line(path):
    last = _entries(path)[-1]
    old = {k: last[k] for k in ("seq", "timestamp", "user", "host", "command", "parameters")}
    old.update(seq=last["seq"] + 1, prev_hash=last["mac"])
    old["hash"] = hashlib.sha256(_canonical(old)).hexdigest()
    path.write_bytes(path.read_bytes() + _canonical(old) + b"\n")


def _wrong_key(path, monkeypatch):
    monkeypatch.setenv(keys.AUDIT_KEY_ENV, OTHER_KEY.hex())


#: (id, tampering(path, key, monkeypatch), first bad line or None, words in the message)
TAMPERINGS = [
    (
        "veld_bewerkt",
        lambda p, k, m: _edit_line(p, 3, lambda e: e["parameters"].update(gemeente="GM0599")),
        3,
        "MAC klopt niet",
    ),
    (
        "bewerkt_met_sha256_als_mac",  # the old scheme: a hash anyone can recompute
        lambda p, k, m: _edit_line(
            p, 2, lambda e: e.update(user="x", mac=hashlib.sha256(_canonical(e)).hexdigest())
        ),
        2,
        "MAC klopt niet",
    ),
    (
        "bewerkt_en_getekend_met_andere_sleutel",
        lambda p, k, m: _edit_line(p, 2, _set("user", "iemand_anders"), key=OTHER_KEY),
        2,
        "MAC klopt niet",
    ),
    ("keten_herschreven", lambda p, k, m: _rewrite_chain(p, OTHER_KEY), 1, "andere auditsleutel"),
    (
        "vervalste_regel_achteraan_met_anker",
        lambda p, k, m: _forge_append(p, OTHER_KEY, anchor_key=OTHER_KEY),
        6,
        "MAC klopt niet",
    ),
    (
        "vervalste_regel_achteraan",
        lambda p, k, m: _forge_append(p, OTHER_KEY),
        6,
        "MAC klopt niet",
    ),
    ("einde_weggeknipt", lambda p, k, m: _cut_tail(p, 3), None, "anker noemt 5 regels"),
    (
        "einde_weggeknipt_anker_bewerkt",
        lambda p, k, m: _cut_tail(p, 3, anchor="copied"),
        None,
        "ankerbestand",
    ),
    (
        "einde_weggeknipt_anker_vervalst",
        lambda p, k, m: _cut_tail(p, 3, anchor=OTHER_KEY),
        None,
        "bewerkt",
    ),
    ("regel_verwijderd", lambda p, k, m: _move(p, [0, 2, 3, 4]), 2, "volgnummer"),
    ("eerste_regel_verwijderd", lambda p, k, m: _move(p, [1, 2, 3, 4]), 1, "volgnummer"),
    ("regel_ingevoegd", lambda p, k, m: _move(p, [0, 0, 1, 2, 3, 4]), 2, "volgnummer"),
    ("regel_verdubbeld", lambda p, k, m: _move(p, [0, 1, 2, 3, 4, 4]), 6, "volgnummer"),
    ("regels_verwisseld", lambda p, k, m: _move(p, [0, 3, 2, 1, 4]), 2, "volgnummer"),
    ("laatste_regel_naar_voren", lambda p, k, m: _move(p, [4, 0, 1, 2, 3]), 1, "volgnummer"),
    (
        "dubbele_json_sleutel",  # json.loads would read the last value
        lambda p, k, m: _raw(
            p, lambda d: d.replace(b'"command":"stap2"', b'"command":"stap2","command":"x"')
        ),
        3,
        "twee keer",
    ),
    (
        "dubbele_json_sleutel_zelfde_waarde",
        lambda p, k, m: _raw(
            p, lambda d: d.replace(b'"command":"stap2"', b'"command":"stap2","command":"stap2"')
        ),
        3,
        "twee keer",
    ),
    (
        "laatste_regel_afgebroken",
        lambda p, k, m: _raw(p, lambda d: d[:-10]),
        5,
        "afgebroken",
    ),
    ("geen_json", lambda p, k, m: _raw(p, lambda d: d + b"rommel\n"), 6, "geen geldige JSON"),
    (
        "lege_regel",
        lambda p, k, m: _insert(p, 2, b"\n"),
        3,
        "lege regel",
    ),
    (
        "niet_canoniek",  # same content, other spacing: not the line that was signed
        lambda p, k, m: _raw(
            p,
            lambda d: b"".join(
                (json.dumps(json.loads(x), sort_keys=True) + "\n").encode() if i == 3 else x
                for i, x in enumerate(d.splitlines(keepends=True))
            ),
        ),
        4,
        "vaste",
    ),
    ("crlf_regeleinden", lambda p, k, m: _raw(p, lambda d: d.replace(b"\n", b"\r\n")), 1, "vaste"),
    ("verkeerde_sleutel", lambda p, k, m: _wrong_key(p, m), 1, "andere auditsleutel"),
    (
        "anker_verwijderd",
        lambda p, k, m: audit.anchor_path(p).unlink(),
        None,
        "ankerbestand",
    ),
    ("log_verwijderd", lambda p, k, m: p.unlink(), None, "anker noemt 5"),
    ("oude_regel_achteraan", lambda p, k, m: _legacy_line(p), 6, "oud formaat"),
    (
        "veld_verwijderd",
        lambda p, k, m: _edit_line(p, 2, lambda e: e.pop("host")),
        2,
        "velden ontbreken: host",
    ),
    (
        "veld_toegevoegd",
        lambda p, k, m: _edit_line(p, 2, _set("opmerking", "niets aan de hand")),
        2,
        "onbekende velden: opmerking",
    ),
    ("regel_uit_ander_log", lambda p, k, m: _splice(p), 3, "volgnummer|vorige regel"),
    ("log_vervangen_door_ander_log", lambda p, k, m: _replace_log(p), None, "anker"),
    (
        "echte_regel_getekend_met_echte_sleutel_op_andere_plek",  # chain, not MAC, catches it
        lambda p, k, m: _edit_line(p, 4, _set("prev_mac", "f" * 64), key=k),
        4,
        "vorige regel",
    ),
]


@pytest.mark.parametrize(
    ("tamper", "line", "words"),
    [pytest.param(t, n, w, id=i) for i, t, n, w in TAMPERINGS],
)
def test_every_tampering_is_detected(filled, home, monkeypatch, tamper, line, words):
    import re

    tamper(filled, _key(home), monkeypatch)
    result = audit.verify()
    assert not result.ok
    assert result.eerste_fout_regel == line, result.melding
    assert re.search(words, result.melding), result.melding
    assert "NIET in orde" in result.melding


def test_at_least_seventeen_distinct_tamperings():
    assert len({i for i, *_ in TAMPERINGS}) == len(TAMPERINGS) >= 17


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _changed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return 0
    return str(value) + "x"


def _every_field():
    sample = {
        "formaat": 2,
        "seq": 3,
        "timestamp": "",
        "user": "",
        "host": "",
        "command": "",
        "status": "",
        "gestart_regel": None,
        "parameters": {"gemeente": "", "i": 0},
        "inputs": [{"pad": "", "sha256": ""}],
        "outputs": [],
        "bcba_version": "",
        "sleutel_id": "",
        "prev_mac": "",
    }
    return [p for p in _leaves(sample) if p != ("outputs",)] + [("outputs",)]


@pytest.mark.parametrize("field", _every_field(), ids=lambda p: ".".join(map(str, p)))
def test_editing_any_field_is_detected(filled, field):
    def change(entry):
        target = entry
        for part in field[:-1]:
            target = target[part]
        if field == ("outputs",):
            target["outputs"] = [{"pad": "/tmp/x", "sha256": None}]
        else:
            target[field[-1]] = _changed(target[field[-1]])

    _edit_line(filled, 3, change)
    result = audit.verify()
    assert not result.ok and result.eerste_fout_regel == 3, result.melding


def test_appending_after_tail_tampering_is_refused(filled, home):
    _cut_tail(filled, 3, anchor="copied")
    with pytest.raises(AuditError, match="geknoeid"):
        audit.record("na_inkorten")
    assert len(_lines(filled)) == 3


def test_appending_after_forged_entry_is_refused(filled):
    _forge_append(filled, OTHER_KEY, anchor_key=OTHER_KEY)
    with pytest.raises(AuditError, match="geknoeid"):
        audit.record("erna")


def test_deleted_log_with_anchor_refuses_append(filled):
    filled.unlink()
    with pytest.raises(AuditError, match="ontbreekt"):
        audit.record("opnieuw")


def test_missing_anchor_refuses_append(filled):
    audit.anchor_path(filled).unlink()
    with pytest.raises(AuditError):
        audit.record("zonder_anker")


# --------------------------------------------------------------------------- old logs


def _write_legacy(path: Path, n: int) -> str:
    """A log of format 1 (sha256 chain, no MAC), made by hand from its documentation."""
    previous, lines = "0" * 64, []
    for i in range(1, n + 1):
        entry = {"seq": i, "command": f"oud{i}", "parameters": {}, "prev_hash": previous}
        entry["hash"] = hashlib.sha256(_canonical(entry)).hexdigest()
        previous = entry["hash"]
        lines.append(_canonical(entry) + b"\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    audit.anchor_path(path).write_text(json.dumps({"aantal": n, "laatste_hash": previous}))
    return previous


def test_old_log_is_reported_in_dutch_with_a_fix(log_path):
    _write_legacy(log_path, 3)
    result = audit.verify()
    assert not result.ok and result.verouderd
    assert "van vóór de ondertekende regels" in result.melding
    assert "oude keten zelf is intact" in result.melding and "Oplossing" in result.melding


def test_old_log_is_moved_aside_and_bound_into_the_new_chain(log_path, home):
    last = _write_legacy(log_path, 3)
    sha = hashlib.sha256(log_path.read_bytes()).hexdigest()
    entry = audit.record("na_upgrade")
    assert entry["seq"] == 2
    first, second = _entries(log_path)
    assert first["command"] == "auditlog_overgezet"
    old = Path(first["parameters"]["oud_log"])
    assert old.name.startswith("audit-zonder-sleutel-") and old.suffix == ".jsonl"
    assert hashlib.sha256(old.read_bytes()).hexdigest() == sha  # kept unchanged
    assert first["inputs"] == [{"pad": str(old), "sha256": sha}]
    assert first["parameters"]["oud_aantal"] == 3
    assert first["parameters"]["oud_laatste_hash"] == last
    assert first["mac"] == _mac(_key(home), first)
    assert second["command"] == "na_upgrade"
    assert audit.verify().ok


def test_broken_old_log_is_neither_moved_nor_continued(log_path):
    _write_legacy(log_path, 3)
    lines = _lines(log_path)
    del lines[1]
    log_path.write_bytes(b"".join(lines))
    result = audit.verify()
    assert result.verouderd and "NIET intact" in result.melding
    with pytest.raises(AuditError, match="oude keten"):
        audit.record("x")
    with pytest.raises(AuditError, match="oude keten"):
        audit.migrate_legacy()
    assert log_path.read_bytes() == b"".join(lines)


# --------------------------------------------------------------------------- runs


def test_run_start_and_end_entries(log_path):
    with audit.run_events("run", parameters={"gemeente": "GM0489"}) as run:
        run.parameters["rapport_id"] = "GM0489-20260101-ABCDEF"
    start, end = audit.read_entries()
    assert (start["status"], end["status"]) == ("gestart", "voltooid")
    assert end["gestart_regel"] == start["seq"] == 1
    assert end["parameters"] == {"gemeente": "GM0489", "rapport_id": "GM0489-20260101-ABCDEF"}
    assert audit.verify().ok


def test_failed_run_records_the_error_class_not_its_message(log_path):
    with (
        pytest.raises(ValueError, match="Jan de Vries"),
        audit.run_events("run", parameters={"gemeente": "GM0489"}),
    ):
        raise ValueError("rij 3: waarde 'Jan de Vries' ongeldig")
    start, end = audit.read_entries()
    assert end["status"] == "mislukt" and end["gestart_regel"] == start["seq"]
    assert end["parameters"]["fout"] == "ValueError"
    assert "Vries" not in log_path.read_text(encoding="utf-8")


def test_status_must_be_known(log_path):
    with pytest.raises(AuditError, match="status"):
        audit.record("x", status="half")
    with pytest.raises(AuditError, match="gestart_regel"):
        audit.record("x", gestart_regel="1")
    assert not log_path.exists()


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


def test_concurrent_appends_keep_the_chain_and_make_one_key(log_path, home):
    # no key yet: the three processes race to make it on first use
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
    assert {e["mac"] for e in _entries(log_path)} == {
        _mac(_key(home), e) for e in _entries(log_path)
    }

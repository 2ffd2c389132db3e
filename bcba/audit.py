"""Append-only audit log of everything bcba does with confidential data, chained and signed.

One JSON object per line (JSONL) per installation, default
``~/.local/share/bcba/audit.jsonl`` (override with ``BCBA_AUDITLOG``). Every entry holds
``formaat`` (2), ``seq``, ``timestamp`` (UTC, ISO 8601), ``user``, ``host``, ``command``,
``status`` (``gestart``, ``voltooid`` or ``mislukt``), ``gestart_regel`` (the ``seq`` of the
start entry of the same run, or null), ``parameters`` (never personal data), ``inputs`` and
``outputs`` (path + sha256), ``bcba_version``, ``sleutel_id`` (fingerprint of the audit
key), ``prev_mac`` (the ``mac`` of the entry before; 64 zeros for the first) and ``mac``.

The canonical form of an entry is ``json.dumps(entry, sort_keys=True, separators=(",",
":"), ensure_ascii=False)`` in UTF-8, and ``mac`` is the hex HMAC-SHA256, with the audit key
(:func:`bcba.keys.load_audit_key`), of ``b"bcba-auditregel|"`` followed by the canonical
form of the entry without ``mac``. Each line is exactly the canonical form of its entry
(``mac`` included) and a line feed. The anchor file ``audit.jsonl.anker`` holds the number
of entries and the last ``mac``, signed the same way (prefix ``b"bcba-auditanker|"``), and
is rewritten under the same lock as every append.

Without the key nobody can edit, insert, forge or reorder an entry, nor cut off the tail
and edit the anchor to match. Whoever holds the key (by default the same account) can;
see docs/privacy.md for keeping the key and a copy of the anchor elsewhere. Logs written
before the key existed (sha256 chain only) are reported as such by :func:`verify` and
moved aside by :func:`migrate_legacy`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bcba.errors import AuditError, PrivacyError

log = logging.getLogger(__name__)

#: Environment variable naming the audit log file.
AUDIT_ENV = "BCBA_AUDITLOG"
#: prev_mac of the first entry.
GENESIS = "0" * 64
ANCHOR_SUFFIX = ".anker"
#: Format of keyed entries (entries without it are from before the audit key).
FORMAT = 2
#: Status of an entry: a run's start, its successful end, its failure.
STARTED, COMPLETED, FAILED = "gestart", "voltooid", "mislukt"
STATUSES = (STARTED, COMPLETED, FAILED)
#: The fields of a keyed entry, exactly.
ENTRY_FIELDS = frozenset(
    {
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
)
ANCHOR_FIELDS = frozenset({"formaat", "aantal", "laatste_mac", "mac"})
_ENTRY_DOMAIN = b"bcba-auditregel|"
_ANCHOR_DOMAIN = b"bcba-auditanker|"

#: Parameter names that would carry personal data and are refused in an entry.
_PERSONAL_PARAMETERS = frozenset(
    {
        "naam",
        "namen",
        "geboortedatum",
        "geboortedata",
        "persoon_naam",
        "koper_naam",
        "verkoper_naam",
        "bsn",
    }
)


def default_log_path() -> Path:
    """``$BCBA_AUDITLOG`` if set, else ``~/.local/share/bcba/audit.jsonl``."""
    env = os.environ.get(AUDIT_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "bcba" / "audit.jsonl"


def anchor_path(path: str | os.PathLike) -> Path:
    """The anchor file beside a log: ``audit.jsonl.anker``."""
    path = Path(path)
    return path.with_name(path.name + ANCHOR_SUFFIX)


def sha256_file(path: str | os.PathLike, *, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def canonical_json(entry: Mapping) -> bytes:
    """The canonical bytes of an entry: sorted keys, no spaces, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def entry_mac(entry: Mapping, key: bytes) -> str:
    """Hex HMAC-SHA256 (audit key) of the canonical JSON of ``entry`` without ``mac``."""
    body = canonical_json({k: v for k, v in entry.items() if k != "mac"})
    return hmac.new(key, _ENTRY_DOMAIN + body, hashlib.sha256).hexdigest()


def anchor_mac(anchor: Mapping, key: bytes) -> str:
    """Hex HMAC-SHA256 (audit key) of the canonical JSON of the anchor without ``mac``."""
    body = canonical_json({k: v for k, v in anchor.items() if k != "mac"})
    return hmac.new(key, _ANCHOR_DOMAIN + body, hashlib.sha256).hexdigest()


def entry_hash(entry: Mapping) -> str:
    """sha256 of the canonical JSON of ``entry`` without ``hash`` (entries of format 1,
    from before the audit key)."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in entry.items() if k != "hash"})
    ).hexdigest()


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    seen: set[str] = set()
    for k in keys:
        if k in seen:
            raise _DuplicateKeyError(k)
        seen.add(k)
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is geen JSON")


def _strict_loads(raw: bytes) -> object:
    """JSON that a reader cannot read two ways: duplicate keys and NaN/Infinity refused."""
    return json.loads(
        raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
    )


def _file_refs(items: Iterable | None) -> list[dict]:
    """Normalise inputs/outputs to ``[{"pad": str, "sha256": str | None}]``."""
    refs: list[dict] = []
    for item in items or ():
        if isinstance(item, Mapping):
            ref = {"pad": str(item.get("pad", item.get("path", ""))), "sha256": item.get("sha256")}
            if ref["sha256"] is None and ref["pad"] and Path(ref["pad"]).is_file():
                ref["sha256"] = sha256_file(ref["pad"])
            refs.append(ref)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            refs.extend({"pad": str(p), "sha256": sha256_file(p)} for p in files)
        else:
            refs.append({"pad": str(path), "sha256": sha256_file(path) if path.is_file() else None})
    return refs


def _check_parameters(parameters: Mapping) -> dict:
    bad = sorted(k for k in parameters if str(k).lower() in _PERSONAL_PARAMETERS)
    if bad:
        raise PrivacyError(
            "Het auditlog mag geen persoonsgegevens bevatten; verwijder de parameter(s) "
            + ", ".join(repr(b) for b in bad)
            + "."
        )
    # round-trip through JSON so dates/paths become strings and the MAC is reproducible
    return json.loads(json.dumps(dict(parameters), default=str, ensure_ascii=False))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive lock on ``<log>.lock`` (fcntl), so parallel batch runs append in turn."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_anchor(path: Path, count: int, last_mac: str, key: bytes) -> None:
    anchor = {"formaat": FORMAT, "aantal": count, "laatste_mac": last_mac}
    anchor["mac"] = anchor_mac(anchor, key)
    _write_atomic(anchor_path(path), canonical_json(anchor) + b"\n")


def _last_line(path: Path) -> bytes | None:
    """The last line of a file (without its line feed), read from the end."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        block = 65536
        data = b""
        pos = size
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            data = fh.read(step) + data
            stripped = data.removesuffix(b"\n")
            if b"\n" in stripped or pos == 0:
                return stripped.rsplit(b"\n", 1)[-1] if stripped else None
    return None


def _first_line(path: Path) -> bytes | None:
    with open(path, "rb") as fh:
        line = fh.readline()
    return line.rstrip(b"\n") or None


def _is_legacy(line: bytes | None) -> bool:
    """Whether a line is an entry of format 1 (sha256 chain, no MAC)."""
    if not line:
        return False
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    return isinstance(entry, dict) and "hash" in entry and "mac" not in entry


def _audit_key(*, create: bool) -> bytes | None:
    from bcba.keys import load_audit_key

    return load_audit_key(create=create)


def _key_id(key: bytes) -> str:
    from bcba.keys import key_fingerprint

    return key_fingerprint(key)


def _missing_key_message(log_path: Path) -> str:
    from bcba.keys import AUDIT_KEY_ENV, default_audit_key_path

    return (
        f"De auditsleutel ontbreekt ({default_audit_key_path()} bestaat niet en "
        f"{AUDIT_KEY_ENV} is niet gezet), maar het auditlog {log_path} heeft regels die met "
        "een sleutel zijn ondertekend. Zet de sleutel terug uit de back-up; een nieuwe "
        "sleutel maakt het log oncontroleerbaar, dus er wordt niets toegevoegd."
    )


def _append_locked(log_path: Path, fields: dict, key: bytes) -> dict:
    """Append one keyed entry; the caller holds the lock and has chosen the key."""
    from bcba import __version__

    anchor = _read_anchor(log_path)
    exists = log_path.exists() and log_path.stat().st_size > 0
    if exists:
        last = _check_tail(log_path, anchor, key)
        seq, prev_mac = int(last["seq"]) + 1, str(last["mac"])
    else:
        if anchor is not None and anchor.get("aantal"):
            raise AuditError(
                f"Het auditlog {log_path} ontbreekt of is leeg, maar het anker zegt dat er "
                f"{anchor['aantal']} regels waren. Er wordt niets toegevoegd; meld dit bij "
                "de beheerder."
            )
        seq, prev_mac = 1, GENESIS
    entry = {
        "formaat": FORMAT,
        "seq": seq,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "user": getpass.getuser(),
        "host": socket.gethostname(),
        **fields,
        "bcba_version": __version__,
        "sleutel_id": _key_id(key),
        "prev_mac": prev_mac,
    }
    entry["mac"] = entry_mac(entry, key)
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as fh:
        fh.write(canonical_json(entry) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    _write_anchor(log_path, seq, entry["mac"], key)
    log.debug("auditregel %d: %s (%s)", seq, fields["command"], fields["status"])
    return entry


def _check_tail(log_path: Path, anchor: dict | None, key: bytes) -> dict:
    """The last entry, after checking it and the anchor with the key (raise if not)."""
    tamper = (
        f"Het auditlog {log_path} komt niet overeen met het anker {anchor_path(log_path)} of "
        "met de auditsleutel; er is mogelijk geknoeid. Er wordt niets toegevoegd; voer "
        "'bcba audit controleer' uit en meld dit bij de beheerder."
    )
    line = _last_line(log_path)
    try:
        last = _strict_loads(line) if line else None
    except ValueError as exc:
        raise AuditError(
            f"De laatste regel van het auditlog {log_path} is beschadigd; "
            "voer 'bcba audit controleer' uit."
        ) from exc
    if (
        not isinstance(last, dict)
        or not isinstance(last.get("mac"), str)
        or not hmac.compare_digest(entry_mac(last, key), last["mac"])
        or anchor is None
        or anchor.get("formaat") != FORMAT
        or not isinstance(anchor.get("mac"), str)
        or not hmac.compare_digest(anchor_mac(anchor, key), anchor["mac"])
        or anchor.get("aantal") != last.get("seq")
        or anchor.get("laatste_mac") != last["mac"]
    ):
        raise AuditError(tamper)
    return last


def _read_anchor(path: Path) -> dict | None:
    anchor = anchor_path(path)
    if not anchor.exists():
        return None
    try:
        data = _strict_loads(anchor.read_bytes())
    except ValueError as exc:
        raise AuditError(f"Het ankerbestand {anchor} is onleesbaar ({exc}).") from exc
    if not isinstance(data, dict):
        raise AuditError(f"Het ankerbestand {anchor} is onleesbaar (geen JSON-object).")
    return data


def append(event: Mapping, *, path: str | os.PathLike | None = None) -> dict:
    """Append one entry to the audit log and return it (with ``seq`` and ``mac``).

    Parameters
    ----------
    event
        ``command`` (str, required), optional ``status`` (one of :data:`STATUSES`,
        default ``voltooid``), ``gestart_regel`` (the ``seq`` of this run's start entry),
        ``parameters`` (dict, no personal data), ``inputs`` and ``outputs`` (paths,
        folders or ``{"pad", "sha256"}`` dicts; the sha256 of existing files is computed
        here).
    path
        The log file; default :func:`default_log_path`.

    Raises
    ------
    AuditError
        The log does not match its anchor or the audit key (tail cut off, log removed,
        entry edited), or the log holds signed entries but the key is gone: appending
        would hide the damage, so nothing is written until it is investigated.
    PrivacyError
        A parameter name that stands for personal data (naam, geboortedatum, ...), or an
        audit key file readable by others.
    """
    log_path = Path(path).expanduser() if path is not None else default_log_path()
    command = event.get("command")
    if not command or not isinstance(command, str):
        raise AuditError("Een auditregel heeft een 'command' (tekst) nodig.")
    unknown = set(event) - {"command", "status", "gestart_regel", "parameters", "inputs", "outputs"}
    if unknown:
        raise AuditError(f"Onbekende velden in auditregel: {', '.join(sorted(unknown))}.")
    status = event.get("status") or COMPLETED
    if status not in STATUSES:
        raise AuditError(f"status moet een van {', '.join(STATUSES)} zijn, niet {status!r}.")
    started = event.get("gestart_regel")
    if started is not None and (isinstance(started, bool) or not isinstance(started, int)):
        raise AuditError(f"gestart_regel moet een volgnummer zijn, niet {started!r}.")
    fields = {
        "command": command,
        "status": status,
        "gestart_regel": started,
        "parameters": _check_parameters(event.get("parameters") or {}),
        "inputs": _file_refs(event.get("inputs")),
        "outputs": _file_refs(event.get("outputs")),
    }
    with _locked(log_path):
        if _is_legacy(_first_line(log_path) if log_path.exists() else None):
            _migrate_locked(log_path)
        signed = log_path.exists() and log_path.stat().st_size > 0
        key = _audit_key(create=not signed)
        if key is None:
            raise AuditError(_missing_key_message(log_path))
        return _append_locked(log_path, fields, key)


def record(
    command: str,
    *,
    status: str = COMPLETED,
    parameters: Mapping | None = None,
    inputs: Iterable | None = None,
    outputs: Iterable | None = None,
    gestart_regel: int | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """Shorthand for :func:`append` with keyword arguments.

    A one-off action (``herleid``, ``opschonen``) is one entry with status ``voltooid``. A
    run gets two: ``record("run", status="gestart", ...)`` at its start, and at its end
    ``record("run", status="voltooid" | "mislukt", gestart_regel=start["seq"], ...)``;
    :func:`run_events` does both.
    """
    return append(
        {
            "command": command,
            "status": status,
            "gestart_regel": gestart_regel,
            "parameters": dict(parameters or {}),
            "inputs": list(inputs or []),
            "outputs": list(outputs or []),
        },
        path=path,
    )


@dataclass
class RunAudit:
    """What :func:`run_events` records at a run's end: add outputs and parameters here."""

    start: dict
    parameters: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)


@contextlib.contextmanager
def run_events(
    command: str,
    *,
    parameters: Mapping | None = None,
    inputs: Iterable | None = None,
    path: str | os.PathLike | None = None,
) -> Iterator[RunAudit]:
    """Record a run's start (``gestart``) and its end (``voltooid`` or ``mislukt``).

    ::

        with audit.run_events("run", parameters=params, inputs=files) as run:
            ...                                   # the work
            run.outputs.append(report_folder)     # hashed in the end entry
            run.parameters["rapport_id"] = rid

    The end entry names the start entry (``gestart_regel``), repeats ``parameters``
    updated with ``run.parameters``, and lists ``run.outputs``. A failure is recorded with
    the name of the exception class only (``fout``), never its message, which may quote
    input values; the exception is re-raised. An interrupted run (Ctrl-C) is ``mislukt``
    with ``fout`` ``KeyboardInterrupt``; a killed process leaves only its ``gestart``.
    """
    start = record(command, status=STARTED, parameters=parameters, inputs=inputs, path=path)
    run = RunAudit(start)
    try:
        yield run
    except BaseException as exc:
        try:
            record(
                command,
                status=FAILED,
                parameters={**(parameters or {}), **run.parameters, "fout": type(exc).__name__},
                outputs=run.outputs,
                gestart_regel=start["seq"],
                path=path,
            )
        except (AuditError, OSError) as audit_exc:  # never hide the run's own failure
            log.error("mislukte run niet in het auditlog gezet: %s", audit_exc)
        raise
    record(
        command,
        status=COMPLETED,
        parameters={**(parameters or {}), **run.parameters},
        outputs=run.outputs,
        gestart_regel=start["seq"],
        path=path,
    )


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    ok
        True when every line and the anchor are intact and signed with the audit key.
    aantal
        Number of entries read (intact ones, up to the first bad line).
    eerste_fout_regel
        1-based line number of the first bad line (None when ok or when only the anchor,
        the key or the log as a whole is wrong).
    melding
        Dutch message for the analyst.
    verouderd
        True for a log from before the audit key (format 1): :func:`migrate_legacy`.
    """

    ok: bool
    aantal: int
    eerste_fout_regel: int | None
    melding: str
    verouderd: bool = False

    def __bool__(self) -> bool:
        return self.ok


def verify(path: str | os.PathLike | None = None, *, key: bytes | None = None) -> VerifyResult:
    """Check every line, the chain and the anchor with the audit key; name the first bad line.

    Detects an edited field or a forged or rewritten entry (MAC), duplicate JSON keys or a
    line not in canonical form, a removed, inserted, duplicated or reordered line
    (``seq`` and ``prev_mac``), a truncated or non-JSON line, a cut-off tail (the signed
    anchor), an edited anchor, and a wrong or missing key. A missing log without an anchor
    is an empty, valid log.

    Parameters
    ----------
    path
        The log; default :func:`default_log_path`.
    key
        The audit key; default :func:`bcba.keys.load_audit_key` (never made here).
    """
    log_path = Path(path).expanduser() if path is not None else default_log_path()

    def bad(n: int, line_no: int | None, why: str) -> VerifyResult:
        where = f"regel {line_no}: " if line_no is not None else ""
        return VerifyResult(False, n, line_no, f"Auditlog {log_path} is NIET in orde. {where}{why}")

    with _locked(log_path):
        try:
            anchor = _read_anchor(log_path)
        except AuditError as exc:
            return bad(0, None, str(exc))
        data = log_path.read_bytes() if log_path.exists() else b""
        if not data:
            if anchor is not None and anchor.get("aantal"):
                return bad(
                    0,
                    None,
                    f"het log ontbreekt of is leeg, maar het anker noemt {anchor['aantal']} "
                    "regels.",
                )
            return VerifyResult(True, 0, None, f"Auditlog {log_path} is leeg (nog geen regels).")
        lines = data.split(b"\n")
        cut = lines.pop()  # b"" after the last line feed, else a line without one
        if _is_legacy(lines[0] if lines else cut):
            return _verify_legacy(log_path, lines, anchor, cut=bool(cut))
        if key is None:
            try:
                key = _audit_key(create=False)
            except PrivacyError as exc:
                return bad(0, None, str(exc))
        if key is None:
            return bad(0, None, _missing_key_message(log_path))
        key_id = _key_id(key)
        prev_mac, count = GENESIS, 0
        for line_no, raw in enumerate(lines, start=1):
            why, entry = _entry_problem(raw, line_no, prev_mac, key, key_id)
            if why is not None:
                return bad(count, line_no, why)
            prev_mac, count = entry["mac"], count + 1
        if cut:
            return bad(
                count,
                count + 1,
                "de laatste regel is afgebroken (geen regeleinde): weggeknipt of half geschreven.",
            )
        return _check_anchor(log_path, anchor, count, prev_mac, key, bad)


def _entry_problem(
    raw: bytes, line_no: int, prev_mac: str, key: bytes, key_id: str
) -> tuple[str | None, dict | None]:
    """Why line ``line_no`` is not a genuine entry in its place (None if it is), and the
    entry."""
    why, entry = _parse_entry(raw)
    if why is None:
        why = _entry_chain_problem(raw, entry, line_no, prev_mac, key, key_id)
    return why, entry


def _parse_entry(raw: bytes) -> tuple[str | None, dict | None]:
    """The entry of a line with exactly the fields of a keyed entry, or why not."""
    if not raw.strip():
        return "lege regel gevonden (regel verwijderd of ingevoegd).", None
    try:
        entry = _strict_loads(raw)
    except _DuplicateKeyError as exc:
        return (
            f"het veld '{exc}' staat twee keer in de regel; een lezer ziet de ene waarde, "
            "de controle de andere (regel vervalst).",
            None,
        )
    except (ValueError, UnicodeDecodeError):
        return "geen geldige JSON (regel bewerkt of afgebroken).", None
    if not isinstance(entry, dict):
        return "geen JSON-object (regel bewerkt).", None
    if "mac" not in entry:
        if "hash" in entry:
            return "regel zonder MAC (oud formaat) tussen regels met MAC: ingevoegd.", None
        return "regel heeft geen MAC (regel bewerkt).", None
    missing = sorted(ENTRY_FIELDS - set(entry))
    extra = sorted(set(entry) - ENTRY_FIELDS)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"velden ontbreken: {', '.join(missing)}")
        if extra:
            parts.append(f"onbekende velden: {', '.join(extra)}")
        return f"{'; '.join(parts)} (regel bewerkt).", None
    return None, entry


def _entry_chain_problem(
    raw: bytes, entry: dict, line_no: int, prev_mac: str, key: bytes, key_id: str
) -> str | None:
    if not isinstance(entry["mac"], str) or not hmac.compare_digest(
        entry_mac(entry, key), entry["mac"]
    ):
        if entry.get("sleutel_id") != key_id:
            return (
                f"de MAC klopt niet, en de regel noemt een andere auditsleutel "
                f"({entry.get('sleutel_id')}; deze controle gebruikt {key_id}): een verkeerde "
                "sleutel, of de regel is vervalst."
            )
        return "de MAC klopt niet met de inhoud (regel bewerkt, vervalst of herschreven)."
    if raw != canonical_json(entry):
        return "de regel staat niet in de vaste (canonieke) vorm (regel bewerkt)."
    if entry["seq"] != line_no:
        return (
            f"volgnummer {entry['seq']} verwacht {line_no} "
            "(regel verwijderd, ingevoegd, verdubbeld of verplaatst)."
        )
    if entry["prev_mac"] != prev_mac:
        return (
            "de verwijzing naar de vorige regel klopt niet "
            "(regel verwijderd, ingevoegd of verplaatst)."
        )
    return None


def _check_anchor(log_path, anchor, count, last_mac, key, bad) -> VerifyResult:
    if anchor is None:
        return bad(count, None, f"het ankerbestand {anchor_path(log_path)} ontbreekt.")
    signed = (
        set(anchor) == ANCHOR_FIELDS
        and anchor["formaat"] == FORMAT
        and isinstance(anchor["mac"], str)
        and hmac.compare_digest(anchor_mac(anchor, key), anchor["mac"])
    )
    if not signed:
        return bad(
            count,
            None,
            f"het ankerbestand {anchor_path(log_path)} is bewerkt (de MAC klopt niet).",
        )
    if anchor["aantal"] != count or anchor["laatste_mac"] != last_mac:
        return bad(
            count,
            None,
            f"het anker noemt {anchor['aantal']} regels, het log heeft er {count}; "
            "het einde van het log is mogelijk verwijderd.",
        )
    return VerifyResult(
        True,
        count,
        None,
        f"Auditlog {log_path} is in orde: {count} regels, keten intact en ondertekend "
        f"met auditsleutel {_key_id(key)}.",
    )


def _legacy_problem(log_path: Path, lines: list[bytes], anchor: dict | None) -> str | None:
    """Why a format-1 log (sha256 chain) is broken, or None when its chain is intact."""
    prev_hash = GENESIS
    for line_no, raw in enumerate(lines, start=1):
        try:
            entry = _strict_loads(raw)
        except ValueError:
            return f"regel {line_no}: geen geldige JSON"
        if not isinstance(entry, dict) or "hash" not in entry:
            return f"regel {line_no}: geen hash"
        if entry_hash(entry) != entry["hash"]:
            return f"regel {line_no}: de inhoud past niet bij de hash"
        if entry.get("seq") != line_no or entry.get("prev_hash") != prev_hash:
            return f"regel {line_no}: de keten klopt niet"
        prev_hash = entry["hash"]
    if anchor is None:
        return f"het ankerbestand {anchor_path(log_path)} ontbreekt"
    if anchor.get("aantal") != len(lines) or anchor.get("laatste_hash") != prev_hash:
        return "het anker past niet bij het log"
    return None


def _verify_legacy(
    log_path: Path, lines: list[bytes], anchor: dict | None, *, cut: bool
) -> VerifyResult:
    problem = "de laatste regel is afgebroken" if cut else _legacy_problem(log_path, lines, anchor)
    state = (
        "De oude keten zelf is intact."
        if problem is None
        else f"De oude keten is NIET intact ({problem}); meld dit bij de beheerder."
    )
    fix = (
        "Oplossing: de volgende handeling van bcba (of bcba.audit.migrate_legacy()) bewaart "
        "dit log ongewijzigd onder een nieuwe naam en begint een nieuw, ondertekend log "
        "waarvan de eerste regel de sha256 van het oude log vastlegt."
        if problem is None
        else "Het log wordt pas overgezet als de oude keten klopt."
    )
    return VerifyResult(
        False,
        len(lines),
        None,
        f"Auditlog {log_path} is van vóór de ondertekende regels (bcba 0.2 of ouder): de "
        f"{len(lines)} regels hebben alleen een sha256-keten zonder sleutel, die iedereen met "
        f"schrijfrechten ongemerkt kan herschrijven. {state} {fix}",
        verouderd=True,
    )


def migrate_legacy(path: str | os.PathLike | None = None) -> Path | None:
    """Move a log from before the audit key aside and start a signed one.

    The old log and its anchor are renamed (unchanged) to
    ``<naam>-zonder-sleutel-<UTC-tijd>.jsonl``; the first entry of the new log
    (``auditlog_overgezet``) records the old file's path, sha256, number of entries and
    last hash, so from then on the old log cannot be changed unnoticed either.
    :func:`append` does this by itself on the first entry after an upgrade.

    Returns
    -------
    Path or None
        The renamed old log; None when the log was not of the old format.

    Raises
    ------
    AuditError
        The old chain is broken: it must be investigated first.
    """
    log_path = Path(path).expanduser() if path is not None else default_log_path()
    with _locked(log_path):
        if not (log_path.exists() and _is_legacy(_first_line(log_path))):
            return None
        return _migrate_locked(log_path)


def _migrate_locked(log_path: Path) -> Path:
    lines = log_path.read_bytes().split(b"\n")
    if lines[-1]:
        problem = "de laatste regel is afgebroken"
    else:
        problem = _legacy_problem(log_path, lines[:-1], _read_anchor(log_path))
    if problem is not None:
        raise AuditError(
            f"Het auditlog {log_path} is van vóór de ondertekende regels en de oude keten "
            f"klopt niet ({problem}). Er wordt niets toegevoegd of overgezet; meld dit bij "
            "de beheerder."
        )
    count = len(lines) - 1
    last_hash = json.loads(lines[-2])["hash"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    old = log_path.with_name(f"{log_path.stem}-zonder-sleutel-{stamp}{log_path.suffix}")
    sha = sha256_file(log_path)
    os.replace(log_path, old)
    if anchor_path(log_path).exists():
        os.replace(anchor_path(log_path), anchor_path(old))
    key = _audit_key(create=True)
    _append_locked(
        log_path,
        {
            "command": "auditlog_overgezet",
            "status": COMPLETED,
            "gestart_regel": None,
            "parameters": {
                "oud_log": str(old),
                "oud_aantal": count,
                "oud_laatste_hash": last_hash,
            },
            "inputs": [{"pad": str(old), "sha256": sha}],
            "outputs": [],
        },
        key,
    )
    log.warning("oud auditlog zonder sleutel bewaard als %s; nieuw ondertekend log begonnen", old)
    return old


def read_entries(path: str | os.PathLike | None = None) -> list[dict]:
    """All entries of the log as dicts (no verification; use :func:`verify` for that)."""
    log_path = Path(path).expanduser() if path is not None else default_log_path()
    if not log_path.exists():
        return []
    with open(log_path, "rb") as fh:
        return [json.loads(line) for line in fh if line.strip()]

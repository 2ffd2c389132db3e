"""Append-only, hash-chained audit log of everything bcba does with confidential data.

One JSON object per line (JSONL) per installation, default
``~/.local/share/bcba/audit.jsonl`` (override with ``BCBA_AUDITLOG``). Every entry holds
``seq``, ``timestamp`` (UTC, ISO 8601), ``user``, ``host``, ``command``, ``parameters`` (never
personal data), ``inputs`` and ``outputs`` (path + sha256), ``bcba_version``, ``prev_hash``
and ``hash`` = sha256 of the canonical JSON of the entry without ``hash``.

Editing, removing, inserting or reordering a line breaks the chain; cutting off the tail
is caught by the anchor file ``audit.jsonl.anker`` (count + last hash), rewritten under
the same lock as every append. The chain makes tampering *evident*, not impossible:
someone who rewrites the whole file and the anchor with recomputed hashes is only caught
by comparing with an anchor kept elsewhere (see docs/privacy.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bcba.errors import AuditError, PrivacyError

log = logging.getLogger(__name__)

#: Environment variable naming the audit log file.
AUDIT_ENV = "BCBA_AUDITLOG"
#: prev_hash of the first entry.
GENESIS = "0" * 64
ANCHOR_SUFFIX = ".anker"

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
    """The canonical bytes that are hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def entry_hash(entry: Mapping) -> str:
    """sha256 of the canonical JSON of ``entry`` without its ``hash`` field."""
    return hashlib.sha256(
        canonical_json({k: v for k, v in entry.items() if k != "hash"})
    ).hexdigest()


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
    # round-trip through JSON so dates/paths become strings and the hash is reproducible
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


def _read_anchor(path: Path) -> dict | None:
    anchor = anchor_path(path)
    if not anchor.exists():
        return None
    try:
        data = json.loads(anchor.read_text(encoding="utf-8"))
        return {"aantal": int(data["aantal"]), "laatste_hash": str(data["laatste_hash"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditError(f"Het ankerbestand {anchor} is onleesbaar ({exc}).") from exc


def _write_anchor(path: Path, count: int, last_hash: str) -> None:
    anchor = anchor_path(path)
    tmp = anchor.with_name(anchor.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"aantal": count, "laatste_hash": last_hash}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, anchor)


def _last_line(path: Path) -> bytes | None:
    """The last non-empty line of a file, read from the end."""
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
            stripped = data.rstrip(b"\n")
            if b"\n" in stripped or pos == 0:
                return stripped.rsplit(b"\n", 1)[-1] if stripped else None
    return None


def append(event: Mapping, *, path: str | os.PathLike | None = None) -> dict:
    """Append one entry to the audit log and return it (with ``seq`` and ``hash``).

    Parameters
    ----------
    event
        ``command`` (str, required), optional ``parameters`` (dict, no personal data),
        ``inputs`` and ``outputs`` (paths, folders or ``{"pad", "sha256"}`` dicts; the
        sha256 of existing files is computed here).
    path
        The log file; default :func:`default_log_path`.

    Raises
    ------
    AuditError
        The log does not match its anchor (tail cut off, log removed): appending would
        hide the damage, so nothing is written until it is investigated.
    PrivacyError
        A parameter name that stands for personal data (naam, geboortedatum, ...).
    """
    from bcba import __version__

    log_path = Path(path).expanduser() if path is not None else default_log_path()
    command = event.get("command")
    if not command or not isinstance(command, str):
        raise AuditError("Een auditregel heeft een 'command' (tekst) nodig.")
    unknown = set(event) - {"command", "parameters", "inputs", "outputs"}
    if unknown:
        raise AuditError(f"Onbekende velden in auditregel: {', '.join(sorted(unknown))}.")
    parameters = _check_parameters(event.get("parameters") or {})
    inputs = _file_refs(event.get("inputs"))
    outputs = _file_refs(event.get("outputs"))

    with _locked(log_path):
        anchor = _read_anchor(log_path)
        exists = log_path.exists() and log_path.stat().st_size > 0
        if exists:
            line = _last_line(log_path)
            try:
                last = json.loads(line) if line else None
            except ValueError as exc:
                raise AuditError(
                    f"De laatste regel van het auditlog {log_path} is beschadigd; "
                    "voer 'bcba audit verify' uit."
                ) from exc
            if (
                last is None
                or anchor is None
                or (
                    last.get("seq") != anchor["aantal"]
                    or last.get("hash") != anchor["laatste_hash"]
                )
            ):
                raise AuditError(
                    f"Het auditlog {log_path} komt niet overeen met het anker "
                    f"{anchor_path(log_path)}; er is mogelijk geknoeid. Er wordt niets "
                    "toegevoegd; voer 'bcba audit verify' uit en meld dit bij de beheerder."
                )
            seq, prev_hash = int(last["seq"]) + 1, str(last["hash"])
        else:
            if anchor is not None and anchor["aantal"] > 0:
                raise AuditError(
                    f"Het auditlog {log_path} ontbreekt of is leeg, maar het anker zegt dat er "
                    f"{anchor['aantal']} regels waren. Er wordt niets toegevoegd; meld dit bij "
                    "de beheerder."
                )
            seq, prev_hash = 1, GENESIS
        entry = {
            "seq": seq,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "user": getpass.getuser(),
            "host": socket.gethostname(),
            "command": command,
            "parameters": parameters,
            "inputs": inputs,
            "outputs": outputs,
            "bcba_version": __version__,
            "prev_hash": prev_hash,
        }
        entry["hash"] = entry_hash(entry)
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as fh:
            fh.write(canonical_json(entry) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        _write_anchor(log_path, seq, entry["hash"])
    log.debug("auditregel %d: %s", seq, command)
    return entry


def record(
    command: str,
    *,
    parameters: Mapping | None = None,
    inputs: Iterable | None = None,
    outputs: Iterable | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """Shorthand for :func:`append` with keyword arguments."""
    return append(
        {
            "command": command,
            "parameters": dict(parameters or {}),
            "inputs": list(inputs or []),
            "outputs": list(outputs or []),
        },
        path=path,
    )


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    ok
        True when every line and the anchor are intact.
    aantal
        Number of entries read.
    eerste_fout_regel
        1-based line number of the first bad line (None when ok or when only the anchor
        disagrees).
    melding
        Dutch message for the analyst.
    """

    ok: bool
    aantal: int
    eerste_fout_regel: int | None
    melding: str

    def __bool__(self) -> bool:
        return self.ok


def verify(path: str | os.PathLike | None = None) -> VerifyResult:
    """Check the whole chain and the anchor; name the first bad line in Dutch.

    Detects an edited field (hash), a removed, inserted or reordered line (seq and
    prev_hash) and a cut-off tail (anchor). A missing log without an anchor is an empty,
    valid log.
    """
    log_path = Path(path).expanduser() if path is not None else default_log_path()

    def bad(n: int, line_no: int | None, why: str) -> VerifyResult:
        where = f"regel {line_no}: " if line_no is not None else ""
        return VerifyResult(False, n, line_no, f"Auditlog {log_path} is NIET in orde. {where}{why}")

    with _locked(log_path):
        anchor = _read_anchor(log_path)
        if not log_path.exists():
            if anchor is not None and anchor["aantal"] > 0:
                return bad(
                    0, None, f"het log ontbreekt, maar het anker noemt {anchor['aantal']} regels."
                )
            return VerifyResult(True, 0, None, f"Auditlog {log_path} is leeg (nog geen regels).")
        prev_hash, count = GENESIS, 0
        with open(log_path, "rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                if not raw.strip():
                    return bad(
                        count, line_no, "lege regel gevonden (regel verwijderd of ingevoegd)."
                    )
                try:
                    entry = json.loads(raw)
                except ValueError:
                    return bad(count, line_no, "geen geldige JSON (regel bewerkt of afgebroken).")
                if not isinstance(entry, dict) or "hash" not in entry:
                    return bad(count, line_no, "regel heeft geen hash.")
                if entry_hash(entry) != entry["hash"]:
                    return bad(count, line_no, "de inhoud past niet bij de hash (regel bewerkt).")
                if entry.get("seq") != line_no:
                    return bad(
                        count,
                        line_no,
                        f"volgnummer {entry.get('seq')} verwacht {line_no} "
                        "(regel verwijderd, ingevoegd of verplaatst).",
                    )
                if entry.get("prev_hash") != prev_hash:
                    return bad(
                        count,
                        line_no,
                        "de verwijzing naar de vorige regel klopt niet "
                        "(regel verwijderd, ingevoegd of verplaatst).",
                    )
                prev_hash, count = entry["hash"], count + 1
    if anchor is None:
        if count == 0:
            return VerifyResult(True, 0, None, f"Auditlog {log_path} is leeg (nog geen regels).")
        return bad(count, None, f"het ankerbestand {anchor_path(log_path)} ontbreekt.")
    if anchor["aantal"] != count or anchor["laatste_hash"] != prev_hash:
        return bad(
            count,
            None,
            f"het anker noemt {anchor['aantal']} regels, het log heeft er {count}; "
            "het einde van het log is mogelijk verwijderd.",
        )
    return VerifyResult(
        True, count, None, f"Auditlog {log_path} is in orde: {count} regels, keten intact."
    )


def read_entries(path: str | os.PathLike | None = None) -> list[dict]:
    """All entries of the log as dicts (no verification; use :func:`verify` for that)."""
    log_path = Path(path).expanduser() if path is not None else default_log_path()
    if not log_path.exists():
        return []
    with open(log_path, "rb") as fh:
        return [json.loads(line) for line in fh if line.strip()]

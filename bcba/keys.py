"""The secret pseudonymisation key: where it lives, how it is created and loaded.

The key turns names and birth dates into pseudonyms (HMAC-SHA256, see
:func:`bcba.privacy.pseudonym`). Whoever holds the key and a list of names can re-identify
persons, so the key never lives inside the project folder or a git repository, and a key
file must be readable by its owner only (mode 0600).

Lookup order of :func:`load_key`:

1. environment variable ``BCBA_SLEUTEL`` (hex or base64, at least 32 bytes);
2. the key file named by ``BCBA_SLEUTELBESTAND``;
3. the default key file ``~/.config/bcba/sleutel.key``.

The audit key (:func:`load_audit_key`) signs the audit log (HMAC-SHA256, see
:mod:`bcba.audit`) and is kept the same way, apart from the pseudonymisation key:
``BCBA_AUDITSLEUTEL``, the file named by ``BCBA_AUDITSLEUTELBESTAND``, or
``~/.config/bcba/audit.key``. Unlike the pseudonymisation key it is made on first use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from bcba.errors import PrivacyError

log = logging.getLogger(__name__)

#: Environment variable holding the key itself (hex or base64).
KEY_ENV = "BCBA_SLEUTEL"
#: Environment variable naming the key file.
KEYFILE_ENV = "BCBA_SLEUTELBESTAND"
#: Minimum key length in bytes (256 bits).
MIN_KEY_BYTES = 32
#: Environment variable holding the audit key itself (hex or base64).
AUDIT_KEY_ENV = "BCBA_AUDITSLEUTEL"
#: Environment variable naming the audit key file.
AUDIT_KEYFILE_ENV = "BCBA_AUDITSLEUTELBESTAND"

_HEX = re.compile(r"[0-9a-fA-F]+")


def default_key_path() -> Path:
    """The key file: ``$BCBA_SLEUTELBESTAND`` if set, else ``~/.config/bcba/sleutel.key``."""
    env = os.environ.get(KEYFILE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "bcba" / "sleutel.key"


def default_audit_key_path() -> Path:
    """The audit key file: ``$BCBA_AUDITSLEUTELBESTAND`` if set, else
    ``~/.config/bcba/audit.key``."""
    env = os.environ.get(AUDIT_KEYFILE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".config" / "bcba" / "audit.key"


def _decode_key_text(text: str, *, origin: str) -> bytes:
    """Decode a key written as hex or base64 (standard or URL-safe)."""
    text = text.strip()
    if not text:
        raise PrivacyError(f"De sleutel in {origin} is leeg.")
    key: bytes | None = None
    if _HEX.fullmatch(text) and len(text) % 2 == 0:
        key = bytes.fromhex(text)
    else:
        altchars = b"-_" if ("-" in text or "_" in text) else None  # URL-safe alphabet
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None:
        raise PrivacyError(
            f"De sleutel in {origin} is geen geldige hex- of base64-tekst. "
            "Maak een nieuwe sleutel met 'bcba sleutel nieuw' of controleer de waarde."
        )
    if len(key) < MIN_KEY_BYTES:
        raise PrivacyError(
            f"De sleutel in {origin} is te kort ({len(key)} bytes); "
            f"minimaal {MIN_KEY_BYTES} bytes is vereist."
        )
    return key


def _inside_repository(path: Path) -> Path | None:
    """The project root or git work tree that contains ``path``, or None."""
    from bcba import config

    resolved = path.expanduser().resolve()
    try:
        root = config.project_root()
    except OSError:  # pragma: no cover - cwd removed
        root = None
    # project_root() falls back to the cwd; only a folder that looks like a bcba project counts
    looks_like_project = root is not None and (
        (root / "pyproject.toml").exists() or (root / "data" / "raw").is_dir()
    )
    if looks_like_project and (resolved == root or root in resolved.parents):
        return root
    for parent in resolved.parents:
        if (parent / ".git").exists():
            return parent
    return None


def _check_location(path: Path) -> None:
    repo = _inside_repository(path)
    if repo is not None:
        raise PrivacyError(
            f"Het sleutelbestand {path} staat in de projectmap of een git-repository ({repo}). "
            "Een sleutel mag nooit in een repository staan: verplaats hem naar "
            "~/.config/bcba/sleutel.key of wijs een map buiten het project aan met "
            f"{KEYFILE_ENV}."
        )


def _check_mode(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PrivacyError(
            f"Het sleutelbestand {path} is leesbaar voor anderen (rechten {mode:04o}). "
            f"Alleen de eigenaar mag de sleutel lezen: voer 'chmod 600 {path}' uit."
        )


def init_key(path: str | os.PathLike | None = None, *, overwrite: bool = False) -> Path:
    """Create a new random key file (32 bytes, hex) with mode 0600 in a 0700 folder.

    Parameters
    ----------
    path
        Where to write the key; default :func:`default_key_path`.
    overwrite
        Replace an existing key file. All pseudonyms made with the old key become
        unlinkable to new ones, so this is off by default.

    Returns
    -------
    Path
        The key file.

    Raises
    ------
    PrivacyError
        The file exists (and ``overwrite`` is False) or lies inside a repository.
    """
    target = Path(path).expanduser() if path is not None else default_key_path()
    _check_location(target)
    if target.exists() and not overwrite:
        raise PrivacyError(
            f"Er bestaat al een sleutel in {target}. Een nieuwe sleutel maakt alle bestaande "
            "pseudoniemen onherleidbaar; gebruik --overschrijven alleen als u dat zeker weet."
        )
    if not _write_new_key(target, overwrite=overwrite):
        raise PrivacyError(f"Er bestaat al een sleutel in {target}; er is niets overschreven.")
    log.info("nieuwe sleutel aangemaakt in %s", target)
    return target


def _write_new_key(target: Path, *, overwrite: bool) -> bool:
    """Write 32 random bytes (hex) to ``target``, mode 0600, in a 0700 folder.

    Without ``overwrite`` the key appears atomically only if no key is there (a hard
    link, which fails when the file exists), so two processes that both make a key on
    first use end up with one. Returns whether this call wrote the key.
    """
    created = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if created:
        os.chmod(target.parent, 0o700)
    text = secrets.token_bytes(MIN_KEY_BYTES).hex() + "\n"
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    _write_exclusive(tmp, text)
    try:
        if overwrite:
            os.replace(tmp, target)
            return True
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: create the file exclusively
            try:
                _write_exclusive(target, text)
            except FileExistsError:
                return False
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def _write_exclusive(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def _load_key_file(path: Path) -> bytes:
    """The key in a key file, after the location and permission checks."""
    if not path.is_file():
        raise PrivacyError(f"Het sleutelbestand {path} is geen gewoon bestand.")
    _check_location(path)
    _check_mode(path)
    data = path.read_bytes()
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text.strip():
        return _decode_key_text(text, origin=f"sleutelbestand {path}")
    if len(data) < MIN_KEY_BYTES:
        raise PrivacyError(
            f"Het sleutelbestand {path} is te kort ({len(data)} bytes); "
            f"minimaal {MIN_KEY_BYTES} bytes is vereist."
        )
    return data


def load_key(*, required: bool = True) -> bytes | None:
    """Load the pseudonymisation key from ``BCBA_SLEUTEL`` or the key file.

    Parameters
    ----------
    required
        Raise when no key is configured; when False return None instead.

    Returns
    -------
    bytes or None
        The key (at least 32 bytes).

    Raises
    ------
    PrivacyError
        No key (when required), an invalid key, a key file readable by group or others, or
        a key file inside the project folder or a git repository.
    """
    env = os.environ.get(KEY_ENV)
    if env is not None and env.strip():
        return _decode_key_text(env, origin=f"omgevingsvariabele {KEY_ENV}")
    path = default_key_path()
    if not path.exists():
        if not required:
            return None
        raise PrivacyError(
            f"Geen sleutel gevonden: {KEY_ENV} is niet gezet en {path} bestaat niet. "
            "Maak eenmalig een sleutel met 'bcba sleutel nieuw' (of vraag de beheerder van uw "
            "RIEC om de gedeelde sleutel)."
        )
    return _load_key_file(path)


def load_audit_key(*, create: bool = True) -> bytes | None:
    """Load the audit key from ``BCBA_AUDITSLEUTEL`` or the audit key file.

    Parameters
    ----------
    create
        Make a new key file (32 random bytes, mode 0600 in a 0700 folder) when there is
        none; otherwise return None. The audit log makes one on its first entry, and
        never when the log already holds entries signed with a key that is gone.

    Raises
    ------
    PrivacyError
        An invalid key, a key file readable by group or others, or a key file inside
        the project folder or a git repository.
    """
    env = os.environ.get(AUDIT_KEY_ENV)
    if env is not None and env.strip():
        return _decode_key_text(env, origin=f"omgevingsvariabele {AUDIT_KEY_ENV}")
    path = default_audit_key_path()
    if not path.exists():
        if not create:
            return None
        _check_location(path)
        if _write_new_key(path, overwrite=False):
            log.info("nieuwe auditsleutel aangemaakt in %s", path)
    return _load_key_file(path)


def key_fingerprint(key: bytes) -> str:
    """A short, non-reversible fingerprint of a key for provenance, e.g. ``3fa9-c2d1-e07b``.

    Reports and the audit log name the fingerprint, so one can tell which key made a set
    of pseudonyms without revealing the key. It is a domain-separated SHA-256, so it is
    not equal to any pseudonym.
    """
    digest = hashlib.sha256(b"bcba-sleutel-vingerafdruk|" + bytes(key)).hexdigest()[:12]
    return f"{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"

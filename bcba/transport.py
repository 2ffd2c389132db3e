"""Encrypted transport of a report folder (``--versleutel-voor``) with age (pyrage).

A report folder is packed into a gzip-compressed tar in memory (owner/group names and ids
blanked, so the bundle does not reveal the analyst's account) and encrypted to one or
more age X25519 recipients (``age1…``). Only the holders of the matching identities
(``AGE-SECRET-KEY-1…``) can open it; the sender cannot, unless listed as a recipient.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pyrage

from bcba.errors import MissingInputError, PrivacyError

log = logging.getLogger(__name__)


def parse_recipients(recipients: Sequence[str]) -> list:
    """Validate age recipient strings; raise one Dutch error naming every bad one."""
    if isinstance(recipients, str):
        recipients = [recipients]
    if not recipients:
        raise PrivacyError(
            "Geef minstens één ontvanger op (een publieke age-sleutel die begint met 'age1')."
        )
    parsed, bad = [], []
    for i, text in enumerate(recipients, start=1):
        value = str(text).strip()
        try:
            parsed.append(pyrage.x25519.Recipient.from_str(value))
        except (pyrage.RecipientError, ValueError):
            shown = value if len(value) <= 20 else value[:12] + "…" + value[-4:]
            bad.append(f"nr. {i} ({shown!r})")
    if bad:
        raise PrivacyError(
            "Ongeldige ontvanger(s): " + ", ".join(bad) + ". Een ontvanger is een publieke "
            "age-sleutel van 62 tekens die begint met 'age1'; vraag de ontvanger om zijn "
            "publieke sleutel (uitvoer van 'age-keygen -y')."
        )
    return parsed


def _clean_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600 if info.isfile() else 0o700
    return info


def encrypt_bundle(
    folder: str | os.PathLike, recipients: Sequence[str], out_path: str | os.PathLike
) -> Path:
    """Pack ``folder`` into a tar.gz and encrypt it for ``recipients``; write atomically.

    Parameters
    ----------
    folder
        The report folder to send.
    recipients
        age X25519 public keys (``age1…``).
    out_path
        The encrypted bundle, conventionally ``<rapport>.tar.gz.age``; must lie outside
        ``folder``.

    Returns
    -------
    Path
        ``out_path`` (mode 0600).

    Raises
    ------
    PrivacyError
        No or invalid recipients.
    MissingInputError
        ``folder`` does not exist.
    """
    from bcba import io as bio

    parsed = parse_recipients(recipients)
    src = Path(folder)
    if not src.is_dir():
        raise MissingInputError(f"De rapportmap {src} bestaat niet.")
    out = Path(out_path)
    if src.resolve() in out.resolve().parents:
        raise PrivacyError(f"Het versleutelde bestand {out} mag niet in de map {src} zelf staan.")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(src, arcname=src.name, filter=_clean_member)
    data = pyrage.encrypt(buffer.getvalue(), parsed)
    bio.write_bytes(out, data)
    log.info("rapportmap %s versleuteld voor %d ontvanger(s): %s", src.name, len(parsed), out)
    return out


def decrypt_bundle(bundle: str | os.PathLike, identity: str, out_dir: str | os.PathLike) -> Path:
    """Decrypt and unpack a bundle made by :func:`encrypt_bundle`; return the report folder.

    Parameters
    ----------
    bundle
        The ``.age`` file.
    identity
        The recipient's secret key ``AGE-SECRET-KEY-1…``.
    out_dir
        Where to unpack (created 0700).
    """
    from bcba import io as bio

    try:
        ident = pyrage.x25519.Identity.from_str(identity.strip())
    except (pyrage.IdentityError, ValueError) as exc:
        raise PrivacyError(
            "Ongeldige geheime age-sleutel (moet beginnen met 'AGE-SECRET-KEY-1')."
        ) from exc
    try:
        data = pyrage.decrypt(Path(bundle).read_bytes(), [ident])
    except pyrage.DecryptError as exc:
        raise PrivacyError(
            f"{bundle} kan niet worden ontsleuteld: niet voor deze sleutel versleuteld of beschadigd."
        ) from exc
    target = bio.ensure_dir(out_dir)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        tar.extractall(target, filter="data")
    if len(names) != 1:
        raise PrivacyError(f"{bundle} bevat geen enkele rapportmap maar {len(names)} items.")
    return target / names.pop()

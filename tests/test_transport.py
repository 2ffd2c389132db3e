"""Encrypted report bundles with age (pyrage)."""

from __future__ import annotations

import stat

import pyrage
import pytest

from bcba import transport
from bcba.errors import MissingInputError, PrivacyError


@pytest.fixture
def report(tmp_path):
    folder = tmp_path / "GM0489_Barendrecht" / "2026-11-28"
    (folder / "kaarten").mkdir(parents=True)
    (folder / "rapport.html").write_text("<p>vertrouwelijk</p>", encoding="utf-8")
    (folder / "kaarten" / "drugs.gpkg").write_bytes(b"\x00\x01binary")
    return folder


def test_roundtrip_for_two_recipients(tmp_path, report):
    alice, bob, eve = (pyrage.x25519.Identity.generate() for _ in range(3))
    out = transport.encrypt_bundle(
        report,
        [str(alice.to_public()), str(bob.to_public())],
        tmp_path / "uit" / "rapport.tar.gz.age",
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert b"vertrouwelijk" not in out.read_bytes()
    for who in (alice, bob):
        folder = transport.decrypt_bundle(out, str(who), tmp_path / f"open_{id(who)}")
        assert folder.name == "2026-11-28"
        assert (folder / "rapport.html").read_text(encoding="utf-8") == "<p>vertrouwelijk</p>"
        assert (folder / "kaarten" / "drugs.gpkg").read_bytes() == b"\x00\x01binary"
    with pytest.raises(PrivacyError, match="niet voor deze sleutel"):
        transport.decrypt_bundle(out, str(eve), tmp_path / "eve")


def test_bundle_does_not_name_the_local_user(tmp_path, report):
    import io
    import tarfile

    ident = pyrage.x25519.Identity.generate()
    out = transport.encrypt_bundle(report, [str(ident.to_public())], tmp_path / "b.age")
    data = pyrage.decrypt(out.read_bytes(), [ident])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
    assert {m.uname for m in members} == {""} and {m.uid for m in members} == {0}


@pytest.mark.parametrize(
    "recipients",
    [[], ["age1nietgeldig"], ["ssh-ed25519 AAAA"], ["AGE-SECRET-KEY-1QQQQ"]],
)
def test_invalid_recipients_are_refused(tmp_path, report, recipients):
    with pytest.raises(PrivacyError, match="ontvanger"):
        transport.encrypt_bundle(report, recipients, tmp_path / "x.age")
    assert not (tmp_path / "x.age").exists()


def test_error_lists_every_bad_recipient(tmp_path, report):
    good = str(pyrage.x25519.Identity.generate().to_public())
    with pytest.raises(PrivacyError, match=r"nr\. 2.*nr\. 3"):
        transport.encrypt_bundle(report, [good, "fout", "age1fout"], tmp_path / "x.age")


def test_missing_folder_and_output_inside_folder(tmp_path, report):
    good = str(pyrage.x25519.Identity.generate().to_public())
    with pytest.raises(MissingInputError, match="bestaat niet"):
        transport.encrypt_bundle(tmp_path / "nergens", [good], tmp_path / "x.age")
    with pytest.raises(PrivacyError, match="niet in de map"):
        transport.encrypt_bundle(report, [good], report / "zelf.age")

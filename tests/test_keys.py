"""Key creation, loading, permission and location checks (never touches the real home)."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from bcba import keys
from bcba.errors import PrivacyError


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(keys.KEY_ENV, raising=False)
    monkeypatch.delenv(keys.KEYFILE_ENV, raising=False)
    return home


def test_default_path_under_home(isolated_home):
    assert keys.default_key_path() == isolated_home / ".config" / "bcba" / "sleutel.key"


def test_init_key_creates_owner_only_file_and_folder(isolated_home):
    path = keys.init_key()
    assert path == isolated_home / ".config" / "bcba" / "sleutel.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = keys.load_key()
    assert len(key) == 32
    assert path.read_text().strip() == key.hex()


def test_init_key_refuses_overwrite_unless_asked(isolated_home):
    path = keys.init_key()
    old = keys.load_key()
    with pytest.raises(PrivacyError, match="bestaat al een sleutel"):
        keys.init_key()
    keys.init_key(path, overwrite=True)
    assert keys.load_key() != old


def test_keyfile_env_overrides_default(tmp_path, monkeypatch):
    target = tmp_path / "elders" / "mijn.key"
    monkeypatch.setenv(keys.KEYFILE_ENV, str(target))
    assert keys.init_key() == target
    assert keys.load_key() == bytes.fromhex(target.read_text().strip())


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_key_file_readable_by_others_is_refused(mode):
    path = keys.init_key()
    os.chmod(path, mode)
    with pytest.raises(PrivacyError, match="leesbaar voor anderen"):
        keys.load_key()


def test_key_file_inside_git_repository_is_refused(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(PrivacyError, match="git-repository"):
        keys.init_key(repo / "sub" / "sleutel.key")
    # an existing key file placed there by hand is refused at load time too
    (repo / "sleutel.key").write_text("ab" * 32)
    os.chmod(repo / "sleutel.key", 0o600)
    monkeypatch.setenv(keys.KEYFILE_ENV, str(repo / "sleutel.key"))
    with pytest.raises(PrivacyError, match="git-repository"):
        keys.load_key()


def test_key_file_inside_project_tree_is_refused(monkeypatch):
    from bcba import config

    target = config.PACKAGE_DIR.parent / "data" / "sleutel.key"  # the checkout (a git work tree)
    with pytest.raises(PrivacyError, match="projectmap|git-repository"):
        keys.init_key(target)
    assert not target.exists()


def test_missing_key():
    with pytest.raises(PrivacyError, match="bcba sleutel nieuw"):
        keys.load_key()
    assert keys.load_key(required=False) is None


def test_env_key_hex_and_base64(monkeypatch):
    raw = bytes(range(32))
    monkeypatch.setenv(keys.KEY_ENV, raw.hex())
    assert keys.load_key() == raw
    monkeypatch.setenv(keys.KEY_ENV, base64.b64encode(raw).decode())
    assert keys.load_key() == raw
    monkeypatch.setenv(
        keys.KEY_ENV, base64.urlsafe_b64encode(raw + b"\xff\xfe").decode().rstrip("=")
    )
    assert keys.load_key() == raw + b"\xff\xfe"


@pytest.mark.parametrize(
    "value", ["abcd", base64.b64encode(b"x" * 31).decode(), "niet!!een*sleutel"]
)
def test_env_key_too_short_or_invalid(monkeypatch, value):
    monkeypatch.setenv(keys.KEY_ENV, value)
    with pytest.raises(PrivacyError, match="te kort|geen geldige"):
        keys.load_key()


def test_env_takes_precedence_over_file(monkeypatch):
    keys.init_key()
    monkeypatch.setenv(keys.KEY_ENV, "11" * 32)
    assert keys.load_key() == b"\x11" * 32


def test_fingerprint_is_short_stable_and_key_specific():
    a, b = b"\x01" * 32, b"\x02" * 32
    fp = keys.key_fingerprint(a)
    assert fp == keys.key_fingerprint(a)
    assert fp != keys.key_fingerprint(b)
    assert len(fp) == 14 and fp.count("-") == 2
    assert a.hex()[:8] not in fp.replace("-", "")


# --------------------------------------------------------------------------- the audit key


@pytest.fixture
def no_audit_env(monkeypatch):
    monkeypatch.delenv(keys.AUDIT_KEY_ENV, raising=False)
    monkeypatch.delenv(keys.AUDIT_KEYFILE_ENV, raising=False)


def test_audit_key_made_on_first_use_owner_only(isolated_home, no_audit_env):
    path = isolated_home / ".config" / "bcba" / "audit.key"
    assert keys.default_audit_key_path() == path
    assert keys.load_audit_key(create=False) is None and not path.exists()
    key = keys.load_audit_key()
    assert len(key) == 32 and path.read_text().strip() == key.hex()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert keys.load_audit_key() == key  # made once, then loaded
    keys.init_key()
    assert key != keys.load_key()  # apart from the pseudonymisation key


def test_audit_key_in_a_repository_is_refused(tmp_path, monkeypatch, no_audit_env):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    monkeypatch.setenv(keys.AUDIT_KEYFILE_ENV, str(repo / "audit.key"))
    with pytest.raises(PrivacyError, match="git-repository"):
        keys.load_audit_key()
    assert not (repo / "audit.key").exists()


def test_audit_key_from_environment(monkeypatch, no_audit_env):
    monkeypatch.setenv(keys.AUDIT_KEY_ENV, "ab" * 32)
    assert keys.load_audit_key() == b"\xab" * 32
    monkeypatch.setenv(keys.AUDIT_KEY_ENV, "abcd")
    with pytest.raises(PrivacyError, match="te kort"):
        keys.load_audit_key()


def _make_audit_key(_):
    return keys.load_audit_key()


def test_concurrent_first_use_makes_one_audit_key(isolated_home, no_audit_env):
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        made = pool.map(_make_audit_key, range(8))
    assert len(set(made)) == 1

"""Shared fixtures: an isolated home (key, audit log) and generated demo data."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

TEST_KEY_HEX = "7465737420736c657574656c20766f6f722064652062636261207465737473"  # 31 bytes + pad
PERIODE = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """Never touch the real home: key, audit log and config live in a temporary folder.

    Session-scoped so that module-scoped fixtures (the end-to-end report run, whose papermill
    kernel inherits this environment) see it too.
    """
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("HOME", str(home))
    patch.setenv("BCBA_AUDITLOG", str(home / "audit.jsonl"))
    patch.setenv("BCBA_SLEUTEL", TEST_KEY_HEX + "00")
    patch.setenv("MPLBACKEND", "Agg")
    patch.setenv("BCBA_HOME", str(home / "project"))
    yield
    patch.undo()


def _generate(root: Path, gemeente: str, seed: int, **kwargs) -> Path:
    from bcba import synthetic

    out = root / f"{gemeente}_{seed}_{kwargs.get('scenario', 'standaard')}"
    if not (out / "planted.json").exists():
        synthetic.generate(gemeente, out, seed=seed, periode=PERIODE, **kwargs)
    return out


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Generated raw demo data for Barendrecht (seed 1)."""
    return _generate(tmp_path_factory.mktemp("demo"), "GM0489", 1)


@pytest.fixture(scope="session")
def generate_raw(tmp_path_factory):
    """Factory: ``generate_raw(gemeente, seed, **kwargs) -> Path`` (cached per session)."""
    root = tmp_path_factory.mktemp("generated")
    return lambda gemeente, seed, **kwargs: _generate(root, gemeente, seed, **kwargs)


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")

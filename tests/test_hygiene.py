"""Repository hygiene: the pre-commit hook script and the pre-commit configuration."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_repo_hygiene.py"
CONFIG = ROOT / ".pre-commit-config.yaml"


@pytest.fixture(scope="module")
def hygiene():
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_repo_hygiene", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "name",
    [
        "data/raw/GM0489/kvk_functionarissen.csv",
        "data/raw/planted.json",
        "./data/raw/x.xlsx",
        "data/processed/GM0489/kvk.parquet",
        "data/processed/GM0489/README.md",
        "reports/GM0489_Barendrecht/2026-11-28/rapport.html",
        "reports/x/README.md",
        "sleutel.key",
        "config/bcba.key",
        "docs/sleutel",
        "Sleutel.txt",
        "reports.age",
        "uit/rapport.tar.gz.age",
    ],
)
def test_refused(hygiene, name):
    assert hygiene.problem(name)


@pytest.mark.parametrize(
    "name",
    [
        "data/raw/README.md",
        "data/processed/README.md",
        "data/processed/.gitkeep",
        "reports/README.md",
        "data/raw/demo/GM0489/kvk_vestigingen.csv",
        "bcba/keys.py",
        "docs/privacy.md",
        "tests/test_keys.py",
        "docs/sleutelbeheer.md",
        "notebooks/missing.ipynb",
    ],
)
def test_allowed(hygiene, name):
    assert hygiene.problem(name) is None


def _notebook(path, *, outputs=(), count=None):
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# titel"]},
            {
                "cell_type": "code",
                "execution_count": count,
                "metadata": {},
                "outputs": list(outputs),
                "source": ["1 + 1"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_notebooks(hygiene, tmp_path):
    clean = _notebook(tmp_path / "schoon.ipynb")
    dirty = _notebook(
        tmp_path / "vuil.ipynb",
        outputs=[{"output_type": "stream", "name": "stdout", "text": ["Jan"]}],
        count=3,
    )
    counted = _notebook(tmp_path / "geteld.ipynb", count=1)
    broken = tmp_path / "kapot.ipynb"
    broken.write_text("{niet json", encoding="utf-8")
    assert hygiene.problem(str(clean)) is None
    assert "1 cel(len) met uitvoer" in hygiene.problem(str(dirty))
    assert "1 met uitvoeringsnummer" in hygiene.problem(str(counted))
    assert "onleesbaar" in hygiene.problem(str(broken))


def test_script_exit_codes_and_dutch_message(tmp_path):
    run = [sys.executable, str(SCRIPT)]
    ok = subprocess.run(
        [*run, "bcba/keys.py", "data/raw/README.md"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stderr == ""
    bad = subprocess.run(
        [*run, "bcba/keys.py", "data/raw/GM0489/kvk.csv", "x.key"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "Commit geweigerd: 2 bestand(en)" in bad.stderr
    assert "data/raw/GM0489/kvk.csv" in bad.stderr and "x.key" in bad.stderr
    assert "bcba/keys.py" not in bad.stderr


def test_config_is_local_only():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    assert [r["repo"] for r in config["repos"]] == ["local"]
    hooks = {h["id"]: h for r in config["repos"] for h in r["hooks"]}
    assert set(hooks) == {"bcba-hygiene", "nbstripout-verify", "ruff", "ruff-format"}
    assert all(h["language"] in ("system", "python") for h in hooks.values())
    assert hooks["bcba-hygiene"]["entry"].endswith("scripts/check_repo_hygiene.py")


@pytest.mark.slow
def test_pre_commit_runs_the_hooks_offline(tmp_path):
    """Run pre-commit itself on a scratch repository (never on this checkout)."""
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "pre-commit").exists() or shutil.which("git") is None:
        pytest.skip("pre-commit of git niet beschikbaar")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts" / SCRIPT.name)
    shutil.copy(CONFIG, repo / CONFIG.name)
    (repo / "data" / "raw").mkdir(parents=True)
    (repo / "data" / "raw" / "kvk.csv").write_text("naam\nJan\n", encoding="utf-8")
    _notebook(
        repo / "vuil.ipynb",
        outputs=[{"output_type": "stream", "name": "stdout", "text": ["x"]}],
        count=1,
    )
    (repo / "ok.py").write_text("X = 1\n", encoding="utf-8")
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pc-home"),
        "HOME": str(tmp_path),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)

    def run(*files):
        return subprocess.run(
            [str(venv_bin / "pre-commit"), "run", "--files", *files],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert run("ok.py").returncode == 0
    refused = run("ok.py", "data/raw/kvk.csv", "vuil.ipynb")
    assert refused.returncode == 1
    assert "ruwe brondata" in refused.stdout and "notebook bevat uitvoer" in refused.stdout

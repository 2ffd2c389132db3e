"""The Dutch CLI: exit codes and messages, never a traceback for a user error."""

import subprocess
import sys

import pytest

from bcba.cli import main


def test_gemeenten_lists_shipped_municipalities(capsys):
    assert main(["gemeenten"]) == 0
    out = capsys.readouterr().out
    assert "Barendrecht" in out and "GM0489" in out
    assert "Bron: CBS" in out


def test_unknown_municipality_exits_2_with_dutch_suggestion(capsys):
    assert main(["validate", "--gemeente", "Barendrect"]) == 2
    err = capsys.readouterr().err
    assert "Onbekende gemeente" in err and "Barendrecht (GM0489)" in err
    assert "Traceback" not in err


def test_run_without_data_folder_exits_2(tmp_path, capsys):
    code = main(["run", "--gemeente", "GM0489", "--data-dir", str(tmp_path / "bestaat_niet")])
    assert code == 2
    assert "bestaat niet" in capsys.readouterr().err


def test_bad_period_exits_2(tmp_path, capsys):
    code = main(
        [
            "run",
            "--gemeente",
            "GM0489",
            "--data-dir",
            str(tmp_path),
            "--periode-start",
            "2025-01-01",
            "--periode-eind",
            "2024-01-01",
        ]
    )
    assert code == 2
    assert "periode_eind" in capsys.readouterr().err


def test_invalid_input_names_file_row_and_column(tmp_path, demo_dir, capsys):
    broken = tmp_path / "kapot"
    broken.mkdir()
    for f in demo_dir.iterdir():
        if f.is_file() and f.name != "kvk_vestigingen.csv":
            (broken / f.name).write_bytes(f.read_bytes())
    lines = (demo_dir / "kvk_vestigingen.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    col = header.index("datum_inschrijving")
    row = lines[3].split(";")
    row[col] = "31-13-2020"  # no 13th month
    lines[3] = ";".join(row)
    (broken / "kvk_vestigingen.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", "--gemeente", "GM0489", "--data-dir", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "kvk_vestigingen.csv" in err and "rij 4" in err and "datum_inschrijving" in err
    assert "Traceback" not in err


def test_audit_verify_empty_log_gives_0_and_tampered_log_gives_2(tmp_path, monkeypatch, capsys):
    from bcba import audit

    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("BCBA_AUDITLOG", str(log))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["audit", "verify"]) == 0
    assert "leeg" in capsys.readouterr().out
    for i in range(3):
        audit.record(f"stap{i}")
    assert main(["audit", "verify"]) == 0
    assert "in orde: 3 regels" in capsys.readouterr().out
    log.write_bytes(log.read_bytes().replace(b'"command":"stap1"', b'"command":"stap9"'))
    assert main(["audit", "verify"]) == 2
    out = capsys.readouterr()
    assert "NIET in orde" in out.out and "regel 2" in out.out
    assert "Traceback" not in out.err


def test_entry_point_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "bcba.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "STRIKT VERTROUWELIJK" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["demo-data", "--gemeente", "Amsterdam"],
        ["opschonen", "--gemeente", "xyz", "--ouder-dan", "30"],
    ],
)
def test_more_user_errors_exit_2(args, capsys):
    assert main(args) == 2
    assert "Traceback" not in capsys.readouterr().err

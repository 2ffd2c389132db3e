"""The Dutch CLI: exit codes and messages, never a traceback for a user error."""

import argparse
import ast
import csv
import hashlib
import io
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import PERIODE

from bcba import cli, commands, input_summary, progress, synthetic
from bcba.cli import main
from bcba.errors import ConfigError


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


# --------------------------------------------------------------------------- Dutch CLI
def _argparse_msgids() -> set[str]:
    """Every string argparse (this Python) passes to gettext: its user-visible texts."""
    source = Path(argparse.__file__).read_text(encoding="utf-8")
    found = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("_", "ngettext")
        ):
            found |= {
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return found


#: argparse texts bcba never shows, each with the reason.
NOT_SHOWN = {
    "usage: ": "DutchHelpFormatter.add_usage gives 'gebruik: '",
    "positional arguments": "group title set to 'argumenten'",
    "options": "group title set to 'opties'",
    "show this help message and exit": "-h/--help added with a Dutch help",
    "show program's version number and exit": "--versie has a Dutch help",
    "subcommands": "add_subparsers always gets a Dutch title",
    "%(prog)s: error: %(message)s\n": "DutchArgumentParser.error writes 'fout:'",
    # programming errors in bcba's own parser definition, caught by these tests
    ".__call__() not defined": "",
    "conflicting subparser: %s": "",
    "conflicting subparser alias: %s": "",
    "cannot merge actions - two groups are named %r": "",
    "'required' is an invalid argument for positionals": "",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r": "",
    "dest= is required for options like %r": "",
    "invalid conflict_resolution value: %r": "",
    "mutually exclusive arguments must be optional": "",
    "cannot have multiple subparser arguments": "",
    "%r is not callable": "",
    'argument "-" with mode %r': "argparse.FileType is not used",
    "conflicting option string: %s": "",
    "conflicting option strings: %s": "",
}
#: argparse words that are Dutch as well
SAME_IN_DUTCH = {"argument"}


def _english_fragments() -> set[str]:
    """Literal pieces (placeholders removed) of argparse's texts, long enough to be telling."""
    pieces = set()
    for msgid in _argparse_msgids():
        for piece in re.split(r"%(?:\(\w+\))?[sr]", msgid):
            piece = piece.strip(" :()'\n")
            if len(piece) >= 5 and piece not in SAME_IN_DUTCH:
                pieces.add(piece)
    return pieces


def test_every_argparse_text_is_translated_or_never_shown():
    msgids = _argparse_msgids()
    assert "the following arguments are required: %s" in msgids  # the walk finds them
    missing = msgids - set(cli.ARGPARSE_NL) - set(NOT_SHOWN)
    assert not missing, f"argparse texts without Dutch: {missing}"


def _parsers(parser, prog="bcba"):
    """(prog, parser) of bcba and every (sub)command parser, aliases included."""
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{prog} {name}")


def _assert_dutch(text: str) -> None:
    english = [f for f in _english_fragments() if re.search(rf"\b{re.escape(f)}\b", text)]
    assert not english, f"English argparse text {english} in:\n{text}"


def _exit_output(capsys, argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_bcba_without_arguments_answers_in_dutch(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gebruik: bcba")
    for cmd in cli.COMMANDS:
        assert f"  {cmd.name} " in out
    assert "bcba <opdracht> --help" in out
    _assert_dutch(out)


def test_every_help_is_dutch_and_every_option_has_help(capsys):
    parser = cli.build_parser()
    progs = [prog for prog, _ in _parsers(parser)]
    assert {"bcba maak", "bcba run", "bcba sleutel nieuw", "bcba audit controleer"} <= set(progs)
    for prog, sub in _parsers(parser):
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (prog, action.dest)
        code, out, _ = _exit_output(capsys, [*prog.split()[1:], "--help"])
        assert code == 0
        assert out.startswith(f"gebruik: {prog}")
        assert "toon deze hulptekst en stop" in out and "opties:" in out
        _assert_dutch(out)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["maak"], "bcba maak: fout: de volgende argumenten zijn verplicht: --gemeente"),
        (["maak", "--gemeente", "GM0489", "--onzin"], "fout: onbekende argumenten: --onzin"),
        (["maak", "--gemeente"], "argument --gemeente: verwacht één waarde"),
        (
            ["demodata", "--scenario", "extra"],
            "argument --scenario: ongeldige keuze 'extra' (kies uit standaard, nul, afwijkend)",
        ),
        (
            ["demodata", "--seed", "x"],
            "argument --seed: ongeldige waarde 'x' (verwacht: een geheel getal)",
        ),
        (["batch", "--workers", "0"], "argument --workers: moet minstens 1 zijn, niet 0"),
        (
            ["batch", "--gemeenten", "GM0489", "--regio"],
            "argument --regio: niet toegestaan samen met --gemeenten",
        ),
        (["maak", "--gemeente", "X", "--periode-start", "gisteren"], "ongeldige datum 'gisteren'"),
        (["sleutel"], "bcba sleutel: fout: de volgende argumenten zijn verplicht: actie"),
        (["audit", "wis"], "onbekende actie 'wis'; kies uit: controleer, toon."),
        (["maakk"], "onbekende opdracht 'maakk'; kies uit: maak, presentatie, controleer,"),
    ],
)
def test_argument_errors_are_dutch(capsys, argv, expected):
    code, out, err = _exit_output(capsys, argv)
    assert code == 2 and out == ""
    assert err.startswith("gebruik: bcba")
    assert expected in err
    _assert_dutch(err)


def test_unknown_command_suggests_the_nearest_and_hides_old_names(capsys):
    _, _, err = _exit_output(capsys, ["controler"])
    assert "Bedoelde u 'controleer'?" in err
    assert "validate" not in err and "export-landelijk" not in err


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            ["run", "--gemeente", "GM0489", "--geen-pdf"],
            ["maak", "--gemeente", "GM0489", "--geen-pdf"],
        ),
        (["validate", "--gemeente", "X"], ["controleer", "--gemeente", "X"]),
        (["demo-data", "--seed", "3"], ["demodata", "--seed", "3"]),
        (["export-landelijk", "--out", "f.csv"], ["landelijk", "--out", "f.csv"]),
        (["key", "init"], ["sleutel", "nieuw"]),
        (["audit", "verify"], ["audit", "controleer"]),
        (
            ["opschonen", "--gemeente", "X", "--ouder-dan", "5"],
            ["ruim-op", "--gemeente", "X", "--ouder-dan", "5"],
        ),
    ],
)
def test_old_names_are_hidden_aliases(old, new, capsys):
    parser = cli.build_parser()
    assert vars(parser.parse_args(old)) == vars(parser.parse_args(new))
    at = next(i for i, (o, n) in enumerate(zip(old, new, strict=False)) if o != n)
    code, out, _ = _exit_output(capsys, [*new[:at], "--help"])
    assert code == 0
    listed = re.findall(r"^    (\S+)", out, flags=re.MULTILINE)  # the commands or actions
    assert new[at] in listed and old[at] not in listed


def test_makefile_demo_command_still_parses():
    makefile = (Path(__file__).parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "$(BIN)/bcba demo\n" in makefile
    assert cli.build_parser().parse_args(["demo"]).handler == "demo"


def test_batch_help_offers_the_dask_scheduler(capsys):
    _, out, _ = _exit_output(capsys, ["batch", "--help"])
    assert "--scheduler [ADRES]" in out and "dask" in out


def test_log_lines_are_dutch_and_shown_once(capsys):
    cli._setup_logging(False)
    logger = logging.getLogger("bcba.test")
    for _ in range(3):
        logger.warning("%d gebeurtenis ligt buiten het gebied", 1)
    logger.info("alleen met -v")
    err = capsys.readouterr().err
    assert err == "waarschuwing: 1 gebeurtenis ligt buiten het gebied\n"


# --------------------------------------------------------------------------- controleer
def test_validate_prints_dutch_formats_and_a_quality_verdict(demo_dir, capsys):
    assert main(["controleer", "--gemeente", "GM0489", "--data-dir", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    for wrong in ("True", "False", "NaT", "00:00:00", "nan", "None"):
        assert wrong not in out, wrong
    assert not re.search(r"\d\.\d{4,}", out)  # no raw floats such as 0.5384615384615384
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out)  # no ISO dates
    # independent oracle: the data rows of the BAG file, formatted by hand
    with (demo_dir / "bag_adressen.csv").open(encoding="utf-8", newline="") as handle:
        n_bag = sum(1 for _ in csv.reader(handle, delimiter=";")) - 1
    assert f"{n_bag:,}".replace(",", ".") in out and n_bag >= 1000
    assert "analyseperiode 01-01-2024 t/m 31-12-2025" in out
    assert re.search(r"\b\d{2}-\d{2}-\d{4}\b", out)
    assert re.search(r"\b\d{1,3},\d%", out)
    assert re.search(r"│ ja\s", out)
    assert out.strip().splitlines()[-1].startswith("Invoer is geldig")


def _verdict_input(geen: int, located: int, missing=()):
    bronnen = pd.DataFrame(
        {
            "bron": ["bag", "kvk_vestigingen", "kvk_functionarissen", "enquete"],
            "aanwezig": [
                b not in missing
                for b in ("bag", "kvk_vestigingen", "kvk_functionarissen", "enquete")
            ],
            "rijen": [1000, 200, 0, 40],
        }
    )
    kwaliteit = pd.DataFrame(
        {
            "bron": ["kvk_vestigingen", "kvk_vestigingen", "bag"],
            "controle": ["SBI-code onbekend", "buiten periode", "dubbel record"],
            "aantal": [5, 150, 20],  # 2.5% > 2%; out of period never counts; 2.0% not above
            "toelichting": ["", "", ""],
        }
    )
    total = geen + located
    geocodering = pd.DataFrame(
        {
            "bron": ["enquete", "enquete"],
            "geocode_niveau": ["exact", "geen"],
            "aantal": [located, geen],
            "aandeel": [located / total, geen / total],
        }
    )
    return bronnen, kwaliteit, geocodering


def test_verdict_names_every_share_above_its_threshold():
    verdict = input_summary.verdict(*_verdict_input(7, 6, missing=("kvk_functionarissen",)))
    assert verdict.text() == (
        "Invoer is geldig, maar 2,5% van de KvK-vestigingen met een onbekende SBI-code; "
        "53,8% van de enquêterecords zonder locatie; zonder KvK-functionarissen."
    )


def test_verdict_is_plain_when_shares_are_at_or_below_the_thresholds():
    bronnen, kwaliteit, geocodering = _verdict_input(1, 9)  # 10.0% is not above 10%
    kwaliteit = kwaliteit[kwaliteit["controle"] != "SBI-code onbekend"]
    assert input_summary.verdict(bronnen, kwaliteit, geocodering).text() == "Invoer is geldig."


# --------------------------------------------------------------------------- progress
def test_progress_shows_a_line_per_stage_from_any_process():
    stream = io.StringIO()
    with commands.ProgressDisplay("B-CBA maken", stream=stream, tty=False) as display:
        display.stage("Invoer inlezen", done=0.0)
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from bcba import progress; progress.stage('In een kindproces')",
            ],
            check=True,
        )
        display.stage("HTML maken", done=0.9)
    lines = stream.getvalue().splitlines()
    assert [re.sub(r"^\[\d+:\d\d\] ", "", line) for line in lines] == [
        "B-CBA maken",
        "Invoer inlezen",
        "In een kindproces",
        "HTML maken",
    ]
    assert all(re.match(r"^\[\d+:\d\d\] ", line) for line in lines)
    assert progress.ENV not in os.environ  # restored, file removed


def test_progress_says_it_is_still_busy_during_a_long_stage(monkeypatch):
    monkeypatch.setattr(commands.ProgressDisplay, "heartbeat_s", 0.3)
    stream = io.StringIO()
    with commands.ProgressDisplay("B-CBA maken", stream=stream, tty=False) as display:
        display.stage("Netwerken analyseren")
        time.sleep(1.0)
    assert "... nog bezig: Netwerken analyseren" in stream.getvalue()


def test_run_command_shows_progress_without_a_terminal(tmp_path, monkeypatch, capsys):
    from bcba import pipeline

    def fake_run_report(cfg, *, pdf, encrypt_for):
        from bcba import progress as stages

        stages.stage("Indicatoren berekenen", done=0.2)
        stages.stage("PDF maken", done=0.9)
        html = tmp_path / "out" / "bcba_GM0489.html"
        return pipeline.ReportResult(output_dir=html.parent, html=html, notebook=html)

    monkeypatch.setattr(pipeline, "run_report", fake_run_report)
    raw = tmp_path / "raw"
    raw.mkdir()
    code = main(
        ["maak", "--gemeente", "GM0489", "--data-dir", str(raw), "--out", str(tmp_path / "out")]
    )
    assert code == 0
    out = capsys.readouterr().out
    stages = re.findall(r"^\[\d+:\d\d\] (.*)$", out, flags=re.MULTILINE)
    assert stages == [
        "B-CBA maken voor Barendrecht (GM0489)",
        "Analyse en rapport maken",
        "Indicatoren berekenen",
        "PDF maken",
    ]
    assert "Rapport (STRIKT VERTROUWELIJK)" in out


# --------------------------------------------------------------------------- demo safety
def _real_extract(folder: Path) -> Path:
    folder.mkdir(parents=True)
    path = folder / "kvk_vestigingen.csv"
    path.write_text("kvk_nummer;handelsnaam\n12345678;Echte Zaak B.V.\n", encoding="utf-8")
    return path


def _snapshot(folder: Path) -> dict:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize(
    "argv",
    [
        ["demodata", "--gemeente", "GM0489", "--out", "{folder}"],
        ["demo-data", "--out", "{folder}"],
        ["demo", "--data-dir", "{folder}", "--geen-pdf"],
    ],
)
def test_demo_commands_refuse_a_folder_with_real_data(tmp_path, capsys, argv):
    folder = tmp_path / "GM0489"
    _real_extract(folder)
    before = _snapshot(folder)
    code = main([a.replace("{folder}", str(folder)) for a in argv])
    assert code == 2
    err = capsys.readouterr().err
    assert "kvk_vestigingen.csv" in err and "er is niets gewijzigd" in err
    assert "Traceback" not in err
    assert _snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["kvk_vestigingen.csv"]


def test_demo_data_rewrites_only_its_own_unchanged_output(tmp_path):
    folder = tmp_path / "demo"
    synthetic.generate("GM0489", folder, seed=2, periode=PERIODE, scale=0.1, fmt="xlsx")
    assert synthetic.is_demo_output(folder)
    listed = synthetic.demo_files(folder)
    assert "planted.json" in listed and "kvk_vestigingen.xlsx" in listed
    # own earlier output: replaced, and files of the old format removed
    synthetic.generate("GM0489", folder, seed=2, periode=PERIODE, scale=0.1)
    assert not (folder / "kvk_vestigingen.xlsx").exists()
    assert (folder / "kvk_vestigingen.csv").exists() and synthetic.is_demo_output(folder)
    # a changed file: refused, nothing touched
    target = folder / "partners" / "politie.csv"
    target.write_bytes(target.read_bytes() + b"extra;regel\r\n")
    before = _snapshot(folder)
    assert not synthetic.is_demo_output(folder)
    with pytest.raises(ConfigError, match=r"partners/politie\.csv \(gewijzigd\)"):
        synthetic.generate("GM0489", folder, seed=2, periode=PERIODE, scale=0.1)
    assert _snapshot(folder) == before


def test_demo_marker_is_written_and_verifiable(tmp_path):
    folder = tmp_path / "demo"
    synthetic.generate("GM0489", folder, seed=2, periode=PERIODE, scale=0.1)
    marker = (folder / synthetic.DEMO_MARKER).read_text(encoding="utf-8")
    assert marker.startswith("SYNTHETISCHE DEMODATA - GEEN ECHTE GEGEVENS")
    written = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != synthetic.DEMO_MARKER
    )
    assert sorted(synthetic.demo_files(folder)) == written
    for name, digest in synthetic.demo_files(folder).items():  # independent hash
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert synthetic.demo_files(tmp_path) is None and not synthetic.is_demo_output(tmp_path)
    (folder / "eigen_bestand.csv").write_text("a\n", encoding="utf-8")
    assert not synthetic.is_demo_output(folder)


def test_old_demo_output_without_marker_is_refused_with_a_hint(tmp_path):
    folder = tmp_path / "oud"
    folder.mkdir()
    (folder / "planted.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="oudere bcba-versie"):
        synthetic.generate("GM0489", folder, seed=2, periode=PERIODE, scale=0.1)

"""The fault matrix: ``bcba maak`` attacked through the real CLI, one subprocess per case.

Every case runs ``python -m bcba.cli`` (this checkout, through ``PYTHONPATH``) with its own
project (``BCBA_HOME``), home (key, audit log) and ``TMPDIR``, and with an environment
marker (:data:`MARK_ENV`) that every process the run starts inherits. The oracles do not
ask bcba: child processes are found in ``/proc`` by that marker, names come from the
generator's ``planted.json`` and the officers file, formula cells are counted in the files.

One small generated municipality (``raw``) serves every case; it holds the inputs that are
odd but valid (an open end ``31-12-9999``, one cp1252 line in a UTF-8 file, HTML and
formula payloads in trade names and partner descriptions), so every successful run here
reads them. The cases:

* bad inputs (one mutated copy per case) and bad options: exit 2, a Dutch message, no
  traceback, nothing left in the temporary folders, no planted name outside the report
  folder; a failure after the run started leaves a folder with only ``ONVOLLEDIG.txt``
  (and an owner-only ``debug.log``);
* ``kill -9`` of the CLI at three stages: no process, no hand-over, kernel or temporary
  file left, no name outside the report folder, the folder marked incomplete; the next run
  succeeds, a second run into its folder meanwhile is refused, a rerun on the same day gets
  its own folder;
* the national export reads complete runs only, no formula cell in any CSV or XLSX output,
  and the audit log holds the start and the end of every run, killed ones included.

The audit tamperings are tested in ``tests/test_audit.py``. ``benchmarks/fault_matrix.py``
runs this module with :data:`MATRIX_ENV` set and prints the matrix.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PERIODE, TEST_KEY_HEX

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "bcba.cli"]
KEY_HEX = TEST_KEY_HEX + "00"
PERIOD_ARGS = ["--periode-start", PERIODE[0].isoformat(), "--periode-eind", PERIODE[1].isoformat()]
#: Set in every run's environment (and so inherited by all it starts): found in /proc.
MARK_ENV = "FOUTMATRIX_MERK"
#: Observations for benchmarks/fault_matrix.py (written when this variable names a file).
MATRIX_ENV = "BCBA_FOUTMATRIX"
#: What a run's output may never show: a traceback, an exception line, English messages of
#: the libraries underneath.
TRACEBACK = re.compile(
    r"Traceback|File \"|^\s*[\w.]+(Error|Exception|Warning)\b:|\bError:|Value error"
    r"|Input should|Kernel died|No such file|No space left|Permission denied",
    re.M,
)
#: Words that make a message Dutch (one is enough; the messages are full sentences).
DUTCH = re.compile(r"\b(de|het|een|niet|geen|ontbreekt|kolom|bestand|map|rij|van|is)\b", re.I)
#: Payloads that a page or spreadsheet must show as text, never run.
HTML_PAYLOADS = ("<script>top.__xss=1</script>", "<img src=x onerror=top.__xss=1>")
FORMULA_PAYLOADS = ('=HYPERLINK("http://x.invalid","klik")', "@SUM(1+1)", "+1+cmd|' /C calc'!A0")
#: A cell a spreadsheet would run: starts with = + @ tab CR, or - before a non-number.
FORMULA_CELL = re.compile(r"^([=+@\t\r]|-(?![\d.,]))")


# --------------------------------------------------------------------------- the sandbox
@dataclass
class Project:
    """One isolated bcba installation: project, home and temporary folder."""

    root: Path
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        for name in ("project", "home", "tmp"):
            (self.root / name).mkdir(parents=True, exist_ok=True, mode=0o700)

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def reports(self) -> Path:
        return self.project / "reports" / "GM0489_Barendrecht"

    @property
    def audit_log(self) -> Path:
        return self.home / "audit.jsonl"

    def env(self, *, key: bool = True) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BCBA_", "PYTEST_", "JPY_", "JUPYTER_"))
        }
        env.update(
            BCBA_HOME=str(self.project),
            HOME=str(self.home),
            BCBA_AUDITLOG=str(self.audit_log),
            TMPDIR=str(self.tmp),
            MPLBACKEND="Agg",
            LANG="C.UTF-8",
            PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        )
        env[MARK_ENV] = self.mark
        if key:
            env["BCBA_SLEUTEL"] = KEY_HEX
        return env

    def processes(self) -> dict[int, str]:
        """Live processes carrying this project's marker: pid -> command line."""
        wanted = f"{MARK_ENV}={self.mark}".encode()
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if wanted not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                if (entry / "stat").read_text().rsplit(") ", 1)[1].startswith("Z"):
                    continue  # a zombie is gone; its new parent has not reaped it yet
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
                )
            except (OSError, IndexError):
                continue
        return found

    def wait_for_no_processes(self, timeout: float = 20.0) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while (alive := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.25)
        return alive

    def leftovers(self, pids: set[int]) -> list[str]:
        """What the runs left in the temporary folder, in /dev/shm (the folders named after
        one of ``pids``, the run's processes) and in Jupyter's runtime folder."""
        found = [p.relative_to(self.root).as_posix() for p in sorted(self.tmp.iterdir())]
        for path in sorted(Path("/dev/shm").glob("bcba-*")):
            pid = re.match(r"bcba-[a-z]+-(\d+)-", path.name)
            if pid and int(pid.group(1)) in pids:
                found.append(str(path))
        runtime = self.home / ".local" / "share" / "jupyter" / "runtime"
        if runtime.is_dir():
            found += [p.relative_to(self.root).as_posix() for p in sorted(runtime.iterdir())]
        temporaries = re.compile(r"^\..+\.\d+-[a-z0-9_]{8}")  # bcba.io.atomic_path's
        data = self.project / "data"
        if data.is_dir():
            found += [
                p.relative_to(self.root).as_posix()
                for p in sorted(data.rglob(".*"))
                if temporaries.match(p.name)
            ]
        return found


@dataclass
class Outcome:
    """One finished (or killed) CLI call."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    pids: set[int] = field(default_factory=set)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    @property
    def traceback(self) -> bool:
        return bool(TRACEBACK.search(self.text))


class _PidWatch:
    """Collects the pids of a project's processes while a command runs (a thread)."""

    def __init__(self, project: Project) -> None:
        self.project, self.pids, self._stop = project, set(), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.3):
            self.pids |= set(self.project.processes())

    def stop(self) -> set[int]:
        self._stop.set()
        self._thread.join()
        return self.pids


def bcba(
    project: Project,
    *args: str,
    key: bool = True,
    timeout: float = 600,
    kill_at: str | None = None,
    on_line=None,
) -> Outcome:
    """Run ``bcba *args`` for ``project``; ``kill_at``: SIGKILL the CLI as soon as it prints
    a progress line containing that text; ``on_line(line)`` sees every line of stdout."""
    started = time.monotonic()
    watch = _PidWatch(project)
    proc = subprocess.Popen(
        [*CLI, *args],
        env=project.env(key=key),
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    out_lines = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    killed = False
    try:
        for line in proc.stdout:
            out_lines.append(line)
            if on_line is not None:
                on_line(line)
            if not killed and kill_at and kill_at in line:
                watch.pids |= set(project.processes())
                proc.send_signal(signal.SIGKILL)
                killed = True
        proc.wait()
        reader.join(timeout=30)
    finally:
        timer.cancel()
        proc.stdout.close()
        proc.stderr.close()
    return Outcome(
        list(args),
        proc.returncode,
        "".join(out_lines),
        "".join(err_lines),
        time.monotonic() - started,
        watch.stop(),
    )


def _maak(raw: Path, out: Path | None, *extra: str, pdf: bool = False) -> list[str]:
    args = ["maak", "--gemeente", "GM0489", "--data-dir", str(raw), *PERIOD_ARGS]
    if out is not None:
        args += ["--out", str(out)]
    if not pdf:
        args.append("--geen-pdf")
    return [*args, *extra]


# --------------------------------------------------------------------------- the data
def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return rows[0], rows[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` as Excel shows it (header = 1)."""
    header, rows = _read_csv(path)
    rows[row - 2][header.index(column)] = value
    _write_csv(path, header, rows)


def make_raw(out: Path) -> Path:
    """Small generated data with the odd-but-valid inputs every successful run here reads:

    - HTML and formula payloads in trade names and partner descriptions;
    - an open end ``31-12-9999`` for the first officer;
    - one cp1252 line (``é`` as byte 0xE9) in the UTF-8 officers file.
    """
    from bcba import synthetic

    synthetic.generate("GM0489", out, seed=7, periode=PERIODE, scale=0.12)
    payloads = HTML_PAYLOADS + FORMULA_PAYLOADS
    vest = out / "kvk_vestigingen.csv"
    header, rows = _read_csv(vest)
    col = header.index("handelsnaam")
    for i, row in enumerate(rows):
        row[col] = f"{payloads[i % len(payloads)]} {row[col]}"
    _write_csv(vest, header, rows)
    for partner in sorted((out / "partners").glob("*.csv")):
        header, rows = _read_csv(partner)
        col = header.index("omschrijving")
        for i, row in enumerate(rows):
            row[col] = f"{payloads[(i + 1) % len(payloads)]} {row[col]}"
        _write_csv(partner, header, rows)
    func = out / "kvk_functionarissen.csv"
    _set_cell(func, 2, "datum_einde", "31-12-9999")
    header, rows = _read_csv(func)
    name_col = header.index("naam")
    target = next(i for i, r in enumerate(rows) if "e" in r[name_col])
    lines = func.read_bytes().split(b"\r\n")
    name = rows[target][name_col]
    lines[target + 1] = lines[target + 1].replace(
        name.encode(), name.replace("e", "é", 1).encode("cp1252")
    )
    func.write_bytes(b"\r\n".join(lines))
    return out


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return make_raw(tmp_path_factory.mktemp("faults") / "raw")


@pytest.fixture(scope="module")
def persons(raw) -> tuple[list[str], list[str]]:
    """Names and birth dates of planted persons, and every officer's name as written."""
    from bcba.leakcheck import persons_from_planted

    names, dates = persons_from_planted(raw / "planted.json")
    header, rows = _read_csv(raw / "kvk_functionarissen.csv")
    names = sorted(set(names) | {r[header.index("naam")] for r in rows} - {""})
    return names, dates


def _names_found(paths: list[Path], persons, *, dates: bool = True) -> list:
    """Hits of the persons in ``paths``: names, and birth dates unless ``dates`` is false
    (processed data holds registration dates that may equal a birth date)."""
    from bcba.leakcheck import scan_outputs

    existing = [p for p in paths if p.exists()]
    names, birth_dates = persons
    return scan_outputs(existing, names, birth_dates if dates else ()) if existing else []


def names_outside_report_folders(project: Project, persons, pids: set[int] = frozenset()):
    shm = [p for p in Path("/dev/shm").glob("bcba-*") if any(f"-{pid}-" in p.name for pid in pids)]
    return _names_found([project.tmp, project.home, *shm], persons) + _names_found(
        [project.project / "data"], persons, dates=False
    )


# --------------------------------------------------------------------------- the matrix
MATRIX: dict[str, dict] = {}


def _note(section: str, case: str, result: Outcome | None = None, **facts) -> None:
    if result is not None:
        facts = {
            "exit": result.returncode,
            "seconden": round(result.seconds, 1),
            "traceback": result.traceback,
            **facts,
        }
    MATRIX.setdefault(section, {})[case] = facts


@pytest.fixture(scope="module", autouse=True)
def _write_matrix():
    yield
    target = os.environ.get(MATRIX_ENV)
    if target:
        Path(target).write_text(json.dumps(MATRIX, indent=1, ensure_ascii=False), encoding="utf-8")


def is_clean_failure(result: Outcome, words: tuple[str, ...] = ()) -> bool:
    return (
        result.returncode == 2
        and not result.traceback
        and "fout" in result.stderr.lower()
        and bool(DUTCH.search(result.stderr))
        and all(re.search(word, result.text) for word in words)
    )


def assert_clean_failure(result: Outcome, *, words: tuple[str, ...] = ()) -> None:
    """Exit 2, a Dutch ``fout`` message with ``words``, and no traceback."""
    assert not result.traceback, result.text[-3000:]
    assert result.returncode == 2, result.text[-3000:]
    assert "fout" in result.stderr.lower(), result.text[-3000:]
    assert DUTCH.search(result.stderr), result.stderr
    for word in words:
        assert re.search(word, result.text), (word, result.text[-3000:])


def assert_incomplete(folder: Path) -> None:
    """``folder`` holds only ``ONVOLLEDIG.txt`` (and an owner-only ``debug.log``)."""
    names = {p.name for p in folder.iterdir()}
    assert "ONVOLLEDIG.txt" in names, names
    assert names <= {"ONVOLLEDIG.txt", "debug.log"}, names
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "ONVOLLEDIG" in (folder / "ONVOLLEDIG.txt").read_text(encoding="utf-8")


def test_the_cli_under_test_is_this_checkout(tmp_path):
    project = Project(tmp_path / "p")
    done = subprocess.run(
        [sys.executable, "-c", "import bcba; print(bcba.__file__)"],
        env=project.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).resolve().is_relative_to(ROOT)


# --------------------------------------------------------------------------- bad inputs
def _remove(d: Path) -> None:
    (d / "bag_adressen.csv").unlink()


def _delimiter(d: Path) -> None:
    path = d / "kadaster_transacties.csv"
    path.write_bytes(path.read_bytes().replace(b";", b"|"))


def _drop_column(d: Path) -> None:
    path = d / "kvk_vestigingen.csv"
    header, rows = _read_csv(path)
    i = header.index("postcode")
    _write_csv(path, header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


def _bad_date(d: Path) -> None:
    _set_cell(d / "kadaster_transacties.csv", 4, "datum", "31-02-2024")


def _broken_xlsx(d: Path) -> None:
    from sources_fixtures import write_xlsx_member

    (d / "kvk_vestigingen.csv").unlink()
    write_xlsx_member(d / "kvk_vestigingen.xlsx", "xl/worksheets/sheet1.xml", b"<worksheet><sheetD")


def _zip_bomb(d: Path) -> None:
    from sources_fixtures import write_xlsx_bomb

    (d / "kvk_vestigingen.csv").unlink()
    write_xlsx_bomb(d / "kvk_vestigingen.xlsx", 3_000_000)  # 3 GB unpacked


#: (id, change to a copy of the data, words the message must contain)
INPUT_CASES = [
    ("verplicht_bestand_ontbreekt", _remove, ("bag_adressen", "ontbreekt")),
    ("verkeerd_scheidingsteken", _delimiter, ("kadaster_transacties.csv",)),
    ("kolom_ontbreekt", _drop_column, ("kvk_vestigingen.csv", "postcode")),
    ("onmogelijke_datum", _bad_date, ("kadaster_transacties.csv", "rij 4", "datum")),
    ("kapotte_xlsx", _broken_xlsx, ("kvk_vestigingen.xlsx",)),
    ("zipbom_xlsx_3gb_uitgepakt", _zip_bomb, ("kvk_vestigingen.xlsx",)),
]


@pytest.mark.parametrize(("change", "words"), [pytest.param(c, w, id=i) for i, c, w in INPUT_CASES])
def test_bad_input_gives_a_dutch_error_and_an_incomplete_folder(
    raw, persons, tmp_path, request, change, words
):
    project = Project(tmp_path / "p")
    data = tmp_path / "raw"
    shutil.copytree(raw, data)
    change(data)
    out = project.project / "uit"
    result = bcba(project, *_maak(data, out), timeout=300)
    alive = project.wait_for_no_processes()
    left = project.leftovers(result.pids)
    names = names_outside_report_folders(project, persons, result.pids)
    _note(
        "invoer",
        request.node.callspec.id,
        result,
        nette_fout=is_clean_failure(result, words),
        processen_over=len(alive),
        bestanden_over=len(left),
        namen_buiten_rapportmap=len(names),
        melding=result.stderr.strip()[-300:],
    )
    assert_clean_failure(result, words=words)
    if out.exists():  # refused before the run started: no folder at all
        assert_incomplete(out)
    assert alive == {}
    assert left == []
    assert names == []
    assert result.seconds < 120  # the zip bomb too: refused from its declared sizes


# --------------------------------------------------------------------------- bad options
#: (id, arguments replacing the defaults, words in the message, with the key)
OPTION_CASES = [
    (
        "ontvanger_met_meta_refresh",
        ["--ontvanger", '0;url=https://example.org/" http-equiv="refresh'],
        ("ontvanger",),
        True,
    ),
    ("ontvanger_met_script", ["--ontvanger", "<script>alert(1)</script>"], ("ontvanger",), True),
    (
        "periode_eind_voor_begin",
        ["--periode-start", "2025-12-31", "--periode-eind", "2024-01-01"],
        ("periode",),
        True,
    ),
    ("invoermap_ontbreekt", ["--data-dir", "bestaat-niet"], ("bestaat niet",), True),
    ("out_is_root", ["--out", "/"], ("/",), True),
    ("geen_sleutel", [], ("sleutel",), False),
]


@pytest.mark.parametrize(
    ("args", "words", "key"), [pytest.param(a, w, k, id=i) for i, a, w, k in OPTION_CASES]
)
def test_bad_option_is_refused_before_the_run(raw, tmp_path, request, args, words, key):
    project = Project(tmp_path / "p")
    options = {"--gemeente": "GM0489", "--data-dir": str(raw)}
    options.update(zip(PERIOD_ARGS[::2], PERIOD_ARGS[1::2], strict=True))
    options.update(zip(args[::2], args[1::2], strict=True))
    argv = ["maak", *[x for pair in options.items() for x in pair], "--geen-pdf"]
    result = bcba(project, *argv, key=key, timeout=120)
    left = project.leftovers(result.pids)
    _note(
        "opties",
        request.node.callspec.id,
        result,
        nette_fout=is_clean_failure(result, words),
        bestanden_over=len(left),
        melding=result.stderr.strip()[-300:],
    )
    assert_clean_failure(result, words=words)
    assert result.seconds < 60
    reports = project.project / "reports"
    assert not reports.exists() or not [p for p in reports.rglob("*") if p.is_file()]
    assert project.wait_for_no_processes() == {}
    assert left == []


def test_out_into_a_foreign_folder_is_refused_and_the_folder_untouched(raw, tmp_path):
    project = Project(tmp_path / "p")
    foreign = project.root / "vreemd"
    foreign.mkdir()
    (foreign / "notulen.docx").write_bytes(b"niet van bcba")
    before = {p.name: p.stat().st_mtime_ns for p in foreign.iterdir()}
    result = bcba(project, *_maak(raw, foreign), timeout=120)
    words = ("niet leeg",)
    _note(
        "opties",
        "out_vreemde_map",
        result,
        nette_fout=is_clean_failure(result, words),
        melding=result.stderr.strip()[-300:],
    )
    assert_clean_failure(result, words=words)
    assert {p.name: p.stat().st_mtime_ns for p in foreign.iterdir()} == before
    assert project.leftovers(result.pids) == []


# --------------------------------------------------------------------------- one project, many runs
#: Where a run is killed: the first progress line containing the text.
KILL_STAGES = {
    "inlezen": "Invoer inlezen",  # kernel up, reading the inputs
    "netwerken": "Netwerken analyseren",  # kernel, second process, hand-over files, Chromium
    # tables, GeoPackages and sections written into the half-built folder (the PDF stage
    # comes later and costs a whole run more; Chromium runs from the first stage on)
    "uitvoer": "QGIS-project schrijven",
}


class Scenario:
    """One project that lives through kills, then complete runs; each step runs once."""

    def __init__(self, root: Path, raw: Path, persons) -> None:
        self.project = Project(root)
        self.raw, self.persons = raw, persons
        self._done: dict[str, object] = {}

    def _once(self, name: str, make):
        if name not in self._done:
            self._done[name] = make()
        return self._done[name]

    def kill(self, stage: str) -> dict:
        def make() -> dict:
            result = bcba(
                self.project, *_maak(self.raw, None, pdf=True), kill_at=KILL_STAGES[stage]
            )
            alive = self.project.wait_for_no_processes()
            time.sleep(0.5)  # the guard's last step (stale hand-over folders) after the kills
            return {
                "result": result,
                "alive": alive,
                "leftovers": self.project.leftovers(result.pids),
                "names": names_outside_report_folders(self.project, self.persons, result.pids),
                "building": list(self.project.reports.glob(".bezig-*")),
            }

        return self._once(f"kill_{stage}", make)

    def runs(self) -> dict[str, Outcome]:
        """After the kills: run ``eerste``; while it reads its inputs, ``tweede`` starts into
        its folder (refused: locked) and ``herhaling`` on the same day (its own folder)."""

        def make() -> dict[str, Outcome]:
            for stage in KILL_STAGES:
                self.kill(stage)
            seen: dict[str, Outcome] = {}
            threads = []

            def start_others(line: str) -> None:
                if "Invoer inlezen" not in line or threads:
                    return
                building = list(self.project.reports.glob(".bezig-*"))
                assert len(building) == 1, building
                target = building[0].with_name(building[0].name.removeprefix(".bezig-"))

                def rerun() -> None:
                    seen["herhaling"] = bcba(self.project, *_maak(self.raw, None))

                threads.append(threading.Thread(target=rerun))
                threads[0].start()
                seen["tweede"] = bcba(self.project, *_maak(self.raw, target))
                seen["tweede_doel"] = target

            seen["eerste"] = bcba(self.project, *_maak(self.raw, None), on_line=start_others)
            for thread in threads:
                thread.join()
            return seen

        return self._once("runs", make)


@pytest.fixture(scope="module")
def scenario(raw, persons, tmp_path_factory) -> Scenario:
    return Scenario(tmp_path_factory.mktemp("scenario"), raw, persons)


@pytest.mark.parametrize("stage", list(KILL_STAGES))
def test_kill_9_leaves_no_process_no_file_and_no_name(scenario, stage):
    seen = scenario.kill(stage)
    result = seen["result"]
    _note(
        "kill_9",
        stage,
        seconden=round(result.seconds, 1),
        processen_tijdens=len(result.pids),
        processen_over=len(seen["alive"]),
        bestanden_over=len(seen["leftovers"]),
        namen_buiten_rapportmap=len(seen["names"]),
        over=seen["leftovers"][:10],
    )
    assert result.returncode == -signal.SIGKILL, result.text[-2000:]
    assert len(result.pids) > 2, "killed before the run started its kernel"
    assert seen["alive"] == {}
    assert seen["leftovers"] == []
    assert seen["names"] == []
    assert seen["building"] == []  # marked incomplete under its final name


def test_next_run_after_kills_succeeds_and_every_killed_run_is_marked(scenario):
    first = scenario.runs()["eerste"]
    _note("runs", "volgende_run_na_kills", first, processen_tijdens=len(first.pids))
    _note(
        "runs",
        "vreemd_maar_geldig_gelezen",
        exit=first.returncode,
        gevallen="open einde 31-12-9999; cp1252-regel in UTF-8; HTML en formules in tekstvelden",
    )
    assert first.returncode == 0, first.text[-3000:]
    assert not first.traceback, first.text[-3000:]
    from bcba.runs import completed_runs

    reports = scenario.project.reports
    assert list(reports.glob(".bezig-*")) == []
    complete = completed_runs(reports)
    incomplete = [p for p in reports.iterdir() if p.is_dir() and p not in complete]
    assert len(incomplete) == len(KILL_STAGES)
    for folder in incomplete:
        assert_incomplete(folder)
    assert scenario.project.wait_for_no_processes() == {}
    assert scenario.project.leftovers(first.pids) == []
    assert names_outside_report_folders(scenario.project, scenario.persons) == []


def test_a_second_run_into_a_running_folder_is_refused(scenario):
    seen = scenario.runs()
    second = seen["tweede"]
    words = ("Er loopt al een run",)
    _note(
        "runs",
        "twee_runs_een_map",
        second,
        nette_fout=is_clean_failure(second, words),
        melding=second.stderr.strip()[-300:],
    )
    assert_clean_failure(second, words=words)
    from bcba.runs import is_complete_run

    assert seen["eerste"].returncode == 0
    assert is_complete_run(seen["tweede_doel"])


def test_reruns_on_one_day_keep_their_own_folders(scenario):
    seen = scenario.runs()
    rerun = seen["herhaling"]
    from bcba.runs import completed_runs

    complete = completed_runs(scenario.project.reports)
    _note("runs", "herhaling_zelfde_dag", rerun, volledige_mappen=len(complete))
    assert rerun.returncode == 0, rerun.text[-3000:]
    assert not rerun.traceback
    assert len({p.name for p in complete}) == len(complete) == 2
    assert {p.name[:10] for p in complete} == {complete[0].name[:10]}  # one day


def test_national_export_reads_complete_runs_only(scenario, tmp_path):
    scenario.runs()
    reports = scenario.project.reports
    clean = bcba(scenario.project, "landelijk", "--out", str(tmp_path / "schoon.csv"))
    assert clean.returncode == 0, clean.text
    # an incomplete run that sorts last and still has a (tampered) vlaggen.csv
    from bcba.runs import completed_runs

    fake = reports / "9999-12-31_2359"
    shutil.copytree(completed_runs(reports)[-1], fake)
    (fake / "bcba-run.json").unlink()
    (fake / "ONVOLLEDIG.txt").write_text("ONVOLLEDIG - test\n", encoding="utf-8")
    head, *body = (fake / "vlaggen.csv").read_bytes().splitlines(keepends=True)
    (fake / "vlaggen.csv").write_bytes(head + b"".join(body * 7))
    try:
        dirty = bcba(scenario.project, "landelijk", "--out", str(tmp_path / "met_onvolledig.csv"))
    finally:
        shutil.rmtree(fake)
    same = (tmp_path / "met_onvolledig.csv").read_bytes() == (tmp_path / "schoon.csv").read_bytes()
    _note("runs", "landelijk_alleen_volledige_runs", dirty, gelijk_aan_schoon=same)
    assert dirty.returncode == 0, dirty.text
    assert not dirty.traceback
    assert same


def _formula_cells(folder: Path) -> list[tuple[str, str]]:
    """Cells a spreadsheet would run, in every CSV and XLSX under ``folder``."""
    import openpyxl

    found = []
    for path in sorted(folder.rglob("*.csv")):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"):
            found += [(path.name, cell) for cell in row if FORMULA_CELL.match(cell)]
    for path in sorted(folder.rglob("*.xlsx")):
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    value = cell.value
                    if cell.data_type == "f" or (
                        isinstance(value, str) and FORMULA_CELL.match(value)
                    ):
                        found.append((f"{path.name}:{sheet.title}", str(value)))
        book.close()
    return found


def test_no_formula_cell_and_no_raw_html_in_the_outputs(scenario):
    scenario.runs()
    from bcba.runs import completed_runs

    folders = completed_runs(scenario.project.reports)
    cells = [hit for folder in folders for hit in _formula_cells(folder)]
    files = sum(len(list(f.rglob("*.csv"))) + len(list(f.rglob("*.xlsx"))) for f in folders)
    payload_seen = any(
        "HYPERLINK" in path.read_text(encoding="utf-8-sig", errors="replace")
        for folder in folders
        for path in folder.rglob("*.csv")
    )
    pages = [p for folder in folders for p in folder.rglob("*.html")]
    raw_html = [
        (p.name, payload)
        for p in pages
        for payload in HTML_PAYLOADS
        if payload in p.read_text(encoding="utf-8", errors="replace")
    ]
    _note(
        "uitvoer",
        "formules_en_html",
        bestanden=files,
        formulecellen=len(cells),
        payload_in_uitvoer=payload_seen,
        paginas=len(pages),
        onge_escapete_html=len(raw_html),
    )
    assert files > 10
    assert cells == [], cells[:10]
    assert raw_html == []


def test_every_run_is_audited_from_start_to_end(scenario):
    scenario.runs()
    entries = [json.loads(line) for line in scenario.project.audit_log.read_text().splitlines()]
    runs = [e for e in entries if e["command"] == "run"]
    started = {e["seq"] for e in runs if e["status"] == "gestart"}
    ended = {e["gestart_regel"]: e["status"] for e in runs if e["status"] != "gestart"}
    missing = sorted(started - set(ended))
    verify = bcba(scenario.project, "audit", "controleer")
    _note(
        "audit",
        "start_en_einde_van_elke_run",
        gestart=len(started),
        beeindigd=len(ended),
        afgebroken=sum(1 for s in ended.values() if s == "mislukt"),
        zonder_einde=len(missing),
        controleer_exit=verify.returncode,
    )
    # three killed runs and the refused second run failed; the run and the rerun completed
    assert len(started) == len(KILL_STAGES) + 3
    assert missing == []
    assert sorted(ended.values()) == ["mislukt"] * (len(KILL_STAGES) + 1) + ["voltooid"] * 2
    assert verify.returncode == 0, verify.text

"""The fault matrix: ``bcba maak`` attacked as a security tester would, through the real CLI.

Every case runs ``.venv/bin/bcba`` in a subprocess with its own project (``BCBA_HOME``),
home (key, audit log), ``TMPDIR`` and, where the machine allows a private mount namespace
(root and ``unshare``), its own ``/dev/shm``: what a run leaves behind is then exactly what
is in those folders afterwards. The oracles are independent of bcba's own checks: the
names come from the generator's ``planted.json``, child processes are found in ``/proc``
by the environment they inherited, and file modes by ``stat``.

Cases:

* bad inputs (one mutated file, option or environment per case): exit 2, a Dutch message
  naming file/row/column where relevant, never a traceback, and for failures after the run
  started a run folder holding only ``ONVOLLEDIG.txt`` and an owner-only ``debug.log``;
  inputs that are odd but valid (an open end ``31-12-9999``, one cp1252 line in a UTF-8
  file, a partner category outside the themes, HTML in text fields) are in the data every
  successful run here reads;
* ``kill -9`` of the CLI at three stages: no process, hand-over file, kernel socket
  folder or temporary file left, no name outside the report folder, and the folder marked
  incomplete; the next run succeeds;
* two runs into one ``--out``, a foreign ``--out``, ``--out /``, reruns on one day, the
  national export from complete runs only, a full disk, a killed kernel;
* HTML injection (no script runs in headless Chromium) and the audit log of all runs.

The audit tamperings are tested in ``tests/test_audit.py``; formula injection in CSV/XLSX
outputs in ``tests/test_io.py``. ``benchmarks/fault_matrix.py`` prints the matrix.
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
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PERIODE, TEST_KEY_HEX

BCBA = Path(sys.executable).with_name("bcba")
KEY_HEX = TEST_KEY_HEX + "00"
PERIOD_ARGS = ["--periode-start", PERIODE[0].isoformat(), "--periode-eind", PERIODE[1].isoformat()]
#: What a run's output may never show: a traceback, an exception dump line, or English
#: messages of the libraries underneath.
TRACEBACK = re.compile(
    r"Traceback|File \"|^\s*[\w.]+(Error|Exception|Warning)\b:|\bError:|Value error"
    r"|Input should|Kernel died|No such file|No space left|Permission denied",
    re.M,
)
#: An English exception class name inside a Dutch message: noted in the matrix.
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")
#: Observations for benchmarks/fault_matrix.py (written when this variable names a file).
MATRIX_ENV = "BCBA_FOUTMATRIX"

pytestmark = pytest.mark.skipif(not BCBA.exists(), reason="bcba is not installed in this venv")


# --------------------------------------------------------------------------- the sandbox
def _can_unshare() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


UNSHARE = _can_unshare()


@dataclass
class Project:
    """One isolated bcba installation: project, home, temporary folder and /dev/shm."""

    root: Path

    def __post_init__(self) -> None:
        for name in ("project", "home", "tmp", "shm"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
            (self.root / name).chmod(0o1777 if name in ("tmp", "shm") else 0o700)

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
    def shm(self) -> Path:
        """The run's /dev/shm: a private bind mount when possible, else the real one."""
        return self.root / "shm" if UNSHARE else Path("/dev/shm")

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
        )
        if key:
            env["BCBA_SLEUTEL"] = KEY_HEX
        return env

    def processes(self) -> dict[int, str]:
        """Live processes that inherited this project's environment: pid -> command line."""
        marker = f"BCBA_HOME={self.project}".encode()
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                if marker not in environ:
                    continue
                if (entry / "stat").read_text().split(") ", 1)[1].startswith("Z"):
                    continue  # a zombie is gone; its parent has not reaped it yet
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError):
                continue
            found[int(entry.name)] = cmdline[:160]
        return found

    def wait_for_no_processes(self, timeout: float = 15.0) -> dict[int, str]:
        deadline = time.monotonic() + timeout
        while (alive := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.25)
        return alive

    def leftovers(self) -> list[str]:
        """Everything the runs left in the temporary folders (a relative path each)."""
        found = [p.relative_to(self.root).as_posix() for p in sorted(self.tmp.iterdir())]
        if UNSHARE:
            found += [p.relative_to(self.root).as_posix() for p in sorted(self.shm.iterdir())]
        else:  # the shared /dev/shm: only bcba's own folders can be ours
            found += [f"/dev/shm/{p.name}" for p in sorted(Path("/dev/shm").glob("bcba-*"))]
        jupyter = self.home / ".local" / "share" / "jupyter" / "runtime"
        if jupyter.is_dir():
            found += [p.relative_to(self.root).as_posix() for p in sorted(jupyter.iterdir())]
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


def _command(project: Project, args: list[str], *, mounts: list[tuple[str, Path]] = ()):
    """``bcba <args>``, in a private mount namespace with the project's /dev/shm."""
    command = [str(BCBA), *args]
    if not UNSHARE:
        return command
    script = [f'mount --bind "{project.root / "shm"}" /dev/shm']
    script += [f'mount -t tmpfs -o {opts} tmpfs "{target}"' for opts, target in mounts]
    # the mounts vanish with the namespace: a copy of what the run left is taken inside
    copies = [f'cp -a "{target}/." "{target}.kopie/"' for _, target in mounts]
    body = " && ".join(script)
    if copies:
        body += ' && { "$@"; rc=$?; ' + "; ".join(copies) + "; exit $rc; }"
    else:
        body += ' && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", body, "sh", *command]


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
    mounts: list[tuple[str, Path]] = (),
    kill_at: str | None = None,
    kill_kernel_at: str | None = None,
    on_line=None,
) -> Outcome:
    """Run ``bcba *args`` for ``project``; ``kill_at``: SIGKILL the CLI as soon as it prints
    a progress line containing that text (``kill_kernel_at``: SIGKILL the kernel instead)."""
    started = time.monotonic()
    watch = _PidWatch(project)
    proc = subprocess.Popen(
        _command(project, list(args), mounts=mounts),
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
    killed = False
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            out_lines.append(line)
            if on_line is not None:
                on_line(line)
            if not killed and kill_at and kill_at in line:
                proc.send_signal(signal.SIGKILL)
                killed = True
            if not killed and kill_kernel_at and kill_kernel_at in line:
                kernels = [p for p, c in project.processes().items() if "ipykernel" in c]
                assert kernels, "no kernel found to kill"
                for pid in kernels:
                    os.kill(pid, signal.SIGKILL)
                killed = True
        proc.wait()
        reader.join(timeout=30)
    finally:
        timer.cancel()
        proc.stdout.close()
        proc.stderr.close()
    pids = watch.stop()
    return Outcome(
        list(args),
        proc.returncode,
        "".join(out_lines),
        "".join(err_lines),
        time.monotonic() - started,
        pids,
    )


# --------------------------------------------------------------------------- the data
#: What a payload looks like when a page did not escape it (in HTML, or in a script's
#: string that a map may later insert as HTML).
UNESCAPED = ("<script>top.__xss", "<img src=x onerror", "<svg/onload", "<iframe srcdoc")
#: Payloads that run script if a page inserts them as HTML (each sets ``top.__xss``).
PAYLOADS = (
    "<script>top.__xss=(top.__xss||0)+1</script>",
    "<img src=x onerror=top.__xss=(top.__xss||0)+1>",
    "</td></tr></table><svg/onload=top.__xss=(top.__xss||0)+1>",
    "'><iframe srcdoc=<script>top.__xss=1</script>>",
)


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=";"))
    return rows[0], rows[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding="utf-8") -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` as Excel shows it (header = 1)."""
    header, rows = _read_csv(path)
    rows[row - 2][header.index(column)] = value
    _write_csv(path, header, rows)


@pytest.fixture(scope="module")
def raw(tmp_path_factory) -> Path:
    return make_raw(tmp_path_factory.mktemp("faults") / "raw")


def make_raw(out: Path) -> Path:
    """Small generated data with the odd-but-valid inputs every successful run here reads.

    - HTML payloads in every trade name and every partner description;
    - an open end ``31-12-9999`` for the first officer;
    - one cp1252 line (``é`` as byte 0xE9) in the UTF-8 officers file;
    - a partner category outside the themes (``wapenhandel``).
    """
    from bcba import synthetic

    synthetic.generate("GM0489", out, seed=7, periode=PERIODE, scale=0.12)
    vest = out / "kvk_vestigingen.csv"
    header, rows = _read_csv(vest)
    col = header.index("handelsnaam")
    for i, row in enumerate(rows):
        row[col] = f"{row[col]} {PAYLOADS[i % len(PAYLOADS)]}"
    _write_csv(vest, header, rows)
    for partner in sorted((out / "partners").glob("*.csv")):
        header, rows = _read_csv(partner)
        col = header.index("omschrijving")
        for i, row in enumerate(rows):
            row[col] = f"{row[col]} {PAYLOADS[(i + 1) % len(PAYLOADS)]}"
        rows.append([*rows[0]])
        rows[-1][header.index("thema")] = "wapenhandel"
        rows[-1][header.index("soort")] = "wapenhandel_signaal"
        _write_csv(partner, header, rows)
    func = out / "kvk_functionarissen.csv"
    _set_cell(func, 2, "datum_einde", "31-12-9999")
    header, rows = _read_csv(func)
    name_col = header.index("naam")
    target = next(i for i, r in enumerate(rows) if "e" in r[name_col])
    lines = func.read_bytes().split(b"\r\n")
    name = rows[target][name_col]
    accented = name.replace("e", "é", 1)
    lines[target + 1] = lines[target + 1].replace(name.encode(), accented.encode("cp1252"))
    func.write_bytes(b"\r\n".join(lines))
    return out


@pytest.fixture(scope="module")
def persons(raw) -> tuple[list[str], list[str]]:
    from bcba.leakcheck import persons_from_planted

    names, dates = persons_from_planted(raw / "planted.json")
    header, rows = _read_csv_bytes(raw / "kvk_functionarissen.csv")
    names = sorted(set(names) | {r[header.index("naam")] for r in rows})
    return names, dates


def _read_csv_bytes(path: Path):
    text = path.read_bytes().decode("utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return rows[0], rows[1:]


def _names_found(paths: list[Path], persons, *, dates: bool = True) -> list:
    """Hits of the planted persons in ``paths``: names, and birth dates unless ``dates`` is
    false (processed data holds dates of registration that may equal a birth date)."""
    from bcba.leakcheck import scan_outputs

    existing = [p for p in paths if p.exists()]
    names, birth_dates = persons
    return scan_outputs(existing, names, birth_dates if dates else ()) if existing else []


# --------------------------------------------------------------------------- assertions
MATRIX: dict[str, dict] = {}


def _note(section: str, case: str, **facts) -> None:
    MATRIX.setdefault(section, {})[case] = facts


@pytest.fixture(scope="module", autouse=True)
def _write_matrix():
    yield
    target = os.environ.get(MATRIX_ENV)
    if target:
        Path(target).write_text(json.dumps(MATRIX, indent=1, ensure_ascii=False), encoding="utf-8")


def assert_clean_failure(result: Outcome, *, words: tuple[str, ...] = ()) -> None:
    """Exit 2, a Dutch ``fout:`` message with ``words``, and no traceback."""
    assert not TRACEBACK.search(result.text), result.text[-3000:]
    assert result.returncode == 2, result.text[-3000:]
    assert "fout" in result.stderr.lower(), result.text[-3000:]
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


# --------------------------------------------------------------------------- bad inputs
def _remove(name):
    return lambda d: (d / name).unlink()


def _delimiter(d: Path) -> None:
    path = d / "kadaster_transacties.csv"
    path.write_bytes(path.read_bytes().replace(b";", b"|"))


def _drop_column(d: Path) -> None:
    path = d / "kvk_vestigingen.csv"
    header, rows = _read_csv(path)
    i = header.index("postcode")
    _write_csv(path, header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows])


def _duplicate_header(d: Path) -> None:
    path = d / "kvk_vestigingen.csv"
    header, rows = _read_csv(path)
    header[header.index("plaats")] = "postcode"
    _write_csv(path, header, rows)


def _header_only(d: Path) -> None:
    path = d / "kadaster_transacties.csv"
    path.write_bytes(path.read_bytes().split(b"\r\n", 1)[0] + b"\r\n")


def _broken_xlsx(d: Path) -> None:
    from sources_fixtures import write_xlsx_member

    (d / "kvk_vestigingen.csv").unlink()
    write_xlsx_member(d / "kvk_vestigingen.xlsx", "xl/worksheets/sheet1.xml", b"<worksheet><sheetD")


def _zip_bomb(d: Path) -> None:
    from sources_fixtures import write_xlsx_bomb

    (d / "kvk_vestigingen.csv").unlink()
    write_xlsx_bomb(d / "kvk_vestigingen.xlsx", 3_000_000)


def _garbage(d: Path) -> None:
    import numpy as np

    data = np.random.default_rng(5).integers(0, 256, 50_000, dtype=np.uint8).tobytes()
    (d / "kadaster_transacties.csv").write_bytes(data)


def _bad_yaml(d: Path) -> None:
    (d / "enquete_mapping.yaml").write_text("percepties: [drugs: {\n  - : :\n", encoding="utf-8")


def _nul_bytes(d: Path) -> None:
    path = d / "kvk_functionarissen.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[3] = lines[3][:5] + b"\x00\x00" + lines[3][5:]
    path.write_bytes(b"\r\n".join(lines))


def _cell(name: str, row: int, column: str, value: str):
    return lambda d: _set_cell(d / name, row, column, value)


#: (id, change to the data, extra arguments, expected words in the message)
INPUT_CASES = [
    ("verplicht_bestand_ontbreekt", _remove("bag_adressen.csv"), (), ("bag_adressen", "ontbreekt")),
    ("verkeerd_scheidingsteken", _delimiter, (), ("kadaster_transacties.csv",)),
    ("kolom_ontbreekt", _drop_column, (), ("kvk_vestigingen.csv", "postcode")),
    (
        "onmogelijke_datum",
        _cell("kadaster_transacties.csv", 4, "datum", "31-02-2024"),
        (),
        ("kadaster_transacties.csv", "rij 4", "datum"),
    ),
    (
        "datum_in_1600",
        _cell("kadaster_transacties.csv", 5, "datum", "01-01-1600"),
        (),
        ("kadaster_transacties.csv", "rij 5", "datum"),
    ),
    (
        "arabisch_indische_cijfers",
        _cell("kadaster_transacties.csv", 3, "koopsom", "٤٢١٠٠٠"),
        (),
        ("kadaster_transacties.csv", "rij 3", "koopsom"),
    ),
    (
        "getal_van_20_cijfers",
        _cell("kadaster_transacties.csv", 6, "koopsom", "12345678901234567890"),
        (),
        ("kadaster_transacties.csv", "rij 6", "koopsom"),
    ),
    ("kapotte_xlsx", _broken_xlsx, (), ("kvk_vestigingen.xlsx",)),
    ("zipbom_xlsx_3mb", _zip_bomb, (), ("kvk_vestigingen.xlsx",)),
    (
        "leeg_bestand",
        lambda d: (d / "kadaster_transacties.csv").write_bytes(b""),
        (),
        ("kadaster",),
    ),
    ("alleen_kopregel", _header_only, (), ("kadaster_transacties.csv",)),
    ("dubbele_kolomnaam", _duplicate_header, (), ("kvk_vestigingen.csv", "postcode")),
    ("binaire_rommel", _garbage, (), ("kadaster_transacties.csv",)),
    ("kapotte_yaml", _bad_yaml, (), ("enquete_mapping.yaml",)),
    ("nul_bytes", _nul_bytes, (), ("kvk_functionarissen.csv",)),
]
#: Cases refused before a run starts: (id, arguments replacing the defaults, words, env).
OPTION_CASES = [
    ("onbekende_gemeente", ["--gemeente", "GM9999"], ("GM9999",), True),
    (
        "periode_eind_voor_begin",
        ["--periode-start", "2025-12-31", "--periode-eind", "2024-01-01"],
        ("periode",),
        True,
    ),
    (
        "ontvanger_met_meta_refresh",
        ["--ontvanger", '0;url=https://example.org/" http-equiv="refresh'],
        ("ontvanger",),
        True,
    ),
    ("ontvanger_met_script", ["--ontvanger", "<script>alert(1)</script>"], ("ontvanger",), True),
    ("themaconfig_ontbreekt", ["--thema-config", "bestaat-niet.yaml"], ("bestaat niet",), True),
    ("invoermap_ontbreekt", ["--data-dir", "bestaat-niet"], ("bestaat niet",), True),
    ("geen_sleutel", [], ("sleutel",), False),
]
#: Inputs that are odd but valid: in the shared data of every successful run (see ``raw``).
ACCEPTED_CASES = (
    "open_einde_31-12-9999",
    "cp1252_regel_in_utf8",
    "partnercategorie_buiten_thema",
    "html_in_handelsnaam_en_omschrijving",
)


@pytest.fixture
def fresh(tmp_path) -> Project:
    return Project(tmp_path / "p")


def _maak(raw: Path, out: Path | None, *extra: str, pdf: bool = False) -> list[str]:
    args = ["maak", "--gemeente", "GM0489", "--data-dir", str(raw), *PERIOD_ARGS]
    if out is not None:
        args += ["--out", str(out)]
    if not pdf:
        args.append("--geen-pdf")
    return [*args, *extra]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "extra", "words"),
    [pytest.param(c, e, w, id=i) for i, c, e, w in INPUT_CASES],
)
def test_bad_input_gives_a_dutch_error_and_an_incomplete_folder(
    raw, persons, fresh, tmp_path, request, change, extra, words
):
    data = tmp_path / "raw"
    shutil.copytree(raw, data)
    change(data)
    out = fresh.project / "uit"
    result = bcba(fresh, *_maak(data, out, *extra), timeout=300)
    case = request.node.callspec.id
    _note(
        "invoer",
        case,
        exit=result.returncode,
        seconden=round(result.seconds, 1),
        traceback=bool(TRACEBACK.search(result.text)),
        klassenaam=bool(CLASS_NAME.search(result.text)),
        melding=result.stderr.strip()[-400:],
    )
    assert_clean_failure(result, words=words)
    assert_incomplete(out)
    assert fresh.wait_for_no_processes() == {}
    assert fresh.leftovers() == []
    assert _names_found([fresh.tmp, fresh.shm, fresh.home, out], persons) == []
    assert _names_found([fresh.project / "data"], persons, dates=False) == []
    if case == "zipbom_xlsx_3mb":
        assert result.seconds < 60  # the bomb itself is refused in seconds (see test_sources_xlsx)


@pytest.mark.parametrize(
    ("args", "words", "key"),
    [pytest.param(a, w, k, id=i) for i, a, w, k in OPTION_CASES],
)
def test_bad_option_is_refused_before_the_run(raw, fresh, request, args, words, key):
    options = {"--gemeente": "GM0489", "--data-dir": str(raw)}
    options.update(zip(PERIOD_ARGS[::2], PERIOD_ARGS[1::2], strict=True))
    options.update(zip(args[::2], args[1::2], strict=True))
    argv = ["maak", *[x for pair in options.items() for x in pair], "--geen-pdf"]
    result = bcba(fresh, *argv, key=key, timeout=300)
    _note(
        "opties",
        request.node.callspec.id,
        exit=result.returncode,
        traceback=bool(TRACEBACK.search(result.text)),
        melding=result.stderr.strip()[-400:],
    )
    assert_clean_failure(result, words=words)
    reports = fresh.project / "reports"
    leftover = [p for p in reports.rglob("*") if p.is_file()] if reports.exists() else []
    assert all(p.name == "ONVOLLEDIG.txt" or p.suffix in (".lock", ".log") for p in leftover)
    assert fresh.wait_for_no_processes() == {}
    assert fresh.leftovers() == []


def test_bad_report_id_is_refused():
    """The CLI has no option for the report id; the one way in is the run configuration
    that the notebook receives (papermill ``-p run_config``), validated here."""
    from pydantic import ValidationError

    from bcba.config import RunConfig

    with pytest.raises(ValidationError, match="rapportnummer"):
        RunConfig(
            gemeente="GM0489",
            data_dir=Path("."),
            output_dir=Path("."),
            periode_start=PERIODE[0],
            periode_eind=PERIODE[1],
            rapport_id='x" onload="alert(1)',
        )


# --------------------------------------------------------------------------- one project, many runs
#: Stages at which the CLI is killed: the kernel starting, the second process at work
#: (hand-over files in use), Chromium printing the PDF (the whole report written).
KILL_STAGES = {
    "kernel_start": "Invoer inlezen",
    "tweede_proces": "Netwerken analyseren",
    "pdf": "PDF maken",
}


class Scenario:
    """Runs in one project, each done once however many tests ask for it (in any order)."""

    def __init__(self, root: Path, raw: Path, persons) -> None:
        self.project, self.raw, self.persons = Project(root), raw, persons
        self._done: dict[str, object] = {}

    def _once(self, name: str, make):
        if name not in self._done:
            self._done[name] = make()
        return self._done[name]

    def names_outside_report_folders(self) -> list:
        """Planted persons found in the temporary folders, home and processed data."""
        p = self.project
        return _names_found([p.tmp, p.shm, p.home], self.persons) + _names_found(
            [p.project / "data"], self.persons, dates=False
        )

    def kill(self, stage: str) -> dict:
        def make() -> dict:
            before = (
                set(self.project.reports.glob(".bezig-*"))
                if self.project.reports.exists()
                else set()
            )
            result = bcba(
                self.project, *_maak(self.raw, None, pdf=True), kill_at=KILL_STAGES[stage]
            )
            alive = self.project.wait_for_no_processes()
            building = sorted(set(self.project.reports.glob(".bezig-*")) - before)
            return {
                "result": result,
                "alive": alive,
                "leftovers": self.project.leftovers(),
                "names": self.names_outside_report_folders(),
                "building": building,
                "marked_now": [
                    p.name
                    for p in self.project.reports.iterdir()
                    if (p / "ONVOLLEDIG.txt").exists()
                ],
            }

        return self._once(f"kill_{stage}", make)

    def after_kills(self) -> Outcome:
        def make() -> Outcome:
            for stage in KILL_STAGES:
                self.kill(stage)
            return bcba(self.project, *_maak(self.raw, None))

        return self._once("after_kills", make)

    def concurrent(self) -> tuple[Outcome, Outcome]:
        """Two runs into one ``--out``: the second starts once the first is under way."""

        def make():
            self.after_kills()
            out = self.project.reports / "samen"
            second: dict[str, Outcome] = {}

            def start_second(line: str) -> None:
                if "Rapport uitvoeren" in line and not second:
                    second["b"] = bcba(self.project, *_maak(self.raw, out))

            first = bcba(self.project, *_maak(self.raw, out), on_line=start_second)
            return first, second["b"]

        return self._once("concurrent", make)

    def kernel_killed(self) -> Outcome:
        def make():
            self.concurrent()
            return bcba(
                self.project,
                *_maak(self.raw, self.project.reports / "kernel_weg"),
                kill_kernel_at="Netwerken analyseren",
            )

        return self._once("kernel_killed", make)


@pytest.fixture(scope="module")
def scenario(raw, persons, tmp_path_factory) -> Scenario:
    return Scenario(tmp_path_factory.mktemp("scenario"), raw, persons)


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(KILL_STAGES))
def test_kill_9_leaves_no_process_no_file_and_no_name(scenario, stage):
    seen = scenario.kill(stage)
    result = seen["result"]
    _note(
        "kill",
        stage,
        seconden=round(result.seconds, 1),
        processen_over=len(seen["alive"]),
        bestanden_over=len(seen["leftovers"]),
        namen_buiten_rapportmap=len(seen["names"]),
        over=seen["leftovers"][:10],
    )
    assert result.returncode == -signal.SIGKILL, result.text[-2000:]
    assert len(result.pids) > 1, "the run was killed before it started a child process"
    assert seen["alive"] == {}
    assert seen["leftovers"] == []
    assert seen["names"] == []


@pytest.mark.slow
def test_next_run_after_kills_succeeds_and_every_killed_run_is_marked(scenario):
    result = scenario.after_kills()
    _note("kill", "volgende_run", exit=result.returncode, seconden=round(result.seconds, 1))
    assert result.returncode == 0, result.text[-3000:]
    assert not TRACEBACK.search(result.text), result.text[-3000:]
    reports = scenario.project.reports
    assert list(reports.glob(".bezig-*")) == []
    from bcba.runs import completed_runs

    complete = completed_runs(reports)
    assert len(complete) == 1
    incomplete = [p for p in reports.iterdir() if p.is_dir() and p not in complete]
    assert len(incomplete) == len(KILL_STAGES)
    for folder in incomplete:
        assert_incomplete(folder)
    assert scenario.names_outside_report_folders() == []


@pytest.mark.slow
def test_two_runs_into_one_folder_one_wins_the_other_is_refused(scenario):
    first, second = scenario.concurrent()
    _note(
        "gelijktijdig",
        "zelfde_out",
        exit_eerste=first.returncode,
        exit_tweede=second.returncode,
        melding=second.stderr.strip()[-300:],
    )
    assert first.returncode == 0, first.text[-3000:]
    assert_clean_failure(second, words=("Er loopt al een run",))
    from bcba.runs import is_complete_run

    assert is_complete_run(scenario.project.reports / "samen")


@pytest.mark.slow
def test_reruns_on_one_day_keep_their_own_folders_and_vergelijk_sees_both(scenario):
    scenario.concurrent()
    from bcba.runs import completed_runs

    complete = completed_runs(scenario.project.reports)
    assert len({p.name for p in complete}) == len(complete) == 2
    result = bcba(scenario.project, "vergelijk", "--gemeente", "GM0489")
    _note("gelijktijdig", "vergelijk_twee_runs", exit=result.returncode)
    assert result.returncode == 0, result.text[-3000:]
    assert not TRACEBACK.search(result.text)


@pytest.mark.slow
def test_landelijk_uses_only_complete_runs(scenario, tmp_path):
    scenario.concurrent()
    reports = scenario.project.reports
    clean = bcba(scenario.project, "landelijk", "--out", str(tmp_path / "schoon.csv"))
    assert clean.returncode == 0, clean.text
    # an incomplete run that sorts last and still has a (tampered) vlaggen.csv
    from bcba.runs import completed_runs

    latest = completed_runs(reports)[-1]
    fake = reports / "9999-12-31_2359"
    shutil.copytree(latest, fake)
    (fake / "bcba-run.json").unlink()
    (fake / "ONVOLLEDIG.txt").write_text("ONVOLLEDIG – test\n", encoding="utf-8")
    flags = (fake / "vlaggen.csv").read_bytes()
    head, *body = flags.splitlines(keepends=True)
    (fake / "vlaggen.csv").write_bytes(head + b"".join(body * 7))
    try:
        dirty = bcba(scenario.project, "landelijk", "--out", str(tmp_path / "met_onvolledig.csv"))
    finally:
        shutil.rmtree(fake)
    _note("gelijktijdig", "landelijk_alleen_volledig", exit=dirty.returncode)
    assert dirty.returncode == 0, dirty.text
    assert (tmp_path / "met_onvolledig.csv").read_bytes() == (tmp_path / "schoon.csv").read_bytes()


@pytest.mark.slow
def test_killed_kernel_gives_a_dutch_error(scenario):
    result = scenario.kernel_killed()
    out = scenario.project.reports / "kernel_weg"
    _note(
        "kernel",
        "kernel_gestopt",
        exit=result.returncode,
        traceback=bool(TRACEBACK.search(result.text)),
        melding=result.stderr.strip()[-300:],
    )
    assert_clean_failure(result, words=("rekenproces",))
    assert_incomplete(out)
    assert scenario.project.wait_for_no_processes() == {}


@pytest.mark.slow
def test_html_in_input_fields_is_escaped_and_no_script_runs(scenario):
    from bcba.report.browser import open_offline
    from bcba.runs import completed_runs

    scenario.after_kills()
    folder = completed_runs(scenario.project.reports)[0]
    pages = sorted(folder.rglob("*.html"))
    assert pages
    raw_hits = []
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        raw_hits += [(page.name, p) for p in UNESCAPED if p in text]
    executed, errors = [], []
    for page in [
        folder / "bcba_GM0489.html",
        folder / "bcba_GM0489_bijlagen.html",
        *sorted((folder / "kaarten").glob("*.html")),
    ]:
        check = open_offline(page, evaluate="() => window.__xss || 0", settle_ms=300)
        if check.evaluated:
            executed.append(page.name)
        errors += [(page.name, e) for e in check.page_errors + check.console_errors]
        errors += [(page.name, r) for r in check.requests]
    _note(
        "injectie",
        "html_in_invoer",
        paginas=len(pages),
        onge_escapete_payloads=len(raw_hits),
        uitgevoerd=len(executed),
    )
    assert raw_hits == []
    assert executed == []
    assert errors == []


@pytest.mark.slow
def test_every_run_is_audited_from_start_to_end(scenario):
    scenario.kernel_killed()
    entries = [json.loads(line) for line in scenario.project.audit_log.read_text().splitlines()]
    runs = [e for e in entries if e["command"] == "run"]
    started = {e["seq"] for e in runs if e["status"] == "gestart"}
    ended = {e["gestart_regel"]: e["status"] for e in runs if e["status"] != "gestart"}
    missing = sorted(started - set(ended))
    verify = bcba(scenario.project, "audit", "controleer")
    _note(
        "audit",
        "alle_runs",
        gestart=len(started),
        beeindigd=len(ended),
        zonder_einde=len(missing),
        controleer_exit=verify.returncode,
    )
    assert missing == []
    assert set(ended.values()) <= {"voltooid", "mislukt"}
    assert verify.returncode == 0, verify.text


@pytest.mark.slow
@pytest.mark.skipif(not UNSHARE, reason="needs a private mount namespace (root and unshare)")
def test_full_disk_gives_a_dutch_error_and_an_incomplete_folder(raw, fresh):
    reports = fresh.project / "reports"
    reports.mkdir(parents=True)
    (fresh.root / "reports.kopie").mkdir()
    result = bcba(
        fresh,
        *_maak(raw, reports / "vol"),
        mounts=[("size=300k,mode=0700", reports)],
    )
    copy = fresh.root / "reports.kopie"
    _note(
        "schijf_vol",
        "uitvoermap_300k",
        exit=result.returncode,
        traceback=bool(TRACEBACK.search(result.text)),
        melding=result.stderr.strip()[-300:],
    )
    assert_clean_failure(result, words=("schijf", "vol"))
    assert_incomplete(copy / "vol")
    assert fresh.wait_for_no_processes() == {}
    assert fresh.leftovers() == []


def test_out_into_a_foreign_folder_is_refused_and_the_folder_untouched(raw, fresh):
    foreign = fresh.root / "vreemd"
    foreign.mkdir()
    (foreign / "notulen.docx").write_bytes(b"niet van bcba")
    before = {p.name: p.stat().st_mtime_ns for p in foreign.iterdir()}
    result = bcba(fresh, *_maak(raw, foreign))
    _note("gelijktijdig", "out_vreemde_map", exit=result.returncode, melding=result.stderr.strip())
    assert_clean_failure(result, words=("niet leeg",))
    assert {p.name: p.stat().st_mtime_ns for p in foreign.iterdir()} == before
    assert fresh.leftovers() == []


def test_out_root_is_refused_quickly(raw, fresh):
    result = bcba(fresh, *_maak(raw, Path("/")), timeout=120)
    _note("gelijktijdig", "out_root", exit=result.returncode, seconden=round(result.seconds, 1))
    assert_clean_failure(result, words=("/",))
    assert result.seconds < 60
    assert fresh.leftovers() == []


def test_data_dir_root_is_refused_quickly(fresh):
    """``--data-dir /`` must not hash the whole disk into the audit log first."""
    result = bcba(fresh, *_maak(Path("/"), None), timeout=120)
    _note("opties", "invoermap_root", exit=result.returncode, seconden=round(result.seconds, 1))
    assert_clean_failure(result, words=("bag_adressen",))
    assert result.seconds < 60

"""Tests of bcba.worker (the generic second process) and of the engine's use of it."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bcba import worker as worker_module
from bcba.worker import Held, SecondProcess
from tests.conftest import PERIODE


def die_outside(parent_pid: int) -> str:
    """Kill the process it runs in, unless that is the test process itself."""
    if os.getpid() != parent_pid:
        os._exit(3)
    return "hier"


def joined(first: list, second: list) -> list:
    return [*first, *second]


def held_keys() -> list[str]:
    return sorted(worker_module._held)


def test_second_process_runs_work_and_falls_back_when_off():
    with SecondProcess() as worker:
        assert worker.active
        task = worker.submit(math.factorial, 10)
        assert task.future is not None
        assert worker.result(task) == 3_628_800
    with SecondProcess(enabled=False) as worker:
        task = worker.submit(math.factorial, 5)
        assert task.future is None and worker.done(task)
        assert worker.result(task) == 120


def test_objects_put_once_are_used_by_later_tasks_in_either_process():
    for enabled in (True, False):
        with SecondProcess(enabled=enabled) as worker:
            a = worker.put("a", [1, 2])
            b = worker.put("b", [3], private=True)
            assert a == Held("a")
            assert worker.result(worker.submit(joined, a, second=b)) == [1, 2, 3]
            if enabled:  # stored in the other process, not here
                assert worker.result(worker.submit(held_keys)) == ["a", "b"]
                assert worker_module._held == {}


def test_work_is_handed_over_through_a_private_folder_left_empty():
    with SecondProcess() as worker:
        task = worker.submit(sorted, ["b", "a"], reverse=True)
        folder = worker._folder
        assert folder is not None and folder.stat().st_mode & 0o777 == 0o700
        assert folder.name.startswith(f"bcba-overdracht-{os.getpid()}-")
        assert worker.result(task) == ["b", "a"]
        assert list(folder.iterdir()) == []  # read once, then removed
    assert not folder.exists()


def test_private_objects_never_reach_a_file(tmp_path, monkeypatch):
    secret = "Agnes Geheimnaam"
    seen: list[bytes] = []
    original = worker_module._dump

    def spy(obj, path):
        written = original(obj, path)
        seen.append(Path(written).read_bytes())
        assert Path(written).stat().st_mode & 0o777 == 0o600
        return written

    monkeypatch.setattr(worker_module, "_dump", spy)
    with SecondProcess() as worker:
        names = worker.put("namen", [secret], private=True)
        data = worker.put("data", ["openbaar"])
        assert worker.result(worker.submit(joined, data, names)) == ["openbaar", secret]
    assert seen, "the public object went through a file"
    assert not any(secret.encode() in blob for blob in seen)


def test_stale_handover_folders_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    base = worker_module._handover_bases()[0]
    stale = base / f"bcba-overdracht-{pid}-test"
    stale.mkdir(mode=0o700)
    (stale / "werk1.pickle").write_bytes(b"x")
    mine = base / f"bcba-overdracht-{os.getpid()}-test"
    mine.mkdir(mode=0o700)
    try:
        removed = worker_module.remove_stale_handover()
        assert stale in removed and not stale.exists()
        assert mine.exists()  # its owner (this process) lives
    finally:
        mine.rmdir()


def test_second_process_ends_when_its_parent_is_killed(tmp_path):
    """kill -9 of the process that started it: the second process goes too."""
    script = tmp_path / "parent.py"
    pidfile = tmp_path / "child.pid"
    script.write_text(
        "import os, sys, time\n"
        "from bcba.worker import SecondProcess\n"
        "def child_pid():\n    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    w = SecondProcess()\n"
        f"    open({str(pidfile)!r}, 'w').write(str(w.result(w.submit(child_pid))))\n"
        "    time.sleep(60)\n",
        encoding="utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    try:
        for _ in range(300):
            if pidfile.exists() and pidfile.read_text():
                break
            time.sleep(0.1)
        child = int(pidfile.read_text())
        parent.kill()
        parent.wait()
        for _ in range(50):
            if not worker_module.process_alive(child):
                break
            time.sleep(0.1)
        assert not worker_module.process_alive(child)
    finally:
        parent.kill()


def test_second_process_off_by_environment(monkeypatch):
    monkeypatch.setenv("BCBA_TWEEDE_PROCES", "0")
    with SecondProcess() as worker:
        assert not worker.active
        assert worker.submit(math.factorial, 5).future is None


def test_dead_second_process_repeats_the_work_here():
    with SecondProcess() as worker:
        task = worker.submit(die_outside, os.getpid())
        assert worker.result(task) == "hier"


def test_errors_of_the_work_itself_are_raised_as_they_are():
    with SecondProcess() as worker:
        task = worker.submit(math.factorial, -1)
        with pytest.raises(ValueError, match="negative"):
            worker.result(task)


def test_worker_imports_nothing_from_the_rest_of_bcba():
    source = Path(worker_module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) bcba", source, re.M)


@pytest.fixture(scope="module")
def runs(generate_raw, tmp_path_factory):
    """The same small run with and without the second process."""
    from bcba.engine import analyse
    from bcba.runs import make_run_config

    raw = generate_raw("GM0489", 5, scale=0.2)
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for second in (True, False):
        cfg = make_run_config(
            gemeente="GM0489", data_dir=raw, output_dir=root / str(second), periode=PERIODE
        )
        out[second] = analyse(cfg, second_process=second)
    return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_run_gives_the_same_results_with_and_without_second_process(runs):
    par, seq = runs[True], runs[False]
    assert set(par.spatial) == set(seq.spatial)
    for thema, result in par.spatial.items():
        other = seq.spatial[thema]
        assert result.n_events == other.n_events
        for name in ("hotspots_buurt", "hotspots_cel", "factoren", "validatie"):
            left, right = getattr(result, name), getattr(other, name)
            assert (left is None) == (right is None), (thema, name)
            if left is not None:
                pd.testing.assert_frame_equal(
                    pd.DataFrame(left), pd.DataFrame(right), obj=f"{thema}.{name}"
                )
    assert set(par.written) == set(seq.written)
    root_par, root_seq = Path(par.cfg.output_dir), Path(seq.cfg.output_dir)
    for key, path in par.written.items():
        assert path.exists(), key
        other = seq.written[key]
        if path.suffix in {".csv", ".graphml", ".json"} and path.is_relative_to(root_par):
            # the same content, not only the same names
            assert path.relative_to(root_par) == other.relative_to(root_seq), key
            assert _digest(path) == _digest(other), key


@pytest.mark.slow
def test_result_files_are_checked_for_personal_data_where_written(runs):
    run = runs[True]
    report_dir = Path(run.cfg.output_dir).resolve()
    in_report = {
        p.resolve() for p in run.written.values() if p.resolve().is_relative_to(report_dir)
    }
    assert in_report and in_report <= run.checked
    assert (report_dir / "netwerken" / "netwerken.graphml") in run.checked


@pytest.mark.slow
def test_report_map_of_many_risk_locations_shows_the_most_flagged(runs, monkeypatch):
    from bcba.report import common
    from bcba.report.view import Report

    run = runs[False]
    n = int(run.indicators.risicolocaties.geometry.notna().sum())
    assert n > 20
    monkeypatch.setattr(common, "MAX_REPORT_LOCATIONS", 10)
    report = Report(run)
    section = report.risicolocaties().data
    assert "Interactief getoond: de 10 adressen met het sterkste bewijs" in section
    full = (report.out / "kaarten" / "risicolocaties_alle.html").read_text(encoding="utf-8")
    shown = (report.out / "kaarten" / "risicolocaties.html").read_text(encoding="utf-8")
    # one GeoJSON feature per address (plus the same basemap features in both pages)
    assert full.count('"type": "Feature"') - shown.count('"type": "Feature"') == n - 10


def _without_map_ids(page: str) -> str:
    """A section's HTML without folium's random element ids."""
    return re.sub(r"_[0-9a-f]{32}", "_id", page)


@pytest.mark.slow
def test_sections_prepared_in_the_second_process_are_what_the_notebook_would_get(runs):
    from bcba.report.view import Report, prepare_sections, sections_without_networks

    run = runs[False]
    # what the second process renders needs no networks
    partial = dataclasses.replace(run, networks=None, checked=set())
    prepared, checked = prepare_sections(partial)
    calls = sections_without_networks(run.themes)
    assert sorted(prepared) == sorted(calls)
    assert checked and all(p.suffix == ".html" for p in checked)
    ahead = Report(run, _prepared=dict(prepared))
    fresh = Report(run)
    for name, *args in calls:
        shown, direct = getattr(ahead, name)(*args).data, getattr(fresh, name)(*args).data
        assert _without_map_ids(shown) == _without_map_ids(direct), name
    assert ahead._prepared == {}
    assert [title for _, title in ahead._figures] == [title for _, title in fresh._figures]
    assert [png for png, _ in ahead._figures] == [png for png, _ in fresh._figures]


@pytest.mark.slow
def test_report_files_are_checked_where_written_and_again_when_rewritten(runs, tmp_path):
    from bcba.errors import PrivacyError
    from bcba.maps.palette import MARKING
    from bcba.report.view import Report

    run = runs[False]
    here = Report(
        dataclasses.replace(
            run, cfg=run.cfg.model_copy(update={"output_dir": tmp_path}), checked=set()
        )
    )
    person = run.names[0]
    clean = here.save_map(f"<html><p>{MARKING}</p></html>", "schoon")
    here.check_written_maps()
    assert here.results.checked == {clean.resolve()} and here._unchecked_maps == []
    here.save_map(f"<html><p>{MARKING}</p><p>{person}</p></html>", "schoon")  # rewritten
    assert here.results.checked == set()
    with pytest.raises(PrivacyError, match="vermelding"):
        here.afronden()  # what the run has not checked, afronden does
    with pytest.raises(PrivacyError, match="vermelding"):
        here.check_written_maps()
